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

import numpy as np
from numba import njit

from .bptt import check_loss, check_regularization, check_target, check_window, rate_regularization
from .errors import ParameterError, check_choice
from .rsnn_step import input_current, neuron_step

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


class _State:
    """Everything e-prop keeps for one batch of sequences: O(batch * n_rec * (n_in + n_rec)),
    independent of the sequence length."""

    def __init__(self, batch, n_in, n, n_out, reset, use_reg):
        P = n_in + n
        self.v, self.z, self.a, self.ps = (np.zeros((batch, n)) for _ in range(4))
        self.y = np.zeros((batch, n_out))
        self.pre = np.zeros(P)
        self.cur = np.zeros(n)
        self.rec = np.zeros(n)
        self.xbar = np.zeros((batch, P))
        self.eps_v = np.zeros((batch, n, P) if reset else (batch, 1, 1))
        self.eps_a = np.zeros((batch, n, P))
        self.ebar = np.zeros((batch, n, P))
        self.S = np.zeros((batch, n, P))          # CE: window sum of ebar
        self.esum = np.zeros((n, P) if use_reg else (1, 1))
        self.zbar = np.zeros((batch, n))
        self.cb = np.zeros(batch)
        self.s_zbar = np.zeros((batch, n))
        self.s_cb = np.zeros(batch)
        self.ysum = np.zeros((batch, n_out))
        self.err = np.zeros(n_out)
        self.L = np.zeros(n)
        self.G = np.zeros((n, P))
        self.g_out = np.zeros((n_out, n))
        self.g_b = np.zeros(n_out)
        self.zsum = np.zeros(n)
        self.acc = np.zeros(3)                    # [MSE sum of squares, steps, window steps]


@njit(cache=True)
def advance(x_t, tgt_t, mode, in_window, scale, w_in, w_rec_t, w_out, b_out, fb, alpha, rho, kappa, v_th,
            beta, adaptive, smooth_k, sp, reset, use_reg,
            v, z, a, y, ps, pre, cur, rec, xbar, eps_v, eps_a, ebar, S, esum, zbar, cb, s_zbar,
            s_cb, ysum, err, L, G, g_out, g_b, zsum, acc):
    """One step of one sequence (1-D/2-D views of that sequence's state). mode 0: MSE with
    target ``tgt_t``; mode 1: CE (accumulate window sums when ``in_window``). ``w_in`` and
    ``w_rec_t`` are transposed (pre, post); ``cb``/``s_cb`` are length-1 arrays. Allocates nothing."""
    n = v.size
    n_in = x_t.size
    P = n_in + n
    n_out = y.size
    for l in range(n_in):
        pre[l] = x_t[l]
    for k in range(n):
        pre[n_in + k] = z[k]                      # z_{t-1}
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
    for l in range(P):
        xbar[l] = alpha * xbar[l] + pre[l]
    # the network step
    input_current(x_t, w_in, cur)                  # w_in is passed transposed: (n_in, n_rec)
    neuron_step(cur, w_rec_t, alpha, rho, v_th, beta, adaptive, smooth_k, sp, v, z, a, ps, rec)
    for j in range(n):
        zsum[j] += z[j]
    for k in range(n_out):
        s = kappa * y[k] + b_out[k]
        for j in range(n):
            s += w_out[k, j] * z[j]
        y[k] = s
    # readout traces and the learning signal
    cb[0] = kappa * cb[0] + 1.0
    for j in range(n):
        zbar[j] = kappa * zbar[j] + z[j]
    acc[1] += 1.0
    if mode == 0:
        for k in range(n_out):
            d = y[k] - tgt_t[k]
            acc[0] += d * d
            err[k] = d * scale
            g_b[k] += err[k] * cb[0]
            for j in range(n):
                g_out[k, j] += err[k] * zbar[j]
        for j in range(n):
            s = 0.0
            for k in range(n_out):
                s += fb[j, k] * err[k]
            L[j] = s
    elif in_window:
        acc[2] += 1.0
        s_cb[0] += cb[0]
        for j in range(n):
            s_zbar[j] += zbar[j]
        for k in range(n_out):
            ysum[k] += y[k]
    # eligibility traces, filtered, accumulated
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


