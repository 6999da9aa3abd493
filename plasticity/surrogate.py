"""Pseudo-derivatives of the spike nonlinearity, psi = dz/dv (surrogate gradients).

A spike is z = H(u) with u = v - A (membrane potential minus the current threshold, mV);
H has no useful derivative, so gradient rules replace dH/du by one of these shapes
(reference values from analysis/data/plasticity_data.json, "surrogates"):

``triangular``   psi = (gamma / v_th) * max(0, 1 - |u| / v_th)          Bellec et al. 2020, gamma 0.3
``fast_sigmoid`` psi = 1 / (slope * |u| + 1)^2                          Zenke & Ganguli 2018, slope 25
``arctan``       psi = (alpha / 2) / (1 + (pi/2 * alpha * u)^2)         snnTorch default, alpha 2
``rectangular``  psi = 1 / width if |u| < width / 2 else 0              Wu et al. 2018 (STBP), width 1
``sigmoid``      psi = k * s * (1 - s), s = 1 / (1 + exp(-k u))         the *exact* derivative of
                 a smoothed spike z = s (used by the finite-difference tests, not a surrogate)
``dspike``       psi = (b / width) * (1 - tanh^2(b u / width)) / (2 tanh(b / 2)) if |u| < width / 2,
                 else 0                                                  Li et al. 2021 (Dspike), b 3
                 The temperature b sets the shape: b -> 0 gives the rectangle 1/width, large b a
                 narrow peak; the area over the window is 1 for every b (the derivative of
                 (tanh(b u / width) + tanh(b/2)) / (2 tanh(b/2)), which rises from 0 to 1 across
                 the window). Li et al. center the window [0, 1] on the threshold; b = 3 is an
                 illustrative default (they choose b during training by finite differences).

Every shape is a scalar ``@njit`` kernel, :func:`psi`, selected by an integer code so one
compiled time loop serves all of them, and has a NumPy twin, :func:`psi_reference`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from .errors import ParameterError, param, validate

KINDS = ("triangular", "fast_sigmoid", "arctan", "rectangular", "sigmoid", "dspike")
CODES = {kind: code for code, kind in enumerate(KINDS)}


@dataclass(frozen=True)
class Surrogate:
    """A pseudo-derivative shape and its parameters (u, v_th and width in mV).

    ``gamma`` scales the triangular shape (dimensionless), ``slope`` is the fast sigmoid's
    steepness (1/mV), ``alpha`` the arctan's (1/mV), ``width`` the rectangular (and Dspike)
    window (mV), ``sharpness`` the logistic's k (1/mV, only for ``kind="sigmoid"``) and
    ``temperature`` Dspike's b (dimensionless).
    """

    kind: str = param("triangular", "str", choices=KINDS, doc="the pseudo-derivative's shape")
    gamma: float = param(0.3, gt=0.0, doc="height of the triangular shape (Bellec et al. 2018)")
    slope: float = param(25.0, gt=0.0, unit="1/mV", doc="steepness of the fast sigmoid (Zenke & Ganguli 2018)")
    alpha: float = param(2.0, gt=0.0, unit="1/mV", doc="steepness of the arctan (Fang et al. 2021)")
    width: float = param(1.0, gt=0.0, unit="mV", doc="window of the rectangular and Dspike shapes (Wu et al. 2018)")
    sharpness: float = param(5.0, gt=0.0, unit="1/mV", doc="k of the logistic (kind='sigmoid')")
    temperature: float = param(3.0, gt=0.0, doc="b of Dspike (Li et al. 2021)")

    def __post_init__(self):
        validate(self, prefix="surrogate ")      # messages name "surrogate kind", "surrogate width", ...

    @property
    def code(self) -> int:
        return CODES[self.kind]

    def kernel_params(self, v_th: float) -> np.ndarray:
        """(code, v_th, gamma, slope, alpha, width, sharpness) as the float64 array the kernels
        read; for ``dspike`` the last slot holds the temperature instead (the array keeps its
        7 entries, which the native loop relies on)."""
        shape = self.temperature if self.kind == "dspike" else self.sharpness
        return np.array([self.code, v_th, self.gamma, self.slope, self.alpha, self.width,
                         shape], dtype=np.float64)


def as_surrogate(value) -> Surrogate:
    """A :class:`Surrogate` from an instance or a kind name."""
    if isinstance(value, Surrogate):
        return value
    if isinstance(value, str) and value in KINDS:
        return Surrogate(kind=value)
    raise ParameterError(f"surrogate must be one of {', '.join(map(repr, KINDS))} or a Surrogate, got {value!r}")


@njit(cache=True, inline="always")
def psi(u, p):
    """Pseudo-derivative at u = v - A (mV) for kernel parameters ``p`` (see Surrogate.kernel_params)."""
    code = int(p[0])
    v_th = p[1]
    if code == 0:
        r = 1.0 - abs(u) / v_th
        return p[2] / v_th * r if r > 0.0 else 0.0
    if code == 1:
        d = p[3] * abs(u) + 1.0
        return 1.0 / (d * d)
    if code == 2:
        q = 0.5 * math.pi * p[4] * u
        return 0.5 * p[4] / (1.0 + q * q)
    if code == 3:
        return 1.0 / p[5] if abs(u) < 0.5 * p[5] else 0.0
    if code == 5:
        if abs(u) >= 0.5 * p[5]:
            return 0.0
        th = math.tanh(p[6] * u / p[5])
        return p[6] / p[5] * (1.0 - th * th) / (2.0 * math.tanh(0.5 * p[6]))
    s = smooth_spike(u, p[6])
    return p[6] * s * (1.0 - s)


@njit(cache=True, inline="always")
def smooth_spike(u, k):
    """The logistic spike 1 / (1 + exp(-k u)) of the smoothed model, computed without overflow."""
    if u >= 0.0:
        return 1.0 / (1.0 + math.exp(-k * u))
    e = math.exp(k * u)
    return e / (1.0 + e)


def psi_reference(u, surrogate: Surrogate, v_th: float) -> np.ndarray:
    """Twin of :func:`psi`: each formula of the module docstring, on an array of u (mV)."""
    u = np.asarray(u, dtype=float)
    kind = surrogate.kind
    if kind == "triangular":
        return surrogate.gamma / v_th * np.maximum(0.0, 1.0 - np.abs(u) / v_th)
    if kind == "fast_sigmoid":
        return 1.0 / (surrogate.slope * np.abs(u) + 1.0) ** 2
    if kind == "arctan":
        return surrogate.alpha / 2.0 / (1.0 + (np.pi / 2.0 * surrogate.alpha * u) ** 2)
    if kind == "rectangular":
        return np.where(np.abs(u) < surrogate.width / 2.0, 1.0 / surrogate.width, 0.0)
    if kind == "dspike":
        b, w = surrogate.temperature, surrogate.width
        shape = b / w * (1.0 - np.tanh(b * u / w) ** 2) / (2.0 * np.tanh(b / 2.0))
        return np.where(np.abs(u) < w / 2.0, shape, 0.0)
    s = smooth_spike_reference(u, surrogate.sharpness)
    return surrogate.sharpness * s * (1.0 - s)


def smooth_spike_reference(u, k):
    """Twin of :func:`smooth_spike` (scipy's overflow-safe logistic)."""
    from scipy.special import expit

    return expit(k * np.asarray(u, dtype=float))
