"""Train a recurrent spiking network with e-prop and compare its gradient with BPTT's.

    python examples/train_eprop.py [--iterations 40] [--plot eprop.png]

A small version of the pattern-generation task of Bellec et al. (2020): a frozen Poisson input
pattern (20 inputs, 500 ms) and a sum of sines as the target of one leaky readout. The RSNN
(30 LIF neurons) is trained with e-prop (random feedback) and Adam; every 10 iterations the
e-prop gradient is compared with the exact BPTT gradient at the same weights
(``analysis.gradient_alignment``: cosine, relative error and sign agreement per weight matrix).
"""
import argparse

import numpy as np

from analysis import gradient_alignment, learning_curve_plot
from models.rsnn import RSNN
from plasticity import bptt, eprop, optim
from protocols.tasks import PatternGeneration


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--plot", metavar="FILE", help="save the learning curve to FILE")
    args = parser.parse_args(argv)

    task = PatternGeneration(n_in=20, duration_ms=500.0, seed=args.seed)
    x, target = task.sample(batch=1)                          # (1, 500, 20), (1, 500, 1)
    net = RSNN(20, 30, 1, dt=task.dt, seed=args.seed)
    adam = optim.make("adam", 3e-3)
    losses = []
    print(f"{'iter':>4}  {'loss':>8}  {'cosine(W_in,W_rec,W_out) to BPTT':>36}")
    for it in range(args.iterations):
        grads, loss = eprop.gradients(net, x, target, feedback="random", seed=args.seed, return_loss=True)
        losses.append(loss)
        if it % 10 == 0 or it == args.iterations - 1:
            exact = bptt.gradients(net, x, target)
            align = gradient_alignment(grads, exact, keys=["w_in", "w_rec", "w_out"])
            cosines = " ".join(f"{align[k].cosine:6.3f}" for k in ("w_in", "w_rec", "w_out"))
            print(f"{it:4d}  {loss:8.3f}  {cosines:>28}   overall {align['overall'].cosine:.3f}")
        optim.apply(net, adam, grads)
    print(f"loss: {losses[0]:.3f} -> {losses[-1]:.3f} ({100 * (1 - losses[-1] / losses[0]):.0f}% lower)")

    if args.plot:
        ax = learning_curve_plot(losses, ylabel="MSE loss", label="e-prop (random feedback)", log=True)
        ax.figure.savefig(args.plot, dpi=120)
        print(f"figure: {args.plot}")


if __name__ == "__main__":
    main()
