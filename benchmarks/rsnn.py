#!/usr/bin/env python
"""RSNN learning benchmark: one training iteration of BPTT and of e-prop.

Workload (docs/design.md performance targets; the NEST 3.10 e-prop pattern-generation
example's size): 100 inputs (frozen Poisson, 50 Hz) -> 100 recurrent LIF -> 1 leaky readout,
T = 1000 steps of 1 ms, MSE to a sum of sines, batch 1 and 32. One iteration = the gradient
(forward + backward for BPTT; the fused online pass for e-prop with random feedback) plus
an Adam update. Targets: e-prop <= 28 ms, BPTT <= 35 ms (batch 1) / <= 420 ms (batch 32).

Reported separately:

* compile: first call in a fresh subprocess with an empty ``NUMBA_CACHE_DIR`` (Numba
  compiles every kernel), and the first call in this process (on-disk cache load);
* per iteration: ``time.perf_counter()`` around gradient + update, minimum and median over
  ``--repeats`` iterations, compile excluded;
* peak memory: tracemalloc peak of one gradient call (inputs allocated before).

PyTorch is never a dependency: if it happens to be importable this script says so, but no
PyTorch comparison is implemented yet.

Usage: python benchmarks/rsnn.py [--steps 1000] [--batches 1,32] [--repeats 5] [--write-results]
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from models.rsnn import RSNN  # noqa: E402
from plasticity import bptt, eprop, optim  # noqa: E402
from protocols.tasks import PatternGeneration  # noqa: E402

MARK = "RSNN-COMPILE "
SECTION = "## RSNN: BPTT vs e-prop"
NOTES_MARK = "<!-- notes: everything below this line is kept when the report is rewritten -->"
TARGETS_MS = {("bptt", 1): 35.0, ("bptt", 32): 420.0, ("eprop", 1): 28.0}
ANCHORS_MS = {("bptt", 1): "PyTorch CPU 345", ("bptt", 32): "PyTorch CPU 420", ("eprop", 1): "NEST 3.10 276"}


def workload(steps: int, batch: int):
    task = PatternGeneration(duration_ms=float(steps))
    x, target = task.sample(batch)
    return RSNN(100, 100, 1, seed=0), x, target


def iteration(rule, net, x, target, opt, B):
    if rule == "bptt":
        g = bptt.gradients(net, x, target)
    else:
        g = eprop.gradients(net, x, target, feedback="random", B=B)
    optim.apply(net, opt, g)


def compile_times() -> dict:
    """First-call times (s) of BPTT and e-prop in this process."""
    out = {}
    for rule in ("bptt", "eprop"):
        net, x, target = workload(50, 1)
        B = eprop.feedback_matrix(net, "random", seed=1)
        start = time.perf_counter()
        iteration(rule, net, x, target, optim.Adam(1e-3), B)
        out[rule] = time.perf_counter() - start
    return out


def cold_compile_times() -> dict:
    """First-call times in a subprocess whose Numba cache directory is empty."""
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        proc = subprocess.run([sys.executable, __file__, "--compile-only"], env=env, capture_output=True,
                              text=True, timeout=900)
    for line in proc.stdout.splitlines():
        if line.startswith(MARK):
            return json.loads(line[len(MARK):])
    raise RuntimeError(f"compile subprocess failed:\n{proc.stderr[-2000:]}")


def measure(rule: str, steps: int, batch: int, repeats: int) -> dict:
    net, x, target = workload(steps, batch)
    B = eprop.feedback_matrix(net, "random", seed=1)
    opt = optim.Adam(1e-3)
    iteration(rule, net, x, target, opt, B)  # warm-up
    times, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        iteration(rule, net, x, target, opt, B)
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    tracemalloc.start()
    (bptt.gradients(net, x, target) if rule == "bptt"
     else eprop.gradients(net, x, target, feedback="random", B=B))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    rate = float(net.forward(x).z.mean() * 1000.0)
    return dict(rule=rule, batch=batch, steps=steps, min_ms=1e3 * min(times), median_ms=1e3 * float(np.median(times)),
                cpu_min_ms=1e3 * min(cpu),
                times_ms=[round(1e3 * t, 2) for t in times], peak_mb=peak / 1e6, rate_hz=rate)


def report(rows, warm, cold, args, load_before, load_after) -> str:
    lines = [SECTION, "",
             f"Date: {datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds')}", "",
             f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; Python "
             f"{platform.python_version()}, numpy {np.__version__}, numba {__import__('numba').__version__}; "
             f"load average (1 min) {load_before:.2f} before, {load_after:.2f} after (the machine is shared)", "",
             f"Command: `python benchmarks/rsnn.py {' '.join(sys.argv[1:])}`", "",
             f"Workload: 100 inputs (frozen Poisson 50 Hz) -> 100 recurrent LIF -> 1 leaky readout, T = {args.steps} "
             "steps (dt 1 ms), MSE to a sum of sines; one iteration = gradient + Adam update; e-prop with random "
             "feedback (fused online pass, memory independent of T).", "",
             "| rule | batch | wall min ms/iter | wall median ms/iter | CPU min ms/iter | target (judged on wall min) "
             "| best anchor (docs/design.md) | peak MB (tracemalloc) |",
             "|---|---:|---:|---:|---:|---|---|---:|"]
    for r in rows:
        key = (r["rule"], r["batch"])
        target = f"<= {TARGETS_MS[key]:g} ms ({'met' if r['min_ms'] <= TARGETS_MS[key] else 'missed'})" \
            if key in TARGETS_MS and args.steps == 1000 else "-"
        lines.append(f"| {r['rule']} | {r['batch']} | {r['min_ms']:.1f} | {r['median_ms']:.1f} | {r['cpu_min_ms']:.1f} | {target} | "
                     f"{ANCHORS_MS.get(key, '-')} ms | {r['peak_mb']:.2f} |")
    lines += ["", "Compile time (first call, 50-step workload, reported apart from the iteration times): "
              + ", ".join(f"{k} {cold[k]:.1f} s cold (empty Numba cache), {warm[k]:.2f} s warm (cache load)"
                          for k in warm) + ".", "",
              "Per-repeat times (ms): " + "; ".join(f"{r['rule']} batch {r['batch']}: {r['times_ms']}" for r in rows),
              "", "CPU = time.process_time of the same span (single-threaded kernels), less sensitive to other "
              "jobs on the shared cores than wall time.",
              "", "PyTorch: not compared (not installed; it is never a dependency).", ""]
    return "\n".join(lines)


def write_results(text: str, path: Path) -> None:
    """Replace this benchmark's section of RESULTS.md (or append it); other sections untouched."""
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    if SECTION in old:
        head, _, rest = old.partition(SECTION)
        nxt = rest.find("\n## ")
        tail = rest[nxt + 1:] if nxt >= 0 else ""
        new = head + text + ("\n" + tail if tail else "")
    elif old:
        new = old + ("\n" if old.endswith("\n") else "\n\n") + text
    else:
        # a new file: start with the Song 2000 report's notes marker, so that benchmarks/song2000.py,
        # which keeps everything below that line when it rewrites its report, keeps this section
        new = NOTES_MARK + "\n\n" + text
    tmp = path.with_name(f".{path.name}.rsnn.tmp")
    tmp.write_text(new, encoding="utf-8")
    os.replace(tmp, path)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--batches", default="1,32")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--write-results", action="store_true")
    parser.add_argument("--compile-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.compile_only:
        print(MARK + json.dumps(compile_times()))
        return 0
    load_before = os.getloadavg()[0]
    warm = compile_times()
    cold = cold_compile_times()
    try:
        import torch  # noqa: F401
        print("note: PyTorch is importable, but no PyTorch comparison is implemented", file=sys.stderr)
    except ImportError:
        pass
    rows = []
    for batch in [int(b) for b in args.batches.split(",")]:
        for rule in ("bptt", "eprop"):
            row = measure(rule, args.steps, batch, args.repeats)
            rows.append(row)
            print(f"{rule:>6} batch {batch:>3}: min {row['min_ms']:8.1f} ms  median {row['median_ms']:8.1f} ms  "
                  f"CPU min {row['cpu_min_ms']:8.1f} ms  "
                  f"peak {row['peak_mb']:.2f} MB  (rate {row['rate_hz']:.1f} Hz)", flush=True)
    text = report(rows, warm, cold, args, load_before, os.getloadavg()[0])
    print(text)
    if args.write_results:
        write_results(text, ROOT / "benchmarks" / "RESULTS.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
