"""The RSNN's leaky readout and its cross-entropy error, written once (Numba kernels with
NumPy twins) for the forward pass (``models.rsnn``), BPTT, e-prop and OTTT.

    y_t = kappa*y_{t-1} + W_out z_t + b_out                                   (readout_step)

For classification the loss of one sequence is CE = -log softmax(m)[label] of the mean m =
ysum / n_window of y over the decision window; its derivative with respect to every y_t of
the window is the same vector

    dCE/dy_t = (softmax(m) - onehot(label)) / n_window                   (softmax_ce_error)

times ``scale`` (1 / batch for a batch mean). The softmax is evaluated as exp(m - logZ) with
logZ = max(m) + log(sum exp(m - max(m))), so it neither overflows nor underflows.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True, inline="always")
def readout_step(z, w_out, b_out, kappa, y):
    """y <- kappa*y + W_out z + b_out in place. Allocates nothing (a branch-free loop, so it
    vectorizes)."""
    n_out, n = w_out.shape
    for k in range(n_out):
        acc = kappa * y[k] + b_out[k]
        for j in range(n):
            acc += w_out[k, j] * z[j]
        y[k] = acc


def readout_step_reference(z, w_out, b_out, kappa, y):
    """Twin of :func:`readout_step` (returns the new y; any leading batch axes)."""
    return kappa * y + z @ w_out.T + b_out


@njit(cache=True)
def softmax_ce_error(ysum, n_window, label, scale, err):
    """One sequence's CE error: ``err`` <- (softmax(m) - onehot(label)) * scale / n_window with
    m = ysum / n_window (the window mean of the readout). Returns the loss -log softmax(m)[label]."""
    n_out = ysum.size
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
    return logz - ysum[label] / n_window


def log_softmax(m: np.ndarray) -> np.ndarray:
    """log softmax over the last axis, m - logZ (the twin's form of the kernel's logZ)."""
    m_max = m.max(axis=-1, keepdims=True)
    return m - (m_max + np.log(np.exp(m - m_max).sum(axis=-1, keepdims=True)))


def softmax_ce_error_reference(ysum, n_window, labels, scale):
    """Twin of :func:`softmax_ce_error`, vectorized over leading axes: ``ysum`` (..., n_out),
    ``labels`` (...) -> ``(loss (...), err (..., n_out))``."""
    ysum = np.asarray(ysum, dtype=np.float64)
    labels = np.asarray(labels)
    logp = log_softmax(ysum / n_window)
    onehot = np.arange(ysum.shape[-1]) == labels[..., None]
    err = (np.exp(logp) - onehot) * scale / n_window
    return -np.take_along_axis(logp, labels[..., None], axis=-1)[..., 0], err
