"""Pair STDP against hand formulas (expected values never come from the code under test).

potentiation  dw = +a_plus  * f+(w) * exp(-(t_post - t_pre)/tau_plus)   t_post >= t_pre
depression    dw = -a_minus * f-(w) * exp(-(t_pre - t_post)/tau_minus)  t_pre > t_post
f+(w) = ((w_max - w)/(w_max - w_min))**mu_plus, f-(w) = ((w - w_min)/(w_max - w_min))**mu_minus
"""
import math

import numpy as np
import pytest

import plasticity
from plasticity import PairSTDP

TP, TM = 16.8, 33.7
AP, AM = 0.01, 0.0105
SCHEMES = ("all_to_all", "nearest_symmetric", "nearest_pre_centred")


def dw_single(rule, pre, post, w0):
    """Weight change of one synapse (1 pre, 1 post neuron)."""
    w = plasticity.replay(rule, [np.asarray(pre, float)], [np.asarray(post, float)],
                          np.array([[w0]]))
    assert w.shape == (1, 1)
    return w[0, 0] - w0


# ----------------------------------------------------------------------------------------
# One pair
# ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("dt", [0.5, 3.0, 10.0, 25.0, 80.0])
def test_additive_pre_post_pair(dt, scheme):
    rule = PairSTDP(tau_plus=TP, tau_minus=TM, a_plus=AP, a_minus=AM, scheme=scheme)
    got = dw_single(rule, [5.0], [5.0 + dt], 0.5)
    np.testing.assert_allclose(got, AP * math.exp(-dt / TP), rtol=1e-12)


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("dt", [0.5, 3.0, 10.0, 25.0, 80.0])
def test_additive_post_pre_pair(dt, scheme):
    rule = PairSTDP(tau_plus=TP, tau_minus=TM, a_plus=AP, a_minus=AM, scheme=scheme)
    got = dw_single(rule, [5.0 + dt], [5.0], 0.5)
    np.testing.assert_allclose(got, -AM * math.exp(-dt / TM), rtol=1e-12)


def test_window_uses_the_right_time_constant_per_branch():
    """Different taus and amplitudes on each side: a swap of tau_plus/tau_minus is caught."""
    rule = PairSTDP(tau_plus=10.0, tau_minus=40.0, a_plus=0.02, a_minus=0.005)
    np.testing.assert_allclose(dw_single(rule, [0.0], [20.0], 0.5), 0.02 * math.exp(-2.0),
                               rtol=1e-12)
    np.testing.assert_allclose(dw_single(rule, [20.0], [0.0], 0.5), -0.005 * math.exp(-0.5),
                               rtol=1e-12)


W_MIN, W_MAX = 0.2, 1.7  # span 1.5, so a missing normalisation is visible


@pytest.mark.parametrize("w0", [0.25, 0.8, 1.6])
def test_multiplicative_pair(w0):
    rule = PairSTDP(tau_plus=TP, tau_minus=TM, a_plus=AP, a_minus=AM, w_min=W_MIN, w_max=W_MAX,
                    weight_dependence="multiplicative")
    span = W_MAX - W_MIN
    np.testing.assert_allclose(dw_single(rule, [0.0], [7.0], w0),
                               AP * (W_MAX - w0) / span * math.exp(-7.0 / TP), rtol=1e-12)
    np.testing.assert_allclose(dw_single(rule, [7.0], [0.0], w0),
                               -AM * (w0 - W_MIN) / span * math.exp(-7.0 / TM), rtol=1e-12)


@pytest.mark.parametrize("mu_plus, mu_minus", [(0.3, 0.8), (0.5, 0.5), (1.0, 0.0), (0.0, 1.0)])
@pytest.mark.parametrize("w0", [0.25, 0.8, 1.6])
def test_power_law_pair(w0, mu_plus, mu_minus):
    rule = PairSTDP(tau_plus=TP, tau_minus=TM, a_plus=AP, a_minus=AM, w_min=W_MIN, w_max=W_MAX,
                    weight_dependence="power_law", mu_plus=mu_plus, mu_minus=mu_minus)
    span = W_MAX - W_MIN
    np.testing.assert_allclose(dw_single(rule, [0.0], [7.0], w0),
                               AP * ((W_MAX - w0) / span) ** mu_plus * math.exp(-7.0 / TP),
                               rtol=1e-12)
    np.testing.assert_allclose(dw_single(rule, [7.0], [0.0], w0),
                               -AM * ((w0 - W_MIN) / span) ** mu_minus * math.exp(-7.0 / TM),
                               rtol=1e-12)


