"""Poisson and spike-generator sources of the native simulator.

PoissonGroup draws exponential intervals in continuous time and emits each spike in the
step containing it, dropping a second spike of a neuron in the same step. The number of
spikes of a neuron in a step is therefore Bernoulli with p = 1 - exp(-rate*dt), independent
across steps, and the expected rate is p/dt (19.98 Hz for 20 Hz at dt = 0.1 ms).
"""
import math

import numpy as np
import pytest

import models

DT = 0.1


def _poisson_spikes(n, rate, duration, seed, dt=DT, chunk=1000.0):
    net = models.Network(dt=dt, seed=seed, chunk=chunk)
    group = net.add(models.PoissonGroup(n, rate=rate))
    rec = net.record_spikes(group)
    net.run(duration)
    return rec


def _expected_count(rate_hz, n_neurons, duration_ms, dt=DT):
    """Mean and std of the total spike count: Binomial(n_neurons * n_steps, p)."""
    p = 1.0 - math.exp(-rate_hz * 1e-3 * dt)
    trials = n_neurons * round(duration_ms / dt)
    return trials * p, math.sqrt(trials * p * (1 - p))


def test_poisson_mean_rate():
    n, rate, duration = 200, 20.0, 10_000.0
    rec = _poisson_spikes(n, rate, duration, seed=3)
    mean, std = _expected_count(rate, n, duration)  # ~39960 +- 200 (0.5 %)
    count = rec.t.size
    # 5 sigma = 2.5 % of the mean: inside the 3 % asked for, and essentially never fails
    assert abs(count - mean) < 5 * std
    assert abs(count / (n * duration * 1e-3) - rate) < 0.03 * rate
    # every neuron fires, spikes lie on the grid and inside the run
    assert np.unique(rec.i).size == n
    assert rec.t.min() >= 0 and rec.t.max() < duration
    np.testing.assert_allclose(rec.t / DT, np.rint(rec.t / DT), atol=1e-6)


def test_poisson_intervals_are_exponential():
    rec = _poisson_spikes(200, 20.0, 10_000.0, seed=4)
    isis = np.concatenate([np.diff(t) for t in rec.trains()])
    assert isis.size > 35_000
    assert isis.min() >= DT - 1e-9  # never two spikes of one neuron in a step
    # intervals on the grid are geometric: CV = sqrt(1 - p) = 0.999; sampling error ~ 1/sqrt(N)
    cv = isis.std() / isis.mean()
    assert abs(cv - 1.0) < 0.05
    # mean interval = dt / p = 50.05 ms; its standard error is ~ 50/sqrt(40000) = 0.25 ms
    assert abs(isis.mean() - DT / (1 - math.exp(-0.002))) < 5 * 50.0 / math.sqrt(isis.size)
    # survival P(ISI > 50 ms) = (1-p)^500 = exp(-1): binomial 5 sigma
    frac = np.mean(isis > 50.0 + 1e-9)
    assert abs(frac - math.exp(-1)) < 5 * math.sqrt(math.exp(-1) * (1 - math.exp(-1)) / isis.size)


def test_poisson_rate_per_neuron():
    levels = np.array([0.0, 2.0, 10.0, 40.0, 100.0])
    rates = np.repeat(levels, 40)
    duration = 5_000.0
    rec = _poisson_spikes(rates.size, rates, duration, seed=5)
    counts = np.bincount(rec.i, minlength=rates.size)
    for c, rate in enumerate(levels):
        got = counts[40 * c:40 * (c + 1)].sum()
        if rate == 0:
            assert got == 0
            continue
        mean, std = _expected_count(rate, 40, duration)
        assert abs(got - mean) < 5 * std, (rate, got, mean)


def test_poisson_rate_with_tiny_chunks():
    # chunk boundaries every 4 steps must neither lose nor duplicate spikes
    n, rate, duration = 200, 20.0, 2_000.0
    rec = _poisson_spikes(n, rate, duration, seed=6, chunk=0.4)
    mean, std = _expected_count(rate, n, duration)  # 7992 +- 89
    assert abs(rec.t.size - mean) < 5 * std
    for t in rec.trains():
        assert np.all(np.diff(t) >= DT - 1e-9)


def test_poisson_realisation_does_not_depend_on_monitors():
    def spikes(record_weights):
        net = models.Network(dt=DT, seed=1)
        src = net.add(models.PoissonGroup(20, rate=30.0))
        cell = net.add(models.LIF(1))
        proj = net.connect(src, cell, weight=10.0)
        rec = net.record_spikes(src)
        if record_weights:
            net.record_weights(proj, every=50.0)
        net.run(500.0)
        return rec.t
    np.testing.assert_array_equal(spikes(False), spikes(True))


