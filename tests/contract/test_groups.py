"""The groups the rule contract needs, checked against closed forms and the RSNN."""
import numpy as np
import pytest

import models
from models.rsnn import RSNN, to_network
from plasticity import ParameterError


def test_per_neuron_initial_v_from_an_array_and_a_distribution():
    net = models.Network(dt=0.1, seed=4)
    a = net.add(models.LIF(3, tau_m=10.0, e_leak=-70.0, v_th=-50.0, v_init=np.array([-60.0, -55.0, -65.0])))
    b = net.add(models.LIF(500, tau_m=10.0, e_leak=-70.0, v_th=-50.0, v_init=models.uniform(-70.0, -52.0)))
    ra, rb = net.record_state(a, "v"), net.record_state(b, "v")
    net.run(1.0)
    np.testing.assert_array_equal(ra.values[0], [-60.0, -55.0, -65.0])
    # free decay to rest: v(t) = e_leak + (v0 - e_leak) exp(-t/tau_m), exactly
    np.testing.assert_allclose(ra.values[5], -70.0 + (ra.values[0] + 70.0) * np.exp(-0.5 / 10.0), rtol=1e-13)
    v0 = rb.values[0]
    assert v0.min() >= -70.0 and v0.max() < -52.0 and np.unique(v0).size == 500
    assert abs(v0.mean() - (-61.0)) < 1.0                      # uniform mean, sd of the mean 0.23 mV
    with pytest.raises(ParameterError, match="v_init"):
        models.LIF(3, v_init=np.zeros(4))


def test_readout_y_recorded_in_the_network_equals_the_rsnn_readout():
    """Readout y_t = kappa y + W_out z_t + b (the same step's spikes), recorded with
    record_state(readout, "y"); ALIF thresholds recorded as "thr" equal v_th + beta a_t."""
    rng = np.random.default_rng(5)
    rsnn = RSNN(4, 6, 2, n_alif=3, seed=5, tau_out=15.0)
    rsnn.w_in = np.abs(rsnn.w_in) * 3.0                                  # every neuron driven to spike
    rsnn.b_out[:] = [0.3, -0.1]
    T = 60
    x = (rng.random((T, 4)) < 0.4).astype(float)
    states = rsnn.forward(x[None])
    # monitors must exist before a network's first step, and to_network runs that step:
    # record through a Network subclass that adds them then
    import models.rsnn_network as rn
    original = rn.Network

    class Recording(original):
        def run(self, duration, progress=False):
            if self._built is None:
                self.y = self.record_state(self.groups[2], "y")
                self.thr = self.record_state(self.groups[1], "thr")
                self.z = self.record_spikes(self.groups[1])
            return super().run(duration, progress)

    rn.Network = Recording
    try:
        net, _ = to_network(rsnn, x, np.zeros((T, 2)))
    finally:
        rn.Network = original
    net.run(T * rsnn.dt)
    # recorded at the start of step k = after step k-1; RSNN step t = network step t + 1
    o = net.offset(net.groups[2])
    y = np.vstack([net.y.values[2:], net.view().neurons.v[o:o + 2]])
    np.testing.assert_allclose(y, states.y[0], rtol=1e-12, atol=1e-12)
    want_thr = rsnn.v_th + rsnn.beta_vec * states.a[0]
    np.testing.assert_allclose(net.thr.values[2:], want_thr[:-1], rtol=1e-12, atol=1e-12)
    z = np.zeros((T, 6))
    z[np.round(net.z.t).astype(int) - 1, net.z.i] = 1.0
    np.testing.assert_array_equal(z, states.z[0])
    assert states.z.sum() > 5 and np.any(states.a[0] > 0)


