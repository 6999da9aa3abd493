"""The native simulation loop: neuron groups, projections with rules, monitors.

Update order inside one time step k (t = k * dt), identical in the Brian2 backend:

1. **record** state monitors (values at the start of the step, Brian2's ``when="start"``);
2. **integrate** every neuron from t to t + dt (exact / exponential-Euler / forward Euler for
   AdEx, see :mod:`models.neurons`); refractory neurons keep v, their synaptic variables
   decay; ALIF adaptation a <- rho*a + z_{k-1}; ``reset="subtract"`` removes v_th - v_reset
   here, after the leak, for a spike of the previous step;
3. **threshold and reset**: v > A (A = v_th + beta*a) spikes at time t, v = v_reset (or the
   subtraction of the next step), refractory until step k + round(t_ref/dt); psi = dz/dv is
   computed for groups whose rules read it; source groups (Poisson, generators) emit their
   step-k spikes;
4. **propagate**: every spike arriving at a synapse now (emitted at step k - D for a delay of
   D steps) adds the synapse's current weight to the target's g_e/I_e or g_i/I_i (g in units
   of the leak conductance, I in pA; seen by
   the integration of step k + 1), and *then* the rule's presynaptic event runs at the
   synapse (hook ``on_pre``: depression) — Brian2's ``on_pre = "g += w; <plasticity>"`` order;
5. **postsynaptic plasticity events** of the spikes of step k (hook ``on_post``: potentiation);
6. **readouts**: y <- kappa*y + (weights of the step-k spikes that reached it) + b, and the
   error y - target of the step (before the postsynaptic events' order matters to nothing:
   readouts do not spike);
7. **modulators**: concentrations decay by one step, critics look at the step's spikes, and
   the releases due now are added;
8. **per-step rule hooks** (``on_step``): eligibility traces, learning signals, continuous
   weight changes (e-prop, OTTT, Clopath's LTP, dopamine at a release).

Simultaneous pre and post spikes (same step, zero delay) therefore form a potentiating pair
with dt = 0: the presynaptic event (4) is handled before the postsynaptic one (5), as in
Brian2, whose presynaptic pathway runs before the postsynaptic one in the same step.

Delays: a plastic projection has one delay D (steps). ``delay_type="axonal"`` (default,
Brian2's convention): the presynaptic spike reaches the synapse, and its plasticity event,
at t + D*dt; postsynaptic spikes reach it at once. ``"dendritic"`` (NEST's convention): the
presynaptic plasticity event happens at emission and each postsynaptic spike reaches the
synapse D steps later. Static projections may have a different delay per synapse.

Rules plug in through the rule contract of :mod:`plasticity.contract`: each rule family
gives ``@njit`` hooks (``on_pre``, ``on_post``, ``on_step``) that the loop calls at 4, 5
and 8. The loop itself is generated once per set of families (:mod:`models.loopgen`) from
the stages written below, so the order above is the only one there is.
"""
from __future__ import annotations

import math
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from numba import njit

from plasticity.contract import family_of, synaptic_input
from plasticity.memory import prefetch
from plasticity.synapse_index import INDEX32_MAX
from plasticity.errors import ParameterError, check_dt, check_positive, keyboard_interrupts
from plasticity.readout import softmax_ce_error
from plasticity.surrogate import psi as _psi
from plasticity.traces import current_coupling as _current_coupling
from plasticity.fused import fma
from plasticity.vector_exp import exp_nonpositive
from plasticity.voltage import adex_step
from .connectivity import build_projection
from .modulators import Modulator
from .validate import check_group_dt, check_seed
from .neurons import LIF, AdEx, PoissonGroup, Readout, SpikeGeneratorGroup

# projection meta fields
from plasticity.contract import (M_DELAY, M_DENDRITIC, M_FAMILY, M_NSRC, M_NTGT, M_PLASTIC,  # noqa: E402
                                 M_RECEPTOR, M_RING, M_SRC, M_TGT, M_TGT_GROUP, M_TRANSMIT, N_META)
# group kinds and constants (one row of NeuronArrays.consts per group)
KIND_LIF, KIND_ADEX, KIND_READOUT = 0, 1, 2
MAX_STEPS = 10 ** 10        # per run() call: the chunk schedule is built in Python
(P_M, P_E, P_I, E_LEAK, V_TH, V_RESET, REF_STEPS, E_E, E_I, K_E, K_I, V_EXT, CONDUCTANCE,
 DT_TAU_M, KIND, SUBTRACT, ADAPTIVE, RHO, NEEDS_PSI, START_STEP, WINDOW) = range(21)
N_CONSTS = 21 + 16          # + the AdEx parameters (plasticity.voltage layout) at ADEX_0
ADEX_0 = 21
STATE_CODES = {"v": 0, "g_e": 1, "I_e": 1, "g_i": 2, "I_i": 2, "a": 3, "psi": 4, "thr": 5, "y": 0, "err": 6,
               "w_ad": 7, "v_t": 8}
GROUP_VARIABLES = {LIF: ("v", "g_e", "I_e", "g_i", "I_i", "a", "psi", "thr"), AdEx: ("v", "w_ad", "v_t"),
                   Readout: ("y", "err")}


class Wiring(NamedTuple):
    """All projections concatenated, indexed globally so rule kernels need no slicing.

    Projection p's presynaptic neurons have trace indices ``src_off[p] + j`` (j local), its
    postsynaptic neurons ``tgt_off[p] + i``; its synapses are ``syn_off[p]:syn_off[p+1]``.
    ``syn_start/syn_stop`` (by presynaptic trace index), ``post_idx`` (postsynaptic trace
    index per synapse), ``in_start/in_stop/in_syn`` (synapses per postsynaptic trace index)
    ``syn_pre`` and ``in_pre`` are the kernels' CSR rows (see :mod:`plasticity.stdp`).
    """

    meta: np.ndarray        # (n_proj, N_META) int64, fields M_*
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
    in_pre: np.ndarray      # syn_pre[in_syn]: the presynaptic trace index in postsynaptic order
    w: np.ndarray
    syn_delay: np.ndarray   # steps, per synapse of the projections with per-synapse delays (0 elsewhere)
    pre_ring: np.ndarray    # flat: ring slots x n_src per projection
    pre_ring_n: np.ndarray  # counter per slot (ring_off)
    post_ring: np.ndarray
    post_ring_n: np.ndarray


class NeuronArrays(NamedTuple):
    """Per group: ``groups`` (start, stop), ``consts`` (fields P_M ...), ``surr`` (psi
    parameters). Per global neuron: v (mV; y for readouts), s_e / s_i (synaptic variables;
    inputs of the step for delta and readout groups; in units of the group's ``scale``, see
    below), ref_until (step), thr (threshold A,
    mV), psi (dz/dv), z (1.0 if it spiked in this step), a (adaptation), pend (reset
    subtractions due), aux (4, n): AdEx w_ad, z (after-depolarisation), V_T, clamp steps;
    beta (threshold adaptation, mV; ADAPTIVE of the group's consts is 1 when any is nonzero);
    fired_at (step; at the first neuron of each :data:`LIF_BLOCK` block of a plain LIF group,
    see :func:`_lif_plain`: the last step at which a neuron of the block spiked, -1 before; the
    largest int64 in a checkpoint saved before the field existed: clear z until a spike);
    scale (n_groups, 4): F_e, F_i, 1/F_e, 1/F_i. The synaptic variables of a group are
    ``s_e * F_e`` and ``s_i * F_i``; a current-based or delta LIF group decays them by
    multiplying F (one number per step) instead of every neuron's s, and inputs are added
    divided by F (:func:`_scaled_couplings`); F stays 1 in other groups and in a checkpoint
    saved before the field existed."""

    groups: np.ndarray
    consts: np.ndarray
    surr: np.ndarray
    v: np.ndarray
    s_e: np.ndarray
    s_i: np.ndarray
    ref_until: np.ndarray
    thr: np.ndarray
    psi: np.ndarray
    z: np.ndarray
    a: np.ndarray
    pend: np.ndarray
    aux: np.ndarray
    beta: np.ndarray
    scratch: np.ndarray     # per neuron, for passes that split a loop in two (no state)
    fired_at: np.ndarray = None     # None only in a checkpoint saved before it existed
    scale: np.ndarray = None        # None only in a checkpoint saved before it existed


class ReadoutArrays(NamedTuple):
    """Per global neuron (used for readout neurons): err (the error rules read: y - target
    (MSE), the CE error at a window's last step, else 0), b (bias), cb / gb (bias trace and
    its accumulated gradient), col (target column, -1 elsewhere), mode (the step's phase: 0
    no error, 1 MSE, 2 inside a CE window, 3 a CE window's last step), ysum / scb (window
    sums of y and cb); target and phase (steps of the chunk, columns); loss (1,): the sum of
    squared errors (MSE) plus the sum of -log p (CE)."""

    err: np.ndarray
    b: np.ndarray
    cb: np.ndarray
    gb: np.ndarray
    col: np.ndarray
    mode: np.ndarray
    ysum: np.ndarray
    scb: np.ndarray
    target: np.ndarray
    phase: np.ndarray
    loss: np.ndarray


class ModulatorArrays(NamedTuple):
    """level, decay (exp(-dt/tau_d)) and release (amount of this step) per modulator;
    scheduled releases (step, modulator, amount, sorted) with a read position; critics
    (crit_i: pre neuron, post neuron, modulator, window steps; crit_f: delay min/max in
    steps, amount; crit_last: last pre spike step; crit_n: draws); pending critic releases
    (pend_k step, pend_m, pend_a, pend_n (1,)); a log of releases (log_k, log_m, log_a, log_n)."""

    level: np.ndarray
    decay: np.ndarray
    release: np.ndarray
    sched_k: np.ndarray
    sched_m: np.ndarray
    sched_a: np.ndarray
    sched_pos: np.ndarray
    crit_i: np.ndarray
    crit_f: np.ndarray
    crit_last: np.ndarray
    crit_n: np.ndarray
    key: np.ndarray
    pend_k: np.ndarray
    pend_m: np.ndarray
    pend_a: np.ndarray
    pend_n: np.ndarray
    log_k: np.ndarray
    log_m: np.ndarray
    log_a: np.ndarray
    log_n: np.ndarray
    dropped: np.ndarray     # (2,): critic releases lost to a full pending buffer; releases not logged


