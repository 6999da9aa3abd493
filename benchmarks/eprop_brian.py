#!/usr/bin/env python
"""One e-prop iteration in Brian2 (our equations: plasticity.brian.attach_eprop) beside native.

Workload (benchmarks/eprop_network.py's): 100 inputs (frozen Poisson, 50 Hz) -> 100 recurrent
LIF -> 1 leaky readout, T = 1000 steps of 1 ms, MSE to a sum of sines, e-prop with random
feedback, batch 1. One iteration = the gradient of the sequence + an Adam update:

* ``native``: ``plasticity.eprop.gradients`` (the fused Numba loop) + Adam;
* ``brian2 cython``: the RSNN as a Brian2 network (``plasticity.brian_online.rsnn_learning``)
  built once; per iteration ``net.restore()`` (state and input back to the start), the
  weights written, ``net.run`` of T + 2 steps, the gradients read, Adam;
* ``brian2 cpp_standalone``: built and compiled once (``build_on_run=False``); per iteration
  ``device.run(run_args=...)`` with the new weights (no recompilation), the gradients read
  from the results, Adam.

The first run (code generation + compilation: cython extensions, or the standalone project's
``make``) is reported apart, as ``compile``. The Brian2 gradients are checked equal to native
(rtol 1e-9) on the first iteration. Wall and CPU minima over ``--repeats`` (CPU: this process and
its children, the standalone binary included; on a shared machine CPU is the number to compare).

Usage: python benchmarks/eprop_brian.py [--repeats 3] [--steps 1000] [--targets cython,cpp_standalone]
       [--write-results]
"""
from __future__ import annotations

import argparse
import datetime
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import brian2 as b2  # noqa: E402

from models.rsnn import RSNN  # noqa: E402
from plasticity import EPropRule, eprop, optim  # noqa: E402
from plasticity.brian_online import _assemble, rsnn_learning  # noqa: E402
from protocols.tasks import PatternGeneration  # noqa: E402

SECTION = "## e-prop in Brian2 (our equations) vs native"
NOTES_MARK = "<!-- notes: everything below this line is kept when the report is rewritten -->"
RTOL = 1e-9


def workload(steps):
    x, target = PatternGeneration(duration_ms=float(steps)).sample(1)
    return RSNN(100, 100, 1, seed=0), x[0], target[0]


class BrianIteration:
    """The Brian2 network of one target, built once; :meth:`__call__` is one iteration."""

    def __init__(self, target, net, x, y_target, B):
        self.target, self.rsnn = target, net
        self.rule = EPropRule(feedback="random", B=B)
        self.T = x.shape[0]
        self.directory = tempfile.mkdtemp(prefix="eprop_brian_bench_")
        if target == "cpp_standalone":
            b2.set_device("cpp_standalone", directory=self.directory, build_on_run=False)
        else:
            b2.prefs.codegen.target = target
        b2.defaultclock.dt = net.dt * b2.ms
        tic = time.perf_counter()
        self.nw, self.learning = rsnn_learning(b2, net, x, y_target, self.rule)
        self.syn = {name: self.nw[name] for name in ("w_in", "w_rec", "w_out")}
        self.b2net = b2.Network(*(o for k, o in self.nw.items() if k != "pairs"), *self.learning.objects)
        self.duration = (self.T + 2) * net.dt * b2.ms
        if target == "cpp_standalone":
            b2.device.apply_run_args()
            self.b2net.run(self.duration)
            self.build_s = time.perf_counter() - tic
            tic = time.perf_counter()
            b2.device.build(directory=self.directory, compile=True, run=False)
            self.compile_s = time.perf_counter() - tic
        else:
            self.b2net.store()
            self.build_s = time.perf_counter() - tic
            tic = time.perf_counter()
            self.b2net.run(self.duration)        # code generation and compilation happen here
            self.compile_s = time.perf_counter() - tic

    def _weights(self, net):
        out = {}
        for name, s in self.syn.items():
            i, j = self.nw["pairs"][s][:2]
            out[name] = getattr(net, name)[j, i]
        return out

    def gradients(self, net) -> dict:
        w = self._weights(net)
        if self.target == "cpp_standalone":
            b2.device.run(run_args={self.syn[k].w: v for k, v in w.items()} | {self.nw["out"].b: net.b_out})
        else:
            self.b2net.restore()
            for k, v in w.items():
                self.syn[k].w = v
            self.nw["out"].b = net.b_out
            self.b2net.run(self.duration)
        return _assemble(net, self.nw["pairs"], self.nw, self.learning.raw(), None, self.rule, self.T)

    def close(self):
        if self.target == "cpp_standalone":
            b2.device.reinit()
            b2.device.activate()
            b2.set_device("runtime")
        shutil.rmtree(self.directory, ignore_errors=True)


