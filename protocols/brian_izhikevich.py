"""The izhikevich2007 protocol in Brian2: dopamine-modulated STDP and its reward critic as code.

:func:`run` builds, for one :class:`protocols.izhikevich2007.Config`, a Brian2 network with
the discrete updates of the native one (``protocols.izhikevich2007.build``) and runs it in one
``Network.run`` on any target (numpy, cython, cpp_standalone):

* inputs: the native ``PoissonGroup`` trains (presynaptic and background), drawn by a
  ``models.Network`` holding the same groups (same seed, dt and chunk; no connections, so the
  LIF group never fires) and replayed by ``SpikeGeneratorGroup`` s;
* the LIF group with delta synapses, as models.simulate's plain LIF pass: when not refractory
  (step >= ref_until) v <- v_rest + (v - v_rest) p_m + (inputs of the previous step); inputs
  arriving while refractory are lost; threshold v > v_th, v = v_reset, ref_until = k +
  t_ref/dt (a ``run_regularly`` in ``groups``, the threshold and reset);
* the plastic synapses: :func:`plasticity.brian.dopamine_to_brian` (transmitting the weight
  brought up to date, as ``models.Network``), the background one-to-one (``bg_mv``);
* the reward critic (:class:`models.PairingReward`): a group of release slots. Every slot
  keeps a copy of the critic's state — the last step of pre 0's spike, the number of
  pairings so far — updated by synapses from pre 0 (first) and post 0 (then, as the native
  stage 7 looks at the step's spikes); pairing n (0 < k - last <= window steps) writes its
  release step k + floor(delay_n + 0.5) into slot n mod n_slots, and a slot fires at its
  release step. delay_n is the native critic's n-th draw (its counter-based uniform stream
  with the native modulator's key), precomputed; the slots' spikes deliver the dopamine with
  :func:`plasticity.brian.dopamine_rewards` after the pre and post pathways (the native
  order pre, post, release). n_slots covers every pairing that can be pending at once (post
  spikes are at least max(t_ref/dt, 1) steps apart), so no slot is reused before it fired;
* weights: every ``record_every_ms`` every synapse is brought up to date and recorded (the
  native sync before a record; at equal times the events of the step change c, not w).

What can differ is rounding (the order in which simultaneous inputs add into v, and two
releases of one step added one after the other instead of summed): tests hold spikes,
releases and weights equal to native (rtol 1e-9). Not expressible: a reward delay below half
a step (it would be released in the step of its pairing, whose threshold test Brian2 has
already done) and more than 4096 pending rewards at once (the native buffer drops them);
both are refused with a ParameterError.
"""
from __future__ import annotations

import logging
import math
import time
from contextlib import contextmanager

import numpy as np

from plasticity.errors import ParameterError

TINY = 1e-150           # models.simulate.TINY
MAX_SLOTS = 4096        # the native critic's pending buffer


class _Benign(logging.Filter):
    """Drops Brian2's notes on code that writes to the target group from synapses (each
    release slot and each synapse of a reward has exactly one writer, so the order of
    execution does not matter) and on the numpy target's loop fallback for that code."""

    MESSAGES = ("Came across an abstract code block that may not be well-defined", "Failed to vectorise code")

    def filter(self, record):
        return not str(record.msg).startswith(self.MESSAGES)


@contextmanager
def quiet_benign_notes():
    names = ("brian2.codegen.generators.base", "brian2.codegen.generators.numpy_generator")
    flt = _Benign()
    for name in names:
        logging.getLogger(name).addFilter(flt)
    try:
        yield
    finally:
        for name in names:
            logging.getLogger(name).removeFilter(flt)


def slots_needed(config) -> int:
    """Release slots that cover every pairing pending at once (see the module docstring)."""
    c = config
    max_steps = math.floor(c.delay_max_ms / c.dt + 0.5)
    gap = max(int(round(c.t_ref / c.dt)), 1)
    return max_steps // gap + 2


def check(config) -> None:
    """Refuse what the Brian2 network cannot express (ParameterError naming the parameter)."""
    c = config
    if c.delay_min_ms / c.dt < 0.5:
        raise ParameterError(f"delay_min_ms must be >= dt/2 = {0.5 * c.dt} ms on backend 'brian2' (a reward "
                             f"released in the step of its pairing cannot be expressed), got {c.delay_min_ms}")
    n = slots_needed(c)
    if n > MAX_SLOTS:
        raise ParameterError(f"delay_max_ms must be <= about {MAX_SLOTS} x max(t_ref, dt) on backend 'brian2' "
                             f"({n} rewards could be pending at once, the native critic keeps {MAX_SLOTS}), "
                             f"got delay_max_ms={c.delay_max_ms} with t_ref={c.t_ref}")


