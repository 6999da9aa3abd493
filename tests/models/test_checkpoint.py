"""Network.save / Network.load: a run stopped at any step and resumed from the file gives bitwise
the spikes, weights, state recordings and rule state of the run that was never stopped (issue 13
item 16) — with Poisson inputs, axonal and dendritic delays, per-synapse delays, a plastic
recurrent projection, several chunks per run."""
import numpy as np
import pytest

import models
import plasticity
from plasticity.errors import ParameterError


def build(seed=11):
    net = models.Network(dt=0.1, seed=seed, chunk=37.0)
    inputs = net.add(models.PoissonGroup(60, rate=30.0))
    cells = net.add(models.LIF(12, synapses="conductance", tau_m=10.0, v_th=-54.0, v_reset=-60.0,
                               e_leak=-70.0, t_ref=2.0, v_init=models.uniform(-65.0, -55.0)))
    other = net.add(models.LIF(8, synapses="current", t_ref=2.0, i_ext=300.0))
    net.connect(inputs, cells, weight=models.uniform(0.05, 0.3), delay=1.5,
                rule=plasticity.PairSTDP(a_plus=0.01, a_minus=0.0105, w_max=0.3))
    net.connect(cells, cells, weight=models.uniform(0.0, 0.02), connectivity=models.fixed_probability(0.3),
                delay=2.0, delay_type="dendritic",
                rule=plasticity.TripletSTDP(w_max=0.05))
    net.connect(cells, other, weight=models.uniform(10.0, 40.0), delay=models.uniform(0.5, 4.0))
    records = (net.record_spikes(cells), net.record_spikes(other), net.record_state(cells, "v", every=0.5),
               net.record_weights(net.projections[0], every=20.0))
    return net, records


def outcome(net, records):
    s_cells, s_other, v, w = records
    return [s_cells.i, s_cells.t, s_other.i, s_other.t, v.values, w.w, w.t] + [p.w for p in net.projections]


@pytest.mark.parametrize("cut", [0.1, 37.0, 51.3, 149.9])
def test_resumed_run_equals_the_uninterrupted_one(tmp_path, cut):
    total = 150.0
    net, records = build()
    net.run(total)
    want = outcome(net, records)
    assert want[0].size > 20 and np.ptp(net.projections[0].w) > 0     # it spikes and learns

    first, _ = build()
    first.run(cut)
    first.save(tmp_path / "net.plab")
    del first
    resumed = models.Network.load(tmp_path / "net.plab")
    resumed.run(round(total - cut, 1))
    got = outcome(resumed, (resumed.spike_records[0], resumed.spike_records[1], resumed.state_records[0],
                            resumed.weight_records[0]))
    for a, b in zip(got, want):
        assert np.array_equal(a, b)
    assert resumed.t == pytest.approx(total)


def test_the_projection_weights_are_the_simulated_ones_after_loading(tmp_path):
    net, _ = build()
    net.run(20.0)
    net.save(tmp_path / "a.plab")
    loaded = models.Network.load(tmp_path / "a.plab")
    loaded.run(30.0)
    view = loaded.view().wiring.w
    so = loaded.view().wiring.syn_off
    assert np.shares_memory(loaded.projections[0].w, view)
    assert np.array_equal(loaded.projections[0].w, view[so[0]:so[1]])


def test_save_is_atomic_and_bad_files_are_named(tmp_path):
    net, _ = build()
    net.run(5.0)
    target = tmp_path / "n.plab"
    net.save(target)
    assert [p.name for p in tmp_path.iterdir()] == ["n.plab"]       # no temporary file left
    (tmp_path / "junk").write_bytes(b"not a network")
    with pytest.raises(ParameterError, match="not a saved Network"):
        models.Network.load(tmp_path / "junk")
    with pytest.raises(ParameterError, match="does not exist"):
        models.Network.load(tmp_path / "missing")
    with pytest.raises(ParameterError, match="directory"):
        net.save(tmp_path)


