"""models.encoding: rate statistics against their distributions, latency times by hand,
send-on-delta on signals with known crossings, decoders inverting the encoders, validation."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models import encoding
from plasticity.errors import ParameterError


def test_bernoulli_rate_mean_and_seed():
    x = np.array([0.0, 0.1, 0.5, 1.0])
    s = encoding.rate(np.tile(x, (500, 1)), 40, seed=1)
    assert s.shape == (500, 40, 4) and set(np.unique(s)) <= {0.0, 1.0}
    se = np.sqrt(x * (1 - x) / 20000)
    assert np.all(np.abs(s.mean(axis=(0, 1)) - x) <= 5 * se + 1e-12)
    np.testing.assert_array_equal(s, encoding.rate(np.tile(x, (500, 1)), 40, seed=1))
    assert not np.array_equal(s, encoding.rate(np.tile(x, (500, 1)), 40, seed=2))


def test_poisson_counts_have_poisson_mean_and_variance():
    s = encoding.rate(np.full((1, 3), 0.8), 20000, kind="poisson", gain=2.0, seed=4)
    counts = s[0]
    assert counts.max() >= 3  # counts, not 0/1
    np.testing.assert_allclose(counts.mean(0), 1.6, atol=5 * np.sqrt(1.6 / 20000))
    np.testing.assert_allclose(counts.var(0), 1.6, rtol=0.05)


def test_latency_linear_and_log_by_hand():
    x = np.array([1.0, 0.5, 0.0, 0.01, 0.1])
    np.testing.assert_array_equal(encoding.latency_steps(x, 11), [0, 5, -1, 10, 9])
    np.testing.assert_array_equal(encoding.latency_steps(x, 11, kind="log"), [0, 2, -1, 10, 5])  # ln .5/ln .01 = .15
    s = encoding.latency(x, 11)
    assert s.shape == (11, 5) and s.sum() == 4
    np.testing.assert_array_equal(encoding.first_spike_time(s), [0, 5, np.inf, 10, 9])
    np.testing.assert_array_equal(encoding.spike_count(s), [1, 1, 0, 1, 1])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=8), st.integers(2, 40))
def test_latency_is_monotone_and_one_spike_per_input(values, T):
    x = np.array(values)
    s = encoding.latency(x[None], T)
    assert np.all(s.sum(axis=1) <= 1)
    t = encoding.first_spike_time(s)[0]
    order = np.argsort(-x, kind="stable")
    assert np.all(np.diff(t[order][np.isfinite(t[order])]) >= 0)  # larger value: not later


def test_delta_on_off_crossings():
    sig = np.array([0.0, 0.05, 0.12, 0.3, 0.3, 0.1, 0.0])[:, None]
    s = encoding.delta(sig, threshold=0.1)
    assert s.shape == (7, 2)
    np.testing.assert_array_equal(s[:, 0], [0, 0, 1, 1, 0, 0, 0])   # ref 0 -> 0.12 -> 0.3
    np.testing.assert_array_equal(s[:, 1], [0, 0, 0, 0, 0, 1, 1])   # 0.3 -> 0.1, then 0.1 -> 0.0 (a full step)
    batch = encoding.delta(np.stack([sig, -sig]), threshold=0.1)
    np.testing.assert_array_equal(batch[1, :, 1], s[:, 0])


@pytest.mark.parametrize("call, name", [
    (lambda: encoding.rate([0.5, 1.5], 4), "x"), (lambda: encoding.rate([0.5], 0), "T"),
    (lambda: encoding.rate([0.5], 4, kind="gauss"), "kind"), (lambda: encoding.rate([0.8], 4, gain=2.0), "gain"),
    (lambda: encoding.latency([np.nan], 4), "x"), (lambda: encoding.latency([0.5], 4, threshold=1.0), "threshold"),
    (lambda: encoding.latency([0.5], 4, kind="log", x_min=0.0), "x_min"),
    (lambda: encoding.delta(np.zeros(5), threshold=0.1), "signal"),
    (lambda: encoding.delta(np.zeros((5, 2)), threshold=0.0), "threshold"),
    (lambda: encoding.spike_count(np.zeros(3)), "spikes"), (lambda: encoding.first_spike_time(-np.ones((2, 2))), "spikes"),
])
def test_bad_input_refused(call, name):
    with pytest.raises(ParameterError, match=name):
        call()


def test_raster_of_an_encoded_sample():
    from analysis import spike_array_raster

    s = encoding.latency(np.linspace(0.05, 1, 6), 8)
    ax = spike_array_raster(s, dt=2.0)
    offsets = ax.collections[-1].get_offsets()
    np.testing.assert_allclose(sorted(offsets[:, 0]), sorted(2.0 * encoding.first_spike_time(s)))