def native_sources(config):
    """The native spike trains and critic key: ``(pre (i, t), background (i, t), key)``, from a
    ``models.Network`` with the protocol's groups and modulator (same seed, dt and chunk) and no
    connections (:func:`protocols.izhikevich2007.network_groups`), run for the whole duration."""
    from .izhikevich2007 import network_groups

    c = config
    net, pre, _, background, _ = network_groups(c)
    s_pre, s_bg = net.record_spikes(pre), net.record_spikes(background)
    net.run(c.duration_ms)
    key = np.uint64(net.view().modulators.key[0])
    return (s_pre.i.copy(), s_pre.t.copy()), (s_bg.i.copy(), s_bg.t.copy()), key


def reward_delays(config, key, n: int) -> np.ndarray:
    """Steps from pairing to release of the critic's first ``n`` pairings: floor(delay + 0.5)
    with delay = d_min + (d_max - d_min)(1 - u) steps, u the critic's n-th uniform draw (stream
    1_000_003 of the native modulator key), as models.simulate's critic computes them."""
    from models.simulate import _counter_uniform

    c = config
    f0, f1 = c.delay_min_ms / c.dt, c.delay_max_ms / c.dt
    out = np.empty(n)
    for m in range(n):
        u = _counter_uniform(key, 1_000_003, np.uint64(m))
        out[m] = math.floor(f0 + (f1 - f0) * (1.0 - u) + 0.5)
    return out


