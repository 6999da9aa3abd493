"""The native simulator applies spike-timing rules exactly as ``plasticity.replay`` does.

A plastic projection from 5 presynaptic sources onto 2 conductance-based LIF neurons (which
a second, static projection drives to fire) is simulated; the presynaptic trains and the
recorded postsynaptic spikes are then replayed through the same rule on the same grid.
Timing, as documented in models/simulate.py:

* delay 0: pre events at the emission step, post events at the spike step, pre before post;
* axonal delay d: the pre event reaches the synapse at emission + d (replay: pre + d);
* dendritic delay d: pre event at emission, post events at spike + d (replay: post + d);
* events that would reach the synapse at or after the end of the run are never processed
  (replay with ``duration`` = run length drops exactly those).
"""
import numpy as np
import pytest

import models
import plasticity
from plasticity import PairSTDP, TripletSTDP

DT = 0.1
T = 1000.0
N_PRE, N_POST = 5, 2


def _poisson_times(rng, n, rate_hz, t_stop):
    """Off-grid Poisson times (ms), at most one per time step (the generator requires it)."""
    trains = []
    for _ in range(n):
        t = np.cumsum(rng.exponential(1000.0 / rate_hz, int(3 * rate_hz * t_stop / 1000) + 20))
        t = t[t < t_stop]
        steps = np.floor(t / DT + 1e-3)
        trains.append(t[np.r_[True, np.diff(steps) > 0]])
    return trains


def _simulate(rule, *, delay=0.0, delay_type="axonal", seed=0, pre_kind="generator",
              runs=(T,), chunk=1000.0, record_every=None):
    rng = np.random.default_rng(seed)
    net = models.Network(dt=DT, seed=seed, chunk=chunk)
    if pre_kind == "generator":
        # inputs continue past the end of the run: shifted events fall beyond it
        pre_trains = _poisson_times(rng, N_PRE, 20.0, sum(runs) + 5.0)
        pre = net.add(models.SpikeGeneratorGroup.from_trains(pre_trains))
    elif pre_kind == "poisson":
        pre_trains = None
        pre = net.add(models.PoissonGroup(N_PRE, rate=20.0))
    else:  # a driven LIF group as the presynaptic population
        pre_trains = None
        pre = net.add(models.LIF(N_PRE, synapses="conductance", tau_m=10.0, e_leak=-70.0, v_th=-54.0,
                                 v_reset=-60.0, t_ref=1.0))
    drive = net.add(models.SpikeGeneratorGroup.from_trains(_poisson_times(rng, N_POST, 25.0, sum(runs) + 5.0)))
    post = net.add(models.LIF(N_POST, synapses="conductance", tau_m=10.0, e_leak=-70.0, v_th=-54.0,
                              v_reset=-60.0, t_ref=1.0, tau_e=5.0))
    if pre_kind == "lif":
        pre_drive = net.add(models.PoissonGroup(N_PRE, rate=60.0))
        net.connect(pre_drive, pre, weight=3.0, connectivity=models.one_to_one())
    net.connect(drive, post, weight=3.0, connectivity=models.one_to_one())
    proj = net.connect(pre, post, weight=models.uniform(rule.w_min + 0.1 * (rule.w_max - rule.w_min),
                                                        rule.w_max - 0.1 * (rule.w_max - rule.w_min)),
                       delay=delay, delay_type=delay_type, rule=rule)
    w0 = proj.dense_weights().copy()
    w0_syn = proj.w.copy()
    pre_rec = net.record_spikes(pre)
    post_rec = net.record_spikes(post)
    w_rec = net.record_weights(proj, every=record_every) if record_every else None
    for duration in runs:
        net.run(duration)
    if pre_trains is None:
        pre_trains = pre_rec.trains()
    else:  # the generator really emitted the trains, on the grid
        for got, t in zip(pre_rec.trains(), pre_trains):
            want = np.floor(t / DT + 1e-3) * DT
            np.testing.assert_allclose(got, want[want < sum(runs) - 1e-9], rtol=0, atol=1e-9)
    return dict(pre=pre_trains, post=post_rec.trains(), w0=w0, w0_syn=w0_syn,
                w=proj.dense_weights(), w_syn=proj.w.copy(), w_rec=w_rec, proj=proj)


def _on_grid(t):
    return np.floor(np.asarray(t) / DT + 1e-3) * DT


def _replay(rule, out, *, pre_shift=0.0, post_shift=0.0, duration=T):
    pre = [_on_grid(t) + pre_shift for t in out["pre"]]
    post = [np.asarray(t) + post_shift for t in out["post"]]
    return plasticity.replay(rule, pre, post, out["w0"], dt=DT, duration=duration)


