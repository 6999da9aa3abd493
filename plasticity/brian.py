"""The Brian2 bridge: the same rule, from the same parameters, inside Brian2.

Two paths (both take the rule's frozen dataclass; units are converted once, here):

* :func:`to_brian` writes the rule as Brian2 ``Synapses`` equations (per-synapse
  event-driven traces). Runs on every Brian2 target: numpy, cython and cpp_standalone.
* :func:`attach` plugs the rule's Numba kernels into an existing Brian2 network through a
  ``network_operation`` that runs after the synaptic pathways of each step, on the spikes
  of that step. For rules equations cannot express; runtime targets only.
  :func:`attach_dopamine` does the same for the dopamine-modulated rule
  (:mod:`plasticity.modulated`), with a group whose spikes are the dopamine releases.

Conventions shared with the native loop (models/simulate.py): a presynaptic spike first
transmits (``transmit`` statement, the current weight) and then depresses; presynaptic
pathways run before postsynaptic ones in a step (Brian2's default order -1 / +1), so a pre
and a post spike in the same step form a potentiating pair with dt = 0. Axonal delays are
the ``pre`` pathway's delay (Brian2's convention, our default); dendritic delays put the
delay on the ``post`` pathway and on a separate transmitting pathway (NEST's convention).
"""
from __future__ import annotations

import shutil
import tempfile
from contextlib import contextmanager

import numpy as np
from numba import njit

from . import modulated, stdp, voltage
from .errors import ParameterError, check_choice

TRACE_NAMES = ("r1", "r2", "o1", "o2")  # Pfister & Gerstner's names; no _pre/_post suffixes
PREFIX = "stdp_"                        # namespace keys, to stay clear of the user's names


TARGETS = ("numpy", "cython", "cpp_standalone")  # Brian2 code-generation targets


@contextmanager
def brian_target(target: str, dt_ms: float):
    """Select a Brian2 code-generation target (and the clock dt, ms) for the enclosed block.

    cpp_standalone builds into a temporary directory that is removed afterwards; the
    device is reset to runtime on exit, so targets can follow each other in one process.
    """
    b2 = _brian()
    check_choice("target", target, TARGETS)
    old_target = b2.prefs.codegen.target
    old_dt = b2.defaultclock.dt
    directory = None
    try:
        if target == "cpp_standalone":
            directory = tempfile.mkdtemp(prefix="plab-brian-")
            b2.set_device("cpp_standalone", directory=directory, build_on_run=True, debug=False)
        else:
            b2.prefs.codegen.target = target
        b2.defaultclock.dt = dt_ms * b2.ms
        yield b2
    finally:
        if target == "cpp_standalone":
            b2.device.reinit()
            b2.device.activate()
            b2.set_device("runtime")
            shutil.rmtree(directory, ignore_errors=True)
        b2.prefs.codegen.target = old_target
        b2.defaultclock.dt = old_dt


def _brian():
    try:
        import brian2
    except ImportError as exc:  # pragma: no cover - brian2 is a dependency
        raise ImportError("the Brian2 bridge needs brian2 (pip install brian2)") from exc
    return brian2


