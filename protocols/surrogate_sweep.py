"""Accuracy vs surrogate-gradient shape and width: STBP with tdBN on the digits.

The same spiking network (``models.feedforward.SNN``, 64 - hidden - 10, tdBN, the same
initial weights and batches) is trained with STBP using each pseudo-derivative shape in
``kinds`` at each width w in ``widths`` (model voltage units; V_th = 0.5). The width maps to
each shape's parameter so that w = 1 is the paper's rectangle (Zheng et al. 2021, a = 1) and
the peak height is 1/w where the shape allows it:

    rectangular   width = w                 psi = 1/w on |u| < w/2
    dspike        width = w, b = temperature     (Li et al. 2021; unit area on |u| < w/2)
    arctan        alpha = 2/w               peak alpha/2 = 1/w, half height at |u| = w/pi
    fast_sigmoid  slope = 2/w               peak 1, half height at |u| = 0.41 w / 2
    triangular    not swept (its support is tied to V_th in plasticity.surrogate)

Seed 002's claim as the criterion: surrogate-gradient training is robust across choices —
the test accuracies of all shapes at widths within [``robust_low``, ``robust_high``] lie
within ``spread`` of each other.

    plab run surrogate_sweep
    plab run surrogate_sweep --set kinds=rectangular,dspike widths=[0.25,1,4] epochs=8
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from models.feedforward import SNN, accuracy, train_epoch
from plasticity import optim
from plasticity.errors import ParameterError, check_int, check_positive, validate
from plasticity.surrogate import Surrogate

from .common import check_backend, timed
from .tdbn_depth import DataConfig, dataset_name, load_data, n_classes, parse_names

SWEPT = ("rectangular", "dspike", "arctan", "fast_sigmoid")


def surrogate_for(kind: str, width: float, temperature: float = 3.0) -> Surrogate:
    """The :class:`Surrogate` of ``kind`` at width ``w`` (the mapping of the module docstring)."""
    if kind == "rectangular":
        return Surrogate(kind, width=width)
    if kind == "dspike":
        return Surrogate(kind, width=width, temperature=temperature)
    if kind == "arctan":
        return Surrogate(kind, alpha=2.0 / width)
    if kind == "fast_sigmoid":
        return Surrogate(kind, slope=2.0 / width)
    raise ParameterError(f"kinds entries must be among {', '.join(SWEPT)}, got {kind!r}")


@dataclass(frozen=True)
class Config(DataConfig):
    """Surrogate sweep; widths in model voltage units (V_th = 0.5)."""

    kinds: str = "rectangular,dspike,arctan,fast_sigmoid"
    widths: tuple = (0.25, 0.5, 1.0, 2.0, 4.0)
    temperature: float = 3.0     # Dspike's b
    hidden: tuple = (128, 128)
    T: int = 4
    epochs: int = 5
    batch: int = 64
    lr: float = 3e-3
    robust_low: float = 0.5      # criterion: widths in [robust_low, robust_high] ...
    robust_high: float = 2.0
    spread: float = 0.05         # ... give accuracies within this of each other
    seed: int = 0

    def __post_init__(self):
        validate(self)   # every field by its annotation: type, finite (plasticity.errors)
        self.kind_list()
        if len(self.widths) == 0:
            raise ParameterError("widths must list at least one width, got ()")
        for w in self.widths:
            check_positive("widths entry", w)
        check_positive("temperature", self.temperature)
        for n in self.hidden:
            check_int("hidden entry", n, 1)
        for name in ("T", "epochs", "batch"):
            check_int(name, getattr(self, name), 1)
        check_positive("lr", self.lr)
        check_positive("spread", self.spread)
        if not 0 < self.robust_low <= self.robust_high:
            raise ParameterError(f"robust_low must be > 0 and <= robust_high, got {self.robust_low!r}, {self.robust_high!r}")
        check_int("seed", self.seed, 0)
        self.check_data()

    @classmethod
    def small(cls) -> "Config":
        """Seconds: rectangular and Dspike at widths 0.5 and 2, one hidden layer of 32, 2 epochs."""
        return cls(kinds="rectangular,dspike", widths=(0.5, 2.0), hidden=(32,), epochs=2)

    def kind_list(self) -> list[str]:
        return parse_names("kinds", self.kinds, SWEPT)


@dataclass(frozen=True)
class Result:
    config: Config
    kinds: str
    widths: np.ndarray         # (W,)
    accuracy: np.ndarray       # (K, W) test accuracy after training
    train_loss: np.ndarray     # (K, W, epochs)
    provenance: dict = field(default_factory=dict)

    def kind_names(self) -> list[str]:
        return self.kinds.split(",")


def run(config: Config, backend: str = "native") -> Result:
    check_backend(backend)
    if backend != "native":
        raise ParameterError(f"backend must be 'native' for surrogate_sweep (hand-written STBP), got {backend!r}")
    provenance: dict = {}
    with timed(provenance, backend, config.seed):
        data = load_data(config)
        kinds, widths = config.kind_list(), np.array(config.widths, dtype=float)
        acc = np.zeros((len(kinds), widths.size))
        loss = np.zeros((len(kinds), widths.size, config.epochs))
        for i, kind in enumerate(kinds):
            for j, w in enumerate(widths):
                net = SNN([data.x_train.shape[1], *config.hidden, n_classes(data)], T=config.T, seed=config.seed,
                          surrogate=surrogate_for(kind, float(w), config.temperature))
                opt = optim.Adam(lr=config.lr)
                rng = np.random.default_rng([config.seed, 2])
                for e in range(config.epochs):
                    loss[i, j, e] = train_epoch(net, opt, data.x_train, data.y_train, batch=config.batch, rng=rng)
                acc[i, j] = accuracy(net, data.x_test, data.y_test)
        provenance.update(n_train=len(data.y_train), n_test=len(data.y_test), dataset=dataset_name(config))
    return Result(config, ",".join(kinds), widths, acc, loss, provenance=provenance)


def compare(result: Result) -> list[dict]:
    """``plab report`` row: the spread of accuracies over shapes and moderate widths."""
    c = result.config
    inside = (result.widths >= c.robust_low) & (result.widths <= c.robust_high)
    if not inside.any():
        return [dict(rule="", measure=f"(no width in [{c.robust_low:g}, {c.robust_high:g}])", distance=None,
                     paper="", tolerance="", passed=None)]
    acc = result.accuracy[:, inside]
    spread = float(acc.max() - acc.min())
    worst = np.unravel_index(np.argmin(result.accuracy), result.accuracy.shape)
    note = (f"accuracies {acc.min():.3f}..{acc.max():.3f} over {', '.join(result.kind_names())} at widths "
            f"{', '.join(f'{w:g}' for w in result.widths[inside])}; over all widths the lowest is "
            f"{result.accuracy[worst]:.3f} ({result.kind_names()[worst[0]]}, w {result.widths[worst[1]]:g})")
    return [dict(rule="surrogate shape and width", measure=f"max - min test accuracy, widths {c.robust_low:g}..{c.robust_high:g}",
                 distance=spread, paper="seed 002: surrogate-gradient training is robust to the shape",
                 tolerance=f"<= {c.spread:g}", passed=bool(spread <= c.spread), note=note)]


def plot(result: Result) -> dict:
    from matplotlib.figure import Figure

    from analysis.plots import surrogate_shapes_plot

    c = result.config
    fig = Figure(figsize=(11, 4), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    for i, k in enumerate(result.kind_names()):
        ax1.plot(result.widths, result.accuracy[i], "o-", label=k)
    ax1.axvspan(c.robust_low, c.robust_high, color="0.9", zorder=0)
    ax1.set(xscale="log", xlabel="surrogate width w (V_th = 0.5)", ylabel="test accuracy",
            title=f"digits after {c.epochs} epochs")
    ax1.legend(fontsize="small")
    surrogate_shapes_plot([surrogate_for(k, 1.0, c.temperature) for k in result.kind_names()], v_th=0.5, ax=ax2)
    ax2.set_title("the shapes at w = 1")
    return {"surrogate_sweep": fig}


def summary(result: Result) -> str:
    c = result.config
    head = "  " + f"{'shape':<13}" + "".join(f"{'w=' + format(w, 'g'):>9}" for w in result.widths)
    lines = [f"surrogate_sweep on digits: 64-{'-'.join(map(str, c.hidden))}-10, tdBN, T {c.T}, {c.epochs} epochs; "
             "test accuracy", head]
    for i, k in enumerate(result.kind_names()):
        lines.append("  " + f"{k:<13}" + "".join(f"{a:>9.3f}" for a in result.accuracy[i]))
    return "\n".join(lines)
