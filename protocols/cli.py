"""plab: run, inspect and re-plot the protocols; list the rules and their parameters.

    plab list [protocols|rules|tasks]
    plab run NAME [--small] [--set key=value ...] [--config file.toml] [--backend native|brian2]
                  [--target numpy|cython|cpp_standalone] [--seed N] [--out DIR] [--quiet]
    plab show PATH
    plab plot PATH [--out DIR] [--format png|pdf|svg]
    plab rules [NAME]
    plab demo [--out DIR] [--quick] [--quiet]
    plab report [--full] [--out DIR] [--only NAME ...] [--quiet]

Results go to ``<out>/NAME/<timestamp>/`` (config.json, result.npz, provenance.json,
figures, summary.txt). Errors in what the user asked for (unknown protocol or config key,
a value of the wrong type, an invalid value, a missing file) print one line
``plab: error: ...`` to stderr and exit with status 2; ``--traceback`` (before the command)
shows the full traceback instead.
"""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import inspect  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
import types  # noqa: E402
import typing  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from plasticity.errors import ParameterError  # noqa: E402

from . import registry, store  # noqa: E402

USER_ERRORS = (ParameterError, ValueError, KeyError, FileNotFoundError)
DEMO_PROTOCOLS = ("stdp_window", "song2000")
DEMO_OVERRIDES: dict = {}  # per-protocol Config overrides for the demo (the full Song run takes < 1 s)
DEMO_SUMMARY = "demo_summary.txt"
BACKENDS = ("native", "brian2")
TARGETS = ("numpy", "cython", "cpp_standalone")
FIGURE_FORMATS = ("png", "pdf", "svg")
_INCOMPLETE: dict = {}  # id(exception) -> the .incomplete directory its run left behind


