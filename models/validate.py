"""Checks of a group, a seed or a rule against the network that uses them (issue 13 items 5, C).

What a dataclass cannot check by itself because it needs the network's dt lives here:

* :func:`check_group_dt`: the dt warning of :func:`plasticity.errors.check_dt` for the
  group's smallest time constant; for a :class:`PoissonGroup`, the rate a source really
  delivers when at most one spike per step is emitted (rate * dt not small); for an
  :class:`AdEx` group, forward Euler of the adaptation current needs dt < 2 tau_w (refused
  beyond, warned above tau_w / 5).
* :func:`check_seed`: a network seed, named.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from plasticity.errors import ParameterError, check_dt

#: Warn when a Poisson source loses more than this fraction of its spikes to the one-per-step limit.
POISSON_LOSS_WARN = 0.02
#: AdEx: forward Euler of w is unstable for dt >= 2 tau_w; warn from dt > tau_w / 5.
ADEX_TAU_W_REFUSE, ADEX_TAU_W_WARN = 2.0, 0.2


def delivered_rate(rate_hz, dt_ms):
    """The mean rate (Hz) of a Poisson source of ``rate_hz`` that emits at most one spike per
    step of ``dt_ms``: the probability of at least one spike in a step, per step,
    (1 - exp(-rate dt)) / dt."""
    p = -np.expm1(-np.asarray(rate_hz, dtype=float) * dt_ms * 1e-3)
    return p / (dt_ms * 1e-3)


def check_group_dt(group, dt: float) -> None:
    """Warn (or refuse) what ``dt`` (ms) does to ``group`` (see the module docstring)."""
    from .neurons import AdEx, PoissonGroup

    check_dt(dt, getattr(group, "smallest_tau", math.inf))
    if isinstance(group, PoissonGroup):
        rates = group.rates
        top = float(rates.max(initial=0.0))
        if top > 0.0:
            got = float(delivered_rate(top, dt))
            if 1.0 - got / top > POISSON_LOSS_WARN:
                warnings.warn(f"PoissonGroup rate {top:g} Hz at dt = {dt:g} ms: rate * dt = {top * dt * 1e-3:.3g}, "
                              f"and at most one spike per step is emitted, so it delivers {got:.4g} Hz "
                              f"({100 * (1 - got / top):.0f}% fewer spikes); use dt <= "
                              f"{_dt_for_loss(top, POISSON_LOSS_WARN):.3g} ms for a loss below "
                              f"{100 * POISSON_LOSS_WARN:.0f}%", stacklevel=3)
    if isinstance(group, AdEx):
        tau_w = group.neuron.tau_w
        if dt >= ADEX_TAU_W_REFUSE * tau_w:
            raise ParameterError(f"neuron.tau_w must be > dt / 2 = {dt / 2:g} ms for an AdEx group (forward Euler "
                                 f"of the adaptation current is unstable and gives NaN), got {tau_w:g}")
        if dt > ADEX_TAU_W_WARN * tau_w:
            warnings.warn(f"AdEx tau_w = {tau_w:g} ms is only {tau_w / dt:.2g} steps of dt = {dt:g} ms: the "
                          f"adaptation current's forward-Euler step is inaccurate (unstable from "
                          f"tau_w < dt / 2); use dt <= {ADEX_TAU_W_WARN * tau_w:g} ms", stacklevel=3)


def _dt_for_loss(rate_hz: float, loss: float) -> float:
    """The largest dt (ms) at which a source of ``rate_hz`` loses ``loss`` of its spikes
    (1 - (1 - e^-x)/x = loss, solved for x = rate dt by bisection)."""
    lo, hi = 0.0, 10.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if 1.0 + math.expm1(-mid) / mid > loss if mid > 0 else False:
            hi = mid
        else:
            lo = mid
    return lo / (rate_hz * 1e-3)


def check_seed(seed, name: str = "seed") -> int | None:
    """A network seed: None or an integer in [0, 2**63)."""
    if seed is None:
        return None
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2 ** 63:
        raise ParameterError(f"{name} must be None or an integer in [0, 2**63), got {seed!r}")
    return int(seed)
