"""plab: run, inspect and re-plot the protocols; list the rules and their parameters.

    plab list [protocols|rules|tasks]
    plab run NAME [--small] [--set key=value ...] [--config file.toml] [--backend native|brian2]
                  [--target numpy|cython|cpp_standalone] [--seed N] [--out DIR] [--quiet]
    plab show PATH
    plab clean DIR [--incomplete]
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

import argparse
import importlib
import os
import sys

from . import interrupts

BACKENDS = ("native", "brian2")
TARGETS = ("numpy", "cython", "cpp_standalone")
FIGURE_FORMATS = ("png", "pdf", "svg")
#: Names other code imports from ``protocols.cli`` and the modules that now hold them.
_MOVED = {"configure": "convert", "convert_text": "convert", "convert_value": "convert",
          "parse_assignments": "convert", "read_config_file": "convert", "run_and_save": "cli_run",
          "_progress_enabled": "cli_run", "demo_config": "cli_run", "show_text": "show",
          "resolve_run": "show"}


def __getattr__(name):
    if name in _MOVED:
        return getattr(importlib.import_module(f"protocols.{_MOVED[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main(argv=None) -> int:
    """Entry point of the ``plab`` console script; returns the exit status.

    SIGINT, SIGTERM and SIGHUP end a command with status 130, 143 and 129 and one line on
    stderr (a run in progress leaves ``<stamp>.incomplete``); the imports happen after the
    handlers are in place, so an interrupt during start-up prints no traceback either."""
    installed = interrupts.install()
    _tolerant_streams()
    try:
        return _main(argv)
    except KeyboardInterrupt as exc:
        run_module = sys.modules.get("protocols.cli_run")
        where = run_module._INCOMPLETE.pop(id(exc), None) if run_module else None
        exc = interrupts.settle(exc)
        kept = f"; partial output kept in {where}" if where else ""
        print(f"plab: {exc if str(exc) else 'interrupted'}{kept}", file=sys.stderr)
        return interrupts.exit_status(exc)
    finally:
        if installed:
            interrupts.restore()


def _main(argv) -> int:
    parser = _parser()
    try:
        args, extra = parser.parse_known_args(argv)
        if extra:
            if args.command != "run":
                parser.error(f"unrecognized arguments: {' '.join(extra)}")
            args.set = list(args.set or []) + config_options(extra, parser)
    except SystemExit as exc:  # argparse errors (status 2) and --help (status 0)
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    import matplotlib

    matplotlib.use("Agg")
    from plasticity.errors import ParameterError, one_line

    user_errors = (ParameterError, ValueError, KeyError, FileNotFoundError)
    try:
        handler = args.handler
        if isinstance(handler, str):  # "module:function", imported only when the command runs
            module, _, function = handler.partition(":")
            handler = getattr(importlib.import_module(f"protocols.{module}"), function)
        return handler(args)
    except user_errors as exc:
        if args.traceback:
            raise
        print(f"plab: error: {one_line(exc)}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `plab rules | head`: the reader left; say nothing more
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


def _tolerant_streams() -> None:
    """Characters the terminal's encoding lacks (PYTHONIOENCODING=ascii and a "Δ" in a
    summary) are written as escapes instead of failing after the run was saved."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(errors="backslashreplace")
            except (ValueError, OSError):
                pass


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
    "clean": """examples:
  plab clean results                          .partial directories of killed runs (plab show points them out)
  plab clean results/song2000 --incomplete    also the runs that failed or were interrupted
A .partial directory whose run is still going on this host (or was made on another host) is kept.""",
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
    listing.set_defaults(handler="listing:cmd_list")

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
    run.add_argument("--quiet", action="store_true", help="no progress bars, no summary; print only 'saved: <path>'")
    run.add_argument("--no-figures", action="store_true", help="skip plotting")
    run.add_argument("--resume", metavar="RUN_DIR",
                     help="continue an interrupted run (<stamp>.incomplete) from its checkpoints "
                          "(song2000, izhikevich2007, compare_bptt); the new run gets its own directory")
    run.set_defaults(handler="cli_run:cmd_run")

    show = sub("show", "summary table of a saved run")
    show.add_argument("path", metavar="PATH", help="run directory, or a protocol directory (newest run)")
    show.set_defaults(handler="show:cmd_show")

    plot = sub("plot", "re-draw the figures of a saved run (no re-run)")
    plot.add_argument("path", metavar="PATH", help="run directory, or a protocol directory (newest run)")
    plot.add_argument("--out", metavar="DIR", help="write the figures here instead of into the run directory")
    plot.add_argument("--format", default="png", choices=FIGURE_FORMATS, help="figure format (default: png)")
    plot.set_defaults(handler="show:cmd_plot")

    clean = sub("clean", "remove the hidden .partial directories that killed runs left")
    clean.add_argument("path", metavar="DIR", help="results root, protocol directory or run directory")
    clean.add_argument("--incomplete", action="store_true",
                       help="also remove <stamp>.incomplete directories (failed or interrupted runs)")
    clean.set_defaults(handler="show:cmd_clean")

    rules = sub("rules", "parameters of each learning rule, with units and defaults")
    rules.add_argument("name", nargs="?", metavar="NAME", help="only this rule (see `plab list rules`)")
    rules.set_defaults(handler="listing:cmd_rules")

    demo = sub("demo", "the flagship demo: STDP window and Song 2000")
    demo.add_argument("--out", default="results", metavar="DIR", help="results root directory (default: results)")
    demo.add_argument("--quick", action="store_true", help="use the small() configs")
    demo.add_argument("--quiet", action="store_true", help="no progress bar, no report; print only the summary path")
    demo.set_defaults(handler="cli_run:cmd_demo")

    report = sub("report", "run every protocol and write a Markdown report against published data")
    report.add_argument("--full", action="store_true", help="full configs instead of the small() ones")
    report.add_argument("--out", default="results", metavar="DIR",
                        help="results root; the report goes to DIR/report/ (default: results)")
    report.add_argument("--only", nargs="+", metavar="NAME", help="only these protocols")
    report.add_argument("--quiet", action="store_true", help="no progress lines; print only the report path")
    report.set_defaults(handler="listing:cmd_report")
    from . import sweep_cli  # plab sweep NAME --grid KEY=V1,V2 [--seeds A-B] [--scheduler tcp://HOST:PORT]

    sweep_cli.add_parser(commands)
    return parser


if __name__ == "__main__":
    sys.exit(main())
