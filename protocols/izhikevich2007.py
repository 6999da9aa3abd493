"""Izhikevich 2007: distal reward — dopamine-modulated STDP picks out the one rewarded synapse.

Izhikevich (2007) Cereb Cortex 17:2443, Fig. 1. Every time the chosen presynaptic neuron
fires and its postsynaptic partner fires within ``window_ms`` after it, a reward (a dopamine
release of ``reward_amount``) is delivered with a random delay of 1-3 s. In between, many
other spikes happen at every synapse. The eligibility trace (τc = 1 s) of the rewarded
synapse still holds a trace of the pairing when the dopamine arrives (τd = 200 ms), so that
synapse, and on average only it, grows — to the maximum weight — while the others do not.

Shortened network (stated; the paper has 1000 Izhikevich neurons with 100 synapses each):
``n_pre`` Poisson neurons (``rate_hz``) project all-to-all with plastic delta synapses
(weights in mV, initial 1 mV, bounds [0, 4] mV as in the paper) onto ``n_post`` LIF neurons
(τm 20 ms, rest/reset -65 mV, threshold -50 mV, 2 ms refractory), each also driven by
independent background Poisson input (``bg_rate_hz`` x ``bg_mv``). The rewarded synapse is
pre 0 -> post 0. Time step 1 ms as in the paper; LIF integrated exactly; the rule
(:class:`plasticity.modulated.DopamineSTDP`, published τc, τd, τ+, A+, A- — 'verified' in the
package's reference data) runs event by event with its exact closed-form integral of c*d.

Update order of a step (as in models/simulate.py): integrate, threshold/reset, presynaptic
events (the synapse is brought up to date, its eligibility depressed, then the current weight
is delivered to the target's next step), postsynaptic events, reward detection, then the
dopamine releases due in this step.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from importlib import resources

import numpy as np
from numba import njit

from plasticity import modulated
from plasticity.errors import ParameterError, check_int, check_non_negative, check_positive
from plasticity.synapse_index import dense_index

from .common import check_backend, timed


def reference() -> dict:
    """The package's published values for this protocol (``izhikevich2007_dopamine``)."""
    text = resources.files(__package__).joinpath("data/plasticity_data.json").read_text(encoding="utf-8")
    return json.loads(text)["izhikevich2007_dopamine"]


@dataclass(frozen=True)
class Config:
    """Distal reward. ms, mV, Hz; dopamine in µM (the paper's unit)."""

    n_pre: int = 100
    n_post: int = 10
    rate_hz: float = 1.0             # presynaptic Poisson rate
    bg_rate_hz: float = 85.0         # background input per postsynaptic neuron
    bg_mv: float = 3.0               # jump of v per background spike (mV): fluctuation-driven, ~2 Hz
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
    t_ref: float = 2.0
    record_every_ms: float = 10_000.0
    success_fraction: float = 0.9    # rewarded weight >= success_fraction * w_max counts as reached
    seed: int = 0

    def __post_init__(self):
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