@njit(cache=True)
def finish_ce(label, scale, fb, S, s_zbar, s_cb, ysum, n_window, err, L, G, g_out, g_b):
    """End of one CE sequence: its error (softmax(window mean) - one-hot) * scale / window is
    the same for every step of the window; apply it to the window sums. Returns -log p[label]."""
    n_out = ysum.size
    n, P = S.shape
    m_max = -np.inf
    for k in range(n_out):
        m = ysum[k] / n_window
        if m > m_max:
            m_max = m
    tot = 0.0
    for k in range(n_out):
        tot += math.exp(ysum[k] / n_window - m_max)
    logz = m_max + math.log(tot)
    for k in range(n_out):
        p = math.exp(ysum[k] / n_window - logz)
        err[k] = ((p - 1.0) if k == label else p) * scale / n_window
    for j in range(n):
        s = 0.0
        for k in range(n_out):
            s += fb[j, k] * err[k]
        L[j] = s
        for l in range(P):
            G[j, l] += s * S[j, l]
    for k in range(n_out):
        g_b[k] += err[k] * s_cb
        for j in range(n):
            g_out[k, j] += err[k] * s_zbar[j]
    return logz - ysum[label] / n_window


@njit(cache=True)
def run_kernel(x, tgt, labels, mode, window, w_in, w_rec_t, w_out, b_out, fb, alpha, rho, kappa, v_th, beta,
               adaptive, smooth_k, sp, reset, use_reg,
               v, z, a, y, ps, pre, cur, rec, xbar, eps_v, eps_a, ebar, S, esum, zbar, cb, s_zbar,
               s_cb, ysum, err, L, G, g_out, g_b, zsum, acc):
    """The whole batch, one sequence after another, reusing one sequence's state (row 0 of
    every state array): memory independent of T and of the batch size. Returns the CE sum
    of -log p (0 for MSE)."""
    batch, T, _ = x.shape
    scale = 1.0 / batch
    ce = 0.0
    for b in range(batch):
        v[0] = 0.0
        z[0] = 0.0
        a[0] = 0.0
        y[0] = 0.0
        ps[0] = 0.0
        xbar[0] = 0.0
        eps_v[0] = 0.0
        eps_a[0] = 0.0
        ebar[0] = 0.0
        S[0] = 0.0
        zbar[0] = 0.0
        cb[0] = 0.0
        s_zbar[0] = 0.0
        s_cb[0] = 0.0
        ysum[0] = 0.0
        L[:] = 0.0
        acc[2] = 0.0
        for t in range(T):
            tgt_t = tgt[b, t] if mode == 0 else tgt[0, 0]     # CE passes a (1, 1, n_out) dummy
            advance(x[b, t], tgt_t, mode, t >= T - window, scale, w_in, w_rec_t, w_out, b_out, fb, alpha,
                    rho, kappa, v_th, beta, adaptive, smooth_k, sp, reset, use_reg,
                    v[0], z[0], a[0], y[0], ps[0], pre, cur, rec, xbar[0], eps_v[0], eps_a[0],
                    ebar[0], S[0], esum, zbar[0], cb[0:1], s_zbar[0], s_cb[0:1], ysum[0], err, L, G, g_out,
                    g_b, zsum, acc)
        if mode == 1:
            ce += finish_ce(labels[b], scale, fb, S[0], s_zbar[0], s_cb[0], ysum[0], window, err, L, G, g_out, g_b)
    return ce


