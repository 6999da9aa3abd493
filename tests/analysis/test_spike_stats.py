"""Rates, PSTH, ISI histogram, correlograms, synchrony and spike-train distances on
hand-computed cases and on seeded Poisson trains with known statistics."""
import numpy as np
import pytest

from analysis import (binned_rates, cross_correlogram, isi_histogram, psth, smoothed_rate,
                      spike_count_correlation, synchrony, van_rossum_distance, victor_purpura_distance)
from plasticity.errors import ParameterError


def poisson_train(rate_hz, duration_ms, rng):
    isi = rng.exponential(1000.0 / rate_hz, size=int(2 * rate_hz * duration_ms / 1000) + 100)
    t = np.cumsum(isi)
    return t[t < duration_ms]


# --- rates -------------------------------------------------------------------------------

def test_binned_rates_by_hand():
    centres, rates = binned_rates([np.array([1.0, 2.0, 15.0, 22.0]), np.array([])], 25.0, 10.0)
    np.testing.assert_array_equal(centres, [5.0, 15.0, 22.5])
    # 2 spikes / 10 ms = 200 Hz, 1 / 10 ms = 100 Hz, 1 spike in the 5 ms last bin = 200 Hz
    np.testing.assert_allclose(rates, [[200.0, 100.0, 200.0], [0.0, 0.0, 0.0]])


def test_binned_rates_index_time_form_with_silent_neuron():
    _, rates = binned_rates((np.array([2, 0]), np.array([3.0, 4.0])), 10.0, 5.0, n=4)
    np.testing.assert_allclose(rates, [[200.0, 0.0], [0, 0], [200.0, 0.0], [0, 0]])


def test_gaussian_kernel_single_spike_peak_and_area():
    t, rate = smoothed_rate([50.0], 100.0, dt_ms=1.0, kernel="gaussian", width_ms=10.0)
    assert t[0] == 0.5 and t.size == 100
    peak = 1000.0 / (10.0 * np.sqrt(2 * np.pi)) * np.exp(-0.5 * 0.05 ** 2)  # 0.5 ms from the spike
    assert rate.max() == pytest.approx(peak, rel=1e-12)          # 39.844 Hz
    assert rate.sum() * 1.0 / 1000.0 == pytest.approx(1.0, rel=1e-6)  # one spike's worth


def test_exponential_and_boxcar_kernels_by_hand():
    t, rate = smoothed_rate([50.0], 100.0, kernel="exponential", width_ms=10.0)
    assert rate[49] == 0.0                                        # 49.5 ms, before the spike
    assert rate[50] == pytest.approx(100.0 * np.exp(-0.05), rel=1e-12)  # 95.12 Hz at 50.5 ms
    _, box = smoothed_rate([50.0], 100.0, kernel="boxcar", width_ms=10.0, n=2)
    np.testing.assert_allclose(box[45:55], 50.0)                  # 1000/10 Hz, halved for n=2
    assert box[:45].sum() == 0.0 and box[55:].sum() == 0.0


def test_smoothed_poisson_rate_averages_to_the_rate(rng):
    train = poisson_train(20.0, 200_000.0, rng)
    _, rate = smoothed_rate(train, 200_000.0, dt_ms=5.0, width_ms=50.0)
    assert rate[100:-100].mean() == pytest.approx(20.0, rel=0.03)


def test_unknown_kernel_rejected():
    with pytest.raises(ParameterError, match="kernel must be one of"):
        smoothed_rate([1.0], 10.0, kernel="triangle")


# --- PSTH and ISI ------------------------------------------------------------------------

def test_psth_by_hand():
    times = np.array([10.0, 12.0, 105.0, 150.0, 215.0])
    centres, rate = psth(times, [0.0, 100.0, 200.0], (-10.0, 30.0), 10.0)
    np.testing.assert_array_equal(centres, [-5.0, 5.0, 15.0, 25.0])
    # relative times 10, 12 (event 0), 5 (event 100), 15 (event 200): counts 0, 1, 3, 0
    np.testing.assert_allclose(rate, np.array([0, 1, 3, 0]) / (3 * 0.010))


def test_psth_of_poisson_is_flat_at_the_rate(rng):
    train = poisson_train(50.0, 500_000.0, rng)
    _, rate = psth(train, np.arange(1000.0, 499_000.0, 500.0), (-100.0, 100.0), 50.0)
    np.testing.assert_allclose(rate, 50.0, rtol=0.05)


def test_isi_histogram_by_hand():
    counts, edges = isi_histogram([0.0, 2.0, 5.0, 6.0, 16.0], bin_ms=2.0)  # ISIs 2, 3, 1, 10
    np.testing.assert_array_equal(edges, np.arange(0.0, 13.0, 2.0))
    np.testing.assert_array_equal(counts, [1, 2, 0, 0, 0, 1])


def test_poisson_isi_histogram_is_exponential(rng):
    train = poisson_train(20.0, 1_000_000.0, rng)                # mean ISI 50 ms
    counts, edges = isi_histogram(train, bin_ms=10.0, max_isi_ms=200.0)
    expected = (train.size - 1) * (np.exp(-edges[:-1] / 50.0) - np.exp(-edges[1:] / 50.0))
    assert np.all(np.abs(counts - expected) < 4 * np.sqrt(expected))  # within 4 Poisson s.d.
    assert counts.sum() == pytest.approx(expected.sum(), rel=0.02)


