"""Spike statistics on trains whose answers are known exactly or statistically."""
import numpy as np
import pytest

from analysis import fano_factor, firing_rates, from_trains, isi_cv, population_rate, to_trains
from plasticity.errors import ParameterError


def regular_train(rate_hz, duration_ms, phase_ms=0.0):
    return np.arange(phase_ms, duration_ms, 1000.0 / rate_hz)


def poisson_train(rate_hz, duration_ms, seed=0):
    rng = np.random.default_rng(seed)
    isi = rng.exponential(1000.0 / rate_hz, size=int(2 * rate_hz * duration_ms / 1000) + 100)
    t = np.cumsum(isi)
    return t[t < duration_ms]


def test_regular_10hz_over_one_second_is_10hz_exactly():
    train = regular_train(10.0, 1000.0)
    assert train.size == 10
    assert firing_rates([train], 1000.0)[0] == 10.0


def test_rates_from_index_time_arrays_include_silent_neurons():
    i = np.array([0, 2, 2, 2, 0])
    t = np.array([10.0, 20.0, 30.0, 40.0, 50.0])
    np.testing.assert_array_equal(firing_rates((i, t), 500.0, n=4), [4.0, 0.0, 6.0, 0.0])


def test_rates_count_only_the_half_open_window():
    train = np.array([99.0, 100.0, 150.0, 200.0, 250.0])
    # window [100, 200): two spikes in 0.1 s
    assert firing_rates([train], 100.0, t_start_ms=100.0)[0] == 20.0


def test_list_and_index_time_forms_agree():
    trains = [regular_train(5.0, 2000.0), np.array([]), poisson_train(20.0, 2000.0)]
    i, t = from_trains(trains)
    np.testing.assert_array_equal(firing_rates(trains, 2000.0), firing_rates((i, t), 2000.0, n=3))
    assert np.all(np.diff(t) >= 0)
    for got, want in zip(to_trains(i, t, n=3), trains):
        np.testing.assert_array_equal(got, want)


def test_population_rate_of_regular_trains():
    # 4 neurons at 10 Hz over 1 s, 100 ms bins: exactly one spike per neuron per bin
    trains = [regular_train(10.0, 1000.0, phase_ms=k) for k in range(4)]
    _, t = from_trains(trains)
    centres, rate = population_rate(t, 1000.0, 100.0, n=4)
    np.testing.assert_allclose(centres, np.arange(50.0, 1000.0, 100.0))
    np.testing.assert_array_equal(rate, np.full(10, 10.0))


def test_population_rate_short_last_bin_uses_its_own_width():
    centres, rate = population_rate(np.array([1.0, 5.0, 12.0, 24.9, 25.0]), 25.0, 10.0)
    np.testing.assert_allclose(centres, [5.0, 15.0, 22.5])
    np.testing.assert_allclose(rate, [200.0, 100.0, 200.0])  # 2/10 ms, 1/10 ms, 1/5 ms


def test_cv_of_regular_train_is_zero():
    assert isi_cv(regular_train(10.0, 10_000.0)) == 0.0


def test_cv_of_long_poisson_train_is_one():
    train = poisson_train(20.0, 1_000_000.0)  # ~20 000 intervals
    assert abs(isi_cv(train) - 1.0) < 0.05


def test_cv_needs_three_spikes():
    assert np.isnan(isi_cv([1.0, 2.0]))


def test_fano_of_regular_train_is_zero_and_poisson_is_one():
    assert fano_factor(regular_train(10.0, 10_000.0), 10_000.0, 500.0) == 0.0
    assert abs(fano_factor(poisson_train(20.0, 1_000_000.0), 1_000_000.0, 500.0) - 1.0) < 0.05


def test_fano_counts_in_windows():
    # counts per 100 ms window: [2, 0, 1, 1] -> mean 1, variance 0.5
    train = np.array([10.0, 20.0, 250.0, 399.0])
    assert fano_factor(train, 400.0, 100.0) == pytest.approx(0.5)


@pytest.mark.parametrize("bad", [[3.0, 1.0, 2.0], [1.0, np.nan, 2.0]])
def test_unsorted_or_nonfinite_train_rejected(bad):
    with pytest.raises(ParameterError, match="times"):
        isi_cv(bad)


def test_mismatched_index_time_rejected():
    with pytest.raises(ParameterError, match="equal length"):
        firing_rates((np.array([0, 1]), np.array([1.0])), 100.0)


def test_nonpositive_duration_rejected():
    with pytest.raises(ParameterError, match="duration_ms"):
        firing_rates([np.array([1.0])], 0.0)