def to_brian(rule, *, weight: str = "w", transmit: str | None = None, delay_type: str = "axonal") -> dict:
    """Brian2 ``Synapses`` keyword arguments for ``rule``: model, on_pre, on_post, namespace.

    Parameters
    ----------
    rule : PairSTDP | TripletSTDP | InhibitorySTDP
    weight : name of the (dimensionless) weight variable, declared in the model.
    transmit : statement run on each presynaptic spike before the plasticity, e.g.
        ``"ge_post += w"``. With ``delay_type="dendritic"`` it goes to its own pathway
        ``transmit`` (give it the delay: ``S.transmit.delay = d``; ``S.post.delay = d``),
        while the plasticity of the ``pre`` pathway happens at emission.
    """
    if not hasattr(rule, "kernel_params"):
        hint = "; for DopamineSTDP use dopamine_to_brian(rule)" if isinstance(rule, modulated.DopamineSTDP) else ""
        raise ParameterError(f"rule must be a spike-timing rule (PairSTDP, TripletSTDP), got "
                             f"{type(rule).__name__}{hint}")
    if delay_type not in ("axonal", "dendritic"):
        raise ParameterError(f"delay_type must be 'axonal' or 'dendritic', got {delay_type!r}")
    b2 = _brian()
    p = rule.kernel_params()
    scheme = stdp.SCHEMES[int(p[stdp.SCHEME])]
    triplet = p[stdp.A3_PLUS] != 0.0 or p[stdp.A3_MINUS] != 0.0
    ms = b2.ms
    ns = {
        PREFIX + "tau_plus": p[stdp.TAU_PLUS] * ms, PREFIX + "tau_minus": p[stdp.TAU_MINUS] * ms,
        PREFIX + "tau_x": p[stdp.TAU_X] * ms, PREFIX + "tau_y": p[stdp.TAU_Y] * ms,
        PREFIX + "a2_plus": p[stdp.A2_PLUS], PREFIX + "a2_minus": p[stdp.A2_MINUS],
        PREFIX + "a3_plus": p[stdp.A3_PLUS], PREFIX + "a3_minus": p[stdp.A3_MINUS],
        PREFIX + "w_min": p[stdp.W_MIN], PREFIX + "w_max": p[stdp.W_MAX],
        PREFIX + "mu_plus": p[stdp.MU_PLUS], PREFIX + "mu_minus": p[stdp.MU_MINUS],
    }
    k = {name: PREFIX + name for name in ("tau_plus", "tau_minus", "tau_x", "tau_y", "a2_plus", "a2_minus",
                                           "a3_plus", "a3_minus", "w_min", "w_max", "mu_plus", "mu_minus")}
    model = [f"{weight} : 1",
             f"dr1/dt = -r1 / {k['tau_plus']} : 1 (event-driven)",
             f"do1/dt = -o1 / {k['tau_minus']} : 1 (event-driven)"]
    if triplet:
        model += [f"dr2/dt = -r2 / {k['tau_x']} : 1 (event-driven)",
                  f"do2/dt = -o2 / {k['tau_y']} : 1 (event-driven)"]
    span = f"({k['w_max']} - {k['w_min']})"
    f_plus = _soft_bound(f"({k['w_max']} - {weight}) / {span}", p[stdp.MU_PLUS], k["mu_plus"])
    f_minus = _soft_bound(f"({weight} - {k['w_min']}) / {span}", p[stdp.MU_MINUS], k["mu_minus"])
    dep_amp = f"({k['a2_minus']} + {k['a3_minus']} * r2)" if triplet else k["a2_minus"]
    pot_amp = f"({k['a2_plus']} + {k['a3_plus']} * o2)" if triplet else k["a2_plus"]
    nearest_pre = scheme == "nearest_symmetric"
    nearest_post = scheme != "all_to_all"
    constant = ""
    if p[stdp.A0_PRE] != 0.0:  # Vogels-Sprekeler: a constant change at every presynaptic spike
        ns[PREFIX + "a0_pre"] = p[stdp.A0_PRE]
        constant = f" + {PREFIX}a0_pre"
    on_pre = [f"{weight} = clip({weight} - {_times(f_minus, 'o1 * ' + dep_amp)}{constant}, {k['w_min']}, {k['w_max']})",
              _jump("r1", nearest_pre)]
    on_post = [f"{weight} = clip({weight} + {_times(f_plus, 'r1 * ' + pot_amp)}, {k['w_min']}, {k['w_max']})"]
    if triplet:
        on_pre.append(_jump("r2", nearest_pre))
    if scheme == "nearest_pre_centred":
        on_post.append("r1 = 0")  # per synapse: the presynaptic spikes since the last post are paired
    on_post.append(_jump("o1", nearest_post))
    if triplet:
        on_post.append(_jump("o2", nearest_post))
    out = dict(model="\n".join(model), on_post="\n".join(on_post), namespace=ns)
    if transmit and delay_type == "dendritic":
        out["on_pre"] = {"pre": "\n".join(on_pre), "transmit": transmit}
    else:
        out["on_pre"] = "\n".join(([transmit] if transmit else []) + on_pre)
    return out


