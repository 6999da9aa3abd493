"""Put a plasticity-lab rule into your own Brian2 network, two ways.

    python examples/brian2_network.py [--seconds 2]

200 Poisson inputs at 15 Hz drive one conductance-based LIF neuron (the Song et al. 2000 cell)
in plain Brian2 (numpy target). The excitatory synapses learn with additive pair STDP:

1. as Brian2 equations, ``Synapses(..., **plasticity.brian.to_brian(rule, transmit=...))``
   (works on every Brian2 target, cpp_standalone included);
2. as a plug-in, ``plasticity.brian.attach(rule, synapses)``: the rule's own Numba kernels
   run on the Brian2 synapses after each step (runtime targets only).

Both runs see the same input spikes (same seed), so their final weights must agree; the
script prints both and their largest difference. Units are converted at this boundary only:
the rule's parameters are plain floats in ms and weight units.
"""
import argparse

import numpy as np

import plasticity
from plasticity.brian import attach, to_brian

G_MAX = 0.05  # units of the leak conductance (larger than Song 2000: 200 inputs instead of 1000)


def build_and_run(b2, rule, seconds, seed, use_plugin):
    b2.start_scope()
    b2.seed(seed)
    b2.defaultclock.dt = 0.1 * b2.ms
    eqs = """dv/dt = (ge * (0*mV - v) + (-74*mV - v)) / (10*ms) : volt
             dge/dt = -ge / (5*ms) : 1"""
    cell = b2.NeuronGroup(1, eqs, threshold="v > -54*mV", reset="v = -60*mV", method="euler")
    cell.v = -74 * b2.mV
    inputs = b2.PoissonGroup(200, rates=15 * b2.Hz)
    if use_plugin:
        syn = b2.Synapses(inputs, cell, "w : 1", on_pre="ge_post += w")
    else:
        syn = b2.Synapses(inputs, cell, **to_brian(rule, transmit="ge_post += w"))
    syn.connect()
    syn.w = np.linspace(0.0, G_MAX, 200)
    net = b2.Network(cell, inputs, syn)
    if use_plugin:
        net.add(attach(rule, syn))
    spikes = b2.SpikeMonitor(cell)
    net.add(spikes)
    net.run(seconds * b2.second)
    return np.array(syn.w[:]), spikes.num_spikes


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args(argv)

    import brian2 as b2

    b2.prefs.codegen.target = "numpy"
    rule = plasticity.PairSTDP(tau_plus=20.0, tau_minus=20.0, a_plus=0.05 * G_MAX, a_minus=0.0525 * G_MAX,
                               w_min=0.0, w_max=G_MAX)
    w_eq, n_eq = build_and_run(b2, rule, args.seconds, args.seed, use_plugin=False)
    w_plug, n_plug = build_and_run(b2, rule, args.seconds, args.seed, use_plugin=True)
    w0 = np.linspace(0.0, G_MAX, 200)
    print(f"output spikes: equations {n_eq}, plug-in {n_plug}")
    print(f"mean weight / g_max: start {w0.mean() / G_MAX:.4f}, equations {w_eq.mean() / G_MAX:.4f}, "
          f"plug-in {w_plug.mean() / G_MAX:.4f}")
    print(f"weights changed: {np.mean(w_eq != w0):.0%} of synapses")
    print(f"max |w_equations - w_plugin| / g_max = {np.max(np.abs(w_eq - w_plug)) / G_MAX:.2e}")


if __name__ == "__main__":
    main()
