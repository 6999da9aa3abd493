"""Parameter sweeps: a protocol run at every point of a grid of Config values x seeds.

``protocols.sweep.run("song2000", {"rate_hz": [10.0, 20.0]}, seeds="0-3")`` runs the
cartesian product of the grid values and the seeds (seeds innermost). Each point is an
ordinary run directory of the results store (:func:`protocols.cli_run.run_and_save`, the code
``plab run`` uses, so a point is bitwise the same as ``plab run NAME --set key=value --seed S``),
written under the sweep directory as ``<sweep>/NAME/<timestamp>/``.

The points are executed by local worker processes (``workers``, default: one per CPU; 1 runs
them one after another in this process) or, when ``scheduler`` is given, by an existing Dask
distributed cluster (``distributed.Client(scheduler)``; every worker must see the sweep
directory at the same path).

``<sweep>/sweep.json`` lists the points (grid values, seed, status, run directory, measures)
and is rewritten atomically after each point. Statuses: ``pending`` (not run yet, or
interrupted), ``done``, ``failed`` (with a one-line ``error``). Running the same sweep again
skips the ``done`` points whose run directory is complete and runs the others again.
A point's *measures* are the numbers its run provides: the scalar numeric fields of its
``result.npz`` and the numeric ``distance`` of each row of the protocol's ``compare(result)``
(the rows ``plab report`` shows).
"""
from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
import re
import sys
import time
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import NamedTuple

import numpy as np

from plasticity.errors import ParameterError, check_int, one_line

from . import registry, store
from .sweep_show import point_label

SWEEP_FILE = "sweep.json"
FORMAT_VERSION = 1
PENDING, DONE, FAILED = "pending", "done", "failed"
DEFAULT_ROOT = Path("results") / "sweeps"
CONNECT_TIMEOUT_S = 10.0
_SPEC_KEYS = ("protocol", "small", "backend", "grid", "seeds")
_OPEN, _CLOSE = "[({", "])}"


class Task(NamedTuple):
    """One point as sent to a worker (picklable: plain values and a path)."""

    index: int
    name: str
    small: bool
    values: dict          # grid key -> typed Config value
    seed: int | None      # None: the Config's own seed (or it has none)
    root: str             # absolute sweep directory
    figures: bool


class SweepResult(NamedTuple):
    """What :func:`run` returns: the sweep directory and the entries of its sweep.json."""

    path: Path
    points: list

    @property
    def done(self) -> list:
        return [p for p in self.points if p["status"] == DONE]

    @property
    def failed(self) -> list:
        return [p for p in self.points if p["status"] == FAILED]


# --- the grid and the seeds ------------------------------------------------------------------

def parse_grid(items: Iterable[str]) -> dict[str, list[str]]:
    """``["a=1,2", "rule=pair,triplet"]`` -> ``{"a": ["1", "2"], "rule": ["pair", "triplet"]}``.

    Values are split at commas outside brackets and double quotes, so a tuple-valued field
    takes ``dts=[1,2],[3,4]``. Dashes in keys read as underscores. A missing ``=``, an empty
    or repeated key, an empty or repeated value, or the key ``seed`` (use seeds) is a
    ParameterError naming the grid item.
    """
    grid: dict[str, list[str]] = {}
    for item in items:
        key, sep, text = str(item).partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key:
            raise ParameterError(f"--grid expects KEY=V1,V2,..., got {item!r}")
        if not key.isidentifier():
            raise ParameterError(f"--grid key {key!r} is not a Config field name (letters, digits, '_')")
        if key == "seed":
            raise ParameterError("--grid key 'seed': give seeds with --seeds A-B (seeds=... in Python)")
        if key in grid:
            raise ParameterError(f"--grid key {key!r} is given twice; put all its values in one --grid {key}=...")
        grid[key] = split_values(key, text)
    return grid


def split_values(key: str, text: str) -> list[str]:
    """The comma-separated values of grid key ``key`` (commas inside [], (), {} or "" kept)."""
    values, depth, quoted, start = [], 0, False, 0
    for k, char in enumerate(text + ","):
        if char == '"':
            quoted = not quoted
        elif quoted:
            continue
        elif char in _OPEN:
            depth += 1
        elif char in _CLOSE:
            depth -= 1
        elif char == "," and depth == 0:
            values.append(text[start:k].strip())
            start = k + 1
    if quoted or depth != 0:
        raise ParameterError(f"--grid {key}={text}: unbalanced brackets or quotes")
    empty = [k for k, value in enumerate(values) if not value]
    if empty:
        raise ParameterError(f"--grid {key}={text}: value {empty[0] + 1} is empty (expected {key}=V1,V2,...)")
    repeated = sorted({value for value in values if values.count(value) > 1})
    if repeated:
        raise ParameterError(f"--grid {key}={text}: value {repeated[0]!r} is given twice")
    return values


