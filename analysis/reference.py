"""Published reference values shipped with the package: the one loader.

The data live in ``analysis/data/plasticity_data.json`` (installed with the package through
``setup.cfg`` ``package_data``; analysis/data/README.md lists every entry's source). Every
entry names its ``source`` and says ``verified`` (analysis/data/README.md explains the
meaning). ``analysis`` is the lowest layer that needs them (``analysis.energy``), so protocols,
models and tests import them from here without reaching into another package's files.

    from analysis.reference import load
    load("bi_poo_window")["tau_plus"]          # 16.8 (ms)
"""
from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

from plasticity.errors import ParameterError

FILE = "plasticity_data.json"


class UnknownReference(ParameterError, KeyError):
    """No entry of that name in the shipped reference data."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


@lru_cache(maxsize=1)
def _entries() -> dict:
    return json.loads(resources.files(__package__).joinpath("data", FILE).read_text(encoding="utf-8"))


def names() -> list[str]:
    """The entries' names (``_about`` and other ``_``-prefixed notes excluded)."""
    return [key for key in _entries() if not key.startswith("_")]


def load(name: str) -> dict:
    """A copy of one entry (the caller may modify it), e.g. ``load("song2000")``."""
    data = _entries()
    if name.startswith("_") or name not in data:
        raise UnknownReference(f"no entry {name!r} in {FILE}; known: {', '.join(names())}")
    return json.loads(json.dumps(data[name]))