def cpu_s() -> float:
    """CPU time (s) of this process and of its finished children (the standalone binary)."""
    t = os.times()                   # children: 10 ms resolution; this process: process_time's
    return time.process_time() + t.children_user + t.children_system


def timed(fn, repeats):
    walls, cpus = [], []
    for _ in range(repeats):
        w, c = time.perf_counter(), cpu_s()
        fn()
        walls.append(time.perf_counter() - w)
        cpus.append(cpu_s() - c)
    return walls, cpus


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--targets", default="cython,cpp_standalone")
    ap.add_argument("--write-results", nargs="?", const=str(ROOT / "benchmarks" / "RESULTS.md"))
    args = ap.parse_args(argv)
    targets = [t for t in args.targets.split(",") if t]
    net0, x, y_target = workload(args.steps)
    T = x.shape[0]
    B = eprop.feedback_matrix(net0, "random", seed=1)
    load0 = os.getloadavg()[0]
    uptime0 = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()

    def native_grads(net):
        return eprop.gradients(net, x[None], y_target[None], feedback="random", B=B)

    rows, compile_s, build_s = {}, {}, {}
    net, opt = net0.copy(), optim.Adam(1e-3)
    tic = time.perf_counter()
    optim.apply(net, opt, native_grads(net))
    compile_s["native"] = time.perf_counter() - tic
    rows["native (eprop.gradients)"] = timed(lambda: optim.apply(net, opt, native_grads(net)), args.repeats)
    checks = {}
    for target in targets:
        it = BrianIteration(target, net0, x, y_target, B)
        try:
            compile_s[target], build_s[target] = it.compile_s, it.build_s
            ref = native_grads(net0)
            got = it.gradients(net0)
            checks[target] = max(float(np.abs(got[k] - ref[k]).max() / np.abs(ref[k]).max()) for k in ref)
            assert checks[target] < RTOL, (target, checks[target])
            bnet, bopt = net0.copy(), optim.Adam(1e-3)
            rows[f"brian2 {target}"] = timed(lambda: optim.apply(bnet, bopt, it.gradients(bnet)), args.repeats)
        finally:
            it.close()
    load1 = os.getloadavg()[0]
    base, base_c = min(rows["native (eprop.gradients)"][0]), min(rows["native (eprop.gradients)"][1])
    lines = [SECTION, "", f"Date: {datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds')}", "",
             f"Machine: {platform.machine()}, {os.cpu_count()} cores; Python {platform.python_version()}, "
             f"numpy {np.__version__}, brian2 {b2.__version__}; `uptime` before: {uptime0}; load average "
             f"(1 min) {load0:.2f} before, {load1:.2f} after (the machine is shared)", "",
             f"Command: `python benchmarks/eprop_brian.py --repeats {args.repeats} --targets {args.targets}"
             f"{' --steps ' + str(args.steps) if args.steps != 1000 else ''} --write-results`", "",
             f"Workload: 100 inputs (frozen Poisson 50 Hz) -> 100 LIF -> 1 readout, T = {T} steps of 1 ms, MSE, "
             "e-prop with random feedback, batch 1; iteration = gradient + Adam. Brian2 gradients equal to "
             "native on the first iteration (max relative difference: "
             + ", ".join(f"{t} {v:.1e}" for t, v in checks.items()) + ").", "",
             "| iteration | wall min ms | wall median ms | CPU min ms | wall vs native | CPU vs native |",
             "|---|---:|---:|---:|---:|---:|"]
    for name, (walls, cpus) in rows.items():
        lines.append(f"| {name} | {1e3 * min(walls):.1f} | {1e3 * float(np.median(walls)):.1f} | "
                     f"{1e3 * min(cpus):.1f} | {min(walls) / base:.1f}x | {min(cpus) / base_c:.1f}x |")
    lines += ["", "First run, apart: native compile/cache load " f"{compile_s['native']:.2f} s; "
              + "; ".join(f"brian2 {t}: build (objects, Python) {build_s[t]:.1f} s, code generation + compile "
                          f"{compile_s[t]:.1f} s" for t in targets) + ".", ""]
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
