"""Plots of spikes, weights, plasticity windows, learning and state on matplotlib Axes.

Every function draws on ``ax`` when given, or on a new :class:`matplotlib.figure.Figure`
of size :data:`FIGSIZE` (no pyplot, so it works under any backend and leaks no global
figures), and returns the Axes. Nothing here shows or saves a figure; the CLI saves them.
One style throughout: colours from :data:`COLOURS` (model C0, reference/data C3, means
black, thresholds and zero lines grey), times on x in ms (s for trajectories over a whole
run; ``time_unit="s"`` where a figure mixes both, so one figure has one time unit), units in
the axis labels (weights as ``w / g_max``, ``w / g_L`` or ``weight (unit)``, never a bare
"weight"), raster dots at least 2 points wide, legends in small type.
"""
from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from plasticity.errors import ParameterError, check_positive

from .spikes import _as_index_time, _edges, cross_correlogram, isi_histogram, population_rate, psth
from .weights import weight_histogram

#: Colours used for populations, model vs reference, and curves, everywhere in the package.
COLOURS = {"model": "C0", "reference": "C3", "excitatory": "C3", "inhibitory": "C0",
           "input": "0.4", "mean": "k", "threshold": "0.5"}
FIGSIZE = (6.0, 4.0)
TIME_UNITS = {"ms": 1.0, "s": 1000.0}   # time unit of an axis -> ms per unit
#: Weight "units" that are a reference value the weights were divided by: labelled "w / <name>".
RELATIVE_UNITS = ("g_max", "w_max", "g_L")


def raster(i, t, ax: Axes | None = None, groups=None, t_window=None,
           marker_size: float = 4.0, time_unit: str = "ms") -> Axes:
    """Spike raster: one filled dot per spike at (time, neuron index).

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
        Marker area (points^2) of the round dots: 4 draws dots 2 points wide.
    time_unit : "ms" or "s"
        Unit of the x axis (``t`` and ``t_window`` are always in ms).
    """
    ax = _axes(ax)
    scale = _time_scale(time_unit)
    i, t = _as_index_time(i, t)
    if t_window is not None:
        t0, t1 = _window(t_window)
        keep = (t >= t0) & (t < t1)
        i, t = i[keep], t[keep]
        ax.set_xlim(t0 / scale, t1 / scale)
    t = t / scale
    unassigned = np.ones(i.size, dtype=bool)
    for name, start, stop, colour in groups or ():
        members = (i >= start) & (i < stop)
        ax.scatter(t[members], i[members], s=marker_size, color=colour, marker="o",
                   linewidths=0, label=name)
        unassigned &= ~members
    if groups is None or unassigned.any():
        ax.scatter(t[unassigned], i[unassigned], s=marker_size, color="k", marker="o", linewidths=0)
    if groups:
        ax.legend(loc="upper right", markerscale=2, fontsize="small")
    ax.set_xlabel(f"time ({time_unit})")
    ax.set_ylabel("neuron index")
    return ax


def rate_plot(t, duration_ms: float, bin_ms: float = 10.0, n: int = 1,
              ax: Axes | None = None, label: str | None = None, t_start_ms: float = 0.0,
              time_unit: str = "ms") -> Axes:
    """Population rate (Hz per neuron when ``n`` is given) of pooled spike times ``t`` (ms).

    One line through the bin centres and rates of :func:`analysis.spikes.population_rate`,
    drawn as steps; the x axis in ``time_unit`` ("ms" or "s"; the arguments stay in ms).
    """
    ax = _axes(ax)
    scale = _time_scale(time_unit)
    centres, rate = population_rate(t, duration_ms, bin_ms, n=n, t_start_ms=t_start_ms)
    ax.plot(centres / scale, rate, drawstyle="steps-mid", label=label)
    ax.set_xlabel(f"time ({time_unit})")
    ax.set_ylabel("rate (Hz)" if n == 1 else "rate per neuron (Hz)")
    if label is not None:
        ax.legend(fontsize="small")
    return ax


