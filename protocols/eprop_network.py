"""e-prop / OTTT online in a continuous-time LIF network (models.Network): pattern generation.

The pattern-generation task of Bellec et al. 2020 (Nat Commun 11:3625, Fig. 2;
:class:`protocols.tasks.PatternGeneration`): a leaky readout must reproduce a sum of sines
(1, 2, 3, 5 Hz, random amplitudes and phases) from one frozen Poisson input pattern
(``n_in`` inputs at ``rate_hz``, spikes on a 1 ms grid), presented again every
``period_ms``. The network is built directly with :class:`models.Network` and has what the
discrete RSNN (:mod:`models.rsnn`) cannot express:

* time step ``dt`` = 0.1 ms by default (the RSNN: 1 ms);
* exponential synaptic currents (``LIF(synapses="current")``, tau_syn, weights in pA);
* synaptic delays (``delay_ms``, default 1 ms) on the input and recurrent projections (the
  projection into the readout has none: y_k reads the spikes of step k);
* Poisson background input (``n_background`` PoissonGroup neurons, static weights);
* optionally ALIF neurons (``n_alif``, threshold adaptation beta, tau_a).

Membrane: e_leak = v_reset = -70 mV, v_th = -50 mV, tau_m, c_m = 250 pF. Reset: ``reset=
"subtract"`` (v -= v_th - v_reset at the next integration, as in Bellec et al. 2020, NEST's
eprop_iaf and the RSNN) with a refractory period ``t_ref`` = 2 ms. Subtractive, because the
eligibility traces of e-prop/OTTT drop the reset path and the subtraction is the reset the
RSNN has, so the two models differ only in what this protocol is about. The refractory
period, because at dt = 0.1 ms a subtractive reset alone lets a neuron fire at every step
(up to 10 kHz): with t_ref = 0, seeds 1 and 2 of the small config had a runaway trial (3.1
and 2.6 kHz mean rate) that set psi to 0 (v far above threshold) and undid the training
(test normalised MSE 0.26 and 2.1); with 2 ms every seed trained smoothly (0.030-0.043).
While refractory v is held and psi = 0; the presynaptic traces go on, so the eligibility is
the non-refractory dv/dw (an approximation the RSNN does not need). ``reset="value"``
(v = v_reset) trains as well (normalised MSE 0.048 against 0.043, small config, seed 0).

Rule: ``rule="eprop"`` (:class:`plasticity.EPropRule`, ``feedback`` "random" by default
or "symmetric") or ``"ottt"`` (:class:`plasticity.OTTTRule`, symmetric by definition), on
the projections input -> rec and rec -> rec (``readout=out``) and rec -> out. Training: one
trial = one period; per trial ``net.run(period)``, ``learner.gradients()``, Adam,
``learner.reset()``. The network has no state reset, so trials follow each other without a
break (the state at the end of a trial is the next one's start) and the Readout's target is
the sum of sines sampled on the dt grid and repeated for every trial (an array: a callable
target is evaluated per step in Python, ~40 % of the run time at dt = 0.1 ms). After
``trials`` trials one more trial runs without update: the *test trial* (normalised MSE after
training, raster, readout against target).

Units: weights are parametrised as in the RSNN (dimensionless theta, v_th = 1): hidden
weights w = theta * u_hid with u_hid = (v_th - v_reset) c_m / tau_syn pA (the current
amplitude whose charge moves v by the threshold distance; delta synapses: v_th - v_reset
mV), readout weights w = theta * u_out with u_out = (1 - kappa_dt) / (1 - kappa_1ms) (a
spike adds the same area to y as in the RSNN), bias in y units, random feedback B = the
RSNN's B (same seed) * u_out (B stands for W_out^T). Initial theta = the RSNN's (same
``seed``), and Adam runs on theta (an exact reparametrisation), so ``lr`` and ``c_reg``
are the RSNN's numbers: the MSE and the regulariser's gradients both grow as 1 ms / dt
(more steps, each with its pseudo-derivative), so their balance is the RSNN's.

Beside it, the RSNN (:mod:`models.rsnn`, dt = 1 ms, delta synapses, no delay, no background)
is trained on the same input spikes and target with ``plasticity.eprop.gradients`` (or
``plasticity.ottt.gradients``) and Adam for as many iterations as trials, from zero state
each iteration (as compare_bptt does).

Recorded: per trial the normalised MSE (MSE / variance of the target) and the mean firing
rate; for the test trial the spikes, the readout and the target; the RSNN's normalised MSE
per iteration and after training; times per trial and compile time.

Measured (docs/protocols/eprop_network.md): default config, seeds 0/1/2, test-trial
normalised MSE 0.023/0.022/0.014 (untrained ~1.0; the RSNN after 200 iterations
0.022/0.019/0.146); ``plab report`` criterion: < 0.1 (:data:`CRITERION`).

    plab run eprop_network                       # 100 LIF, 200 trials of 1 s at dt = 0.1 ms
    plab run eprop_network --small               # 50 LIF, 150 trials
    plab run eprop_network --set rule=ottt
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from plasticity.errors import ParameterError, check_choice, check_int, check_non_negative, check_positive, validate

from .common import check_backend, check_target, timed

RULES = ("eprop", "ottt")
FEEDBACKS = ("symmetric", "random")
E_LEAK, V_TH, C_M = -70.0, -50.0, 250.0      # mV, mV, pF (v_reset = e_leak)
RSNN_DT = 1.0                                # ms, the RSNN's step and the input pattern's grid
CRITERION = 0.1     # plab report: test-trial normalised MSE after training (docs/protocols/eprop_network.md)


@dataclass(frozen=True)
class Config:
    """Times in ms, rates in Hz; weights and lr in the RSNN's units (see the module docstring)."""

    rule: str = "eprop"
    feedback: str | None = None       # e-prop: "random" (default) or "symmetric"; OTTT: symmetric
    trials: int = 200                 # training trials (one period each), then one test trial
    period_ms: float = 1000.0         # pattern length, whole ms (1, 2, 3, 5 Hz: periodic in 1000 ms)
    dt: float = 0.1                   # ms
    n_in: int = 100
    rate_hz: float = 50.0             # input rate of the frozen pattern
    n_rec: int = 100
    n_alif: int = 0                   # the last n_alif recurrent neurons are ALIF
    beta: float = 1.8                 # ALIF threshold adaptation, units of v_th - v_reset (20 mV)
    tau_a: float = 200.0              # ms, ALIF adaptation
    tau_m: float = 20.0               # ms
    synapses: str = "current"         # "current": exponential currents (pA); "delta": jumps of v (mV)
    tau_syn: float = 5.0              # ms, exponential synaptic currents
    reset: str = "subtract"           # "subtract" (v -= v_th - v_reset) or "value" (v = v_reset)
    t_ref: float = 2.0                # ms, refractory period (caps the rate at 1000 / t_ref Hz)
    tau_out: float = 20.0             # ms, readout
    delay_ms: float = 1.0             # ms, input -> rec and rec -> rec (and background) delay
    n_background: int = 100           # Poisson background neurons (0: none)
    background_hz: float = 10.0
    background_scale: float = 0.5     # background weights: normal, std scale / sqrt(n_background) (theta units)
    lr: float = 3e-3                  # Adam step on theta
    c_reg: float = 1e-2               # firing-rate regularisation (the RSNN's value, per Hz^2)
    f_target: float = 10.0            # Hz
    rsnn: bool = True                 # train the discrete RSNN beside it
    seed: int = 0
    target: str = "numpy"             # Brian2 code-generation target with backend="brian2"

    def __post_init__(self):
        validate(self)   # every field by its annotation: type, finite (plasticity.errors)
        check_choice("rule", self.rule, RULES)
        check_choice("synapses", self.synapses, ("current", "delta"))
        check_choice("reset", self.reset, ("subtract", "value"))
        if self.feedback is not None:
            check_choice("feedback", self.feedback, FEEDBACKS)
            if self.rule == "ottt" and self.feedback != "symmetric":
                raise ParameterError(f"feedback must be 'symmetric' (or None) for rule 'ottt', got {self.feedback!r}")
        check_int("trials", self.trials, 1)
        check_positive("dt", self.dt, "ms")
        if self.dt > RSNN_DT:
            raise ParameterError(f"dt must be <= {RSNN_DT} ms (the input pattern's grid), got {self.dt!r}")
        if abs(RSNN_DT / self.dt - round(RSNN_DT / self.dt)) > 1e-6:
            raise ParameterError(f"dt must divide {RSNN_DT} ms (0.1, 0.2, 0.25, 0.5 ...), got {self.dt!r}")
        check_positive("period_ms", self.period_ms, "ms")
        if abs(self.period_ms - round(self.period_ms)) > 1e-6:
            raise ParameterError(f"period_ms must be a whole number of ms (the input grid), got {self.period_ms!r}")
        check_int("n_in", self.n_in, 1)
        check_positive("rate_hz", self.rate_hz, "Hz")
        check_int("n_rec", self.n_rec, 2)
        check_int("n_alif", self.n_alif, 0)
        if self.n_alif > self.n_rec:
            raise ParameterError(f"n_alif must be <= n_rec = {self.n_rec}, got {self.n_alif}")
        check_non_negative("beta", self.beta)
        for name in ("tau_a", "tau_m", "tau_syn", "tau_out"):
            check_positive(name, getattr(self, name), "ms")
        check_non_negative("t_ref", self.t_ref, "ms")
        check_non_negative("delay_ms", self.delay_ms, "ms")
        check_int("n_background", self.n_background, 0)
        check_non_negative("background_hz", self.background_hz, "Hz")
        check_non_negative("background_scale", self.background_scale)
        check_positive("lr", self.lr)
        check_non_negative("c_reg", self.c_reg)
        check_non_negative("f_target", self.f_target, "Hz")
        if not isinstance(self.rsnn, bool):
            raise ParameterError(f"rsnn must be true or false, got {self.rsnn!r}")
        check_int("seed", self.seed, 0)
        check_target(self.target)

    @classmethod
    def small(cls) -> "Config":
        """~20 s: 50 LIF, 150 trials of 1 s (the same task, dt, delays, background)."""
        return cls(n_rec=50, trials=150)

    @property
    def feedback_used(self) -> str:
        return "symmetric" if self.rule == "ottt" else (self.feedback or "random")

    @property
    def steps(self) -> int:
        """Network steps per trial."""
        return int(round(self.period_ms / self.dt))

    def task(self):
        from .tasks import PatternGeneration

        return PatternGeneration(n_in=self.n_in, duration_ms=self.period_ms, dt=RSNN_DT, rate_hz=self.rate_hz,
                                 seed=self.seed)

    def units(self) -> dict:
        """Weight units by parameter name: theta * unit is the network's weight (pA, y units)."""
        u_hid = (V_TH - E_LEAK) * (C_M / self.tau_syn if self.synapses == "current" else 1.0)
        u_out = (1.0 - math.exp(-self.dt / self.tau_out)) / (1.0 - math.exp(-RSNN_DT / self.tau_out))
        return {"w_in": u_hid, "w_rec": u_hid, "w_out": u_out, "b_out": 1.0}


