"""Energy estimate: synaptic operations of a spiking network vs the MACs of a rate network.

An **estimate**, not a measurement. A spike costs one accumulate (AC) per outgoing synapse
(``synaptic operations = spikes x fan-out``); the equivalent dense rate (ANN) network costs
one multiply-accumulate (MAC) per weight per time step. Per-operation energies are the 45 nm,
0.9 V figures of Horowitz (ISSCC 2014) as commonly used in SNN papers: AC = fp32 add,
0.9 pJ; MAC = fp32 multiply-add, 4.6 pJ. They come from the package's reference data
(:mod:`analysis.reference`, entry ``energy_45nm``), which marks them
``verified: false`` (quoted, not checked against two sources); reports say so. Memory
access, which dominates real hardware, is ignored.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from plasticity.errors import ParameterError, check_non_negative

from .reference import load

_FALLBACK = {"source": "Horowitz (2014) ISSCC, 45 nm, 0.9 V",
             "pj_per_op": {"fp32_add": 0.9, "fp32_mac": 4.6}, "verified": False}


def energy_figures() -> dict:
    """The ``energy_45nm`` reference entry: ``{"source", "pj_per_op": {...}, "verified"}``."""
    try:
        return load("energy_45nm")
    except (OSError, KeyError, ValueError):
        return dict(_FALLBACK)


@dataclass(frozen=True)
class EnergyEstimate:
    """Synaptic operations and energies (pJ) of a spiking run and its dense equivalent."""

    synaptic_ops: float       # accumulates: sum over spikes of the spiking neuron's fan-out
    dense_macs: float         # multiply-accumulates of the equivalent dense rate network
    ac_pj: float              # energy per accumulate (pJ)
    mac_pj: float             # energy per multiply-accumulate (pJ)
    source: str
    verified: bool = False

    @property
    def snn_pj(self) -> float:
        return self.synaptic_ops * self.ac_pj

    @property
    def dense_pj(self) -> float:
        return self.dense_macs * self.mac_pj

    @property
    def ratio(self) -> float:
        """dense energy / spiking energy (> 1: the spiking network is estimated cheaper)."""
        return self.dense_pj / self.snn_pj if self.snn_pj > 0 else float("inf")

    def __str__(self) -> str:
        flag = "" if self.verified else ", figures not independently verified"
        return (f"energy ESTIMATE (45 nm: AC {self.ac_pj:g} pJ, MAC {self.mac_pj:g} pJ{flag}): "
                f"{self.synaptic_ops:.4g} synaptic ops = {self.snn_pj / 1e6:.4g} uJ vs "
                f"{self.dense_macs:.4g} dense MACs = {self.dense_pj / 1e6:.4g} uJ "
                f"(ratio {self.ratio:.3g}); source: {self.source}")


def synaptic_operations(spike_counts, fan_out) -> float:
    """``sum_j spike_counts[j] * fan_out[j]``: one accumulate per spike per outgoing synapse.

    ``fan_out`` is an array of the same shape, or a scalar for a uniform fan-out.
    """
    counts = np.asarray(spike_counts, dtype=float)
    fan = np.broadcast_to(np.asarray(fan_out, dtype=float), counts.shape) if np.ndim(fan_out) == 0 \
        else np.asarray(fan_out, dtype=float)
    if fan.shape != counts.shape:
        raise ParameterError(f"fan_out must be a scalar or match spike_counts' shape {counts.shape}, "
                             f"got {fan.shape}")
    if np.any(counts < 0) or np.any(fan < 0) or not (np.all(np.isfinite(counts)) and np.all(np.isfinite(fan))):
        raise ParameterError("spike_counts and fan_out must be finite and >= 0")
    return float(np.sum(counts * fan))


def dense_macs(weight_shapes, n_steps: int) -> float:
    """MACs of a dense rate network: ``n_steps * sum(n_post * n_pre)`` over its weight matrices.

    ``weight_shapes`` is a list of ``(n_post, n_pre)`` shapes (or the weight arrays
    themselves); each matrix costs one MAC per entry per time step.
    """
    if isinstance(n_steps, bool) or not isinstance(n_steps, (int, np.integer)) or n_steps < 0:
        raise ParameterError(f"n_steps must be an integer >= 0, got {n_steps!r}")
    total = 0
    for shape in weight_shapes:
        shape = np.shape(shape) if isinstance(shape, np.ndarray) else tuple(shape)
        if len(shape) != 2 or min(shape) < 0:
            raise ParameterError(f"weight shapes must be (n_post, n_pre), got {shape}")
        total += int(shape[0]) * int(shape[1])
    return float(total * n_steps)


def energy_estimate(synaptic_ops: float, dense_mac_count: float, ac_pj: float | None = None,
                    mac_pj: float | None = None) -> EnergyEstimate:
    """:class:`EnergyEstimate` from operation counts; per-op energies default to the 45 nm
    reference figures (fp32 add for AC, fp32 MAC for MAC)."""
    figures = energy_figures()
    per_op = figures["pj_per_op"]
    custom = ac_pj is not None or mac_pj is not None
    ac = check_non_negative("ac_pj", per_op["fp32_add"] if ac_pj is None else ac_pj, "pJ")
    mac = check_non_negative("mac_pj", per_op["fp32_mac"] if mac_pj is None else mac_pj, "pJ")
    return EnergyEstimate(check_non_negative("synaptic_ops", synaptic_ops),
                          check_non_negative("dense_mac_count", dense_mac_count), ac, mac,
                          "user-given figures" if custom else figures["source"],
                          False if custom else bool(figures.get("verified", False)))
