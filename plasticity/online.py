"""e-prop and OTTT as a rule family of ``models.Network`` (the rule contract).

Bellec et al. 2020 (Nat Commun 11:3625, e-prop) and Xiao et al. 2022 (NeurIPS, OTTT), for
continuous-time LIF/ALIF targets with delta or exponential-current synapses, any delay,
read through :mod:`plasticity.contract`. Three roles of a projection:

*hidden* (target: a LIF group; ``readout=`` names the :class:`models.Readout` whose error
it learns from). Per presynaptic trace index l, filtered exactly as the synapse filters the
spike into v (so eps_v = dv/dw, the reset path dropped as in the paper):

    eps_v <- alpha*eps_v + k_syn*eps_i      (alpha = exp(-dt/tau_m); at the step's on_step)
    eps_i <- p_syn*eps_i + arrivals         (delta synapses: p_syn = 0, k_syn = 1 mV per w;
                                             current: p_syn = exp(-dt/tau_s), k_syn the exact
                                             propagator, plasticity.traces.current_coupling)

per synapse j <- l (target neuron j, psi_j its pseudo-derivative at this step):

    eps_a <- rho*eps_a + psi_j(k-1)*(eps_v(k-1) - beta_j*eps_a)      (e-prop, ALIF targets)
    e      = psi_j*(eps_v - beta_j*eps_a)                             eligibility trace
    ebar  <- kappa_e*ebar + e      kappa_e = the readout's kappa (e-prop); 0 (OTTT)
    grad  += L_j*ebar,  L_j = sum_k B_jk err_k   (B = W_out^T "symmetric", read live from the
                                                  projection target -> readout; or a fixed
                                                  random B, "random"/"adaptive")

*readout* (target: the Readout; delay 0): its exact gradient grad += err_k * zbar_l with
zbar <- kappa*zbar + z (the readout's own leak). The readout's bias gradient is kept by the
Readout itself (``net.view().readout.gb``).

With a cross-entropy readout the error exists only at the end of each decision window and
is the same for every step of it (plasticity.readout.softmax_ce_error): inside the window the
family sums ebar (and zbar) per synapse, and at the window's last step adds L_j * that sum —
exactly what plasticity.eprop / plasticity.ottt do for CE.

OTTT is this family with kappa_e = 0, no adaptation path and symmetric feedback: the
presynaptic trace a_hat is eps_v (``lam`` replaces alpha for delta synapses if given).
Firing-rate regularisation (e-prop, ``c_reg``) adds r_j * sum_t e at :func:`gradients`
time, r_j = c_reg (f_j - f_target) 1000/(dt n_steps), as plasticity.bptt does.

Accumulated gradients and their application (SGD, Adam, every K ms) live in
:class:`models.learning.Learner`; ``models.rsnn.to_network`` maps the RSNN onto a Network
and holds these gradients equal to plasticity.eprop / plasticity.ottt.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numba import njit

from .contract import M_NTGT, M_TGT, Family
from .errors import ParameterError, param, validate
from .traces import current_coupling

FEEDBACK = ("symmetric", "random", "adaptive")
ROLE_NONE, ROLE_HIDDEN, ROLE_READOUT = 0, 1, 2
(ROLE, KAPPA_E, ALPHA, P_SYN, K_SYN, ADAPT, RHO, RO_START, N_OUT, FB_PROJ, FB_OFF, KAPPA_RO,
 DENSE_OFF, USE_REG) = range(14)
N_PARAMS = 14


def _c_reg():
    return param(0.0, unit="1/Hz^2", ge=0, doc="firing-rate regularisation strength")


def _f_target():
    return param(10.0, unit="Hz", ge=0, doc="target firing rate of the regularisation")


class OnlineData(NamedTuple):
    """Arrays of the family for all its projections (indices: global trace/synapse indices).

    params (n_proj, N_PARAMS); per presynaptic trace index: pend (arrivals of this step),
    eps_i (synaptic trace), eps_v (membrane trace = dv/dw; zbar for readout projections),
    eps_old (eps_v of the previous step), zsw (readout projections: window sum of zbar);
    per synapse: eps_a, ebar, grad, esum (sum of e, for the regularisation), wsum (window
    sum of ebar, for a CE readout) — for projections with at least 3/4 of all pairs connected
    these five live instead in the 2-D ``d_eps_a`` ... ``d_wsum``: rows DENSE_OFF .. + n_target,
    columns the presynaptic index
    (rows contiguous in the presynaptic index, the layout the RSNN kernels vectorise; the
    entries of absent synapses are computed and never read); per target trace index:
    psi_prev, L (learning signal), zsum (spikes since reset); steps (n_proj,); fb (flat
    random feedback matrices, row-major (n_target, n_out) per projection)."""

    params: np.ndarray
    pend: np.ndarray
    eps_i: np.ndarray
    eps_v: np.ndarray
    eps_old: np.ndarray
    zsw: np.ndarray
    eps_a: np.ndarray
    ebar: np.ndarray
    grad: np.ndarray
    esum: np.ndarray
    wsum: np.ndarray
    psi_prev: np.ndarray
    L: np.ndarray
    zsum: np.ndarray
    steps: np.ndarray
    fb: np.ndarray
    d_eps_a: np.ndarray
    d_ebar: np.ndarray
    d_grad: np.ndarray
    d_esum: np.ndarray
    d_wsum: np.ndarray


@dataclass(frozen=True, eq=False)
class EPropRule:
    """e-prop on a projection (Bellec et al. 2020). ``feedback``: "symmetric" (B = W_out^T),
    "random" (fixed B: given, (n_target, n_out), or standard normal / sqrt(n_target) from
    ``numpy.random.default_rng(seed)``) or "adaptive" (random, and changed like W_out^T by
    ``Learner.apply``). ``c_reg``, ``f_target`` (Hz): firing-rate regularisation."""

    feedback: str = param("symmetric", "str", choices=FEEDBACK,
                          doc="learning-signal weights B: symmetric (W_out^T), random (fixed), adaptive (follows W_out^T)")
    B: object = param(None, "any", doc="feedback matrix (n_target, n_out), or None (drawn from seed; W_out^T for symmetric)")
    seed: int | None = param(None, "int", optional=True, ge=0, doc="seed of the random feedback matrix")
    c_reg: float = _c_reg()
    f_target: float = _f_target()

    def __post_init__(self):
        validate(self)
        if self.feedback == "symmetric" and self.B is not None:
            raise ParameterError("B must be None for feedback 'symmetric' (it is W_out^T)")
        if self.B is not None and (np.ndim(self.B) != 2 or not np.all(np.isfinite(self.B))):
            raise ParameterError(f"B must be a finite (n_target, n_out) matrix, got shape {np.shape(self.B)}")

    kind = "eprop"

    def feedback_matrix(self, n_target: int, n_out: int) -> np.ndarray:
        """The (n_target, n_out) random feedback weights (``B`` if given)."""
        if self.B is not None:
            B = np.array(self.B, dtype=float)
            if B.shape != (n_target, n_out):
                raise ParameterError(f"B must have shape (n_target, n_out) = {(n_target, n_out)}, got {B.shape}")
            return B
        return np.random.default_rng(self.seed).standard_normal((n_target, n_out)) / math.sqrt(n_target)


@dataclass(frozen=True, eq=False)
class OTTTRule:
    """OTTT on a projection (Xiao et al. 2022): instantaneous gradient psi_j * L_j * a_hat with
    symmetric feedback and no eligibility filtering; ``lam`` (0 <= lam < 1) is the presynaptic
    trace's decay per step for delta synapses (default: the target's alpha = exp(-dt/tau_m))."""

    lam: float | None = param(None, unit="1", ge=0, lt=1, optional=True,
                              doc="OTTT presynaptic trace decay per step (None: exp(-dt/tau_m) of the target)")
    c_reg: float = _c_reg()
    f_target: float = _f_target()

    def __post_init__(self):
        validate(self)

    kind = "ottt"
    feedback = "symmetric"


# ----------------------------------------------------------------------------------------
# kernels
# ----------------------------------------------------------------------------------------

@njit(cache=True, inline="always")
def network_on_pre(data, net, p, j, t):
    """A presynaptic spike reaches the synapses: it enters the traces at this step's on_step."""
    data.pend[j] += 1.0


