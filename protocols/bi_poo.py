"""Bi & Poo 1998 STDP window: least-squares fit of A±, τ± to the 45 recorded cells, with CIs.

Bi & Poo (1998) J Neurosci 18:10464 paired pre and post spikes 60 times at 1 Hz in
hippocampal cultures and measured the relative EPSC change against Δt = t_post - t_pre
(Fig. 7, one point per cell); exponential fits give τ+ = 16.8 ms and τ- = 33.7 ms (Bi & Poo
2001, as used by Pfister & Gerstner 2006; ``bi_poo_window`` in :mod:`analysis.reference`).

By default the protocol fits the 45 cells of Fig. 7 (digitised from the published figure
by a third party, unverified; provenance in analysis/data/README.md), labelled "digitised
from Bi & Poo 1998 Fig. 7" wherever they appear. ``data_csv`` (a header row and columns
``dt_ms, dw[, sem]``, dw as relative change, 0.5 = +50 %) fits your own points instead.

Fit: ``scipy.optimize.least_squares`` of Δw(Δt) = A+ exp(-Δt/τ+) (Δt > 0),
-A- exp(Δt/τ-) (Δt < 0), τ in [0.5, 1000] ms, residuals weighted by 1/sem when sems are
given; s² = (weighted) RSS / (n - 4). Standard errors: (JᵀJ)⁻¹ s² (``curve_fit``'s
``absolute_sigma=False``). 95 % intervals: for A± Student's t with n - 4 dof; for τ± the
profile likelihood (τ fixed on a grid, the other three refitted; inside where
RSS(τ) - RSS_min <= s² F(0.95; 1, n - 4)), which stays honest when a branch hardly
constrains its τ — on the 45 cells the depression branch does not (its interval reaches the
1000 ms bound). The published pair (16.8, 33.7) is also tested jointly: F test of the fit
with both τ fixed at the published values against the free fit (2 and n - 4 dof).

The fitted window is then run as a rule: additive all-to-all pair STDP with A± / n_pairs
per pairing and the fitted τ±, ``n_pairs`` pairings at ``frequency_hz`` replayed on one
synapse per Δt (w0 = 1, so w - 1 is the relative change), and its RMS distance to the
points is reported beside the fit's.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from plasticity import PairSTDP, replay
from plasticity.errors import ParameterError, check_int, check_positive, validate

from .common import check_backend, timed
from .stdp_window import DIGITISED_LABEL, digitised_bi_poo, load_points, pairing_trains

PUBLISHED_TAU_PLUS, PUBLISHED_TAU_MINUS = 16.8, 33.7   # ms, checked against the data file in the tests
PARAM_NAMES = ("A+", "tau+ (ms)", "A-", "tau- (ms)")
W_MAX = 1000.0
CI_LEVEL = 0.95
TAU_BOUNDS = (0.5, 1000.0)                             # ms, the fit's range for both τ
PROFILE_POINTS = 2001                                  # log-spaced τ values of the profile


@dataclass(frozen=True)
class Config:
    """Window fit. Δt in ms, amplitudes as relative change after the whole protocol (0.5 = +50 %)."""

    data_csv: str = ""                 # your points (dt_ms, dw[, sem]); empty: the 45 digitised cells
    n_pairs: int = 60
    frequency_hz: float = 1.0

    def __post_init__(self):
        validate(self)   # every field by its annotation: type, finite (plasticity.errors)
        check_int("n_pairs", self.n_pairs, 1)
        check_positive("frequency_hz", self.frequency_hz, "Hz")

    @classmethod
    def small(cls) -> "Config":
        """The default: the fit, its profiles and a 60-pairing replay take about a second."""
        return cls()


@dataclass(frozen=True)
class Result:
    config: Config
    data_dt: np.ndarray          # ms
    data_dw: np.ndarray          # relative change
    data_sem: np.ndarray         # zeros when not given
    digitised: bool              # True: the shipped cells of Bi & Poo 1998 Fig. 7; False: data_csv
    params: np.ndarray           # fitted [A+, tau+ (ms), A-, tau- (ms)]
    stderr: np.ndarray           # standard errors from the Jacobian
    ci_low: np.ndarray           # 95 % intervals: t for A±, profile likelihood for τ±
    ci_high: np.ndarray
    rms_fit: float               # RMS residual of the fitted curve (relative change)
    published_f: float           # F statistic: both τ fixed at 16.8 / 33.7 ms vs the free fit
    published_p: float           # its p value (2, n - 4 dof)
    rule_dt: np.ndarray          # Δt of the rule simulation (ms)
    rule_dw: np.ndarray          # relative change after n_pairs pairings with the fitted rule
    rms_rule: float              # RMS distance of the simulated rule to the points
    provenance: dict = field(default_factory=dict)

    @property
    def tau_within_ci(self) -> tuple[bool, bool]:
        """Whether the published τ+ = 16.8 and τ- = 33.7 ms lie inside the fitted 95 % intervals."""
        return (bool(self.ci_low[1] <= PUBLISHED_TAU_PLUS <= self.ci_high[1]),
                bool(self.ci_low[3] <= PUBLISHED_TAU_MINUS <= self.ci_high[3]))


def window(dt_ms, params) -> np.ndarray:
    """A+ exp(-Δt/τ+) for Δt > 0, -A- exp(Δt/τ-) for Δt < 0, 0 at Δt = 0."""
    a_plus, tau_plus, a_minus, tau_minus = params
    dt = np.asarray(dt_ms, dtype=float)
    return np.where(dt > 0, a_plus * np.exp(-np.abs(dt) / tau_plus),
                    np.where(dt < 0, -a_minus * np.exp(-np.abs(dt) / tau_minus), 0.0))


def _least_squares(dt, y, weight, p0, fixed=None):
    """Best parameters (and the optimizer's result) with the entries of ``fixed`` held."""
    from scipy.optimize import least_squares

    fixed = fixed or {}
    free = [k for k in range(4) if k not in fixed]
    lower = np.array([0.0, TAU_BOUNDS[0], 0.0, TAU_BOUNDS[0]])
    upper = np.array([np.inf, TAU_BOUNDS[1], np.inf, TAU_BOUNDS[1]])

    def full(q):
        p = np.empty(4)
        p[free] = q
        for k, v in fixed.items():
            p[k] = v
        return p

    res = least_squares(lambda q: (window(dt, full(q)) - y) * weight, np.clip(np.asarray(p0, float)[free],
                        lower[free], upper[free]), bounds=(lower[free], upper[free]), x_scale="jac",
                        xtol=1e-12, ftol=1e-12, gtol=1e-12, max_nfev=10_000)
    return full(res.x), res


def _prepare(dt_ms, dw, sem):
    dt = np.asarray(dt_ms, dtype=float)
    y = np.asarray(dw, dtype=float)
    sem = np.zeros(dt.size) if sem is None else np.asarray(sem, dtype=float)
    pos, neg = dt > 0, dt < 0
    if pos.sum() < 2 or neg.sum() < 2 or dt.size < 5:
        raise ParameterError(f"the fit needs >= 2 points on each side of dt = 0 and >= 5 in all, "
                             f"got {pos.sum()} with dt > 0 and {neg.sum()} with dt < 0")
    weight = 1.0 / sem if np.all(sem > 0) else np.ones(dt.size)
    p0 = np.array([max(np.max(y[pos]), 1e-3), 20.0, max(np.max(-y[neg]), 1e-3), 20.0])
    return dt, y, weight, p0


def fit(dt_ms, dw, sem=None):
    """Least-squares fit of the exponential window; returns (params, stderr, ci_low, ci_high, rms).

    Residuals are weighted by 1/sem when every sem is > 0. The covariance (JᵀJ)⁻¹ s²
    uses the Jacobian at the optimum and s² = weighted RSS / (n - 4); these intervals are
    95 % with Student's t (n - 4 degrees of freedom) for all four parameters (see
    :func:`profile_ci` for the τ intervals the protocol reports).
    """
    from scipy import stats

    dt, y, weight, p0 = _prepare(dt_ms, dw, sem)
    params, res = _least_squares(dt, y, weight, p0)
    dof = max(dt.size - 4, 1)
    s2 = float(np.sum(res.fun ** 2)) / dof
    try:
        cov = np.linalg.inv(res.jac.T @ res.jac) * s2
        stderr = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    except np.linalg.LinAlgError:
        stderr = np.full(4, np.inf)
    half = stats.t.ppf(0.5 + CI_LEVEL / 2, dof) * stderr
    rms = float(np.sqrt(np.mean((window(dt, params) - y) ** 2)))
    return params, stderr, params - half, params + half, rms


def _rss(dt, y, weight, params) -> float:
    return float(np.sum(((window(dt, params) - y) * weight) ** 2))


def _branch_rss(taus, dt, y, weight, sign) -> np.ndarray:
    """Least RSS of one branch (sign +1: Δt > 0, -1: Δt < 0) for each τ in ``taus``, its
    amplitude A >= 0 solved in closed form (the branches share no parameter, and with τ held
    the model is linear in A)."""
    mask = sign * dt > 0
    x, target, w2 = np.abs(dt[mask]), sign * y[mask], weight[mask] ** 2
    e = np.exp(-x[None, :] / np.asarray(taus, dtype=float)[:, None])
    a = np.clip((e * target * w2).sum(axis=1) / (e * e * w2).sum(axis=1), 0.0, None)
    return ((a[:, None] * e - target) ** 2 * w2).sum(axis=1)


def profile_ci(dt_ms, dw, sem, params, index: int) -> tuple[float, float]:
    """95 % profile-likelihood interval (ms) of τ+ (``index`` 1) or τ- (3).

    τ is held at each of PROFILE_POINTS log-spaced values in TAU_BOUNDS, the other
    parameters refitted (only its own branch's amplitude changes); the interval holds the τ
    whose RSS exceeds the optimum's by at most s² F(0.95; 1, n - 4). An end at a bound of
    TAU_BOUNDS means "not constrained beyond it".
    """
    from scipy import stats

    dt, y, weight, _ = _prepare(dt_ms, dw, sem)
    rss_min = _rss(dt, y, weight, params)
    dof = max(dt.size - 4, 1)
    limit = rss_min * (1.0 + stats.f.ppf(CI_LEVEL, 1, dof) / dof)
    sign = 1.0 if index == 1 else -1.0
    other = rss_min - _branch_rss([params[index]], dt, y, weight, sign)[0]
    grid = np.unique(np.concatenate([np.geomspace(*TAU_BOUNDS, PROFILE_POINTS), [params[index]]]))
    inside = grid[other + _branch_rss(grid, dt, y, weight, sign) <= limit * (1.0 + 1e-12)]
    return float(inside.min()), float(inside.max())


def published_test(dt_ms, dw, sem, params) -> tuple[float, float]:
    """F test of τ± fixed at the published (16.8, 33.7) ms against the free fit: (F, p)."""
    from scipy import stats

    dt, y, weight, _ = _prepare(dt_ms, dw, sem)
    dof = max(dt.size - 4, 1)
    rss_free = _rss(dt, y, weight, params)
    rss_held = (_branch_rss([PUBLISHED_TAU_PLUS], dt, y, weight, 1.0)[0]
                + _branch_rss([PUBLISHED_TAU_MINUS], dt, y, weight, -1.0)[0])
    excess = max(rss_held - rss_free, 0.0)
    if rss_free == 0.0:                                   # points exactly on the fitted window
        return (float("inf"), 0.0) if excess > 0 else (0.0, 1.0)
    f = excess / 2.0 / (rss_free / dof)
    return float(f), float(stats.f.sf(f, 2, dof))


def simulate_rule(params, dts, n_pairs, frequency_hz) -> np.ndarray:
    """Relative weight change of additive pair STDP with A±/n_pairs per pairing and τ±, per Δt."""
    a_plus, tau_plus, a_minus, tau_minus = params
    rule = PairSTDP(tau_plus=tau_plus, tau_minus=tau_minus, a_plus=a_plus / n_pairs,
                    a_minus=a_minus / n_pairs, w_min=0.0, w_max=W_MAX)
    pre, post = pairing_trains(dts, n_pairs, frequency_hz)
    n = len(dts)
    return np.diag(replay(rule, pre, post, np.full((n, n), 1.0))) - 1.0


def run(config: Config, backend: str = "native") -> Result:
    check_backend(backend)
    if backend != "native":
        raise ParameterError(f"bi_poo runs on the native backend only (a fit plus plasticity.replay), "
                             f"got backend={backend!r}")
    provenance: dict = {}
    with timed(provenance, backend, None):
        if config.data_csv:
            dt, dw, sem = load_points(config.data_csv)
            provenance["data"] = f"user points from {config.data_csv}"
        else:
            dt, dw, sem = digitised_bi_poo()
            provenance["data"] = (f"the 45 cells {DIGITISED_LABEL} (third-party digitisation, unverified; "
                                  "analysis.reference 'bi_poo_window'.points)")
        if np.max(np.abs(dt)) >= 500.0 / config.frequency_hz:
            raise ParameterError(f"the points reach |dt| = {np.max(np.abs(dt))} ms; the replay needs |dt| below "
                                 f"half the pairing period ({500.0 / config.frequency_hz} ms): lower frequency_hz")
        params, stderr, lo, hi, rms = fit(dt, dw, sem)
        for j in (1, 3):
            lo[j], hi[j] = profile_ci(dt, dw, sem, params, j)
        f_stat, p_value = published_test(dt, dw, sem, params)
        grid = np.unique(np.concatenate([np.arange(-100.0, 0.0, 2.5), np.arange(2.5, 100.1, 2.5)]))
        grid = grid[np.abs(grid) < 500.0 / config.frequency_hz]
        both = simulate_rule(params, np.concatenate([grid, dt]), config.n_pairs, config.frequency_hz)
        rule_dw, at_points = both[:grid.size], both[grid.size:]   # the points' own Δt, no interpolation
        rms_rule = float(np.sqrt(np.mean((at_points - dw) ** 2)))
    return Result(config, dt, dw, sem, not config.data_csv, params, stderr, lo, hi, rms, f_stat, p_value,
                  grid, rule_dw, rms_rule, provenance)


def _source(result: Result) -> str:
    if result.digitised:
        return f"{result.data_dt.size} cells {DIGITISED_LABEL}"
    return f"{result.data_dt.size} user-supplied points ({result.config.data_csv})"


def _interval(lo: float, hi: float) -> str:
    ends = [f"{lo:.1f}" if lo > TAU_BOUNDS[0] else f"<= {TAU_BOUNDS[0]:g} (bound)",
            f"{hi:.1f}" if hi < TAU_BOUNDS[1] else f">= {TAU_BOUNDS[1]:g} (bound)"]
    return f"[{ends[0]}, {ends[1]}]"


def compare(result: Result) -> list[dict]:
    """Rows for ``plab report``: fitted τ± with 95 % profile intervals beside 16.8 / 33.7 ms."""
    inside = result.tau_within_ci
    joint = f"published pair jointly: F = {result.published_f:.2f}, p = {result.published_p:.2f}"
    rows = []
    for k, (name, paper, ok) in enumerate((("tau+", PUBLISHED_TAU_PLUS, inside[0]),
                                           ("tau-", PUBLISHED_TAU_MINUS, inside[1]))):
        j = 1 + 2 * k
        rows.append(dict(rule=f"exponential window fit, {name}", measure=f"fitted {name} (ms) [95% CI]",
                         distance=f"{result.params[j]:.1f} {_interval(result.ci_low[j], result.ci_high[j])}",
                         paper=f"{paper} ms (Bi & Poo fit)",
                         tolerance="published value inside the 95% profile CI", passed=ok,
                         note=f"{_source(result)}; {joint}"))
    rows.append(dict(rule="pair STDP with the fitted window", measure="RMS error to the points (relative Δw)",
                     distance=result.rms_rule, paper="n/a", tolerance=f"<= 1.1 x RMS of the fit ({result.rms_fit:.3f})",
                     passed=bool(result.rms_rule <= 1.1 * result.rms_fit + 1e-12), note=_source(result)))
    return rows


def plot(result: Result):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 5.2), layout="constrained")
    ax = fig.add_subplot()
    ax.axhline(0.0, color="0.7", lw=0.8)
    ax.axvline(0.0, color="0.7", lw=0.8)
    label = f"{result.data_dt.size} cells, {DIGITISED_LABEL}" if result.digitised else f"data ({result.config.data_csv})"
    if np.any(result.data_sem > 0):
        ax.errorbar(result.data_dt, 100 * result.data_dw, yerr=100 * result.data_sem, fmt="o", ms=3,
                    color="k", capsize=2, label=label)
    else:
        ax.plot(result.data_dt, 100 * result.data_dw, "o", ms=3, color="k", label=label)
    s = np.linspace(min(result.data_dt.min(), -100), max(result.data_dt.max(), 100), 801)
    s = s[s != 0]
    a, tp, b, tm = result.params
    ax.plot(s, 100 * window(s, result.params), "-", color="C0",
            label=f"fit: τ+ = {tp:.1f} ms {_interval(result.ci_low[1], result.ci_high[1])}, "
                  f"τ− = {tm:.1f} ms {_interval(result.ci_low[3], result.ci_high[3])}")
    ax.plot(s, 100 * window(s, [a, PUBLISHED_TAU_PLUS, b, PUBLISHED_TAU_MINUS]), "--", color="C3",
            label="published τ (16.8 / 33.7 ms), fitted amplitudes")
    ax.plot(result.rule_dt, 100 * result.rule_dw, ".", ms=4, color="C2",
            label=f"pair STDP replay, {result.config.n_pairs} pairs (RMS {100 * result.rms_rule:.1f}%)")
    ax.set_xlabel("Δt = t_post − t_pre (ms)")
    ax.set_ylabel("Δw / w0 (%)")
    ax.set_title("Bi & Poo window fit" + (f" ({DIGITISED_LABEL})" if result.digitised else ""))
    fig.legend(fontsize="x-small", loc="outside lower center", ncols=2)   # below: the cells fill the axes
    return {"bi_poo": fig}


