"""Deep SNNs through depth: tdBN vs plain BN vs no normalisation on the digits (Zheng et al. 2021).

Dense spiking networks ``64 - width x depth - 10`` (``models.feedforward.SNN``, the paper's
LIF constants, direct encoding: the image is the input current at every one of T steps) are
trained with STBP (``plasticity.stbp``, Adam, rate-coded cross-entropy) on scikit-learn's
bundled 8x8 digits for each depth in ``depths`` and each normalisation in ``norms``
(``tdbn``, ``bn``, ``none``; the same seed, so the same initial weights per depth). Recorded:
test accuracy after each epoch, and on a fixed probe batch of training samples, at
initialisation and after each epoch, the norm of the gradient of every weight matrix
(W^1 .. W^{L+1}) and the firing rate of every hidden layer.

The paper's claim, as the report's criterion: with tdBN the per-layer gradient norms of the
hidden layers stay within ``ratio_bound`` (max/min over layers at initialisation) at the
largest depth and that network trains (test accuracy >= ``min_accuracy``); without
normalisation they vanish or explode and the deep network fails. What is measured is
reported whichever way it comes out.

    plab run tdbn_depth                                  # depths 2, 4, 8, 16; about a minute
    plab run tdbn_depth --set depths=[2,4,8] norms=tdbn,none epochs=12
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from models.feedforward import SNN, accuracy, firing_rates, layer_norms, train_epoch
from plasticity import optim, stbp
from plasticity.errors import ParameterError, check_int, check_positive, validate

from .common import check_backend, timed

NORM_NAMES = {"tdbn": "tdbn", "bn": "bn", "none": None}
IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


@dataclass(frozen=True)
class DataConfig:
    """The data of the deep-SNN protocols: scikit-learn's bundled digits (split with
    ``test_fraction``), or MNIST / Fashion-MNIST from ``idx_dir``, a directory holding the four
    standard IDX files (``train-images-idx3-ubyte`` ... ``t10k-labels-idx1-ubyte``, plain or
    ``.gz``); ``n_train`` keeps only the first n training images."""

    test_fraction: float = 0.25
    idx_dir: str | None = None
    n_train: int | None = None

    def check_data(self):
        if not 0.0 < self.test_fraction < 1.0:
            raise ParameterError(f"test_fraction must be in (0, 1), got {self.test_fraction!r}")
        if self.n_train is not None:
            check_int("n_train", self.n_train, 1)
        if self.idx_dir is not None:
            idx_paths(self.idx_dir)


def idx_paths(directory) -> list:
    """The four IDX files in ``directory`` (each plain or .gz); ParameterError naming a missing one."""
    from pathlib import Path

    found = []
    for stem in IDX_FILES:
        candidates = [Path(directory) / stem, Path(directory) / f"{stem}.gz"]
        hit = next((c for c in candidates if c.is_file()), None)
        if hit is None:
            raise ParameterError(f"idx_dir {str(directory)!r} lacks {stem} (or {stem}.gz); expected the four files "
                                 f"{', '.join(IDX_FILES)}")
        found.append(hit)
    return found


def load_data(config: DataConfig):
    """The (x_train, y_train, x_test, y_test) split a deep-SNN protocol trains on."""
    from .datasets import Split, load_digits, load_idx

    if config.idx_dir is None:
        data = load_digits(test_fraction=config.test_fraction, seed=config.seed)
    else:
        train_x, train_y, test_x, test_y = idx_paths(config.idx_dir)
        data = Split(*load_idx(train_x, train_y), *load_idx(test_x, test_y))
    if config.n_train is not None:
        data = data._replace(x_train=data.x_train[:config.n_train], y_train=data.y_train[:config.n_train])
    return data


def parse_names(name: str, text: str, allowed) -> list[str]:
    """``"a,b"`` -> ``["a", "b"]``: at least one, distinct, each in ``allowed`` (ParameterError
    naming the Config field ``name`` otherwise)."""
    names = [n.strip() for n in str(text).split(",") if n.strip()]
    if not names or len(set(names)) != len(names) or any(n not in allowed for n in names):
        raise ParameterError(f"{name} must be distinct names among {', '.join(allowed)}, comma-separated, got {text!r}")
    return names


def parse_norms(text: str) -> list[str]:
    """``"tdbn,bn,none"`` -> the list of names, validated."""
    return parse_names("norms", text, tuple(NORM_NAMES))


@dataclass(frozen=True)
class Config(DataConfig):
    """Depth sweep. Voltages in the model's units (V_th = 0.5), time in steps."""

    depths: tuple = (2, 4, 8, 16)
    norms: str = "tdbn,bn,none"
    width: int = 64            # neurons per hidden layer
    T: int = 4                 # time steps per sample
    epochs: int = 8
    batch: int = 64
    lr: float = 3e-3           # Adam
    probe: int = 256           # training samples of the fixed gradient-norm batch
    ratio_bound: float = 10.0  # criterion: max/min hidden-layer gradient norm at init
    min_accuracy: float = 0.5  # criterion: the deepest tdBN network's test accuracy
    seed: int = 0

    def __post_init__(self):
        validate(self)   # every field by its annotation: type, finite (plasticity.errors)
        if len(self.depths) == 0:
            raise ParameterError("depths must list at least one depth, got ()")
        for d in self.depths:
            check_int("depths entry", d, 1)
        parse_norms(self.norms)
        for name in ("width", "T", "epochs", "batch", "probe"):
            check_int(name, getattr(self, name), 1)
        check_positive("lr", self.lr)
        check_positive("ratio_bound", self.ratio_bound)
        check_positive("min_accuracy", self.min_accuracy)
        check_int("seed", self.seed, 0)
        self.check_data()

    @classmethod
    def small(cls) -> "Config":
        """Seconds: depths 2 and 4, 32 neurons per layer, 2 epochs."""
        return cls(depths=(2, 4), width=32, epochs=2, probe=128)