@njit(cache=True, inline="always")
def _learning_signal(data, net, p):
    """L_j = sum_k B_jk err_k for the targets of hidden projection p (symmetric: W_out^T from
    projection FB_PROJ, read live)."""
    wr = net.wiring
    pr = data.params[p]
    err = net.readout.err
    ro = int(pr[RO_START])
    n_out = int(pr[N_OUT])
    to = wr.tgt_off[p]
    n_tgt = wr.meta[p, M_NTGT]
    q = int(pr[FB_PROJ])
    if q >= 0:
        shift = ro - wr.tgt_off[q]
        for i in range(n_tgt):
            acc = 0.0
            jq = wr.src_off[q] + i
            for s in range(wr.syn_start[jq], wr.syn_stop[jq]):
                acc += wr.w[s] * err[shift + wr.post_idx[s]]
            data.L[to + i] = acc
    else:
        off = int(pr[FB_OFF])
        for i in range(n_tgt):
            acc = 0.0
            for k in range(n_out):
                acc += data.fb[off + i * n_out + k] * err[ro + k]
            data.L[to + i] = acc


@njit(cache=True)
def network_on_step(data, net, p, k, t):
    """Once per step (after the readout has its error): traces, eligibility, gradient."""
    wr = net.wiring
    neu = net.neurons
    pr = data.params[p]
    j0, j1 = wr.src_off[p], wr.src_off[p + 1]
    if pr[ROLE] == ROLE_READOUT:
        if k % FLUSH_EVERY == 0:
            _zero_tiny(data.eps_v[j0:j1])
        kappa = pr[KAPPA_RO]
        err = net.readout.err
        shift = wr.meta[p, M_TGT] - wr.tgt_off[p]
        mode = net.readout.mode[wr.meta[p, M_TGT]]
        for j in range(j0, j1):
            zb = kappa * data.eps_v[j] + data.pend[j]
            data.eps_v[j] = zb
            data.pend[j] = 0.0
            if mode >= 2:
                zb = data.zsw[j] + zb
                data.zsw[j] = 0.0 if mode == 3 else zb
            if zb != 0.0 and (mode == 1 or mode == 3):
                for s in range(wr.syn_start[j], wr.syn_stop[j]):
                    data.grad[s] += err[shift + wr.post_idx[s]] * zb
        data.steps[p] += 1.0
        return
    if k % FLUSH_EVERY == 0:
        _flush_tiny(data, net, p, pr)
    _learning_signal(data, net, p)
    alpha, p_syn, k_syn = pr[ALPHA], pr[P_SYN], pr[K_SYN]
    for j in range(j0, j1):
        ev = data.eps_v[j]
        data.eps_old[j] = ev
        data.eps_v[j] = alpha * ev + k_syn * data.eps_i[j]
        data.eps_i[j] = p_syn * data.eps_i[j] + data.pend[j]
        data.pend[j] = 0.0
    if pr[DENSE_OFF] >= 0:
        _dense_step(data, net, p, pr)
    else:
        _sparse_step(data, net, p, pr)
    shift = wr.meta[p, M_TGT] - wr.tgt_off[p]          # trace index -> global neuron
    for i in range(wr.tgt_off[p], wr.tgt_off[p + 1]):
        data.psi_prev[i] = neu.psi[shift + i]
        data.zsum[i] += neu.z[shift + i]
    data.steps[p] += 1.0


