"""Kernels == their NumPy reference twins (docs/design.md: "the twin is the specification").

``plasticity.replay`` runs the Numba event kernels (lazy traces, CSR synapses);
``plasticity.stdp.replay_reference`` sums pairs explicitly from the spike histories.
Both must agree to 1e-12 for every rule, weight dependence and pairing scheme, on random
trains that include simultaneous pre/post spikes, and with amplitudes large enough that the
hard bounds are hit.
"""
import itertools

import numpy as np
import pytest

import plasticity
from plasticity import PairSTDP, TripletSTDP
from plasticity.stdp import replay_reference
from plasticity.traces import (
    decay_traces,
    decay_traces_reference,
    jump,
    trace_at,
    trace_from_spikes_reference,
)
from plasticity.triplet import PAPER_SETS

RTOL = ATOL = 1e-12
SEEDS = (1, 2, 3)


def random_trains(rng, n_pre, n_post, rate_hz, duration_ms, n_shared=4):
    """Poisson-like trains at non-grid times, with exact coincidences injected.

    Some spike times are copied between neurons: pre <-> post (simultaneous pairs, including a
    pre spike at the time of an earlier post spike), pre <-> pre and post <-> post.
    """
    def train():
        n = rng.poisson(rate_hz * duration_ms / 1000.0)
        return np.unique(rng.uniform(0.0, duration_ms, n))

    pre = [train() for _ in range(n_pre)]
    post = [train() for _ in range(n_post)]
    # post neurons fire together with some presynaptic spikes (pre/post at the same time)
    for i in range(n_post):
        j = rng.integers(n_pre)
        if pre[j].size:
            shared = rng.choice(pre[j], size=min(n_shared, pre[j].size), replace=False)
            post[i] = np.unique(np.r_[post[i], shared])
    # some pre spikes at the time of a post spike that was there first
    if post[0].size:
        shared = rng.choice(post[0], size=min(n_shared, post[0].size), replace=False)
        pre[-1] = np.unique(np.r_[pre[-1], shared])
    # coincident spikes within each population
    if n_pre > 1:
        pre[1] = np.unique(np.r_[pre[1], pre[0][: n_shared]])
    if n_post > 1:
        post[1] = np.unique(np.r_[post[1], post[0][: n_shared]])
    return pre, post


def has_coincidence(pre, post):
    return bool(np.intersect1d(np.concatenate(pre), np.concatenate(post)).size)


def check_twin(rule, pre, post, w0):
    got, traj = plasticity.replay(rule, pre, post, w0, record=True)
    want = replay_reference(rule.kernel_params(), pre, post, w0)
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)
    # the test is only meaningful if the weights actually moved
    assert np.max(np.abs(want - w0)) > 1e-4
    return traj


# ----------------------------------------------------------------------------------------
# Pair STDP
# ----------------------------------------------------------------------------------------

WEIGHT_DEPENDENCES = {
    "additive": {},
    "multiplicative": {},
    "power_law": {"mu_plus": 0.4, "mu_minus": 0.7},
}
SCHEMES = ("all_to_all", "nearest_symmetric", "nearest_pre_centred")
# (a_plus, a_minus, w_min, w_max): small steps far from the bounds, and large steps on a
# shifted interval (w_min != 0) so that clipping happens many times.
REGIMES = {
    "small": (0.003, 0.0035, 0.0, 1.0),
    "clipping": (1.5, 1.6, -0.3, 0.7),
}


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("regime", sorted(REGIMES))
@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("dependence", sorted(WEIGHT_DEPENDENCES))
def test_pair_stdp_kernel_equals_twin(dependence, scheme, regime, seed):
    rng = np.random.default_rng(seed)
    a_plus, a_minus, w_min, w_max = REGIMES[regime]
    rule = PairSTDP(tau_plus=16.8, tau_minus=33.7, a_plus=a_plus, a_minus=a_minus,
                    w_min=w_min, w_max=w_max, weight_dependence=dependence,
                    scheme=scheme, **WEIGHT_DEPENDENCES[dependence])
    pre, post = random_trains(rng, n_pre=4, n_post=3, rate_hz=30.0, duration_ms=800.0)
    assert has_coincidence(pre, post)
    span = w_max - w_min
    w0 = w_min + span * rng.uniform(0.2, 0.8, size=(3, 4))
    traj = check_twin(rule, pre, post, w0)
    hit_max = np.any(traj.weights == w_max)
    hit_min = np.any(traj.weights == w_min)
    if regime == "clipping":
        assert hit_max and hit_min, "the clipping regime must actually reach both bounds"
    else:
        assert not (hit_max or hit_min)


@pytest.mark.parametrize("seed", SEEDS)
def test_pair_stdp_twin_single_neurons_dense_coincidences(seed):
    """Trains on a 1 ms grid: many exact coincidences, all schemes, one synapse."""
    rng = np.random.default_rng(100 + seed)
    pre = [np.flatnonzero(rng.random(300) < 0.08).astype(float)]
    post = [np.flatnonzero(rng.random(300) < 0.08).astype(float)]
    post[0] = np.unique(np.r_[post[0], pre[0][::4]])  # every 4th pre spike has a post partner
    assert has_coincidence(pre, post)
    for scheme, dependence in itertools.product(SCHEMES, sorted(WEIGHT_DEPENDENCES)):
        rule = PairSTDP(a_plus=0.05, a_minus=0.06, scheme=scheme, weight_dependence=dependence,
                        **WEIGHT_DEPENDENCES[dependence])
        check_twin(rule, pre, post, np.array([[0.5]]))


