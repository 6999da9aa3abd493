"""Adding a rule family never edits the loop: a family defined here, in the test file alone,
counts its events and runs in a models.Network; the counts equal what the recorded spikes say."""
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pytest
from numba import njit

import models
from plasticity.contract import Family


class CountData(NamedTuple):
    pre: np.ndarray     # presynaptic events per trace index
    post: np.ndarray    # postsynaptic events per trace index
    steps: np.ndarray   # on_step calls per projection
    v_sum: np.ndarray   # sum over steps of the targets' v (reads "v")


def _build(projections, built):
    wr = built.wiring
    return CountData(np.zeros(int(wr.src_off[-1])), np.zeros(int(wr.tgt_off[-1])), np.zeros(wr.meta.shape[0]),
                     np.zeros(wr.meta.shape[0]))


@njit
def _on_pre(data, net, p, j, t):
    data.pre[j] += 1.0


@njit
def _on_post(data, net, p, i, t):
    data.post[i] += 1.0


@njit
def _on_step(data, net, p, k, t):
    data.steps[p] += 1.0
    m = net.wiring.meta
    for n in range(m[p, 2], m[p, 2] + m[p, 3]):
        data.v_sum[p] += net.neurons.v[n]


COUNTER = Family("test_event_counter", build=_build, on_pre=_on_pre, on_post=_on_post, on_step=_on_step,
                 reads=("v",))


@dataclass(frozen=True)
class CountEvents:
    family = COUNTER


def test_a_family_from_a_test_file_runs_in_a_network():
    net = models.Network(dt=0.1, seed=3)
    src = net.add(models.PoissonGroup(5, rate=40.0))
    drive = net.add(models.PoissonGroup(2, rate=300.0))
    cell = net.add(models.LIF(2, tau_m=10.0, v_th=-54.0, e_leak=-70.0, v_reset=-60.0))
    net.connect(drive, cell, weight=400.0, connectivity=models.one_to_one())
    proj = net.connect(src, cell, weight=10.0, rule=CountEvents(), delay=1.0, delay_type="dendritic")
    s_src, s_cell = net.record_spikes(src), net.record_spikes(cell)
    v = net.record_state(cell, "v")
    net.run(500.0)
    data = net.family_data(COUNTER)
    p = net.projections.index(proj)
    wr = net.view().wiring
    pre = data.pre[wr.src_off[p]:wr.src_off[p + 1]]
    post = data.post[wr.tgt_off[p]:wr.tgt_off[p + 1]]
    # pre events at emission (dendritic delay), post events 1 ms (10 steps) after each spike
    np.testing.assert_array_equal(pre, [np.sum(s_src.i == j) for j in range(5)])
    np.testing.assert_array_equal(post, [np.sum((s_cell.i == i) & (s_cell.t < 500.0 - 1.0 - 1e-9)) for i in range(2)])
    assert s_cell.t.size > 10
    assert data.steps[p] == 5000
    # on_step sees v after the step's update: v recorded at the start of step k + 1
    o = net.offset(cell)
    last = net.view().neurons.v[o:o + cell.n].sum()
    assert data.v_sum[p] == pytest.approx(v.values[1:].sum() + last, rel=1e-12)
