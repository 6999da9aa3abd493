"""Invalid parameters and inputs raise ParameterError (a ValueError) naming the culprit."""
import math
import warnings

import numpy as np
import pytest

import plasticity
from plasticity import PairSTDP, ParameterError, TripletSTDP

BAD_TAUS = [-5.0, 0.0, math.nan, math.inf, -math.inf]


def test_parameter_error_is_a_value_error():
    assert issubclass(ParameterError, ValueError)


# ----------------------------------------------------------------------------------------
# Rule parameters
# ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("value", BAD_TAUS)
@pytest.mark.parametrize("name", ["tau_plus", "tau_minus"])
def test_pair_bad_time_constants(name, value):
    with pytest.raises(ParameterError, match=name):
        PairSTDP(**{name: value})


@pytest.mark.parametrize("value", BAD_TAUS)
@pytest.mark.parametrize("name", ["tau_plus", "tau_minus", "tau_x", "tau_y"])
def test_triplet_bad_time_constants(name, value):
    with pytest.raises(ParameterError, match=name):
        TripletSTDP(**{name: value})


def test_message_names_value_and_rule():
    with pytest.raises(ParameterError, match=r"tau_plus must be > 0 ms, got -5\.0"):
        PairSTDP(tau_plus=-5.0)
    with pytest.raises(ParameterError, match=r"tau_minus.*nan"):
        PairSTDP(tau_minus=math.nan)


@pytest.mark.parametrize("name", ["a_plus", "a_minus"])
def test_pair_negative_amplitudes(name):
    with pytest.raises(ParameterError, match=rf"{name}.*-0\.01"):
        PairSTDP(**{name: -0.01})


@pytest.mark.parametrize("value", [math.nan, math.inf])
def test_pair_non_finite_amplitude(value):
    with pytest.raises(ParameterError, match="a_plus"):
        PairSTDP(a_plus=value)


@pytest.mark.parametrize("name", ["a2_plus", "a3_plus", "a2_minus", "a3_minus"])
def test_triplet_negative_amplitudes(name):
    with pytest.raises(ParameterError, match=name):
        TripletSTDP(**{name: -1e-3})


def test_zero_amplitudes_are_allowed():
    assert PairSTDP(a_plus=0.0, a_minus=0.0).a_plus == 0.0
    assert TripletSTDP(a2_plus=0.0, a3_minus=0.0).a2_plus == 0.0


@pytest.mark.parametrize("cls", [PairSTDP, TripletSTDP])
@pytest.mark.parametrize("w_min, w_max", [(1.0, 1.0), (1.0, 0.5), (0.0, -1.0)])
def test_bounds_in_wrong_order(cls, w_min, w_max):
    with pytest.raises(ParameterError, match="w_max"):
        cls(w_min=w_min, w_max=w_max)


@pytest.mark.parametrize("cls", [PairSTDP, TripletSTDP])
@pytest.mark.parametrize("name", ["w_min", "w_max"])
def test_non_finite_bounds(cls, name):
    with pytest.raises(ParameterError, match=name):
        cls(**{name: math.nan})


def test_unknown_scheme():
    with pytest.raises(ParameterError, match="scheme.*'nearest'"):
        PairSTDP(scheme="nearest")   # the triplet name is not a pair scheme
    with pytest.raises(ParameterError, match="scheme"):
        TripletSTDP(scheme="nearest_symmetric")


def test_unknown_weight_dependence():
    with pytest.raises(ParameterError, match="weight_dependence.*'gutig'"):
        PairSTDP(weight_dependence="gutig")


@pytest.mark.parametrize("value", [-0.1, 1.5, math.nan])
@pytest.mark.parametrize("name", ["mu_plus", "mu_minus"])
def test_mu_outside_unit_interval(name, value):
    with pytest.raises(ParameterError, match=name):
        PairSTDP(weight_dependence="power_law", **{name: value})


@pytest.mark.parametrize("dependence", ["additive", "multiplicative"])
@pytest.mark.parametrize("name", ["mu_plus", "mu_minus"])
def test_mu_without_power_law(name, dependence):
    with pytest.raises(ParameterError, match=name):
        PairSTDP(weight_dependence=dependence, **{name: 0.5})


def test_mu_edges_allowed_with_power_law():
    rule = PairSTDP(weight_dependence="power_law", mu_plus=0.0, mu_minus=1.0)
    assert rule.mu == (0.0, 1.0)


