"""Vogels-Sprekeler iSTDP: kernels == NumPy twin, == the paper's rule written out, drift, validation."""
import json
import math
from importlib import resources

import numpy as np
import pytest

from plasticity import InhibitorySTDP, ParameterError, replay
from plasticity.inhibitory import mean_drift
from plasticity.stdp import replay_reference


def vogels_by_hand(rule, pre, post, w0):
    """The rule as the paper states it, from spike histories (one synapse per pre/post pair)."""
    w = np.array(w0, dtype=float)
    n_post, n_pre = w.shape
    events = sorted([(t, 0, j) for j in range(n_pre) for t in pre[j]]
                    + [(t, 1, i) for i in range(n_post) for t in post[i]])
    seen_pre = [[] for _ in range(n_pre)]
    seen_post = [[] for _ in range(n_post)]
    for t, kind, n in events:
        if kind == 0:
            for i in range(n_post):
                x_post = sum(math.exp(-(t - s) / rule.tau) for s in seen_post[i])
                w[i, n] = min(max(w[i, n] + rule.eta * (x_post - rule.alpha), rule.w_min), rule.w_max)
            seen_pre[n].append(t)
        else:
            for j in range(n_pre):
                x_pre = sum(math.exp(-(t - s) / rule.tau) for s in seen_pre[j])
                w[n, j] = min(max(w[n, j] + rule.eta * x_pre, rule.w_min), rule.w_max)
            seen_post[n].append(t)
    return w


def random_trains(rng, n_pre=3, n_post=2, n=40, T=1000.0):
    pre = [np.unique(rng.uniform(0, T, n)) for _ in range(n_pre)]
    post = [np.unique(rng.uniform(0, T, n)) for _ in range(n_post)]
    post[0] = np.unique(np.r_[post[0], pre[0][:4]])  # simultaneous pre/post spikes
    return pre, post


@pytest.mark.parametrize("eta,w_max", [(1e-3, 1.0), (0.05, 0.3)], ids=["published", "bounds-hit"])
def test_kernel_equals_twin_and_paper_rule(rng, eta, w_max):
    rule = InhibitorySTDP(eta=eta, w_max=w_max)
    pre, post = random_trains(rng)
    w0 = rng.uniform(0.05, 0.25, (2, 3))
    got = replay(rule, pre, post, w0)
    np.testing.assert_allclose(got, replay_reference(rule.kernel_params(), pre, post, w0), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(got, vogels_by_hand(rule, pre, post, w0), rtol=1e-12, atol=1e-15)
    if w_max == 0.3:  # the bounds are really exercised
        assert got.min() == 0.0 or got.max() == w_max


def test_single_pairs_by_hand():
    rule = InhibitorySTDP()
    assert rule.alpha == pytest.approx(0.12)
    w0 = np.array([[0.5]])
    # a lone pre spike: w -= eta * alpha
    assert replay(rule, [np.array([10.0])], [np.zeros(0)], w0)[0, 0] == pytest.approx(0.5 - 1e-3 * 0.12, rel=1e-14)
    # pre at 10, post at 15: -eta*alpha + eta*exp(-5/20)
    got = replay(rule, [np.array([10.0])], [np.array([15.0])], w0)[0, 0]
    assert got == pytest.approx(0.5 - 1.2e-4 + 1e-3 * math.exp(-0.25), rel=1e-14)
    # post at 10, pre at 15: symmetric window, eta*exp(-5/20) - eta*alpha
    got2 = replay(rule, [np.array([15.0])], [np.array([10.0])], w0)[0, 0]
    assert got2 == pytest.approx(got, rel=1e-14)


def test_weights_never_go_below_zero():
    rule = InhibitorySTDP(eta=0.1)
    pre = [np.arange(1.0, 500.0, 7.0)]
    w = replay(rule, pre, [np.zeros(0)], np.array([[0.05]]))
    assert w[0, 0] == 0.0


def test_mean_drift_matches_poisson_replay():
    """Independent Poisson trains: the average weight change is the closed-form drift."""
    rng = np.random.default_rng(3)
    rule = InhibitorySTDP(eta=1e-4, w_max=1e6)
    T, r_pre = 200_000.0, 10.0
    pre = [np.unique(rng.uniform(0, T, rng.poisson(r_pre * T / 1000))) for _ in range(20)]
    for r_post in (1.0, 3.0, 8.0):
        post = [np.unique(rng.uniform(0, T, rng.poisson(r_post * T / 1000)))]
        w = replay(rule, pre, post, np.full((1, 20), 100.0))
        measured = (w.mean() - 100.0) / (T / 1000)
        r_post_emp = post[0].size / (T / 1000)
        r_pre_emp = np.mean([p.size for p in pre]) / (T / 1000)
        want = mean_drift(rule, r_pre_emp, r_post_emp)
        assert measured == pytest.approx(want, abs=0.08 * abs(mean_drift(rule, r_pre, 0.0)))
    assert mean_drift(rule, 10.0, 3.0) == pytest.approx(0.0, abs=1e-15)
    assert mean_drift(rule, 10.0, 5.0) > 0 > mean_drift(rule, 10.0, 1.0)


def test_published_values_are_the_defaults():
    data = json.loads(resources.files("analysis").joinpath("data/plasticity_data.json").read_text())
    ref = data["vogels2011_inhibitory"]
    rule = InhibitorySTDP()
    assert ref["verified"] is True
    assert (rule.tau, rule.eta, rule.rho0_hz) == (ref["tau"], ref["eta"], ref["rho0_hz"])
    assert rule.alpha == pytest.approx(ref["alpha"])


@pytest.mark.parametrize("kwargs,name", [
    (dict(tau=-1.0), "tau"), (dict(eta=0.0), "eta"), (dict(rho0_hz=float("nan")), "rho0_hz"),
    (dict(w_min=-0.1), "w_min"), (dict(w_max=0.0), "w_max"),
])
def test_bad_parameters_name_themselves(kwargs, name):
    with pytest.raises(ParameterError, match=name):
        InhibitorySTDP(**kwargs)
