"""Dopamine-modulated STDP plugged into Brian2 (attach_dopamine) == replay_modulated, rtol 1e-9."""
import numpy as np
import pytest

import brian2 as b2

from plasticity import ParameterError
from plasticity.brian import attach_dopamine
from plasticity.modulated import DopamineSTDP, replay_modulated
from protocols.brian_backend import generator

DT = 0.1
T = 3000.0


def test_plugin_matches_replay():
    rng = np.random.default_rng(21)
    grid = np.round(np.arange(0.0, T - 50.0, DT), 10)
    pre = [np.sort(rng.choice(grid, 40, replace=False)) for _ in range(4)]
    post = [np.sort(rng.choice(grid, 40, replace=False)) for _ in range(3)]
    post[0] = np.unique(np.r_[post[0], pre[0][:3]])
    r_t = np.sort(rng.choice(grid, 6, replace=False))
    r_t[1] = pre[1][10]
    r_t = np.sort(r_t)
    rule = DopamineSTDP(eta=2e-3)
    w0 = rng.uniform(0.3, 0.7, (3, 4))
    g_pre, g_post, g_rew = generator(b2, pre, "pre"), generator(b2, post, "post"), generator(b2, [r_t], "rew")
    syn = b2.Synapses(g_pre, g_post, "w : 1", name="da")
    i, j = np.repeat(np.arange(4), 3)[::-1].copy(), np.tile(np.arange(3), 4)[::-1].copy()  # not CSR order
    syn.connect(i=i, j=j)
    syn.w = w0[j, i]
    plug = attach_dopamine(rule, syn, g_rew, amount=0.5)
    net = b2.Network(g_pre, g_post, g_rew, syn, plug)
    b2.defaultclock.dt = DT * b2.ms
    net.run(T * b2.ms)
    got = np.zeros((3, 4))
    got[np.asarray(syn.j[:]), np.asarray(syn.i[:])] = syn.w[:]
    # Brian's last step is at T - dt: the plug-in brought every synapse up to that time
    last = T - DT
    want = replay_modulated(rule, pre, post, r_t, np.full(r_t.size, 0.5), w0, duration=last + 1e-9)
    assert np.max(np.abs(want - w0)) > 1e-3
    np.testing.assert_allclose(got, want, rtol=1e-9)


def test_plugin_errors():
    g = b2.NeuronGroup(2, "v : 1", name="g")
    syn = b2.Synapses(g, g, "w : 1", name="s")
    syn.connect()
    with pytest.raises(ParameterError, match="DopamineSTDP"):
        attach_dopamine(object(), syn, g)
    with pytest.raises(ParameterError, match="rewards"):
        attach_dopamine(DopamineSTDP(), syn, object())
