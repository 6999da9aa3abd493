"""Your own plastic network: 200 Poisson inputs onto 10 conductance LIF neurons with triplet STDP.

    python examples/your_own_network.py [--seconds 10] [--seed 1] [--plot network.png]

The script of docs/your-own-network.md, which explains every line and what to expect.
Triplet STDP (Pfister & Gerstner 2006, visual cortex, all-to-all, minimal set) acts on
uncorrelated Poisson inputs as a BCM rule: a neuron that fires above the threshold
theta = a2- tau- / (a3+ tau+ tau_y) (19 Hz for this set) strengthens all its synapses, one
below it weakens them. Neurons 0-4 start with strong weights (0.7-1.0 w_max), neurons 5-9
with weaker ones (0.5-0.8 w_max); the two halves go opposite ways.
"""
import argparse
import dataclasses

import numpy as np

import models
import plasticity
from analysis.weights import bimodality

N_IN, N_OUT = 200, 10
RATE_HZ = 10.0
W_MAX = 0.04      # conductance, in units of the leak conductance g_L (= c_m/tau_m = 25 nS here: 1 nS)
CELL = dict(synapses="conductance", tau_m=10.0, e_leak=-74.0, v_th=-54.0, v_reset=-60.0, tau_e=5.0,
            t_ref=5.0)  # ms, mV; t_ref caps the rate at 1000 / t_ref = 200 Hz


def scaled(rule, w_max):
    """A published rule whose amplitudes are relative changes (w0 = 1) on the weight scale w_max."""
    amplitudes = {name: getattr(rule, name) * w_max for name in ("a2_plus", "a2_minus", "a3_plus", "a3_minus")}
    return dataclasses.replace(rule, w_max=w_max, **amplitudes)


def bcm_threshold_hz(rule):
    """Post rate (Hz) above which the minimal all-to-all triplet rule potentiates, for independent
    Poisson spikes: a2- tau- / (a3+ tau+ tau_y) (Pfister & Gerstner 2006, with a2+ = a3- = 0)."""
    return 1e3 * rule.a2_minus * rule.tau_minus / (rule.a3_plus * rule.tau_plus * rule.tau_y)


def initial_weights(rng):
    """(N_OUT, N_IN): neurons 0-4 uniform in [0.7, 1.0] w_max, neurons 5-9 in [0.5, 0.8] w_max."""
    low = np.where(np.arange(N_OUT) < N_OUT // 2, 0.7, 0.5)[:, None]
    return W_MAX * rng.uniform(low, low + 0.3, size=(N_OUT, N_IN))


def build(seed, w0_dense, rule, t_ref=CELL["t_ref"]):
    net = models.Network(dt=0.1, seed=seed)                               # ms
    inputs = net.add(models.PoissonGroup(N_IN, rate=RATE_HZ))             # Hz
    cells = net.add(models.LIF(N_OUT, **{**CELL, "t_ref": t_ref}))
    # weights are given per synapse in CSR order (grouped by presynaptic neuron): for all-to-all,
    # synapse s joins input s // N_OUT to cell s % N_OUT, i.e. the dense w[post, pre] transposed
    proj = net.connect(inputs, cells, weight=w0_dense.T.ravel(), receptor="excitatory", rule=rule)
    return net, cells, proj


def static_rate_hz(t_ref, seed, seconds=1.0):
    """Output rate with every weight at w_max and no plasticity: what the bound allows."""
    net, cells, _ = build(seed, np.full((N_OUT, N_IN), W_MAX), None, t_ref=t_ref)
    spikes = net.record_spikes(cells)
    net.run(1000.0 * seconds)
    return spikes.t.size / (N_OUT * seconds)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--plot", metavar="FILE", help="save the figure to FILE")
    args = parser.parse_args(argv)

    paper = plasticity.TripletSTDP.from_paper("visual_cortex", "all_to_all", "minimal")
    rule = scaled(paper, W_MAX)
    w0 = initial_weights(np.random.default_rng(args.seed))
    net, cells, proj = build(args.seed, w0, rule)
    spikes = net.record_spikes(cells)
    weights = net.record_weights(proj, every=1000.0)                     # ms
    duration = 1000.0 * args.seconds
    net.run(duration)

    assert np.array_equal(proj.dense_weights(weights.w[0]), w0)          # CSR order <-> w[post, pre]
    w = proj.dense_weights()                                             # (N_OUT, N_IN), now
    first = np.bincount(spikes.i[spikes.t < 1000.0], minlength=N_OUT) / 1.0
    last = np.bincount(spikes.i[spikes.t >= duration - 2000.0], minlength=N_OUT) / 2.0
    jumps = np.abs(np.diff(weights.w, axis=0)) > 0.5 * W_MAX
    b = bimodality(proj.w, W_MAX)
    halves = {"strong start (0-4)": slice(0, N_OUT // 2), "weak start (5-9)": slice(N_OUT // 2, N_OUT)}

    print(f"triplet STDP (visual cortex, all-to-all, minimal), amplitudes x w_max = {W_MAX:g} g_L; "
          f"BCM threshold {bcm_threshold_hz(rule):.1f} Hz")
    print(f"{N_IN} Poisson inputs at {RATE_HZ:g} Hz -> {N_OUT} conductance LIF, {args.seconds:g} s, seed {args.seed}")
    for name, half in halves.items():
        print(f"  {name}: rate first second {first[half].mean():.1f} Hz, last 2 s {last[half].mean():.1f} Hz; "
              f"mean w/w_max {w0[half].mean() / W_MAX:.2f} -> {w[half].mean() / W_MAX:.2f}")
    print(f"weights: {b.frac_high:.0%} above 0.9 w_max, {b.frac_low:.0%} below 0.1 w_max; "
          f"changes > 0.5 w_max between 1 s records: {jumps.mean():.1%}")
    print(f"all weights at w_max, no plasticity: {static_rate_hz(5.0, args.seed):.0f} Hz with t_ref = 5 ms, "
          f"{static_rate_hz(0.0, args.seed):.0f} Hz with t_ref = 0")

    if args.plot:
        from matplotlib.figure import Figure

        from analysis.plots import raster, rate_plot, weight_histogram_plot, weight_trajectories

        fig = Figure(figsize=(10, 6), layout="constrained")
        axes = fig.subplot_mosaic([["raster", "rate"], ["hist", "traj"]])
        raster(spikes.i, spikes.t, ax=axes["raster"], time_unit="s")
        for name, half in halves.items():
            keep = (spikes.i >= half.start) & (spikes.i < half.stop)
            rate_plot(spikes.t[keep], duration, bin_ms=500.0, n=N_OUT // 2, ax=axes["rate"], label=name,
                      time_unit="s")
        weight_histogram_plot(w / W_MAX, w_max=1.0, ax=axes["hist"], bins=40, unit="w_max")
        weight_trajectories(weights.t, weights.w / W_MAX, ax=axes["traj"], max_lines=40, unit="w_max")
        fig.savefig(args.plot, dpi=120)
        print(f"figure: {args.plot}")


if __name__ == "__main__":
    main()
