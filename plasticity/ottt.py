"""OTTT, online training through time (Xiao et al. 2022, NeurIPS), on the RSNN of models.rsnn.

Every presynaptic signal keeps one trace, a_hat[t] = lam*a_hat[t-1] + p[t] with p_t =
[x_t, z_{t-1}] (inputs and the recurrent spikes that enter v_t); lam defaults to the
membrane's alpha = exp(-dt/tau_m) (the paper's lambda = 1 - 1/tau is the same leak written
for its LIF u[t] = lambda*u[t-1] + W s[t]). At each step only the *instantaneous* gradient
flows, spatially, from the readout to the membrane:

    dv_t      = psi_t * (W_out^T e_t + r)          (e_t = dL/dy_t, r = rate-regularization dE/dz)
    dW[j, l] += dv_t,j * a_hat_t,l                  (input and recurrent weights)

no eligibility of the adaptation, no recurrent or reset path (OTTT detaches the reset, as
SpikingJelly's reference OTTTLIFNode does). The readout, itself a leaky layer, gets its exact
gradient from the trace zbar_t = kappa*zbar_{t-1} + z_t.

Variants: ``"A"`` accumulates over the sequence and returns the sum (update at the end);
``"O"`` applies SGD with learning rate ``lr`` to the network at every step (weights change
inside the sequence; MSE only, since CE's error exists only at the end) and returns the sum
of the per-step gradients.

Two conventions (``convention=``; docs/ottt.md has the derivations and the sources):

``"project"`` (the default, everything above): the RSNN of docs/design.md as it is (reset
v_th*z_{t-1} subtracted *after* the leak), a lam-trace of the input for W_in, and the readout's
exact gradient from its own kappa-trace zbar.

``"paper"``: Xiao et al. 2022 as their reference code (pkuxmq/OTTT-SNN, SpikingJelly's
``OTTTLIFNode`` / ``OTTTSequential`` / ``ottt_online_training``) computes it, on this RSNN:

    v_t   = alpha*(v_{t-1} - v_th*z_{t-1}) + W_in x_t + W_rec z_{t-1}    (the reset decays too)
    dW_in  += dv_t x_t^T                                  (first layer: the raw input, no trace)
    dW_rec += dv_t a_hat_t^T,  a_hat_t = lam*a_hat_{t-1} + z_{t-1}   (as the paper's feedback
                                                            connections of VGG-F, traced)
    dW_out += e_t ahat_z_t^T,  ahat_z_t = lam*ahat_z_{t-1} + z_t      (the readout's input trace)
    db_out += e_t * cb_t       (unchanged: cb_t = 1 for the paper's memoryless readout)

with dv_t = psi_t * (W_out^T e_t + r) as above. Recurrence is defined as written (the
reference's VGG-F feedback connections); ALIF neurons have no counterpart in the paper or its
code, so the paper convention refuses ``n_alif > 0``. Only ``tau_out = 0`` is the paper's
readout; with ``tau_out = tau_m`` (kappa = lam = alpha) ahat_z is zbar, so dW_out is the same
function of the spikes in both conventions (the spikes themselves differ: the reset does).

What the paper proves and the tests check: for a single layer with no reset path and a loss
that depends on each step's output only (here: W_rec = 0, LIF, ``tau_out = 0`` so kappa = 0,
``detach_reset=True``), OTTT_A is exactly the BPTT gradient, because then
dv_t/dW = a_hat_t. With a leaky readout, recurrence or adaptation it is an approximation. In
the paper convention the same identity (its decayed reset detached) makes exact the gradient
of weights from *spikes* onto such a layer: a W_rec block from neurons the readout does not
read onto neurons with no other recurrent input (LIF, ``tau_out = 0``, lam = alpha); and the
readout's gradient is exact when the readout leaks like the trace (kappa = lam). Its W_in
gradient (raw input, not dv_t/dW_in) is not the exact one for alpha > 0
(tests/rsnn/test_ottt_paper.py).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from .bptt import (check_loss, check_regularization, check_target, check_window, loss_and_error,
                   rate_regularization)
from .errors import ParameterError, check_choice, check_non_negative, check_positive
from .rsnn_step import (apply_window_errors, as_network, check_batch, finish_gradients, network_readout_step,
                        new_sequences, new_sums, new_work, online_step, presynaptic, split_gradients, step_arrays)

VARIANTS = ("A", "O")
CONVENTIONS = ("project", "paper")


def check_convention(net, convention) -> bool:
    """Validate ``convention`` for ``net``; True for ``"paper"``."""
    check_choice("convention", convention, CONVENTIONS)
    if convention == "paper" and net.n_alif > 0:
        raise ParameterError(f"convention 'paper' is defined for LIF neurons only (the paper and its reference "
                             f"code have no adaptive threshold), got n_alif = {net.n_alif}; use convention='project'")
    return convention == "paper"


def gradients(net, x, target, *, loss="mse", detach_reset=True, window=None, c_reg=0.0, f_target=10.0,
              variant="A", lr=None, lam=None, return_loss=False, reference=False, convention="project"):
    """OTTT gradient of one batch; arguments and keys as :func:`plasticity.bptt.gradients`.

    ``variant="O"`` needs ``lr`` (> 0) and updates ``net`` in place at every step.
    ``lam`` is the presynaptic trace's decay per step (default net.alpha).
    ``convention``: ``"project"`` (default) or ``"paper"`` (Xiao et al. 2022's reset, first
    layer and readout; LIF only), see the module docstring.
    ``reference=True`` runs the NumPy twin :func:`gradients_reference` (paper convention:
    :func:`gradients_paper_reference`).
    """
    check_loss(loss)
    check_choice("variant", variant, VARIANTS)
    paper = check_convention(net, convention)
    c_reg, f_target = check_regularization(c_reg, f_target)
    if not detach_reset:
        raise ParameterError("detach_reset must be True for OTTT (it drops the reset path by construction), got False")
    lam = net.alpha if lam is None else check_non_negative("lam", lam)
    if lam >= 1.0:
        raise ParameterError(f"lam must be in [0, 1), got {lam}")
    if variant == "O":
        if lr is None:
            raise ParameterError("lr must be given (> 0) for variant 'O', got None")
        lr = check_positive("lr", lr)
        if loss != "mse" or c_reg > 0:
            raise ParameterError("variant 'O' needs a per-step loss: loss must be 'mse' and c_reg 0, "
                                 f"got loss={loss!r}, c_reg={c_reg}")
    else:
        lr = 0.0
    x = net.check_input(x)
    batch, T, n_in = x.shape
    target = check_target(target, loss, batch, T, net.n_out)
    w = check_window(window, T) if loss == "ce" else T
    if reference:
        twin = gradients_paper_reference if paper else gradients_reference
        return twin(net, x, target, loss=loss, window=w, c_reg=c_reg, f_target=f_target, lr=lr, lam=lam,
                    return_loss=return_loss)
    n, n_out = net.n_rec, net.n_out
    mode = 0 if loss == "mse" else 1
    kn = as_network(net, copy=True)
    st, sums = new_sequences(batch, n_in, n, n_out, window_sums=mode == 1), new_sums(n_in, n, n_out, c_reg > 0)
    tgt = target if mode == 0 else np.zeros((1, 1, n_out))
    labels = target if mode == 1 else np.zeros(1, dtype=np.int64)
    ce = ottt_kernel(x, tgt, labels, mode, w, lr, lam, kn, c_reg > 0, st, sums, new_step_sums(n_in, n, n_out),
                     new_work(n_in, n, n_out), True, paper)
    if variant == "O":
        _write_back(net, kn)
    grads = finish_gradients(net, sums, c_reg, f_target, batch * T)
    if return_loss:
        return grads, float(0.5 * sums.acc[0] / batch if mode == 0 else ce / batch)
    return grads


def _write_back(net, kn) -> None:
    """Give ``net`` the weights the kernel updated (variant O)."""
    net.set_weights({"w_in": kn.w_in_t.T, "w_rec": kn.w_rec_t.T, "w_out": kn.w_out, "b_out": kn.b_out})


class StepSums(NamedTuple):
    """One step's gradients summed over the batch (variant O applies them after the step):
    ``G`` of [W_in, W_rec] (n_rec, P), ``g_out`` and ``g_b`` of the readout."""

    G: np.ndarray
    g_out: np.ndarray
    g_b: np.ndarray


def new_step_sums(n_in: int, n: int, n_out: int) -> StepSums:
    return StepSums(np.zeros((n, n_in + n)), np.zeros((n_out, n)), np.zeros(n_out))


@njit(cache=True, inline="always")
def paper_step(b, x_t, tgt_t, mode, in_window, scale, lam, net, fb, st, sums, work, g_out, g_b):
    """:func:`~plasticity.rsnn_step.online_step` of the paper convention (same arguments; once
    ``work.pre`` holds p_t = [x_t, z_{t-1}]):

    - presynaptic vector: xbar[:n_in] <- x_t (the first layer's raw input), xbar[n_in:] <-
      lam*xbar[n_in:] + z_{t-1} (the trace of the recurrent spikes);
    - the decayed reset, alpha*(v_{t-1} - v_th z_{t-1}): the step kernel subtracts v_th z_{t-1}
      after the leak, so (1 - alpha)*v_th*z_{t-1} is added to its input current;
    - ``st.zbar`` holds the readout's input trace ahat_z <- lam*ahat_z + z_t (not the kappa
      trace), so g_out and, for CE, the window sum s_zbar use it; cb stays kappa's.
    Allocates nothing."""
    pre, xbar = work.pre, st.xbar[b]
    n_in = x_t.size
    for l in range(n_in):
        xbar[l] = pre[l]
    for l in range(n_in, pre.size):
        xbar[l] = lam * xbar[l] + pre[l]
    network_readout_step(b, x_t, tgt_t, mode, in_window, scale, (1.0 - net.alpha) * net.v_th, lam, net, fb, st,
                         sums, work, g_out, g_b)


# _nrt=False: the loop allocates nothing, and without reference counting the per-step access to
# the named state's arrays and rows costs nothing (with it, ~25 % more time on a small network).
@njit(cache=True, _nrt=False)
def ottt_kernel(x, tgt, labels, mode, window, lr, lam, net, use_reg, st, sums, step, work, finalize=True,
                paper=False):
    """The OTTT time loop (time outer, batch inner, so variant O can update after each step).
    ``net`` holds the weights (input and recurrent ones transposed); with lr > 0 they are
    updated in place. ``st`` (:class:`~plasticity.rsnn_step.Sequences`, xbar = a_hat with decay
    ``lam``), ``sums`` and ``step`` carry over between calls, so calling it on one step at a
    time with ``finalize=False`` (window = 1 inside the CE window, else 0) is the online use
    (:class:`OTTT`). ``paper=True``: the paper convention's step (:func:`paper_step`).
    Returns the CE sum of -log p (0 for MSE or not finalized)."""
    batch, T, n_in = x.shape
    n = st.v.shape[1]
    P = n_in + n
    scale = 1.0 / batch
    fb = net.w_out.T                  # OTTT's learning signal is W_out^T e_t, with W_out as it is now
    Gs, gs_out, gs_b, G, g_out, g_b, esum = step.G, step.g_out, step.g_b, sums.G, sums.g_out, sums.g_b, sums.esum
    w_in_t, w_rec_t, w_out, b_out = net.w_in_t, net.w_rec_t, net.w_out, net.b_out
    L = work.L
    for t in range(T):
        in_window = t >= T - window
        for b in range(batch):
            presynaptic(x[b, t], st.z[b], work.pre)
            tgt_t = tgt[b, t] if mode == 0 else tgt[0, 0]     # CE passes a (1, 1, n_out) dummy
            if paper:
                paper_step(b, x[b, t], tgt_t, mode, in_window, scale, lam, net, fb, st, sums, work, gs_out, gs_b)
            else:
                online_step(b, x[b, t], tgt_t, mode, in_window, scale, lam, net, fb, st, sums, work, gs_out, gs_b)
            ps, xhat = st.ps[b], st.xbar[b]
            if mode == 0:
                for j in range(n):
                    dv = ps[j] * L[j]
                    if dv != 0.0:
                        for l in range(P):
                            Gs[j, l] += dv * xhat[l]
            elif in_window:
                S = st.S[b]
                for j in range(n):
                    pj = ps[j]
                    if pj != 0.0:
                        for l in range(P):
                            S[j, l] += pj * xhat[l]
            if use_reg:
                for j in range(n):
                    pj = ps[j]
                    if pj != 0.0:
                        for l in range(P):
                            esum[j, l] += pj * xhat[l]
        if mode == 0:
            for j in range(n):
                for l in range(P):
                    G[j, l] += Gs[j, l]
                    if lr > 0.0:
                        if l < n_in:
                            w_in_t[l, j] -= lr * Gs[j, l]
                        elif l - n_in != j:
                            w_rec_t[l - n_in, j] -= lr * Gs[j, l]
                    Gs[j, l] = 0.0
            for k in range(b_out.size):
                g_b[k] += gs_b[k]
                if lr > 0.0:
                    b_out[k] -= lr * gs_b[k]
                gs_b[k] = 0.0
                for j in range(n):
                    g_out[k, j] += gs_out[k, j]
                    if lr > 0.0:
                        w_out[k, j] -= lr * gs_out[k, j]
                    gs_out[k, j] = 0.0
    if finalize and mode == 1:
        return apply_window_errors(labels, window, scale, fb, st, sums, work)
    return 0.0


def gradients_reference(net, x, target, *, loss="mse", window=None, c_reg=0.0, f_target=10.0, lr=0.0, lam=None,
                        return_loss=False):
    """Twin of :func:`gradients`: the equations of the module docstring in NumPy, vectorized
    over the batch. ``lr > 0`` is variant O (SGD after every step; ``net`` updated in place)."""
    from .surrogate import psi_reference, smooth_spike_reference

    batch, T, n_in = x.shape
    n, n_out = net.n_rec, net.n_out
    lam = net.alpha if lam is None else lam
    window = T if window is None else window
    spec = net.params.surrogate_spec
    w_in, w_rec, w_out, b_out = (net.w_in.copy(), net.w_rec.copy(), net.w_out.copy(), net.b_out.copy())
    v, z, a = (np.zeros((batch, n)) for _ in range(3))
    y = np.zeros((batch, n_out))
    xhat = np.zeros((batch, n_in + n))
    zbar, cb = np.zeros((batch, n)), 0.0
    G = np.zeros((n, n_in + n))
    g_out, g_b = np.zeros((n_out, n)), np.zeros(n_out)
    ys, psis, xhats, zbars, cbs, zs = [], [], [], [], [], []
    sq = 0.0
    for t in range(T):
        xhat = lam * xhat + np.concatenate([x[:, t], z], axis=1)
        a = np.where(net.adaptive > 0, net.rho * a + z, 0.0)
        v = net.alpha * v + x[:, t] @ w_in.T + z @ w_rec.T - net.v_th * z
        u = v - (net.v_th + net.beta_vec * a)
        z = smooth_spike_reference(u, net.smooth) if net.smooth is not None else (u > 0).astype(float)
        ps = psi_reference(u, spec, net.v_th)
        y = net.kappa * y + z @ w_out.T + b_out
        zbar = net.kappa * zbar + z
        cb = net.kappa * cb + 1.0
        ys.append(y)
        psis.append(ps)
        xhats.append(xhat)
        zbars.append(zbar)
        cbs.append(cb)
        zs.append(z)
        if loss == "mse":
            err = (y - target[:, t]) / batch
            sq += float(np.sum((y - target[:, t]) ** 2))
            g_step = np.einsum("bj,bl->jl", ps * (err @ w_out), xhat)
            go_step, gb_step = err.T @ zbar, err.sum(axis=0) * cb
            G += g_step
            g_out += go_step
            g_b += gb_step
            if lr > 0:
                w_in -= lr * g_step[:, :n_in]
                w_rec -= lr * g_step[:, n_in:]
                np.fill_diagonal(w_rec, 0.0)
                w_out -= lr * go_step
                b_out -= lr * gb_step
    Y = np.stack(ys, axis=1)
    value = 0.5 * sq / batch
    if loss == "ce":
        value, err = loss_and_error(Y, target, "ce", window, reference=True)
        for t in range(T - window, T):
            G += np.einsum("bj,bl->jl", psis[t] * (err[:, t] @ w_out), xhats[t])
            g_out += err[:, t].T @ zbars[t]
            g_b += err[:, t].sum(axis=0) * cbs[t]
    if c_reg > 0:
        Z = np.stack(zs, axis=1)
        _, reg = rate_regularization(net.rates_hz(Z), c_reg, f_target, net.dt, batch * T)
        G += sum(np.einsum("bj,bl->jl", psis[t] * reg, xhats[t]) for t in range(T))
    if lr > 0:
        net.set_weights({"w_in": w_in, "w_rec": w_rec, "w_out": w_out, "b_out": b_out})
    grads = split_gradients(G, g_out, g_b, n_in)
    return (grads, float(value)) if return_loss else grads


def gradients_paper_reference(net, x, target, *, loss="mse", window=None, c_reg=0.0, f_target=10.0, lr=0.0,
                              lam=None, return_loss=False):
    """Twin of :func:`gradients` with ``convention="paper"``: Xiao et al. 2022's equations in
    their notation, written for clarity (NumPy, vectorized over the batch; LIF only). With
    lambda = ``lam`` (default alpha), the membrane's decay:

        h_t       = alpha*(h_{t-1} - v_th*s_{t-1}) + W_in x_t + W_rec s_{t-1}
        s_t       = H(h_t - v_th),   psi_t = surrogate(h_t - v_th)
        o_t       = kappa*o_{t-1} + W_out s_t + b_out
        a_rec_t   = lambda*a_rec_{t-1} + s_{t-1}        (presynaptic trace of the recurrent input)
        a_out_t   = lambda*a_out_{t-1} + s_t            (presynaptic trace of the readout's input)
        g_t       = psi_t * (W_out^T e_t)               (instantaneous gradient, e_t = dL/do_t)
        dW_in  = sum_t g_t x_t^T,  dW_rec = sum_t g_t a_rec_t^T,  dW_out = sum_t e_t a_out_t^T,
        db_out = sum_t e_t c_t,  c_t = kappa*c_{t-1} + 1

    CE: e_t is the window error, the same at every window step. ``lr > 0`` is variant O."""
    from .surrogate import psi_reference, smooth_spike_reference

    batch, T, n_in = x.shape
    n, n_out = net.n_rec, net.n_out
    alpha, kappa, v_th = net.alpha, net.kappa, net.v_th
    lam = alpha if lam is None else lam
    window = T if window is None else window
    spec = net.params.surrogate_spec
    w_in, w_rec, w_out, b_out = (net.w_in.copy(), net.w_rec.copy(), net.w_out.copy(), net.b_out.copy())
    h, s = np.zeros((batch, n)), np.zeros((batch, n))
    o = np.zeros((batch, n_out))
    a_rec, a_out, c = np.zeros((batch, n)), np.zeros((batch, n)), 0.0
    dw_in, dw_rec = np.zeros((n, n_in)), np.zeros((n, n))
    dw_out, db_out = np.zeros((n_out, n)), np.zeros(n_out)
    outs, psis, xs, a_recs, a_outs, cs, spikes = [], [], [], [], [], [], []
    sq = 0.0
    for t in range(T):
        a_rec = lam * a_rec + s                          # s still holds s_{t-1}
        h = alpha * (h - v_th * s) + x[:, t] @ w_in.T + s @ w_rec.T
        u = h - v_th
        s = smooth_spike_reference(u, net.smooth) if net.smooth is not None else (u > 0).astype(float)
        psi = psi_reference(u, spec, v_th)
        o = kappa * o + s @ w_out.T + b_out
        a_out = lam * a_out + s
        c = kappa * c + 1.0
        for store, value in zip((outs, psis, xs, a_recs, a_outs, cs, spikes), (o, psi, x[:, t], a_rec, a_out, c, s)):
            store.append(value)
        if loss == "mse":
            e = (o - target[:, t]) / batch
            sq += float(np.sum((o - target[:, t]) ** 2))
            g = psi * (e @ w_out)
            step = (g.T @ x[:, t], g.T @ a_rec, e.T @ a_out, e.sum(axis=0) * c)
            dw_in, dw_rec, dw_out, db_out = (acc + d for acc, d in zip((dw_in, dw_rec, dw_out, db_out), step))
            if lr > 0:
                w_in, w_rec, w_out, b_out = (w - lr * d for w, d in zip((w_in, w_rec, w_out, b_out), step))
                np.fill_diagonal(w_rec, 0.0)
    value = 0.5 * sq / batch
    if loss == "ce":
        value, err = loss_and_error(np.stack(outs, axis=1), target, "ce", window, reference=True)
        for t in range(T - window, T):
            e = err[:, t]
            g = psis[t] * (e @ w_out)
            dw_in += g.T @ xs[t]
            dw_rec += g.T @ a_recs[t]
            dw_out += e.T @ a_outs[t]
            db_out += e.sum(axis=0) * cs[t]
    if c_reg > 0:
        _, reg = rate_regularization(net.rates_hz(np.stack(spikes, axis=1)), c_reg, f_target, net.dt, batch * T)
        dw_in += sum((psis[t] * reg).T @ xs[t] for t in range(T))
        dw_rec += sum((psis[t] * reg).T @ a_recs[t] for t in range(T))
    if lr > 0:
        net.set_weights({"w_in": w_in, "w_rec": w_rec, "w_out": w_out, "b_out": b_out})
    grads = split_gradients(np.concatenate([dw_in, dw_rec], axis=1), dw_out, db_out, n_in)
    return (grads, float(value)) if return_loss else grads


class OTTT:
    """Online OTTT for use inside a time loop (same state and kernel as :func:`gradients`).

    >>> rule = OTTT(net, loss="mse", variant="O", lr=1e-3)
    >>> rule.reset(batch)
    >>> for t in range(T):
    ...     y_t = rule.step(x[:, t], target[:, t])    # variant O: net updated after this step
    >>> grads = rule.gradients()                        # the sum of the per-step gradients

    For ``loss="ce"`` (variant A only) call ``step(x_t, in_window=...)`` and
    ``gradients(labels)``. Variant A reads the network's weights at :meth:`reset`.
    ``convention`` as in :func:`gradients` (``"project"`` or ``"paper"``).
    """

    def __init__(self, net, *, loss="mse", variant="A", lr=None, lam=None, c_reg=0.0, f_target=10.0,
                 convention="project"):
        self.net = net
        self.loss = check_loss(loss)
        self.variant = check_choice("variant", variant, VARIANTS)
        self._paper = check_convention(net, convention)
        self.convention = convention
        self.c_reg, self.f_target = check_regularization(c_reg, f_target)
        self.lam = net.alpha if lam is None else check_non_negative("lam", lam)
        if self.lam >= 1.0:
            raise ParameterError(f"lam must be in [0, 1), got {lam}")
        if variant == "O":
            if lr is None:
                raise ParameterError("lr must be given (> 0) for variant 'O', got None")
            self.lr = check_positive("lr", lr)
            if loss != "mse" or self.c_reg > 0:
                raise ParameterError("variant 'O' needs a per-step loss: loss must be 'mse' and c_reg 0, "
                                     f"got loss={loss!r}, c_reg={c_reg}")
        else:
            self.lr = 0.0
        self._st = None

    def reset(self, batch: int) -> None:
        """Start ``batch`` new sequences (states, traces and accumulated gradients zero)."""
        net = self.net
        n, n_out, n_in = net.n_rec, net.n_out, net.n_in
        self._batch = check_batch(batch)
        self._net = as_network(net, copy=True)
        self._st = new_sequences(self._batch, n_in, n, n_out, window_sums=self.loss == "ce")
        self._sums = new_sums(n_in, n, n_out, self.c_reg > 0)
        self._step_sums = new_step_sums(n_in, n, n_out)
        self._work = new_work(n_in, n, n_out)
        self._steps = 0
        self._window = 0

    def step(self, x_t, target_t=None, *, in_window=True) -> np.ndarray:
        """Advance every sequence by one step with inputs ``x_t`` (batch, n_in); returns y_t."""
        if self._st is None:
            raise ParameterError("call reset(batch) before step()")
        net, batch = self.net, self._batch
        x_t, tgt, mode = step_arrays(net, batch, self.loss, x_t, target_t)
        window = 1 if (mode == 1 and in_window) else 0
        self._window += window
        self._steps += 1
        ottt_kernel(x_t[:, None, :], tgt[:, None, :], np.zeros(1, dtype=np.int64), mode, window, self.lr, self.lam,
                    self._net, self.c_reg > 0, self._st, self._sums, self._step_sums, self._work, False, self._paper)
        if self.lr > 0:
            _write_back(net, self._net)
        return self._st.y.copy()

    def gradients(self, labels=None) -> dict:
        """The gradient accumulated since :meth:`reset` (CE: apply the window error for ``labels``)."""
        if self._st is None or self._steps == 0:
            raise ParameterError("call reset(batch) and step() before gradients()")
        net, batch, sums = self.net, self._batch, self._sums
        sums = sums._replace(G=sums.G.copy(), g_out=sums.g_out.copy(), g_b=sums.g_b.copy())
        if self.loss == "ce":
            labels = check_target(labels, "ce", batch, self._steps, net.n_out)
            if self._window < 1:
                raise ParameterError("no step() had in_window=True: the CE window is empty")
            self.loss_value = apply_window_errors(labels, self._window, 1.0 / batch, self._net.w_out.T, self._st, sums,
                                                  self._work) / batch
        else:
            self.loss_value = 0.5 * sums.acc[0] / batch
        return finish_gradients(net, sums, self.c_reg, self.f_target, batch * self._steps)
