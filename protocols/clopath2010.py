"""Clopath et al. 2010: voltage-based STDP on an AdEx neuron reproduces Sjöström's frequency dependence.

Clopath, Büsing, Vasilaki & Gerstner (2010) Nat Neurosci 13:344, Fig. 2; data: Sjöström,
Turrigiano & Nelson (2001) Neuron 32:1149 (the package's ``sjostrom2001_frequency``,
verified). ``n_pairs`` pre/post pairings at each frequency with Δt = t_post - t_pre = +10 ms
and -10 ms; the postsynaptic spike is forced at its time (standing for the brief current
injection of the experiment), the presynaptic spike gives a delta EPSP of ``epsp_mv``. The
relative weight change (w - w0)/w0 is compared with the data: RMS distance over the 10 data
points, raw, and after the one overall amplitude factor k >= 0 that fits best (the weight
scale of the model is arbitrary, w0 sets it, but it cannot flip depression into
potentiation; the factor is reported so the raw numbers stay visible).

Each pairing run is a ``models.Network``: a spike generator (the presynaptic neuron), a
``models.AdEx`` group (the neuron) and a forcing generator whose 1000 mV input makes the
postsynaptic spike; the rule is a ``ClopathSTDP`` projection (its family reads the AdEx u).
The EPSP does not follow the learning weight: it travels on a static projection, the rule's
weight on a plastic one connected with ``transmit=False`` (it learns, it does not drive u).

Rule and neuron: :mod:`plasticity.voltage` (published A_LTD, A_LTP, tau_x and the AdEx
parameters: 'verified' in the package's reference data). Three values follow NEST's
spike-pairing example that reproduces Clopath's Fig. 2 (not the model defaults; stated in
the config): ū delay 4 ms, b = 0.0805 pA (no spike-triggered adaptation to speak of) and
reset to E_L + 21 mV = -49.6 mV (the after-depolarisation that carries ū+ from one pairing
to the next at high frequency). With the model defaults (b = 80.5 pA, reset -60 mV) the
depression branch is reproduced but the high-frequency potentiation is not (see docs).
Clock-driven with ``dt`` (forward Euler for the AdEx, stated in :mod:`plasticity.voltage`).
Depression at low frequency for both orders and potentiation at high frequency for both
is the qualitative result the paper shows (pair STDP cannot produce it).
"""
from __future__ import annotations

import math

from dataclasses import dataclass, field
import numpy as np

import models
from analysis.reference import load as load_reference
from plasticity.errors import ParameterError, check_int, check_positive, validate
from plasticity.voltage import AdExClopath, ClopathSTDP

from .common import check_backend, timed


def reference() -> dict:
    """(clopath2010_voltage, sjostrom2001_frequency) entries of the package's reference data."""
    return {"rule": load_reference("clopath2010_voltage"), "data": load_reference("sjostrom2001_frequency")}