def build(b2, config, pre_spikes, bg_spikes, key):
    """The Brian2 objects of the protocol (a dict)."""
    from plasticity.brian import dopamine_rewards, dopamine_to_brian

    c = config
    ms, dt = b2.ms, c.dt
    rule = c.rule()
    pre = b2.SpikeGeneratorGroup(c.n_pre, pre_spikes[0].astype(np.int64), pre_spikes[1] * ms, name="iz_pre")
    bg = b2.SpikeGeneratorGroup(c.n_post, bg_spikes[0].astype(np.int64), bg_spikes[1] * ms, name="iz_background")
    post = b2.NeuronGroup(c.n_post, "v : 1\nge : 1\nref_until : integer",
                          threshold="(v > iz_vth) and (timestep(t, dt) >= ref_until)",
                          reset="v = iz_vreset\nref_until = timestep(t, dt) + iz_ref_steps",
                          namespace=dict(iz_vth=c.v_th, iz_vreset=c.v_rest, iz_vrest=c.v_rest,
                                         iz_pm=math.exp(-dt / c.tau_m), iz_tiny=TINY,
                                         iz_ref_steps=int(round(c.t_ref / dt))),
                          dtype={"ref_until": np.int64}, name="iz_post")
    post.v = c.v_rest
    post.run_regularly("\n".join(["iz_nr = int(timestep(t, dt) >= ref_until)",
                                  "iz_vn = iz_vrest + (v - iz_vrest) * iz_pm + ge",
                                  "iz_vn = iz_vn + (iz_vrest - iz_vn) * int(abs(iz_vn - iz_vrest) < iz_tiny)",
                                  "v = iz_nr * iz_vn + (1 - iz_nr) * v", "ge = 0"]),
                       when="groups", order=0, name="iz_post_step")
    s_bg = b2.Synapses(bg, post, on_pre="ge_post += iz_bg", namespace=dict(iz_bg=c.bg_mv), name="iz_bg_syn")
    s_bg.connect(j="i")
    s_bg.pre.order = 0
    i = np.repeat(np.arange(c.n_pre), c.n_post)              # CSR order of the native projection
    j = np.tile(np.arange(c.n_post), c.n_pre)
    syn = b2.Synapses(pre, post, name="iz_stdp", **dopamine_to_brian(rule, transmit="ge_post += w"))
    syn.connect(i=i, j=j)
    syn.w = c.w0

    # the critic: release slots, each with a copy of its state
    window = int(round(c.window_ms / dt))
    n_pre0 = int(np.sum(pre_spikes[0] == 0))
    n_pairings = n_pre0 * (window // max(int(round(c.t_ref / dt)), 1) + 1) + 1
    n_slots = slots_needed(c)
    delays = b2.TimedArray(reward_delays(c, key, n_pairings), dt=1 * ms)
    slots = b2.NeuronGroup(n_slots, "release : integer\nt_pair : integer\ncount : integer\nslot : integer (constant)",
                           threshold="timestep(t, dt) == release", reset="", dtype={"release": np.int64, "t_pair": np.int64,
                                                                          "count": np.int64, "slot": np.int64},
                           name="iz_release_slots")
    slots.release = -1
    slots.t_pair = -(2 ** 62)
    slots.slot = np.arange(n_slots)
    c_pre = b2.Synapses(pre, slots, on_pre="t_pair_post = timestep(t, dt)", name="iz_critic_pre")
    c_pre.connect(i=np.zeros(n_slots, dtype=np.int64), j=np.arange(n_slots))
    c_pre.pre.order = 3
    c_post = b2.Synapses(post, slots, on_pre="\n".join([
        "iz_k = timestep(t, dt)",
        "iz_hit = int(iz_k - t_pair_post > 0) * int(iz_k - t_pair_post <= iz_window)",
        "release_post = release_post + iz_hit * int(count_post % iz_slots == slot_post)"
        " * (iz_k + int(iz_delay(count_post * ms)) - release_post)",
        "count_post = count_post + iz_hit"]),
        namespace=dict(iz_window=window, iz_slots=n_slots, iz_delay=delays), name="iz_critic_post")
    c_post.connect(i=np.zeros(n_slots, dtype=np.int64), j=np.arange(n_slots))
    c_post.pre.order = 4
    rewards = dopamine_rewards(rule, slots, syn, amount=c.reward_amount, flush_every=c.record_every_ms,
                               name="iz_dopamine")
    return dict(pre=pre, background=bg, post=post, bg_syn=s_bg, stdp=syn, slots=slots, critic_pre=c_pre,
                critic_post=c_post, rewards=rewards,
                weights=b2.StateMonitor(syn, "w", record=True, dt=c.record_every_ms * ms, when="end", order=1,
                                        name="iz_weights"),
                post_spikes=b2.SpikeMonitor(post, name="iz_post_spikes"),
                releases=b2.SpikeMonitor(slots, record=True, name="iz_releases"),
                pairs=(i, j), n_pairings=n_pairings)


def run(config, target: str) -> dict:
    """The protocol in Brian2 on ``target``: weights at the record times (n_times, n_post,
    n_pre), release times, postsynaptic spikes (ms), the presynaptic trains and timings (s)."""
    from plasticity.brian import brian_target

    from .brian_backend import timed_run

    c = config
    check(c)
    pre_spikes, bg_spikes, key = native_sources(c)
    with brian_target(target, c.dt) as b2, quiet_benign_notes():
        tic = time.perf_counter()
        objects = build(b2, c, pre_spikes, bg_spikes, key)
        net = b2.Network(*(o for k, o in objects.items() if k not in ("pairs", "n_pairings")))
        build_s = time.perf_counter() - tic
        # half a record period more: the record at duration_ms is then well inside the run (a
        # run ending one step after a clock tick may drop the tick: Brian2's clocks round
        # end times within 1e-4 of their dt); what happens after duration_ms is dropped below
        extra = max(1, round(0.5 * c.record_every_ms / c.dt))
        duration = (round(c.duration_ms / c.dt) + extra) * c.dt
        compile_s, simulation_s = timed_run(b2, net, duration, target)
        i, j = objects["pairs"]
        mon = objects["weights"]
        w_t = np.asarray(mon.t / b2.ms, dtype=float)
        recorded = w_t < c.duration_ms + 0.5 * c.dt
        w_t = w_t[recorded]
        w_syn = np.asarray(mon.w, dtype=float)[:, recorded]         # (n_syn, n_times)
        w = np.zeros((w_t.size, c.n_post, c.n_pre))
        w[:, j, i] = w_syn.T
        rel = objects["releases"]
        reward_t = np.sort(np.asarray(rel.t / b2.ms, dtype=float))
        ps = objects["post_spikes"]
        post_i, post_t = np.asarray(ps.i[:], dtype=np.int64), np.asarray(ps.t / b2.ms, dtype=float)
        count = int(np.asarray(objects["slots"].count[:])[0])
    end = c.duration_ms - 0.5 * c.dt
    keep = post_t < end
    if count >= objects["n_pairings"]:
        raise ParameterError(f"internal: {count} pairings exceed the {objects['n_pairings']} reward delays drawn")
    return dict(w_t=w_t, w=w, reward_t=reward_t[reward_t < end], post_i=post_i[keep], post_t=post_t[keep],
                pre_spikes=pre_spikes, build_s=build_s, compile_s=compile_s, simulation_s=simulation_s)
