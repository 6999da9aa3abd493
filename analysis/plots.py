"""Plots of spikes, weights and plasticity windows on matplotlib Axes.

Every function draws on ``ax`` when given, or on a new :class:`matplotlib.figure.Figure`
(no pyplot, so it works under any backend and leaks no global figures), and returns the
Axes. Nothing here shows or saves a figure; the CLI saves them.
"""
from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from plasticity.errors import ParameterError, check_positive

from .spikes import _as_index_time, population_rate
from .weights import weight_histogram


def raster(i, t, ax: Axes | None = None, groups=None, t_window=None,
           marker_size: float = 2.0) -> Axes:
    """Spike raster: one dot per spike at (time in ms, neuron index).

    Parameters
    ----------
    i, t : arrays
        Neuron indices and spike times (ms), as a spike monitor records them.
    groups : list of ``(name, start, stop, colour)``, optional
        Neurons ``start <= i < stop`` are drawn in ``colour`` and labelled ``name``
        (one scatter collection per group, in the given order); neurons in no group
        are drawn in black in a final collection.
    t_window : ``(t0, t1)`` in ms, optional
        Draw only spikes with ``t0 <= t < t1`` and set the x-limits to it.
    marker_size : float
        Marker area (points^2).
    """
    ax = _axes(ax)
    i, t = _as_index_time(i, t)
    if t_window is not None:
        t0, t1 = _window(t_window)
        keep = (t >= t0) & (t < t1)
        i, t = i[keep], t[keep]
        ax.set_xlim(t0, t1)
    unassigned = np.ones(i.size, dtype=bool)
    for name, start, stop, colour in groups or ():
        members = (i >= start) & (i < stop)
        ax.scatter(t[members], i[members], s=marker_size, color=colour, marker=".",
                   linewidths=0, label=name)
        unassigned &= ~members
    if groups is None or unassigned.any():
        ax.scatter(t[unassigned], i[unassigned], s=marker_size, color="k", marker=".", linewidths=0)
    if groups:
        ax.legend(loc="upper right", markerscale=4, fontsize="small")
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("neuron index")
    return ax


def rate_plot(t, duration_ms: float, bin_ms: float = 10.0, n: int = 1,
              ax: Axes | None = None, label: str | None = None, t_start_ms: float = 0.0) -> Axes:
    """Population rate (Hz per neuron when ``n`` is given) of pooled spike times ``t`` (ms).

    One line through the bin centres (ms) and rates of
    :func:`analysis.spikes.population_rate`, drawn as steps.
    """
    ax = _axes(ax)
    centres, rate = population_rate(t, duration_ms, bin_ms, n=n, t_start_ms=t_start_ms)
    ax.plot(centres, rate, drawstyle="steps-mid", label=label)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("rate (Hz)" if n == 1 else "rate per neuron (Hz)")
    if label is not None:
        ax.legend(fontsize="small")
    return ax


def weight_histogram_plot(w, w_max: float | None = None, ax: Axes | None = None,
                          bins: int = 50, unit: str = "") -> Axes:
    """Histogram of the weights ``w`` (any shape) as one filled step patch.

    With ``w_max`` the bins span ``[0, w_max]`` and the x-limits are set to it;
    ``unit`` (e.g. ``"nS"``) is appended to the x label.
    """
    ax = _axes(ax)
    hist_range = None
    if w_max is not None:
        hist_range = (0.0, check_positive("w_max", w_max, unit))
    counts, edges = weight_histogram(w, bins=bins, range=hist_range)
    ax.stairs(counts, edges, fill=True, alpha=0.8)
    if hist_range is not None:
        ax.set_xlim(*hist_range)
    ax.set_xlabel(_with_unit("weight", unit))
    ax.set_ylabel("synapses")
    return ax


