"""Network-wide third factors: a neuromodulator concentration and what releases it.

A :class:`Modulator` is a concentration (dopamine in µM in Izhikevich 2007) that decays
exactly, level <- level * exp(-dt/tau_d), and jumps by the amount of each release. Releases
come from a schedule (``times`` ms, ``amounts``) and from critics, small detectors that run
inside the loop: :class:`PairingReward` releases ``amount`` after a random delay whenever a
chosen presynaptic neuron fires and a chosen postsynaptic neuron fires within ``window`` ms
after it (the distal-reward protocol of Izhikevich 2007, Cereb Cortex 17:2443).

Rules read the modulator through the rule contract (``net.modulators.release`` and
``.level``): :class:`plasticity.DopamineSTDP` brings its synapses up to date at every
release (its exact closed form, :mod:`plasticity.modulated`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from plasticity.errors import ParameterError, check_int, check_non_negative, check_positive


@dataclass(frozen=True)
class PairingReward:
    """Release ``amount`` at t + U(delay_min, delay_max) (rounded to the step) whenever neuron
    ``post`` (of group ``post_group``) fires at t with 0 < t - t_pre <= ``window`` (ms), t_pre
    the last spike of neuron ``pre`` of ``pre_group`` (emission time)."""

    pre_group: object
    pre: int
    post_group: object
    post: int
    window: float = 10.0
    delay_min: float = 1000.0
    delay_max: float = 3000.0
    amount: float = 0.5

    def __post_init__(self):
        check_int("pre", self.pre, 0)
        check_int("post", self.post, 0)
        if self.pre >= self.pre_group.n:
            raise ParameterError(f"pre must be < pre_group.n = {self.pre_group.n}, got {self.pre}")
        if self.post >= self.post_group.n:
            raise ParameterError(f"post must be < post_group.n = {self.post_group.n}, got {self.post}")
        check_positive("window", self.window, "ms")
        check_non_negative("delay_min", self.delay_min, "ms")
        if check_non_negative("delay_max", self.delay_max, "ms") < self.delay_min:
            raise ParameterError(f"delay_max must be >= delay_min ({self.delay_min} ms), got {self.delay_max}")
        check_non_negative("amount", self.amount)


@dataclass(frozen=True, eq=False)
class Modulator:
    """A concentration with decay time ``tau_d`` (ms), released by a schedule and critics.

    ``times`` (ms, sorted) and ``amounts`` (same length, or one number for all) give
    scheduled releases; ``critics`` is a tuple of :class:`PairingReward`. After a run,
    ``Network.modulator_releases(mod)`` returns the (times, amounts) of every release.
    """

    tau_d: float = 200.0
    times: tuple = ()
    amounts: object = 1.0
    critics: tuple = ()

    def __post_init__(self):
        check_positive("tau_d", self.tau_d, "ms")
        t = np.asarray(self.times, dtype=float).ravel()
        if not np.all(np.isfinite(t)) or (t.size and (t.min() < 0 or np.any(np.diff(t) < 0))):
            raise ParameterError("times must be finite, >= 0 ms and sorted")
        a = np.asarray(self.amounts, dtype=float)
        if a.ndim != 0 and a.shape != t.shape:
            raise ParameterError(f"amounts must be one number or one per time ({t.size}), got shape {a.shape}")
        if not np.all(np.isfinite(a)):
            raise ParameterError("amounts must be finite")
        for c in self.critics:
            if not isinstance(c, PairingReward):
                raise ParameterError(f"critics must be PairingReward instances, got {type(c).__name__}")

    n = 0                      # not a neuron group: it has no spikes
    smallest_tau = np.inf

    def schedule(self):
        """(times ms, amounts) of the scheduled releases."""
        t = np.asarray(self.times, dtype=float).ravel()
        return t, np.broadcast_to(np.asarray(self.amounts, dtype=float), t.shape).copy()
