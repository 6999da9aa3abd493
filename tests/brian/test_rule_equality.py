"""The same rule, the same spike trains: Brian2 (its equations from to_brian) == native replay.

Weight trajectories are compared at every step where an event happened, to rtol 1e-9,
for every pairing scheme and weight dependence, every published triplet set, simultaneous
pre/post spikes in one step, and axonal and dendritic delays.
"""
import numpy as np
import pytest

import brian2 as b2

from plasticity import PairSTDP, ParameterError, TripletSTDP, replay
from plasticity.brian import attach, to_brian
from plasticity.triplet import PAPER_SETS
from protocols.brian_backend import generator

DT = 0.1
T = 300.0


def trains(seed, n_pre=4, n_post=3, n_pre_spikes=14, n_post_spikes=12):
    """On-grid random trains; some post spikes coincide with pre spikes (same step)."""
    rng = np.random.default_rng(seed)
    grid = np.round(np.arange(0.0, T - 20.0, DT), 10)
    pre = [np.sort(rng.choice(grid, n_pre_spikes, replace=False)) for _ in range(n_pre)]
    post = [np.sort(rng.choice(grid, n_post_spikes, replace=False)) for _ in range(n_post)]
    post[0] = np.unique(np.r_[post[0], pre[0][:3]])
    post[1] = np.unique(np.r_[post[1], pre[2][-2:]])
    return pre, post


def brian_trajectory(rule, pre, post, w0, *, delay=0.0, delay_type="axonal"):
    """Brian2 weights at the start of every step: (n_steps, n_post, n_pre)."""
    g_pre, g_post = generator(b2, pre, "pre"), generator(b2, post, "post")
    syn = b2.Synapses(g_pre, g_post, name="stdp", **to_brian(rule, delay_type=delay_type))
    i = np.repeat(np.arange(len(pre)), len(post))
    j = np.tile(np.arange(len(post)), len(pre))
    syn.connect(i=i, j=j)
    syn.w = w0[j, i]
    if delay_type == "axonal":
        syn.pre.delay = delay * b2.ms
    else:
        syn.post.delay = delay * b2.ms
    mon = b2.StateMonitor(syn, "w", record=True, name="w_mon")
    net = b2.Network(g_pre, g_post, syn, mon)
    b2.defaultclock.dt = DT * b2.ms
    net.run(T * b2.ms)
    w = np.zeros((mon.w.shape[1], len(post), len(pre)))
    w[:, j, i] = np.asarray(mon.w).T
    return w


def assert_same_trajectory(rule, pre, post, w0, brian_w):
    _, traj = replay(rule, pre, post, w0, dt=DT, record=True)
    steps = np.floor(traj.times / DT + 1e-3).astype(int)
    assert steps.size > 10
    # the monitor at step k + 1 shows the weights after the events of step k
    np.testing.assert_allclose(brian_w[steps + 1], traj.weights, rtol=1e-9, atol=1e-15)


PAIR_RULES = [
    PairSTDP(a_plus=0.03, a_minus=0.032, scheme=scheme, weight_dependence=dep,
             **({"mu_plus": 0.4, "mu_minus": 0.7} if dep == "power_law" else {}))
    for scheme in ("all_to_all", "nearest_symmetric", "nearest_pre_centred")
    for dep in ("additive", "multiplicative", "power_law")
]


@pytest.mark.parametrize("rule", PAIR_RULES, ids=lambda r: f"{r.scheme}-{r.weight_dependence}")
def test_pair_rule_matches_replay(rule):
    pre, post = trains(1)
    w0 = np.random.default_rng(2).uniform(0.2, 0.8, (3, 4))
    assert_same_trajectory(rule, pre, post, w0, brian_trajectory(rule, pre, post, w0))


@pytest.mark.parametrize("key", sorted(PAPER_SETS), ids="/".join)
def test_triplet_sets_match_replay(key):
    rule = TripletSTDP.from_paper(*key)
    pre, post = trains(3, n_pre_spikes=25, n_post_spikes=25)  # bursts make the triplet terms count
    w0 = np.full((3, 4), 0.5)
    assert_same_trajectory(rule, pre, post, w0, brian_trajectory(rule, pre, post, w0))