def _kernel_net_args(net, fb):
    return (np.ascontiguousarray(net.w_in.T), np.ascontiguousarray(net.w_rec.T), np.ascontiguousarray(net.w_out),
            np.ascontiguousarray(net.b_out), np.ascontiguousarray(fb), net.alpha, net.rho, net.kappa, net.v_th,
            net.beta_vec, net.adaptive, 0.0 if net.smooth is None else float(net.smooth), net.kernel_surrogate())


def _state_args(st):
    return (st.v, st.z, st.a, st.y, st.ps, st.pre, st.cur, st.rec, st.xbar, st.eps_v, st.eps_a,
            st.ebar, st.S, st.esum, st.zbar, st.cb, st.s_zbar, st.s_cb, st.ysum, st.err, st.L, st.G, st.g_out,
            st.g_b, st.zsum, st.acc)


def _finalize(net, st, c_reg, f_target, n_samples):
    n_in = net.n_in
    rates = st.zsum / n_samples * (1000.0 / net.dt)
    _, reg = rate_regularization(rates, c_reg, f_target, net.dt, n_samples)
    G = st.G + (reg[:, None] * st.esum if c_reg > 0 else 0.0)
    w_rec = G[:, n_in:].copy()
    np.fill_diagonal(w_rec, 0.0)
    return {"w_in": G[:, :n_in].copy(), "w_rec": w_rec, "w_out": st.g_out.copy(), "b_out": st.g_b.copy()}


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
    target = check_target(target, loss, batch, T, net.n_out)
    w = check_window(window, T) if loss == "ce" else T
    fb = feedback_matrix(net, feedback, B, seed)
    reset = not detach_reset
    st = _State(1, n_in, net.n_rec, net.n_out, reset, c_reg > 0)
    mode = 0 if loss == "mse" else 1
    tgt = target if mode == 0 else np.zeros((1, 1, net.n_out))
    labels = target if mode == 1 else np.zeros(1, dtype=np.int64)
    ce = run_kernel(x, tgt, labels, mode, w, *_kernel_net_args(net, fb), reset, c_reg > 0, *_state_args(st))
    grads = _finalize(net, st, c_reg, f_target, batch * T)
    if return_loss:
        value = 0.5 * st.acc[0] / batch if mode == 0 else ce / batch
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
        if isinstance(batch, bool) or not isinstance(batch, (int, np.integer)) or batch < 1:
            raise ParameterError(f"batch must be an integer >= 1, got {batch!r}")
        net = self.net
        self._batch = int(batch)
        self._st = _State(self._batch, net.n_in, net.n_rec, net.n_out, not self.detach_reset, self.c_reg > 0)
        self._cb = np.zeros((self._batch, 1))
        self._scb = np.zeros((self._batch, 1))

    def step(self, x_t, target_t=None, *, in_window=True) -> np.ndarray:
        """Advance every sequence by one step with inputs ``x_t`` (batch, n_in); returns y_t
        (batch, n_out). MSE needs ``target_t`` (batch, n_out)."""
        if self._st is None:
            raise ParameterError("call reset(batch) before step()")
        net, st, batch = self.net, self._st, self._batch
        x_t = np.asarray(x_t, dtype=np.float64)
        if x_t.shape != (batch, net.n_in) or not np.all(np.isfinite(x_t)):
            raise ParameterError(f"x_t must be finite with shape (batch, n_in) = {(batch, net.n_in)}, got {x_t.shape}")
        mode = 0 if self.loss == "mse" else 1
        if mode == 0:
            tgt = np.asarray(target_t, dtype=np.float64) if target_t is not None else None
            if tgt is None or tgt.shape != (batch, net.n_out) or not np.all(np.isfinite(tgt)):
                raise ParameterError(f"target_t must be finite with shape (batch, n_out) = {(batch, net.n_out)}")
        else:
            tgt = np.zeros((batch, net.n_out))
        step_kernel(np.ascontiguousarray(x_t), np.ascontiguousarray(tgt), mode, bool(in_window), 1.0 / batch,
                    *_kernel_net_args(net, self.feedback_weights), not self.detach_reset, self.c_reg > 0,
                    st.v, st.z, st.a, st.y, st.ps, st.pre, st.cur, st.rec, st.xbar, st.eps_v, st.eps_a,
                    st.ebar, st.S, st.esum, st.zbar, self._cb, st.s_zbar, self._scb, st.ysum, st.err, st.L,
                    st.G, st.g_out, st.g_b, st.zsum, st.acc)
        return st.y.copy()

    def gradients(self, labels=None) -> dict:
        """The gradient accumulated since :meth:`reset` (CE: apply the window error for ``labels``)."""
        st, batch, net = self._st, self._batch, self.net
        if st is None:
            raise ParameterError("call reset(batch) and step() before gradients()")
        steps = int(round(st.acc[1] / batch))
        if steps < 1:
            raise ParameterError("no step() since reset(): nothing to differentiate")
        if self.loss == "ce":
            labels = check_target(labels, "ce", batch, steps, net.n_out)
            n_window = st.acc[2] / batch
            if n_window < 1:
                raise ParameterError("no step() had in_window=True: the CE window is empty")
            G0, go0, gb0 = st.G.copy(), st.g_out.copy(), st.g_b.copy()
            self.loss_value = 0.0
            for b in range(batch):
                self.loss_value += finish_ce(labels[b], 1.0 / batch, self.feedback_weights, st.S[b], st.s_zbar[b],
                                             self._scb[b, 0], st.ysum[b], n_window, st.err, st.L, G0, go0, gb0) / batch
            st = _Copy(st, G=G0, g_out=go0, g_b=gb0)
        else:
            self.loss_value = 0.5 * st.acc[0] / batch
        return _finalize(net, st, self.c_reg, self.f_target, batch * steps)