@njit(cache=False)
def _simulate(p, st, w, indptr, post_idx, post_ptr, post_syn, syn_pre, n_steps, dt, rate_hz, bg_rate_hz, bg_mv,
              tau_m, v_rest, v_th, ref_steps, window, reward_amount, delay_min, delay_max, record_every,
              seed, w_out, post_i, post_t, reward_t, pairing_t, counts):
    """The distal-reward loop (see the module docstring for the order). Returns nothing;
    fills w_out (records), spike/reward buffers and counts = [n_post_spikes, n_rewards,
    n_pairings, n_pre_spikes, n_records]."""
    np.random.seed(seed)
    n_pre = indptr.size - 1
    n_post = post_ptr.size - 1
    syn_start, syn_stop = indptr[:-1], indptr[1:]
    in_start, in_stop = post_ptr[:-1], post_ptr[1:]
    decay = math.exp(-dt / tau_m)
    mean_isi = 1000.0 / rate_hz
    next_pre = np.empty(n_pre)
    for j in range(n_pre):
        next_pre[j] = np.random.exponential(mean_isi)
    lam_bg = bg_rate_hz * dt * 1e-3
    v = np.full(n_post, v_rest)
    inp = np.zeros(n_post)
    ref_until = np.zeros(n_post, np.int64)
    last_pre0 = -1e300
    pending = np.empty(4096)
    n_pending = 0
    spiked = np.empty(n_post, np.int64)
    for k in range(n_steps):
        t = k * dt
        if k % record_every == 0:
            modulated.flush(p, st, w, t)
            r = counts[4]
            if r < w_out.shape[0]:
                w_out[r, :] = w
                counts[4] += 1
        # integrate, threshold, reset
        n_sp = 0
        for i in range(n_post):
            drive = inp[i] + bg_mv * np.random.poisson(lam_bg) if lam_bg > 0 else inp[i]
            inp[i] = 0.0
            if k >= ref_until[i]:
                v[i] = v_rest + (v[i] - v_rest) * decay + drive
                if v[i] > v_th:
                    v[i] = v_rest
                    ref_until[i] = k + 1 + ref_steps
                    spiked[n_sp] = i
                    n_sp += 1
        # presynaptic spikes: plasticity event, then deliver the up-to-date weight
        for j in range(n_pre):
            if next_pre[j] < t + dt:  # Poisson: exponential intervals, at most one spike per step
                while next_pre[j] < t + dt:
                    next_pre[j] += np.random.exponential(mean_isi)
                counts[3] += 1
                modulated.on_pre(p, st, w, syn_start, syn_stop, post_idx, j, t)
                for s in range(syn_start[j], syn_stop[j]):
                    inp[post_idx[s]] += w[s]
                if j == 0:
                    last_pre0 = t
        # postsynaptic events, and the rewarded pairing (post 0 within window after pre 0)
        for e in range(n_sp):
            i = spiked[e]
            modulated.on_post(p, st, w, in_start, in_stop, post_syn, syn_pre, i, t)
            c = counts[0]
            if c < post_i.size:
                post_i[c] = i
                post_t[c] = t
            counts[0] += 1
            if i == 0 and 0.0 < t - last_pre0 <= window:
                if counts[2] < pairing_t.size:
                    pairing_t[counts[2]] = t
                counts[2] += 1
                if n_pending < pending.size:
                    delay = delay_min + (delay_max - delay_min) * np.random.random()
                    pending[n_pending] = t + dt * math.floor(delay / dt + 0.5)
                    n_pending += 1
        # dopamine releases due now
        q = 0
        while q < n_pending:
            if pending[q] <= t + 0.5 * dt:
                modulated.on_reward(p, st, w, reward_amount, t)
                if counts[1] < reward_t.size:
                    reward_t[counts[1]] = t
                counts[1] += 1
                n_pending -= 1
                pending[q] = pending[n_pending]
            else:
                q += 1
    t_end = n_steps * dt
    modulated.flush(p, st, w, t_end)
    if n_steps % record_every == 0 and counts[4] < w_out.shape[0]:
        w_out[counts[4], :] = w
        counts[4] += 1


def run(config: Config, backend: str = "native") -> Result:
    check_backend(backend)
    if backend != "native":
        raise ParameterError("izhikevich2007 runs on the native backend only (its own Numba loop)")
    c = config
    provenance: dict = {"reference": reference()}
    with timed(provenance, backend, c.seed):
        rule = c.rule()
        index = dense_index(c.n_pre, c.n_post)       # synapse s = j * n_post + i
        n_syn = c.n_pre * c.n_post
        w = np.full(n_syn, float(c.w0))
        st = modulated.init_state(c.n_pre, c.n_post, n_syn)
        n_steps = int(round(c.duration_ms / c.dt))
        every = max(1, int(round(c.record_every_ms / c.dt)))
        n_rec = n_steps // every + 1
        w_out = np.zeros((n_rec, n_syn))
        cap = int(3 * c.duration_ms * 1e-3 * c.n_post * 50 + 1000)
        post_i, post_t = np.zeros(cap, np.int64), np.zeros(cap)
        ev_cap = int(c.duration_ms * 1e-3 * 200 + 1000)
        reward_t, pairing_t = np.zeros(ev_cap), np.zeros(ev_cap)
        counts = np.zeros(5, np.int64)
        seed = int(np.random.default_rng(c.seed).integers(2**31 - 1))
        _simulate(rule.params(), st, w, index.indptr, index.post_idx, index.post_ptr, index.post_syn,
                  index.syn_pre, n_steps, c.dt, c.rate_hz, c.bg_rate_hz, c.bg_mv, c.tau_m, c.v_rest, c.v_th,
                  int(round(c.t_ref / c.dt)), c.window_ms, c.reward_amount, c.delay_min_ms, c.delay_max_ms,
                  every, seed, w_out, post_i, post_t, reward_t, pairing_t, counts)
        n_post_sp, n_rew, n_pair, n_pre_sp, n_rows = (int(x) for x in counts)
        if max(n_post_sp - cap, n_rew - ev_cap, n_pair - ev_cap) > 0:
            raise RuntimeError("event buffers overflowed; rates are far above the configured regime")
        w_t = np.arange(n_rows) * every * c.dt
        dense = w_out[:n_rows].reshape(n_rows, c.n_pre, c.n_post).transpose(0, 2, 1)
        provenance.update(network=f"{c.n_pre} Poisson -> {c.n_post} LIF, {n_syn} plastic synapses, "
                                  f"rewarded: pre 0 -> post 0", n_pre_spikes=n_pre_sp)
    return Result(c, w_t, dense.copy(), reward_t[:n_rew].copy(), pairing_t[:n_pair].copy(), post_i[:n_post_sp].copy(),
                  post_t[:n_post_sp].copy(), n_pre_sp, provenance)


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