# --- correlations ------------------------------------------------------------------------

def test_cross_correlogram_by_hand():
    lags, counts = cross_correlogram([10.0, 50.0], [12.0, 45.0, 53.0], bin_ms=5.0, max_lag_ms=10.0)
    np.testing.assert_array_equal(lags, [-7.5, -2.5, 2.5, 7.5])
    np.testing.assert_array_equal(counts, [0, 1, 2, 0])           # lags +2, -5, +3


def test_cross_correlogram_finds_a_delayed_copy(rng):
    a = poisson_train(10.0, 100_000.0, rng)
    lags, counts = cross_correlogram(a, a + 4.0, bin_ms=2.0, max_lag_ms=20.0)
    assert lags[np.argmax(counts)] == 5.0                          # the [4, 6) ms bin
    others = np.delete(counts, np.argmax(counts))
    chance = a.size * 10.0 * 2.0 / 1000.0                          # N * rate * bin = 21.6 pairs
    assert others.mean() == pytest.approx(chance, rel=0.15)
    assert a.size <= counts.max() <= a.size + chance + 4 * np.sqrt(chance)


def test_count_correlation_by_hand():
    a, b = np.array([5.0, 25.0]), np.array([15.0, 35.0])          # counts 1010 and 0101
    corr = spike_count_correlation([a, a, b, np.array([])], 40.0, 10.0)
    np.testing.assert_allclose(corr[:3, :3], [[1, 1, -1], [1, 1, -1], [-1, -1, 1]])
    assert np.all(np.isnan(corr[3])) and np.all(np.isnan(corr[:, 3]))
    assert synchrony([a, a, b], 40.0, 10.0) == pytest.approx(-1.0 / 3.0)


def test_independent_poisson_trains_have_no_synchrony(rng):
    trains = [poisson_train(20.0, 100_000.0, rng) for _ in range(10)]
    assert abs(synchrony(trains, 100_000.0, 50.0)) < 0.02
    shared = poisson_train(20.0, 100_000.0, rng)
    assert synchrony([shared, shared.copy()], 100_000.0, 50.0) == pytest.approx(1.0)


# --- distances -----------------------------------------------------------------------------

def test_van_rossum_by_hand():
    assert van_rossum_distance([10.0], [], 5.0) == pytest.approx(np.sqrt(0.5))
    assert van_rossum_distance([10.0], [13.0], 5.0) == pytest.approx(np.sqrt(1 - np.exp(-0.6)))
    assert van_rossum_distance([0.0, 10.0], [], 10.0) == pytest.approx(np.sqrt(1 + np.exp(-1.0)))
    assert van_rossum_distance([1.0, 7.0], [1.0, 7.0], 3.0) == 0.0


def test_van_rossum_equals_numerical_integral(rng):
    a, b = np.sort(rng.uniform(0, 200, 6)), np.sort(rng.uniform(0, 200, 4))
    tau, dt = 8.0, 0.001
    s = np.arange(0.0, 400.0, dt)

    def filtered(train):
        u = s[:, None] - train[None, :]
        return np.where(u >= 0, np.exp(-np.maximum(u, 0) / tau), 0.0).sum(axis=1)

    numeric = np.sqrt(np.sum((filtered(a) - filtered(b)) ** 2) * dt / tau)
    assert van_rossum_distance(a, b, tau) == pytest.approx(numeric, rel=1e-3)


def test_victor_purpura_by_hand():
    assert victor_purpura_distance([0.0], [5.0], 0.1) == pytest.approx(0.5)   # shift 5 ms * 0.1
    assert victor_purpura_distance([0.0], [5.0], 1.0) == pytest.approx(2.0)   # delete + insert
    assert victor_purpura_distance([1.0, 2.0, 3.0], [7.0], 0.0) == 2.0        # count difference
    # shift 0 -> 1 (0.2), delete 10 and insert 30 (2): 2.2 < shifting both (0.2 + 4.0)
    assert victor_purpura_distance([0.0, 10.0], [1.0, 30.0], 0.2) == pytest.approx(2.2)
    assert victor_purpura_distance([], [], 1.0) == 0.0


def test_victor_purpura_is_symmetric(rng):
    a, b = np.sort(rng.uniform(0, 100, 7)), np.sort(rng.uniform(0, 100, 5))
    assert victor_purpura_distance(a, b, 0.05) == pytest.approx(victor_purpura_distance(b, a, 0.05))


@pytest.mark.parametrize("call, name", [
    (lambda: cross_correlogram([1.0], [2.0], 3.0, 10.0), "max_lag_ms"),
    (lambda: psth([1.0], [], (0, 10), 1.0), "events_ms"),
    (lambda: van_rossum_distance([2.0, 1.0], [], 5.0), "times_a"),
    (lambda: victor_purpura_distance([1.0], [2.0], -1.0), "q_per_ms"),
    (lambda: spike_count_correlation([[1.0]], 10.0, 8.0), "bin_ms"),
])
def test_bad_inputs_name_the_parameter(call, name):
    with pytest.raises(ParameterError, match=name):
        call()