@pytest.mark.parametrize("key", [("visual_cortex", "nearest", "minimal"),
                                 ("cortex", "all_to_all", "full"),
                                 ("hippocampal", "nearest_symmetric", "full")])
def test_unknown_from_paper_key(key):
    with pytest.raises(ParameterError, match="/".join(key)):
        TripletSTDP.from_paper(*key)


def test_from_paper_bad_override_is_validated():
    with pytest.raises(ParameterError, match="tau_y"):
        TripletSTDP.from_paper("hippocampal", "all_to_all", "full", tau_y=-1.0)


# ----------------------------------------------------------------------------------------
# replay inputs
# ----------------------------------------------------------------------------------------

RULE = PairSTDP()
PRE = [np.array([1.0, 5.0]), np.array([2.0])]
POST = [np.array([3.0])]
W0 = np.full((1, 2), 0.5)


def test_replay_valid_inputs_pass():
    """Guard: the fixtures below are valid except for the one thing each test breaks."""
    w = plasticity.replay(RULE, PRE, POST, W0, dt=0.1, duration=10.0)
    assert w.shape == (1, 2)


@pytest.mark.parametrize("dt", [0.0, -0.1, math.nan, math.inf])
def test_replay_bad_dt(dt):
    with pytest.raises(ParameterError, match="dt"):
        plasticity.replay(RULE, PRE, POST, W0, dt=dt)


@pytest.mark.parametrize("duration", [0.0, -1.0, math.nan])
def test_replay_bad_duration(duration):
    with pytest.raises(ParameterError, match="duration"):
        plasticity.replay(RULE, PRE, POST, W0, duration=duration)


@pytest.mark.parametrize("train, what", [
    (np.array([5.0, 1.0]), "unsorted"),
    (np.array([1.0, 1.0, 2.0]), "repeated"),
    (np.array([-1.0, 2.0]), "negative"),
    (np.array([1.0, math.nan]), "nan"),
    (np.array([1.0, math.inf]), "inf"),
    (np.array([[1.0, 2.0]]), "2-D"),
])
def test_replay_bad_pre_train(train, what):
    with pytest.raises(ParameterError, match=r"pre_times\[1\]"):
        plasticity.replay(RULE, [PRE[0], train], POST, W0)


@pytest.mark.parametrize("train", [np.array([3.0, 2.0]), np.array([3.0, 3.0]), np.array([-0.5])])
def test_replay_bad_post_train(train):
    with pytest.raises(ParameterError, match=r"post_times\[0\]"):
        plasticity.replay(RULE, PRE, [train], W0)


def test_replay_bare_array_instead_of_list():
    with pytest.raises(ParameterError, match="pre_times.*sequence"):
        plasticity.replay(RULE, np.array([1.0, 5.0]), POST, np.full((1, 1), 0.5))
    with pytest.raises(ParameterError, match="post_times"):
        plasticity.replay(RULE, PRE, np.array([3.0]), W0)


def test_replay_list_of_floats_instead_of_list_of_arrays():
    with pytest.raises(ParameterError, match=r"pre_times\[0\]"):
        plasticity.replay(RULE, [1.0, 5.0], POST, W0)


def test_replay_no_neurons():
    with pytest.raises(ParameterError, match="pre_times"):
        plasticity.replay(RULE, [], POST, np.zeros((1, 0)))


@pytest.mark.parametrize("w0", [np.full((2, 1), 0.5), np.full((1, 3), 0.5), np.full(2, 0.5)])
def test_replay_w0_shape(w0):
    with pytest.raises(ParameterError, match=r"w0.*\(1, 2\)"):
        plasticity.replay(RULE, PRE, POST, w0)


@pytest.mark.parametrize("bad", [-0.01, 1.01, math.nan])
def test_replay_w0_outside_bounds(bad):
    with pytest.raises(ParameterError, match="w0"):
        plasticity.replay(RULE, PRE, POST, np.array([[0.5, bad]]))


def test_replay_w0_outside_shifted_bounds():
    rule = PairSTDP(w_min=0.2, w_max=0.4)
    with pytest.raises(ParameterError, match="w0"):
        plasticity.replay(rule, PRE, POST, np.array([[0.3, 0.1]]))
    # and the bounds themselves are inside
    assert plasticity.replay(rule, PRE, POST, np.array([[0.2, 0.4]])).shape == (1, 2)


