"""The one validation error of the project and the small checks that raise it.

Every parameter dataclass validates itself in ``__post_init__`` with these helpers, so
messages read the same everywhere: the parameter's name, the value received and what is
allowed ("tau_plus must be > 0 ms, got -5.0").
"""
from __future__ import annotations

import contextlib
import dataclasses
import math
import warnings

import numpy as np


class ParameterError(ValueError):
    """A parameter or input is outside its allowed range; the message names it."""


def _describe(value) -> str:
    return repr(value) if not isinstance(value, float) else f"{value!r}"


def check_finite(name: str, value, unit: str = "") -> float:
    """Return ``value`` as float; reject NaN, inf and what is not a number (bools, strings
    and arrays are refused, not converted: see :func:`validate`)."""
    return _number(name, value, Spec("float", unit=unit))


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
    """One of a fixed set of values (strings, or None where allowed); arrays are refused."""
    if isinstance(value, np.ndarray) or not _member(value, allowed):
        raise ParameterError(f"{name} must be one of {', '.join(map(repr, allowed))}, got {value!r}")
    return value


def _member(value, allowed) -> bool:
    try:
        return bool(value in allowed)
    except (TypeError, ValueError):
        return False


def as_float_array(name: str, value, unit: str = "") -> np.ndarray:
    """``value`` as a float64 array (a copy); ParameterError naming ``name`` when it is not
    numbers (strings, None, ragged lists, objects). Bools are refused like everywhere else."""
    if isinstance(value, (str, bytes, bool, np.bool_)) or value is None:
        raise ParameterError(f"{name} must be numbers{_unit(unit)}, got {value!r}")
    try:
        out = np.array(value, dtype=float)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be numbers{_unit(unit)}, got {value!r}") from None
    if np.asarray(value).dtype.kind in "bUSO" and np.asarray(value).size:
        raise ParameterError(f"{name} must be numbers{_unit(unit)}, got {value!r}")
    return out


