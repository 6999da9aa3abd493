"""Triplet STDP (Pfister & Gerstner 2006): published parameters and closed forms.

    at a presynaptic spike:   w -= o1(t) * (a2_minus + a3_minus * r2(t-))
    at a postsynaptic spike:  w += r1(t) * (a2_plus + a3_plus * o2(t-))

r1 (tau_plus), r2 (tau_x) are presynaptic traces, o1 (tau_minus), o2 (tau_y) postsynaptic;
all-to-all traces add 1 per spike, nearest traces reset to 1.
"""
import json
import math
from pathlib import Path

import numpy as np
import pytest

import plasticity
import protocols
from plasticity import TripletSTDP
from plasticity.triplet import PAPER_SETS, PAPER_SETS_VERIFIED

# the published values shipped with the package (analysis/data, read by analysis.reference)
DATA_PATH = Path(protocols.__file__).parents[1] / "analysis" / "data" / "plasticity_data.json"


@pytest.fixture(scope="module")
def data():
    with DATA_PATH.open() as f:
        return json.load(f)


def dw_single(rule, pre, post, w0=0.5):
    w = plasticity.replay(rule, [np.asarray(pre, float)], [np.asarray(post, float)],
                          np.array([[w0]]))
    return w[0, 0] - w0


# ----------------------------------------------------------------------------------------
# Published parameter sets
# ----------------------------------------------------------------------------------------

def test_every_published_set_is_available(data):
    published = data["pfister_gerstner2006_triplet"]["sets"]
    assert {tuple(k.split("/")) for k in published} == set(PAPER_SETS)


@pytest.mark.parametrize("key", sorted(PAPER_SETS), ids="/".join)
def test_from_paper_returns_published_numbers(data, key):
    table = data["pfister_gerstner2006_triplet"]
    want = table["sets"]["/".join(key)]
    region, scheme, variant = key
    rule = TripletSTDP.from_paper(region, scheme, variant)
    assert rule.tau_plus == table["common"]["tau_plus"] == 16.8
    assert rule.tau_minus == table["common"]["tau_minus"] == 33.7
    for name in ("a2_plus", "a3_plus", "a2_minus", "a3_minus", "tau_y"):
        assert getattr(rule, name) == want[name], name
    if want["tau_x"] is None:
        # the model has no r2 term: tau_x may be anything valid, a3_minus must be 0
        assert want["a3_minus"] == 0.0 and rule.a3_minus == 0.0
        assert rule.tau_x > 0.0 and math.isfinite(rule.tau_x)
    else:
        assert rule.tau_x == want["tau_x"]
    assert rule.scheme == scheme
    assert (rule.w_min, rule.w_max) == (0.0, 1.0)
    assert PAPER_SETS_VERIFIED[key] == want["verified"]


def test_from_paper_overrides_single_fields():
    rule = TripletSTDP.from_paper("hippocampal", "all_to_all", "minimal", w_max=3.0, tau_y=50.0)
    assert (rule.w_max, rule.tau_y, rule.a3_plus, rule.a2_minus) == (3.0, 50.0, 8e-3, 3.5e-3)


def test_defaults_are_the_visual_cortex_all_to_all_full_set():
    assert TripletSTDP() == TripletSTDP.from_paper("visual_cortex", "all_to_all", "full")


# ----------------------------------------------------------------------------------------
# Closed forms of triplets (all-to-all, hippocampal full set: every term non-zero)
# ----------------------------------------------------------------------------------------

HIP = dict(tau_plus=16.8, tau_minus=33.7, tau_x=946.0, tau_y=27.0,
           a2_plus=6.1e-3, a3_plus=6.7e-3, a2_minus=1.6e-3, a3_minus=1.4e-3)


def test_post_pre_post_triplet():
    """post t1 = 0, pre t2 = 10, post t3 = 25."""
    rule = TripletSTDP(**HIP, scheme="all_to_all")
    # t2: o1 = exp(-10/tau_minus), r2(t2-) = 0 (first pre spike)
    dep = math.exp(-10.0 / 33.7) * (1.6e-3 + 1.4e-3 * 0.0)
    # t3: r1 = exp(-15/tau_plus), o2(t3-) = exp(-25/tau_y)
    pot = math.exp(-15.0 / 16.8) * (6.1e-3 + 6.7e-3 * math.exp(-25.0 / 27.0))
    np.testing.assert_allclose(dw_single(rule, [10.0], [0.0, 25.0]), pot - dep, rtol=1e-12)


def test_pre_post_post_triplet():
    """pre 0, post 10, post 25: the second post spike sees o2 of the first."""
    rule = TripletSTDP(**HIP, scheme="all_to_all")
    pot1 = math.exp(-10.0 / 16.8) * (6.1e-3 + 6.7e-3 * 0.0)
    pot2 = math.exp(-25.0 / 16.8) * (6.1e-3 + 6.7e-3 * math.exp(-15.0 / 27.0))
    np.testing.assert_allclose(dw_single(rule, [0.0], [10.0, 25.0]), pot1 + pot2, rtol=1e-12)


