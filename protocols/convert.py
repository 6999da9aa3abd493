"""Config overrides for ``plab run``: ``--set key=value`` text, TOML files and typed values,
each converted to the Config field's type and checked; errors are one-line ParameterErrors
naming the key, the expected type and the valid keys."""
from __future__ import annotations

import dataclasses
import json
import sys
import types
import typing
from pathlib import Path

from plasticity.errors import ParameterError


def configure(config, seed: int | None = None, assignments=(), values=None, target: str | None = None,
              protocol: str | None = None):
    """A copy of the frozen ``config`` with overrides applied, checked against the field types.

    In increasing precedence: ``values`` (typed, e.g. from a TOML file), the ``key=value``
    ``assignments`` (text, converted to the field's type), ``target`` and ``seed`` (only
    for Configs that have those fields; ``--target`` on a Config without one is an error,
    ``--seed`` without one a note). A wrong key or a value of the wrong type raises
    ParameterError with one line naming the key, the expected type and the valid keys.
    """
    fields = [field.name for field in dataclasses.fields(config)]
    hints = _field_types(type(config))
    valid = f"valid keys: {', '.join(fields)}"
    overrides = {}
    for key, value in (values or {}).items():
        _check_key(key, fields, valid)
        overrides[key] = convert_value(key, value, hints.get(key), valid)
    for key, text in parse_assignments(assignments, raw=True).items():
        _check_key(key, fields, valid)
        overrides[key] = convert_text(key, text, hints.get(key), valid)
    if target is not None:
        if "target" not in fields:
            raise ParameterError(f"protocol {protocol or type(config).__module__!r} has no target option "
                                 f"(--target selects the Brian2 code-generation target); {valid}")
        overrides["target"] = target
    if seed is not None:
        if "seed" in fields:
            overrides["seed"] = seed
        else:
            print(f"plab: note: {type(config).__qualname__} has no seed; --seed ignored", file=sys.stderr)
    try:
        return dataclasses.replace(config, **overrides)
    except TypeError as exc:
        raise ParameterError(f"invalid config value: {exc}") from exc


def parse_assignments(assignments, raw: bool = False) -> dict:
    """``["x=3", "name=abc"]`` -> ``{"x": 3, "name": "abc"}`` (JSON values, else strings);
    with ``raw=True`` the values stay text (for :func:`convert_text`)."""
    parsed = {}
    for item in assignments:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ParameterError(f"--set expects key=value, got {item!r}")
        if raw:
            parsed[key] = text
            continue
        try:
            parsed[key] = json.loads(text)
        except json.JSONDecodeError:
            parsed[key] = text
    return parsed


