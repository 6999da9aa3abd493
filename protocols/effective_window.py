"""Effective STDP window of gradient rules: BPTT, e-prop, OTTT and RTRL on one pre/post pair.

One LIF neuron of :class:`models.rsnn.RSNN` (n_rec = 1, so W_rec plays no part) reads out
into one leaky readout y (w_out = 1, b_out = 0). Two input channels: the *studied synapse*
(weight ``w_syn`` < v_th, one spike at step t_pre) and a *driver* (weight ``w_drive`` > v_th,
one spike at t_post = t_pre + Δt) that makes the neuron spike exactly at t_post. The run
checks in the forward pass that there is exactly one postsynaptic spike, at t_post, for
every Δt, and none without the driver. The loss rewards the output: MSE to the target
y + 1 (so dL/dy_t = -1 at every step, the gradient of -sum_t y_t); ``loss="punish"`` uses
y - 1 (the gradient of +sum_t y_t). The update of the studied synapse is -dL/dw_syn.

For every Δt (``dt_min`` .. ``dt_max`` in steps of ``dt_step`` ms) and every rule the
protocol records the raw update, the *pre-only* update (the same pre spike, no driver:
the surrogate gradient is not zero below threshold, so a lone pre spike already changes the
weight) and the effective window = raw - pre-only, the part that depends on the pairing.
Exponentials A exp(-|Δt|/τ) are fitted (scipy curve_fit) to each side of the window
(Δt > 0 causal, Δt < 0 anti-causal; Δt = 0 is reported alone: in this discrete model an
input at step t enters v_t, so Δt = 0 is pre-before-post). A sweep over surrogate shapes x
tau_m repeats BPTT, e-prop and OTTT.

Implementation note: all Δt run as one batch on one neuron with 2 input channels per batch
element (element k uses channels 2k, 2k+1 only), so the summed gradient of channel 2k is the
update of experiment k alone; the tests hold this equal to separate n_in = 2 runs.

What the model implies (derived in docs/protocols/effective_window.md, checked by the
tests): every rule's update is dv_{t_pre} = sum_{s >= t_pre} alpha^(s - t_pre) psi_s dz_s, so
the post spike enters through psi at t_post weighted by alpha^Δt (causal side decays with
tau_m) and, for Δt < 0, only through the after-spike potential r = alpha*v_post - v_th left
by the reset, which decays with tau_m as well and has the sign of r. e-prop (symmetric
feedback) drops the reset path (-v_th z_{t-1} in v_t); with one neuron there is no recurrent
path, so e-prop == BPTT(detach_reset=True). OTTT also drops the readout's memory (it uses
the instantaneous error e_t, not the leaky-readout-filtered g_t): e-prop's shape, scaled.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np

from plasticity.errors import ParameterError, check_choice, check_dt, check_positive, validate

from .common import check_backend, timed

RULES = ("bptt", "eprop", "ottt", "rtrl")
SURROGATES = ("triangular", "fast_sigmoid", "arctan", "rectangular")
LOSSES = ("reward", "punish")
SWEEP_RULES = ("bptt", "eprop", "ottt")          # RTRL == BPTT (checked on the main curve)
BI_POO_TAU_PLUS, BI_POO_TAU_MINUS = 16.8, 33.7  # ms, analysis/data/plasticity_data.json "bi_poo_window"
V_TH = 1.0
ZERO = 1e-9  # a window side whose largest |value| is below ZERO x the window's largest |value| counts as zero


@dataclass(frozen=True)
class Config:
    """Pairing of one pre and one forced post spike. Times in ms; weights in units of v_th."""

    dt_min: float = -100.0        # ms, smallest t_post - t_pre
    dt_max: float = 100.0         # ms, largest
    dt_step: float = 1.0          # ms, a multiple of dt
    dt: float = 1.0               # ms, simulation step
    tau_m: float = 20.0           # ms, membrane time constant
    tau_out: float = 20.0         # ms, readout time constant
    surrogate: str = "triangular"
    w_syn: float = 0.05           # studied synapse, < v_th (cannot fire the neuron alone)
    w_drive: float = 1.1          # driver synapse, > v_th (fires the neuron at t_post)
    loss: str = "reward"          # "reward": dL/dy = -1 each step; "punish": +1
    rules: str = "bptt,eprop,ottt,rtrl"
    tail_ms: float = 400.0        # ms simulated after the latest post spike (readout/membrane decay)
    sweep: bool = True
    sweep_surrogates: tuple = SURROGATES
    sweep_tau_m: tuple = (10.0, 20.0, 40.0)

    def __post_init__(self):
        validate(self)   # every field by its annotation: type, finite (plasticity.errors)
        check_positive("dt", self.dt, "ms")
        check_positive("tau_m", self.tau_m, "ms")
        check_positive("tau_out", self.tau_out, "ms")
        check_positive("dt_step", self.dt_step, "ms")
        check_positive("tail_ms", self.tail_ms, "ms")
        for name in ("dt_min", "dt_max", "dt_step"):
            value = getattr(self, name)
            if not math.isfinite(value) or abs(value / self.dt - round(value / self.dt)) > 1e-9:
                raise ParameterError(f"{name} must be a finite multiple of dt = {self.dt} ms, got {value!r}")
        if not self.dt_min < self.dt_max:
            raise ParameterError(f"dt_max must be > dt_min ({self.dt_min} ms), got {self.dt_max}")
        check_choice("surrogate", self.surrogate, SURROGATES)
        check_choice("loss", self.loss, LOSSES)
        check_positive("w_syn", self.w_syn)
        if self.w_syn >= V_TH:
            raise ParameterError(f"w_syn must be < v_th = {V_TH} (the studied synapse must not fire the neuron "
                                 f"alone), got {self.w_syn!r}")
        check_positive("w_drive", self.w_drive)
        if self.w_drive <= V_TH:
            raise ParameterError(f"w_drive must be > v_th = {V_TH} (the driver must fire the neuron), "
                                 f"got {self.w_drive!r}")
        alpha = math.exp(-self.dt / self.tau_m)
        if alpha * (self.w_drive + self.w_syn) - V_TH >= V_TH:
            raise ParameterError(f"w_drive must be < 2*v_th/alpha - w_syn = {2 * V_TH / alpha - self.w_syn:.4g} "
                                 f"(else the neuron fires again after the reset), got {self.w_drive!r}")
        self.rule_list()
        if not self.sweep_surrogates or not self.sweep_tau_m:
            if self.sweep:
                raise ParameterError("sweep_surrogates and sweep_tau_m must be non-empty when sweep is true, "
                                     f"got {self.sweep_surrogates!r}, {self.sweep_tau_m!r}")
        for s in self.sweep_surrogates:
            check_choice("sweep_surrogates entry", s, SURROGATES)
        for tau in self.sweep_tau_m:
            check_positive("sweep_tau_m entry", tau, "ms")
            a = math.exp(-self.dt / tau)
            if a * (self.w_drive + self.w_syn) - V_TH >= V_TH:
                raise ParameterError(f"sweep_tau_m entry {tau!r} ms makes the neuron fire again after the reset "
                                     f"with w_drive = {self.w_drive}")
        check_dt(self.dt, min((self.tau_m, self.tau_out) + (tuple(self.sweep_tau_m) if self.sweep else ())))

    @classmethod
    def small(cls) -> "Config":
        """About 2 s: Δt every 5 ms, sweep of the four surrogates x tau_m 10 and 40 ms."""
        return cls(dt_step=5.0, sweep_tau_m=(10.0, 40.0))

    def rule_list(self) -> list[str]:
        rules = [r.strip() for r in str(self.rules).split(",") if r.strip()]
        if not rules or any(r not in RULES for r in rules) or len(set(rules)) != len(rules):
            raise ParameterError(f"rules must be distinct names from {', '.join(RULES)}, comma-separated, "
                                 f"got {self.rules!r}")
        return rules

    @property
    def dts(self) -> np.ndarray:
        n = int(round((self.dt_max - self.dt_min) / self.dt_step)) + 1
        d = self.dt_min + self.dt_step * np.arange(n)
        return d[d <= self.dt_max + 1e-9]

    @property
    def t_pre_step(self) -> int:
        """Step of the pre spike: late enough that the earliest post spike is at step >= 5."""
        return 5 + max(0, int(round(-self.dt_min / self.dt)))


@dataclass(frozen=True)
class Result:
    config: Config
    rules: str                  # comma-separated, order of the per-rule axes
    dt_ms: np.ndarray           # (n,) t_post - t_pre
    t_pre_step: int             # step of the pre spike
    post_step: np.ndarray       # (n,) step of the (only) post spike observed in the forward pass
    n_post_spikes: np.ndarray   # (n,) post spikes per pairing (1 everywhere when the protocol worked)
    n_spikes_pre_only: int      # post spikes of the pre-only run (0)
    update: np.ndarray          # (rules, n) -dL/dw_syn for each pairing
    pre_only: np.ndarray        # (rules,) -dL/dw_syn with the pre spike alone
    window: np.ndarray          # (rules, n) update - pre_only
    fit: np.ndarray             # (rules, 4) [A_causal, tau_causal, A_anti, tau_anti] (A signed, ms), NaN: no fit
    after_potential: float      # r = alpha*v_post - v_th, v the step after the post spike (no pre), v_th units
    bptt_minus_rtrl: float      # max |BPTT - RTRL| over Δt (NaN without both)
    eprop_minus_bptt_detached: float  # max |e-prop - BPTT(detach_reset=True)| over Δt (NaN without both)
    reset_path: np.ndarray      # (n,) BPTT - BPTT(detach_reset=True): the reset path e-prop drops
    sweep_surrogates: str = ""          # comma-separated
    sweep_tau_m: np.ndarray = field(default_factory=lambda: np.zeros(0))
    sweep_rules: str = ""
    sweep_window: np.ndarray = field(default_factory=lambda: np.zeros((0, 0, 0, 0)))  # (S, K, R, n)
    sweep_fit: np.ndarray = field(default_factory=lambda: np.zeros((0, 0, 0, 4)))     # (S, K, R, 4)
    sweep_after_potential: np.ndarray = field(default_factory=lambda: np.zeros(0))    # (K,)
    provenance: dict = field(default_factory=dict)

    def rule_names(self) -> list[str]:
        return self.rules.split(",")


# -- the experiment -------------------------------------------------------------------------------
def build(config: Config, tau_m: float, surrogate: str):
    """(net, x, n_steps): the batched experiment, one batch element per Δt plus a last, pre-only one.

    Element k uses input channels 2k (studied synapse, w_syn) and 2k+1 (driver, w_drive)."""
    from models.rsnn import RSNN

    steps = np.rint(config.dts / config.dt).astype(int)
    t_pre = config.t_pre_step
    T = t_pre + max(0, int(steps.max())) + int(math.ceil(config.tail_ms / config.dt)) + 1
    K = steps.size + 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")      # dt vs tau warnings are the Config's business
        net = RSNN(2 * K, 1, 1, dt=config.dt, tau_m=tau_m, tau_out=config.tau_out, v_th=V_TH,
                   surrogate=surrogate, seed=0)
    w_in = np.zeros((1, 2 * K))
    w_in[0, 0::2] = config.w_syn
    w_in[0, 1::2] = config.w_drive
    net.set_weights({"w_in": w_in, "w_rec": np.zeros((1, 1)), "w_out": np.ones((1, 1)), "b_out": np.zeros(1)})
    x = np.zeros((K, T, 2 * K))
    for k in range(K):
        x[k, t_pre, 2 * k] = 1.0
        if k < steps.size:
            x[k, t_pre + steps[k], 2 * k + 1] = 1.0
    return net, x, steps


def updates(net, x, sign: float, rules) -> dict:
    """-dL/dw_syn per batch element for each rule; L has dL/dy_t = -sign at every step."""
    from plasticity import bptt, eprop, ottt, rtrl

    K = x.shape[0]
    y = net.forward(x).y
    target = y + sign           # MSE error (y - target)/K = -sign/K per element; times K below
    fns = {"bptt": lambda: bptt.gradients(net, x, target),
           "bptt_detached": lambda: bptt.gradients(net, x, target, detach_reset=True),
           "eprop": lambda: eprop.gradients(net, x, target, feedback="symmetric"),
           "ottt": lambda: ottt.gradients(net, x, target),
           "rtrl": lambda: rtrl.gradients(net, x, target)}
    return {r: -K * fns[r]()["w_in"][0, 0::2] for r in rules}


def fit_side(s, y):
    """Least-squares A exp(-s/tau) on one side (s = |Δt| > 0). Returns (A signed, tau ms); (0, NaN)
    for a side that is zero; (NaN, NaN) when the fit fails."""
    from scipy.optimize import curve_fit

    y = np.asarray(y, dtype=float)
    if y.size < 3:
        return np.nan, np.nan
    i = int(np.argmax(np.abs(y)))
    sign = 1.0 if y[i] > 0 else -1.0
    p0 = (abs(y[i]) * math.exp(s[i] / 20.0), 20.0)
    try:
        (a, tau), _ = curve_fit(lambda t, a, tau: a * np.exp(-t / tau), s, sign * y, p0=p0, maxfev=20000)
    except RuntimeError:
        return np.nan, np.nan
    return sign * a, tau


def fit_window(dt_ms, w) -> np.ndarray:
    """[A_causal, tau_causal, A_anti, tau_anti] of one window (Δt > 0 and Δt < 0 sides)."""
    scale = np.max(np.abs(w)) if w.size else 0.0
    out = np.full(4, np.nan)
    for k, mask in enumerate((dt_ms > 0, dt_ms < 0)):
        side = w[mask]
        if scale == 0.0 or np.max(np.abs(side), initial=0.0) <= ZERO * scale:
            out[2 * k] = 0.0
            continue
        out[2 * k:2 * k + 2] = fit_side(np.abs(dt_ms[mask]), side / scale)
        out[2 * k] *= scale
    return out


def after_potential(config: Config, tau_m: float) -> float:
    """v one step after the post spike (driver only, no pre): alpha*w_drive - v_th."""
    return math.exp(-config.dt / tau_m) * config.w_drive - V_TH


def run(config: Config, backend: str = "native") -> Result:
    check_backend(backend)
    if backend != "native":
        raise ParameterError("backend must be 'native' for effective_window (gradient rules run on models.rsnn), "
                             f"got {backend!r}")
    provenance: dict = {}
    sign = 1.0 if config.loss == "reward" else -1.0
    rules = config.rule_list()
    with timed(provenance, backend):
        net, x, steps = build(config, config.tau_m, config.surrogate)
        z = net.forward(x).z[:, :, 0]
        n_spikes = z[:-1].sum(axis=1).astype(int)
        post_step = np.array([int(np.argmax(row)) if row.any() else -1 for row in z[:-1]])
        want = config.t_pre_step + steps
        if np.any(n_spikes != 1) or np.any(post_step != want) or z[-1].any():
            bad = np.nonzero((n_spikes != 1) | (post_step != want))[0]
            raise ParameterError(f"w_syn = {config.w_syn}, w_drive = {config.w_drive}: the post spike is not the "
                                 f"single spike at t_pre + Δt for Δt = {config.dts[bad[:5]]} ms "
                                 f"(pre-only spikes: {int(z[-1].sum())})")
        extra = ["bptt_detached"] + (["bptt"] if "bptt" not in rules else [])
        u = updates(net, x, sign, rules + extra)
        update = np.stack([u[r][:-1] for r in rules])
        pre_only = np.array([u[r][-1] for r in rules])
        window = update - pre_only[:, None]
        dts = config.dts
        fit = np.stack([fit_window(dts, w) for w in window])
        b_r = (float(np.max(np.abs(u["bptt"] - u["rtrl"]))) if "rtrl" in u else np.nan)
        e_b = (float(np.max(np.abs(u["eprop"] - u["bptt_detached"]))) if "eprop" in u else np.nan)
        reset_path = (u["bptt"] - u["bptt_detached"])[:-1]
        sweep = {}
        if config.sweep:
            sweep = run_sweep(config, sign)
    return Result(config, ",".join(rules), dts, config.t_pre_step, post_step, n_spikes, int(z[-1].sum()),
                  update, pre_only, window, fit, after_potential(config, config.tau_m), b_r, e_b, reset_path,
                  provenance=provenance, **sweep)


def run_sweep(config: Config, sign: float) -> dict:
    S, K, R = len(config.sweep_surrogates), len(config.sweep_tau_m), len(SWEEP_RULES)
    dts = config.dts
    windows = np.zeros((S, K, R, dts.size))
    fits = np.zeros((S, K, R, 4))
    for i, sur in enumerate(config.sweep_surrogates):
        for j, tau in enumerate(config.sweep_tau_m):
            net, x, _ = build(config, float(tau), sur)
            u = updates(net, x, sign, SWEEP_RULES)
            for r, name in enumerate(SWEEP_RULES):
                windows[i, j, r] = u[name][:-1] - u[name][-1]
                fits[i, j, r] = fit_window(dts, windows[i, j, r])
    return dict(sweep_surrogates=",".join(config.sweep_surrogates),
                sweep_tau_m=np.array(config.sweep_tau_m, dtype=float), sweep_rules=",".join(SWEEP_RULES),
                sweep_window=windows, sweep_fit=fits,
                sweep_after_potential=np.array([after_potential(config, float(t)) for t in config.sweep_tau_m]))


# -- reading the result ---------------------------------------------------------------------------
def side_sign(window_row, dt_ms, side: str) -> int:
    """+1 / -1 / 0: the sign of the largest |value| on one side ("causal" Δt > 0, "anti" Δt < 0)."""
    side_values = window_row[dt_ms > 0] if side == "causal" else window_row[dt_ms < 0]
    scale = np.max(np.abs(window_row))
    if side_values.size == 0 or scale == 0 or np.max(np.abs(side_values)) <= ZERO * scale:
        return 0
    return int(np.sign(side_values[np.argmax(np.abs(side_values))]))


def _word(sign: int) -> str:
    """The name of an update's sign (potentiation: the weight grows)."""
    return "zero" if sign == 0 else ("potentiation" if sign > 0 else "depression")