def parse_seeds(text: str) -> list[int]:
    """``"0-9"`` -> 0..9; ``"3"``; ``"0,4,7-9"``. Seeds are integers >= 0, each once."""
    seeds: list[int] = []
    for part in str(text).split(","):
        match = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", part)
        if not match:
            raise ParameterError(f"--seeds expects A-B, N or a comma-separated list of those "
                                 f"(integers >= 0), got {text!r}")
        first, last = int(match[1]), int(match[2] if match[2] is not None else match[1])
        if last < first:
            raise ParameterError(f"--seeds range {part.strip()!r} ends before it starts (A-B needs A <= B)")
        seeds.extend(range(first, last + 1))
    repeated = sorted({seed for seed in seeds if seeds.count(seed) > 1})
    if repeated:
        raise ParameterError(f"--seeds {text!r} lists seed {repeated[0]} twice")
    return seeds


def typed_grid(config, grid: Mapping) -> dict[str, list]:
    """Each grid value converted to the type of the Config field it sets.

    Text values (the CLI's) are converted like ``--set`` values (``'""'`` is the empty
    string); other values are checked like TOML values (:mod:`protocols.convert`). Unknown
    keys and values of the wrong type are ParameterErrors naming the grid key and the value.
    """
    from .convert import convert_text, convert_value

    if not isinstance(grid, Mapping):
        raise ParameterError(f"grid must be a dict of Config field -> list of values, got {type(grid).__name__}")
    fields = [field.name for field in _dataclass_fields(config)]
    hints = typing.get_type_hints(type(config))
    valid = f"valid keys: {', '.join(fields)}"
    typed = {}
    for key, values in grid.items():
        if key == "seed":
            raise ParameterError("grid key 'seed': give seeds with seeds=... (--seeds A-B)")
        if key not in fields:
            raise ParameterError(f"grid key {key!r} is not a field of {type(config).__qualname__}; {valid}")
        if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
            raise ParameterError(f"grid key {key!r} needs a list of values, got {values!r}")
        values = list(values)
        if not values:
            raise ParameterError(f"grid key {key!r} has no values")
        convert = [convert_text if isinstance(v, str) else convert_value for v in values]
        try:
            typed[key] = [conv(key, v, hints.get(key), valid) for conv, v in zip(convert, values)]
        except ParameterError as exc:
            raise ParameterError(f"grid: {one_line(exc)}") from None
        as_json = [json.dumps(store.config_dict({"v": v}), sort_keys=True) for v in typed[key]]
        if len(set(as_json)) < len(as_json):
            raise ParameterError(f"grid key {key!r} lists the same value twice: {values!r}")
    return typed


def seed_list(config, seeds) -> list:
    """``seeds`` (None, an int, ``"A-B"`` text or a list of ints) as a list; ``[None]`` for None."""
    if seeds is None:
        return [None]
    if "seed" not in [field.name for field in _dataclass_fields(config)]:
        raise ParameterError(f"seeds={seeds!r}: {type(config).__qualname__} has no seed field; "
                             "leave seeds out for this protocol")
    if isinstance(seeds, str):
        return parse_seeds(seeds)
    seeds = [seeds] if isinstance(seeds, (int, np.integer)) else list(seeds)
    out = [check_int("seeds", seed, 0) for seed in seeds]
    if not out or len(set(out)) < len(out):
        raise ParameterError(f"seeds must list each seed once and at least one, got {seeds!r}")
    return out


def point_config(module, small: bool, values: Mapping, seed):
    """The Config of one point: ``Config.small()`` or ``Config()`` with the grid values and seed."""
    from .convert import configure

    base = module.Config.small() if small else module.Config()
    return configure(base, seed=seed, values=values)


# --- running -----------------------------------------------------------------------------------

