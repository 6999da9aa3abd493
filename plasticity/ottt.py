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

What the paper proves and the tests check: for a single layer with no reset path and a loss
that depends on each step's output only (here: W_rec = 0, LIF, ``tau_out = 0`` so kappa = 0,
``detach_reset=True``), OTTT_A is exactly the BPTT gradient, because then
dv_t/dW = a_hat_t. With a leaky readout, recurrence or adaptation it is an approximation.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from .bptt import (check_loss, check_regularization, check_target, check_window, loss_and_error,
                   rate_regularization)
from .errors import ParameterError, check_choice, check_non_negative, check_positive
from .rsnn_step import input_current, neuron_step

VARIANTS = ("A", "O")


def gradients(net, x, target, *, loss="mse", detach_reset=True, window=None, c_reg=0.0, f_target=10.0,
              variant="A", lr=None, lam=None, return_loss=False, reference=False):
    """OTTT gradient of one batch; arguments and keys as :func:`plasticity.bptt.gradients`.

    ``variant="O"`` needs ``lr`` (> 0) and updates ``net`` in place at every step.
    ``lam`` is the presynaptic trace's decay per step (default net.alpha).
    ``reference=True`` runs the NumPy twin :func:`gradients_reference`.
    """
    check_loss(loss)
    check_choice("variant", variant, VARIANTS)
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
        return gradients_reference(net, x, target, loss=loss, window=w, c_reg=c_reg, f_target=f_target, lr=lr,
                                   lam=lam, return_loss=return_loss)
    n, n_out, P = net.n_rec, net.n_out, n_in + net.n_rec
    mode = 0 if loss == "mse" else 1
    w_in_t = np.ascontiguousarray(net.w_in.T)
    w_rec_t = np.ascontiguousarray(net.w_rec.T)
    w_out = net.w_out.copy()
    b_out = net.b_out.copy()
    v, z, a, ps, zbar, s_zbar = (np.zeros((batch, n)) for _ in range(6))
    y, ysum = np.zeros((batch, n_out)), np.zeros((batch, n_out))
    xhat = np.zeros((batch, P))
    cb, s_cb = np.zeros(batch), np.zeros(batch)
    S = np.zeros((batch, n, P) if mode == 1 else (1, 1, 1))
    esum = np.zeros((n, P) if c_reg > 0 else (1, 1))
    G, Gs = np.zeros((n, P)), np.zeros((n, P))
    g_out, gs_out = np.zeros((n_out, n)), np.zeros((n_out, n))
    g_b, gs_b = np.zeros(n_out), np.zeros(n_out)
    tgt = target if mode == 0 else np.zeros((1, 1, n_out))
    labels = target if mode == 1 else np.zeros(1, dtype=np.int64)
    zsum, acc = np.zeros(n), np.zeros(1)
    ce = ottt_kernel(x, tgt, labels, mode, w, lr, lam, w_in_t, w_rec_t, w_out, b_out, net.alpha, net.rho, net.kappa,
                     net.v_th, net.beta_vec, net.adaptive, 0.0 if net.smooth is None else float(net.smooth),
                     net.kernel_surrogate(), c_reg > 0, v, z, a, y, ps, xhat, zbar, cb, S, s_zbar, s_cb, ysum, esum,
                     np.zeros(P), np.zeros(n), np.zeros(n), np.zeros(n_out), np.zeros(n), G, Gs, g_out, gs_out,
                     g_b, gs_b, zsum, acc)
    if variant == "O":
        net.set_weights({"w_in": w_in_t.T, "w_rec": w_rec_t.T, "w_out": w_out, "b_out": b_out})
    rates = zsum / (batch * T) * (1000.0 / net.dt)
    _, reg = rate_regularization(rates, c_reg, f_target, net.dt, batch * T)
    if c_reg > 0:
        G += reg[:, None] * esum
    grads = _split(G, g_out, g_b, n_in)
    if return_loss:
        return grads, float(0.5 * acc[0] / batch if mode == 0 else ce / batch)
    return grads


def _split(G, g_out, g_b, n_in):
    w_rec = G[:, n_in:].copy()
    np.fill_diagonal(w_rec, 0.0)
    return {"w_in": G[:, :n_in].copy(), "w_rec": w_rec, "w_out": g_out.copy(), "b_out": g_b.copy()}


