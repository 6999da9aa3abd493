"""The discrete-time LIF/ALIF step of docs/design.md ("Learning in recurrent networks").

One kernel shared by the forward pass (``models.rsnn``) and the online rules that run the
network themselves (``plasticity.eprop``, ``plasticity.ottt``), so the equations exist once:

    a_t = rho a_{t-1} + z_{t-1}          (ALIF rows only)
    v_t = alpha v_{t-1} + I_t + W_rec z_{t-1} - v_th z_{t-1}
    z_t = H(v_t - v_th - beta a_t)        (or the smooth spike of the finite-difference model)
    psi_t = surrogate(v_t - A_t)

It lives in ``plasticity`` because ``plasticity`` must not import ``models``.
"""
from __future__ import annotations

from numba import njit

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
