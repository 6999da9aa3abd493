"""Bi & Poo window fit: on the 45 digitised cells by default (checked against independent
fits), a user CSV overrides; least_squares recovers known parameters within its intervals."""
import numpy as np
import pytest
from scipy import stats
from scipy.optimize import curve_fit

from analysis.reference import load
from plasticity import ParameterError
from protocols import bi_poo, stdp_window

LABEL = "digitised from Bi & Poo 1998 Fig. 7"


@pytest.fixture(scope="module")
def result():
    return bi_poo.run(bi_poo.Config.small())


def test_published_time_constants_and_cells_match_the_data_file():
    ref = load("bi_poo_window")
    assert (ref["tau_plus"], ref["tau_minus"]) == (16.8, 33.7)
    assert (bi_poo.PUBLISHED_TAU_PLUS, bi_poo.PUBLISHED_TAU_MINUS) == (16.8, 33.7)
    points = ref["points"]   # the 45 digitised cells of Fig. 7: shipped, third-party, unverified
    assert points["n"] == len(points["values"]) == 45 and points["verified"] is False
    assert "dspicher/STDP_Multicompartment" in points["provenance"]
    dt, dw, sem = stdp_window.digitised_bi_poo()
    np.testing.assert_array_equal(dt, [v[0] for v in points["values"]])
    np.testing.assert_allclose(dw * 100.0, [v[1] for v in points["values"]], rtol=1e-15)   # % -> fraction
    assert not sem.any()


def branch_fit(dt, dw, sign, tau=None):
    """Independent check: curve_fit of A exp(-|dt|/tau) on one branch (tau fixed if given)."""
    mask = sign * dt > 0
    x, y = np.abs(dt[mask]), sign * dw[mask]
    if tau is None:
        (a, t), _ = curve_fit(lambda s, a, t: a * np.exp(-s / t), x, y, p0=(0.5, 20.0), maxfev=20000)
    else:
        (a,), _ = curve_fit(lambda s, a: a * np.exp(-s / tau), x, y, p0=(0.5,))
        a, t = max(a, 0.0), tau
    return a, t, float(np.sum((a * np.exp(-x / t) - y) ** 2))


def test_default_fits_the_digitised_cells(result):
    assert result.digitised and result.data_dt.size == 45
    dt, dw = result.data_dt, result.data_dw
    # the branches share no parameter: the potentiation branch equals curve_fit's on it
    a_plus, tau_plus, _ = branch_fit(dt, dw, +1)
    assert result.params[0] == pytest.approx(a_plus, rel=1e-5)
    assert result.params[1] == pytest.approx(tau_plus, rel=1e-5)
    # published values: tau+ inside the 95 % profile interval, both jointly not rejected
    assert result.tau_within_ci == (True, True)
    assert result.ci_low[1] < 16.8 < result.ci_high[1] < 100.0     # tau+ is constrained
    assert result.published_p > 0.05


def test_profile_interval_ends_match_an_independent_profile(result):
    dt, dw = result.data_dt, result.data_dw
    rss_min = float(np.sum((bi_poo.window(dt, result.params) - dw) ** 2))
    rss_other = rss_min - branch_fit(dt, dw, +1, result.params[1])[2]
    limit = rss_min * (1 + stats.f.ppf(0.95, 1, dt.size - 4) / (dt.size - 4))
    for tau in (result.ci_low[1], result.ci_high[1]):
        assert rss_other + branch_fit(dt, dw, +1, tau)[2] <= limit * (1 + 1e-9)
    for tau in (result.ci_low[1] / 1.01, result.ci_high[1] * 1.01):   # just outside: rejected
        assert rss_other + branch_fit(dt, dw, +1, tau)[2] > limit
    # the F statistic of the published pair, from independent amplitude fits
    held = branch_fit(dt, dw, +1, 16.8)[2] + branch_fit(dt, dw, -1, 33.7)[2]
    f = (held - rss_min) / 2 / (rss_min / (dt.size - 4))
    assert result.published_f == pytest.approx(f, rel=1e-6)