def bi_poo_curve(dt_ms):
    """Bi & Poo's window shape, +exp(-Δt/16.8) for Δt > 0 and -exp(Δt/33.7) for Δt < 0 (peak 1)."""
    d = np.asarray(dt_ms, dtype=float)
    return np.where(d > 0, np.exp(-d / BI_POO_TAU_PLUS), np.where(d < 0, -np.exp(d / BI_POO_TAU_MINUS), np.nan))


def stdp_parts(result: Result) -> list[str]:
    """Which parts of the STDP window each rule reproduces, from the computed numbers."""
    d = result.dt_ms
    out = []
    for r, name in enumerate(result.rule_names()):
        w = result.window[r]
        c, a = side_sign(w, d, "causal"), side_sign(w, d, "anti")
        tc, ta = result.fit[r, 1], result.fit[r, 3]
        parts = []
        parts.append(f"causal potentiation {'yes' if c > 0 else 'NO'} (tau {tc:.1f} ms vs Bi & Poo 16.8)"
                     if c else "causal branch: none")
        if a < 0:
            raw_min = float(np.min(result.update[r][d < 0]))
            net = "a net weight decrease" if raw_min < 0 else f"no net decrease: the raw update stays >= {raw_min:.3g}"
            parts.append(f"post-before-pre depression relative to the pre-only update yes (tau {ta:.1f} ms vs "
                         f"Bi & Poo 33.7), {net}")
        elif a > 0:
            parts.append(f"post-before-pre depression NO: the anti-causal side potentiates (tau {ta:.1f} ms)")
        else:
            parts.append("post-before-pre depression NO: the anti-causal side is zero")
        if abs(result.pre_only[r]) > ZERO * np.max(np.abs(result.update[r])):
            parts.append(f"and a pre-only (unpaired) update {result.pre_only[r]:+.3g} that STDP does not have")
        out.append(f"{name}: " + "; ".join(parts))
    return out


