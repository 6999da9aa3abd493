"""Neuron groups of the native simulator: LIF (current- or conductance-based) and sources.

LIF membrane (ms, mV), Song, Miller & Abbott 2000 / Brian2 conventions:

* ``synapses="current"``: exponential synaptic currents (pA) with exact integration
  (Rotter & Diesmann 1999, Biol Cybern 81:381)::

      tau_m dv/dt = e_leak - v + R (I_e + I_i + i_ext),   R = tau_m / c_m  (GOhm)
      tau_e dI_e/dt = -I_e,   tau_i dI_i/dt = -I_i

* ``synapses="conductance"``: exponential conductances measured in units of the leak
  conductance (dimensionless, as in Song et al. 2000 and the Brian2 STDP example)::

      tau_m dv/dt = e_leak - v + g_e (e_e - v) + g_i (e_i - v) + R i_ext
      tau_e dg_e/dt = -g_e,   tau_i dg_i/dt = -g_i

  integrated with the exponential-Euler step (exact for the conductances held at their
  value at the start of the step, Brian2's ``exponential_euler``).

Spike when v > v_th; then v = v_reset and the neuron is refractory for ``t_ref`` ms (no
integration, no spike) — Brian2's ``(unless refractory)`` semantics.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from plasticity.errors import (ParameterError, check_choice, check_finite, check_int,
                               check_non_negative, check_positive)


@dataclass(frozen=True)
class LIF:
    """A group of ``n`` leaky integrate-and-fire neurons (see the module docstring)."""

    n: int
    synapses: str = "current"
    tau_m: float = 20.0      # ms
    c_m: float = 250.0       # pF
    e_leak: float = -70.0    # mV
    v_th: float = -50.0      # mV
    v_reset: float = -70.0   # mV
    t_ref: float = 0.0       # ms
    tau_e: float = 5.0       # ms
    tau_i: float = 5.0       # ms
    e_e: float = 0.0         # mV, conductance mode only
    e_i: float = -80.0       # mV, conductance mode only
    i_ext: float = 0.0       # pA, constant bias current
    v_init: float | None = None  # mV, default e_leak

    def __post_init__(self):
        check_int("n", self.n, 1)
        check_choice("synapses", self.synapses, ("current", "conductance"))
        for name in ("tau_m", "c_m", "tau_e", "tau_i"):
            check_positive(name, getattr(self, name), "pF" if name == "c_m" else "ms")
        check_non_negative("t_ref", self.t_ref, "ms")
        for name in ("e_leak", "v_th", "v_reset", "e_e", "e_i", "i_ext"):
            check_finite(name, getattr(self, name))
        if self.v_reset >= self.v_th:
            raise ParameterError(f"v_reset must be < v_th ({self.v_th} mV), got {self.v_reset}")
        if self.v_init is not None:
            check_finite("v_init", self.v_init, "mV")

    @property
    def smallest_tau(self) -> float:
        return min(self.tau_m, self.tau_e, self.tau_i)

    @property
    def initial_v(self) -> float:
        return self.e_leak if self.v_init is None else float(self.v_init)


@dataclass(frozen=True)
class PoissonGroup:
    """``n`` independent Poisson spike sources with rate ``rate`` (Hz, scalar or one per neuron).

    Spike times are drawn as exponential intervals (continuous time) and emitted in the
    time step that contains them; a second spike of a neuron in the same step is dropped
    (it matters only when rate * dt approaches 1).
    """

    n: int
    rate: float | np.ndarray = 10.0

    def __post_init__(self):
        check_int("n", self.n, 1)
        rates = np.broadcast_to(np.asarray(self.rate, dtype=float), (self.n,)) \
            if np.ndim(self.rate) == 0 or np.size(self.rate) == self.n else None
        if rates is None:
            raise ParameterError(f"rate must be a scalar or have n = {self.n} entries, got {np.size(self.rate)}")
        if not np.all(np.isfinite(rates)) or np.any(rates < 0):
            raise ParameterError(f"rate must be finite and >= 0 Hz, got min {np.min(rates)!r}")

    @property
    def rates(self) -> np.ndarray:
        """Rate of each neuron (Hz)."""
        return np.broadcast_to(np.asarray(self.rate, dtype=float), (self.n,)).copy()

    smallest_tau = np.inf


@dataclass(frozen=True)
class SpikeGeneratorGroup:
    """``n`` sources that spike at given times: ``times`` is one sorted array (ms) per neuron.

    Times are moved to their time step as Brian2 does (floor(t/dt + 1e-3)); two spikes of
    one neuron in the same step are an error.
    """

    n: int
    times: tuple = field(default=())

    def __post_init__(self):
        check_int("n", self.n, 1)
        if len(self.times) != self.n:
            raise ParameterError(f"times must have one array per neuron (n = {self.n}), got {len(self.times)}")
        for k, t in enumerate(self.times):
            t = np.asarray(t, dtype=float)
            label = f"times[{k}]"
            if t.ndim != 1 or not np.all(np.isfinite(t)):
                raise ParameterError(f"{label} must be a 1-D array of finite spike times (ms)")
            if t.size and t.min() < 0:
                raise ParameterError(f"{label} must contain spike times >= 0 ms, got {t.min()!r}")
            if np.any(np.diff(t) <= 0):
                raise ParameterError(f"{label} must be sorted in increasing order without repeats")

    @classmethod
    def from_trains(cls, trains) -> "SpikeGeneratorGroup":
        """One neuron per spike train (sequence of arrays of times in ms)."""
        return cls(len(trains), tuple(np.asarray(t, dtype=float) for t in trains))

    smallest_tau = np.inf