class NetView(NamedTuple):
    """What rule kernels read (and, for their own synapses, write): see plasticity.contract."""

    wiring: Wiring
    neurons: NeuronArrays
    readout: ReadoutArrays
    modulators: ModulatorArrays
    dt: float


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
    spike_room: int        # spike_i.size - (number of recorded neurons): one more step always fits below it


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


NEURON_GROUPS = (LIF, AdEx, Readout)
GROUPS = NEURON_GROUPS + (PoissonGroup, SpikeGeneratorGroup)


class Network:
    """A network simulated by the native Numba loop (see the module docstring for the order).

    >>> net = Network(dt=0.1, seed=1)
    >>> inputs = net.add(PoissonGroup(100, rate=15.0))
    """

    def __init__(self, dt: float = 0.1, seed: int | None = None, chunk: float = 1000.0):
        self.dt = check_positive("dt", dt, "ms")
        self.chunk = check_positive("chunk", chunk, "ms")
        self.seed = check_seed(seed)
        self.rng = np.random.default_rng(seed)
        self.groups: list = []
        self.modulators: list = []
        self.projections: list = []
        self.spike_records: list[SpikeRecord] = []
        self.state_records: list[StateRecord] = []
        self.weight_records: list[WeightRecord] = []
        self.operations: list = []
        self.step = 0
        self._built = None
        self.timing = {"compile_s": 0.0, "run_s": 0.0}

    @property
    def t(self) -> float:
        """Current time (ms)."""
        return self.step * self.dt

    # --- construction -------------------------------------------------------------------

    def add(self, group):
        """Add a neuron group (LIF, ALIF, AdEx, Readout), a source group or a Modulator; returns it."""
        self._check_not_built()
        if isinstance(group, Modulator):
            if any(group is m for m in self.modulators):
                raise ParameterError("modulator is already part of this network")
            for c in group.critics:
                for name in ("pre_group", "post_group"):
                    if not any(getattr(c, name) is g for g in self.groups):
                        raise ParameterError(f"critic {name} must be a group added to this network first")
            self.modulators.append(group)
            return group
        if not isinstance(group, GROUPS):
            raise ParameterError("group must be LIF, AdEx, Readout, PoissonGroup, SpikeGeneratorGroup or "
                                 f"Modulator, got {type(group).__name__}")
        if any(group is g for g in self.groups):
            raise ParameterError("group is already part of this network; create a second group to add another")
        check_group_dt(group, self.dt)
        self.groups.append(group)
        return group

    def connect(self, source, target, *, weight, connectivity=None, receptor="excitatory",
                delay=0.0, delay_type="axonal", rule=None, modulator=None, readout=None, transmit=True):
        """Connect two added groups; returns the :class:`Projection`.

        ``weight``: constant, per-synapse array (in the order of the pairs the pattern
        yields) or a distribution (``models.uniform``); conductance mode: dimensionless, a
        multiple of the target's leak conductance g_L = c_m/tau_m (g in nS = w * c_m/tau_m;
        docs/conventions.md); current mode: pA; delta synapses and readouts: mV (readout: y units).
        ``delay`` in ms. ``rule``: a rule with a family (:mod:`plasticity.contract`);
        ``modulator``: the :class:`Modulator` a modulated rule reads; ``readout``: the
        :class:`Readout` whose error a gradient rule (e-prop, OTTT) learns from.
        ``transmit=False``: the spikes do not reach the target (the weights only learn: a
        plasticity protocol whose input is delivered by a separate, static projection).
        """
        from .connectivity import all_to_all
        self._check_not_built()
        for name, g in (("source", source), ("target", target)):
            if not any(g is h for h in self.groups):
                raise ParameterError(f"{name} must be a group added to this network with net.add()")
        if not isinstance(target, NEURON_GROUPS):
            raise ParameterError(f"target must be a LIF, AdEx or Readout group, got {type(target).__name__}")
        if isinstance(source, Readout):
            raise ParameterError("source must be a spiking group; a Readout does not spike")
        if modulator is not None and not any(modulator is m for m in self.modulators):
            raise ParameterError("modulator must be a Modulator added to this network with net.add()")
        if readout is not None and not (isinstance(readout, Readout) and any(readout is g for g in self.groups)):
            raise ParameterError("readout must be a Readout group added to this network with net.add()")
        family = family_of(rule) if rule is not None else None
        reads = family.reads if family is not None else ()
        if modulator is not None and "modulator" not in reads:
            raise ParameterError(f"modulator is read only by rules of a modulated family (DopamineSTDP), "
                                 f"got it with rule {type(rule).__name__}")
        if readout is not None and "learning_signal" not in reads:
            raise ParameterError(f"readout is read only by gradient rules (EPropRule, OTTTRule), "
                                 f"got it with rule {type(rule).__name__}")
        if connectivity is not None and not hasattr(connectivity, "pairs"):
            raise ParameterError(f"connectivity must be a pattern such as models.all_to_all(), models.one_to_one(), "
                                 f"models.fixed_probability(p) or models.fixed_indegree(k), got {connectivity!r}")
        proj = build_projection(source, target, connectivity=connectivity or all_to_all(),
                                weight=weight, delay=delay, receptor=receptor, rule=rule,
                                delay_type=delay_type, rng=self.rng, same_group=source is target)
        if getattr(target, "synapses", None) == "conductance":
            w_low, rule_low = float(proj.w.min(initial=0.0)), float(getattr(rule, "w_min", 0.0))
            if w_low < 0:
                raise ParameterError(f"weight of a projection onto a conductance-based group must be >= 0 (a "
                                     f"conductance in units of the leak conductance; inhibition is "
                                     f"receptor='inhibitory'), got {w_low!r}")
            if rule_low < 0:
                raise ParameterError(f"w_min of the rule must be >= 0 on a conductance-based target (the weight "
                                     f"is a conductance), got {rule_low!r}")
        proj.modulator, proj.readout = modulator, readout
        if not isinstance(transmit, bool):
            raise ParameterError(f"transmit must be True or False, got {transmit!r}")
        proj.transmit = transmit
        if family is not None:
            if family.targets and type(target).__name__ not in family.targets:
                raise ParameterError(f"target must be a {' or '.join(family.targets)} group for {type(rule).__name__}, "
                                     f"got {type(target).__name__}")
            if proj.n_syn and np.ptp(proj.delay) > 0:
                raise ParameterError("delay must be the same for all synapses of a plastic projection "
                                     "(per-synapse delays are supported on static projections)")
            if family.check is not None:
                family.check(rule, proj, self)
            check_dt(self.dt, getattr(rule, "smallest_tau", np.inf))
        self.projections.append(proj)
        return proj

    def record_spikes(self, group) -> SpikeRecord:
        self._check_member(group)
        if isinstance(group, Readout):
            raise ParameterError("a Readout does not spike; record its 'y' with record_state")
        rec = SpikeRecord(group)
        self.spike_records.append(rec)
        return rec

    def record_state(self, group, variable="v", neurons=None, every=None) -> StateRecord:
        """Record ``variable`` of ``neurons`` every ``every`` ms (default dt). LIF: "v",
        "g_e"/"I_e", "g_i"/"I_i", "a", "psi", "thr"; AdEx: "v", "w_ad", "v_t"; Readout: "y", "err"."""
        self._check_member(group)
        kind = next((k for k in GROUP_VARIABLES if isinstance(group, k)), None)
        if kind is None:
            raise ParameterError("record_state needs a LIF, AdEx or Readout group")
        if variable not in GROUP_VARIABLES[kind]:
            raise ParameterError(f"variable must be one of {sorted(GROUP_VARIABLES[kind])} for a "
                                 f"{kind.__name__} group, got {variable!r}")
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

    def add_operation(self, function, every: float):
        """Call ``function(net)`` from Python after every ``every`` ms of simulated time (at
        the end of the steps k with (k + 1) * dt a multiple of ``every``): online weight
        updates, adaptive feedback, logging. The loop runs in chunks between calls."""
        if not callable(function):
            raise ParameterError(f"function must be callable, got {type(function).__name__}")
        self.operations.append((function, check_positive("every", every, "ms")))

    def modulator_releases(self, modulator):
        """(times ms, amounts) of every release of ``modulator`` so far."""
        if not any(modulator is m for m in self.modulators):
            raise ParameterError("modulator is not part of this network")
        if self._built is None:
            return np.zeros(0), np.zeros(0)
        return self._built.releases(self.modulators.index(modulator))

    def _check_member(self, group):
        if not any(group is g for g in self.groups):
            raise ParameterError("group must be added to this network with net.add() first")
        self._check_not_built()

    def _check_not_built(self):
        if self._built is not None:
            raise ParameterError("the network has already run; build a new Network to change its structure")

    # --- running ------------------------------------------------------------------------

    def run(self, duration: float, progress: bool = False):
        """Advance the network by ``duration`` ms, a whole number of steps of dt (the time is
        never rounded silently: 0.15 ms at dt 0.1 is an error naming 0.1 and 0.2)."""
        duration = check_positive("duration", duration, "ms")
        n_steps = int(round(duration / self.dt))
        if n_steps < 1 or abs(n_steps * self.dt - duration) > 1e-9 * max(duration, self.dt):
            below = max(1, int(math.floor(duration / self.dt + 1e-9)))
            raise ParameterError(f"duration must be a whole number of steps of dt = {self.dt} ms, got {duration!r} ms "
                                 f"(nearest: {below * self.dt:g} or {(below + 1) * self.dt:g} ms)")
        if n_steps > MAX_STEPS:
            raise ParameterError(f"duration must be at most {MAX_STEPS:.0e} steps of dt = {self.dt} ms per call "
                                 f"({MAX_STEPS * self.dt:.3g} ms), got {duration!r} ms")
        if self._built is None:
            with small_pages():
                self._built = _Built(self)
        with keyboard_interrupts():     # Ctrl-C inside compiled code is KeyboardInterrupt, not SystemError
            self._built.run(n_steps, progress)

    def offset(self, group) -> int:
        """Global index of the group's first neuron."""
        start = 0
        for g in self.groups:
            if g is group:
                return start
            start += g.n
        raise ParameterError("group is not part of this network")

    def family_data(self, family):
        """The arrays of rule family ``family`` (a :class:`plasticity.contract.Family`) after
        the first run: what its ``build`` returned, updated by the loop."""
        if self._built is None:
            raise ParameterError("the network has not run yet")
        return self._built.family_data(family)

    def view(self) -> NetView:
        """The loop's view of the network (after the first run): wiring, neurons, readouts, modulators."""
        if self._built is None:
            raise ParameterError("the network has not run yet")
        return self._built.view

    # --- checkpoints --------------------------------------------------------------------

    def save(self, path):
        """Write the whole network to ``path``: structure, state, weights, rule state, delay
        rings, random streams, recordings and the time. ``Network.load(path).run(T)`` then gives
        bitwise what this network would give by running on. A pickle, written to a temporary
        file and renamed (an interrupted save leaves the previous file); load only files you
        trust. Functions given to :meth:`add_operation` are saved by reference (module-level
        functions and methods of picklable objects)."""
        import os
        import pickle
        from pathlib import Path
        path = Path(path)
        if path.is_dir():
            raise ParameterError(f"path must be a file name, got the directory {str(path)!r}")
        try:
            payload = pickle.dumps(self, protocol=pickle.HIGHEST_PROTOCOL)
        except (pickle.PicklingError, AttributeError, TypeError) as exc:
            raise ParameterError(f"the network cannot be saved: {exc} (operations added with add_operation "
                                 "must be module-level functions or methods of picklable objects)") from None
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            tmp.write_bytes(payload)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        return path

    @classmethod
    def load(cls, path) -> "Network":
        """The network saved by :meth:`save` at ``path``, ready to run on."""
        import pickle
        from pathlib import Path
        try:
            with open(Path(path), "rb") as fh:
                net = pickle.load(fh)
        except FileNotFoundError:
            raise ParameterError(f"path {str(path)!r} does not exist") from None
        except (pickle.UnpicklingError, EOFError, AttributeError, ImportError) as exc:
            raise ParameterError(f"path {str(path)!r} is not a saved Network ({exc})") from None
        if not isinstance(net, cls):
            raise ParameterError(f"path {str(path)!r} holds a {type(net).__name__}, not a saved Network")
        if net._built is not None:
            net._built.relink()
        return net


