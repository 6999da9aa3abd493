"""STBP: hand-written backpropagation through layers and time for layered spiking networks.

The model is the one of ``models.feedforward.SNN`` (docs/deep-snn.md; Wu et al. 2018, STBP;
Zheng et al. 2021, tdBN). Layers l = 1..L, steps t = 0..T-1, s^0_t = x_t, states zero before
t = 0::

    I^l_t = W^l s^{l-1}_t                                          no bias
    J^l_t = lambda^l * c^l * (I^l_t - mu^l) / sqrt(var^l + eps) + beta^l  c^l = alpha*V_th (tdBN), 1 (BN)
            (+ s^{l-2}_t on the merge layer of a residual block; J = I without normalisation)
    u^l_t = tau_decay * u^l_{t-1} * (1 - s^l_{t-1}) + J^l_t       hard reset by the decay gate
    s^l_t = H(u^l_t - V_th)                                       (logistic for the smoothed model)
    o_t = W^{L+1} s^L_t,  logits = mean_t o_t

mu, var: mean and biased variance of I^l over batch AND time per neuron (training), or the
network's running statistics (evaluation). Losses: ``"ce"``, the batch mean of
-log softmax(logits)[label]; ``"tet"`` (Deng et al. 2022, TET without its MSE regulariser),
the mean over time of the per-step cross-entropy of o_t.

Backward (exact for this model with ds/du replaced by the surrogate psi)::

    du_t = (ds_t - tau*u_t*du_{t+1}) * psi_t + tau*(1 - s_t)*du_{t+1}    (reset term dropped with
                                                                          detach_reset=True)
    BN:  dI = inv_std * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)),  dxhat = dJ*lambda*c

This module imports nothing from ``models``: the network is read duck-typed through the
attributes ``weights`` (their dtype, float64 or float32, is the computation's), ``bn_gamma``,
``bn_beta``, ``bn_scale``, ``shortcuts``, ``norm``,
``tau_decay``, ``v_th``, ``eps``, ``T``, ``surrogate`` (a :class:`~plasticity.surrogate.Surrogate`),
``running_mean``, ``running_var`` and ``training``. The LIF time loops and the BN backward
are Numba kernels; :func:`gradients_reference` is their plain-NumPy twin.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from .errors import ParameterError, check_choice
from .surrogate import psi, psi_reference, smooth_spike, smooth_spike_reference

LOSSES = ("ce", "tet")


class Trace(NamedTuple):
    """Every state of a forward pass. Lists run over the hidden layers l = 1..L, arrays are
    (batch, T, n_l); ``xhat``/``inv_std``/``mean``/``var`` are None without normalisation."""

    inputs: list      # s^{l-1}, the input of layer l (inputs[0] = x, inputs[L] = s^L)
    xhat: list        # normalised currents
    inv_std: list     # 1 / sqrt(var + eps), (n_l,)
    mean: list        # statistics used (batch ones in training), (n_l,)
    var: list
    u: list           # membrane potentials
    s: list           # spikes (0/1, or the logistic of the smoothed model)
    psi: list         # ds/du
    outputs: np.ndarray  # o_t = W^{L+1} s^L_t, (batch, T, n_out)
    logits: np.ndarray   # mean over time of outputs, (batch, n_out)


# -- kernels ----------------------------------------------------------------------------------
@njit(cache=True)
def lif_forward(J, tau, v_th, smooth_k, sp, u, s, ps):
    """Iterative LIF of every (batch, neuron) over time, in place: u, s, ps of J's shape."""
    B, T, n = J.shape
    for b in range(B):
        for t in range(T):
            for j in range(n):
                prev = tau * u[b, t - 1, j] * (1.0 - s[b, t - 1, j]) if t > 0 else 0.0
                ut = prev + J[b, t, j]
                d = ut - v_th
                if smooth_k > 0.0:
                    st = smooth_spike(d, smooth_k)
                else:
                    st = 1.0 if d > 0.0 else 0.0
                u[b, t, j] = ut
                s[b, t, j] = st
                ps[b, t, j] = psi(d, sp)


