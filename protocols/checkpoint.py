"""Checkpoints of long protocol runs, and resuming an interrupted run from them.

A protocol that simulates a :class:`models.Network` for a long time builds it through
:func:`network` and runs it through :func:`run`. Outside ``plab`` these are plain
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


def network(key: str, build):
    """``build()`` -> (net, handles), or the pair saved under ``key`` by the run being resumed."""
    ctx = _CONTEXT.get()
    if ctx is not None and ctx.resume is not None and _file(ctx.resume, key).exists():
        from models import Network
        path = _file(ctx.resume, key)
        try:
            net, handles = pickle.loads(path.read_bytes())
        except (pickle.UnpicklingError, EOFError, ValueError, AttributeError, ImportError) as exc:
            raise ParameterError(f"resume: {path} is not a readable checkpoint ({exc})") from None
        if not isinstance(net, Network):
            raise ParameterError(f"resume: {path} does not hold a network")
        if net._built is not None:
            net._built.relink()
        return net, handles
    return build()


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
        _save(ctx.directory, key, net, handles)


def _save(directory: Path, key: str, net, handles) -> None:
    """Atomically (temp file, rename): an interrupt during the write keeps the previous one."""
    import os
    path = _file(directory, key)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_bytes(pickle.dumps((net, handles), protocol=pickle.HIGHEST_PROTOCOL))
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