def _soft_bound(base: str, mu: float, mu_name: str) -> str:
    if mu == 0.0:
        return ""
    if mu == 1.0:
        return f"({base})"
    return f"(({base}) ** {mu_name})"


def _times(factor: str, expr: str) -> str:
    return f"{factor} * {expr}" if factor else expr


def _jump(trace: str, reset: bool) -> str:
    return f"{trace} = 1" if reset else f"{trace} += 1"


def _runtime_synapses(b2, rule, synapses, weight, caller, alternative):
    """Checks shared by the runtime plug-ins; returns the CSR index of ``synapses`` and
    ``order`` (CSR synapse s is Brian2 synapse order[s])."""
    from .synapse_index import build_index

    if not isinstance(synapses, b2.Synapses):
        raise ParameterError(f"synapses must be a brian2.Synapses, got {type(synapses).__name__}")
    if not isinstance(b2.get_device(), b2.devices.RuntimeDevice):
        raise ParameterError(f"{caller} runs Numba kernels during the simulation and needs a runtime target "
                             f"(numpy or cython){alternative}")
    if weight not in synapses.variables:
        raise ParameterError(f"synapses has no variable {weight!r} to learn; declare '{weight} : 1' in its model")
    if not synapses.variables[weight].dim.is_dimensionless:
        raise ParameterError(f"the weight {weight!r} must be dimensionless, got unit {synapses.variables[weight].unit}")
    pre = np.asarray(synapses.i[:], dtype=np.int64)
    post = np.asarray(synapses.j[:], dtype=np.int64)
    for pathway in synapses._pathways:
        if pre.size and np.any(np.asarray(pathway.delay[:]) > 0):
            raise ParameterError(f"{caller} does not support synaptic delays; use to_brian() equations")
    w_values = np.asarray(getattr(synapses, weight)[:], dtype=float)
    if w_values.size and (w_values.min() < rule.w_min or w_values.max() > rule.w_max):
        raise ParameterError(f"{weight} must lie in the rule's [w_min, w_max] = [{rule.w_min}, {rule.w_max}]")
    return build_index(pre, post, synapses.source.N, synapses.target.N)


def attach(rule, synapses, *, weight: str = "w"):
    """Run ``rule``'s Numba kernels on an existing ``brian2.Synapses`` (runtime targets).

    Returns a ``brian2.NetworkOperation`` (add it to your ``Network``; with Brian2's magic
    ``run`` keep a reference in the calling scope). Each step, after the synaptic pathways,
    it applies the presynaptic events of the step's source spikes, then the postsynaptic
    events of the target spikes, to ``synapses.<weight>`` in place. Synaptic delays are not
    supported on this path (use :func:`to_brian`).
    """
    b2 = _brian()
    if not hasattr(rule, "kernel_params"):
        raise ParameterError(f"rule must be a spike-timing rule (PairSTDP, TripletSTDP), got {type(rule).__name__}")
    index, order = _runtime_synapses(b2, rule, synapses, weight, "attach()",
                                     "; on cpp_standalone use the equations: "
                                     "Synapses(..., **plasticity.brian.to_brian(rule, transmit=...))")
    plug = _Plugin(rule.kernel_params(), index, order, synapses, weight)

    def plasticity_step(t):
        plug(t)

    plasticity_step.plugin = plug
    return b2.NetworkOperation(plasticity_step, when="synapses", order=10, name=f"{synapses.name}_plasticity",
                               dt=synapses.source.clock.dt)


