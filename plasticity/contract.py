"""The rule contract: how a rule family plugs into ``models.Network`` projections.

A *family* is a set of Numba kernels that share one data layout; a *rule* is a frozen
parameter dataclass whose ``family`` attribute names its family. Every plastic projection
of a network belongs to the family of its rule. A family provides:

``build(projections, net) -> data``
    Python, once before the first step: the family's arrays for all its projections of the
    network (one ``NamedTuple``; per-projection rows indexed by the projection index ``p``).
    ``projections`` is a list of ``(p, projection)``; ``net`` is the ``models.Network``.
``on_pre(data, net, p, j, t)``          (``@njit``; hook "on_pre")
    a presynaptic spike of trace index ``j`` reaches projection ``p``'s synapses at ``t`` (ms),
    after its weight has been delivered (axonal delay: at arrival; dendritic: at emission).
``on_post(data, net, p, i, t)``         (``@njit``; hook "on_post")
    a spike of postsynaptic trace index ``i`` reaches the synapses (dendritic delay: later).
``on_step(data, net, p, k, t)``         (``@njit``; hook "on_step", optional)
    once per step ``k`` and projection, after every postsynaptic event and the modulators.
``sync(data, net_view, t)``             (Python, optional)
    bring lazily integrated state up to ``t`` before weights are read (chunk boundaries).

``net`` inside the kernels is the loop's read-only view (``models.simulate.NetView``):
``net.wiring`` (CSR rows by trace index: ``syn_start``, ``syn_stop``, ``post_idx``,
``in_start``, ``in_stop``, ``in_syn``, ``in_pre`` (= ``syn_pre[in_syn]``), ``syn_pre``; weights ``w``; offsets ``src_off``,
``tgt_off``, ``syn_off``; ``meta``), ``net.neurons`` (per global neuron: ``v`` mV, ``thr``
the current threshold A mV, ``psi`` the pseudo-derivative dz/dv, ``z`` 1.0 if it spiked in
this step), ``net.readout`` (``err`` per readout neuron: y - target, 0 outside the target),
``net.modulators`` (``release``: amount released in this step, ``level``: concentration),
and ``net.dt`` (ms). Trace index ``j`` of projection ``p`` is ``src_off[p] + local pre``;
``i`` is ``tgt_off[p] + local post``; global neuron = ``meta[p, M_TGT] + local post``.

A family declares what it reads (``reads``, a subset of :data:`READS`) and may name the
group kinds it accepts (``targets``, class names; ``check`` for anything finer) so the
network can refuse a target that cannot provide it (e-prop needs psi: a LIF target; Clopath needs v of
an AdEx target). Kernels mutate only their own data and the weights of their projections'
synapses, and allocate nothing (the loop runs without Numba's reference counting).

**Dispatch.** The network generates, once per *set of families*, a small Python module with
the time loop that imports each family's kernels and calls them by a static ``if`` on the
projection's family number (``models.loopgen``); Numba compiles it with ``cache=True`` like
any module. Why not first-class functions: a jitted loop taking kernels as arguments is
specialised per ``Dispatcher`` type, and those types do not survive a process (measured with
Numba 0.68: a new cache entry per process, never a hit). The generated module's name is a hash
of the families and of the sources it depends on, so an edit to a kernel compiles anew.

Adding a family never edits the loop: create a :class:`Family` (its kernels can live in any
module, a test file included) and give rules a ``family`` attribute returning it.
"""
from __future__ import annotations

import hashlib
import inspect
from dataclasses import dataclass

from numba import njit

from .errors import ParameterError

HOOKS = ("on_pre", "on_post", "on_step")

# Columns of ``net.wiring.meta`` (one row per projection), read by the loop and by kernels:
# first global index and size of the source and target groups, receptor (0 excitatory, 1
# inhibitory), delay in steps (-1: per synapse), dendritic, plastic, delay-ring length, the
# family's number in the loop, whether spikes reach the target (transmit), and the target's
# row in ``net.neurons.groups``.
(M_SRC, M_NSRC, M_TGT, M_NTGT, M_RECEPTOR, M_DELAY, M_DENDRITIC, M_PLASTIC, M_RING, M_FAMILY, M_TRANSMIT,
 M_TGT_GROUP) = range(12)
