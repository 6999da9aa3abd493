"""STDP window: 60 pre/post pairings at 1 Hz for each spike-time difference, Δw(Δt).

The classic pairing protocol (Bi & Poo 1998, J Neurosci 18:10464): a presynaptic spike and
a postsynaptic spike Δt = t_post - t_pre apart, repeated ``n_pairs`` times at
``frequency_hz``, on one synapse per Δt, for any spike-timing rule. The result is the
relative weight change Δw/w0. Exponentials A± exp(-|Δt|/τ±) are fitted to each branch and
their time constants compared with Bi & Poo's (τ+ = 16.8 ms, τ- = 33.7 ms, as used by
Pfister & Gerstner 2006). The 45 cells of Bi & Poo 1998 Fig. 7 (digitised; provenance in
analysis/data/README.md) are overlaid by default, measured points of your own (CSV with
columns dt_ms, dw[, sem]) instead with ``data_csv``; the RMS distance to them is reported.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from plasticity import replay
from plasticity.errors import ParameterError, check_int, check_non_negative, check_positive, validate

from .common import check_backend, check_target, make_rule, timed

BI_POO_TAU_PLUS, BI_POO_TAU_MINUS = 16.8, 33.7  # ms; Bi & Poo (2001), verified (analysis/data/plasticity_data.json)
BRIAN_DT = 0.1  # ms: Brian2 is clock-driven; its grid when sim_dt is None
DIGITISED_LABEL = "digitised from Bi & Poo 1998 Fig. 7"


@dataclass(frozen=True)
class Config:
    """Pairing protocol. Times in ms, frequency in Hz, amplitudes in weight units (w_max = 1)."""

    rule: str = "pair"                     # "pair" or "triplet"
    scheme: str = "all_to_all"             # pair rule's pairing scheme
    weight_dependence: str = "additive"
    a_plus: float = 0.005
    a_minus: float = 0.00525
    tau_plus: float = BI_POO_TAU_PLUS
    tau_minus: float = BI_POO_TAU_MINUS
    triplet_set: str = "hippocampal/all_to_all/minimal"
    w0: float = 0.5
    n_pairs: int = 60
    frequency_hz: float = 1.0
    dt_min: float = -100.0
    dt_max: float = 100.0
    dt_step: float = 5.0
    sim_dt: float | None = None            # None: event-driven; else the clock-driven grid (ms)
    data_csv: str = ""                     # measured points to overlay; empty: the digitised Bi & Poo cells
    target: str = "numpy"                  # Brian2 target with backend="brian2"

    def __post_init__(self):
        validate(self)   # every field by its annotation: type, finite (plasticity.errors)
        check_int("n_pairs", self.n_pairs, 1)
        check_positive("frequency_hz", self.frequency_hz, "Hz")
        check_positive("dt_step", self.dt_step, "ms")
        if not self.dt_min < self.dt_max:
            raise ParameterError(f"dt_max must be > dt_min ({self.dt_min} ms), got {self.dt_max}")
        period = 1000.0 / self.frequency_hz
        if max(abs(self.dt_min), abs(self.dt_max)) >= period / 2:
            raise ParameterError(f"dt_min and dt_max must stay below half the pairing period of frequency_hz = "
                                 f"{self.frequency_hz} Hz ({period / 2} ms) in magnitude, "
                                 f"got dt range [{self.dt_min}, {self.dt_max}]")
        check_non_negative("w0", self.w0)
        if self.sim_dt is not None:
            check_positive("sim_dt", self.sim_dt, "ms")
        check_target(self.target)
        self.make_rule()  # validates the rule's fields

    @classmethod
    def small(cls) -> "Config":
        return cls(n_pairs=10, dt_step=20.0)

    def make_rule(self):
        return make_rule(self.rule, triplet_set=self.triplet_set, scheme=self.scheme,
                         weight_dependence=self.weight_dependence, a_plus=self.a_plus,
                         a_minus=self.a_minus, tau_plus=self.tau_plus, tau_minus=self.tau_minus)

    @property
    def dts(self) -> np.ndarray:
        n = int(np.floor((self.dt_max - self.dt_min) / self.dt_step + 1e-9)) + 1
        return self.dt_min + self.dt_step * np.arange(n)


@dataclass(frozen=True)
class Result:
    config: Config
    dt_ms: np.ndarray          # spike-time differences t_post - t_pre (ms)
    dw: np.ndarray             # relative weight change Δw / w0
    fit: np.ndarray            # [A+, tau+ (ms), A-, tau- (ms)] of A± exp(-|Δt|/τ±), NaN if not fitted
    data_dt: np.ndarray = field(default_factory=lambda: np.zeros(0))
    data_dw: np.ndarray = field(default_factory=lambda: np.zeros(0))
    data_sem: np.ndarray = field(default_factory=lambda: np.zeros(0))
    provenance: dict = field(default_factory=dict)


def pairing_trains(dts, n_pairs, frequency_hz, start=None):
    """Spike trains for the protocol: one pre and one post neuron per Δt (ms).

    Pair k of neuron m: pre at start + k*period, post at that time + dts[m].
    """
    dts = np.asarray(dts, dtype=float)
    period = 1000.0 / frequency_hz
    start = period / 2 if start is None else start
    t_pairs = start + period * np.arange(n_pairs)
    pre = [t_pairs.copy() for _ in dts]
    post = [t_pairs + d for d in dts]
    return pre, post


def run(config: Config, backend: str = "native") -> Result:
    check_backend(backend)
    provenance: dict = {}
    with timed(provenance, backend):
        rule = config.make_rule()
        dts = config.dts
        pre, post = pairing_trains(dts, config.n_pairs, config.frequency_hz)
        w_start = config.w0 * (rule.w_max - rule.w_min) + rule.w_min
        if backend == "native":
            w = np.diag(replay(rule, pre, post, np.full((dts.size, dts.size), w_start), dt=config.sim_dt))
            # synapse (m, m) sees only pre m and post m: the protocol for dts[m]
        else:
            from .brian_backend import replay_pairs

            grid = config.sim_dt or BRIAN_DT
            last = max(t[-1] for t in post + pre)
            w = replay_pairs(rule, pre, post, np.full(dts.size, w_start), dt=grid, duration=last + 2 * grid,
                             target=config.target, pairs="diagonal")
            provenance.update(target=config.target, grid_ms=grid)
        dw = (w - w_start) / w_start
        fit = fit_window(dts, dw)
        data = load_points(config.data_csv) if config.data_csv else digitised_bi_poo()
    return Result(config, dts, dw, fit, *data, provenance=provenance)


def fit_window(dt_ms, dw) -> np.ndarray:
    """Least-squares fit of A+ exp(-Δt/τ+) (Δt > 0) and -A- exp(Δt/τ-) (Δt < 0).

    Returns [A+, τ+, A-, τ-] (τ in ms); NaN for a branch with fewer than 3 points or no
    consistent sign.
    """
    from scipy.optimize import curve_fit

    out = np.full(4, np.nan)
    for k, (mask, sign) in enumerate(((dt_ms > 0, 1.0), (dt_ms < 0, -1.0))):
        x, y = np.abs(dt_ms[mask]), sign * dw[mask]
        if x.size < 3 or np.all(y <= 0):
            continue
        try:
            (a, tau), _ = curve_fit(lambda s, a, tau: a * np.exp(-s / tau), x, y,
                                    p0=(max(y.max(), 1e-12), 20.0), maxfev=10000)
        except RuntimeError:
            continue
        out[2 * k:2 * k + 2] = a, tau
    return out


def digitised_bi_poo():
    """The 45 cells of Bi & Poo 1998 Fig. 7 as (dt_ms, dw, sem): Δt = t_post - t_pre (ms), the
    relative EPSC change after 60 pairings at 1 Hz (0.5 = +50 %), sem zeros (one cell per point).

    Digitised from the published figure by a third party and unverified; the citation and
    provenance are in the ``bi_poo_window.points`` entry of :mod:`analysis.reference`.
    """
    from analysis.reference import load

    values = np.asarray(load("bi_poo_window")["points"]["values"], dtype=float)
    return values[:, 0], values[:, 1] / 100.0, np.zeros(len(values))


def load_points(path):
    """Measured (dt_ms, dw, sem) points from a CSV with a header row; sem optional."""
    try:
        table = np.genfromtxt(path, delimiter=",", names=True)
    except OSError:
        raise FileNotFoundError(f"data_csv file not found: {path}") from None
    names = table.dtype.names or ()
    if "dt_ms" not in names or "dw" not in names:
        raise ParameterError(f"data_csv must have columns dt_ms, dw[, sem], got {names}")
    sem = table["sem"] if "sem" in names else np.zeros(table.size)
    columns = {"dt_ms": np.atleast_1d(table["dt_ms"]), "dw": np.atleast_1d(table["dw"]), "sem": np.atleast_1d(sem)}
    for column, values in columns.items():
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            raise ParameterError(f"data_csv {path}: column {column} must hold finite numbers, got "
                                 f"{float(values[bad[0]])!r} in data row {bad[0] + 1} (empty cells read as nan)")
    return columns["dt_ms"], columns["dw"], columns["sem"]


def data_label(config) -> str:
    """What the overlaid points are: the user's CSV or the digitised Bi & Poo cells."""
    return f"data ({config.data_csv})" if config.data_csv else DIGITISED_LABEL


