"""plab report: run every protocol, compare with the published data, write one Markdown page.

``load_reference(key)`` reads the published values shipped with the package (:mod:`analysis.reference`).

A protocol takes part in the report through optional module functions:

* ``compare(result) -> list[dict]``: one row per comparison with keys ``rule``, ``measure``,
  ``distance`` (number or text), ``paper`` (the published value, or what the paper reports;
  "not available offline" when this machine has no copy), ``tolerance`` (the stated pass
  criterion as text), ``passed`` (bool, or None) and optionally ``note``;
* ``report_configs(full: bool) -> dict[label, Config]``: the runs to make (default: one run
  of ``Config.small()``, or ``Config()`` with ``--full``).

Protocols without ``compare`` appear with "no comparison defined"; a protocol that raises
appears as a failed row with its traceback on the page.
"""
from __future__ import annotations

import json
from pathlib import Path

from analysis.reference import load as load_reference  # noqa: F401  (the one loader, re-exported)


# --- the report ------------------------------------------------------------------------------

REPORT_DIR = "report"
_COLUMNS = ("protocol", "variant", "rule", "measure", "distance", "paper", "tolerance", "result")


def protocol_configs(module, full: bool) -> dict:
    """``{variant label: Config}`` a protocol is run with: its ``report_configs(full)`` if it
    defines one, else ``{"": Config()}`` (full) or ``{"": Config.small()}``."""
    if hasattr(module, "report_configs"):
        return dict(module.report_configs(full))
    return {"": module.Config() if full else module.Config.small()}


def comparison_rows(module, result) -> list[dict]:
    """The protocol's ``compare(result)`` rows, or one row saying it defines no comparison.

    A row is a dict with ``rule``, ``measure``, ``distance`` (number or text), ``paper`` (the
    published value or what the paper reports), ``tolerance`` (text), ``passed`` (bool, or
    None when there is nothing to pass) and optionally ``note``.
    """
    if not hasattr(module, "compare"):
        return [dict(rule="", measure="(no comparison defined)", distance=None, paper="", tolerance="",
                     passed=None, note="protocol defines no comparison with published data (no compare())")]
    return [dict(row) for row in module.compare(result)]


def run_protocol(name: str, full: bool, figure_dir: Path, progress: bool = False) -> dict:
    """Run every report variant of protocol ``name``; returns its rows, summaries and figures.

    Errors of a protocol are caught and reported as a failed row (the report goes on).
    """
    import time
    import traceback

    from . import registry

    entry = dict(name=name, description="", variants=[])
    try:
        module = registry.get(name)
        entry["description"] = registry.description(module)
        configs = protocol_configs(module, full)
    except Exception as exc:  # noqa: BLE001 - any failure becomes a row
        entry["variants"].append(_failed_variant("", exc, traceback.format_exc()))
        return entry
    for label, config in configs.items():
        start = time.perf_counter()
        try:
            result = module.run(config)
            rows = comparison_rows(module, result)
            text = module.summary(result)
            figures = _figure_dict(module.plot(result), name)
            files = []
            for fig_name, fig in figures.items():
                stem = fig_name if not label else f"{fig_name}-{_slug(label)}"
                path = figure_dir / f"{stem}.png"
                fig.savefig(path, dpi=100)
                fig.clear()
                files.append(path.name)
            entry["variants"].append(dict(label=label, rows=rows, summary=text, figures=files,
                                          wall_s=time.perf_counter() - start, error=None))
        except Exception as exc:  # noqa: BLE001
            entry["variants"].append(_failed_variant(label, exc, traceback.format_exc()))
        if progress:
            import sys

            print(f"plab report: {name} {label} done ({time.perf_counter() - start:.1f} s)", file=sys.stderr)
    return entry


def _failed_variant(label, exc, trace) -> dict:
    message = " ".join(str(exc).split()) or type(exc).__name__
    return dict(label=label, rows=[dict(rule="", measure="run failed", distance=None, paper="", tolerance="",
                                        passed=False, note=f"{type(exc).__name__}: {message}")],
                summary="", figures=[], wall_s=0.0, error=trace)


def _figure_dict(figures, name):
    from matplotlib.figure import Figure

    if figures is None:
        return {}
    if isinstance(figures, Figure):
        return {name: figures}
    return dict(figures)


def _slug(text: str) -> str:
    import re

    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "variant"


