"""The same exact gradient as :mod:`plasticity.bptt`, computed forward in time (RTRL).

Influence matrices carry the derivative of every neuron's state with respect to every
input/recurrent weight, W = [W_in | W_rec] of shape (n_rec, n_in + n_rec) with presynaptic
vector p_t = [x_t, z_{t-1}]. For neuron j and weight W[k, l]:

    Ma_t = rho*Ma_{t-1} + Mz_{t-1}                                   (ALIF; 0 for LIF)
    Mv_t = alpha*Mv_{t-1} + W_rec Mz_{t-1} - v_th*Mz_{t-1} + [j == k] p_t[l]
    Mz_t = psi_t * (Mv_t - beta*Ma_t)
    My_t = kappa*My_{t-1} + W_out Mz_t
    dL/dW += e_t . My_t + r . Mz_t

(e_t = dL/dy_t, r = the rate regularization's dE/dz). The readout's own weights use the
forward traces zbar_t = kappa*zbar_{t-1} + z_t and c_t = kappa*c_{t-1} + 1.

``recurrent=False`` drops the W_rec Mz_{t-1} term (the "recurrent influence"): the
influence matrices then stay diagonal in (j, k), and what remains is e-prop's eligibility
trace (with ``detach_reset=True``, which drops -v_th*Mz_{t-1}). Memory is
O(batch * n_rec^2 * (n_in + n_rec)) and time that times T * n_rec: for small networks only.
"""
from __future__ import annotations

import numpy as np

from .bptt import check_loss, check_regularization, check_target, loss_and_error, rate_regularization


def gradients(net, x, target, *, loss="mse", detach_reset=False, window=None, c_reg=0.0, f_target=10.0,
              recurrent=True) -> dict:
    """RTRL gradient; same arguments and result as :func:`plasticity.bptt.gradients`."""
    check_loss(loss)
    c_reg, f_target = check_regularization(c_reg, f_target)
    x = net.check_input(x)
    batch, T, n_in = x.shape
    target = check_target(target, loss, batch, T, net.n_out)
    states = net.forward(x)
    _, err = loss_and_error(states.y, target, loss, window)
    _, reg = rate_regularization(net.rates_hz(states.z), c_reg, f_target, net.dt, batch * T)

    n, n_out = net.n_rec, net.n_out
    P = n_in + n
    adaptive, beta = net.adaptive, net.beta_vec
    eye = np.eye(n)
    m_v = np.zeros((batch, n, n, P))   # [b, j, k, l] = d v_j / d W[k, l]
    m_a = np.zeros_like(m_v)
    m_z = np.zeros_like(m_v)
    m_y = np.zeros((batch, n_out, n, P))
    grad = np.zeros((n, P))
    zbar = np.zeros((batch, n))
    cbar = 0.0
    g_out = np.zeros((n_out, n))
    g_b = np.zeros(n_out)
    z_prev = np.zeros((batch, n))
    for t in range(T):
        m_z_prev = m_z
        m_a = adaptive[None, :, None, None] * (net.rho * m_a + m_z_prev)
        m_v = net.alpha * m_v
        if recurrent:
            m_v = m_v + np.einsum("jm,bmkl->bjkl", net.w_rec, m_z_prev)
        if not detach_reset:
            m_v = m_v - net.v_th * m_z_prev
        pre = np.concatenate([x[:, t], z_prev], axis=1)                # (batch, P)
        m_v = m_v + eye[None, :, :, None] * pre[:, None, None, :]
        m_z = states.psi[:, t][:, :, None, None] * (m_v - beta[None, :, None, None] * m_a)
        m_y = net.kappa * m_y + np.einsum("oj,bjkl->bokl", net.w_out, m_z)
        grad += np.einsum("bo,bokl->kl", err[:, t], m_y) + np.einsum("j,bjkl->kl", reg, m_z)
        z_t = states.z[:, t]
        zbar = net.kappa * zbar + z_t
        cbar = net.kappa * cbar + 1.0
        g_out += err[:, t].T @ zbar
        g_b += err[:, t].sum(axis=0) * cbar
        z_prev = z_t
    w_rec = grad[:, n_in:].copy()
    np.fill_diagonal(w_rec, 0.0)
    return {"w_in": grad[:, :n_in].copy(), "w_rec": w_rec, "w_out": g_out, "b_out": g_b}