@dataclass(frozen=True)
class Result:
    config: Config
    nmse: np.ndarray              # (trials,) normalised MSE of each training trial (weights before its update)
    rate_hz: np.ndarray           # (trials,) mean firing rate of the recurrent neurons per trial
    nmse_test: float              # the test trial after training (no update)
    rate_test_hz: float
    t_test: np.ndarray            # (period_ms,) ms from the start of the test trial, every 1 ms
    y_test: np.ndarray            # (period_ms,) readout at those times during the test trial
    target: np.ndarray            # (period_ms,) the target at those times (every trial's)
    spike_i: np.ndarray           # spikes of the test trial: neuron index
    spike_t: np.ndarray           # and time (ms from the start of the test trial)
    rsnn_nmse: np.ndarray         # (trials,) the RSNN's normalised MSE per iteration (before its update)
    rsnn_nmse_test: float         # the RSNN's after training (nan without rsnn)
    rsnn_rate_hz: float
    rsnn_y: np.ndarray            # (period_ms,) the trained RSNN's readout (its target: ``target``)
    time_per_trial_s: float       # median wall time of run + gradients + Adam (compile excluded)
    rsnn_time_per_iter_s: float
    compile_s: float              # the network loop's compile (or cache load) in this run
    provenance: dict = field(default_factory=dict)