def _cell(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return "nan" if value != value else f"{value:.4g}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def _verdict(passed) -> str:
    return "n/a" if passed is None else ("PASS" if passed else "FAIL")


def markdown(entries: list[dict], full: bool, meta: dict) -> str:
    """The report page: the comparison table, then each protocol's summary and figures."""
    rows = [(e["name"], v["label"], r) for e in entries for v in e["variants"] for r in v["rows"]]
    counts = {k: sum(_verdict(r.get("passed")) == k for _, _, r in rows) for k in ("PASS", "FAIL", "n/a")}
    lines = [
        "# plasticity-lab: protocols against published data",
        "",
        f"Generated {meta['created']} from git commit `{meta.get('git_commit') or 'unknown'}`"
        f"{' (working tree modified)' if meta.get('git_dirty') else ''}; "
        f"{'full' if full else 'small'} configurations (`plab report{' --full' if full else ''}`).",
        "",
        f"**{counts['PASS']} passed, {counts['FAIL']} failed, {counts['n/a']} without a criterion.** "
        "*distance* is the protocol's distance to the published data in the measure named; *paper* is "
        "the published value or what the paper reports (\"not available offline\" where this machine has "
        "no copy); *tolerance* is the stated pass criterion.",
        "",
        "| " + " | ".join(_COLUMNS) + " |",
        "|" + "---|" * len(_COLUMNS),
    ]
    for name, label, r in rows:
        cells = [name, label, r.get("rule", ""), r.get("measure", ""), r.get("distance"), r.get("paper", ""),
                 r.get("tolerance", ""), _verdict(r.get("passed"))]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    for e in entries:
        lines += ["", f"## {e['name']}", ""]
        if e["description"]:
            lines += [e["description"], ""]
        for v in e["variants"]:
            if v["label"]:
                lines += [f"### {v['label']}", ""]
            notes = [r.get("note") for r in v["rows"] if r.get("note")]
            lines += [f"- {_cell(n)}" for n in notes]
            if notes:
                lines.append("")
            if v["summary"]:
                lines += ["```", v["summary"].rstrip(), "```", ""]
            if v["error"]:
                lines += ["<details><summary>traceback</summary>", "", "```", v["error"].rstrip(), "```",
                          "", "</details>", ""]
            lines += [f"![{f}](figures/{f})" for f in v["figures"]]
            lines.append(f"\n(wall time {v['wall_s']:.1f} s)")
    return "\n".join(lines) + "\n"


def build_report(full: bool = False, out="results", names=None, progress: bool = False) -> Path:
    """Run the protocols (all registered ones, or ``names``) and write ``<out>/report/``.

    ``out`` is the results root (default ``results``); the page is ``<out>/report/report.md``
    with ``figures/*.png`` and ``report.json`` (the table rows). Everything is written into
    a hidden staging directory first and moved in by renames (the old report is renamed
    away, the new one renamed in, the old one deleted), so ``report/`` never holds a
    partly written report. If writing fails, the staging directory is renamed
    ``report.incomplete[-N]`` with the traceback in ``INCOMPLETE``. Returns the path of
    ``report.md``.
    """
    import os
    import shutil
    import tempfile
    import time
    import traceback

    import matplotlib

    matplotlib.use("Agg")
    from . import registry, store

    names = registry.names() if names is None else list(names)
    unknown = [name for name in names if name not in registry.PROTOCOLS]
    if unknown:
        from plasticity.errors import ParameterError

        raise ParameterError(f"unknown protocol(s) {', '.join(map(repr, unknown))}; known: {', '.join(registry.names())}")
    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=root, prefix=f".{REPORT_DIR}.partial-"))
    try:
        (staging / "figures").mkdir()
        entries = [run_protocol(name, full, staging / "figures", progress) for name in names]
        meta = dict(created=time.strftime("%Y-%m-%d %H:%M:%S %Z"), git_commit=store._git("rev-parse", "--short", "HEAD"),
                    git_dirty=store._git_dirty(), full=full, protocols=names)
        (staging / "report.md").write_text(markdown(entries, full, meta), encoding="utf-8")
        table = [dict(protocol=e["name"], variant=v["label"], **{k: r.get(k) for k in
                      ("rule", "measure", "distance", "paper", "tolerance", "passed", "note")})
                 for e in entries for v in e["variants"] for r in v["rows"]]
        (staging / "report.json").write_text(json.dumps(dict(meta=meta, rows=store._jsonable(table)), indent=1) + "\n",
                                             encoding="utf-8")
    except BaseException:
        bad = root / f"{REPORT_DIR}.incomplete"
        n = 1
        while bad.exists():
            bad = root / f"{REPORT_DIR}.incomplete-{n}"
            n += 1
        try:
            os.rename(staging, bad)
            (bad / "INCOMPLETE").write_text(traceback.format_exc(), encoding="utf-8")
        except OSError:
            pass
        raise
    final = root / REPORT_DIR
    old = None
    if final.exists():
        old = Path(tempfile.mkdtemp(dir=root, prefix=f".{REPORT_DIR}.old-"))
        os.rename(final, old / REPORT_DIR)
    os.rename(staging, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return final / "report.md"


def counts(report_md: Path) -> dict:
    """PASS / FAIL / n/a counts of a written report (from its report.json)."""
    rows = json.loads((Path(report_md).parent / "report.json").read_text(encoding="utf-8"))["rows"]
    return {k: sum(_verdict(r.get("passed")) == k for r in rows) for k in ("PASS", "FAIL", "n/a")}
