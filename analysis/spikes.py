"""Spike-train statistics: rates (binned, kernel-smoothed), PSTH, ISI histogram, CV, Fano
factor, cross-correlogram, spike-count correlation (synchrony), van Rossum and
Victor-Purpura distances.

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


def binned_rates(spikes, duration_ms: float, bin_ms: float, n: int | None = None,
                 t_start_ms: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Time-binned firing rate (Hz) of each neuron.

    Bins of ``bin_ms`` tile ``[t_start_ms, t_start_ms + duration_ms)`` as half-open
    intervals (a shorter last bin is divided by its own width), as in
    :func:`population_rate`. ``spikes`` is ``(i, t)`` or a list of per-neuron trains.

    Returns
    -------
    centres : array (n_bins,), bin centres (ms)
    rates : array (n, n_bins), spike count in the bin / bin width (s), Hz
    """
    i, t = _index_time(spikes)
    if not isinstance(spikes, tuple) and n is None:
        n = len(spikes)
    n = _neuron_count(i, n)
    edges = _edges(duration_ms, bin_ms, t_start_ms)
    counts = _binned_counts(i, t, n, edges)
    return 0.5 * (edges[:-1] + edges[1:]), counts / (np.diff(edges) / 1000.0)


KERNELS = ("gaussian", "exponential", "boxcar")


