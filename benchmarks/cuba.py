#!/usr/bin/env python
"""Recurrent networks with plasticity: Vogels-Abbott CUBA and COBA, native loop vs Brian2 cpp_standalone.

Workload (Vogels & Abbott 2005; Brette et al. 2007, benchmarks 1 and 2; Brian2's ``CUBA.py``
example): N neurons, 80 % excitatory, random connectivity with in-degree ~80 (p = 0.02 at
N = 4000, p = 80/N at other sizes), additive pair STDP on E->E (all-to-all pairing, tau 20 ms,
hard bounds [0, 2 w_e]), dt 0.1 ms, 2 s of biological time, one thread on both sides.

CUBA (exponential currents, written in mV as in Brian2's example; the native group uses
c_m = tau_m so that R = 1 GOhm and 1 pA of current is 1 mV of drive)::

    tau_m dv/dt = (e_l - v) + g_e + g_i,   tau_e dg_e/dt = -g_e,   tau_i dg_i/dt = -g_i
    tau_m 20 ms, tau_e 5 ms, tau_i 10 ms, v_th -50 mV, v_reset -60 mV, e_l -49 mV, t_ref 5 ms
    w_e = 60 * 0.27 / 10 = 1.62 mV, w_i = -20 * 4.5 / 10 = -9 mV

COBA (conductances in units of the leak conductance; Brette et al. 2007: g_L 10 nS, dg_e 6 nS,
dg_i 67 nS) with the same constant drive as CUBA (e_l - v_reset = 11 mV above rest, so that the
network is active from uniform initial potentials without initial conductances)::

    tau_m dv/dt = (e_l - v) + g_e (e_e - v) + g_i (e_i - v) + 11 mV,   e_l = -60 mV, e_e 0, e_i -80 mV
    w_e = 0.6, w_i = 6.7; integrated with the exponential-Euler step on both sides

Both engines get the same synapses (drawn once here, passed as explicit pairs) and the same
initial potentials (uniform in [v_reset, v_th]); their spike trains diverge after a while
(chaotic dynamics, different rounding), so the check is statistical: mean rates within a few
percent. Synaptic events are counted as (presynaptic spikes x out-degree) delivered.

Each engine runs in its own subprocess (``--one``) so that devices and thread settings do not
interfere; NUMBA_NUM_THREADS=1 for the native side, OpenMP off for Brian2. Times:

* native: compile = loading/compiling the loop on a 20 ms run of the same network (the Numba
  cache makes it small when warm); setup = building the network; sim = wall time of
  ``net.run(2000)``, best of --repeat fresh networks.
* cpp_standalone: compile = code generation and ``make``; sim = wall time of the binary
  (``device.run()``), best of --repeat.

"sim" counts everything the first ``run`` of a built network costs on each side: natively the
flattening of the network into the loop's arrays (``_Built``), for Brian2 the binary's start
and the loading of its arrays. The column "loop" gives the time loop alone: natively
``net.timing["run_s"]``, for Brian2 ``device._last_run_time`` (its ``Network::run``, measured
with ``std::clock()``, i.e. CPU time).

CPU time (user + system: ``process_time`` natively, the binary's rusage for Brian2) is
reported beside wall time; on a shared machine it is the less load-sensitive of the two.

Usage: python benchmarks/cuba.py [--sizes 4000,16000] [--models cuba,coba] [--duration 2]
       [--repeat 2] [--seeds 0] [--engines native,cpp_standalone] [--json FILE]
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from typing import NamedTuple

import numpy as np

MARK = "CUBA-RESULT "
DT_MS = 0.1
IN_DEGREE = 80
EXC_FRACTION = 0.8


class Model(NamedTuple):
    """Parameters of one of the two networks (ms, mV; weights in mV (CUBA) or leak units (COBA))."""

    name: str
    tau_m: float
    tau_e: float
    tau_i: float
    v_th: float
    v_reset: float
    e_leak: float
    drive: float        # mV of constant drive (R * i_ext)
    t_ref: float
    w_e: float
    w_i: float          # signed for CUBA (an inhibitory current), a conductance (>0) for COBA
    e_e: float = 0.0
    e_i: float = -80.0


MODELS = {
    "cuba": Model("cuba", 20.0, 5.0, 10.0, -50.0, -60.0, -49.0, 0.0, 5.0, 60 * 0.27 / 10, -20 * 4.5 / 10),
    "coba": Model("coba", 20.0, 5.0, 10.0, -50.0, -60.0, -60.0, 11.0, 5.0, 0.6, 6.7),
}


class Spec(NamedTuple):
    """One network instance: the model, sizes, the synapses of the four projections and v0."""

    model: Model
    n_e: int
    n_i: int
    v0: np.ndarray
    pairs: dict         # "ee", "ei", "ie", "ii" -> (pre, post) local indices, sorted by pre


def random_pairs(n_pre, n_post, p, rng, no_self):
    """Each (pre, post) pair independently with probability p, without a dense mask."""
    n_all = n_pre * n_post
    flat = np.unique(rng.integers(0, n_all, size=rng.binomial(n_all, p)))
    pre, post = flat // n_post, flat % n_post
    keep = pre != post if no_self else np.ones(pre.size, bool)
    return pre[keep].astype(np.int64), post[keep].astype(np.int64)


def make_spec(model: str, n: int, seed: int) -> Spec:
    m = MODELS[model]
    rng = np.random.default_rng(seed)
    n_e = int(round(EXC_FRACTION * n))
    n_i = n - n_e
    p = IN_DEGREE / n
    pairs = {"ee": random_pairs(n_e, n_e, p, rng, True), "ei": random_pairs(n_e, n_i, p, rng, False),
             "ie": random_pairs(n_i, n_e, p, rng, False), "ii": random_pairs(n_i, n_i, p, rng, True)}
    v0 = rng.uniform(m.v_reset, m.v_th, n)
    return Spec(m, n_e, n_i, v0, pairs)


def stdp_params(m: Model) -> dict:
    """Additive pair STDP on E->E: tau 20 ms, amplitude 1 % of w_max, hard bounds [0, 2 w_e]."""
    w_max = 2.0 * m.w_e
    return dict(tau_plus=20.0, tau_minus=20.0, a_plus=0.01 * w_max, a_minus=0.0105 * w_max, w_min=0.0, w_max=w_max)


def synaptic_events(spec: Spec, spikes_e, spikes_i) -> int:
    """Presynaptic spikes times their out-degree (synapses reached), over all projections."""
    out_e = np.bincount(spec.pairs["ee"][0], minlength=spec.n_e) + np.bincount(spec.pairs["ei"][0], minlength=spec.n_e)
    out_i = np.bincount(spec.pairs["ie"][0], minlength=spec.n_i) + np.bincount(spec.pairs["ii"][0], minlength=spec.n_i)
    return int(np.sum(out_e[spikes_e]) + np.sum(out_i[spikes_i]))


# --------------------------------------------------------------------------------------
# native
# --------------------------------------------------------------------------------------

def build_native(spec: Spec):
    import models
    import plasticity

    m = spec.model
    net = models.Network(dt=DT_MS, seed=0)
    common = dict(tau_m=m.tau_m, tau_e=m.tau_e, tau_i=m.tau_i, v_th=m.v_th, v_reset=m.v_reset,
                  e_leak=m.e_leak, t_ref=m.t_ref)
    if m.name == "cuba":
        group = dict(synapses="current", c_m=m.tau_m, **common)       # R = tau_m / c_m = 1 GOhm
    else:
        group = dict(synapses="conductance", c_m=m.tau_m, e_e=m.e_e, e_i=m.e_i, i_ext=m.drive, **common)
    exc = net.add(models.LIF(spec.n_e, v_init=spec.v0[:spec.n_e], **group))
    inh = net.add(models.LIF(spec.n_i, v_init=spec.v0[spec.n_e:], **group))
    rule = plasticity.PairSTDP(**stdp_params(m))
    for key, src, tgt, w, receptor in (("ee", exc, exc, m.w_e, "excitatory"), ("ei", exc, inh, m.w_e, "excitatory"),
                                       ("ie", inh, exc, m.w_i, "inhibitory"), ("ii", inh, inh, m.w_i, "inhibitory")):
        pre, post = spec.pairs[key]
        net.connect(src, tgt, weight=w, receptor=receptor, connectivity=models.from_pairs(pre, post),
                    rule=rule if key == "ee" else None)
    return net, net.record_spikes(exc), net.record_spikes(inh)


def run_native(spec: Spec, duration_ms: float, repeat: int) -> dict:
    tic = time.perf_counter()
    warm, _, _ = build_native(spec)
    warm.run(20.0)
    compile_s = time.perf_counter() - tic
    sims, cpus, loops = [], [], []
    for _ in range(repeat):
        tic = time.perf_counter()
        net, rec_e, rec_i = build_native(spec)
        setup_s = time.perf_counter() - tic
        tic, cpu = time.perf_counter(), time.process_time()
        net.run(duration_ms)
        sims.append(time.perf_counter() - tic)
        cpus.append(time.process_time() - cpu)
        loops.append(net.timing["run_s"])
    return dict(compile_s=compile_s, setup_s=setup_s, sim_s=min(sims), sim_runs=sims, cpu_s=min(cpus), loop_s=min(loops),
                spikes_e=np.asarray(rec_e.i), spikes_i=np.asarray(rec_i.i))


# --------------------------------------------------------------------------------------
# Brian2 cpp_standalone
# --------------------------------------------------------------------------------------

def build_brian(b2, spec: Spec):
    """The same network as Brian2 objects (on the current device); returns (net, spike monitor)."""
    from plasticity import PairSTDP
    from plasticity.brian import to_brian

    m = spec.model
    ms, mV = b2.ms, b2.mV
    b2.defaultclock.dt = DT_MS * ms
    ns = dict(taum=m.tau_m * ms, taue=m.tau_e * ms, taui=m.tau_i * ms, vt=m.v_th * mV, vr=m.v_reset * mV,
              el=m.e_leak * mV, drive=m.drive * mV, ee=m.e_e * mV, ei=m.e_i * mV)
    if m.name == "cuba":
        eqs = """dv/dt = (el - v + ge + gi) / taum : volt (unless refractory)
                 dge/dt = -ge / taue : volt
                 dgi/dt = -gi / taui : volt"""
        method, to_e, to_i = "exact", "ge_post += {w} * mV", "gi_post += {w} * mV"
    else:
        eqs = """dv/dt = (el - v + ge * (ee - v) + gi * (ei - v) + drive) / taum : volt (unless refractory)
                 dge/dt = -ge / taue : 1
                 dgi/dt = -gi / taui : 1"""
        method, to_e, to_i = "exponential_euler", "ge_post += {w}", "gi_post += {w}"
    group = b2.NeuronGroup(spec.n_e + spec.n_i, eqs, threshold="v > vt", reset="v = vr", refractory=m.t_ref * ms,
                           method=method, namespace=ns)
    group.v = spec.v0 * mV
    exc, inh = group[:spec.n_e], group[spec.n_e:]
    rule = PairSTDP(**stdp_params(m))
    objects = [group]
    for key, src, tgt, w, stmt in (("ee", exc, exc, m.w_e, to_e), ("ei", exc, inh, m.w_e, to_e),
                                   ("ie", inh, exc, m.w_i, to_i), ("ii", inh, inh, m.w_i, to_i)):
        if key == "ee":
            syn = b2.Synapses(src, tgt, **to_brian(rule, transmit=stmt.format(w="w")))
        else:
            syn = b2.Synapses(src, tgt, on_pre=stmt.format(w=repr(float(w))), namespace={"mV": mV})
        pre, post = spec.pairs[key]
        syn.connect(i=pre, j=post)
        if key == "ee":
            syn.w = m.w_e
        objects.append(syn)
    monitor = b2.SpikeMonitor(group)
    return b2.Network(*objects, monitor), monitor


def run_brian(spec: Spec, duration_ms: float, repeat: int) -> dict:
    import brian2 as b2

    directory = tempfile.mkdtemp(prefix="plab_cuba_b2_")
    b2.set_device("cpp_standalone", directory=directory, build_on_run=False)
    b2.prefs.devices.cpp_standalone.openmp_threads = 0
    # Brian2's default "make -j" starts a compiler per file at once (load 10-18 on 2 cores)
    b2.prefs.devices.cpp_standalone.extra_make_args_unix = [f"-j{os.cpu_count() or 1}"]
    net, monitor = build_brian(b2, spec)
    net.run(duration_ms * b2.ms)
    tic = time.perf_counter()
    b2.device.build(directory=directory, compile=True, run=False)
    compile_s = time.perf_counter() - tic
    sims, cpus, loops = [], [], []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        tic = time.perf_counter()
        b2.device.run(directory=directory, with_output=False)
        sims.append(time.perf_counter() - tic)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
        loops.append(float(b2.get_device()._last_run_time))
    idx = np.array(monitor.i[:])
    return dict(compile_s=compile_s, setup_s=0.0, sim_s=min(sims), sim_runs=sims, cpu_s=min(cpus), loop_s=min(loops),
                spikes_e=idx[idx < spec.n_e], spikes_i=idx[idx >= spec.n_e] - spec.n_e)


# --------------------------------------------------------------------------------------
# one measurement (subprocess) and the table
# --------------------------------------------------------------------------------------

def one(engine: str, model: str, n: int, seed: int, duration_ms: float, repeat: int) -> dict:
    spec = make_spec(model, n, seed)
    run = run_native if engine == "native" else run_brian
    out = run(spec, duration_ms, repeat)
    spikes_e, spikes_i = out.pop("spikes_e"), out.pop("spikes_i")
    events = synaptic_events(spec, spikes_e, spikes_i)
    n_syn = sum(p[0].size for p in spec.pairs.values())
    out.update(engine=engine, model=model, n=n, seed=seed, duration_ms=duration_ms, n_syn=n_syn,
               spikes=int(spikes_e.size + spikes_i.size), events=events,
               rate_hz=float((spikes_e.size + spikes_i.size) / n / (duration_ms / 1000.0)),
               events_per_s=events / out["sim_s"], events_per_cpu_s=events / out["cpu_s"])
    return out


def measure(engine, model, n, seed, duration_ms, repeat) -> dict:
    env = dict(os.environ, NUMBA_NUM_THREADS="1", OMP_NUM_THREADS="1")
    cmd = [sys.executable, __file__, "--one", engine, model, str(n), str(seed), str(duration_ms), str(repeat)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    for line in proc.stdout.splitlines():
        if line.startswith(MARK):
            return json.loads(line[len(MARK):])
    raise RuntimeError(f"{engine} {model} {n} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")


def table(rows) -> str:
    lines = ["| model | N | synapses | seed | engine | rate (Hz) | spikes | events | compile (s) | sim wall (s) "
             "| sim CPU (s) | loop (s) | M events/s (wall) | M events/s (CPU) | native / Brian2 (wall; CPU) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    by_key = {(r["model"], r["n"], r["seed"], r["engine"]): r for r in rows}
    for r in rows:
        peer = by_key.get((r["model"], r["n"], r["seed"], "cpp_standalone"))
        ratio = (f"{r['events_per_s'] / peer['events_per_s']:.2f}x; {r['events_per_cpu_s'] / peer['events_per_cpu_s']:.2f}x"
                 if r["engine"] == "native" and peer else "")
        lines.append(f"| {r['model']} | {r['n']} | {r['n_syn']} | {r['seed']} | {r['engine']} | {r['rate_hz']:.2f} "
                     f"| {r['spikes']} | {r['events']} | {r['compile_s']:.1f} | {r['sim_s']:.3f} | {r['cpu_s']:.3f} "
                     f"| {r['loop_s']:.3f} "
                     f"| {r['events_per_s'] / 1e6:.1f} | {r['events_per_cpu_s'] / 1e6:.1f} | {ratio} |")
    return "\n".join(lines)


def machine() -> str:
    import brian2
    import numba
    load = os.getloadavg()
    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"numpy {np.__version__}, numba {numba.__version__}, brian2 {brian2.__version__}; "
            f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; "
            f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("--one", nargs=6, metavar=("ENGINE", "MODEL", "N", "SEED", "DURATION_MS", "REPEAT"))
    ap.add_argument("--sizes", default="4000,16000")
    ap.add_argument("--models", default="cuba,coba")
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--duration", type=float, default=2.0, help="biological time (s)")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--engines", default="native,cpp_standalone")
    ap.add_argument("--json", help="also write the rows to this file")
    args = ap.parse_args(argv)
    if args.one:
        engine, model, n, seed, duration_ms, repeat = args.one
        print(MARK + json.dumps(one(engine, model, int(n), int(seed), float(duration_ms), int(repeat))), flush=True)
        return 0
    rows = []
    for model in args.models.split(","):
        for n in (int(s) for s in args.sizes.split(",")):
            for seed in (int(s) for s in args.seeds.split(",")):
                for engine in args.engines.split(","):
                    row = measure(engine, model, n, seed, args.duration * 1000.0, args.repeat)
                    rows.append(row)
                    print(f"{model} N={n} seed={seed} {engine}: rate {row['rate_hz']:.2f} Hz, sim {row['sim_s']:.3f} s, "
                          f"{row['events_per_s'] / 1e6:.1f} M events/s, compile {row['compile_s']:.1f} s", flush=True)
    print()
    print(machine())
    print(table(rows))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
