"""Song, Miller & Abbott 2000: competitive Hebbian learning through STDP, bimodal weights.

1000 Poisson inputs onto one conductance-based LIF with additive pair STDP (A-/A+ = 1.05,
τ± = 20 ms), weights bounded in [0, g_max] (Song, Miller & Abbott 2000, Nat Neurosci
3:919; parameters of the Brian2 documentation example that reproduces it, as recorded in
analysis/data/plasticity_data.json, "song2000"). After ~100 s of biological time the
weights split into two groups near 0 and near g_max, and the output rate is regulated: it
settles at a value that depends little on the input rate.

Additions (issue 6): ``sweep_rates_hz`` runs the network again at each input rate for
``sweep_duration_ms`` with STDP and with the initial weights frozen, and compares how the
output rate (over the last quarter of each run) grows with the input rate — the slope with
STDP over the slope with frozen weights is the regulation index (Song et al.: with STDP
the output rate is roughly insensitive to the input rate). ``correlated_fraction`` and
``correlation`` make the first ``round(correlated_fraction * n_inputs)`` inputs share a
common Poisson source: each copies every spike of a source train at ``rate_hz / c`` with
probability c (the multiple-interaction process of Kuhn, Aertsen & Rotter 2003: every input
keeps the rate ``rate_hz`` and two inputs of the group have spike-count correlation c, the
correlation coefficient Song et al. use; c = 0 gives independent inputs). Those trains are drawn in NumPy (seeded) and fed through a
``models.SpikeGeneratorGroup``; the correlated group should end with the stronger weights.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

import models
from analysis.weights import bimodality
from plasticity import PairSTDP
from plasticity.errors import ParameterError, check_int, check_non_negative, check_positive, validate

from . import checkpoint
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
    correlated_fraction: float = 0.0    # fraction of inputs in the correlated group (the first ones)
    correlation: float = 0.0            # c: pairwise spike-count correlation in the group (MIP)
    sweep_rates_hz: tuple[float, ...] = ()   # input rates (Hz) of the output-rate-regulation sweep
    sweep_duration_ms: float = 100_000.0      # each sweep run (STDP, and frozen weights)

    def __post_init__(self):
        validate(self)   # every field by its annotation: type, finite (plasticity.errors)
        check_int("n_inputs", self.n_inputs, 1)
        for name in ("rate_hz", "duration_ms", "dt", "g_max", "record_every_ms"):
            check_positive(name, getattr(self, name), "ms" if "ms" in name or name == "dt" else "")
        if not 0.0 <= self.rate_spread_hz < self.rate_hz:
            raise ParameterError(f"rate_spread_hz must be in [0, rate_hz = {self.rate_hz}), got {self.rate_spread_hz}")
        check_int("seed", self.seed, 0)
        check_target(self.target)
        if not (0.0 <= self.correlated_fraction <= 1.0):
            raise ParameterError(f"correlated_fraction must be in [0, 1], got {self.correlated_fraction}")
        if not (0.0 <= self.correlation <= 1.0):
            raise ParameterError(f"correlation must be in [0, 1], got {self.correlation}")
        if self.correlated_fraction > 0 and self.rate_spread_hz > 0:
            raise ParameterError(f"correlated inputs need equal rates: rate_spread_hz must be 0 when "
                                 f"correlated_fraction > 0, got {self.rate_spread_hz}")
        for r in self.sweep_rates_hz:
            check_positive("sweep_rates_hz", r, "Hz")
        if len(self.sweep_rates_hz) == 1:
            raise ParameterError(f"sweep_rates_hz needs at least 2 rates (or none), got {self.sweep_rates_hz}")
        check_positive("sweep_duration_ms", self.sweep_duration_ms, "ms")
        for name in ("a_plus_over_gmax", "a_minus_over_a_plus"):   # by their Config names, before the rule's
            check_non_negative(name, getattr(self, name))
        check_positive("tau_plus", self.tau_plus, "ms")
        check_positive("tau_minus", self.tau_minus, "ms")
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

    @property
    def n_correlated(self) -> int:
        return int(round(self.correlated_fraction * self.n_inputs))

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
    correlated: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))  # (n_inputs,) group mask
    sweep_rates_hz: np.ndarray = field(default_factory=lambda: np.zeros(0))
    sweep_out_stdp_hz: np.ndarray = field(default_factory=lambda: np.zeros(0))   # output rate, STDP
    sweep_out_fixed_hz: np.ndarray = field(default_factory=lambda: np.zeros(0))  # output rate, frozen w0

    @property
    def output_rate_hz(self) -> np.ndarray:
        """Output rate in each recording interval (Hz)."""
        edges = np.unique(np.append(self.w_t, self.config.duration_ms))
        counts, _ = np.histogram(self.out_t, bins=edges)
        return counts / (np.diff(edges) / 1000.0)


def run(config: Config, backend: str = "native", progress: bool = False) -> Result:
    """Simulate ``config`` on ``backend``; ``progress`` shows a tqdm bar (native main run)."""
    check_backend(backend)
    if backend != "native" and (config.correlated_fraction > 0 or config.sweep_rates_hz):
        raise ParameterError("correlated inputs and the input-rate sweep run on the native backend only, "
                             f"got backend={backend!r}")
    provenance: dict = {}
    with timed(provenance, backend, config.seed):
        rng = np.random.default_rng(config.seed)
        rates = config.rates(rng)
        w0 = rng.uniform(0.0, config.g_max, config.n_inputs)
        correlated = np.arange(config.n_inputs) < config.n_correlated
        sweep = None
        if backend == "native":
            trains = None
            if config.n_correlated:
                trains = correlated_trains(rates, correlated, config.correlation, config.duration_ms,
                                           config.dt, np.random.default_rng([config.seed, 1]))
            out = _run_native(config, rates, w0, trains=trains, progress=progress)
            sweep = rate_sweep(config, w0) if config.sweep_rates_hz else None
        else:
            from .brian_backend import run_song

            out = run_song(config, rates, w0, config.target)
            provenance.update(target=config.target, simulation_s=out.pop("wall_s"))
        tail = out["in_t"] >= config.duration_ms - RASTER_MS
        provenance.update(out.pop("timing", {}))
    extra = {} if sweep is None else dict(
        sweep_rates_hz=np.asarray(config.sweep_rates_hz, float), sweep_out_stdp_hz=sweep[0],
        sweep_out_fixed_hz=sweep[1])
    return Result(config, rates, w0, out["w"], out["w_t"], out["w_traj"], out["out_t"], out["in_i"][tail],
                  out["in_t"][tail], provenance, correlated=correlated, **extra)


def correlated_trains(rates, correlated, c, duration_ms, dt, rng) -> list[np.ndarray]:
    """Input spike trains (ms, on the dt grid, sorted, at most one spike per step), seeded.

    Uncorrelated inputs: Poisson at their rate. Correlated inputs (``correlated`` mask; equal
    rates r): each keeps every spike of one shared Poisson source at r / c with probability
    c (MIP), so each is Poisson at r and any two have count correlation c. Spikes falling in
    the same time step of one input are merged (a rate loss of order r*dt, < 0.2 % at 15 Hz
    and 0.1 ms).
    """
    n_steps = int(round(duration_ms / dt))

    def poisson_steps(rate_hz):
        n = rng.poisson(rate_hz * duration_ms / 1000.0)
        return rng.integers(0, n_steps, n)

    shared = correlated.any() and c > 0
    source = np.unique(poisson_steps(rates[correlated][0] / c)) if shared else np.zeros(0, np.int64)
    trains = []
    for k, r in enumerate(rates):
        if correlated[k] and shared:
            steps = source[rng.random(source.size) < c]
        else:
            steps = poisson_steps(r)
        trains.append(np.unique(steps) * dt)
    return trains


def rate_sweep(config: Config, w0) -> tuple[np.ndarray, np.ndarray]:
    """Output rate (Hz) over the last quarter of a ``sweep_duration_ms`` run at each sweep input
    rate, with STDP and with the weights frozen at ``w0``: the regulation curves."""
    import dataclasses

    stdp, fixed = [], []
    for k, rate in enumerate(config.sweep_rates_hz):
        c = dataclasses.replace(config, rate_hz=rate, rate_spread_hz=0.0, duration_ms=config.sweep_duration_ms,
                                seed=config.seed + 1 + k, sweep_rates_hz=())
        rates = np.full(config.n_inputs, float(rate))
        start = 0.75 * c.duration_ms
        for plastic, store in ((True, stdp), (False, fixed)):
            trains = None
            if c.n_correlated:
                trains = correlated_trains(rates, np.arange(c.n_inputs) < c.n_correlated, c.correlation,
                                           c.duration_ms, c.dt, np.random.default_rng([c.seed, 1]))
            out = _run_native(c, rates, w0, trains=trains, plastic=plastic, record=False,
                              key=f"sweep{k}-{'stdp' if plastic else 'fixed'}")
            store.append(np.sum(out["out_t"] >= start) / ((c.duration_ms - start) / 1000.0))
    return np.array(stdp), np.array(fixed)


def regulation_index(result: Result) -> float:
    """Slope of output vs input rate with STDP over the slope with frozen weights (NaN without a sweep)."""
    if result.sweep_rates_hz.size < 2:
        return float("nan")
    slope_stdp = np.polyfit(result.sweep_rates_hz, result.sweep_out_stdp_hz, 1)[0]
    slope_fixed = np.polyfit(result.sweep_rates_hz, result.sweep_out_fixed_hz, 1)[0]
    return float(slope_stdp / slope_fixed) if slope_fixed > 0 else float("nan")


def group_weights(result: Result) -> tuple[float, float]:
    """Mean final weight / g_max of the correlated and the uncorrelated inputs (NaN if a group is empty)."""
    mask = result.correlated if result.correlated.size == result.w.size else np.zeros(result.w.size, bool)
    w = result.w / result.config.g_max
    return (float(w[mask].mean()) if mask.any() else float("nan"),
            float(w[~mask].mean()) if (~mask).any() else float("nan"))


def _run_native(config, rates, w0, trains=None, plastic=True, record=True, progress=False, key="main") -> dict:
    """One network run; ``key`` names its checkpoints (protocols.checkpoint: ``plab run``
    saves the network as it goes and ``--resume`` continues it)."""
    def build():
        net = models.Network(dt=config.dt, seed=config.seed)
        if trains is None:
            inputs = net.add(models.PoissonGroup(config.n_inputs, rate=rates))
        else:
            inputs = net.add(models.SpikeGeneratorGroup.from_trains(trains))
        cell = net.add(config.neuron())
        proj = net.connect(inputs, cell, weight=w0, receptor="excitatory", rule=config.rule() if plastic else None)
        out = net.record_spikes(cell)
        if not record:
            return net, dict(out=out)
        return net, dict(out=out, proj=proj, inp=net.record_spikes(inputs),
                         weights=net.record_weights(proj, every=config.record_every_ms))

    net, h = checkpoint.network(key, build)
    checkpoint.run(key, net, h, config.duration_ms, progress=progress and record)
    if not record:
        return dict(out_t=h["out"].t)
    return dict(w=h["proj"].w.copy(), w_t=h["weights"].t, w_traj=h["weights"].w, out_t=h["out"].t,
                in_i=h["inp"].i, in_t=h["inp"].t,
                timing=dict(simulation_s=net.timing["run_s"], compile_s=net.timing["compile_s"]))


RASTER_MS = 1000.0  # the input raster keeps the last second


def plot(result: Result):
    from matplotlib.figure import Figure

    from analysis import plots

    c = result.config
    has_sweep, has_groups = result.sweep_rates_hz.size > 0, bool(result.correlated.any())
    mosaic = [["hist0", "hist1"], ["traj", "rate"], ["raster", "raster"]]
    if has_sweep or has_groups:
        mosaic.append(["sweep" if has_sweep else "groups", "groups" if has_groups else "sweep"])
    fig = Figure(figsize=(11, 7 + 2.5 * (len(mosaic) - 3)), layout="constrained")
    axes = fig.subplot_mosaic(mosaic)
    # one time unit in the whole figure: seconds (the arrays are in ms)
    plots.weight_histogram_plot(result.w0 / c.g_max, w_max=1.0, ax=axes["hist0"], bins=40, unit="g_max")
    axes["hist0"].set_title(f"initial weights (g_max = {c.g_max:g} g_L)")
    plots.weight_histogram_plot(result.w / c.g_max, w_max=1.0, ax=axes["hist1"], bins=40, unit="g_max")
    axes["hist1"].set_title(f"weights after {c.duration_ms / 1000:g} s")
    plots.weight_trajectories(result.w_t, result.w_traj / c.g_max, ax=axes["traj"], max_lines=40, unit="g_max")
    plots.rate_plot(result.out_t, c.duration_ms, bin_ms=max(c.record_every_ms, 100.0), ax=axes["rate"],
                    label="output", time_unit="s")
    axes["rate"].set_title("output rate")
    order = np.argsort(np.argsort(-result.w))  # inputs ranked by final weight, strongest at the bottom
    plots.raster(order[result.in_i], result.in_t, ax=axes["raster"], time_unit="s")
    out_last = result.out_t[result.out_t >= c.duration_ms - RASTER_MS]
    axes["raster"].plot(out_last / 1000.0, np.full(out_last.size, -15.0), "|", color="C3", ms=8,
                        label="output spikes")
    axes["raster"].set_ylabel("input (ranked by final weight)")
    axes["raster"].legend(loc="upper right", fontsize="small")
    if has_sweep:
        ax = axes["sweep"]
        ax.plot(result.sweep_rates_hz, result.sweep_out_fixed_hz, "s--", color="0.4", label="weights frozen at w0")
        ax.plot(result.sweep_rates_hz, result.sweep_out_stdp_hz, "o-", color="C0",
                label=f"after STDP ({c.sweep_duration_ms / 1000:g} s)")
        ax.set_xlabel("input rate (Hz)")
        ax.set_ylabel("output rate (Hz)")
        ax.set_title(f"rate regulation: slope ratio {regulation_index(result):.2f} "
                     "(Song et al.: output ~ insensitive to input rate)", fontsize="small")
        ax.legend(fontsize="small")
    elif "sweep" in axes:
        axes["sweep"].set_axis_off()
    if has_groups:
        ax = axes["groups"]
        w = result.w / c.g_max
        bins = np.linspace(0, 1, 26)
        ax.hist(w[result.correlated], bins=bins, alpha=0.7, color="C3",
                label=f"correlated (c = {c.correlation:g}, n = {result.correlated.sum()})")
        ax.hist(w[~result.correlated], bins=bins, alpha=0.5, color="C0", label="uncorrelated")
        ax.set_xlabel("final w / g_max")
        ax.set_ylabel("synapses")
        ax.set_title("correlated inputs win", fontsize="small")
        ax.legend(fontsize="small")
    elif "groups" in axes:
        axes["groups"].set_axis_off()
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
    ] + _extra_summary(result))


def _extra_summary(result: Result) -> list[str]:
    c = result.config
    lines = []
    if result.correlated.any():
        corr, uncorr = group_weights(result)
        lines.append(f"  correlated group ({result.correlated.sum()} inputs, c = {c.correlation:g}): mean weight "
                     f"{corr:.2f} g_max; uncorrelated: {uncorr:.2f} g_max")
    if result.sweep_rates_hz.size:
        pairs = ", ".join(f"{r:g}->{a:.1f}/{b:.1f}" for r, a, b in
                          zip(result.sweep_rates_hz, result.sweep_out_stdp_hz, result.sweep_out_fixed_hz))
        lines.append(f"  rate sweep (input Hz -> output Hz with STDP / frozen w0, last quarter of "
                     f"{c.sweep_duration_ms / 1000:g} s): {pairs}")
        lines.append(f"  regulation index (slope with STDP / slope frozen): {regulation_index(result):.2f} "
                     f"(Song et al. 2000: output rate roughly insensitive to input rate; no number offline)")
    return lines


def compare(result: Result) -> list[dict]:
    """Rows for ``plab report``: bimodality, and (when run) regulation and the correlated group."""
    c = result.config
    b = bimodality(result.w, c.g_max)
    rows = [dict(rule="additive pair STDP", measure="Sarle bimodality coefficient of final weights",
                 distance=b.coefficient, paper="bimodal weights (qualitative; no number offline)",
                 tolerance="> 0.555 (5/9, uniform)", passed=bool(b.coefficient > 5 / 9),
                 note=f"{100 * (b.frac_low + b.frac_high):.0f}% of weights in the outer deciles after "
                      f"{c.duration_ms / 1000:g} s")]
    if result.sweep_rates_hz.size:
        index = regulation_index(result)
        rows.append(dict(rule="additive pair STDP", measure="output-rate slope, STDP / frozen weights",
                         distance=index, paper="output rate roughly insensitive to input rate (qualitative)",
                         tolerance="< 0.5", passed=bool(index < 0.5),
                         note=f"inputs {result.sweep_rates_hz.min():g}-{result.sweep_rates_hz.max():g} Hz"))
    if result.correlated.any():
        corr, uncorr = group_weights(result)
        rows.append(dict(rule="additive pair STDP", measure="mean w/g_max: correlated - uncorrelated group",
                         distance=corr - uncorr, paper="correlated group wins (qualitative)",
                         tolerance="> 0.2", passed=bool(corr - uncorr > 0.2),
                         note=f"c = {c.correlation:g}, {result.correlated.sum()} of {c.n_inputs} inputs"))
    return rows


def report_configs(full: bool) -> dict:
    """The runs ``plab report`` makes: the base run with the rate sweep, and the correlated variant."""
    import dataclasses

    base = Config() if full else Config.small()
    sweep = dict(sweep_rates_hz=(10.0, 15.0, 20.0, 25.0, 30.0),
                 sweep_duration_ms=100_000.0 if full else 20_000.0)
    return {"rate sweep": dataclasses.replace(base, **sweep),
            "correlated inputs": dataclasses.replace(base, correlated_fraction=0.2, correlation=0.2,
                                                     duration_ms=base.duration_ms if full else 20_000.0)}
