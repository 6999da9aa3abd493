"""Layered (deep feedforward) spiking networks trained directly with STBP, with tdBN.

The model of docs/deep-snn.md, from Zheng et al. 2021 ("Going deeper with directly-trained
larger spiking neural networks", AAAI; threshold-dependent batch normalisation, tdBN) on
Wu et al. 2018 (STBP). Dense layers without bias, the iterative LIF with the decay-gated hard
reset ``u_t = tau_decay * u_{t-1} * (1 - s_{t-1}) + J_t``, ``s_t = H(u_t - V_th)``, and per
hidden layer one of

* ``norm="tdbn"``: ``J = lambda * alpha*V_th * (I - mu) / sqrt(var + eps) + beta`` with mu,
  var over batch AND time per neuron (Zheng et al. 2021, Eq. 6-7);
* ``norm="bn"``: the same without the alpha*V_th factor (plain BN over batch and time);
* ``norm=None``: ``J = I``.

``residual=True`` adds identity shortcuts as in the paper's ResNets: after the first hidden
layer, blocks of two layers, the block's input spikes added to the second layer's
normalised current, whose tdBN then uses alpha/sqrt(2) (the paper's merge scaling).

Defaults are the paper's: tau_decay = 0.25, V_th = 0.5 and the rectangular surrogate
``1/a * 1{|u - V_th| < a/2}`` with a = 1 (Zheng et al. 2021, Sec. "Experiment"; the same
constants appear in public PyTorch code built on the authors' tdBN layer, e.g. the GLIF
code of Yao et al. 2022: ``Vth = 0.5``, ``tau = 0.25``, ``abs(u - Vth) < 0.5``). Weights
start as PyTorch's ``nn.Linear`` default, U(-1/sqrt(n_in), 1/sqrt(n_in)); lambda = 1,
beta = 0. Running statistics for evaluation follow PyTorch's BatchNorm: momentum 0.1, the
unbiased variance.

``surrogate`` is a :class:`plasticity.surrogate.Surrogate` or a kind name; the kind
``"sigmoid"`` makes the forward pass itself smooth (s = logistic(k (u - V_th))), the
differentiable model the finite-difference tests check the gradients on.

Gradients: :mod:`plasticity.stbp` (hand-written BPTT). Voltages are dimensionless (the
model's units, V_th = 0.5), time in steps.
"""
from __future__ import annotations

import math

import numpy as np

from plasticity import stbp
from plasticity.errors import ParameterError, check_finite, check_int, check_positive
from plasticity.surrogate import Surrogate, as_surrogate

NORMS = ("tdbn", "bn", None)
TAU_DECAY = 0.25       # Zheng et al. 2021
V_TH = 0.5             # Zheng et al. 2021
SURROGATE_WIDTH = 1.0  # a, Zheng et al. 2021 (rectangular ds/du)