def test_soft_bounds_vanish_at_the_bounds():
    rule = PairSTDP(a_plus=0.1, a_minus=0.1, weight_dependence="multiplicative")
    assert dw_single(rule, [0.0], [1.0], 1.0) == 0.0   # no potentiation at w_max
    assert dw_single(rule, [1.0], [0.0], 0.0) == 0.0   # no depression at w_min
    rule = PairSTDP(a_plus=0.1, a_minus=0.1, weight_dependence="power_law",
                    mu_plus=0.5, mu_minus=0.5)
    assert dw_single(rule, [0.0], [1.0], 1.0) == 0.0
    assert dw_single(rule, [1.0], [0.0], 0.0) == 0.0


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("dependence, factor", [("additive", 1.0), ("multiplicative", 0.7)])
def test_simultaneous_pre_post_is_potentiation_with_zero_lag(scheme, dependence, factor):
    """Pre events precede post events at equal times: one pair with dt = 0 -> +a_plus * f+."""
    rule = PairSTDP(a_plus=AP, a_minus=AM, scheme=scheme, weight_dependence=dependence)
    got = dw_single(rule, [12.5], [12.5], 0.3)  # f+(0.3) = 0.7 for the multiplicative rule
    np.testing.assert_allclose(got, AP * factor, rtol=1e-12)


def test_simultaneous_spikes_of_several_neurons():
    """2 pre x 2 post neurons, all at t = 4: every synapse gets exactly +a_plus."""
    rule = PairSTDP(a_plus=AP, a_minus=AM)
    w0 = np.array([[0.1, 0.2], [0.3, 0.4]])
    w = plasticity.replay(rule, [np.array([4.0]), np.array([4.0])],
                          [np.array([4.0]), np.array([4.0])], w0)
    np.testing.assert_allclose(w - w0, np.full((2, 2), AP), rtol=1e-12)


@pytest.mark.parametrize("dependence", ["additive", "multiplicative", "power_law"])
def test_clipping_at_the_bounds(dependence):
    kw = dict(mu_plus=0.5, mu_minus=0.5) if dependence == "power_law" else {}
    rule = PairSTDP(a_plus=5.0, a_minus=5.0, w_min=0.1, w_max=0.9,
                    weight_dependence=dependence, **kw)
    # a step of several spans overshoots for every weight dependence
    w_up = plasticity.replay(rule, [np.array([0.0])], [np.array([1.0])], np.array([[0.5]]))
    w_down = plasticity.replay(rule, [np.array([1.0])], [np.array([0.0])], np.array([[0.5]]))
    assert w_up[0, 0] == 0.9
    assert w_down[0, 0] == 0.1


def test_clipping_then_next_update_starts_from_the_bound():
    """Additive: 0.95 + 0.2 -> clipped to 1.0, then a depression of 0.3*e^{-5/tm} from 1.0."""
    rule = PairSTDP(tau_plus=TP, tau_minus=TM, a_plus=0.2, a_minus=0.3)
    w = plasticity.replay(rule, [np.array([10.0, 15.0])], [np.array([10.0])],
                          np.array([[0.95]]))
    # t=10: pre (no earlier post) then post (pair dt=0): 0.95 + 0.2 -> 1.0
    # t=15: pre, last post at 10: 1.0 - 0.3*exp(-5/tm)
    np.testing.assert_allclose(w[0, 0], 1.0 - 0.3 * math.exp(-5.0 / TM), rtol=1e-12)


# ----------------------------------------------------------------------------------------
# Pairing schemes on three- and four-spike examples (Morrison et al. 2008, Fig. 7)
# ----------------------------------------------------------------------------------------

def e_p(dt):
    return math.exp(-dt / TP)


def e_m(dt):
    return math.exp(-dt / TM)


def scheme_dw(scheme, pre, post):
    rule = PairSTDP(tau_plus=TP, tau_minus=TM, a_plus=AP, a_minus=AM, scheme=scheme)
    return dw_single(rule, pre, post, 0.5)


def test_schemes_two_pre_one_post():
    pre, post = [0.0, 10.0], [20.0]
    both = AP * (e_p(20.0) + e_p(10.0))
    np.testing.assert_allclose(scheme_dw("all_to_all", pre, post), both, rtol=1e-12)
    np.testing.assert_allclose(scheme_dw("nearest_symmetric", pre, post), AP * e_p(10.0),
                               rtol=1e-12)
    # each pre spike pairs with the first post after it: post at 20 for both
    np.testing.assert_allclose(scheme_dw("nearest_pre_centred", pre, post), both, rtol=1e-12)