@njit(cache=True)
def lif_backward(ds, u, s, ps, tau, detach_reset, du):
    """dLoss/du of every step, backwards in time, in place (``ds``: the gradient reaching s_t
    from the layers above)."""
    B, T, n = ds.shape
    for b in range(B):
        for t in range(T - 1, -1, -1):
            for j in range(n):
                nxt = du[b, t + 1, j] if t + 1 < T else 0.0
                total = ds[b, t, j]
                if not detach_reset:
                    total -= tau * u[b, t, j] * nxt
                du[b, t, j] = total * ps[b, t, j] + tau * (1.0 - s[b, t, j]) * nxt


@njit(cache=True)
def bn_backward(dJ, xhat, inv_std, gamma, scale, dI, dgamma, dbeta):
    """Backward of J = gamma*scale*xhat + beta over rows (batch x time) per column (neuron)."""
    N, n = dJ.shape
    for j in range(n):
        sum_d = 0.0
        sum_dx = 0.0
        for r in range(N):
            sum_d += dJ[r, j]
            sum_dx += dJ[r, j] * xhat[r, j]
        dbeta[j] = sum_d
        dgamma[j] = scale * sum_dx
        k = gamma[j] * scale
        mean_d = k * sum_d / N
        mean_dx = k * sum_dx / N
        for r in range(N):
            dI[r, j] = inv_std[j] * (k * dJ[r, j] - mean_d - xhat[r, j] * mean_dx)


def bn_backward_reference(dJ, xhat, inv_std, gamma, scale):
    """Twin of :func:`bn_backward` on (rows, neurons) arrays -> (dI, dgamma, dbeta)."""
    dxhat = dJ * (gamma * scale)
    dI = inv_std * (dxhat - dxhat.mean(axis=0) - xhat * (dxhat * xhat).mean(axis=0))
    return dI, scale * (dJ * xhat).sum(axis=0), dJ.sum(axis=0)


# -- forward ----------------------------------------------------------------------------------
def _as_input(net, x) -> np.ndarray:
    x = np.asarray(x, dtype=net.weights[0].dtype)
    n_in = net.weights[0].shape[1]
    if x.ndim == 2:  # direct encoding: the same analog input at every step
        x = np.repeat(x[:, None, :], net.T, axis=1)
    if x.ndim != 3 or x.shape[1:] != (net.T, n_in):
        raise ParameterError(f"x must have shape (batch, T={net.T}, n_in={n_in}) or (batch, {n_in}), "
                             f"got {np.shape(x)}")
    if x.shape[0] < 1 or not np.all(np.isfinite(x)):
        raise ParameterError("x must hold at least one sample and only finite values")
    return np.ascontiguousarray(x)


def _smooth_k(net) -> float:
    return float(net.surrogate.sharpness) if net.surrogate.kind == "sigmoid" else 0.0


def _normalise(net, l, current, train):
    """(J, xhat, inv_std, mean, var) of hidden layer l (0-based) from its input current."""
    if net.norm is None:
        return current, None, None, None, None
    if train:
        mean = current.mean(axis=(0, 1))
        var = current.var(axis=(0, 1))
    else:
        mean, var = net.running_mean[l], net.running_var[l]
    inv_std = 1.0 / np.sqrt(var + net.eps)
    xhat = (current - mean) * inv_std
    J = xhat * (net.bn_gamma[l] * net.bn_scale[l]) + net.bn_beta[l]
    return J, xhat, inv_std, mean, var


