"""Signals while ``plab`` runs: SIGINT, SIGTERM and SIGHUP all become :class:`Interrupted`.

``Interrupted`` is a KeyboardInterrupt carrying the signal number, so every handler that
cleans up after Ctrl-C cleans up after ``timeout``/``docker stop``/a closed terminal too;
``plab`` then exits with 128 + the signal number (130, 143, 129). Inside :func:`deferred`
a signal is remembered instead of raised, and raised when the block ends: the results store
uses it so that writing result.npz or renaming a directory is never cut in half. A signal
whose exception was swallowed (an ``Exception ignored in ...`` finaliser) or wrapped by
compiled code (:func:`plasticity.errors.interrupt_in`) is not lost: :func:`check` raises it.
"""
from __future__ import annotations

import contextlib
import signal

HANDLED = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


class Interrupted(KeyboardInterrupt):
    """A signal asked ``plab`` to stop; ``exit_status`` is 128 + its number."""

    def __init__(self, signum: int):
        super().__init__(f"interrupted by {signal.Signals(signum).name} (signal {signum})")
        self.signum = signum
        self.exit_status = 128 + signum


class _State:
    received: list[int] = []     # signals not raised yet (deferred, or their exception was lost)
    deferring: int = 0
    previous: dict = {}


def install() -> bool:
    """Route SIGINT, SIGTERM and SIGHUP to :class:`Interrupted`; False when not possible
    (not the main thread). :func:`restore` puts the previous handlers back."""
    _State.received.clear()
    try:
        for sig in HANDLED:
            _State.previous[sig] = signal.signal(sig, _handle)
    except ValueError:  # signal only works in the main thread
        restore()
        return False
    return True


def restore() -> None:
    """The handlers that were there before :func:`install`."""
    for sig, handler in list(_State.previous.items()):
        try:
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
        except ValueError:
            pass
        del _State.previous[sig]
    _State.received.clear()
    _State.deferring = 0


def _handle(signum, frame):
    _State.received.append(signum)
    if not _State.deferring:
        raise Interrupted(signum)


def check() -> None:
    """Raise the first signal received and not raised yet (then forget them all)."""
    if _State.received:
        signum = _State.received[0]
        _State.received.clear()
        raise Interrupted(signum)


def settle(exc: BaseException) -> Interrupted | KeyboardInterrupt:
    """``exc`` (a KeyboardInterrupt found by the caller) as the signal that caused it:
    forget the received signals, since this exception reports them."""
    first = _State.received[0] if _State.received else None
    _State.received.clear()
    if isinstance(exc, Interrupted) or first is None:
        return exc
    return Interrupted(first)


@contextlib.contextmanager
def deferred():
    """Signals received inside the block are raised when it ends (the block is not cut)."""
    _State.deferring += 1
    try:
        yield
    finally:
        _State.deferring -= 1
    if not _State.deferring:
        check()


def exit_status(exc: KeyboardInterrupt) -> int:
    """130 for Ctrl-C, 128 + the signal number for the others."""
    return getattr(exc, "exit_status", 128 + signal.SIGINT)