def test_pre_post_pre_triplet():
    """pre 0, post 10, pre 25: the second pre spike sees r2 of the first (a3_minus term)."""
    rule = TripletSTDP(**HIP, scheme="all_to_all")
    pot = math.exp(-10.0 / 16.8) * 6.1e-3
    dep = math.exp(-15.0 / 33.7) * (1.6e-3 + 1.4e-3 * math.exp(-25.0 / 946.0))
    np.testing.assert_allclose(dw_single(rule, [0.0, 25.0], [10.0]), pot - dep, rtol=1e-12)


def test_triplet_term_excludes_the_spike_itself():
    """A lone pre-post pair: o2(t-) = 0, so only a2_plus counts (not a2_plus + a3_plus)."""
    rule = TripletSTDP(**HIP)
    np.testing.assert_allclose(dw_single(rule, [0.0], [5.0]), 6.1e-3 * math.exp(-5.0 / 16.8),
                               rtol=1e-12)


# ----------------------------------------------------------------------------------------
# Nearest-spike: traces saturate at 1
# ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("scheme", ["all_to_all", "nearest"])
def test_post_burst_then_pre(scheme):
    """Posts at 0, 10, 20, pre at 30: depression sums the burst (all-to-all) or takes the last."""
    rule = TripletSTDP(**HIP, scheme=scheme)
    if scheme == "all_to_all":
        want = -1.6e-3 * (math.exp(-30 / 33.7) + math.exp(-20 / 33.7) + math.exp(-10 / 33.7))
    else:
        want = -1.6e-3 * math.exp(-10 / 33.7)
    np.testing.assert_allclose(dw_single(rule, [30.0], [0.0, 10.0, 20.0]), want, rtol=1e-12)


@pytest.mark.parametrize("scheme", ["all_to_all", "nearest"])
def test_pre_burst_then_two_posts(scheme):
    """Pres at 0, 5, 10, posts at 20 and 30."""
    rule = TripletSTDP(**HIP, scheme=scheme)
    ep = lambda d: math.exp(-d / 16.8)  # noqa: E731
    o2 = math.exp(-10.0 / 27.0)  # one earlier post spike in both schemes
    if scheme == "all_to_all":
        want = (6.1e-3 * (ep(20) + ep(15) + ep(10))
                + (ep(30) + ep(25) + ep(20)) * (6.1e-3 + 6.7e-3 * o2))
    else:
        want = 6.1e-3 * ep(10) + ep(20) * (6.1e-3 + 6.7e-3 * o2)
    np.testing.assert_allclose(dw_single(rule, [0.0, 5.0, 10.0], [20.0, 30.0]), want, rtol=1e-12)


def test_nearest_triplet_traces_saturate():
    """Post burst 0, 10, 20, then post 30 after pre 25: o2(30-) = e^{-10/tau_y} (nearest)
    versus the sum of three exponentials (all-to-all)."""
    ep, ey = (lambda d: math.exp(-d / 16.8)), (lambda d: math.exp(-d / 27.0))
    em = lambda d: math.exp(-d / 33.7)  # noqa: E731
    pre, post = [25.0], [0.0, 10.0, 20.0, 30.0]
    a2a = (-em(25) - em(15) - em(5)) * 1.6e-3 + ep(5) * (6.1e-3 + 6.7e-3 * (ey(30) + ey(20) + ey(10)))
    nearest = -em(5) * 1.6e-3 + ep(5) * (6.1e-3 + 6.7e-3 * ey(10))
    np.testing.assert_allclose(dw_single(TripletSTDP(**HIP, scheme="all_to_all"), pre, post), a2a,
                               rtol=1e-12)
    np.testing.assert_allclose(dw_single(TripletSTDP(**HIP, scheme="nearest"), pre, post), nearest,
                               rtol=1e-12)


# ----------------------------------------------------------------------------------------
# Frequency dependence of the minimal visual-cortex model (Sjostrom et al. 2001 protocol)
# ----------------------------------------------------------------------------------------

N_PAIRINGS = 60
# minimal visual cortex, all-to-all (Pfister & Gerstner 2006, Table 3), written out by hand
VC_MIN = dict(a2_plus=0.0, a3_plus=6.5e-3, a2_minus=7.1e-3, a3_minus=0.0, tau_y=114.0)


def pairing_trains(freq_hz, lag_ms, n=N_PAIRINGS):
    """n pairings at freq_hz; lag_ms = t_post - t_pre (+10: pre leads), all times >= 0."""
    period = 1000.0 / freq_hz
    first_pre = max(0.0, -lag_ms)
    pre = first_pre + period * np.arange(n)
    return pre, pre + lag_ms


