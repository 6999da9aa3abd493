"""The native simulation loop: neuron groups, projections with rules, monitors.

Update order inside one time step k (t = k * dt), identical in the Brian2 backend:

1. **record** state monitors (values at the start of the step, Brian2's ``when="start"``);
2. **integrate** every LIF neuron from t to t + dt (exact / exponential-Euler, see
   :mod:`models.neurons`); refractory neurons keep v, their synaptic variables decay;
3. **threshold and reset**: v > v_th spikes at time t, v = v_reset, refractory until
   step k + round(t_ref/dt); source groups (Poisson, generators) emit their step-k spikes;
4. **propagate**: every spike arriving at a synapse now (emitted at step k - D for a delay of
   D steps) adds the synapse's current weight to the target's g_e/I_e or g_i/I_i (seen by
   the integration of step k + 1), and *then* the rule's presynaptic event runs at the
   synapse (depression) — Brian2's ``on_pre = "g += w; <plasticity>"`` order;
5. **postsynaptic plasticity events** of the spikes of step k (potentiation).

Simultaneous pre and post spikes (same step, zero delay) therefore form a potentiating pair
with dt = 0: the presynaptic event (4) is handled before the postsynaptic one (5), as in
Brian2, whose presynaptic pathway runs before the postsynaptic one in the same step.

Delays: a plastic projection has one delay D (steps). ``delay_type="axonal"`` (default,
Brian2's convention): the presynaptic spike reaches the synapse, and its plasticity event,
at t + D*dt; postsynaptic spikes reach it at once. ``"dendritic"`` (NEST's convention): the
presynaptic plasticity event happens at emission and each postsynaptic spike reaches the
synapse D steps later. Static projections may have a different delay per synapse.
Rules run event by event with lazily decayed traces (:mod:`plasticity.traces`).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from numba import njit

from plasticity import stdp
from plasticity.errors import ParameterError, check_dt, check_positive
from .connectivity import build_projection
from .neurons import LIF, PoissonGroup, SpikeGeneratorGroup

# projection meta fields
M_SRC, M_NSRC, M_TGT, M_NTGT, M_RECEPTOR, M_DELAY, M_DENDRITIC, M_PLASTIC, M_RING = range(9)
# LIF group constants
(P_M, P_E, P_I, E_LEAK, V_TH, V_RESET, REF_STEPS, E_E, E_I, K_E, K_I, V_EXT, CONDUCTANCE,
 DT_TAU_M) = range(14)
STATE_VARIABLES = {"v": 0, "g_e": 1, "g_i": 2, "I_e": 1, "I_i": 2}


class Wiring(NamedTuple):
    """All projections concatenated, indexed globally so rule kernels need no slicing.

    Projection p's presynaptic neurons have trace indices ``src_off[p] + j`` (j local), its
    postsynaptic neurons ``tgt_off[p] + i``; its synapses are ``syn_off[p]:syn_off[p+1]``.
    ``syn_start/syn_stop`` (by presynaptic trace index), ``post_idx`` (postsynaptic trace
    index per synapse), ``in_start/in_stop/in_syn`` (synapses per postsynaptic trace index)
    and ``syn_pre`` are the kernels' CSR rows (see :mod:`plasticity.stdp`).
    """

    meta: np.ndarray        # (n_proj, 9) int64, fields M_*
    syn_off: np.ndarray
    src_off: np.ndarray
    tgt_off: np.ndarray
    pre_ring_off: np.ndarray
    post_ring_off: np.ndarray
    ring_off: np.ndarray
    syn_start: np.ndarray
    syn_stop: np.ndarray
    post_idx: np.ndarray
    in_start: np.ndarray
    in_stop: np.ndarray
    in_syn: np.ndarray
    syn_pre: np.ndarray
    w: np.ndarray
    syn_delay: np.ndarray
    params: np.ndarray      # (n_proj, stdp.PARAMS_LENGTH)
    state: stdp.TraceState  # traces of all projections, concatenated
    pre_ring: np.ndarray    # flat: ring slots x n_src per projection
    pre_ring_n: np.ndarray  # counter per slot (ring_off)
    post_ring: np.ndarray
    post_ring_n: np.ndarray


class NeuronArrays(NamedTuple):
    groups: np.ndarray     # (n_lif_groups, 2) start, stop
    consts: np.ndarray     # (n_lif_groups, 14)
    v: np.ndarray
    s_e: np.ndarray
    s_i: np.ndarray
    ref_until: np.ndarray


class MonitorArrays(NamedTuple):
    spike_mask: np.ndarray
    spike_i: np.ndarray
    spike_k: np.ndarray
    spike_n: np.ndarray    # (1,)
    var: np.ndarray        # state monitor entries: variable code
    idx: np.ndarray        # neuron
    every: np.ndarray      # interval (steps)
    out: np.ndarray        # (n_entries, capacity)
    out_n: np.ndarray      # samples written per entry


@dataclass
class SpikeRecord:
    """Spikes of one group: ``i`` (local neuron index) and ``t`` (ms), in time order."""

    group: object
    i: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    t: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def trains(self):
        """One array of spike times (ms) per neuron of the group."""
        return [self.t[self.i == n] for n in range(self.group.n)]


@dataclass
class StateRecord:
    """A state variable of chosen neurons: ``t`` (ms) and ``values`` (n_times, n_neurons)."""

    group: object
    variable: str
    neurons: np.ndarray
    every: float
    t: np.ndarray = field(default_factory=lambda: np.zeros(0))
    values: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))


@dataclass
class WeightRecord:
    """Weights of a projection every ``every`` ms: ``t`` (ms), ``w`` (n_times, n_syn)."""

    projection: object
    every: float
    t: np.ndarray = field(default_factory=lambda: np.zeros(0))
    w: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))


class Network:
    """A network simulated by the native Numba loop (see the module docstring for the order).

    >>> net = Network(dt=0.1, seed=1)
    >>> inputs = net.add(PoissonGroup(100, rate=15.0))
    """

    def __init__(self, dt: float = 0.1, seed: int | None = None, chunk: float = 1000.0):
        self.dt = check_positive("dt", dt, "ms")
        self.chunk = check_positive("chunk", chunk, "ms")
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.groups: list = []
        self.projections: list = []
        self.spike_records: list[SpikeRecord] = []
        self.state_records: list[StateRecord] = []
        self.weight_records: list[WeightRecord] = []
        self.step = 0
        self._built = None
        self.timing = {"compile_s": 0.0, "run_s": 0.0}

    @property
    def t(self) -> float:
        """Current time (ms)."""
        return self.step * self.dt

    # --- construction -------------------------------------------------------------------

    def add(self, group):
        """Add a neuron or source group; returns it."""
        if not isinstance(group, (LIF, PoissonGroup, SpikeGeneratorGroup)):
            raise ParameterError(f"group must be LIF, PoissonGroup or SpikeGeneratorGroup, got {type(group).__name__}")
        self._check_not_built()
        if any(group is g for g in self.groups):
            raise ParameterError("group is already part of this network; create a second group to add another")
        if isinstance(group, LIF):
            check_dt(self.dt, group.smallest_tau)
        self.groups.append(group)
        return group

    def connect(self, source, target, *, weight, connectivity=None, receptor="excitatory",
                delay=0.0, delay_type="axonal", rule=None):
        """Connect two added groups; returns the :class:`Projection`.

        ``weight``: constant, per-synapse array (in the order of the pairs the pattern
        yields) or a distribution (``models.uniform``); conductance mode: units of the leak
        conductance; current mode: pA. ``delay`` in ms. ``rule``: a spike-timing rule.
        """
        from .connectivity import all_to_all
        self._check_not_built()
        for name, g in (("source", source), ("target", target)):
            if not any(g is h for h in self.groups):
                raise ParameterError(f"{name} must be a group added to this network with net.add()")
        if not isinstance(target, LIF):
            raise ParameterError(f"target must be a LIF group, got {type(target).__name__}")
        if rule is not None and not hasattr(rule, "kernel_params"):
            raise ParameterError(f"rule must be a spike-timing rule (PairSTDP, TripletSTDP), got {type(rule).__name__}")
        proj = build_projection(source, target, connectivity=connectivity or all_to_all(),
                                weight=weight, delay=delay, receptor=receptor, rule=rule,
                                delay_type=delay_type, rng=self.rng, same_group=source is target)
        if rule is not None:
            if proj.n_syn and np.ptp(proj.delay) > 0:
                raise ParameterError("delay must be the same for all synapses of a plastic projection "
                                     "(per-synapse delays are supported on static projections)")
            check_dt(self.dt, rule.smallest_tau)
        self.projections.append(proj)
        return proj

    def record_spikes(self, group) -> SpikeRecord:
        self._check_member(group)
        rec = SpikeRecord(group)
        self.spike_records.append(rec)
        return rec

    def record_state(self, group, variable="v", neurons=None, every=None) -> StateRecord:
        """Record ``variable`` ("v", "g_e"/"I_e", "g_i"/"I_i") of ``neurons`` every ``every`` ms (default dt)."""
        self._check_member(group)
        if not isinstance(group, LIF):
            raise ParameterError("record_state needs a LIF group")
        if variable not in STATE_VARIABLES:
            raise ParameterError(f"variable must be one of {sorted(STATE_VARIABLES)}, got {variable!r}")
        neurons = np.arange(group.n) if neurons is None else np.atleast_1d(np.asarray(neurons, dtype=np.int64))
        if neurons.size and (neurons.min() < 0 or neurons.max() >= group.n):
            raise ParameterError(f"neurons must be in [0, {group.n - 1}], got {neurons}")
        every = self.dt if every is None else check_positive("every", every, "ms")
        rec = StateRecord(group, variable, neurons, every)
        self.state_records.append(rec)
        return rec

    def record_weights(self, projection, every: float) -> WeightRecord:
        """Record all weights of ``projection`` at t = 0, every, 2 every, ... (ms)."""
        if not any(projection is p for p in self.projections):
            raise ParameterError("projection must come from this network's connect()")
        rec = WeightRecord(projection, check_positive("every", every, "ms"))
        self.weight_records.append(rec)
        return rec

    def _check_member(self, group):
        if not any(group is g for g in self.groups):
            raise ParameterError("group must be added to this network with net.add() first")
        self._check_not_built()

    def _check_not_built(self):
        if self._built is not None:
            raise ParameterError("the network has already run; build a new Network to change its structure")

    # --- running ------------------------------------------------------------------------

    def run(self, duration: float, progress: bool = False):
        """Advance the network by ``duration`` ms."""
        duration = check_positive("duration", duration, "ms")
        if self._built is None:
            self._built = _Built(self)
        n_steps = int(round(duration / self.dt))
        self._built.run(n_steps, progress)

    def offset(self, group) -> int:
        """Global index of the group's first neuron."""
        start = 0
        for g in self.groups:
            if g is group:
                return start
            start += g.n
        raise ParameterError("group is not part of this network")


