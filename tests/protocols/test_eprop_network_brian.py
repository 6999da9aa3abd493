"""eprop_network on Brian2 (protocols.brian_eprop: the native network's discrete updates as
Brian2 code, the whole training, Adam included, inside one Brian2 run) against models.Network:
the same spikes and the same learning curve.

Tolerance: normalised MSE of every trial rtol 1e-9, readout 1e-9, spike times 1e-9 ms, the
same spike count in every trial. Measured: numpy within 2e-16 on these configs; cython and
cpp_standalone (compiled with -ffast-math) 2e-14; the small config (50 LIF, 150 trials of 1 s
at dt 0.1 ms) 1.8e-14 over the whole curve on numpy and cpp_standalone, 1930 identical
spikes in the test trial (docs/brian2.md)."""
import numpy as np
import pytest

from plasticity import ParameterError, optim
from protocols import brian_eprop, cli
from protocols import eprop_network as en

RTOL = 1e-9
# ALIF neurons, random feedback, current synapses, subtractive reset, 2 ms refractoriness,
# 1 ms delays, Poisson background, rate regularisation: everything the default network has
CONFIG = dict(n_in=60, n_rec=20, n_background=60, trials=6, period_ms=100.0, lr=1e-2, n_alif=6, rsnn=False)


def assert_same(native, brian):
    np.testing.assert_allclose(brian.nmse, native.nmse, rtol=RTOL, atol=0)
    assert brian.nmse_test == pytest.approx(native.nmse_test, rel=RTOL, abs=0)
    np.testing.assert_array_equal(brian.rate_hz, native.rate_hz)          # spikes per trial
    assert brian.rate_test_hz == native.rate_test_hz
    np.testing.assert_array_equal(brian.spike_i, native.spike_i)
    np.testing.assert_allclose(brian.spike_t, native.spike_t, rtol=0, atol=1e-9)
    np.testing.assert_allclose(brian.y_test, native.y_test, rtol=0, atol=1e-9)


@pytest.fixture(scope="module")
def native():
    return en.run(en.Config(**CONFIG))


def test_numpy_gives_the_native_learning_curve(native):
    brian = en.run(en.Config(**CONFIG), backend="brian2")
    assert_same(native, brian)
    # there is something to compare: spikes in every trial, weights that changed the loss
    assert np.all(native.rate_hz > 0) and native.spike_i.size >= 5
    assert np.ptp(np.r_[native.nmse, native.nmse_test]) > 0.1
    prov = brian.provenance
    assert prov["backend"] == "brian2" and prov["target"] == "numpy" and prov["brian2_simulation_s"] > 0


def native_weights(c):
    """The native protocol's training loop (eprop_network._run_native): initial and final
    weights, final readout bias."""
    task = c.task()
    x, _ = task.pattern()
    net, learner, h = en.build(c, x, task.target_function(), c.trials + 1)
    keys = ("w_in", "w_rec", "w_out")
    initial = {k: learner.projections[k].w.copy() for k in keys}
    opt = en._Scaled(optim.Adam(c.lr), c.units())
    for trial in range(c.trials + 1):
        net.run(c.period_ms)
        if trial < c.trials:
            learner.apply(opt)
        learner.reset()
    bias = float(net.view().readout.b[net.offset(h["out"])])
    return initial, {k: learner.projections[k].w.copy() for k in keys}, bias


@pytest.mark.parametrize("variant", [
    dict(rule="ottt", synapses="delta", reset="value", n_background=0),          # OTTT: symmetric, no ALIF path
    dict(feedback="symmetric", c_reg=0.0, delay_ms=0.0, t_ref=0.0, n_alif=10),    # W_out^T read live, no delays
])
def test_final_weights_equal_native(variant):
    c = en.Config(**{**CONFIG, "trials": 4, **variant})
    initial, want, bias = native_weights(c)
    got = brian_eprop.run(c, "numpy")
    for key in want:
        scale = np.abs(want[key]).max()
        np.testing.assert_allclose(got["weights"][key], want[key], rtol=RTOL, atol=1e-12 * scale)
        assert np.abs(want[key] - initial[key]).max() > 1e-3 * scale          # Adam changed them
    assert got["bias"] == pytest.approx(bias, rel=RTOL, abs=1e-15) and bias != 0.0


@pytest.mark.slow
@pytest.mark.parametrize("target", ["cython", "cpp_standalone"])
def test_compiled_targets_give_the_native_learning_curve(native, target):
    assert_same(native, en.run(en.Config(**CONFIG, target=target), backend="brian2"))


def test_target_is_checked_by_name():
    with pytest.raises(ParameterError, match="target must be one of 'numpy', 'cython', 'cpp_standalone', got 'gpu'"):
        en.Config(target="gpu")


def test_cli_runs_it_on_brian2(tmp_path, capsys):
    argv = ["run", "eprop_network", "--backend", "brian2", "--target", "numpy", "--no-figures", "--out",
            str(tmp_path)] + sum((["--set", f"{k}={v}"] for k, v in
                                  dict(trials=2, period_ms=50, n_rec=8, n_in=20, n_background=10, rsnn="false").items()),
                                 [])
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "eprop_network: eprop" in out and "backend brian2" in out
    assert cli.main(["run", "eprop_network", "--backend", "brian2", "--set", "target=gpu", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "target must be one of" in err[0] and "'gpu'" in err[0]
