"""``plab run`` and ``plab demo``: run a protocol, save it through the results store, show
progress, and leave ``<stamp>.incomplete`` evidence when a run fails or is interrupted."""
from __future__ import annotations

import dataclasses
import inspect
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

from matplotlib.figure import Figure

from plasticity.errors import ParameterError, interrupt_in, keyboard_interrupts

from . import checkpoint, interrupts, registry, store
from .convert import configure, read_config_file

DEMO_PROTOCOLS = ("stdp_window", "song2000")
DEMO_OVERRIDES: dict = {}  # per-protocol Config overrides for the demo (the full Song run takes < 1 s)
DEMO_SUMMARY = "demo_summary.txt"


def cmd_run(args) -> int:
    """Run one protocol with the requested config, save it, print its summary and path."""
    args.name = registry.canonical(args.name)
    module = registry.get(args.name)
    resume = getattr(args, "resume", None)
    if resume is not None:
        config = resumed_config(args, module)
    else:
        config = module.Config.small() if args.small else module.Config()
        file_values = read_config_file(args.config, args.name) if args.config else {}
        config = configure(config, seed=args.seed, assignments=args.set or (), values=file_values,
                           target=args.target, protocol=args.name)
    path, text = run_and_save(args.name, module, config, backend=args.backend, out=args.out,
                              figures=not args.no_figures, progress=_progress_enabled(args.quiet), resume=resume)
    if not args.quiet:
        print(text.rstrip("\n"))
    print(f"saved: {path}")
    return 0


def resumed_config(args, module):
    """The Config of the interrupted run ``args.resume`` continues (see protocols.checkpoint)."""
    path = Path(args.resume)
    if args.small or args.set or args.config or args.seed is not None or args.target:
        raise ParameterError("--resume takes the config of the run it continues; it cannot be combined with "
                             "--small, --set, --config, --seed or --target")
    status, reason = store.run_status(path) if path.is_dir() else ("missing", "")
    if status != "incomplete":
        raise ParameterError(f"--resume must name an interrupted run directory (<stamp>.incomplete), got "
                             f"{str(path)!r} ({status}{': ' + reason if reason else ''})")
    if path.parent.name != args.name:
        raise ParameterError(f"--resume {str(path)!r} is a run of {path.parent.name!r}, not of {args.name!r}")
    if not checkpoint.saved_keys(path):
        raise ParameterError(f"--resume {str(path)!r} holds no checkpoint ({args.name} saves none, or it stopped "
                             "before the first one): run it again from the start")
    return store.build_config(module.Config, store.read_json_object(path / "config.json"))


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


def demo_config(name: str, module, quick: bool):
    """``Config.small()`` when quick, else ``Config()`` with the demo's overrides applied
    for the fields the protocol's Config has."""
    if quick:
        return module.Config.small()
    config = module.Config()
    fields = {field.name for field in dataclasses.fields(config)}
    overrides = {key: value for key, value in DEMO_OVERRIDES.get(name, {}).items() if key in fields}
    return dataclasses.replace(config, **overrides) if overrides else config


def run_and_save(name: str, module, config, backend: str = "native", out="results",
                 figures: bool = True, progress: bool = False, resume=None) -> tuple[Path, str]:
    """Run ``module`` on ``config``, save everything through :func:`store.begin_run`, and
    return the run directory and the protocol's summary (with the wall time appended).

    The directory is reserved before the run: a failure, Ctrl-C, SIGTERM or SIGHUP during
    the run leaves ``<stamp>.incomplete`` (config, provenance, and INCOMPLETE ending with
    ``reason: ...``; its path in ``_INCOMPLETE[id(the exception raised)]``). The arrays are written as soon
    as the run returns, before the summary and the figures are made. ``progress`` is passed
    to ``module.run`` if its signature accepts ``progress`` (the protocol draws its own bar);
    otherwise, when true, an elapsed-time line is shown on stderr while the protocol runs.
    Protocols that checkpoint their networks (:mod:`protocols.checkpoint`) write them into the
    run directory; ``resume`` (an ``.incomplete`` run directory) continues from its checkpoints."""
    kwargs = {"backend": backend}
    own_bar = _accepts(module.run, "progress")
    if own_bar:
        kwargs["progress"] = progress
    with interrupts.deferred():
        pending = _begin(name, config, out)
    start = time.perf_counter()
    try:
        with _Ticker(f"plab: running {name}", enabled=progress and not own_bar), keyboard_interrupts(), \
                checkpoint.active(pending.partial, resume):
            result = module.run(config, **kwargs)
        interrupts.check()
        checkpoint.discard(pending.partial)
    except ParameterError:
        with interrupts.deferred():
            pending.discard()  # refused (e.g. an unsupported backend): nothing was computed
        raise
    except BaseException as exc:
        _fail(pending, exc)
    elapsed = time.perf_counter() - start
    defaults = {"backend": backend, "wall_time_s": elapsed}
    text = ""
    drawn: dict[str, Figure] = {}

    def summary() -> str:
        nonlocal text
        text = f"{module.summary(result).rstrip()}\n(wall time {elapsed:.2f} s, backend {backend})\n"
        return text

    def draw() -> dict[str, Figure]:
        drawn.update(_figure_dict(module.plot(result), name))
        return drawn

    try:
        with interrupts.deferred():
            pending.save_data(result, defaults)
        path = pending.finish(result, draw if figures else {}, summary, defaults=defaults)
    except BaseException as exc:
        _fail(pending, exc)
    finally:
        for fig in drawn.values():
            _release(fig)
    return path, text


_INCOMPLETE: dict = {}  # id(exception) -> the .incomplete directory its run left behind


def _begin(name: str, config, out) -> store.PendingRun:
    try:
        return store.begin_run(name, config, root=out)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ParameterError(f"cannot write results under --out {str(out)!r}: {reason}"
                             f"{f' ({exc.filename})' if exc.filename else ''}") from None


def _fail(pending: store.PendingRun, exc: BaseException):
    """Mark ``pending`` incomplete (unless the store did already), remember where, and raise
    ``exc`` (a KeyboardInterrupt that compiled code wrapped in a SystemError as itself)."""
    interrupt = interrupt_in(exc)
    if interrupt is not None:
        interrupt = interrupts.settle(interrupt)
    with interrupts.deferred():
        incomplete = (pending.fail(traceback.format_exc(), store.failure_reason(interrupt or exc))
                      or pending.incomplete)
    raised = interrupt if interrupt is not None else exc
    if incomplete is not None:
        _INCOMPLETE[id(raised)] = incomplete
    if raised is not exc:
        raise raised from None
    raise exc


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
    """Write ``target`` through a temporary file and a rename, with the permissions an
    ordinary ``open()`` would give (0666 minus the umask; mkstemp alone makes it 0600)."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=f".{fmt}")
    os.close(fd)
    try:
        os.chmod(tmp, store.file_mode())
        fig.savefig(tmp, dpi=store.FIGURE_DPI, format=fmt)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