def summary(result: Result) -> str:
    lines = [f"Bi & Poo STDP window fit on {_source(result)}"]
    for j, (name, p, se) in enumerate(zip(PARAM_NAMES, result.params, result.stderr)):
        lo, hi = result.ci_low[j], result.ci_high[j]
        ci = f"(profile) {_interval(lo, hi)}" if j in (1, 3) else f"(t) [{lo:.3g}, {hi:.3g}]"
        lines.append(f"  {name:<10} {p:9.4g} ± {se:.3g}   95% CI {ci}")
    inside = result.tau_within_ci
    lines.append(f"  published tau+ = {PUBLISHED_TAU_PLUS} ms {'inside' if inside[0] else 'OUTSIDE'} the CI; "
                 f"tau- = {PUBLISHED_TAU_MINUS} ms {'inside' if inside[1] else 'OUTSIDE'} the CI; both fixed at the "
                 f"published values: F = {result.published_f:.2f}, p = {result.published_p:.2f}")
    lines.append(f"  RMS residual of the fit {result.rms_fit:.3f}; pair STDP replayed with the fitted window "
                 f"({result.config.n_pairs} pairs at {result.config.frequency_hz:g} Hz): RMS {result.rms_rule:.3f}")
    if result.digitised:
        lines.append("  The cells are a third party's digitisation of the published figure (not checked against "
                     "the print); pass your own points with data_csv=FILE (columns dt_ms, dw[, sem]).")
    return "\n".join(lines)
