"""Running protocols in Brian2: targets, LIF equations, and the networks of the protocols.

Brian2 is imported here and in plasticity/brian.py only. Quantities are built from our
plain floats (ms, mV, Hz) once, when a network is set up; results come back as NumPy arrays
in the same plain units.
"""
from __future__ import annotations

import numpy as np

from plasticity.brian import brian_target, to_brian  # noqa: F401  (brian_target: the protocols' name for it)

def lif_group(b2, lif, name="lif"):
    """A ``NeuronGroup`` with the equations of :class:`models.LIF` (see models/neurons.py)."""
    if lif.synapses == "current":
        eqs = """
        dv/dt = (e_leak - v + r_m * (I_e + I_i + i_ext)) / tau_m : volt (unless refractory)
        dI_e/dt = -I_e / tau_e : amp
        dI_i/dt = -I_i / tau_i : amp
        """
        method = "exact"
    else:
        eqs = """
        dv/dt = (e_leak - v + g_e * (e_e - v) + g_i * (e_i - v) + r_m * i_ext) / tau_m : volt (unless refractory)
        dg_e/dt = -g_e / tau_e : 1
        dg_i/dt = -g_i / tau_i : 1
        """
        method = "exponential_euler"
    ms, mV, pA = b2.ms, b2.mV, b2.pA
    namespace = dict(e_leak=lif.e_leak * mV, tau_m=lif.tau_m * ms, tau_e=lif.tau_e * ms, tau_i=lif.tau_i * ms,
                     e_e=lif.e_e * mV, e_i=lif.e_i * mV, i_ext=lif.i_ext * pA,
                     r_m=lif.tau_m / lif.c_m * b2.Gohm, v_th=lif.v_th * mV, v_reset=lif.v_reset * mV)
    group = b2.NeuronGroup(lif.n, eqs, threshold="v > v_th", reset="v = v_reset", refractory=lif.t_ref * ms,
                           method=method, namespace=namespace, name=name)
    group.v = lif.initial_v * mV
    return group


def receptor_variable(lif, receptor: str) -> str:
    """The postsynaptic variable a synapse of ``receptor`` adds its weight to."""
    if lif.synapses == "current":
        return "I_e_post" if receptor == "excitatory" else "I_i_post"
    return "g_e_post" if receptor == "excitatory" else "g_i_post"


def generator(b2, trains, name):
    """A ``SpikeGeneratorGroup`` emitting the given spike trains (ms, one array per neuron)."""
    indices = np.concatenate([np.full(len(t), k, dtype=int) for k, t in enumerate(trains)] or [np.zeros(0, int)])
    times = np.concatenate([np.asarray(t, dtype=float) for t in trains] or [np.zeros(0)])
    return b2.SpikeGeneratorGroup(len(trains), indices, times * b2.ms, name=name)


def replay_pairs(rule, pre, post, w0, *, dt, duration, target="numpy", pairs="all"):
    """Final weights of ``rule`` on spike trains in Brian2 (the counterpart of ``replay``).

    ``pairs="all"``: every pre to every post, weights (n_post, n_pre); ``"diagonal"``:
    synapse k joins pre k to post k only, weights (n,) .
    """
    with brian_target(target, dt) as b2:
        g_pre, g_post = generator(b2, pre, "pre"), generator(b2, post, "post")
        syn = b2.Synapses(g_pre, g_post, name="stdp", **to_brian(rule))
        w0 = np.asarray(w0, dtype=float)
        if pairs == "diagonal":
            i = j = np.arange(len(pre))
            values = w0
        else:  # explicit index arrays keep the synapse order known on every target
            i = np.repeat(np.arange(len(pre)), len(post))
            j = np.tile(np.arange(len(post)), len(pre))
            values = w0[j, i]
        syn.connect(i=i, j=j)
        syn.w = values
        net = b2.Network(g_pre, g_post, syn)
        net.run(duration * b2.ms)
        w = np.asarray(syn.w[:], dtype=float)
        if pairs == "diagonal":
            return w
        out = np.zeros((len(post), len(pre)))
        out[j, i] = w
        return out


def timed_run(b2, net, duration_ms, target):
    """Run ``net`` for ``duration_ms`` on ``target`` (inside ``brian_target``, whose module is
    ``b2``); ``(compile_s, simulation_s)``. cpp_standalone builds, compiles and runs in the one
    call: the simulation is its own measure of the run, the rest of the wall time is compile.
    numpy and cython: a zero-length run first generates and compiles the code."""
    import time

    tic = time.perf_counter()
    if target == "cpp_standalone":
        net.run(duration_ms * b2.ms)
        wall = time.perf_counter() - tic
        simulation_s = float(getattr(b2.device, "_last_run_time", wall))
        return wall - simulation_s, simulation_s
    net.run(0 * b2.ms)                      # code generation and compilation only
    compile_s = time.perf_counter() - tic
    tic = time.perf_counter()
    net.run(duration_ms * b2.ms)
    return compile_s, time.perf_counter() - tic


def run_song(config, rates, w0, target):
    """The Song 2000 network in Brian2 with our rule's equations; returns a dict of arrays."""
    import time

    rule = config.rule()
    with brian_target(target, config.dt) as b2:
        neuron = lif_group(b2, config.neuron(), name="song_neuron")
        inputs = b2.PoissonGroup(config.n_inputs, rates=rates * b2.Hz, name="song_inputs")
        syn = b2.Synapses(inputs, neuron, name="song_stdp",
                          **to_brian(rule, transmit=f"{receptor_variable(config.neuron(), 'excitatory')} += w"))
        syn.connect(i=np.arange(config.n_inputs), j=np.zeros(config.n_inputs, dtype=int))
        syn.w = np.asarray(w0, dtype=float)
        out = b2.SpikeMonitor(neuron, name="song_out")
        inp = b2.SpikeMonitor(inputs, name="song_in")
        weights = b2.StateMonitor(syn, "w", record=True, dt=config.record_every_ms * b2.ms, name="song_w")
        net = b2.Network(neuron, inputs, syn, out, inp, weights)
        b2.seed(config.seed)
        tic = time.perf_counter()
        net.run(config.duration_ms * b2.ms)
        wall = time.perf_counter() - tic
        return dict(w=np.asarray(syn.w[:]), w_t=np.asarray(weights.t / b2.ms), w_traj=np.asarray(weights.w).T, out_t=np.asarray(out.t / b2.ms),
                    in_i=np.asarray(inp.i[:]), in_t=np.asarray(inp.t / b2.ms), wall_s=wall)
