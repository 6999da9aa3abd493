"""An AdEx group of models.Network is plasticity.voltage.adex_run: driven by spike generators
(delta inputs in mV, a forcing generator whose jump puts u above v_peak), its recorded u and
its spikes equal the kernel and its NumPy twin given the same jumps and forced spikes.

The network's timing: a spike emitted at step k (delay D steps) is delivered at step k + D
and seen by the integration of step k + D + 1; ``record_state`` samples at the start of each
step, i.e. the value after the previous step (the initial u = E_L at step 0)."""
import numpy as np
import pytest

import models
from plasticity import ParameterError
from plasticity.voltage import AdExClopath, ClopathSTDP, adex_run, adex_run_reference

DT = 0.1
N_STEPS = 6000
FORCE_MV = 1000.0     # any u plus this is >= v_peak


def _random_train(rng, n_spikes, low=5):
    return np.sort(rng.choice(np.arange(low, N_STEPS - 20), n_spikes, replace=False))


@pytest.mark.parametrize("neuron,i_ext", [(AdExClopath(), 0.0), (AdExClopath(), 450.0),
                                          (AdExClopath(b=0.0805, v_reset=-49.6), 0.0)],
                         ids=["default", "default-i_ext-fires", "pairing"])
def test_adex_group_equals_adex_run(rng, neuron, i_ext):
    n_in, n_cell, d_inh = 3, 2, 5
    in_steps = [_random_train(rng, 80) for _ in range(n_in)]
    inh_steps = [_random_train(rng, 30)]
    force_steps = [_random_train(rng, 6) for _ in range(n_cell)]
    w_in = rng.uniform(0.5, 6.0, (n_in, n_cell))        # mV, order of all_to_all's pairs (pre-major)
    w_inh = np.array([-3.0, -1.5])                       # mV (signed: delta inputs add to u)

    net = models.Network(dt=DT, seed=1, chunk=250.0)
    src = net.add(models.SpikeGeneratorGroup.from_trains([s * DT for s in in_steps]))
    inh = net.add(models.SpikeGeneratorGroup.from_trains([s * DT for s in inh_steps]))
    force = net.add(models.SpikeGeneratorGroup.from_trains([s * DT for s in force_steps]))
    cell = net.add(models.AdEx(n_cell, neuron=neuron, i_ext=i_ext))
    net.connect(src, cell, weight=w_in.ravel())
    net.connect(inh, cell, weight=w_inh, receptor="inhibitory", delay=d_inh * DT)
    net.connect(force, cell, weight=FORCE_MV, connectivity=models.one_to_one())
    v = net.record_state(cell, "v")
    spikes = net.record_spikes(cell)
    net.run(N_STEPS * DT / 2)
    net.run(N_STEPS * DT / 2)            # two runs: the state carries over

    assert v.values.shape == (N_STEPS, n_cell)
    for i in range(n_cell):
        jumps = np.zeros(N_STEPS)
        for j in range(n_in):
            jumps[in_steps[j] + 1] += w_in[j, i]                   # emitted at k: a jump at k + 1
        jumps[inh_steps[0] + d_inh + 1] += w_inh[i]
        forced = np.zeros(N_STEPS, np.int64)
        forced[force_steps[i] + 1] = 1
        u, sp = np.zeros(N_STEPS), np.zeros(N_STEPS, np.int64)
        adex_run(neuron.params(), DT, jumps, forced, i_ext, u, sp)
        u_ref, sp_ref = adex_run_reference(neuron, DT, jumps, forced, i_ext)
        np.testing.assert_array_equal(sp, sp_ref)
        # record_state at step k = u after step k - 1 (E_L at step 0)
        np.testing.assert_allclose(v.values[:, i], np.r_[neuron.e_l, u[:-1]], rtol=0, atol=1e-10)
        np.testing.assert_allclose(v.values[:, i], np.r_[neuron.e_l, u_ref[:-1]], rtol=0, atol=1e-10)
        np.testing.assert_allclose(net.view().neurons.v[net.offset(cell) + i], u[-1], rtol=0, atol=1e-10)
        np.testing.assert_allclose(spikes.trains()[i], np.flatnonzero(sp) * DT, rtol=0, atol=1e-9)
        assert sp.sum() >= 3                               # forced spikes happened (some may fall in a clamp)
        if i_ext > 0:
            assert sp.sum() > forced.sum()                 # ... and the neuron fired by itself too


def test_adex_group_other_state_variables():
    """w_ad and V_T are recorded too: V_T jumps to V_T,max at a forced spike and relaxes."""
    neuron = AdExClopath()
    net = models.Network(dt=DT)
    force = net.add(models.SpikeGeneratorGroup.from_trains([np.array([10.0])]))
    cell = net.add(models.AdEx(1, neuron=neuron))
    net.connect(force, cell, weight=FORCE_MV)
    vt, w_ad = net.record_state(cell, "v_t"), net.record_state(cell, "w_ad")
    net.run(50.0)
    k = 101                                                # emitted at step 100, spike at step 101
    assert vt.values[k, 0] == pytest.approx(neuron.v_th_rest, abs=1e-12)
    assert vt.values[k + 1, 0] == pytest.approx(neuron.v_th_max + DT * (neuron.v_th_rest - neuron.v_th_max)
                                                / neuron.tau_v_th, rel=1e-12)
    assert w_ad.values[k + 1, 0] > 0.9 * neuron.b


def test_clopath_needs_an_adex_target():
    net = models.Network(dt=DT)
    src = net.add(models.SpikeGeneratorGroup.from_trains([np.array([1.0])]))
    lif = net.add(models.LIF(1, synapses="delta"))
    with pytest.raises(ParameterError, match="AdEx"):
        net.connect(src, lif, weight=0.5, rule=ClopathSTDP())