def minimal_model_hand(freq_hz, lag_ms):
    """The minimal all-to-all model summed spike by spike (a2_plus = a3_minus = 0).

    Depression at pre spike t:  a2_minus * sum_{posts s < t} exp(-(t - s)/tau_minus)
    Potentiation at post t:     a3_plus * sum_{pres s <= t} exp(-(t - s)/tau_plus)
                                        * sum_{posts s < t} exp(-(t - s)/tau_y)
    """
    pre, post = pairing_trains(freq_hz, lag_ms)
    dw = 0.0
    for t in pre:
        dw -= VC_MIN["a2_minus"] * sum(math.exp(-(t - s) / 33.7) for s in post if s < t)
    for t in post:
        r1 = sum(math.exp(-(t - s) / 16.8) for s in pre if s <= t)
        o2 = sum(math.exp(-(t - s) / VC_MIN["tau_y"]) for s in post if s < t)
        dw += VC_MIN["a3_plus"] * r1 * o2
    return dw


def minimal_model_replay(freq_hz, lag_ms):
    rule = TripletSTDP.from_paper("visual_cortex", "all_to_all", "minimal",
                                  w_min=-10.0, w_max=10.0)  # additive: bounds out of the way
    pre, post = pairing_trains(freq_hz, lag_ms)
    return plasticity.replay(rule, [pre], [post], np.zeros((1, 1)))[0, 0]


FREQS = (0.1, 10.0, 20.0, 40.0, 50.0)


@pytest.fixture(scope="module")
def model_dw():
    return {lag: np.array([minimal_model_replay(f, lag) for f in FREQS]) for lag in (10.0, -10.0)}


def test_minimal_model_equals_hand_sum(model_dw):
    for lag in (10.0, -10.0):
        want = np.array([minimal_model_hand(f, lag) for f in FREQS])
        np.testing.assert_allclose(model_dw[lag], want, rtol=1e-10, atol=1e-15)


def test_minimal_model_frequency_dependence_plus10(model_dw):
    dw = dict(zip(FREQS, model_dw[10.0]))
    assert dw[50.0] > dw[40.0] > dw[20.0] > dw[10.0] > dw[0.1]
    # At 0.1 Hz the pairs are 10 s apart: the depression needs a post spike 9990 ms earlier
    # (e^{-9990/33.7} ~ 1e-129) and the potentiation an earlier post for o2 (e^{-10000/114}
    # ~ 1e-38): the minimal model predicts no change at all, neither LTD nor LTP.
    assert abs(dw[0.1]) < 1e-30
    # Steady-state estimate at 10 Hz (period 100 ms), geometric series of the traces:
    # r1 = e^{-10/16.8}/(1 - e^{-100/16.8}), o2(t-) = q/(1 - q) with q = e^{-100/114},
    # o1 = e^{-90/33.7}/(1 - e^{-100/33.7}); the first pairings see smaller traces.
    r1 = math.exp(-10 / 16.8) / (1 - math.exp(-100 / 16.8))
    q = math.exp(-100 / 114)
    o1 = math.exp(-90 / 33.7) / (1 - math.exp(-100 / 33.7))
    steady = 60 * (6.5e-3 * r1 * q / (1 - q) - 7.1e-3 * o1)
    np.testing.assert_allclose(dw[10.0], steady, rtol=0.1)


def test_minimal_model_frequency_dependence_minus10(model_dw):
    """Post leads by 10 ms: depression at low rates, potentiation only at 40-50 Hz."""
    dw = dict(zip(FREQS, model_dw[-10.0]))
    # at 0.1 Hz each pairing is an isolated post-pre pair: 60 * a2_minus * e^{-10/33.7}
    np.testing.assert_allclose(dw[0.1], -60 * 7.1e-3 * math.exp(-10 / 33.7), rtol=1e-9)
    assert dw[0.1] < 0 and dw[10.0] < 0 and dw[20.0] < 0
    assert dw[50.0] > dw[40.0] > 0


def test_minimal_model_against_sjostrom_2001(data, model_dw):
    """The published fit reproduces the data: every model value within 1 SEM (+10 ms) and
    2 SEM (-10 ms) of Sjostrom et al. 2001 (weight change read as relative change, w0 = 1)."""
    sj = data["sjostrom2001_frequency"]
    assert tuple(sj["frequency_hz"]) == FREQS
    # data sign structure: +10 ms is LTD (within its SEM) at 0.1 Hz and LTP from 10 Hz on;
    # -10 ms is LTD up to 20 Hz and LTP at 40-50 Hz
    assert sj["dw_plus10ms"][0] < 0 and all(x > 0 for x in sj["dw_plus10ms"][1:])
    assert all(x < 0 for x in sj["dw_minus10ms"][:3]) and all(x > 0 for x in sj["dw_minus10ms"][3:])
    # the 0.1 Hz LTD at +10 ms is within one SEM of zero, so a model with no change fits it
    assert abs(sj["dw_plus10ms"][0]) < sj["sem_plus10ms"][0]
    err_plus = np.abs(model_dw[10.0] - np.array(sj["dw_plus10ms"]))
    assert np.all(err_plus <= 1.0 * np.array(sj["sem_plus10ms"])), err_plus
    err_minus = np.abs(model_dw[-10.0] - np.array(sj["dw_minus10ms"]))
    assert np.all(err_minus <= 2.0 * np.array(sj["sem_minus10ms"])), err_minus