class SNN:
    """Dense spiking network ``sizes = [n_in, n_1, ..., n_L, n_out]`` (L >= 1 hidden LIF layers,
    a non-spiking readout averaged over time).

    ``dtype=np.float32`` computes in single precision (faster, as GPU frameworks train;
    the gradient tests use the default float64). Attributes: ``weights`` (W^1..W^{L+1}, each
    (n_post, n_pre)), ``bn_gamma`` and
    ``bn_beta`` (lambda^l, beta^l per hidden layer; empty lists for ``norm=None``),
    ``running_mean``/``running_var``, ``training`` (``train()``/``eval()``).
    """

    def __init__(self, sizes, *, T: int = 4, tau_decay: float = TAU_DECAY, v_th: float = V_TH,
                 norm: str | None = "tdbn", alpha: float = 1.0, surrogate=None, seed=None,
                 residual: bool = False, eps: float = 1e-5, momentum: float = 0.1, dtype=np.float64):
        sizes = list(sizes) if not isinstance(sizes, (str, bytes)) else sizes
        if not isinstance(sizes, list) or len(sizes) < 3:
            raise ParameterError(f"sizes must list at least [n_in, n_hidden, n_out], got {sizes!r}")
        self.sizes = [check_int(f"sizes[{k}]", n, 1) for k, n in enumerate(sizes)]
        self.T = check_int("T", T, 1)
        self.tau_decay = check_finite("tau_decay", tau_decay)
        if not 0.0 <= self.tau_decay <= 1.0:
            raise ParameterError(f"tau_decay must be in [0, 1] (a decay factor per step), got {tau_decay!r}")
        self.v_th = check_positive("v_th", v_th)
        if norm is not None and (not isinstance(norm, str) or norm not in NORMS):
            raise ParameterError(f"norm must be one of 'tdbn', 'bn' or None, got {norm!r}")
        self.norm = norm
        self.alpha = check_positive("alpha", alpha)
        self.surrogate = Surrogate("rectangular", width=SURROGATE_WIDTH) if surrogate is None else as_surrogate(surrogate)
        self.eps = check_positive("eps", eps)
        self.momentum = check_finite("momentum", momentum)
        if not 0.0 < self.momentum <= 1.0:
            raise ParameterError(f"momentum must be in (0, 1], got {momentum!r}")
        self.residual = bool(residual)
        if np.dtype(dtype) not in (np.dtype(np.float64), np.dtype(np.float32)):
            raise ParameterError(f"dtype must be float64 or float32, got {dtype!r}")
        self.dtype = np.dtype(dtype)
        self.seed = seed
        L = len(self.sizes) - 2
        self.shortcuts = tuple(l - 2 if self.residual and l >= 2 and l % 2 == 0 else -1 for l in range(L))
        for l, src in enumerate(self.shortcuts):
            if src >= 0 and self.sizes[l + 1] != self.sizes[src + 1]:
                raise ParameterError(f"residual=True needs equal widths in each block: hidden layer {l + 1} has "
                                     f"{self.sizes[l + 1]} neurons, its shortcut source {src + 1} has {self.sizes[src + 1]}")
        merge = [1.0 / math.sqrt(2.0) if src >= 0 else 1.0 for src in self.shortcuts]
        base = self.alpha * self.v_th if self.norm == "tdbn" else 1.0
        self.bn_scale = [base * m for m in merge] if self.norm is not None else []
        rng = np.random.default_rng(seed)
        self.weights = [(rng.uniform(-1.0, 1.0, (n_post, n_pre)) / math.sqrt(n_pre)).astype(self.dtype)
                        for n_pre, n_post in zip(self.sizes[:-1], self.sizes[1:])]
        hidden = self.sizes[1:-1] if self.norm is not None else []
        self.bn_gamma = [np.ones(n, self.dtype) for n in hidden]
        self.bn_beta = [np.zeros(n, self.dtype) for n in hidden]
        self.running_mean = [np.zeros(n) for n in hidden]
        self.running_var = [np.ones(n) for n in hidden]
        self.training = True

    # -- modes and passes -----------------------------------------------------------------
    @property
    def depth(self) -> int:
        """Number of hidden (spiking) layers L."""
        return len(self.sizes) - 2

    def train(self) -> "SNN":
        self.training = True
        return self

    def eval(self) -> "SNN":
        self.training = False
        return self

    def run(self, x, *, train: bool | None = None) -> stbp.Trace:
        """Every state of a forward pass (:class:`plasticity.stbp.Trace`); in training mode the
        running statistics are updated from the batch."""
        trace = stbp.forward(self, x, train=train)
        if (self.training if train is None else train):
            self.observe(trace)
        return trace

    def forward(self, x, *, train: bool | None = None) -> np.ndarray:
        """Logits (batch, n_out) of ``x`` (batch, T, n_in), or (batch, n_in) repeated over T."""
        return self.run(x, train=train).logits

    __call__ = forward

    def predict(self, x) -> np.ndarray:
        """Predicted labels with the running statistics (evaluation mode)."""
        return np.argmax(stbp.forward(self, x, train=False).logits, axis=1)

    def observe(self, trace: stbp.Trace) -> None:
        """Fold a training pass's batch statistics into the running ones (PyTorch's rule)."""
        if self.norm is None:
            return
        n = trace.u[0].shape[0] * trace.u[0].shape[1]
        unbiased = n / (n - 1) if n > 1 else 1.0
        m = self.momentum
        for l in range(self.depth):
            self.running_mean[l] = (1 - m) * self.running_mean[l] + m * trace.mean[l]
            self.running_var[l] = (1 - m) * self.running_var[l] + m * trace.var[l] * unbiased

    # -- parameters ------------------------------------------------------------------------
    def parameters(self) -> dict:
        """``{"weights": [...], "bn_gamma": [...], "bn_beta": [...]}``, the arrays themselves."""
        return {"weights": self.weights, "bn_gamma": self.bn_gamma, "bn_beta": self.bn_beta}

    def copy(self) -> "SNN":
        import copy

        return copy.deepcopy(self)