def test_fit_recovers_generating_parameters_within_ci():
    """The procedure on points drawn (in this test) from a known window with noise s.d. 0.1."""
    truth = np.array([0.8, 16.8, 0.3, 33.7])
    hits = np.zeros(4)
    for seed in range(20):
        rng = np.random.default_rng(seed)
        dt = np.sort(rng.uniform(2, 100, 40) * np.where(np.arange(40) % 2 == 0, 1, -1))
        dw = bi_poo.window(dt, truth) + rng.normal(0, 0.1, dt.size)
        params, _, lo, hi, rms = bi_poo.fit(dt, dw)
        for j in (1, 3):
            lo[j], hi[j] = bi_poo.profile_ci(dt, dw, None, params, j)
        hits += (lo <= truth) & (truth <= hi)
        assert 0.06 < rms < 0.14                                   # the residual RMS estimates the noise
    assert np.all(hits >= 16), hits                               # ~95 % coverage over 20 seeds


def test_noise_free_points_are_fitted_exactly(tmp_path):
    truth = np.array([0.6, 12.0, 0.4, 40.0])
    dt = np.array([-90, -60, -40, -25, -15, -8, -3, 4, 9, 15, 22, 35, 55, 80], float)
    dw = bi_poo.window(dt, truth)
    path = tmp_path / "points.csv"
    np.savetxt(path, np.column_stack([dt, dw, np.full(dt.size, 0.05)]), delimiter=",",
               header="dt_ms,dw,sem", comments="")
    r = bi_poo.run(bi_poo.Config(data_csv=str(path)))
    assert not r.digitised
    np.testing.assert_allclose(r.params, truth, rtol=1e-6)
    assert r.rms_fit < 1e-8
    assert r.tau_within_ci == (False, False)       # 12 and 40 ms exclude 16.8 / 33.7 with a tiny CI
    assert r.published_p < 1e-6
    np.testing.assert_allclose(r.data_sem, 0.05)
    assert LABEL not in bi_poo.summary(r) and "user-supplied" in bi_poo.summary(r)


def test_rule_replay_reproduces_the_fitted_window(result):
    # A±/60 per pairing at 1 Hz: neighbouring pairings >= 900 ms apart interact only through
    # what is left of a trace: A+ exp(-900/tau+) (nothing) and A- exp(-900/tau-), ~2 % of A-
    # for the long fitted tau- (236 ms) of the depression branch
    want = bi_poo.window(result.rule_dt, result.params)
    a_plus, tau_plus, a_minus, tau_minus = result.params
    leak = a_plus * np.exp(-900.0 / tau_plus) + a_minus * np.exp(-900.0 / tau_minus)
    np.testing.assert_allclose(result.rule_dw, want, atol=leak)
    assert np.max(np.abs(result.rule_dw - want)) > 0.5 * a_minus * np.exp(-1000.0 / tau_minus)
    assert result.rms_rule == pytest.approx(result.rms_fit, rel=0.01)


def test_summary_figure_and_report_rows_say_digitised(result):
    assert LABEL in bi_poo.summary(result)
    fig = bi_poo.plot(result)["bi_poo"]
    ax = fig.axes[0]
    assert LABEL in ax.get_title()
    assert any(LABEL in t.get_text() for t in fig.legends[0].get_texts())
    rows = bi_poo.compare(result)
    assert [r["passed"] for r in rows] == [True, True, True]
    assert rows[0]["distance"].startswith(f"{result.params[1]:.1f} [")
    assert "16.8" in rows[0]["paper"] and "33.7" in rows[1]["paper"] and LABEL in rows[0]["note"]


def test_stdp_window_overlays_the_cells_by_default():
    r = stdp_window.run(stdp_window.Config(dt_step=10.0))
    assert r.data_dt.size == 45
    assert LABEL in stdp_window.summary(r)
    legend = stdp_window.plot(r)["stdp_window"].legends[0].get_texts()
    assert any(t.get_text() == LABEL for t in legend)


def test_bad_input(tmp_path):
    with pytest.raises(ParameterError, match="n_pairs"):
        bi_poo.Config(n_pairs=0)
    path = tmp_path / "one_side.csv"
    path.write_text("dt_ms,dw\n5,0.5\n10,0.4\n20,0.2\n40,0.1\n60,0.05\n")
    with pytest.raises(ParameterError, match="each side"):
        bi_poo.run(bi_poo.Config(data_csv=str(path)))
    with pytest.raises(ParameterError, match="half the pairing period"):
        bi_poo.run(bi_poo.Config(frequency_hz=10.0))               # the cells reach |dt| = 101.7 ms
