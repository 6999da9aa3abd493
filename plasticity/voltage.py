"""Clopath et al. 2010 voltage-based STDP, with the AdEx neuron it was written for.

Clopath, Büsing, Vasilaki & Gerstner (2010) Nat Neurosci 13:344; NEST 3.10
``aeif_psc_delta_clopath`` + ``clopath_synapse`` for the defaults and the event details.
Plasticity depends on the postsynaptic membrane potential u and two low-pass filtered
copies of it, ū- (tau_minus = 10 ms) and ū+ (tau_plus = 7 ms), read with a delay
``delay_u`` (5 ms, NEST's ``delay_u_bars``), and on a presynaptic trace x̄ (tau_x = 15 ms,
jumping by 1/tau_x at each presynaptic spike, NEST's convention):

    LTD, at each presynaptic spike:  w -= A_LTD [ū-(t - delay) - θ-]_+
    LTP, continuously:               dw/dt = A_LTP x̄ [u - θ+]_+ [ū+(t - delay) - θ-]_+

θ- = -70.6 mV, θ+ = -45.3 mV, A_LTD = 14e-5 /mV, A_LTP = 8e-5 /(mV² ms) (published,
'verified' in the package's reference data; A_LTD constant — no homeostatic scaling).

Neuron (AdEx with spike clamp, adaptive threshold and spike after-depolarisation)::

    C du/dt = -g_L (u - E_L) + g_L Δ_T exp((u - V_T)/Δ_T) - w_ad + z + I
    tau_w dw_ad/dt = a (u - E_L) - w_ad;  tau_z dz/dt = -z;  tau_VT dV_T/dt = V_T,rest - V_T

When u >= V_peak (or a spike is forced): u is clamped at V_clamp for t_clamp, then set to
V_reset; w_ad += b, z = I_sp, V_T = V_T,max (NEST defaults: 33 mV, 2 ms, -60 mV, 80.5 pA,
400 pA, 30.4 mV). Presynaptic spikes are delta inputs (u jumps by the EPSP amplitude).

**Discretisation (stated, clock-driven on dt):** forward Euler for the neuron (exponential
argument capped at 20), exact exponential relaxation of ū± towards the step's u and of x̄;
per step: neuron update (input jump, spike/clamp), then filters, then plasticity (LTD at the
step's presynaptic spike with ū-(t - delay), then x̄ jumps, then LTP with the step's u and
ū+(t - delay), times dt), weight clipped to [w_min, w_max]. The neuron and the rule are
separate kernels, each with a NumPy twin. The arithmetic of one rule step is written once
(``step_factors``, ``filter_step``, ``neuron_terms``, ``synapse_step``) and called by
``clopath_step`` (hence ``clopath_run`` and the Brian2 plug-in) and by the rule family in
``models.Network`` (section at the end: ``ClopathSTDP`` projections onto a ``models.AdEx``
group, whose step is ``adex_run``'s).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numba import njit

from .contract import M_TGT, Family
from .errors import ParameterError, check_order, param, validate
from .stdp import w_bound


@dataclass(frozen=True)
class AdExClopath:
    """AdEx neuron of Clopath et al. 2010 (NEST aeif_psc_delta_clopath defaults). pF, nS, mV, ms, pA."""

    c_m: float = param(281.0, unit="pF", gt=0, doc="membrane capacitance")
    g_l: float = param(30.0, unit="nS", gt=0, doc="leak conductance")
    e_l: float = param(-70.6, unit="mV", doc="leak reversal potential")
    delta_t: float = param(2.0, unit="mV", gt=0, doc="slope factor of the exponential term")
    tau_w: float = param(144.0, unit="ms", gt=0, doc="adaptation current time constant")
    a: float = param(4.0, unit="nS", doc="subthreshold adaptation")
    b: float = param(80.5, unit="pA", doc="spike-triggered adaptation increment")
    v_th_rest: float = param(-50.4, unit="mV", doc="resting value of the adaptive threshold")
    v_th_max: float = param(30.4, unit="mV", doc="threshold value right after a spike")
    tau_v_th: float = param(50.0, unit="ms", gt=0, doc="threshold relaxation time constant")
    tau_z: float = param(40.0, unit="ms", gt=0, doc="after-depolarisation current time constant")
    i_sp: float = param(400.0, unit="pA", doc="after-depolarisation current increment at a spike")
    v_peak: float = param(33.0, unit="mV", doc="spike detection potential")
    v_clamp: float = param(33.0, unit="mV", doc="potential held during the spike clamp")
    t_clamp: float = param(2.0, unit="ms", ge=0, doc="duration of the spike clamp")
    v_reset: float = param(-60.0, unit="mV", doc="potential after the clamp")

    def __post_init__(self):
        validate(self)
        if self.v_peak <= self.v_th_rest:
            raise ParameterError(f"v_peak must be > v_th_rest ({self.v_th_rest} mV), got {self.v_peak}")
        if self.v_reset >= self.v_peak:
            raise ParameterError(f"v_reset must be < v_peak ({self.v_peak} mV), got {self.v_reset}")

    def params(self) -> np.ndarray:
        return np.array([self.c_m, self.g_l, self.e_l, self.delta_t, self.tau_w, self.a, self.b, self.v_th_rest,
                         self.v_th_max, self.tau_v_th, self.tau_z, self.i_sp, self.v_peak, self.v_clamp,
                         self.t_clamp, self.v_reset])


(C_M, G_L, E_L, DELTA_T, TAU_W, A_AD, B_AD, VT_REST, VT_MAX, TAU_VT, TAU_Z, I_SP, V_PEAK, V_CLAMP, T_CLAMP,
 V_RESET) = range(16)


@dataclass(frozen=True)
class ClopathSTDP:
    """Clopath 2010 voltage-based rule. mV, ms; A_LTD per mV, A_LTP per mV² per ms (weight units)."""

    a_ltd: float = param(14e-5, unit="weight/mV", ge=0,
                         doc="Clopath depression per presynaptic spike per mV of [u_bar_minus - theta_minus]")
    a_ltp: float = param(8e-5, unit="weight/(mV^2 ms)", ge=0,
                         doc="Clopath potentiation per ms per mV^2 of [u - theta_plus][u_bar_plus - theta_minus] x x_bar")
    tau_x: float = param(15.0, unit="ms", gt=0, doc="time constant of the presynaptic trace x_bar")
    tau_minus: float = param(10.0, unit="ms", gt=0,
                             doc="time constant of u_bar_minus, the filtered membrane potential of the LTD term")
    tau_plus: float = param(7.0, unit="ms", gt=0,
                            doc="time constant of u_bar_plus, the filtered membrane potential of the LTP term")
    theta_minus: float = param(-70.6, unit="mV", doc="Clopath threshold of the filtered potentials (mV)")
    theta_plus: float = param(-45.3, unit="mV", doc="Clopath threshold of the membrane potential (mV)")
    delay_u: float = param(5.0, unit="ms", ge=0, doc="delay with which the filtered potentials are read (ms)")
    w_min: float = w_bound(0.0, "lower")
    w_max: float = w_bound(1.0, "upper")

    def __post_init__(self):
        validate(self)
        check_order("w_min", self.w_min, "w_max", self.w_max)

    @property
    def smallest_tau(self) -> float:
        return min(self.tau_x, self.tau_minus, self.tau_plus)

    def params(self) -> np.ndarray:
        return np.array([self.a_ltd, self.a_ltp, self.tau_x, self.tau_minus, self.tau_plus, self.theta_minus,
                         self.theta_plus, self.delay_u, self.w_min, self.w_max])


(R_A_LTD, R_A_LTP, R_TAU_X, R_TAU_MINUS, R_TAU_PLUS, R_THETA_MINUS, R_THETA_PLUS, R_DELAY, R_W_MIN,
 R_W_MAX) = range(10)
R_LENGTH = 10


# ----------------------------------------------------------------------------------------
# Neuron kernel and twin
# ----------------------------------------------------------------------------------------

@njit(cache=True, inline="always")
def adex_step(p, dt, clamp_steps, i_ext, jump, forced, u, w_ad, z, vt, clamp):
    """One step of the neuron (parameters ``p`` in :meth:`AdExClopath.params` order): the
    state (u, w_ad, z, V_T, clamp steps left) before the step, the step's delta input
    ``jump`` (mV, ignored while clamped) and ``forced`` (a spike whatever u). Returns the new
    state and whether it spiked. The arithmetic of :func:`adex_run` (and of a network's AdEx
    group), written once."""
    spike = False
    if clamp > 0:
        clamp -= 1
        u = p[V_CLAMP] if clamp > 0 else p[V_RESET]
    else:
        arg = min((u - vt) / p[DELTA_T], 20.0)
        du = (-p[G_L] * (u - p[E_L]) + p[G_L] * p[DELTA_T] * math.exp(arg) - w_ad + z + i_ext) / p[C_M]
        u = u + dt * du + jump
        spike = forced or u >= p[V_PEAK]
    if spike:
        u = p[V_CLAMP] if clamp_steps > 0 else p[V_RESET]
        clamp = clamp_steps
        w_ad += p[B_AD]
        z = p[I_SP]
        vt = p[VT_MAX]
    w_ad += dt * (p[A_AD] * (u - p[E_L]) - w_ad) / p[TAU_W]
    z -= dt * z / p[TAU_Z]
    vt += dt * (p[VT_REST] - vt) / p[TAU_VT]
    return u, w_ad, z, vt, clamp, spike


@njit(cache=True)
def adex_run(p, dt, jumps, forced, i_ext, u_out, spikes_out):
    """Simulate len(u_out) steps. ``jumps[k]``: delta input (mV) at step k; ``forced[k]``:
    1 forces a spike at step k; ``i_ext`` (pA) constant. Fills u_out (mV, after each
    step's update) and spikes_out (1 at spike steps). Returns the number of spikes."""
    u, w_ad, z, vt = p[E_L], 0.0, 0.0, p[VT_REST]
    clamp_steps = int(round(p[T_CLAMP] / dt))
    clamp = 0
    n_sp = 0
    for k in range(u_out.size):
        u, w_ad, z, vt, clamp, spike = adex_step(p, dt, clamp_steps, i_ext, jumps[k], forced[k] == 1,
                                                 u, w_ad, z, vt, clamp)
        if spike:
            n_sp += 1
            spikes_out[k] = 1
        u_out[k] = u
    return n_sp


def adex_run_reference(neuron: AdExClopath, dt, jumps, forced, i_ext=0.0):
    """Twin of :func:`adex_run`: the same equations written out step by step in Python."""
    n = len(jumps)
    u, w_ad, z, vt = neuron.e_l, 0.0, 0.0, neuron.v_th_rest
    clamp_steps = int(round(neuron.t_clamp / dt))
    clamp_left = 0
    trace, spikes = np.zeros(n), np.zeros(n, dtype=np.int64)
    for k in range(n):
        spike = False
        if clamp_left > 0:
            clamp_left -= 1
            u = neuron.v_clamp if clamp_left > 0 else neuron.v_reset
        else:
            exp_term = neuron.g_l * neuron.delta_t * math.exp(min((u - vt) / neuron.delta_t, 20.0))
            u = u + dt * (-neuron.g_l * (u - neuron.e_l) + exp_term - w_ad + z + i_ext) / neuron.c_m + jumps[k]
            spike = forced[k] == 1 or u >= neuron.v_peak
        if spike:
            spikes[k] = 1
            u = neuron.v_clamp if clamp_steps > 0 else neuron.v_reset
            clamp_left = clamp_steps
            w_ad, z, vt = w_ad + neuron.b, neuron.i_sp, neuron.v_th_max
        w_ad += dt * (neuron.a * (u - neuron.e_l) - w_ad) / neuron.tau_w
        z -= dt * z / neuron.tau_z
        vt += dt * (neuron.v_th_rest - vt) / neuron.tau_v_th
        trace[k] = u
    return trace, spikes


# ----------------------------------------------------------------------------------------
# Rule kernel and twin. The arithmetic of one step exists once, in the four inline pieces
# below; clopath_step (clopath_run, the Brian2 plug-in) and the network family call them.
# ----------------------------------------------------------------------------------------

@njit(cache=True, inline="always")
def step_factors(r, dt):
    """(f-, f+, decay of x̄) of one step: the filters relax by f = 1 - exp(-dt/tau)."""
    return (1.0 - math.exp(-dt / r[R_TAU_MINUS]), 1.0 - math.exp(-dt / r[R_TAU_PLUS]),
            math.exp(-dt / r[R_TAU_X]))


@njit(cache=True, inline="always")
def filter_step(f_minus, f_plus, k, u_i, filt, hist, i):
    """Step k of neuron i's filters: ū-, ū+ relax towards the step's u, and enter the delay
    line ``hist[:, i]`` (d + 1 slots, d = hist.shape[2] - 1) at slot k mod (d + 1)."""
    slot = k % hist.shape[2]
    filt[0, i] += (u_i - filt[0, i]) * f_minus
    filt[1, i] += (u_i - filt[1, i]) * f_plus
    hist[0, i, slot] = filt[0, i]
    hist[1, i, slot] = filt[1, i]


@njit(cache=True, inline="always")
def neuron_terms(r, dt, k, u_i, hist, i):
    """(LTD amount, LTP factor) of neuron i at step k, after :func:`filter_step`: the LTD
    A_LTD [ū-(t - delay) - θ-]_+ and A_LTP [u - θ+]_+ [ū+(t - delay) - θ-]_+ dt. The delayed
    values are the delay line's slot written d steps ago (the initial value before that;
    d = 0: this step's)."""
    old = (k + 1) % hist.shape[2]
    ltd = r[R_A_LTD] * max(hist[0, i, old] - r[R_THETA_MINUS], 0.0)
    ltp_post = max(u_i - r[R_THETA_PLUS], 0.0) * max(hist[1, i, old] - r[R_THETA_MINUS], 0.0) * r[R_A_LTP] * dt
    return ltd, ltp_post


@njit(cache=True, inline="always")
def synapse_step(r, decay_x, ltd, ltp_post, pre_spike, x, w, s):
    """Synapse s at one step: x̄ decays; at a presynaptic spike w -= LTD and x̄ += 1/tau_x;
    then w += x̄ * LTP factor; w clipped to [w_min, w_max]."""
    x[s] *= decay_x
    ws = w[s]
    if pre_spike:
        ws -= ltd
        x[s] += 1.0 / r[R_TAU_X]
    ws += x[s] * ltp_post
    w[s] = min(max(ws, r[R_W_MIN]), r[R_W_MAX])


@njit(cache=True)
def clopath_step(r, dt, k, u, filt, hist, pre_flag, syn_post, x, w):
    """Step k of the rule for synapses onto several neurons, in place. Allocates nothing.

    ``u`` (n_post,): membrane potentials (mV) after the step's neuron update; ``filt``
    (2, n_post): ū-, ū+; ``hist`` (2, n_post, d + 1): their last d + 1 values (the delay
    line, d = round(delay_u/dt), filled with the initial value); ``pre_flag`` (n_syn,): 1
    where the synapse's presynaptic neuron spikes in this step; ``syn_post`` (n_syn,):
    each synapse's postsynaptic neuron; ``x`` (n_syn,) presynaptic traces; ``w`` weights.
    """
    f_minus, f_plus, decay_x = step_factors(r, dt)
    for i in range(u.size):
        filter_step(f_minus, f_plus, k, u[i], filt, hist, i)
    for s in range(w.size):
        i = syn_post[s]
        ltd, ltp_post = neuron_terms(r, dt, k, u[i], hist, i)
        synapse_step(r, decay_x, ltd, ltp_post, pre_flag[s] == 1, x, w, s)


def delay_steps(r, dt) -> int:
    """The filtered potentials' read delay in steps, round(delay_u/dt)."""
    return int(round(r[R_DELAY] / dt))


@njit(cache=True)
def clopath_run(r, dt, u, pre, u_init, w0, w_out):
    """Apply the rule to a voltage trace ``u`` (mV per step) and presynaptic spike flags
    ``pre`` (1 at spike steps) of several synapses sharing the neuron: ``pre`` has shape
    (n_syn, n_steps), ``w0`` (n_syn,). Fills ``w_out`` (n_syn, n_steps) with the weight after
    each step. Filters start at ``u_init`` (mV). Runs :func:`clopath_step` step by step."""
    n_syn, n_steps = pre.shape
    d = int(round(r[R_DELAY] / dt))
    filt = np.full((2, 1), u_init)
    hist = np.full((2, 1, d + 1), u_init)
    x = np.zeros(n_syn)
    w = w0.copy()
    syn_post = np.zeros(n_syn, np.int64)
    u_k = np.empty(1)
    flags = np.empty(n_syn, np.int64)
    for k in range(n_steps):
        u_k[0] = u[k]
        for s in range(n_syn):
            flags[s] = pre[s, k]
        clopath_step(r, dt, k, u_k, filt, hist, flags, syn_post, x, w)
        for s in range(n_syn):
            w_out[s, k] = w[s]


def clopath_run_reference(rule: ClopathSTDP, dt, u, pre, u_init, w0):
    """Twin of :func:`clopath_run`: the filters as linear recursions (scipy lfilter), the
    delay as an array shift, then the weight step by step. Returns (n_syn, n_steps)."""
    from scipy.signal import lfilter

    u = np.asarray(u, dtype=float)
    pre = np.atleast_2d(np.asarray(pre))
    n_syn, n = pre.shape

    def low_pass(tau):
        f = 1.0 - math.exp(-dt / tau)
        y, _ = lfilter([f], [1.0, -(1.0 - f)], u, zi=[(1.0 - f) * u_init])
        return y

    d = int(round(rule.delay_u / dt))
    um_d = np.r_[np.full(d, u_init), low_pass(rule.tau_minus)][:n]
    up_d = np.r_[np.full(d, u_init), low_pass(rule.tau_plus)][:n]
    ltd = rule.a_ltd * np.maximum(um_d - rule.theta_minus, 0.0)
    ltp = rule.a_ltp * dt * np.maximum(u - rule.theta_plus, 0.0) * np.maximum(up_d - rule.theta_minus, 0.0)
    out = np.zeros((n_syn, n))
    for s in range(n_syn):
        w, x = float(w0[s]), 0.0
        for k in range(n):
            x *= math.exp(-dt / rule.tau_x)
            if pre[s, k] == 1:
                w -= ltd[k]
                x += 1.0 / rule.tau_x
            w = min(max(w + x * ltp[k], rule.w_min), rule.w_max)
            out[s, k] = w
    return out


# ----------------------------------------------------------------------------------------
# The family in models.Network (plasticity.contract): projections connected with
# ``rule=ClopathSTDP(...)`` onto an AdEx group. Hook on_pre (stage 4, after delivery) marks
# the presynaptic trace index as spiking in this step; hook on_step (stage 8) runs the
# step of clopath_step for the projection's synapses with u = net.neurons.v of its targets
# (after the step's neuron update), then clears the marks. Filters and delay lines are per
# postsynaptic trace index (one set per projection and target neuron), x̄ per synapse.
# ----------------------------------------------------------------------------------------



class NetworkData(NamedTuple):
    params: np.ndarray      # (n_proj, R_LENGTH) ClopathSTDP.params(); rows of other families unused
    d: np.ndarray           # (n_proj,) delay of the filtered potentials in steps, round(delay_u/dt)
    filt: np.ndarray        # (2, n_post_traces): ū-, ū+ (mV)
    hist: np.ndarray        # (2, n_post_traces, d_max + 1): delay lines; projection p uses d_p + 1 slots
    x: np.ndarray           # (n_syn,) presynaptic traces x̄
    pre_flag: np.ndarray    # (n_pre_traces,) 1 when the trace index's spike reached the synapses this step


def _build(projections, built) -> NetworkData:
    wr = built.wiring
    dt = built.net.dt
    n_proj = wr.meta.shape[0]
    params = np.zeros((n_proj, R_LENGTH))
    d = np.zeros(n_proj, np.int64)
    for p, proj in projections:
        params[p] = proj.rule.params()
        d[p] = delay_steps(params[p], dt)
    n_post = int(wr.tgt_off[-1])
    filt = np.zeros((2, n_post))
    hist = np.zeros((2, n_post, int(d.max(initial=0)) + 1))
    for p, proj in projections:
        first = built.net.offset(proj.target)
        u0 = built.neurons.v[first:first + proj.target.n]   # the filters start at the initial u
        rows = slice(wr.tgt_off[p], wr.tgt_off[p + 1])
        filt[:, rows] = u0
        hist[:, rows, :] = u0[None, :, None]
    return NetworkData(params, d, filt, hist, np.zeros(int(wr.syn_off[-1])), np.zeros(int(wr.src_off[-1]), np.int64))


@njit(cache=True, inline="always")
def network_on_pre(data, net, p, j, t):
    data.pre_flag[j] = 1


@njit(cache=True, inline="always")
def network_on_step(data, net, p, k, t):
    wr = net.wiring
    r = data.params[p]
    dt = net.dt
    hist = data.hist[:, :, :data.d[p] + 1]
    f_minus, f_plus, decay_x = step_factors(r, dt)
    first = wr.meta[p, M_TGT] - wr.tgt_off[p]        # global neuron index = first + postsynaptic trace index
    for i in range(wr.tgt_off[p], wr.tgt_off[p + 1]):
        u_i = net.neurons.v[first + i]
        filter_step(f_minus, f_plus, k, u_i, data.filt, hist, i)
        ltd, ltp_post = neuron_terms(r, dt, k, u_i, hist, i)
        for q in range(wr.in_start[i], wr.in_stop[i]):
            s = wr.in_syn[q]
            synapse_step(r, decay_x, ltd, ltp_post, data.pre_flag[wr.syn_pre[s]] == 1, data.x, wr.w, s)
    for j in range(wr.src_off[p], wr.src_off[p + 1]):
        data.pre_flag[j] = 0


def _check(rule, proj, net):
    target = proj.target
    if not isinstance(getattr(target, "neuron", None), AdExClopath):
        raise ParameterError(f"target of a ClopathSTDP projection must be an AdEx group (models.AdEx: the rule "
                             f"reads its membrane potential u), got {type(target).__name__}")
    if proj.delay_type == "dendritic" and proj.n_syn and np.max(proj.delay) > 0:
        raise ParameterError("delay_type must be 'axonal' for a ClopathSTDP projection with a delay: the rule "
                             "reads the postsynaptic u without a dendritic delay (delay_u delays the filters)")


FAMILY = Family("clopath", build=_build, on_pre=network_on_pre, on_step=network_on_step, reads=("v",),
                targets=("AdEx",), check=_check)
ClopathSTDP.family = FAMILY
