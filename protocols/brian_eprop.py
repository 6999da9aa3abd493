"""The eprop_network protocol in Brian2: the native network's discrete updates as Brian2 code.

:func:`run` builds, for one :class:`protocols.eprop_network.Config`, a Brian2 network that
computes the same discrete recursions, step for step, as ``models.Network`` with the online
rule family (models/simulate.py's update order, plasticity/online.py's ``network_on_step``),
and trains it entirely inside Brian2 — the Adam updates between trials included — so one
``Network.run`` does the whole protocol on every target (numpy, cython, cpp_standalone: no
Python runs between trials). Its inputs are the native ones: the frozen input pattern and
the initial weights come from :func:`protocols.eprop_network.build` (not run), the Poisson
background is the native ``PoissonGroup``'s trains (a network holding only that group, same
seed and dt, run period by period as the protocol runs) replayed by a
``SpikeGeneratorGroup``.

One network step k (t = k dt), Brian2 slot (order) -> native stage:

* ``start``, every period from the second trial on: Adam on theta = w / unit for every
  learning weight and the readout bias (the bias corrections 1 - beta^n of update n from a
  ``TimedArray``), the rate regularisation added as ``projection_gradient`` adds it; then the
  accumulators restart — ``Learner.apply`` and ``Learner.reset`` between two ``run`` calls;
* ``groups`` (run_regularly of the recurrent group) -> stage 2-3: a <- rho a + z (ALIF),
  A = v_th + beta a; when not refractory (step >= ref_until) v <- v_rest + (v - v_rest) p_m
  + k_syn I, the pending subtraction v -= (v_th - v_reset), psi(v - A), the threshold test;
  refractory neurons keep v and have psi = 0; I <- p_syn I;
* ``thresholds``/``resets``: the spike (the threshold reads the test above); reset: a
  pending subtraction (``reset="subtract"``) or v = v_reset, ref_until = k + t_ref/dt;
* ``synapses`` -> stage 4: arrivals add w to I (pA; mV for delta synapses) and count in the
  synapse's ``pend``; the output synapses add w to the readout's input;
* ``end`` -> stages 6 and 8: readout y <- kappa y + input + b, err = y - target, the loss
  and the bias gradient; the learning signal L_j = B_j err (a summed variable of the output
  synapses: B = W_out^T read live, or the fixed random B); per learning synapse the traces
  eps_v <- alpha eps_v + k_syn eps_i, eps_i <- p_syn eps_i + pend, the ALIF path, e, ebar,
  g += L ebar and the sum of e; the output synapses' zbar <- kappa zbar + z and g += err zbar.
  Every 256 steps traces below 1e-150 are set to 0, as the native family does.

Every expression mirrors the native one; what can differ is the rounding of sums (the order
in which Brian2 adds the arrivals of one step into a neuron, and its own rearrangement of
expressions), at the level of 1e-16 per operation. tests/protocols/test_eprop_network_brian.py
holds the spikes identical and the learning curve equal to native (rtol 1e-9).
"""
from __future__ import annotations

import math
import time

import numpy as np

from plasticity.errors import ParameterError
from plasticity.online import coupling
from plasticity.surrogate import as_surrogate

FLUSH_EVERY = 256       # plasticity.online.FLUSH_EVERY
TINY = 1e-150           # plasticity.online.TINY and models.simulate.TINY


def native_background(config, n_periods: int):
    """``(i, t)`` (neuron index, ms) of the Poisson background that ``models.Network`` draws
    for ``config``: a network with only that group (the streams depend on the seed and on the
    Poisson groups, nothing else), run period by period as the protocol runs its trials."""
    import models

    c = config
    net = models.Network(dt=c.dt, seed=c.seed)
    bg = net.add(models.PoissonGroup(c.n_background, rate=c.background_hz))
    spikes = net.record_spikes(bg)
    for _ in range(n_periods):
        net.run(c.period_ms)
    return spikes.i.copy(), spikes.t.copy()


