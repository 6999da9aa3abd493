"""The one validation error of the project and the small checks that raise it.

Every parameter dataclass validates itself in ``__post_init__`` with these helpers, so
messages read the same everywhere: the parameter's name, the value received and what is
allowed ("tau_plus must be > 0 ms, got -5.0").
"""
from __future__ import annotations

import contextlib
import math
import warnings

import numpy as np


class ParameterError(ValueError):
    """A parameter or input is outside its allowed range; the message names it."""


def _describe(value) -> str:
    return repr(value) if not isinstance(value, float) else f"{value!r}"


def check_finite(name: str, value, unit: str = "") -> float:
    """Return ``value`` as float; reject non-numbers, NaN and inf."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be a finite number{_unit(unit)}, got {value!r}") from None
    if not math.isfinite(x):
        raise ParameterError(f"{name} must be a finite number{_unit(unit)}, got {_describe(value)}")
    return x


def check_positive(name: str, value, unit: str = "") -> float:
    """A finite number > 0 (time constants, dt, rates of change)."""
    x = check_finite(name, value, unit)
    if x <= 0.0:
        raise ParameterError(f"{name} must be > 0{_space(unit)}, got {_describe(value)}")
    return x


def check_non_negative(name: str, value, unit: str = "") -> float:
    """A finite number >= 0 (amplitudes given as magnitudes, delays, rates)."""
    x = check_finite(name, value, unit)
    if x < 0.0:
        raise ParameterError(f"{name} must be >= 0{_space(unit)}, got {_describe(value)}")
    return x


def check_choice(name: str, value, allowed) -> str:
    """One of a fixed set of strings."""
    if value not in allowed:
        raise ParameterError(f"{name} must be one of {', '.join(map(repr, allowed))}, got {value!r}")
    return value


def check_int(name: str, value, minimum: int = 0) -> int:
    """An integer >= ``minimum`` (counts, sizes)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ParameterError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ParameterError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_dt(dt, smallest_tau: float, name: str = "dt") -> float:
    """A time step > 0 ms; warn when it is larger than half the smallest time constant."""
    x = check_positive(name, dt, "ms")
    if x > smallest_tau / 2.0:
        warnings.warn(
            f"{name} = {x} ms is larger than half the smallest time constant "
            f"({smallest_tau} ms); results will be coarse",
            stacklevel=3,
        )
    return x


def _unit(unit: str) -> str:
    return f" ({unit})" if unit else ""


def _space(unit: str) -> str:
    return f" {unit}" if unit else ""


def one_line(exc: BaseException) -> str:
    """An exception's message on one line (a KeyError's key without quotes), for CLI errors."""
    message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
    return " ".join(str(message).split()) or type(exc).__name__


def interrupt_in(exc: BaseException | None) -> KeyboardInterrupt | None:
    """The KeyboardInterrupt an exception stands for, or None.

    A Ctrl-C that lands while a Numba dispatcher is boxing its result comes out as
    ``SystemError: CPUDispatcher(...) returned a result with an exception set`` whose
    ``__cause__``/``__context__`` is the KeyboardInterrupt; this finds it along that chain.
    """
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, KeyboardInterrupt):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


class keyboard_interrupts(contextlib.ContextDecorator):
    """Re-raise a KeyboardInterrupt that compiled code wrapped in a SystemError (see
    :func:`interrupt_in`) as that KeyboardInterrupt, so Ctrl-C is always KeyboardInterrupt::

        with keyboard_interrupts():
            kernel(...)
    """

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc is not None and not isinstance(exc, KeyboardInterrupt):
            interrupt = interrupt_in(exc)
            if interrupt is not None:
                raise interrupt.with_traceback(tb) from None
        return False
