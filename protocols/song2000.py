"""Song, Miller & Abbott 2000: competitive Hebbian learning through STDP, bimodal weights.

1000 Poisson inputs onto one conductance-based LIF with additive pair STDP (A-/A+ = 1.05,
τ± = 20 ms), weights bounded in [0, g_max] (Song, Miller & Abbott 2000, Nat Neurosci
3:919; parameters of the Brian2 documentation example that reproduces it, as recorded in
shared/reference). After ~100 s of biological time the weights split into two groups near 0
and near g_max, and the output rate is regulated: it settles at a value that depends little
on the input rate.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

import models
from analysis.weights import bimodality
from plasticity import PairSTDP
from plasticity.errors import ParameterError, check_int, check_positive

from .common import check_backend, check_target, timed


@dataclass(frozen=True)
class Config:
    """Song 2000 workload. ms, mV, Hz; conductances in units of the leak conductance."""

    n_inputs: int = 1000
    rate_hz: float = 15.0           # input rate; with rate_spread > 0, rates uniform in rate_hz ± rate_spread
    rate_spread_hz: float = 0.0
    duration_ms: float = 100_000.0
    dt: float = 0.1
    g_max: float = 0.01
    a_plus_over_gmax: float = 0.01
    a_minus_over_a_plus: float = 1.05
    tau_plus: float = 20.0
    tau_minus: float = 20.0
    tau_m: float = 10.0
    tau_e: float = 5.0
    e_leak: float = -74.0
    e_e: float = 0.0
    v_th: float = -54.0
    v_reset: float = -60.0
    record_every_ms: float = 1000.0
    seed: int = 0
    target: str = "numpy"           # Brian2 target with backend="brian2"

    def __post_init__(self):
        check_int("n_inputs", self.n_inputs, 1)
        for name in ("rate_hz", "duration_ms", "dt", "g_max", "record_every_ms"):
            check_positive(name, getattr(self, name), "ms" if "ms" in name or name == "dt" else "")
        if not 0.0 <= self.rate_spread_hz < self.rate_hz:
            raise ParameterError(f"rate_spread_hz must be in [0, rate_hz = {self.rate_hz}), got {self.rate_spread_hz}")
        check_int("seed", self.seed, 0)
        check_target(self.target)
        self.rule()
        self.neuron()

    @classmethod
    def small(cls) -> "Config":
        """30 s of biological time: enough for the weights to start splitting."""
        return cls(duration_ms=30_000.0, record_every_ms=500.0)

    def rule(self) -> PairSTDP:
        a_plus = self.a_plus_over_gmax * self.g_max
        return PairSTDP(tau_plus=self.tau_plus, tau_minus=self.tau_minus, a_plus=a_plus,
                        a_minus=self.a_minus_over_a_plus * a_plus, w_min=0.0, w_max=self.g_max)

    def neuron(self) -> models.LIF:
        return models.LIF(1, synapses="conductance", tau_m=self.tau_m, tau_e=self.tau_e, e_leak=self.e_leak,
                          e_e=self.e_e, v_th=self.v_th, v_reset=self.v_reset)

    def rates(self, rng) -> np.ndarray:
        if self.rate_spread_hz == 0:
            return np.full(self.n_inputs, self.rate_hz)
        return rng.uniform(self.rate_hz - self.rate_spread_hz, self.rate_hz + self.rate_spread_hz, self.n_inputs)


@dataclass(frozen=True)
class Result:
    config: Config
    rates_in: np.ndarray       # Hz per input
    w0: np.ndarray             # initial weights (n_inputs,), units of leak conductance
    w: np.ndarray              # final weights
    w_t: np.ndarray            # recording times (ms)
    w_traj: np.ndarray         # (n_times, n_inputs)
    out_t: np.ndarray          # output spike times (ms)
    in_i: np.ndarray           # input spikes of the last second: neuron, time (ms)
    in_t: np.ndarray
    provenance: dict = field(default_factory=dict)

    @property
    def output_rate_hz(self) -> np.ndarray:
        """Output rate in each recording interval (Hz)."""
        edges = np.unique(np.append(self.w_t, self.config.duration_ms))
        counts, _ = np.histogram(self.out_t, bins=edges)
        return counts / (np.diff(edges) / 1000.0)


def run(config: Config, backend: str = "native") -> Result:
    check_backend(backend)
    provenance: dict = {}
    with timed(provenance, backend, config.seed):
        rng = np.random.default_rng(config.seed)
        rates = config.rates(rng)
        w0 = rng.uniform(0.0, config.g_max, config.n_inputs)
        if backend == "native":
            out = _run_native(config, rates, w0)
        else:
            from .brian_backend import run_song

            out = run_song(config, rates, w0, config.target)
            provenance.update(target=config.target, simulation_s=out.pop("wall_s"))
        tail = out["in_t"] >= config.duration_ms - RASTER_MS
        provenance.update(out.pop("timing", {}))
    return Result(config, rates, w0, out["w"], out["w_t"], out["w_traj"], out["out_t"], out["in_i"][tail],
                  out["in_t"][tail], provenance)


def _run_native(config, rates, w0) -> dict:
    net = models.Network(dt=config.dt, seed=config.seed)
    inputs = net.add(models.PoissonGroup(config.n_inputs, rate=rates))
    cell = net.add(config.neuron())
    proj = net.connect(inputs, cell, weight=w0, receptor="excitatory", rule=config.rule())
    out = net.record_spikes(cell)
    inp = net.record_spikes(inputs)
    weights = net.record_weights(proj, every=config.record_every_ms)
    net.run(config.duration_ms)
    return dict(w=proj.w.copy(), w_t=weights.t, w_traj=weights.w, out_t=out.t, in_i=inp.i, in_t=inp.t,
                timing=dict(simulation_s=net.timing["run_s"], compile_s=net.timing["compile_s"]))


RASTER_MS = 1000.0  # the input raster keeps the last second


def plot(result: Result):
    from matplotlib.figure import Figure

    from analysis import plots

    c = result.config
    fig = Figure(figsize=(11, 7), layout="constrained")
    axes = fig.subplot_mosaic([["hist0", "hist1"], ["traj", "rate"], ["raster", "raster"]])
    plots.weight_histogram_plot(result.w0 / c.g_max, w_max=1.0, ax=axes["hist0"], bins=40)
    axes["hist0"].set_title("initial weights / g_max")
    plots.weight_histogram_plot(result.w / c.g_max, w_max=1.0, ax=axes["hist1"], bins=40)
    axes["hist1"].set_title(f"weights / g_max after {c.duration_ms / 1000:g} s")
    plots.weight_trajectories(result.w_t, result.w_traj / c.g_max, ax=axes["traj"], max_lines=40)
    axes["traj"].set_ylabel("w / g_max")
    plots.rate_plot(result.out_t, c.duration_ms, bin_ms=max(c.record_every_ms, 100.0), ax=axes["rate"],
                    label="output")
    axes["rate"].set_title("output rate")
    order = np.argsort(np.argsort(-result.w))  # inputs ranked by final weight, strongest at the bottom
    plots.raster(order[result.in_i], result.in_t, ax=axes["raster"])
    axes["raster"].plot(result.out_t[result.out_t >= c.duration_ms - RASTER_MS],
                        np.full(np.sum(result.out_t >= c.duration_ms - RASTER_MS), -15.0), "|", color="C3",
                        ms=8, label="output spikes")
    axes["raster"].set_ylabel("input (ranked by final weight)")
    axes["raster"].legend(loc="upper right", fontsize="small")
    return {"song2000": fig}


def summary(result: Result) -> str:
    c = result.config
    b = bimodality(result.w, c.g_max)
    rates = result.output_rate_hz
    first, last = rates[0], rates[-1]
    bimodal = b.frac_low + b.frac_high
    return "\n".join([
        f"Song 2000: {c.n_inputs} Poisson inputs at {c.rate_hz:g} Hz -> 1 conductance LIF, "
        f"additive STDP (A-/A+ = {c.a_minus_over_a_plus:g}), {c.duration_ms / 1000:g} s",
        f"  weights near 0 (< 0.1 g_max): {100 * b.frac_low:.0f}%, near g_max (> 0.9 g_max): "
        f"{100 * b.frac_high:.0f}%, in the two extremes together: {100 * bimodal:.0f}% "
        f"(initially 20%); bimodality coefficient {b.coefficient:.2f} (> 0.555 suggests bimodal)",
        f"  mean weight {result.w.mean() / c.g_max:.2f} g_max (initial {result.w0.mean() / c.g_max:.2f})",
        f"  output rate first interval {first:.1f} Hz, last interval {last:.1f} Hz",
    ])
