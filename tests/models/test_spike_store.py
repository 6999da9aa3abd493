"""Spike records: the compiled split of each chunk's spikes into the records
(``models.simulate.take_spikes``) against its NumPy twin, and a run whose recorded spikes are
known in advance (a spike generator), over many chunks and spike-buffer refills."""
import numpy as np
from hypothesis import given, settings, strategies as st

import models
from models.simulate import take_spikes, take_spikes_reference


@settings(max_examples=200, deadline=None)
@given(n_total=st.integers(1, 50), n_spikes=st.integers(0, 300), first=st.integers(0, 60),
       n=st.integers(0, 60), pos=st.integers(0, 20), dt=st.sampled_from([0.1, 0.025, 1.0 / 3.0]),
       seed=st.integers(0, 2**32 - 1))
def test_take_spikes_equals_its_twin(n_total, n_spikes, first, n, pos, dt, seed):
    rng = np.random.default_rng(seed)
    i = rng.integers(0, n_total, n_spikes)
    k = np.sort(rng.integers(0, 10**6, n_spikes))
    out_i = np.full(pos + n_spikes, -7, np.int64)
    out_t = np.full(pos + n_spikes, -7.0)
    end = take_spikes(i, k, first, n, dt, out_i, out_t, pos)
    ref_i, ref_t = take_spikes_reference(i, k, first, n, dt)
    assert end == pos + ref_i.size
    np.testing.assert_array_equal(out_i[pos:end], ref_i)
    np.testing.assert_array_equal(out_t[pos:end], ref_t)        # the same product: bitwise
    assert np.all(out_i[:pos] == -7) and np.all(out_i[end:] == -7)   # nothing else written


def test_recorded_spikes_are_the_generated_ones_across_chunks_and_buffer_refills():
    """Two generator groups (400 and 200 neurons, 40 spikes each), run in 5 ms chunks (40
    chunks); the spike buffer (2 400 entries) also fills within chunks. Each record (the
    first group, the second group twice) must hold exactly its group's spikes with indices
    within the group, in step order, at their steps' times."""
    dt, per = 0.1, 40
    rng = np.random.default_rng(11)
    net = models.Network(dt=dt, seed=1, chunk=5.0)
    records = []
    for n, copies in ((400, 1), (200, 2)):
        steps = [np.sort(rng.choice(2000, per, replace=False)) for _ in range(n)]
        group = net.add(models.SpikeGeneratorGroup(n, times=[s * dt for s in steps]))
        expected = sorted((int(s), j) for j in range(n) for s in steps[j])
        records += [(net.record_spikes(group), expected) for _ in range(copies)]
    net.run(200.0)
    for rec, expected in records:
        assert rec.i.size == len(expected)
        assert np.all(np.diff(rec.t) >= 0)
        order = np.lexsort((rec.i, rec.t))     # within a step: compare as sets
        np.testing.assert_array_equal(rec.i[order], [j for _, j in expected])
        np.testing.assert_array_equal(rec.t[order], np.array([s for s, _ in expected]) * dt)