class _Scaled:
    """Adam on theta = w / unit (per parameter name): the update of w is unit * delta(unit * grad)."""

    def __init__(self, inner, units: dict):
        self.inner, self.units = inner, units

    def delta(self, grads: dict) -> dict:
        d = self.inner.delta({k: g * self.units[k] for k, g in grads.items()})
        return {k: v * self.units[k] for k, v in d.items()}


def initial_rsnn(config: Config):
    """The RSNN whose initial weights (theta) both models start from."""
    from models.rsnn import RSNN

    c = config
    return RSNN(c.n_in, c.n_rec, 1, n_alif=c.n_alif, dt=RSNN_DT, tau_m=c.tau_m, tau_a=c.tau_a, beta=c.beta,
                tau_out=c.tau_out, seed=c.seed)


def feedback_matrix(config: Config) -> np.ndarray:
    """The random feedback weights B (n_rec, 1) of the RSNN (theta units), drawn from ``seed + 1``."""
    return np.random.default_rng(config.seed + 1).standard_normal((config.n_rec, 1)) / math.sqrt(config.n_rec)


def build(config: Config, x: np.ndarray, target_fn, n_periods: int):
    """``(net, learner, handles)``: the network of the module docstring, inputs and target for
    ``n_periods`` periods, weights theta * unit from :func:`initial_rsnn`."""
    import models
    import plasticity
    from models.learning import Learner

    c = config
    units = c.units()
    period = c.period_ms
    net = models.Network(dt=c.dt, seed=c.seed)
    one = [np.flatnonzero(x[:, k]) * RSNN_DT for k in range(c.n_in)]
    trains = [np.concatenate([t + r * period for r in range(n_periods)]) for t in one]
    inputs = net.add(models.SpikeGeneratorGroup.from_trains(trains))
    beta = np.zeros(c.n_rec)
    beta[c.n_rec - c.n_alif:] = c.beta * (V_TH - E_LEAK) if c.n_alif else 0.0
    rec = net.add(models.LIF(c.n_rec, synapses=c.synapses, reset=c.reset, tau_m=c.tau_m, c_m=C_M,
                             tau_e=c.tau_syn, tau_i=c.tau_syn, e_leak=E_LEAK, v_th=V_TH, v_reset=E_LEAK,
                             t_ref=c.t_ref, beta=beta, tau_a=c.tau_a))
    one_target = np.array([target_fn(k * c.dt) for k in range(c.steps)])
    out = net.add(models.Readout(1, tau=c.tau_out, target=np.tile(one_target, n_periods)))
    if c.rule == "ottt":
        rule = plasticity.OTTTRule(c_reg=c.c_reg, f_target=c.f_target)
    elif c.feedback_used == "random":     # the RSNN's B (plasticity.eprop.feedback_matrix, seed + 1) in W_out's units
        rule = plasticity.EPropRule(feedback="random", B=units["w_out"] * feedback_matrix(c), c_reg=c.c_reg,
                                    f_target=c.f_target)
    else:
        rule = plasticity.EPropRule(feedback="symmetric", c_reg=c.c_reg, f_target=c.f_target)
    p_in = net.connect(inputs, rec, weight=0.0, delay=c.delay_ms, rule=rule, readout=out)
    p_rec = net.connect(rec, rec, weight=0.0, connectivity=models.all_to_all(allow_self=False), delay=c.delay_ms,
                        rule=rule, readout=out)
    p_out = net.connect(rec, out, weight=0.0, rule=rule)
    theta = initial_rsnn(c)
    for name, proj in (("w_in", p_in), ("w_rec", p_rec), ("w_out", p_out)):
        proj.w[:] = units[name] * getattr(theta, name)[proj.post, proj.pre]
    if c.n_background:
        bg = net.add(models.PoissonGroup(c.n_background, rate=c.background_hz))
        rng = np.random.default_rng([c.seed, 7])
        w_bg = rng.standard_normal(c.n_background * c.n_rec) * c.background_scale / math.sqrt(c.n_background)
        net.connect(bg, rec, weight=w_bg * units["w_in"], delay=c.delay_ms)
    spikes = net.record_spikes(rec)
    y = net.record_state(out, "y", every=RSNN_DT)
    learner = Learner(net, {"w_in": p_in, "w_rec": p_rec, "w_out": p_out}, readout=out)
    return net, learner, dict(spikes=spikes, y=y, target=one_target, rec=rec, out=out)