# Traces decay geometrically while their neurons are silent; below ~1e-308 the numbers turn
# subnormal and every operation on them costs ~100 times more (measured: a silent network
# ran 30x slower). Every FLUSH_EVERY steps values below TINY are set to 0: even at a decay
# of exp(-0.5) per step (dt = tau/2) a value cannot fall from TINY to subnormal in between.
FLUSH_EVERY = 256
TINY = 1e-150


@njit(cache=True, inline="always")
def _zero_tiny(x):
    for q in range(x.size):
        if abs(x[q]) < TINY:
            x[q] = 0.0


@njit(cache=True)
def _flush_tiny(data, net, p, pr):
    """Zero the projection's decaying traces that have become negligible (see TINY)."""
    wr = net.wiring
    j0, j1 = wr.src_off[p], wr.src_off[p + 1]
    _zero_tiny(data.eps_v[j0:j1])
    _zero_tiny(data.eps_i[j0:j1])
    off = int(pr[DENSE_OFF])
    if off >= 0:
        for r in range(off, off + wr.meta[p, M_NTGT]):
            _zero_tiny(data.d_ebar[r])
            _zero_tiny(data.d_eps_a[r])
    else:
        s0, s1 = wr.syn_off[p], wr.syn_off[p + 1]
        _zero_tiny(data.ebar[s0:s1])
        _zero_tiny(data.eps_a[s0:s1])


