"""``plab show`` and ``plab plot``: a saved run's summary table, and its figures re-drawn
from the saved arrays."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from plasticity.errors import ParameterError, one_line

from . import registry, store
from .cli_run import _figure_dict, _release, _save_figure_atomic


def cmd_show(args) -> int:
    """Print a summary table of a run directory (or the newest readable run under a protocol
    directory); a damaged run prints what is readable, then fails with one line (status 2).
    Hidden ``.partial`` directories left by killed runs are pointed out on stderr."""
    if (Path(args.path) / "sweep.json").is_file():  # a sweep directory (protocols.sweep)
        from . import sweep

        print(sweep.show(args.path), end="")
        return 0
    _note_leftovers(args.path)
    path = resolve_run(args.path)
    print(show_text(path), end="")
    status, reason = store.run_status(path)
    if status == "damaged":
        raise store.DamagedRun(reason)
    return 0


def cmd_clean(args) -> int:
    """Remove the ``.partial`` directories killed runs left (and ``--incomplete`` runs)."""
    removed = store.clean(args.path, incomplete=args.incomplete)
    for path in removed:
        print(f"removed: {path}")
    if not removed:
        print(f"nothing to remove under {args.path}")
    return 0


def cmd_plot(args) -> int:
    """Re-draw a saved run's figures from its result, without re-running the protocol."""
    import protocols

    if (Path(args.path) / "sweep.json").is_file():  # a sweep directory: one figure per measure
        from . import sweep

        for target in sweep.plot(args.path, args.out, args.format):
            print(f"wrote: {target}")
        return 0
    path = resolve_run(args.path)
    status, reason = store.run_status(path)
    if status != "complete":
        raise store.DamagedRun(f"{reason}; nothing to plot" if status == "damaged" else
                               f"run directory {path} is incomplete ({reason}); nothing to plot")
    result = protocols.load(path)
    name = _protocol_name(path, result)
    module = registry.get(name)
    out = Path(args.out) if args.out else path
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ParameterError(f"cannot write figures to --out {str(out)!r}: {exc.strerror or exc}") from None
    try:
        figures = _figure_dict(module.plot(result), name)
    except Exception as exc:  # noqa: BLE001 - a saved result the plot cannot use is a damaged run
        raise store.DamagedRun(f"cannot plot {path}: {type(exc).__name__}: {one_line(exc)} "
                               f"(is result.npz missing an array?)") from exc
    try:
        for fig_name, fig in figures.items():
            target = out / f"{fig_name}.{args.format}"
            try:
                _save_figure_atomic(fig, target, args.format)
            except OSError as exc:
                raise ParameterError(f"cannot write {target}: {exc.strerror or exc}") from None
            print(f"wrote: {target}")
    finally:
        for fig in figures.values():
            _release(fig)
    return 0


def _note_leftovers(path) -> None:
    left = store.leftovers(path) if Path(path).is_dir() else []
    if left:
        names = ", ".join(str(p) for p in left[:3]) + (f" and {len(left) - 3} more" if len(left) > 3 else "")
        print(f"plab: note: {len(left)} unfinished run director{'y' if len(left) == 1 else 'ies'} left by "
              f"killed runs: {names}; remove with `plab clean {path}`", file=sys.stderr)


def resolve_run(path) -> Path:
    """A run directory: ``path`` itself, or the newest complete run under a protocol directory
    (:func:`protocols.store.resolve_run`)."""
    return store.resolve_run(path)


def show_text(path: Path) -> str:
    """The ``plab show`` table of one run directory: whatever is readable, and a true status
    (complete only when config.json, provenance.json and result.npz all load)."""
    path = Path(path)
    status, reason = store.run_status(path)
    label = {"complete": "complete",
             "incomplete": "INCOMPLETE (see INCOMPLETE; not a finished run)",
             "damaged": f"DAMAGED ({reason})"}[status]
    lines = [f"run:        {path}", f"status:     {label}"]
    prov = _read_json(path / "provenance.json")
    config = _read_json(path / "config.json")
    if prov:
        versions = prov.get("versions") if isinstance(prov.get("versions"), dict) else {}
        vtext = ", ".join(f"{k} {v}" for k, v in versions.items() if v)
        git = prov.get("git_commit")
        git_text = "none" if not git else f"{str(git)[:10]}{' (dirty)' if prov.get('git_dirty') else ''}"
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
        if isinstance(prov.get("result_fields_not_saved"), list):
            lines.append(f"not saved:  {', '.join(map(str, prov['result_fields_not_saved']))}")
    if config:
        lines.append("config:")
        width = max(len(k) for k in config)
        lines += [f"  {key:<{width}}  {json.dumps(value)}" for key, value in config.items()]
    rows = _array_rows(path / "result.npz")
    if rows:
        lines.append("arrays:")
        widths = [max(len(row[c]) for row in rows) for c in range(3)]
        for row in rows:
            lines.append("  " + "  ".join(cell.ljust(widths[c]) for c, cell in enumerate(row[:3])) + "  " + row[3])
    figures = sorted(p.name for p in path.iterdir() if p.suffix in (".png", ".pdf", ".svg"))
    lines.append(f"figures:    {', '.join(figures) if figures else '(none)'}")
    try:
        summary = (path / "summary.txt").read_text(encoding="utf-8", errors="replace")
    except OSError:
        summary = ""
    if summary.strip():
        lines.append("summary:")
        lines += [f"  {line}" for line in summary.rstrip().splitlines()]
    if status == "incomplete":
        lines.append(f"failure:    {reason}")
    return "\n".join(lines) + "\n"


def _array_rows(npz_path: Path) -> list[tuple[str, str, str, str]]:
    """One row per saved array; [] when the file is missing or unreadable (the status says so)."""
    try:
        with np.load(npz_path, allow_pickle=False) as npz:
            return [_array_row(key, npz[key]) for key in npz.files]
    except Exception:  # noqa: BLE001 - any damage: the status line reports it
        return []


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


def _read_json(path: Path) -> dict | None:
    try:
        return store.read_json_object(path)
    except store.DamagedRun:
        return None


def _protocol_name(path: Path, result) -> str:
    prov = getattr(result, "provenance", None)
    name = prov.get("protocol") if isinstance(prov, dict) else None
    return name if isinstance(name, str) and name in registry.PROTOCOLS else path.resolve().parent.name
