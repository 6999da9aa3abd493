"""Bi & Poo window fit: least_squares recovers known parameters within its Jacobian CIs."""
import numpy as np
import pytest

from plasticity import ParameterError
from protocols import bi_poo
from protocols.report import load_reference


@pytest.fixture(scope="module")
def result():
    return bi_poo.run(bi_poo.Config.small())


def test_published_time_constants_match_the_data_file():
    ref = load_reference("bi_poo_window")
    assert (ref["tau_plus"], ref["tau_minus"]) == (16.8, 33.7)
    assert (bi_poo.PUBLISHED_TAU_PLUS, bi_poo.PUBLISHED_TAU_MINUS) == (16.8, 33.7)
    points = ref["points"]   # the 45 digitised cells of Fig. 7: shipped, third-party, unverified
    assert points["n"] == len(points["values"]) == 45 and points["verified"] is False
    assert "dspicher/STDP_Multicompartment" in points["provenance"]


def test_fit_recovers_generating_parameters_within_ci(result):
    assert result.synthetic
    np.testing.assert_array_equal(result.true_params, [0.8, 16.8, 0.3, 33.7])
    inside = (result.ci_low <= result.true_params) & (result.true_params <= result.ci_high)
    assert inside.all(), (result.params, result.ci_low, result.ci_high)
    assert result.params[1] == pytest.approx(16.8, abs=3.5)      # 14.2 ± 3.1 ms (seed 0)
    assert result.params[3] == pytest.approx(33.7, abs=5.0)      # 33.4 ± 12.1 ms
    assert result.stderr[1] < 5.0 and result.stderr[3] < 15.0
    # the residual RMS estimates the noise s.d. 0.1
    assert 0.07 < result.rms_fit < 0.13
    assert result.tau_within_ci == (True, True)


def test_noise_free_points_are_fitted_exactly(tmp_path):
    truth = np.array([0.6, 12.0, 0.4, 40.0])
    dt = np.array([-90, -60, -40, -25, -15, -8, -3, 4, 9, 15, 22, 35, 55, 80], float)
    dw = bi_poo.window(dt, truth)
    path = tmp_path / "points.csv"
    np.savetxt(path, np.column_stack([dt, dw, np.full(dt.size, 0.05)]), delimiter=",",
               header="dt_ms,dw,sem", comments="")
    r = bi_poo.run(bi_poo.Config(data_csv=str(path)))
    assert not r.synthetic and np.all(np.isnan(r.true_params))
    np.testing.assert_allclose(r.params, truth, rtol=1e-6)
    assert r.rms_fit < 1e-8
    assert r.tau_within_ci == (False, False)       # 12 and 40 ms exclude 16.8 / 33.7 with a tiny CI
    np.testing.assert_allclose(r.data_sem, 0.05)


def test_ci_coverage_over_seeds():
    # ~95 % intervals: over 20 seeds tau+ and tau- should be covered at least 16 times each
    hits = np.zeros(4)
    for seed in range(20):
        c = bi_poo.Config(n_points=40, seed=seed)
        dt, dw, sem = bi_poo.synthetic_points(c)
        _, _, lo, hi, _ = bi_poo.fit(dt, dw)
        hits += (lo <= c.synthetic_params) & (c.synthetic_params <= hi)
    assert np.all(hits >= 16), hits


def test_rule_replay_reproduces_the_fitted_window(result):
    # A±/60 per pairing at 1 Hz: neighbouring pairings 1 s apart barely interact
    want = bi_poo.window(result.rule_dt, result.params)
    np.testing.assert_allclose(result.rule_dw, want, atol=1e-4 * np.max(np.abs(want)))
    assert result.rms_rule == pytest.approx(result.rms_fit, rel=0.01)


def test_summary_figure_and_report_rows_say_synthetic(result):
    text = bi_poo.summary(result)
    assert "SYNTHETIC" in text and "no Bi & Poo data points" in text
    fig = bi_poo.plot(result)["bi_poo"]
    assert "SYNTHETIC" in fig.axes[0].get_title()
    rows = bi_poo.compare(result)
    assert [r["passed"] for r in rows] == [True, True, True]
    assert rows[0]["distance"] == pytest.approx(result.params[1])


def test_bad_config(tmp_path):
    with pytest.raises(ParameterError, match="dt_max_abs"):
        bi_poo.Config(dt_min_abs=50.0, dt_max_abs=20.0)
    with pytest.raises(ParameterError, match="n_points"):
        bi_poo.Config(n_points=3)
    path = tmp_path / "one_side.csv"
    path.write_text("dt_ms,dw\n5,0.5\n10,0.4\n20,0.2\n40,0.1\n60,0.05\n")
    with pytest.raises(ParameterError, match="each side"):
        bi_poo.run(bi_poo.Config(data_csv=str(path)))
