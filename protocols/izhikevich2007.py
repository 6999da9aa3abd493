"""Izhikevich 2007: distal reward — dopamine-modulated STDP picks out the one rewarded synapse.

Izhikevich (2007) Cereb Cortex 17:2443, Fig. 1. Every time the chosen presynaptic neuron
fires and its postsynaptic partner fires within ``window_ms`` after it, a reward (a dopamine
release of ``reward_amount``) is delivered with a random delay of 1-3 s. In between, many
other spikes happen at every synapse. The eligibility trace (τc = 1 s) of the rewarded
synapse still holds a trace of the pairing when the dopamine arrives (τd = 200 ms), so that
synapse, and on average only it, grows — to the maximum weight — while the others do not.

Shortened network (stated; the paper has 1000 Izhikevich neurons with 100 synapses each),
built in ``models.Network`` (:func:`build`): ``n_pre`` Poisson neurons (``rate_hz``, a
``PoissonGroup``) project all-to-all with plastic delta synapses (weights in mV, initial
1 mV, bounds [0, 4] mV as in the paper) onto ``n_post`` LIF neurons (``synapses="delta"``,
τm 20 ms, rest/reset -65 mV, threshold -50 mV, refractory ``t_ref`` = 2 ms in the Network's
sense: a neuron that spikes at step k integrates again from step k + t_ref/dt, so two spikes
are at least t_ref apart). Each LIF also gets independent background Poisson input, one
``PoissonGroup`` neuron per LIF (one-to-one, ``bg_rate_hz`` x ``bg_mv``); such a source emits
at most one spike per step, so at dt = 1 ms the 85 Hz background delivers 1000 (1 -
exp(-0.085)) ≈ 81.5 jumps of 3 mV per second and never a double jump in one step. The
rule is :class:`plasticity.DopamineSTDP` (published τc, τd, τ+, A+, A- — 'verified' in the
package's reference data), connected with ``modulator=`` a :class:`models.Modulator` whose
:class:`models.PairingReward` critic watches pre 0 -> post 0: each post-0 spike 0 < Δ <=
``window_ms`` after pre 0's last spike releases ``reward_amount`` after U(delay_min_ms,
delay_max_ms), rounded to the step. The family brings the synapses up to date at each
release with the exact closed-form integral of c*d. Weights are recorded with
``record_weights`` every ``record_every_ms``. Time step 1 ms as in the paper; LIF
integrated exactly.

Update order of a step: models/simulate.py's (its module docstring is the one definition):
integrate and threshold/reset, the sources' spikes; presynaptic spikes deliver the weight
to the target's next step, then the synapse's presynaptic event (brought up to date,
eligibility depressed); postsynaptic events (eligibility potentiated); the modulator (decay,
critic, releases due now); the rule's per-step hook applies a release.
"""
from __future__ import annotations

from dataclasses import dataclass, field
import numpy as np

import models
from analysis.reference import load as load_reference
from plasticity import modulated
from plasticity.errors import ParameterError, check_int, check_non_negative, check_positive, validate

from . import checkpoint
from .common import check_backend, check_target, timed


def reference() -> dict:
    """The package's published values for this protocol (``izhikevich2007_dopamine``)."""
    return load_reference("izhikevich2007_dopamine")