def _train_rsnn(config: Config, x, target):
    from plasticity import eprop, optim, ottt

    from .tasks import normalized_mse

    c = config
    net = initial_rsnn(c)
    opt = optim.Adam(c.lr)
    var = float(np.var(target))
    nmse = np.zeros(c.trials)
    durations = []
    for it in range(c.trials):
        start = time.perf_counter()
        if c.rule == "eprop":
            B = feedback_matrix(c) if c.feedback_used == "random" else None
            g, loss = eprop.gradients(net, x[None], target[None], feedback=c.feedback_used, B=B, c_reg=c.c_reg,
                                      f_target=c.f_target, return_loss=True)
        else:
            g, loss = ottt.gradients(net, x[None], target[None], c_reg=c.c_reg, f_target=c.f_target,
                                     return_loss=True)
        optim.apply(net, opt, g)
        durations.append(time.perf_counter() - start)
        nmse[it] = 2.0 * loss / x.shape[0] / var
    s = net.forward(x[None])
    rate = float(s.z.mean() * 1000.0 / RSNN_DT)
    return nmse, normalized_mse(s.y, target[None]), rate, s.y[0, :, 0], float(np.median(durations[1:] or durations))


def run(config: Config, backend: str = "native") -> Result:
    """Train ``config`` on ``backend``: "native" (models.Network) or "brian2" (the same
    discrete network as Brian2 code on ``config.target``, :mod:`protocols.brian_eprop`; the
    RSNN beside it trains natively in both cases)."""
    check_backend(backend)
    c = config
    provenance: dict = {}
    with timed(provenance, backend, c.seed):
        task = c.task()
        x, target = task.pattern()                       # (T, n_in) on the 1 ms grid, (T, 1)
        units = c.units()
        curve = _run_brian2(c, provenance) if backend == "brian2" else _run_native(c, x, task, provenance)
        if not np.all(np.isfinite(curve["nmse"])):
            raise ParameterError(f"training diverged (normalised MSE {curve['nmse'][-1]!r}); lower lr")
        if c.rsnn:
            r_nmse, r_test, r_rate, r_y, r_time = _train_rsnn(c, x, target)
        else:
            r_nmse, r_test, r_rate, r_y, r_time = np.full(c.trials, np.nan), np.nan, np.nan, np.zeros(0), np.nan
        provenance.update(units={k: float(v) for k, v in units.items()}, feedback=c.feedback_used, task=repr(task))
    every = int(round(RSNN_DT / c.dt))
    return Result(c, curve["nmse"], curve["rates"], curve["nmse_test"], curve["rate_test"],
                  np.arange(curve["y_test"].size) * RSNN_DT, curve["y_test"], curve["target"][::every],
                  curve["spike_i"], curve["spike_t"], r_nmse, float(r_test), float(r_rate), r_y,
                  curve["time_per_trial_s"], float(r_time), curve["compile_s"], provenance=provenance)