def smoothed_rate(times, duration_ms: float, dt_ms: float = 1.0, kernel: str = "gaussian",
                  width_ms: float = 20.0, n: int = 1,
                  t_start_ms: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Kernel-smoothed rate (Hz) of the pooled spike ``times`` (ms), per neuron for ``n``.

    The rate at time ``s`` is ``sum_k K(s - t_k) / n`` with a kernel ``K`` of unit area
    (in 1/s), evaluated exactly (no binning) at ``s = t_start_ms + (m + 0.5) * dt_ms``:

    * ``"gaussian"``: ``exp(-u^2 / (2 w^2)) / (w sqrt(2 pi))``, ``w = width_ms`` (the s.d.);
    * ``"exponential"``: causal, ``exp(-u / w) / w`` for ``u >= 0``, else 0;
    * ``"boxcar"``: ``1 / w`` for ``-w/2 <= u < w/2``, else 0.

    A single spike therefore peaks at ``1000 / (w sqrt(2 pi))`` Hz (Gaussian) or
    ``1000 / w`` Hz (exponential, boxcar). Spikes outside the window still contribute
    near its edges; no edge correction is applied. Cost: one kernel evaluation per grid
    point per spike within the kernel's reach (±8 w Gaussian, 40 w exponential), e.g. ~15 s
    for 10^6 pooled spikes over 100 s at dt 1 ms and w 20 ms; bin first
    (:func:`population_rate`) for very large inputs.

    Returns
    -------
    t : array (n_points,), evaluation times (ms)
    rate : array (n_points,), Hz
    """
    times = _as_times("times", times)
    duration_ms = check_positive("duration_ms", duration_ms, "ms")
    dt_ms = check_positive("dt_ms", dt_ms, "ms")
    width_ms = check_positive("width_ms", width_ms, "ms")
    t_start_ms = check_finite("t_start_ms", t_start_ms, "ms")
    if kernel not in KERNELS:
        raise ParameterError(f"kernel must be one of {', '.join(map(repr, KERNELS))}, got {kernel!r}")
    _check_count("n", n)
    n_points = int(np.ceil(duration_ms / dt_ms - 1e-9))
    grid = t_start_ms + (np.arange(n_points) + 0.5) * dt_ms
    rate = np.zeros(n_points)
    reach = {"gaussian": (-8.0 * width_ms, 8.0 * width_ms), "exponential": (0.0, 40.0 * width_ms),
             "boxcar": (-0.5 * width_ms, 0.5 * width_ms)}[kernel]
    times = np.sort(times)
    start, chunk = 0, 4096
    while start < n_points:  # blocks of grid points x nearby spikes, at most ~4e6 pairs each
        stop = min(n_points, start + chunk)
        s = grid[start:stop]
        lo = np.searchsorted(times, s[0] - reach[1], side="left")
        hi = np.searchsorted(times, s[-1] - reach[0], side="right")
        if (hi - lo) * (stop - start) > 4_000_000 and stop - start > 1:
            chunk = (stop - start) // 2
            continue
        u = s[:, None] - times[None, lo:hi]
        if kernel == "gaussian":
            k = np.exp(-0.5 * (u / width_ms) ** 2) / (width_ms * np.sqrt(2.0 * np.pi))
        elif kernel == "exponential":
            k = np.where(u >= 0.0, np.exp(-np.maximum(u, 0.0) / width_ms) / width_ms, 0.0)
        else:
            k = np.where((u >= -0.5 * width_ms) & (u < 0.5 * width_ms), 1.0 / width_ms, 0.0)
        rate[start:stop] = k.sum(axis=1)
        start = stop
    return grid, rate * 1000.0 / n


def psth(times, events_ms, window_ms, bin_ms: float) -> tuple[np.ndarray, np.ndarray]:
    """Peri-stimulus time histogram (Hz): the trial-averaged rate around each event.

    For every event time ``e`` (ms), spikes with ``e + w0 <= t < e + w1`` are taken at
    ``t - e``, where ``window_ms = (w0, w1)``; they are counted in bins of ``bin_ms``
    tiling ``[w0, w1)`` (a shorter last bin divided by its own width) and divided by the
    number of events. ``times`` is a sorted 1-D array of spike times (ms), one neuron or
    pooled (divide by the neuron count for a per-neuron rate).

    Returns
    -------
    centres : array (n_bins,), bin centres relative to the event (ms)
    rate : array (n_bins,), spikes per event per bin width (s), Hz
    """
    times = _as_train("times", times)
    events = _as_times("events_ms", events_ms)
    if events.size == 0:
        raise ParameterError("events_ms must hold at least one event time (ms)")
    w0, w1 = (check_finite("window_ms", x, "ms") for x in window_ms)
    if not w0 < w1:
        raise ParameterError(f"window_ms must be (w0, w1) in ms with w0 < w1, got {tuple(window_ms)!r}")
    edges = _edges(w1 - w0, bin_ms, w0)
    counts = np.zeros(edges.size - 1)
    for e in events:
        lo, hi = np.searchsorted(times, [e + w0, e + w1], side="left")
        rel = times[lo:hi] - e
        counts += _binned_counts(np.zeros(rel.size, dtype=np.int64), rel, 1, edges)[0]
    return 0.5 * (edges[:-1] + edges[1:]), counts / (events.size * np.diff(edges) / 1000.0)


def isi_histogram(times, bin_ms: float = 1.0, max_isi_ms: float | None = None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Histogram of one train's inter-spike intervals (ms).

    Bins of ``bin_ms`` from 0 to ``max_isi_ms`` (default: the largest ISI, rounded up to
    a whole bin); intervals >= ``max_isi_ms`` are not counted. Returns ``(counts, edges)``
    with ``edges`` in ms, as :func:`numpy.histogram`.
    """
    times = _as_train("times", times)
    bin_ms = check_positive("bin_ms", bin_ms, "ms")
    isi = np.diff(times)
    if max_isi_ms is None:
        max_isi_ms = bin_ms * max(1, int(np.floor(isi.max() / bin_ms)) + 1) if isi.size else bin_ms
    max_isi_ms = check_positive("max_isi_ms", max_isi_ms, "ms")
    edges = _edges(max_isi_ms, bin_ms, 0.0)
    counts = _binned_counts(np.zeros(isi.size, dtype=np.int64), isi, 1, edges)[0]
    return counts.astype(np.int64), edges


def cross_correlogram(times_a, times_b, bin_ms: float, max_lag_ms: float
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Pairwise cross-correlogram: counts of lags ``t_b - t_a`` (ms) over all spike pairs.

    Every pair (one spike of ``a``, one of ``b``) with ``-max_lag_ms <= t_b - t_a <
    max_lag_ms`` is counted in bins of ``bin_ms``; ``max_lag_ms`` must be a whole number of
    bins. A peak at positive lags means ``b`` tends to fire after ``a``. For the
    auto-correlogram pass the same train twice (the zero-lag self pairs are included).

    Returns
    -------
    lags : array (n_bins,), bin centres (ms)
    counts : array (n_bins,), int
    """
    a = _as_train("times_a", times_a)
    b = _as_train("times_b", times_b)
    bin_ms = check_positive("bin_ms", bin_ms, "ms")
    max_lag_ms = check_positive("max_lag_ms", max_lag_ms, "ms")
    n_half = max_lag_ms / bin_ms
    if abs(n_half - round(n_half)) > 1e-9:
        raise ParameterError(f"max_lag_ms must be a multiple of bin_ms ({bin_ms} ms), got {max_lag_ms}")
    n_bins = 2 * int(round(n_half))
    edges = -max_lag_ms + bin_ms * np.arange(n_bins + 1)
    counts = np.zeros(n_bins, dtype=np.int64)
    for t in a:
        lo, hi = np.searchsorted(b, [t - max_lag_ms, t + max_lag_ms], side="left")
        lag = b[lo:hi] - t
        k = np.clip(np.floor((lag + max_lag_ms) / bin_ms + 1e-9).astype(np.int64), 0, n_bins - 1)
        counts += np.bincount(k, minlength=n_bins)
    return 0.5 * (edges[:-1] + edges[1:]), counts


def spike_count_correlation(spikes, duration_ms: float, bin_ms: float, n: int | None = None,
                            t_start_ms: float = 0.0) -> np.ndarray:
    """Pearson correlation of the neurons' spike counts in bins of ``bin_ms`` (synchrony).

    Counts in the ``floor(duration_ms / bin_ms)`` full bins starting at ``t_start_ms``;
    returns the (n, n) correlation matrix with 1 on the diagonal of active neurons and NaN
    in the rows and columns of neurons whose count never varies (silent, or regular at the
    bin size). :func:`synchrony` averages its off-diagonal entries.
    """
    i, t = _index_time(spikes)
    if not isinstance(spikes, tuple) and n is None:
        n = len(spikes)
    n = _neuron_count(i, n)
    duration_ms = check_positive("duration_ms", duration_ms, "ms")
    bin_ms = check_positive("bin_ms", bin_ms, "ms")
    n_bins = int(np.floor(duration_ms / bin_ms + 1e-9))
    if n_bins < 2:
        raise ParameterError(f"bin_ms must fit at least twice in duration_ms ({duration_ms} ms), got {bin_ms}")
    edges = check_finite("t_start_ms", t_start_ms, "ms") + bin_ms * np.arange(n_bins + 1)
    counts = _binned_counts(i, t, n, edges)
    centred = counts - counts.mean(axis=1, keepdims=True)
    sd = np.sqrt((centred ** 2).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = (centred @ centred.T) / np.outer(sd, sd)
    corr[sd == 0.0, :] = np.nan
    corr[:, sd == 0.0] = np.nan
    return corr


def synchrony(spikes, duration_ms: float, bin_ms: float, n: int | None = None,
              t_start_ms: float = 0.0) -> float:
    """Mean pairwise spike-count correlation over distinct neuron pairs (NaN pairs ignored).

    0 for independent trains (in expectation), 1 for identical ones; see
    :func:`spike_count_correlation`. NaN when no pair has two varying counts.
    """
    corr = spike_count_correlation(spikes, duration_ms, bin_ms, n=n, t_start_ms=t_start_ms)
    upper = corr[np.triu_indices(corr.shape[0], k=1)]
    upper = upper[np.isfinite(upper)]
    return float(upper.mean()) if upper.size else float("nan")


def van_rossum_distance(times_a, times_b, tau_ms: float) -> float:
    """van Rossum (2001) distance between two trains (dimensionless).

    Each train is filtered with the causal kernel ``exp(-t / tau)``; the distance is
    ``D = sqrt((1 / tau) * integral (f_a - f_b)^2 dt)``, computed exactly as
    ``D^2 = (S_aa + S_bb - 2 S_ab) / 2`` with ``S_xy = sum_ij exp(-|x_i - y_j| / tau)``.
    One spike against an empty train gives ``sqrt(1/2)``; two single spikes ``d`` ms apart
    give ``sqrt(1 - exp(-d / tau))``. Implementations that use the prefactor ``2 / tau``
    instead (a single spike against an empty train at distance 1) report ``sqrt(2)``
    times this value.
    """
    a = _as_train("times_a", times_a)
    b = _as_train("times_b", times_b)
    tau_ms = check_positive("tau_ms", tau_ms, "ms")

    def s(x, y):
        return float(np.exp(-np.abs(x[:, None] - y[None, :]) / tau_ms).sum()) if x.size and y.size else 0.0

    d2 = 0.5 * (s(a, a) + s(b, b) - 2.0 * s(a, b))
    return float(np.sqrt(max(d2, 0.0)))


def victor_purpura_distance(times_a, times_b, q_per_ms: float) -> float:
    """Victor-Purpura (1996) spike-time distance: the cheapest edit of ``a`` into ``b``.

    Deleting or inserting a spike costs 1; moving one by ``d`` ms costs ``q_per_ms * d``.
    ``q = 0`` gives the difference of spike counts; large ``q`` gives the number of
    non-coincident spikes. Dynamic programming, O(len(a) * len(b)).
    """
    a = _as_train("times_a", times_a)
    b = _as_train("times_b", times_b)
    q = check_finite("q_per_ms", q_per_ms, "1/ms")
    if q < 0:
        raise ParameterError(f"q_per_ms must be >= 0 (1/ms), got {q_per_ms!r}")
    prev = np.arange(b.size + 1, dtype=float)
    for k in range(1, a.size + 1):
        cur = np.empty_like(prev)
        cur[0] = k
        shift = prev[:-1] + q * np.abs(a[k - 1] - b)
        for m in range(1, b.size + 1):
            cur[m] = min(prev[m] + 1.0, cur[m - 1] + 1.0, shift[m - 1])
        prev = cur
    return float(prev[-1])


def _edges(duration_ms, bin_ms, t_start_ms) -> np.ndarray:
    """Bin edges tiling [t_start, t_start + duration) with a possibly shorter last bin."""
    duration_ms = check_positive("duration_ms", duration_ms, "ms")
    bin_ms = check_positive("bin_ms", bin_ms, "ms")
    t_start_ms = check_finite("t_start_ms", t_start_ms, "ms")
    n_bins = int(np.ceil(duration_ms / bin_ms - 1e-9))
    return t_start_ms + np.minimum(np.arange(n_bins + 1) * bin_ms, duration_ms)


def _binned_counts(i, t, n, edges) -> np.ndarray:
    """(n, n_bins) counts of spikes ``(i, t)`` in half-open bins ``[edges[k], edges[k+1])``."""
    n_bins = edges.size - 1
    inside = (t >= edges[0]) & (t < edges[-1])
    k = np.searchsorted(edges, t[inside], side="right") - 1
    flat = np.bincount(i[inside] * n_bins + k, minlength=n * n_bins)
    return flat.reshape(n, n_bins).astype(float)


def _check_count(name, n) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ParameterError(f"{name} must be an integer >= 1 (neurons), got {n!r}")
    return int(n)


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