def _check_nontrivial(out):
    assert all(t.size >= 15 for t in out["post"]), [t.size for t in out["post"]]
    assert all(t.size >= 10 for t in out["pre"])
    assert np.max(np.abs(out["w"] - out["w0"])) > 1e-3


PAIR_RULES = [
    PairSTDP(a_plus=0.02, a_minus=0.021, scheme=scheme, weight_dependence=wd,
             **({"mu_plus": 0.4, "mu_minus": 0.7} if wd == "power_law" else {}))
    for scheme in ("all_to_all", "nearest_symmetric", "nearest_pre_centred")
    for wd in ("additive", "multiplicative", "power_law")
]
# hard bounds reached: large steps on a narrow, shifted weight range
PAIR_RULES.append(PairSTDP(a_plus=0.3, a_minus=0.35, w_min=0.2, w_max=0.8))
TRIPLET_RULES = [
    TripletSTDP.from_paper("visual_cortex", "all_to_all", "full"),
    TripletSTDP.from_paper("visual_cortex", "all_to_all", "minimal"),
    TripletSTDP.from_paper("hippocampal", "nearest", "full"),
]


def _rule_id(rule):
    if isinstance(rule, PairSTDP):
        return f"pair-{rule.scheme}-{rule.weight_dependence}-[{rule.w_min},{rule.w_max}]"
    return f"triplet-{rule.scheme}-a3m{rule.a3_minus}"


DELAYS = [(0.0, "axonal"), (1.5, "axonal"), (1.5, "dendritic")]


@pytest.mark.parametrize("delay, delay_type", DELAYS, ids=["d0", "axonal1.5", "dendritic1.5"])
@pytest.mark.parametrize("rule", PAIR_RULES + TRIPLET_RULES, ids=_rule_id)
def test_simulator_equals_replay(rule, delay, delay_type):
    out = _simulate(rule, delay=delay, delay_type=delay_type, seed=1)
    _check_nontrivial(out)
    shift = dict(pre_shift=delay) if delay_type == "axonal" else dict(post_shift=delay)
    want = _replay(rule, out, **shift)
    np.testing.assert_allclose(out["w"], want, rtol=0, atol=1e-12)


def test_bounds_are_reached_in_the_clipping_case():
    rule = PAIR_RULES[-1]
    out = _simulate(rule, seed=1)
    w = out["w"]
    assert np.any(w == 0.2) or np.any(w == 0.8)
    assert w.min() >= 0.2 and w.max() <= 0.8


@pytest.mark.parametrize("delay, delay_type", DELAYS, ids=["d0", "axonal1.5", "dendritic1.5"])
def test_delay_is_not_ignored(delay, delay_type):
    # the check above is sharp: replaying with the wrong timing gives different weights
    rule = PAIR_RULES[0]
    out = _simulate(rule, delay=delay, delay_type=delay_type, seed=1)
    wrong = [dict(pre_shift=0.0), dict(pre_shift=1.5), dict(post_shift=1.5)]
    right = DELAYS.index((delay, delay_type))
    for k, shift in enumerate(wrong):
        if k != right:
            assert np.max(np.abs(_replay(rule, out, **shift) - out["w"])) > 1e-4


@pytest.mark.parametrize("delay_type", ["axonal", "dendritic"])
def test_events_beyond_the_run_are_not_processed(delay_type):
    # a post neuron firing every 2.5 ms (huge current, t_ref = 2.5 ms: spikes at 0, 2.5, ...,
    # 997.5) and pre spikes up to 998 ms; the run ends at 998.9 ms, so with d = 1.5 ms the
    # last pre spike (axonal, arrives 999.5) or the last post spike (dendritic, 999.0) never
    # reaches the synapse
    rule = PairSTDP(a_plus=0.01, a_minus=0.012)
    duration, d = 998.9, 1.5
    net = models.Network(dt=DT)
    pre = net.add(models.SpikeGeneratorGroup(2, (np.array([10.0, 500.3, 998.0]),
                                                 np.array([3.3, 997.0]))))
    post = net.add(models.LIF(1, t_ref=2.5, i_ext=1e6))
    proj = net.connect(pre, post, weight=0.5, rule=rule, delay=d, delay_type=delay_type)
    rec = net.record_spikes(post)
    net.run(duration)
    np.testing.assert_allclose(rec.t, np.arange(400) * 2.5, rtol=0, atol=1e-9)
    pre_t = [np.array([10.0, 500.3, 998.0]), np.array([3.3, 997.0])]
    post_t = [rec.t]
    if delay_type == "axonal":
        pre_t = [t + d for t in pre_t]
    else:
        post_t = [t + d for t in post_t]
    w0 = np.full((1, 2), 0.5)
    want = plasticity.replay(rule, pre_t, post_t, w0, dt=DT, duration=duration)
    np.testing.assert_allclose(proj.dense_weights(), want, rtol=0, atol=1e-12)
    every_event = plasticity.replay(rule, pre_t, post_t, w0, dt=DT, duration=duration + 5.0)
    # neuron 0's late event matters (axonal: its pre spike; dendritic: the last post spike)
    assert abs(every_event[0, 0] - want[0, 0]) > 1e-4


