"""ClopathSTDP as a rule family in models.Network: on an AdEx target, the weights of its
projections follow plasticity.voltage.clopath_run (and its NumPy twin) applied to the
recorded membrane potential and the presynaptic spike flags (the step a spike reaches the
synapse), to rtol 1e-9; the protocol's arrangement (the EPSP on a static projection, the
learning weight on a plastic projection that transmits nothing measurable) leaves the
neuron exactly where adex_run puts it."""
import numpy as np
import pytest

import models
from plasticity import ParameterError
from plasticity.voltage import (AdExClopath, ClopathSTDP, adex_run, clopath_run, clopath_run_reference)

DT = 0.1
N_STEPS = 8000
FORCE_MV = 1000.0


def _pairing_like_trains(rng, n_pre):
    """Presynaptic spikes (steps) with forced postsynaptic spikes a few ms after some of them."""
    pre = [np.sort(rng.choice(np.arange(10, N_STEPS - 50, 7), 60, replace=False)) for _ in range(n_pre)]
    post = np.unique(np.concatenate([pre[0][::4] + 60, pre[1][::5] - 40]))
    post = post[(post > 0) & (post < N_STEPS - 5)]
    post = post[np.r_[True, np.diff(post) > 30]]          # apart by more than the 2 ms clamp
    return pre, post


def _flags(steps_of_pre, syn_pre, delay, n_steps):
    """(n_syn, n_steps) flags: 1 where the synapse's presynaptic spike reaches it."""
    flags = np.zeros((syn_pre.size, n_steps), np.int64)
    for s, j in enumerate(syn_pre):
        k = steps_of_pre[j] + delay
        flags[s, k[k < n_steps]] = 1
    return flags


def _expected(rule, proj, u_after, steps_of_pre, delay, w0, u_init, reference=False):
    """Weights after every step, (n_syn, n_steps), from the kernel (or its twin) per target neuron."""
    out = np.zeros((proj.n_syn, u_after.shape[0]))
    flags = _flags(steps_of_pre, proj.pre, delay, u_after.shape[0])
    for i in range(proj.target.n):
        mine = np.flatnonzero(proj.post == i)
        if reference:
            out[mine] = clopath_run_reference(rule, DT, u_after[:, i], flags[mine], u_init, w0[mine])
        else:
            w = np.zeros((mine.size, u_after.shape[0]))
            clopath_run(rule.params(), DT, u_after[:, i], flags[mine], u_init, w0[mine].copy(), w)
            out[mine] = w
    return out