@njit(cache=True)
def ottt_kernel(x, tgt, labels, mode, window, lr, lam, w_in_t, w_rec_t, w_out, b_out, alpha, rho, kappa, v_th, beta,
                adaptive, smooth_k, sp, use_reg, v, z, a, y, ps, xhat, zbar, cb, S, s_zbar, s_cb, ysum, esum,
                pre, cur, rec, err, dv, G, Gs, g_out, gs_out, g_b, gs_b, zsum, acc, finalize=True):
    """The OTTT time loop (time outer, batch inner, so variant O can update after each step).
    Weights are the (transposed, for inputs and recurrence) copies it is given; with lr > 0
    they are updated in place. The state arrays carry over between calls, so calling it on one
    step at a time with ``finalize=False`` (window = 1 inside the CE window, else 0) is the
    online use (:class:`OTTT`). Returns the CE sum of -log p (0 for MSE or not finalized)."""
    batch, T, n_in = x.shape
    n = v.shape[1]
    n_out = y.shape[1]
    P = n_in + n
    scale = 1.0 / batch
    for t in range(T):
        in_window = t >= T - window
        for b in range(batch):
            for l in range(n_in):
                pre[l] = x[b, t, l]
            for k in range(n):
                pre[n_in + k] = z[b, k]
            for l in range(P):
                xhat[b, l] = lam * xhat[b, l] + pre[l]
            input_current(x[b, t], w_in_t, cur)
            neuron_step(cur, w_rec_t, alpha, rho, v_th, beta, adaptive, smooth_k, sp, v[b], z[b], a[b], ps[b], rec)
            for j in range(n):
                zsum[j] += z[b, j]
            for k in range(n_out):
                s = kappa * y[b, k] + b_out[k]
                for j in range(n):
                    s += w_out[k, j] * z[b, j]
                y[b, k] = s
            cb[b] = kappa * cb[b] + 1.0
            for j in range(n):
                zbar[b, j] = kappa * zbar[b, j] + z[b, j]
            if mode == 0:
                for k in range(n_out):
                    d = y[b, k] - tgt[b, t, k]
                    acc[0] += d * d
                    err[k] = d * scale
                    gs_b[k] += err[k] * cb[b]
                    for j in range(n):
                        gs_out[k, j] += err[k] * zbar[b, j]
                for j in range(n):
                    s = 0.0
                    for k in range(n_out):
                        s += w_out[k, j] * err[k]
                    dv[j] = ps[b, j] * s
                    if dv[j] != 0.0:
                        for l in range(P):
                            Gs[j, l] += dv[j] * xhat[b, l]
            elif in_window:
                s_cb[b] += cb[b]
                for k in range(n_out):
                    ysum[b, k] += y[b, k]
                for j in range(n):
                    s_zbar[b, j] += zbar[b, j]
                    pj = ps[b, j]
                    if pj != 0.0:
                        for l in range(P):
                            S[b, j, l] += pj * xhat[b, l]
            if use_reg:
                for j in range(n):
                    pj = ps[b, j]
                    if pj != 0.0:
                        for l in range(P):
                            esum[j, l] += pj * xhat[b, l]
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
            for k in range(n_out):
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
        return finish_ce(labels, window, scale, w_out, ysum, S, s_zbar, s_cb, err, G, g_out, g_b)
    return 0.0