@dataclass(frozen=True)
class Result:
    config: Config
    norms: str                 # comma-separated, the order of every per-norm axis
    depths: np.ndarray         # (D,)
    accuracy: np.ndarray       # (N, D, epochs + 1) test accuracy, at init then after each epoch
    train_loss: np.ndarray     # (N, D, epochs) mean training loss of each epoch
    grad_norms: np.ndarray     # (N, D, epochs + 1, max depth + 1) |dL/dW^l|, NaN beyond the depth
    rates: np.ndarray          # (N, D, epochs + 1, max depth) spikes per neuron per step, NaN beyond
    provenance: dict = field(default_factory=dict)

    def norm_names(self) -> list[str]:
        return self.norms.split(",")


def n_classes(data) -> int:
    return int(max(data.y_train.max(), data.y_test.max())) + 1


def run(config: Config, backend: str = "native") -> Result:
    check_backend(backend)
    if backend != "native":
        raise ParameterError(f"backend must be 'native' for tdbn_depth (hand-written STBP), got {backend!r}")
    provenance: dict = {}
    with timed(provenance, backend, config.seed):
        data = load_data(config)
        probe = np.random.default_rng([config.seed, 1]).choice(len(data.y_train), min(config.probe, len(data.y_train)),
                                                               replace=False)
        x_probe, y_probe = data.x_train[probe], data.y_train[probe]
        names, depths = parse_norms(config.norms), np.array(config.depths, dtype=int)
        N, D, E, M = len(names), depths.size, config.epochs, int(depths.max())
        acc = np.zeros((N, D, E + 1))
        loss = np.zeros((N, D, E))
        grads = np.full((N, D, E + 1, M + 1), np.nan)
        rates = np.full((N, D, E + 1, M), np.nan)
        for i, name in enumerate(names):
            for j, depth in enumerate(depths):
                net = SNN([data.x_train.shape[1]] + [config.width] * int(depth) + [n_classes(data)], T=config.T, norm=NORM_NAMES[name],
                          seed=config.seed + int(depth))
                opt = optim.Adam(lr=config.lr)
                rng = np.random.default_rng([config.seed, 2, int(depth)])
                for epoch in range(E + 1):
                    if epoch:
                        loss[i, j, epoch - 1] = train_epoch(net, opt, data.x_train, data.y_train,
                                                            batch=config.batch, rng=rng)
                    _, g, trace = stbp.loss_and_gradients(net, x_probe, y_probe)
                    grads[i, j, epoch, :depth + 1] = layer_norms(g)
                    rates[i, j, epoch, :depth] = firing_rates(trace)
                    acc[i, j, epoch] = accuracy(net, data.x_test, data.y_test)
        provenance.update(n_train=len(data.y_train), n_test=len(data.y_test), dataset=dataset_name(config))
    return Result(config, ",".join(names), depths, acc, loss, grads, rates, provenance=provenance)


def dataset_name(config: DataConfig) -> str:
    return "sklearn digits" if config.idx_dir is None else f"IDX files in {config.idx_dir}"


def gradient_ratio(result: Result, norm: str, depth_index: int, epoch: int = 0) -> float:
    """max/min of the hidden layers' weight-gradient norms (W^1..W^L); inf when one vanished."""
    i = result.norm_names().index(norm)
    depth = int(result.depths[depth_index])
    g = result.grad_norms[i, depth_index, epoch, :depth]
    return float(g.max() / g.min()) if g.min() > 0 else float("inf")