def test_hard_bounds_are_hit_identically():
    rule = PairSTDP(a_plus=0.3, a_minus=0.35, w_min=0.1, w_max=0.9)
    pre, post = trains(4)
    w0 = np.full((3, 4), 0.5)
    brian_w = brian_trajectory(rule, pre, post, w0)
    assert brian_w.max() == pytest.approx(0.9) and brian_w.min() == pytest.approx(0.1)
    assert_same_trajectory(rule, pre, post, w0, brian_w)


@pytest.mark.parametrize("delay_type", ["axonal", "dendritic"])
def test_delays_follow_the_named_convention(delay_type):
    rule = PairSTDP(a_plus=0.03, a_minus=0.032)
    pre, post = trains(5)
    d = 1.5
    w0 = np.full((3, 4), 0.5)
    brian_w = brian_trajectory(rule, pre, post, w0, delay=d, delay_type=delay_type)
    # axonal: the pre spike reaches the synapse d later; dendritic: the post spike does
    shifted_pre = [t + d for t in pre] if delay_type == "axonal" else pre
    shifted_post = [t + d for t in post] if delay_type == "dendritic" else post
    assert_same_trajectory(rule, shifted_pre, shifted_post, w0, brian_w)
    # and the two conventions really differ on these trains
    other = [t + d for t in post] if delay_type == "axonal" else post
    assert not np.allclose(replay(rule, pre, other, w0, dt=DT), brian_w[-1])


def test_runtime_plugin_matches_equations_and_replay():
    rule = TripletSTDP.from_paper("hippocampal", "all_to_all", "full")
    pre, post = trains(6, n_pre_spikes=20, n_post_spikes=20)
    w0 = np.random.default_rng(7).uniform(0.2, 0.8, (3, 4))
    g_pre, g_post = generator(b2, pre, "pre"), generator(b2, post, "post")
    syn = b2.Synapses(g_pre, g_post, "w : 1", name="plain")
    i, j = np.repeat(np.arange(4), 3)[::-1].copy(), np.tile(np.arange(3), 4)[::-1].copy()  # not CSR order
    syn.connect(i=i, j=j)
    syn.w = w0[j, i]
    plug = attach(rule, syn)
    net = b2.Network(g_pre, g_post, syn, plug)
    b2.defaultclock.dt = DT * b2.ms
    net.run(T * b2.ms)
    got = np.zeros((3, 4))
    got[np.asarray(syn.j[:]), np.asarray(syn.i[:])] = syn.w[:]
    np.testing.assert_allclose(got, replay(rule, pre, post, w0, dt=DT), rtol=1e-9)


def test_plugin_errors_are_clear():
    g = b2.NeuronGroup(2, "v : 1", name="g")
    no_w = b2.Synapses(g, g, "c : 1", name="no_w")
    no_w.connect()
    with pytest.raises(ParameterError, match="no variable 'w'"):
        attach(PairSTDP(), no_w)
    with pytest.raises(ParameterError, match="brian2.Synapses"):
        attach(PairSTDP(), g)


def test_plugin_refuses_cpp_standalone_and_names_the_equation_path(tmp_path):
    b2.set_device("cpp_standalone", directory=str(tmp_path), build_on_run=False)
    try:
        g = b2.NeuronGroup(2, "v : 1", name="g")
        syn = b2.Synapses(g, g, "w : 1", name="s")
        syn.connect()
        with pytest.raises(ParameterError, match="to_brian"):
            attach(PairSTDP(), syn)
    finally:
        b2.device.reinit()
        b2.device.activate()
        b2.set_device("runtime")


def test_transmit_statement_runs_before_the_plasticity():
    kw = to_brian(PairSTDP(), transmit="g_post += w")
    lines = kw["on_pre"].splitlines()
    assert lines[0] == "g_post += w" and lines[1].startswith("w = clip(w -")
    dendritic = to_brian(PairSTDP(), transmit="g_post += w", delay_type="dendritic")
    assert dendritic["on_pre"]["transmit"] == "g_post += w"
    # parameters come from the dataclass, units attached once
    assert float(kw["namespace"]["stdp_tau_minus"] / b2.ms) == pytest.approx(33.7)
