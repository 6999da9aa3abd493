"""Song, Miller & Abbott 2000, shortened to 30 s: weights start to split and the rate falls."""
import numpy as np
import pytest

from analysis.weights import bimodality
from plasticity import ParameterError
from protocols import song2000


@pytest.fixture(scope="module")
def result():
    return song2000.run(song2000.Config.small())


def test_weights_move_to_the_bounds(result):
    c = result.config
    before = bimodality(result.w0, c.g_max)
    after = bimodality(result.w, c.g_max)
    # uniform initial weights: 10% + 10% in the outer deciles; STDP competition pushes weights out
    assert before.frac_low + before.frac_high == pytest.approx(0.2, abs=0.04)
    assert after.frac_low + after.frac_high > 1.4 * (before.frac_low + before.frac_high)
    assert after.frac_low > 0.15 and after.frac_high > 0.1
    # Sarle's coefficient: 5/9 for a uniform distribution, above it for a U shape
    assert after.coefficient > 0.58 > before.coefficient - 0.02


def test_output_rate_is_regulated_down(result):
    rates = result.output_rate_hz
    assert rates[:3].mean() > 1.5 * rates[-5:].mean()


def test_weights_stay_in_bounds_and_trajectory_is_consistent(result):
    c = result.config
    assert result.w.min() >= 0.0 and result.w.max() <= c.g_max
    np.testing.assert_array_equal(result.w_traj[0], result.w0)
    np.testing.assert_array_equal(result.w_traj[-1], result.w)
    np.testing.assert_allclose(result.w_t, np.arange(result.w_t.size) * c.record_every_ms)


def test_same_seed_same_result():
    c = song2000.Config(duration_ms=2000.0, n_inputs=200)
    a, b = song2000.run(c), song2000.run(c)
    np.testing.assert_array_equal(a.w, b.w)
    np.testing.assert_array_equal(a.out_t, b.out_t)


def test_bad_config():
    with pytest.raises(ParameterError, match="rate_spread_hz"):
        song2000.Config(rate_spread_hz=20.0)
    with pytest.raises(ParameterError, match="dt"):
        song2000.Config(dt=0.0)
