"""The discrete-time recurrent spiking network used by BPTT, RTRL, e-prop and OTTT.

The model of docs/design.md ("Learning in recurrent networks"), Bellec et al. 2020:
zero-based steps t = 0..T-1 of ``dt`` ms, every state zero before step 0, and

    a_t = rho*a_{t-1} + z_{t-1}                                 rho   = exp(-dt/tau_a), ALIF only
    A_t = v_th + beta*a_t                                       (LIF: A_t = v_th)
    v_t = alpha*v_{t-1} + W_in x_t + W_rec z_{t-1} - v_th*z_{t-1}   alpha = exp(-dt/tau_m)
    z_t = H(v_t - A_t)                                          H(u) = 1 if u > 0 else 0
    y_t = kappa*y_{t-1} + W_out z_t + b_out                     kappa = exp(-dt/tau_out)

and the pseudo-derivative psi_t = dz_t/dv_t of :mod:`plasticity.surrogate` (triangular,
gamma = 0.3, by default); for ALIF dz_t/da_t = -beta*psi_t. The last ``n_alif`` recurrent
neurons are ALIF. ``tau_out = 0`` means a readout without memory (kappa = 0).

``smooth=k`` replaces H by the logistic 1/(1 + exp(-k u)) and psi by its exact derivative:
that smoothed model is differentiable, so finite differences check the hand-written backward
passes on it.

Losses (``loss_and_error``): MSE = 0.5 * sum over batch, time and outputs of (y - target)^2
divided by the batch size; CE = batch mean of -log softmax(mean of y over the last
``window`` steps)[label] (default window = T), labels int of shape (batch,). Firing-rate
regularization (``rate_regularization``): 0.5 * c_reg * sum_j (f_j - f_target)^2 with f_j
the neuron's rate in Hz over batch and time (Bellec et al. 2020 use f_target = 10 Hz).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numba import njit

from plasticity.errors import (ParameterError, check_dt, check_int, check_non_negative,
                               check_positive)
from plasticity.bptt import (LOSSES, accuracy, ce_error, check_loss, check_regularization, check_target,
                             check_window, log_softmax, loss_and_error, rate_regularization)
from plasticity.readout import readout_step
from plasticity.rsnn_step import input_current, neuron_step
from plasticity.surrogate import Surrogate, psi_reference, smooth_spike_reference

from .validate import check_seed

F_TARGET_HZ = 10.0  # Bellec et al. 2020 firing-rate regularization target (analysis/data/plasticity_data.json)


@dataclass(frozen=True)
class RSNNParams:
    """Sizes and constants of an :class:`RSNN`. Times in ms, voltages in units of v_th (mV)."""

    n_in: int
    n_rec: int
    n_out: int
    n_alif: int = 0
    dt: float = 1.0
    tau_m: float = 20.0
    tau_a: float = 200.0
    beta: float = 1.8
    tau_out: float = 20.0
    v_th: float = 1.0
    gamma: float = 0.3
    surrogate: str = "triangular"
    smooth: float | None = None

    def __post_init__(self):
        check_int("n_in", self.n_in, 1)
        check_int("n_rec", self.n_rec, 1)
        check_int("n_out", self.n_out, 1)
        check_int("n_alif", self.n_alif, 0)
        if self.n_alif > self.n_rec:
            raise ParameterError(f"n_alif must be <= n_rec = {self.n_rec}, got {self.n_alif}")
        check_positive("tau_m", self.tau_m, "ms")
        check_positive("tau_a", self.tau_a, "ms")
        check_non_negative("tau_out", self.tau_out, "ms")
        taus = [self.tau_m] + ([self.tau_a] if self.n_alif else []) + ([self.tau_out] if self.tau_out > 0 else [])
        check_dt(self.dt, min(taus))
        check_non_negative("beta", self.beta)
        check_positive("v_th", self.v_th)
        check_positive("gamma", self.gamma)
        if self.smooth is not None:
            check_positive("smooth", self.smooth, "1/mV")
        self.surrogate_spec  # validates the kind

    @property
    def surrogate_spec(self) -> Surrogate:
        if self.smooth is not None:
            return Surrogate(kind="sigmoid", gamma=self.gamma, sharpness=self.smooth)
        return Surrogate(kind=self.surrogate, gamma=self.gamma)

    @property
    def alpha(self) -> float:
        return math.exp(-self.dt / self.tau_m)

    @property
    def rho(self) -> float:
        return math.exp(-self.dt / self.tau_a)

    @property
    def kappa(self) -> float:
        return 0.0 if self.tau_out == 0.0 else math.exp(-self.dt / self.tau_out)


class States(NamedTuple):
    """Every state of a forward pass, shape (batch, T, n): v, z, a (zero for LIF), y
    (batch, T, n_out) and the pseudo-derivative psi = dz/dv."""

    v: np.ndarray
    z: np.ndarray
    a: np.ndarray
    y: np.ndarray
    psi: np.ndarray


class RSNN:
    """Recurrent network of LIF and ALIF neurons with a leaky linear readout.

    Weights are dense ``w[post, pre]``: ``w_in`` (n_rec, n_in), ``w_rec`` (n_rec, n_rec,
    zero diagonal), ``w_out`` (n_out, n_rec), ``b_out`` (n_out,). Initialization as in
    Bellec et al. 2020: standard normal entries divided by sqrt(number of inputs to the row),
    b_out = 0; ``seed`` seeds a ``numpy.random.Generator``.
    """

    def __init__(self, n_in, n_rec, n_out, *, n_alif=0, dt=1.0, tau_m=20.0, tau_a=200.0, beta=1.8,
                 tau_out=20.0, v_th=1.0, gamma=0.3, seed=None, surrogate="triangular", smooth=None):
        self.params = RSNNParams(n_in, n_rec, n_out, n_alif, dt, tau_m, tau_a, beta, tau_out, v_th,
                                 gamma, surrogate, smooth)
        rng = np.random.default_rng(check_seed(seed))
        self.seed = seed
        self.w_in = rng.standard_normal((n_rec, n_in)) / math.sqrt(n_in)
        w_rec = rng.standard_normal((n_rec, n_rec)) / math.sqrt(n_rec)
        np.fill_diagonal(w_rec, 0.0)
        self.w_rec = w_rec
        self.w_out = rng.standard_normal((n_out, n_rec)) / math.sqrt(n_rec)
        self.b_out = np.zeros(n_out)

    # -- parameters ---------------------------------------------------------------------
    def __getattr__(self, name):
        params = self.__dict__.get("params")
        if params is not None and hasattr(params, name):
            return getattr(params, name)
        raise AttributeError(f"{type(self).__name__!s} has no attribute {name!r}")

    @property
    def adaptive(self) -> np.ndarray:
        """1.0 for ALIF neurons (the last n_alif), 0.0 for LIF."""
        mask = np.zeros(self.n_rec)
        if self.n_alif:
            mask[self.n_rec - self.n_alif:] = 1.0
        return mask

    @property
    def beta_vec(self) -> np.ndarray:
        """Threshold adaptation strength per neuron: beta for ALIF, 0 for LIF."""
        return self.params.beta * self.adaptive

    def kernel_surrogate(self) -> np.ndarray:
        return self.params.surrogate_spec.kernel_params(self.params.v_th)

    WEIGHTS = ("w_in", "w_rec", "w_out", "b_out")

    def weights(self) -> dict:
        """A copy of the trainable arrays by name."""
        return {name: getattr(self, name).copy() for name in self.WEIGHTS}

    def set_weights(self, weights: dict) -> None:
        """Replace the trainable arrays (copied; shapes checked; W_rec's diagonal kept at 0)."""
        for name in self.WEIGHTS:
            if name not in weights:
                continue
            value = np.array(weights[name], dtype=np.float64)
            if value.shape != getattr(self, name).shape:
                raise ParameterError(f"{name} must have shape {getattr(self, name).shape}, got {value.shape}")
            if not np.all(np.isfinite(value)):
                raise ParameterError(f"{name} must be finite, got NaN or inf")
            if name == "w_rec":
                np.fill_diagonal(value, 0.0)
            setattr(self, name, value)

    def copy(self) -> "RSNN":
        other = object.__new__(RSNN)
        other.__dict__.update(params=self.params, seed=self.seed)
        for name in self.WEIGHTS:
            setattr(other, name, getattr(self, name).copy())
        return other

    # -- simulation -----------------------------------------------------------------------
    def check_input(self, x) -> np.ndarray:
        """``x`` as a C-contiguous float64 array of shape (batch, T, n_in), validated."""
        return check_input(x, self.n_in)

    def input_current(self, x: np.ndarray) -> np.ndarray:
        """W_in x_t for every batch element and step, (batch, T, n_rec)."""
        return np.ascontiguousarray(x @ self.w_in.T)

    def forward(self, x) -> States:
        """Run the network on ``x`` (batch, T, n_in); returns every state (see :class:`States`)."""
        x = self.check_input(x)
        batch, T, _ = x.shape
        n, n_out = self.n_rec, self.n_out
        v, z, a, ps = (np.empty((batch, T, n)) for _ in range(4))   # the kernel writes every entry
        y = np.empty((batch, T, n_out))
        forward_kernel(x, np.ascontiguousarray(self.w_in.T), np.ascontiguousarray(self.w_rec.T), self.w_out, self.b_out,
                       self.alpha, self.rho, self.kappa, self.v_th, self.beta_vec, self.adaptive,
                       0.0 if self.smooth is None else float(self.smooth), self.kernel_surrogate(),
                       v, z, a, y, ps, np.zeros(n), np.zeros(n))
        return States(v, z, a, y, ps)

    def forward_reference(self, x) -> States:
        """Twin of :meth:`forward`: the equations of the module docstring, one NumPy step at a time."""
        x = self.check_input(x)
        return forward_reference(self, x)

    def rates_hz(self, z: np.ndarray) -> np.ndarray:
        """Firing rate (Hz) of each recurrent neuron over batch and time of spikes ``z``."""
        return z.mean(axis=(0, 1)) * (1000.0 / self.dt)


# -- kernels --------------------------------------------------------------------------------
@njit(cache=True)
def forward_kernel(x, w_in_t, w_rec_t, w_out, b_out, alpha, rho, kappa, v_th, beta, adaptive, smooth_k, sp,
                   v, z, a, y, ps, cur, rec):
    """The whole forward pass into preallocated (batch, T, .) arrays (see :meth:`RSNN.forward`);
    ``w_in_t`` and ``w_rec_t`` are transposed (pre, post); zero inputs are skipped."""
    batch, T, n_in = x.shape
    state = np.empty((4, w_rec_t.shape[0]))      # v, z, a and psi of one sequence's current step
    vb, zb, ab, pb = state[0], state[1], state[2], state[3]
    yb = np.empty(w_out.shape[0])
    for b in range(batch):
        state[:] = 0.0
        yb[:] = 0.0
        for t in range(T):
            input_current(x[b, t], w_in_t, cur)
            neuron_step(cur, w_rec_t, alpha, rho, v_th, beta, adaptive, smooth_k, sp, vb, zb, ab, pb, rec)
            readout_step(zb, w_out, b_out, kappa, yb)
            v[b, t] = vb
            z[b, t] = zb
            a[b, t] = ab
            ps[b, t] = pb
            y[b, t] = yb


def forward_reference(net: RSNN, x: np.ndarray) -> States:
    """Twin of :func:`forward_kernel` (vectorized over batch, a Python loop over time)."""
    batch, T, _ = x.shape
    n = net.n_rec
    spec = net.params.surrogate_spec
    adaptive = net.adaptive.astype(bool)
    out = {name: [] for name in States._fields}
    v = np.zeros((batch, n))
    z = np.zeros((batch, n))
    a = np.zeros((batch, n))
    y = np.zeros((batch, net.n_out))
    for t in range(T):
        a = np.where(adaptive, net.rho * a + z, 0.0)
        threshold = net.v_th + net.beta_vec * a
        v = net.alpha * v + x[:, t] @ net.w_in.T + z @ net.w_rec.T - net.v_th * z
        u = v - threshold
        z = smooth_spike_reference(u, net.smooth) if net.smooth is not None else (u > 0).astype(float)
        y = net.kappa * y + z @ net.w_out.T + net.b_out
        for name, value in zip(States._fields, (v, z, a, y, psi_reference(u, spec, net.v_th))):
            out[name].append(value)
    return States(*(np.stack(out[name], axis=1) for name in States._fields))


# -- inputs, targets, losses ----------------------------------------------------------------
def check_input(x, n_in: int) -> np.ndarray:
    """Validate an input batch: numeric (bool allowed), finite, shape (batch >= 1, T >= 1, n_in)."""
    arr = np.asarray(x)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool) \
            or np.issubdtype(arr.dtype, np.complexfloating):
        raise ParameterError(f"x must be a real numeric array, got dtype {arr.dtype}")
    if arr.ndim != 3:
        raise ParameterError(f"x must have shape (batch, T, n_in={n_in}), got shape {arr.shape}")
    batch, T, n = arr.shape
    if batch < 1:
        raise ParameterError(f"x must hold at least one sequence (batch >= 1), got batch = {batch}")
    if T < 1:
        raise ParameterError(f"x must have at least one time step (T >= 1), got T = {T}")
    if n != n_in:
        raise ParameterError(f"x must have n_in = {n_in} inputs in its last axis, got shape {arr.shape}")
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    if not (np.isfinite(arr.min()) and np.isfinite(arr.max())):  # no temporary as large as x
        raise ParameterError("x must be finite, got NaN or inf")
    return arr


__all__ = ["RSNN", "RSNNParams", "States", "LOSSES", "F_TARGET_HZ", "loss_and_error", "accuracy",
           "rate_regularization", "check_input", "check_target", "check_loss", "check_window",
           "forward_kernel", "forward_reference", "neuron_step", "log_softmax", "ce_error", "check_regularization"]

from .rsnn_network import to_network  # noqa: E402,F401  (the RSNN as a models.Network)
