"""Izhikevich 2007 dopamine-modulated STDP: closed-form integral, kernel == twin, hand cases."""
import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy.integrate import quad

import protocols
from plasticity import ParameterError
from plasticity.modulated import (DopamineSTDP, eligibility_integral, replay_modulated,
                                  replay_modulated_reference)


@pytest.mark.parametrize("baseline", [0.0, 0.3])
def test_closed_form_integral_matches_quadrature(rng, baseline):
    for _ in range(20):
        c0, d0 = rng.normal(), rng.uniform(0, 2)
        T, tau_c, tau_d = rng.uniform(1, 5000), rng.uniform(100, 2000), rng.uniform(20, 500)
        want, _ = quad(lambda u: c0 * math.exp(-u / tau_c) * (d0 * math.exp(-u / tau_d) - baseline), 0, T,
                       epsabs=1e-13, epsrel=1e-12)
        assert eligibility_integral(c0, d0, T, tau_c, tau_d, baseline) == pytest.approx(want, rel=1e-9, abs=1e-12)


def test_closed_form_matches_fine_euler():
    """A clock-driven dt = 0.01 ms Euler integration converges to the event-driven weight."""
    rule = DopamineSTDP(eta=1e-3, w_max=10.0)
    pre, post, t_r, T = [np.array([10.0])], [np.array([15.0])], 600.0, 1500.0
    w_exact = replay_modulated(rule, pre, post, [t_r], [0.5], np.array([[1.0]]), duration=T)[0, 0]
    dt = 0.01
    t = np.arange(0.0, T, dt)
    c = np.where(t >= 15.0, rule.a_plus * math.exp(-5.0 / 20.0) * np.exp(-(t - 15.0) / rule.tau_c), 0.0)
    d = np.where(t >= t_r, 0.5 * np.exp(-(t - t_r) / rule.tau_d), 0.0)
    w_euler = 1.0 + rule.eta * np.sum(c * d) * dt
    assert w_exact == pytest.approx(w_euler, rel=1e-4)
    # and by hand: c at the reward times d's integral
    c_r = math.exp(-0.25) * math.exp(-(t_r - 15.0) / 1000.0)
    by_hand = 1.0 + 1e-3 * c_r * 0.5 * rule.tau_cd * (1 - math.exp(-(T - t_r) / rule.tau_cd))
    assert w_exact == pytest.approx(by_hand, rel=1e-13)


def test_no_reward_no_change():
    rule = DopamineSTDP()
    rng = np.random.default_rng(0)
    pre = [np.sort(rng.uniform(0, 1000, 30)) for _ in range(3)]
    post = [np.sort(rng.uniform(0, 1000, 30)) for _ in range(2)]
    w0 = np.full((2, 3), 0.5)
    np.testing.assert_array_equal(replay_modulated(rule, pre, post, [], [], w0, duration=2000.0), w0)


def trains(rng, n_pre=3, n_post=2, n=25, T=3000.0):
    pre = [np.unique(rng.uniform(0, T, n)) for _ in range(n_pre)]
    post = [np.unique(rng.uniform(0, T, n)) for _ in range(n_post)]
    post[0] = np.unique(np.r_[post[0], pre[0][:3]])  # simultaneous spikes
    rewards = np.sort(rng.uniform(0, T, 6))
    rewards[2] = pre[1][5]  # a reward at the time of a spike
    rewards = np.sort(rewards)
    return pre, post, rewards, rng.uniform(0.2, 1.0, rewards.size)


@pytest.mark.parametrize("rule", [
    DopamineSTDP(eta=1e-3),
    DopamineSTDP(eta=1e-3, baseline=0.05, tau_minus=30.0),
    DopamineSTDP(eta=0.05, w_min=0.3, w_max=0.6),
], ids=["published", "baseline", "bounds-hit"])
def test_kernel_equals_twin(rng, rule):
    pre, post, r_t, r_a = trains(rng)
    w0 = rng.uniform(0.35, 0.55, (2, 3))
    T = 4000.0
    got = replay_modulated(rule, pre, post, r_t, r_a, w0, duration=T)
    want = replay_modulated_reference(rule.params(), pre, post, r_t, r_a, w0, T)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
    assert not np.allclose(got, w0)
    if rule.w_max == 0.6:
        assert got.min() == 0.3 or got.max() == 0.6


def test_published_values_are_the_defaults():
    data = json.loads((Path(protocols.__file__).parents[1] / "analysis" / "data" / "plasticity_data.json").read_text())
    ref = data["izhikevich2007_dopamine"]
    rule = DopamineSTDP()
    assert ref["verified"] is True
    assert (rule.tau_c, rule.tau_d, rule.tau_plus, rule.a_plus, rule.a_minus) == (
        ref["tau_c"], ref["tau_d"], ref["tau_plus"], ref["a_plus"], ref["a_minus"])


@pytest.mark.parametrize("kwargs,name", [
    (dict(tau_c=0.0), "tau_c"), (dict(tau_d=-1.0), "tau_d"), (dict(a_minus=-1.0), "a_minus"),
    (dict(eta=0.0), "eta"), (dict(baseline=float("inf")), "baseline"), (dict(w_max=-1.0), "w_max"),
])
def test_bad_parameters_name_themselves(kwargs, name):
    with pytest.raises(ParameterError, match=name):
        DopamineSTDP(**kwargs)


def test_bad_inputs():
    rule = DopamineSTDP()
    with pytest.raises(ParameterError, match="reward_amounts"):
        replay_modulated(rule, [np.array([1.0])], [np.array([2.0])], [1.0, 2.0], [1.0], np.zeros((1, 1)))
    with pytest.raises(ParameterError, match="w0"):
        replay_modulated(rule, [np.array([1.0])], [np.array([2.0])], [], [], np.zeros((2, 1)))
    with pytest.raises(ParameterError, match="pre_times"):
        replay_modulated(rule, [np.array([2.0, 1.0])], [np.array([2.0])], [], [], np.zeros((1, 1)))


def test_not_accepted_where_pair_family_rules_are():
    """The dopamine rule has its own kernels: the native loop needs its modulator (the family is
    tested in tests/contract/test_dopamine_in_network.py) and the Brian2 equations refuse it."""
    import models
    from plasticity.brian import to_brian
    net = models.Network(dt=0.1)
    a = net.add(models.PoissonGroup(2, rate=5.0))
    b = net.add(models.LIF(1))
    with pytest.raises(ParameterError, match="modulator must be given for a DopamineSTDP projection"):
        net.connect(a, b, weight=0.5, rule=DopamineSTDP())
    with pytest.raises(ParameterError, match="rule"):
        to_brian(DopamineSTDP())