@njit(cache=True, inline="always")
def _eligibility(eps_a, ebar, grad, esum, wsum, s, ev, ev_old, pj, pp, bj, lj, rho, kappa_e, adapt, use_reg,
                 mode):
    """One synapse: adaptation trace, eligibility e, its filtered ebar, gradient (per step for
    MSE, mode 1; through the window sum for CE, modes 2-3), sum of e."""
    if adapt:
        ea = rho * eps_a[s] + pp * (ev_old - bj * eps_a[s])
        eps_a[s] = ea
        e = pj * (ev - bj * ea)
    else:
        e = pj * ev
    b = kappa_e * ebar[s] + e
    ebar[s] = b
    if mode == 1:
        grad[s] += lj * b
    elif mode >= 2:
        w = wsum[s] + b
        if mode == 3:
            grad[s] += lj * w
            w = 0.0
        wsum[s] = w
    if use_reg:
        esum[s] += e


@njit(cache=True, inline="always")
def _dense_step(data, net, p, pr):
    """Hidden projection stored densely: row DENSE_OFF + i of the 2-D arrays is target i."""
    wr = net.wiring
    neu = net.neurons
    j0 = wr.src_off[p]
    n_src = wr.src_off[p + 1] - j0
    n_tgt = wr.meta[p, M_NTGT]
    to = wr.tgt_off[p]
    tgt = wr.meta[p, M_TGT]
    kappa_e, rho = pr[KAPPA_E], pr[RHO]
    use_reg = pr[USE_REG] == 1.0
    mode = net.readout.mode[int(pr[RO_START])]
    off = int(pr[DENSE_OFF])
    ev = data.eps_v[j0:j0 + n_src]
    if mode <= 1 and not use_reg and pr[ADAPT] == 0.0:
        _dense_fast(data.d_ebar, data.d_grad, off, n_tgt, ev, neu.psi[tgt:tgt + n_tgt], data.L[to:to + n_tgt],
                    kappa_e, mode == 1)
        return
    ev_old = data.eps_old[j0:j0 + n_src]
    for il in range(n_tgt):
        i = to + il
        pj = neu.psi[tgt + il]
        if kappa_e == 0.0 and pj == 0.0 and mode != 3 and pr[ADAPT] == 0.0:
            continue
        lj = data.L[i]
        bj = neu.beta[tgt + il]
        adapt = pr[ADAPT] == 1.0 and bj != 0.0
        r = off + il
        eps_a, ebar, grad, esum, wsum = data.d_eps_a[r], data.d_ebar[r], data.d_grad[r], data.d_esum[r], data.d_wsum[r]
        pp = data.psi_prev[i]
        for l in range(n_src):
            _eligibility(eps_a, ebar, grad, esum, wsum, l, ev[l], ev_old[l], pj, pp, bj, lj, rho, kappa_e, adapt,
                         use_reg, mode)


@njit(cache=True)
def _dense_fast(ebar, grad, off, n_tgt, ev, psi, L, kappa_e, with_error):
    """The common case (no adaptation, MSE or no error this step, no regularisation):
    ebar <- kappa_e*ebar + psi_i*ev and, with an error, grad += L_i*ebar; row by row over
    contiguous rows (the RSNN kernels' layout: it vectorises)."""
    n_src = ev.size
    for il in range(n_tgt):
        eb = ebar[off + il]
        pj = psi[il]
        if kappa_e == 0.0 and pj == 0.0:
            continue                                   # OTTT: nothing is filtered, e = 0
        if with_error:
            g = grad[off + il]
            lj = L[il]
            for l in range(n_src):
                b = kappa_e * eb[l] + pj * ev[l]
                eb[l] = b
                g[l] += lj * b
        else:
            for l in range(n_src):
                eb[l] = kappa_e * eb[l] + pj * ev[l]


