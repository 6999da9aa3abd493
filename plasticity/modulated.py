"""Three-factor STDP: eligibility trace x dopamine (Izhikevich 2007 R-STDP, distal reward).

Izhikevich (2007) Cereb Cortex 17:2443; NEST 3.10 ``stdp_dopamine_synapse`` (Potjans,
Morrison & Diesmann 2010) for the event-driven formulation. Per synapse an eligibility
trace c, per network a dopamine concentration d:

    dc/dt = -c / tau_c + STDP(Δt) δ(t - t_pre/post)
    dd/dt = -d / tau_d + Σ_rewards amount δ(t - t_reward)
    dw/dt = eta * c * (d - b)

STDP(Δt) is the all-to-all pair rule with traces (pre trace r, tau_plus; post trace o,
tau_minus; both jump +1): at a postsynaptic spike c += a_plus * r(t), at a presynaptic
spike c -= a_minus * o(t). Published (verified, NEST defaults): tau_c = 1000 ms, tau_d =
200 ms, tau_plus = 20 ms, a_plus = 1, a_minus = 1.5.

**Exact event-driven integration.** Between two events c and d decay exponentially, so over
an interval of length T starting at (c0, d0)

    ∫ c (d - b) dt = c0 d0 tau_cd (1 - exp(-T/tau_cd)) - b c0 tau_c (1 - exp(-T/tau_c)),
    1/tau_cd = 1/tau_c + 1/tau_d.

Each synapse keeps c and the time it was last brought up to date; a pre or post event
brings its synapses up to date (w += eta * integral, c decayed), then changes c. A reward
changes d for every synapse, so it first brings *all* synapses up to date, then d jumps:
between rewards d is one exponential and the closed form holds. :func:`flush` brings every
synapse to a time t (call it before reading weights). Weights are clipped to [w_min, w_max]
at each update; with b = 0 the integrand has one sign over an interval, so this equals
clipping the continuous trajectory (with b > 0 it is NEST's event-wise clipping). In
``models.Network`` every read of the weights (chunk boundaries, weight records, operations)
is such an update too: with b = 0 results do not depend on where a run is cut (to ~1e-15);
with b > 0 and a weight at a bound they can (measured 0.016 with b = 0.5, 7.7 ms chunks).

Order at equal times: presynaptic events, then postsynaptic events, then rewards.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numba import njit

from .contract import M_TRANSMIT, Family, synaptic_input
from .errors import ParameterError, check_order, check_positive, param, validate
from .stdp import w_bound
from .replay import _spike_trains
from .synapse_index import dense_index
from .memory import prefetch_ahead, prefetch_row
from .traces import NEVER, trace_at

(A_PLUS, A_MINUS, TAU_PLUS, TAU_MINUS, TAU_C, TAU_D, ETA, BASELINE, W_MIN, W_MAX) = range(10)
PARAMS_LENGTH = 10
PRE, POST, REWARD = 0, 1, 2


@dataclass(frozen=True)
class DopamineSTDP:
    """Izhikevich 2007 dopamine-modulated STDP (distal reward).

    Parameters
    ----------
    tau_plus, tau_minus : float
        Pair-STDP trace time constants (ms). Published: 20 ms (verified).
    a_plus, a_minus : float
        Eligibility change per pairing at Δt -> 0 (magnitudes >= 0, eligibility units).
        Published: 1.0 and 1.5 (verified).
    tau_c, tau_d : float
        Eligibility and dopamine time constants (ms). Published: 1000 and 200 (verified).
    eta : float
        Weight change per ms per unit eligibility per unit dopamine (weight units), > 0.
    baseline : float
        b in dw/dt = eta c (d - b) (dopamine units, >= 0; NEST's ``b``). Default 0.
    w_min, w_max : float
        Hard bounds (weight units).
    """

    tau_plus: float = param(20.0, unit="ms", gt=0, doc="time constant of the presynaptic pair-STDP trace")
    tau_minus: float = param(20.0, unit="ms", gt=0, doc="time constant of the postsynaptic pair-STDP trace")
    a_plus: float = param(1.0, unit="eligibility", ge=0,
                          doc="eligibility change per pre-before-post pairing at dt -> 0 (magnitude)")
    a_minus: float = param(1.5, unit="eligibility", ge=0,
                           doc="eligibility change per post-before-pre pairing at dt -> 0 (magnitude)")
    tau_c: float = param(1000.0, unit="ms", gt=0, doc="eligibility trace time constant (dopamine STDP)")
    tau_d: float = param(200.0, unit="ms", gt=0, doc="dopamine time constant (dopamine STDP)")
    eta: float = param(1.0, unit="weight", gt=0, doc="learning rate: weight per ms per unit c per unit d")
    baseline: float = param(0.0, unit="1", ge=0, doc="dopamine baseline b in dw/dt = eta c (d - b)")
    w_min: float = w_bound(0.0, "lower")
    w_max: float = w_bound(1.0, "upper")

    def __post_init__(self):
        validate(self)
        check_order("w_min", self.w_min, "w_max", self.w_max)

    @property
    def smallest_tau(self) -> float:
        return min(self.tau_plus, self.tau_minus, self.tau_c, self.tau_d)

    @property
    def tau_cd(self) -> float:
        """1 / (1/tau_c + 1/tau_d) (ms): the decay time of the product c * d."""
        return 1.0 / (1.0 / self.tau_c + 1.0 / self.tau_d)

    def params(self) -> np.ndarray:
        """The kernels' parameter vector (indices A_PLUS ... W_MAX). Deliberately not named
        ``kernel_params``: this rule is not a member of the pair/triplet kernel family, so
        ``models.Network.connect`` and ``plasticity.brian.to_brian`` must not accept it."""
        p = np.empty(PARAMS_LENGTH)
        p[A_PLUS], p[A_MINUS], p[TAU_PLUS], p[TAU_MINUS] = self.a_plus, self.a_minus, self.tau_plus, self.tau_minus
        p[TAU_C], p[TAU_D], p[ETA], p[BASELINE] = self.tau_c, self.tau_d, self.eta, self.baseline
        p[W_MIN], p[W_MAX] = self.w_min, self.w_max
        return p


class ModulatedState(NamedTuple):
    """pre/post: traces as of each neuron's last spike (times t_pre/t_post, -inf before any);
    c, t_c: per-synapse eligibility as of its last update time; d, t_d: dopamine (1 element
    each) as of the last reward."""

    pre: np.ndarray
    t_pre: np.ndarray
    post: np.ndarray
    t_post: np.ndarray
    c: np.ndarray
    t_c: np.ndarray
    d: np.ndarray
    t_d: np.ndarray


def init_state(n_pre: int, n_post: int, n_syn: int, t0: float = 0.0) -> ModulatedState:
    """Zero traces, eligibility and dopamine; synapses up to date at ``t0`` (ms)."""
    return ModulatedState(np.zeros(n_pre), np.full(n_pre, NEVER), np.zeros(n_post), np.full(n_post, NEVER),
                          np.zeros(n_syn), np.full(n_syn, float(t0)), np.zeros(1), np.full(1, float(t0)))


@njit(cache=True)
def eligibility_integral(c0, d0, T, tau_c, tau_d, baseline):
    """∫_0^T c0 e^{-u/tau_c} (d0 e^{-u/tau_d} - b) du, in closed form (see module docstring)."""
    if c0 == 0.0 or T <= 0.0:
        return 0.0
    tau_cd = 1.0 / (1.0 / tau_c + 1.0 / tau_d)
    out = c0 * d0 * tau_cd * -math.expm1(-T / tau_cd)
    if baseline != 0.0:
        out -= baseline * c0 * tau_c * -math.expm1(-T / tau_c)
    return out


@njit(cache=True, inline="always")
def _advance(p, st, w, s, t):
    """Bring synapse s from its last update to t: w += eta * ∫ c (d - b), c decays."""
    t_s = st.t_c[s]
    if t > t_s:
        c0 = st.c[s]
        if c0 != 0.0:
            d0 = st.d[0] * math.exp(-(t_s - st.t_d[0]) / p[TAU_D])
            dw = p[ETA] * eligibility_integral(c0, d0, t - t_s, p[TAU_C], p[TAU_D], p[BASELINE])
            if dw != 0.0:
                w[s] = min(max(w[s] + dw, p[W_MIN]), p[W_MAX])
            st.c[s] = c0 * math.exp(-(t - t_s) / p[TAU_C])
        st.t_c[s] = t


@njit(cache=True, inline="always")
def on_pre(p, st, w, syn_start, syn_stop, post_idx, j, t):
    """Presynaptic spike of neuron j at t (ms): synapses up to date, c -= a_minus * o(t)."""
    for s in range(syn_start[j], syn_stop[j]):
        _advance(p, st, w, s, t)
        i = post_idx[s]
        o = trace_at(st.post[i], st.t_post[i], t, p[TAU_MINUS])
        st.c[s] -= p[A_MINUS] * o
    st.pre[j] = trace_at(st.pre[j], st.t_pre[j], t, p[TAU_PLUS]) + 1.0
    st.t_pre[j] = t


@njit(cache=True, inline="always")
def on_post(p, st, w, in_start, in_stop, in_syn, in_pre, i, t):
    """Postsynaptic spike of neuron i at t (ms): synapses up to date, c += a_plus * r(t).
    ``in_pre[k]``: the presynaptic neuron of synapse ``in_syn[k]`` (``SynapseIndex.post_pre``)."""
    k0, k1 = in_start[i], in_stop[i]
    prefetch_row(w, in_syn, k0, k1)
    for k in range(k0, k1):
        prefetch_ahead(w, in_syn, k, k1)
        s = in_syn[k]
        _advance(p, st, w, s, t)
        j = in_pre[k]
        r = trace_at(st.pre[j], st.t_pre[j], t, p[TAU_PLUS])
        st.c[s] += p[A_PLUS] * r
    st.post[i] = trace_at(st.post[i], st.t_post[i], t, p[TAU_MINUS]) + 1.0
    st.t_post[i] = t


@njit(cache=True)
def flush(p, st, w, t):
    """Bring every synapse up to date at t (ms): weights then include all of dw = ∫ c d."""
    flush_range(p, st, w, 0, w.size, t)


@njit(cache=True, inline="always")
def flush_range(p, st, w, s0, s1, t):
    """Bring synapses s0..s1-1 up to date at t (ms)."""
    for s in range(s0, s1):
        _advance(p, st, w, s, t)


@njit(cache=True)
def on_reward(p, st, w, amount, t):
    """Dopamine release of ``amount`` at t (ms): all synapses up to date, then d += amount."""
    release(p, st, w, 0, w.size, amount, t)


@njit(cache=True, inline="always")
def release(p, st, w, s0, s1, amount, t):
    """Dopamine release read by synapses s0..s1-1: they are brought up to date, then d jumps."""
    flush_range(p, st, w, s0, s1, t)
    st.d[0] = st.d[0] * math.exp(-(t - st.t_d[0]) / p[TAU_D]) + amount
    st.t_d[0] = t


@njit(cache=True)
def _run_events(p, st, w, indptr, post_idx, post_ptr, post_syn, post_pre, ev_t, ev_kind, ev_n, amounts, t_end):
    syn_start, syn_stop = indptr[:-1], indptr[1:]
    in_start, in_stop = post_ptr[:-1], post_ptr[1:]
    for e in range(ev_t.size):
        kind = ev_kind[e]
        if kind == PRE:
            on_pre(p, st, w, syn_start, syn_stop, post_idx, ev_n[e], ev_t[e])
        elif kind == POST:
            on_post(p, st, w, in_start, in_stop, post_syn, post_pre, ev_n[e], ev_t[e])
        else:
            on_reward(p, st, w, amounts[ev_n[e]], ev_t[e])
    flush(p, st, w, t_end)


def replay_modulated(rule: DopamineSTDP, pre_times, post_times, reward_times, reward_amounts, w0, *,
                     duration=None):
    """Final weights (n_post, n_pre) of ``rule`` on given spike trains and rewards.

    ``reward_times`` (ms, sorted) and ``reward_amounts`` (dopamine units, same length) give
    the dopamine releases. ``duration`` (ms): integrate dw = ∫ c d up to this time
    (default: the last event); only events at t < duration are applied.
    """
    if not isinstance(rule, DopamineSTDP):
        raise ParameterError(f"rule must be a DopamineSTDP, got {type(rule).__name__}")
    pre = _spike_trains("pre_times", pre_times)
    post = _spike_trains("post_times", post_times)
    r_t, r_a = _rewards(reward_times, reward_amounts)
    w = np.array(w0, dtype=float)
    n_pre, n_post = len(pre), len(post)
    if w.shape != (n_post, n_pre):
        raise ParameterError(f"w0 must have shape (n_post, n_pre) = ({n_post}, {n_pre}), got {w.shape}")
    if not np.all(np.isfinite(w)) or w.min() < rule.w_min or w.max() > rule.w_max:
        raise ParameterError(f"w0 must be finite and lie in [w_min, w_max] = [{rule.w_min}, {rule.w_max}]")
    ev_t, ev_kind, ev_n = _merge(pre, post, r_t)
    if duration is not None:
        duration = check_positive("duration", duration, "ms")
        keep = ev_t < duration
        ev_t, ev_kind, ev_n = ev_t[keep], ev_kind[keep], ev_n[keep]
    t_end = duration if duration is not None else (float(ev_t[-1]) if ev_t.size else 0.0)
    index = dense_index(n_pre, n_post)
    w_syn = np.ascontiguousarray(w.T).ravel()
    st = init_state(n_pre, n_post, w_syn.size)
    _run_events(rule.params(), st, w_syn, index.indptr, index.post_idx, index.post_ptr, index.post_syn,
                index.post_pre, ev_t, ev_kind, ev_n, r_a, t_end)
    return w_syn.reshape(n_pre, n_post).T.copy()


def _rewards(times, amounts):
    t = np.atleast_1d(np.asarray(times, dtype=float))
    a = np.atleast_1d(np.asarray(amounts, dtype=float))
    if t.ndim != 1 or a.shape != t.shape:
        raise ParameterError(f"reward_amounts must have the shape of reward_times {t.shape}, got {a.shape}")
    if not (np.all(np.isfinite(t)) and np.all(np.isfinite(a))):
        raise ParameterError("reward_times and reward_amounts must be finite")
    if t.size and (t.min() < 0 or np.any(np.diff(t) < 0)):
        raise ParameterError("reward_times must be sorted and >= 0 ms")
    return t, a


def _merge(pre, post, reward_t):
    times, kinds, ns = [], [], []
    for kind, trains in ((PRE, pre), (POST, post)):
        for n, t in enumerate(trains):
            times.append(t)
            kinds.append(np.full(t.size, kind, np.int64))
            ns.append(np.full(t.size, n, np.int64))
    times.append(reward_t)
    kinds.append(np.full(reward_t.size, REWARD, np.int64))
    ns.append(np.arange(reward_t.size, dtype=np.int64))
    t, kind, n = np.concatenate(times), np.concatenate(kinds), np.concatenate(ns)
    order = np.lexsort((n, kind, t))
    return t[order], kind[order], n[order]


# ----------------------------------------------------------------------------------------
# Reference twin: every synapse updated at every event, sums over the spike history.
# ----------------------------------------------------------------------------------------

def replay_modulated_reference(p, pre_times, post_times, reward_times, reward_amounts, w0, t_end):
    """Specification: events in time order (pre, post, reward at equal times); between
    consecutive event times every synapse gets w += eta * ∫ c (d - b) in closed form with c
    and d evaluated from their whole histories; pair increments computed from explicit sums
    over earlier spikes. Returns the (n_post, n_pre) weights at ``t_end``."""
    w = np.array(w0, dtype=float, copy=True)
    n_post, n_pre = w.shape
    events = sorted([(float(t), PRE, j) for j in range(n_pre) for t in pre_times[j]]
                    + [(float(t), POST, i) for i in range(n_post) for t in post_times[i]]
                    + [(float(t), REWARD, k) for k, t in enumerate(reward_times)])
    c = np.zeros((n_post, n_pre))
    seen_pre = [[] for _ in range(n_pre)]
    seen_post = [[] for _ in range(n_post)]
    rewards_seen = []
    t_prev = 0.0

    def dopamine(t):
        return sum(a * math.exp(-(t - tr) / p[TAU_D]) for tr, a in rewards_seen)

    def integrate_to(t):
        T = t - t_prev
        if T <= 0:
            return
        d0 = dopamine(t_prev)
        tau_cd = 1.0 / (1.0 / p[TAU_C] + 1.0 / p[TAU_D])
        for i in range(n_post):
            for j in range(n_pre):
                if c[i, j] == 0.0:
                    continue
                integral = (c[i, j] * d0 * tau_cd * (1 - math.exp(-T / tau_cd))
                            - p[BASELINE] * c[i, j] * p[TAU_C] * (1 - math.exp(-T / p[TAU_C])))
                w[i, j] = min(max(w[i, j] + p[ETA] * integral, p[W_MIN]), p[W_MAX])
                c[i, j] *= math.exp(-T / p[TAU_C])

    for t, kind, n in events + [(float(t_end), 3, 0)]:
        integrate_to(t)
        t_prev = max(t_prev, t)
        if kind == PRE:
            for i in range(n_post):
                o = sum(math.exp(-(t - s) / p[TAU_MINUS]) for s in seen_post[i])
                c[i, n] -= p[A_MINUS] * o
            seen_pre[n].append(t)
        elif kind == POST:
            for j in range(n_pre):
                r = sum(math.exp(-(t - s) / p[TAU_PLUS]) for s in seen_pre[j])
                c[n, j] += p[A_PLUS] * r
            seen_post[n].append(t)
        elif kind == REWARD:
            rewards_seen.append((t, reward_amounts[n]))
    return w


# ----------------------------------------------------------------------------------------
# The family in models.Network (plasticity.contract): projections connected with
# ``rule=DopamineSTDP(...), modulator=m`` read the release of their Modulator at every step
# (hook on_step, after the postsynaptic events: the order pre, post, reward of the replay).
# Each projection keeps its own copy of the dopamine level (d, t_d at index p).
# ----------------------------------------------------------------------------------------

class NetworkData(NamedTuple):
    params: np.ndarray      # (n_proj, PARAMS_LENGTH)
    state: ModulatedState   # traces and eligibility by global trace/synapse index; d, t_d by projection
    modulator: np.ndarray   # (n_proj,) index of the projection's Modulator


def _build(projections, built) -> NetworkData:
    wr = built.wiring
    n_proj = wr.meta.shape[0]
    params = np.zeros((n_proj, PARAMS_LENGTH))
    modulator = np.full(n_proj, -1, np.int64)
    for p, proj in projections:
        params[p] = proj.rule.params()
        modulator[p] = built.net.modulators.index(proj.modulator)
    st = init_state(int(wr.src_off[-1]), int(wr.tgt_off[-1]), int(wr.syn_off[-1]), t0=built.net.t)
    st = st._replace(d=np.zeros(n_proj), t_d=np.full(n_proj, float(built.net.t)))
    return NetworkData(params, st, modulator)


@njit(cache=True, inline="always")
def _projection_state(st, p):
    return ModulatedState(st.pre, st.t_pre, st.post, st.t_post, st.c, st.t_c, st.d[p:p + 1], st.t_d[p:p + 1])


@njit(cache=True, inline="always")
def network_on_pre(data, net, p, j, t):
    """The spike was delivered with the weight of the synapse's last update; the weight
    integrated up to t (the c*d integral since then) is the one it transmits (NEST's
    stdp_dopamine_synapse updates before sending), so the difference is delivered too."""
    wr = net.wiring
    params = data.params[p]
    st = _projection_state(data.state, p)
    target, shift, unit = synaptic_input(wr, net.neurons, p)
    transmit = wr.meta[p, M_TRANSMIT] == 1
    for s in range(wr.syn_start[j], wr.syn_stop[j]):
        before = wr.w[s]
        _advance(params, st, wr.w, s, t)
        if transmit:
            target[shift + wr.post_idx[s]] += (wr.w[s] - before) * unit
    on_pre(params, st, wr.w, wr.syn_start, wr.syn_stop, wr.post_idx, j, t)


@njit(cache=True, inline="always")
def network_on_post(data, net, p, i, t):
    wr = net.wiring
    on_post(data.params[p], _projection_state(data.state, p), wr.w, wr.in_start, wr.in_stop, wr.in_syn,
            wr.in_pre, i, t)


@njit(cache=True, inline="always")
def network_on_step(data, net, p, k, t):
    amount = net.modulators.release[data.modulator[p]]
    if amount != 0.0:
        wr = net.wiring
        release(data.params[p], _projection_state(data.state, p), wr.w, wr.syn_off[p], wr.syn_off[p + 1],
                amount, t)


@njit(cache=True)
def _sync_projection(params, st, w, s0, s1, t):
    flush_range(params, st, w, s0, s1, t)


def _sync(data, view, t):
    """Before weights are read: every synapse's w includes the integral of c*d up to t."""
    wr = view.wiring
    for p in np.flatnonzero(data.modulator >= 0):
        st = data.state
        _sync_projection(data.params[p], st._replace(d=st.d[p:p + 1], t_d=st.t_d[p:p + 1]), wr.w,
                         wr.syn_off[p], wr.syn_off[p + 1], t)


def _check(rule, proj, net):
    if proj.modulator is None:
        raise ParameterError("modulator must be given for a DopamineSTDP projection "
                             "(net.connect(..., rule=DopamineSTDP(...), modulator=net.add(models.Modulator(...))))")
    if abs(proj.modulator.tau_d - rule.tau_d) > 1e-12 * rule.tau_d:
        raise ParameterError(f"tau_d of the rule ({rule.tau_d} ms) must equal the modulator's tau_d "
                             f"({proj.modulator.tau_d} ms): both describe the same dopamine")


FAMILY = Family("dopamine", build=_build, on_pre=network_on_pre, on_post=network_on_post,
                on_step=network_on_step, sync=_sync, reads=("modulator",), check=_check)
DopamineSTDP.family = FAMILY