class _Built:
    """The network flattened into arrays for the compiled loop."""

    def __init__(self, net: Network):
        self.net = net
        dt = net.dt
        self.n_total = sum(g.n for g in net.groups)
        offsets = [net.offset(g) for g in net.groups]
        lif = [(g, o) for g, o in zip(net.groups, offsets) if isinstance(g, LIF)]
        groups = np.array([[o, o + g.n] for g, o in lif], dtype=np.int64).reshape(-1, 2)
        consts = np.array([_lif_constants(g, dt) for g, _ in lif]).reshape(-1, 14)
        v = np.zeros(self.n_total)
        for g, o in lif:
            v[o:o + g.n] = g.initial_v
        self.neurons = NeuronArrays(groups, consts, v, np.zeros(self.n_total), np.zeros(self.n_total),
                                    np.zeros(self.n_total, np.int64))
        # sources
        poisson = [(g, o) for g, o in zip(net.groups, offsets) if isinstance(g, PoissonGroup)]
        self.poisson_ids = np.concatenate([np.arange(o, o + g.n) for g, o in poisson] or [np.zeros(0, np.int64)]).astype(np.int64)
        self.poisson_rates = np.concatenate([g.rates for g, _ in poisson] or [np.zeros(0)])
        self.poisson_next = np.zeros(self.poisson_ids.size)
        self.poisson_drawn = np.zeros(self.poisson_ids.size, np.uint64)  # intervals drawn per neuron
        gens = [(g, o) for g, o in zip(net.groups, offsets) if isinstance(g, SpikeGeneratorGroup)]
        steps, ids = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
        for g, o in gens:
            for k, times in enumerate(g.times):
                s = np.floor(np.asarray(times, dtype=float) / dt + 1e-3).astype(np.int64)
                if np.any(np.diff(s) == 0):
                    raise ParameterError(f"times[{k}] has two spikes in one time step of dt = {dt} ms")
                steps.append(s)
                ids.append(np.full(s.size, o + k, dtype=np.int64))
        steps, ids = np.concatenate(steps), np.concatenate(ids)
        order = np.lexsort((ids, steps))
        self.gen_steps, self.gen_ids = steps[order], ids[order]
        self.gen_pos = 0
        # projections
        self.wiring, max_het_delay = _wire(net)
        n_ring = self.n_total if np.any(self.wiring.meta[:, M_DELAY] < 0) else 0
        self.input_ring = np.zeros((max_het_delay + 1, n_ring, 2))
        self.spiked = np.zeros(self.n_total, np.int64)
        # monitors
        self.spike_mask = np.zeros(self.n_total, np.bool_)
        for rec in net.spike_records:
            o = net.offset(rec.group)
            self.spike_mask[o:o + rec.group.n] = True
        self.spike_offsets = [net.offset(r.group) for r in net.spike_records]
        self.n_spike_recorded = int(self.spike_mask.sum())
        entries = [(STATE_VARIABLES[r.variable], net.offset(r.group) + n, max(1, int(round(r.every / dt))))
                   for r in net.state_records for n in r.neurons]
        self.state_var = np.array([e[0] for e in entries], np.int64)
        self.state_idx = np.array([e[1] for e in entries], np.int64)
        self.state_every = np.array([e[2] for e in entries], np.int64)
        self.spike_i, self.spike_k = [], []
        self.state_chunks = [[] for _ in entries]
        self.weight_t = [[] for _ in net.weight_records]
        self.weight_w = [[] for _ in net.weight_records]
        self.poisson_key = np.uint64(net.rng.integers(2**63 - 1))
        self._init_poisson()

    def _init_poisson(self):
        rates = self.poisson_rates
        with np.errstate(divide="ignore"):
            scale = np.where(rates > 0, 1000.0 / np.where(rates > 0, rates, 1.0), np.inf)
        self.poisson_next[:] = self.net.rng.exponential(1.0, rates.size) * scale

    def run(self, n_steps, progress):
        net = self.net
        dt = net.dt
        k_end = net.step + n_steps
        boundaries = self._chunk_boundaries(net.step, k_end)
        bar = _progress(progress, n_steps)
        cap = max(1024, 4 * self.n_spike_recorded)
        spike_i = np.zeros(cap, np.int64)
        spike_k = np.zeros(cap, np.int64)
        for k0, k1 in zip(boundaries[:-1], boundaries[1:]):
            self._record_weights(k0)
            src_ptr, src_ids = _source_chunk(k0, k1, dt, self.poisson_rates, self.poisson_ids, self.poisson_next,
                                             self.poisson_drawn, self.poisson_key,
                                             self.gen_steps, self.gen_ids, self._gen_start(k0))
            samples = np.array([_count_multiples(k0, k1, e) for e in self.state_every], np.int64)
            out = np.zeros((self.state_var.size, int(samples.max(initial=0))))
            mon = MonitorArrays(self.spike_mask, spike_i, spike_k, np.zeros(1, np.int64), self.state_var,
                                self.state_idx, self.state_every, out, np.zeros(self.state_var.size, np.int64))
            k = k0
            while k < k1:
                first = not _run_steps.signatures
                tic = time.perf_counter()
                k = _run_steps(k, k1, k0, dt, self.neurons, src_ptr, src_ids, self.wiring, self.input_ring,
                               self.spiked, mon)
                elapsed = time.perf_counter() - tic
                net.timing["compile_s" if first else "run_s"] += elapsed
                n = mon.spike_n[0]
                self.spike_i.append(spike_i[:n].copy())
                self.spike_k.append(spike_k[:n].copy())
                mon.spike_n[0] = 0
            for e in range(self.state_var.size):
                self.state_chunks[e].append(out[e, :mon.out_n[e]].copy())
            net.step = k1
            bar.update(k1 - k0)
        bar.close()
        self._record_weights(k_end, final=True)
        self._publish()

    def _gen_start(self, k0):
        return int(np.searchsorted(self.gen_steps, k0, side="left"))

    def _chunk_boundaries(self, k_start, k_end):
        dt = self.net.dt
        marks = {k_start, k_end}
        chunk = max(1, int(round(self.net.chunk / dt)))
        marks.update(range(k_start, k_end, chunk))
        for rec in self.net.weight_records:
            every = max(1, int(round(rec.every / dt)))
            first = -(-k_start // every) * every
            marks.update(range(first, k_end, every))
        return sorted(marks)

    def _record_weights(self, k, final=False):
        for r, rec in enumerate(self.net.weight_records):
            every = max(1, int(round(rec.every / self.net.dt)))
            already = self.weight_t[r] and self.weight_t[r][-1] == k * self.net.dt
            if k % every == 0 and not already:
                self.weight_t[r].append(k * self.net.dt)
                self.weight_w[r].append(rec.projection.w.copy())

    def _publish(self):
        net = self.net
        i_all = np.concatenate(self.spike_i) if self.spike_i else np.zeros(0, np.int64)
        k_all = np.concatenate(self.spike_k) if self.spike_k else np.zeros(0, np.int64)
        for rec, o in zip(net.spike_records, self.spike_offsets):
            mine = (i_all >= o) & (i_all < o + rec.group.n)
            rec.i = i_all[mine] - o
            rec.t = k_all[mine] * net.dt
        e = 0
        for rec in net.state_records:
            every = max(1, int(round(rec.every / net.dt)))
            cols = [np.concatenate(self.state_chunks[e + c]) for c in range(rec.neurons.size)]
            rec.values = np.stack(cols, axis=1) if cols else np.zeros((0, 0))
            rec.t = np.arange(rec.values.shape[0]) * every * net.dt
            e += rec.neurons.size
        for r, rec in enumerate(net.weight_records):
            rec.t = np.array(self.weight_t[r])
            rec.w = np.array(self.weight_w[r])


def _count_multiples(k0, k1, every):
    return (k1 - 1) // every - (k0 - 1) // every if k1 > k0 else 0


def _progress(enabled, total):
    if enabled:
        from tqdm import tqdm
        return tqdm(total=total, unit="step", unit_scale=True)
    return _NoBar()


class _NoBar:
    def update(self, _n):
        pass

    def close(self):
        pass


def _lif_constants(g: LIF, dt: float) -> np.ndarray:
    c = np.zeros(14)
    p_m = math.exp(-dt / g.tau_m)
    c[P_M], c[P_E], c[P_I] = p_m, math.exp(-dt / g.tau_e), math.exp(-dt / g.tau_i)
    c[E_LEAK], c[V_TH], c[V_RESET] = g.e_leak, g.v_th, g.v_reset
    c[REF_STEPS] = int(round(g.t_ref / dt))
    c[E_E], c[E_I] = g.e_e, g.e_i
    c[CONDUCTANCE] = 1.0 if g.synapses == "conductance" else 0.0
    c[DT_TAU_M] = dt / g.tau_m
    r_m = g.tau_m / g.c_m  # GOhm
    c[V_EXT] = r_m * g.i_ext
    if g.synapses == "current":
        c[K_E] = _current_coupling(dt, g.tau_m, g.tau_e, g.c_m)
        c[K_I] = _current_coupling(dt, g.tau_m, g.tau_i, g.c_m)
    return c


def _current_coupling(h, tau_m, tau_s, c_m):
    """Membrane response (mV) after one step h to 1 pA of exponential current at its start.

    (1/c_m) * integral_0^h exp(-(h-u)/tau_m) exp(-u/tau_s) du (Rotter & Diesmann 1999).
    """
    if abs(tau_m - tau_s) < 1e-12 * tau_m:
        return h / c_m * math.exp(-h / tau_m)
    return tau_m * tau_s * (math.exp(-h / tau_s) - math.exp(-h / tau_m)) / ((tau_s - tau_m) * c_m)


def _wire(net):
    """Concatenate every projection into one :class:`Wiring`; returns it and the largest
    per-synapse delay (steps) of the static projections with heterogeneous delays."""
    dt = net.dt
    projs = net.projections
    n = len(projs)
    meta = np.zeros((n, 9), np.int64)
    params = np.zeros((n, stdp.PARAMS_LENGTH))
    sizes = {k: np.zeros(n, np.int64) for k in ("syn", "src", "tgt", "pre_ring", "post_ring", "ring")}
    steps_all = []
    max_het = 0
    for p, proj in enumerate(projs):
        steps = _delay_steps(proj.delay, dt)
        uniform = steps.size == 0 or bool(np.all(steps == steps[0]))
        d = int(steps[0]) if steps.size else 0
        plastic = proj.rule is not None
        m = meta[p]
        m[M_SRC], m[M_NSRC] = net.offset(proj.source), proj.source.n
        m[M_TGT], m[M_NTGT] = net.offset(proj.target), proj.target.n
        m[M_RECEPTOR] = 0 if proj.receptor == "excitatory" else 1
        m[M_DELAY] = d if uniform else -1
        m[M_DENDRITIC] = 1 if proj.delay_type == "dendritic" else 0
        m[M_PLASTIC] = 1 if plastic else 0
        m[M_RING] = d + 1 if uniform else 1
        if not uniform:
            max_het = max(max_het, int(steps.max()))
        if plastic:
            params[p] = proj.rule.kernel_params()
        steps_all.append(steps)
        sizes["syn"][p], sizes["src"][p], sizes["tgt"][p] = proj.n_syn, proj.source.n, proj.target.n
        sizes["ring"][p] = m[M_RING]
        sizes["pre_ring"][p] = m[M_RING] * proj.source.n if uniform and d > 0 else 0
        sizes["post_ring"][p] = m[M_RING] * proj.target.n if plastic and proj.delay_type == "dendritic" and d > 0 else 0
    off = {k: np.concatenate([[0], np.cumsum(v)]).astype(np.int64) for k, v in sizes.items()}

    def cat(pieces, dtype):
        return np.concatenate(pieces).astype(dtype) if pieces else np.zeros(0, dtype)

    so, po, to = off["syn"], off["src"], off["tgt"]
    idx = [proj.index for proj in projs]
    w = cat([proj.w for proj in projs], float)
    state = stdp.init_state(int(po[-1]), int(to[-1]), int(so[-1]))
    wiring = Wiring(meta, so, po, to, off["pre_ring"], off["post_ring"], off["ring"],
                    cat([x.indptr[:-1] + so[p] for p, x in enumerate(idx)], np.int64),
                    cat([x.indptr[1:] + so[p] for p, x in enumerate(idx)], np.int64),
                    cat([x.post_idx + to[p] for p, x in enumerate(idx)], np.int64),
                    cat([x.post_ptr[:-1] for x in idx], np.int64),
                    cat([x.post_ptr[1:] for x in idx], np.int64),
                    cat([x.post_syn + so[p] for p, x in enumerate(idx)], np.int64),
                    cat([x.syn_pre + po[p] for p, x in enumerate(idx)], np.int64),
                    w, cat(steps_all, np.int64), params, state,
                    np.zeros(off["pre_ring"][-1], np.int64), np.zeros(off["ring"][-1], np.int64),
                    np.zeros(off["post_ring"][-1], np.int64), np.zeros(off["ring"][-1], np.int64))
    # in_start/in_stop index in_syn, which is concatenated too: shift by the synapse offset
    for p in range(n):
        wiring.in_start[to[p]:to[p + 1]] += so[p]
        wiring.in_stop[to[p]:to[p + 1]] += so[p]
    for p, proj in enumerate(projs):
        proj.w = w[so[p]:so[p + 1]]  # the projection now views the simulated weights
    return wiring, max_het


def _delay_steps(delay_ms, dt):
    from .connectivity import delay_steps
    return delay_steps(delay_ms, dt)


@njit(cache=True)
def _counter_uniform(key, stream, counter):
    """Uniform in (0, 1] from (key, stream, counter) by SplitMix64 hashing (Steele et al. 2014).

    Each Poisson neuron draws from its own counter-indexed stream, so its spike train does
    not depend on how the run is cut into chunks, monitors or repeated ``run`` calls.
    """
    z = key + np.uint64(stream) * np.uint64(0x9E3779B97F4A7C15) + counter * np.uint64(0xD1B54A32D192ED03)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return (float(z >> np.uint64(11)) + 1.0) * (1.0 / 9007199254740992.0)


@njit(cache=True)
def _source_chunk(k0, k1, dt, rates, ids, next_t, drawn, key, gen_steps, gen_ids, gen_start):
    """Source spikes of steps [k0, k1) as CSR by step: (ptr (k1-k0+1,), global ids)."""
    n_steps = k1 - k0
    t_end = k1 * dt
    cap = 16 + int(1.5 * n_steps * dt * 1e-3 * rates.sum()) + 4 * int(math.sqrt(n_steps * dt * 1e-3 * rates.sum() + 1.0))
    ev_k = np.empty(cap, np.int64)
    ev_id = np.empty(cap, np.int64)
    n = 0
    for a in range(ids.size):
        if rates[a] <= 0.0:
            continue
        mean_isi = 1000.0 / rates[a]
        last = -1
        while next_t[a] < t_end:
            k = min(int(math.floor(next_t[a] / dt)), k1 - 1)
            if k != last and k >= k0:
                if n == cap:
                    cap *= 2
                    grown_k = np.empty(cap, np.int64)
                    grown_id = np.empty(cap, np.int64)
                    grown_k[:n] = ev_k[:n]
                    grown_id[:n] = ev_id[:n]
                    ev_k, ev_id = grown_k, grown_id
                ev_k[n] = k
                ev_id[n] = ids[a]
                n += 1
                last = k
            next_t[a] += -mean_isi * math.log(_counter_uniform(key, a, drawn[a]))
            drawn[a] += np.uint64(1)
    g = gen_start
    g_stop = g
    while g_stop < gen_steps.size and gen_steps[g_stop] < k1:
        g_stop += 1
    ptr = np.zeros(n_steps + 1, np.int64)
    for e in range(n):
        ptr[ev_k[e] - k0 + 1] += 1
    for e in range(g, g_stop):
        ptr[gen_steps[e] - k0 + 1] += 1
    for s in range(n_steps):
        ptr[s + 1] += ptr[s]
    out = np.empty(ptr[n_steps], np.int64)
    fill = ptr[:-1].copy()
    for e in range(g, g_stop):
        s = gen_steps[e] - k0
        out[fill[s]] = gen_ids[e]
        fill[s] += 1
    for e in range(n):
        s = ev_k[e] - k0
        out[fill[s]] = ev_id[e]
        fill[s] += 1
    return ptr, out


# _nrt=False: the loop allocates nothing, and without reference counting the per-step access
# to the Wiring/NeuronArrays tuples costs nothing (with it: ~0.3 us per step and projection).
@njit(cache=True, _nrt=False)
def _run_steps(k_start, k_stop, k_chunk, dt, neu, src_ptr, src_ids, wiring, input_ring, spiked, mon):
    """Run steps [k_start, k_stop); return the step reached (earlier if the spike buffer is full)."""
    ring_len = input_ring.shape[0]
    max_rec = 0
    for n in range(mon.spike_mask.size):
        if mon.spike_mask[n]:
            max_rec += 1
    for k in range(k_start, k_stop):
        if mon.spike_n[0] + max_rec > mon.spike_i.size:
            return k
        t = k * dt
        # 1. state monitors
        for e in range(mon.var.size):
            if k % mon.every[e] == 0:
                n = mon.idx[e]
                code = mon.var[e]
                value = neu.v[n] if code == 0 else (neu.s_e[n] if code == 1 else neu.s_i[n])
                mon.out[e, mon.out_n[e]] = value
                mon.out_n[e] += 1
        # 2-3. integrate, threshold, reset
        n_sp = 0
        for g in range(neu.groups.shape[0]):
            c = neu.consts[g]
            conductance = c[CONDUCTANCE] == 1.0
            for n in range(neu.groups[g, 0], neu.groups[g, 1]):
                ge = neu.s_e[n]
                gi = neu.s_i[n]
                if k >= neu.ref_until[n]:
                    v = neu.v[n]
                    if conductance:
                        g_tot = 1.0 + ge + gi
                        v_inf = (c[E_LEAK] + ge * c[E_E] + gi * c[E_I] + c[V_EXT]) / g_tot
                        v = v_inf + (v - v_inf) * math.exp(-c[DT_TAU_M] * g_tot)
                    else:
                        v_rest = c[E_LEAK] + c[V_EXT]
                        v = v_rest + (v - v_rest) * c[P_M] + c[K_E] * ge + c[K_I] * gi
                    if v > c[V_TH]:
                        v = c[V_RESET]
                        neu.ref_until[n] = k + int(c[REF_STEPS])
                        spiked[n_sp] = n
                        n_sp += 1
                    neu.v[n] = v
                neu.s_e[n] = ge * c[P_E]
                neu.s_i[n] = gi * c[P_I]
        n_neuron_spikes = n_sp
        s = k - k_chunk
        for e in range(src_ptr[s], src_ptr[s + 1]):
            spiked[n_sp] = src_ids[e]
            n_sp += 1
        for e in range(n_sp):
            if mon.spike_mask[spiked[e]]:
                mon.spike_i[mon.spike_n[0]] = spiked[e]
                mon.spike_k[mon.spike_n[0]] = k
                mon.spike_n[0] += 1
        # 4. propagate (+ presynaptic plasticity events)
        slot_in = k % ring_len
        for p in range(wiring.meta.shape[0]):
            _propagate(wiring, p, k, t, spiked, n_sp, neu, input_ring, ring_len)
        for n in range(input_ring.shape[1]):
            neu.s_e[n] += input_ring[slot_in, n, 0]
            neu.s_i[n] += input_ring[slot_in, n, 1]
            input_ring[slot_in, n, 0] = 0.0
            input_ring[slot_in, n, 1] = 0.0
        # 5. postsynaptic plasticity events
        for p in range(wiring.meta.shape[0]):
            if wiring.meta[p, M_PLASTIC] == 1:
                _post_events(wiring, p, k, t, spiked, n_neuron_spikes)
    return k_stop


@njit(cache=True, inline="always")
def _deliver(wr, p, j, neu):
    """Add the current weights of presynaptic trace index j's synapses to their targets."""
    m = wr.meta
    shift = m[p, M_TGT] - wr.tgt_off[p]
    target = neu.s_e if m[p, M_RECEPTOR] == 0 else neu.s_i
    for s in range(wr.syn_start[j], wr.syn_stop[j]):
        target[shift + wr.post_idx[s]] += wr.w[s]


@njit(cache=True, inline="always")
def _slot(wr, ring_base, p, step, ring, width):
    """(counter index, first entry) of projection p's delay-ring slot for ``step``."""
    slot = step % ring
    return wr.ring_off[p] + slot, ring_base[p] + slot * width


@njit(cache=True, inline="always")
def _propagate(wr, p, k, t, spiked, n_sp, neu, input_ring, ring_len):
    """Step 4 for projection p: deliver arriving spikes, then presynaptic plasticity events."""
    m = wr.meta
    src, n_src = m[p, M_SRC], m[p, M_NSRC]
    to_trace = wr.src_off[p] - src
    d = m[p, M_DELAY]
    plastic = m[p, M_PLASTIC] == 1
    if d < 0:  # static projection with per-synapse delays: schedule into the input ring
        shift, r = m[p, M_TGT] - wr.tgt_off[p], m[p, M_RECEPTOR]
        for e in range(n_sp):
            n = spiked[e]
            if src <= n < src + n_src:
                j = n + to_trace
                for s in range(wr.syn_start[j], wr.syn_stop[j]):
                    input_ring[(k + wr.syn_delay[s]) % ring_len, shift + wr.post_idx[s], r] += wr.w[s]
        return
    if d == 0:
        for e in range(n_sp):
            n = spiked[e]
            if src <= n < src + n_src:
                j = n + to_trace
                _deliver(wr, p, j, neu)
                if plastic:
                    stdp.on_pre(wr.params[p], wr.state, wr.w, wr.syn_start, wr.syn_stop, wr.post_idx, j, t)
        return
    dendritic = m[p, M_DENDRITIC] == 1
    ring = m[p, M_RING]
    c, base = _slot(wr, wr.pre_ring_off, p, k, ring, n_src)
    for q in range(wr.pre_ring_n[c]):
        j = wr.pre_ring[base + q]
        _deliver(wr, p, j, neu)
        if plastic and not dendritic:
            stdp.on_pre(wr.params[p], wr.state, wr.w, wr.syn_start, wr.syn_stop, wr.post_idx, j, t)
    wr.pre_ring_n[c] = 0
    c, base = _slot(wr, wr.pre_ring_off, p, k + d, ring, n_src)
    for e in range(n_sp):
        n = spiked[e]
        if src <= n < src + n_src:
            j = n + to_trace
            wr.pre_ring[base + wr.pre_ring_n[c]] = j
            wr.pre_ring_n[c] += 1
            if plastic and dendritic:
                stdp.on_pre(wr.params[p], wr.state, wr.w, wr.syn_start, wr.syn_stop, wr.post_idx, j, t)


@njit(cache=True, inline="always")
def _post_events(wr, p, k, t, spiked, n_neuron_spikes):
    """Step 5 for projection p: postsynaptic plasticity events (delayed if dendritic)."""
    m = wr.meta
    tgt, n_tgt = m[p, M_TGT], m[p, M_NTGT]
    to_trace = wr.tgt_off[p] - tgt
    d = m[p, M_DELAY]
    if m[p, M_DENDRITIC] == 1 and d > 0:
        ring = m[p, M_RING]
        c, base = _slot(wr, wr.post_ring_off, p, k, ring, n_tgt)
        for q in range(wr.post_ring_n[c]):
            stdp.on_post(wr.params[p], wr.state, wr.w, wr.in_start, wr.in_stop, wr.in_syn, wr.syn_pre,
                         wr.post_ring[base + q], t)
        wr.post_ring_n[c] = 0
        c, base = _slot(wr, wr.post_ring_off, p, k + d, ring, n_tgt)
        for e in range(n_neuron_spikes):
            n = spiked[e]
            if tgt <= n < tgt + n_tgt:
                wr.post_ring[base + wr.post_ring_n[c]] = n + to_trace
                wr.post_ring_n[c] += 1
        return
    for e in range(n_neuron_spikes):
        n = spiked[e]
        if tgt <= n < tgt + n_tgt:
            stdp.on_post(wr.params[p], wr.state, wr.w, wr.in_start, wr.in_stop, wr.in_syn, wr.syn_pre,
                         n + to_trace, t)
