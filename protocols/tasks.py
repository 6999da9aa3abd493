"""The four learning tasks of the RSNN comparisons, generated locally and seeded.

Every task is a frozen dataclass (times in ms, rates in Hz) with ``n_in``, ``n_out``,
``steps`` (sequence length T = duration / dt), ``loss`` ("mse" or "ce"), ``window`` (CE
decision window in steps, None for MSE) and ``sample(batch, rng) -> (x, target)``: x of shape
(batch, T, n_in) holding 0/1 spikes (float64), target (batch, T, n_out) for MSE or int labels
(batch,) for CE. ``rng`` is a ``numpy.random.Generator``; the same generator state gives the
same batch.

* :class:`PatternGeneration` — Bellec et al. 2020 Fig. 2: one frozen Poisson input pattern,
  target a sum of sines (1, 2, 3, 5 Hz, random amplitudes and phases) over 1000 ms.
* :class:`EvidenceAccumulation` — Bellec et al. 2020 Fig. 3: left/right cues, a delay, a
  recall cue; the label is the side with more cues (needs ALIF memory).
* :class:`StoreRecall` — a bit shown with a store cue, a delay with distractor noise, then a
  recall cue: report the stored bit.
* :class:`SpikePatternClassification` — fixed random spike templates per class, each sample
  a template with Gaussian spike-time jitter (and spikes dropped with a small probability).
* :class:`SHDClassification` — the Spiking Heidelberg Digits (Cramer et al. 2020) from the
  user's HDF5 file: 20 spoken digits as cochlea-model spikes, binned (the one task that is
  read from a file, not generated).
"""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field

import numpy as np

from plasticity.errors import ParameterError, check_int, check_non_negative, check_positive


def _steps(duration_ms: float, dt: float) -> int:
    return int(round(duration_ms / dt))


def _poisson(rng, shape, rate_hz, dt):
    """0/1 spikes with probability rate*dt per step (Bernoulli approximation of Poisson)."""
    return (rng.random(shape) < np.asarray(rate_hz) * dt / 1000.0).astype(np.float64)


def _check_batch(batch):
    return check_int("batch", batch, 1)


def normalized_mse(y: np.ndarray, target: np.ndarray) -> float:
    """mean (y - target)^2 / variance of the target (0 is perfect, 1 is predicting the mean)."""
    return float(np.mean((y - target) ** 2) / np.var(target))


@dataclass(frozen=True)
class PatternGeneration:
    """Regression: reproduce a sum of sines from a frozen input spike pattern."""

    n_in: int = 100
    duration_ms: float = 1000.0
    dt: float = 1.0
    rate_hz: float = 50.0
    freqs_hz: tuple = (1.0, 2.0, 3.0, 5.0)
    amplitude_range: tuple = (0.5, 2.0)
    seed: int = 0
    n_out: int = 1
    loss: str = "mse"
    window: None = None

    def __post_init__(self):
        check_int("n_in", self.n_in, 1)
        check_positive("duration_ms", self.duration_ms, "ms")
        check_positive("dt", self.dt, "ms")
        check_positive("rate_hz", self.rate_hz, "Hz")
        check_int("seed", self.seed, 0)
        if len(self.freqs_hz) == 0:
            raise ParameterError("freqs_hz must hold at least one frequency, got ()")
        for f in self.freqs_hz:
            check_positive("freqs_hz entry", f, "Hz")
        lo, hi = self.amplitude_range
        if not 0 < lo <= hi:
            raise ParameterError(f"amplitude_range must satisfy 0 < low <= high, got {self.amplitude_range}")
        if self.n_out != 1:
            raise ParameterError(f"n_out must be 1 for pattern generation, got {self.n_out}")
        if self.steps < 1:
            raise ParameterError(f"duration_ms / dt must be >= 1 step, got {self.duration_ms} / {self.dt}")

    @property
    def steps(self) -> int:
        return _steps(self.duration_ms, self.dt)

    def _draw(self):
        rng = np.random.default_rng([self.seed, 2020])
        x = _poisson(rng, (self.steps, self.n_in), self.rate_hz, self.dt)
        amps = rng.uniform(*self.amplitude_range, len(self.freqs_hz))
        phases = rng.uniform(0.0, 2 * np.pi, len(self.freqs_hz))
        return x, amps, phases

    def pattern(self):
        """The frozen input (T, n_in) and target (T, 1), a function of ``seed`` only."""
        x, amps, phases = self._draw()
        t = np.arange(self.steps) * self.dt / 1000.0
        target = sum(a * np.sin(2 * np.pi * f * t + p) for a, f, p in zip(amps, self.freqs_hz, phases))
        return x, target[:, None]

    def target_function(self):
        """The target as a function of time, ``f(t_ms) -> float``: the sum of sines that
        :meth:`pattern` samples (its row k is f(k * dt)), defined for every t."""
        import math

        _, amps, phases = self._draw()
        terms = tuple((float(a), 2 * math.pi * float(f) / 1000.0, float(p))
                      for a, f, p in zip(amps, self.freqs_hz, phases))

        def f(t_ms: float) -> float:
            return sum(a * math.sin(w * t_ms + p) for a, w, p in terms)

        return f

    def sample(self, batch: int, rng=None):
        x, target = self.pattern()
        batch = _check_batch(batch)
        return (np.repeat(x[None], batch, axis=0), np.repeat(target[None], batch, axis=0))


