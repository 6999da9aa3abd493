"""Checkpoints of long protocol runs, and resuming an interrupted run from them.

A protocol that simulates a :class:`models.Network` for a long time builds it through
:func:`network` and runs it through :func:`run`; one with another kind of loop saves its
state with :func:`save` and takes it back with :func:`restore` (compare_bptt). Outside ``plab`` these are plain
``build()`` and ``net.run()``. Inside ``plab run`` (:func:`active`, set by
``protocols.cli_run``) :func:`run` advances the network in segments and, after each,
writes the network with its handles (projections, monitors: anything the protocol reads
afterwards) to ``checkpoint-<key>.plab`` in the run's directory. An interrupted run leaves
them in its ``<stamp>.incomplete`` directory; ``plab run NAME --resume DIR`` starts a new run
with DIR's config in which :func:`network` loads the saved networks instead of building them,
and :func:`run` continues each from where it stopped. ``Network.save``/``load`` are exact, so
the resumed run's results equal those of a run that was never interrupted, bitwise
(tests/protocols/test_resume.py).
"""
from __future__ import annotations

import contextlib
import contextvars
import math
import pickle
from pathlib import Path
from typing import NamedTuple

from plasticity.errors import ParameterError

SEGMENTS = 10       # checkpoints per run() of a network: the work lost to an interrupt is <= 1/10
PREFIX = "checkpoint-"
SUFFIX = ".plab"


class Context(NamedTuple):
    directory: Path             # where this run writes its checkpoints
    resume: Path | None         # the .incomplete run directory it continues, if any


_CONTEXT: contextvars.ContextVar = contextvars.ContextVar("plab_checkpoint", default=None)


@contextlib.contextmanager
def active(directory, resume=None):
    """Checkpoints go to ``directory``; saved networks are taken from ``resume`` if given."""
    token = _CONTEXT.set(Context(Path(directory), None if resume is None else Path(resume)))
    try:
        yield
    finally:
        _CONTEXT.reset(token)


def _file(directory: Path, key: str) -> Path:
    return directory / f"{PREFIX}{key}{SUFFIX}"


def restore(key: str):
    """The object saved under ``key`` by the run being resumed, or None (see :func:`save`)."""
    ctx = _CONTEXT.get()
    if ctx is None or ctx.resume is None or not _file(ctx.resume, key).exists():
        return None
    path = _file(ctx.resume, key)
    try:
        return pickle.loads(path.read_bytes())
    except (pickle.UnpicklingError, EOFError, ValueError, AttributeError, ImportError) as exc:
        raise ParameterError(f"resume: {path} is not a readable checkpoint ({exc})") from None


def save(key: str, obj) -> None:
    """Checkpoint ``obj`` (picklable) under ``key`` when a run is active; nothing otherwise."""
    ctx = _CONTEXT.get()
    if ctx is not None:
        _save(ctx.directory, key, obj)


def network(key: str, build):
    """``build()`` -> (net, handles), or the pair saved under ``key`` by the run being resumed."""
    saved = restore(key)
    if saved is None:
        return build()
    from models import Network
    if not (isinstance(saved, tuple) and len(saved) == 2 and isinstance(saved[0], Network)):
        raise ParameterError(f"resume: the checkpoint {key!r} does not hold a network")
    net, handles = saved
    if net._built is not None:
        net._built.relink()
    return net, handles


def run(key: str, net, handles, duration_ms: float, progress: bool = False) -> None:
    """Advance ``net`` to ``duration_ms`` (ms since its start), checkpointing when active."""
    ctx = _CONTEXT.get()
    remaining = round((duration_ms - net.t) / net.dt)
    if ctx is None:
        if remaining > 0:
            net.run(remaining * net.dt, progress=progress)
        return
    segment = max(1, math.ceil(round(duration_ms / net.dt) / SEGMENTS))
    while remaining > 0:
        steps = min(segment, remaining)
        net.run(steps * net.dt, progress=progress)
        remaining -= steps
        _save(ctx.directory, key, (net, handles))


def _save(directory: Path, key: str, obj) -> None:
    """Atomically (temp file, rename): an interrupt during the write keeps the previous one."""
    import os
    path = _file(directory, key)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_bytes(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def discard(directory) -> None:
    """Remove the checkpoints of a run that finished (a complete run does not keep them)."""
    for path in Path(directory).glob(f"{PREFIX}*{SUFFIX}"):
        path.unlink(missing_ok=True)


def saved_keys(directory) -> list[str]:
    """The keys of the checkpoints in a run directory."""
    return sorted(p.name[len(PREFIX):-len(SUFFIX)] for p in Path(directory).glob(f"{PREFIX}*{SUFFIX}"))
