"""The protocols ``plab`` knows, by name, imported only when asked for.

A protocol module provides ``Config`` (a frozen dataclass with a ``small()`` classmethod),
``run(config, backend="native") -> Result``, ``plot(result) -> dict[str, Figure]`` and
``summary(result) -> str``; its docstring's first line describes it in ``plab list``.
"""
from __future__ import annotations

import importlib
from types import ModuleType

from plasticity.errors import ParameterError

PROTOCOLS = {
    "stdp_window": "protocols.stdp_window",
    "song2000": "protocols.song2000",
}

REQUIRED = ("Config", "run", "plot", "summary")


def names() -> list[str]:
    """The registered protocol names, sorted."""
    return sorted(PROTOCOLS)


def get(name: str) -> ModuleType:
    """Import and return the protocol module registered as ``name``.

    Raises ParameterError for an unknown name (listing the known ones) or a registered
    module that does not exist, and AttributeError for a module lacking a required name.
    """
    if name not in PROTOCOLS:
        raise ParameterError(f"unknown protocol {name!r}; known: {', '.join(names())}")
    path = PROTOCOLS[name]
    try:
        module = importlib.import_module(path)
    except ModuleNotFoundError as exc:
        if exc.name is None or not (path == exc.name or path.startswith(exc.name + ".")):
            raise  # a dependency of the protocol is missing: a real error, keep the traceback
        raise ParameterError(f"protocol {name!r} is registered as {path}, which does not exist") from None
    missing = [attr for attr in REQUIRED if not hasattr(module, attr)]
    if missing:
        raise AttributeError(f"protocol module {path} lacks {', '.join(missing)}")
    return module


def description(module: ModuleType) -> str:
    """First line of the module's docstring, or an empty string."""
    doc = (module.__doc__ or "").strip()
    return doc.splitlines()[0].strip() if doc else ""