def forward(net, x, *, train: bool | None = None, reference: bool = False) -> Trace:
    """Run the network on ``x`` (batch, T, n_in), or (batch, n_in) repeated over T; returns
    the :class:`Trace`. ``train`` (default: ``net.training``) selects batch statistics;
    ``reference=True`` runs the NumPy twin of the LIF kernel."""
    x = _as_input(net, x)
    train = net.training if train is None else bool(train)
    sp = net.surrogate.kernel_params(net.v_th)
    k = _smooth_k(net)
    inputs, xhats, inv_stds, means, vars_, us, ss, pss = [x], [], [], [], [], [], [], []
    for l, w in enumerate(net.weights[:-1]):
        current = inputs[-1] @ w.T
        J, xhat, inv_std, mean, var = _normalise(net, l, current, train)
        if net.shortcuts[l] >= 0:
            J = J + ss[net.shortcuts[l]]
        J = np.ascontiguousarray(J)
        if reference:
            u, s, ps = _lif_forward_reference(J, net.tau_decay, net.v_th, k, net.surrogate)
        else:
            u, s, ps = np.empty_like(J), np.empty_like(J), np.empty_like(J)
            lif_forward(J, float(net.tau_decay), float(net.v_th), k, sp, u, s, ps)
        for store, value in zip((xhats, inv_stds, means, vars_, us, ss, pss), (xhat, inv_std, mean, var, u, s, ps)):
            store.append(value)
        inputs.append(s)
    outputs = inputs[-1] @ net.weights[-1].T
    return Trace(inputs, xhats, inv_stds, means, vars_, us, ss, pss, outputs,
                 outputs.mean(axis=1))


def _lif_forward_reference(J, tau, v_th, smooth_k, surrogate):
    """Twin of :func:`lif_forward`, vectorised over batch and neurons."""
    u, s = np.zeros_like(J), np.zeros_like(J)
    u_prev = s_prev = np.zeros_like(J[:, 0])
    for t in range(J.shape[1]):
        u[:, t] = tau * u_prev * (1.0 - s_prev) + J[:, t]
        d = u[:, t] - v_th
        s[:, t] = smooth_spike_reference(d, smooth_k) if smooth_k > 0 else (d > 0).astype(float)
        u_prev, s_prev = u[:, t], s[:, t]
    return u, s, psi_reference(u - v_th, surrogate, v_th)


