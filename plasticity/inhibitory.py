"""Vogels-Sprekeler inhibitory STDP (Vogels, Sprekeler, Zenke, Clopath & Gerstner 2011).

Science 334:1569 (Fig. 1, eq. 1 of the supplement); NEST 3.10 ``vogels_sprekeler_synapse``.
Each synapse from an inhibitory neuron sees two traces with the same time constant tau,
x_pre and x_post (jump +1 at each spike, all-to-all):

    on a presynaptic spike:   w += eta * (x_post - alpha)
    on a postsynaptic spike:  w += eta * x_pre
    alpha = 2 * rho0 * tau    (rho0 in spikes/ms: 3 Hz, 20 ms -> alpha = 0.12)

The rule is symmetric in the spike-time difference (both orders potentiate) with a constant
depression per presynaptic spike. Averaged over Poisson spiking, dw/dt = eta * rho_pre *
2 * tau * (rho_post - rho0): inhibition grows while the postsynaptic rate is above rho0 and
shrinks below it, so the rate converges to rho0 (the target rate).

The rule is a member of the spike-timing kernel family of :mod:`plasticity.stdp` (so it runs
in :func:`plasticity.replay`, the native loop and Brian2 equations without new kernels):

    a2_plus = eta (potentiation branch, pre trace r1 with tau_plus = tau)
    a2_minus = -eta (the "depression" branch w -= a2_minus * o1 adds eta * x_post)
    a0_pre = -eta * alpha (constant term at every presynaptic spike)

with the all-to-all scheme, additive weights and one clip to [w_min, w_max] per event (the
pair term and the constant are summed first, as in the Brian2 example of the paper; NEST
clips between the two, which differs only when a bound is reached). Weights are in the units
of the projection they live on: in conductance mode, units of the leak conductance; the
weight must stay >= 0 (w_min = 0) since it is an inhibitory conductance.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import check_order, param, validate
from .stdp import FAMILY as _FAMILY, pack_params, w_bound


@dataclass(frozen=True)
class InhibitorySTDP:
    """Vogels-Sprekeler 2011 iSTDP.

    Parameters
    ----------
    tau : float
        Time constant of both traces (ms). Published: 20 ms (verified).
    eta : float
        Learning rate (> 0), weight units per unit trace. Published: 1e-3 (NEST default,
        verified), there in units of the synapse's weight.
    rho0_hz : float
        Target postsynaptic rate (Hz, > 0). Published: 3 Hz, so alpha = 2 * 0.003 * 20 = 0.12.
    w_min, w_max : float
        Hard bounds (weight units); w_min must be >= 0 (an inhibitory conductance).
    """

    tau: float = param(20.0, unit="ms", gt=0, doc="time constant of both traces (iSTDP)")
    eta: float = param(1e-3, unit="weight", gt=0, doc="learning rate: weight per unit trace")
    rho0_hz: float = param(3.0, unit="Hz", gt=0, doc="target postsynaptic rate; alpha = 2 rho0 tau")
    w_min: float = param(0.0, unit="weight", ge=0, doc="lower weight bound (>= 0: inhibitory weights are conductances)")
    w_max: float = w_bound(1.0, "upper")

    def __post_init__(self):
        validate(self)
        check_order("w_min", self.w_min, "w_max", self.w_max)

    @property
    def alpha(self) -> float:
        """Depression offset alpha = 2 * rho0 * tau (dimensionless; rho0 in 1/ms)."""
        return 2.0 * self.rho0_hz * 1e-3 * self.tau

    @property
    def smallest_tau(self) -> float:
        return self.tau

    def kernel_params(self) -> np.ndarray:
        return pack_params(a2_plus=self.eta, a3_plus=0.0, a2_minus=-self.eta, a3_minus=0.0,
                           tau_plus=self.tau, tau_x=self.tau, tau_minus=self.tau, tau_y=self.tau,
                           w_min=self.w_min, w_max=self.w_max, mu_plus=0.0, mu_minus=0.0,
                           scheme="all_to_all", a0_pre=-self.eta * self.alpha)


def mean_drift(rule: InhibitorySTDP, rate_pre_hz: float, rate_post_hz: float) -> float:
    """Expected dw/dt (weight units per second) for independent Poisson pre and post spikes.

    Each pre spike adds eta * (E[x_post] - alpha) with E[x_post] = rho_post * tau, each post
    spike adds eta * E[x_pre] = eta * rho_pre * tau, so
    dw/dt = eta * rho_pre * (2 * rho_post * tau - alpha) = 2 eta tau rho_pre (rho_post - rho0)
    (rates in 1/ms inside, the result per second).
    """
    r_pre, r_post = rate_pre_hz * 1e-3, rate_post_hz * 1e-3
    per_ms = rule.eta * r_pre * (2.0 * r_post * rule.tau - rule.alpha)
    return 1e3 * per_ms


InhibitorySTDP.family = _FAMILY  # runs in models.Network through the spike-timing kernel family