@pytest.mark.parametrize("pre_kind", ["poisson", "lif"])
def test_other_presynaptic_groups(pre_kind):
    rule = PairSTDP(a_plus=0.02, a_minus=0.021, scheme="nearest_pre_centred")
    out = _simulate(rule, pre_kind=pre_kind, delay=0.7, seed=2)
    _check_nontrivial(out)
    want = _replay(rule, out, pre_shift=0.7)
    np.testing.assert_allclose(out["w"], want, rtol=0, atol=1e-12)


@pytest.mark.parametrize("delay, delay_type", DELAYS, ids=["d0", "axonal1.5", "dendritic1.5"])
def test_split_runs_and_small_chunks(delay, delay_type):
    # run() in pieces with chunk boundaries every 7.7 ms: delay rings must carry over
    rule = TripletSTDP.from_paper("hippocampal", "all_to_all", "full")
    out = _simulate(rule, delay=delay, delay_type=delay_type, seed=3, runs=(333.3, 266.7, 400.0),
                    chunk=7.7)
    _check_nontrivial(out)
    shift = dict(pre_shift=delay) if delay_type == "axonal" else dict(post_shift=delay)
    np.testing.assert_allclose(out["w"], _replay(rule, out, **shift), rtol=0, atol=1e-12)


def test_record_weights():
    rule = PAIR_RULES[1]
    out = _simulate(rule, delay=1.5, seed=4, record_every=100.0)
    rec = out["w_rec"]
    np.testing.assert_allclose(rec.t, np.arange(11) * 100.0, rtol=0, atol=1e-9)
    assert rec.w.shape == (11, N_PRE * N_POST)
    np.testing.assert_array_equal(rec.w[0], out["w0_syn"])
    np.testing.assert_array_equal(rec.w[-1], out["w_syn"])
    # each row is the replayed weight at that time (events strictly before it)
    proj = out["proj"]
    for row, t in zip(rec.w[1:-1], rec.t[1:-1]):
        want = _replay(rule, out, pre_shift=1.5, duration=t)
        np.testing.assert_allclose(proj.dense_weights(row), want, rtol=0, atol=1e-12)
    # the trajectory moves
    assert np.max(np.abs(np.diff(rec.w, axis=0))) > 1e-3


@pytest.mark.parametrize("index_bits, hints", [(32, False), pytest.param(64, False, marks=pytest.mark.slow),
                                               pytest.param(32, True, marks=pytest.mark.slow)])
