"""clopath2010 in models.Network: a pairing run equals adex_run + clopath_run given the
network's timing (EPSP one step after the presynaptic spike, forced spike at t_post); the
overall scale factor is >= 0 (a negative one would flip depression into potentiation)."""
import numpy as np
import pytest

from plasticity.voltage import adex_run, clopath_run, clopath_run_reference
from protocols import clopath2010


@pytest.mark.parametrize("frequency,sign", [(50.0, +1.0), (50.0, -1.0), (10.0, -1.0)])
def test_network_pairing_equals_the_kernels(frequency, sign):
    c = clopath2010.Config(n_pairs=5)
    u_net, n_sp, dw = clopath2010.pairing(c, frequency, sign, record=True)
    period = 1000.0 / frequency
    t_pre = c.settle_ms + period * np.arange(c.n_pairs) + max(0.0, -sign * c.dt_pair_ms)
    k_pre = np.round(t_pre / c.dt).astype(int)
    k_post = np.round((t_pre + sign * c.dt_pair_ms) / c.dt).astype(int)
    n = u_net.size
    jumps, forced, pre = np.zeros(n), np.zeros(n, np.int64), np.zeros((1, n), np.int64)
    jumps[k_pre + 1] = c.epsp_mv
    forced[k_post] = 1
    pre[0, k_pre] = 1
    u, sp = np.zeros(n), np.zeros(n, np.int64)
    adex_run(c.neuron().params(), c.dt, jumps, forced, 0.0, u, sp)
    np.testing.assert_array_equal(u_net, np.r_[c.neuron().e_l, u[:-1]])   # recorded at the start of each step
    assert n_sp == sp.sum() == c.n_pairs
    w = np.zeros((1, n))
    clopath_run(c.rule().params(), c.dt, u, pre, c.neuron().e_l, np.array([c.w0]), w)
    assert dw == pytest.approx((w[0, -1] - c.w0) / c.w0, rel=1e-9)
    ref = clopath_run_reference(c.rule(), c.dt, u, pre, c.neuron().e_l, np.array([c.w0]))
    assert dw == pytest.approx((ref[0, -1] - c.w0) / c.w0, rel=1e-9)
    assert abs(dw) > 1e-3


def _result(dw_plus, dw_minus):
    d = clopath2010.reference()["data"]
    f = np.asarray(d["frequency_hz"], float)
    z = np.zeros(2)
    return clopath2010.Result(clopath2010.Config.small(), f, np.asarray(dw_plus, float), np.asarray(dw_minus, float),
                              f, np.asarray(d["dw_plus10ms"], float), np.asarray(d["dw_minus10ms"], float),
                              np.asarray(d["sem_plus10ms"], float), np.asarray(d["sem_minus10ms"], float), z, z,
                              {"reference": clopath2010.reference()})


def test_scale_is_the_least_squares_factor_when_positive():
    r = _result([0.01, 0.07, 0.15, 0.26, 0.28], [-0.15, -0.2, -0.17, 0.28, 0.37])
    model, data = np.r_[r.dw_plus, r.dw_minus], np.r_[r.data_plus, r.data_minus]
    assert r.scale == pytest.approx(model @ data / (model @ model), rel=1e-12)
    assert r.scale > 1.5 and r.rms_scaled < r.rms_raw


def test_scale_is_never_negative():
    """A model whose changes are anti-aligned with the data (as with the neuron's defaults,
    b = 80.5 pA and reset -60 mV, where the least-squares factor is -0.20) gets factor 0:
    the scaled distance is then the RMS of the data, and the text says why."""
    r = _result([0.02, 0.0, -0.02, -0.12, -0.09], [-0.27, -0.25, -0.25, -0.22, -0.10])
    model, data = np.r_[r.dw_plus, r.dw_minus], np.r_[r.data_plus, r.data_minus]
    assert model @ data < 0
    assert r.scale == 0.0
    assert r.rms_scaled == pytest.approx(np.sqrt(np.mean(data ** 2)), rel=1e-12)
    assert "x0.00" in clopath2010.summary(r) and "no positive factor" in clopath2010.summary(r)
    assert "no positive factor" in clopath2010.compare(r)[0]["note"]
    assert "-" not in f"{r.scale:.2f}"


def test_model_default_neuron_run_reports_a_non_negative_factor():
    """The issue's case: the neuron's defaults (no high-frequency LTP) printed 'x-0.20'."""
    r = clopath2010.run(clopath2010.Config(v_reset=-60.0, b_pa=80.5))      # 60 pairings (~2 s)
    model, data = np.r_[r.model_at_data()], np.r_[r.data_plus, r.data_minus]
    assert model.ravel() @ data < 0                         # the unconstrained factor would be negative
    assert r.scale == 0.0 and "x0.00" in clopath2010.summary(r)


def test_settle_shorter_than_a_step_is_refused():
    from plasticity import ParameterError
    with pytest.raises(ParameterError, match="settle_ms"):
        clopath2010.Config(settle_ms=0.05)