@njit(cache=True, inline="always")
def _sparse_step(data, net, p, pr):
    """Hidden projection in CSR order (grouped by presynaptic neuron)."""
    wr = net.wiring
    neu = net.neurons
    kappa_e, rho = pr[KAPPA_E], pr[RHO]
    adapt = pr[ADAPT] == 1.0
    use_reg = pr[USE_REG] == 1.0
    mode = net.readout.mode[int(pr[RO_START])]
    shift = wr.meta[p, M_TGT] - wr.tgt_off[p]
    for j in range(wr.src_off[p], wr.src_off[p + 1]):
        ev = data.eps_v[j]
        ev_old = data.eps_old[j]
        for s in range(wr.syn_start[j], wr.syn_stop[j]):
            i = wr.post_idx[s]
            _eligibility(data.eps_a, data.ebar, data.grad, data.esum, data.wsum, s, ev, ev_old, neu.psi[shift + i],
                         data.psi_prev[i], neu.beta[shift + i], data.L[i], rho, kappa_e, adapt, use_reg, mode)


# ----------------------------------------------------------------------------------------
# Python side: build, check, gradients
# ----------------------------------------------------------------------------------------

def coupling(group, receptor: str, dt: float) -> tuple[float, float]:
    """(p_syn, k_syn): one step's decay of a LIF group's synaptic variable and the membrane's
    response (mV) one step later to one unit of it. Delta synapses: (0, 1)."""
    if group.synapses == "delta":
        return 0.0, 1.0
    tau_s = group.tau_e if receptor == "excitatory" else group.tau_i
    return math.exp(-dt / tau_s), current_coupling(dt, group.tau_m, tau_s, group.c_m)


def _check(rule, proj, net):
    name = type(rule).__name__
    if proj.delay_type == "dendritic" and np.any(proj.delay > 0):
        raise ParameterError(f"delay_type must be 'axonal' for {name}: the gradient follows the presynaptic "
                             "spike into the membrane; a dendritic delay has no meaning here")
    target = proj.target
    if type(target).__name__ == "Readout":
        if np.any(proj.delay > 0):
            raise ParameterError(f"delay must be 0 for the {name} projection into the readout "
                                 f"(y_t = kappa*y + W_out z_t uses the spikes of the same step), got {proj.delay.max()} ms")
        return
    if type(target).__name__ != "LIF":
        raise ParameterError(f"target must be a LIF/ALIF group or the Readout for {name}, got {type(target).__name__}")
    if target.synapses == "conductance":
        raise ParameterError(f"target synapses must be 'delta' or 'current' for {name}, got 'conductance': with "
                             "conductances dv/dw depends on the driving force (e - v), which the eligibility "
                             "traces of e-prop/OTTT do not model; use current-based or delta synapses")
    if proj.readout is None:
        raise ParameterError(f"readout must be given for a {name} projection into a LIF group "
                             "(net.connect(..., rule=rule, readout=readout)): its error is the learning signal")