def run(name: str, grid: Mapping, seeds=None, small: bool = False, out=None, scheduler=None,
        workers: int | None = None, *, figures: bool = True, progress: bool = False) -> SweepResult:
    """Run (or resume) the sweep of protocol ``name`` over ``grid`` x ``seeds``.

    Parameters
    ----------
    name : protocol name (``plab list``)
    grid : dict of Config field -> list of values (typed, or text as on the command line)
    seeds : None (the Config's own seed), an int, ``"A-B"`` / ``"0,3,5"`` text, or a list of ints
    small : start every point from ``Config.small()``
    out : the sweep directory (default ``results/sweeps/NAME-<hash of the sweep>``)
    scheduler : a Dask scheduler address (``tcp://HOST:PORT``) or a ``distributed.Client``
    workers : local worker processes (default: the CPU count, at most one per point);
        1 runs the points in this process. Not with ``scheduler``.
    figures : draw each point's figures as ``plab run`` does
    progress : one line on stderr per finished point

    Returns a :class:`SweepResult`; failed points do not stop the others and are listed in
    ``result.failed`` (status ``failed`` and the one-line ``error`` in sweep.json). In a
    script, call it under ``if __name__ == "__main__":`` when workers > 1 (the worker
    processes are started with ``spawn`` and import the main module).
    """
    name = registry.canonical(name)
    module = registry.get(name)
    if scheduler is not None and workers is not None:
        raise ParameterError(f"give workers (local processes) or scheduler (a Dask cluster), not both; "
                             f"got workers={workers!r}, scheduler={scheduler!r}")
    if workers is not None:
        check_int("workers", workers, 1)
    base = module.Config.small() if small else module.Config()
    grid = typed_grid(base, grid)
    seeds = seed_list(base, seeds)
    combos = [dict(zip(grid, combo)) for combo in itertools.product(*grid.values())]
    points = [(values, seed) for values in combos for seed in seeds]
    for values, seed in points:
        try:
            point_config(module, small, values, seed)
        except (ParameterError, ValueError, TypeError) as exc:
            raise ParameterError(f"grid point {point_label(values, seed)}: {one_line(exc)}") from None
    spec = store.config_dict(dict(protocol=name, small=bool(small), backend="native", grid=grid,
                                  seeds=None if seeds == [None] else seeds))
    path = Path(out) if out is not None else DEFAULT_ROOT / f"{name}-{_digest(spec)}"
    doc = _resume(path, spec, points)
    root = str(path.resolve())
    tasks = [Task(k, name, bool(small), values, seed, root, figures)
             for k, (values, seed) in enumerate(points) if doc["points"][k]["status"] != DONE]
    try:
        _write(path, doc)
    except OSError as exc:
        raise ParameterError(f"cannot write the sweep to {str(path)!r}: {exc.strerror or one_line(exc)}") from None
    if progress:
        print(f"plab sweep: {name}, {len(points)} points ({len(points) - len(tasks)} already done) -> {path}",
              file=sys.stderr, flush=True)
    with contextlib.closing(_outcomes(tasks, scheduler, workers)) as outcomes:
        for finished, (task, outcome) in enumerate(outcomes, start=1):
            entry = doc["points"][task.index]
            entry.update(outcome)
            _write(path, doc)
            if progress:
                error = f": {entry['error']}" if entry["status"] == FAILED else ""
                print(f"plab sweep: [{finished}/{len(tasks)}] {entry['status']} {point_label(task.values, task.seed)} "
                      f"({entry.get('wall_time_s', 0.0):.1f} s){error}", file=sys.stderr, flush=True)
    return SweepResult(path, doc["points"])


def run_point(task: Task) -> dict:
    """Run one point and save it (the worker side); never raises for a failed run.

    Returns the sweep.json fields of the point: ``status``, ``run`` (the run directory
    relative to the sweep directory; the ``.incomplete`` one for a run that failed),
    ``error``, ``measures``, ``wall_time_s``.
    """
    import matplotlib

    matplotlib.use("Agg")
    from . import cli_run

    start = time.perf_counter()
    if _POOL_WORKER["stopped"]:  # this worker was told to stop: leave the point pending
        return dict(status=PENDING, run=None, error=None, measures={}, wall_time_s=0.0)
    _POOL_WORKER["running"] = True
    try:
        module = registry.get(task.name)
        config = point_config(module, task.small, task.values, task.seed)
        path, _ = cli_run.run_and_save(task.name, module, config, out=task.root, figures=task.figures)
    except Exception as exc:  # noqa: BLE001 - a failed point is reported, the others go on
        return _failure(exc, start, run_dir=cli_run._INCOMPLETE.pop(id(exc), None), root=task.root)
    except KeyboardInterrupt:
        if not _POOL_WORKER["pool"]:
            raise
        return dict(status=PENDING, run=None, error=None, measures={}, wall_time_s=time.perf_counter() - start)
    finally:
        _POOL_WORKER["running"] = False
    measures, note = point_measures(path, module)
    outcome = dict(status=DONE, run=Path(os.path.relpath(path, task.root)).as_posix(), error=None,
                   measures=measures, wall_time_s=time.perf_counter() - start)
    if note:
        outcome["note"] = note
    return outcome


