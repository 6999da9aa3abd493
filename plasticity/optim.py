"""Small hand-written optimizers for the gradient dicts of bptt/rtrl/eprop/ottt.

Gradients and parameters are dicts of arrays with the same keys (``"w_in"``, ``"w_rec"``,
``"w_out"``, ``"b_out"``). An optimizer's :meth:`delta` returns the update to *add* to each
parameter; :func:`apply` adds it to a network (keeping W_rec's diagonal at zero) and returns
it, so adaptive e-prop feedback can receive the same update as W_out.

SGD:  delta = -lr * (m), m = momentum*m + g                   (plain SGD for momentum = 0)
Adam: m = b1*m + (1-b1)*g, s = b2*s + (1-b2)*g^2,
      delta = -lr * (m / (1 - b1^k)) / (sqrt(s / (1 - b2^k)) + eps)      (Kingma & Ba 2015, step k)
"""
from __future__ import annotations

import math

import numpy as np

from .errors import ParameterError, check_non_negative, check_positive


def _check_grads(grads: dict) -> dict:
    if not isinstance(grads, dict) or not grads:
        raise ParameterError(f"grads must be a non-empty dict of arrays, got {type(grads).__name__}")
    out = {}
    for key, g in grads.items():
        g = np.asarray(g, dtype=np.float64)
        if not np.all(np.isfinite(g)):
            raise ParameterError(f"gradient {key!r} must be finite, got NaN or inf")
        out[key] = g
    return out


class SGD:
    """Stochastic gradient descent with optional momentum (lr > 0, 0 <= momentum < 1)."""

    def __init__(self, lr: float = 0.01, momentum: float = 0.0):
        self.lr = check_positive("lr", lr)
        self.momentum = check_non_negative("momentum", momentum)
        if self.momentum >= 1.0:
            raise ParameterError(f"momentum must be in [0, 1), got {momentum}")
        self._m: dict = {}

    def delta(self, grads: dict) -> dict:
        grads = _check_grads(grads)
        out = {}
        for key, g in grads.items():
            if self.momentum:
                m = self._m.get(key)
                m = g.copy() if m is None else self.momentum * m + g
                self._m[key] = m
                g = m
            out[key] = -self.lr * g
        return out


class Adam:
    """Adam (Kingma & Ba 2015) with bias correction; lr > 0, 0 <= beta1, beta2 < 1, eps > 0."""

    def __init__(self, lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8):
        self.lr = check_positive("lr", lr)
        for name, value in (("beta1", beta1), ("beta2", beta2)):
            check_non_negative(name, value)
            if value >= 1.0:
                raise ParameterError(f"{name} must be in [0, 1), got {value}")
        self.beta1, self.beta2 = float(beta1), float(beta2)
        self.eps = check_positive("eps", eps)
        self.k = 0
        self._m: dict = {}
        self._s: dict = {}

    def delta(self, grads: dict) -> dict:
        grads = _check_grads(grads)
        self.k += 1
        c1 = 1.0 - self.beta1 ** self.k
        c2 = 1.0 - self.beta2 ** self.k
        out = {}
        for key, g in grads.items():
            m = self._m.get(key, np.zeros_like(g))
            s = self._s.get(key, np.zeros_like(g))
            m = self.beta1 * m + (1.0 - self.beta1) * g
            s = self.beta2 * s + (1.0 - self.beta2) * g * g
            self._m[key], self._s[key] = m, s
            out[key] = -self.lr * (m / c1) / (np.sqrt(s / c2) + self.eps)
        return out


OPTIMIZERS = {"sgd": SGD, "adam": Adam}


def make(name: str, lr: float, **kw):
    """``"sgd"`` or ``"adam"`` with learning rate ``lr``."""
    if name not in OPTIMIZERS:
        raise ParameterError(f"optimizer must be one of {', '.join(map(repr, OPTIMIZERS))}, got {name!r}")
    return OPTIMIZERS[name](lr=lr, **kw)


def global_norm(grads: dict) -> float:
    """sqrt of the sum of squares of every entry of every gradient."""
    return math.sqrt(sum(float(np.sum(np.square(g))) for g in grads.values()))


def clip_by_global_norm(grads: dict, max_norm: float) -> tuple[dict, float]:
    """Scale all gradients by min(1, max_norm / norm); returns (clipped, norm before)."""
    max_norm = check_positive("max_norm", max_norm)
    grads = _check_grads(grads)
    norm = global_norm(grads)
    scale = min(1.0, max_norm / norm) if norm > 0 else 1.0
    return {k: g * scale for k, g in grads.items()}, norm


def clip_by_value(grads: dict, limit: float) -> dict:
    """Clip every entry to [-limit, limit]."""
    limit = check_positive("limit", limit)
    return {k: np.clip(g, -limit, limit) for k, g in _check_grads(grads).items()}


def apply(net, optimizer, grads: dict, max_norm: float | None = None) -> dict:
    """Clip (if ``max_norm``), compute the optimizer's update, add it to ``net``'s weights
    (W_rec's diagonal stays 0) and return the update dict."""
    if max_norm is not None:
        grads, _ = clip_by_global_norm(grads, max_norm)
    delta = optimizer.delta(grads)
    for key, d in delta.items():
        w = getattr(net, key)
        if w.shape != d.shape:
            raise ParameterError(f"update for {key} has shape {d.shape}, the weight {w.shape}")
        w += d
        if key == "w_rec":
            np.fill_diagonal(w, 0.0)
    return delta
