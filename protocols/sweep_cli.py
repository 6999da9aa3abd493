"""``plab sweep``: a protocol over a grid of Config values x seeds (see :mod:`protocols.sweep`).

Exit status 0 when every point is done, 1 when some failed (they are listed), 2 for a bad
grid/seed/option (one line), 130 when interrupted (143 for SIGTERM; rerun the same command
to resume).
"""
from __future__ import annotations

import argparse
import sys

EPILOG = """examples:
  plab sweep song2000 --grid rate_hz=10,15,20 --seeds 0-9
  plab sweep stdp_window --small --grid rule=pair,triplet --grid n_pairs=10,60 --out /tmp/window-sweep
  plab sweep song2000 --grid rate_hz=10,20 --seeds 0-3 --scheduler tcp://10.0.0.5:8786
  plab show results/sweeps/song2000-1a2b3c4d      table: each measure, mean and s.d. over seeds
  plab plot results/sweeps/song2000-1a2b3c4d      one figure per measure against each grid key
Rerunning the same command resumes: finished points are skipped, the others run again."""


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``sweep`` on the ``plab`` sub-command parsers."""
    text = "run a protocol over a grid of Config values and seeds (local processes or a Dask cluster)"
    parser = subparsers.add_parser("sweep", help=text, description=text, epilog=EPILOG,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", metavar="NAME", help="protocol name (see `plab list`)")
    parser.add_argument("--grid", action="append", default=[], metavar="KEY=V1,V2,...",
                        help="values of one Config field (typed like --set); repeat for more fields")
    parser.add_argument("--seeds", metavar="A-B", help="seeds A..B (or N, or a list: 0,3,7-9)")
    parser.add_argument("--small", action="store_true", help="start every point from Config.small()")
    parser.add_argument("--out", metavar="DIR",
                        help="sweep directory (default: results/sweeps/NAME-<hash of the sweep>)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, metavar="N",
                       help="local worker processes (default: one per CPU; 1: in this process)")
    where.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                       help="run the points on this Dask distributed scheduler's workers")
    parser.add_argument("--no-figures", action="store_true", help="skip each point's figures")
    parser.add_argument("--quiet", action="store_true", help="no progress lines; print only the sweep path")
    parser.set_defaults(handler="sweep_cli:main")  # imported when the command runs
    return parser


def main(args) -> int:
    """Run or resume the sweep; print its path, the failed points and the status counts."""
    from plasticity.errors import ParameterError

    from . import sweep

    if args.workers is not None and args.workers < 1:
        raise ParameterError(f"--workers must be an integer >= 1, got {args.workers}")
    grid = sweep.parse_grid(args.grid)
    try:
        result = sweep.run(args.name, grid, seeds=args.seeds, small=args.small, out=args.out,
                           scheduler=args.scheduler, workers=args.workers, figures=not args.no_figures,
                           progress=not args.quiet)
    except KeyboardInterrupt as exc:  # Ctrl-C, SIGTERM, SIGHUP (protocols.interrupts)
        from . import interrupts

        exc = interrupts.settle(exc)
        print(f"plab: sweep {exc if str(exc) else 'interrupted'}; finished points are kept in sweep.json, "
              "rerun the same command to resume", file=sys.stderr)
        return interrupts.exit_status(exc)
    for point in result.failed:
        print(f"plab: sweep point #{point['index']} failed: {point['error']}", file=sys.stderr)
    print(f"sweep: {result.path} ({len(result.done)} done, {len(result.failed)} failed)")
    return 1 if result.failed else 0
