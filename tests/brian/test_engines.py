"""Native loop vs Brian2 on networks: neurons, protocols, and the compiled targets."""
import numpy as np
import pytest

import brian2 as b2

import models
from plasticity import PairSTDP, TripletSTDP, replay
from protocols import stdp_window
from protocols.brian_backend import generator, lif_group, receptor_variable, replay_pairs

DT = 0.1


def input_trains(seed, n, rate_hz, duration):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        t = np.cumsum(rng.exponential(1000.0 / rate_hz, int(3 * rate_hz * duration / 1000) + 10))
        steps = np.unique(np.floor(t[t < duration - 1.0] / DT + 1e-3).astype(int))
        out.append(steps * DT)  # on the grid, at most one spike per step
    return out


LIFS = {
    "current": models.LIF(3, synapses="current", tau_m=20.0, c_m=250.0, e_leak=-70.0, v_th=-55.0,
                          v_reset=-70.0, t_ref=2.0, tau_e=5.0, tau_i=10.0, i_ext=300.0),
    "conductance": models.LIF(3, synapses="conductance", tau_m=10.0, e_leak=-74.0, v_th=-54.0, v_reset=-60.0,
                              t_ref=1.0, tau_e=5.0, tau_i=10.0, e_e=0.0, e_i=-80.0),
}
WEIGHTS = {"current": (60.0, 40.0), "conductance": (0.15, 0.05)}  # pA / leak units: (exc, inh)


@pytest.mark.parametrize("mode", ["current", "conductance"])
def test_driven_lif_spikes_identically_for_one_second(mode):
    lif, (w_exc, w_inh) = LIFS[mode], WEIGHTS[mode]
    exc, inh = input_trains(1, 40, 20.0, 1000.0), input_trains(2, 20, 20.0, 1000.0)
    rng = np.random.default_rng(3)
    we = rng.uniform(0, w_exc, (40, 3))
    wi = rng.uniform(0, w_inh, (20, 3))

    net = models.Network(dt=DT, seed=0)
    g_exc = net.add(models.SpikeGeneratorGroup.from_trains(exc))
    g_inh = net.add(models.SpikeGeneratorGroup.from_trains(inh))
    cell = net.add(lif)
    net.connect(g_exc, cell, weight=we.ravel(), receptor="excitatory")
    sign = -1.0 if mode == "current" else 1.0  # current synapses carry their sign
    net.connect(g_inh, cell, weight=sign * wi.ravel(), receptor="inhibitory")
    rec = net.record_spikes(cell)
    net.run(1000.0)

    b_exc, b_inh = generator(b2, exc, "exc"), generator(b2, inh, "inh")
    group = lif_group(b2, lif, name="cell")
    unit = b2.pA if mode == "current" else 1
    s_exc = b2.Synapses(b_exc, group, "w : 1", on_pre=f"{receptor_variable(lif, 'excitatory')} += w * unit",
                        namespace={"unit": unit}, name="s_exc")
    s_inh = b2.Synapses(b_inh, group, "w : 1", on_pre=f"{receptor_variable(lif, 'inhibitory')} += w * unit",
                        namespace={"unit": unit}, name="s_inh")
    for syn, weights, n in ((s_exc, we, 40), (s_inh, sign * wi, 20)):
        syn.connect(i=np.repeat(np.arange(n), 3), j=np.tile(np.arange(3), n))
        syn.w = weights.ravel()
    mon = b2.SpikeMonitor(group, name="mon")
    b2.defaultclock.dt = DT * b2.ms
    b2.Network(b_exc, b_inh, group, s_exc, s_inh, mon).run(1000.0 * b2.ms)

    assert rec.t.size > 30  # the neurons really fire
    np.testing.assert_array_equal(rec.i, np.asarray(mon.i[:]))
    np.testing.assert_array_equal(np.round(rec.t / DT).astype(int), np.round(np.asarray(mon.t / b2.ms) / DT).astype(int))


def test_stdp_window_protocol_same_on_both_backends():
    config = stdp_window.Config(dt_step=10.0, sim_dt=0.1)
    native = stdp_window.run(config)
    brian = stdp_window.run(config, backend="brian2")
    np.testing.assert_allclose(brian.dw, native.dw, rtol=1e-9, atol=1e-12)
    assert brian.provenance["backend"] == "brian2" and brian.provenance["target"] == "numpy"


RULES = [PairSTDP(a_plus=0.03, a_minus=0.032, scheme="nearest_pre_centred", weight_dependence="multiplicative"),
         PairSTDP(a_plus=0.03, a_minus=0.032, weight_dependence="power_law", mu_plus=0.3, mu_minus=0.8),
         TripletSTDP.from_paper("visual_cortex", "all_to_all", "full")]


@pytest.mark.slow
@pytest.mark.parametrize("target", ["cython", "cpp_standalone"])
def test_compiled_targets_match_replay(target):
    pre = input_trains(4, 5, 30.0, 400.0)
    post = input_trains(5, 4, 30.0, 400.0)
    post[0] = np.unique(np.r_[post[0], pre[0][:4]])
    w0 = np.random.default_rng(6).uniform(0.2, 0.8, (4, 5))
    for rule in RULES:
        got = replay_pairs(rule, pre, post, w0, dt=DT, duration=400.0, target=target)
        np.testing.assert_allclose(got, replay(rule, pre, post, w0, dt=DT), rtol=1e-9)


@pytest.mark.slow
def test_song2000_weight_distributions_agree_across_backends():
    """Same inputs statistics, same initial weights, independent Poisson draws: the final
    weight distributions agree (two-sample KS, p > 0.01) and both split toward the bounds."""
    from scipy.stats import ks_2samp

    from analysis.weights import bimodality
    from protocols import song2000

    config = song2000.Config(duration_ms=30_000.0, target="cython")
    native, brian = song2000.run(config), song2000.run(config, backend="brian2")
    np.testing.assert_array_equal(native.w0, brian.w0)
    assert ks_2samp(native.w, brian.w).pvalue > 0.01
    for result in (native, brian):
        b = bimodality(result.w, config.g_max)
        assert b.coefficient > 0.58 and b.frac_low + b.frac_high > 0.28
