"""Vogels-Sprekeler iSTDP in Brian2 (equations from to_brian) == native replay, rtol 1e-9.

Same bench as test_rule_equality.py: on-grid random trains with simultaneous pre/post spikes,
weights compared at every step with an event; also the runtime plug-in and the bounds.
"""
import numpy as np
import pytest

import brian2 as b2

from plasticity import InhibitorySTDP, replay
from plasticity.brian import attach, to_brian
from protocols.brian_backend import generator

DT = 0.1
T = 300.0


def trains(seed, n_pre=4, n_post=3, n_spikes=20):
    rng = np.random.default_rng(seed)
    grid = np.round(np.arange(0.0, T - 20.0, DT), 10)
    pre = [np.sort(rng.choice(grid, n_spikes, replace=False)) for _ in range(n_pre)]
    post = [np.sort(rng.choice(grid, n_spikes, replace=False)) for _ in range(n_post)]
    post[0] = np.unique(np.r_[post[0], pre[0][:3]])
    return pre, post


def brian_trajectory(rule, pre, post, w0, delay=0.0):
    g_pre, g_post = generator(b2, pre, "pre"), generator(b2, post, "post")
    syn = b2.Synapses(g_pre, g_post, name="istdp", **to_brian(rule))
    i = np.repeat(np.arange(len(pre)), len(post))
    j = np.tile(np.arange(len(post)), len(pre))
    syn.connect(i=i, j=j)
    syn.w = w0[j, i]
    syn.pre.delay = delay * b2.ms
    mon = b2.StateMonitor(syn, "w", record=True, name="w_mon")
    net = b2.Network(g_pre, g_post, syn, mon)
    b2.defaultclock.dt = DT * b2.ms
    net.run(T * b2.ms)
    w = np.zeros((mon.w.shape[1], len(post), len(pre)))
    w[:, j, i] = np.asarray(mon.w).T
    return w


@pytest.mark.parametrize("rule", [InhibitorySTDP(eta=0.01), InhibitorySTDP(eta=0.05, rho0_hz=10.0, w_max=0.4)],
                         ids=["free", "bounded"])
def test_istdp_equations_match_replay(rule):
    pre, post = trains(11)
    w0 = np.random.default_rng(12).uniform(0.1, 0.3, (3, 4))
    brian_w = brian_trajectory(rule, pre, post, w0)
    _, traj = replay(rule, pre, post, w0, dt=DT, record=True)
    steps = np.floor(traj.times / DT + 1e-3).astype(int)
    assert steps.size > 10
    np.testing.assert_allclose(brian_w[steps + 1], traj.weights, rtol=1e-9, atol=1e-15)
    if rule.w_max == 0.4:
        assert brian_w.min() == 0.0 or brian_w.max() == pytest.approx(0.4)


def test_istdp_axonal_delay():
    rule = InhibitorySTDP(eta=0.01)
    pre, post = trains(13)
    w0 = np.full((3, 4), 0.2)
    brian_w = brian_trajectory(rule, pre, post, w0, delay=1.5)
    np.testing.assert_allclose(brian_w[-1], replay(rule, [t + 1.5 for t in pre], post, w0, dt=DT), rtol=1e-9)


def test_istdp_runtime_plugin_matches_replay():
    rule = InhibitorySTDP(eta=0.01)
    pre, post = trains(14)
    w0 = np.random.default_rng(15).uniform(0.1, 0.3, (3, 4))
    g_pre, g_post = generator(b2, pre, "pre"), generator(b2, post, "post")
    syn = b2.Synapses(g_pre, g_post, "w : 1", name="plain")
    i, j = np.repeat(np.arange(4), 3), np.tile(np.arange(3), 4)
    syn.connect(i=i, j=j)
    syn.w = w0[j, i]
    plug = attach(rule, syn)
    net = b2.Network(g_pre, g_post, syn, plug)
    b2.defaultclock.dt = DT * b2.ms
    net.run(T * b2.ms)
    got = np.zeros((3, 4))
    got[np.asarray(syn.j[:]), np.asarray(syn.i[:])] = syn.w[:]
    np.testing.assert_allclose(got, replay(rule, pre, post, w0, dt=DT), rtol=1e-9)


def test_equations_of_pair_rules_unchanged():
    """The constant term appears only for rules that have one."""
    from plasticity import PairSTDP
    assert "a0_pre" not in to_brian(PairSTDP())["on_pre"]
    assert "stdp_a0_pre" in to_brian(InhibitorySTDP())["on_pre"]