def point_measures(run_dir, module) -> tuple[dict[str, float], str | None]:
    """The numbers a run provides, and a note if ``compare`` could not be evaluated.

    The scalar int/float fields of ``result.npz`` by field name, then the numeric
    ``distance`` of each ``compare(result)`` row (:func:`protocols.report.comparison_rows`)
    by its ``measure`` text (prefixed with its ``rule`` when two rows share a measure).
    """
    from . import report

    _, arrays, _ = store.load_run(run_dir)
    measures = {key: float(value) for key, value in arrays.items()
                if np.ndim(value) == 0 and np.issubdtype(np.asarray(value).dtype, np.number)
                and not np.issubdtype(np.asarray(value).dtype, np.complexfloating)}
    if not hasattr(module, "compare"):
        return measures, None
    try:
        rows = report.comparison_rows(module, store.load_result(run_dir))
    except Exception as exc:  # noqa: BLE001 - the run itself is fine; say why the rows are missing
        return measures, f"compare() failed: {type(exc).__name__}: {one_line(exc)}"
    rows = [row for row in rows if isinstance(row.get("distance"), (int, float, np.number))
            and not isinstance(row.get("distance"), (bool, np.bool_))]
    labels = [str(row.get("measure", "")) for row in rows]
    for row, label in zip(rows, labels):
        if labels.count(label) > 1 or label in measures:
            label = f"{row.get('rule', '')}: {label}"
        measures[label] = float(row["distance"])
    return measures, None


def load(path) -> dict:
    """The contents of ``<path>/sweep.json``."""
    file = Path(path) / SWEEP_FILE
    if not file.is_file():
        raise FileNotFoundError(f"{path} is not a sweep directory ({SWEEP_FILE} is missing)")
    try:
        doc = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ParameterError(f"{file} cannot be read ({one_line(exc)}); remove it to start the sweep again") from None
    if not (isinstance(doc, dict) and isinstance(doc.get("points"), list) and isinstance(doc.get("grid"), dict)):
        raise ParameterError(f"{file} is not a sweep file (no grid and points); remove it to start the sweep again")
    return doc


def show(path) -> str:
    """The ``plab show`` text of a sweep: status counts, failures, and each measure's mean and
    standard deviation over seeds at every grid point (:mod:`protocols.sweep_show`)."""
    from .sweep_show import table

    return table(load(path), Path(path))


def plot(path, out=None, fmt: str = "png") -> list[Path]:
    """Figures of a sweep, one per measure (mean ± s.d. over seeds against each grid key),
    written to ``out`` (default: the sweep directory); returns their paths."""
    from .sweep_show import write_figures

    return write_figures(load(path), Path(out) if out is not None else Path(path), fmt)


# --- executors -----------------------------------------------------------------------------------

def _outcomes(tasks: list[Task], scheduler, workers):
    """(task, outcome) pairs in the order the points finish (a generator: close() stops it)."""
    if not tasks:
        return (outcome for outcome in ())
    if scheduler is not None:
        return _dask_outcomes(tasks, scheduler)
    workers = min(workers or os.cpu_count() or 1, len(tasks))
    if workers <= 1:
        return ((task, run_point(task)) for task in tasks)
    return _pool_outcomes(tasks, workers)


def _pool_outcomes(tasks, workers):
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    start = time.perf_counter()
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_init_worker)
    try:
        futures = {pool.submit(run_point, task): task for task in tasks}
        for future in as_completed(futures):
            yield futures[future], _outcome_of(future, start)
    except BaseException:  # Ctrl-C, SIGTERM, or the sweep itself failed: stop the points in progress
        _stop_workers(pool)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


_POOL_WORKER = {"pool": False, "running": False, "stopped": False}   # this process's role and state


def _init_worker() -> None:
    """In each local worker process: SIGINT/SIGTERM/SIGHUP during a point become
    :class:`protocols.interrupts.Interrupted`, so the point's run ends as ``<stamp>.incomplete``
    (as with ``plab run``) and the point stays pending; the worker then starts no other
    point. A signal while the worker waits for a point ends it at once."""
    import functools
    import signal

    from . import interrupts

    _POOL_WORKER["pool"] = True
    interrupts.install()
    for sig in interrupts.HANDLED:
        signal.signal(sig, functools.partial(_worker_signal, signal.getsignal(sig)))


