"""Izhikevich 2007 distal reward (100 Poisson -> 10 LIF, 1000 synapses, one simulated hour):
the rewarded synapse, and essentially only it, grows to the maximum weight."""
import numpy as np
import pytest

from plasticity import ParameterError
from protocols import izhikevich2007, registry


@pytest.fixture(scope="module")
def result():
    return izhikevich2007.run(izhikevich2007.Config.small())


def test_rewarded_synapse_reaches_w_max(result):
    c = result.config
    assert np.isfinite(result.time_to_reach_s) and result.time_to_reach_s < c.duration_ms / 1000
    assert result.rewarded[-1] >= c.success_fraction * c.w_max
    assert result.distance_to_w_max < 0.1 * c.w_max
    assert result.pairing_t.size > 100 and result.reward_t.size >= result.pairing_t.size - 10


def test_other_synapses_stay(result):
    c = result.config
    others = result.others[-1]
    assert others.mean() < c.w0                      # no growth on average (A- > A+)
    assert result.others_above_at_reach <= 0.01 * others.size
    assert result.others_above() <= 0.03 * others.size
    assert np.mean(result.rewarded[-1] > others) > 0.9 or result.rewarded[-1] == c.w_max


def test_rewards_follow_pairings_by_1_to_3_s(result):
    c = result.config
    r = result.reward_t[: result.pairing_t.size]
    # every reward is 1-3 s after some pairing
    gaps = r[:, None] - result.pairing_t[None, :]
    ok = np.any((gaps >= c.delay_min_ms - c.dt) & (gaps <= c.delay_max_ms + c.dt), axis=1)
    assert ok.all()


def test_summary_plot_registry(result):
    text = izhikevich2007.summary(result)
    assert "distance to w_max" in text and "verified" in text and "PASS" in text
    assert set(izhikevich2007.plot(result)) == {"izhikevich2007"}
    assert registry.get("izhikevich2007") is izhikevich2007
    rows = izhikevich2007.compare(result)
    assert len(rows) == 2 and all(r["passed"] for r in rows)


def test_same_seed_same_result():
    c = izhikevich2007.Config(duration_ms=300_000.0, record_every_ms=10_000.0, n_post=2)
    a, b = izhikevich2007.run(c), izhikevich2007.run(c)
    np.testing.assert_array_equal(a.w, b.w)
    np.testing.assert_array_equal(a.post_t, b.post_t)
    assert not np.array_equal(a.w[0], a.w[-1])


@pytest.mark.parametrize("kwargs,name", [
    (dict(n_pre=0), "n_pre"), (dict(w0=5.0), "w0"), (dict(delay_max_ms=500.0), "delay_max_ms"),
    (dict(eta=0.0), "eta"), (dict(tau_c=-1.0), "tau_c"), (dict(dt=20.0), "dt"),
])
def test_bad_config_names_the_parameter(kwargs, name):
    with pytest.raises(ParameterError, match=name):
        izhikevich2007.Config(**kwargs)


def test_network_weights_equal_replay_of_its_spikes():
    """The protocol is a models.Network: its recorded weights are replay_modulated of its own
    presynaptic and postsynaptic spikes and dopamine releases (delay 0, b = 0), and a
    postsynaptic neuron's spikes are at least t_ref apart (the Network's refractoriness)."""
    from plasticity.modulated import replay_modulated

    c = izhikevich2007.Config(duration_ms=300_000.0, record_every_ms=60_000.0, n_post=3)
    net, parts = izhikevich2007.build(c)
    net.run(c.duration_ms)
    rel_t, rel_a = net.modulator_releases(parts["dopamine"])
    assert rel_t.size > 5
    pre, post = parts["pre_spikes"].trains(), parts["post_spikes"].trains()
    rec = parts["weights"]
    for t_r, w_r in zip(rec.t[1:], rec.w[1:]):
        want = replay_modulated(c.rule(), pre, post, rel_t, rel_a, np.full((c.n_post, c.n_pre), c.w0), duration=t_r)
        np.testing.assert_allclose(parts["projection"].dense_weights(w_r), want, rtol=1e-9, atol=1e-12)
    isi = np.concatenate([np.diff(t) for t in post])
    assert isi.min() >= c.t_ref - 1e-9