@dataclass(frozen=True)
class Config:
    """Pairing protocol. ms, mV, Hz; weights dimensionless (w0 sets the scale)."""

    frequencies_hz: tuple = (0.1, 10.0, 20.0, 40.0, 50.0)
    n_pairs: int = 60
    dt_pair_ms: float = 10.0
    epsp_mv: float = 1.0
    w0: float = 0.5
    dt: float = 0.1
    settle_ms: float = 200.0         # before the first pairing and after the last
    a_ltd: float = 14e-5             # verified
    a_ltp: float = 8e-5              # verified
    tau_x: float = 15.0              # verified
    delay_u: float = 4.0             # ū delay (ms) of NEST's Clopath pairing example (model default 5)
    b_pa: float = 0.0805             # spike-triggered adaptation (pA) of that example (model default 80.5)
    v_reset: float = -49.6           # reset (mV) of that example: E_L + 21 (model default -60)

    def __post_init__(self):
        validate(self)   # every field by its annotation: type, finite (plasticity.errors)
        freqs = tuple(float(f) for f in self.frequencies_hz)
        if not freqs:
            raise ParameterError("frequencies_hz must not be empty")
        for f in freqs:
            check_positive("frequencies_hz", f, "Hz")
            if 1000.0 / f <= abs(self.dt_pair_ms):
                raise ParameterError(f"frequencies_hz: the period at {f} Hz must exceed |dt_pair_ms| "
                                     f"({abs(self.dt_pair_ms)} ms)")
        check_int("n_pairs", self.n_pairs, 1)
        for name in ("dt_pair_ms", "epsp_mv", "w0", "dt", "settle_ms", "tau_x"):
            check_positive(name, getattr(self, name))
        if self.dt > 0.5:
            raise ParameterError(f"dt must be <= 0.5 ms for the AdEx Euler step, got {self.dt}")
        if not math.isfinite(100.0 * self.w0):
            raise ParameterError(f"w0 must be <= 1e306 (the rule's w_max is 100 w0 and must be finite), got {self.w0}")
        if self.settle_ms < self.dt:
            raise ParameterError(f"settle_ms must be >= dt ({self.dt} ms): the forcing input of a spike at "
                                 f"settle_ms is sent one step earlier, got {self.settle_ms}")
        self.rule()
        self.neuron()

    @classmethod
    def small(cls) -> "Config":
        """15 pairings per frequency (the shape appears; weights change ~4x less)."""
        return cls(n_pairs=15)

    def rule(self) -> ClopathSTDP:
        return ClopathSTDP(a_ltd=self.a_ltd, a_ltp=self.a_ltp, tau_x=self.tau_x, delay_u=self.delay_u,
                           w_min=0.0, w_max=100.0 * self.w0)

    def neuron(self) -> AdExClopath:
        return AdExClopath(b=self.b_pa, v_reset=self.v_reset)


@dataclass(frozen=True)
class Result:
    config: Config
    frequencies_hz: np.ndarray
    dw_plus: np.ndarray        # relative change, Δt = +dt_pair_ms (pre before post)
    dw_minus: np.ndarray       # relative change, Δt = -dt_pair_ms
    data_f: np.ndarray
    data_plus: np.ndarray
    data_minus: np.ndarray
    sem_plus: np.ndarray
    sem_minus: np.ndarray
    example_t: np.ndarray      # a voltage trace of the 20 Hz (or first) +10 ms run, first pairings
    example_u: np.ndarray
    provenance: dict = field(default_factory=dict)

    def model_at_data(self) -> tuple[np.ndarray, np.ndarray]:
        """Model values at the data frequencies (interpolated in log frequency)."""
        lf, ld = np.log(self.frequencies_hz), np.log(self.data_f)
        return np.interp(ld, lf, self.dw_plus), np.interp(ld, lf, self.dw_minus)

    @property
    def rms_raw(self) -> float:
        """RMS distance to Sjöström's 10 points (relative weight change, e.g. 0.1 = 10%)."""
        p, m = self.model_at_data()
        return float(np.sqrt(np.mean(np.r_[p - self.data_plus, m - self.data_minus] ** 2)))

    @property
    def scale(self) -> float:
        """The amplitude factor k >= 0 minimising the RMS of k * model - data.

        The factor stands for the arbitrary weight scale (w0, the rule's amplitudes), which
        can stretch the relative changes but not flip their sign: a negative k would turn
        depression into potentiation. The unconstrained least-squares k is negative when the
        model's changes point away from the data overall (with the model's default neuron,
        b = 80.5 pA and reset -60 mV, it is -0.20); the best admissible factor is then 0,
        and ``rms_scaled`` is the RMS of the data themselves: no rescaling helps."""
        p, m = self.model_at_data()
        model, data = np.r_[p, m], np.r_[self.data_plus, self.data_minus]
        return max(0.0, float(model @ data / (model @ model))) if np.any(model) else float("nan")

    @property
    def rms_scaled(self) -> float:
        p, m = self.model_at_data()
        k = self.scale
        return float(np.sqrt(np.mean(np.r_[k * p - self.data_plus, k * m - self.data_minus] ** 2)))


