"""e-prop (Bellec et al. 2020, Nat Commun 11:3625): online gradients from eligibility traces
and a broadcast learning signal.

For the RSNN of :mod:`models.rsnn` with presynaptic vector p_t = [x_t, z_{t-1}] (inputs and
recurrent spikes), every synapse j <- l keeps eligibility vectors that follow the neuron's
own dynamics (the within-neuron Jacobian) and nothing else:

    eps_v[t] = alpha*eps_v[t-1] + p_t            (shared by all j: a presynaptic trace)
    eps_a[t] = rho*eps_a[t-1] + e[t-1]           (ALIF: the adaptation path)
    e[t]     = psi_t,j * (eps_v[t] - beta*eps_a[t])                    eligibility trace
    ebar[t]  = kappa*ebar[t-1] + e[t]            (filtered by the readout's leak)

    dW[j, l] = sum_t L_t,j * ebar[t, j, l] + r_j * sum_t e[t, j, l]
    L_t      = B e_t  (e_t = dL/dy_t; B = W_out^T "symmetric", fixed random "random",
                       or random and trained like W_out^T "adaptive")

with r the rate regularization's dE/dz. The reset path (-v_th*z_{t-1} in v_t) is dropped, as
in the paper; ``detach_reset=False`` keeps it in eps_v (then one trace per synapse:
eps_v[t] = alpha*eps_v[t-1] - v_th*e[t-1] + p_t). The readout's weights get their exact
gradient from the forward traces zbar_t = kappa*zbar_{t-1} + z_t.

With symmetric feedback this is exactly the gradient that BPTT computes when z_{t-1} is cut
from both the W_rec term and the reset term of v_t (``plasticity.bptt.gradients(...,
recurrent=False, detach_reset=True)``), and equals RTRL with the recurrent influence
dropped: the tests hold both to 1e-10.

Two ways to run it:

* :func:`gradients` (the accumulated gradient of one batch; same signature as
  ``plasticity.bptt.gradients`` plus ``feedback``/``B``/``seed``): one fused Numba time loop
  whose memory does not depend on T.
* :class:`EProp` with ``reset(batch)``, ``step(x_t, target_t)`` inside your own time loop,
  and ``gradients(labels)`` at the end (the online API; CE needs the labels at the end
  because its error is defined on the window mean).

For CE the error of every step in the window is the same vector (softmax - one-hot)/(batch *
window), known at the end of the sequence; the window sums of ebar are kept so the result is
still exact (and still O(1) in T).
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit

from .bptt import check_loss, check_regularization, check_target, check_window, rate_regularization
from .errors import ParameterError, check_choice
from .rsnn_step import (apply_window_error, apply_window_errors, as_network, check_batch, clear_rows, finish_gradients,
                        new_sequences, new_sums, new_work, online_step, presynaptic, split_gradients, step_arrays)

FEEDBACK = ("symmetric", "random", "adaptive")


def feedback_matrix(net, feedback: str = "symmetric", B=None, seed=None) -> np.ndarray:
    """The (n_rec, n_out) feedback weights: W_out^T for ``"symmetric"``; else ``B`` if given
    or standard normal / sqrt(n_rec) drawn from ``numpy.random.default_rng(seed)``."""
    check_choice("feedback", feedback, FEEDBACK)
    if feedback == "symmetric":
        if B is not None:
            raise ParameterError("B must be None for feedback 'symmetric' (it is W_out^T)")
        return np.ascontiguousarray(net.w_out.T)
    if B is not None:
        B = np.array(B, dtype=np.float64)
        if B.shape != (net.n_rec, net.n_out):
            raise ParameterError(f"B must have shape (n_rec, n_out) = {(net.n_rec, net.n_out)}, got {B.shape}")
        if not np.all(np.isfinite(B)):
            raise ParameterError("B must be finite, got NaN or inf")
        return B
    return np.random.default_rng(seed).standard_normal((net.n_rec, net.n_out)) / math.sqrt(net.n_rec)


class Eligibility(NamedTuple):
    """e-prop's eligibility vectors per sequence, (batch, n_rec, P): ``eps_v`` (kept only with
    the reset path, else (batch, 1, 1): then xbar is eps_v), ``eps_a`` and the filtered trace
    ``ebar``. With :class:`~plasticity.rsnn_step.Sequences` O(batch * n_rec * P), independent
    of the sequence length."""

    eps_v: np.ndarray
    eps_a: np.ndarray
    ebar: np.ndarray


def new_eligibility(batch: int, n_in: int, n: int, reset: bool) -> Eligibility:
    P = n_in + n
    return Eligibility(np.zeros((batch, n, P) if reset else (batch, 1, 1)), np.zeros((batch, n, P)),
                       np.zeros((batch, n, P)))


# _nrt=False (here, in run_kernel and step_kernel): the kernels allocate nothing, and without
# reference counting the per-step access to the named state's arrays and rows costs nothing
# (with it, up to ~40 % of a small network's time).
@njit(cache=True, _nrt=False)
def advance(b, x_t, tgt_t, mode, in_window, scale, net, fb, reset, use_reg, st, el, sums, work):
    """One step of sequence ``b``. mode 0: MSE with target ``tgt_t``; mode 1: CE (accumulate
    window sums when ``in_window``). ``fb`` is the feedback matrix B (n_rec, n_out); ``reset``
    keeps the reset path, ``use_reg`` sums the eligibility for the rate regularization.
    Allocates nothing."""
    n = st.v.shape[1]
    P = work.pre.size
    alpha, rho, kappa, v_th, beta, adaptive = net.alpha, net.rho, net.kappa, net.v_th, net.beta, net.adaptive
    pre, ps, xbar = work.pre, st.ps[b], st.xbar[b]
    eps_v, eps_a, ebar = el.eps_v[b], el.eps_a[b], el.ebar[b]
    presynaptic(x_t, st.z[b], pre)
    # eligibility vectors at t from t-1 (old traces, old psi)
    for j in range(n):
        pp = ps[j]                                # psi_{t-1}: ps is updated below
        bj = beta[j]
        if reset:
            for l in range(P):
                e_prev = pp * (eps_v[j, l] - bj * eps_a[j, l])
                if adaptive[j] != 0.0:
                    eps_a[j, l] = rho * eps_a[j, l] + e_prev
                eps_v[j, l] = alpha * eps_v[j, l] - v_th * e_prev + pre[l]
        elif adaptive[j] != 0.0:
            for l in range(P):
                eps_a[j, l] = rho * eps_a[j, l] + pp * (xbar[l] - bj * eps_a[j, l])
    # the network step, the readout and its error (xbar <- alpha*xbar + p_t there)
    online_step(b, x_t, tgt_t, mode, in_window, scale, alpha, net, fb, st, sums, work, sums.g_out, sums.g_b)
    # eligibility traces, filtered, accumulated
    L, G, S, esum = work.L, sums.G, st.S[b], sums.esum
    for j in range(n):
        pj = ps[j]
        if reset:
            ev = eps_v[j]
        else:
            ev = xbar
        if mode == 0 and not use_reg and adaptive[j] == 0.0:
            _row_fast(ebar[j], ev, G[j], pj, L[j], kappa)    # the common case, vectorizable
        else:
            _row_general(ebar[j], ev, eps_a[j], G[j], S[j], esum[j] if use_reg else esum[0], pj,
                         pj * beta[j] if adaptive[j] != 0.0 else 0.0, L[j], kappa, mode, in_window, use_reg)


@njit(cache=True, inline="always")
def _row_fast(eb, ev, g, pj, lj, kappa):
    """LIF row, MSE, no regularization: ebar <- kappa*ebar + psi*eps_v; G += L*ebar."""
    for l in range(eb.size):
        e = kappa * eb[l] + pj * ev[l]
        eb[l] = e
        g[l] += lj * e


@njit(cache=True, inline="always")
def _row_general(eb, ev, ea, g, s, es, pj, pjb, lj, kappa, mode, in_window, use_reg):
    """Any row: e = psi*(eps_v - beta*eps_a) (pjb = psi*beta, 0 for LIF); then as _row_fast
    (MSE), or the window sum S (CE), and the regularization's sum of e. One branch-free loop
    per case, so each vectorizes."""
    P = eb.size
    if mode == 0:
        if use_reg:
            for l in range(P):
                e = pj * ev[l] - pjb * ea[l]
                b = kappa * eb[l] + e
                eb[l] = b
                g[l] += lj * b
                es[l] += e
        else:
            for l in range(P):
                b = kappa * eb[l] + (pj * ev[l] - pjb * ea[l])
                eb[l] = b
                g[l] += lj * b
    elif in_window:
        if use_reg:
            for l in range(P):
                e = pj * ev[l] - pjb * ea[l]
                b = kappa * eb[l] + e
                eb[l] = b
                s[l] += b
                es[l] += e
        else:
            for l in range(P):
                b = kappa * eb[l] + (pj * ev[l] - pjb * ea[l])
                eb[l] = b
                s[l] += b
    elif use_reg:
        for l in range(P):
            e = pj * ev[l] - pjb * ea[l]
            eb[l] = kappa * eb[l] + e
            es[l] += e
    else:
        for l in range(P):
            eb[l] = kappa * eb[l] + (pj * ev[l] - pjb * ea[l])


@njit(cache=True, _nrt=False)
def run_kernel(x, tgt, labels, mode, window, net, fb, reset, use_reg, st, el, sums, work):
    """The whole batch, one sequence after another, reusing one sequence's state (``st`` and
    ``el`` hold one sequence): memory independent of T and of the batch size. Returns the CE
    sum of -log p (0 for MSE)."""
    batch, T, _ = x.shape
    scale = 1.0 / batch
    ce = 0.0
    for b in range(batch):
        clear_rows(st, 0)
        clear_rows(el, 0)
        work.L[:] = 0.0
        sums.acc[2] = 0.0
        for t in range(T):
            tgt_t = tgt[b, t] if mode == 0 else tgt[0, 0]     # CE passes a (1, 1, n_out) dummy
            advance(0, x[b, t], tgt_t, mode, t >= T - window, scale, net, fb, reset, use_reg, st, el, sums, work)
        if mode == 1:
            ce += apply_window_error(0, labels[b], window, scale, fb, st, sums, work)
    return ce


@njit(cache=True, _nrt=False)
def step_kernel(x_t, tgt_t, mode, in_window, scale, net, fb, reset, use_reg, st, el, sums, work):
    """:func:`advance` for every sequence of a batch."""
    for b in range(x_t.shape[0]):
        if mode == 1:
            work.L[:] = 0.0
        advance(b, x_t[b], tgt_t[b], mode, in_window, scale, net, fb, reset, use_reg, st, el, sums, work)


def gradients(net, x, target, *, loss="mse", detach_reset=True, window=None, c_reg=0.0, f_target=10.0,
              feedback="symmetric", B=None, seed=None, return_loss=False):
    """Accumulated e-prop gradient of one batch (same arguments and keys as
    :func:`plasticity.bptt.gradients`; ``feedback``, ``B`` and ``seed`` choose the learning-signal
    weights, see :func:`feedback_matrix`). e-prop drops the reset path by default (Bellec et al.);
    ``detach_reset=False`` keeps it in the eligibility traces. ``return_loss=True`` returns
    ``(grads, loss)`` with the loss of this forward pass (without regularization)."""
    check_loss(loss)
    c_reg, f_target = check_regularization(c_reg, f_target)
    x = net.check_input(x)
    batch, T, n_in = x.shape
    n, n_out = net.n_rec, net.n_out
    target = check_target(target, loss, batch, T, n_out)
    w = check_window(window, T) if loss == "ce" else T
    fb = np.ascontiguousarray(feedback_matrix(net, feedback, B, seed))
    reset = not detach_reset
    st, el = new_sequences(1, n_in, n, n_out), new_eligibility(1, n_in, n, reset)
    sums = new_sums(n_in, n, n_out, c_reg > 0)
    mode = 0 if loss == "mse" else 1
    tgt = target if mode == 0 else np.zeros((1, 1, n_out))
    labels = target if mode == 1 else np.zeros(1, dtype=np.int64)
    ce = run_kernel(x, tgt, labels, mode, w, as_network(net), fb, reset, c_reg > 0, st, el, sums,
                    new_work(n_in, n, n_out))
    grads = finish_gradients(net, sums, c_reg, f_target, batch * T)
    if return_loss:
        value = 0.5 * sums.acc[0] / batch if mode == 0 else ce / batch
        return grads, float(value)
    return grads


class EProp:
    """Online e-prop for use inside a time loop.

    >>> rule = EProp(net, loss="mse", feedback="random", seed=1)
    >>> rule.reset(batch)
    >>> for t in range(T):
    ...     y_t = rule.step(x[:, t], target[:, t])
    >>> grads = rule.gradients()

    For ``loss="ce"`` call ``step(x_t, in_window=...)`` (True on the steps of the decision
    window) and ``gradients(labels)``. The network's weights are read at every step, so an
    optimizer may change them between steps. ``B`` is the feedback matrix; with
    ``feedback="adaptive"`` call :meth:`update_feedback` with each W_out update.
    """

    def __init__(self, net, *, loss="mse", feedback="symmetric", B=None, seed=None, detach_reset=True,
                 c_reg=0.0, f_target=10.0):
        self.net = net
        self.loss = check_loss(loss)
        self.feedback = check_choice("feedback", feedback, FEEDBACK)
        self.c_reg, self.f_target = check_regularization(c_reg, f_target)
        self.detach_reset = bool(detach_reset)
        self.B = None if feedback == "symmetric" else feedback_matrix(net, feedback, B, seed)
        self._st = None

    @property
    def feedback_weights(self) -> np.ndarray:
        return np.ascontiguousarray(self.net.w_out.T) if self.B is None else self.B

    def update_feedback(self, delta_w_out) -> None:
        """Adaptive feedback (Bellec et al. 2020): B receives the same update as W_out^T."""
        if self.feedback == "adaptive":
            self.B = self.B + np.asarray(delta_w_out).T

    def reset(self, batch: int) -> None:
        """Start ``batch`` new sequences (states and accumulated gradients zero)."""
        net = self.net
        self._batch = check_batch(batch)
        self._st = new_sequences(self._batch, net.n_in, net.n_rec, net.n_out)
        self._el = new_eligibility(self._batch, net.n_in, net.n_rec, not self.detach_reset)
        self._sums = new_sums(net.n_in, net.n_rec, net.n_out, self.c_reg > 0)
        self._work = new_work(net.n_in, net.n_rec, net.n_out)

    def step(self, x_t, target_t=None, *, in_window=True) -> np.ndarray:
        """Advance every sequence by one step with inputs ``x_t`` (batch, n_in); returns y_t
        (batch, n_out). MSE needs ``target_t`` (batch, n_out)."""
        if self._st is None:
            raise ParameterError("call reset(batch) before step()")
        net, batch = self.net, self._batch
        x_t, tgt, mode = step_arrays(net, batch, self.loss, x_t, target_t)
        step_kernel(x_t, tgt, mode, bool(in_window), 1.0 / batch, as_network(net),
                    np.ascontiguousarray(self.feedback_weights), not self.detach_reset, self.c_reg > 0, self._st,
                    self._el, self._sums, self._work)
        return self._st.y.copy()

    def gradients(self, labels=None) -> dict:
        """The gradient accumulated since :meth:`reset` (CE: apply the window error for ``labels``)."""
        if self._st is None:
            raise ParameterError("call reset(batch) and step() before gradients()")
        st, sums, batch, net = self._st, self._sums, self._batch, self.net
        steps = int(round(sums.acc[1] / batch))
        if steps < 1:
            raise ParameterError("no step() since reset(): nothing to differentiate")
        if self.loss == "ce":
            labels = check_target(labels, "ce", batch, steps, net.n_out)
            n_window = sums.acc[2] / batch
            if n_window < 1:
                raise ParameterError("no step() had in_window=True: the CE window is empty")
            sums = sums._replace(G=sums.G.copy(), g_out=sums.g_out.copy(), g_b=sums.g_b.copy())
            self.loss_value = apply_window_errors(labels, n_window, 1.0 / batch,
                                                  np.ascontiguousarray(self.feedback_weights), st, sums,
                                                  self._work) / batch
        else:
            self.loss_value = 0.5 * sums.acc[0] / batch
        return finish_gradients(net, sums, self.c_reg, self.f_target, batch * steps)


def gradients_reference(net, x, target, *, loss="mse", window=None, c_reg=0.0, f_target=10.0, B=None,
                        detach_reset=True):
    """Twin of :func:`gradients`: the equations of the module docstring in NumPy, the whole
    batch at once, eligibility traces of every step kept (clarity over memory)."""
    from .bptt import loss_and_error

    x = net.check_input(x)
    batch, T, n_in = x.shape
    n, P = net.n_rec, n_in + net.n_rec
    s = net.forward_reference(x)
    target = check_target(target, loss, batch, T, net.n_out)
    _, err = loss_and_error(s.y, target, loss, window, reference=True)
    _, reg = rate_regularization(net.rates_hz(s.z), c_reg, f_target, net.dt, batch * T)
    fb = net.w_out.T if B is None else B
    beta = net.beta_vec[None, :, None]
    eps_v = np.zeros((batch, n, P))
    eps_a = np.zeros((batch, n, P))
    e = np.zeros((batch, n, P))
    ebar = np.zeros((batch, n, P))
    G = np.zeros((n, P))
    z_prev = np.zeros((batch, n))
    cbar = 0.0
    g_out, g_b = np.zeros((net.n_out, n)), np.zeros(net.n_out)
    zb = np.zeros((batch, n))
    for t in range(T):
        pre = np.concatenate([x[:, t], z_prev], axis=1)[:, None, :]
        eps_a = net.adaptive[None, :, None] * (net.rho * eps_a + e)
        eps_v = net.alpha * eps_v + pre - (0.0 if detach_reset else net.v_th * e)
        e = s.psi[:, t][:, :, None] * (eps_v - beta * eps_a)
        ebar = net.kappa * ebar + e
        L = err[:, t] @ fb.T                                     # (batch, n)
        G += np.einsum("bj,bjl->jl", L, ebar) + reg[:, None] * e.sum(axis=0)
        zb = net.kappa * zb + s.z[:, t]
        cbar = net.kappa * cbar + 1.0
        g_out += err[:, t].T @ zb
        g_b += err[:, t].sum(axis=0) * cbar
        z_prev = s.z[:, t]
    return split_gradients(G, g_out, g_b, n_in)