def summary(result: Result) -> str:
    c = result.config
    d = result.dt_ms
    lines = [f"effective_window: 1 LIF (tau_m {c.tau_m:g} ms, {c.surrogate} surrogate) -> leaky readout "
             f"(tau_out {c.tau_out:g} ms); w_syn {c.w_syn:g}, w_drive {c.w_drive:g} (v_th = 1); loss '{c.loss}' "
             f"(dL/dy_t = {'-1' if c.loss == 'reward' else '+1'}); {d.size} values of Δt in [{d.min():g}, {d.max():g}] ms",
             f"  forward pass: exactly one post spike at t_pre + Δt for every Δt "
             f"({int(np.sum(result.n_post_spikes == 1))}/{d.size}); pre alone: {result.n_spikes_pre_only} spikes; "
             f"after-spike potential r = alpha*v_post - v_th = {result.after_potential:+.4f}",
             f"  {'rule':<6} {'pre-only':>10} {'Δt=0':>10} {'causal':>13} {'tau_c ms':>9} {'anti-causal':>13} "
             f"{'tau_a ms':>9}"]
    i0 = np.nonzero(d == 0)[0]
    for r, name in enumerate(result.rule_names()):
        w = result.window[r]
        cs, as_ = side_sign(w, d, "causal"), side_sign(w, d, "anti")
        w0 = f"{w[i0[0]]:+.3g}" if i0.size else "—"
        lines.append(f"  {name:<6} {result.pre_only[r]:>+10.3g} {w0:>10} {_word(cs):>13} "
                     f"{result.fit[r, 1]:>9.2f} {_word(as_):>13} {result.fit[r, 3]:>9.2f}")
    lines.append("  (window = update - pre-only update; 'causal' is Δt > 0; tau from A exp(-|Δt|/tau) fits; "
                 "Bi & Poo: tau+ 16.8, tau- 33.7 ms)")
    lines.append(f"  checks: max|BPTT - RTRL| = {result.bptt_minus_rtrl:.2e}; max|e-prop - BPTT(detach_reset)| = "
                 f"{result.eprop_minus_bptt_detached:.2e} (one neuron: no recurrent path, so e-prop drops only the "
                 f"reset path, max |reset-path part| = {np.max(np.abs(result.reset_path)):.3g})")
    lines.append("  STDP parts reproduced:")
    lines += ["    " + s for s in stdp_parts(result)]
    if result.sweep_tau_m.size:
        lines.append("  sweep (window fits; sign of each side; r = after-spike potential):")
        lines.append(f"    {'surrogate':<13} {'tau_m':>5} {'r':>7}  " +
                     "  ".join(f"{n + ' c/tau':>15} {n + ' a/tau':>15}" for n in result.sweep_rules.split(",")))
        for i, sur in enumerate(result.sweep_surrogates.split(",")):
            for j, tau in enumerate(result.sweep_tau_m):
                cells = []
                for r in range(len(result.sweep_rules.split(","))):
                    w = result.sweep_window[i, j, r]
                    f = result.sweep_fit[i, j, r]
                    cells.append(f"{'+-0'[[1, -1, 0].index(side_sign(w, d, 'causal'))]}{f[1]:>14.2f} "
                                 f"{'+-0'[[1, -1, 0].index(side_sign(w, d, 'anti'))]}{f[3]:>14.2f}")
                lines.append(f"    {sur:<13} {tau:>5g} {result.sweep_after_potential[j]:>+7.3f}  " + "  ".join(cells))
    return "\n".join(lines)


