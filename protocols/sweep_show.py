"""``plab show`` / ``plab plot`` of a sweep directory: each measure's mean and standard
deviation over seeds at every grid point, as a table and as one figure per measure (the
measure against each grid key, one line per combination of the other keys)."""
from __future__ import annotations

import itertools
import json
import re
from pathlib import Path
from typing import NamedTuple

import numpy as np


class Cell(NamedTuple):
    """One measure at one grid point, over the seeds that finished there."""

    values: dict    # grid key -> value (as in sweep.json)
    mean: float
    sd: float       # sample standard deviation (ddof = 1); NaN with fewer than two seeds
    n: int


def measure_names(doc: dict) -> list[str]:
    """Every measure of the done points, in order of first appearance."""
    names: dict[str, None] = {}
    for point in doc["points"]:
        if point["status"] == "done":
            names.update(dict.fromkeys(point.get("measures", {})))
    return list(names)


def grid_points(doc: dict) -> list[dict]:
    """The grid combinations in sweep order (``[{}]`` for a seeds-only sweep)."""
    keys = list(doc["grid"])
    return [dict(zip(keys, combo)) for combo in itertools.product(*doc["grid"].values())]


def cells(doc: dict, measure: str) -> list[Cell]:
    """``measure`` at every grid combination: mean and s.d. over its done seeds."""
    out = []
    for combo in grid_points(doc):
        x = np.array([p["measures"][measure] for p in doc["points"] if p["status"] == "done"
                      and p["values"] == combo and measure in p.get("measures", {})], dtype=float)
        mean = float(x.mean()) if x.size else float("nan")
        sd = float(x.std(ddof=1)) if x.size > 1 else float("nan")
        out.append(Cell(combo, mean, sd, int(x.size)))
    return out


def table(doc: dict, path: Path) -> str:
    """The ``plab show`` text of a sweep document."""
    status = [p["status"] for p in doc["points"]]
    seeds = doc.get("seeds")
    lines = [f"sweep:      {path}",
             f"protocol:   {doc['protocol']}{' (Config.small())' if doc.get('small') else ''}"
             f"   backend: {doc.get('backend', 'native')}",
             *[f"grid:       {key} = {', '.join(_text(v) for v in values)}" for key, values in doc["grid"].items()],
             f"seeds:      {', '.join(map(str, seeds)) if seeds else '(the Config default)'}",
             f"points:     {len(status)}: {status.count('done')} done, {status.count('failed')} failed, "
             f"{status.count('pending')} pending"]
    failed = [p for p in doc["points"] if p["status"] == "failed"]
    if failed:
        lines.append("failed:")
        lines += [f"  #{p['index']} {point_label(p['values'], p.get('seed'))}: {p.get('error')}"
                  + (f" (see {p['run']})" if p.get("run") else "") for p in failed]
    keys = list(doc["grid"])
    for measure in measure_names(doc):
        rows = [[_text(c.values[k]) for k in keys] + [_number(c.mean), _number(c.sd), str(c.n)]
                for c in cells(doc, measure)]
        header = keys + ["mean", "sd", "n"]
        widths = [max(len(row[k]) for row in [header] + rows) for k in range(len(header))]
        lines += ["", f"{measure}   (mean and s.d. over seeds)"]
        lines += ["  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in [header] + rows]
    if not measure_names(doc):
        lines += ["", "(no finished point has a numeric measure yet)"]
    return "\n".join(lines) + "\n"


def write_figures(doc: dict, out: Path, fmt: str = "png") -> list[Path]:
    """One figure per measure, ``sweep_<measure>.<fmt>`` in ``out``; returns the paths."""
    from .cli_run import _release, _save_figure_atomic

    out.mkdir(parents=True, exist_ok=True)
    written, used = [], set()
    for measure in measure_names(doc):
        stem = _unique(f"sweep_{_slug(measure)}", used)
        fig = figure(doc, measure)
        try:
            target = out / f"{stem}.{fmt}"
            _save_figure_atomic(fig, target, fmt)
            written.append(target)
        finally:
            _release(fig)
    return written


def figure(doc: dict, measure: str):
    """``measure`` (mean ± s.d. over seeds) against each grid key, one panel per key."""
    from matplotlib.figure import Figure

    keys = list(doc["grid"])
    fig = Figure(figsize=(4.2 * max(1, len(keys)), 3.6), layout="constrained")
    axes = fig.subplots(1, max(1, len(keys)), squeeze=False)[0]
    if not keys:  # a seeds-only sweep: the measure of each seed
        done = [p for p in doc["points"] if p["status"] == "done" and measure in p["measures"]]
        axes[0].plot([p["seed"] for p in done], [p["measures"][measure] for p in done], "o")
        axes[0].set(xlabel="seed", ylabel=measure)
        return fig
    table_ = cells(doc, measure)
    for ax, key in zip(axes, keys):
        values = doc["grid"][key]
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
        x = np.array(values, dtype=float) if numeric else np.arange(len(values))
        others = [k for k in keys if k != key]
        for combo in itertools.product(*(doc["grid"][k] for k in others)):
            fixed = dict(zip(others, combo))
            series = [next(c for c in table_ if c.values == {**fixed, key: v}) for v in values]
            label = ", ".join(f"{k}={_text(v)}" for k, v in fixed.items()) or None
            mean, sd = np.array([[c.mean, c.sd] for c in series], dtype=float).T
            ax.errorbar(x, mean, yerr=np.nan_to_num(sd), marker="o", capsize=3, label=label)
        if not numeric:
            ax.set_xticks(x, [_text(v) for v in values])
        ax.set(xlabel=key, ylabel=measure)
        if others and len(ax.get_lines()) > 1:
            ax.legend(fontsize="small")
    fig.suptitle(f"{doc['protocol']}: mean ± s.d. over seeds", fontsize="medium")
    return fig


def point_label(values: dict, seed) -> str:
    """``rate_hz=10.0 rule=pair seed=3``: a point in messages and tables."""
    parts = [f"{key}={_text(value)}" for key, value in values.items()]
    if seed is not None:
        parts.append(f"seed={seed}")
    return " ".join(parts) or "(default config)"


def _text(value) -> str:
    return value if isinstance(value, str) else json.dumps(list(value) if isinstance(value, tuple) else value)


def _number(x: float) -> str:
    return "-" if x != x else f"{x:.4g}"


def _slug(text: str) -> str:
    text = text.replace("+", "plus").replace("−", "minus")
    text = re.sub(r"(?<=[A-Za-z])-(?![A-Za-z0-9])", "minus", text)
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_.-") or "measure"


def _unique(stem: str, used: set) -> str:
    name, n = stem, 2
    while name in used:
        name, n = f"{stem}-{n}", n + 1
    used.add(name)
    return name
