"""``plab show`` and ``plab plot``: a saved run's summary table, and its figures re-drawn
from the saved arrays."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from . import registry, store
from .cli_run import _figure_dict, _release, _save_figure_atomic

FIGURE_FORMATS = ("png", "pdf", "svg")


def cmd_show(args) -> int:
    """Print a summary table of a run directory (or the newest run under a protocol directory)."""
    path = resolve_run(args.path)
    print(show_text(path), end="")
    return 0


def cmd_plot(args) -> int:
    """Re-draw a saved run's figures from its result, without re-running the protocol."""
    import protocols

    path = resolve_run(args.path)
    if (path / "INCOMPLETE").exists():
        raise ValueError(f"run directory {path} is incomplete (see {path / 'INCOMPLETE'}); nothing to plot")
    result = protocols.load(path)
    name = _protocol_name(path, result)
    module = registry.get(name) if name in registry.PROTOCOLS else sys.modules[type(result).__module__]
    if not hasattr(module, "plot"):
        raise ValueError(f"cannot find the plot() of protocol {name!r} for {path}")
    out = Path(args.out) if args.out else path
    out.mkdir(parents=True, exist_ok=True)
    figures = _figure_dict(module.plot(result), name)
    try:
        for fig_name, fig in figures.items():
            target = out / f"{fig_name}.{args.format}"
            _save_figure_atomic(fig, target, args.format)
            print(f"wrote: {target}")
    finally:
        for fig in figures.values():
            _release(fig)
    return 0


def resolve_run(path) -> Path:
    """A run directory: ``path`` itself, or the newest complete run under a protocol directory
    (:func:`protocols.store.resolve_run`)."""
    return store.resolve_run(path)


def show_text(path: Path) -> str:
    """The ``plab show`` table of one run directory."""
    path = Path(path)
    incomplete = (path / "INCOMPLETE").exists()
    lines = [f"run:        {path}",
             f"status:     {'INCOMPLETE (see INCOMPLETE; not a finished run)' if incomplete else 'complete'}"]
    prov = _read_json(path / "provenance.json")
    config = _read_json(path / "config.json")
    if prov:
        versions = prov.get("versions") or {}
        vtext = ", ".join(f"{k} {v}" for k, v in versions.items() if v)
        git = prov.get("git_commit")
        git_text = "none" if not git else f"{git[:10]}{' (dirty)' if prov.get('git_dirty') else ''}"
        wall = prov.get("wall_time_s")
        lines += [
            f"protocol:   {prov.get('protocol', path.parent.name)}",
            f"created:    {prov.get('created', '?')} on {prov.get('hostname', '?')}",
            f"backend:    {prov.get('backend', '?')}"
            + (f" (target {prov['target']})" if prov.get("target") else "")
            + f"   seed: {prov.get('seed')}   wall time: "
            + (f"{wall:.2f} s" if isinstance(wall, (int, float)) else "?"),
            f"git:        {git_text}",
            f"python:     {prov.get('python', '?')}; {vtext}",
        ]
        if prov.get("result_fields_not_saved"):
            lines.append(f"not saved:  {', '.join(prov['result_fields_not_saved'])}")
    if config:
        lines.append("config:")
        width = max(len(k) for k in config)
        lines += [f"  {key:<{width}}  {json.dumps(value)}" for key, value in config.items()]
    if (path / "result.npz").exists():
        lines.append("arrays:")
        with np.load(path / "result.npz", allow_pickle=False) as npz:
            rows = [_array_row(key, npz[key]) for key in npz.files]
        widths = [max(len(row[c]) for row in rows) for c in range(3)] if rows else []
        for row in rows:
            lines.append("  " + "  ".join(cell.ljust(widths[c]) for c, cell in enumerate(row[:3])) + "  " + row[3])
    figures = sorted(p.name for p in path.iterdir() if p.suffix in (".png", ".pdf", ".svg"))
    lines.append(f"figures:    {', '.join(figures) if figures else '(none)'}")
    summary = path / "summary.txt"
    if summary.exists():
        lines.append("summary:")
        lines += [f"  {line}" for line in summary.read_text(encoding="utf-8").rstrip().splitlines()]
    if incomplete:
        reason = (path / "INCOMPLETE").read_text(encoding="utf-8").strip().splitlines()
        lines.append(f"failure:    {reason[-1] if reason else '(no traceback recorded)'}")
    return "\n".join(lines) + "\n"


def _array_row(key: str, value: np.ndarray) -> tuple[str, str, str, str]:
    shape = "scalar" if value.ndim == 0 else "x".join(map(str, value.shape))
    if value.ndim == 0:
        stats = f"= {value.item()!r}"
    elif value.size and np.issubdtype(value.dtype, np.number) and not np.issubdtype(value.dtype, np.complexfloating):
        finite = value[np.isfinite(value)] if np.issubdtype(value.dtype, np.floating) else value
        stats = (f"min {finite.min():.4g}  max {finite.max():.4g}  mean {finite.mean():.4g}"
                 if finite.size else "all non-finite")
    else:
        stats = "(empty)" if value.size == 0 else ""
    return key, shape, str(value.dtype), stats


def _read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _protocol_name(path: Path, result) -> str:
    prov = getattr(result, "provenance", None) or {}
    return prov.get("protocol") or path.parent.name