def compare(result: Result) -> list[dict]:
    """Report rows: each rule's causal decay against Bi & Poo's tau+ (comparison only), and the checks."""
    rows = []
    for r, name in enumerate(result.rule_names()):
        tau = result.fit[r, 1]
        rows.append(dict(rule=name, measure="causal-side decay tau (ms) minus Bi & Poo tau+",
                         distance=float(tau - BI_POO_TAU_PLUS), paper="tau+ = 16.8 ms (Bi & Poo 1998/2001)",
                         tolerance="none: a comparison (the model predicts tau ≈ tau_m)", passed=None,
                         note=f"{name}: " + stdp_parts(result)[r].split(": ", 1)[1]))
    if np.isfinite(result.bptt_minus_rtrl):
        rows.append(dict(rule="bptt vs rtrl", measure="max |update difference| over Δt",
                         distance=result.bptt_minus_rtrl, paper="equal (exact gradients)", tolerance="< 1e-10",
                         passed=bool(result.bptt_minus_rtrl < 1e-10)))
    if np.isfinite(result.eprop_minus_bptt_detached):
        rows.append(dict(rule="eprop vs bptt(detach_reset)", measure="max |update difference| over Δt",
                         distance=result.eprop_minus_bptt_detached, paper="equal (Bellec et al. 2020)",
                         tolerance="< 1e-10", passed=bool(result.eprop_minus_bptt_detached < 1e-10)))
    return rows