def test_replay_two_spikes_in_one_step():
    # 1.0 ms and 1.05 ms are both on step floor(t/0.1 + 1e-3) = 10
    pre = [np.array([1.0, 1.05]), np.array([2.0])]
    with pytest.raises(ParameterError, match=r"pre_times\[0\].*dt"):
        plasticity.replay(RULE, pre, POST, W0, dt=0.1)
    # event-driven, the same trains are fine
    assert plasticity.replay(RULE, pre, POST, W0).shape == (1, 2)
    with pytest.raises(ParameterError, match=r"post_times\[0\]"):
        plasticity.replay(RULE, PRE, [np.array([3.0, 3.5])], W0, dt=1.0)


def test_replay_dt_larger_than_half_smallest_tau_warns():
    rule = PairSTDP(tau_plus=10.0, tau_minus=30.0)
    pre, post, w0 = [np.array([1.0, 20.0])], [np.array([8.0])], np.array([[0.5]])
    with pytest.warns(UserWarning, match=r"dt = 5\.5 ms is larger than half the smallest time constant "
                                         r"\(10 ms\): results will be coarse"):
        plasticity.replay(rule, pre, post, w0, dt=5.5)
    triplet = TripletSTDP(tau_plus=16.8, tau_minus=33.7, tau_x=101.0, tau_y=12.0)
    with pytest.warns(UserWarning, match=r"larger than half the smallest time constant \(12 ms\)"):
        plasticity.replay(triplet, pre, post, w0, dt=6.5)  # > 12 / 2: tau_y is the smallest


def test_dt_between_a_tenth_and_half_of_tau_warns_with_numbers():
    """Issue 13 item 5: results change there; the warning gives dt/tau, the per-step decay,
    the error's order dt/(2 tau) and the dt that keeps it near 5%."""
    rule = PairSTDP(tau_plus=10.0, tau_minus=30.0)
    with pytest.warns(UserWarning) as caught:
        plasticity.replay(rule, [np.array([1.0, 7.0])], POST, np.array([[0.5]]), dt=2.0)
    (message,) = [str(w.message) for w in caught]
    assert message == ("dt = 2 ms is 0.2 of the smallest time constant (10 ms): results change with dt "
                       f"(per-step decay exp(-dt/tau) = {np.exp(-0.2):.3f}, discretisation error of order "
                       "dt/(2 tau) = 10%); use dt <= 1 ms for results within about 5%")


def test_dt_far_above_tau_says_over_100_percent_not_a_huge_number():
    """dt/(2 tau) is an order of the error only while it is small: beyond dt = 2 tau (100%) the
    warning says "over 100%" instead of printing numbers like 8.7e115%."""
    rule = PairSTDP(tau_plus=10.0, tau_minus=30.0)
    with pytest.warns(UserWarning) as caught:
        plasticity.replay(rule, [np.array([1.0, 70.0])], POST, np.array([[0.5]]), dt=25.0)
    (message,) = [str(w.message) for w in caught]
    assert "dt = 25 ms is larger than half the smallest time constant (10 ms)" in message
    assert "dt/(2 tau) = over 100%); use dt <= 1 ms" in message