class _Plugin:
    """The per-step callback of :func:`attach` (kept as an object so tests can inspect it)."""

    def __init__(self, params, index, order, synapses, weight):
        self.params = params
        self.index = index
        self.order = order                         # CSR synapse s is Brian2 synapse order[s]
        self.identity = bool(np.all(order == np.arange(order.size)))
        self.synapses = synapses
        self.variable = synapses.variables[weight]
        self.state = stdp.init_state(synapses.source.N, synapses.target.N, order.size)
        self.rows = (index.indptr[:-1], index.indptr[1:], index.post_ptr[:-1], index.post_ptr[1:])

    def __call__(self, t):
        pre_spikes = np.asarray(self.synapses.source.spikes, dtype=np.int64)
        post_spikes = np.asarray(self.synapses.target.spikes, dtype=np.int64)
        if pre_spikes.size == 0 and post_spikes.size == 0:
            return
        values = self.variable.get_value()         # the runtime device's array, by reference
        w = values if self.identity else values[self.order]
        t_ms = float(t / _brian().ms)
        syn_start, syn_stop, in_start, in_stop = self.rows
        _apply_events(self.params, self.state, w, syn_start, syn_stop, self.index.post_idx, in_start, in_stop,
                      self.index.post_syn, self.index.post_pre, pre_spikes, post_spikes, t_ms)
        if not self.identity:
            values[self.order] = w


@njit(cache=True)
def _apply_events(p, state, w, syn_start, syn_stop, post_idx, in_start, in_stop, in_syn, in_pre,
                  pre_spikes, post_spikes, t):
    """One step of the plug-in: presynaptic events, then postsynaptic events, at t (ms)."""
    for j in pre_spikes:
        stdp.on_pre(p, state, w, syn_start, syn_stop, post_idx, j, t)
    for i in post_spikes:
        stdp.on_post(p, state, w, in_start, in_stop, in_syn, in_pre, i, t)


# --- the dopamine-modulated rule (its own kernels): runtime plug-in ---------------------------

def attach_dopamine(rule, synapses, rewards, *, amount: float = 1.0, weight: str = "w"):
    """Run :class:`plasticity.modulated.DopamineSTDP` on a ``brian2.Synapses`` (runtime targets).

    Brian2 equations cannot express the rule exactly (the eligibility x dopamine integral
    couples every synapse to a global signal), so, like :func:`attach`, this plugs the Numba
    kernels in through a ``network_operation`` after the synaptic pathways of each step:
    presynaptic events, postsynaptic events, then one dopamine release of ``amount`` per spike
    of the ``rewards`` group in this step; finally every synapse is brought up to date so that
    ``synapses.<weight>`` is exact at every step (O(n_syn) per step). No synaptic delays.
    """

    b2 = _brian()
    if not isinstance(rule, modulated.DopamineSTDP):
        raise ParameterError(f"rule must be a DopamineSTDP, got {type(rule).__name__}")
    if not hasattr(rewards, "spikes"):
        raise ParameterError(f"rewards must be a Brian2 group that spikes, got {type(rewards).__name__}")
    index, order = _runtime_synapses(b2, rule, synapses, weight, "attach_dopamine()", "")
    plug = _DopaminePlugin(rule.params(), index, order, synapses, weight, rewards, float(amount))

    def dopamine_plasticity_step(t):
        plug(t)

    dopamine_plasticity_step.plugin = plug
    return b2.NetworkOperation(dopamine_plasticity_step, when="synapses", order=10,
                               name=f"{synapses.name}_dopamine", dt=synapses.source.clock.dt)


class _DopaminePlugin:
    def __init__(self, params, index, order, synapses, weight, rewards, amount):
        self.params, self.index, self.order = params, index, order
        self.identity = bool(np.all(order == np.arange(order.size)))
        self.synapses, self.rewards, self.amount = synapses, rewards, amount
        self.variable = synapses.variables[weight]
        self.state = modulated.init_state(synapses.source.N, synapses.target.N, order.size)

    def __call__(self, t):
        pre_spikes = np.asarray(self.synapses.source.spikes, dtype=np.int64)
        post_spikes = np.asarray(self.synapses.target.spikes, dtype=np.int64)
        n_rewards = len(self.rewards.spikes)
        values = self.variable.get_value()
        w = values if self.identity else values[self.order]
        ix = self.index
        _apply_dopamine(self.params, self.state, w, ix.indptr, ix.post_idx, ix.post_ptr, ix.post_syn, ix.post_pre,
                        pre_spikes, post_spikes, n_rewards, self.amount, float(t / _brian().ms))
        if not self.identity:
            values[self.order] = w