def test_seeding():
    a = _poisson_spikes(20, 30.0, 1000.0, seed=11)
    b = _poisson_spikes(20, 30.0, 1000.0, seed=11)
    c = _poisson_spikes(20, 30.0, 1000.0, seed=12)
    assert a.t.size > 300
    np.testing.assert_array_equal(a.i, b.i)
    np.testing.assert_array_equal(a.t, b.t)
    assert a.t.size != c.t.size or not np.array_equal(a.t, c.t) or not np.array_equal(a.i, c.i)


# --- SpikeGeneratorGroup --------------------------------------------------------------------

def test_generator_emits_given_times_on_the_grid():
    times = (
        np.array([0.0, 0.95, 1.0, 2.5, 9.99, 10.0, 12.0]),
        np.array([0.0995, 0.29999999, 5.05]),
        np.array([]),
        np.array([3.14159]),
    )
    # steps = floor(t/dt + 1e-3), worked by hand:
    #   0.0 -> 0, 0.95 -> 9 (9.5), 1.0 -> 10, 2.5 -> 25, 9.99 -> 99 (99.9), 10.0 -> 100, 12.0 -> 120
    #   0.0995 -> 0 (0.996), 0.29999999 -> 3 (2.9999999 + 0.001), 5.05 -> 50 (50.4999.. + 0.001)
    #   3.14159 -> 31
    want = {0: [0, 9, 10, 25, 99], 1: [0, 3, 50], 2: [], 3: [31]}
    net = models.Network(dt=DT, chunk=1.0)  # chunks of 10 steps: spikes on chunk edges
    gen = net.add(models.SpikeGeneratorGroup(4, times))
    rec = net.record_spikes(gen)
    net.run(10.0)  # steps 0..99: the spikes at 10.0 and 12.0 are not emitted yet
    for n, steps in want.items():
        np.testing.assert_allclose(rec.trains()[n], np.array(steps, float) * DT, rtol=0, atol=1e-12)
    # spikes come in time order
    assert np.all(np.diff(rec.t) >= 0)
    net.run(5.0)  # continuing emits the rest at steps 100 and 120
    np.testing.assert_allclose(rec.trains()[0], np.array([0, 9, 10, 25, 99, 100, 120]) * DT,
                               rtol=0, atol=1e-12)
    assert rec.trains()[2].size == 0


def test_generator_from_trains_and_grid_formula():
    rng = np.random.default_rng(7)
    trains = [np.sort(rng.choice(np.arange(0, 2000), 40, replace=False)) * 0.1 + rng.uniform(0, 0.09)
              for _ in range(3)]
    net = models.Network(dt=DT)
    gen = net.add(models.SpikeGeneratorGroup.from_trains(trains))
    rec = net.record_spikes(gen)
    net.run(200.0)
    for n, t in enumerate(trains):
        want = np.floor(t / DT + 1e-3) * DT
        np.testing.assert_allclose(rec.trains()[n], want, rtol=0, atol=1e-9)


def test_many_spikes_overflowing_the_spike_buffer():
    # 300 sources firing in every step for 20 ms: 60000 spikes, far beyond one buffer fill
    n, steps = 300, 200
    times = np.arange(steps) * DT
    net = models.Network(dt=DT)
    gen = net.add(models.SpikeGeneratorGroup(n, tuple(times for _ in range(n))))
    rec = net.record_spikes(gen)
    net.run(steps * DT)
    assert rec.t.size == n * steps
    np.testing.assert_array_equal(np.bincount(rec.i, minlength=n), np.full(n, steps))
    np.testing.assert_allclose(rec.trains()[123], times, rtol=0, atol=1e-9)


def test_poisson_high_rate_drops_second_spikes_in_a_step():
    # rate * dt = 0.5: a step holds a spike with p = 1 - exp(-0.5) = 0.393, not 0.5
    rec = _poisson_spikes(20, 5000.0, 200.0, seed=8)
    mean, std = _expected_count(5000.0, 20, 200.0)  # 15739 +- 98
    assert abs(rec.t.size - mean) < 5 * std
    assert abs(rec.t.size - 20 * 2000 * 0.5) > 20 * std  # clearly not rate * dt per step
    for t in rec.trains():
        assert np.all(np.diff(t) > DT / 2)
