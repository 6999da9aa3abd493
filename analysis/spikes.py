"""Spike-train statistics: firing rates, population rate, ISI variability, Fano factor.

Spikes are given the way a spike monitor records them, as two arrays of equal length:
``i`` (neuron index, int >= 0) and ``t`` (spike time, ms). A list with one sorted array
of spike times (ms) per neuron is accepted too; :func:`to_trains` and :func:`from_trains`
convert between the two. Times are in ms, rates in Hz (spikes per second).

Variances are population variances (``ddof=0``), as in Elephant's ``cv`` and ``fanofactor``.
"""
from __future__ import annotations

import numpy as np

from plasticity.errors import ParameterError, check_finite, check_positive


def from_trains(trains) -> tuple[np.ndarray, np.ndarray]:
    """``(i, t)`` arrays from a list of per-neuron spike-time arrays (ms), ordered by time.

    Neuron ``k`` of the list gets index ``k``; spikes at equal times keep the neuron order.
    """
    trains = [_as_train(f"trains[{k}]", times) for k, times in enumerate(trains)]
    if not trains:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    i = np.concatenate([np.full(times.size, k, dtype=np.int64) for k, times in enumerate(trains)])
    t = np.concatenate(trains)
    order = np.argsort(t, kind="stable")
    return i[order], t[order]


def to_trains(i, t, n: int | None = None) -> list[np.ndarray]:
    """One sorted array of spike times (ms) per neuron ``0..n-1`` from ``(i, t)`` arrays.

    ``n`` defaults to ``max(i) + 1``; give it when the last neurons may be silent.
    """
    i, t = _as_index_time(i, t)
    n = _neuron_count(i, n)
    order = np.lexsort((t, i))
    i, t = i[order], t[order]
    bounds = np.searchsorted(i, np.arange(n + 1))
    return [t[bounds[k]:bounds[k + 1]].copy() for k in range(n)]


def firing_rates(spikes, duration_ms: float, n: int | None = None,
                 t_start_ms: float = 0.0) -> np.ndarray:
    """Mean firing rate (Hz) of each neuron over ``[t_start_ms, t_start_ms + duration_ms)``.

    Parameters
    ----------
    spikes : tuple ``(i, t)`` or list of per-neuron arrays
        A 2-tuple is read as ``(i, t)``: neuron indices and spike times (ms). Any other
        sequence is read as one array of spike times (ms) per neuron.
    duration_ms : float
        Length of the counting window (ms), > 0.
    n : int, optional
        Number of neurons; defaults to ``max(i) + 1`` for ``(i, t)`` and to the list length.
    t_start_ms : float
        Start of the counting window (ms).

    Returns
    -------
    array (n,) of rates in Hz: spike count in the window / (duration_ms / 1000).
    """
    i, t = _index_time(spikes)
    duration_ms = check_positive("duration_ms", duration_ms, "ms")
    t_start_ms = check_finite("t_start_ms", t_start_ms, "ms")
    if not isinstance(spikes, tuple) and n is None:
        n = len(spikes)
    n = _neuron_count(i, n)
    inside = (t >= t_start_ms) & (t < t_start_ms + duration_ms)
    counts = np.bincount(i[inside], minlength=n)
    return counts / (duration_ms / 1000.0)