FORCE_MV = 1000.0    # the forcing input: u + 1000 mV >= v_peak, a spike in the step it arrives


def pairing(config: Config, frequency_hz: float, sign: float, record: bool = False):
    """One pairing run in ``models.Network``: (recorded u or None, postsynaptic spike count,
    final relative change). The presynaptic spike at t_pre reaches the synapse at t_pre (its
    LTD and x̄ jump) and its EPSP enters u at the next step; the forcing spike is emitted one
    step before t_post, so that the postsynaptic spike happens at t_post."""
    c = config
    dt = c.dt
    period = 1000.0 / frequency_hz
    t_pre = c.settle_ms + period * np.arange(c.n_pairs) + max(0.0, -sign * c.dt_pair_ms)
    t_post = t_pre + sign * c.dt_pair_ms
    n_steps = int(round((max(t_pre[-1], t_post[-1]) + c.settle_ms) / dt))
    k_pre = np.round(t_pre / dt).astype(np.int64)
    k_post = np.round(t_post / dt).astype(np.int64)
    net = models.Network(dt=dt, chunk=10_000.0)       # 10 s chunks: few Python round trips, small buffers
    pre = net.add(models.SpikeGeneratorGroup.from_trains([k_pre * dt]))
    force = net.add(models.SpikeGeneratorGroup.from_trains([(k_post - 1) * dt]))
    cell = net.add(models.AdEx(1, neuron=c.neuron()))
    net.connect(pre, cell, weight=c.epsp_mv)
    net.connect(force, cell, weight=FORCE_MV)
    # the EPSP travels on the static projection above; the learning weight does not drive u
    syn = net.connect(pre, cell, weight=c.w0, rule=c.rule(), transmit=False)
    spikes = net.record_spikes(cell)
    u = net.record_state(cell, "v") if record else None
    net.run(n_steps * dt)
    return (None if u is None else u.values[:, 0]), spikes.t.size, (syn.w[0] - c.w0) / c.w0


def run(config: Config, backend: str = "native") -> Result:
    check_backend(backend)
    if backend != "native":
        raise ParameterError("clopath2010 runs on the native backend only (models.Network with an AdEx group)")
    c = config
    ref = reference()
    provenance: dict = {"reference": ref}
    with timed(provenance, backend):
        freqs = np.array(sorted(float(f) for f in c.frequencies_hz))
        plus, minus = np.zeros(freqs.size), np.zeros(freqs.size)
        example_f = 20.0 if 20.0 in freqs else freqs[0]
        spikes = {}
        for n, f in enumerate(freqs):
            u, n_sp_p, plus[n] = pairing(c, f, +1.0, record=f == example_f)
            if f == example_f:
                keep = slice(0, int(round((c.settle_ms + 3 * 1000.0 / f + 50.0) / c.dt)))
                ex_t, ex_u = np.arange(u.size)[keep] * c.dt, u[keep]
            _, n_sp_m, minus[n] = pairing(c, f, -1.0)
            spikes[f"{f:g}"] = (n_sp_p, n_sp_m)
        provenance["post_spikes"] = spikes  # forced ones only, unless the EPSPs fire the cell
    d = ref["data"]
    return Result(c, freqs, plus, minus, np.asarray(d["frequency_hz"], float), np.asarray(d["dw_plus10ms"], float),
                  np.asarray(d["dw_minus10ms"], float), np.asarray(d["sem_plus10ms"], float),
                  np.asarray(d["sem_minus10ms"], float), ex_t, ex_u, provenance)