N_META = 12
READS = ("v", "thr", "psi", "z", "modulator", "learning_signal")


@njit(cache=True, inline="always")
def synaptic_input(wiring, neurons, p):
    """Where projection p's spikes land: (array, shift, unit). A weight w of synapse s is
    added as ``array[shift + post_idx[s]] += w * unit``: ``array`` is the target's s_e or s_i
    by receptor, and ``unit`` is 1/F of the target group, whose synaptic variables are stored
    divided by a decaying factor F (``models.simulate.NeuronArrays.scale``; 1 for groups that
    do not scale)."""
    m = wiring.meta
    r = m[p, M_RECEPTOR]
    array = neurons.s_e if r == 0 else neurons.s_i
    return array, m[p, M_TGT] - wiring.tgt_off[p], neurons.scale[m[p, M_TGT_GROUP], 2 + r]

_REGISTRY: dict[str, "Family"] = {}


@dataclass(frozen=True, eq=False)
class Family:
    """A rule family: its name (unique), its ``@njit`` hooks, its ``build`` and what it reads."""

    name: str
    build: object
    on_pre: object = None
    on_post: object = None
    on_step: object = None
    sync: object = None
    reads: tuple = ()
    targets: tuple = ()                 # group kinds (class names) it accepts as targets; () = any
    check: object = None                # optional (rule, source, target, net) -> None, raises ParameterError

    def __post_init__(self):
        if not self.name.isidentifier():
            raise ParameterError(f"family name must be a Python identifier, got {self.name!r}")
        for r in self.reads:
            if r not in READS:
                raise ParameterError(f"reads must be a subset of {READS}, got {r!r}")
        if not any(getattr(self, h) is not None for h in HOOKS):
            raise ParameterError(f"family {self.name!r} must provide at least one of {HOOKS}")
        _REGISTRY[self.name] = self   # a redefinition (reloaded module) replaces the old one

    @property
    def hooks(self) -> tuple:
        return tuple(h for h in HOOKS if getattr(self, h) is not None)


def family_of(rule) -> Family:
    """The family of ``rule`` (its ``family`` attribute), or a ParameterError naming the rule."""
    if isinstance(rule, type):
        raise ParameterError(f"rule must be a rule instance, got the class {rule.__name__} "
                             f"(create one: rule={rule.__name__}())")
    fam = getattr(rule, "family", None)
    if not isinstance(fam, Family):
        raise ParameterError(f"rule must be a rule with a family (PairSTDP, TripletSTDP, InhibitorySTDP, "
                             f"DopamineSTDP, ClopathSTDP, EPropRule, OTTTRule, or your own), "
                             f"got {type(rule).__name__}")
    return fam


def kernel(name: str, hook: str):
    """The ``hook`` kernel of registered family ``name`` (used by the generated loops)."""
    return getattr(_REGISTRY[name], hook)


def _source_digest(fam: Family, graph) -> str:
    h = hashlib.sha256(fam.name.encode())
    for hook in HOOKS:
        fn = getattr(fam, hook)
        if fn is None:
            continue
        py = getattr(fn, "py_func", fn)
        try:
            h.update(graph.file_digest(inspect.getsourcefile(py)).encode())
        except (OSError, TypeError):
            h.update(repr(py).encode())
    return h.hexdigest()


def source_digest(families, graph) -> str:
    """Digest of the families' kernel modules and of the Numba modules they import (part of the
    generated loop's name); ``graph`` is a ``plasticity.jit_cache.ModuleGraph``."""
    h = hashlib.sha256()
    for fam in families:
        h.update(_source_digest(fam, graph).encode())
    return h.hexdigest()