def test_several_plastic_projections_in_one_network(index_bits, hints, monkeypatch):
    # projections with different rules, delays, delay types and targets share the flattened
    # arrays (trace, ring and synapse offsets); each must still equal its own replay. The
    # per-synapse indices are 32-bit up to 2**31 - 1 synapses and 64-bit beyond: the 64-bit
    # path is taken here by lowering that limit
    if index_bits == 64:
        monkeypatch.setattr(models.simulate, "INDEX32_MAX", 0)
    # the cache hints of large networks (rows and columns asked for ahead of the walks) are
    # in the loop of a network with more weight bytes than PREFETCH_BYTES: here, by lowering it
    if hints:
        monkeypatch.setattr(models.simulate, "PREFETCH_BYTES", 0)
    rng = np.random.default_rng(9)
    net = models.Network(dt=DT, seed=9, chunk=50.0)
    a = net.add(models.SpikeGeneratorGroup.from_trains(_poisson_times(rng, 4, 25.0, T + 5)))
    c = net.add(models.SpikeGeneratorGroup.from_trains(_poisson_times(rng, 3, 25.0, T + 5)))
    drive = net.add(models.SpikeGeneratorGroup.from_trains(_poisson_times(rng, 5, 30.0, T + 5)))
    cell_kw = dict(synapses="conductance", tau_m=10.0, e_leak=-70.0, v_th=-54.0, v_reset=-60.0, t_ref=1.0)
    b = net.add(models.LIF(2, **cell_kw))
    d = net.add(models.LIF(3, **cell_kw))
    net.connect(drive, b, weight=3.0, connectivity=_Pairs([0, 1], [0, 1]))
    net.connect(drive, d, weight=3.0, connectivity=_Pairs([2, 3, 4], [0, 1, 2]))
    specs = [
        (a, b, PairSTDP(a_plus=0.02, a_minus=0.021), 1.5, "axonal", models.all_to_all()),
        (c, b, TripletSTDP.from_paper("hippocampal", "all_to_all", "full"), 0.8, "dendritic",
         models.all_to_all()),
        (a, d, PairSTDP(a_plus=0.03, a_minus=0.02, scheme="nearest_pre_centred",
                        weight_dependence="multiplicative"), 0.0, "axonal", models.all_to_all()),
        (c, d, PairSTDP(a_plus=0.02, a_minus=0.025, scheme="nearest_symmetric"), 2.3, "dendritic",
         models.fixed_probability(0.6)),
        (b, d, PairSTDP(a_plus=0.02, a_minus=0.02), 1.0, "axonal", models.all_to_all()),  # LIF -> LIF
    ]
    projs, w0s = [], []
    for src, tgt, rule, delay, kind, conn in specs:
        proj = net.connect(src, tgt, weight=models.uniform(0.1, 0.5), rule=rule, delay=delay,
                           delay_type=kind, connectivity=conn)
        projs.append(proj)
        w0s.append(proj.dense_weights().copy())
    recs = {id(g): net.record_spikes(g) for g in (a, b, c, d)}
    net.run(T / 2)
    net.run(T / 2)
    assert net.view().wiring.in_pre.dtype == np.dtype(f"int{index_bits}")
    assert ("prefetch" in net._built.stages) == hints
    text = models.loopgen.source(net._built.families, net._built.stages)
    assert ("prefetch_rows(net, p" in text) == ("prefetch_columns(net, p" in text) == hints
    assert 0 < projs[3].n_syn < 9
    for (src, tgt, rule, delay, kind, _), proj, w0 in zip(specs, projs, w0s):
        pre, post = recs[id(src)].trains(), recs[id(tgt)].trains()
        assert all(t.size > 5 for t in pre + post)
        if kind == "axonal":
            pre = [t + delay for t in pre]
        else:
            post = [t + delay for t in post]
        want = plasticity.replay(rule, pre, post, w0, dt=DT, duration=T)
        exists = proj.dense_weights(np.ones(proj.n_syn)) == 1.0
        # a rule acts per synapse: the dense replay restricted to existing synapses is exact
        np.testing.assert_allclose(proj.dense_weights()[exists], want[exists], rtol=0, atol=1e-12)
        assert np.all(proj.dense_weights()[~exists] == 0.0)
        assert np.max(np.abs(proj.dense_weights() - w0)) > 1e-3


class _Pairs:
    def __init__(self, pre, post):
        self.pre, self.post = np.array(pre), np.array(post)

    def pairs(self, n_pre, n_post, rng, same_group=False):
        return self.pre.copy(), self.post.copy()


@pytest.mark.parametrize("delay, delay_type", [(0.0, "axonal"), (1.2, "axonal"), (1.2, "dendritic")])
def test_recurrent_plastic_projection(delay, delay_type):
    # a group onto itself: every spike is a pre event (step 4) and a post event (step 5)
    net = models.Network(dt=DT, seed=3)
    drive = net.add(models.PoissonGroup(4, rate=80.0))
    g = net.add(models.LIF(4, synapses="conductance", tau_m=10.0, v_th=-54.0, v_reset=-60.0,
                           e_leak=-70.0, t_ref=1.0))
    net.connect(drive, g, weight=2.0, connectivity=models.one_to_one())
    rule = PairSTDP(a_plus=0.02, a_minus=0.021)
    proj = net.connect(g, g, weight=models.uniform(0.1, 0.5), rule=rule, delay=delay,
                       delay_type=delay_type, connectivity=models.all_to_all(allow_self=False))
    w0 = proj.dense_weights().copy()
    rec = net.record_spikes(g)
    net.run(T)
    trains = rec.trains()
    assert all(t.size > 100 for t in trains)
    pre = [t + delay for t in trains] if delay_type == "axonal" else trains
    post = trains if delay_type == "axonal" else [t + delay for t in trains]
    want = plasticity.replay(rule, pre, post, w0, dt=DT, duration=T)
    off = ~np.eye(4, dtype=bool)
    np.testing.assert_allclose(proj.dense_weights()[off], want[off], rtol=0, atol=1e-12)
    assert np.all(np.diag(proj.dense_weights()) == 0.0)