def plot(result: Result):
    from matplotlib.figure import Figure

    c = result.config
    fig = Figure(figsize=(11, 4.5), layout="constrained")
    ax, ax2 = fig.subplots(1, 2)
    ax.plot(result.frequencies_hz, 100 * result.dw_plus, "o-", color="C3", label=f"model Δt = +{c.dt_pair_ms:g} ms")
    ax.plot(result.frequencies_hz, 100 * result.dw_minus, "o-", color="C0", label=f"model Δt = −{c.dt_pair_ms:g} ms")
    ax.errorbar(result.data_f, 100 * result.data_plus, 100 * result.sem_plus, fmt="s", color="C3", mfc="none",
                capsize=2, label="Sjöström 2001, +10 ms")
    ax.errorbar(result.data_f, 100 * result.data_minus, 100 * result.sem_minus, fmt="s", color="C0", mfc="none",
                capsize=2, label="Sjöström 2001, −10 ms")
    ax.axhline(0, color="k", lw=0.5)
    ax.set_xscale("log")
    ax.set_xlabel("pairing frequency (Hz)")
    ax.set_ylabel("Δw / w0 (%)")
    ax.set_title(f"{c.n_pairs} pairings; RMS to data {100 * result.rms_raw:.0f}% "
                 f"(x{result.scale:.2f}: {100 * result.rms_scaled:.0f}%)", fontsize="small")
    ax.legend(fontsize="x-small")
    ax2.plot(result.example_t, result.example_u, lw=0.8)
    ax2.axhline(c.rule().theta_plus, color="C3", ls=":", label="θ+")
    ax2.axhline(c.rule().theta_minus, color="C0", ls=":", label="θ−")
    ax2.set_xlabel("time (ms)")
    ax2.set_ylabel("u (mV)")
    ax2.set_title("AdEx membrane potential, first pairings (+10 ms)", fontsize="small")
    ax2.legend(fontsize="x-small")
    return {"clopath2010": fig}


def summary(result: Result) -> str:
    c = result.config
    ref = result.provenance.get("reference", {})
    status = "verified" if ref.get("rule", {}).get("verified") and ref.get("data", {}).get("verified") else "unverified"
    rows = [f"    {f:6g} Hz: +10 ms {100 * p:+6.1f}%   -10 ms {100 * m:+6.1f}%"
            for f, p, m in zip(result.frequencies_hz, result.dw_plus, result.dw_minus)]
    data = [f"    {f:6g} Hz: +10 ms {100 * p:+6.1f}%   -10 ms {100 * m:+6.1f}%"
            for f, p, m in zip(result.data_f, result.data_plus, result.data_minus)]
    return "\n".join([
        f"Clopath 2010 voltage-based STDP, AdEx neuron, {c.n_pairs} pairings at Δt = ±{c.dt_pair_ms:g} ms, "
        f"w0 = {c.w0:g}, EPSP {c.epsp_mv:g} mV (published rule/neuron values and Sjöström data, {status})",
        "  model:", *rows,
        "  Sjöström et al. 2001:", *data,
        f"  distance to the data: RMS {100 * result.rms_raw:.1f}% raw; {100 * result.rms_scaled:.1f}% after one "
        f"overall factor x{result.scale:.2f} (>= 0){_NO_FACTOR if result.scale == 0 else ''}",
    ])


_NO_FACTOR = " — no positive factor helps: the model's changes are anti-aligned with the data (negative dot product)"


def report_configs(full: bool) -> dict:
    """The report always runs the 60-pairing protocol (seconds): the raw distance needs it."""
    return {"": Config()}


def compare(result: Result) -> list[dict]:
    """Row for ``plab report``: RMS distance to the Sjöström 2001 points."""
    return [dict(rule="voltage-based (Clopath)", measure="RMS error (relative Δw), 10 points",
                 distance=result.rms_raw, paper="Clopath 2010 Fig. 2: the model follows the data",
                 tolerance="< 0.25", passed=bool(result.rms_raw < 0.25),
                 note=f"{result.config.n_pairs} pairings; best overall factor (>= 0) x{result.scale:.2f} gives "
                      f"{result.rms_scaled:.3f}{_NO_FACTOR if result.scale == 0 else ''}")]
