"""Every public parameter dataclass, every protocol Config: any value for any field is either
accepted (and then the object is finite where it holds numbers, and a rule replays to finite
weights) or refused with a ParameterError that names the field. Never another exception.

Issue 13, "tests that keep it so". Bounded: FAST_EXAMPLES per class here, SLOW_EXAMPLES under
``-m slow`` (``make test-slow``)."""
import dataclasses
import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import models
import plasticity
from plasticity import ParameterError
from plasticity.surrogate import Surrogate

from .strategies import FAST_EXAMPLES, SLOW_EXAMPLES, anything

RULES = [plasticity.PairSTDP, plasticity.TripletSTDP, plasticity.InhibitorySTDP, plasticity.DopamineSTDP,
         plasticity.ClopathSTDP, plasticity.EPropRule, plasticity.OTTTRule]
CLASSES = RULES + [plasticity.AdExClopath, Surrogate, models.LIF, models.AdEx, models.Readout,
                   models.PoissonGroup, models.SpikeGeneratorGroup]
REQUIRED = {"n": 2}
STDP_FAMILY = (plasticity.PairSTDP, plasticity.TripletSTDP, plasticity.InhibitorySTDP)


def _init_fields(cls):
    return [f.name for f in dataclasses.fields(cls) if f.init]


def _finite_numbers(obj) -> bool:
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if isinstance(value, (float, int, np.number)) and not isinstance(value, bool):
            if not math.isfinite(float(value)):
                return False
    return True


def _replay_is_finite(rule) -> bool:
    pre, post = [np.array([1.0, 9.0, 30.0])], [np.array([4.0, 10.0])]
    w0 = np.full((1, 1), 0.5 * (rule.w_min + rule.w_max))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        w = plasticity.replay(rule, pre, post, w0)
    return bool(np.all(np.isfinite(w))) and rule.w_min <= w[0, 0] <= rule.w_max


def check_one(cls, field: str, value):
    kwargs = {k: v for k, v in REQUIRED.items() if k in _init_fields(cls)}
    kwargs[field] = value
    try:
        obj = cls(**kwargs)
    except ParameterError as exc:
        assert field in str(exc), f"{cls.__name__}({field}={value!r}): message does not name {field}: {exc}"
        return "refused"
    assert _finite_numbers(obj), f"{cls.__name__}({field}={value!r}) accepted a non-finite number: {obj}"
    if isinstance(obj, STDP_FAMILY):
        assert _replay_is_finite(obj), f"{obj} replays to non-finite or out-of-bound weights"
    return "accepted"


def _outcomes(cls, examples) -> list[str]:
    """Run the property; the outcome ("accepted"/"refused") of every example it tried."""
    seen = []

    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(field=st.sampled_from(_init_fields(cls)), value=anything)
    def prop(field, value):
        seen.append(check_one(cls, field, value))

    prop()
    return seen


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_constructor_accepts_or_names_the_field(cls):
    outcomes = _outcomes(cls, FAST_EXAMPLES)
    assert "refused" in outcomes, "no example reached a refusal: the property checked nothing"


@pytest.mark.slow
@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_constructor_accepts_or_names_the_field_many(cls):
    outcomes = _outcomes(cls, SLOW_EXAMPLES)
    assert "refused" in outcomes, "no example reached a refusal: the property checked nothing"


def _configs():
    from protocols import registry

    return [registry.get(name).Config for name in registry.names()]


@pytest.mark.parametrize("cls", _configs(), ids=lambda c: c.__module__.split(".")[-1])
def test_protocol_config_accepts_or_names_the_field(cls):
    outcomes = _outcomes(cls, FAST_EXAMPLES)
    assert "refused" in outcomes, "no example reached a refusal: the property checked nothing"


@pytest.mark.slow
@pytest.mark.parametrize("cls", _configs(), ids=lambda c: c.__module__.split(".")[-1])
def test_protocol_config_accepts_or_names_the_field_many(cls):
    outcomes = _outcomes(cls, SLOW_EXAMPLES)
    assert "refused" in outcomes, "no example reached a refusal: the property checked nothing"
