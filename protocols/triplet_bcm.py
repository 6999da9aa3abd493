"""Triplet STDP under Poisson firing: a BCM curve whose threshold slides with the mean post rate.

Pfister & Gerstner (2006) J Neurosci 26:9673: for independent Poisson pre (rate ρx) and
post (rate ρy) spike trains the all-to-all triplet rule

    at a pre spike:   w -= o1 (a2- + a3- r2(t-)),     at a post spike:  w += r1 (a2+ + a3+ o2(t-))

drifts on average at (derived here: E[r1] = ρx τ+, E[o1] = ρy τ-, E[r2(t-)] = ρx τx,
E[o2(t-)] = ρy τy for Poisson trains — the trace just before a Poisson spike is independent
of that spike — and pre and post independent; post spikes arrive at rate ρy, pre at ρx)

    <dw/dt> = ρx ρy (a2+ τ+ - a2- τ-) + a3+ τ+ τy ρx ρy² - a3- τ- τx ρx² ρy

(rates in 1/ms, times in ms; reported per second). As a function of ρy this is a BCM
curve: depression below the threshold θ = (a2- τ- + a3- τ- τx ρx - a2+ τ+) / (a3+ τ+ τy),
potentiation above it.

Sliding threshold — what is implemented: the paper's minimal model makes the pair
depression depend on the slow average post rate ρ̄. Here, for each ρ̄ in
``avg_post_rates_hz``, the rule is run with ``a2_minus`` replaced by
``a2_minus * ρ̄² / ρ0²`` (ρ0 = ``rho0_hz``), ρ̄ held fixed during the run (a frozen slow
average, not a running estimate), while the instantaneous post rate ρy sweeps
``post_rates_hz``. For the minimal visual-cortex set (a2+ = a3- = 0) the threshold is then
θ(ρ̄) = a2- τ- ρ̄² / (a3+ τ+ τy ρ0²): it grows with the square of the mean post rate.

Each point is simulated with :func:`plasticity.replay` on seeded Poisson trains (w0 = 1e4,
bounds [0, 2e4], so no bound is reached; the rule is additive, so Δw is in the units of its
amplitudes, i.e. relative to a unit weight as in the Sjöström protocol) and compared with the formula:
the "distance to data" is the simulation's distance to the analytic mean field, since no
experimental data exist for this protocol.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from plasticity import TripletSTDP, replay
from plasticity.errors import ParameterError, check_int, check_non_negative, check_positive, validate

from .common import check_backend, timed

W0, W_MAX = 1e4, 2e4   # far from both bounds: the drift is additive, Δw in the rule's amplitude units


@dataclass(frozen=True)
class Config:
    """Rates in Hz, durations in ms."""

    triplet_set: str = "visual_cortex/all_to_all/minimal"    # an all-to-all Pfister-Gerstner set
    pre_rate_hz: float = 10.0
    post_rates_hz: tuple[float, ...] = tuple(float(r) for r in range(0, 51, 5))
    avg_post_rates_hz: tuple[float, ...] = (6.0, 10.0, 14.0)  # ρ̄ for the sliding threshold
    rho0_hz: float = 10.0
    duration_ms: float = 100_000.0     # per trial
    n_trials: int = 10
    seed: int = 0

    def __post_init__(self):
        validate(self)   # every field by its annotation: type, finite (plasticity.errors)
        parts = self.triplet_set.split("/")
        if len(parts) != 3 or parts[1] != "all_to_all":
            raise ParameterError(f"triplet_set must be an all-to-all set 'region/all_to_all/variant' "
                                 f"(the mean-field formula is for all-to-all), got {self.triplet_set!r}")
        self.base_rule()
        check_positive("pre_rate_hz", self.pre_rate_hz, "Hz")
        if len(self.post_rates_hz) < 2:
            raise ParameterError(f"post_rates_hz needs at least 2 rates, got {self.post_rates_hz}")
        for r in self.post_rates_hz:
            check_non_negative("post_rates_hz", r, "Hz")
        if any(b <= a for a, b in zip(self.post_rates_hz, self.post_rates_hz[1:])):
            raise ParameterError(f"post_rates_hz must be increasing (Hz), got {self.post_rates_hz}")
        if not self.avg_post_rates_hz:
            raise ParameterError("avg_post_rates_hz must not be empty")
        for r in self.avg_post_rates_hz:
            check_positive("avg_post_rates_hz", r, "Hz")
        check_positive("rho0_hz", self.rho0_hz, "Hz")
        check_positive("duration_ms", self.duration_ms, "ms")
        check_int("n_trials", self.n_trials, 1)
        check_int("seed", self.seed, 0)

    @classmethod
    def small(cls) -> "Config":
        """20 s x 10 trials per point (instead of 100 s)."""
        return cls(duration_ms=20_000.0, n_trials=10)

    def base_rule(self) -> TripletSTDP:
        return TripletSTDP.from_paper(*self.triplet_set.split("/"), w_min=0.0, w_max=W_MAX)

    def rule(self, avg_post_rate_hz: float) -> TripletSTDP:
        """The set with a2_minus scaled by (ρ̄/ρ0)²."""
        base = self.base_rule()
        scale = (avg_post_rate_hz / self.rho0_hz) ** 2
        return TripletSTDP.from_paper(*self.triplet_set.split("/"), w_min=0.0, w_max=W_MAX,
                                      a2_minus=base.a2_minus * scale)


@dataclass(frozen=True)
class Result:
    config: Config
    post_rate_hz: np.ndarray        # (n_rates,)
    avg_post_rate_hz: np.ndarray    # (n_avg,)
    dwdt: np.ndarray                # (n_avg, n_rates) simulated mean Δw per second (amplitude units)
    dwdt_sem: np.ndarray            # (n_avg, n_rates) sem over trials
    analytic: np.ndarray            # (n_avg, n_rates) mean-field <dw/dt> per second
    threshold_hz: np.ndarray        # (n_avg,) analytic zero crossing θ (Hz), NaN if none
    threshold_sim_hz: np.ndarray    # (n_avg,) zero crossing of the simulated curve (linear interpolation)
    max_z: float                    # max |sim - analytic| / sem over all points
    rel_rms: float                  # RMS(sim - analytic) / max|analytic|
    provenance: dict = field(default_factory=dict)


def mean_drift(rule: TripletSTDP, pre_rate_hz, post_rate_hz):
    """Analytic <dw/dt> per second of the all-to-all triplet rule for independent Poisson trains."""
    x = np.asarray(pre_rate_hz, dtype=float) / 1000.0   # 1/ms
    y = np.asarray(post_rate_hz, dtype=float) / 1000.0
    per_ms = (x * y * (rule.a2_plus * rule.tau_plus - rule.a2_minus * rule.tau_minus)
              + rule.a3_plus * rule.tau_plus * rule.tau_y * x * y * y
              - rule.a3_minus * rule.tau_minus * rule.tau_x * x * x * y)
    return 1000.0 * per_ms


def threshold(rule: TripletSTDP, pre_rate_hz: float) -> float:
    """Post rate (Hz) where the mean drift changes sign from depression to potentiation."""
    x = pre_rate_hz / 1000.0
    denominator = rule.a3_plus * rule.tau_plus * rule.tau_y
    if denominator == 0:
        return float("nan")
    theta = (rule.a2_minus * rule.tau_minus + rule.a3_minus * rule.tau_minus * rule.tau_x * x
             - rule.a2_plus * rule.tau_plus) / denominator
    return 1000.0 * theta if theta > 0 else float("nan")


def poisson_train(rng, rate_hz, duration_ms) -> np.ndarray:
    """Sorted Poisson spike times (ms) in [0, duration), exponential gaps, no two equal times."""
    if rate_hz == 0:
        return np.zeros(0)
    n = rng.poisson(rate_hz * duration_ms / 1000.0)
    return np.unique(rng.uniform(0.0, duration_ms, n))


def zero_crossing(x, y) -> float:
    """First x > 0 where y goes from < 0 to >= 0 (linear interpolation), NaN if none."""
    for k in range(1, len(x)):
        if x[k - 1] > 0 and y[k - 1] < 0 <= y[k]:
            return float(x[k - 1] + (x[k] - x[k - 1]) * (-y[k - 1]) / (y[k] - y[k - 1]))
    return float("nan")


def run(config: Config, backend: str = "native") -> Result:
    check_backend(backend)
    if backend != "native":
        raise ParameterError(f"triplet_bcm runs on the native backend only (plasticity.replay), got {backend!r}")
    provenance: dict = {}
    with timed(provenance, backend, config.seed):
        rng = np.random.default_rng(config.seed)
        rates = np.asarray(config.post_rates_hz, dtype=float)
        avg = np.asarray(config.avg_post_rates_hz, dtype=float)
        seconds = config.duration_ms / 1000.0
        samples = np.empty((avg.size, config.n_trials, rates.size))
        for trial in range(config.n_trials):
            # one pre train, one post train per rate; the same trains for every ρ̄ (common random numbers)
            pre = [poisson_train(rng, config.pre_rate_hz, config.duration_ms)]
            post = [poisson_train(rng, r, config.duration_ms) for r in rates]
            for a, rho_bar in enumerate(avg):
                w = replay(config.rule(rho_bar), pre, post, np.full((rates.size, 1), W0))
                samples[a, trial] = (w[:, 0] - W0) / seconds
        dwdt = samples.mean(axis=1)
        sem = samples.std(axis=1, ddof=1) / np.sqrt(config.n_trials) if config.n_trials > 1 else np.zeros_like(dwdt)
        analytic = np.stack([mean_drift(config.rule(r), config.pre_rate_hz, rates) for r in avg])
        theta = np.array([threshold(config.rule(r), config.pre_rate_hz) for r in avg])
        theta_sim = np.array([zero_crossing(rates, d) for d in dwdt])
        ok = sem > 0
        max_z = float(np.max(np.abs(dwdt - analytic)[ok] / sem[ok])) if ok.any() else float("nan")
        rel_rms = float(np.sqrt(np.mean((dwdt - analytic) ** 2)) / np.max(np.abs(analytic)))
        provenance.update(sliding_threshold="a2_minus * (avg_post_rate / rho0)^2, avg rate frozen per run")
    return Result(config, rates, avg, dwdt, sem, analytic, theta, theta_sim, max_z, rel_rms, provenance)


def compare(result: Result) -> list[dict]:
    """Rows for ``plab report``: simulation vs the analytic mean field, and the threshold shift."""
    rows = [dict(rule=f"triplet {result.config.triplet_set}", measure="RMS(sim - mean field) / max|mean field|",
                 distance=result.rel_rms, paper="0 (mean-field formula, all-to-all, Poisson)",
                 tolerance="< 0.1 and every point within 5 sem", passed=bool(result.rel_rms < 0.1 and result.max_z < 5),
                 note=f"max |z| = {result.max_z:.2f}")]
    theta, sim = result.threshold_hz, result.threshold_sim_hz
    increasing = bool(np.all(np.diff(sim) > 0)) if np.all(np.isfinite(sim)) else False
    rows.append(dict(rule="sliding threshold (a2- x (avg rate/rho0)^2)",
                     measure="simulated zero crossings (Hz)", distance=", ".join(f"{t:.1f}" for t in sim),
                     paper="mean field: " + ", ".join(f"{t:.1f}" for t in theta),
                     tolerance="increasing with the avg rate, each within 25% of the mean field",
                     passed=increasing and bool(np.all(np.abs(sim - theta) <= 0.25 * theta)),
                     note="avg post rates " + ", ".join(f"{r:g}" for r in result.avg_post_rate_hz) + " Hz"))
    return rows


def plot(result: Result):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4.5), layout="constrained")
    ax = fig.add_subplot()
    ax.axhline(0.0, color="0.7", lw=0.8)
    fine = np.linspace(result.post_rate_hz.min(), result.post_rate_hz.max(), 200)
    c = result.config
    for a, rho_bar in enumerate(result.avg_post_rate_hz):
        color = f"C{a}"
        ax.plot(fine, 1000 * mean_drift(c.rule(rho_bar), c.pre_rate_hz, fine), "-", color=color,
                label=f"mean field, ρ̄ = {rho_bar:g} Hz (θ = {result.threshold_hz[a]:.1f} Hz)")
        ax.errorbar(result.post_rate_hz, 1000 * result.dwdt[a], yerr=1000 * result.dwdt_sem[a], fmt="o", ms=3,
                    color=color, capsize=2, label=f"replay, {c.n_trials} x {c.duration_ms / 1000:g} s")
        if np.isfinite(result.threshold_hz[a]):
            ax.axvline(result.threshold_hz[a], color=color, ls=":", lw=0.8)
    ax.set_xlabel("postsynaptic rate ρy (Hz)")
    ax.set_ylabel("<dw/dt> (10⁻³ / s)")
    ax.set_title(f"Triplet rule ({c.triplet_set}) as BCM: pre {c.pre_rate_hz:g} Hz, "
                 f"a2− × (ρ̄/{c.rho0_hz:g} Hz)²", fontsize="small")
    ax.legend(fontsize="x-small")
    return {"triplet_bcm": fig}


def summary(result: Result) -> str:
    c = result.config
    lines = [f"Triplet rule {c.triplet_set} under Poisson firing: pre {c.pre_rate_hz:g} Hz, post "
             f"{result.post_rate_hz.min():g}-{result.post_rate_hz.max():g} Hz, {c.n_trials} trials x "
             f"{c.duration_ms / 1000:g} s per point (seed {c.seed})",
             f"  sliding threshold: a2_minus x (avg post rate / {c.rho0_hz:g} Hz)^2, avg rate frozen per run"]
    for a, rho_bar in enumerate(result.avg_post_rate_hz):
        lines.append(f"  avg post rate {rho_bar:5.1f} Hz: threshold mean field {result.threshold_hz[a]:5.1f} Hz, "
                     f"simulated {result.threshold_sim_hz[a]:5.1f} Hz")
    lines.append(f"  simulation vs mean field: RMS / max|mean field| = {result.rel_rms:.3f}, "
                 f"max |difference| / sem = {result.max_z:.2f}")
    return "\n".join(lines)
