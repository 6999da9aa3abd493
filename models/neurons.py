"""Neuron groups of the native simulator: LIF (current- or conductance-based) and sources.

LIF membrane (ms, mV), Song, Miller & Abbott 2000 / Brian2 conventions:

* ``synapses="current"``: exponential synaptic currents (pA) with exact integration
  (Rotter & Diesmann 1999, Biol Cybern 81:381)::

      tau_m dv/dt = e_leak - v + R (I_e + I_i + i_ext),   R = tau_m / c_m  (GOhm)
      tau_e dI_e/dt = -I_e,   tau_i dI_i/dt = -I_i

* ``synapses="delta"``: a presynaptic spike adds its weight (mV) to v at the next step
  (the discrete-time model of Bellec et al. 2020 and NEST's ``iaf_psc_delta``)::

      v <- e_leak + (v - e_leak) exp(-dt/tau_m) + R i_ext (1 - exp(-dt/tau_m)) + sum of arriving w

* ``synapses="conductance"``: exponential conductances measured in units of the leak
  conductance (dimensionless, as in Song et al. 2000 and the Brian2 STDP example)::

      tau_m dv/dt = e_leak - v + g_e (e_e - v) + g_i (e_i - v) + R i_ext
      tau_e dg_e/dt = -g_e,   tau_i dg_i/dt = -g_i

  A weight w adds w to g_e (or g_i): w is a multiple of g_L = c_m / tau_m (pF/ms = nS), so
  g [nS] = w c_m / tau_m (defaults: g_L = 12.5 nS, a 1 nS synapse is w = 0.08). ``c_m``
  enters only through R i_ext. Current synapses: w in pA; delta synapses: w in mV.

  integrated with the exponential-Euler step (exact for the conductances held at their
  value at the start of the step, Brian2's ``exponential_euler``).

Spike when v > A, A = v_th + beta * a the threshold; ``beta = 0`` (LIF, A = v_th) unless
adaptive (ALIF, Bellec et al. 2020: a decays with tau_a and jumps by 1 per spike, the jump
seen from the next step on: a_k = exp(-dt/tau_a) a_{k-1} + z_{k-1}). Reset:

* ``reset="value"``: v = v_reset at the spike, refractory for ``t_ref`` ms (no integration,
  no spike) — Brian2's ``(unless refractory)`` semantics;
* ``reset="subtract"``: v -= v_th - v_reset at the next integration, after the leak (the
  subtraction is not decayed: v_k = alpha v_{k-1} + input - (v_th - v_reset) z_{k-1}, as in
  Bellec et al. 2020 and NEST's ``eprop_iaf``).

The pseudo-derivative psi = dz/dv (``surrogate``, :mod:`plasticity.surrogate`, scaled by
v_th - e_leak; triangular with gamma = 0.3 by default) is computed at every step for rules
that read it (e-prop, OTTT); it is 0 while refractory.

``v_init``: None (e_leak), a number, one value per neuron or a distribution
(``models.uniform``) drawn from the network's generator.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from plasticity.errors import ParameterError, as_float_array, check_non_negative, check_positive, param, validate
from plasticity.surrogate import as_surrogate
from plasticity.voltage import AdExClopath

SYNAPSES = ("current", "conductance", "delta")
RESETS = ("value", "subtract")
MAX_RATE_HZ = 1e5   # a Poisson source emits at most one spike per step; 100 kHz fills 0.01 ms steps
MAX_NEURONS = 10 ** 8   # per group: one float64 array of the group is then 800 MB


def _n_param():
    return param(kind="int", ge=1, le=MAX_NEURONS, doc="number of neurons")


@dataclass(frozen=True)
class LIF:
    """A group of ``n`` leaky integrate-and-fire neurons (see the module docstring)."""

    n: int = _n_param()
    synapses: str = param("current", "str", choices=SYNAPSES, doc="current (pA), conductance (x g_L) or delta (mV)")
    tau_m: float = param(20.0, unit="ms", gt=0, doc="membrane time constant")
    c_m: float = param(250.0, unit="pF", gt=0, doc="membrane capacitance (R = tau_m / c_m)")
    e_leak: float = param(-70.0, unit="mV", doc="leak reversal (resting) potential")
    v_th: float = param(-50.0, unit="mV", doc="spike threshold (without adaptation)")
    v_reset: float = param(-70.0, unit="mV", doc="reset potential (< v_th)")
    t_ref: float = param(0.0, unit="ms", ge=0, doc="refractory period (reset='value')")
    tau_e: float = param(5.0, unit="ms", gt=0, doc="excitatory synaptic time constant")
    tau_i: float = param(5.0, unit="ms", gt=0, doc="inhibitory synaptic time constant")
    e_e: float = param(0.0, unit="mV", doc="excitatory reversal potential (conductance synapses)")
    e_i: float = param(-80.0, unit="mV", doc="inhibitory reversal potential (conductance synapses)")
    i_ext: float = param(0.0, unit="pA", doc="constant bias current")
    v_init: object = param(None, "any", unit="mV", doc="None (e_leak), a number, n values or a distribution")
    reset: str = param("value", "str", choices=RESETS, doc="value: v = v_reset and refractory; subtract: v -= v_th - v_reset")
    beta: object = param(0.0, "any", unit="mV", doc="threshold adaptation per unit a (ALIF when > 0): a number or n values")
    tau_a: float = param(200.0, unit="ms", gt=0, doc="adaptation time constant")
    surrogate: object = param("triangular", "any", doc="pseudo-derivative: a plasticity.surrogate kind or Surrogate")

    def __post_init__(self):
        validate(self)
        _check_initial("beta", self.beta, self.n)
        if np.any(np.asarray(self.beta, dtype=float) < 0):
            raise ParameterError(f"beta must be >= 0 mV, got {self.beta!r}")
        as_surrogate(self.surrogate)
        if self.v_reset >= self.v_th:
            raise ParameterError(f"v_reset must be < v_th ({self.v_th} mV), got {self.v_reset}")
        _check_initial("v_init", self.v_init, self.n)

    @property
    def smallest_tau(self) -> float:
        taus = [self.tau_m] + ([self.tau_e, self.tau_i] if self.synapses != "delta" else [])
        return min(taus + ([self.tau_a] if np.any(np.asarray(self.beta) > 0) else []))

    @property
    def betas(self) -> np.ndarray:
        """Threshold adaptation of each neuron (mV per unit of a; 0 for plain LIF neurons)."""
        return np.broadcast_to(np.asarray(self.beta, dtype=float), (self.n,)).copy()

    @property
    def initial_v(self) -> float:
        """The initial potential when it is one number (mV); see :meth:`initial_values`."""
        return self.e_leak if self.v_init is None else float(self.v_init)

    def initial_values(self, rng) -> np.ndarray:
        """Initial v of every neuron (mV): e_leak, the number, the array or drawn from ``rng``."""
        return _initial_values(self.v_init, self.e_leak, self.n, rng)

    def surrogate_params(self) -> np.ndarray:
        """Kernel parameters of psi, scaled by the distance v_th - e_leak (mV)."""
        return as_surrogate(self.surrogate).kernel_params(self.v_th - self.e_leak)


def ALIF(n: int, *, beta: float = 1.8, tau_a: float = 200.0, **lif) -> LIF:
    """An adaptive-threshold LIF group (Bellec et al. 2020): ``LIF`` with beta > 0 (mV)."""
    if np.ndim(beta) == 0 and check_non_negative("beta", beta, "mV") == 0.0:
        raise ParameterError("beta must be > 0 mV for an ALIF group, got 0.0 (use LIF)")
    return LIF(n, beta=beta, tau_a=tau_a, **lif)


@dataclass(frozen=True)
class AdEx:
    """``n`` adaptive exponential integrate-and-fire neurons of Clopath et al. 2010 (the
    neuron of :class:`plasticity.AdExClopath`, integrated as ``plasticity.voltage.adex_run``:
    forward Euler, spike clamp, adaptive threshold, after-depolarisation). Inputs are delta
    synapses: a presynaptic spike adds its weight (mV) to u at the next step. ``i_ext`` pA."""

    n: int = _n_param()
    neuron: AdExClopath = param(kind="any", default_factory=AdExClopath, doc="the neuron's parameters (plasticity.AdExClopath)")
    i_ext: float = param(0.0, unit="pA", doc="constant bias current")
    synapses = "delta"

    def __post_init__(self):
        validate(self)
        if not isinstance(self.neuron, AdExClopath):
            raise ParameterError(f"neuron must be a plasticity.AdExClopath, got {type(self.neuron).__name__}")

    @property
    def smallest_tau(self) -> float:
        p = self.neuron
        return min(p.tau_w, p.tau_z, p.tau_v_th, p.c_m / p.g_l)

    def initial_values(self, rng) -> np.ndarray:
        return np.full(self.n, self.neuron.e_l)


@dataclass(frozen=True)
class Readout:
    """``n`` leaky readout units (Bellec et al. 2020): y_k <- kappa y_k + sum_j W_kj z_j + b_k
    with kappa = exp(-dt/tau) (``tau = 0``: no memory), where z_j are the spikes *of the same
    step* from projections into the readout (their weights add to y, no delay). ``bias``: b
    (a number or n values); ``t_start`` (ms): y is held at 0 and there is no error before it.

    ``loss="mse"``: ``target`` is None, an array over steps ((n_steps,) or (n_steps, n); row
    i applies at step start + i, NaN = no target at that step) or a callable
    ``f(t_ms) -> n values``; each step with a target the error is err = y - target.

    ``loss="ce"`` (classification): ``labels`` (one int in [0, n) per trial), trials of
    ``trial`` ms from t_start, decision ``window`` = the last ``window`` ms of each trial; at
    the window's last step err = (softmax(mean of y over the window) - onehot(label)) / n_window
    (plasticity.readout.softmax_ce_error), the same error every step of the window has — rules
    accumulate their window sums and apply it then. Record ``"y"`` and ``"err"``.
    """

    n: int = _n_param()
    tau: float = param(20.0, unit="ms", ge=0, doc="readout time constant (0: no memory)")
    target: object = param(None, "any", doc="MSE target: None, an array over steps or a callable f(t_ms)")
    bias: object = param(0.0, "any", doc="b: a number or n values")
    t_start: float = param(0.0, unit="ms", ge=0, doc="no output and no error before this time")
    loss: str = param("mse", "str", choices=("mse", "ce"), doc="mean squared error or cross-entropy")
    labels: object = param(None, "any", doc="CE: one class index per trial")
    trial: float | None = param(None, unit="ms", gt=0, optional=True, doc="CE: trial length")
    window: float | None = param(None, unit="ms", gt=0, optional=True, doc="CE: decision window at the end of each trial")

    def __post_init__(self):
        validate(self)
        b = np.broadcast_to(as_float_array("bias", self.bias), (self.n,)) \
            if np.ndim(self.bias) == 0 or np.size(self.bias) == self.n else None
        if b is None or not np.all(np.isfinite(b)):
            raise ParameterError(f"bias must be finite, a number or {self.n} values, got {self.bias!r}")
        if self.loss == "ce":
            self._check_classification()
        elif self.labels is not None or self.trial is not None or self.window is not None:
            raise ParameterError("labels, trial and window belong to loss='ce', got them with loss='mse'")
        if self.target is not None and not callable(self.target):
            t = as_float_array("target", self.target)
            if t.ndim == 1 and self.n == 1:
                t = t[:, None]
            if t.ndim != 2 or t.shape[1] != self.n:
                raise ParameterError(f"target must have shape (n_steps, n = {self.n}), got {np.shape(self.target)}")
            if np.any(np.isinf(t)):
                raise ParameterError("target must be finite (NaN marks steps without a target), got inf")

    def _check_classification(self):
        if self.target is not None:
            raise ParameterError("target must be None for loss='ce' (give labels, one per trial)")
        labels = np.atleast_1d(np.asarray(self.labels if self.labels is not None else [], dtype=object))
        if labels.ndim != 1 or labels.size == 0 or not all(
                isinstance(v, (int, np.integer)) and not isinstance(v, bool) and 0 <= v < self.n for v in labels):
            raise ParameterError(f"labels must be a non-empty sequence of integers in [0, {self.n}), got {self.labels!r}")
        trial = check_positive("trial", self.trial if self.trial is not None else float("nan"), "ms")
        window = check_positive("window", self.window if self.window is not None else float("nan"), "ms")
        if window > trial:
            raise ParameterError(f"window must be <= trial ({trial} ms), got {window}")

    smallest_tau = np.inf

    @property
    def biases(self) -> np.ndarray:
        return np.broadcast_to(np.asarray(self.bias, dtype=float), (self.n,)).copy()

    def window_steps(self, dt) -> int:
        """The CE decision window in steps (0 for MSE)."""
        return max(1, int(round(self.window / dt))) if self.loss == "ce" else 0

    def target_rows(self, steps, dt):
        """(targets (n_rows, n), phases (n_rows,)) of global steps ``steps``: MSE targets (NaN
        where none) and phase 1; CE: the trial's label in every column, phase 2 inside the
        window, 3 at its last step, 0 elsewhere."""
        steps = np.asarray(steps)
        out = np.full((steps.size, self.n), np.nan)
        phase = np.zeros(steps.size, np.int64)
        start = int(round(self.t_start / dt))
        rel = steps - start
        if self.loss == "ce":
            length = max(1, int(round(self.trial / dt)))
            w = self.window_steps(dt)
            labels = np.asarray(self.labels, dtype=np.int64)
            r, pos = rel // length, rel % length
            live = (rel >= 0) & (r < labels.size) & (pos >= length - w)
            out[live] = labels[r[live]][:, None]
            phase[live] = np.where(pos[live] == length - 1, 3, 2)
            return out, phase
        phase[rel >= 0] = 1
        if self.target is None:
            return out, phase
        if callable(self.target):
            live = steps >= start
            times = steps[live] * dt
            try:                            # a vectorised target (numpy functions of t) in one call
                values = np.asarray(self.target(times), dtype=float)
            except Exception:               # noqa: BLE001 -- any failure: call it per step below
                values = None
            if values is not None and times.size != self.n and values.shape in ((times.size, self.n),) + (
                    ((times.size,),) if self.n == 1 else ()):
                out[live] = values.reshape(times.size, self.n)
                return out, phase
            for q, k in enumerate(steps):
                if k >= start:
                    out[q] = np.broadcast_to(np.asarray(self.target(k * dt), dtype=float), (self.n,))
            return out, phase
        t = np.asarray(self.target, dtype=float).reshape(-1, self.n)
        inside = (rel >= 0) & (rel < t.shape[0])
        out[inside] = t[rel[inside]]
        return out, phase

    def initial_values(self, rng) -> np.ndarray:
        return np.zeros(self.n)


def _check_initial(name, spec, n):
    if spec is None or hasattr(spec, "sample"):
        return
    values = as_float_array(name, spec, "mV")
    if values.ndim != 0 and values.shape != (n,):
        raise ParameterError(f"{name} must be a number (mV), {n} values or a distribution, got {spec!r}")
    if not np.all(np.isfinite(values)):
        raise ParameterError(f"{name} must be finite (mV), got {spec!r}")


def _initial_values(spec, default, n, rng) -> np.ndarray:
    if spec is None:
        return np.full(n, float(default))
    if hasattr(spec, "sample"):
        return np.asarray(spec.sample(n, rng), dtype=float)
    return np.broadcast_to(np.asarray(spec, dtype=float), (n,)).copy()


@dataclass(frozen=True)
class PoissonGroup:
    """``n`` independent Poisson spike sources with rate ``rate`` (Hz, scalar or one per neuron).

    Spike times are drawn as exponential intervals (continuous time) and emitted in the
    time step that contains them; a second spike of a neuron in the same step is dropped
    (it matters only when rate * dt approaches 1).
    """

    n: int = _n_param()
    rate: float | np.ndarray = param(10.0, "any", unit="Hz", doc="rate, one number or one per neuron")

    def __post_init__(self):
        validate(self)
        rates = np.broadcast_to(as_float_array("rate", self.rate, "Hz"), (self.n,)) \
            if np.ndim(self.rate) == 0 or np.size(self.rate) == self.n else None
        if rates is None:
            raise ParameterError(f"rate must be a scalar or have n = {self.n} entries, got {np.size(self.rate)}")
        if not np.all(np.isfinite(rates)) or np.any(rates < 0) or np.any(rates > MAX_RATE_HZ):
            bad = rates[~((rates >= 0) & (rates <= MAX_RATE_HZ))][0]
            raise ParameterError(f"rate must be finite, >= 0 and <= {MAX_RATE_HZ:g} Hz (one spike per 10 us), "
                                 f"got {float(bad)!r}")

    @property
    def rates(self) -> np.ndarray:
        """Rate of each neuron (Hz)."""
        return np.broadcast_to(np.asarray(self.rate, dtype=float), (self.n,)).copy()

    smallest_tau = np.inf


@dataclass(frozen=True)
class SpikeGeneratorGroup:
    """``n`` sources that spike at given times: ``times`` is one sorted array (ms) per neuron.

    Times are moved to their time step as Brian2 does (floor(t/dt + 1e-3)); two spikes of
    one neuron in the same step are an error. The arrays are copied and made read-only at
    construction, so editing the caller's arrays afterwards changes nothing.
    """

    n: int = _n_param()
    times: tuple = param((), "any", unit="ms", doc="one sorted array of spike times per neuron")

    def __post_init__(self):
        validate(self)
        if isinstance(self.times, (str, bytes)) or not hasattr(self.times, "__len__"):
            raise ParameterError(f"times must be a sequence of one array of spike times (ms) per neuron, "
                                 f"got {self.times!r}")
        if len(self.times) != self.n:
            raise ParameterError(f"times must have one array per neuron (n = {self.n}), got {len(self.times)}")
        frozen = []
        for k, t in enumerate(self.times):
            label = f"times[{k}]"
            try:
                t = np.array(t, dtype=float)
            except (TypeError, ValueError):
                raise ParameterError(f"{label} must be a 1-D array of spike times (ms), got {t!r}") from None
            t.setflags(write=False)
            frozen.append(t)
            if t.ndim != 1 or not np.all(np.isfinite(t)):
                raise ParameterError(f"{label} must be a 1-D array of finite spike times (ms)")
            if t.size and t.min() < 0:
                raise ParameterError(f"{label} must contain spike times >= 0 ms, got {t.min()!r}")
            if np.any(np.diff(t) <= 0):
                raise ParameterError(f"{label} must be sorted in increasing order without repeats")
        object.__setattr__(self, "times", tuple(frozen))

    @classmethod
    def from_trains(cls, trains) -> "SpikeGeneratorGroup":
        """One neuron per spike train (sequence of arrays of times in ms)."""
        return cls(len(trains), tuple(np.asarray(t, dtype=float) for t in trains))

    smallest_tau = np.inf
