"""Online learning vs BPTT: train one RSNN with BPTT, e-prop (3 feedbacks) and OTTT, compare.

The same network (models.rsnn.RSNN, same initial weights) is trained on the same batches with
each rule in ``rules`` (comma-separated: bptt, eprop-symmetric, eprop-random,
eprop-adaptive, ottt) on one of the tasks of :mod:`protocols.tasks` (pattern, evidence,
store_recall, spike_pattern, or shd: the Spiking Heidelberg Digits from the user's file). Recorded along training: the training loss, an evaluation
metric on a fixed held-out batch (normalized MSE for regression, accuracy for
classification), and every ``align_every`` iterations the cosine similarity and relative
norm of the rule's gradient (input + recurrent weights) to the exact BPTT gradient at the
same weights and batch. Time per iteration (median, compile excluded) and peak memory of one
gradient computation (tracemalloc, inputs excluded) per rule. ``scaling=True`` adds a sweep
of time and peak memory over the sequence length (100 in / 100 rec / 1 out, batch 1) for
``scaling_rules``: BPTT's memory grows linearly in T, the online rules' stays flat.

    plab run compare_bptt                                   # pattern generation, all five rules
    plab run compare_bptt --set task=evidence rules=bptt,eprop-random n_cues=3 delay_ms=200
    plab run compare_bptt --set scaling=true                # adds the T = 250 .. 4000 sweep
    plab run compare_bptt --set task=shd data=shd_train.h5 test_data=shd_test.h5

Verified (slow tests): on pattern generation (200 iterations) e-prop's normalized MSE is
within 4x of BPTT's; on evidence accumulation (3 cues, 200 ms delay, 30 ALIF of 60) e-prop
with random feedback exceeds 70% accuracy after 150 iterations.
"""
from __future__ import annotations

import time
import tracemalloc
from dataclasses import dataclass, field, replace

import numpy as np

from models.rsnn import RSNN
from plasticity import bptt, eprop, optim, ottt
from plasticity.bptt import accuracy
from plasticity.errors import ParameterError, check_int, check_non_negative, check_positive, validate

from . import checkpoint
from . import tasks as tasks_mod
from .common import check_backend, timed

RULES = ("bptt", "eprop-symmetric", "eprop-random", "eprop-adaptive", "ottt")
TASK_DEFAULTS = {  # n_alif, batch, tau_a (ms), w_in_scale: Bellec et al. 2020 use ALIF with long tau_a for
    "pattern": (0, 1, 200.0, 1.0),        # memory tasks; the sparse cue inputs of the memory tasks need a
    "evidence": (None, 32, 2000.0, 3.0),  # stronger input (3x the 1/sqrt(n_in) initialization) to drive the
    "store_recall": (None, 32, 2000.0, 3.0),  # network. None for n_alif: half the neurons.
    "spike_pattern": (0, 32, 200.0, 1.0),
    "shd": (0, 32, 200.0, 1.0),
}