def convert_text(key: str, text: str, hint, valid: str = ""):
    """The ``--set`` text ``text`` as a value of the field type ``hint``.

    int: ``3``, ``1_000``; float: ``0.5``, ``1e-3``, ``3``; bool: true/false/yes/no/on/off/1/0;
    str: the text itself; ``X | None``: ``none``/``null`` or an X; tuple/list: a JSON list
    (``[1, 2]``) or comma-separated items. Other types: JSON, else the text.
    """
    text = text.strip()
    optional, inner = _unwrap_optional(hint)
    if optional and text.lower() in ("none", "null"):
        return None
    if inner is bool:
        lowered = text.lower()
        if lowered in ("true", "yes", "on", "1"):
            return True
        if lowered in ("false", "no", "off", "0"):
            return False
        raise _type_error(key, text, inner, optional, valid)
    if inner is int:
        try:
            return int(text)
        except ValueError:
            raise _type_error(key, text, inner, optional, valid) from None
    if inner is float:
        try:
            return float(text)
        except ValueError:
            raise _type_error(key, text, inner, optional, valid) from None
    if inner is str:
        if len(text) >= 2 and text[0] == text[-1] == '"':
            try:
                return json.loads(text)
            except json.JSONDecodeError:
                pass
        return text
    if inner is tuple or typing.get_origin(inner) in (tuple, list) or inner is list:
        try:
            items = json.loads(text)
        except json.JSONDecodeError:
            items = [item.strip() for item in text.split(",") if item.strip()]
            items = [_scalar(item) for item in items]
        if not isinstance(items, list):
            items = [items]
        return convert_value(key, items, hint, valid)
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def convert_value(key: str, value, hint, valid: str = ""):
    """A typed value (from TOML or JSON) checked against the field type ``hint``; ints are
    accepted for floats, lists for tuples; anything else of the wrong type is an error."""
    optional, inner = _unwrap_optional(hint)
    if value is None or (optional and isinstance(value, str) and value.lower() in ("none", "null")):
        if optional or hint is None:
            return None
        raise _type_error(key, value, inner, optional, valid)
    if inner is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif inner is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif inner is bool or inner is str:
        if isinstance(value, inner):
            return value
    elif inner is tuple or typing.get_origin(inner) is tuple:
        if isinstance(value, (list, tuple)):
            args = typing.get_args(inner)
            item_hint = args[0] if args and (len(args) == 2 and args[1] is Ellipsis) else None
            if item_hint is not None:
                return tuple(convert_value(key, item, item_hint, valid) for item in value)
            if args and len(args) == len(value):
                return tuple(convert_value(key, item, h, valid) for item, h in zip(value, args))
            return tuple(value)
    elif inner is list or typing.get_origin(inner) is list:
        if isinstance(value, (list, tuple)):
            return list(value)
    else:
        return value  # a type we do not check here; the Config validates it
    raise _type_error(key, value, inner, optional, valid)


def read_config_file(path, protocol: str | None = None) -> dict:
    """Config values from a TOML file: top-level keys, merged with a ``[protocol]`` table if
    present (its keys win). Needs Python >= 3.11 (tomllib) or the ``tomli`` package."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        try:
            import tomli as tomllib
        except ModuleNotFoundError:
            raise ParameterError("--config needs Python >= 3.11 (tomllib) or the tomli package; "
                                 "use --set key=value instead") from None
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise FileNotFoundError(f"config file not found: {path}") from None
    except OSError as exc:  # a directory, no permission, ...
        raise ParameterError(f"--config {str(path)!r} cannot be read: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ParameterError(f"{path} is not valid TOML: {exc}") from None
    values = {key: value for key, value in data.items() if not isinstance(value, dict)}
    tables = [key for key, value in data.items() if isinstance(value, dict)]
    for table in tables:
        if table != protocol:
            raise ParameterError(f"{path}: table [{table}] is not the protocol being run "
                                 f"({protocol!r}); put config keys at the top level or under [{protocol}]")
        values.update(data[table])
    return values


def _check_key(key: str, fields, valid: str) -> None:
    if key not in fields:
        raise ParameterError(f"unknown config key {key!r}; {valid}")


def _field_types(config_cls) -> dict:
    try:
        return typing.get_type_hints(config_cls)
    except Exception:  # noqa: BLE001 - unresolvable annotations: no type checks
        return {}


def _unwrap_optional(hint) -> tuple[bool, object]:
    """(accepts None, the type without None) of a hint like ``float | None``."""
    origin = typing.get_origin(hint)
    if origin is typing.Union or origin is getattr(types, "UnionType", None):
        args = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        optional = len(args) < len(typing.get_args(hint))
        return optional, (args[0] if len(args) == 1 else hint)
    return False, hint


def _type_name(hint, optional: bool) -> str:
    name = getattr(hint, "__name__", None) or str(hint)
    if typing.get_origin(hint) is not None:
        name = str(hint).replace("typing.", "")
    return f"{name} or none" if optional else name


def _type_error(key, value, hint, optional, valid) -> ParameterError:
    return ParameterError(f"config key {key!r} expects {_type_name(hint, optional)}, got {value!r}; {valid}")


def _scalar(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text
