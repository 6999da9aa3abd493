"""Triplet rule under Poisson firing: BCM curve, its mean field, and the sliding threshold."""
import numpy as np
import pytest

from plasticity import ParameterError, TripletSTDP
from protocols import triplet_bcm as tb


@pytest.fixture(scope="module")
def result():
    return tb.run(tb.Config.small())


def test_mean_field_by_hand():
    rule = TripletSTDP.from_paper("visual_cortex", "all_to_all", "minimal")
    # x = 0.01/ms, y = 0.02/ms: x*y*(0 - 7.1e-3*33.7) + 6.5e-3*16.8*114*x*y^2 = 1.9412e-6 per ms
    assert tb.mean_drift(rule, 10.0, 20.0) == pytest.approx(1.9412e-3, rel=1e-9)
    # threshold a2- tau- / (a3+ tau+ tau_y) = 0.23927 / 12.4488 per ms = 19.22 Hz
    assert tb.threshold(rule, 10.0) == pytest.approx(1000 * 7.1e-3 * 33.7 / (6.5e-3 * 16.8 * 114), rel=1e-12)
    assert tb.threshold(rule, 10.0) == pytest.approx(19.22, abs=0.01)
    full = TripletSTDP.from_paper("hippocampal", "all_to_all", "full")
    x, y = 0.005, 0.03
    want = (x * y * (6.1e-3 * 16.8 - 1.6e-3 * 33.7) + 6.7e-3 * 16.8 * 27 * x * y * y
            - 1.4e-3 * 33.7 * 946 * x * x * y)
    assert tb.mean_drift(full, 5.0, 30.0) == pytest.approx(1000 * want, rel=1e-12)


def test_simulation_matches_mean_field_with_all_four_terms():
    # hippocampal full set: pair and triplet terms of both signs are non-zero
    c = tb.Config(triplet_set="hippocampal/all_to_all/full", pre_rate_hz=20.0, post_rates_hz=(5.0, 20.0, 40.0),
                  avg_post_rates_hz=(10.0,), duration_ms=20_000.0, n_trials=10, seed=3)
    r = tb.run(c)
    assert r.max_z < 5.0
    np.testing.assert_allclose(r.dwdt[0], r.analytic[0], rtol=0.1)
    # at 20 Hz pre the triplet depression term (tau_x = 946 ms) dominates: threshold 278 Hz
    assert np.all(r.analytic < 0) and tb.threshold(c.rule(10.0), 20.0) == pytest.approx(277.74, abs=0.01)


def test_bcm_curve_and_sliding_threshold(result):
    # depression below the threshold, potentiation above, for every average rate
    for a in range(result.avg_post_rate_hz.size):
        below = (result.post_rate_hz > 0) & (result.post_rate_hz < result.threshold_hz[a] - 3)
        above = result.post_rate_hz > result.threshold_hz[a] + 3
        assert np.all(result.dwdt[a, below] < 0) and np.all(result.dwdt[a, above] > 0)
    np.testing.assert_allclose(result.threshold_hz, 19.2198 * (result.avg_post_rate_hz / 10.0) ** 2, rtol=1e-4)
    assert np.all(np.diff(result.threshold_sim_hz) > 5.0)        # 6.5 -> 19.6 -> 37.3 Hz
    np.testing.assert_allclose(result.threshold_sim_hz, result.threshold_hz, atol=1.5)


def test_simulation_is_close_to_mean_field(result):
    assert result.rel_rms < 0.05              # measured 0.023
    assert result.max_z < 5.0
    assert np.all(result.dwdt[:, 0] == 0.0)   # no post spikes, no change (a3- = 0 in the minimal set)


def test_seeded_and_rows(result):
    again = tb.run(tb.Config.small())
    np.testing.assert_array_equal(again.dwdt, result.dwdt)
    assert [r["passed"] for r in tb.compare(result)] == [True, True]
    assert "19.2" in tb.summary(result)
    assert set(tb.plot(result)) == {"triplet_bcm"}


def test_bad_config():
    with pytest.raises(ParameterError, match="all-to-all"):
        tb.Config(triplet_set="visual_cortex/nearest/full")
    with pytest.raises(ParameterError, match="increasing"):
        tb.Config(post_rates_hz=(0.0, 20.0, 10.0))
    with pytest.raises(ParameterError, match="rho0_hz"):
        tb.Config(rho0_hz=0.0)