def weight_histogram_plot(w, w_max: float | None = None, ax: Axes | None = None,
                          bins: int = 50, unit: str = "") -> Axes:
    """Histogram of the weights ``w`` (any shape) as one filled step patch.

    With ``w_max`` the bins span ``[0, w_max]`` and the x-limits are set to it. ``unit``
    names what the weights are measured in (label, see :func:`weight_label`): a physical
    unit (``"nS"``, ``"pA"``, ``"mV"``), or ``"g_L"`` / ``"g_max"`` / ``"w_max"`` for
    weights given as multiples of that reference (label ``w / g_max``).
    """
    ax = _axes(ax)
    hist_range = None
    if w_max is not None:
        hist_range = (0.0, check_positive("w_max", w_max, unit))
    counts, edges = weight_histogram(w, bins=bins, range=hist_range)
    ax.stairs(counts, edges, fill=True, alpha=0.8)
    if hist_range is not None:
        ax.set_xlim(*hist_range)
    ax.set_xlabel(weight_label(unit))
    ax.set_ylabel("synapses")
    return ax


def weight_trajectories(times_ms, weights, ax: Axes | None = None, max_lines: int = 50,
                        unit: str = "") -> Axes:
    """Weights over time: one thin line per synapse (at most ``max_lines``) and the mean.

    ``times_ms`` has shape (n_times,) in ms and is drawn in seconds; ``weights`` has shape
    (n_times, n_syn). When there are more synapses than ``max_lines``, evenly spaced
    columns are drawn. The last line is the mean over all synapses (labelled "mean").
    ``unit``: as in :func:`weight_histogram_plot`.
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
        ax.plot(t_s, weights[:, column], lw=0.5, alpha=0.5, color=COLOURS["model"])
    ax.plot(t_s, weights.mean(axis=1), lw=2.0, color=COLOURS["mean"], label="mean")
    ax.set_xlabel("time (s)")
    ax.set_ylabel(weight_label(unit))
    return ax


def stdp_window_plot(dt_ms, dw, ax: Axes | None = None, reference: dict | None = None,
                     ylabel: str = "Δw", label: str = "model") -> Axes:
    """Weight change against spike-time difference ``dt = t_post - t_pre`` (ms).

    The model's ``(dt_ms, dw)`` is drawn first, as a line with markers sorted by ``dt``.
    ``reference`` optionally overlays published data or a curve: a dict with ``'dt'`` (ms)
    and ``'dw'`` (same unit as ``dw``), and optionally ``'sem'`` (error bars), ``'label'``
    and ``'curve'`` (True draws a dashed line instead of points). ``ylabel`` names the
    unit of ``dw`` (e.g. ``"Δw (%)"``); ``label`` names the model's line in the legend (the
    rule, e.g. ``"pair STDP (additive)"``).
    """
    ax = _axes(ax)
    dt_ms = np.asarray(dt_ms, dtype=float)
    dw = np.asarray(dw, dtype=float)
    if dt_ms.ndim != 1 or dt_ms.shape != dw.shape:
        raise ParameterError(f"dt_ms and dw must be 1-D of equal length, got {dt_ms.shape} and {dw.shape}")
    ax.axhline(0.0, color="0.7", lw=0.8, zorder=0)
    ax.axvline(0.0, color="0.7", lw=0.8, zorder=0)
    order = np.argsort(dt_ms, kind="stable")
    ax.plot(dt_ms[order], dw[order], "-o", ms=3, color=COLOURS["model"], label=label)
    if reference is not None:
        _draw_reference(ax, reference)
    ax.set_xlabel("Δt = t_post − t_pre (ms)")
    ax.set_ylabel(ylabel)
    ax.legend(fontsize="small")
    return ax


def psth_plot(times, events_ms, window_ms, bin_ms: float, ax: Axes | None = None,
              label: str | None = None) -> Axes:
    """Peri-stimulus time histogram (Hz) of :func:`analysis.spikes.psth`, as a step line;
    a vertical line marks the event (time 0)."""
    ax = _axes(ax)
    centres, rate = psth(times, events_ms, window_ms, bin_ms)
    edges = _edges(float(window_ms[1]) - float(window_ms[0]), bin_ms, float(window_ms[0]))
    ax.stairs(rate, edges, label=label, color=COLOURS["model"])
    ax.axvline(0.0, color=COLOURS["threshold"], lw=0.8, ls=":")
    ax.set_xlabel("time from event (ms)")
    ax.set_ylabel("rate (Hz)")
    if label is not None:
        ax.legend(fontsize="small")
    return ax


def isi_histogram_plot(times, bin_ms: float = 1.0, max_isi_ms: float | None = None,
                       ax: Axes | None = None) -> Axes:
    """Histogram of the inter-spike intervals (ms) of one train, one filled step patch."""
    ax = _axes(ax)
    counts, edges = isi_histogram(times, bin_ms, max_isi_ms)
    ax.stairs(counts, edges, fill=True, alpha=0.8, color=COLOURS["model"])
    ax.set_xlabel("inter-spike interval (ms)")
    ax.set_ylabel("intervals")
    return ax


def correlogram_plot(times_a, times_b, bin_ms: float, max_lag_ms: float,
                     ax: Axes | None = None) -> Axes:
    """Cross-correlogram (counts of t_b − t_a) of :func:`analysis.spikes.cross_correlogram`."""
    ax = _axes(ax)
    lags, counts = cross_correlogram(times_a, times_b, bin_ms, max_lag_ms)
    edges = np.append(lags - 0.5 * bin_ms, lags[-1] + 0.5 * bin_ms)
    ax.stairs(counts, edges, fill=True, alpha=0.8, color=COLOURS["model"])
    ax.axvline(0.0, color=COLOURS["threshold"], lw=0.8, ls=":")
    ax.set_xlabel("lag t_b − t_a (ms)")
    ax.set_ylabel("spike pairs")
    return ax


def weight_matrix_plot(w, ax: Axes | None = None, unit: str = "", vmin=None, vmax=None,
                       cmap: str = "viridis", colorbar: bool = True) -> Axes:
    """Weight matrix ``w[post, pre]`` as an image: presynaptic index on x, postsynaptic on y.

    ``vmin``/``vmax`` fix the colour range (e.g. ``0`` and ``w_max``); a colour bar
    labelled with ``unit`` is added unless ``colorbar=False``.
    """
    ax = _axes(ax)
    w = np.asarray(w, dtype=float)
    if w.ndim == 1:
        w = w[None, :]
    if w.ndim != 2:
        raise ParameterError(f"w must be a 2-D matrix (n_post, n_pre), got shape {w.shape}")
    image = ax.imshow(w, aspect="auto", interpolation="nearest", origin="lower", cmap=cmap,
                      vmin=vmin, vmax=vmax)
    ax.set_xlabel("presynaptic neuron")
    ax.set_ylabel("postsynaptic neuron")
    if colorbar:
        ax.figure.colorbar(image, ax=ax, label=weight_label(unit))
    return ax


def receptive_field_plot(w_row, shape, ax: Axes | None = None, unit: str = "", vmin=None,
                         vmax=None, cmap: str = "viridis", colorbar: bool = True) -> Axes:
    """One neuron's incoming weights reshaped to an image of ``shape = (rows, cols)``
    (row-major, input ``k`` at ``divmod(k, cols)``), e.g. the receptive field of a neuron
    fed by a pixel grid. No axis ticks; a colour bar unless ``colorbar=False``."""
    ax = _axes(ax)
    w_row = np.asarray(w_row, dtype=float).ravel()
    rows, cols = (int(x) for x in shape)
    if rows * cols != w_row.size:
        raise ParameterError(f"shape {tuple(shape)} needs {rows * cols} weights, got {w_row.size}")
    image = ax.imshow(w_row.reshape(rows, cols), interpolation="nearest", cmap=cmap, vmin=vmin, vmax=vmax)
    ax.set_xticks([])
    ax.set_yticks([])
    if colorbar:
        ax.figure.colorbar(image, ax=ax, label=weight_label(unit))
    return ax


def learning_curve_plot(values, ax: Axes | None = None, steps=None, label: str | None = None,
                        ylabel: str = "loss", smooth: int | None = None, log: bool = False) -> Axes:
    """A loss or accuracy curve against iteration ``steps`` (default 0, 1, ...).

    With ``smooth`` the raw values are drawn faintly and their trailing moving average
    (:func:`analysis.learning.moving_average`) on top; ``log`` makes the y axis logarithmic.
    """
    from .learning import moving_average

    ax = _axes(ax)
    values = np.asarray(values, dtype=float)
    steps = np.arange(values.size) if steps is None else np.asarray(steps, dtype=float)
    if values.ndim != 1 or steps.shape != values.shape:
        raise ParameterError(f"values and steps must be 1-D of equal length, got {values.shape} and {steps.shape}")
    if smooth:
        line, = ax.plot(steps, values, lw=0.8, alpha=0.3)
        ax.plot(steps, moving_average(values, smooth), color=line.get_color(), label=label)
    else:
        ax.plot(steps, values, label=label)
    ax.set_xlabel("iteration")
    ax.set_ylabel(ylabel)
    if log:
        ax.set_yscale("log")
    if label is not None:
        ax.legend(fontsize="small")
    return ax


def alignment_plot(history: dict, metric: str = "cosine", ax: Axes | None = None, steps=None) -> Axes:
    """One line per gradient key (and "overall", thick and black) of ``metric`` over training,
    from :func:`analysis.learning.alignment_history`."""
    ax = _axes(ax)
    for key, metrics in history.items():
        if metric not in metrics:
            raise ParameterError(f"metric must be one of {', '.join(metrics)}, got {metric!r}")
        y = np.asarray(metrics[metric], dtype=float)
        x = np.arange(y.size) if steps is None else np.asarray(steps, dtype=float)
        if key == "overall":
            ax.plot(x, y, color=COLOURS["mean"], lw=2.0, label=key)
        else:
            ax.plot(x, y, lw=1.0, label=key)
    ax.set_xlabel("iteration")
    ax.set_ylabel(metric.replace("_", " "))
    ax.legend(fontsize="small")
    return ax


def state_trace_plot(t_ms, values, ax: Axes | None = None, labels=None, unit: str = "mV",
                     name: str = "v", threshold: float | None = None, spikes_ms=None) -> Axes:
    """State variables over time: ``values`` of shape (n_times,) or (n_times, n_traces).

    ``labels`` names the traces (legend); ``threshold`` draws a dashed horizontal line;
    ``spikes_ms`` marks spike times with short ticks at the top of the axes.
    """
    ax = _axes(ax)
    t_ms = np.asarray(t_ms, dtype=float)
    values = np.asarray(values, dtype=float)
    if values.ndim == 1:
        values = values[:, None]
    if values.ndim != 2 or values.shape[0] != t_ms.size:
        raise ParameterError(f"values must have shape (n_times, n_traces) with n_times = len(t_ms) = "
                             f"{t_ms.size}, got {values.shape}")
    if labels is not None and len(labels) != values.shape[1]:
        raise ParameterError(f"labels must name the {values.shape[1]} traces, got {len(labels)}")
    for k in range(values.shape[1]):
        ax.plot(t_ms, values[:, k], lw=1.0, label=None if labels is None else labels[k])
    if threshold is not None:
        ax.axhline(threshold, color=COLOURS["threshold"], ls="--", lw=0.8)
    if spikes_ms is not None and len(spikes_ms):
        ax.plot(np.asarray(spikes_ms, dtype=float), np.full(len(spikes_ms), 1.0), "|",
                color=COLOURS["reference"], ms=8, transform=ax.get_xaxis_transform())
    ax.set_xlabel("time (ms)")
    ax.set_ylabel(_with_unit(name, unit))
    if labels is not None:
        ax.legend(fontsize="small")
    return ax


def surrogate_shapes_plot(surrogates, v_th: float = 1.0, ax: Axes | None = None,
                          u_range: tuple = (-1.0, 1.0), n_points: int = 801) -> Axes:
    """Pseudo-derivatives psi(u) of :class:`plasticity.surrogate.Surrogate` shapes against
    u = v - threshold (model voltage units), one line per shape, labelled with its kind and
    its shape parameter (``v_th`` is the threshold the triangular shape scales with)."""
    from plasticity.surrogate import as_surrogate, psi_reference

    ax = _axes(ax)
    check_positive("v_th", v_th)
    lo, hi = (float(v) for v in u_range)
    if not lo < hi:
        raise ParameterError(f"u_range must be (low, high) with low < high, got {u_range!r}")
    u = np.linspace(lo, hi, int(n_points))
    params = {"triangular": "gamma", "fast_sigmoid": "slope", "arctan": "alpha", "rectangular": "width",
              "sigmoid": "sharpness", "dspike": "temperature"}
    for spec in surrogates:
        spec = as_surrogate(spec)
        name = params[spec.kind]
        ax.plot(u, psi_reference(u, spec, v_th), label=f"{spec.kind} ({name} {getattr(spec, name):g})")
    ax.axvline(0.0, color=COLOURS["threshold"], lw=0.8, ls=":")
    ax.set_xlabel("u = v - threshold")
    ax.set_ylabel("psi = ds/du")
    ax.legend(fontsize="small")
    return ax


def spike_array_raster(spikes, dt: float = 1.0, ax: Axes | None = None, marker_size: float = 4.0) -> Axes:
    """Raster (:func:`raster`) of a binary spike array of shape (T, n), e.g. one encoded
    sample of :mod:`models.encoding`; step k is drawn at time k * dt (ms)."""
    spikes = np.asarray(spikes)
    if spikes.ndim != 2:
        raise ParameterError(f"spikes must have shape (T, n), got {spikes.shape}")
    check_positive("dt", dt, "ms")
    steps, neurons = np.nonzero(spikes)
    ax = raster(neurons, steps * float(dt), ax=ax, marker_size=marker_size)
    ax.set_xlim(-0.5 * dt, (spikes.shape[0] - 0.5) * dt)
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
        ax.plot(dt[order], dw[order], "--", color=COLOURS["reference"], label=label)
    elif reference.get("sem") is not None:
        ax.errorbar(dt, dw, yerr=np.asarray(reference["sem"], dtype=float), fmt="s", ms=3,
                    color=COLOURS["reference"], ecolor=COLOURS["reference"], elinewidth=0.8, capsize=2,
                    label=label)
    else:
        ax.plot(dt, dw, "s", ms=3, color=COLOURS["reference"], label=label)


def _axes(ax: Axes | None) -> Axes:
    if ax is not None:
        return ax
    return Figure(figsize=FIGSIZE, layout="constrained").add_subplot()


def _window(t_window) -> tuple[float, float]:
    t0, t1 = (float(x) for x in t_window)
    if not t0 < t1:
        raise ParameterError(f"t_window must be (t0, t1) in ms with t0 < t1, got {t_window!r}")
    return t0, t1


def weight_label(unit: str | None) -> str:
    """Axis label of weights measured in ``unit``: ``"w / g_max"`` for a reference in
    :data:`RELATIVE_UNITS` (the weights were divided by it), ``"weight (nS)"`` for a physical
    unit, ``"weight (arbitrary units)"`` when none is given — never a bare "weight"."""
    if not unit:
        return "weight (arbitrary units)"
    return f"w / {unit}" if unit in RELATIVE_UNITS else f"weight ({unit})"


def _time_scale(time_unit: str) -> float:
    if time_unit not in TIME_UNITS:
        raise ParameterError(f"time_unit must be one of {', '.join(map(repr, TIME_UNITS))}, got {time_unit!r}")
    return TIME_UNITS[time_unit]


def _with_unit(label: str, unit: str) -> str:
    return f"{label} ({unit})" if unit else label
