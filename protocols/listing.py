"""``plab list``, ``plab rules`` and ``plab report``: what the registry knows, and the report."""
from __future__ import annotations

import inspect

from plasticity.errors import ParameterError

from . import registry
from plasticity.errors import one_line as _one_line


def cmd_list(args) -> int:
    """Print the protocols, rules and tasks (if any), each with a one-line description."""
    what = args.what
    sections = []
    if what in (None, "protocols"):
        rows = []
        for name in registry.names():
            try:
                text = registry.description(registry.get(name))
            except (ParameterError, ImportError, AttributeError) as exc:
                text = f"(unavailable: {_one_line(exc)})"
            rows.append((name, text))
        sections.append(("protocols", rows))
    if what in (None, "rules"):
        rows = []
        for name in registry.rule_names():
            try:
                cls = registry.get_rule(name)
            except (ImportError, AttributeError) as exc:
                rows.append((name, f"(unavailable: {_one_line(exc)})"))
                continue
            doc = inspect.getdoc(cls) or ""
            rows.append((name, f"{cls.__module__.split('.')[0]}.{cls.__name__}: "
                               f"{doc.splitlines()[0] if doc else ''}"))
        sections.append(("rules", rows))
    if what in (None, "tasks"):
        try:
            rows = list(registry.tasks().items())
        except Exception as exc:  # noqa: BLE001 - a broken tasks module must not break `plab list`
            rows = [("(tasks)", f"(unavailable: {_one_line(exc)})")]
        if rows or what == "tasks":
            sections.append(("tasks", rows or [("(none)", "protocols/tasks.py does not exist yet")]))
    width = max((len(name) for _, rows in sections for name, _ in rows), default=0)
    for k, (title, rows) in enumerate(sections):
        if k:
            print()
        print(f"{title}:")
        for name, text in rows:
            print(f"  {name:<{width}}  {text}".rstrip())
    return 0


def cmd_rules(args) -> int:
    """Print each rule's parameters with types, defaults and units."""
    names = [args.name] if args.name else registry.rule_names()
    for k, name in enumerate(names):
        cls = registry.get_rule(name)
        rows = registry.rule_parameters(cls)
        if k:
            print()
        doc = inspect.getdoc(cls) or ""
        print(f"{name}: {cls.__module__.split('.')[0]}.{cls.__name__} -- {doc.splitlines()[0] if doc else ''}")
        header = ("parameter", "type", "default", "unit", "description")
        table = [header] + [(r["name"], r["type"], repr(r["default"]), r["unit"] or "-", r["description"])
                            for r in rows]
        widths = [max(len(row[c]) for row in table) for c in range(4)]
        for row in table:
            print("  " + "  ".join(cell.ljust(widths[c]) for c, cell in enumerate(row[:4])) + "  " + row[4])
    print("\nunits: ms = milliseconds; weight = the projection's weight unit: a multiple of the target's "
          "leak conductance g_L = c_m/tau_m for conductance synapses (g in nS = w * c_m/tau_m), pA for "
          "current synapses, mV for delta synapses; 1 = dimensionless")
    return 0


def cmd_report(args) -> int:
    """Run every protocol (small, or --full) and write ``<out>/report/report.md`` (see protocols.report)."""
    from . import report

    path = report.build_report(full=args.full, out=args.out, names=args.only or None,
                               progress=not args.quiet)
    n = report.counts(path)
    print(f"report: {path} ({n['PASS']} passed, {n['FAIL']} failed, {n['n/a']} without a criterion)")
    return 0