# -- losses -----------------------------------------------------------------------------------
def _log_softmax(z):
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def _check_labels(labels, batch, n_out) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.shape != (batch,) or not np.issubdtype(labels.dtype, np.integer):
        raise ParameterError(f"labels must be integers of shape ({batch},), got {labels.dtype} {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= n_out):
        raise ParameterError(f"labels must be in [0, {n_out - 1}], got values in [{labels.min()}, {labels.max()}]")
    return labels


def loss_and_output_gradient(trace: Trace, labels, loss: str = "ce") -> tuple[float, np.ndarray]:
    """(loss, dLoss/do_t of shape (batch, T, n_out)) for ``"ce"`` or ``"tet"``."""
    check_choice("loss", loss, LOSSES)
    B, T, C = trace.outputs.shape
    labels = _check_labels(labels, B, C)
    rows = np.arange(B)
    if loss == "ce":
        logp = _log_softmax(trace.logits)
        g = np.exp(logp)
        g[rows, labels] -= 1.0
        return float(-logp[rows, labels].mean()), np.repeat((g / (B * T))[:, None, :], T, axis=1)
    logp = _log_softmax(trace.outputs)
    g = np.exp(logp)
    g[rows, :, labels] -= 1.0
    return float(-logp[rows, :, labels].mean()), g / (B * T)


# -- backward ---------------------------------------------------------------------------------
def _backward(net, trace, g_out, detach_reset, reference):
    L = len(net.weights) - 1
    C = g_out.shape[2]
    g_w = [None] * (L + 1)
    g_gamma = [None] * L if net.norm is not None else []
    g_beta = [None] * L if net.norm is not None else []
    g_w[L] = g_out.reshape(-1, C).T @ trace.inputs[L].reshape(-1, trace.inputs[L].shape[2])
    ds = g_out @ net.weights[L]
    skip = [None] * L
    for l in range(L - 1, -1, -1):
        if skip[l] is not None:
            ds = ds + skip[l]
        ds = np.ascontiguousarray(ds)
        u, s, ps = trace.u[l], trace.s[l], trace.psi[l]
        if reference:
            du = _lif_backward_reference(ds, u, s, ps, net.tau_decay, detach_reset)
        else:
            du = np.empty_like(ds)
            lif_backward(ds, u, s, ps, float(net.tau_decay), bool(detach_reset), du)
        src = net.shortcuts[l]
        if src >= 0:
            skip[src] = du if skip[src] is None else skip[src] + du
        B, T, n = du.shape
        if net.norm is None:
            d_current = du
        else:
            d2, x2 = du.reshape(-1, n), trace.xhat[l].reshape(-1, n)
            gamma, scale = net.bn_gamma[l], float(net.bn_scale[l])
            if reference:
                d_current, g_gamma[l], g_beta[l] = bn_backward_reference(d2, x2, trace.inv_std[l], gamma, scale)
            else:
                d_current, g_gamma[l], g_beta[l] = np.empty_like(d2), np.empty(n, d2.dtype), np.empty(n, d2.dtype)
                bn_backward(d2, x2, trace.inv_std[l], gamma, scale, d_current, g_gamma[l], g_beta[l])
            d_current = d_current.reshape(B, T, n)
        x_l = trace.inputs[l]
        g_w[l] = d_current.reshape(-1, n).T @ x_l.reshape(-1, x_l.shape[2])
        if l > 0:
            ds = d_current @ net.weights[l]
    return {"weights": g_w, "bn_gamma": g_gamma, "bn_beta": g_beta}


def _lif_backward_reference(ds, u, s, ps, tau, detach_reset):
    """Twin of :func:`lif_backward`, vectorised over batch and neurons."""
    du = np.zeros_like(ds)
    nxt = np.zeros_like(ds[:, 0])
    for t in range(ds.shape[1] - 1, -1, -1):
        total = ds[:, t] if detach_reset else ds[:, t] - tau * u[:, t] * nxt
        du[:, t] = total * ps[:, t] + tau * (1.0 - s[:, t]) * nxt
        nxt = du[:, t]
    return du


def loss_and_gradients(net, x, labels, *, loss: str = "ce", detach_reset: bool = False,
                       reference: bool = False) -> tuple[float, dict, Trace]:
    """(loss, gradients, trace) of one batch with batch statistics (training mode); the
    network's running statistics are not touched (``models.feedforward.SNN.observe`` does)."""
    check_choice("loss", loss, LOSSES)
    trace = forward(net, x, train=True, reference=reference)
    value, g_out = loss_and_output_gradient(trace, labels, loss)
    return value, _backward(net, trace, g_out, detach_reset, reference), trace


def gradients(net, x, labels, *, loss: str = "ce", detach_reset: bool = False) -> dict:
    """dLoss/d{W^l, lambda^l, beta^l} of the surrogate model: ``{"weights": [L+1 arrays],
    "bn_gamma": [L], "bn_beta": [L]}`` (the last two empty without normalisation)."""
    return loss_and_gradients(net, x, labels, loss=loss, detach_reset=detach_reset)[1]


def gradients_reference(net, x, labels, *, loss: str = "ce", detach_reset: bool = False) -> dict:
    """Twin of :func:`gradients`: the same numbers with the NumPy twins of every kernel."""
    return loss_and_gradients(net, x, labels, loss=loss, detach_reset=detach_reset, reference=True)[1]


def loss_value(net, x, labels, *, loss: str = "ce", train: bool = True) -> float:
    """The loss of one batch (for finite-difference checks and evaluation)."""
    return loss_and_output_gradient(forward(net, x, train=train), labels, loss)[0]