@dataclass(frozen=True)
class Config:
    """Distal reward. ms, mV, Hz; dopamine in µM (the paper's unit)."""

    n_pre: int = 100
    n_post: int = 10
    rate_hz: float = 1.0             # presynaptic Poisson rate
    bg_rate_hz: float = 85.0         # background Poisson source per postsynaptic neuron (<= 1 spike/step)
    bg_mv: float = 3.0               # jump of v per background spike (mV): fluctuation-driven, ~1.6 Hz
    duration_ms: float = 3_600_000.0  # one hour, as in the paper
    dt: float = 1.0
    w0: float = 1.0                  # mV
    w_max: float = 4.0               # mV
    eta: float = 0.0015              # mV per ms per unit eligibility per µM
    tau_c: float = 1000.0            # verified
    tau_d: float = 200.0             # verified
    tau_plus: float = 20.0           # verified (tau_minus = tau_plus)
    a_plus: float = 1.0              # verified
    a_minus: float = 1.5             # verified
    reward_amount: float = 0.5       # µM per reward (Izhikevich 2007)
    delay_min_ms: float = 1000.0
    delay_max_ms: float = 3000.0
    window_ms: float = 10.0          # post within this time after pre counts as the pairing
    tau_m: float = 20.0
    v_rest: float = -65.0
    v_th: float = -50.0
    t_ref: float = 2.0               # ms; models.Network semantics: spikes at least t_ref apart
    record_every_ms: float = 10_000.0
    success_fraction: float = 0.9    # rewarded weight >= success_fraction * w_max counts as reached
    seed: int = 0
    target: str = "numpy"            # Brian2 code-generation target with backend="brian2"

    def __post_init__(self):
        validate(self)   # every field by its annotation: type, finite (plasticity.errors)
        check_int("n_pre", self.n_pre, 1)
        check_int("n_post", self.n_post, 1)
        if self.n_pre * self.n_post < 2:
            raise ParameterError("n_pre * n_post must be >= 2 (one rewarded synapse and others)")
        for name in ("rate_hz", "duration_ms", "dt", "w_max", "eta", "reward_amount", "window_ms", "tau_m",
                     "record_every_ms"):
            check_positive(name, getattr(self, name))
        for name in ("bg_rate_hz", "bg_mv", "t_ref", "delay_min_ms"):
            check_non_negative(name, getattr(self, name))
        if not 0.0 <= self.w0 <= self.w_max:
            raise ParameterError(f"w0 must be in [0, w_max = {self.w_max}] mV, got {self.w0}")
        if self.delay_max_ms < self.delay_min_ms:
            raise ParameterError(f"delay_max_ms must be >= delay_min_ms ({self.delay_min_ms}), got {self.delay_max_ms}")
        if self.v_th <= self.v_rest:
            raise ParameterError(f"v_th must be > v_rest ({self.v_rest} mV), got {self.v_th}")
        if not 0.0 < self.success_fraction <= 1.0:
            raise ParameterError(f"success_fraction must be in (0, 1], got {self.success_fraction}")
        if self.dt > self.window_ms:
            raise ParameterError(f"dt must be <= window_ms ({self.window_ms} ms), got {self.dt}")
        check_int("seed", self.seed, 0)
        check_target(self.target)
        self.rule()

    @classmethod
    def small(cls) -> "Config":
        """The same simulated hour, recorded every minute (the loop takes a few seconds)."""
        return cls(record_every_ms=60_000.0)

    def rule(self) -> modulated.DopamineSTDP:
        return modulated.DopamineSTDP(tau_plus=self.tau_plus, tau_minus=self.tau_plus, a_plus=self.a_plus,
                                      a_minus=self.a_minus, tau_c=self.tau_c, tau_d=self.tau_d, eta=self.eta,
                                      w_min=0.0, w_max=self.w_max)


@dataclass(frozen=True)
class Result:
    config: Config
    w_t: np.ndarray            # record times (ms)
    w: np.ndarray              # (n_times, n_post, n_pre) weights (mV); [:, 0, 0] is the rewarded synapse
    reward_t: np.ndarray       # dopamine release times (ms)
    pairing_t: np.ndarray      # times of the rewarded pre->post pairings (ms)
    post_i: np.ndarray         # postsynaptic spikes: neuron, time (ms)
    post_t: np.ndarray
    n_pre_spikes: int = 0
    provenance: dict = field(default_factory=dict)

    @property
    def rewarded(self) -> np.ndarray:
        return self.w[:, 0, 0]

    @property
    def others(self) -> np.ndarray:
        """(n_times, n_syn - 1) weights of the unrewarded synapses."""
        flat = self.w.reshape(self.w.shape[0], -1)
        return flat[:, 1:]

    @property
    def distance_to_w_max(self) -> float:
        """w_max - final rewarded weight (mV): the protocol's distance to the published outcome."""
        return float(self.config.w_max - self.rewarded[-1])

    @property
    def time_to_reach_s(self) -> float:
        """First record time (s) at which the rewarded weight >= success_fraction * w_max (NaN if never)."""
        hit = np.flatnonzero(self.rewarded >= self.config.success_fraction * self.config.w_max)
        return float(self.w_t[hit[0]] / 1000.0) if hit.size else float("nan")

    def others_above(self, k: int = -1) -> int:
        """Number of unrewarded synapses at >= success_fraction * w_max at record k."""
        return int(np.sum(self.others[k] >= self.config.success_fraction * self.config.w_max))

    @property
    def others_above_at_reach(self) -> int:
        """Unrewarded synapses at >= success_fraction * w_max when the rewarded one first got there
        (-1 if it never did)."""
        hit = np.flatnonzero(self.rewarded >= self.config.success_fraction * self.config.w_max)
        return self.others_above(int(hit[0])) if hit.size else -1

    @property
    def post_rate_hz(self) -> float:
        return float(self.post_t.size / self.config.n_post / (self.config.duration_ms / 1000.0))


def _pairing_steps(pre_steps, post_steps, window_steps):
    """Steps of the postsynaptic spikes that follow the presynaptic neuron's last spike (its
    emission; the same step included) by 0 < steps <= window_steps: what
    :class:`models.PairingReward` rewards."""
    last = np.searchsorted(pre_steps, post_steps, side="right") - 1
    ok = last >= 0
    gap = np.where(ok, post_steps - pre_steps[np.maximum(last, 0)], 0)
    return post_steps[ok & (gap > 0) & (gap <= window_steps)]


