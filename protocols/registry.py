"""The protocols ``plab`` knows, by name, imported only when asked for.

A protocol module provides ``Config`` (a frozen dataclass with a ``small()`` classmethod),
``run(config, backend="native") -> Result``, ``plot(result) -> dict[str, Figure]`` and
``summary(result) -> str``; its docstring's first line describes it in ``plab list``.
"""
from __future__ import annotations

import importlib
import re
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

#: Unit of each rule parameter (by name or prefix); "weight" means the projection's weight unit.
_UNITS = {"tau": "ms", "tau_": "ms", "a_": "weight", "a2_": "weight", "a3_": "weight", "w_min": "weight",
          "w_max": "weight", "mu_": "1", "eta": "weight", "_hz": "Hz", "_ms": "ms", "f_target": "Hz",
          "c_reg": "1/Hz^2", "lam": "1"}
_DESCRIPTIONS = {
    "tau_plus": "time constant of the presynaptic trace r1 (potentiation branch)",
    "tau_minus": "time constant of the postsynaptic trace o1 (depression branch)",
    "tau_x": "time constant of the presynaptic triplet trace r2",
    "tau_y": "time constant of the postsynaptic triplet trace o2",
    "a_plus": "potentiation per pairing at dt -> 0 (magnitude)",
    "a_minus": "depression per pairing at dt -> 0 (magnitude)",
    "a2_plus": "pair potentiation amplitude",
    "a3_plus": "triplet potentiation amplitude (post-pre-post)",
    "a2_minus": "pair depression amplitude",
    "a3_minus": "triplet depression amplitude (pre-post-pre)",
    "w_min": "lower weight bound (weights clipped after each update)",
    "w_max": "upper weight bound (weights clipped after each update)",
    "weight_dependence": "f+/f-: additive (mu=0), multiplicative (mu=1), power_law (mu_plus/mu_minus)",
    "mu_plus": "power-law exponent of f+(w) (power_law only)",
    "mu_minus": "power-law exponent of f-(w) (power_law only)",
    "scheme": "which spike pairs interact (Morrison et al. 2008)",
    "tau": "time constant of both traces (iSTDP), ms",
    "eta": "learning rate (iSTDP: weight per unit trace; dopamine STDP: weight per ms per unit c per unit d)",
    "tau_c": "eligibility trace time constant (dopamine STDP)",
    "tau_d": "dopamine time constant (dopamine STDP)",
    "baseline": "dopamine baseline b in dw/dt = eta c (d - b)",
    "a_ltd": "Clopath depression per presynaptic spike per mV of [u_bar_minus - theta_minus]",
    "a_ltp": "Clopath potentiation per ms per mV^2 of [u - theta_plus][u_bar_plus - theta_minus] x x_bar",
    "theta_minus": "Clopath threshold of the filtered potentials (mV)",
    "theta_plus": "Clopath threshold of the membrane potential (mV)",
    "delay_u": "delay with which the filtered potentials are read (ms)",
    "rho0_hz": "target postsynaptic rate (iSTDP), Hz; alpha = 2 rho0 tau",
    "feedback": "learning-signal weights B: symmetric (W_out^T), random (fixed), adaptive (follows W_out^T)",
    "B": "feedback matrix (n_target, n_out), or None (drawn from seed; W_out^T for symmetric)",
    "seed": "seed of the random feedback matrix",
    "c_reg": "firing-rate regularisation strength",
    "f_target": "target firing rate of the regularisation, Hz",
    "lam": "OTTT presynaptic trace decay per step (None: exp(-dt/tau_m) of the target)",
}
#: Per-rule (class name) overrides of (unit, description) where a shared name means something
#: else in that rule.
_RULE_OVERRIDES = {
    "ClopathSTDP": {
        "a_ltd": ("weight/mV", _DESCRIPTIONS["a_ltd"]),
        "a_ltp": ("weight/(mV^2 ms)", _DESCRIPTIONS["a_ltp"]),
        "tau_x": ("ms", "time constant of the presynaptic trace x_bar"),
        "tau_minus": ("ms", "time constant of u_bar_minus, the filtered membrane potential of the LTD term"),
        "tau_plus": ("ms", "time constant of u_bar_plus, the filtered membrane potential of the LTP term"),
    },
    "DopamineSTDP": {
        "a_plus": ("eligibility", "eligibility change per pre-before-post pairing at dt -> 0 (magnitude)"),
        "a_minus": ("eligibility", "eligibility change per post-before-pre pairing at dt -> 0 (magnitude)"),
        "tau_plus": ("ms", "time constant of the presynaptic pair-STDP trace"),
        "tau_minus": ("ms", "time constant of the postsynaptic pair-STDP trace"),
    },
}
_CHOICES = {"weight_dependence": ("plasticity.stdp", "WEIGHT_DEPENDENCES"),
            "scheme": ("plasticity.stdp", "SCHEMES")}


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
    """One dict per field of a frozen rule dataclass: name, type, default, unit, description.

    ``unit`` is "ms", "Hz", "weight" (the projection's weight unit), "1" (dimensionless) or
    "" (a choice, then ``description`` lists the allowed values).
    """
    import dataclasses
    import typing

    hints = typing.get_type_hints(rule_cls)
    rows = []
    for f in dataclasses.fields(rule_cls):
        unit = _unit(f.name)
        text = _DESCRIPTIONS.get(f.name, "")
        if f.name in _RULE_OVERRIDES.get(rule_cls.__name__, {}):
            unit, text = _RULE_OVERRIDES[rule_cls.__name__][f.name]
        if not unit:  # a unit in parentheses at the end of the description: "... (mV)"
            found = re.search(r"\((mV|ms|Hz|pA|nS|pF|1/ms)\)\s*$", text)
            unit = found.group(1) if found else ""
        if f.name in _CHOICES:
            module, attr = _CHOICES[f.name]
            allowed = getattr(importlib.import_module(module), attr, ())
            if f.name == "scheme" and hasattr(importlib.import_module(rule_cls.__module__), "TRIPLET_SCHEMES"):
                allowed = importlib.import_module(rule_cls.__module__).TRIPLET_SCHEMES
            text = f"{text}; one of {', '.join(allowed)}" if allowed else text
        hint = hints.get(f.name, f.type)
        rows.append({"name": f.name, "type": getattr(hint, "__name__", str(hint)),
                     "default": f.default if f.default is not dataclasses.MISSING else None,
                     "unit": unit, "description": text})
    return rows


def _unit(name: str) -> str:
    """The unit of a rule parameter from its name: exact entries of ``_UNITS`` first, then
    prefixes (``tau_``), then suffixes (``_hz``, ``_ms``); "" when unknown."""
    if name in _UNITS:
        return _UNITS[name]
    for key, unit in sorted(_UNITS.items(), key=lambda kv: -len(kv[0])):
        if (key.endswith("_") and name.startswith(key)) or (key.startswith("_") and name.endswith(key)):
            return unit
    return ""


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
