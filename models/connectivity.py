"""Connection patterns, weight and delay initialisers, and the projection they build.

A projection's synapses are stored CSR, grouped by presynaptic neuron
(:mod:`plasticity.synapse_index`); dense ``w[post, pre]`` views are available for
all-to-all projections. Delays are in ms, rounded to the time grid; a positive delay is at
least one step, zero means delivery at the end of the emission step (Brian2's default).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from plasticity.errors import ParameterError, check_finite, check_int, check_non_negative
from plasticity.synapse_index import SynapseIndex, build_index

RECEPTORS = ("excitatory", "inhibitory")
DELAY_TYPES = ("axonal", "dendritic")


# --- connection patterns: (n_pre, n_post, rng) -> (pre, post) index arrays ---------------

@dataclass(frozen=True)
class AllToAll:
    """Every presynaptic neuron to every postsynaptic neuron (``allow_self`` for a group onto itself)."""

    allow_self: bool = True

    def pairs(self, n_pre, n_post, rng, same_group=False):
        pre = np.repeat(np.arange(n_pre), n_post)
        post = np.tile(np.arange(n_post), n_pre)
        return _drop_self(pre, post, same_group and not self.allow_self)


@dataclass(frozen=True)
class OneToOne:
    """Neuron k to neuron k (the groups must have the same size)."""

    def pairs(self, n_pre, n_post, rng, same_group=False):
        if n_pre != n_post:
            raise ParameterError(f"one_to_one needs groups of equal size, got n_pre={n_pre}, n_post={n_post}")
        return np.arange(n_pre), np.arange(n_post)


@dataclass(frozen=True)
class FixedProbability:
    """Each pair connected independently with probability ``p`` (no self-connections by default)."""

    p: float
    allow_self: bool = False

    def __post_init__(self):
        p = check_finite("p", self.p)
        if not 0.0 <= p <= 1.0:
            raise ParameterError(f"p must be in [0, 1], got {self.p!r}")

    def pairs(self, n_pre, n_post, rng, same_group=False):
        mask = rng.random((n_pre, n_post)) < self.p
        pre, post = np.nonzero(mask)
        return _drop_self(pre, post, same_group and not self.allow_self)


@dataclass(frozen=True)
class FixedIndegree:
    """Each postsynaptic neuron receives exactly ``k`` synapses from distinct random sources."""

    k: int
    allow_self: bool = False

    def __post_init__(self):
        check_int("k", self.k, 0)

    def pairs(self, n_pre, n_post, rng, same_group=False):
        exclude_self = same_group and not self.allow_self
        available = n_pre - (1 if exclude_self else 0)
        if self.k > available:
            raise ParameterError(f"k must be <= {available} (available sources), got {self.k}")
        pre = np.empty(n_post * self.k, dtype=np.int64)
        for i in range(n_post):
            candidates = np.delete(np.arange(n_pre), i) if exclude_self else np.arange(n_pre)
            pre[i * self.k:(i + 1) * self.k] = rng.choice(candidates, self.k, replace=False)
        post = np.repeat(np.arange(n_post), self.k)
        return pre, post


@dataclass(frozen=True, eq=False)
class FromPairs:
    """Exactly the given synapses: presynaptic indices ``pre`` and postsynaptic indices ``post``
    (equal lengths; Brian2's ``connect(i=..., j=...)``). Duplicate pairs are separate synapses."""

    pre: np.ndarray
    post: np.ndarray

    def __post_init__(self):
        pre = np.array(self.pre, copy=True)
        post = np.array(self.post, copy=True)
        for name, a in (("pre", pre), ("post", post)):
            if a.ndim != 1 or (a.size and not np.issubdtype(a.dtype, np.integer)):
                raise ParameterError(f"{name} must be a 1-D array of integer neuron indices, got "
                                     f"dtype {a.dtype} and shape {a.shape}")
        if pre.size != post.size:
            raise ParameterError(f"pre and post must have the same length, got {pre.size} and {post.size}")
        for a in (pre, post):
            a.flags.writeable = False
        object.__setattr__(self, "pre", pre.astype(np.int64))
        object.__setattr__(self, "post", post.astype(np.int64))

    def pairs(self, n_pre, n_post, rng, same_group=False):
        for name, a, n in (("pre", self.pre, n_pre), ("post", self.post, n_post)):
            if a.size and (a.min() < 0 or a.max() >= n):
                raise ParameterError(f"{name} indices must be in [0, {n - 1}] (the group's size is {n}), "
                                     f"got values in [{a.min()}, {a.max()}]")
        return self.pre.copy(), self.post.copy()


def all_to_all(allow_self=True):
    return AllToAll(allow_self)


def one_to_one():
    return OneToOne()


def fixed_probability(p, allow_self=False):
    return FixedProbability(p, allow_self)


def fixed_indegree(k, allow_self=False):
    return FixedIndegree(k, allow_self)


def from_pairs(pre, post):
    return FromPairs(pre, post)


def _drop_self(pre, post, drop):
    if not drop:
        return pre, post
    keep = pre != post
    return pre[keep], post[keep]


# --- value initialisers: constant, array, or a distribution sampled per synapse ----------

@dataclass(frozen=True)
class Uniform:
    """Values drawn uniformly in [low, high)."""

    low: float
    high: float

    def __post_init__(self):
        check_finite("low", self.low)
        check_finite("high", self.high)
        if self.high < self.low:
            raise ParameterError(f"high must be >= low ({self.low}), got {self.high}")

    def sample(self, n, rng):
        return rng.uniform(self.low, self.high, n)


@dataclass(frozen=True)
class Normal:
    """Values drawn from N(mean, std^2), clipped to [low, high]."""

    mean: float
    std: float
    low: float = -np.inf
    high: float = np.inf

    def __post_init__(self):
        check_finite("mean", self.mean)
        check_non_negative("std", self.std)

    def sample(self, n, rng):
        return np.clip(rng.normal(self.mean, self.std, n), self.low, self.high)


def uniform(low, high):
    return Uniform(low, high)


def normal(mean, std, low=-np.inf, high=np.inf):
    return Normal(mean, std, low, high)


def per_synapse_values(name, spec, n_syn, rng):
    """Expand a constant, a per-synapse array or a distribution to ``n_syn`` floats."""
    if hasattr(spec, "sample"):
        values = np.asarray(spec.sample(n_syn, rng), dtype=float)
    else:
        values = np.asarray(spec, dtype=float)
        if values.ndim == 0:
            values = np.full(n_syn, float(values))
        elif values.shape != (n_syn,):
            raise ParameterError(f"{name} must be a scalar, a distribution or have {n_syn} entries "
                                 f"(one per synapse), got shape {values.shape}")
    if not np.all(np.isfinite(values)):
        raise ParameterError(f"{name} must be finite")
    return values.copy()


def delay_steps(delay_ms, dt):
    """Delays (ms) to whole steps: rounded, and a positive delay is at least one step."""
    d = np.asarray(delay_ms, dtype=float)
    if np.any(d < 0):
        raise ParameterError(f"delay must be >= 0 ms, got {d.min()!r}")
    steps = np.rint(d / dt).astype(np.int64)
    return np.where((d > 0) & (steps == 0), 1, steps)


@dataclass
class Projection:
    """Synapses from one group to another: CSR index, weights, delays, receptor, rule.

    ``w`` is per synapse in CSR order (grouped by presynaptic neuron); ``dense_weights()``
    returns (n_post, n_pre) with 0 where there is no synapse.
    """

    source: object
    target: object
    index: SynapseIndex
    w: np.ndarray
    delay: np.ndarray        # ms per synapse
    receptor: str
    rule: object
    delay_type: str
    modulator: object = None     # the Modulator a modulated rule reads
    readout: object = None       # the Readout whose error a gradient rule learns from
    transmit: bool = True        # False: spikes do not reach the target (the weights only learn)

    @property
    def n_syn(self) -> int:
        return self.w.size

    @property
    def pre(self) -> np.ndarray:
        return self.index.syn_pre

    @property
    def post(self) -> np.ndarray:
        return self.index.post_idx

    def dense_weights(self, w=None) -> np.ndarray:
        w = self.w if w is None else w
        out = np.zeros((self.target.n, self.source.n))
        out[self.post, self.pre] = w
        return out


def build_projection(source, target, *, connectivity, weight, delay, receptor, rule, delay_type,
                     rng, same_group) -> Projection:
    """Draw the synapses and their initial values (see :class:`Projection`)."""
    if receptor not in RECEPTORS:
        raise ParameterError(f"receptor must be one of {RECEPTORS}, got {receptor!r}")
    if delay_type not in DELAY_TYPES:
        raise ParameterError(f"delay_type must be one of {DELAY_TYPES}, got {delay_type!r}")
    pre, post = connectivity.pairs(source.n, target.n, rng, same_group)
    index, order = build_index(pre, post, source.n, target.n)
    n_syn = index.post_idx.size
    w = per_synapse_values("weight", weight, n_syn, rng)
    d = per_synapse_values("delay", delay, n_syn, rng)
    if np.ndim(weight) == 1 and not hasattr(weight, "sample"):
        w = w[order]
    if np.ndim(delay) == 1 and not hasattr(delay, "sample"):
        d = d[order]
    if np.any(d < 0):
        raise ParameterError(f"delay must be >= 0 ms, got {d.min()!r}")
    if rule is not None and hasattr(rule, "w_min") and (w.min(initial=rule.w_min) < rule.w_min or w.max(initial=rule.w_max) > rule.w_max):
        raise ParameterError(f"weight must lie in the rule's [w_min, w_max] = [{rule.w_min}, {rule.w_max}], "
                             f"got values in [{w.min()}, {w.max()}]")
    return Projection(source, target, index, w, d, receptor, rule, delay_type)