def check_int(name: str, value, minimum: int = 0) -> int:
    """An integer >= ``minimum`` (counts, sizes)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ParameterError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ParameterError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


#: dt above this fraction of the smallest time constant draws a warning with numbers: the
#: exponential-Euler and event-on-the-grid errors are of order dt / (2 tau), so 1/10 keeps
#: them near 5% (Song-style output rate 95 Hz at dt 0.1 ms, 139 Hz at 1 ms, 176 Hz at 2 ms
#: with tau_e = 5 ms: issue 13 item 5).
DT_FRACTION_WARN = 0.1


def check_dt(dt, smallest_tau: float, name: str = "dt") -> float:
    """A time step > 0 ms; warn, with the numbers, when it exceeds DT_FRACTION_WARN of the
    smallest time constant (and say so more strongly above half of it)."""
    x = check_positive(name, dt, "ms")
    if math.isfinite(smallest_tau) and x > DT_FRACTION_WARN * smallest_tau:
        ratio = x / smallest_tau
        decay = math.exp(-ratio)
        where = ("larger than half the smallest time constant" if x > smallest_tau / 2.0
                 else f"{ratio:.2g} of the smallest time constant")
        severity = "results will be coarse" if x > smallest_tau / 2.0 else "results change with dt"
        error = f"{50 * ratio:.0f}%" if ratio <= 2.0 else "over 100%"     # not 8.7e115% for a tiny tau
        warnings.warn(
            f"{name} = {x:g} ms is {where} ({smallest_tau:g} ms): "
            f"{severity} (per-step decay exp(-dt/tau) = {decay:.3f}, discretisation error of order "
            f"dt/(2 tau) = {error}); use {name} <= {DT_FRACTION_WARN * smallest_tau:g} ms "
            f"for results within about 5%",
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


# --- declarative parameters ------------------------------------------------------------------------
#
# A dataclass states each field's constraint once, in the field's metadata:
#
#     tau_plus: float = param(16.8, unit="ms", gt=0, doc="time constant of the presynaptic trace")
#
# and calls ``validate(self)`` first thing in ``__post_init__``. validate() checks every field
# (those without a spec by their annotation: float, int, bool, str, ``X | None``, tuples of
# those) and stores the converted value. The rule, one for all dataclasses: numbers are
# Python/NumPy ints and floats (and 0-d arrays); bools, strings and arrays of one or more
# elements are refused for a number, never converted (the CLI converts its own text first).

NUMBER_KINDS = ("float", "int")


@dataclasses.dataclass(frozen=True)
class Spec:
    """The constraint of one parameter: ``kind`` ("float", "int", "bool", "str", "any"),
    bounds (``gt``/``ge``/``lt``/``le``), ``choices``, ``optional`` (None allowed), and the
    ``unit`` and ``doc`` that ``plab rules``/``plab show`` print."""

    kind: str = "float"
    unit: str = ""
    doc: str = ""
    gt: float | None = None
    ge: float | None = None
    lt: float | None = None
    le: float | None = None
    choices: tuple = ()
    optional: bool = False

    def allowed(self) -> str:
        """What the spec allows, in words ("a finite number > 0 ms")."""
        if self.choices and self.kind != "tuple":
            text = f"one of {', '.join(map(repr, self.choices))}"
        else:
            text = (f"a sequence of {self.choices[0]} values" if self.kind == "tuple" else
                    {"float": "a finite number", "int": "an integer", "bool": "True or False",
                     "str": "a string", "any": "any value"}[self.kind])
            bounds = self.bounds()
            if bounds:
                text += " " + bounds
            elif self.unit and self.unit != "1" and self.kind in NUMBER_KINDS:
                text += f" ({self.unit})"
        return text + (" or None" if self.optional else "")

    def bounds(self) -> str:
        """The range in words ("> 0 ms", ">= 0 and <= 1"), or ""."""
        parts = [f"{op} {_fmt(v)}" for op, v in ((">", self.gt), (">=", self.ge), ("<", self.lt),
                                                   ("<=", self.le)) if v is not None]
        unit = self.unit if self.unit and self.unit != "1" else ""
        return " and ".join(parts) + _space(unit) if parts else ""


def spec(kind: str = "float", **kwargs) -> dict:
    """Field metadata holding a :class:`Spec`: ``field(default=..., metadata=spec(...))``."""
    return {"spec": Spec(kind, **kwargs)}


def param(default=dataclasses.MISSING, kind: str = "float", *, default_factory=dataclasses.MISSING,
          **kwargs):
    """A dataclass field with a :class:`Spec` (see :func:`spec`)."""
    return dataclasses.field(default=default, default_factory=default_factory, metadata=spec(kind, **kwargs))


def check_value(name: str, value, rule: Spec):
    """``value`` checked against ``rule`` and converted (float, int, bool, str); ParameterError
    naming ``name``, the value and what is allowed otherwise."""
    if value is None:
        if rule.optional or rule.kind == "any":
            return None
        raise ParameterError(f"{name} must be {rule.allowed()}, got None")
    if rule.kind == "any":
        return value
    if rule.kind == "bool":
        if isinstance(value, (bool, np.bool_)):
            return bool(value)
        raise ParameterError(f"{name} must be {rule.allowed()}, got {value!r}")
    if rule.kind == "str":
        if not isinstance(value, str) or (rule.choices and value not in rule.choices):
            raise ParameterError(f"{name} must be {rule.allowed()}, got {value!r}")
        return value
    x = _number(name, value, rule)
    if rule.choices and x not in rule.choices:
        raise ParameterError(f"{name} must be {rule.allowed()}, got {value!r}")
    if ((rule.gt is not None and not x > rule.gt) or (rule.ge is not None and not x >= rule.ge)
            or (rule.lt is not None and not x < rule.lt) or (rule.le is not None and not x <= rule.le)):
        raise ParameterError(f"{name} must be {rule.bounds()}, got {_describe(value)}")
    return x


def _number(name: str, value, rule: Spec):
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    integral = isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))
    real = integral or isinstance(value, (float, np.floating))
    if not real or (rule.kind == "int" and not integral):
        got = f"{value!r} (a {type(value).__name__})" if not isinstance(value, (int, float)) else repr(value)
        raise ParameterError(f"{name} must be {rule.allowed()}, got {got}")
    if rule.kind == "int":
        return int(value)
    x = float(value)
    if not math.isfinite(x):
        raise ParameterError(f"{name} must be {rule.allowed()}, got {_describe(value)}")
    return x


def validate(obj, prefix: str = "") -> None:
    """Check and convert every field of the dataclass instance ``obj`` in place (frozen or
    not): fields with a :class:`Spec` in their metadata by it, the others by their type
    annotation (:func:`annotation_spec`); fields whose annotation says nothing checkable are
    left to the class. Messages name ``prefix + field``."""
    for f, rule in field_specs(type(obj)):
        if rule is None:
            continue
        value = getattr(obj, f.name)
        if rule.kind == "tuple":
            new = _check_tuple(prefix + f.name, value, rule)
        else:
            new = check_value(prefix + f.name, value, rule)
        if new is not value:
            object.__setattr__(obj, f.name, new)


_SPECS: dict = {}


def field_specs(cls) -> list:
    """``[(field, Spec or None)]`` of a dataclass (cached per class)."""
    if cls not in _SPECS:
        import typing

        try:
            hints = typing.get_type_hints(cls)
        except Exception:  # noqa: BLE001 - unresolvable annotations: metadata only
            hints = {}
        _SPECS[cls] = [(f, f.metadata.get("spec") or annotation_spec(hints.get(f.name))
                        or _default_tuple_spec(hints.get(f.name), f.default))
                       for f in dataclasses.fields(cls) if f.init]
    return _SPECS[cls]


def annotation_spec(hint) -> Spec | None:
    """The Spec a plain annotation implies: float -> a finite number, int -> an integer,
    bool, str; ``X | None`` optional; ``tuple[X, ...]`` each item (kind "tuple", the item's
    kind in ``choices[0]``); anything else None (not checked here)."""
    import types
    import typing

    optional = False
    origin = typing.get_origin(hint)
    if origin is typing.Union or origin is getattr(types, "UnionType", None):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) != 1:
            return None
        optional, hint = len(args) < len(typing.get_args(hint)), args[0]
        origin = typing.get_origin(hint)
    simple = {float: "float", int: "int", bool: "bool", str: "str"}
    if hint in simple:
        return Spec(simple[hint], optional=optional)
    if origin is tuple:
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis and args[0] in simple:
            return Spec("tuple", choices=(simple[args[0]],), optional=optional)
    return None


def _default_tuple_spec(hint, default) -> Spec | None:
    """A bare ``tuple`` annotation whose default holds only numbers (ints only: "int") or only
    strings: a tuple of that kind."""
    if hint is not tuple or not isinstance(default, tuple) or not default:
        return None
    if all(isinstance(v, str) for v in default):
        return Spec("tuple", choices=("str",))
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in default):
        return Spec("tuple", choices=("int" if all(isinstance(v, int) for v in default) else "float",))
    return None


def _check_tuple(name: str, value, rule: Spec):
    if value is None and rule.optional:
        return None
    if isinstance(value, (str, bytes)) or not isinstance(value, (tuple, list, np.ndarray)):
        raise ParameterError(f"{name} must be a sequence of {rule.choices[0]} values{' or None' if rule.optional else ''}, "
                             f"got {value!r}")
    item = Spec(rule.choices[0])
    return tuple(check_value(f"{name}[{k}]", v, item) for k, v in enumerate(value))


def check_order(low_name: str, low: float, high_name: str, high: float, unit: str = "") -> None:
    """``high > low`` (weight bounds, thresholds), naming ``high``."""
    if not high > low:
        raise ParameterError(f"{high_name} must be > {low_name} ({_fmt(low)}{_space(unit)}), got {_fmt(high)}")


def describe(cls) -> list[dict]:
    """One row per field of a dataclass: name, type, default, unit, description, allowed."""
    rows = []
    for f, rule in field_specs(cls):
        default = f.default if f.default is not dataclasses.MISSING else None
        rows.append({"name": f.name, "type": getattr(f.type, "__name__", str(f.type)), "default": default,
                     "unit": rule.unit if rule else "", "description": rule.doc if rule else "",
                     "allowed": rule.allowed() if rule else ""})
    return rows


def _fmt(x) -> str:
    return repr(x) if not isinstance(x, float) or not x.is_integer() else repr(int(x)) if abs(x) < 1e15 else repr(x)