@njit(cache=True)
def _apply_dopamine(p, st, w, indptr, post_idx, post_ptr, post_syn, post_pre, pre_spikes, post_spikes, n_rewards,
                    amount, t):
    for j in pre_spikes:
        modulated.on_pre(p, st, w, indptr[:-1], indptr[1:], post_idx, j, t)
    for i in post_spikes:
        modulated.on_post(p, st, w, post_ptr[:-1], post_ptr[1:], post_syn, post_pre, i, t)
    for _ in range(n_rewards):
        modulated.on_reward(p, st, w, amount, t)
    modulated.flush(p, st, w, t)


# --- the Clopath 2010 voltage-based rule (its own kernels): runtime plug-in -------------------

def attach_clopath(rule, synapses, *, weight: str = "w", potential: str = "v", u_init=None):
    """Run :class:`plasticity.voltage.ClopathSTDP` on a ``brian2.Synapses`` (runtime targets).

    The rule reads low-pass filtered copies of the postsynaptic potential 5 ms in the past,
    which Brian2 equations cannot delay; this plugs :func:`plasticity.voltage.clopath_step`
    in through a ``network_operation`` after the synaptic pathways of each step, reading
    ``synapses.target.<potential>`` (a voltage) after the step's neuron update — the same
    step semantics as :func:`plasticity.voltage.clopath_run`. ``u_init`` (mV) starts the
    filters (default: each target neuron's potential when attached). No synaptic delays.
    """
    b2 = _brian()
    if not isinstance(rule, voltage.ClopathSTDP):
        raise ParameterError(f"rule must be a ClopathSTDP, got {type(rule).__name__}")
    _runtime_synapses(b2, rule, synapses, weight, "attach_clopath()", "")
    target = synapses.target
    if potential not in target.variables or target.variables[potential].dim is not b2.volt.dim:
        raise ParameterError(f"the target group needs a membrane potential {potential!r} in volt")
    mv = float(b2.mV)
    start = np.asarray(getattr(target, potential)[:], dtype=float) / mv if u_init is None \
        else np.full(target.N, float(u_init))
    plug = _ClopathPlugin(rule.params(), synapses, weight, potential, start, float(target.clock.dt / b2.ms))

    def clopath_step(t):
        plug()

    clopath_step.plugin = plug
    return b2.NetworkOperation(clopath_step, when="synapses", order=10, name=f"{synapses.name}_clopath",
                               dt=target.clock.dt)


class _ClopathPlugin:
    """Per-step state of :func:`attach_clopath`: filters, delay line, traces, step count."""

    def __init__(self, params, synapses, weight, potential, start, dt):
        self.params, self.dt = params, dt
        self.synapses, self.potential = synapses, potential
        self.variable = synapses.variables[weight]
        self.syn_pre = np.asarray(synapses.i[:], dtype=np.int64)
        self.syn_post = np.asarray(synapses.j[:], dtype=np.int64)
        d = voltage.delay_steps(params, dt)
        self.filt = np.tile(start, (2, 1))
        self.hist = np.repeat(np.tile(start, (2, 1))[:, :, None], d + 1, axis=2)
        self.x = np.zeros(self.syn_pre.size)
        self.flags = np.zeros(self.syn_pre.size, np.int64)
        self.spiking = np.zeros(synapses.source.N, np.int64)
        self.k = 0
        self.mv = float(_brian().mV)

    def __call__(self):
        u = np.asarray(getattr(self.synapses.target, self.potential)[:], dtype=float) / self.mv
        spikes = np.asarray(self.synapses.source.spikes, dtype=np.int64)
        self.spiking[spikes] = 1
        np.take(self.spiking, self.syn_pre, out=self.flags)
        self.spiking[spikes] = 0
        w = self.variable.get_value()             # the runtime device's array, by reference
        voltage.clopath_step(self.params, self.dt, self.k, u, self.filt, self.hist, self.flags, self.syn_post,
                             self.x, w)
        self.k += 1


from .brian_modulated import dopamine_rewards, dopamine_to_brian  # noqa: E402,F401
from .brian_online import OnlineLearning, attach_eprop, attach_ottt, rsnn_gradients  # noqa: E402,F401