def _build(projections, built) -> OnlineData:
    net = built.net
    wr = built.wiring
    dt = net.dt
    n_proj = wr.meta.shape[0]
    params = np.zeros((n_proj, N_PARAMS))
    params[:, FB_PROJ] = -1
    params[:, DENSE_OFF] = -1
    fb = []
    fb_size = dense_size = dense_width = 0
    for p, proj in projections:
        rule = proj.rule
        pr = params[p]
        if type(proj.target).__name__ == "Readout":
            pr[ROLE] = ROLE_READOUT
            pr[KAPPA_RO] = 0.0 if proj.target.tau == 0 else math.exp(-dt / proj.target.tau)
            continue
        ro = proj.readout
        pr[ROLE] = ROLE_HIDDEN
        pr[RO_START], pr[N_OUT] = net.offset(ro), ro.n
        pr[KAPPA_E] = (0.0 if ro.tau == 0 else math.exp(-dt / ro.tau)) if rule.kind == "eprop" else 0.0
        target = proj.target
        pr[ALPHA] = math.exp(-dt / target.tau_m)
        if rule.kind == "ottt" and rule.lam is not None:
            if target.synapses != "delta":
                raise ParameterError("lam can be set only for delta synapses (with current synapses the "
                                     "trace follows dv/dw exactly)")
            pr[ALPHA] = rule.lam
        pr[P_SYN], pr[K_SYN] = coupling(target, proj.receptor, dt)
        pr[ADAPT] = 1.0 if rule.kind == "eprop" and np.any(target.betas > 0) else 0.0
        pr[RHO] = math.exp(-dt / target.tau_a)
        pr[USE_REG] = 1.0 if rule.c_reg > 0 else 0.0
        if 4 * proj.n_syn >= 3 * proj.source.n * target.n:
            pr[DENSE_OFF] = dense_size
            dense_size += target.n
            dense_width = max(dense_width, proj.source.n)
        if rule.feedback == "symmetric":
            q = [r for r, other in enumerate(net.projections) if other.source is target and other.target is ro]
            if len(q) != 1:
                raise ParameterError(f"symmetric feedback needs exactly one projection from the target group into "
                                     f"its readout (W_out), found {len(q)}")
            pr[FB_PROJ] = q[0]
        else:
            B = rule.feedback_matrix(target.n, ro.n)
            pr[FB_OFF] = fb_size
            fb.append(B.ravel())
            fb_size += B.size
    n_src, n_tgt, n_syn = int(wr.src_off[-1]), int(wr.tgt_off[-1]), int(wr.syn_off[-1])
    z = np.zeros
    return OnlineData(params, z(n_src), z(n_src), z(n_src), z(n_src), z(n_src), z(n_syn), z(n_syn), z(n_syn),
                      z(n_syn), z(n_syn), z(n_tgt), z(n_tgt), z(n_tgt), z(n_proj), np.concatenate(fb) if fb else z(0),
                      *(z((dense_size, dense_width)) for _ in range(5)))


def reset_accumulators(data: OnlineData) -> None:
    """Zero the accumulated gradients, eligibility sums, spike counts and step counts (the
    traces go on: the network does not restart)."""
    for a in (data.grad, data.esum, data.zsum, data.steps, data.d_grad, data.d_esum):
        a[:] = 0.0


def projection_gradient(data: OnlineData, wiring, p: int, rule, dt: float) -> np.ndarray:
    """The accumulated gradient of projection p's synapses (CSR order), the rate
    regularisation (``rule.c_reg``; rates in Hz over the steps since the last reset, dt in
    ms) included, as plasticity.bptt.rate_regularization defines it."""
    s0, s1 = wiring.syn_off[p], wiring.syn_off[p + 1]
    g, esum = data.grad[s0:s1].copy(), data.esum[s0:s1]
    off = int(data.params[p, DENSE_OFF])
    if off >= 0:
        pre = wiring.syn_pre[s0:s1] - wiring.src_off[p]
        post = wiring.post_idx[s0:s1] - wiring.tgt_off[p]
        g, esum = data.d_grad[off + post, pre], data.d_esum[off + post, pre]
    if data.params[p, ROLE] == ROLE_HIDDEN and rule.c_reg > 0 and data.steps[p] > 0:
        steps = data.steps[p]
        to = wiring.tgt_off[p]
        rates = data.zsum[to:wiring.tgt_off[p + 1]] / steps * (1000.0 / dt)
        reg = rule.c_reg * (rates - rule.f_target) * (1000.0 / (dt * steps))
        g += reg[wiring.post_idx[s0:s1] - to] * esum
    return g


FAMILY = Family("online", build=_build, on_pre=network_on_pre, on_step=network_on_step,
                reads=("psi", "z", "learning_signal"), check=_check)
EPropRule.family = FAMILY
OTTTRule.family = FAMILY