# tau 2 ms at dt 1 ms on purpose (a fast decay); the dt warning is not what this tests
@pytest.mark.filterwarnings("ignore:dt = 1 ms is .* of the smallest time constant:UserWarning")
def test_decaying_state_settles_to_exact_rest_instead_of_subnormal_numbers():
    """A membrane at rest 0 mV, a synaptic current and a readout decaying in silence reach
    exactly 0 (below 1e-150) instead of subnormal numbers, where arithmetic is ~100x slower;
    e-prop's traces likewise (flushed every 256 steps)."""
    import plasticity
    net = models.Network(dt=1.0)
    src = net.add(models.SpikeGeneratorGroup.from_trains([np.array([0.0])]))
    cell = net.add(models.LIF(1, synapses="current", tau_m=2.0, tau_e=2.0, e_leak=0.0, v_reset=-1.0,
                              v_th=1e9, v_init=1.0))
    out = net.add(models.Readout(1, tau=2.0))
    rule = plasticity.EPropRule(feedback="random", B=np.ones((1, 1)))
    net.connect(src, cell, weight=100.0, rule=rule, readout=out)
    net.connect(cell, out, weight=1.0)
    v = net.record_state(cell, "v", every=100.0)
    net.run(1450.0)               # exp(-1450/2) ~ 1e-315: a subnormal number unless settled to 0
    assert 0.0 < v.values[2, 0] < 1e-20                    # it did decay smoothly first
    view = net.view()
    assert view.neurons.v[1] == 0.0 and view.neurons.s_e[1] == 0.0 and view.neurons.v[2] == 0.0
    data = net.family_data(plasticity.online.FAMILY)
    assert np.all(data.eps_v == 0.0) and np.all(data.eps_i == 0.0)


def test_callable_targets_vectorised_or_not_give_the_same_rows():
    """A target f(t) is called once on all the chunk's times when it accepts an array, else
    once per step; both give the same rows (NaN before t_start)."""
    def scalar_only(t):
        return [float(np.sin(t / 7.0)), float(np.cos(t / 3.0))]     # fails on arrays: per step

    def vectorised(t):
        return np.stack([np.sin(np.asarray(t) / 7.0), np.cos(np.asarray(t) / 3.0)], axis=-1)

    steps = np.arange(0, 50)
    a, pa = models.Readout(2, target=scalar_only, t_start=1.0).target_rows(steps, 0.1)
    b, pb = models.Readout(2, target=vectorised, t_start=1.0).target_rows(steps, 0.1)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(pa, pb)
    assert np.all(np.isnan(a[:10])) and a[10, 0] == pytest.approx(np.sin(1.0 / 7.0), rel=1e-15)
    c, _ = models.Readout(1, target=lambda t: 0.5).target_rows(steps, 0.1)          # a constant
    assert np.all(c == 0.5)


def _two_group_network(second):
    net = models.Network(dt=0.1, seed=2)
    drive = net.add(models.PoissonGroup(20, rate=400.0))
    plain = net.add(models.LIF(5, tau_m=10.0, e_leak=-70.0, v_th=-54.0, v_reset=-60.0))
    other = net.add(second)
    w_other = 2.0 if isinstance(second, models.AdEx) else 0.5 if second.synapses == "conductance" else 50.0
    for g, w in ((plain, 50.0), (other, w_other)):          # pA; leak units (conductance); mV (AdEx)
        net.connect(drive, g, weight=w, connectivity=models.all_to_all())
    recs = [net.record_spikes(plain), net.record_spikes(other)]
    net.run(50.0)
    return net, recs


@pytest.mark.parametrize("second, kinds", [
    (models.LIF(4, tau_m=10.0, e_leak=-70.0, v_th=-54.0, v_reset=-60.0), ("lif_current",)),
    (models.LIF(4, synapses="conductance", tau_m=10.0, e_leak=-70.0, v_th=-54.0, v_reset=-60.0),
     ("lif_current", "lif_conductance")),
    (models.LIF(4, tau_m=10.0, e_leak=-70.0, v_th=-54.0, v_reset=-60.0, reset="subtract"), ("lif_current", "lif_general")),
    (models.AdEx(4), ("lif_current", "adex")),
])
def test_the_loop_compiles_only_the_neuron_kinds_the_network_has(second, kinds):
    """integrate() gets literal flags from the generated loop: each LIF path (current or
    conductance synapses, general) and AdEx is compiled only for networks with such groups; each kind still integrates (its group
    spikes; a checkpoint without the flags gets them back from the neurons)."""
    import pickle

    from models.loopgen import KINDS, source
    net, recs = _two_group_network(second)
    built = net._built
    assert tuple(s for s in built.stages if s in KINDS) == kinds
    text = source(built.families, built.stages)
    assert "integrate(k, net, spiked, " + ", ".join(str(name in kinds) for name in KINDS) + ")" in text
    assert all(r.i.size > 0 for r in recs)
    old = dict(built.__getstate__(), stages=tuple(s for s in built.stages if s not in KINDS))
    restored = pickle.loads(pickle.dumps(old))
    again = type(built).__new__(type(built))
    again.__setstate__(restored)
    assert tuple(s for s in again.stages if s in KINDS) == kinds