def _worker_signal(handler, signum, frame):
    if _POOL_WORKER["stopped"]:
        return  # Ctrl-C reaches the workers and the sweep's SIGTERM follows: one interrupt is enough
    _POOL_WORKER["stopped"] = True
    if not _POOL_WORKER["running"]:
        os._exit(128 + signum)  # idle: nothing to save, and no traceback from the pool's queue
    handler(signum, frame)


def _stop_workers(pool) -> None:
    """SIGTERM to the pool's live worker processes (their points end as ``.incomplete``)."""
    import signal

    for process in list((getattr(pool, "_processes", None) or {}).values()):
        try:
            if process.is_alive():
                os.kill(process.pid, signal.SIGTERM)
        except (OSError, ValueError):
            pass


def _dask_outcomes(tasks, scheduler):
    import distributed

    start = time.perf_counter()
    own = isinstance(scheduler, str)
    if not own and not hasattr(scheduler, "submit"):
        raise ParameterError(f"scheduler must be an address such as 'tcp://127.0.0.1:8786' or a "
                             f"distributed.Client, got {scheduler!r}")
    try:
        client = distributed.Client(scheduler, timeout=CONNECT_TIMEOUT_S) if own else scheduler
    except (OSError, TimeoutError, ValueError) as exc:
        raise ParameterError(f"--scheduler {scheduler!r}: no Dask scheduler reachable there ({one_line(exc)}); "
                             "start one with `dask scheduler` and workers with `dask worker ADDRESS`") from None
    futures = {}
    try:
        futures = {client.submit(run_point, task, pure=False): task for task in tasks}
        for future in distributed.as_completed(futures):
            yield futures[future], _outcome_of(future, start)
    finally:
        pending = [future for future in futures if not future.done()]
        if pending:
            client.cancel(pending)
        if own:
            client.close()


def _outcome_of(future, start: float) -> dict:
    """The worker's outcome, or a failure when the worker itself died (no outcome came back)."""
    try:
        return future.result()
    except Exception as exc:  # noqa: BLE001 - e.g. BrokenProcessPool, distributed.KilledWorker
        return _failure(exc, start)


def _failure(exc: BaseException, start: float, run_dir=None, root=None) -> dict:
    run = Path(os.path.relpath(run_dir, root)).as_posix() if run_dir is not None and root else None
    return dict(status=FAILED, run=run, error=f"{type(exc).__name__}: {one_line(exc)}", measures={},
                wall_time_s=time.perf_counter() - start)


# --- sweep.json ----------------------------------------------------------------------------------

def _resume(path: Path, spec: dict, points: list) -> dict:
    """The sweep document: the saved one if ``path`` holds this sweep (``done`` points whose
    run directory is complete stay done, every other point becomes pending), else a new one."""
    entries = [dict(index=k, values=store.config_dict(values), seed=seed, status=PENDING, run=None, error=None,
                    measures={}) for k, (values, seed) in enumerate(points)]
    doc = dict(format=FORMAT_VERSION, **spec, created=time.strftime("%Y-%m-%dT%H:%M:%S%z"), points=entries)
    if not (path / SWEEP_FILE).is_file():
        return doc
    old = load(path)
    differ = [key for key in _SPEC_KEYS if old.get(key) != spec[key]]
    if differ:
        raise ParameterError(f"{path} holds a different sweep ({', '.join(differ)} differ: "
                             + "; ".join(f"{key} {old.get(key)!r} there, {spec[key]!r} now" for key in differ)
                             + "); give another --out or remove that directory")
    doc["created"] = old.get("created", doc["created"])
    for entry, saved in zip(entries, old.get("points", [])):
        same = saved.get("values") == entry["values"] and saved.get("seed") == entry["seed"]
        if same and saved.get("status") == DONE and _complete(path, saved.get("run")):
            entry.update({key: saved[key] for key in saved if key not in ("index", "values", "seed")})
    return doc


def _complete(path: Path, run) -> bool:
    """Whether ``run`` (relative to the sweep directory) is a finished run directory."""
    if not isinstance(run, str):
        return False
    run_dir = path / run
    return (run_dir / "result.npz").is_file() and not (run_dir / "INCOMPLETE").exists()


def _write(path: Path, doc: dict) -> None:
    doc["updated"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    store.write_text_atomic(path / SWEEP_FILE, json.dumps(store.config_dict(doc), indent=1) + "\n")


def _digest(spec: dict) -> str:
    return hashlib.sha1(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:8]


def _dataclass_fields(config):
    import dataclasses

    return [field for field in dataclasses.fields(config) if field.init]
