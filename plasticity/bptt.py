"""Exact gradients of the surrogate RSNN by backpropagation through time (the reference).

For the model of :mod:`models.rsnn`, with e_t = dL/dy_t (partial) and total derivatives
written with a delta, the backward pass runs t = T-1 .. 0 (everything is zero at t = T):

    g_t   = e_t + kappa*g_{t+1}                                  readout (dL/dy_t, total)
    dz_t  = W_out^T g_t + r + W_rec^T dv_{t+1} - v_th*dv_{t+1} + da_{t+1}
    dv_t  = psi_t*dz_t + alpha*dv_{t+1}
    da_t  = -beta*psi_t*dz_t + rho*da_{t+1}                      (ALIF; 0 for LIF)

with r the firing-rate regularization's dE/dz (:func:`models.rsnn.rate_regularization`),
and then dW_in = sum_t dv_t x_t^T, dW_rec = sum_t dv_t z_{t-1}^T (diagonal zero),
dW_out = sum_t g_t z_t^T, db_out = sum_t g_t (all summed over the batch).

``detach_reset=True`` drops the reset term -v_th*dv_{t+1}; ``recurrent=False`` drops
W_rec^T dv_{t+1} (z_{t-1} treated as a constant input of v_t). Both together give the
gradient that e-prop with symmetric feedback computes exactly (Bellec et al. 2020).

The time loop is a Numba kernel, :func:`backward_kernel`, with the NumPy twin
:func:`backward_reference`; weight gradients are matrix products over all (batch, t).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from .errors import ParameterError, check_non_negative
from .readout import log_softmax  # noqa: F401  (a name of models.rsnn)
from .readout import softmax_ce_error, softmax_ce_error_reference

LOSSES = ("mse", "ce")


class Backward(NamedTuple):
    """What a gradient call returns besides the gradients: loss (without and with the
    regularization), the forward states and the total derivatives dv (dL/dv_t) and g (dL/dy_t)."""

    loss: float
    loss_reg: float
    states: object
    dv: np.ndarray
    g: np.ndarray


def gradients(net, x, target, *, loss="mse", detach_reset=False, window=None, c_reg=0.0,
              f_target=10.0, recurrent=True) -> dict:
    """The exact gradient of the loss (plus ``c_reg`` * rate regularization toward ``f_target``
    Hz) of ``net`` on inputs ``x`` (batch, T, n_in) and ``target`` (MSE: (batch, T, n_out);
    CE: int labels (batch,), readout averaged over the last ``window`` steps, default T).

    Returns ``{"w_in", "w_rec", "w_out", "b_out"}`` with the weights' shapes.
    """
    return loss_and_gradients(net, x, target, loss=loss, detach_reset=detach_reset, window=window,
                              c_reg=c_reg, f_target=f_target, recurrent=recurrent)[1]


def loss_and_gradients(net, x, target, *, loss="mse", detach_reset=False, window=None, c_reg=0.0,
                       f_target=10.0, recurrent=True, reference=False):
    """``(Backward, gradients)``; ``reference=True`` runs the NumPy twins instead of the kernels."""
    check_loss(loss)
    c_reg, f_target = check_regularization(c_reg, f_target)
    x = net.check_input(x)
    batch, T, _ = x.shape
    target = check_target(target, loss, batch, T, net.n_out)
    states = net.forward_reference(x) if reference else net.forward(x)
    value, err = loss_and_error(states.y, target, loss, window, reference=reference)
    reg_value, reg = rate_regularization(net.rates_hz(states.z), c_reg, f_target, net.dt, batch * T)
    args = (err, states.z, states.psi, net.w_out, net.w_rec, net.alpha, net.rho, net.kappa, net.v_th,
            net.beta_vec, net.adaptive, reg, bool(recurrent), not detach_reset)
    if reference:
        dv, g = backward_reference(*args)
    else:
        dv, g = np.empty_like(states.v), np.empty_like(states.y)    # the kernel writes every entry
        backward_kernel(*args, dv, g)
    if reference:
        grads = weight_gradients(x, states.z, dv, g)
    else:
        n_in, n, n_out = x.shape[2], net.n_rec, net.n_out
        grads = {"w_in": np.zeros((n, n_in)), "w_rec": np.zeros((n, n)), "w_out": np.zeros((n_out, n)),
                 "b_out": np.zeros(n_out)}
        weight_gradients_kernel(x, states.z, dv, g, grads["w_in"], grads["w_rec"], grads["w_out"], grads["b_out"])
    return Backward(value, value + reg_value, states, dv, g), grads


@njit(cache=True)
def weight_gradients_kernel(x, z, dv, g, w_in, w_rec, w_out, b_out):
    """Accumulate sum_t dv_t x_t^T, sum_t dv_t z_{t-1}^T (diagonal left 0), sum_t g_t z_t^T and
    sum_t g_t into the zeroed output arrays, skipping zero inputs and spikes (sparse in time)."""
    batch, T, n_in = x.shape
    n = z.shape[2]
    n_out = g.shape[2]
    for b in range(batch):
        for t in range(T):
            for l in range(n_in):
                xl = x[b, t, l]
                if xl != 0.0:
                    for j in range(n):
                        w_in[j, l] += dv[b, t, j] * xl
            for k in range(n):
                zk = z[b, t, k]
                if zk != 0.0:
                    if t + 1 < T:
                        for j in range(n):
                            if j != k:
                                w_rec[j, k] += dv[b, t + 1, j] * zk
                    for o in range(n_out):
                        w_out[o, k] += g[b, t, o] * zk
            for o in range(n_out):
                b_out[o] += g[b, t, o]


def weight_gradients(x, z, dv, g) -> dict:
    """Twin of :func:`weight_gradients_kernel`: the sums over batch and time as matrix products."""
    n_in, n, n_out = x.shape[2], z.shape[2], g.shape[2]
    dv2 = dv.reshape(-1, n)
    w_rec = dv[:, 1:].reshape(-1, n).T @ z[:, :-1].reshape(-1, n)
    np.fill_diagonal(w_rec, 0.0)
    return {"w_in": dv2.T @ x.reshape(-1, n_in), "w_rec": w_rec,
            "w_out": g.reshape(-1, n_out).T @ z.reshape(-1, n), "b_out": g.sum(axis=(0, 1))}


@njit(cache=True)
def backward_kernel(err, z, psi, w_out, w_rec, alpha, rho, kappa, v_th, beta, adaptive, reg, recurrent,
                    reset, dv, g):
    """Fill ``dv`` (batch, T, n_rec) and ``g`` (batch, T, n_out) by the recursion of the module
    docstring. ``reg`` is dE_reg/dz per neuron. Allocates only per-call work vectors.

    The recurrent term W_rec^T dv_{t+1} is carried as r_t = W_rec^T q_{t+1} + alpha*r_{t+1}
    with q_t = psi_t*dz_t (since dv_t = q_t + alpha*dv_{t+1}): q is zero wherever the
    pseudo-derivative is, so only its nonzero entries cost a matrix column."""
    batch, T, n = z.shape
    n_out = w_out.shape[0]
    dv_next = np.empty(n)
    da_next = np.empty(n)
    dz = np.empty(n)
    q = np.empty(n)
    r = np.empty(n)
    gb = np.empty(n_out)
    for b in range(batch):
        dv_next[:] = 0.0
        da_next[:] = 0.0
        q[:] = 0.0
        r[:] = 0.0
        gb[:] = 0.0
        for t in range(T - 1, -1, -1):
            for k in range(n_out):
                gb[k] = err[b, t, k] + kappa * gb[k]
                g[b, t, k] = gb[k]
            for j in range(n):
                dz[j] = reg[j]
            for k in range(n_out):
                gk = gb[k]
                for j in range(n):
                    dz[j] += w_out[k, j] * gk
            if recurrent:
                for j in range(n):
                    r[j] *= alpha
                for i in range(n):
                    d = q[i]                      # q_{t+1}
                    if d != 0.0:
                        for j in range(n):
                            r[j] += w_rec[i, j] * d
                for j in range(n):
                    dz[j] += r[j]
            for j in range(n):
                d = dz[j]
                if reset:
                    d -= v_th * dv_next[j]
                if adaptive[j] != 0.0:
                    d += da_next[j]
                p = psi[b, t, j]
                qj = p * d
                q[j] = qj
                dvj = qj + alpha * dv_next[j]
                if adaptive[j] != 0.0:
                    da_next[j] = -beta[j] * qj + rho * da_next[j]
                dv_next[j] = dvj
                dv[b, t, j] = dvj


def backward_reference(err, z, psi, w_out, w_rec, alpha, rho, kappa, v_th, beta, adaptive, reg, recurrent,
                       reset):
    """Twin of :func:`backward_kernel`: the recursion written with NumPy, returns (dv, g)."""
    batch, T, n = z.shape
    dv = np.zeros_like(z)
    g = np.zeros_like(err)
    g_next = np.zeros((batch, err.shape[2]))
    dv_next = np.zeros((batch, n))
    da_next = np.zeros((batch, n))
    for t in range(T - 1, -1, -1):
        g_t = err[:, t] + kappa * g_next
        dz = g_t @ w_out + reg
        if recurrent:
            dz = dz + dv_next @ w_rec
        if reset:
            dz = dz - v_th * dv_next
        dz = dz + adaptive * da_next
        dv_t = psi[:, t] * dz + alpha * dv_next
        da_t = adaptive * (-beta * psi[:, t] * dz + rho * da_next)
        dv[:, t], g[:, t] = dv_t, g_t
        g_next, dv_next, da_next = g_t, dv_t, da_t
    return dv, g


def check_loss(loss: str) -> str:
    if loss not in LOSSES:
        raise ParameterError(f"loss must be one of {', '.join(map(repr, LOSSES))}, got {loss!r}")
    return loss


def check_window(window, T: int) -> int:
    """The CE window in steps: None means T; else an integer 1..T."""
    if window is None:
        return T
    if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or not 1 <= window <= T:
        raise ParameterError(f"window must be an integer in [1, T = {T}] steps, got {window!r}")
    return int(window)


def check_target(target, loss: str, batch: int, T: int, n_out: int) -> np.ndarray:
    """MSE: a finite float array (batch, T, n_out); CE: integer labels (batch,) in [0, n_out)."""
    check_loss(loss)
    arr = np.asarray(target)
    if loss == "mse":
        if arr.shape != (batch, T, n_out):
            raise ParameterError(f"target for loss 'mse' must have shape (batch, T, n_out) = "
                                 f"{(batch, T, n_out)}, got {arr.shape}")
        if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool) or np.issubdtype(arr.dtype, np.complexfloating):
            raise ParameterError(f"target must be a real numeric array, got dtype {arr.dtype}")
        arr = np.ascontiguousarray(arr, dtype=np.float64)
        if not (np.isfinite(arr.min()) and np.isfinite(arr.max())):
            raise ParameterError("target must be finite, got NaN or inf")
        return arr
    if arr.shape != (batch,):
        raise ParameterError(f"labels for loss 'ce' must have shape (batch,) = ({batch},), got {arr.shape}")
    if not np.issubdtype(arr.dtype, np.integer):
        raise ParameterError(f"labels for loss 'ce' must be integers, got dtype {arr.dtype}")
    if arr.size and (arr.min() < 0 or arr.max() >= n_out):
        raise ParameterError(f"labels must be in [0, n_out = {n_out}), got values in [{arr.min()}, {arr.max()}]")
    return arr.astype(np.int64)


def loss_and_error(y: np.ndarray, target: np.ndarray, loss: str = "mse", window: int | None = None, *,
                   reference: bool = False):
    """``(L, dL/dy)`` for readouts ``y`` (batch, T, n_out); ``target`` already validated. The CE
    error is :func:`plasticity.readout.softmax_ce_error` per sequence (``reference=True``: its
    NumPy twin)."""
    batch, T, n_out = y.shape
    if loss == "mse":
        diff = y - target
        return 0.5 * float(np.sum(diff * diff)) / batch, diff / batch
    w = check_window(window, T)
    ysum = y[:, T - w:].sum(axis=1)
    if reference:
        losses, e = softmax_ce_error_reference(ysum, w, target, 1.0 / batch)
    else:
        e = np.empty((batch, n_out))
        losses = np.array([softmax_ce_error(ysum[b], w, target[b], 1.0 / batch, e[b]) for b in range(batch)])
    err = np.zeros_like(y)
    err[:, T - w:] = e[:, None, :]
    return float(np.mean(losses)), err


def ce_error(logp: np.ndarray, labels: np.ndarray, batch: int, window: int) -> np.ndarray:
    """dL/dy_t (the same for every t in the window) of the CE loss, (batch, n_out), from the
    log-probabilities ``logp`` (kept for ``models.rsnn``'s names; the CE error itself is
    :func:`plasticity.readout.softmax_ce_error_reference`)."""
    return softmax_ce_error_reference(logp, 1, labels, 1.0 / (batch * window))[1]


def accuracy(y: np.ndarray, labels: np.ndarray, window: int | None = None) -> float:
    """Fraction of sequences whose largest window-mean readout is the label."""
    T = y.shape[1]
    w = check_window(window, T)
    return float(np.mean(np.argmax(y[:, T - w:].mean(axis=1), axis=1) == labels))


def rate_regularization(rates_hz: np.ndarray, c_reg: float, f_target: float, dt: float, n_samples: int):
    """``(E_reg, dE_reg/dz)`` of 0.5*c_reg*sum_j (f_j - f_target)^2, f_j in Hz computed from
    ``n_samples`` = batch * T spike values; the derivative is per neuron (the same at every
    batch element and step)."""
    if c_reg == 0.0:
        return 0.0, np.zeros_like(rates_hz)
    diff = rates_hz - f_target
    return 0.5 * c_reg * float(np.sum(diff * diff)), c_reg * diff * (1000.0 / (dt * n_samples))


def check_regularization(c_reg, f_target) -> tuple[float, float]:
    return check_non_negative("c_reg", c_reg), check_non_negative("f_target", f_target, "Hz")


def check_variant(name, value, allowed):
    if value not in allowed:
        raise ParameterError(f"{name} must be one of {', '.join(map(repr, allowed))}, got {value!r}")
    return value
