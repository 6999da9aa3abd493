"""The discrete-time LIF/ALIF step of docs/design.md ("Learning in recurrent networks").

One kernel shared by the forward pass (``models.rsnn``) and the online rules that run the
network themselves (``plasticity.eprop``, ``plasticity.ottt``), so the equations exist once:

    a_t = rho a_{t-1} + z_{t-1}          (ALIF rows only)
    v_t = alpha v_{t-1} + I_t + W_rec z_{t-1} - v_th z_{t-1}
    z_t = H(v_t - v_th - beta a_t)        (or the smooth spike of the finite-difference model)
    psi_t = surrogate(v_t - A_t)

It lives in ``plasticity`` because ``plasticity`` must not import ``models``.

The online rules (e-prop, OTTT) share more than the step: the named state their kernels take
(:class:`Network`, :class:`Sequences`, :class:`Sums`, :class:`Work`), the step of the network,
its readout and the readout's error (:func:`online_step`), and the CE window error applied at
the end of a sequence (:func:`apply_window_error`).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import literal_unroll, njit

from .bptt import rate_regularization
from .errors import ParameterError
from .readout import readout_step, softmax_ce_error
from .surrogate import psi, smooth_spike


@njit(cache=True, inline="always")
def input_current(x_t, w_in_t, cur):
    """cur <- W_in x_t in place (``w_in_t`` transposed: (n_in, n_rec)); zero inputs skipped."""
    for j in range(cur.size):
        cur[j] = 0.0
    for l in range(x_t.size):
        xl = x_t[l]
        if xl != 0.0:
            for j in range(cur.size):
                cur[j] += w_in_t[l, j] * xl


@njit(cache=True, inline="always")
def neuron_step(i_t, w_rec_t, alpha, rho, v_th, beta, adaptive, smooth_k, sp, v, z, a, ps, rec):
    """Advance one step in place: ``v, z, a`` hold step t-1 on entry and step t on exit;
    ``ps`` receives psi_t. ``i_t`` = W_in x_t, ``w_rec_t`` = W_rec transposed (pre, post),
    ``rec`` a work vector. Allocates nothing."""
    n = v.size
    for j in range(n):
        rec[j] = 0.0
    for k in range(n):
        zk = z[k]
        if zk != 0.0:
            for j in range(n):
                rec[j] += w_rec_t[k, j] * zk
    for j in range(n):
        zp = z[j]
        if adaptive[j] != 0.0:
            a[j] = rho * a[j] + zp
        u = alpha * v[j] + i_t[j] + rec[j] - v_th * zp
        v[j] = u
        u -= v_th + beta[j] * a[j]
        if smooth_k > 0.0:
            z[j] = smooth_spike(u, smooth_k)
        else:
            z[j] = 1.0 if u > 0.0 else 0.0
        ps[j] = psi(u, sp)


# -- the online rules' named state ------------------------------------------------------------
class Network(NamedTuple):
    """The network as the kernels read it (:func:`as_network`): input and recurrent weights
    transposed, (pre, post); the decays per step; beta and the ALIF mask per neuron; the
    smooth spike's k (0: Heaviside) and the surrogate's kernel parameters."""

    w_in_t: np.ndarray
    w_rec_t: np.ndarray
    w_out: np.ndarray
    b_out: np.ndarray
    alpha: float
    rho: float
    kappa: float
    v_th: float
    beta: np.ndarray
    adaptive: np.ndarray
    smooth_k: float
    sp: np.ndarray


def as_network(net, copy: bool = False) -> Network:
    """The :class:`Network` of ``net`` (a ``models.rsnn.RSNN``). ``copy=True``: weight arrays of
    its own, which a kernel may update in place; else views of ``net``'s where they are
    contiguous already."""
    arr = (lambda w: np.array(w, order="C")) if copy else np.ascontiguousarray
    return Network(arr(net.w_in.T), arr(net.w_rec.T), arr(net.w_out), arr(net.b_out), float(net.alpha),
                   float(net.rho), float(net.kappa), float(net.v_th), net.beta_vec, net.adaptive,
                   0.0 if net.smooth is None else float(net.smooth), net.kernel_surrogate())


class Sequences(NamedTuple):
    """What an online rule keeps per sequence (leading axis: the sequence). ``v, z, a, ps``
    (n_rec) and ``y`` (n_out) hold step t-1 on entry to a step; ``xbar`` (P = n_in + n_rec) is
    the presynaptic trace of p_t = [x_t, z_{t-1}]; ``zbar`` and ``cb`` the kappa-filtered z and
    1 (the readout's eligibilities); ``s_zbar``, ``s_cb``, ``ysum`` and ``S`` (n_rec, P) the
    sums over the CE window of zbar, cb, y and of the rule's eligibility."""

    v: np.ndarray
    z: np.ndarray
    a: np.ndarray
    ps: np.ndarray
    y: np.ndarray
    xbar: np.ndarray
    zbar: np.ndarray
    cb: np.ndarray
    s_zbar: np.ndarray
    s_cb: np.ndarray
    ysum: np.ndarray
    S: np.ndarray


def new_sequences(batch: int, n_in: int, n: int, n_out: int, window_sums: bool = True) -> Sequences:
    """Zero :class:`Sequences` of ``batch`` sequences (``window_sums=False``: S is a (1, 1, 1)
    placeholder)."""
    z = lambda *shape: np.zeros(shape)  # noqa: E731
    return Sequences(z(batch, n), z(batch, n), z(batch, n), z(batch, n), z(batch, n_out), z(batch, n_in + n),
                     z(batch, n), z(batch), z(batch, n), z(batch), z(batch, n_out),
                     z(batch, n, n_in + n) if window_sums else z(1, 1, 1))


@njit(cache=True)
def clear_rows(arrays, b):
    """Zero row ``b`` of every array of the tuple ``arrays`` (a sequence's state)."""
    for arr in literal_unroll(arrays):
        arr[b] = 0.0


class Sums(NamedTuple):
    """What an online rule accumulates over steps and sequences: ``G`` (n_rec, P), the gradient
    of [W_in, W_rec]; ``esum``, the sum of the eligibility for the rate regularization ((1, 1)
    without it); the readout's gradients ``g_out`` and ``g_b``; ``zsum``, the spike count per
    neuron; ``acc`` = [MSE sum of squares, steps, window steps]."""

    G: np.ndarray
    esum: np.ndarray
    g_out: np.ndarray
    g_b: np.ndarray
    zsum: np.ndarray
    acc: np.ndarray


def new_sums(n_in: int, n: int, n_out: int, use_reg: bool) -> Sums:
    P = n_in + n
    return Sums(np.zeros((n, P)), np.zeros((n, P) if use_reg else (1, 1)), np.zeros((n_out, n)), np.zeros(n_out),
                np.zeros(n), np.zeros(3))


class Work(NamedTuple):
    """Work vectors of one step: ``pre`` = p_t (P), ``cur`` = W_in x_t and ``rec`` (n_rec),
    the readout error ``err`` (n_out) and the learning signal ``L`` = B err (n_rec)."""

    pre: np.ndarray
    cur: np.ndarray
    rec: np.ndarray
    err: np.ndarray
    L: np.ndarray


def new_work(n_in: int, n: int, n_out: int) -> Work:
    return Work(np.zeros(n_in + n), np.zeros(n), np.zeros(n), np.zeros(n_out), np.zeros(n))


def check_batch(batch) -> int:
    """The batch size of an online rule's ``reset``: an integer >= 1."""
    if isinstance(batch, bool) or not isinstance(batch, (int, np.integer)) or batch < 1:
        raise ParameterError(f"batch must be an integer >= 1, got {batch!r}")
    return int(batch)


def step_arrays(net, batch: int, loss: str, x_t, target_t):
    """An online ``step``'s validated inputs: ``(x_t, target_t, mode)``, C-contiguous float64
    (batch, n_in) and (batch, n_out) (zeros for CE, which needs no target per step), and the
    kernels' loss code (0 MSE, 1 CE)."""
    x_t = np.asarray(x_t, dtype=np.float64)
    if x_t.shape != (batch, net.n_in) or not np.all(np.isfinite(x_t)):
        raise ParameterError(f"x_t must be finite with shape (batch, n_in) = {(batch, net.n_in)}, got {x_t.shape}")
    if loss != "mse":
        return np.ascontiguousarray(x_t), np.zeros((batch, net.n_out)), 1
    tgt = None if target_t is None else np.asarray(target_t, dtype=np.float64)
    if tgt is None or tgt.shape != (batch, net.n_out) or not np.all(np.isfinite(tgt)):
        raise ParameterError(f"target_t must be finite with shape (batch, n_out) = {(batch, net.n_out)}")
    return np.ascontiguousarray(x_t), np.ascontiguousarray(tgt), 0


# -- the online rules' shared step ------------------------------------------------------------
@njit(cache=True, inline="always")
def presynaptic(x_t, z, pre):
    """pre <- p_t = [x_t, z_{t-1}] (``z`` still holds step t-1)."""
    n_in = x_t.size
    for l in range(n_in):
        pre[l] = x_t[l]
    for k in range(z.size):
        pre[n_in + k] = z[k]


@njit(cache=True, inline="always")
def learning_signal(fb, err, L):
    """L <- fb err: the error broadcast to the neurons through ``fb`` (n_rec, n_out)."""
    for j in range(L.size):
        s = 0.0
        for k in range(err.size):
            s += fb[j, k] * err[k]
        L[j] = s


@njit(cache=True, inline="always")
def online_step(b, x_t, tgt_t, mode, in_window, scale, decay, net, fb, st, sums, work, g_out, g_b):
    """Step t of sequence ``b``, once ``work.pre`` holds p_t: the presynaptic trace xbar <-
    decay*xbar + p_t, then :func:`network_readout_step` (the readout's own trace zbar decaying
    with kappa). Allocates nothing."""
    pre, xbar = work.pre, st.xbar[b]
    for l in range(pre.size):
        xbar[l] = decay * xbar[l] + pre[l]
    network_readout_step(b, x_t, tgt_t, mode, in_window, scale, 0.0, net.kappa, net, fb, st, sums, work, g_out, g_b)


@njit(cache=True, inline="always")
def network_readout_step(b, x_t, tgt_t, mode, in_window, scale, reset_gain, zdecay, net, fb, st, sums, work,
                         g_out, g_b):
    """The network and readout step of sequence ``b``, the readout traces (``st.zbar`` <-
    zdecay*zbar + z_t; cb with kappa) and the error. ``reset_gain`` * z_{t-1} is added to the
    input current (0 here; OTTT's paper convention uses it to decay the reset). ``mode`` 0
    (MSE against ``tgt_t``): err = (y - tgt)*scale, the readout's gradient added to
    ``g_out``/``g_b``, and the learning signal ``work.L`` = fb err; ``mode`` 1 (CE): the
    window sums when ``in_window``. Allocates nothing."""
    z = st.z[b]
    input_current(x_t, net.w_in_t, work.cur)
    if reset_gain != 0.0:
        for j in range(z.size):
            work.cur[j] += reset_gain * z[j]
    neuron_step(work.cur, net.w_rec_t, net.alpha, net.rho, net.v_th, net.beta, net.adaptive, net.smooth_k,
                net.sp, st.v[b], z, st.a[b], st.ps[b], work.rec)
    zsum = sums.zsum
    for j in range(z.size):
        zsum[j] += z[j]
    kappa, y = net.kappa, st.y[b]
    readout_step(z, net.w_out, net.b_out, kappa, y)
    cb = kappa * st.cb[b] + 1.0
    st.cb[b] = cb
    zbar = st.zbar[b]
    for j in range(z.size):
        zbar[j] = zdecay * zbar[j] + z[j]
    acc, err = sums.acc, work.err
    acc[1] += 1.0
    if mode == 0:
        for k in range(y.size):
            d = y[k] - tgt_t[k]
            acc[0] += d * d
            err[k] = d * scale
            g_b[k] += err[k] * cb
            for j in range(z.size):
                g_out[k, j] += err[k] * zbar[j]
        learning_signal(fb, err, work.L)
    elif in_window:
        acc[2] += 1.0
        st.s_cb[b] += cb
        s_zbar, ysum = st.s_zbar[b], st.ysum[b]
        for j in range(z.size):
            s_zbar[j] += zbar[j]
        for k in range(y.size):
            ysum[k] += y[k]


@njit(cache=True)
def apply_window_error(b, label, n_window, scale, fb, st, sums, work):
    """End of CE sequence ``b``: its error err (:func:`plasticity.readout.softmax_ce_error`) is
    the same at every step of the window, so it is applied to the window sums: G += L S_b with
    L = fb err, g_out += err s_zbar_b^T, g_b += err s_cb_b. Returns -log p[label]."""
    err, L, G, g_out, g_b = work.err, work.L, sums.G, sums.g_out, sums.g_b
    loss = softmax_ce_error(st.ysum[b], n_window, label, scale, err)
    learning_signal(fb, err, L)
    S, s_zbar, s_cb = st.S[b], st.s_zbar[b], st.s_cb[b]
    n, P = G.shape
    for j in range(n):
        s = L[j]
        for l in range(P):
            G[j, l] += s * S[j, l]
    for k in range(err.size):
        g_b[k] += err[k] * s_cb
        for j in range(n):
            g_out[k, j] += err[k] * s_zbar[j]
    return loss


@njit(cache=True)
def apply_window_errors(labels, n_window, scale, fb, st, sums, work):
    """:func:`apply_window_error` for every sequence; returns the sum of -log p."""
    ce = 0.0
    for b in range(labels.size):
        ce += apply_window_error(b, labels[b], n_window, scale, fb, st, sums, work)
    return ce


def finish_gradients(net, sums: Sums, c_reg: float, f_target: float, n_samples: int) -> dict:
    """The gradients by weight name from the sums, the rate regularization's term added
    (its dE/dz times the eligibility sum; ``n_samples`` = batch * steps)."""
    rates = sums.zsum / n_samples * (1000.0 / net.dt)
    _, reg = rate_regularization(rates, c_reg, f_target, net.dt, n_samples)
    G = sums.G + reg[:, None] * sums.esum if c_reg > 0 else sums.G
    return split_gradients(G, sums.g_out, sums.g_b, net.n_in)


def split_gradients(G, g_out, g_b, n_in: int) -> dict:
    """``{"w_in", "w_rec", "w_out", "b_out"}`` (copies) from G = the gradient of [W_in, W_rec]."""
    w_rec = G[:, n_in:].copy()
    np.fill_diagonal(w_rec, 0.0)
    return {"w_in": G[:, :n_in].copy(), "w_rec": w_rec, "w_out": g_out.copy(), "b_out": g_b.copy()}