def population_rate(t, duration_ms: float, bin_ms: float, n: int = 1,
                    t_start_ms: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Binned rate (Hz) of the pooled spike times ``t`` (ms), per neuron when ``n`` is given.

    Bins of ``bin_ms`` tile ``[t_start_ms, t_start_ms + duration_ms)`` as half-open
    intervals; a shorter last bin is divided by its own width. Spikes outside are ignored.

    Returns
    -------
    centres : array (n_bins,), bin centres (ms)
    rate : array (n_bins,), spike count / (n * bin width in s), Hz
    """
    t = _as_times("t", t)
    duration_ms = check_positive("duration_ms", duration_ms, "ms")
    bin_ms = check_positive("bin_ms", bin_ms, "ms")
    t_start_ms = check_finite("t_start_ms", t_start_ms, "ms")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ParameterError(f"n must be an integer >= 1 (neurons), got {n!r}")
    n_bins = int(np.ceil(duration_ms / bin_ms - 1e-9))
    edges = np.minimum(np.arange(n_bins + 1) * bin_ms, duration_ms)
    rel = t - t_start_ms
    rel = rel[(rel >= 0.0) & (rel < duration_ms)]
    counts = np.bincount(np.minimum((rel // bin_ms).astype(np.int64), n_bins - 1),
                         minlength=n_bins)
    widths_s = np.diff(edges) / 1000.0
    centres = t_start_ms + 0.5 * (edges[:-1] + edges[1:])
    return centres, counts / (n * widths_s)


def isi_cv(times) -> float:
    """Coefficient of variation of the inter-spike intervals of one train (dimensionless).

    ``std(ISI) / mean(ISI)`` with ``times`` a sorted 1-D array of spike times (ms).
    0 for a regular train, 1 for a Poisson process; NaN with fewer than 3 spikes.
    """
    times = _as_train("times", times)
    if times.size < 3:
        return float("nan")
    isi = np.diff(times)
    mean = isi.mean()
    if mean == 0.0:
        return float("nan")
    return float(isi.std() / mean)


def fano_factor(times, duration_ms: float, window_ms: float, t_start_ms: float = 0.0) -> float:
    """Fano factor (dimensionless) of one train's spike counts in consecutive windows.

    ``var(counts) / mean(counts)`` over the ``floor(duration_ms / window_ms)`` full windows
    of ``window_ms`` (ms) starting at ``t_start_ms`` (ms); ``times`` is a sorted 1-D array
    of spike times (ms). 1 for a Poisson process; NaN when no window holds a spike.
    """
    times = _as_train("times", times)
    duration_ms = check_positive("duration_ms", duration_ms, "ms")
    window_ms = check_positive("window_ms", window_ms, "ms")
    t_start_ms = check_finite("t_start_ms", t_start_ms, "ms")
    n_windows = int(np.floor(duration_ms / window_ms + 1e-9))
    if n_windows < 2:
        raise ParameterError(
            f"window_ms must fit at least twice in duration_ms ({duration_ms} ms), got {window_ms}")
    edges = t_start_ms + np.arange(n_windows + 1) * window_ms
    counts = np.diff(np.searchsorted(times, edges, side="left"))
    mean = counts.mean()
    if mean == 0.0:
        return float("nan")
    return float(counts.var() / mean)


def _index_time(spikes) -> tuple[np.ndarray, np.ndarray]:
    """``(i, t)`` from either accepted representation (see :func:`firing_rates`)."""
    if isinstance(spikes, tuple) and len(spikes) == 2:
        return _as_index_time(*spikes)
    return from_trains(spikes)


def _as_index_time(i, t) -> tuple[np.ndarray, np.ndarray]:
    i = np.asarray(i)
    t = _as_times("t", t)
    if i.ndim != 1 or i.shape != t.shape:
        raise ParameterError(f"i and t must be 1-D arrays of equal length, got shapes "
                             f"{i.shape} and {t.shape}")
    if i.size and not np.issubdtype(i.dtype, np.integer):
        if not np.all(np.mod(i, 1) == 0):
            raise ParameterError("i must hold integer neuron indices")
    i = i.astype(np.int64)
    if i.size and i.min() < 0:
        raise ParameterError(f"i must hold neuron indices >= 0, got {int(i.min())}")
    return i, t


def _as_times(name: str, t) -> np.ndarray:
    t = np.asarray(t, dtype=float)
    if t.ndim != 1:
        raise ParameterError(f"{name} must be a 1-D array of spike times (ms), got shape {t.shape}")
    if not np.all(np.isfinite(t)):
        raise ParameterError(f"{name} must hold finite spike times (ms)")
    return t


def _as_train(name: str, times) -> np.ndarray:
    times = _as_times(name, times)
    if times.size > 1 and np.any(np.diff(times) < 0.0):
        raise ParameterError(f"{name} must be sorted (spike times in ms, non-decreasing)")
    return times


def _neuron_count(i: np.ndarray, n) -> int:
    needed = int(i.max()) + 1 if i.size else 0
    if n is None:
        return needed
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < needed:
        raise ParameterError(f"n must be an integer >= max(i) + 1 = {needed}, got {n!r}")
    return int(n)
