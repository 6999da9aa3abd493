"""Pair STDP and the spike-timing kernel family shared with the triplet rule.

One pair of event kernels, :func:`on_pre` and :func:`on_post`, implements every
spike-timing rule of the package. A rule is reduced to a parameter vector
(:data:`PARAMS_LENGTH` floats, layout in :func:`pack_params`) that says:

* the amplitudes of the pair terms (``a2_plus``, ``a2_minus``) and of the triplet terms
  (``a3_plus``, ``a3_minus``; zero for pair STDP), Pfister & Gerstner 2006 eq. 3-4;
* the four trace time constants: presynaptic r1 (``tau_plus``) and r2 (``tau_x``),
  postsynaptic o1 (``tau_minus``) and o2 (``tau_y``), in ms;
* the weight dependence f+(w) = ((w_max - w)/(w_max - w_min))**mu_plus and
  f-(w) = ((w - w_min)/(w_max - w_min))**mu_minus (Gütig et al. 2003, J Neurosci 23:3697):
  mu = 0 is additive, mu = 1 multiplicative (soft bounds), 0 < mu < 1 the power law;
* a constant term ``a0_pre`` added at every presynaptic spike (zero for pair and triplet
  STDP; ``-eta * alpha`` for the Vogels-Sprekeler inhibitory rule, :mod:`plasticity.inhibitory`);
* the pairing scheme (Morrison, Diesmann & Gerstner 2008, Biol Cybern 98:459, Fig. 7):
  all-to-all (traces accumulate), nearest-neighbour symmetric (traces reset to 1), and
  nearest presynaptic-centred (each presynaptic spike pairs with the last postsynaptic spike
  before it and the first one after it: the presynaptic trace accumulates and is consumed,
  per synapse, by the next postsynaptic spike).

At a presynaptic spike at t:   w -= f-(w) * o1(t) * (a2_minus + a3_minus * r2(t-)) - a0_pre
At a postsynaptic spike at t:  w += f+(w) * r1(t) * (a2_plus + a3_plus * o2(t-))
where t- means before the spike's own jump. Weights are clipped to [w_min, w_max] after
each update (one clip per event: the pair term and a0_pre are summed first, as in the
Brian2 formulation of Vogels et al. 2011). The kernels accept signed amplitudes (the rule
dataclasses decide what is allowed: PairSTDP and TripletSTDP take magnitudes >= 0). Pre events at a time are handled before post events at the same time, so a
pre and a post spike at the same time form a potentiating pair with dt = 0 (Brian2's
default schedule; see models/simulate.py).

Synapses are addressed by CSR rows grouped by presynaptic neuron: the synapses of
presynaptic neuron j are ``syn_start[j]:syn_stop[j]`` with postsynaptic neurons
``post_idx[s]``; for postsynaptic events the transposed rows list synapse ids
``in_syn[in_start[i]:in_stop[i]]`` with presynaptic neurons ``in_pre[k]`` (and ``syn_pre[s]``
per synapse). Rows are given as start/stop arrays
(not one indptr) so that the native simulator can run several projections from one set of
concatenated arrays, neuron indices doubling as trace indices.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numba import njit

from .contract import Family
from .errors import ParameterError, check_finite, check_order, param, validate
from .traces import NEVER, jump, trace_at
from .vector_exp import exp_nonpositive

SCHEMES = ("all_to_all", "nearest_symmetric", "nearest_pre_centred")
ALL_TO_ALL, NEAREST_SYMMETRIC, NEAREST_PRE_CENTRED = 0, 1, 2
WEIGHT_DEPENDENCES = ("additive", "multiplicative", "power_law")
def w_bound(default: float, which: str):
    """The ``w_min``/``w_max`` field of a rule (``which``: "lower" or "upper")."""
    return param(default, unit="weight", doc=f"{which} weight bound (weights clipped after each update)")

(A2_PLUS, A3_PLUS, A2_MINUS, A3_MINUS, TAU_PLUS, TAU_X, TAU_MINUS, TAU_Y,
 W_MIN, W_MAX, MU_PLUS, MU_MINUS, SCHEME, A0_PRE) = range(14)
PARAMS_LENGTH = 14


def pack_params(*, a2_plus, a3_plus, a2_minus, a3_minus, tau_plus, tau_x, tau_minus, tau_y,
                w_min, w_max, mu_plus, mu_minus, scheme, a0_pre=0.0) -> np.ndarray:
    """The kernel parameter vector (float64, indices named by the module constants)."""
    p = np.empty(PARAMS_LENGTH)
    p[A0_PRE] = a0_pre
    p[A2_PLUS], p[A3_PLUS], p[A2_MINUS], p[A3_MINUS] = a2_plus, a3_plus, a2_minus, a3_minus
    p[TAU_PLUS], p[TAU_X], p[TAU_MINUS], p[TAU_Y] = tau_plus, tau_x, tau_minus, tau_y
    p[W_MIN], p[W_MAX], p[MU_PLUS], p[MU_MINUS] = w_min, w_max, mu_plus, mu_minus
    p[SCHEME] = SCHEMES.index(scheme)
    return p


class TraceState(NamedTuple):
    """Lazy traces of one projection (values as of each neuron's last spike).

    pre:    (2, n_pre)  r1, r2 just after the last presynaptic spike
    t_pre:  (n_pre,)    time of that spike (ms), -inf before any
    post:   (2, n_post) o1, o2 just after the last postsynaptic spike
    t_post: (n_post,)   time of that spike (ms), -inf before any
    carry:  (n_syn,)    presynaptic-centred scheme only: r1 of the synapse's presynaptic
                        neuron at its postsynaptic neuron's last spike (the part already
                        paired, subtracted at the next postsynaptic spike)
    scratch: (2, >= max(n_pre, n_post)) the other side's traces (value, time) of one row,
                        gathered so that their decay is a loop of its own (no state)
    """

    pre: np.ndarray
    t_pre: np.ndarray
    post: np.ndarray
    t_post: np.ndarray
    carry: np.ndarray
    scratch: np.ndarray


def _scratch_width(n: int) -> int:
    """At least n, and rows not a multiple of 4096 bytes apart: loads from one row right after
    stores to the other would otherwise wait on each other (4K aliasing: the processor compares
    addresses by their low 12 bits; measured 0.25 s of 1 s on the 16 000-neuron network)."""
    width = n + 8
    return width + 8 if (width * 8) % 4096 == 0 else width


def init_state(n_pre: int, n_post: int, n_syn: int) -> TraceState:
    """Empty traces for a projection of ``n_syn`` synapses."""
    return TraceState(np.zeros((2, n_pre)), np.full(n_pre, NEVER),
                      np.zeros((2, n_post)), np.full(n_post, NEVER), np.zeros(n_syn), np.zeros((2, _scratch_width(max(n_pre, n_post)))))


@njit(cache=True)
def _clip(w: float, w_min: float, w_max: float) -> float:
    return min(max(w, w_min), w_max)


@njit(cache=True)
def _soft_bound(distance: float, span: float, mu: float) -> float:
    if mu == 0.0:
        return 1.0
    return (distance / span) ** mu


@njit(cache=True, inline="always")
def _traces_of_row(values, times, order, buf, t, tau):
    """The traces ``values[order[q]]`` (as of the spikes at ``times[order[q]]``) at ``t``, into
    ``buf[0, :order.size]``: gathered first, then decayed in a loop of their own, which
    compiles to vector instructions (``exp_nonpositive``; a gather in the same loop would
    keep it scalar). Returns that row of ``buf``."""
    n = order.size
    x, last = buf[0, :n], buf[1, :n]
    for q in range(n):
        i = order[q]
        x[q] = values[i]
        last[q] = times[i]
    for q in range(n):
        x[q] *= exp_nonpositive((last[q] - t) / tau)
    return x


SHORT_ROW = 16      # rows shorter than this are walked by a scalar loop (setting up a vector loop costs more)


@njit(cache=True, inline="always")
def _depressed(ws, o1, amplitude, a0, w_min, w_max, span, mu_minus):
    """The weight after a presynaptic event, from ``ws`` and the postsynaptic trace ``o1``."""
    return _clip(ws - _soft_bound(ws - w_min, span, mu_minus) * o1 * amplitude + a0, w_min, w_max)


@njit(cache=True, error_model="numpy")
def _depress_row(st, w, post_idx, s0, s1, t, tau_minus, amplitude, a0, w_min, w_max, span, mu_minus):
    """The vector path of :func:`on_pre` for the row ``s0:s1``. A function of its own, not
    inlined: inlined beside the scalar path of short rows, its loops compiled to code 3x
    slower (measured in the 4 000-neuron network's rows of 64: 7.2 against 2.4 ns per
    synapse)."""
    o1s = _traces_of_row(st.post[0], st.t_post, post_idx[s0:s1], st.scratch, t, tau_minus)
    row = w[s0:s1]
    for q in range(row.size):
        row[q] = _depressed(row[q], o1s[q], amplitude, a0, w_min, w_max, span, mu_minus)


@njit(cache=True, inline="always")
def on_pre(p, st, w, syn_start, syn_stop, post_idx, j, t):
    """Presynaptic spike of neuron ``j`` at ``t`` (ms) reaches its synapses: depression.

    Mutates ``w`` (per-synapse weights) and ``st`` (traces). Allocates nothing. The walk of
    a row of :data:`SHORT_ROW` synapses or more has no branch (every weight of the row is
    rewritten, clipped) and reads the postsynaptic traces from :func:`_traces_of_row`, so that
    it compiles to vector instructions; shorter rows (Song 2000: one synapse) take the same
    arithmetic in a scalar loop.
    """
    w_min, w_max = p[W_MIN], p[W_MAX]
    span = w_max - w_min
    a0, mu_minus = p[A0_PRE], p[MU_MINUS]
    r1 = trace_at(st.pre[0, j], st.t_pre[j], t, p[TAU_PLUS])
    r2 = trace_at(st.pre[1, j], st.t_pre[j], t, p[TAU_X])
    amplitude = p[A2_MINUS] + p[A3_MINUS] * r2
    if amplitude != 0.0 or a0 != 0.0:
        s0, s1 = syn_start[j], syn_stop[j]
        tau_minus = p[TAU_MINUS]
        if s1 - s0 < SHORT_ROW:
            for s in range(s0, s1):
                i = post_idx[s]
                o1 = st.post[0, i] * exp_nonpositive((st.t_post[i] - t) / tau_minus)
                w[s] = _depressed(w[s], o1, amplitude, a0, w_min, w_max, span, mu_minus)
        else:
            _depress_row(st, w, post_idx, s0, s1, t, tau_minus, amplitude, a0, w_min, w_max, span, mu_minus)
    reset = p[SCHEME] == NEAREST_SYMMETRIC
    st.pre[0, j] = jump(r1, reset)
    st.pre[1, j] = jump(r2, reset)
    st.t_pre[j] = t


@njit(cache=True, inline="always")
def on_post(p, st, w, in_start, in_stop, in_syn, in_pre, i, t):
    """Postsynaptic spike of neuron ``i`` at ``t`` (ms) reaches its synapses: potentiation.

    ``in_pre[k]`` is the presynaptic neuron of synapse ``in_syn[k]`` (``SynapseIndex.post_pre``).
    Mutates ``w`` and ``st``. Allocates nothing. The row's presynaptic traces come from
    :func:`_traces_of_row`; the weights, scattered over ``w``, are then updated in a loop that
    does nothing else (software prefetching it measured 1.4x slower: the processor overlaps
    the misses of so short a loop by itself).
    """
    w_min, w_max = p[W_MIN], p[W_MAX]
    span = w_max - w_min
    tau_plus, mu_plus = p[TAU_PLUS], p[MU_PLUS]
    scheme = p[SCHEME]
    o1 = trace_at(st.post[0, i], st.t_post[i], t, p[TAU_MINUS])
    o2 = trace_at(st.post[1, i], st.t_post[i], t, p[TAU_Y])
    amplitude = p[A2_PLUS] + p[A3_PLUS] * o2
    k0, k1 = in_start[i], in_stop[i]
    r1 = _traces_of_row(st.pre[0], st.t_pre, in_pre[k0:k1], st.scratch, t, tau_plus)
    if scheme == NEAREST_PRE_CENTRED:
        for k in range(k0, k1):
            s = in_syn[k]
            already_paired = trace_at(st.carry[s], st.t_post[i], t, tau_plus)
            st.carry[s] = r1[k - k0]
            r1[k - k0] -= already_paired
    if amplitude != 0.0:
        for k in range(k0, k1):
            s = in_syn[k]
            ws = w[s]
            w[s] = _clip(ws + _soft_bound(w_max - ws, span, mu_plus) * r1[k - k0] * amplitude, w_min, w_max)
    reset = scheme != ALL_TO_ALL
    st.post[0, i] = jump(o1, reset)
    st.post[1, i] = jump(o2, reset)
    st.t_post[i] = t


# ----------------------------------------------------------------------------------------
# Reference twin: explicit sums over the spike history, no traces.
# ----------------------------------------------------------------------------------------

def replay_reference(p, pre_times, post_times, w0):
    """Specification of the kernels: apply the rule pair by pair from spike histories.

    ``p`` is a parameter vector from :func:`pack_params`; spike times in ms; ``w0`` has shape
    (n_post, n_pre). Events are taken in time order, presynaptic before postsynaptic at equal
    times. At each event the contributions are summed explicitly from the lists of earlier
    spikes, as the papers state them. Returns the final (n_post, n_pre) weights.
    """
    w = np.array(w0, dtype=float, copy=True)
    n_post, n_pre = w.shape
    scheme = SCHEMES[int(p[SCHEME])]
    events = sorted([(float(t), 0, j) for j in range(n_pre) for t in pre_times[j]]
                    + [(float(t), 1, i) for i in range(n_post) for t in post_times[i]])
    seen_pre = [[] for _ in range(n_pre)]
    seen_post = [[] for _ in range(n_post)]

    def kernel_sum(times, t, tau, nearest):
        if not times:
            return 0.0
        if nearest:
            return math.exp(-(t - times[-1]) / tau)
        return sum(math.exp(-(t - tk) / tau) for tk in times)

    def f_plus(x):
        return ((p[W_MAX] - x) / (p[W_MAX] - p[W_MIN])) ** p[MU_PLUS] if p[MU_PLUS] else 1.0

    def f_minus(x):
        return ((x - p[W_MIN]) / (p[W_MAX] - p[W_MIN])) ** p[MU_MINUS] if p[MU_MINUS] else 1.0

    for t, kind, n in events:
        if kind == 0:
            j = n
            nearest_pre = scheme == "nearest_symmetric"
            r2 = kernel_sum(seen_pre[j], t, p[TAU_X], nearest_pre)
            for i in range(n_post):
                o1 = kernel_sum(seen_post[i], t, p[TAU_MINUS], scheme != "all_to_all")
                dw = f_minus(w[i, j]) * o1 * (p[A2_MINUS] + p[A3_MINUS] * r2)
                w[i, j] = min(max(w[i, j] - dw + p[A0_PRE], p[W_MIN]), p[W_MAX])
            seen_pre[j].append(t)
        else:
            i = n
            o2 = kernel_sum(seen_post[i], t, p[TAU_Y], scheme != "all_to_all")
            last_post = seen_post[i][-1] if seen_post[i] else -np.inf
            for j in range(n_pre):
                if scheme == "nearest_pre_centred":
                    # a pre spike at the time of the previous post spike came first and
                    # was paired with it already
                    partners = [tk for tk in seen_pre[j] if tk > last_post]
                    r1 = kernel_sum(partners, t, p[TAU_PLUS], False)
                else:
                    r1 = kernel_sum(seen_pre[j], t, p[TAU_PLUS], scheme == "nearest_symmetric")
                dw = f_plus(w[i, j]) * r1 * (p[A2_PLUS] + p[A3_PLUS] * o2)
                w[i, j] = min(max(w[i, j] + dw, p[W_MIN]), p[W_MAX])
            seen_post[i].append(t)
    return w


# ----------------------------------------------------------------------------------------
# The pair rule's parameters.
# ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PairSTDP:
    """Pair-based STDP (Bi & Poo 1998 window; Song, Miller & Abbott 2000; Morrison et al. 2008).

    potentiation  dw = +a_plus  * f+(w) * exp(-(t_post - t_pre)/tau_plus)   for t_post >= t_pre
    depression    dw = -a_minus * f-(w) * exp(-(t_pre - t_post)/tau_minus)  for t_pre > t_post

    Parameters
    ----------
    tau_plus, tau_minus : float
        Time constants of the potentiation and depression branches (ms). Defaults are the
        Bi & Poo fit used by Pfister & Gerstner 2006: 16.8 and 33.7 ms.
    a_plus, a_minus : float
        Magnitudes (>= 0) of one pairing's weight change at dt -> 0, in weight units (the
        projection's: multiples of g_L for conductance synapses, pA current, mV delta).
    w_min, w_max : float
        Hard bounds; weights are clipped after every update. Also the span of the soft bounds.
    weight_dependence : "additive" | "multiplicative" | "power_law"
        f+(w) = ((w_max - w)/(w_max - w_min))**mu_plus, f-(w) = ((w - w_min)/(w_max - w_min))**mu_minus
        with mu = 0 (additive), mu = 1 (multiplicative, soft bounds) or the given
        ``mu_plus``/``mu_minus`` in [0, 1] (power law, Gütig et al. 2003).
    scheme : "all_to_all" | "nearest_symmetric" | "nearest_pre_centred"
        Which spike pairs interact (Morrison et al. 2008, Fig. 7A/B).
    """

    tau_plus: float = param(16.8, unit="ms", gt=0, doc="time constant of the presynaptic trace r1 (potentiation branch)")
    tau_minus: float = param(33.7, unit="ms", gt=0, doc="time constant of the postsynaptic trace o1 (depression branch)")
    a_plus: float = param(0.01, unit="weight", ge=0, doc="potentiation per pairing at dt -> 0 (magnitude)")
    a_minus: float = param(0.0105, unit="weight", ge=0, doc="depression per pairing at dt -> 0 (magnitude)")
    w_min: float = w_bound(0.0, "lower")
    w_max: float = w_bound(1.0, "upper")
    weight_dependence: str = param("additive", "str", choices=WEIGHT_DEPENDENCES,
                                   doc="f+/f-: additive (mu=0), multiplicative (mu=1), power_law (mu_plus/mu_minus)")
    mu_plus: float = param(0.0, unit="1", ge=0, le=1, doc="power-law exponent of f+(w) (power_law only)")
    mu_minus: float = param(0.0, unit="1", ge=0, le=1, doc="power-law exponent of f-(w) (power_law only)")
    scheme: str = param("all_to_all", "str", choices=SCHEMES, doc="which spike pairs interact (Morrison et al. 2008)")

    def __post_init__(self):
        validate(self)
        check_order("w_min", self.w_min, "w_max", self.w_max)
        for name in ("mu_plus", "mu_minus"):
            mu = getattr(self, name)
            if self.weight_dependence != "power_law" and mu != 0.0:
                raise ParameterError(
                    f"{name} is only used with weight_dependence='power_law', got {mu!r} "
                    f"with {self.weight_dependence!r}")

    @property
    def mu(self) -> tuple[float, float]:
        """(mu_plus, mu_minus) as the kernels use them."""
        if self.weight_dependence == "additive":
            return 0.0, 0.0
        if self.weight_dependence == "multiplicative":
            return 1.0, 1.0
        return float(self.mu_plus), float(self.mu_minus)

    @property
    def smallest_tau(self) -> float:
        return min(self.tau_plus, self.tau_minus)

    def kernel_params(self) -> np.ndarray:
        mu_plus, mu_minus = self.mu
        return pack_params(a2_plus=self.a_plus, a3_plus=0.0, a2_minus=self.a_minus, a3_minus=0.0,
                           tau_plus=self.tau_plus, tau_x=self.tau_plus, tau_minus=self.tau_minus,
                           tau_y=self.tau_minus, w_min=self.w_min, w_max=self.w_max,
                           mu_plus=mu_plus, mu_minus=mu_minus, scheme=self.scheme)


def _check_bounds(w_min, w_max):
    check_order("w_min", check_finite("w_min", w_min), "w_max", check_finite("w_max", w_max))


# ----------------------------------------------------------------------------------------
# The family in models.Network (plasticity.contract): every projection of the network whose
# rule is PairSTDP, TripletSTDP or InhibitorySTDP shares one trace state, indexed by the
# network's global trace indices, and one parameter row per projection.
# ----------------------------------------------------------------------------------------

class NetworkData(NamedTuple):
    params: np.ndarray      # (n_proj, PARAMS_LENGTH); rows of other families unused
    state: TraceState


def _build(projections, built) -> NetworkData:
    wr = built.wiring
    params = np.zeros((wr.meta.shape[0], PARAMS_LENGTH))
    for p, proj in projections:
        params[p] = proj.rule.kernel_params()
    return NetworkData(params, init_state(int(wr.src_off[-1]), int(wr.tgt_off[-1]), int(wr.syn_off[-1])))


@njit(cache=True, inline="always")
def network_on_pre(data, net, p, j, t):
    wr = net.wiring
    on_pre(data.params[p], data.state, wr.w, wr.syn_start, wr.syn_stop, wr.post_idx, j, t)


@njit(cache=True, inline="always")
def network_on_post(data, net, p, i, t):
    wr = net.wiring
    on_post(data.params[p], data.state, wr.w, wr.in_start, wr.in_stop, wr.in_syn, wr.in_pre, i, t)


FAMILY = Family("stdp", build=_build, on_pre=network_on_pre, on_post=network_on_post)
PairSTDP.family = FAMILY
