"""Vogels et al. 2011: inhibitory STDP drives a LIF to ρ0 = 3 Hz and balances E and I.

Vogels, Sprekeler, Zenke, Clopath & Gerstner (2011) Science 334:1569, Fig. 1 (single cell).
One conductance-based LIF (τm 20 ms, E_L -60 mV, threshold -50 mV, reset -60 mV, refractory
5 ms, E_E 0 mV, E_I -80 mV, τE 5 ms, τI 10 ms, g_L 10 nS) receives ``n_exc`` excitatory and
``n_inh`` inhibitory inputs in ``n_groups`` input groups (signal channels). The inputs of a
group, excitatory and inhibitory alike, fire as inhomogeneous Poisson processes with a shared
rate ``rate_hz + signal_hz * [OU(t)]_+`` (an Ornstein-Uhlenbeck signal, time constant
``signal_tau_ms``, unit variance, one per group). Excitatory weights are fixed and tuned
across groups with the paper's shape g_E (0.3 + 1.1 / (1 + (k - P)^4)); inhibitory weights
start flat and weak and learn with the Vogels-Sprekeler rule (:class:`plasticity.InhibitorySTDP`,
published τ = 20 ms, η = 1e-3, ρ0 = 3 Hz, α = 0.12 — 'verified' in the package's reference
data). Weights are in units of the leak conductance (so η = 1e-3 is 10 pS per unit trace).

Outcomes, each with its distance to the target: the output rate converges to ρ0 (|rate - ρ0|
over the last ``tail_fraction`` of the run), the mean inhibitory current cancels the mean
excitatory drive above the leak (balance ratio -<I_I>/<I_E>, and the correlation of the
two currents' fluctuations — detailed balance), and the learned inhibitory weights per group
follow the excitatory tuning (co-tuning: correlation across groups).

Sizes: the paper's 800 excitatory / 200 inhibitory inputs in 8 groups (default); the short
``small()`` run (40 s, 400 / 100 inputs) shows the convergence, not the slow refinement of co-tuning (minutes).
"""
from __future__ import annotations

from dataclasses import dataclass, field
import numpy as np

import models
from analysis.reference import load as load_reference
from plasticity import InhibitorySTDP
from plasticity.errors import ParameterError, check_int, check_non_negative, check_positive, validate

from .common import check_backend, timed


def reference() -> dict:
    """The package's published values for this protocol (``vogels2011_inhibitory``)."""
    return load_reference("vogels2011_inhibitory")