def _adam_code(unit: str, grad: str, m: str = "am", s: str = "av", weight: str = "w") -> str:
    """One Adam step on theta (plasticity.optim.Adam, on grad * unit; weight += delta * unit)."""
    return "\n".join([f"ad_gs = {grad} * {unit}",
                      f"{m} = ad_b1 * {m} + ad_1mb1 * ad_gs",
                      f"{s} = ad_b2 * {s} + ad_1mb2 * ad_gs * ad_gs",
                      f"{weight} = {weight} + (ad_mlr * ({m} / ad_c1(t)) / (sqrt({s} / ad_c2(t)) + ad_eps)) * {unit}"])


def _flushed(names) -> list[str]:
    """Statements zeroing the variables below TINY at steps that are multiples of FLUSH_EVERY."""
    return [f"{x} = {x} * (1 - ep_flush * int(abs({x}) < ep_tiny))" for x in names]


def build(b2, config, native, background):
    """The Brian2 objects of the protocol (a dict) from the native network ``native`` =
    ``(net, learner, handles)`` of :func:`protocols.eprop_network.build` (built, not run) and
    the ``background`` spikes of :func:`native_background`."""
    from plasticity import EPropRule
    from plasticity.brian_online import surrogate_expression

    from .eprop_network import RSNN_DT

    c = config
    net, learner, h = native
    rec_lif, out_ro = h["rec"], h["out"]
    p_in, p_rec, p_out = (learner.projections[k] for k in ("w_in", "w_rec", "w_out"))
    bg_proj = [p for p in net.projections if p.rule is None]
    rule = p_in.rule
    ms, dt = b2.ms, c.dt
    units = c.units()
    steps = c.steps
    n = c.n_rec

    # constants, computed as models.simulate._group_constants and plasticity.online._build do
    p_syn, k_syn = coupling(rec_lif, "excitatory", dt)
    alpha = math.exp(-dt / rec_lif.tau_m)
    kappa = math.exp(-dt / out_ro.tau)
    rho = math.exp(-dt / rec_lif.tau_a)
    betas = rec_lif.betas
    adaptive = bool(np.any(betas > 0))
    eprop = isinstance(rule, EPropRule)
    adapt = eprop and adaptive                        # the rule's ALIF path (OTTT has none)
    kappa_e = kappa if eprop else 0.0
    use_reg = rule.c_reg > 0
    v_rest = rec_lif.e_leak + (rec_lif.tau_m / rec_lif.c_m) * rec_lif.i_ext
    spec = as_surrogate(rec_lif.surrogate)
    psi_expr, psi_ns = surrogate_expression(spec, rec_lif.v_th - rec_lif.e_leak, "(ep_vn - thr)")
    common = dict(ep_tiny=TINY, ep_flush_every=FLUSH_EVERY)

    # the recurrent LIF/ALIF group: all of stage 2-3 in one run_regularly (groups slot)
    subtract = rec_lif.reset == "subtract"
    rec = b2.NeuronGroup(n, """
        v : 1
        I : 1
        a : 1
        thr : 1
        psi : 1
        psi_prev : 1
        npend : 1
        fire : 1
        z : 1
        cnt : 1
        L : 1
        ref_until : integer
        beta : 1 (constant)
        """, threshold="fire > 0.5",
        reset="\n".join(["z = 1", "cnt += 1", "ref_until = timestep(t, dt) + ep_ref_steps",
                         "npend += 1" if subtract else "v = ep_vreset"]),
        namespace=dict(common, ep_vth=rec_lif.v_th, ep_vreset=rec_lif.v_reset, ep_vrest=v_rest,
                       ep_pm=math.exp(-dt / rec_lif.tau_m), ep_ksyn=k_syn, ep_psyn=p_syn, ep_rho=rho,
                       ep_sub=rec_lif.v_th - rec_lif.v_reset, ep_ref_steps=int(round(rec_lif.t_ref / dt)), **psi_ns),
        name="ep_rec")
    rec.v = rec_lif.initial_values(np.random.default_rng(0))    # e_leak (a number: no draw)
    rec.thr = rec_lif.v_th
    rec.beta = betas
    code = []
    if adaptive:
        code += ["a = ep_rho * a + z", "a = a * int(abs(a) >= ep_tiny)", "thr = ep_vth + beta * a"]
    code += ["z = 0",
             "ep_nr = int(timestep(t, dt) >= ref_until)",
             "ep_vn = ep_vrest + (v - ep_vrest) * ep_pm + ep_ksyn * I",
             "ep_vn = ep_vn + (ep_vrest - ep_vn) * int(abs(ep_vn - ep_vrest) < ep_tiny)"]
    if subtract:
        code += ["ep_vn = ep_vn - ep_sub * npend", "npend = (1 - ep_nr) * npend"]
    code += [f"psi = ep_nr * {psi_expr}",
             "fire = ep_nr * int(ep_vn > thr)",
             "v = ep_nr * ep_vn + (1 - ep_nr) * v",
             "I = ep_psyn * I",
             "I = I * int(abs(I) >= ep_tiny)"]
    rec.run_regularly("\n".join(code), when="groups", order=0, name="ep_rec_step")

    # the readout: y, its error against the target (one period in a TimedArray), loss, bias gradient
    one_target = np.asarray(h["target"], dtype=float)
    target = b2.TimedArray(one_target, dt=dt * ms)
    adam = _adam_namespace(b2, c)
    out = b2.NeuronGroup(1, "y : 1\ninp : 1\nb : 1\ncb : 1\nerr : 1\nsq : 1\ngb : 1\nbm : 1\nbv : 1",
                         namespace=dict(common, **adam, ep_kappa=kappa, ep_target=target, ep_steps=steps),
                         name="ep_out")
    out.b = out_ro.biases
    out.run_regularly("\n".join(["y = ep_kappa * y + inp + b", "y = y * int(abs(y) >= ep_tiny)", "inp = 0",
                                 "cb = ep_kappa * cb + 1.0",
                                 "err = y - ep_target((timestep(t, dt) % ep_steps) * dt)",
                                 "sq += err * err", "gb += err * cb"]),
                      when="end", order=0, name="ep_out_step")
    period = c.period_ms * ms
    out.run_regularly(_adam_code("1.0", "gb", m="bm", s="bv", weight="b") + "\ngb = 0\nsq = 0", dt=period, when="start", order=0,
                      name="ep_out_adam")

    # inputs: the native generator's trains and the native Poisson background
    gen = p_in.source
    idx = np.concatenate([np.full(len(t), k, dtype=np.int64) for k, t in enumerate(gen.times)])
    times = np.concatenate([np.asarray(t, dtype=float) for t in gen.times])
    inputs = b2.SpikeGeneratorGroup(gen.n, idx, times * ms, name="ep_inputs")
    objects = dict(rec=rec, out=out, inputs=inputs)

    # learning synapses: per synapse the presynaptic traces (a copy per synapse of the native
    # per-neuron trace: the same operations on the same values), eligibility and Adam state
    model = ["w : 1", "pend : 1", "eps_v : 1", "eps_i : 1", "ebar : 1", "g : 1", "am : 1", "av : 1"]
    model += (["eps_old : 1", "eps_a : 1"] if adapt else []) + (["esum : 1"] if use_reg else [])
    elig = ["ep_flush = int(timestep(t, dt) % ep_flush_every == 0)"]
    elig += _flushed(["eps_v", "eps_i", "ebar"] + (["eps_a"] if adapt else []))
    elig += (["eps_old = eps_v"] if adapt else []) + ["eps_v = ep_alpha * eps_v + ep_ksyn * eps_i",
                                                       "eps_i = ep_psyn * eps_i + pend", "pend = 0"]
    if adapt:
        elig += ["eps_a = int(beta_post != 0) * (ep_rho * eps_a + psi_prev_post * (eps_old - beta_post * eps_a))",
                 "ep_e = psi_post * (eps_v - beta_post * eps_a)"]
    else:
        elig += ["ep_e = psi_post * eps_v"]
    elig += ["ebar = ep_kappa_e * ebar + ep_e", "g += L_post * ebar"] + (["esum += ep_e"] if use_reg else [])
    update = []
    if use_reg:   # plasticity.online.projection_gradient: rates over the trial's steps
        update += ["ep_rate = cnt_post / ep_steps * ep_hz", "ep_reg = ep_creg * (ep_rate - ep_ftarget) * ep_k2",
                   "ep_gt = g + ep_reg * esum"]
    s_ns = dict(common, **adam, ep_alpha=alpha, ep_ksyn=k_syn, ep_psyn=p_syn, ep_rho=rho, ep_kappa_e=kappa_e,
                ep_steps=float(steps), ep_hz=1000.0 / dt, ep_creg=rule.c_reg, ep_ftarget=rule.f_target,
                ep_k2=1000.0 / (dt * float(steps)))
    delay_d = {}
    for key, proj, source, order in (("w_in", p_in, inputs, 0), ("w_rec", p_rec, rec, 1)):
        D = _delay(proj, dt)
        delay_d[key] = D
        S = b2.Synapses(source, rec, "\n".join(model), on_pre="I_post += w\npend += 1",
                        namespace=dict(s_ns, ep_unit=units[key]), name=f"ep_{key}")
        S.connect(i=proj.pre, j=proj.post)
        S.w = proj.w
        if D:
            S.delay = D * dt * ms
        S.pre.order = order
        S.run_regularly("\n".join(elig), when="end", order=2, name=f"ep_{key}_elig")
        S.run_regularly("\n".join(update + [_adam_code("ep_unit", "ep_gt" if use_reg else "g"), "g = 0"]
                                  + (["esum = 0"] if use_reg else [])),
                        dt=period, when="start", order=0, name=f"ep_{key}_adam")
        objects[key] = S
    rec.run_regularly("cnt = 0", dt=period, when="start", order=1, name="ep_rec_restart")
    if adapt:
        rec.run_regularly("psi_prev = psi", when="end", order=4, name="ep_rec_psi_prev")

    # the output synapses: transmission (no delay), zbar, g, the learning signal (summed), Adam
    symmetric = rule.feedback == "symmetric"
    o_model = ["w : 1", "zpend : 1", "zbar : 1", "g : 1", "am : 1", "av : 1"]
    if not symmetric:
        o_model.append("fb : 1 (constant)")
    o_model.append(f"L_pre = {'w' if symmetric else 'fb'} * err_post : 1 (summed)")
    O = b2.Synapses(rec, out, "\n".join(o_model), on_pre="inp_post += w\nzpend += 1",
                    namespace=dict(common, **adam, ep_kappa=kappa, ep_unit=units["w_out"]), name="ep_w_out")
    O.connect(i=p_out.pre, j=p_out.post)
    O.w = p_out.w
    if not symmetric:
        B = rule.feedback_matrix(n, 1)               # (n_target, n_out), as plasticity.online._build
        O.fb = B[p_out.pre, p_out.post]
    O.pre.order = 2
    O.summed_updaters["L_pre"].when = "end"
    O.summed_updaters["L_pre"].order = 1
    O.run_regularly("\n".join(["ep_flush = int(timestep(t, dt) % ep_flush_every == 0)", *_flushed(["zbar"]),
                               "zbar = ep_kappa * zbar + zpend", "zpend = 0", "g += err_post * zbar"]),
                    when="end", order=3, name="ep_w_out_grad")
    O.run_regularly(_adam_code("ep_unit", "g") + "\ng = 0", dt=period, when="start", order=0, name="ep_w_out_adam")
    objects["w_out"] = O

    if c.n_background:
        (bg,) = bg_proj
        bi, bt = background
        G = b2.SpikeGeneratorGroup(c.n_background, bi.astype(np.int64), bt * ms, name="ep_background")
        S = b2.Synapses(G, rec, "w : 1 (constant)", on_pre="I_post += w", name="ep_w_bg")
        S.connect(i=bg.pre, j=bg.post)
        S.w = bg.w
        D = _delay(bg, dt)
        if D:
            S.delay = D * dt * ms
        S.pre.order = 3
        objects.update(background=G, w_bg=S)

    # monitors: the loss at each trial's end (before the update), the readout every 1 ms, spikes
    objects["loss"] = b2.StateMonitor(out, "sq", record=0, dt=period, when="start", order=-20, name="ep_loss")
    objects["y"] = b2.StateMonitor(out, "y", record=0, dt=RSNN_DT * ms, when="start", order=-20, name="ep_y")
    objects["spikes"] = b2.SpikeMonitor(rec, name="ep_spikes")
    return objects