def compare(result: Result) -> list[dict]:
    """``plab report`` rows: the paper's claim at the largest depth of the run."""
    c, names = result.config, result.norm_names()
    j = int(np.argmax(result.depths))
    depth = int(result.depths[j])
    rows = []
    paper = "Zheng et al. 2021: tdBN keeps gradients balanced through depth; deep SNNs train (no per-layer numbers)"
    for name in names:
        i = names.index(name)
        ratio, acc = gradient_ratio(result, name, j), float(result.accuracy[i, j, -1])
        note = (f"{name}, depth {depth}: gradient max/min over hidden layers {ratio:.3g} at init, "
                f"{gradient_ratio(result, name, j, -1):.3g} after training; test accuracy {acc:.3f}; "
                f"rates first/last hidden layer {result.rates[i, j, -1, 0]:.3f}/{result.rates[i, j, -1, depth - 1]:.3f}")
        if name == "tdbn":
            rows.append(dict(rule="tdBN", measure=f"hidden-layer gradient norm ratio at init, depth {depth}",
                             distance=ratio, paper=paper, tolerance=f"<= {c.ratio_bound:g}",
                             passed=bool(ratio <= c.ratio_bound), note=note))
            rows.append(dict(rule="tdBN", measure=f"test accuracy after {c.epochs} epochs, depth {depth}",
                             distance=acc, paper=paper, tolerance=f">= {c.min_accuracy:g} (chance 0.1)",
                             passed=bool(acc >= c.min_accuracy)))
        elif name == "none":
            fails = not (ratio <= c.ratio_bound and acc >= c.min_accuracy)
            rows.append(dict(rule="no normalisation", measure=f"deep network fails (ratio > {c.ratio_bound:g} or "
                             f"accuracy < {c.min_accuracy:g}), depth {depth}", distance=acc, paper=paper,
                             tolerance="claim: fails", passed=bool(fails), note=note))
        else:
            rows.append(dict(rule="plain BN", measure=f"test accuracy, depth {depth} (gradient ratio {ratio:.3g})",
                             distance=acc, paper="comparison only", tolerance="", passed=None, note=note))
    return rows


def plot(result: Result) -> dict:
    from matplotlib.figure import Figure

    names, depths = result.norm_names(), result.depths
    figs = {}
    fig = Figure(figsize=(10, 4), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    for i, n in enumerate(names):
        ax1.plot(depths, result.accuracy[i, :, -1], "o-", label=n)
        ax2.plot(depths, [gradient_ratio(result, n, j) for j in range(depths.size)], "o-", label=n)
    ax1.axhline(0.1, color="0.5", ls=":", lw=1, label="chance")
    ax1.set(xscale="log", xlabel="hidden layers", ylabel="test accuracy", title="digits after training")
    ax2.set(xscale="log", yscale="log", xlabel="hidden layers", ylabel="max/min |dL/dW^l|",
            title="hidden-layer gradient norm spread at init (inf not drawn)")
    ax1.legend(fontsize="small")
    ax2.legend(fontsize="small")
    figs["accuracy_depth"] = fig

    for key, values, ylabel, extra in (("grad_norms", result.grad_norms, "|dL/dW^l|", 1),
                                       ("firing_rates", result.rates, "spikes per neuron per step", 0)):
        fig = Figure(figsize=(4 * len(names), 3.6), layout="constrained")
        axes = np.atleast_1d(fig.subplots(1, len(names), sharey=True))
        for ax, i, n in zip(axes, range(len(names)), names):
            for j, d in enumerate(depths):
                layers = np.arange(1, int(d) + 1 + extra)
                line, = ax.plot(layers, values[i, j, 0, :int(d) + extra], "o--", ms=3, lw=0.8, label=f"depth {d}, init")
                ax.plot(layers, values[i, j, -1, :int(d) + extra], "o-", ms=3, color=line.get_color(), label="trained")
            ax.set(xlabel="layer l", title=n)
            if key == "grad_norms":
                ax.set_yscale("symlog", linthresh=1e-8)
        axes[0].set_ylabel(ylabel)
        axes[-1].legend(fontsize="x-small", ncol=2)
        figs[key] = fig

    fig = Figure(figsize=(4 * len(names), 3.6), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(names), sharey=True))
    for ax, i, n in zip(axes, range(len(names)), names):
        for j, d in enumerate(depths):
            ax.plot(np.arange(result.accuracy.shape[2]), result.accuracy[i, j], "o-", ms=3, label=f"depth {d}")
        ax.set(xlabel="epoch", title=n)
    axes[0].set_ylabel("test accuracy")
    axes[-1].legend(fontsize="small")
    figs["learning_curves"] = fig
    return figs


def summary(result: Result) -> str:
    c = result.config
    lines = [f"tdbn_depth on digits: 64 - {c.width} x depth - 10, T {c.T}, {c.epochs} epochs of Adam (lr {c.lr:g}), "
             f"batch {c.batch}; gradient norms on {c.probe} training samples",
             f"  {'norm':<6} {'depth':>5} {'test acc':>9} {'grad max/min init':>18} {'trained':>9} "
             f"{'rate first':>11} {'rate last':>10}"]
    for i, n in enumerate(result.norm_names()):
        for j, d in enumerate(result.depths):
            lines.append(f"  {n:<6} {int(d):>5} {result.accuracy[i, j, -1]:>9.3f} {gradient_ratio(result, n, j):>18.3g} "
                         f"{gradient_ratio(result, n, j, -1):>9.3g} {result.rates[i, j, -1, 0]:>11.3f} "
                         f"{result.rates[i, j, -1, int(d) - 1]:>10.3f}")
    return "\n".join(lines)
