"""iSTDP in the native loop (inhibitory receptor, conductance LIF) == plasticity.replay on the
same presynaptic trains and the recorded postsynaptic spikes (no loop changes were needed)."""
import numpy as np
import pytest

import models
from plasticity import InhibitorySTDP, replay

DT = 0.1
T = 1000.0


def poisson(rng, n, rate_hz, t_stop):
    out = []
    for _ in range(n):
        t = np.cumsum(rng.exponential(1000.0 / rate_hz, int(3 * rate_hz * t_stop / 1000) + 20))
        t = t[t < t_stop]
        steps = np.floor(t / DT + 1e-3)
        out.append(t[np.r_[True, np.diff(steps) > 0]])
    return out


@pytest.mark.parametrize("delay, delay_type", [(0.0, "axonal"), (1.5, "axonal"), (1.5, "dendritic")])
def test_istdp_in_loop_equals_replay(delay, delay_type):
    rng = np.random.default_rng(4)
    rule = InhibitorySTDP(eta=0.01, w_max=0.5)
    net = models.Network(dt=DT, seed=4)
    pre_trains = poisson(rng, 6, 20.0, T + 5.0)
    inh = net.add(models.SpikeGeneratorGroup.from_trains(pre_trains))
    drive = net.add(models.SpikeGeneratorGroup.from_trains(poisson(rng, 2, 40.0, T + 5.0)))
    cell = net.add(models.LIF(2, synapses="conductance", tau_m=10.0, e_leak=-70.0, v_th=-54.0, v_reset=-60.0,
                              t_ref=1.0, e_i=-80.0, tau_i=10.0))
    net.connect(drive, cell, weight=3.0, connectivity=models.one_to_one())
    proj = net.connect(inh, cell, weight=models.uniform(0.05, 0.2), receptor="inhibitory", rule=rule,
                       delay=delay, delay_type=delay_type)
    w0 = proj.dense_weights().copy()
    post = net.record_spikes(cell)
    net.run(T)
    pre = [np.floor(t / DT + 1e-3) * DT + (delay if delay_type == "axonal" else 0.0) for t in pre_trains]
    post_t = [t + (delay if delay_type == "dendritic" else 0.0) for t in post.trains()]
    assert all(t.size >= 10 for t in post_t)
    want = replay(rule, pre, post_t, w0, dt=DT, duration=T)
    got = proj.dense_weights()
    assert np.max(np.abs(got - w0)) > 1e-3
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
