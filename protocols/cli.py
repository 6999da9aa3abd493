"""plab: list, run and demo the protocols; results are saved under results/.

    plab list
    plab run NAME [--small] [--seed N] [--set key=value ...] [--backend native]
                  [--out results] [--no-figures]
    plab demo [--out results] [--quick]

Errors in what the user asked for (unknown protocol or config key, invalid value, missing
file) print one line ``plab: error: ...`` to stderr and exit with status 2; ``--traceback``
(before the command) shows the full traceback instead.
"""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from plasticity.errors import ParameterError  # noqa: E402

from . import registry, store  # noqa: E402

USER_ERRORS = (ParameterError, ValueError, KeyError, FileNotFoundError)
DEMO_PROTOCOLS = ("stdp_window", "song2000")
DEMO_OVERRIDES: dict = {}  # per-protocol Config overrides for the demo (the full Song run takes < 1 s)
DEMO_SUMMARY = "demo_summary.txt"


def main(argv=None) -> int:
    """Entry point of the ``plab`` console script; returns the exit status."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse errors (status 2) and --help (status 0)
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    try:
        return args.handler(args)
    except USER_ERRORS as exc:
        if args.traceback:
            raise
        print(f"plab: error: {_one_line(exc)}", file=sys.stderr)
        return 2


def cmd_list(args) -> int:
    """Print each registered protocol and the first line of its docstring."""
    names = registry.names()
    width = max((len(name) for name in names), default=0)
    for name in names:
        try:
            text = registry.description(registry.get(name))
        except (ParameterError, ImportError, AttributeError) as exc:
            text = f"(unavailable: {_one_line(exc)})"
        print(f"{name:<{width}}  {text}")
    return 0


def cmd_run(args) -> int:
    """Run one protocol with the requested config, save it, print its summary and path."""
    module = registry.get(args.name)
    config = module.Config.small() if args.small else module.Config()
    config = configure(config, seed=args.seed, assignments=args.set or ())
    path, text = run_and_save(args.name, module, config, backend=args.backend, out=args.out,
                              figures=not args.no_figures)
    print(text.rstrip("\n"))
    print(f"saved: {path}")
    return 0


def cmd_demo(args) -> int:
    """Run the flagship demo protocols, save each, and write ``<out>/demo_summary.txt``."""
    sections = []
    for name in DEMO_PROTOCOLS:
        module = registry.get(name)
        config = demo_config(name, module, quick=args.quick)
        print(f"plab demo: running {name} ...", flush=True)
        path, text = run_and_save(name, module, config, backend="native", out=args.out)
        sections.append(f"== {name} ==\n{text.rstrip()}\noutput: {path}\n")
    report = "\n".join(sections)
    summary_path = store.write_text_atomic(Path(args.out) / DEMO_SUMMARY, report)
    print(report, end="")
    print(f"summary: {summary_path}")
    return 0


def demo_config(name: str, module, quick: bool):
    """``Config.small()`` when quick, else ``Config()`` with the demo's overrides applied
    for the fields the protocol's Config has."""
    if quick:
        return module.Config.small()
    config = module.Config()
    fields = {field.name for field in dataclasses.fields(config)}
    overrides = {key: value for key, value in DEMO_OVERRIDES.get(name, {}).items() if key in fields}
    return dataclasses.replace(config, **overrides) if overrides else config


def configure(config, seed: int | None = None, assignments=()):
    """A copy of the frozen ``config`` with ``seed`` (if it has that field) and the
    ``key=value`` assignments applied; values are JSON (``3``, ``0.5``, ``true``,
    ``[1, 2]``) or else plain strings. Unknown keys raise ParameterError naming the allowed ones."""
    fields = [field.name for field in dataclasses.fields(config)]
    overrides = {}
    if seed is not None:
        if "seed" in fields:
            overrides["seed"] = seed
        else:
            print(f"plab: note: {type(config).__qualname__} has no seed; --seed ignored",
                  file=sys.stderr)
    overrides.update(parse_assignments(assignments))
    unknown = [key for key in overrides if key not in fields]
    if unknown:
        raise ParameterError(f"unknown config key {', '.join(map(repr, unknown))}; "
                             f"allowed: {', '.join(fields)}")
    overrides = {key: _coerce(getattr(config, key), value) for key, value in overrides.items()}
    try:
        return dataclasses.replace(config, **overrides)
    except TypeError as exc:
        raise ParameterError(f"invalid config value: {exc}") from exc


def parse_assignments(assignments) -> dict:
    """``["x=3", "name=abc"]`` -> ``{"x": 3, "name": "abc"}`` (JSON values, else strings)."""
    parsed = {}
    for item in assignments:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ParameterError(f"--set expects key=value, got {item!r}")
        try:
            parsed[key] = json.loads(text)
        except json.JSONDecodeError:
            parsed[key] = text
    return parsed


def run_and_save(name: str, module, config, backend: str = "native", out="results",
                 figures: bool = True) -> tuple[Path, str]:
    """Run ``module`` on ``config``, save everything with :func:`store.save_run`, and return
    the run directory and the protocol's summary (with the wall time appended)."""
    start = time.perf_counter()
    result = module.run(config, backend=backend)
    elapsed = time.perf_counter() - start
    text = f"{module.summary(result).rstrip()}\n(wall time {elapsed:.2f} s, backend {backend})\n"
    drawn: dict[str, Figure] = {}

    def draw() -> dict[str, Figure]:
        drawn.update(_figure_dict(module.plot(result), name))
        return drawn

    try:
        path = store.save_run(name, config, result, draw if figures else {}, text, root=out)
    finally:
        for fig in drawn.values():
            plt.close(fig)
    return path, text


def _figure_dict(figures, name: str) -> dict[str, Figure]:
    """``plot()`` may return a name -> Figure dict, a single Figure, or None."""
    if figures is None:
        return {}
    if isinstance(figures, Figure):
        return {name: figures}
    return dict(figures)


def _coerce(current, value):
    """Give a parsed value the type of the field's current value where that is lossless."""
    if isinstance(current, float) and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(current, tuple) and isinstance(value, list):
        return tuple(value)
    return value


def _one_line(exc: BaseException) -> str:
    message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
    return " ".join(str(message).split()) or type(exc).__name__


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="plab", description=__doc__.splitlines()[0])
    parser.add_argument("--traceback", action="store_true",
                        help="show the full traceback instead of a one-line error")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    listing = commands.add_parser("list", help="list the protocols")
    listing.set_defaults(handler=cmd_list)

    run = commands.add_parser("run", help="run one protocol and save its results")
    run.add_argument("name", metavar="NAME", help="protocol name (see `plab list`)")
    run.add_argument("--small", action="store_true", help="use Config.small() (seconds, for tests)")
    run.add_argument("--seed", type=int, help="random seed (if the protocol's Config has one)")
    run.add_argument("--set", action="extend", nargs="+", metavar="KEY=VALUE",
                     help="override a Config field; VALUE is JSON or a plain string")
    run.add_argument("--backend", default="native", help="simulation backend (default: native)")
    run.add_argument("--out", default="results", help="results root directory (default: results)")
    run.add_argument("--no-figures", action="store_true", help="skip plotting")
    run.set_defaults(handler=cmd_run)

    demo = commands.add_parser("demo", help="the flagship demo: STDP window and Song 2000")
    demo.add_argument("--out", default="results", help="results root directory (default: results)")
    demo.add_argument("--quick", action="store_true", help="use the small() configs")
    demo.set_defaults(handler=cmd_demo)
    return parser


if __name__ == "__main__":
    sys.exit(main())