# ----------------------------------------------------------------------------------------
# Triplet STDP
# ----------------------------------------------------------------------------------------

def _scaled_overrides(key, factor):
    """Amplitudes of a published set multiplied by ``factor`` (to hit narrow bounds)."""
    return {name: PAPER_SETS[key][name] * factor
            for name in ("a2_plus", "a3_plus", "a2_minus", "a3_minus")}


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("clipping", [False, True], ids=["free", "clipping"])
@pytest.mark.parametrize("key", sorted(PAPER_SETS), ids="/".join)
def test_triplet_kernel_equals_twin(key, clipping, seed):
    rng = np.random.default_rng(seed)
    region, scheme, variant = key
    if clipping:
        rule = TripletSTDP.from_paper(region, scheme, variant, w_min=0.45, w_max=0.55,
                                      **_scaled_overrides(key, 30.0))
    else:  # published amplitudes, bounds far away
        rule = TripletSTDP.from_paper(region, scheme, variant, w_min=-5.0, w_max=5.0)
    pre, post = random_trains(rng, n_pre=3, n_post=3, rate_hz=40.0, duration_ms=800.0)
    assert has_coincidence(pre, post)
    w0 = rng.uniform(0.47, 0.53, size=(3, 3))
    traj = check_twin(rule, pre, post, w0)
    if clipping:
        assert np.any(traj.weights == rule.w_max) and np.any(traj.weights == rule.w_min)
    else:
        assert np.all((traj.weights > rule.w_min) & (traj.weights < rule.w_max))


def test_triplet_twin_uses_triplet_terms(rng):
    """Guard for the test above: the a3 terms change the result (else they go untested)."""
    pre, post = random_trains(rng, n_pre=3, n_post=3, rate_hz=40.0, duration_ms=800.0)
    w0 = np.full((3, 3), 0.5)
    full = TripletSTDP.from_paper("hippocampal", "all_to_all", "full")
    pair_only = TripletSTDP.from_paper("hippocampal", "all_to_all", "full",
                                       a3_plus=0.0, a3_minus=0.0)
    a = replay_reference(full.kernel_params(), pre, post, w0)
    b = replay_reference(pair_only.kernel_params(), pre, post, w0)
    assert np.max(np.abs(a - b)) > 1e-3
    np.testing.assert_allclose(plasticity.replay(pair_only, pre, post, w0), b,
                               rtol=RTOL, atol=ATOL)


# ----------------------------------------------------------------------------------------
# Traces
# ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", SEEDS)
def test_decay_traces_matches_reference(seed):
    rng = np.random.default_rng(seed)
    for _ in range(20):
        x = rng.random(rng.integers(1, 200)) * 10.0
        dt_since = rng.uniform(0.0, 100.0)
        tau = rng.uniform(0.5, 200.0)
        want = decay_traces_reference(x, dt_since, tau)
        out = decay_traces(x, dt_since, tau)
        assert out is None  # in place
        np.testing.assert_allclose(x, want, rtol=RTOL, atol=0.0)


def test_decay_traces_reference_hand_value():
    np.testing.assert_allclose(decay_traces_reference(np.array([2.0, 0.5]), 10.0, 20.0),
                               [2.0 * np.exp(-0.5), 0.5 * np.exp(-0.5)], rtol=1e-15)


@pytest.mark.parametrize("reset", [False, True], ids=["accumulate", "reset"])
@pytest.mark.parametrize("seed", SEEDS)
def test_lazy_trace_matches_spike_history(seed, reset):
    """trace_at + jump (value stored as of the last spike) == sum over the spike history."""
    rng = np.random.default_rng(seed)
    tau = rng.uniform(5.0, 120.0)
    spikes = np.unique(rng.uniform(0.0, 500.0, 40))
    queries = np.sort(np.r_[rng.uniform(0.0, 520.0, 100), spikes])
    value, t_last = 0.0, -np.inf
    k = 0
    for t in queries:
        while k < spikes.size and spikes[k] <= t:
            value = jump(trace_at(value, t_last, spikes[k], tau), reset)
            t_last = spikes[k]
            k += 1
        got = trace_at(value, t_last, t, tau)
        want = trace_from_spikes_reference(spikes, t, tau, reset=reset)
        np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)


def test_trace_hand_values():
    tau = 20.0
    assert trace_at(0.0, -np.inf, 5.0, tau) == 0.0
    np.testing.assert_allclose(trace_at(1.5, 10.0, 30.0, tau), 1.5 * np.exp(-1.0), rtol=1e-15)
    assert jump(0.3, True) == 1.0
    assert jump(0.3, False) == 1.3
    spikes = [0.0, 10.0]
    np.testing.assert_allclose(trace_from_spikes_reference(spikes, 30.0, tau),
                               np.exp(-1.5) + np.exp(-1.0), rtol=1e-15)
    np.testing.assert_allclose(trace_from_spikes_reference(spikes, 30.0, tau, reset=True),
                               np.exp(-1.0), rtol=1e-15)
    assert trace_from_spikes_reference(spikes, -1.0, tau) == 0.0
