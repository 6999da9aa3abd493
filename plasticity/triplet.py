"""Pfister & Gerstner (2006) triplet STDP rule, all-to-all and nearest-spike.

J Neurosci 26:9673-9682, eq. 3-4: with presynaptic traces r1 (tau_plus), r2 (tau_x) and
postsynaptic traces o1 (tau_minus), o2 (tau_y),

    at a presynaptic spike:   w -= o1 * (a2_minus + a3_minus * r2(t-))
    at a postsynaptic spike:  w += r1 * (a2_plus + a3_plus * o2(t-))

"all_to_all" traces accumulate (+1 per spike); "nearest" traces saturate at 1 (reset to 1).
The rule runs on the shared kernels of :mod:`plasticity.stdp` (additive, hard bounds).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import ParameterError, check_order, param, validate
from .stdp import FAMILY as _FAMILY, pack_params, w_bound

# Tables 3 and 4 of Pfister & Gerstner 2006 (tau_plus = 16.8 ms, tau_minus = 33.7 ms for all).
# Keys: (region, scheme, variant). tau_x = None where the model has no r2 term (a3_minus = 0).
# Checked against a second public source except ("visual_cortex", "nearest", "full"),
# which is as commonly quoted (see PAPER_SETS_VERIFIED).
PAPER_SETS = {
    ("visual_cortex", "all_to_all", "full"):
        dict(a2_plus=5e-10, a3_plus=6.2e-3, a2_minus=7e-3, a3_minus=2.3e-4, tau_x=101.0, tau_y=125.0),
    ("visual_cortex", "all_to_all", "minimal"):
        dict(a2_plus=0.0, a3_plus=6.5e-3, a2_minus=7.1e-3, a3_minus=0.0, tau_x=None, tau_y=114.0),
    ("visual_cortex", "nearest", "full"):
        dict(a2_plus=8.8e-11, a3_plus=5.3e-2, a2_minus=6.6e-3, a3_minus=3.1e-3, tau_x=714.0, tau_y=40.0),
    ("hippocampal", "all_to_all", "full"):
        dict(a2_plus=6.1e-3, a3_plus=6.7e-3, a2_minus=1.6e-3, a3_minus=1.4e-3, tau_x=946.0, tau_y=27.0),
    ("hippocampal", "all_to_all", "minimal"):
        dict(a2_plus=5.3e-3, a3_plus=8e-3, a2_minus=3.5e-3, a3_minus=0.0, tau_x=None, tau_y=40.0),
    ("hippocampal", "nearest", "full"):
        dict(a2_plus=4.6e-3, a3_plus=9.1e-3, a2_minus=3e-3, a3_minus=7.5e-9, tau_x=575.0, tau_y=47.0),
}
PAPER_SETS_VERIFIED = {key: key != ("visual_cortex", "nearest", "full") for key in PAPER_SETS}
PAPER_TAU_PLUS, PAPER_TAU_MINUS = 16.8, 33.7
TRIPLET_SCHEMES = ("all_to_all", "nearest")


@dataclass(frozen=True)
class TripletSTDP:
    """Triplet STDP (Pfister & Gerstner 2006). Time constants in ms, amplitudes in weight units.

    Weight units are the projection's (conductance synapses: multiples of the target's leak
    conductance g_L; current: pA; delta: mV). The published sets are relative changes for
    w0 = 1: on a weight scale w_max multiply the four amplitudes by w_max
    (docs/your-own-network.md).

    ``tau_x`` is the presynaptic triplet trace (unused when ``a3_minus`` = 0), ``tau_y`` the
    postsynaptic one. Defaults: the visual-cortex all-to-all full set (= NEST 3.10
    ``stdp_triplet_synapse`` defaults). Weights are clipped to [w_min, w_max].
    """

    tau_plus: float = param(PAPER_TAU_PLUS, unit="ms", gt=0, doc="time constant of the presynaptic trace r1 (potentiation branch)")
    tau_minus: float = param(PAPER_TAU_MINUS, unit="ms", gt=0, doc="time constant of the postsynaptic trace o1 (depression branch)")
    tau_x: float = param(101.0, unit="ms", gt=0, doc="time constant of the presynaptic triplet trace r2")
    tau_y: float = param(125.0, unit="ms", gt=0, doc="time constant of the postsynaptic triplet trace o2")
    a2_plus: float = param(5e-10, unit="weight", ge=0, doc="pair potentiation amplitude")
    a3_plus: float = param(6.2e-3, unit="weight", ge=0, doc="triplet potentiation amplitude (post-pre-post)")
    a2_minus: float = param(7e-3, unit="weight", ge=0, doc="pair depression amplitude")
    a3_minus: float = param(2.3e-4, unit="weight", ge=0, doc="triplet depression amplitude (pre-post-pre)")
    w_min: float = w_bound(0.0, "lower")
    w_max: float = w_bound(1.0, "upper")
    scheme: str = param("all_to_all", "str", choices=TRIPLET_SCHEMES, doc="which spike pairs interact (Morrison et al. 2008)")

    def __post_init__(self):
        validate(self)
        check_order("w_min", self.w_min, "w_max", self.w_max)

    @classmethod
    def from_paper(cls, region: str = "visual_cortex", scheme: str = "all_to_all",
                   variant: str = "full", **overrides) -> "TripletSTDP":
        """A published parameter set by name, e.g. ``from_paper("visual_cortex", "all_to_all", "minimal")``.

        ``overrides`` (e.g. ``w_max``) replace single fields of the set.
        """
        key = (region, scheme, variant)
        if key not in PAPER_SETS:
            allowed = ", ".join("/".join(k) for k in PAPER_SETS)
            raise ParameterError(f"no published triplet set {'/'.join(key)!r}; allowed: {allowed}")
        values = dict(PAPER_SETS[key])
        if values["tau_x"] is None:
            values["tau_x"] = PAPER_TAU_PLUS  # unused: a3_minus = 0
        values.update(scheme=scheme)
        values.update(overrides)
        return cls(**values)

    @property
    def smallest_tau(self) -> float:
        return min(self.tau_plus, self.tau_minus, self.tau_x, self.tau_y)

    def kernel_params(self) -> np.ndarray:
        return pack_params(a2_plus=self.a2_plus, a3_plus=self.a3_plus, a2_minus=self.a2_minus,
                           a3_minus=self.a3_minus, tau_plus=self.tau_plus, tau_x=self.tau_x,
                           tau_minus=self.tau_minus, tau_y=self.tau_y, w_min=self.w_min,
                           w_max=self.w_max, mu_plus=0.0, mu_minus=0.0,
                           scheme="nearest_symmetric" if self.scheme == "nearest" else "all_to_all")


TripletSTDP.family = _FAMILY  # runs in models.Network through the spike-timing kernel family