def _run_native(c: Config, x, task, provenance: dict) -> dict:
    """The protocol in models.Network: per trial run, gradients, Adam, reset."""
    net, learner, h = build(c, x, task.target_function(), c.trials + 1)
    var = float(np.var(h["target"]))
    from plasticity import optim

    opt = _Scaled(optim.Adam(c.lr), c.units())
    n_rec, period = c.n_rec, c.period_ms
    nmse = np.zeros(c.trials)
    rates = np.zeros(c.trials)
    durations = []
    counted = 0
    spikes = h["spikes"]
    for trial in range(c.trials + 1):
        start = time.perf_counter()
        net.run(period)
        mse = 2.0 * learner.loss() / c.steps
        if trial < c.trials:
            learner.apply(opt)
        learner.reset()
        durations.append(time.perf_counter() - start)
        n_spikes = spikes.t.size - counted
        counted = spikes.t.size
        rate = n_spikes / n_rec / (period / 1000.0)
        if trial < c.trials:
            nmse[trial], rates[trial] = mse / var, rate
    t0 = c.trials * period
    last = spikes.t >= t0 - 1e-9
    n_ms = int(round(period / RSNN_DT))
    provenance.update(network_run_s=float(net.timing["run_s"]))
    return dict(nmse=nmse, rates=rates, nmse_test=mse / var, rate_test=n_spikes / n_rec / (period / 1000.0),
                y_test=h["y"].values[c.trials * n_ms:(c.trials + 1) * n_ms, 0],     # y at the start of each ms
                target=h["target"], spike_i=spikes.i[last].astype(np.int64), spike_t=spikes.t[last] - t0,
                time_per_trial_s=float(np.median(durations[1:])) if len(durations) > 1 else float(durations[0]),
                compile_s=float(net.timing["compile_s"]))