def test_replay_dt_at_a_tenth_of_smallest_tau_does_not_warn():
    rule = PairSTDP(tau_plus=10.0, tau_minus=30.0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        plasticity.replay(rule, [np.array([1.0, 7.0])], POST, np.array([[0.5]]), dt=1.0)
    assert [str(w.message) for w in caught if issubclass(w.category, UserWarning)] == []


def test_replay_names_the_right_tool_for_rules_outside_the_family():
    from plasticity import DopamineSTDP

    with pytest.raises(ParameterError, match="replay_modulated"):
        plasticity.replay(DopamineSTDP(), [np.array([1.0])], [np.array([2.0])], np.full((1, 1), 0.5))


# ----------------------------------------------------------------------------------------
# One declarative path (issue 13 items 3, 4): every parameter dataclass, the same rule
# ----------------------------------------------------------------------------------------

def _parameter_classes():
    import models
    from plasticity import (AdExClopath, ClopathSTDP, DopamineSTDP, EPropRule, InhibitorySTDP, OTTTRule)

    return [PairSTDP, TripletSTDP, InhibitorySTDP, DopamineSTDP, ClopathSTDP, AdExClopath, EPropRule,
            OTTTRule, models.LIF, models.AdEx, models.Readout, models.PoissonGroup]


def _numeric_fields(cls):
    from plasticity.errors import field_specs

    return [(f.name, rule) for f, rule in field_specs(cls) if rule is not None and rule.kind in ("float", "int")]


def _required(cls):
    return {"n": 2} if "n" in {f.name for f in __import__("dataclasses").fields(cls)} else {}


@pytest.mark.parametrize("cls", _parameter_classes(), ids=lambda c: c.__name__)
def test_numbers_are_numbers_in_every_parameter_class(cls):
    """Strings, bools and one-element arrays are refused naming the field; NumPy scalars and
    ints become the field's Python type (float fields hold floats)."""
    for name, rule in _numeric_fields(cls):
        kwargs = _required(cls)
        default = getattr(cls(**kwargs), name)
        if default is None:
            continue
        for bad in (str(default), True, np.array([default]), math.nan):
            with pytest.raises(ParameterError, match=rf"^{name} must be "):
                cls(**{**kwargs, name: bad})
        converted = cls(**{**kwargs, name: np.float64(default) if rule.kind == "float" else np.int64(default)})
        assert type(getattr(converted, name)) is (float if rule.kind == "float" else int)
        assert getattr(converted, name) == default


def test_issue_examples_of_item_4():
    with pytest.raises(ParameterError, match=r"tau_plus must be a finite number > 0 ms, got '16\.8' \(a str\)"):
        PairSTDP(tau_plus="16.8")
    with pytest.raises(ParameterError, match=r"tau_plus .* got True"):
        PairSTDP(tau_plus=True)
    with pytest.raises(ParameterError, match=r"a_ltd .* got '1e-4'"):
        plasticity.ClopathSTDP(a_ltd="1e-4")
    rule = PairSTDP(tau_plus=17, a_plus=np.float32(0.5))
    assert type(rule.tau_plus) is float and rule.tau_plus == 17.0 and rule.a_plus == 0.5


def test_declared_constraints_are_enforced_at_the_stated_bounds():
    """Each float field with a bound: the bound itself is accepted or refused as the spec says."""
    for cls in _parameter_classes():
        for name, rule in _numeric_fields(cls):
            kwargs = _required(cls)
            for bound, inclusive in ((rule.gt, False), (rule.ge, True)):
                if bound is None:
                    continue
                edge = {**kwargs, name: float(bound) if rule.kind == "float" else int(bound)}
                if inclusive:
                    try:
                        cls(**edge)
                    except ParameterError as exc:   # another field's cross-check may refuse it
                        assert not str(exc).startswith(f"{name} must be"), exc
                else:
                    with pytest.raises(ParameterError, match=rf"^{name} must be > "):
                        cls(**edge)


def _protocol_configs():
    from protocols import registry

    return [(name, registry.get(name).Config) for name in registry.names()]


@pytest.mark.parametrize("name, config_cls", _protocol_configs(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_protocol_config_field_checked_by_name(name, config_cls):
    """Every float field of every protocol Config refuses NaN, inf, strings and bools at
    construction, naming the Config key (issue 13 item 3)."""
    import dataclasses
    import typing

    hints = typing.get_type_hints(config_cls)
    checked = 0
    for f in dataclasses.fields(config_cls):
        if hints.get(f.name) not in (float, int):
            continue
        for bad in ((math.nan, math.inf, "1.5", True) if hints[f.name] is float else ("3", 2.5, True)):
            with pytest.raises(ParameterError, match=rf"\b{f.name}\b"):
                config_cls(**{f.name: bad})
        checked += 1
    assert checked >= 2


def test_config_keys_named_not_the_rule_fields():
    from protocols import izhikevich2007, sjostrom_frequency, vogels2011

    with pytest.raises(ParameterError, match=r"^tau_stdp must be > 0 ms, got -1"):
        vogels2011.Config(tau_stdp=-1)
    with pytest.raises(ParameterError, match=r"^v_th must be a finite number"):
        izhikevich2007.Config(v_th=math.nan)
    with pytest.raises(ParameterError, match=r"^dts_ms\[1\] must be a finite number, got nan"):
        sjostrom_frequency.Config(dts_ms=(10.0, math.nan))


@pytest.mark.parametrize("kw, text", [(dict(kind="x"), "surrogate kind"), (dict(width=-1.0), "surrogate width"),
                                      (dict(gamma=True), "surrogate gamma"), (dict(slope="2"), "surrogate slope")])
def test_surrogate_parameters_are_named_on_the_one_validation_path(kw, text):
    from plasticity.surrogate import Surrogate

    with pytest.raises(ParameterError, match=text):
        Surrogate(**kw)
    assert type(Surrogate(width=2).width) is float and Surrogate(width=2).width == 2.0