class _Built:
    """The network flattened into arrays for the compiled loop."""

    def __init__(self, net: Network):
        from .loopgen import PREFETCH, loop_for
        self.net = net
        dt = net.dt
        self.n_total = sum(g.n for g in net.groups)
        offsets = [net.offset(g) for g in net.groups]
        cells = [(g, o) for g, o in zip(net.groups, offsets) if isinstance(g, NEURON_GROUPS)]
        families = _families(net)
        psi_targets = {id(proj.target) for proj in net.projections
                       if proj.rule is not None and "psi" in family_of(proj.rule).reads}
        groups = np.array([[o, o + g.n] for g, o in cells], dtype=np.int64).reshape(-1, 2)
        consts = np.array([_group_constants(g, dt, id(g) in psi_targets) for g, _ in cells]).reshape(-1, N_CONSTS)
        surr = np.array([g.surrogate_params() if isinstance(g, LIF) else np.zeros(7) for g, _ in cells]).reshape(-1, 7)
        n = self.n_total
        v = np.zeros(n)
        thr = np.zeros(n)
        aux = np.zeros((4, n))
        beta = np.zeros(n)
        for g, o in cells:
            v[o:o + g.n] = g.initial_values(net.rng)
            if isinstance(g, LIF):
                thr[o:o + g.n] = g.v_th
                beta[o:o + g.n] = g.betas
            if isinstance(g, AdEx):
                aux[2, o:o + g.n] = thr[o:o + g.n] = g.neuron.v_th_rest
        self.neurons = NeuronArrays(groups, consts, surr, v, np.zeros(n), np.zeros(n), np.zeros(n, np.int64), thr,
                                    np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n), aux, beta, np.zeros(n),
                                    np.full(n, -1, np.int64), np.ones((groups.shape[0], 4)))
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
                s = _time_steps(times, dt)
                if np.any(np.diff(s) == 0):
                    raise ParameterError(f"times[{k}] has two spikes in one time step of dt = {dt} ms")
                steps.append(s)
                ids.append(np.full(s.size, o + k, dtype=np.int64))
        steps, ids = np.concatenate(steps), np.concatenate(ids)
        order = np.lexsort((ids, steps))
        self.gen_steps, self.gen_ids = steps[order], ids[order]
        # projections
        self.wiring, max_het_delay = _wire(net, families)
        n_ring = self.n_total if np.any(self.wiring.meta[:, M_DELAY] < 0) else 0
        self.input_ring = np.zeros((max_het_delay + 1, n_ring, 2))
        self.spiked = np.zeros(self.n_total, np.int64)
        self.arrived = np.zeros(max(self.n_total, 1), np.int64)
        # readouts and modulators
        self.readout_groups = [(g, o) for g, o in cells if isinstance(g, Readout)]
        col = np.full(n, -1, np.int64)
        b = np.zeros(n)
        c = 0
        for g, o in self.readout_groups:
            col[o:o + g.n] = np.arange(c, c + g.n)
            b[o:o + g.n] = g.biases
            c += g.n
        self.chunk_steps = max(1, int(round(net.chunk / dt)))
        self.readout = ReadoutArrays(np.zeros(n), b, np.zeros(n), np.zeros(n), col, np.zeros(n, np.int64),
                                     np.zeros(n), np.zeros(n), np.zeros((0, c)), np.zeros((0, c), np.int64),
                                     np.zeros(1))
        self.modulators = _modulator_arrays(net, dt)
        self.poisson_key = np.uint64(net.rng.integers(2**63 - 1))
        self._init_poisson()
        if net.modulators:  # drawn only when there are modulators: other runs keep their streams
            self.modulators.key[0] = np.uint64(net.rng.integers(2**63 - 1))
        self.view = NetView(self.wiring, self.neurons, self.readout, self.modulators, dt)
        # rule families: one data record each, and the loop compiled for this set
        self.families = families
        self.family_records = tuple(fam.build([(p, proj) for p, proj in enumerate(net.projections)
                                               if proj.rule is not None and family_of(proj.rule) is fam], self)
                                    for fam in families)
        stages = [name for name, needed in (("record_state", bool(net.state_records)), ("flush_input_ring", n_ring > 0),
                                            ("readouts", bool(self.readout_groups)),
                                            ("modulators", self.modulators.level.size + self.modulators.crit_i.shape[0] > 0))
                  if needed]
        if self.wiring.w.nbytes > PREFETCH_BYTES:
            stages.append(PREFETCH)
        self.stages = tuple(stages) + neuron_kinds(consts)
        self.run_steps = loop_for(families, self.stages)
        # monitors
        self.spike_mask = np.zeros(self.n_total, np.bool_)
        for rec in net.spike_records:
            o = net.offset(rec.group)
            self.spike_mask[o:o + rec.group.n] = True
        self.spike_offsets = [net.offset(r.group) for r in net.spike_records]
        self.n_spike_recorded = int(self.spike_mask.sum())
        entries = [(STATE_CODES[r.variable], net.offset(r.group) + n, max(1, int(round(r.every / dt))))
                   for r in net.state_records for n in r.neurons]
        self.state_var = np.array([e[0] for e in entries], np.int64)
        self.state_idx = np.array([e[1] for e in entries], np.int64)
        self.state_every = np.array([e[2] for e in entries], np.int64)
        # one growing copy of everything recorded; each run() costs what it adds
        self.spike_store = [(_Growing(np.int64), _Growing(float)) for _ in net.spike_records]
        self.state_store = [_Growing(float, r.neurons.size) for r in net.state_records]
        self.weight_store = [(_Growing(float), _Growing(float, r.projection.n_syn)) for r in net.weight_records]

    def __getstate__(self):
        state = dict(self.__dict__)
        del state["run_steps"]          # compiled code: generated again (or loaded from cache) on load
        return state

    def __setstate__(self, state):
        from .loopgen import KINDS, loop_for
        self.__dict__.update(state)
        neu = self.neurons
        if neu.fired_at is None:   # saved before it existed: z of every block to be cleared
            neu = neu._replace(fired_at=np.full(neu.v.size, np.iinfo(np.int64).max))
        if neu.scale is None:      # saved before it existed: the variables themselves
            neu = neu._replace(scale=np.ones((neu.groups.shape[0], 4)))
        if self.wiring.meta.shape[1] < N_META:   # saved before M_TGT_GROUP existed
            meta = np.zeros((self.wiring.meta.shape[0], N_META), np.int64)
            meta[:, :self.wiring.meta.shape[1]] = self.wiring.meta
            meta[:, M_TGT_GROUP] = [np.flatnonzero(neu.groups[:, 0] == t)[0] for t in meta[:, M_TGT]]
            self.wiring = self.wiring._replace(meta=meta)
        self.neurons = neu
        self.view = self.view._replace(neurons=neu, wiring=self.wiring)
        # the kinds from the neurons themselves: a checkpoint saved before they were stages has none
        self.stages = tuple(s for s in self.stages if s not in KINDS) + neuron_kinds(self.neurons.consts)
        self.run_steps = loop_for(self.families, self.stages)

    def relink(self):
        """After unpickling: the projections' weights and the records view the loop's arrays again
        (a pickled view is a copy)."""
        so = self.wiring.syn_off
        for p, proj in enumerate(self.net.projections):
            proj.w = self.wiring.w[so[p]:so[p + 1]]
        self._publish()

    def family_data(self, family):
        for fam, data in zip(self.families, self.family_records):
            if fam is family:
                return data
        raise ParameterError(f"no projection of this network uses the rule family {family.name!r}")

    def _init_poisson(self):
        rates = self.poisson_rates
        with np.errstate(divide="ignore"):
            scale = np.where(rates > 0, 1000.0 / np.where(rates > 0, rates, 1.0), np.inf)
        self.poisson_next[:] = self.net.rng.exponential(1.0, rates.size) * scale

    def _targets(self, k0, k1):
        """The readouts' (targets, phases) for steps [k0, k1), one column per readout neuron."""
        steps = np.arange(k0, k1)
        rows = [g.target_rows(steps, self.net.dt) for g, _ in self.readout_groups]
        if not rows:
            return np.zeros((k1 - k0, 0)), np.zeros((k1 - k0, 0), np.int64)
        target = np.concatenate([t for t, _ in rows], axis=1)
        phase = np.concatenate([np.repeat(ph[:, None], g.n, axis=1) for (_, ph), (g, _) in zip(rows, self.readout_groups)],
                               axis=1)
        return np.ascontiguousarray(target), np.ascontiguousarray(phase)

    def run(self, n_steps, progress):
        net = self.net
        dt = net.dt
        k_end = net.step + n_steps
        boundaries = self._chunk_boundaries(net.step, k_end)
        bar = _progress(progress, n_steps)
        cap = max(1024, 4 * self.n_spike_recorded)
        spike_i = np.zeros(cap, np.int64)
        spike_k = np.zeros(cap, np.int64)
        compiled = False
        for k0, k1 in zip(boundaries[:-1], boundaries[1:]):
            self._sync(k0)
            self._record_weights(k0)
            src_ptr, src_ids = _source_chunk(k0, k1, dt, self.poisson_rates, self.poisson_ids, self.poisson_next,
                                             self.poisson_drawn, self.poisson_key,
                                             self.gen_steps, self.gen_ids, self._gen_start(k0))
            samples = np.array([_count_multiples(k0, k1, e) for e in self.state_every], np.int64)
            out = np.zeros((self.state_var.size, int(samples.max(initial=0))))
            mon = MonitorArrays(self.spike_mask, spike_i, spike_k, np.zeros(1, np.int64), self.state_var,
                                self.state_idx, self.state_every, out, np.zeros(self.state_var.size, np.int64),
                                spike_i.size - self.n_spike_recorded)
            target, phase = self._targets(k0, k1)
            view = self.view._replace(readout=self.readout._replace(target=target, phase=phase))
            k = k0
            while k < k1:
                # once compiled, not asked again (the dispatcher's list costs 30 us per call)
                compiled = compiled or bool(getattr(self.run_steps, "signatures", True))   # no JIT: nothing compiles
                first = not compiled
                tic = time.perf_counter()
                k = self.run_steps(k, k1, k0, view, self.family_records, src_ptr, src_ids, self.input_ring,
                                   self.spiked, self.arrived, mon)
                elapsed = time.perf_counter() - tic
                net.timing["compile_s" if first else "run_s"] += elapsed
                self._store_spikes(spike_i[:mon.spike_n[0]], spike_k[:mon.spike_n[0]])
                mon.spike_n[0] = 0
            e = 0
            for rec, store in zip(net.state_records, self.state_store):
                store.extend(out[e:e + rec.neurons.size, :mon.out_n[e]].T)
                e += rec.neurons.size
            net.step = k1
            bar.update(k1 - k0)
            for function, every in net.operations:
                if k1 % max(1, int(round(every / dt))) == 0:
                    self._sync(k1)
                    function(net)
        bar.close()
        self._warn_dropped()
        self._sync(k_end)
        self._record_weights(k_end, final=True)
        self._publish()

    def _warn_dropped(self):
        lost, unlogged = (int(x) for x in self.modulators.dropped)
        if lost:
            warnings.warn(f"{lost} critic releases were dropped: more than {self.modulators.pend_k.size} "
                          "releases were pending at once (shorten the critics' delays or their rate)", stacklevel=3)
        if unlogged:
            warnings.warn(f"{unlogged} modulator releases happened but were not logged (log capacity "
                          f"{self.modulators.log_k.size}); modulator_releases() is incomplete", stacklevel=3)
        self.modulators.dropped[:] = 0

    def _sync(self, k):
        for fam, data in zip(self.families, self.family_records):
            if fam.sync is not None:
                fam.sync(data, self.view, k * self.net.dt)

    def _gen_start(self, k0):
        return int(np.searchsorted(self.gen_steps, k0, side="left"))

    def _chunk_boundaries(self, k_start, k_end):
        dt = self.net.dt
        marks = {k_start, k_end}
        marks.update(range(k_start, k_end, self.chunk_steps))
        intervals = [rec.every for rec in self.net.weight_records] + [every for _, every in self.net.operations]
        for interval in intervals:
            every = max(1, int(round(interval / dt)))
            first = -(-k_start // every) * every
            marks.update(range(first, k_end, every))
        return sorted(marks)

    def _store_spikes(self, i, k):
        for (si, st), rec, o in zip(self.spike_store, self.net.spike_records, self.spike_offsets):
            si.n = st.n = take_spikes(i, k, o, rec.group.n, self.net.dt, si.reserve(i.size), st.reserve(i.size), si.n)

    def _record_weights(self, k, final=False):
        for (times, weights), rec in zip(self.weight_store, self.net.weight_records):
            every = max(1, int(round(rec.every / self.net.dt)))
            already = times.n and times.view()[-1] == k * self.net.dt
            if k % every == 0 and not already:
                times.extend([k * self.net.dt])
                weights.extend(rec.projection.w[None, :])

    def releases(self, m):
        md = self.modulators
        n = int(md.log_n[0])
        mine = md.log_m[:n] == m
        return md.log_k[:n][mine] * self.net.dt, md.log_a[:n][mine].copy()

    def _publish(self):
        """Point the records at the filled part of their stores (no copy)."""
        net = self.net
        for rec, (si, st) in zip(net.spike_records, self.spike_store):
            rec.i, rec.t = si.view(), st.view()
        for rec, store in zip(net.state_records, self.state_store):
            every = max(1, int(round(rec.every / net.dt)))
            rec.values = store.view()
            rec.t = np.arange(rec.values.shape[0]) * every * net.dt
        for rec, (times, weights) in zip(net.weight_records, self.weight_store):
            rec.t, rec.w = times.view(), weights.view()


class _Growing:
    """Rows appended to a buffer that doubles when full: amortised cost proportional to the
    data added; :meth:`view` is the filled part (earlier views stay valid: rows never change)."""

    def __init__(self, dtype, width=None):
        self.buf = np.zeros((16,) if width is None else (16, width), dtype)
        self.n = 0

    def reserve(self, m):
        """The buffer, grown if needed so that rows n to n + m are free."""
        if self.n + m > self.buf.shape[0]:
            grown = np.zeros((max(2 * self.buf.shape[0], self.n + m),) + self.buf.shape[1:], self.buf.dtype)
            grown[:self.n] = self.buf[:self.n]
            self.buf = grown
        return self.buf

    def extend(self, rows):
        rows = np.asarray(rows, dtype=self.buf.dtype)
        m = rows.shape[0]
        self.reserve(m)[self.n:self.n + m] = rows
        self.n += m

    def view(self):
        return self.buf[:self.n]


def _families(net):
    """The rule families of the network's projections, in a stable order (by name)."""
    found = {}
    for proj in net.projections:
        if proj.rule is not None:
            fam = family_of(proj.rule)
            other = found.get(fam.name)
            if other is not None and other is not fam:
                raise ParameterError(f"two different rule families are named {fam.name!r}")
            found[fam.name] = fam
    return tuple(found[name] for name in sorted(found))


def _time_steps(times, dt):
    """Times (ms) to their step as Brian2 does: floor(t/dt + 1e-3)."""
    return np.floor(np.asarray(times, dtype=float) / dt + 1e-3).astype(np.int64)


def _modulator_arrays(net, dt) -> ModulatorArrays:
    mods = net.modulators
    n_m = len(mods)
    sk, sm, sa = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)], [np.zeros(0)]
    crit_i, crit_f = [], []
    for m, mod in enumerate(mods):
        t, a = mod.schedule()
        sk.append(_time_steps(t, dt))
        sm.append(np.full(t.size, m, np.int64))
        sa.append(a)
        for c in mod.critics:
            crit_i.append([net.offset(c.pre_group) + c.pre, net.offset(c.post_group) + c.post, m,
                           int(round(c.window / dt))])
            crit_f.append([c.delay_min / dt, c.delay_max / dt, c.amount])
    sk, sm, sa = np.concatenate(sk), np.concatenate(sm), np.concatenate(sa)
    order = np.lexsort((sm, sk))
    cap_log = sk.size + 100_000
    return ModulatorArrays(np.zeros(n_m), np.array([math.exp(-dt / mod.tau_d) for mod in mods]), np.zeros(n_m),
                           sk[order], sm[order], sa[order], np.zeros(1, np.int64),
                           np.array(crit_i, np.int64).reshape(-1, 4), np.array(crit_f, float).reshape(-1, 3),
                           np.full(len(crit_i), -(2**62), np.int64), np.zeros(len(crit_i), np.uint64),
                           np.zeros(1, np.uint64), np.zeros(4096, np.int64), np.zeros(4096, np.int64),
                           np.zeros(4096), np.zeros(1, np.int64), np.zeros(cap_log, np.int64),
                           np.zeros(cap_log, np.int64), np.zeros(cap_log), np.zeros(1, np.int64),
                           np.zeros(2, np.int64))


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