def test_schemes_two_pre_two_post():
    pre, post = [0.0, 10.0], [20.0, 30.0]
    # post 20 pairs with pre 0, 10; post 30 with pre 0, 10 again
    a2a = AP * (e_p(20.0) + e_p(10.0) + e_p(30.0) + e_p(20.0))
    # each post with its last pre only (pre 10 for both)
    nearest = AP * (e_p(10.0) + e_p(20.0))
    # both pre spikes are consumed by the post at 20; the post at 30 has no partner
    pre_centred = AP * (e_p(20.0) + e_p(10.0))
    np.testing.assert_allclose(scheme_dw("all_to_all", pre, post), a2a, rtol=1e-12)
    np.testing.assert_allclose(scheme_dw("nearest_symmetric", pre, post), nearest, rtol=1e-12)
    np.testing.assert_allclose(scheme_dw("nearest_pre_centred", pre, post), pre_centred,
                               rtol=1e-12)


def test_schemes_two_post_one_pre():
    pre, post = [20.0], [0.0, 10.0]
    np.testing.assert_allclose(scheme_dw("all_to_all", pre, post),
                               -AM * (e_m(20.0) + e_m(10.0)), rtol=1e-12)
    np.testing.assert_allclose(scheme_dw("nearest_symmetric", pre, post), -AM * e_m(10.0),
                               rtol=1e-12)
    # the pre spike pairs with the last post before it
    np.testing.assert_allclose(scheme_dw("nearest_pre_centred", pre, post), -AM * e_m(10.0),
                               rtol=1e-12)


def test_schemes_two_post_two_pre():
    pre, post = [20.0, 30.0], [0.0, 10.0]
    a2a = -AM * (e_m(20.0) + e_m(10.0) + e_m(30.0) + e_m(20.0))
    # both schemes: each pre spike with the last post before it (post 10)
    nearest = -AM * (e_m(10.0) + e_m(20.0))
    np.testing.assert_allclose(scheme_dw("all_to_all", pre, post), a2a, rtol=1e-12)
    np.testing.assert_allclose(scheme_dw("nearest_symmetric", pre, post), nearest, rtol=1e-12)
    np.testing.assert_allclose(scheme_dw("nearest_pre_centred", pre, post), nearest, rtol=1e-12)


def test_schemes_interleaved():
    """pre 0, post 10, pre 15, post 30, pre 40 (additive, all contributions hand-summed)."""
    pre, post = [0.0, 15.0, 40.0], [10.0, 30.0]
    # all-to-all: post 10 <- pre 0; pre 15 <- post 10; post 30 <- pre 0, 15;
    #             pre 40 <- post 10, 30
    a2a = (AP * (e_p(10.0) + e_p(30.0) + e_p(15.0))
           - AM * (e_m(5.0) + e_m(30.0) + e_m(10.0)))
    # nearest symmetric: post 10 <- pre 0; pre 15 <- post 10; post 30 <- pre 15; pre 40 <- post 30
    nearest = AP * (e_p(10.0) + e_p(15.0)) - AM * (e_m(5.0) + e_m(10.0))
    # pre-centred: pre 0 -> post 10; pre 15 -> post 10 (before, depression) and post 30 (after);
    #              pre 40 -> post 30 (before)
    pre_centred = AP * (e_p(10.0) + e_p(15.0)) - AM * (e_m(5.0) + e_m(10.0))
    np.testing.assert_allclose(scheme_dw("all_to_all", pre, post), a2a, rtol=1e-12)
    np.testing.assert_allclose(scheme_dw("nearest_symmetric", pre, post), nearest, rtol=1e-12)
    np.testing.assert_allclose(scheme_dw("nearest_pre_centred", pre, post), pre_centred,
                               rtol=1e-12)


def test_pre_centred_pre_at_the_time_of_a_post_spike():
    """pre 0, then pre and post together at 10, then post 25.

    Pre-centred: the post at 10 takes pre 0 and pre 10 (dt = 0); pre 10 also pairs with the
    last post before it (none) and was consumed, so the post at 25 has no partner.
    Nearest symmetric: post 10 <- pre 10 (dt 0), post 25 <- pre 10.
    """
    pre, post = [0.0, 10.0], [10.0, 25.0]
    np.testing.assert_allclose(scheme_dw("nearest_pre_centred", pre, post),
                               AP * (e_p(10.0) + 1.0), rtol=1e-12)
    np.testing.assert_allclose(scheme_dw("nearest_symmetric", pre, post),
                               AP * (1.0 + e_p(15.0)), rtol=1e-12)
    np.testing.assert_allclose(scheme_dw("all_to_all", pre, post),
                               AP * (e_p(10.0) + 1.0 + e_p(25.0) + e_p(15.0)), rtol=1e-12)
