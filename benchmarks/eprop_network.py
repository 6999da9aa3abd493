#!/usr/bin/env python
"""e-prop inside models.Network vs plasticity.eprop.gradients, the same task side by side.

Workload (benchmarks/rsnn.py's, docs/design.md's target row): 100 inputs (frozen Poisson,
50 Hz) -> 100 recurrent LIF -> 1 leaky readout, T = 1000 steps of 1 ms, MSE to a sum of
sines, e-prop with random feedback, batch 1. One iteration:

* ``eprop.gradients``: the fused online pass of the discrete RSNN, then an Adam update;
* ``network``: the same network built by ``models.rsnn.to_network`` (delta synapses,
  subtractive reset, a Readout with the target; gradients equal to the RSNN's, tested), one
  iteration = ``net.run(T)`` + ``learner.gradients()`` + Adam applied to the weights — the
  loop that trains a network online, the network built once, the frozen input and the target
  repeated every T (the network's state carries over from one iteration to the next);
* ``network + build``: a fresh ``to_network`` per iteration (flattening the network too).

Target: network <= 3x eprop.gradients. Wall and CPU (process_time) minimum over
``--repeats``; compile times reported apart (first call in this process; the generated
loop's cache on disk). The machine is shared: compare the ratio, measured in one run.

Usage: python benchmarks/eprop_network.py [--repeats 7] [--write-results]
"""
from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numba  # noqa: E402

from models.rsnn import RSNN, to_network  # noqa: E402
from plasticity import eprop, optim  # noqa: E402
from protocols.tasks import PatternGeneration  # noqa: E402

SECTION = "## e-prop in models.Network vs plasticity.eprop.gradients"
NOTES_MARK = "<!-- notes: everything below this line is kept when the report is rewritten -->"


def workload(steps=1000):
    x, target = PatternGeneration(duration_ms=float(steps)).sample(1)
    return RSNN(100, 100, 1, seed=0), x[0], target[0]


def timed(fn, repeats):
    walls, cpus = [], []
    for _ in range(repeats):
        w, c = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return walls, cpus


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--write-results", nargs="?", const=str(ROOT / "benchmarks" / "RESULTS.md"))
    args = ap.parse_args(argv)
    net, x, target = workload(args.steps)
    T = x.shape[0]
    B = eprop.feedback_matrix(net, "random", seed=1)
    load0 = os.getloadavg()[0]

    rsnn = net.copy()
    opt = optim.Adam(1e-3)

    def rsnn_iteration():
        optim.apply(rsnn, opt, eprop.gradients(rsnn, x[None], target[None], feedback="random", B=B))

    tic = time.perf_counter()
    rsnn_iteration()
    compile_rsnn = time.perf_counter() - tic

    tic = time.perf_counter()
    periods = args.repeats + 2
    snn, learner = to_network(net, np.tile(x, (periods, 1)), np.tile(target, (periods, 1)), rule="eprop",
                              feedback="random", B=B)
    compile_net = time.perf_counter() - tic
    adam = optim.Adam(1e-3)

    def network_iteration():
        snn.run(T * net.dt)
        learner.apply(adam)
        learner.reset()

    def fresh_iteration():
        s, lrn = to_network(net, x, target, rule="eprop", feedback="random", B=B)
        s.run(T * net.dt)
        lrn.gradients()

    network_iteration()
    rows = {}
    for name, fn in (("eprop.gradients", rsnn_iteration), ("network", network_iteration),
                     ("network + build", fresh_iteration)):
        rows[name] = timed(fn, args.repeats)
    load1 = os.getloadavg()[0]
    base_w, base_c = min(rows["eprop.gradients"][0]), min(rows["eprop.gradients"][1])
    lines = [SECTION, "", f"Date: {datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds')}", "",
             f"Machine: {platform.machine()}, {os.cpu_count()} cores; Python {platform.python_version()}, "
             f"numpy {np.__version__}, numba {numba.__version__}; load average (1 min) {load0:.2f} before, "
             f"{load1:.2f} after (the machine is shared)", "",
             f"Command: `python benchmarks/eprop_network.py --repeats {args.repeats} --write-results`", "",
             f"Workload: 100 inputs (frozen Poisson 50 Hz) -> 100 LIF -> 1 readout, T = {T} steps of 1 ms, "
             "MSE to a sum of sines, e-prop with random feedback, batch 1; iteration = gradient + Adam.", "",
             "| iteration | wall min ms | wall median ms | CPU min ms | wall vs eprop.gradients | CPU vs eprop.gradients |",
             "|---|---:|---:|---:|---:|---:|"]
    for name, (walls, cpus) in rows.items():
        lines.append(f"| {name} | {1e3 * min(walls):.1f} | {1e3 * float(np.median(walls)):.1f} | "
                     f"{1e3 * min(cpus):.1f} | {min(walls) / base_w:.2f}x | {min(cpus) / base_c:.2f}x |")
    ratio = min(rows["network"][1]) / base_c
    lines += ["", f"Target: network <= 3x eprop.gradients: {'met' if ratio <= 3 else 'NOT met'} "
              f"({ratio:.2f}x by CPU time).",
              f"First call in this process (compile or cache load): eprop.gradients {compile_rsnn:.2f} s, "
              f"to_network (builds and runs the first step: the generated loop) {compile_net:.2f} s.", ""]
    report = "\n".join(lines)
    print(report)
    if args.write_results:
        path = Path(args.write_results)
        text = path.read_text() if path.exists() else ""
        if SECTION in text:
            head, rest = text.split(SECTION, 1)
            nxt = rest.find("\n## ")
            text = head + report + (rest[nxt:] if nxt >= 0 else "\n")
        elif NOTES_MARK in text:
            head, tail = text.split(NOTES_MARK, 1)
            text = head + NOTES_MARK + "\n\n" + report + tail
        else:
            text += "\n" + report
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text)
        os.replace(tmp, path)


if __name__ == "__main__":
    main()
