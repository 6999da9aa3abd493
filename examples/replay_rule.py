"""Replay a spike-timing rule on given spike trains: the STDP window and the pairing frequency.

    python examples/replay_rule.py [--plot window.png]

Part 1 pairs one pre and one post spike 60 times at 1 Hz for several Δt = t_post - t_pre and
prints the relative weight change of the pair rule (Bi & Poo time constants) and of the
minimal triplet rule (Pfister & Gerstner 2006, visual cortex). Part 2 repeats +10 ms and
-10 ms pairings at increasing frequency. With the all-to-all pair rule each post spike also
pairs with the *next* pre spike, so at 40 Hz the +10 ms pairings turn into depression; the
minimal triplet rule (no pair potentiation) potentiates more the higher the rate, at 40 Hz
for both orders, as in Sjöström et al. (2001). Everything goes through
``plasticity.replay``, the rules' test bench: event-driven, exact spike times.
"""
import argparse

import numpy as np

import plasticity

N_PAIRS = 60


def pairing(dt_ms, frequency_hz, n_pairs=N_PAIRS):
    """One pre and one post train (ms): pre at k * period + 50 ms, post dt_ms later."""
    t_pre = 50.0 + (1000.0 / frequency_hz) * np.arange(n_pairs)
    t_post = t_pre + dt_ms
    if dt_ms < 0:  # keep times >= 0
        t_pre, t_post = t_pre - dt_ms, t_post - dt_ms
    return [t_pre], [t_post]


def relative_change(rule, dt_ms, frequency_hz, w0=0.5):
    pre, post = pairing(dt_ms, frequency_hz)
    w = plasticity.replay(rule, pre, post, np.full((1, 1), w0))
    return (w[0, 0] - w0) / w0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plot", metavar="FILE", help="save the window figure to FILE")
    args = parser.parse_args(argv)

    pair = plasticity.PairSTDP(a_plus=0.005, a_minus=0.00525)   # tau+ 16.8 ms, tau- 33.7 ms
    triplet = plasticity.TripletSTDP.from_paper("visual_cortex", "all_to_all", "minimal")

    dts = np.array([-80, -40, -20, -10, -5, 5, 10, 20, 40, 80], dtype=float)
    print("STDP window, 60 pairings at 1 Hz: relative weight change (%)")
    print(f"{'dt (ms)':>8}  {'pair':>8}  {'triplet':>8}")
    window = {"pair": [], "triplet": []}
    for dt in dts:
        window["pair"].append(relative_change(pair, dt, 1.0))
        window["triplet"].append(relative_change(triplet, dt, 1.0))
        print(f"{dt:8.0f}  {100 * window['pair'][-1]:8.2f}  {100 * window['triplet'][-1]:8.2f}")

    print("\nPairing frequency, 60 pairings, dt = +10 / -10 ms: relative weight change (%)")
    print(f"{'f (Hz)':>8}  {'pair +10':>9}  {'pair -10':>9}  {'trip +10':>9}  {'trip -10':>9}")
    for f in (1.0, 10.0, 20.0, 40.0):
        row = [relative_change(rule, dt, f) for rule in (pair, triplet) for dt in (10.0, -10.0)]
        print(f"{f:8.0f}  " + "  ".join(f"{100 * x:9.2f}" for x in row))

    if args.plot:
        from analysis.plots import stdp_window_plot

        ax = stdp_window_plot(dts, 100 * np.array(window["pair"]), ylabel="Δw / w0 (%)",
                              label="pair STDP (additive, all-to-all)")
        ax.plot(dts, 100 * np.array(window["triplet"]), "-s", ms=3, color="C2",
                label="triplet STDP (visual cortex, minimal)")
        ax.legend(fontsize="small")
        ax.figure.savefig(args.plot, dpi=120)
        print(f"\nfigure: {args.plot}")


if __name__ == "__main__":
    main()
