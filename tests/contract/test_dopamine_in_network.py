"""Dopamine-modulated STDP (Izhikevich 2007) inside ``models.Network`` equals ``replay_modulated``.

A plastic ``DopamineSTDP`` projection from spike generators onto LIF neurons (which a second,
static projection drives to fire) reads a :class:`models.Modulator`. After the run, the
generator trains (on the grid), the recorded postsynaptic spikes and the releases that
``net.modulator_releases`` reports are replayed through ``plasticity.modulated.replay_modulated``
with ``duration`` = run length. Timing, as documented in models/simulate.py:

* delay 0: pre events at the emission step (stage 4), post events at the spike step (stage 5),
  releases at their step (stage 7, applied by the family's ``on_step``, stage 8) — the
  replay's order pre, post, reward at equal times;
* axonal delay d: pre events at emission + d (replay: pre + d); dendritic delay d: post
  events at spike + d (replay: post + d); events at or after the end of the run never reach
  the synapse (the replay with ``duration`` drops them);
* the lazy integral of c*d is flushed at every chunk boundary, ``record_weights`` time and
  ``run`` call: with b = 0 (one sign of the integrand per interval) this changes nothing but
  rounding, even when the bounds clip; with b > 0 an extra flush is an extra clipping point,
  so those runs are checked with weights inside the bounds.

The critic :class:`models.PairingReward` releases ``amount`` U(delay_min, delay_max) after each
postsynaptic spike that follows the chosen presynaptic neuron's last spike by 0 < Δ <= window.
"""
import numpy as np
import pytest

import models
from plasticity import DopamineSTDP, ParameterError
from plasticity.modulated import replay_modulated

DT = 0.1
T = 2000.0
N_PRE, N_POST = 5, 2
# scheduled releases (ms, off the grid on purpose: moved to floor(t/dt + 1e-3); two in the step
# of 480 ms; the last one in the run's last step) and amounts
REWARD_T = (150.04, 480.0, 480.04, 903.37, 1333.3, 1750.0, 1999.95)
REWARD_A = (1.0, 0.5, 0.25, 1.5, 0.8, 1.2, 3.0)


def _poisson_times(rng, n, rate_hz, t_stop):
    """Bernoulli spike trains (rate * dt per step) in [0, t_stop) ms, each spike at a random
    point inside its step (off the grid; the generator moves it to the step's start)."""
    n_steps = int(t_stop / DT)
    return [(k + rng.uniform(0.0, 0.9, k.size)) * DT
            for k in (np.flatnonzero(rng.random(n_steps) < rate_hz * DT * 1e-3) for _ in range(n))]


def _steps(t):
    return np.floor(np.asarray(t, dtype=float) / DT + 1e-3).astype(np.int64)


def _rule(baseline=0.0, eta=1e-4, w_max=2.0, **kw):
    """Weights in mV (delta synapses): [0, 2] mV leaves the targets driven by their own
    static input, one spike per drive spike."""
    return DopamineSTDP(eta=eta, baseline=baseline, w_max=w_max, **kw)