@dataclass(frozen=True)
class Config:
    """Training comparison. Times in ms, rates in Hz; None fields take the task's default."""

    task: str = "pattern"
    rules: str = "bptt,eprop-random,eprop-symmetric,eprop-adaptive,ottt"
    n_rec: int = 100
    n_alif: int | None = None
    tau_a: float | None = None
    tau_out: float = 20.0
    iterations: int = 200
    batch: int | None = None
    optimizer: str = "adam"
    lr: float = 3e-3
    clip: float | None = None          # global-norm gradient clipping (None: off)
    c_reg: float = 1e-2                # firing-rate regularization strength (per Hz^2)
    f_target: float = 10.0             # Hz
    w_in_scale: float | None = None    # factor on the initial W_in
    duration_ms: float | None = None   # pattern / spike_pattern sequence length
    delay_ms: float | None = None      # evidence / store_recall delay
    n_cues: int | None = None          # evidence: number of cues (odd)
    data: str | None = None            # shd: path of shd_train.h5 (training samples)
    test_data: str | None = None       # shd: path of shd_test.h5 (evaluation; else a held-out 20 % of data)
    eval_every: int = 10
    align_every: int = 10
    eval_batch: int = 64               # classification tasks (regression: the one frozen pattern)
    seed: int = 0
    scaling: bool = False
    scaling_steps: tuple = (250, 500, 1000, 2000, 4000)
    scaling_rules: str = "bptt,eprop-random,ottt"
    scaling_repeats: int = 3

    def __post_init__(self):
        validate(self)   # every field by its annotation: type, finite (plasticity.errors)
        if self.task not in TASK_DEFAULTS:
            raise ParameterError(f"task must be one of {', '.join(map(repr, TASK_DEFAULTS))}, got {self.task!r}")
        self.rule_list()
        check_int("n_rec", self.n_rec, 1)
        if self.n_alif is not None:
            check_int("n_alif", self.n_alif, 0)
            if self.n_alif > self.n_rec:
                raise ParameterError(f"n_alif must be <= n_rec = {self.n_rec}, got {self.n_alif}")
        if self.tau_a is not None:
            check_positive("tau_a", self.tau_a, "ms")
        check_non_negative("tau_out", self.tau_out, "ms")
        check_int("iterations", self.iterations, 1)
        if self.batch is not None:
            check_int("batch", self.batch, 1)
        optim.make(self.optimizer, self.lr)
        if self.clip is not None:
            check_positive("clip", self.clip)
        check_non_negative("c_reg", self.c_reg)
        check_non_negative("f_target", self.f_target, "Hz")
        if self.w_in_scale is not None:
            check_positive("w_in_scale", self.w_in_scale)
        check_int("eval_every", self.eval_every, 1)
        check_int("align_every", self.align_every, 1)
        check_int("eval_batch", self.eval_batch, 1)
        check_int("seed", self.seed, 0)
        check_int("scaling_repeats", self.scaling_repeats, 1)
        if len(self.scaling_steps) == 0:
            raise ParameterError("scaling_steps must hold at least one length, got ()")
        for T in self.scaling_steps:
            check_int("scaling_steps entry", T, 1)
        _parse_rules(self.scaling_rules, "scaling_rules")
        self.make_task()

    @classmethod
    def small(cls) -> "Config":
        """Seconds: a 20-neuron network, 200 ms patterns, 6 iterations, a 3-length scaling sweep."""
        return cls(n_rec=20, iterations=6, duration_ms=200.0, eval_every=3, align_every=3,
                   scaling=True, scaling_steps=(100, 200, 400), scaling_repeats=1)

    def rule_list(self) -> list[str]:
        return _parse_rules(self.rules, "rules")

    def make_task(self):
        kw = {}
        if self.duration_ms is not None and self.task in ("pattern", "spike_pattern", "shd"):
            kw["duration_ms"] = self.duration_ms
        if self.delay_ms is not None and self.task in ("evidence", "store_recall"):
            kw["delay_ms"] = self.delay_ms
        if self.n_cues is not None and self.task == "evidence":
            kw["n_cues"] = self.n_cues
        if self.task in ("pattern", "spike_pattern", "shd"):
            kw["seed"] = self.seed
        if self.task == "shd":
            kw.update(data=self.data or "", test_data=self.test_data)
        return tasks_mod.make_task(self.task, **kw)

    def resolved(self) -> tuple[int, int, float]:
        """(n_alif, batch, tau_a) with the task's defaults filled in."""
        n_alif, batch, tau_a, _ = TASK_DEFAULTS[self.task]
        n_alif = self.n_alif if self.n_alif is not None else (self.n_rec // 2 if n_alif is None else n_alif)
        return (n_alif, self.batch if self.batch is not None else batch,
                self.tau_a if self.tau_a is not None else tau_a)

    def make_net(self, task) -> RSNN:
        n_alif, _, tau_a = self.resolved()
        net = RSNN(task.n_in, self.n_rec, task.n_out, n_alif=n_alif, tau_a=tau_a, tau_out=self.tau_out,
                   dt=task.dt, seed=self.seed)
        net.w_in *= self.w_in_scale if self.w_in_scale is not None else TASK_DEFAULTS[self.task][3]
        return net


def _parse_rules(text: str, name: str) -> list[str]:
    rules = [r.strip() for r in str(text).split(",") if r.strip()]
    if not rules:
        raise ParameterError(f"{name} must name at least one rule of {', '.join(RULES)}, got {text!r}")
    for r in rules:
        if r not in RULES:
            raise ParameterError(f"{name}: unknown rule {r!r}; allowed: {', '.join(RULES)}")
    if len(set(rules)) != len(rules):
        raise ParameterError(f"{name} must not repeat a rule, got {text!r}")
    return rules


@dataclass(frozen=True)
class Result:
    config: Config
    rules: str                    # comma-separated, the order of every per-rule axis
    metric_name: str              # "normalized MSE" or "accuracy"
    train_loss: np.ndarray        # (rules, iterations), loss of the batch before the update
    eval_iters: np.ndarray        # iterations at which the evaluation ran (after that many updates)
    eval_loss: np.ndarray         # (rules, evals)
    eval_metric: np.ndarray       # (rules, evals)
    align_iters: np.ndarray       # iterations of the gradient comparisons
    cosine: np.ndarray            # (rules, aligns) cosine(rule gradient, BPTT gradient), W_in and W_rec
    rel_norm: np.ndarray          # (rules, aligns) |rule gradient| / |BPTT gradient|
    time_per_iter_ms: np.ndarray  # (rules,) median wall time of gradient + update
    peak_memory_mb: np.ndarray    # (rules,) tracemalloc peak of one gradient computation
    rates_hz: np.ndarray          # (rules,) mean firing rate of the trained network on the eval batch
    x_eval: np.ndarray            # (T, n_in) first evaluation sequence
    target_eval: np.ndarray       # (T, n_out) target (regression) or (1,) label (classification)
    y_eval: np.ndarray            # (rules, T, n_out) readout of each trained network on it
    z_eval: np.ndarray            # (rules, T, n_rec) its spikes (uint8)
    scaling_steps: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    scaling_rules: str = ""
    scaling_time_ms: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    scaling_memory_mb: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    provenance: dict = field(default_factory=dict)

    def rule_names(self) -> list[str]:
        return self.rules.split(",")


class _Rule:
    """One learning rule bound to its network: gradient (and loss) of a batch, and update."""

    def __init__(self, name, net, task, config):
        self.name, self.net, self.task, self.config = name, net, task, config
        self.opt = optim.make(config.optimizer, config.lr)
        self.eprop = None
        if name.startswith("eprop"):
            self.eprop = eprop.EProp(net, loss=task.loss, feedback=name.split("-", 1)[1], seed=config.seed + 1,
                                     c_reg=config.c_reg, f_target=config.f_target)

    def grads(self, x, target):
        c, task, net = self.config, self.task, self.net
        kw = dict(loss=task.loss, window=task.window, c_reg=c.c_reg, f_target=c.f_target)
        if self.name == "bptt":
            back, g = bptt.loss_and_gradients(net, x, target, **kw)
            return g, back.loss
        if self.eprop is not None:
            return eprop.gradients(net, x, target, feedback=self.eprop.feedback, B=self.eprop.B, return_loss=True, **kw)
        return ottt.gradients(net, x, target, return_loss=True, **kw)

    def update(self, grads):
        delta = optim.apply(self.net, self.opt, grads, max_norm=self.config.clip)
        if self.eprop is not None:
            self.eprop.update_feedback(delta["w_out"])


def _hidden(g) -> np.ndarray:
    return np.concatenate([g["w_in"].ravel(), g["w_rec"].ravel()])


def _evaluate(net, task, x, target):
    from plasticity.bptt import loss_and_error

    s = net.forward(x)
    loss, _ = loss_and_error(s.y, target, task.loss, task.window)
    metric = tasks_mod.normalized_mse(s.y, target) if task.loss == "mse" else accuracy(s.y, target, task.window)
    return loss, metric, s


def _peak_mb(fn) -> float:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()


def run(config: Config, backend: str = "native", progress: bool = False) -> Result:
    """Train every rule of ``config.rules``; ``progress`` shows a tqdm bar over rules x
    iterations on stderr (the rule being trained, its latest training loss, and an estimate of
    the time left; ``plab run`` turns it on when stderr is a terminal)."""
    from tqdm import tqdm

    check_backend(backend)
    if backend != "native":
        raise ParameterError("backend must be 'native' for compare_bptt (the RSNN's gradient kernels; "
                             f"e-prop/OTTT in Brian2 are not written yet), got {backend!r}")
    provenance: dict = {}
    with timed(provenance, backend, config.seed):
        task = config.make_task()
        _, batch, _ = config.resolved()
        net0 = config.make_net(task)
        names = config.rule_list()
        R, I = len(names), config.iterations
        eval_size = 1 if task.loss == "mse" else config.eval_batch
        sample_eval = getattr(task, "sample_eval", task.sample)   # shd: held-out samples
        x_eval, t_eval = sample_eval(eval_size, np.random.default_rng([config.seed, 1]))
        eval_iters = np.array(sorted(set(range(0, I + 1, config.eval_every)) | {I}))
        align_iters = np.arange(0, I, config.align_every)
        train_loss = np.zeros((R, I))
        eval_loss = np.zeros((R, eval_iters.size))
        eval_metric = np.zeros((R, eval_iters.size))
        cosine = np.zeros((R, align_iters.size))
        rel_norm = np.zeros((R, align_iters.size))
        times = np.zeros(R)
        peaks = np.zeros(R)
        rates = np.zeros(R)
        y_final, z_final = [], []
        # plab run checkpoints the training ten times per rule; --resume goes on from the last
        saved = checkpoint.restore("training")
        r0, it0 = (saved[0], saved[1]) if saved is not None else (0, 0)
        if saved is not None:
            (train_loss, eval_loss, eval_metric, cosine, rel_norm, times, peaks, rates, y_final,
             z_final) = saved[6:]
        every = max(1, I // checkpoint.SEGMENTS)
        bar = tqdm(total=R * I, initial=r0 * I + it0, desc="compare_bptt", unit="it", disable=not progress,
                   mininterval=1.0)
        for r in range(r0, R):
            name = names[r]
            if saved is not None and r == r0:
                first, k_eval, k_align, rule, durations = saved[1:6]
            else:
                first, k_eval, k_align = 0, 0, 0
                rule, durations = _Rule(name, net0.copy(), task, config), []
            for it in range(first, I + 1):
                if k_eval < eval_iters.size and eval_iters[k_eval] == it:
                    eval_loss[r, k_eval], eval_metric[r, k_eval], _ = _evaluate(rule.net, task, x_eval, t_eval)
                    k_eval += 1
                if it == I:
                    break
                x, target = task.sample(batch, np.random.default_rng([config.seed, 2, it]))
                start = time.perf_counter()
                g, train_loss[r, it] = rule.grads(x, target)
                if k_align < align_iters.size and align_iters[k_align] == it:
                    pause = time.perf_counter()
                    exact = g if name == "bptt" else bptt.gradients(rule.net, x, target, loss=task.loss,
                                                                     window=task.window, c_reg=config.c_reg,
                                                                     f_target=config.f_target)
                    a, b = _hidden(g), _hidden(exact)
                    nb = np.linalg.norm(b)
                    cosine[r, k_align] = a @ b / (np.linalg.norm(a) * nb) if nb > 0 and np.any(a) else np.nan
                    rel_norm[r, k_align] = np.linalg.norm(a) / nb if nb > 0 else np.nan
                    k_align += 1
                    start += time.perf_counter() - pause
                rule.update(g)
                durations.append(time.perf_counter() - start)
                bar.set_postfix_str(f"{name} ({r + 1}/{R}) loss {train_loss[r, it]:.4g}", refresh=False)
                bar.update(1)
                if (it + 1) % every == 0:
                    checkpoint.save("training", (r, it + 1, k_eval, k_align, rule, durations, train_loss, eval_loss,
                                                 eval_metric, cosine, rel_norm, times, peaks, rates, y_final, z_final))
            times[r] = 1e3 * float(np.median(durations))
            x, target = task.sample(batch, np.random.default_rng([config.seed, 2, 0]))
            peaks[r] = _peak_mb(lambda: rule.grads(x, target))
            _, _, s = _evaluate(rule.net, task, x_eval, t_eval)
            rates[r] = float(rule.net.rates_hz(s.z).mean())
            y_final.append(s.y[0])
            z_final.append(s.z[0].astype(np.uint8))
        bar.close()
        target_first = t_eval[0] if task.loss == "mse" else np.array([t_eval[0]])
        extra = {}
        if config.scaling:
            extra = scaling_sweep(config)
        provenance.update(n_alif=config.resolved()[0], batch=batch, tau_a=config.resolved()[2],
                          task=repr(task))
    return Result(config, ",".join(names), "normalized MSE" if task.loss == "mse" else "accuracy", train_loss,
                  eval_iters, eval_loss, eval_metric, align_iters, cosine, rel_norm, times, peaks, rates,
                  x_eval[0], target_first, np.stack(y_final), np.stack(z_final), provenance=provenance, **extra)


def scaling_sweep(config: Config) -> dict:
    """Time (ms, min over repeats) and peak memory (MB) of one gradient computation per T,
    for 100 inputs (Poisson 20 Hz) / 100 LIF / 1 readout, batch 1, MSE on a random target."""
    names = _parse_rules(config.scaling_rules, "scaling_rules")
    steps = np.array(config.scaling_steps, dtype=int)
    t_ms = np.zeros((len(names), steps.size))
    mem = np.zeros_like(t_ms)
    net = RSNN(100, 100, 1, seed=config.seed)
    task = tasks_mod.PatternGeneration()  # only for the loss/window fields of _Rule
    for k, T in enumerate(steps):
        rng = np.random.default_rng([config.seed, 3, int(T)])
        x = (rng.random((1, int(T), 100)) < 0.02).astype(np.float64)
        target = rng.standard_normal((1, int(T), 1))
        for r, name in enumerate(names):
            rule = _Rule(name, net, task, replace(config, c_reg=0.0))
            rule.grads(x, target)  # compile / warm up
            best = np.inf
            for _ in range(config.scaling_repeats):
                start = time.perf_counter()
                rule.grads(x, target)
                best = min(best, time.perf_counter() - start)
            t_ms[r, k] = 1e3 * best
            mem[r, k] = _peak_mb(lambda: rule.grads(x, target))
    return dict(scaling_steps=steps, scaling_rules=",".join(names), scaling_time_ms=t_ms, scaling_memory_mb=mem)


# -- plots and summary -----------------------------------------------------------------------------
def plot(result: Result) -> dict:
    from matplotlib.figure import Figure

    from analysis.plots import raster

    names = result.rule_names()
    colors = {n: f"C{i}" for i, n in enumerate(RULES)}
    figs = {}

    fig = Figure(figsize=(10, 4), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    for r, n in enumerate(names):
        ax1.plot(np.arange(result.train_loss.shape[1]), result.train_loss[r], color=colors[n], label=n, lw=1)
        ax2.plot(result.eval_iters, result.eval_metric[r], "o-", ms=3, color=colors[n], label=n)
    ax1.set_yscale("log")
    ax1.set(xlabel="iteration", ylabel="training loss", title=f"{result.config.task}: training loss")
    ax2.set(xlabel="iteration", ylabel=result.metric_name, title=f"held-out {result.metric_name}")
    if result.metric_name == "accuracy":
        ax2.axhline(1.0 / result.y_eval.shape[2], color="k", ls=":", lw=1, label="chance")
    ax1.legend(fontsize="small")
    ax2.legend(fontsize="small")
    figs["learning_curves"] = fig

    fig = Figure(figsize=(10, 4), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    for r, n in enumerate(names):
        ax1.plot(result.align_iters, result.cosine[r], "o-", ms=3, color=colors[n], label=n)
        ax2.plot(result.align_iters, result.rel_norm[r], "o-", ms=3, color=colors[n], label=n)
    ax1.set(xlabel="iteration", ylabel="cosine similarity to BPTT", ylim=(-1.05, 1.05),
            title="gradient alignment (W_in, W_rec)")
    ax2.set(xlabel="iteration", ylabel="|g| / |g_BPTT|", title="relative gradient norm")
    ax2.set_yscale("log")
    ax1.legend(fontsize="small")
    figs["gradient_alignment"] = fig

    fig = Figure(figsize=(10, 3.5), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    ax1.bar(names, result.time_per_iter_ms, color=[colors[n] for n in names])
    ax1.set(ylabel="ms per iteration", title="time per iteration (gradient + update)")
    ax2.bar(names, result.peak_memory_mb, color=[colors[n] for n in names])
    ax2.set(ylabel="MB", title="peak memory of one gradient (tracemalloc)")
    for ax in (ax1, ax2):
        ax.tick_params(axis="x", labelrotation=30)
    figs["cost"] = fig

    T = result.y_eval.shape[1]
    t = np.arange(T) * result.config.make_task().dt
    fig = Figure(figsize=(10, 1.8 * len(names) + 0.5), layout="constrained")
    axes = np.atleast_1d(fig.subplots(len(names), 1, sharex=True))
    for ax, r, n in zip(axes, range(len(names)), names):
        if result.metric_name == "accuracy":
            for k in range(result.y_eval.shape[2]):
                ax.plot(t, result.y_eval[r, :, k], lw=1, label=f"readout {k}")
            ax.set_title(f"{n}: readouts, label {int(result.target_eval[0])}", fontsize="small")
        else:
            ax.plot(t, result.target_eval[:, 0], "k--", lw=1, label="target")
            ax.plot(t, result.y_eval[r, :, 0], color=colors[n], lw=1, label="readout")
            ax.set_title(n, fontsize="small")
        ax.legend(fontsize="x-small", loc="upper right")
    axes[-1].set_xlabel("time (ms)")
    figs["readout"] = fig

    fig = Figure(figsize=(10, 1.8 * len(names) + 0.5), layout="constrained")
    axes = np.atleast_1d(fig.subplots(len(names), 1, sharex=True))
    for ax, r, n in zip(axes, range(len(names)), names):
        t_idx, i = np.nonzero(result.z_eval[r])
        raster(i, t[t_idx], ax=ax, marker_size=8.0)
        ax.set_title(f"{n}: trained network, {result.rates_hz[r]:.1f} Hz mean", fontsize="small")
    figs["raster"] = fig

    if result.scaling_steps.size:
        fig = Figure(figsize=(10, 4), layout="constrained")
        ax1, ax2 = fig.subplots(1, 2)
        for r, n in enumerate(result.scaling_rules.split(",")):
            ax1.plot(result.scaling_steps, result.scaling_time_ms[r], "o-", color=colors[n], label=n)
            ax2.plot(result.scaling_steps, result.scaling_memory_mb[r], "o-", color=colors[n], label=n)
        for ax in (ax1, ax2):
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("sequence length T (steps)")
            ax.legend(fontsize="small")
        ax1.set(ylabel="ms per gradient", title="time (100 in / 100 rec / 1 out, batch 1)")
        ax2.set(ylabel="peak MB", title="memory")
        figs["scaling"] = fig
    return figs


def summary(result: Result) -> str:
    c = result.config
    n_alif, batch, tau_a = c.resolved()
    lines = [f"compare_bptt on task {c.task!r}: {c.n_rec} recurrent neurons ({n_alif} ALIF, tau_a {tau_a:g} ms), "
             f"batch {batch}, {c.iterations} iterations of {c.optimizer} (lr {c.lr:g}), c_reg {c.c_reg:g}",
             f"  {'rule':<16} {'final loss':>11} {result.metric_name:>15} {'cos(BPTT)':>10} {'|g|/|g_BPTT|':>13} "
             f"{'ms/iter':>8} {'peak MB':>8} {'rate Hz':>8}"]
    for r, n in enumerate(result.rule_names()):
        cos = np.nanmean(result.cosine[r]) if result.cosine.size else np.nan
        rel = np.nanmean(result.rel_norm[r]) if result.rel_norm.size else np.nan
        lines.append(f"  {n:<16} {result.eval_loss[r, -1]:>11.4g} {result.eval_metric[r, -1]:>15.3f} {cos:>10.3f} "
                     f"{rel:>13.3g} {result.time_per_iter_ms[r]:>8.1f} {result.peak_memory_mb[r]:>8.2f} "
                     f"{result.rates_hz[r]:>8.1f}")
    if result.scaling_steps.size:
        lines.append("  scaling (100 in / 100 rec / 1 out, batch 1): ms per gradient | peak MB")
        for r, n in enumerate(result.scaling_rules.split(",")):
            cells = ", ".join(f"T={T}: {t:.1f} | {m:.2f}" for T, t, m in
                              zip(result.scaling_steps, result.scaling_time_ms[r], result.scaling_memory_mb[r]))
            lines.append(f"    {n:<16} {cells}")
    return "\n".join(lines)