def _group_constants(g, dt: float, needs_psi: bool) -> np.ndarray:
    c = np.zeros(N_CONSTS)
    if isinstance(g, Readout):
        c[KIND] = KIND_READOUT
        c[P_M] = 0.0 if g.tau == 0.0 else math.exp(-dt / g.tau)
        c[START_STEP] = int(round(g.t_start / dt))
        c[WINDOW] = g.window_steps(dt)
        return c
    if isinstance(g, AdEx):
        c[KIND] = KIND_ADEX
        c[ADEX_0:ADEX_0 + 16] = g.neuron.params()
        c[V_EXT] = g.i_ext
        c[REF_STEPS] = int(round(g.neuron.t_clamp / dt))
        return c
    c[KIND] = KIND_LIF
    p_m = math.exp(-dt / g.tau_m)
    c[P_M] = p_m
    c[E_LEAK], c[V_TH], c[V_RESET] = g.e_leak, g.v_th, g.v_reset
    c[REF_STEPS] = int(round(g.t_ref / dt))
    c[E_E], c[E_I] = g.e_e, g.e_i
    c[CONDUCTANCE] = 1.0 if g.synapses == "conductance" else 0.0
    c[DT_TAU_M] = dt / g.tau_m
    c[SUBTRACT] = 1.0 if g.reset == "subtract" else 0.0
    c[ADAPTIVE], c[RHO] = float(np.any(g.betas > 0)), math.exp(-dt / g.tau_a)
    c[NEEDS_PSI] = 1.0 if needs_psi else 0.0
    r_m = g.tau_m / g.c_m  # GOhm
    if g.synapses == "delta":
        c[K_E] = c[K_I] = 1.0                      # P_E = P_I = 0: inputs last one step
        c[V_EXT] = r_m * g.i_ext                   # steady-state shift of the resting potential
    else:
        c[P_E], c[P_I] = math.exp(-dt / g.tau_e), math.exp(-dt / g.tau_i)
        c[V_EXT] = r_m * g.i_ext
    if g.synapses == "current":
        c[K_E] = _current_coupling(dt, g.tau_m, g.tau_e, g.c_m)
        c[K_I] = _current_coupling(dt, g.tau_m, g.tau_i, g.c_m)
    return c




