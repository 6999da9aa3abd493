"""Data -> spikes, and spikes -> numbers: encoders and decoders for spiking networks.

Inputs are intensities ``x`` in [0, 1] of shape (n,) or (batch, n); encoders return arrays of
shape (T, n) or (batch, T, n) (time on the axis before the features), float64:

``rate``     Bernoulli: s_t ~ Bernoulli(gain * x) independently per step (0/1; gain * x <= 1);
             Poisson: s_t ~ Poisson(gain * x), a spike count per step with mean gain * x
             (the discrete-time Poisson process of rate gain * x per step).
``latency``  time to first spike (TTFS): one spike per input, earlier for larger values;
             ``"linear"``: t = round((1 - x) * (T - 1)); ``"log"``: t = round((T - 1) * ln(x) / ln(x_min)),
             so x = 1 fires at step 0 and x = x_min at step T - 1 (log spreads the small values).
             Inputs <= ``threshold`` (and, for log, < x_min) do not fire.
``delta``    send-on-delta for temporal signals (batch, T, n) or (T, n): an ON spike when the
             signal has risen by ``threshold`` since the neuron's last event (or the first
             sample), an OFF spike when it has fallen by it; the reference moves to the
             current value at each event. Output (.., T, 2n): ON channels, then OFF.

Decoders: :func:`spike_count` (sum over time) and :func:`first_spike_time` (step of the first
spike, ``inf`` when silent). Random encoders take ``seed`` (an int or a NumPy Generator).
One encoded sample is drawn by :func:`analysis.spike_array_raster`.
"""
from __future__ import annotations

import math

import numpy as np

from plasticity.errors import ParameterError, check_choice, check_finite, check_int, check_positive


def _intensities(x) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim not in (1, 2) or x.size == 0:
        raise ParameterError(f"x must have shape (n,) or (batch, n), got {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ParameterError("x must hold finite intensities in [0, 1], got NaN or inf")
    if x.min() < 0.0 or x.max() > 1.0:
        raise ParameterError(f"x must hold intensities in [0, 1], got values in [{x.min()}, {x.max()}]")
    return x


def _time_axis(a: np.ndarray) -> int:
    return a.ndim - 2  # (T, n) or (batch, T, n)


def rate(x, T: int, *, kind: str = "bernoulli", gain: float = 1.0, seed=None) -> np.ndarray:
    """Rate code of ``x`` over ``T`` steps (see the module docstring); ``gain`` in spikes per step."""
    x = _intensities(x)
    T = check_int("T", T, 1)
    check_choice("kind", kind, ("bernoulli", "poisson"))
    gain = check_positive("gain", gain, "spikes per step")
    p = gain * x
    if kind == "bernoulli" and p.max() > 1.0:
        raise ParameterError(f"gain * x must be <= 1 for Bernoulli rate coding, got gain {gain} (max {p.max()})")
    rng = np.random.default_rng(seed)
    shape = p.shape[:-1] + (T, p.shape[-1])
    p = np.expand_dims(p, -2)
    if kind == "bernoulli":
        return (rng.random(shape) < p).astype(np.float64)
    return rng.poisson(np.broadcast_to(p, shape)).astype(np.float64)


def latency_steps(x, T: int, *, kind: str = "linear", threshold: float = 0.0, x_min: float = 0.01) -> np.ndarray:
    """The spike step of each input under :func:`latency`, ``-1`` where the input is silent."""
    x = _intensities(x)
    T = check_int("T", T, 1)
    check_choice("kind", kind, ("linear", "log"))
    threshold = check_finite("threshold", threshold)
    if not 0.0 <= threshold < 1.0:
        raise ParameterError(f"threshold must be in [0, 1), got {threshold!r}")
    x_min = check_positive("x_min", x_min)
    if x_min >= 1.0:
        raise ParameterError(f"x_min must be in (0, 1), got {x_min!r}")
    fires = x > threshold
    if kind == "linear":
        t = np.rint((1.0 - x) * (T - 1))
    else:
        fires &= x >= x_min
        t = np.rint((T - 1) * np.log(np.maximum(x, x_min)) / math.log(x_min))
    return np.where(fires, t, -1).astype(np.int64)


def latency(x, T: int, *, kind: str = "linear", threshold: float = 0.0, x_min: float = 0.01) -> np.ndarray:
    """Time-to-first-spike code of ``x`` over ``T`` steps: one spike per firing input."""
    steps = latency_steps(x, T, kind=kind, threshold=threshold, x_min=x_min)
    out = np.zeros(steps.shape[:-1] + (T, steps.shape[-1]))
    idx = np.nonzero(steps >= 0)
    if steps.ndim == 1:
        out[steps[idx], idx[0]] = 1.0
    else:
        out[idx[0], steps[idx], idx[1]] = 1.0
    return out


def delta(signal, *, threshold: float) -> np.ndarray:
    """Send-on-delta ON/OFF spikes of ``signal`` (T, n) or (batch, T, n), ``threshold`` in the
    signal's unit; output (.., T, 2n) with the ON channels first."""
    sig = np.asarray(signal, dtype=np.float64)
    if sig.ndim not in (2, 3) or sig.shape[-2] < 1 or sig.shape[-1] < 1:
        raise ParameterError(f"signal must have shape (T, n) or (batch, T, n), got {sig.shape}")
    if not np.all(np.isfinite(sig)):
        raise ParameterError("signal must be finite, got NaN or inf")
    threshold = check_positive("threshold", threshold)
    axis = _time_axis(sig)
    sig = np.moveaxis(sig, axis, 0)
    ref = sig[0].copy()
    on, off = np.zeros_like(sig), np.zeros_like(sig)
    for t in range(1, sig.shape[0]):
        up = sig[t] - ref >= threshold
        down = ref - sig[t] >= threshold
        on[t], off[t] = up, down
        ref = np.where(up | down, sig[t], ref)
    return np.moveaxis(np.concatenate([on, off], axis=-1), 0, axis)


def _spikes(spikes) -> np.ndarray:
    s = np.asarray(spikes, dtype=np.float64)
    if s.ndim not in (2, 3):
        raise ParameterError(f"spikes must have shape (T, n) or (batch, T, n), got {s.shape}")
    if not np.all(np.isfinite(s)) or (s.size and s.min() < 0):
        raise ParameterError("spikes must be finite counts >= 0")
    return s


def spike_count(spikes) -> np.ndarray:
    """Spikes per neuron summed over time: (T, n) -> (n,), (batch, T, n) -> (batch, n)."""
    s = _spikes(spikes)
    return s.sum(axis=_time_axis(s))


def first_spike_time(spikes) -> np.ndarray:
    """Step of each neuron's first spike (float), ``inf`` for a neuron that never fires."""
    s = _spikes(spikes)
    axis = _time_axis(s)
    fired = s > 0
    first = np.argmax(fired, axis=axis).astype(np.float64)
    return np.where(fired.any(axis=axis), first, np.inf)
