"""Synaptic-weight statistics: histograms and the bimodality that competitive STDP produces.

Weights are in whatever unit the projection uses (docs/conventions.md): multiples of the
target's leak conductance g_L = c_m / tau_m for conductance synapses (g in nS = w c_m / tau_m),
pA for current synapses, mV for delta synapses; ``w_max`` is in the same unit.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from plasticity.errors import ParameterError, check_finite, check_positive


class Bimodality(NamedTuple):
    """Fractions of weights near each bound and Sarle's bimodality coefficient."""

    frac_low: float      # fraction of weights < low * w_max
    frac_high: float     # fraction of weights > high * w_max
    coefficient: float   # Sarle's b; > 5/9 suggests bimodality (uniform = 5/9, normal = 1/3)


def weight_histogram(w, bins=50, range=None) -> tuple[np.ndarray, np.ndarray]:
    """Counts and bin edges of all weights in ``w`` (any shape), as :func:`numpy.histogram`.

    ``range`` is ``(low, high)`` in the weights' unit; by default the data's min and max.
    """
    w = _as_weights(w)
    return np.histogram(w, bins=bins, range=range)


def bimodality(w, w_max: float, low: float = 0.1, high: float = 0.9) -> Bimodality:
    """How strongly ``w`` has split towards 0 and ``w_max`` (same unit as ``w``).

    Returns the fraction of weights below ``low * w_max``, the fraction above
    ``high * w_max``, and Sarle's bimodality coefficient
    ``b = (g^2 + 1) / (k + 3 (n-1)^2 / ((n-2)(n-3)))`` with ``g`` the sample skewness
    and ``k`` the sample excess kurtosis, both bias-corrected (SAS / ``scipy.stats``
    with ``bias=False``). ``b`` is NaN when fewer than 4 weights or all are equal.
    """
    w = _as_weights(w)
    w_max = check_positive("w_max", w_max)
    low = check_finite("low", low)
    high = check_finite("high", high)
    if not 0.0 <= low < high <= 1.0:
        raise ParameterError(f"low and high must satisfy 0 <= low < high <= 1, got {low}, {high}")
    if w.size == 0:
        raise ParameterError("w must hold at least one weight")
    frac_low = float(np.mean(w < low * w_max))
    frac_high = float(np.mean(w > high * w_max))
    return Bimodality(frac_low, frac_high, _sarle_coefficient(w))


def _sarle_coefficient(w: np.ndarray) -> float:
    from scipy import stats  # imported here: scipy.stats takes ~1 s to import

    n = w.size
    if n < 4 or np.all(w == w[0]):
        return float("nan")
    g = stats.skew(w, bias=False)
    k = stats.kurtosis(w, fisher=True, bias=False)
    return float((g * g + 1.0) / (k + 3.0 * (n - 1) ** 2 / ((n - 2) * (n - 3))))


def _as_weights(w) -> np.ndarray:
    w = np.asarray(w, dtype=float).ravel()
    if not np.all(np.isfinite(w)):
        raise ParameterError("w must hold finite weights")
    return w
