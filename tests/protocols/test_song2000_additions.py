"""Song 2000 additions: correlated inputs win, output rate regulated across input rates, report rows."""
import numpy as np
import pytest

from plasticity import ParameterError
from protocols import song2000
from protocols.report import load_reference


def test_reference_entry_matches_the_config_defaults():
    ref = load_reference("song2000")
    c = song2000.Config()
    assert ref["inputs"] == {"n": 1000, "rate_hz": 15.0}
    assert (ref["stdp"]["g_max"], ref["stdp"]["a_minus_over_a_plus"]) == (0.01, 1.05)
    assert (c.n_inputs, c.rate_hz, c.g_max, c.a_minus_over_a_plus) == (1000, 15.0, 0.01, 1.05)
    assert (ref["neuron"]["v_threshold"], c.v_th) == (-54.0, -54.0)


def test_correlated_trains_have_the_rate_and_the_correlation():
    rng = np.random.default_rng(7)
    n, rate, c, T = 40, 15.0, 0.3, 200_000.0
    mask = np.arange(n) < 20
    trains = song2000.correlated_trains(np.full(n, rate), mask, c, T, 0.1, rng)
    rates = np.array([t.size for t in trains]) / (T / 1000.0)
    assert rates.mean() == pytest.approx(rate, rel=0.02)
    for t in trains:
        assert np.all(np.diff(t) > 0) and t.min() >= 0 and t.max() < T
    counts = np.array([np.histogram(t, bins=np.arange(0, T + 1, 100.0))[0] for t in trains])
    r = np.corrcoef(counts)
    within = r[np.ix_(mask, mask)][np.triu_indices(20, 1)]
    across = r[np.ix_(mask, ~mask)]
    outside = r[np.ix_(~mask, ~mask)][np.triu_indices(20, 1)]
    assert within.mean() == pytest.approx(c, abs=0.03)          # MIP: count correlation = c
    assert abs(across.mean()) < 0.02 and abs(outside.mean()) < 0.02


@pytest.fixture(scope="module")
def correlated_result():
    return song2000.run(song2000.Config(duration_ms=10_000.0, correlated_fraction=0.2, correlation=0.2,
                                        record_every_ms=1000.0))


def test_correlated_group_wins(correlated_result):
    r = correlated_result
    assert r.correlated.sum() == 200 and r.correlated[:200].all()
    corr, uncorr = song2000.group_weights(r)
    assert corr > 0.8 and uncorr < 0.5 and corr - uncorr > 0.3
    # initial weights are the same draw in both groups: the difference is learned
    assert abs(r.w0[r.correlated].mean() - r.w0[~r.correlated].mean()) < 0.05 * r.config.g_max
    rows = song2000.compare(r)
    assert rows[-1]["measure"].startswith("mean w/g_max") and rows[-1]["passed"]
    assert "correlated group (200 inputs" in song2000.summary(r)


def test_rate_regulation_sweep():
    c = song2000.Config(duration_ms=1000.0, sweep_rates_hz=(15.0, 22.5, 30.0), sweep_duration_ms=10_000.0)
    r = song2000.run(c)
    np.testing.assert_array_equal(r.sweep_rates_hz, [15.0, 22.5, 30.0])
    # frozen weights: output rate rises steeply; with STDP it stays within a factor ~1.5
    assert np.all(np.diff(r.sweep_out_fixed_hz) > 50)
    assert r.sweep_out_stdp_hz.max() < 1.6 * r.sweep_out_stdp_hz.min()
    assert r.sweep_out_stdp_hz[-1] < 0.3 * r.sweep_out_fixed_hz[-1]
    index = song2000.regulation_index(r)
    assert 0 <= index < 0.3
    assert [row["passed"] for row in song2000.compare(r)][1] is True
    figs = song2000.plot(r)
    assert len(figs["song2000"].axes) >= 6
    assert "regulation index" in song2000.summary(r)


def test_defaults_keep_the_original_behaviour():
    c = song2000.Config(duration_ms=1000.0, n_inputs=100)
    r = song2000.run(c)
    assert r.correlated.shape == (100,) and not r.correlated.any()
    assert r.sweep_rates_hz.size == 0 and np.isnan(song2000.regulation_index(r))
    assert len(song2000.compare(r)) == 1


def test_bad_config():
    with pytest.raises(ParameterError, match="correlated_fraction"):
        song2000.Config(correlated_fraction=1.5)
    with pytest.raises(ParameterError, match="rate_spread_hz must be 0"):
        song2000.Config(correlated_fraction=0.1, rate_spread_hz=5.0)
    with pytest.raises(ParameterError, match="at least 2 rates"):
        song2000.Config(sweep_rates_hz=(10.0,))
    with pytest.raises(ParameterError, match="native"):
        song2000.run(song2000.Config(correlated_fraction=0.1), backend="brian2")
