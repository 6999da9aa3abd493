"""Rate vs latency (time-to-first-spike) coding on the digits: accuracy, spikes and an energy estimate over T.

For each input coding in ``codings`` (``rate``: Bernoulli spikes with probability x per step,
redrawn every batch; ``latency``: one spike per pixel at step round((1 - x)(T - 1)), see
``models.encoding``) and each number of time steps T in ``steps``, a spiking network
``64 - hidden - 10`` (``models.feedforward.SNN`` with tdBN) is trained with STBP on
scikit-learn's 8x8 digits. On the test set it records the accuracy, the spikes per sample
(input and hidden), the synaptic operations per sample (each spike costs one accumulate per
outgoing synapse, the readout's included) and the energy estimate of ``analysis.energy``
(45 nm figures, an ESTIMATE) against the multiply-accumulates of the equivalent ANN (the same
dense layers, one pass; tdBN folds into the weights at inference and is not counted).

The seeds' claim as the criterion: latency coding is at least as good on the accuracy/energy
trade-off, i.e. reaching the accuracy both codings reach (the lower of their best accuracies
minus ``accuracy_margin``) costs latency coding no more synaptic operations than rate coding.

    plab run coding_energy                             # T = 1, 2, 4, 8, 16, 32
    plab run coding_energy --set steps=[4,8] epochs=10
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from analysis.energy import dense_macs, energy_estimate
from models import encoding
from models.feedforward import SNN, blas_single_thread, train_epoch
from plasticity import optim, stbp
from plasticity.errors import ParameterError, check_int, check_non_negative, check_positive, validate

from .common import check_backend, timed
from .tdbn_depth import DataConfig, dataset_name, load_data, n_classes, parse_names

CODINGS = ("rate", "latency")


def parse_codings(text: str) -> list[str]:
    return parse_names("codings", text, CODINGS)


@dataclass(frozen=True)
class Config(DataConfig):
    """Coding sweep; T in steps."""

    codings: str = "rate,latency"
    steps: tuple = (1, 2, 4, 8, 16, 32)
    hidden: tuple = (128,)
    latency_kind: str = "linear"   # or "log"
    epochs: int = 6
    batch: int = 64
    lr: float = 3e-3
    accuracy_margin: float = 0.02  # criterion: accuracy both codings reach = min(best) - margin
    seed: int = 0

    def __post_init__(self):
        validate(self)   # every field by its annotation: type, finite (plasticity.errors)
        parse_codings(self.codings)
        if len(self.steps) == 0 or len(self.hidden) == 0:
            raise ParameterError("steps and hidden must each list at least one value")
        for T in self.steps:
            check_int("steps entry", T, 1)
        for n in self.hidden:
            check_int("hidden entry", n, 1)
        if self.latency_kind not in ("linear", "log"):
            raise ParameterError(f"latency_kind must be 'linear' or 'log', got {self.latency_kind!r}")
        for name in ("epochs", "batch"):
            check_int(name, getattr(self, name), 1)
        check_positive("lr", self.lr)
        check_non_negative("accuracy_margin", self.accuracy_margin)
        check_int("seed", self.seed, 0)
        self.check_data()

    @classmethod
    def small(cls) -> "Config":
        """Seconds: T = 2 and 8, 32 hidden neurons, 2 epochs."""
        return cls(steps=(2, 8), hidden=(32,), epochs=2)

    def encoder(self, coding: str, T: int):
        if coding == "rate":
            return lambda x, rng: encoding.rate(x, T, seed=rng)
        return lambda x, rng: encoding.latency(x, T, kind=self.latency_kind)


@dataclass(frozen=True)
class Result:
    config: Config
    codings: str
    steps: np.ndarray              # (S,)
    accuracy: np.ndarray           # (C, S) test accuracy
    input_spikes: np.ndarray       # (C, S) input spikes per test sample
    hidden_spikes: np.ndarray      # (C, S) hidden-layer spikes per test sample
    synaptic_ops: np.ndarray       # (C, S) accumulates per test sample
    snn_pj: np.ndarray             # (C, S) estimated energy per sample (pJ)
    ann_macs: float                # MACs of the equivalent ANN per sample
    ann_pj: float
    energy_source: str
    example: np.ndarray            # (C, max T, 64) the first test image encoded at the largest T
    provenance: dict = field(default_factory=dict)

    def coding_names(self) -> list[str]:
        return self.codings.split(",")


def run(config: Config, backend: str = "native") -> Result:
    check_backend(backend)
    if backend != "native":
        raise ParameterError(f"backend must be 'native' for coding_energy (hand-written STBP), got {backend!r}")
    provenance: dict = {}
    with timed(provenance, backend, config.seed):
        data = load_data(config)
        names, steps = parse_codings(config.codings), np.array(config.steps, dtype=int)
        sizes = [data.x_train.shape[1], *config.hidden, n_classes(data)]
        shape = (len(names), steps.size)
        acc, n_in, n_hid, ops, pj = (np.zeros(shape) for _ in range(5))
        macs = dense_macs([(b, a) for a, b in zip(sizes[:-1], sizes[1:])], 1)
        examples = np.zeros((len(names), int(steps.max()), sizes[0]))
        for i, name in enumerate(names):
            for j, T in enumerate(steps):
                T = int(T)
                encode = config.encoder(name, T)
                net = SNN(sizes, T=T, seed=config.seed)
                opt = optim.Adam(lr=config.lr)
                rng = np.random.default_rng([config.seed, 2, T])
                for _ in range(config.epochs):
                    train_epoch(net, opt, data.x_train, data.y_train, batch=config.batch, rng=rng, encode=encode)
                x_test = encode(data.x_test, np.random.default_rng([config.seed, 3, T]))
                with blas_single_thread():
                    trace = stbp.forward(net, x_test, train=False)
                n = len(data.y_test)
                acc[i, j] = float(np.mean(np.argmax(trace.logits, axis=1) == data.y_test))
                counts = [x_test.sum() / n] + [s.sum() / n for s in trace.s]
                n_in[i, j], n_hid[i, j] = counts[0], sum(counts[1:])
                ops[i, j] = sum(c * fan for c, fan in zip(counts, sizes[1:]))
                est = energy_estimate(ops[i, j], macs)
                pj[i, j] = est.snn_pj
            examples[i] = config.encoder(name, examples.shape[1])(data.x_test[:1], np.random.default_rng([config.seed, 3]))[0]
        est = energy_estimate(1.0, macs)
        provenance.update(n_train=len(data.y_train), n_test=len(data.y_test), dataset=dataset_name(config),
                          energy_verified=est.verified)
    return Result(config, ",".join(names), steps, acc, n_in, n_hid, ops, pj, macs, est.dense_pj, est.source,
                  examples, provenance=provenance)


def cost_to_reach(result: Result, coding: str, target: float) -> tuple[float, int]:
    """(fewest synaptic ops per sample, its T) among the runs of ``coding`` with accuracy >= target;
    (inf, 0) when none reaches it."""
    i = result.coding_names().index(coding)
    ok = result.accuracy[i] >= target
    if not ok.any():
        return float("inf"), 0
    j = int(np.argmin(np.where(ok, result.synaptic_ops[i], np.inf)))
    return float(result.synaptic_ops[i, j]), int(result.steps[j])


def compare(result: Result) -> list[dict]:
    """``plab report`` row: the accuracy/energy trade-off of latency vs rate coding."""
    names = result.coding_names()
    if set(names) != set(CODINGS):
        return [dict(rule="", measure="(needs both codings)", distance=None, paper="", tolerance="", passed=None)]
    target = float(min(result.accuracy.max(axis=1))) - result.config.accuracy_margin
    lat, t_lat = cost_to_reach(result, "latency", target)
    rate, t_rate = cost_to_reach(result, "rate", target)
    ratio = lat / rate if rate > 0 else float("inf")
    note = (f"accuracy target {target:.3f}: latency coding needs {lat:.4g} synaptic ops per sample (T={t_lat}), "
            f"rate coding {rate:.4g} (T={t_rate}); the equivalent ANN {result.ann_macs:.4g} MACs "
            f"({result.ann_pj / 1e3:.3g} nJ, 45 nm ESTIMATE)")
    return [dict(rule="latency vs rate coding", measure="synaptic ops to reach the common accuracy, latency / rate",
                 distance=ratio, paper="seeds: latency coding often better on the accuracy/energy trade-off",
                 tolerance="<= 1", passed=bool(ratio <= 1.0), note=note)]


def plot(result: Result) -> dict:
    from matplotlib.figure import Figure

    from analysis.plots import spike_array_raster

    names, steps = result.coding_names(), result.steps
    fig = Figure(figsize=(13, 4), layout="constrained")
    ax1, ax2, ax3 = fig.subplots(1, 3)
    for i, n in enumerate(names):
        ax1.plot(steps, result.accuracy[i], "o-", label=n)
        ax2.plot(steps, result.synaptic_ops[i], "o-", label=f"{n}: synaptic ops")
        ax2.plot(steps, result.input_spikes[i] + result.hidden_spikes[i], "s--", ms=3, lw=0.8, label=f"{n}: spikes")
        ax3.plot(result.snn_pj[i] / 1e3, result.accuracy[i], "o-", label=n)
        for T, e, a in zip(steps, result.snn_pj[i] / 1e3, result.accuracy[i]):
            ax3.annotate(f"T={T}", (e, a), fontsize="x-small")
    ax2.axhline(result.ann_macs, color="k", ls=":", lw=1, label="ANN MACs")
    ax3.axvline(result.ann_pj / 1e3, color="k", ls=":", lw=1, label="ANN (MACs)")
    ax1.set(xscale="log", xlabel="time steps T", ylabel="test accuracy", title="accuracy")
    ax2.set(xscale="log", yscale="log", xlabel="time steps T", ylabel="per test sample", title="spikes and operations")
    ax3.set(xscale="log", xlabel="energy per sample (nJ, 45 nm ESTIMATE)", ylabel="test accuracy",
            title="accuracy vs energy")
    for ax in (ax1, ax2, ax3):
        ax.legend(fontsize="x-small")
    figs = {"coding_energy": fig}
    fig = Figure(figsize=(5 * len(names), 3.5), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(names)))
    for ax, i, n in zip(axes, range(len(names)), names):
        spike_array_raster(result.example[i], ax=ax, marker_size=6.0)
        ax.set(title=f"{n} coding, first test image, T={int(steps.max())}", xlabel="step", ylabel="pixel")
    figs["encoded_raster"] = fig
    return figs


def summary(result: Result) -> str:
    c = result.config
    lines = [f"coding_energy on digits: 64-{'-'.join(map(str, c.hidden))}-10 with tdBN, {c.epochs} epochs; "
             f"equivalent ANN {result.ann_macs:.4g} MACs = {result.ann_pj / 1e3:.4g} nJ per sample "
             f"(ESTIMATE; {result.energy_source})",
             f"  {'coding':<8} {'T':>3} {'test acc':>9} {'in spikes':>10} {'hid spikes':>11} {'syn ops':>9} "
             f"{'nJ':>8} {'ANN/SNN':>8}"]
    for i, n in enumerate(result.coding_names()):
        for j, T in enumerate(result.steps):
            lines.append(f"  {n:<8} {int(T):>3} {result.accuracy[i, j]:>9.3f} {result.input_spikes[i, j]:>10.1f} "
                         f"{result.hidden_spikes[i, j]:>11.1f} {result.synaptic_ops[i, j]:>9.4g} "
                         f"{result.snn_pj[i, j] / 1e3:>8.3g} {result.ann_pj / max(result.snn_pj[i, j], 1e-300):>8.3g}")
    return "\n".join(lines)
