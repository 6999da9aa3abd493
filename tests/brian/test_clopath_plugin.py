"""Clopath 2010 in Brian2 through the runtime plug-in == the native kernel on the same voltage."""
import numpy as np
import pytest

import brian2 as b2

from plasticity import ParameterError
from plasticity.brian import attach_clopath
from plasticity.voltage import ClopathSTDP, clopath_run
from protocols.brian_backend import generator

DT = 0.1


def test_plugin_equals_clopath_run_on_prescribed_voltages():
    rng = np.random.default_rng(11)
    n_steps, n_pre, n_post = 3000, 3, 2
    t = np.arange(n_steps) * DT
    # two depolarised voltage traces with spike-like excursions above theta_plus (-45.3 mV)
    u = np.stack([-62.0 + 8.0 * np.sin(t / 17.0) + 40.0 * (rng.random(n_steps) < 0.01),
                  -58.0 + 6.0 * np.cos(t / 11.0) + 40.0 * (rng.random(n_steps) < 0.02)])
    pre = [np.sort(rng.choice(np.arange(5, n_steps - 5), 25, replace=False)) * DT for _ in range(n_pre)]
    rule = ClopathSTDP(a_ltd=2e-3, a_ltp=1e-3)
    w0 = rng.uniform(0.3, 0.7, (n_pre, n_post))

    ut = b2.TimedArray(u.T * b2.mV, dt=DT * b2.ms)
    post = b2.NeuronGroup(n_post, "v = ut(t, i) : volt", name="post", namespace={"ut": ut})
    src = generator(b2, pre, "pre")
    syn = b2.Synapses(src, post, "w : 1", name="syn")
    i, j = np.repeat(np.arange(n_pre), n_post), np.tile(np.arange(n_post), n_pre)
    syn.connect(i=i, j=j)
    syn.w = w0[i, j]
    plug = attach_clopath(rule, syn, u_init=-70.6)
    b2.defaultclock.dt = DT * b2.ms
    b2.Network(src, post, syn, plug).run(n_steps * DT * b2.ms)

    flags = np.zeros((n_pre, n_steps), np.int64)
    for k, times in enumerate(pre):
        flags[k, np.floor(times / DT + 1e-3).astype(int)] = 1
    got = np.zeros((n_pre, n_post))
    got[np.asarray(syn.i[:]), np.asarray(syn.j[:])] = syn.w[:]
    for post_i in range(n_post):
        w_out = np.empty((n_pre, n_steps))
        clopath_run(rule.params(), DT, u[post_i], flags, -70.6, w0[:, post_i].copy(), w_out)
        np.testing.assert_allclose(got[:, post_i], w_out[:, -1], rtol=1e-9)
    assert np.abs(got - w0).max() > 1e-3  # the rule really changed the weights


def test_clopath_plugin_needs_a_voltage():
    g = b2.NeuronGroup(2, "v : 1", name="g")
    syn = b2.Synapses(g, g, "w : 1", name="s")
    syn.connect()
    with pytest.raises(ParameterError, match="membrane potential"):
        attach_clopath(ClopathSTDP(), syn)
