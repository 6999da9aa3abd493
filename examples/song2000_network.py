"""Song, Miller & Abbott (2000) written directly with the native simulator, 5 s of it.

    python examples/song2000_network.py [--seconds 5] [--plot song.png]

1000 Poisson inputs at 15 Hz drive one conductance-based LIF neuron through synapses with
additive pair STDP (A-/A+ = 1.05, tau = 20 ms, weights in [0, g_max]). In five seconds the
output rate only begins to fall and the weights only begin to spread towards the bounds; the
bimodal split takes ~100 s (`plab run song2000`). The script prints the output rate per second,
the weight statistics, and an energy estimate of the run (synaptic operations vs the dense
MACs of an equivalent rate network, 45 nm figures; an estimate, not a measurement).
"""
import argparse

import numpy as np

import models
import plasticity
from analysis import bimodality, dense_macs, energy_estimate, firing_rates, synaptic_operations
from analysis.spikes import binned_rates

G_MAX = 0.01  # units of the leak conductance


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="biological time (s)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--plot", metavar="FILE", help="save weight histogram and rate to FILE")
    args = parser.parse_args(argv)
    duration = 1000.0 * args.seconds  # ms

    net = models.Network(dt=0.1, seed=args.seed)                              # ms
    inputs = net.add(models.PoissonGroup(1000, rate=15.0))                    # Hz
    cell = net.add(models.LIF(1, synapses="conductance", tau_m=10.0, tau_e=5.0, e_leak=-74.0,
                              e_e=0.0, v_th=-54.0, v_reset=-60.0))
    rule = plasticity.PairSTDP(tau_plus=20.0, tau_minus=20.0, a_plus=0.01 * G_MAX,
                               a_minus=1.05 * 0.01 * G_MAX, w_min=0.0, w_max=G_MAX)
    proj = net.connect(inputs, cell, weight=models.uniform(0.0, G_MAX), receptor="excitatory", rule=rule)
    w0 = proj.w.copy()
    out = net.record_spikes(cell)
    inp = net.record_spikes(inputs)
    net.run(duration)

    _, per_second = binned_rates((np.zeros(out.t.size, dtype=int), out.t), duration, 1000.0, n=1)
    print(f"output rate per second (Hz): {' '.join(f'{r:.0f}' for r in per_second[0])}")
    in_rate = firing_rates((inp.i, inp.t), duration, n=1000).mean()
    print(f"mean input rate: {in_rate:.2f} Hz (set: 15 Hz)")
    b0, b1 = bimodality(w0, G_MAX), bimodality(proj.w, G_MAX)
    print(f"mean weight / g_max: {w0.mean() / G_MAX:.3f} -> {proj.w.mean() / G_MAX:.3f}")
    print(f"weights < 0.1 g_max: {100 * b0.frac_low:.1f}% -> {100 * b1.frac_low:.1f}%; "
          f"> 0.9 g_max: {100 * b0.frac_high:.1f}% -> {100 * b1.frac_high:.1f}%")

    ops = synaptic_operations(np.bincount(inp.i, minlength=1000), fan_out=1)  # each input has 1 synapse
    macs = dense_macs([(1, 1000)], n_steps=int(round(duration / 0.1)))         # 1000 weights per 0.1 ms step
    print(energy_estimate(ops, macs))
    print(f"simulation {net.timing['run_s']:.2f} s, compile {net.timing['compile_s']:.2f} s")

    if args.plot:
        from matplotlib.figure import Figure

        from analysis.plots import rate_plot, weight_histogram_plot

        fig = Figure(figsize=(9, 3.5), layout="constrained")
        left, right = fig.subplots(1, 2)
        weight_histogram_plot(proj.w / G_MAX, w_max=1.0, ax=left, bins=40)
        left.set_title(f"weights / g_max after {args.seconds:g} s")
        rate_plot(out.t, duration, bin_ms=250.0, ax=right, label="output")
        fig.savefig(args.plot, dpi=120)
        print(f"figure: {args.plot}")


if __name__ == "__main__":
    main()
