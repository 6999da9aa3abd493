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
    "compare_bptt": "protocols.compare_bptt",
    "vogels2011": "protocols.vogels2011",
    "izhikevich2007": "protocols.izhikevich2007",
    "clopath2010": "protocols.clopath2010",
    "bi_poo": "protocols.bi_poo",
    "sjostrom_frequency": "protocols.sjostrom_frequency",
    "triplet_bcm": "protocols.triplet_bcm",
    "effective_window": "protocols.effective_window",
    "eprop_network": "protocols.eprop_network",
    "tdbn_depth": "protocols.tdbn_depth",
    "coding_energy": "protocols.coding_energy",
    "surrogate_sweep": "protocols.surrogate_sweep",
}

REQUIRED = ("Config", "run", "plot", "summary")


def names() -> list[str]:
    """The registered protocol names, sorted."""
    return sorted(PROTOCOLS)


def canonical(name: str) -> str:
    """The registry spelling of a protocol name: dashes read as underscores (compare-bptt)."""
    return name.replace("-", "_")


def get(name: str) -> ModuleType:
    """Import and return the protocol module registered as ``name``.

    Raises ParameterError for an unknown name (listing the known ones) or a registered
    module that does not exist, and AttributeError for a module lacking a required name.
    """
    name = canonical(name)
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


# --- rules and tasks, for `plab list` and `plab rules` ---------------------------------------

RULES = {
    "pair": "plasticity.PairSTDP",
    "triplet": "plasticity.TripletSTDP",
    "inhibitory": "plasticity.InhibitorySTDP",
    "dopamine": "plasticity.DopamineSTDP",
    "clopath": "plasticity.ClopathSTDP",
    "eprop": "plasticity.EPropRule",
    "ottt": "plasticity.OTTTRule",
}
TASKS_MODULE = "protocols.tasks"

def rule_names() -> list[str]:
    """The rule names ``plab rules`` knows, sorted."""
    return sorted(RULES)


def get_rule(name: str) -> type:
    """The rule's parameter dataclass registered as ``name`` (ParameterError if unknown)."""
    if name not in RULES:
        raise ParameterError(f"unknown rule {name!r}; known: {', '.join(rule_names())}")
    module, _, attr = RULES[name].rpartition(".")
    return getattr(importlib.import_module(module), attr)


def rule_parameters(rule_cls: type) -> list[dict]:
    """One dict per field of a rule (or any parameter) dataclass: name, type, default, unit,
    description, allowed — read from the fields' declared specs (:func:`plasticity.errors.describe`).

    ``unit`` is "ms", "Hz", "mV", "weight" (the projection's weight unit), "1" (dimensionless)
    or "" (a choice or a non-numeric value; ``description`` then lists the allowed values).
    """
    from plasticity.errors import describe

    rows = describe(rule_cls)
    for row, (f, rule) in zip(rows, _field_specs(rule_cls)):
        if rule is not None and rule.choices and rule.kind == "str":
            row["description"] = f"{row['description']}; one of {', '.join(rule.choices)}".lstrip("; ")
    return rows


def _field_specs(cls):
    from plasticity.errors import field_specs

    return field_specs(cls)


def tasks() -> dict[str, str]:
    """Learning tasks of ``protocols.tasks`` (name -> one-line description), or {} when that
    module does not exist yet. A ``TASKS`` mapping in the module is used when present,
    else its public classes and functions."""
    import inspect

    try:
        module = importlib.import_module(TASKS_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name in (TASKS_MODULE, "protocols"):
            return {}
        raise
    entries = getattr(module, "TASKS", None)
    if entries is None:
        entries = {name: obj for name, obj in vars(module).items()
                   if not name.startswith("_") and (inspect.isclass(obj) or inspect.isfunction(obj))
                   and getattr(obj, "__module__", None) == module.__name__}
    out = {}
    for name, obj in entries.items():
        doc = obj if isinstance(obj, str) else (inspect.getdoc(obj) or "")
        out[str(name)] = _first_sentence(doc)
    return dict(sorted(out.items()))


def _first_sentence(doc: str, limit: int = 110) -> str:
    """The docstring's first paragraph on one line, cut after its first sentence when long."""
    paragraph = " ".join(doc.strip().split("\n\n")[0].split())
    if len(paragraph) > limit:
        end = paragraph.find(". ")
        paragraph = paragraph[:end + 1] if 0 < end < limit else paragraph[:limit - 3].rstrip() + "..."
    return paragraph