def _wire(net, families):
    """Concatenate every projection into one :class:`Wiring`; returns it and the largest
    per-synapse delay (steps) of the static projections with heterogeneous delays.

    The per-synapse neuron and synapse indices (``post_idx``, ``in_syn``, ``syn_pre``,
    ``in_pre``) are 32-bit while they fit (:data:`INDEX32_MAX`), 64-bit beyond: half the bytes
    of the arrays the rules walk, which keeps a 16 000-neuron network's synapses in the
    last-level cache (measured: CUBA at 16 000 neurons 0.90 -> 0.77 s)."""
    dt = net.dt
    projs = net.projections
    n = len(projs)
    meta = np.zeros((n, N_META), np.int64)
    cell_ids = [id(g) for g in net.groups if isinstance(g, NEURON_GROUPS)]
    sizes = {k: np.zeros(n, np.int64) for k in ("syn", "src", "tgt", "pre_ring", "post_ring", "ring")}
    steps_all = []
    max_het = 0
    for p, proj in enumerate(projs):
        delay = np.asarray(proj.delay)
        # one delay for all synapses (most projections): converted once, not per synapse
        steps = _delay_steps(delay[:1] if delay.size and delay.min() == delay.max() else delay, dt)
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
        m[M_FAMILY] = families.index(family_of(proj.rule)) if plastic else -1
        m[M_TRANSMIT] = 1 if getattr(proj, "transmit", True) else 0
        m[M_TGT_GROUP] = cell_ids.index(id(proj.target))
        if not uniform:
            max_het = max(max_het, int(steps.max()))
        steps_all.append(steps)
        sizes["syn"][p], sizes["src"][p], sizes["tgt"][p] = proj.n_syn, proj.source.n, proj.target.n
        sizes["ring"][p] = m[M_RING]
        sizes["pre_ring"][p] = m[M_RING] * proj.source.n if uniform and d > 0 else 0
        sizes["post_ring"][p] = m[M_RING] * proj.target.n if plastic and proj.delay_type == "dendritic" and d > 0 else 0
    off = {k: np.concatenate([[0], np.cumsum(v)]).astype(np.int64) for k, v in sizes.items()}

    def cat(pieces, dtype, shifts=None):
        """The pieces one after the other, each plus its shift (written in place: the network's
        first run allocates each array once, not three times)."""
        out = np.empty(sum(x.size for x in pieces), dtype)
        pos = 0
        for q, x in enumerate(pieces):
            if shifts is None:
                out[pos:pos + x.size] = x
            else:
                np.add(x, shifts[q], out=out[pos:pos + x.size], casting="unsafe")
            pos += x.size
        return out

    so, po, to = off["syn"], off["src"], off["tgt"]
    index = np.int32 if max(so[-1], to[-1], po[-1]) <= INDEX32_MAX else np.int64
    idx = [proj.index for proj in projs]
    w = cat([proj.w for proj in projs], float)
    # only the per-synapse delays the loop reads: the pages of the other projections' ranges
    # are never touched (calloc), 8 bytes per synapse less to fault in on a network's first run
    syn_delay = np.zeros(so[-1], np.int64)
    for p, steps in enumerate(steps_all):
        if meta[p, M_DELAY] < 0:
            syn_delay[so[p]:so[p + 1]] = steps
    wiring = Wiring(meta, so, po, to, off["pre_ring"], off["post_ring"], off["ring"],
                    cat([x.indptr[:-1] for x in idx], np.int64, so),
                    cat([x.indptr[1:] for x in idx], np.int64, so),
                    cat([x.post_idx for x in idx], index, to),
                    cat([x.post_ptr[:-1] for x in idx], np.int64),
                    cat([x.post_ptr[1:] for x in idx], np.int64),
                    cat([x.post_syn for x in idx], index, so),
                    cat([x.syn_pre for x in idx], index, po),
                    cat([x.post_pre for x in idx], index, po),
                    w, syn_delay,
                    np.zeros(off["pre_ring"][-1], np.int64), np.zeros(off["ring"][-1], np.int64),
                    np.zeros(off["post_ring"][-1], np.int64), np.zeros(off["ring"][-1], np.int64))
    # in_start/in_stop index in_syn, which is concatenated too: shift by the synapse offset
    for p in range(n):
        wiring.in_start[to[p]:to[p + 1]] += so[p]
        wiring.in_stop[to[p]:to[p + 1]] += so[p]
    for p, proj in enumerate(projs):
        proj.w = w[so[p]:so[p + 1]]  # the projection now views the simulated weights
    return wiring, max_het


try:
    from numpy._core.multiarray import _set_madvise_hugepage
except ImportError:                         # NumPy 1.x
    try:
        from numpy.core.multiarray import _set_madvise_hugepage
    except ImportError:
        _set_madvise_hugepage = None


@contextmanager
def small_pages():
    """Inside: NumPy does not ask Linux for transparent huge pages (it does for arrays of
    4 MB or more). Where the kernel then compacts memory at the first touch (THP defrag
    "madvise", as on the benchmark's VM), flattening a 16 000-neuron network into the loop's
    arrays took 50-90 ms instead of 23 ms (CUBA, first run; the loop itself ran no faster with
    huge pages). The setting is NumPy's own (also the NUMPY_MADVISE_HUGEPAGE variable) and is
    restored on leaving."""
    if _set_madvise_hugepage is None:
        yield
        return
    previous = _set_madvise_hugepage(False)
    try:
        yield
    finally:
        _set_madvise_hugepage(previous)


def _delay_steps(delay_ms, dt):
    from .connectivity import delay_steps
    return delay_steps(delay_ms, dt)


# ----------------------------------------------------------------------------------------
# The stages of one step, in the order of the module docstring. The generated loop
# (models.loopgen) calls them and, between them, the rule families' hooks.
# ----------------------------------------------------------------------------------------

@njit(cache=True, inline="always")
def monitor_full(mon):
    """True when the spike buffer could overflow in the next step (the chunk is cut there)."""
    return mon.spike_n[0] > mon.spike_room


@njit(cache=True, inline="always")
def _group_of(groups, n):
    """The row of ``groups`` (start, stop) that holds neuron n."""
    for g in range(groups.shape[0]):
        if groups[g, 0] <= n < groups[g, 1]:
            return g
    return 0


@njit(cache=True, inline="always")
def record_state(k, net, mon):
    """Stage 1: state monitors sample the values at the start of step k."""
    neu = net.neurons
    for e in range(mon.var.size):
        if k % mon.every[e] == 0:
            n = mon.idx[e]
            code = mon.var[e]
            if code == 0:
                value = neu.v[n]
            elif code == 1:
                value = neu.s_e[n] * neu.scale[_group_of(neu.groups, n), 0]
            elif code == 2:
                value = neu.s_i[n] * neu.scale[_group_of(neu.groups, n), 1]
            elif code == 3:
                value = neu.a[n]
            elif code == 4:
                value = neu.psi[n]
            elif code == 5:
                value = neu.thr[n]
            elif code == 6:
                value = net.readout.err[n]
            else:
                value = neu.aux[0 if code == 7 else 2, n]
            mon.out[e, mon.out_n[e]] = value
            mon.out_n[e] += 1