def rms_to_data(result: Result) -> float:
    """RMS difference between the model (interpolated) and the overlaid data points."""
    if result.data_dt.size == 0:
        return float("nan")
    model = np.interp(result.data_dt, result.dt_ms, result.dw)
    return float(np.sqrt(np.mean((model - result.data_dw) ** 2)))


def plot(result: Result):
    from analysis.plots import stdp_window_plot

    c = result.config
    rule = (f"pair STDP ({c.scheme}, {c.weight_dependence})" if c.rule == "pair"
            else f"triplet STDP ({c.triplet_set})")
    ax = stdp_window_plot(result.dt_ms, 100 * result.dw, reference=None, ylabel="Δw / w0 (%)", label=rule)
    a_plus, _, a_minus, _ = result.fit
    if np.isfinite(a_plus) and np.isfinite(a_minus):
        s = np.linspace(result.dt_ms.min(), result.dt_ms.max(), 400)
        curve = np.where(s >= 0, a_plus * np.exp(-s / BI_POO_TAU_PLUS), -a_minus * np.exp(s / BI_POO_TAU_MINUS))
        ax.plot(s, 100 * curve, "--", color="C3",
                label="Bi & Poo window shape (τ+ 16.8, τ− 33.7 ms), fitted amplitudes")
    if result.data_dt.size:
        ax.errorbar(result.data_dt, 100 * result.data_dw, yerr=100 * result.data_sem, fmt="s", ms=3,
                    color="k", capsize=2, alpha=0.7, label=data_label(result.config))
    ax.set_title(f"STDP window: {result.config.rule} rule, {result.config.n_pairs} pairs at "
                 f"{result.config.frequency_hz:g} Hz")
    if ax.get_legend() is not None:
        ax.get_legend().remove()
    ax.figure.legend(fontsize="x-small", loc="outside lower center", ncols=2)   # below: the cells fill the axes
    return {"stdp_window": ax.figure}


def summary(result: Result) -> str:
    a_plus, tau_plus, a_minus, tau_minus = result.fit
    c = result.config
    lines = [
        f"STDP window ({c.rule} rule, {c.scheme if c.rule == 'pair' else c.triplet_set}), "
        f"{c.n_pairs} pairings at {c.frequency_hz:g} Hz, {result.dt_ms.size} values of Δt",
        f"  largest potentiation {100 * result.dw.max():+.1f}% at Δt = {result.dt_ms[np.argmax(result.dw)]:+.0f} ms; "
        f"largest depression {100 * result.dw.min():+.1f}% at Δt = {result.dt_ms[np.argmin(result.dw)]:+.0f} ms",
        f"  fitted tau+ = {tau_plus:.1f} ms (Bi & Poo 16.8), tau- = {tau_minus:.1f} ms (Bi & Poo 33.7); "
        f"A+ = {100 * a_plus:.1f}%, A- = {100 * a_minus:.1f}%",
    ]
    if result.data_dt.size:
        lines.append(f"  RMS distance to the {result.data_dt.size} data points ({data_label(c)}): "
                     f"{100 * rms_to_data(result):.1f}%")
    return "\n".join(lines)
