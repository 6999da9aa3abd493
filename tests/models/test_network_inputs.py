"""Bad network input is refused by name, and recording stays cheap and exact across runs."""
import numpy as np
import pytest

import models
import plasticity
from plasticity import ParameterError


def _net():
    net = models.Network(dt=0.1, seed=2)
    src = net.add(models.PoissonGroup(50, rate=40.0))
    cell = net.add(models.LIF(2, synapses="conductance", tau_m=10.0, e_leak=-74.0, v_th=-54.0, v_reset=-60.0))
    return net, src, cell


def test_negative_conductances_are_refused():
    net, src, cell = _net()
    with pytest.raises(ParameterError, match="weight of a projection onto a conductance-based group must be >= 0"):
        net.connect(src, cell, weight=-0.5)
    with pytest.raises(ParameterError, match="w_min of the rule must be >= 0"):
        net.connect(src, cell, weight=0.1, rule=plasticity.PairSTDP(w_min=-1.0, w_max=1.0))
    current = net.add(models.LIF(1, synapses="current"))
    assert net.connect(src, current, weight=-20.0).w.min() == -20.0        # a negative current is fine


@pytest.mark.parametrize("duration, nearest", [(0.15, "0.1 or 0.2"), (0.04, "0.1 or 0.2"), (1.234, "1.2 or 1.3")])
def test_durations_that_are_not_whole_steps_are_refused(duration, nearest):
    net, src, cell = _net()
    with pytest.raises(ParameterError, match=f"whole number of steps.*nearest: {nearest}"):
        net.run(duration)
    net.run(0.3)                                    # 3 steps: accepted despite 0.3/0.1 = 2.9999999999999996
    assert net.step == 3


def test_connectivity_must_be_a_pattern():
    net, src, cell = _net()
    with pytest.raises(ParameterError, match="connectivity must be a pattern"):
        net.connect(src, cell, weight=0.1, connectivity="all_to_all")


def test_many_short_runs_record_exactly_what_one_long_run_records():
    """Spikes, states and weights recorded over 200 runs of 5 ms equal one run of 1 s (each
    run appends only what it adds: the records are one growing copy)."""
    out = []
    for runs in ([1000.0], [5.0] * 200):
        net, src, cell = _net()
        proj = net.connect(src, cell, weight=models.uniform(0.0, 0.4),
                           rule=plasticity.PairSTDP(a_plus=4e-3, a_minus=4.4e-3, w_max=0.4))
        spikes, v = net.record_spikes(cell), net.record_state(cell, "v", every=0.5)
        w = net.record_weights(proj, every=100.0)
        for d in runs:
            net.run(d)
        out.append((spikes.i.copy(), spikes.t.copy(), v.values.copy(), w.t.copy(), w.w.copy()))
    (a, b) = out
    assert a[1].size > 20
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def test_spike_generator_copies_and_freezes_the_trains():
    trains = [np.array([1.0, 2.0, 3.0])]
    gen = models.SpikeGeneratorGroup.from_trains(trains)
    trains[0][:] = [5.0, 4.0, 3.0]                  # unsorted now: must not reach the group
    np.testing.assert_array_equal(gen.times[0], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError):
        gen.times[0][0] = 9.0
    net = models.Network(dt=0.1)
    g = net.add(gen)
    rec = net.record_spikes(g)
    net.run(5.0)
    np.testing.assert_allclose(rec.t, [1.0, 2.0, 3.0])