def neuron_kinds(consts) -> tuple:
    """The neuron kinds of :data:`models.loopgen.KINDS` that groups with these constants need:
    "lif_current" and "lif_conductance" (a LIF group of :func:`_lif_plain`, by its synapses),
    "lif_general" (a LIF group with subtractive reset, adaptation or psi), "adex"."""
    lif = consts[:, KIND] == KIND_LIF
    general = lif & ((consts[:, SUBTRACT] == 1.0) | (consts[:, ADAPTIVE] != 0.0) | (consts[:, NEEDS_PSI] == 1.0))
    plain = lif & ~general
    conductance = consts[:, CONDUCTANCE] == 1.0
    present = {"lif_current": plain & ~conductance, "lif_conductance": plain & conductance, "lif_general": general,
               "adex": consts[:, KIND] == KIND_ADEX}
    return tuple(name for name, groups in present.items() if groups.any())


@njit(cache=True, inline="always")
def integrate(k, net, spiked, lif_current, lif_conductance, lif_general, adex):
    """Stages 2-3 for every LIF and AdEx group: integrate, threshold, reset. Writes the
    spiking neurons into ``spiked`` and returns their number. The flags (literal booleans of
    the generated loop, :func:`neuron_kinds`) say whether the network has groups of each kind;
    the code of a kind it does not have is not compiled."""
    neu = net.neurons
    n_sp = np.int64(0)          # not the literal 0: Numba would compile every callee twice
    for g in range(neu.groups.shape[0]):
        c = neu.consts[g]
        kind = c[KIND]
        if kind == KIND_READOUT:
            continue
        if kind == KIND_ADEX:
            if adex:
                n_sp = _adex_group(k, net.dt, neu, g, c, spiked, n_sp)
            continue
        conductance = c[CONDUCTANCE] == 1.0
        subtract = c[SUBTRACT] == 1.0
        adaptive = c[ADAPTIVE] != 0.0
        needs_psi = c[NEEDS_PSI] == 1.0
        if not (subtract or adaptive or needs_psi):
            if conductance:
                if lif_conductance:
                    n_sp = _lif_plain_conductance(k, g, neu, spiked, n_sp)
            elif lif_current:
                if abs(c[E_LEAK] + c[V_EXT]) < SETTLE_FREE:
                    n_sp = _lif_plain_current_settled(k, g, neu, spiked, n_sp)
                else:
                    n_sp = _lif_plain_current(k, g, neu, spiked, n_sp)
            continue
        if lif_general:
            n_sp = _lif_general(k, g, neu, spiked, n_sp)
    return n_sp


# Below this factor, a scaled group's synaptic variables are rescaled (multiplied by F, F <- 1):
# inputs are divided by at most 2**200, and s * F stays far above the subnormal numbers
# (|s F| >= TINY 2**-200 ~ 1e-210 where it is not 0).
RESCALE_BELOW = 2.0 ** -200


@njit(cache=True, inline="always")
def _scaled_couplings(neu, g, c):
    """(K_E F_e, K_I F_i, F_e P_E, F_i P_I) for a current-based or delta LIF group: the
    couplings of the stored s_e, s_i to v at this step and the factors of the next step (an
    exponential decay of each synaptic variable is one multiplication of its factor). For a
    delta group (P = 0) the next factor is 0: the inputs are cleared by :func:`_rescale`."""
    f_e, f_i = neu.scale[g, 0], neu.scale[g, 1]
    return c[K_E] * f_e, c[K_I] * f_i, f_e * c[P_E], f_i * c[P_I]


@njit(cache=True, inline="always")
def _rescale(s, n0, n1, factor):
    """s <- s * factor on n0:n1 (settled) when ``factor`` is below :data:`RESCALE_BELOW`."""
    if factor < RESCALE_BELOW:
        _multiply_settled(s, n0, n1, factor)


@njit(cache=True)
def _multiply_settled(s, n0, n1, factor):
    """Not inlined: its vector loop, in each of the loop's LIF variants, made a cold first
    compilation of ``plab demo`` 2.7 s longer (measured 11.7-12.3 -> 14.4-15.0 s)."""
    for n in range(n0, n1):
        s[n] = _settle(s[n] * factor, 0.0)


@njit(cache=True, inline="always")
def _set_scale(neu, g, next_e, next_i):
    """Store the factors of the next step (1 where :func:`_rescale` applied them)."""
    f_e = 1.0 if next_e < RESCALE_BELOW else next_e
    f_i = 1.0 if next_i < RESCALE_BELOW else next_i
    neu.scale[g, 0], neu.scale[g, 1] = f_e, f_i
    neu.scale[g, 2], neu.scale[g, 3] = 1.0 / f_e, 1.0 / f_i


@njit(cache=True, inline="always")
def _current_lif(v, v_rest, p_m, kf_e, s_e, kf_i, s_i):
    """Exact integration of the current-based LIF over one step (Rotter & Diesmann 1999):
    v_rest + (v - v_rest) P_M + K_E I_e + K_I I_i with K F s for I, as fused multiply-adds
    (one rounding each; three of the pass's vector operations fewer)."""
    return fma(kf_i, s_i, fma(kf_e, s_e, fma(v - v_rest, p_m, v_rest)))


LINE_WEIGHTS = 8    # float64 weights per 64-byte cache line
# Networks with more bytes of weights than this get the cache hints (prefetch_rows,
# prefetch_columns) in their loop: beyond the private caches of most processors. On the 4 000-
# neuron CUBA network (2.5 MB) the hints took 0.02 s and saved 0.05 s; a network whose synapses
# stay in cache has nothing to gain from them (on Song 2000, 8 kB, no difference was measurable).
PREFETCH_BYTES = 2 ** 21
LIF_BLOCK = 256     # neurons per block of the plain LIF update: its arrays stay in L1 between the passes


@njit(cache=True, inline="always")
def _lif_plain(k, g, neu, conductance, settle_v, spiked, n_sp):
    """Stages 2-3 for a LIF group without adaptation, subtractive reset or psi (most networks):
    the arithmetic of the general loop of :func:`integrate`, block by block
    (:data:`LIF_BLOCK` neurons), in two passes so that the first (every neuron integrated, the
    result kept only where not refractory) has no branch and compiles to vector instructions;
    it also counts the potentials above threshold, and the second pass, which finds the
    spikes, runs only in the blocks where that count is not zero (at a few Hz, most blocks
    have none; measured 0.94 -> 0.64 ns per neuron and step at 16 000 neurons). The spike
    flags z are cleared only in blocks with a neuron that spiked at the previous step (the
    only ones set; the block's ``fired_at`` says which), not rewritten for every neuron at
    every step. ``settle_v`` (a literal) is False when the resting potential is far enough
    from 0 for :func:`_settle` to be the identity on it (:data:`SETTLE_FREE`): those
    operations are left out (a quarter of the pass with the block flags; measured 0.65 ->
    0.53 ns per neuron and step on an AVX-512 Xeon). Each block's slices are indexed from 0
    (measured: indices into the whole arrays keep LLVM from vectorising, 3.5x slower). A
    current-based group's synaptic variables are not written: their decay is the group's
    ``scale`` (:func:`_scaled_couplings`; with the fused v update, the same arithmetic alone at
    4 000 neurons went from 0.55-0.58 to 0.38-0.42 ns per neuron and step on the AVX-512 Xeon,
    and the whole CUBA loop at 4 000 neurons from 0.26 to 0.21 Gcyc)."""
    c = neu.consts[g]
    n0, n1 = neu.groups[g, 0], neu.groups[g, 1]
    p_m, p_e, p_i = c[P_M], c[P_E], c[P_I]
    kf_e, kf_i, next_e, next_i = _scaled_couplings(neu, g, c)
    e_leak, e_e, e_i, v_ext, dt_tau = c[E_LEAK], c[E_E], c[E_I], c[V_EXT], c[DT_TAU_M]
    thr, v_reset, ref_steps = c[V_TH], c[V_RESET], int(c[REF_STEPS])
    v_rest = e_leak + v_ext
    for b0 in range(n0, n1, LIF_BLOCK):
        b1 = min(b0 + LIF_BLOCK, n1)
        v, s_e, s_i, ref_until, z = neu.v[b0:b1], neu.s_e[b0:b1], neu.s_i[b0:b1], neu.ref_until[b0:b1], neu.z[b0:b1]
        if neu.fired_at[b0] >= k - 1:  # ">=": a checkpoint without the field clears until a spike
            for n in range(z.size):
                z[n] = 0.0
        above = 0
        factor = neu.scratch[b0:b1]
        if conductance:
            for n in range(v.size):     # alone in its loop, the exp vectorises (measured 2x)
                factor[n] = exp_nonpositive(-dt_tau * (1.0 + s_e[n] + s_i[n]))
        for n in range(v.size):         # ``conductance`` is a literal: one branch is compiled
            ge, gi, vn = s_e[n], s_i[n], v[n]
            if conductance:
                g_tot = 1.0 + ge + gi
                v_inf = (e_leak + ge * e_e + gi * e_i + v_ext) / g_tot
                new = v_inf + (vn - v_inf) * factor[n]
            else:
                new = _current_lif(vn, v_rest, p_m, kf_e, ge, kf_i, gi)
                if settle_v:
                    new = _settle(new, v_rest)
            # "+ 0.0" (exact but for -0.0 -> 0.0): with "else vn", LLVM turns the select into a
            # masked store, which on processors without AVX-512 (measured on Zen 3) made the
            # pass 1.3x slower than this blend and plain store
            vn = new if k >= ref_until[n] else vn + 0.0
            v[n] = vn
            above += vn > thr
            if conductance:
                s_e[n] = _settle(ge * p_e, 0.0)
                s_i[n] = _settle(gi * p_i, 0.0)
        if not conductance:
            _rescale(s_e, 0, s_e.size, next_e)
            _rescale(s_i, 0, s_i.size, next_i)
        if above == 0:
            continue
        for n in range(v.size):
            if v[n] > thr:
                if k >= ref_until[n]:
                    v[n] = v_reset
                    ref_until[n] = k + ref_steps
                    z[n] = 1.0
                    spiked[n_sp] = b0 + n
                    n_sp += 1
                    neu.fired_at[b0] = k
                above -= 1
                if above == 0:          # the first pass counted them: the rest of the block has none
                    break
    if not conductance:
        _set_scale(neu, g, next_e, next_i)
    return n_sp


