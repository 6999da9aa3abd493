"""Learning diagnostics: gradient alignment between two gradient dicts, and learning curves.

A gradient dict maps a parameter name (``"w_in"``, ``"w_rec"``, ``"w_out"``, ``"b_out"``,
as returned by ``plasticity.bptt.gradients`` and its online approximations) to an array.
Alignment compares an approximation ``g`` with a reference ``g_ref`` (e.g. e-prop against
BPTT) per key and over all keys flattened together ("overall").
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np

from plasticity.errors import ParameterError

OVERALL = "overall"


class Alignment(NamedTuple):
    """How well ``g`` matches ``g_ref`` (all dimensionless).

    cosine:          <g, g_ref> / (|g| |g_ref|); 1 = same direction; NaN if either is zero
    relative_error:  |g - g_ref| / |g_ref| (Euclidean norms); NaN if g_ref is zero
    sign_agreement:  fraction of entries with sign(g) == sign(g_ref) (zeros count as a sign)
    norm_ratio:      |g| / |g_ref|; NaN if g_ref is zero
    size:            number of entries compared
    """

    cosine: float
    relative_error: float
    sign_agreement: float
    norm_ratio: float
    size: int


def alignment(g, g_ref) -> Alignment:
    """:class:`Alignment` of two arrays of equal shape (flattened)."""
    g = np.asarray(g, dtype=float).ravel()
    g_ref = np.asarray(g_ref, dtype=float).ravel()
    if g.shape != g_ref.shape:
        raise ParameterError(f"gradients must have the same number of entries, got {g.size} and {g_ref.size}")
    if not (np.all(np.isfinite(g)) and np.all(np.isfinite(g_ref))):
        raise ParameterError("gradients must be finite")
    if g.size == 0:
        return Alignment(float("nan"), float("nan"), float("nan"), float("nan"), 0)
    norm, norm_ref = float(np.linalg.norm(g)), float(np.linalg.norm(g_ref))
    nan = float("nan")
    cosine = float(np.dot(g, g_ref) / (norm * norm_ref)) if norm > 0 and norm_ref > 0 else nan
    rel = float(np.linalg.norm(g - g_ref) / norm_ref) if norm_ref > 0 else nan
    ratio = norm / norm_ref if norm_ref > 0 else nan
    signs = float(np.mean(np.sign(g) == np.sign(g_ref)))
    return Alignment(cosine, rel, signs, ratio, int(g.size))


def gradient_alignment(grads: Mapping, reference: Mapping, keys: Sequence[str] | None = None
                       ) -> dict[str, Alignment]:
    """Per-key :class:`Alignment` of ``grads`` against ``reference``, plus ``"overall"``.

    ``keys`` defaults to the keys common to both dicts, in ``reference``'s order; a key
    missing from either dict, or arrays of different shapes, raise ParameterError. The
    ``"overall"`` entry compares all listed keys concatenated (large layers weigh more).
    """
    if keys is None:
        keys = [key for key in reference if key in grads]
        if not keys:
            raise ParameterError(f"the gradient dicts share no key: {sorted(grads)} vs {sorted(reference)}")
    out: dict[str, Alignment] = {}
    flat, flat_ref = [], []
    for key in keys:
        if key not in grads or key not in reference:
            raise ParameterError(f"gradient key {key!r} missing; have {sorted(grads)} and {sorted(reference)}")
        a, b = np.asarray(grads[key], dtype=float), np.asarray(reference[key], dtype=float)
        if a.shape != b.shape:
            raise ParameterError(f"gradient {key!r} has shape {a.shape} but the reference has {b.shape}")
        out[key] = alignment(a, b)
        flat.append(a.ravel())
        flat_ref.append(b.ravel())
    out[OVERALL] = alignment(np.concatenate(flat), np.concatenate(flat_ref))
    return out


def alignment_history(pairs, keys: Sequence[str] | None = None) -> dict[str, dict[str, np.ndarray]]:
    """Alignment over training: ``pairs`` is a sequence of ``(grads, reference)`` dicts.

    Returns ``{key: {"cosine": array (n,), "relative_error": ..., "sign_agreement": ...,
    "norm_ratio": ...}}`` for every key and ``"overall"``.
    """
    rows = [gradient_alignment(g, ref, keys) for g, ref in pairs]
    if not rows:
        raise ParameterError("pairs must hold at least one (grads, reference) pair")
    return {key: {metric: np.array([getattr(row[key], metric) for row in rows])
                  for metric in ("cosine", "relative_error", "sign_agreement", "norm_ratio")}
            for key in rows[0]}


def moving_average(values, window: int) -> np.ndarray:
    """Trailing mean over the last ``window`` values (fewer at the start); same length."""
    values = np.asarray(values, dtype=float)
    if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window < 1:
        raise ParameterError(f"window must be an integer >= 1, got {window!r}")
    if values.ndim != 1:
        raise ParameterError(f"values must be 1-D, got shape {values.shape}")
    c = np.concatenate([[0.0], np.cumsum(values)])
    idx = np.arange(1, values.size + 1)
    lo = np.maximum(idx - window, 0)
    return (c[idx] - c[lo]) / (idx - lo)