@njit(cache=True)
def finish_ce(labels, window, scale, w_out, ysum, S, s_zbar, s_cb, err, G, g_out, g_b):
    """End of CE sequences: the error (softmax(window mean) - one-hot) * scale / window, the
    same for every step of the window, applied to the window sums. Returns the sum of -log p."""
    batch, n_out = ysum.shape
    n, P = G.shape
    ce = 0.0
    for b in range(batch):
        m_max = -np.inf
        for k in range(n_out):
            m_max = max(m_max, ysum[b, k] / window)
        tot = 0.0
        for k in range(n_out):
            tot += np.exp(ysum[b, k] / window - m_max)
        logz = m_max + np.log(tot)
        for k in range(n_out):
            p = np.exp(ysum[b, k] / window - logz)
            err[k] = ((p - 1.0) if k == labels[b] else p) * scale / window
        ce += logz - ysum[b, labels[b]] / window
        for j in range(n):
            s = 0.0
            for k in range(n_out):
                s += w_out[k, j] * err[k]
            for l in range(P):
                G[j, l] += s * S[b, j, l]
        for k in range(n_out):
            g_b[k] += err[k] * s_cb[b]
            for j in range(n):
                g_out[k, j] += err[k] * s_zbar[b, j]
    return ce


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
        value, err = loss_and_error(Y, target, "ce", window)
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
    grads = _split(G, g_out, g_b, n_in)
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
    """

    def __init__(self, net, *, loss="mse", variant="A", lr=None, lam=None, c_reg=0.0, f_target=10.0):
        self.net = net
        self.loss = check_loss(loss)
        self.variant = check_choice("variant", variant, VARIANTS)
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
        if isinstance(batch, bool) or not isinstance(batch, (int, np.integer)) or batch < 1:
            raise ParameterError(f"batch must be an integer >= 1, got {batch!r}")
        net = self.net
        n, n_out, n_in = net.n_rec, net.n_out, net.n_in
        P = n_in + n
        self._batch = int(batch)
        z = lambda *shape: np.zeros(shape)  # noqa: E731
        self._w = [np.ascontiguousarray(net.w_in.T), np.ascontiguousarray(net.w_rec.T), net.w_out.copy(),
                   net.b_out.copy()]
        self._st = [z(batch, n), z(batch, n), z(batch, n), z(batch, n_out), z(batch, n), z(batch, P), z(batch, n),
                    z(batch), z(batch, n, P) if self.loss == "ce" else z(1, 1, 1), z(batch, n), z(batch),
                    z(batch, n_out), z(n, P) if self.c_reg > 0 else z(1, 1), z(P), z(n), z(n), z(n_out), z(n),
                    z(n, P), z(n, P), z(n_out, n), z(n_out, n), z(n_out), z(n_out), z(n), z(1)]
        self._steps = 0
        self._window = 0

    def step(self, x_t, target_t=None, *, in_window=True) -> np.ndarray:
        """Advance every sequence by one step with inputs ``x_t`` (batch, n_in); returns y_t."""
        if self._st is None:
            raise ParameterError("call reset(batch) before step()")
        net, batch = self.net, self._batch
        x_t = np.asarray(x_t, dtype=np.float64)
        if x_t.shape != (batch, net.n_in) or not np.all(np.isfinite(x_t)):
            raise ParameterError(f"x_t must be finite with shape (batch, n_in) = {(batch, net.n_in)}, got {x_t.shape}")
        mode = 0 if self.loss == "mse" else 1
        if mode == 0:
            tgt = None if target_t is None else np.asarray(target_t, dtype=np.float64)
            if tgt is None or tgt.shape != (batch, net.n_out) or not np.all(np.isfinite(tgt)):
                raise ParameterError(f"target_t must be finite with shape (batch, n_out) = {(batch, net.n_out)}")
        else:
            tgt = np.zeros((batch, net.n_out))
        window = 1 if (mode == 1 and in_window) else 0
        self._window += window
        self._steps += 1
        ottt_kernel(np.ascontiguousarray(x_t[:, None, :]), np.ascontiguousarray(tgt[:, None, :]),
                    np.zeros(1, dtype=np.int64), mode, window, self.lr, self.lam, *self._w, net.alpha, net.rho,
                    net.kappa, net.v_th, net.beta_vec, net.adaptive, 0.0 if net.smooth is None else float(net.smooth),
                    net.kernel_surrogate(), self.c_reg > 0, *self._st, False)
        if self.lr > 0:
            w_in_t, w_rec_t, w_out, b_out = self._w
            net.set_weights({"w_in": w_in_t.T, "w_rec": w_rec_t.T, "w_out": w_out, "b_out": b_out})
        return self._st[3].copy()

    def gradients(self, labels=None) -> dict:
        """The gradient accumulated since :meth:`reset` (CE: apply the window error for ``labels``)."""
        if self._st is None or self._steps == 0:
            raise ParameterError("call reset(batch) and step() before gradients()")
        net, batch = self.net, self._batch
        (v, z, a, y, ps, xhat, zbar, cb, S, s_zbar, s_cb, ysum, esum, pre, cur, rec, err, dv, G, Gs, g_out, gs_out,
         g_b, gs_b, zsum, acc) = self._st
        G, g_out, g_b = G.copy(), g_out.copy(), g_b.copy()
        if self.loss == "ce":
            labels = check_target(labels, "ce", batch, self._steps, net.n_out)
            if self._window < 1:
                raise ParameterError("no step() had in_window=True: the CE window is empty")
            self.loss_value = finish_ce(labels, self._window, 1.0 / batch, self._w[2], ysum, S, s_zbar, s_cb,
                                        err.copy(), G, g_out, g_b) / batch
        else:
            self.loss_value = 0.5 * acc[0] / batch
        if self.c_reg > 0:
            n_samples = batch * self._steps
            rates = zsum / n_samples * (1000.0 / net.dt)
            _, reg = rate_regularization(rates, self.c_reg, self.f_target, net.dt, n_samples)
            G += reg[:, None] * esum
        return _split(G, g_out, g_b, net.n_in)