@dataclass(frozen=True)
class Config:
    """Single-cell iSTDP. ms, mV, Hz, nS; weights in units of the leak conductance."""

    n_exc: int = 800
    n_inh: int = 200
    n_groups: int = 8
    duration_ms: float = 60_000.0
    dt: float = 0.1
    rate_hz: float = 5.0             # background rate of every input
    signal_hz: float = 15.0          # amplitude of the rectified OU signal of each group
    signal_tau_ms: float = 50.0
    g_e: float = 0.014               # ḡ_E = 140 pS / g_L (10 nS), scaled by the tuning curve
    preferred_group: int = 4         # P of the tuning curve
    w_inh0: float = 0.005            # initial inhibitory weight (flat), leak units
    w_inh_max: float = 0.5
    eta: float = 1e-3                # Vogels et al. 2011 (NEST default), verified
    tau_stdp: float = 20.0           # ms, verified
    rho0_hz: float = 3.0             # target rate, verified
    tau_m: float = 20.0
    g_leak_ns: float = 10.0
    e_leak: float = -60.0
    v_th: float = -50.0
    v_reset: float = -60.0
    t_ref: float = 5.0
    tau_e: float = 5.0
    tau_i: float = 10.0
    e_e: float = 0.0
    e_i: float = -80.0
    rate_bin_ms: float = 1000.0      # output rate and inhibitory weights, every rate_bin_ms
    record_every_ms: float = 1.0     # currents sampled every record_every_ms
    tail_fraction: float = 0.25      # the last part of the run over which convergence is measured
    rate_tolerance_hz: float = 1.0   # pass/fail of |rate - rho0| in the summary
    seed: int = 0

    def __post_init__(self):
        validate(self)   # every field by its annotation: type, finite (plasticity.errors)
        for name in ("tau_stdp", "eta", "rho0_hz", "w_inh_max"):   # by their Config names, before the rule sees them
            check_positive(name, getattr(self, name), "ms" if name == "tau_stdp" else "")
        check_int("n_exc", self.n_exc, 1)
        check_int("n_inh", self.n_inh, 1)
        check_int("n_groups", self.n_groups, 1)
        if self.n_groups > min(self.n_exc, self.n_inh):
            raise ParameterError(f"n_groups must be <= min(n_exc, n_inh) = {min(self.n_exc, self.n_inh)}, "
                                 f"got {self.n_groups}")
        check_int("preferred_group", self.preferred_group, 0)
        if self.preferred_group >= self.n_groups:
            raise ParameterError(f"preferred_group must be < n_groups ({self.n_groups}), got {self.preferred_group}")
        for name in ("duration_ms", "dt", "signal_tau_ms", "g_e", "g_leak_ns", "rate_bin_ms",
                     "record_every_ms", "rate_tolerance_hz"):
            check_positive(name, getattr(self, name))
        for name in ("rate_hz", "signal_hz"):
            check_non_negative(name, getattr(self, name), "Hz")
        if self.rate_hz + self.signal_hz <= 0:
            raise ParameterError("rate_hz + signal_hz must be > 0 Hz, got 0")
        check_non_negative("w_inh0", self.w_inh0)
        if self.w_inh0 > self.w_inh_max:
            raise ParameterError(f"w_inh0 must be <= w_inh_max ({self.w_inh_max}), got {self.w_inh0}")
        if not 0.0 < self.tail_fraction <= 1.0:
            raise ParameterError(f"tail_fraction must be in (0, 1], got {self.tail_fraction}")
        if self.duration_ms < 2 * self.rate_bin_ms:
            raise ParameterError(f"duration_ms must be >= 2 rate_bin_ms ({2 * self.rate_bin_ms} ms), "
                                 f"got {self.duration_ms}")
        check_int("seed", self.seed, 0)
        self.rule()
        self.neuron()

    @classmethod
    def small(cls) -> "Config":
        """40 s, 400 + 100 inputs (ḡ_E doubled to keep the drive): the rate converges to ρ0."""
        return cls(n_exc=400, n_inh=100, g_e=0.028, duration_ms=40_000.0)

    def rule(self) -> InhibitorySTDP:
        return InhibitorySTDP(tau=self.tau_stdp, eta=self.eta, rho0_hz=self.rho0_hz, w_min=0.0,
                              w_max=self.w_inh_max)

    def neuron(self) -> models.LIF:
        return models.LIF(1, synapses="conductance", tau_m=self.tau_m, c_m=self.g_leak_ns * self.tau_m,
                          e_leak=self.e_leak, v_th=self.v_th, v_reset=self.v_reset, t_ref=self.t_ref,
                          tau_e=self.tau_e, tau_i=self.tau_i, e_e=self.e_e, e_i=self.e_i)

    def tuning(self) -> np.ndarray:
        """Excitatory weight of each group (leak units): g_E (0.3 + 1.1 / (1 + (k - P)^4))."""
        k = np.arange(self.n_groups)
        return self.g_e * (0.3 + 1.1 / (1.0 + (k - self.preferred_group) ** 4.0))