def _run_brian2(c: Config, provenance: dict) -> dict:
    """The protocol as one Brian2 run (protocols.brian_eprop): the losses of the trials, the
    spikes and the readout; the same numbers as :func:`_run_native`."""
    from .brian_eprop import run as run_brian

    out = run_brian(c, c.target)
    var = float(np.var(out["target"]))
    mse = 2.0 * (0.5 * out["sq"]) / c.steps              # as 2 * Learner.loss() / steps
    n_periods = c.trials + 1
    trial_of = np.rint(out["spike_t"] / c.dt).astype(np.int64) // c.steps
    counts = np.bincount(trial_of, minlength=n_periods)[:n_periods]
    rates = counts / c.n_rec / (c.period_ms / 1000.0)
    last = trial_of == c.trials
    n_ms = int(round(c.period_ms / RSNN_DT))
    provenance.update(target=c.target, brian2_build_s=out["build_s"], brian2_compile_s=out["compile_s"],
                      brian2_simulation_s=out["simulation_s"],
                      network="the native network's discrete updates as Brian2 code (protocols.brian_eprop); "
                              "native input pattern and Poisson background replayed")
    return dict(nmse=mse[:c.trials] / var, rates=rates[:c.trials], nmse_test=float(mse[-1] / var),
                rate_test=float(rates[-1]), y_test=out["y"][c.trials * n_ms:(c.trials + 1) * n_ms],
                target=out["target"], spike_i=out["spike_i"][last], spike_t=out["spike_t"][last] - c.trials * c.period_ms,
                time_per_trial_s=out["simulation_s"] / n_periods, compile_s=out["compile_s"])


# -- report, plots, summary -------------------------------------------------------------------------
def compare(result: Result) -> list[dict]:
    """Row for ``plab report``: normalised MSE of the test trial after training."""
    c = result.config
    name = f"{c.rule}" + (f" ({c.feedback_used} feedback)" if c.rule == "eprop" else "")
    rsnn = (f"; RSNN (dt 1 ms) after {c.trials} iterations: {result.rsnn_nmse_test:.3f}"
            if np.isfinite(result.rsnn_nmse_test) else "")
    return [dict(rule=name, measure="normalised MSE after training (test trial)", distance=result.nmse_test,
                 paper="Bellec et al. 2020 Fig. 2: e-prop learns the pattern (no number offline)",
                 tolerance=f"< {CRITERION} (untrained ~1)", passed=bool(result.nmse_test < CRITERION),
                 note=f"{c.n_rec} LIF, dt {c.dt:g} ms, {c.trials} trials: first trial {result.nmse[0]:.3f}, "
                      f"test {result.nmse_test:.3f}{rsnn}")]