def plot(result: Result) -> dict:
    from matplotlib.figure import Figure

    d = result.dt_ms
    names = result.rule_names()
    styles = {"bptt": ("C0", "-"), "rtrl": ("C3", ":"), "eprop": ("C1", "--"), "ottt": ("C2", "-.")}
    fig = Figure(figsize=(11, 4), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    s = np.linspace(d.min(), d.max(), 801)
    for ax in (ax1, ax2):
        ax.plot(s, bi_poo_curve(s), color="k", lw=1.5, alpha=0.5, label="Bi & Poo (τ+ 16.8, τ− 33.7 ms)")
        ax.axhline(0, color="k", lw=0.5)
        ax.axvline(0, color="k", lw=0.5)
    for r, n in enumerate(names):
        color, ls = styles[n]
        w, u = result.window[r], result.update[r]
        ax1.plot(d, w / np.max(np.abs(w)), ls, color=color, label=n)
        ax2.plot(d, u / np.max(np.abs(u)), ls, color=color, label=n)
    c = result.config
    ax1.set(xlabel="Δt = t_post − t_pre (ms)", ylabel="normalised update",
            title=f"pairing-dependent update (minus pre-only), {c.surrogate}, τ_m {c.tau_m:g} ms")
    ax2.set(xlabel="Δt = t_post − t_pre (ms)", ylabel="normalised update", title="raw update −dL/dw")
    ax1.legend(fontsize="small", loc="lower right")
    figs = {"effective_window": fig}
    if result.sweep_tau_m.size:
        surs = result.sweep_surrogates.split(",")
        srules = result.sweep_rules.split(",")
        fig = Figure(figsize=(3 * len(surs), 2.4 * len(srules) + 0.4), layout="constrained")
        axes = np.atleast_2d(fig.subplots(len(srules), len(surs), sharex=True))
        for r, rn in enumerate(srules):
            for i, sur in enumerate(surs):
                ax = axes[r, i]
                ax.plot(s, bi_poo_curve(s), color="k", lw=1, alpha=0.4)
                for j, tau in enumerate(result.sweep_tau_m):
                    w = result.sweep_window[i, j, r]
                    ax.plot(d, w / np.max(np.abs(w)), color=f"C{j}", lw=1, label=f"τ_m {tau:g} ms")
                ax.axhline(0, color="k", lw=0.5)
                ax.set_title(f"{rn}, {sur}", fontsize="small")
        axes[0, 0].legend(fontsize="x-small")
        for ax in axes[-1]:
            ax.set_xlabel("Δt (ms)")
        figs["sweep"] = fig
    return figs