def test_an_operation_that_cannot_be_saved_is_named(tmp_path):
    net, _ = build()
    net.add_operation(lambda n: None, every=10.0)
    net.run(10.0)
    with pytest.raises(ParameterError, match="add_operation"):
        net.save(tmp_path / "x.plab")
    assert not list(tmp_path.iterdir())


def test_a_duration_beyond_the_step_limit_is_named():
    net, _ = build()
    with pytest.raises(ParameterError, match="duration must be at most"):
        net.run(1e13)


def test_a_checkpoint_saved_before_the_block_flags_existed_resumes_exactly(tmp_path):
    """NeuronArrays.fired_at came after checkpoints existed: a file without it (here: the field
    taken out before saving) resumes with the spike flags z still cleared at the right steps —
    the z of a plain group after each step is exactly its spikes of that step."""
    net = models.Network(dt=0.1, seed=3)
    drive = net.add(models.PoissonGroup(40, rate=80.0))
    cells = net.add(models.LIF(600, tau_m=10.0, e_leak=-65.0, v_th=-55.0, v_reset=-65.0, t_ref=0.2))
    net.connect(drive, cells, weight=300.0, connectivity=models.fixed_probability(0.2))
    rec = net.record_spikes(cells)
    net.run(20.0)
    built = net._built
    old = built.neurons._replace(fired_at=None)
    built.neurons, built.view = old, built.view._replace(neurons=old)
    net.save(tmp_path / "old.plab")
    loaded = models.Network.load(tmp_path / "old.plab")
    rec = loaded.spike_records[0]
    flags, steps = [], 200
    for _ in range(steps):
        loaded.run(0.1)
        o = loaded.offset(loaded.groups[1])
        flags.append(loaded._built.neurons.z[o:o + cells.n].copy())
    k = np.round(rec.t / 0.1).astype(int) - 200
    later = k >= 0
    want = np.zeros((steps, cells.n))
    want[k[later], rec.i[later]] = 1.0
    assert later.sum() > 50
    assert np.array_equal(np.array(flags), want)


def test_a_checkpoint_saved_before_the_synaptic_scale_existed_resumes(tmp_path):
    """NeuronArrays.scale (current-based groups store I / F) and the meta column M_TGT_GROUP
    came after checkpoints existed: such a file holds the currents themselves. Emulated from a
    run (the currents multiplied out, the field and the column taken out), it must resume with
    the spikes of the run that was never stopped, and potentials equal to rounding."""
    def build_net():
        net = models.Network(dt=0.1, seed=5)
        drive = net.add(models.PoissonGroup(50, rate=60.0))
        cells = net.add(models.LIF(200, tau_m=10.0, e_leak=-65.0, v_th=-55.0, v_reset=-65.0, t_ref=2.0))
        net.connect(drive, cells, weight=120.0, connectivity=models.fixed_probability(0.2))
        net.connect(cells, cells, weight=-40.0, receptor="inhibitory", connectivity=models.fixed_probability(0.1))
        return net, net.record_spikes(cells), net.record_state(cells, "v", every=1.0)

    net, spikes, v = build_net()
    net.run(250.0)
    old_net, _, _ = build_net()
    old_net.run(50.0)
    built = old_net._built
    neu = built.neurons
    assert np.all(neu.scale[:, :2] < 1.0)                  # the stored values are I / F here
    for g, (a, b) in enumerate(neu.groups):
        neu.s_e[a:b] *= neu.scale[g, 0]
        neu.s_i[a:b] *= neu.scale[g, 1]
    old = neu._replace(scale=None)
    built.wiring = built.wiring._replace(meta=built.wiring.meta[:, :11].copy())
    built.neurons, built.view = old, built.view._replace(neurons=old, wiring=built.wiring)
    old_net.save(tmp_path / "old.plab")
    loaded = models.Network.load(tmp_path / "old.plab")
    loaded.run(200.0)
    got_spikes, got_v = loaded.spike_records[0], loaded.state_records[0]
    assert spikes.t.size > 500
    np.testing.assert_array_equal(got_spikes.i, spikes.i)
    np.testing.assert_array_equal(got_spikes.t, spikes.t)
    np.testing.assert_allclose(got_v.values, v.values, rtol=0, atol=1e-9)
