"""The recurrent benchmark network (benchmarks/cuba.py: Vogels-Abbott CUBA and COBA, pair STDP on
E->E) gives the same spikes, neuron for neuron and step for step, and the same E->E weights in the
native loop and in Brian2 (runtime numpy target), from the same synapses and initial potentials.
This holds the vectorised integration, the delivery order and the postsynaptic STDP walk of
models/simulate.py to Brian2's semantics on a network with thousands of plastic synapses."""
import importlib.util
from pathlib import Path

import numpy as np
import pytest

b2 = pytest.importorskip("brian2")

_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "cuba.py"
_spec = importlib.util.spec_from_file_location("plab_bench_cuba", _PATH)
cuba = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cuba)


def _sorted_spikes(t_ms, i):
    order = np.lexsort((i, np.round(np.asarray(t_ms) / cuba.DT_MS).astype(np.int64)))
    return np.round(np.asarray(t_ms)[order] / cuba.DT_MS).astype(np.int64), np.asarray(i)[order]


@pytest.mark.parametrize("model", ["cuba", "coba"])
def test_native_and_brian2_give_the_same_spikes_and_weights(model):
    spec = cuba.make_spec(model, 1000, seed=4)
    duration = 300.0
    net, rec_e, rec_i = cuba.build_native(spec)
    net.run(duration)
    native_t = np.r_[rec_e.t, rec_i.t]
    native_i = np.r_[rec_e.i, rec_i.i + spec.n_e]

    b2.start_scope()
    b2.set_device("runtime")
    b2.prefs.codegen.target = "numpy"
    bnet, monitor = cuba.build_brian(b2, spec)
    bnet.run(duration * b2.ms)
    brian_t = np.asarray(monitor.t / b2.ms)
    brian_i = np.asarray(monitor.i, dtype=np.int64)

    assert native_t.size > 1000                      # an active network: about 5-20 Hz
    k_native, i_native = _sorted_spikes(native_t, native_i)
    k_brian, i_brian = _sorted_spikes(brian_t, brian_i)
    assert np.array_equal(k_native, k_brian) and np.array_equal(i_native, i_brian)

    ee_native = net.projections[0].w
    ee_brian = np.asarray([obj for obj in bnet.objects if isinstance(obj, b2.Synapses)
                           and "w" in obj.variables][0].w[:])
    assert ee_native.size == ee_brian.size == spec.pairs["ee"][0].size
    assert np.ptp(ee_native) > 0                     # the weights did change
    np.testing.assert_allclose(ee_native, ee_brian, rtol=0, atol=1e-12)