@dataclass(frozen=True)
class EvidenceAccumulation:
    """Classification: which side (left 0 / right 1) showed more of ``n_cues`` cues?

    Inputs, ``n_per_group`` neurons each: left cue, right cue, recall cue, background noise.
    Cue k occupies [k*(cue+gap), k*(cue+gap)+cue) ms at ``cue_rate_hz`` on its side's group;
    the recall cue fires for the last ``recall_ms``; background neurons fire at
    ``background_hz`` throughout. The CE window is the recall period.
    """

    n_cues: int = 7
    cue_ms: float = 100.0
    gap_ms: float = 50.0
    delay_ms: float = 1000.0
    recall_ms: float = 150.0
    n_per_group: int = 10
    cue_rate_hz: float = 40.0
    background_hz: float = 10.0
    p_majority: float = 0.5     # probability that each cue is on the right (0.5: random)
    dt: float = 1.0
    n_out: int = 2
    loss: str = "ce"

    def __post_init__(self):
        check_int("n_cues", self.n_cues, 1)
        if self.n_cues % 2 == 0:
            raise ParameterError(f"n_cues must be odd (no ties), got {self.n_cues}")
        for name in ("cue_ms", "recall_ms", "dt", "cue_rate_hz"):
            check_positive(name, getattr(self, name))
        for name in ("gap_ms", "delay_ms", "background_hz"):
            check_non_negative(name, getattr(self, name))
        check_int("n_per_group", self.n_per_group, 1)
        if not 0.0 <= self.p_majority <= 1.0:
            raise ParameterError(f"p_majority must be in [0, 1], got {self.p_majority}")

    @property
    def n_in(self) -> int:
        return 4 * self.n_per_group

    @property
    def steps(self) -> int:
        cues = self.n_cues * (self.cue_ms + self.gap_ms)
        return _steps(cues + self.delay_ms + self.recall_ms, self.dt)

    @property
    def window(self) -> int:
        return max(1, _steps(self.recall_ms, self.dt))

    def sample(self, batch: int, rng):
        batch = _check_batch(batch)
        T, g, dt = self.steps, self.n_per_group, self.dt
        rates = np.zeros((batch, T, self.n_in))
        sides = (rng.random((batch, self.n_cues)) < self.p_majority).astype(int)
        period, cue = _steps(self.cue_ms + self.gap_ms, dt), _steps(self.cue_ms, dt)
        for k in range(self.n_cues):
            start = k * period
            for b in range(batch):
                s = sides[b, k]
                rates[b, start:start + cue, s * g:(s + 1) * g] = self.cue_rate_hz
        rates[:, T - self.window:, 2 * g:3 * g] = self.cue_rate_hz
        rates[:, :, 3 * g:] = self.background_hz
        x = _poisson(rng, rates.shape, rates, dt)
        labels = (sides.sum(axis=1) > self.n_cues // 2).astype(np.int64)
        return x, labels


@dataclass(frozen=True)
class StoreRecall:
    """Classification: remember a bit across a delay.

    Inputs, ``n_per_group`` neurons each: value 0, value 1, store cue, recall cue, noise. At
    ``t_store_ms`` the bit's group and the store group fire for ``cue_ms``; after
    ``delay_ms`` the recall group fires for ``cue_ms`` (the CE window); noise neurons (and,
    as a distractor, both value groups at ``distractor_hz``) fire throughout.
    """

    t_store_ms: float = 100.0
    cue_ms: float = 100.0
    delay_ms: float = 600.0
    n_per_group: int = 10
    cue_rate_hz: float = 50.0
    distractor_hz: float = 5.0
    noise_hz: float = 10.0
    dt: float = 1.0
    n_out: int = 2
    loss: str = "ce"

    def __post_init__(self):
        for name in ("cue_ms", "dt", "cue_rate_hz"):
            check_positive(name, getattr(self, name))
        for name in ("t_store_ms", "delay_ms", "distractor_hz", "noise_hz"):
            check_non_negative(name, getattr(self, name))
        check_int("n_per_group", self.n_per_group, 1)

    @property
    def n_in(self) -> int:
        return 5 * self.n_per_group

    @property
    def steps(self) -> int:
        return _steps(self.t_store_ms + 2 * self.cue_ms + self.delay_ms, self.dt)

    @property
    def window(self) -> int:
        return max(1, _steps(self.cue_ms, self.dt))

    def sample(self, batch: int, rng):
        batch = _check_batch(batch)
        T, g, dt = self.steps, self.n_per_group, self.dt
        bits = rng.integers(0, 2, batch)
        rates = np.zeros((batch, T, self.n_in))
        rates[:, :, :2 * g] = self.distractor_hz
        s0, c = _steps(self.t_store_ms, dt), _steps(self.cue_ms, dt)
        for b in range(batch):
            rates[b, s0:s0 + c, bits[b] * g:(bits[b] + 1) * g] = self.cue_rate_hz
        rates[:, s0:s0 + c, 2 * g:3 * g] = self.cue_rate_hz
        rates[:, T - self.window:, 3 * g:4 * g] = self.cue_rate_hz
        rates[:, :, 4 * g:] = self.noise_hz
        return _poisson(rng, rates.shape, rates, dt), bits.astype(np.int64)


@dataclass(frozen=True)
class SpikePatternClassification:
    """Classification of ``n_classes`` random spike templates (``rate_hz`` Poisson, frozen by
    ``seed``) presented with Gaussian jitter ``jitter_ms`` per spike and each spike deleted
    with probability ``p_delete``. The CE window is the whole sequence."""

    n_classes: int = 4
    n_in: int = 50
    duration_ms: float = 200.0
    rate_hz: float = 20.0
    jitter_ms: float = 2.0
    p_delete: float = 0.05
    dt: float = 1.0
    seed: int = 0
    loss: str = "ce"
    window: None = field(default=None)

    def __post_init__(self):
        check_int("n_classes", self.n_classes, 2)
        check_int("n_in", self.n_in, 1)
        for name in ("duration_ms", "rate_hz", "dt"):
            check_positive(name, getattr(self, name))
        check_non_negative("jitter_ms", self.jitter_ms, "ms")
        if not 0.0 <= self.p_delete < 1.0:
            raise ParameterError(f"p_delete must be in [0, 1), got {self.p_delete}")
        check_int("seed", self.seed, 0)

    @property
    def n_out(self) -> int:
        return self.n_classes

    @property
    def steps(self) -> int:
        return _steps(self.duration_ms, self.dt)

    def templates(self) -> list:
        """Per class, the template's spikes as (neuron index, time in ms) arrays."""
        rng = np.random.default_rng([self.seed, 2018])
        out = []
        for _ in range(self.n_classes):
            spikes = _poisson(rng, (self.steps, self.n_in), self.rate_hz, self.dt)
            t_idx, i = np.nonzero(spikes)
            out.append((i, t_idx * self.dt))
        return out

    def sample(self, batch: int, rng):
        batch = _check_batch(batch)
        T = self.steps
        templates = self.templates()
        labels = rng.integers(0, self.n_classes, batch).astype(np.int64)
        x = np.zeros((batch, T, self.n_in))
        for b in range(batch):
            i, t = templates[labels[b]]
            keep = rng.random(i.size) >= self.p_delete
            t_j = t[keep] + rng.normal(0.0, self.jitter_ms, keep.sum()) if self.jitter_ms > 0 else t[keep]
            steps = np.round(t_j / self.dt).astype(int)
            ok = (steps >= 0) & (steps < T)
            x[b, steps[ok], i[keep][ok]] = 1.0
        return x, labels


@functools.lru_cache(maxsize=4)
def _read_shd(path: str, mtime_ns: int):
    from .datasets import load_shd

    return load_shd(path)


def _missing_shd(name: str, path: str):
    from .datasets import SHD_URL

    raise ParameterError(f"{name}={path!r}: no such file; get shd_train.h5 / shd_test.h5 from {SHD_URL}")


def _shd_file(name: str, path: str, n_classes: int):
    """The samples of an SHD/SSC file (read once per process), labels checked."""
    if not os.path.isfile(path):
        _missing_shd(name, path)
    spikes = _read_shd(os.path.abspath(path), os.stat(path).st_mtime_ns)
    labels = spikes.labels
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ParameterError(f"{name}={path!r} has labels {labels.min()}..{labels.max()}, "
                             f"outside 0..{n_classes - 1} (n_classes={n_classes}; SSC has 35)")
    return spikes


@dataclass(frozen=True)
class SHDClassification:
    """Spiking Heidelberg Digits (Cramer, Stradmann, Schemmel & Zenke 2020): 20 classes.

    ``data`` is the user's ``shd_train.h5`` (or .h5.gz, or an SSC file with ``n_classes=35``);
    training batches are drawn from it. Evaluation batches come from ``test_data`` (the
    official ``shd_test.h5``) when given, else from a seeded held-out ``eval_fraction`` of
    ``data`` that training never sees.

    Binning (our choice, as in most SHD RSNN work: 100 bins over the first second, which
    holds nearly every digit): ``dt`` = 10 ms, ``duration_ms`` = 1000 (T = 100 steps), spike
    counts per bin (:func:`protocols.datasets.bin_events`); the 700 channels are pooled in
    groups of ``channel_factor`` neighbouring channels (5: 140 inputs), which the cochlea
    model's overlapping tonotopic channels tolerate. The CE window is the whole sequence.
    """

    data: str = ""
    test_data: str | None = None
    dt: float = 10.0
    duration_ms: float = 1000.0
    channel_factor: int = 5
    n_classes: int = 20
    eval_fraction: float = 0.2
    seed: int = 0
    loss: str = "ce"
    window: None = field(default=None)

    def __post_init__(self):
        check_positive("dt", self.dt, "ms")
        check_positive("duration_ms", self.duration_ms, "ms")
        check_int("channel_factor", self.channel_factor, 1)
        check_int("n_classes", self.n_classes, 2)
        if not 0.0 < self.eval_fraction < 1.0:
            raise ParameterError(f"eval_fraction must be in (0, 1), got {self.eval_fraction!r}")
        check_int("seed", self.seed, 0)
        if self.steps < 1:
            raise ParameterError(f"duration_ms / dt must be >= 1 step, got {self.duration_ms} / {self.dt}")
        if not self.data:
            from .datasets import SHD_URL

            raise ParameterError(f"task 'shd' needs data=PATH to shd_train.h5; get it from {SHD_URL}")
        for name in ("data", "test_data"):  # only existence here: the samples are read at first use
            path = getattr(self, name)
            if path is not None and not os.path.isfile(path):
                _missing_shd(name, path)

    @property
    def n_in(self) -> int:
        from .datasets import SHD_CHANNELS

        return -(-SHD_CHANNELS // self.channel_factor)

    @property
    def n_out(self) -> int:
        return self.n_classes

    @property
    def steps(self) -> int:
        return _steps(self.duration_ms, self.dt)

    def _split(self):
        """Indices of ``data`` used for training and for evaluation (seeded, disjoint)."""
        n = len(_shd_file("data", self.data, self.n_classes).labels)
        if self.test_data is not None:
            return np.arange(n), None
        order = np.random.default_rng([self.seed, 1998]).permutation(n)
        n_eval = max(1, int(round(self.eval_fraction * n)))
        if n_eval >= n:
            raise ParameterError(f"data={self.data!r} holds {n} samples, too few to hold out an evaluation set")
        return np.sort(order[n_eval:]), np.sort(order[:n_eval])

    def _batch(self, spikes, idx):
        from .datasets import bin_events

        x = bin_events([spikes.times[i] for i in idx], [spikes.units[i] // self.channel_factor for i in idx],
                       self.n_in, dt=self.dt, T=self.steps)
        return x, spikes.labels[idx].astype(np.int64)

    def sample(self, batch: int, rng):
        """A training batch: ``batch`` samples of ``data`` drawn with replacement."""
        batch = _check_batch(batch)
        train, _ = self._split()
        return self._batch(_shd_file("data", self.data, self.n_classes), train[rng.integers(0, train.size, batch)])

    def sample_eval(self, batch: int, rng):
        """An evaluation batch: the first ``batch`` of the held-out samples in an ``rng`` order
        (all of them when ``batch`` is larger), from ``test_data`` when given."""
        batch = _check_batch(batch)
        _, held = self._split()
        if held is None:
            spikes = _shd_file("test_data", self.test_data, self.n_classes)
            held = np.arange(len(spikes.labels))
        else:
            spikes = _shd_file("data", self.data, self.n_classes)
        return self._batch(spikes, rng.permutation(held)[:batch])


TASKS = {"pattern": PatternGeneration, "evidence": EvidenceAccumulation, "store_recall": StoreRecall,
         "spike_pattern": SpikePatternClassification, "shd": SHDClassification}


def make_task(name: str, **kw):
    """A task by its short name: pattern, evidence, store_recall, spike_pattern, shd."""
    if name not in TASKS:
        raise ParameterError(f"task must be one of {', '.join(map(repr, TASKS))}, got {name!r}")
    return TASKS[name](**kw)