def flatten(tree: dict) -> dict:
    """``{"weights": [a, b]}`` -> ``{"weights/0": a, "weights/1": b}`` (for plasticity.optim)."""
    return {f"{key}/{k}": a for key, arrays in tree.items() for k, a in enumerate(arrays)}


def apply_gradients(net: SNN, optimizer, grads: dict) -> None:
    """Add ``optimizer.delta`` of the gradients to the network's parameters in place."""
    params = flatten(net.parameters())
    for key, d in optimizer.delta(flatten(grads)).items():
        params[key] += d


def train_step(net: SNN, optimizer, x, labels, *, loss: str = "ce") -> tuple[float, dict, stbp.Trace]:
    """One STBP update on a batch: (loss before the update, gradients, trace)."""
    value, grads, trace = stbp.loss_and_gradients(net, x, labels, loss=loss)
    net.observe(trace)
    apply_gradients(net, optimizer, grads)
    return value, grads, trace


def firing_rates(trace: stbp.Trace) -> np.ndarray:
    """Mean spikes per neuron per step of each hidden layer, (L,)."""
    return np.array([float(s.mean()) for s in trace.s])


def layer_norms(grads: dict) -> np.ndarray:
    """Frobenius norm of each weight gradient, (L+1,)."""
    return np.array([float(np.linalg.norm(g)) for g in grads["weights"]])


def blas_single_thread():
    """Context manager limiting BLAS to one thread (threadpoolctl, installed with scikit-learn).

    The matrices of these networks are small (a few hundred rows); a multi-threaded BLAS
    spends more time synchronising than multiplying, and on a loaded machine it can be 10x
    slower (measured: a 16-layer step 470 ms with OpenBLAS's default threads at load 20,
    38 ms with one thread). A no-op when threadpoolctl is missing.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - a dependency of scikit-learn
        from contextlib import nullcontext

        return nullcontext()
    return threadpool_limits(1, "blas")


def train_epoch(net: SNN, optimizer, x, labels, *, batch: int, rng, loss: str = "ce",
                encode=None) -> float:
    """One pass over (x, labels) in shuffled mini-batches of ``batch`` (the last one may be
    smaller); ``encode(x_batch, rng)`` turns a batch into inputs (default: ``x`` as given).
    Returns the mean training loss over the batches."""
    check_int("batch", batch, 1)
    labels = np.asarray(labels)
    order = rng.permutation(len(labels))
    losses = []
    with blas_single_thread():
        for start in range(0, len(order), batch):
            idx = order[start:start + batch]
            xb = x[idx] if encode is None else encode(x[idx], rng)
            losses.append(train_step(net, optimizer, xb, labels[idx], loss=loss)[0])
    return float(np.mean(losses))


def accuracy(net: SNN, x, labels, *, batch: int = 512) -> float:
    """Fraction of correct predictions with the running statistics (evaluation mode)."""
    labels = np.asarray(labels)
    with blas_single_thread():
        hits = sum(int(np.sum(net.predict(x[k:k + batch]) == labels[k:k + batch]))
                   for k in range(0, len(labels), batch))
    return hits / len(labels)