def plot(result: Result) -> dict:
    from matplotlib.figure import Figure

    from analysis.plots import raster

    c = result.config
    fig = Figure(figsize=(11, 7.5), layout="constrained")
    axes = fig.subplot_mosaic([["raster", "raster"], ["readout", "readout"], ["curve", "rate"]],
                              height_ratios=[1.1, 1.0, 1.0])
    ax = axes["raster"]
    raster(result.spike_i, result.spike_t, ax=ax, marker_size=3.0)
    ax.set(xlim=(0, c.period_ms), title=f"test trial: {c.n_rec} LIF ({c.n_alif} ALIF), {result.rate_test_hz:.1f} Hz "
                                         f"mean, dt {c.dt:g} ms, delay {c.delay_ms:g} ms")
    ax = axes["readout"]
    ax.plot(result.t_test, result.target, "k--", lw=1.2, label="target")
    ax.plot(result.t_test, result.y_test, color="C0", lw=1, label=f"network ({c.rule}), nMSE {result.nmse_test:.3f}")
    if result.rsnn_y.size:
        t_r = np.arange(result.rsnn_y.size) * RSNN_DT
        ax.plot(t_r, result.rsnn_y, color="C1", lw=1, alpha=0.8,
                label=f"RSNN dt 1 ms ({c.rule}), nMSE {result.rsnn_nmse_test:.3f}")
    ax.set(xlabel="time in trial (ms)", ylabel="readout y", xlim=(0, c.period_ms), title="readout vs target")
    ax.legend(fontsize="small", loc="upper right")
    ax = axes["curve"]
    trials = np.arange(1, c.trials + 1)
    ax.plot(trials, result.nmse, color="C0", lw=1, label="network")
    if np.any(np.isfinite(result.rsnn_nmse)):
        ax.plot(trials, result.rsnn_nmse, color="C1", lw=1, label="RSNN")
    ax.axhline(CRITERION, color="k", ls=":", lw=1, label=f"report bound {CRITERION:g}")
    ax.set_yscale("log")
    ax.set(xlabel="trial / iteration", ylabel="normalised MSE", title="learning curves")
    ax.legend(fontsize="small")
    ax = axes["rate"]
    ax.plot(trials, result.rate_hz, color="C0", lw=1)
    ax.axhline(c.f_target, color="k", ls=":", lw=1, label=f"f_target {c.f_target:g} Hz")
    if np.isfinite(result.rsnn_rate_hz):
        ax.axhline(result.rsnn_rate_hz, color="C1", ls="--", lw=1, label=f"trained RSNN {result.rsnn_rate_hz:.1f} Hz")
    ax.set(xlabel="trial", ylabel="mean rate (Hz)", title="firing rate of the recurrent neurons")
    ax.legend(fontsize="small")
    return {"eprop_network": fig}


def summary(result: Result) -> str:
    c = result.config
    fb = f", {c.feedback_used} feedback" if c.rule == "eprop" else ""
    first = float(np.mean(result.nmse[: max(1, c.trials // 20)]))
    syn = f"current (tau {c.tau_syn:g} ms)" if c.synapses == "current" else "delta"
    lines = [f"eprop_network: {c.rule}{fb}; {c.n_in} inputs ({c.rate_hz:g} Hz, frozen) -> {c.n_rec} LIF "
             f"({c.n_alif} ALIF; {syn} synapses; reset {c.reset}, t_ref {c.t_ref:g} ms) -> 1 readout "
             f"(tau {c.tau_out:g} ms); dt {c.dt:g} ms, delay {c.delay_ms:g} ms, background {c.n_background} x "
             f"{c.background_hz:g} Hz; {c.trials} trials of {c.period_ms:g} ms, Adam lr {c.lr:g}, c_reg {c.c_reg:g}",
             f"  network: normalised MSE first trial {result.nmse[0]:.3f} (mean of the first {max(1, c.trials // 20)}: "
             f"{first:.3f}), last training trial {result.nmse[-1]:.3f}, test trial {result.nmse_test:.3f}; "
             f"rate {result.rate_hz[0]:.1f} -> {result.rate_test_hz:.1f} Hz",
             f"  time per trial {result.time_per_trial_s:.3f} s (run + gradients + Adam), "
             f"compile {result.compile_s:.1f} s"]
    if np.isfinite(result.rsnn_nmse_test):
        lines.append(f"  RSNN (dt 1 ms, delta synapses, no delay/background): normalised MSE first iteration "
                     f"{result.rsnn_nmse[0]:.3f}, after {c.trials} iterations {result.rsnn_nmse_test:.3f}; rate "
                     f"{result.rsnn_rate_hz:.1f} Hz; {1e3 * result.rsnn_time_per_iter_s:.1f} ms per iteration")
    lines.append(f"  report criterion: test-trial normalised MSE < {CRITERION} -> "
                 f"{'PASS' if result.nmse_test < CRITERION else 'FAIL'}")
    return "\n".join(lines)