class _Copy:
    def __init__(self, st, **over):
        self.__dict__.update(st.__dict__)
        self.__dict__.update(over)


@njit(cache=True)
def step_kernel(x_t, tgt_t, mode, in_window, scale, w_in, w_rec_t, w_out, b_out, fb, alpha, rho, kappa, v_th, beta,
                adaptive, smooth_k, sp, reset, use_reg,
                v, z, a, y, ps, pre, cur, rec, xbar, eps_v, eps_a, ebar, S, esum, zbar, cb, s_zbar,
                s_cb, ysum, err, L, G, g_out, g_b, zsum, acc):
    """:func:`advance` for every sequence of a batch (state arrays with a leading batch axis)."""
    for b in range(x_t.shape[0]):
        if mode == 1:
            L[:] = 0.0
        advance(x_t[b], tgt_t[b], mode, in_window, scale, w_in, w_rec_t, w_out, b_out, fb, alpha, rho, kappa,
                v_th, beta, adaptive, smooth_k, sp, reset, use_reg,
                v[b], z[b], a[b], y[b], ps[b], pre, cur, rec, xbar[b], eps_v[b], eps_a[b], ebar[b],
                S[b], esum, zbar[b], cb[b], s_zbar[b], s_cb[b], ysum[b], err, L, G, g_out, g_b, zsum, acc)


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
    _, err = loss_and_error(s.y, target, loss, window)
    _, reg = rate_regularization(net.rates_hz(s.z), c_reg, f_target, net.dt, batch * T)
    fb = net.w_out.T if B is None else B
    beta = net.beta_vec[None, :, None]
    eps_v = np.zeros((batch, n, P))
    eps_a = np.zeros((batch, n, P))
    e = np.zeros((batch, n, P))
    ebar = np.zeros((batch, n, P))
    G = np.zeros((n, P))
    z_prev = np.zeros((batch, n))
    zbar, cbar = np.zeros((batch, net.n_out, n)), 0.0
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
    w_rec = G[:, n_in:].copy()
    np.fill_diagonal(w_rec, 0.0)
    return {"w_in": G[:, :n_in].copy(), "w_rec": w_rec, "w_out": g_out, "b_out": g_b}