def network_groups(config: Config):
    """The protocol's ``models.Network`` with its groups and the dopamine modulator (its critic
    watching pre 0 -> post 0), no connections yet: ``(net, pre, post, background, dopamine)``.
    :func:`build` connects them; protocols.brian_izhikevich runs them unconnected for the
    native Poisson trains and the critic's key."""
    c = config
    net = models.Network(dt=c.dt, seed=c.seed, chunk=60_000.0)
    pre = net.add(models.PoissonGroup(c.n_pre, rate=c.rate_hz))
    post = net.add(models.LIF(c.n_post, synapses="delta", tau_m=c.tau_m, e_leak=c.v_rest, v_th=c.v_th,
                              v_reset=c.v_rest, t_ref=c.t_ref))
    background = net.add(models.PoissonGroup(c.n_post, rate=c.bg_rate_hz))
    critic = models.PairingReward(pre, 0, post, 0, window=c.window_ms, delay_min=c.delay_min_ms,
                                  delay_max=c.delay_max_ms, amount=c.reward_amount)
    dopamine = net.add(models.Modulator(tau_d=c.tau_d, critics=(critic,)))
    return net, pre, post, background, dopamine


def build(config: Config):
    """The protocol's ``models.Network`` (not yet run) and what :func:`run` reads from it:
    ``(net, parts)`` with ``parts`` the groups, the plastic projection, the modulator and
    the monitors by name."""
    c = config
    net, pre, post, background, dopamine = network_groups(c)
    net.connect(background, post, weight=c.bg_mv, connectivity=models.one_to_one())
    proj = net.connect(pre, post, weight=c.w0, rule=c.rule(), modulator=dopamine)
    parts = dict(pre=pre, post=post, background=background, dopamine=dopamine, projection=proj,
                 pre_spikes=net.record_spikes(pre), post_spikes=net.record_spikes(post),
                 weights=net.record_weights(proj, every=c.record_every_ms))
    return net, parts


def run(config: Config, backend: str = "native", progress: bool = False) -> Result:
    """Simulate ``config`` on ``backend``: "native" (models.Network, checkpointed under
    ``plab run``) or "brian2" (the same network as Brian2 code on ``config.target``,
    :mod:`protocols.brian_izhikevich`, one run; ``progress`` is native only)."""
    check_backend(backend)
    c = config
    provenance: dict = {"reference": reference()}
    with timed(provenance, backend, c.seed):
        if backend == "brian2":
            from .brian_izhikevich import run as run_brian

            out = run_brian(c, c.target)
            w_t, w, reward_t, post_i, post_t = out["w_t"], out["w"], out["reward_t"], out["post_i"], out["post_t"]
            pre_i, pre_t = out["pre_spikes"]
            provenance.update(network=f"{c.n_pre} Poisson -> {c.n_post} LIF (delta synapses), {c.n_pre * c.n_post} "
                                      "plastic synapses, rewarded: pre 0 -> post 0; Brian2 equations "
                                      "(protocols.brian_izhikevich), native Poisson trains and reward delays",
                              target=c.target, brian2_build_s=out["build_s"], brian2_compile_s=out["compile_s"],
                              brian2_simulation_s=out["simulation_s"])
        else:
            net, parts = checkpoint.network("main", lambda: build(c))
            checkpoint.run("main", net, parts, c.duration_ms, progress=progress)
            proj, rec = parts["projection"], parts["weights"]
            w_t, w = rec.t.copy(), np.stack([proj.dense_weights(row) for row in rec.w])   # (n_times, n_post, n_pre)
            reward_t, _ = net.modulator_releases(parts["dopamine"])
            pre_rec, post_rec = parts["pre_spikes"], parts["post_spikes"]
            pre_i, pre_t, post_i, post_t = pre_rec.i, pre_rec.t, post_rec.i.copy(), post_rec.t.copy()
            provenance.update(network=f"{c.n_pre} Poisson -> {c.n_post} LIF (delta synapses), "
                                      f"{proj.n_syn} plastic synapses, rewarded: pre 0 -> post 0; models.Network",
                              compile_s=net.timing["compile_s"], loop_s=net.timing["run_s"])
        pre0, post0 = (np.rint(t[i == 0] / c.dt).astype(np.int64) for i, t in ((pre_i, pre_t), (post_i, post_t)))
        pairing_t = _pairing_steps(pre0, post0, int(round(c.window_ms / c.dt))) * c.dt
        provenance.update(n_pre_spikes=int(pre_t.size))
    return Result(c, w_t, w, reward_t, pairing_t, post_i, post_t, int(pre_t.size), provenance)