# The neuron passes are compiled functions of their own that LLVM inlines (forceinline), not
# inlined by Numba (inline="always") into integrate() and the loop: Numba copies an inlined
# function's IR block by block, each copy with the whole scope (numba/numba#8989), so that
# inlining the three plain passes and the general loop into integrate(), and integrate() into
# the loop, took 3.1 of the 13 s of a cold plab demo (measured: cold demo 12.9 -> 10.3 s, the
# first e-prop loop 12.5 -> 9.1 s). LLVM-level inlining keeps them free of a call per group
# and step, which cost Song 2000 (one neuron) 30 % (measured 0.14 -> 0.18 s).
_PASS = dict(cache=True, error_model="numpy", _nrt=False, forceinline=True)


@njit(**_PASS)
def _lif_general(k, g, neu, spiked, n_sp):
    """Stages 2-3 for a LIF group with adaptation, subtractive reset or psi (the e-prop
    networks), one neuron at a time."""
    c = neu.consts[g]
    conductance = c[CONDUCTANCE] == 1.0
    subtract = c[SUBTRACT] == 1.0
    adaptive = c[ADAPTIVE] != 0.0
    needs_psi = c[NEEDS_PSI] == 1.0
    sp = neu.surr[g]
    n0, n1 = neu.groups[g, 0], neu.groups[g, 1]
    kf_e, kf_i, next_e, next_i = _scaled_couplings(neu, g, c)
    for n in range(n0, n1):
        ge = neu.s_e[n]
        gi = neu.s_i[n]
        thr = c[V_TH]
        if adaptive:
            a = _settle(c[RHO] * neu.a[n] + neu.z[n], 0.0)
            neu.a[n] = a
            thr += neu.beta[n] * a
            neu.thr[n] = thr
        neu.z[n] = 0.0
        if k >= neu.ref_until[n]:
            v = neu.v[n]
            if conductance:
                g_tot = 1.0 + ge + gi
                v_inf = (c[E_LEAK] + ge * c[E_E] + gi * c[E_I] + c[V_EXT]) / g_tot
                v = v_inf + (v - v_inf) * exp_nonpositive(-c[DT_TAU_M] * g_tot)
            else:
                v_rest = c[E_LEAK] + c[V_EXT]
                v = _settle(_current_lif(v, v_rest, c[P_M], kf_e, ge, kf_i, gi), v_rest)
            if subtract and neu.pend[n] != 0.0:
                v -= (c[V_TH] - c[V_RESET]) * neu.pend[n]
                neu.pend[n] = 0.0
            if needs_psi:
                neu.psi[n] = _psi(v - thr, sp)
            if v > thr:
                if subtract:
                    neu.pend[n] += 1.0
                else:
                    v = c[V_RESET]
                neu.ref_until[n] = k + int(c[REF_STEPS])
                neu.z[n] = 1.0
                spiked[n_sp] = n
                n_sp += 1
            neu.v[n] = v
        elif needs_psi:
            neu.psi[n] = 0.0
        if conductance:
            neu.s_e[n] = _settle(ge * c[P_E], 0.0)
            neu.s_i[n] = _settle(gi * c[P_I], 0.0)
    if not conductance:
        _rescale(neu.s_e, n0, n1, next_e)
        _rescale(neu.s_i, n0, n1, next_i)
        _set_scale(neu, g, next_e, next_i)
    return n_sp


@njit(**_PASS)
def _lif_plain_conductance(k, g, neu, spiked, n_sp):
    """The plain pass of a conductance-based group."""
    return _lif_plain(k, g, neu, True, False, spiked, n_sp)


@njit(**_PASS)
def _lif_plain_current(k, g, neu, spiked, n_sp):
    """The plain pass of a current-based or delta group at rest away from 0."""
    return _lif_plain(k, g, neu, False, False, spiked, n_sp)


@njit(**_PASS)
def _lif_plain_current_settled(k, g, neu, spiked, n_sp):
    """The plain pass of a current-based or delta group at rest 0 (v settled)."""
    return _lif_plain(k, g, neu, False, True, spiked, n_sp)


TINY = 1e-150
# _settle(x, rest) is x itself when |rest| >= SETTLE_FREE: the doubles nearest to such a rest
# are more than TINY from it (2**-53 |rest| > 1e-147), so the plain LIF update leaves it out
SETTLE_FREE = 1e-130


@njit(cache=True, inline="always")
def _settle(x, rest):
    """``rest`` when x is within TINY of it: a quantity that decays exponentially (silent
    inputs, a membrane at rest 0) would otherwise reach subnormal numbers after ~15 000
    steps, where every operation on it costs ~100 times more (measured: a silent e-prop
    network ran 30x slower). 1e-150 is far below anything a result can show."""
    return rest if abs(x - rest) < TINY else x


@njit(cache=True)
def _adex_group(k, dt, neu, g, c, spiked, n_sp):
    """Stages 2-3 for an AdEx group: plasticity.voltage.adex_step (the arithmetic of
    adex_run), the inputs of the previous step as its jumps (mV)."""
    p = c[ADEX_0:ADEX_0 + 16]
    aux = neu.aux
    for n in range(neu.groups[g, 0], neu.groups[g, 1]):
        jump = neu.s_e[n] + neu.s_i[n]
        neu.s_e[n] = 0.0
        neu.s_i[n] = 0.0
        u, w_ad, z_ad, vt, clamp, spike = adex_step(p, dt, c[REF_STEPS], c[V_EXT], jump, False,
                                                    neu.v[n], aux[0, n], aux[1, n], aux[2, n], aux[3, n])
        neu.z[n] = 1.0 if spike else 0.0
        if spike:
            spiked[n_sp] = n
            n_sp += 1
        neu.v[n] = u
        neu.thr[n] = vt
        aux[0, n], aux[1, n], aux[2, n], aux[3, n] = w_ad, z_ad, vt, clamp
    return n_sp


@njit(cache=True, inline="always")
def emit_sources(s, src_ptr, src_ids, spiked, n_sp):
    """Stage 3 for the sources: append the step's Poisson and generator spikes."""
    for e in range(src_ptr[s], src_ptr[s + 1]):
        spiked[n_sp] = src_ids[e]
        n_sp += 1
    return n_sp


@njit(cache=True, inline="always")
def record_spikes(k, spiked, n_sp, mon):
    for e in range(n_sp):
        if mon.spike_mask[spiked[e]]:
            mon.spike_i[mon.spike_n[0]] = spiked[e]
            mon.spike_k[mon.spike_n[0]] = k
            mon.spike_n[0] += 1


@njit(cache=True, inline="always")
def _deliver(wr, p, j, neu):
    """Add the current weights of presynaptic trace index j's synapses to their targets."""
    m = wr.meta
    if m[p, M_TRANSMIT] == 0:
        return
    target, shift, unit = synaptic_input(wr, neu, p)
    for s in range(wr.syn_start[j], wr.syn_stop[j]):
        target[shift + wr.post_idx[s]] += wr.w[s] * unit


@njit(cache=True, inline="always")
def _slot(wr, ring_base, p, step, ring, width):
    """(counter index, first entry) of projection p's delay-ring slot for ``step``."""
    slot = step % ring
    return wr.ring_off[p] + slot, ring_base[p] + slot * width


@njit(cache=True, inline="always")
def propagate(net, p, k, spiked, n_sp, input_ring, arrived):
    """Stage 4 for projection p: deliver the arriving spikes; write into ``arrived`` the
    presynaptic trace indices whose plasticity event is now (arrival for axonal delays,
    emission for dendritic ones) and return their number (0 for static projections)."""
    wr = net.wiring
    neu = net.neurons
    m = wr.meta
    src, n_src = m[p, M_SRC], m[p, M_NSRC]
    to_trace = wr.src_off[p] - src
    d = m[p, M_DELAY]
    plastic = m[p, M_PLASTIC] == 1
    n_arr = 0
    if d < 0:  # static projection with per-synapse delays: schedule into the input ring
        if m[p, M_TRANSMIT] == 0:
            return 0
        ring_len = input_ring.shape[0]
        shift, r = m[p, M_TGT] - wr.tgt_off[p], m[p, M_RECEPTOR]
        for e in range(n_sp):
            n = spiked[e]
            if src <= n < src + n_src:
                j = n + to_trace
                for s in range(wr.syn_start[j], wr.syn_stop[j]):
                    input_ring[(k + wr.syn_delay[s]) % ring_len, shift + wr.post_idx[s], r] += wr.w[s]
        return 0
    if d == 0:
        for e in range(n_sp):
            n = spiked[e]
            if src <= n < src + n_src:
                j = n + to_trace
                _deliver(wr, p, j, neu)
                if plastic:
                    arrived[n_arr] = j
                    n_arr += 1
        return n_arr
    dendritic = m[p, M_DENDRITIC] == 1
    ring = m[p, M_RING]
    c, base = _slot(wr, wr.pre_ring_off, p, k, ring, n_src)
    for q in range(wr.pre_ring_n[c]):
        j = wr.pre_ring[base + q]
        _deliver(wr, p, j, neu)
        if plastic and not dendritic:
            arrived[n_arr] = j
            n_arr += 1
    wr.pre_ring_n[c] = 0
    c, base = _slot(wr, wr.pre_ring_off, p, k + d, ring, n_src)
    for e in range(n_sp):
        n = spiked[e]
        if src <= n < src + n_src:
            j = n + to_trace
            wr.pre_ring[base + wr.pre_ring_n[c]] = j
            wr.pre_ring_n[c] += 1
            if plastic and dendritic:
                arrived[n_arr] = j
                n_arr += 1
    return n_arr


