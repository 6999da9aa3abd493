"""Exponential traces with exact decay and event-driven catch-up.

A trace x(t) jumps at its neuron's spikes and decays as dx/dt = -x/tau in between, so its
value at any later time is known exactly: x(t) = x(t_last) * exp(-(t - t_last)/tau)
(Morrison, Diesmann & Gerstner 2008, Biol Cybern 98:459, eq. 4). Traces are therefore stored
*as of the neuron's last spike* together with that spike time and read lazily, never decayed
step by step. Times in ms.

Two jump kinds cover every pairing scheme: ``accumulate`` (x -> x + 1: all-to-all
interactions) and ``reset`` (x -> 1: nearest-neighbour interactions).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

NEVER = -np.inf
"""Last-spike time of a neuron that has not spiked: its trace reads exactly 0."""


@njit(cache=True)
def trace_at(value: float, t_last: float, t: float, tau: float) -> float:
    """Value at time ``t`` (ms) of a trace equal to ``value`` at ``t_last`` (ms)."""
    if value == 0.0:
        return 0.0
    return value * math.exp(-(t - t_last) / tau)


@njit(cache=True)
def jump(value_now: float, reset: bool) -> float:
    """Trace value right after a spike: 1 for nearest schemes, value + 1 otherwise."""
    return 1.0 if reset else value_now + 1.0


@njit(cache=True)
def decay_traces(x, dt_since: float, tau: float) -> None:
    """Decay every entry of ``x`` in place by exp(-dt_since/tau) (clock-driven use)."""
    f = math.exp(-dt_since / tau)
    for i in range(x.size):
        x[i] *= f


def decay_traces_reference(x, dt_since, tau):
    """Twin of :func:`decay_traces`: the obvious NumPy, returns a new array."""
    return np.asarray(x) * np.exp(-dt_since / tau)


def trace_from_spikes_reference(spike_times, t, tau, reset=False):
    """Trace value at ``t`` from its whole spike history (spikes at times <= t count).

    The specification of :func:`trace_at` + :func:`jump`: the sum of exp(-(t - t_k)/tau) over
    past spikes (accumulate) or the last spike's term alone (reset).
    """
    past = np.asarray(spike_times, dtype=float)
    past = past[past <= t]
    if past.size == 0:
        return 0.0
    if reset:
        return float(np.exp(-(t - past[-1]) / tau))
    return float(np.sum(np.exp(-(t - past) / tau)))


def current_coupling(h: float, tau_m: float, tau_s: float, c_m: float) -> float:
    """Membrane response (mV) after one step h (ms) to 1 pA of exponential current (time
    constant tau_s, ms) present at the step's start, membrane tau_m (ms), capacitance c_m (pF):
    (1/c_m) * integral_0^h exp(-(h-u)/tau_m) exp(-u/tau_s) du (Rotter & Diesmann 1999,
    Biol Cybern 81:381). The exact propagator of current-based LIF synapses."""
    if abs(tau_m - tau_s) < 1e-12 * tau_m:
        return h / c_m * math.exp(-h / tau_m)
    return tau_m * tau_s * (math.exp(-h / tau_s) - math.exp(-h / tau_m)) / ((tau_s - tau_m) * c_m)