def plot(result: Result):
    from matplotlib.figure import Figure

    c = result.config
    fig = Figure(figsize=(11, 7), layout="constrained")
    axes = fig.subplot_mosaic([["traj", "traj"], ["hist", "rewards"]])
    ax = axes["traj"]
    t_min = result.w_t / 60_000.0
    others = result.others
    ax.fill_between(t_min, np.percentile(others, 1, axis=1), np.percentile(others, 99, axis=1), color="0.85",
                    label="other synapses, 1-99th percentile")
    ax.plot(t_min, others.mean(1), color="0.4", label="other synapses, mean")
    ax.plot(t_min, others.max(1), ":", color="0.4", label="other synapses, max")
    ax.plot(t_min, result.rewarded, color="C3", lw=2, label="rewarded synapse")
    ax.axhline(c.w_max, color="k", ls="--", label=f"target: w_max = {c.w_max:g} mV (Izhikevich 2007)")
    ax.set_xlabel("time (min)")
    ax.set_ylabel("weight (mV)")
    ax.set_title(f"distal reward: final rewarded weight {result.rewarded[-1]:.2f} mV, "
                 f"distance to w_max {result.distance_to_w_max:.2f} mV")
    ax.legend(fontsize="small", loc="center right")
    ax = axes["hist"]
    ax.hist(others[-1], bins=40, color="0.5", label="others (final)")
    ax.axvline(result.rewarded[-1], color="C3", lw=2, label="rewarded (final)")
    ax.axvline(c.w0, color="k", ls=":", label="initial")
    ax.set_xlabel("weight (mV)")
    ax.legend(fontsize="small")
    ax = axes["rewards"]
    bins = np.arange(0.0, c.duration_ms + 60_000.0, 60_000.0)
    ax.hist(result.reward_t / 60_000.0, bins=bins / 60_000.0, color="C2")
    ax.set_xlabel("time (min)")
    ax.set_ylabel("rewards per minute")
    return {"izhikevich2007": fig}


def summary(result: Result) -> str:
    c = result.config
    ref = result.provenance.get("reference", {})
    status = "verified" if ref.get("verified") else "unverified"
    others = result.others[-1]
    reached = np.isfinite(result.time_to_reach_s)
    return "\n".join([
        f"Izhikevich 2007 distal reward: {c.n_pre} Poisson ({c.rate_hz:g} Hz) -> {c.n_post} LIF, "
        f"{c.n_pre * c.n_post} synapses, {c.duration_ms / 60_000:g} min, dt {c.dt:g} ms; tau_c = {c.tau_c:g} ms, "
        f"tau_d = {c.tau_d:g} ms, A+ = {c.a_plus:g}, A- = {c.a_minus:g} (published values, {status})",
        f"  {result.pairing_t.size} rewarded pairings, {result.reward_t.size} rewards (delay "
        f"{c.delay_min_ms / 1000:g}-{c.delay_max_ms / 1000:g} s); postsynaptic rate {result.post_rate_hz:.2f} Hz",
        f"  rewarded synapse: {c.w0:g} -> {result.rewarded[-1]:.3f} mV; distance to w_max ({c.w_max:g} mV) "
        f"{result.distance_to_w_max:.3f} mV; reached {c.success_fraction:.0%} of w_max: "
        + (f"after {result.time_to_reach_s / 60:.1f} min (PASS)" if reached else "no (FAIL)"),
        f"  other {others.size} synapses: mean {others.mean():.3f} mV, max {others.max():.3f} mV, "
        f"{result.others_above()} at >= {c.success_fraction:.0%} of w_max at the end "
        f"({result.others_above_at_reach if reached else 'n/a'} when the rewarded synapse got there); "
        f"the rewarded synapse is above {100 * np.mean(result.rewarded[-1] > others):.1f}% of them",
    ])


def compare(result: Result) -> list[dict]:
    """Rows for ``plab report``: the rewarded synapse reaches w_max, the others stay."""
    c = result.config
    frac = result.others_above() / result.others.shape[1]
    return [
        dict(rule="dopamine-modulated STDP", measure="w_max - final rewarded weight (mV)",
             distance=result.distance_to_w_max, paper=f"rewarded synapse reaches w_max = {c.w_max:g} mV within ~1 h",
             tolerance=f"< {0.1 * c.w_max:g} mV", passed=bool(result.distance_to_w_max < 0.1 * c.w_max),
             note=f"reached {c.success_fraction:.0%} of w_max after {result.time_to_reach_s / 60:.1f} min "
                  f"({c.n_pre}x{c.n_post} synapses)"),
        dict(rule="dopamine-modulated STDP", measure=f"fraction of other synapses at >= {c.success_fraction:.0%} w_max",
             distance=frac, paper="the other synapses stay", tolerance="< 0.03", passed=bool(frac < 0.03),
             note=f"mean of the others {result.others[-1].mean():.2f} mV (initial {c.w0:g})"),
    ]