@dataclass(frozen=True)
class Result:
    config: Config
    exc_group: np.ndarray      # group of each excitatory input
    inh_group: np.ndarray      # group of each inhibitory input
    w_exc: np.ndarray          # fixed excitatory weights (leak units)
    w_t: np.ndarray            # times of the inhibitory weight records (ms)
    w_inh: np.ndarray          # (n_times, n_inh) inhibitory weights (leak units)
    out_t: np.ndarray          # output spike times (ms)
    state_t: np.ndarray        # sample times of the currents (ms)
    i_exc: np.ndarray          # excitatory current g_L g_e (E_E - v) (pA)
    i_inh: np.ndarray          # inhibitory current g_L g_i (E_I - v) (pA)
    provenance: dict = field(default_factory=dict)

    @property
    def rate_t(self) -> np.ndarray:
        """Start of each rate bin (ms)."""
        return np.arange(self.rate_hz.size) * self.config.rate_bin_ms

    @property
    def rate_hz(self) -> np.ndarray:
        """Output rate in consecutive bins of rate_bin_ms (Hz)."""
        c = self.config
        n = int(c.duration_ms // c.rate_bin_ms)
        counts, _ = np.histogram(self.out_t, bins=np.arange(n + 1) * c.rate_bin_ms)
        return counts / (c.rate_bin_ms / 1000.0)

    def tail_mask(self, t) -> np.ndarray:
        c = self.config
        return np.asarray(t) >= c.duration_ms * (1.0 - c.tail_fraction)

    @property
    def final_rate_hz(self) -> float:
        """Output rate over the last tail_fraction of the run (Hz)."""
        c = self.config
        span = c.duration_ms * c.tail_fraction
        return float(np.sum(self.tail_mask(self.out_t)) / (span / 1000.0))

    @property
    def inhibition_removed(self) -> bool:
        """True when the rule took the inhibition away (final mean weight < 10 % of the initial
        one) and the rate is still below ρ0 by more than the tolerance: the excitation alone
        drives the cell below ρ0, and the rule, which only changes inhibitory weights bounded
        below by 0, cannot raise the rate any further (rate -> the excitation-only rate, not ρ0)."""
        c = self.config
        return bool(self.w_inh[-1].mean() < 0.1 * self.w_inh[0].mean()
                    and self.final_rate_hz < c.rho0_hz - c.rate_tolerance_hz)

    @property
    def rate_error_hz(self) -> float:
        """Distance to the target: |final rate - ρ0| (Hz)."""
        return abs(self.final_rate_hz - self.config.rho0_hz)

    def balance(self, which: str = "tail") -> tuple[float, float]:
        """(-<I_I>/<I_E>, correlation of the 50-ms averaged I_E and -I_I) over the first
        second ("start") or the tail ("tail")."""
        if which == "start":
            mask = self.state_t < min(1000.0, self.config.duration_ms * self.config.tail_fraction)
        else:
            mask = self.tail_mask(self.state_t)
        e, i = self.i_exc[mask], self.i_inh[mask]
        ratio = float(-i.mean() / e.mean())
        width = max(1, int(round(50.0 / self.config.record_every_ms)))
        n = (e.size // width) * width
        if n < 3 * width:
            return ratio, float("nan")
        eb, ib = e[:n].reshape(-1, width).mean(1), -i[:n].reshape(-1, width).mean(1)
        corr = float(np.corrcoef(eb, ib)[0, 1]) if eb.std() > 0 and ib.std() > 0 else float("nan")
        return ratio, corr

    def group_weights(self, k: int = -1) -> np.ndarray:
        """Mean inhibitory weight per input group at record k (leak units)."""
        w = self.w_inh[k]
        return np.array([w[self.inh_group == g].mean() for g in range(self.config.n_groups)])

    @property
    def cotuning(self) -> float:
        """Correlation across groups of the learned inhibitory and the excitatory weights."""
        wi = self.group_weights(-1)
        we = self.config.tuning()
        if wi.std() == 0 or we.std() == 0:
            return float("nan")
        return float(np.corrcoef(wi, we)[0, 1])


def group_signals(config: Config, rng, n_steps: int, step_ms: float) -> np.ndarray:
    """Rates (Hz) of each group on a grid of ``step_ms``: (n_groups, n_steps)."""
    c = config
    rho = np.exp(-step_ms / c.signal_tau_ms)
    noise = rng.standard_normal((c.n_groups, n_steps)) * np.sqrt(1.0 - rho ** 2)
    x = np.empty((c.n_groups, n_steps))
    x[:, 0] = rng.standard_normal(c.n_groups)
    for s in range(1, n_steps):  # exact AR(1) sampling of the OU process
        x[:, s] = rho * x[:, s - 1] + noise[:, s]
    return c.rate_hz + c.signal_hz * np.maximum(x, 0.0)


def input_trains(config: Config, rng, group_of: np.ndarray, rates: np.ndarray, step_ms: float) -> list:
    """Inhomogeneous Poisson trains (ms), at most one spike per ``step_ms`` bin (Bernoulli
    with p = rate * step), placed on a random simulation step inside the bin (so two spikes
    of a neuron never share a step of ``config.dt``)."""
    n_steps = rates.shape[1]
    n_sub = max(1, int(step_ms / config.dt + 1e-9))
    trains = []
    for g in group_of:
        p = rates[g] * step_ms * 1e-3
        bins = np.flatnonzero(rng.random(n_steps) < p)
        trains.append(bins * step_ms + rng.integers(0, n_sub, bins.size) * config.dt)
    return trains


SIGNAL_STEP_MS = 1.0


def run(config: Config, backend: str = "native") -> Result:
    check_backend(backend)
    if backend != "native":
        raise ParameterError("vogels2011 runs on the native backend only (the rule's Brian2 equations "
                             "are tested in tests/brian/test_inhibitory_equality.py)")
    c = config
    provenance: dict = {"reference": reference()}
    with timed(provenance, backend, c.seed):
        rng = np.random.default_rng(c.seed)
        exc_group = np.arange(c.n_exc) * c.n_groups // c.n_exc
        inh_group = np.arange(c.n_inh) * c.n_groups // c.n_inh
        n_steps = int(np.ceil(c.duration_ms / SIGNAL_STEP_MS))
        rates = group_signals(c, rng, n_steps, SIGNAL_STEP_MS)
        exc_trains = input_trains(c, rng, exc_group, rates, SIGNAL_STEP_MS)
        inh_trains = input_trains(c, rng, inh_group, rates, SIGNAL_STEP_MS)
        w_exc = c.tuning()[exc_group]

        net = models.Network(dt=c.dt, seed=c.seed)
        exc = net.add(models.SpikeGeneratorGroup.from_trains(exc_trains))
        inh = net.add(models.SpikeGeneratorGroup.from_trains(inh_trains))
        cell = net.add(c.neuron())
        net.connect(exc, cell, weight=w_exc, receptor="excitatory")
        proj = net.connect(inh, cell, weight=c.w_inh0, receptor="inhibitory", rule=c.rule())
        out = net.record_spikes(cell)
        rec = {name: net.record_state(cell, name, every=c.record_every_ms) for name in ("v", "g_e", "g_i")}
        weights = net.record_weights(proj, every=c.rate_bin_ms)
        net.run(c.duration_ms)
        v = rec["v"].values[:, 0]
        i_exc = c.g_leak_ns * rec["g_e"].values[:, 0] * (c.e_e - v)
        i_inh = c.g_leak_ns * rec["g_i"].values[:, 0] * (c.e_i - v)
        # the projection's synapses are in CSR order (grouped by presynaptic neuron): one per input
        order = np.argsort(proj.pre, kind="stable")
        w_traj = weights.w[:, order]
        provenance.update(simulation_s=net.timing["run_s"], compile_s=net.timing["compile_s"],
                          network=f"{c.n_exc} exc + {c.n_inh} inh inputs in {c.n_groups} groups -> 1 LIF")
    return Result(c, exc_group, inh_group, w_exc, weights.t, w_traj, out.t, rec["v"].t, i_exc, i_inh, provenance)


def plot(result: Result):
    from matplotlib.figure import Figure

    c = result.config
    fig = Figure(figsize=(11, 8), layout="constrained")
    axes = fig.subplot_mosaic([["rate", "rate"], ["cur0", "cur1"], ["tuning", "wtraj"]])
    ax = axes["rate"]
    ax.step(result.rate_t / 1000.0, result.rate_hz, where="post", label="output rate")
    ax.axhline(c.rho0_hz, color="C3", ls="--", label=f"target ρ0 = {c.rho0_hz:g} Hz (Vogels et al. 2011)")
    ax.axvspan(c.duration_ms * (1 - c.tail_fraction) / 1000.0, c.duration_ms / 1000.0, color="0.9",
               label=f"tail: {result.final_rate_hz:.2f} Hz, |rate - ρ0| = {result.rate_error_hz:.2f} Hz")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("rate (Hz)")
    ax.legend(fontsize="small")
    for key, (t0, title) in {"cur0": (0.0, "start"),
                             "cur1": (max(0.0, c.duration_ms - 1000.0), "end")}.items():
        ax = axes[key]
        m = (result.state_t >= t0) & (result.state_t < t0 + 1000.0)
        ax.plot(result.state_t[m] / 1000.0, result.i_exc[m], color="C0", lw=0.7, label="I_E")
        ax.plot(result.state_t[m] / 1000.0, result.i_inh[m], color="C3", lw=0.7, label="I_I")
        ax.plot(result.state_t[m] / 1000.0, result.i_exc[m] + result.i_inh[m], color="k", lw=0.7, label="I_E + I_I")
        ratio, corr = result.balance("start" if title == "start" else "tail")
        ax.set_title(f"currents, {title}: -<I_I>/<I_E> = {ratio:.2f}, corr = {corr:.2f}", fontsize="small")
        ax.set_xlabel("time (s)")
        ax.set_ylabel("pA")
        ax.legend(fontsize="x-small", loc="upper right")
    ax = axes["tuning"]
    k = np.arange(c.n_groups)
    we = c.tuning()
    wi0, wi = result.group_weights(0), result.group_weights(-1)
    ax.plot(k, we / we.max(), "o-", color="C0", label="excitatory (fixed)")
    ax.plot(k, wi / max(wi.max(), 1e-300), "s-", color="C3", label=f"inhibitory, learned (corr {result.cotuning:.2f})")
    ax.plot(k, wi0 / max(wi.max(), 1e-300), ":", color="C3", label="inhibitory, initial")
    ax.set_xlabel("input group")
    ax.set_ylabel("group mean weight / largest")
    ax.legend(fontsize="x-small")
    ax = axes["wtraj"]
    for g in range(c.n_groups):
        ax.plot(result.w_t / 1000.0, result.w_inh[:, result.inh_group == g].mean(1), label=f"group {g}")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("mean inhibitory w / g_L")
    ax.legend(fontsize="xx-small", ncol=2)
    return {"vogels2011": fig}


def summary(result: Result) -> str:
    c = result.config
    ref = result.provenance.get("reference", {})
    status = "verified" if ref.get("verified") else "unverified"
    r0, c0 = result.balance("start")
    r1, c1 = result.balance("tail")
    ok = result.rate_error_hz <= c.rate_tolerance_hz
    return "\n".join([
        f"Vogels et al. 2011 iSTDP: {c.n_exc} exc + {c.n_inh} inh Poisson inputs ({c.n_groups} groups) -> "
        f"1 conductance LIF, {c.duration_ms / 1000:g} s; tau = {c.tau_stdp:g} ms, eta = {c.eta:g}, "
        f"rho0 = {c.rho0_hz:g} Hz, alpha = {c.rule().alpha:.3g} (published values, {status})",
        f"  output rate: first bin {result.rate_hz[0]:.1f} Hz, last {c.tail_fraction:.0%} of the run "
        f"{result.final_rate_hz:.2f} Hz; distance to target |rate - rho0| = {result.rate_error_hz:.2f} Hz "
        f"({'PASS' if ok else 'FAIL'}, tolerance {c.rate_tolerance_hz:g} Hz)",
        f"  balance -<I_I>/<I_E>: start {r0:.2f}, end {r1:.2f}; correlation of 50-ms I_E and -I_I: "
        f"start {c0:.2f}, end {c1:.2f}",
        f"  mean inhibitory weight {result.w_inh[0].mean():.4f} -> {result.w_inh[-1].mean():.4f} g_L; "
        f"co-tuning (corr of group inhibitory weights with the excitatory tuning) {result.cotuning:.2f}",
    ] + ([f"  inhibition removed: the excitatory input alone drives the cell below rho0, and iSTDP (inhibitory "
          f"weights >= 0) cannot raise the rate; increase the drive (rate_hz, g_e) for the rate to reach rho0"]
         if result.inhibition_removed else []))


def compare(result: Result) -> list[dict]:
    """Rows for ``plab report``: rate vs ρ0, detailed balance, co-tuning."""
    c = result.config
    _, corr = result.balance("tail")
    return [
        dict(rule="inhibitory (Vogels-Sprekeler)", measure="|output rate - rho0| over the last quarter (Hz)",
             distance=result.rate_error_hz, paper=f"rate converges to rho0 = {c.rho0_hz:g} Hz",
             tolerance=f"<= {c.rate_tolerance_hz:g} Hz", passed=bool(result.rate_error_hz <= c.rate_tolerance_hz),
             note=f"final rate {result.final_rate_hz:.2f} Hz; correlated inputs settle slightly below rho0"
                  + ("; inhibition removed: excitation alone is below rho0" if result.inhibition_removed else "")),
        dict(rule="inhibitory (Vogels-Sprekeler)", measure="corr(I_E, -I_I), 50 ms averages, tail",
             distance=corr, paper="E and I currents balanced (detailed balance, Fig. 1)", tolerance="> 0.5",
             passed=bool(corr > 0.5)),
        dict(rule="inhibitory (Vogels-Sprekeler)", measure="corr(learned inhibitory, excitatory tuning) across groups",
             distance=result.cotuning, paper="inhibition co-tuned with excitation", tolerance="> 0.5",
             passed=bool(result.cotuning > 0.5)),
    ]