def main(argv=None) -> int:
    """Entry point of the ``plab`` console script; returns the exit status."""
    parser = _parser()
    try:
        args, extra = parser.parse_known_args(argv)
        if extra:
            if args.command != "run":
                parser.error(f"unrecognized arguments: {' '.join(extra)}")
            args.set = list(args.set or []) + config_options(extra, parser)
    except SystemExit as exc:  # argparse errors (status 2) and --help (status 0)
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    try:
        return args.handler(args)
    except USER_ERRORS as exc:
        if args.traceback:
            raise
        print(f"plab: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `plab rules | head`: the reader left; say nothing more
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except KeyboardInterrupt as exc:
        where = _INCOMPLETE.pop(id(exc), None)
        kept = f"; partial output kept in {where}" if where else ""
        print(f"plab: interrupted{kept}", file=sys.stderr)
        return 130


# --- commands ---------------------------------------------------------------------------------

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


def config_options(tokens, parser) -> list[str]:
    """``--task pattern --rules=a,b`` after ``plab run NAME`` -> ``["task=pattern", "rules=a,b"]``.

    Any Config field can be given as an option (dashes in its name read as underscores);
    the values are then type-checked exactly like ``--set``.
    """
    out, k = [], 0
    while k < len(tokens):
        token = tokens[k]
        if not token.startswith("--") or len(token) < 3:
            parser.error(f"unrecognized arguments: {' '.join(tokens[k:])}")
        key, sep, value = token[2:].partition("=")
        if not sep:
            if k + 1 >= len(tokens) or tokens[k + 1].startswith("--"):
                parser.error(f"option --{key} expects a value (a Config field: --{key} VALUE)")
            value = tokens[k + 1]
            k += 1
        out.append(f"{key.replace('-', '_')}={value}")
        k += 1
    return out


def cmd_run(args) -> int:
    """Run one protocol with the requested config, save it, print its summary and path."""
    args.name = registry.canonical(args.name)
    module = registry.get(args.name)
    config = module.Config.small() if args.small else module.Config()
    file_values = read_config_file(args.config, args.name) if args.config else {}
    config = configure(config, seed=args.seed, assignments=args.set or (), values=file_values,
                       target=args.target, protocol=args.name)
    path, text = run_and_save(args.name, module, config, backend=args.backend, out=args.out,
                              figures=not args.no_figures, progress=_progress_enabled(args.quiet))
    if not args.quiet:
        print(text.rstrip("\n"))
    print(f"saved: {path}")
    return 0


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
    print("\nunits: ms = milliseconds; weight = the projection's weight unit (nS for conductance "
          "synapses, or dimensionless); 1 = dimensionless")
    return 0


def cmd_demo(args) -> int:
    """Run the flagship demo protocols, save each, and write ``<out>/demo_summary.txt``."""
    from tqdm import tqdm

    sections = []
    progress = _progress_enabled(args.quiet)
    with tqdm(DEMO_PROTOCOLS, desc="plab demo", unit="protocol", disable=not progress,
              file=sys.stderr) as bar:
        for name in bar:
            bar.set_postfix_str(name)
            module = registry.get(name)
            config = demo_config(name, module, quick=args.quick)
            if not progress and not args.quiet:
                print(f"plab demo: running {name} ...", flush=True)
            path, text = run_and_save(name, module, config, backend="native", out=args.out,
                                      progress=progress)
            sections.append(f"== {name} ==\n{text.rstrip()}\noutput: {path}\n")
    report = "\n".join(sections)
    summary_path = store.write_text_atomic(Path(args.out) / DEMO_SUMMARY, report)
    if not args.quiet:
        print(report, end="")
    print(f"summary: {summary_path}")
    return 0


def cmd_report(args) -> int:
    """Run every protocol (small, or --full) and write ``<out>/report/report.md`` (see protocols.report)."""
    from . import report

    path = report.build_report(full=args.full, out=args.out, names=args.only or None,
                               progress=not args.quiet)
    n = report.counts(path)
    print(f"report: {path} ({n['PASS']} passed, {n['FAIL']} failed, {n['n/a']} without a criterion)")
    return 0


# --- configuration -----------------------------------------------------------------------------

def demo_config(name: str, module, quick: bool):
    """``Config.small()`` when quick, else ``Config()`` with the demo's overrides applied
    for the fields the protocol's Config has."""
    if quick:
        return module.Config.small()
    config = module.Config()
    fields = {field.name for field in dataclasses.fields(config)}
    overrides = {key: value for key, value in DEMO_OVERRIDES.get(name, {}).items() if key in fields}
    return dataclasses.replace(config, **overrides) if overrides else config


def configure(config, seed: int | None = None, assignments=(), values=None, target: str | None = None,
              protocol: str | None = None):
    """A copy of the frozen ``config`` with overrides applied, checked against the field types.

    In increasing precedence: ``values`` (typed, e.g. from a TOML file), the ``key=value``
    ``assignments`` (text, converted to the field's type), ``target`` and ``seed`` (only
    for Configs that have those fields; ``--target`` on a Config without one is an error,
    ``--seed`` without one a note). A wrong key or a value of the wrong type raises
    ParameterError with one line naming the key, the expected type and the valid keys.
    """
    fields = [field.name for field in dataclasses.fields(config)]
    hints = _field_types(type(config))
    valid = f"valid keys: {', '.join(fields)}"
    overrides = {}
    for key, value in (values or {}).items():
        _check_key(key, fields, valid)
        overrides[key] = convert_value(key, value, hints.get(key), valid)
    for key, text in parse_assignments(assignments, raw=True).items():
        _check_key(key, fields, valid)
        overrides[key] = convert_text(key, text, hints.get(key), valid)
    if target is not None:
        if "target" not in fields:
            raise ParameterError(f"protocol {protocol or type(config).__module__!r} has no target option "
                                 f"(--target selects the Brian2 code-generation target); {valid}")
        overrides["target"] = target
    if seed is not None:
        if "seed" in fields:
            overrides["seed"] = seed
        else:
            print(f"plab: note: {type(config).__qualname__} has no seed; --seed ignored", file=sys.stderr)
    try:
        return dataclasses.replace(config, **overrides)
    except TypeError as exc:
        raise ParameterError(f"invalid config value: {exc}") from exc


def parse_assignments(assignments, raw: bool = False) -> dict:
    """``["x=3", "name=abc"]`` -> ``{"x": 3, "name": "abc"}`` (JSON values, else strings);
    with ``raw=True`` the values stay text (for :func:`convert_text`)."""
    parsed = {}
    for item in assignments:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ParameterError(f"--set expects key=value, got {item!r}")
        if raw:
            parsed[key] = text
            continue
        try:
            parsed[key] = json.loads(text)
        except json.JSONDecodeError:
            parsed[key] = text
    return parsed


def convert_text(key: str, text: str, hint, valid: str = ""):
    """The ``--set`` text ``text`` as a value of the field type ``hint``.

    int: ``3``, ``1_000``; float: ``0.5``, ``1e-3``, ``3``; bool: true/false/yes/no/on/off/1/0;
    str: the text itself; ``X | None``: ``none``/``null`` or an X; tuple/list: a JSON list
    (``[1, 2]``) or comma-separated items. Other types: JSON, else the text.
    """
    text = text.strip()
    optional, inner = _unwrap_optional(hint)
    if optional and text.lower() in ("none", "null"):
        return None
    if inner is bool:
        lowered = text.lower()
        if lowered in ("true", "yes", "on", "1"):
            return True
        if lowered in ("false", "no", "off", "0"):
            return False
        raise _type_error(key, text, inner, optional, valid)
    if inner is int:
        try:
            return int(text)
        except ValueError:
            raise _type_error(key, text, inner, optional, valid) from None
    if inner is float:
        try:
            return float(text)
        except ValueError:
            raise _type_error(key, text, inner, optional, valid) from None
    if inner is str:
        if len(text) >= 2 and text[0] == text[-1] == '"':
            try:
                return json.loads(text)
            except json.JSONDecodeError:
                pass
        return text
    if inner is tuple or typing.get_origin(inner) in (tuple, list) or inner is list:
        try:
            items = json.loads(text)
        except json.JSONDecodeError:
            items = [item.strip() for item in text.split(",") if item.strip()]
            items = [_scalar(item) for item in items]
        if not isinstance(items, list):
            items = [items]
        return convert_value(key, items, hint, valid)
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def convert_value(key: str, value, hint, valid: str = ""):
    """A typed value (from TOML or JSON) checked against the field type ``hint``; ints are
    accepted for floats, lists for tuples; anything else of the wrong type is an error."""
    optional, inner = _unwrap_optional(hint)
    if value is None or (optional and isinstance(value, str) and value.lower() in ("none", "null")):
        if optional or hint is None:
            return None
        raise _type_error(key, value, inner, optional, valid)
    if inner is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif inner is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif inner is bool or inner is str:
        if isinstance(value, inner):
            return value
    elif inner is tuple or typing.get_origin(inner) is tuple:
        if isinstance(value, (list, tuple)):
            args = typing.get_args(inner)
            item_hint = args[0] if args and (len(args) == 2 and args[1] is Ellipsis) else None
            if item_hint is not None:
                return tuple(convert_value(key, item, item_hint, valid) for item in value)
            if args and len(args) == len(value):
                return tuple(convert_value(key, item, h, valid) for item, h in zip(value, args))
            return tuple(value)
    elif inner is list or typing.get_origin(inner) is list:
        if isinstance(value, (list, tuple)):
            return list(value)
    else:
        return value  # a type we do not check here; the Config validates it
    raise _type_error(key, value, inner, optional, valid)


def read_config_file(path, protocol: str | None = None) -> dict:
    """Config values from a TOML file: top-level keys, merged with a ``[protocol]`` table if
    present (its keys win). Needs Python >= 3.11 (tomllib) or the ``tomli`` package."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        try:
            import tomli as tomllib
        except ModuleNotFoundError:
            raise ParameterError("--config needs Python >= 3.11 (tomllib) or the tomli package; "
                                 "use --set key=value instead") from None
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise FileNotFoundError(f"config file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ParameterError(f"{path} is not valid TOML: {exc}") from None
    values = {key: value for key, value in data.items() if not isinstance(value, dict)}
    tables = [key for key, value in data.items() if isinstance(value, dict)]
    for table in tables:
        if table != protocol:
            raise ParameterError(f"{path}: table [{table}] is not the protocol being run "
                                 f"({protocol!r}); put config keys at the top level or under [{protocol}]")
        values.update(data[table])
    return values


def _check_key(key: str, fields, valid: str) -> None:
    if key not in fields:
        raise ParameterError(f"unknown config key {key!r}; {valid}")


def _field_types(config_cls) -> dict:
    try:
        return typing.get_type_hints(config_cls)
    except Exception:  # noqa: BLE001 - unresolvable annotations: no type checks
        return {}


def _unwrap_optional(hint) -> tuple[bool, object]:
    """(accepts None, the type without None) of a hint like ``float | None``."""
    origin = typing.get_origin(hint)
    if origin is typing.Union or origin is getattr(types, "UnionType", None):
        args = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        optional = len(args) < len(typing.get_args(hint))
        return optional, (args[0] if len(args) == 1 else hint)
    return False, hint


def _type_name(hint, optional: bool) -> str:
    name = getattr(hint, "__name__", None) or str(hint)
    if typing.get_origin(hint) is not None:
        name = str(hint).replace("typing.", "")
    return f"{name} or none" if optional else name


def _type_error(key, value, hint, optional, valid) -> ParameterError:
    return ParameterError(f"config key {key!r} expects {_type_name(hint, optional)}, got {value!r}; {valid}")


def _scalar(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


# --- running and saving ------------------------------------------------------------------------

def run_and_save(name: str, module, config, backend: str = "native", out="results",
                 figures: bool = True, progress: bool = False) -> tuple[Path, str]:
    """Run ``module`` on ``config``, save everything with :func:`store.save_run`, and return
    the run directory and the protocol's summary (with the wall time appended).

    ``progress`` is passed to ``module.run`` if its signature accepts ``progress`` (the
    protocol draws its own bar); otherwise, when true, an elapsed-time line is shown on
    stderr while the protocol runs."""
    kwargs = {"backend": backend}
    own_bar = _accepts(module.run, "progress")
    if own_bar:
        kwargs["progress"] = progress
    pending = store.begin_run(name, config, root=out)  # a crash or Ctrl-C leaves <stamp>.incomplete
    start = time.perf_counter()
    try:
        with _Ticker(f"plab: running {name}", enabled=progress and not own_bar):
            result = module.run(config, **kwargs)
    except ParameterError:
        pending.discard()  # refused (e.g. an unsupported backend): nothing was computed
        raise
    except BaseException as exc:
        incomplete = pending.fail(traceback.format_exc())
        if incomplete is not None:
            _INCOMPLETE[id(exc)] = incomplete
        raise
    elapsed = time.perf_counter() - start
    text = f"{module.summary(result).rstrip()}\n(wall time {elapsed:.2f} s, backend {backend})\n"
    drawn: dict[str, Figure] = {}

    def draw() -> dict[str, Figure]:
        drawn.update(_figure_dict(module.plot(result), name))
        return drawn

    try:
        path = pending.finish(result, draw if figures else {}, text,
                              defaults={"backend": backend, "wall_time_s": elapsed})
    finally:
        for fig in drawn.values():
            _release(fig)
    return path, text


class _Ticker:
    """An elapsed-time line (tqdm without a total) refreshed by a daemon thread while a
    protocol that draws no progress bar of its own runs. Compiled Numba code holds the GIL,
    so the line may pause during one long kernel call; it resumes at the next Python step."""

    def __init__(self, description: str, enabled: bool, interval_s: float = 0.5):
        self.description, self.enabled, self.interval_s = description, enabled, interval_s
        self.bar = self.thread = None
        self.stop = None

    def __enter__(self):
        if not self.enabled:
            return self
        import threading

        from tqdm import tqdm

        self.bar = tqdm(total=None, desc=self.description, bar_format="{desc}: {elapsed}", file=sys.stderr,
                        leave=False)
        self.stop = threading.Event()

        def tick():
            while not self.stop.wait(self.interval_s):
                self.bar.refresh()

        self.thread = threading.Thread(target=tick, daemon=True, name="plab-ticker")
        self.thread.start()
        return self

    def __exit__(self, *exc_info):
        if self.bar is not None:
            self.stop.set()
            self.thread.join()
            self.bar.close()
        return False


def _accepts(func, name: str) -> bool:
    try:
        params = inspect.signature(func).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def _progress_enabled(quiet: bool) -> bool:
    """Progress bars only on a terminal, and never with --quiet."""
    return not quiet and sys.stderr.isatty()


def _figure_dict(figures, name: str) -> dict[str, Figure]:
    """``plot()`` may return a name -> Figure dict, a single Figure, or None."""
    if figures is None:
        return {}
    if isinstance(figures, Figure):
        return {name: figures}
    return dict(figures)


def _release(fig: Figure) -> None:
    """Close a pyplot-managed figure; plain Figures (what the package draws) just get cleared."""
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:
        pyplot.close(fig)
    fig.clear()


def _save_figure_atomic(fig: Figure, target: Path, fmt: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=f".{fmt}")
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=store.FIGURE_DPI, format=fmt)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# --- show ----------------------------------------------------------------------------------------

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


def _one_line(exc: BaseException) -> str:
    message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
    return " ".join(str(message).split()) or type(exc).__name__


# --- argument parser --------------------------------------------------------------------------

EPILOGS = {
    "plab": """examples:
  plab list                                   protocols, rules and tasks
  plab run song2000 --small                   a 30 s Song-Abbott run, saved under results/
  plab run stdp_window --set rule=triplet n_pairs=60
  plab show results/song2000                  the newest run of song2000
  plab plot results/song2000/20240101-120000  re-draw its figures from the saved data
  plab rules pair                             the pair rule's parameters, units, defaults
  plab demo                                   the flagship demo (STDP window + Song 2000)""",
    "list": """examples:
  plab list
  plab list rules""",
    "run": """examples:
  plab run stdp_window --small
  plab run song2000 --set duration_ms=5000 rate_hz=20 --seed 3 --out /tmp/results
  plab run stdp_window --config my_window.toml      (TOML: key = value lines, or a [stdp_window] table)
  plab run stdp_window --backend brian2 --target cython
  plab run compare-bptt --task pattern --rules bptt,eprop-random,ottt   (any Config field as --field VALUE)
Values given with --set are checked against the Config's field types; `plab run NAME --set x=?`
lists the valid keys in its error message.""",
    "show": """examples:
  plab show results/song2000/20240101-120000
  plab show results/song2000                  (the newest complete run)""",
    "plot": """examples:
  plab plot results/song2000/20240101-120000              (PNGs written back into the run)
  plab plot results/stdp_window --out figs --format pdf""",
    "rules": """examples:
  plab rules
  plab rules triplet""",
    "demo": """examples:
  plab demo
  plab demo --quick --out /tmp/demo""",
    "report": """examples:
  plab report                                 small configs -> results/report/report.md
  plab report --full --out /tmp/results       full configs -> /tmp/results/report/report.md
  plab report --only sjostrom_frequency bi_poo""",
}


def _parser() -> argparse.ArgumentParser:
    fmt = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(prog="plab", description=__doc__.splitlines()[0],
                                     epilog=EPILOGS["plab"], formatter_class=fmt)
    parser.add_argument("--traceback", action="store_true",
                        help="show the full traceback instead of a one-line error")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def sub(name, help_text):
        return commands.add_parser(name, help=help_text, description=help_text, epilog=EPILOGS[name],
                                   formatter_class=fmt)

    listing = sub("list", "list the protocols, rules and tasks")
    listing.add_argument("what", nargs="?", choices=("protocols", "rules", "tasks"),
                         help="only this section")
    listing.set_defaults(handler=cmd_list)

    run = sub("run", "run one protocol and save its results")
    run.add_argument("name", metavar="NAME", help="protocol name (see `plab list`)")
    run.add_argument("--small", action="store_true", help="start from Config.small() (seconds, for tests)")
    run.add_argument("--set", action="extend", nargs="+", metavar="KEY=VALUE",
                     help="override a Config field (type-checked); repeatable")
    run.add_argument("--config", metavar="FILE.toml", help="Config values from a TOML file (--set wins)")
    run.add_argument("--backend", default="native", choices=BACKENDS,
                     help="simulation backend (default: native)")
    run.add_argument("--target", choices=TARGETS,
                     help="Brian2 code-generation target (protocols with a `target` option)")
    run.add_argument("--seed", type=int, help="random seed (if the protocol's Config has one)")
    run.add_argument("--out", default="results", metavar="DIR", help="results root directory (default: results)")
    run.add_argument("--quiet", action="store_true", help="no progress bars, no summary; print only the path")
    run.add_argument("--no-figures", action="store_true", help="skip plotting")
    run.set_defaults(handler=cmd_run)

    show = sub("show", "summary table of a saved run")
    show.add_argument("path", metavar="PATH", help="run directory, or a protocol directory (newest run)")
    show.set_defaults(handler=cmd_show)

    plot = sub("plot", "re-draw the figures of a saved run (no re-run)")
    plot.add_argument("path", metavar="PATH", help="run directory, or a protocol directory (newest run)")
    plot.add_argument("--out", metavar="DIR", help="write the figures here instead of into the run directory")
    plot.add_argument("--format", default="png", choices=FIGURE_FORMATS, help="figure format (default: png)")
    plot.set_defaults(handler=cmd_plot)

    rules = sub("rules", "parameters of each learning rule, with units and defaults")
    rules.add_argument("name", nargs="?", metavar="NAME", help="only this rule (see `plab list rules`)")
    rules.set_defaults(handler=cmd_rules)

    demo = sub("demo", "the flagship demo: STDP window and Song 2000")
    demo.add_argument("--out", default="results", metavar="DIR", help="results root directory (default: results)")
    demo.add_argument("--quick", action="store_true", help="use the small() configs")
    demo.add_argument("--quiet", action="store_true", help="no progress bar, no report; print only the summary path")
    demo.set_defaults(handler=cmd_demo)

    report = sub("report", "run every protocol and write a Markdown report against published data")
    report.add_argument("--full", action="store_true", help="full configs instead of the small() ones")
    report.add_argument("--out", default="results", metavar="DIR",
                        help="results root; the report goes to DIR/report/ (default: results)")
    report.add_argument("--only", nargs="+", metavar="NAME", help="only these protocols")
    report.add_argument("--quiet", action="store_true", help="no progress lines; print only the report path")
    report.set_defaults(handler=cmd_report)
    return parser


if __name__ == "__main__":
    sys.exit(main())
