#!/usr/bin/env python
"""Song, Miller & Abbott 2000 STDP benchmark: native simulator vs Brian2 (numpy, cython, cpp_standalone).

Workload (the Brian2 documentation example ``examples/synapses/STDP.py``): 1000 Poisson
inputs at 15 Hz, all-to-all onto one conductance-based LIF neuron, additive pair STDP
(all-to-all pairing, hard bounds [0, gmax]), dt = 0.1 ms, 100 s of biological time.

    tau_m dv/dt = ge (Ee - v) + El - v          tau_e dge/dt = -ge
    taum = 10 ms, Ee = 0 mV, vt = -54 mV, vr = -60 mV, El = -74 mV, taue = 5 ms
    gmax = 0.01, taupre = taupost = 20 ms, dApre = 0.01 gmax, dApost = -1.05 dApre

Note: the current Brian2 example writes ``ge * (Ee-vr)`` (a current-based approximation,
so that ``method='exact'`` applies). Here the conductance form ``ge * (Ee-v)`` is used on
every engine (the native LIF is conductance-based), integrated with ``exponential_euler``
in Brian2, the scheme the native LIF implements.

Every target runs in its own subprocess (``--one TARGET`` prints one JSON line), so Brian2
devices and caches do not interfere. Compile/build time is reported apart from simulation
time:

* native: a 100 ms warm-up run on a separate small Network of identical structure
  ("compile", Numba's on-disk cache makes it small when warm), network construction
  ("setup"), then ``time.perf_counter()`` around ``net.run(duration)`` ("sim", minimum over
  ``--repeat`` fresh networks with the same seed); the inner compiled-loop time
  ``net.timing["run_s"]`` is reported too.
* numpy / cython (Brian2 runtime): a 100 ms warm-up ``run`` in the same network (code
  generation / Cython compilation) is "compile"; the long run's main loop time
  (``device._last_run_time``, Brian2's own measure excluding ``before_run``) is "sim";
  the long run's full wall time is reported as well. One run (they are slow).
* cpp_standalone: ``set_device('cpp_standalone', build_on_run=False)``, ``run``, then
  ``device.build(run=False)`` ("compile": code generation + make) and ``device.run()``
  ``--repeat`` times; "sim" is the smallest wall time of the binary's process (its main
  loop plus loading/writing arrays). ``device._last_run_time`` is *not* used as wall time:
  the standalone ``Network::run`` measures it with ``std::clock()``, the process CPU time;
  it is reported in the details as the main loop's CPU time.

CPU time (user + system) of the simulated span is reported next to wall time: on a shared
machine it is the less load-sensitive of the two.

Usage: python benchmarks/song2000.py [--duration 100] [--quick] [--targets native,cython]
       [--numpy-duration 10] [--write-results]
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time

ALL_TARGETS = ("native", "numpy", "cython", "cpp_standalone")
MARK = "SONG2000-RESULT "
WARMUP_MS = 100.0

N_INPUTS = 1000
RATE_HZ = 15.0
GMAX = 0.01
DT_MS = 0.1


# --------------------------------------------------------------------------------------
# one target (runs inside the subprocess)
# --------------------------------------------------------------------------------------

def weight_stats(w, gmax=GMAX):
    import numpy as np
    w = np.asarray(w, dtype=float)
    return {
        "n_syn": int(w.size),
        "w_mean_over_gmax": float(w.mean() / gmax),
        "frac_below_0.1": float(np.mean(w < 0.1 * gmax)),
        "frac_above_0.9": float(np.mean(w > 0.9 * gmax)),
    }


def rate_stats(spike_times_s, t_end_s, window_s):
    """Output rate over the whole run and over the last ``window_s`` seconds (Hz)."""
    import numpy as np
    t = np.asarray(spike_times_s, dtype=float)
    return {
        "n_out_spikes": int(t.size),
        "rate_hz": float(t.size / t_end_s),
        "rate_last_hz": float(np.sum(t >= t_end_s - window_s) / window_s),
        "rate_window_s": float(window_s),
    }


def run_native(duration_s, seed, repeat=1):
    t_import = time.perf_counter()
    import models
    import plasticity
    import_s = time.perf_counter() - t_import

    def build(net_seed):
        net = models.Network(dt=DT_MS, seed=net_seed)
        inputs = net.add(models.PoissonGroup(N_INPUTS, rate=RATE_HZ))
        cell = net.add(models.LIF(1, synapses="conductance", tau_m=10.0, v_th=-54.0, v_reset=-60.0,
                                  e_leak=-74.0, e_e=0.0, tau_e=5.0))
        proj = net.connect(inputs, cell, weight=models.uniform(0, GMAX), receptor="excitatory",
                           rule=plasticity.PairSTDP(tau_plus=20.0, tau_minus=20.0, a_plus=0.01 * GMAX,
                                                    a_minus=0.0105 * GMAX, w_max=GMAX))
        spikes = net.record_spikes(cell)
        return net, proj, spikes

    # warm-up: separate network, identical structure, 100 ms (triggers/loads Numba code)
    tic = time.perf_counter()
    wnet, _, _ = build(seed + 1)
    wnet.run(WARMUP_MS)
    compile_s = time.perf_counter() - tic
    warm_timing = dict(wnet.timing)

    tic = time.perf_counter()
    net, proj, spikes = build(seed)
    setup_s = time.perf_counter() - tic

    tic, cpu = time.perf_counter(), time.process_time()
    net.run(duration_s * 1000.0)
    runs, cpus = [time.perf_counter() - tic], [time.process_time() - cpu]
    loops = [float(net.timing["run_s"])]
    for _ in range(repeat - 1):             # same seed, fresh network: identical work
        net2, _, _ = build(seed)
        tic, cpu = time.perf_counter(), time.process_time()
        net2.run(duration_s * 1000.0)
        runs.append(time.perf_counter() - tic)
        cpus.append(time.process_time() - cpu)
        loops.append(float(net2.timing["run_s"]))
    sim_s = min(runs)

    out = {
        "target": "native",
        "duration_s": duration_s,
        "import_s": import_s,
        "compile_s": compile_s,
        "setup_s": setup_s,
        "sim_s": sim_s,
        "loop_s": min(loops),
        "sim_runs": runs,
        "cpu_s": min(cpus),
        "cpu_runs": cpus,
        "first_call_s": float(net.timing["compile_s"]),
        "warmup_timing": warm_timing,
    }
    out.update(weight_stats(proj.w))
    out.update(rate_stats(spikes.t / 1000.0, duration_s, min(10.0, duration_s)))
    return out


def _brian_model(b2, seed):
    """The objects of the Brian2 example (returns them; caller decides the device)."""
    ms, mV, Hz = b2.ms, b2.mV, b2.Hz
    b2.defaultclock.dt = DT_MS * ms
    b2.seed(seed)
    namespace = dict(
        taum=10 * ms, taupre=20 * ms, taupost=20 * ms, Ee=0 * mV, vt=-54 * mV, vr=-60 * mV,
        El=-74 * mV, taue=5 * ms, gmax=GMAX,
    )
    dApre = .01
    dApost = -dApre * namespace["taupre"] / namespace["taupost"] * 1.05
    dApost *= GMAX
    dApre *= GMAX
    namespace.update(dApre=dApre, dApost=dApost)
    eqs_neurons = """
    dv/dt = (ge * (Ee-v) + El - v) / taum : volt
    dge/dt = -ge / taue : 1
    """
    inputs = b2.PoissonGroup(N_INPUTS, rates=RATE_HZ * Hz)
    neurons = b2.NeuronGroup(1, eqs_neurons, threshold="v>vt", reset="v = vr",
                             method="exponential_euler", namespace=namespace)
    S = b2.Synapses(inputs, neurons,
                    """w : 1
                       dApre/dt = -Apre / taupre : 1 (event-driven)
                       dApost/dt = -Apost / taupost : 1 (event-driven)""",
                    on_pre="""ge += w
                              Apre += dApre
                              w = clip(w + Apost, 0, gmax)""",
                    on_post="""Apost += dApost
                               w = clip(w + Apre, 0, gmax)""",
                    namespace=namespace)
    S.connect()
    S.w = "rand() * gmax"
    smon = b2.SpikeMonitor(neurons)
    net = b2.Network(inputs, neurons, S, smon)
    return net, S, smon


def run_brian_runtime(target, duration_s, seed):
    t_import = time.perf_counter()
    import brian2 as b2
    import_s = time.perf_counter() - t_import
    b2.prefs.codegen.target = target
    b2.set_device("runtime")

    tic = time.perf_counter()
    net, S, smon = _brian_model(b2, seed)
    setup_s = time.perf_counter() - tic

    tic = time.perf_counter()
    net.run(WARMUP_MS * b2.ms)              # code generation (+ Cython compilation)
    compile_s = time.perf_counter() - tic

    tic, cpu = time.perf_counter(), time.process_time()
    net.run(duration_s * b2.second)
    run_wall_s = time.perf_counter() - tic
    cpu_s = time.process_time() - cpu
    sim_s = float(b2.get_device()._last_run_time)

    t_end = WARMUP_MS / 1000.0 + duration_s
    out = {
        "target": target,
        "duration_s": duration_s,
        "import_s": import_s,
        "compile_s": compile_s,
        "setup_s": setup_s,
        "sim_s": sim_s,
        "run_wall_s": run_wall_s,
        "cpu_s": cpu_s,
        "bio_time_s": t_end,
    }
    out.update(weight_stats(S.w[:]))
    out.update(rate_stats(smon.t[:] / b2.second, t_end, min(10.0, duration_s)))
    return out


def run_brian_standalone(duration_s, seed, repeat=1, keep_dir=False):
    t_import = time.perf_counter()
    import brian2 as b2
    import_s = time.perf_counter() - t_import
    directory = tempfile.mkdtemp(prefix="song2000_cpp_")
    try:
        b2.set_device("cpp_standalone", build_on_run=False, directory=directory)
        tic = time.perf_counter()
        net, S, smon = _brian_model(b2, seed)
        net.run(duration_s * b2.second)       # records the run; nothing is executed yet
        setup_s = time.perf_counter() - tic

        device = b2.get_device()
        tic = time.perf_counter()
        device.build(directory=directory, compile=True, run=False, debug=False)
        build_s = time.perf_counter() - tic
        runs, cpus, walls = [], [], []
        for _ in range(repeat):             # run the compiled binary (same seed, same work)
            r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            tic = time.perf_counter()
            device.run(directory=directory, with_output=False)
            walls.append(time.perf_counter() - tic)
            r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            runs.append(float(device._last_run_time))
            cpus.append((r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime))
        # Brian2's standalone Network::run times its loop with std::clock(), i.e. *CPU* time of
        # the process (see network.cpp), not wall time: the wall time of a simulation is the
        # binary's process wall time (which also includes loading/writing its arrays).
        sim_s = min(walls)
        out = {
            "target": "cpp_standalone",
            "duration_s": duration_s,
            "import_s": import_s,
            "compile_s": build_s,
            "setup_s": setup_s,
            "sim_s": sim_s,
            "build_wall_s": build_s,
            "sim_runs": walls,
            "loop_cpu_runs": runs,
            "loop_cpu_s": min(runs),
            "cpu_s": min(cpus),
            "cpu_runs": cpus,
            "make_s": device.timers["compile"]["make"],
        }
        out.update(weight_stats(S.w[:]))
        out.update(rate_stats(smon.t[:] / b2.second, duration_s, min(10.0, duration_s)))
        device.reinit()
        device.activate()
        b2.set_device("runtime")
        return out
    finally:
        if not keep_dir:
            shutil.rmtree(directory, ignore_errors=True)


def run_one(target, duration_s, seed, repeat=1):
    if target == "native":
        return run_native(duration_s, seed, repeat)
    if target in ("numpy", "cython"):
        return run_brian_runtime(target, duration_s, seed)
    if target == "cpp_standalone":
        return run_brian_standalone(duration_s, seed, repeat)
    raise ValueError(f"target must be one of {ALL_TARGETS}, got {target!r}")


# --------------------------------------------------------------------------------------
# driver
# --------------------------------------------------------------------------------------

def launch(target, duration_s, seed, repeat=1):
    """Run one target in a subprocess; returns its result dict (or one with an 'error')."""
    cmd = [sys.executable, os.path.abspath(__file__), "--one", target,
           "--duration", repr(duration_s), "--seed", str(seed), "--repeat", str(repeat)]
    print(f"[song2000] {target}: {duration_s:g} s biological ...", file=sys.stderr, flush=True)
    tic = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - tic
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(MARK):
            res = json.loads(line[len(MARK):])
            res["process_wall_s"] = wall
            print(f"[song2000] {target}: done in {wall:.1f} s", file=sys.stderr, flush=True)
            return res
    err = proc.stderr.strip().splitlines()
    # keep the traceback (last lines), which names the error exactly
    tail = "\n".join(err[-25:]) if err else f"exit code {proc.returncode}, no output"
    print(f"[song2000] {target}: FAILED (exit {proc.returncode})\n{tail}", file=sys.stderr, flush=True)
    return {"target": target, "duration_s": duration_s, "error": tail, "returncode": proc.returncode,
            "process_wall_s": wall}


def scaled(res, key, duration_s):
    """A time of ``res`` scaled to ``duration_s`` (when the target ran a shorter duration)."""
    return res[key] * duration_s / res["duration_s"]


def format_table(results, duration_s):
    native = next((r for r in results if r["target"] == "native" and "error" not in r), None)
    head = ("| target | bio time | compile s | setup s | simulation s (wall) | simulation s (CPU) | vs native | "
            "mean w/gmax | w < 0.1 gmax | w > 0.9 gmax | rate Hz (whole run / last 10 s) |")
    lines = [head, "|---|---|---:|---:|---:|---:|---|---:|---:|---:|---|"]
    for r in results:
        if "error" in r:
            first = r["error"].strip().splitlines()[-1] if r["error"].strip() else "error"
            lines.append(f"| {r['target']} | {r['duration_s']:g} s | FAILED: `{first}` | | | | | | | | |")
            continue
        scale = duration_s / r["duration_s"]
        bio = f"{r['duration_s']:g} s"
        sim, cpu = scaled(r, "sim_s", duration_s), scaled(r, "cpu_s", duration_s)
        sim_txt, cpu_txt = f"{sim:.3f}", f"{cpu:.3f}"
        if abs(scale - 1.0) > 1e-9:
            bio = f"**{r['duration_s']:g} s run, x{scale:g}**"
            sim_txt += f" ({r['duration_s']:g} s run, x{scale:g})"
            cpu_txt += f" (x{scale:g})"
        if r["target"] == "native":
            ratio = "1x"
        elif native is not None:
            ratio = (f"{r['target']} / native = {sim / scaled(native, 'sim_s', duration_s):.1f}x "
                     f"(CPU {cpu / scaled(native, 'cpu_s', duration_s):.1f}x)")
        else:
            ratio = "n/a"
        lines.append(
            f"| {r['target']} | {bio} | {r['compile_s']:.2f} | {r['setup_s']:.3f} | {sim_txt} | {cpu_txt} | {ratio} | "
            f"{r['w_mean_over_gmax']:.3f} | {r['frac_below_0.1']:.3f} | {r['frac_above_0.9']:.3f} | "
            f"{r['rate_hz']:.2f} / {r['rate_last_hz']:.2f} |")
    return "\n".join(lines)


def _secs(values):
    return "[" + ", ".join(f"{v:.3f}" for v in values) + "] s"


def format_details(results):
    lines = []
    for r in results:
        if "error" in r:
            lines.append(f"- {r['target']}: error (exit {r.get('returncode')}):\n\n```\n{r['error']}\n```")
            continue
        t = r["target"]
        if t == "native":
            lines.append(f"- native: import {r['import_s']:.2f} s; warm-up network (100 ms) {r['compile_s']:.3f} s "
                         f"(first compiled call {r['warmup_timing']['compile_s']:.3f} s); net.run wall of each "
                         f"repeat {_secs(r['sim_runs'])}, CPU {_secs(r['cpu_runs'])}; compiled loop alone "
                         f"(net.timing['run_s']) {r['loop_s']:.3f} s at best; {r['n_out_spikes']} output spikes.")
        elif t in ("numpy", "cython"):
            lines.append(f"- {t}: import {r['import_s']:.2f} s; warm-up run (100 ms, code generation"
                         f"{' + Cython compilation' if t == 'cython' else ''}) {r['compile_s']:.2f} s; long run: "
                         f"wall {r['run_wall_s']:.2f} s, main loop (device._last_run_time) {r['sim_s']:.2f} s, "
                         f"CPU {r['cpu_s']:.2f} s; one run; {r['n_out_spikes']} output spikes over "
                         f"{r['bio_time_s']:g} s.")
        else:
            lines.append(f"- cpp_standalone: import {r['import_s']:.2f} s; device.build(run=False) wall "
                         f"{r['build_wall_s']:.2f} s (make {r['make_s']:.2f} s); binary runs: process wall "
                         f"{_secs(r['sim_runs'])}, process CPU {_secs(r['cpu_runs'])}, main loop "
                         f"(device._last_run_time, std::clock() = CPU time) {_secs(r['loop_cpu_runs'])}; "
                         f"{r['n_out_spikes']} output spikes.")
        lines[-1] += f" Subprocess wall {r['process_wall_s']:.1f} s."
        if "loadavg_1min" in r:
            lines[-1] += " 1-min load average {:.2f} -> {:.2f}.".format(*r["loadavg_1min"])
    return "\n".join(lines)


def machine_info():
    import numpy
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    versions = {"python": platform.python_version(), "numpy": numpy.__version__}
    for mod in ("numba", "brian2", "Cython"):
        try:
            versions[mod] = __import__(mod).__version__
        except Exception as exc:   # pragma: no cover - report, do not fail
            versions[mod] = f"unavailable ({type(exc).__name__})"
    osname = platform.platform()
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    osname = line.split("=", 1)[1].strip().strip('"') + f" (kernel {platform.release()})"
    except OSError:
        pass
    try:
        gxx = subprocess.run(["g++", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    except Exception:
        gxx = "unavailable"
    return {"cpu": cpu, "cores": os.cpu_count(), "os": osname, "g++": gxx, **versions,
            "loadavg": os.getloadavg()}


NOTES_MARK = "<!-- notes: everything below this line is kept when the report is rewritten -->"


def write_results(path, results, table, details, duration_s, command, info):
    kept = ""
    if os.path.exists(path):
        with open(path) as f:
            old = f.read()
        if NOTES_MARK in old:
            kept = old.split(NOTES_MARK, 1)[1]
    lines = [
        "# Song, Miller & Abbott 2000 STDP benchmark: native vs Brian2",
        "",
        f"Date: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}",
        "",
        f"Machine: {info['cpu']}, {info['cores']} cores (os.cpu_count); {info['os']}; "
        "load average (1, 5, 15 min) at the end: {:.2f}, {:.2f}, {:.2f}".format(*info["loadavg"]),
        "",
        f"Python {info['python']}, numpy {info['numpy']}, numba {info['numba']}, brian2 {info['brian2']}, "
        f"Cython {info['Cython']}, {info['g++']}",
        "",
        f"Command: `{command}`",
        "",
        f"Workload: {N_INPUTS} Poisson inputs at {RATE_HZ:g} Hz -> 1 conductance LIF, additive all-to-all "
        f"pair STDP (gmax = {GMAX}), dt = {DT_MS} ms, {duration_s:g} s biological time "
        "(Brian2 example `synapses/STDP`, conductance form `ge*(Ee-v)`, exponential Euler).",
        "",
        table,
        "",
        "Columns: *compile* = native: 100 ms warm-up on a separate identical Network (Numba's on-disk "
        "cache); numpy/cython: 100 ms warm-up run in the same network (code generation, Cython "
        "compilation with Brian2's on-disk cache); cpp_standalone: `device.build(run=False)` wall time "
        "(code generation + make). *setup* = building the network objects (Brian2: includes generating/"
        "compiling the synapse-creation code of `connect` and `S.w = ...`). *simulation (wall)* = native: "
        "perf_counter around `net.run(duration)` (includes flattening the network and drawing the Poisson "
        "spikes), minimum over `--repeat`; numpy/cython: `device._last_run_time` of the long run (main loop, "
        "wall clock, one run); cpp_standalone: wall time of the binary's process (main loop + loading and "
        "writing its arrays), minimum over `--repeat` runs of the binary -- not `device._last_run_time`, "
        "which the standalone binary measures with `std::clock()`, i.e. CPU time. *simulation (CPU)* = "
        "CPU time (user + system) of the same span (process_time; for cpp_standalone the binary's "
        "rusage; its main loop alone, `device._last_run_time`, is in the details), less sensitive to "
        "other load on the machine. *vs native* = simulation-time ratio (wall; CPU in parentheses).",
        "",
        "Details:",
        "",
        details,
        "",
        NOTES_MARK + kept.rstrip("\n"),
        "",
    ]
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(lines))
    os.replace(tmp, path)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--duration", type=float, default=None, help="biological time, s (default 100)")
    p.add_argument("--quick", action="store_true", help="10 s of biological time")
    p.add_argument("--targets", default=",".join(ALL_TARGETS),
                   help=f"comma-separated subset of {','.join(ALL_TARGETS)}")
    p.add_argument("--numpy-duration", type=float, default=None,
                   help="run the numpy target for this many s and scale its time (default: --duration)")
    p.add_argument("--seed", type=int, default=2000)
    p.add_argument("--repeat", type=int, default=3,
                   help="native and cpp_standalone: time the simulation this many times (same seed) and "
                        "report the minimum; numpy/cython always run once (default 3)")
    p.add_argument("--write-results", nargs="?", const=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                                     "RESULTS.md"),
                   default=None, metavar="PATH", help="write a Markdown report (default benchmarks/RESULTS.md)")
    p.add_argument("--json", default=None, metavar="PATH", help="also dump raw results as JSON")
    p.add_argument("--one", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    duration_s = args.duration if args.duration is not None else (10.0 if args.quick else 100.0)
    if not duration_s > 0:
        p.error(f"--duration must be > 0 s, got {duration_s}")
    if args.repeat < 1:
        p.error(f"--repeat must be >= 1, got {args.repeat}")

    if args.one:
        load0 = os.getloadavg()[0]
        res = run_one(args.one, duration_s, args.seed, args.repeat)
        res["loadavg_1min"] = [load0, os.getloadavg()[0]]
        print(MARK + json.dumps(res), flush=True)
        return 0

    targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    bad = [t for t in targets if t not in ALL_TARGETS]
    if bad:
        p.error(f"--targets must be a subset of {','.join(ALL_TARGETS)}, got {bad}")

    results = []
    for t in targets:
        d = args.numpy_duration if (t == "numpy" and args.numpy_duration) else duration_s
        results.append(launch(t, d, args.seed, args.repeat))

    table = format_table(results, duration_s)
    details = format_details(results)
    print()
    print(f"Song 2000 STDP, {duration_s:g} s biological time, dt = {DT_MS} ms")
    print(table)
    print()
    print(details)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    if args.write_results:
        command = "python benchmarks/song2000.py " + " ".join(sys.argv[1:] if argv is None else argv)
        write_results(args.write_results, results, table, details, duration_s, command.strip(), machine_info())
        print(f"\nwrote {args.write_results}")
    return 1 if any("error" in r for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