def _simulate(rule, *, delay=0.0, delay_type="axonal", seed=0, runs=(T,), chunk=1000.0, record_every=None,
              critic=None, times=REWARD_T, amounts=REWARD_A, pre_stop=None, post_rate=25.0, synapses="delta"):
    """Run the network; returns the trains, releases and weights. ``critic``: kwargs of a
    PairingReward on pre 0 -> post 0 (added to the scheduled releases)."""
    rng = np.random.default_rng(seed)
    t_total = sum(runs)
    net = models.Network(dt=DT, seed=seed, chunk=chunk)
    # inputs continue past the end of the run (unless pre_stop): shifted events fall beyond it
    pre_trains = _poisson_times(rng, N_PRE, 20.0, pre_stop if pre_stop is not None else t_total + 5.0)
    pre = net.add(models.SpikeGeneratorGroup.from_trains(pre_trains))
    drive = net.add(models.SpikeGeneratorGroup.from_trains(_poisson_times(rng, N_POST, post_rate, t_total + 5.0)))
    if synapses == "delta":  # weights in mV; one drive spike makes the neuron fire once
        post = net.add(models.LIF(N_POST, synapses="delta", tau_m=10.0, e_leak=-70.0, v_th=-54.0,
                                  v_reset=-60.0, t_ref=1.0))
        drive_w = 20.0
    else:  # conductance-based (weights in units of the leak conductance)
        post = net.add(models.LIF(N_POST, synapses="conductance", tau_m=10.0, e_leak=-70.0, v_th=-54.0,
                                  v_reset=-60.0, t_ref=1.0, tau_e=5.0))
        drive_w = 1.0
    net.connect(drive, post, weight=drive_w, connectivity=models.one_to_one())
    critics = (models.PairingReward(pre, 0, post, 0, **critic),) if critic is not None else ()
    mod = net.add(models.Modulator(tau_d=rule.tau_d, times=times, amounts=amounts, critics=critics))
    span = rule.w_max - rule.w_min
    proj = net.connect(pre, post, weight=models.uniform(rule.w_min + 0.3 * span, rule.w_max - 0.3 * span),
                       delay=delay, delay_type=delay_type, rule=rule, modulator=mod)
    w0 = proj.dense_weights().copy()
    pre_rec, post_rec = net.record_spikes(pre), net.record_spikes(post)
    w_rec = net.record_weights(proj, every=record_every) if record_every else None
    for duration in runs:
        net.run(duration)
    # the generator really emitted the trains, on the grid
    for got, t in zip(pre_rec.trains(), pre_trains):
        want = _steps(t) * DT
        np.testing.assert_allclose(got, want[want < t_total - 1e-9], rtol=0, atol=1e-9)
    rel_t, rel_a = net.modulator_releases(mod)
    return dict(net=net, mod=mod, proj=proj, pre=pre_trains, post=post_rec.trains(), post_rec=post_rec,
                pre_rec=pre_rec, rel_t=rel_t, rel_a=rel_a, w0=w0, w=proj.dense_weights(), w_rec=w_rec,
                t_total=t_total)


def _replay(rule, out, *, shift=0.0, delay_type="axonal", duration=None):
    """The replay of ``out`` on the grid; pre (axonal) or post (dendritic) events shifted by
    ``shift`` ms, computed as whole steps so that an event at the end of the run stays out."""
    d = int(round(shift / DT))
    pre = [(_steps(t) + (d if delay_type == "axonal" else 0)) * DT for t in out["pre"]]
    post = [(_steps(t) + (d if delay_type == "dendritic" else 0)) * DT for t in out["post"]]
    return replay_modulated(rule, pre, post, out["rel_t"], out["rel_a"], out["w0"],
                            duration=out["t_total"] if duration is None else duration)


def _check_nontrivial(out, min_change=1e-3):
    assert all(t.size >= 20 for t in out["post"]), [t.size for t in out["post"]]
    assert all(t.size >= 10 for t in out["pre"])
    assert np.max(np.abs(out["w"] - out["w0"])) > min_change


def _check_scheduled_releases(out):
    """The scheduled releases happened at their step, with their amounts (those before the end)."""
    k = _steps(REWARD_T)
    keep = k * DT < out["t_total"] - 1e-9
    np.testing.assert_array_equal(_steps(out["rel_t"] + 0.5 * DT), k[keep])
    np.testing.assert_array_equal(out["rel_a"], np.asarray(REWARD_A)[keep])


DELAYS = [(0.0, "axonal"), (1.5, "axonal"), (1.5, "dendritic")]
DELAY_IDS = ["d0", "axonal1.5", "dendritic1.5"]


@pytest.mark.parametrize("delay, delay_type", DELAYS, ids=DELAY_IDS)
@pytest.mark.parametrize("baseline", [0.0, 0.05], ids=["b0", "b0.05"])
def test_network_equals_replay(baseline, delay, delay_type):
    rule = _rule(baseline)
    out = _simulate(rule, delay=delay, delay_type=delay_type, seed=1)
    _check_nontrivial(out)
    _check_scheduled_releases(out)
    want = _replay(rule, out, shift=delay, delay_type=delay_type)
    np.testing.assert_allclose(out["w"], want, rtol=1e-9, atol=0)
    assert np.all((out["w"] > rule.w_min) & (out["w"] < rule.w_max))    # inside the bounds (b > 0: see top)