@njit(cache=True, inline="always")
def flush_input_ring(k, net, input_ring):
    """End of stage 4: inputs of heterogeneous-delay projections due at step k."""
    neu = net.neurons
    slot_in = k % input_ring.shape[0]
    for g in range(neu.groups.shape[0]):
        unit_e, unit_i = neu.scale[g, 2], neu.scale[g, 3]     # 1 / F (NeuronArrays.scale)
        for n in range(neu.groups[g, 0], neu.groups[g, 1]):
            neu.s_e[n] += input_ring[slot_in, n, 0] * unit_e
            neu.s_i[n] += input_ring[slot_in, n, 1] * unit_i
            input_ring[slot_in, n, 0] = 0.0
            input_ring[slot_in, n, 1] = 0.0


@njit(cache=True, inline="always")
def post_targets(net, p, k, spiked, n_neuron_spikes, arrived):
    """Stage 5 for projection p: write into ``arrived`` the postsynaptic trace indices whose
    spike reaches the synapses now (delayed if dendritic) and return their number."""
    wr = net.wiring
    m = wr.meta
    if m[p, M_PLASTIC] == 0:
        return 0
    tgt, n_tgt = m[p, M_TGT], m[p, M_NTGT]
    to_trace = wr.tgt_off[p] - tgt
    d = m[p, M_DELAY]
    n_out = 0
    if m[p, M_DENDRITIC] == 1 and d > 0:
        ring = m[p, M_RING]
        c, base = _slot(wr, wr.post_ring_off, p, k, ring, n_tgt)
        for q in range(wr.post_ring_n[c]):
            arrived[n_out] = wr.post_ring[base + q]
            n_out += 1
        wr.post_ring_n[c] = 0
        c, base = _slot(wr, wr.post_ring_off, p, k + d, ring, n_tgt)
        for e in range(n_neuron_spikes):
            n = spiked[e]
            if tgt <= n < tgt + n_tgt:
                wr.post_ring[base + wr.post_ring_n[c]] = n + to_trace
                wr.post_ring_n[c] += 1
        return n_out
    for e in range(n_neuron_spikes):
        n = spiked[e]
        if tgt <= n < tgt + n_tgt:
            arrived[n_out] = n + to_trace
            n_out += 1
    return n_out


@njit(cache=True, inline="always")
def prefetch_rows(net, p, spiked, n_sp):
    """Before stage 4, for a projection without delays: ask for the cache lines of the rows
    (weights and targets) that the step's spikes will deliver, so that the processor
    fetches them together instead of row by row. A hint changes no value."""
    wr = net.wiring
    m = wr.meta
    if m[p, M_DELAY] != 0 or m[p, M_TRANSMIT] == 0:
        return
    src, n_src = m[p, M_SRC], m[p, M_NSRC]
    to_trace = wr.src_off[p] - src
    for e in range(n_sp):
        n = spiked[e]
        if src <= n < src + n_src:
            j = n + to_trace
            s0, s1 = wr.syn_start[j], wr.syn_stop[j]
            for s in range(s0, s1, LINE_WEIGHTS):
                prefetch(wr.w, s)
            for s in range(s0, s1, 2 * LINE_WEIGHTS):
                prefetch(wr.post_idx, s)


@njit(cache=True, inline="always")
def prefetch_columns(net, p, spiked, n_neuron_spikes):
    """Before stage 4, for a projection whose rule walks the incoming synapses of a spiking
    neuron (``on_post``): ask for the cache lines of those synapses' weights, which are
    scattered over ``w``, so that the processor fetches them while stage 4 runs and the
    walk of stage 5 finds them in cache. A hint changes no value. Skipped for dendritic
    delays (their walks come later)."""
    wr = net.wiring
    m = wr.meta
    if m[p, M_PLASTIC] == 0 or (m[p, M_DENDRITIC] == 1 and m[p, M_DELAY] > 0):
        return
    tgt, n_tgt = m[p, M_TGT], m[p, M_NTGT]
    to_trace = wr.tgt_off[p] - tgt
    for e in range(n_neuron_spikes):
        n = spiked[e]
        if tgt <= n < tgt + n_tgt:
            i = n + to_trace
            for q in range(wr.in_start[i], wr.in_stop[i]):
                prefetch(wr.w, wr.in_syn[q])


@njit(cache=True, inline="always")
def readouts(k, k_chunk, net):
    """Stage 6: y <- kappa*y + inputs of the step + b and the bias trace cb <- kappa*cb + 1;
    then the error of the step's phase: MSE err = y - target (gb += err*cb); CE: window sums
    of y and cb, and at the window's last step the CE error (gb += err*window sum of cb).
    Before t_start: y = 0, no error."""
    neu = net.neurons
    ro = net.readout
    s = k - k_chunk
    for g in range(neu.groups.shape[0]):
        c = neu.consts[g]
        if c[KIND] != KIND_READOUT:
            continue
        kappa = c[P_M]
        started = k >= c[START_STEP]
        n0, n1 = neu.groups[g, 0], neu.groups[g, 1]
        for n in range(n0, n1):
            inp = neu.s_e[n] + neu.s_i[n]
            neu.s_e[n] = 0.0
            neu.s_i[n] = 0.0
            ro.err[n] = 0.0
            ro.mode[n] = 0
            if not started:
                neu.v[n] = 0.0
                continue
            y = _settle(kappa * neu.v[n] + inp + ro.b[n], 0.0)
            neu.v[n] = y
            ro.cb[n] = kappa * ro.cb[n] + 1.0
            phase = ro.phase[s, ro.col[n]]
            ro.mode[n] = phase
            if phase == 1:
                target = ro.target[s, ro.col[n]]
                if target == target:                     # NaN: no target at this step
                    err = y - target
                    ro.err[n] = err
                    ro.loss[0] += err * err
                    ro.gb[n] += err * ro.cb[n]
                else:
                    ro.mode[n] = 0
            elif phase >= 2:
                ro.ysum[n] += y
                ro.scb[n] += ro.cb[n]
        if started and ro.phase[s, ro.col[n0]] == 3:
            label = int(ro.target[s, ro.col[n0]])
            ro.loss[0] += softmax_ce_error(ro.ysum[n0:n1], c[WINDOW], label, 1.0, ro.err[n0:n1])
            for n in range(n0, n1):
                ro.gb[n] += ro.err[n] * ro.scb[n]
                ro.ysum[n] = 0.0
                ro.scb[n] = 0.0


@njit(cache=True, inline="always")
def modulators(k, net, spiked, n_sp):
    """Stage 7: decay every modulator by one step, run the critics on the step's spikes,
    then add the releases due at step k (scheduled, then the critics' pending ones)."""
    md = net.modulators
    for m in range(md.level.size):
        md.level[m] *= md.decay[m]
        md.release[m] = 0.0
    for c in range(md.crit_i.shape[0]):
        pre, post, m, window = md.crit_i[c, 0], md.crit_i[c, 1], md.crit_i[c, 2], md.crit_i[c, 3]
        for e in range(n_sp):
            if spiked[e] == pre:
                md.crit_last[c] = k
        for e in range(n_sp):
            if spiked[e] == post and 0 < k - md.crit_last[c] <= window:
                if md.pend_n[0] == md.pend_k.size:
                    md.dropped[0] += 1
                    continue
                u = _counter_uniform(md.key[0], 1_000_003 + c, md.crit_n[c])
                md.crit_n[c] += np.uint64(1)
                delay = md.crit_f[c, 0] + (md.crit_f[c, 1] - md.crit_f[c, 0]) * (1.0 - u)
                q = md.pend_n[0]
                md.pend_k[q] = k + int(math.floor(delay + 0.5))
                md.pend_m[q] = m
                md.pend_a[q] = md.crit_f[c, 2]
                md.pend_n[0] += 1
    pos = md.sched_pos[0]
    while pos < md.sched_k.size and md.sched_k[pos] <= k:
        if md.sched_k[pos] == k:
            _release(md, md.sched_m[pos], md.sched_a[pos], k)
        pos += 1
    md.sched_pos[0] = pos
    q = 0
    while q < md.pend_n[0]:
        if md.pend_k[q] <= k:
            _release(md, md.pend_m[q], md.pend_a[q], k)
            last = md.pend_n[0] - 1
            md.pend_k[q], md.pend_m[q], md.pend_a[q] = md.pend_k[last], md.pend_m[last], md.pend_a[last]
            md.pend_n[0] = last
        else:
            q += 1


@njit(cache=True, inline="always")
def _release(md, m, amount, k):
    md.level[m] += amount
    md.release[m] += amount
    n = md.log_n[0]
    if n < md.log_k.size:
        md.log_k[n], md.log_m[n], md.log_a[n] = k, m, amount
        md.log_n[0] = n + 1
    else:
        md.dropped[1] += 1


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
def take_spikes(i, k, first, n, dt, out_i, out_t, pos):
    """Append the spikes of neurons ``first`` to ``first + n - 1`` among the chunk's (global
    index ``i``, step ``k``), in their order, to ``out_i`` (index in the group) and ``out_t``
    (time, ms) from row ``pos``, which must have room for all of them; returns the new row
    count. One pass, no temporaries: the NumPy masks it replaces (its twin,
    :func:`take_spikes_reference`) took 2.2 ms of an 80 ms run of the 4 000-neuron CUBA
    network, which records 50 000 spikes."""
    for e in range(i.size):
        x = i[e] - first
        if 0 <= x < n:
            out_i[pos] = x
            out_t[pos] = k[e] * dt
            pos += 1
    return pos


def take_spikes_reference(i, k, first, n, dt):
    """Twin of :func:`take_spikes`: (indices in the group, times in ms) of the group's spikes."""
    mine = (i >= first) & (i < first + n)
    return i[mine] - first, k[mine] * dt


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
                    for e in range(n):      # a loop, not a slice assignment (see plasticity.replay)
                        grown_k[e], grown_id[e] = ev_k[e], ev_id[e]
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