def _adam_namespace(b2, config) -> dict:
    """Adam's constants (plasticity.optim.Adam's defaults, lr of the config) and its bias
    corrections 1 - beta^k of update k = trial index (a TimedArray on the period; k = 0 never
    updates: its entries are 1, the gradient there is 0)."""
    from plasticity import optim

    opt = optim.Adam(config.lr)
    k = np.arange(config.trials + 2)
    c1 = np.array([1.0 - opt.beta1 ** int(j) if j else 1.0 for j in k])
    c2 = np.array([1.0 - opt.beta2 ** int(j) if j else 1.0 for j in k])
    period = config.period_ms * b2.ms
    return dict(ad_b1=opt.beta1, ad_b2=opt.beta2, ad_1mb1=1.0 - opt.beta1, ad_1mb2=1.0 - opt.beta2,
                ad_mlr=-opt.lr, ad_eps=opt.eps, ad_c1=b2.TimedArray(c1, dt=period),
                ad_c2=b2.TimedArray(c2, dt=period))


def _delay(proj, dt) -> int:
    from models.connectivity import delay_steps

    d = np.unique(delay_steps(proj.delay, dt))
    if d.size > 1:
        raise ParameterError(f"delay must be one value per projection in Brian2, got {d.size} different")
    return int(d[0]) if d.size else 0