@pytest.mark.parametrize("delay, delay_type", DELAYS, ids=DELAY_IDS)
def test_delay_is_not_ignored(delay, delay_type):
    """The check above is sharp: replaying with another timing gives other weights."""
    rule = _rule()
    out = _simulate(rule, delay=delay, delay_type=delay_type, seed=1)
    for k, (d, kind) in enumerate(DELAYS):
        if k != DELAYS.index((delay, delay_type)):
            assert np.max(np.abs(_replay(rule, out, shift=d, delay_type=kind) - out["w"])) > 1e-4


def test_baseline_is_not_ignored():
    rule = _rule(0.05)
    out = _simulate(rule, seed=1)
    assert np.max(np.abs(_replay(_rule(0.0), out) - out["w"])) > 1e-4


def test_conductance_targets_and_clipping_with_b0():
    """Conductance-based targets (weights in units of the leak conductance); a large eta
    drives weights to both bounds."""
    rule = _rule(eta=2e-4, w_max=0.2, a_minus=1.0)
    out = _simulate(rule, seed=4, synapses="conductance")
    _check_nontrivial(out)
    assert np.any(out["w"] == rule.w_min) and np.any(out["w"] == rule.w_max)
    np.testing.assert_allclose(out["w"], _replay(rule, out), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("delay, delay_type", DELAYS, ids=DELAY_IDS)
def test_split_runs_small_chunks_and_record_weights_b0(delay, delay_type):
    """b = 0, bounds reached: run() in three calls with chunk boundaries every 7.7 ms and a
    weight record every 50 ms (each one a flush) gives the weights of one plain run, and
    every recorded row equals the replay up to its time."""
    rule = _rule(eta=1.5e-3, a_minus=1.0)
    whole = _simulate(rule, delay=delay, delay_type=delay_type, seed=3)
    out = _simulate(rule, delay=delay, delay_type=delay_type, seed=3, runs=(733.3, 566.7, 700.0), chunk=7.7,
                    record_every=50.0)
    _check_nontrivial(out)
    at_bound = (out["w_rec"].w == rule.w_min) | (out["w_rec"].w == rule.w_max)
    assert 3 <= at_bound.any(axis=0).sum() < at_bound.shape[1]   # some weights clipped, some never
    np.testing.assert_array_equal(out["pre_rec"].t, whole["pre_rec"].t)
    np.testing.assert_array_equal(out["post_rec"].t, whole["post_rec"].t)
    np.testing.assert_array_equal(out["rel_t"], whole["rel_t"])
    # identical up to rounding (differences ~1e-15 mV): the flushes only split the closed-form
    # integral, and with b = 0 clipping at a flush is clipping of the continuous trajectory
    np.testing.assert_allclose(out["w"], whole["w"], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(out["w"], _replay(rule, out, shift=delay, delay_type=delay_type), rtol=1e-9,
                               atol=1e-12)
    rec = out["w_rec"]
    np.testing.assert_allclose(rec.t, np.arange(41) * 50.0, rtol=0, atol=1e-9)
    np.testing.assert_allclose(out["proj"].dense_weights(rec.w[0]), out["w0"], rtol=0, atol=0)
    for t_r, w_r in zip(rec.t[1:], rec.w[1:]):
        want = _replay(rule, out, shift=delay, delay_type=delay_type, duration=t_r)
        np.testing.assert_allclose(out["proj"].dense_weights(w_r), want, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(out["proj"].dense_weights(rec.w[-1]), out["w"], rtol=0, atol=0)


def test_split_runs_and_record_weights_b_positive():
    """b > 0 inside the bounds: pieces, chunks and records give the replay's weights too."""
    rule = _rule(0.05)
    out = _simulate(rule, seed=1, runs=(733.3, 566.7, 700.0), chunk=7.7, record_every=100.0)
    _check_nontrivial(out)
    want = _replay(rule, out)
    np.testing.assert_allclose(out["w"], want, rtol=1e-9, atol=0)
    assert np.all((out["w"] > rule.w_min) & (out["w"] < rule.w_max))
    for t_r, w_r in zip(out["w_rec"].t[1:], out["w_rec"].w[1:]):
        np.testing.assert_allclose(out["proj"].dense_weights(w_r), _replay(rule, out, duration=t_r), rtol=1e-9,
                                   atol=1e-12)


def test_two_modulators_two_projections():
    """Each projection reads its own modulator's releases, and only them."""
    rng = np.random.default_rng(7)
    rule = _rule()
    net = models.Network(dt=DT, seed=7)
    pre_trains = _poisson_times(rng, N_PRE, 20.0, T + 5.0)
    pre = net.add(models.SpikeGeneratorGroup.from_trains(pre_trains))
    drive = net.add(models.SpikeGeneratorGroup.from_trains(_poisson_times(rng, N_POST, 25.0, T + 5.0)))
    post = net.add(models.LIF(N_POST, synapses="conductance", tau_m=10.0, e_leak=-70.0, v_th=-54.0,
                              v_reset=-60.0, t_ref=1.0))
    net.connect(drive, post, weight=3.0, connectivity=models.one_to_one())
    mod_a = net.add(models.Modulator(tau_d=rule.tau_d, times=(300.0, 1200.0), amounts=1.0))
    mod_b = net.add(models.Modulator(tau_d=rule.tau_d, times=(700.0, 1600.0), amounts=(2.0, 0.5)))
    proj_a = net.connect(pre, post, weight=0.5, rule=rule, modulator=mod_a)
    proj_b = net.connect(pre, post, weight=0.5, rule=rule, modulator=mod_b, delay=1.5)
    post_rec = net.record_spikes(post)
    net.run(T)
    w0 = np.full((N_POST, N_PRE), 0.5)
    pre_grid = [_steps(t) * DT for t in pre_trains]
    for proj, mod, shift in ((proj_a, mod_a, 0), (proj_b, mod_b, 15)):
        r_t, r_a = net.modulator_releases(mod)
        np.testing.assert_allclose(r_t, mod.schedule()[0], rtol=0, atol=1e-9)
        pre = [(_steps(t) + shift) * DT for t in pre_trains]
        want = replay_modulated(rule, pre, post_rec.trains(), r_t, r_a, w0, duration=T)
        np.testing.assert_allclose(proj.dense_weights(), want, rtol=1e-9, atol=0)
        assert np.max(np.abs(proj.dense_weights() - w0)) > 1e-3
    wrong = replay_modulated(rule, pre_grid, post_rec.trains(), *net.modulator_releases(mod_b), w0, duration=T)
    assert np.max(np.abs(proj_a.dense_weights() - wrong)) > 1e-4


# --- the PairingReward critic ---------------------------------------------------------------

def _pairings(out, window):
    """Steps of the post-0 spikes whose last pre-0 spike (same step included) is 0 < Δ <= window."""
    pre0 = _steps(out["pre_rec"].trains()[0] + 0.5 * DT)
    post0 = _steps(out["post_rec"].trains()[0] + 0.5 * DT)
    w_steps = int(round(window / DT))
    last = np.searchsorted(pre0, post0, side="right") - 1
    ok = last >= 0
    gap = np.where(ok, post0 - pre0[np.maximum(last, 0)], 0)
    return post0[ok & (gap > 0) & (gap <= w_steps)]


def _critic_run(critic, *, seed, rule=None, t_total=6000.0):
    rule = rule or _rule(eta=2e-5)
    # pre 0 stops early enough for every pairing's release to fall inside the run
    stop = t_total - critic["delay_max"] - critic["window"] - 10.0
    return rule, _simulate(rule, seed=seed, runs=(t_total,), critic=critic, times=(), amounts=1.0, pre_stop=stop,
                           post_rate=40.0)


def test_critic_fixed_delay_releases_exactly():
    critic = dict(window=10.0, delay_min=250.0, delay_max=250.0, amount=0.3)
    _, out = _critic_run(critic, seed=5)
    pairs = _pairings(out, critic["window"])
    assert pairs.size >= 15
    np.testing.assert_array_equal(_steps(out["rel_t"] + 0.5 * DT), pairs + 2500)
    np.testing.assert_array_equal(out["rel_a"], np.full(pairs.size, 0.3))


@pytest.mark.parametrize("seed", [5, 6])
def test_critic_random_delays(seed):
    """Delays U(delay_min, delay_max) rounded to the step: every release lies in [pairing +
    delay_min, pairing + delay_max], one release per pairing (sorted matching: the intervals
    have one width, so a matching exists iff the sorted one is valid), and the delays spread."""
    critic = dict(window=10.0, delay_min=100.0, delay_max=300.0, amount=0.3)
    rule, out = _critic_run(critic, seed=seed)
    pairs = _pairings(out, critic["window"])
    rel = np.sort(_steps(out["rel_t"] + 0.5 * DT))
    assert pairs.size >= 15
    assert rel.size == pairs.size
    gaps = rel - np.sort(pairs)
    assert np.all(gaps >= 1000) and np.all(gaps <= 3000), gaps
    assert gaps.max() - gaps.min() > 500          # random delays, not one fixed delay
    np.testing.assert_array_equal(out["rel_a"], np.full(pairs.size, 0.3))
    # and the released dopamine drives the rule exactly as replay_modulated says
    _check_nontrivial(out, min_change=1e-2)
    assert np.all(out["w"] > rule.w_min)
    np.testing.assert_allclose(out["w"], _replay(rule, out), rtol=1e-9, atol=0)


def test_critic_window_and_simultaneous_spikes():
    """Prescribed spikes: post 0 at Δ = 0 (same step), 0.1 ms, window and window + dt after
    pre 0; only 0 < Δ <= window counts, measured from the *last* pre spike."""
    net = models.Network(dt=DT, seed=0)
    pre = net.add(models.SpikeGeneratorGroup(1, (np.array([10.0, 100.0, 200.0, 300.0, 400.0, 405.0, 450.0,
                                                           455.0]),)))
    # post 0 forced by a generator through one strong delta synapse: it fires one step later
    drive_t = np.array([10.0, 100.1, 210.0, 310.1, 409.0, 455.0]) - DT
    drive = net.add(models.SpikeGeneratorGroup(1, (drive_t,)))
    post = net.add(models.LIF(1, synapses="delta", v_th=-54.0, e_leak=-70.0, v_reset=-70.0))
    net.connect(drive, post, weight=30.0)
    mod = net.add(models.Modulator(critics=(models.PairingReward(pre, 0, post, 0, window=10.0, delay_min=5.0,
                                                                 delay_max=5.0, amount=0.7),)))
    rec = net.record_spikes(post)
    net.run(500.0)
    np.testing.assert_allclose(rec.t, drive_t + DT, rtol=0, atol=1e-9)
    t, a = net.modulator_releases(mod)
    # Δ = 0 (10.0): no; 0.1 (100.1): yes; 10.0 (210.0): yes; 10.1 (310.1): no; 409.0 - 405.0 = 4: yes;
    # 455.0: the last pre spike is in the same step (Δ = 0; the one at 450.0 does not count): no
    np.testing.assert_allclose(t, np.array([100.1, 210.0, 409.0]) + 5.0, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(a, [0.7, 0.7, 0.7])


# --- errors ---------------------------------------------------------------------------------

def _small_net():
    net = models.Network(dt=DT)
    src = net.add(models.PoissonGroup(2, rate=5.0))
    cell = net.add(models.LIF(1))
    return net, src, cell


def test_dopamine_rule_needs_a_modulator():
    net, src, cell = _small_net()
    with pytest.raises(ParameterError, match="modulator must be given for a DopamineSTDP projection"):
        net.connect(src, cell, weight=0.5, rule=DopamineSTDP())


def test_tau_d_must_match_the_modulator():
    net, src, cell = _small_net()
    mod = net.add(models.Modulator(tau_d=100.0))
    with pytest.raises(ParameterError, match=r"tau_d of the rule \(200.0 ms\) must equal the modulator's tau_d "
                                             r"\(100.0 ms\)"):
        net.connect(src, cell, weight=0.5, rule=DopamineSTDP(), modulator=mod)


def test_modulator_must_be_added_to_the_network():
    net, src, cell = _small_net()
    with pytest.raises(ParameterError, match="modulator must be a Modulator added to this network"):
        net.connect(src, cell, weight=0.5, rule=DopamineSTDP(), modulator=models.Modulator())
    other = models.Network(dt=DT)
    foreign = other.add(models.Modulator())
    with pytest.raises(ParameterError, match="modulator must be a Modulator added to this network"):
        net.connect(src, cell, weight=0.5, rule=DopamineSTDP(), modulator=foreign)
    with pytest.raises(ParameterError, match="modulator is not part of this network"):
        net.modulator_releases(foreign)


def test_modulator_and_critic_errors():
    net, src, cell = _small_net()
    mod = net.add(models.Modulator())
    with pytest.raises(ParameterError, match="already part of this network"):
        net.add(mod)
    stranger = models.LIF(1)
    with pytest.raises(ParameterError, match="post_group must be a group added to this network"):
        net.add(models.Modulator(critics=(models.PairingReward(src, 0, stranger, 0),)))
    with pytest.raises(ParameterError, match="post must be < post_group.n"):
        models.PairingReward(src, 0, cell, 1)
    with pytest.raises(ParameterError, match="delay_max"):
        models.PairingReward(src, 0, cell, 0, delay_min=300.0, delay_max=100.0)
    with pytest.raises(ParameterError, match="critics must be PairingReward"):
        models.Modulator(critics=(object(),))
    with pytest.raises(ParameterError, match="amounts"):
        models.Modulator(times=(1.0, 2.0), amounts=(1.0,))


def test_a_presynaptic_spike_transmits_the_weight_integrated_up_to_its_arrival():
    """NEST's stdp_dopamine_synapse brings the weight up to date before sending: here a
    release at 100 ms makes w grow lazily; the pre spike at 400 ms must move v by w(400),
    the weight replay_modulated integrates up to then, not by the stale w of 20 ms."""
    rule = DopamineSTDP(eta=0.05, w_max=5.0)
    net = models.Network(dt=1.0)
    pre = net.add(models.SpikeGeneratorGroup.from_trains([np.array([10.0, 400.0])]))
    kick = net.add(models.SpikeGeneratorGroup.from_trains([np.array([19.0])]))
    cell = net.add(models.LIF(1, synapses="delta", tau_m=20.0, e_leak=-70.0, v_reset=-70.0, v_th=-50.0))
    mod = net.add(models.Modulator(tau_d=rule.tau_d, times=[100.0], amounts=[1.0]))
    net.connect(kick, cell, weight=30.0)                               # post spike at 20 ms
    proj = net.connect(pre, cell, weight=1.0, rule=rule, modulator=mod)
    v = net.record_state(cell, "v")
    spikes = net.record_spikes(cell)
    net.run(420.0)
    assert np.allclose(spikes.t, [20.0])
    w_400 = replay_modulated(rule, [np.array([10.0])], [spikes.t], [100.0], [1.0], np.ones((1, 1)),
                             duration=400.0)[0, 0]
    assert w_400 > 1.5                                                  # it did grow
    p_m = np.exp(-1.0 / 20.0)
    # v recorded at the start of step k is v after step k-1; the spike of step 400 acts in step 401
    jump = v.values[402, 0] - (-70.0 + (v.values[401, 0] + 70.0) * p_m)
    assert jump == pytest.approx(w_400, rel=1e-12)
    assert proj.w[0] >= w_400