def weight_trajectories(times_ms, weights, ax: Axes | None = None, max_lines: int = 50,
                        unit: str = "") -> Axes:
    """Weights over time: one thin line per synapse (at most ``max_lines``) and the mean.

    ``times_ms`` has shape (n_times,) in ms and is drawn in seconds; ``weights`` has shape
    (n_times, n_syn). When there are more synapses than ``max_lines``, evenly spaced
    columns are drawn. The last line is the mean over all synapses (labelled "mean").
    """
    ax = _axes(ax)
    times_ms = np.asarray(times_ms, dtype=float)
    weights = np.asarray(weights, dtype=float)
    if weights.ndim != 2 or times_ms.ndim != 1 or weights.shape[0] != times_ms.size:
        raise ParameterError(f"weights must have shape (n_times, n_syn) with n_times = "
                             f"len(times_ms) = {times_ms.size}, got {weights.shape}")
    if isinstance(max_lines, bool) or not isinstance(max_lines, (int, np.integer)) or max_lines < 0:
        raise ParameterError(f"max_lines must be an integer >= 0, got {max_lines!r}")
    n_syn = weights.shape[1]
    shown = np.unique(np.linspace(0, n_syn - 1, min(max_lines, n_syn)).round().astype(int))
    t_s = times_ms / 1000.0
    for column in shown:
        ax.plot(t_s, weights[:, column], lw=0.5, alpha=0.5, color="C0")
    ax.plot(t_s, weights.mean(axis=1), lw=2.0, color="k", label="mean")
    ax.set_xlabel("time (s)")
    ax.set_ylabel(_with_unit("weight", unit))
    return ax


def stdp_window_plot(dt_ms, dw, ax: Axes | None = None, reference: dict | None = None,
                     ylabel: str = "Δw") -> Axes:
    """Weight change against spike-time difference ``dt = t_post - t_pre`` (ms).

    The model's ``(dt_ms, dw)`` is drawn first, as a line with markers sorted by ``dt``.
    ``reference`` optionally overlays published data or a curve: a dict with ``'dt'`` (ms)
    and ``'dw'`` (same unit as ``dw``), and optionally ``'sem'`` (error bars), ``'label'``
    and ``'curve'`` (True draws a dashed line instead of points). ``ylabel`` names the
    unit of ``dw`` (e.g. ``"Δw (%)"``).
    """
    ax = _axes(ax)
    dt_ms = np.asarray(dt_ms, dtype=float)
    dw = np.asarray(dw, dtype=float)
    if dt_ms.ndim != 1 or dt_ms.shape != dw.shape:
        raise ParameterError(f"dt_ms and dw must be 1-D of equal length, got {dt_ms.shape} and {dw.shape}")
    ax.axhline(0.0, color="0.7", lw=0.8, zorder=0)
    ax.axvline(0.0, color="0.7", lw=0.8, zorder=0)
    order = np.argsort(dt_ms, kind="stable")
    ax.plot(dt_ms[order], dw[order], "-o", ms=3, color="C0", label="model")
    if reference is not None:
        _draw_reference(ax, reference)
    ax.set_xlabel("Δt = t_post − t_pre (ms)")
    ax.set_ylabel(ylabel)
    ax.legend(fontsize="small")
    return ax


def _draw_reference(ax: Axes, reference: dict) -> None:
    missing = [key for key in ("dt", "dw") if key not in reference]
    if missing:
        raise ParameterError(f"reference must have keys 'dt' and 'dw', missing {missing}")
    dt = np.asarray(reference["dt"], dtype=float)
    dw = np.asarray(reference["dw"], dtype=float)
    label = reference.get("label", "reference")
    if reference.get("curve", False):
        order = np.argsort(dt, kind="stable")
        ax.plot(dt[order], dw[order], "--", color="C3", label=label)
    elif reference.get("sem") is not None:
        ax.errorbar(dt, dw, yerr=np.asarray(reference["sem"], dtype=float), fmt="s", ms=3,
                    color="C3", ecolor="C3", elinewidth=0.8, capsize=2, label=label)
    else:
        ax.plot(dt, dw, "s", ms=3, color="C3", label=label)


def _axes(ax: Axes | None) -> Axes:
    if ax is not None:
        return ax
    return Figure(figsize=(6.0, 4.0), layout="constrained").add_subplot()


def _window(t_window) -> tuple[float, float]:
    t0, t1 = (float(x) for x in t_window)
    if not t0 < t1:
        raise ParameterError(f"t_window must be (t0, t1) in ms with t0 < t1, got {t_window!r}")
    return t0, t1


def _with_unit(label: str, unit: str) -> str:
    return f"{label} ({unit})" if unit else label