def test_weights_follow_clopath_run_on_the_recorded_voltage(rng):
    """Two plastic projections (delays, delay_u and amplitudes differ) onto two AdEx neurons;
    their weights transmit (delta EPSPs in mV), so learning acts back on u."""
    n_a, n_b, n_cell = 3, 2, 2
    steps_a, post = _pairing_like_trains(rng, n_a)
    steps_b = [np.sort(rng.choice(np.arange(10, N_STEPS - 50), 50, replace=False)) for _ in range(n_b)]
    rule_a = ClopathSTDP(a_ltd=2e-3, a_ltp=1e-3, w_max=3.0)
    rule_b = ClopathSTDP(a_ltd=4e-3, a_ltp=2e-3, delay_u=0.0, tau_x=8.0, w_max=3.0)
    d_a, d_b = 0, 4
    neuron = AdExClopath(b=0.0805, v_reset=-49.6)

    net = models.Network(dt=DT, seed=2, chunk=300.0)
    src_a = net.add(models.SpikeGeneratorGroup.from_trains([s * DT for s in steps_a]))
    src_b = net.add(models.SpikeGeneratorGroup.from_trains([s * DT for s in steps_b]))
    force = net.add(models.SpikeGeneratorGroup.from_trains([(post - 1) * DT, (post[::2] - 1) * DT]))
    cell = net.add(models.AdEx(n_cell, neuron=neuron, i_ext=60.0))
    net.connect(force, cell, weight=FORCE_MV, connectivity=models.one_to_one())
    pa = net.connect(src_a, cell, weight=models.uniform(0.5, 2.0), rule=rule_a, delay=d_a * DT)
    pb = net.connect(src_b, cell, weight=models.uniform(0.5, 2.0), rule=rule_b, delay=d_b * DT)
    w0_a, w0_b = pa.w.copy(), pb.w.copy()
    v = net.record_state(cell, "v")
    rec_a, rec_b = net.record_weights(pa, every=5.0), net.record_weights(pb, every=5.0)
    net.run(N_STEPS * DT)

    # u after step k = the value recorded at the start of step k + 1 (the last one: the state now)
    o = net.offset(cell)
    u_after = np.vstack([v.values[1:], net.view().neurons.v[o:o + n_cell]])
    for rule, proj, rec, steps, d, w0 in ((rule_a, pa, rec_a, steps_a, d_a, w0_a),
                                          (rule_b, pb, rec_b, steps_b, d_b, w0_b)):
        want = _expected(rule, proj, u_after, steps, d, w0, neuron.e_l)
        twin = _expected(rule, proj, u_after, steps, d, w0, neuron.e_l, reference=True)
        np.testing.assert_allclose(want, twin, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(proj.w, want[:, -1], rtol=1e-9)
        k_rec = np.round(rec.t / DT).astype(int)            # weights at t = k dt: after step k - 1
        assert rec.w.shape == (N_STEPS // 50 + 1, proj.n_syn)
        np.testing.assert_allclose(rec.w[1:], want[:, k_rec[1:] - 1].T, rtol=1e-9)
        np.testing.assert_array_equal(rec.w[0], w0)
        assert np.abs(proj.w - w0).max() > 0.05             # the rule really moved the weights
    assert np.any(u_after.max(axis=0) > rule_a.theta_plus)  # LTP was possible (spikes, depolarisation)


def test_protocol_arrangement_leaves_the_neuron_alone(rng):
    """Static EPSP projection + plastic projection with transmit=False (what
    protocols.clopath2010 does): u equals adex_run with the EPSP jumps alone (bit for bit),
    and the plastic weights equal clopath_run_reference on that voltage."""
    steps, post = _pairing_like_trains(rng, 2)
    rule = ClopathSTDP(delay_u=4.0, w_max=50.0)
    neuron = AdExClopath(b=0.0805, v_reset=-49.6)
    net = models.Network(dt=DT)
    src = net.add(models.SpikeGeneratorGroup.from_trains([s * DT for s in steps]))
    force = net.add(models.SpikeGeneratorGroup.from_trains([(post - 1) * DT]))
    cell = net.add(models.AdEx(1, neuron=neuron))
    net.connect(src, cell, weight=1.0)
    net.connect(force, cell, weight=FORCE_MV)
    plastic = net.connect(src, cell, weight=0.5, rule=rule, transmit=False)
    v = net.record_state(cell, "v")
    net.run(N_STEPS * DT)

    jumps, forced = np.zeros(N_STEPS), np.zeros(N_STEPS, np.int64)
    for s in steps:
        jumps[s + 1] += 1.0
    forced[post] = 1
    u, _ = np.zeros(N_STEPS), np.zeros(N_STEPS, np.int64)
    adex_run(neuron.params(), DT, jumps, forced, 0.0, u, _)
    np.testing.assert_array_equal(v.values[:, 0], np.r_[neuron.e_l, u[:-1]])   # not a bit of the plastic weight
    want = _expected(rule, plastic, u[:, None], steps, 0, np.full(2, 0.5), neuron.e_l, reference=True)
    np.testing.assert_allclose(plastic.w, want[:, -1], rtol=1e-9)
    assert np.abs(plastic.w - 0.5).max() > 1e-3


def test_dendritic_delay_is_refused():
    net = models.Network(dt=DT)
    src = net.add(models.SpikeGeneratorGroup.from_trains([np.array([1.0])]))
    cell = net.add(models.AdEx(1))
    with pytest.raises(ParameterError, match="delay_type"):
        net.connect(src, cell, weight=0.5, rule=ClopathSTDP(), delay=1.0, delay_type="dendritic")
    net.connect(src, cell, weight=0.5, rule=ClopathSTDP(), delay=0.0, delay_type="dendritic")  # no delay: fine