def run(config, target: str) -> dict:
    """Train ``config`` in Brian2 on ``target``; a dict of arrays as protocols.eprop_network.run
    needs them (losses per trial, spikes, readout samples) and the timings (s)."""
    from plasticity.brian import brian_target

    from .brian_backend import timed_run
    from .eprop_network import build as native_build

    c = config
    n_periods = c.trials + 1
    task = c.task()
    x, _ = task.pattern()
    native = native_build(c, x, task.target_function(), n_periods)
    background = native_background(c, n_periods) if c.n_background else None
    duration = n_periods * c.period_ms
    with brian_target(target, c.dt) as b2:
        tic = time.perf_counter()
        objects = build(b2, c, native, background)
        net = b2.Network(*objects.values())
        build_s = time.perf_counter() - tic
        compile_s, simulation_s = timed_run(b2, net, duration, target)
        sq = np.asarray(objects["loss"].sq[0], dtype=float)          # at t = 0, period, ...: the finished trial's
        out = objects["out"]
        spikes = objects["spikes"]
        result = dict(sq=np.append(sq[1:n_periods], float(out.sq[0])),
                      spike_i=np.asarray(spikes.i[:], dtype=np.int64),
                      spike_t=np.asarray(spikes.t / b2.ms, dtype=float),
                      y=np.asarray(objects["y"].y[0], dtype=float),
                      weights={k: np.asarray(objects[k].w[:], dtype=float) for k in ("w_in", "w_rec", "w_out")},
                      bias=float(out.b[0]), target=np.asarray(native[2]["target"], dtype=float),
                      build_s=build_s, compile_s=compile_s, simulation_s=simulation_s)
    return result
