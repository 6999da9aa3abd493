"""LIF dynamics of the native simulator against closed-form solutions.

Conventions checked (models/simulate.py docstring): a state monitor records the value at
the *start* of step k (t = k*dt); an input spike emitted in step k0 (zero delay) is added to
I_e/g_e at the end of step k0, so the synaptic current is "on" from t_arr = (k0 + 1)*dt;
a neuron whose v exceeds v_th while integrating step k spikes at t = k*dt.
"""
import math

import numpy as np
import pytest
from scipy.integrate import solve_ivp

import models

DT = 0.1  # ms


def _recorded(net, group, variable, duration):
    rec = net.record_state(group, variable)
    net.run(duration)
    return rec


# --- sub-threshold: constant bias current -------------------------------------------------

def test_constant_current_matches_closed_form():
    tau_m, c_m, e_leak, i_ext = 20.0, 250.0, -70.0, 400.0
    net = models.Network(dt=DT, seed=0)
    cell = net.add(models.LIF(1, tau_m=tau_m, c_m=c_m, e_leak=e_leak, i_ext=i_ext, v_th=100.0))
    rec = _recorded(net, cell, "v", 200.0)
    k = np.arange(2000)
    t = k * DT
    r_m = tau_m / c_m  # GOhm: pA * GOhm = mV
    want = e_leak + r_m * i_ext * (1.0 - np.exp(-t / tau_m))
    assert rec.values.shape == (2000, 1)
    np.testing.assert_allclose(rec.t, t, rtol=0, atol=1e-12)
    np.testing.assert_allclose(rec.values[:, 0], want, rtol=0, atol=1e-10)
    # the steady state R*I = 32 mV above rest is approached
    assert abs(rec.values[-1, 0] - (e_leak + 32.0)) < 32.0 * math.exp(-199.9 / 20.0) * 1.001


def test_initial_voltage_relaxes_exponentially():
    # v_init away from rest, no current: v(t) = e_leak + (v0 - e_leak) exp(-t/tau_m)
    net = models.Network(dt=DT)
    cell = net.add(models.LIF(1, tau_m=15.0, e_leak=-65.0, v_init=-55.5, v_th=-50.0))
    rec = _recorded(net, cell, "v", 50.0)
    t = np.arange(500) * DT
    np.testing.assert_allclose(rec.values[:, 0], -65.0 + 9.5 * np.exp(-t / 15.0), rtol=0, atol=1e-10)


# --- a single current-based PSP -------------------------------------------------------------

def _psp(t_since, w, c_m, tau_m, tau_s):
    """Membrane response (mV) to w pA of exponential current switched on at t_since = 0."""
    t_since = np.asarray(t_since, dtype=float)
    on = t_since >= 0
    ts = np.where(on, t_since, 0.0)
    if tau_s == tau_m:
        v = w / c_m * ts * np.exp(-ts / tau_m)
    else:
        v = w / c_m * tau_m * tau_s / (tau_s - tau_m) * (np.exp(-ts / tau_s) - np.exp(-ts / tau_m))
    return np.where(on, v, 0.0)


def _single_psp(t_spike, w, delay=0.0, receptor="excitatory", tau_e=5.0, tau_i=3.0, tau_m=20.0,
                c_m=250.0, duration=80.0, dt=DT):
    net = models.Network(dt=dt, seed=0)
    src = net.add(models.SpikeGeneratorGroup(1, (np.array([t_spike]),)))
    cell = net.add(models.LIF(1, tau_m=tau_m, c_m=c_m, e_leak=-70.0, v_th=0.0, tau_e=tau_e, tau_i=tau_i))
    net.connect(src, cell, weight=w, delay=delay, receptor=receptor)
    v = net.record_state(cell, "v")
    cur = net.record_state(cell, "I_e" if receptor == "excitatory" else "I_i")
    net.run(duration)
    return v, cur


@pytest.mark.parametrize("receptor, tau_s, w", [("excitatory", 5.0, 150.0),
                                                 ("inhibitory", 3.0, -200.0),
                                                 ("excitatory", 20.0, 150.0)])  # tau_s == tau_m
def test_current_psp_matches_closed_form(receptor, tau_s, w):
    t_spike = 5.04  # ms, off the grid: emitted in step floor(50.4 + 1e-3) = 50
    v, cur = _single_psp(t_spike, w, receptor=receptor,
                         tau_e=tau_s if receptor == "excitatory" else 5.0,
                         tau_i=tau_s if receptor == "inhibitory" else 3.0)
    t = np.arange(800) * DT
    t_arr = 51 * DT  # delivered at the end of step 50: current on from step 51
    np.testing.assert_allclose(v.values[:, 0], -70.0 + _psp(t - t_arr, w, 250.0, 20.0, tau_s),
                               rtol=0, atol=1e-10)
    want_i = np.where(t >= t_arr - 1e-9, w * np.exp(-(t - t_arr) / tau_s), 0.0)
    np.testing.assert_allclose(cur.values[:, 0], want_i, rtol=0, atol=1e-10)
    # nothing before arrival (exactly), and a PSP of the expected sign afterwards
    assert np.all(v.values[:52, 0] == -70.0)
    assert np.sign(v.values[60, 0] + 70.0) == np.sign(w)


@pytest.mark.filterwarnings("ignore:dt = 0.1 ms is 0.2")
def test_synaptic_current_is_exact_across_rescalings_and_settles_to_zero():
    """A current LIF group stores I / F and decays F, one number per step (NeuronArrays.scale);
    below RESCALE_BELOW the stored values are multiplied by F and F restarts at 1. With
    tau_e = 0.5 ms that happens every 694 steps: without it F would underflow to 0 within the
    run. The recorded current must follow the sum of exponentials through the rescalings
    (inputs arriving after one included), the potential the closed-form PSPs, and the current
    must end at exactly 0 once below TINY, never passing through subnormal numbers."""
    w, tau_e, tau_m, c_m = 150.0, 0.5, 20.0, 250.0
    spikes = np.array([5.04, 100.04, 230.04])
    net = models.Network(dt=DT, seed=0)
    src = net.add(models.SpikeGeneratorGroup(1, (spikes,)))
    cell = net.add(models.LIF(1, tau_m=tau_m, c_m=c_m, e_leak=-70.0, v_th=0.0, tau_e=tau_e))
    net.connect(src, cell, weight=w)
    v, cur = net.record_state(cell, "v"), net.record_state(cell, "I_e")
    net.run(600.0)
    t = np.arange(6000) * DT
    arrivals = (np.floor(spikes / DT + 1e-3) + 1) * DT      # delivered at the end of the spike's step
    want_i = sum(np.where(t >= a - 1e-9, w * np.exp(-(t - a) / tau_e), 0.0) for a in arrivals)
    got = cur.values[:, 0]
    big = want_i > 1e-120
    assert np.all(np.abs(got[big] - want_i[big]) <= 1e-11 * want_i[big])
    np.testing.assert_allclose(v.values[:, 0], -70.0 + sum(_psp(t - a, w, c_m, tau_m, tau_e) for a in arrivals),
                               rtol=0, atol=1e-10)
    assert np.all((got == 0.0) | (np.abs(got) > 1e-250))    # never subnormal
    assert got[-1] == 0.0 and np.all(got[-500:] == 0.0)


def test_current_psp_with_delay_shifts_by_exactly_the_delay():
    w = 150.0
    v0, _ = _single_psp(5.0, w)
    v2, _ = _single_psp(5.0, w, delay=2.0)
    t = np.arange(800) * DT
    np.testing.assert_allclose(v2.values[:, 0], -70.0 + _psp(t - (5.1 + 2.0), w, 250.0, 20.0, 5.0),
                               rtol=0, atol=1e-10)
    # the delayed trace is the undelayed one moved by 20 steps
    np.testing.assert_array_equal(v2.values[20:, 0], v0.values[:-20, 0])
    assert np.all(v2.values[:72, 0] == -70.0) and v2.values[72, 0] > -70.0


# --- firing with a constant suprathreshold current -----------------------------------------

def _steps_to_threshold(v_start, v_inf, v_th, tau_m, dt):
    """Integration steps n until v > v_th, from v(t) = v_inf + (v_start - v_inf) exp(-t/tau_m).

    The continuous crossing time is T = tau_m ln((v_inf - v_start)/(v_inf - v_th)); on the
    grid the first sample beyond it is n = floor(T/dt) + 1 (T/dt must not be an integer).
    """
    x = tau_m * math.log((v_inf - v_start) / (v_inf - v_th)) / dt
    assert abs(x - round(x)) > 1e-6, "choose parameters with the crossing off the grid"
    return math.floor(x) + 1


@pytest.mark.parametrize("t_ref", [0.0, 2.0, 3.3])
def test_regular_firing_interval(t_ref):
    tau_m, c_m, e_leak, v_th, v_reset, i_ext = 20.0, 250.0, -70.0, -50.0, -65.0, 400.0
    v_inf = e_leak + tau_m / c_m * i_ext  # -38 mV
    net = models.Network(dt=DT)
    cell = net.add(models.LIF(1, tau_m=tau_m, c_m=c_m, e_leak=e_leak, v_th=v_th, v_reset=v_reset,
                              t_ref=t_ref, i_ext=i_ext))
    spikes = net.record_spikes(cell)
    net.run(300.0)
    n_first = _steps_to_threshold(e_leak, v_inf, v_th, tau_m, DT)     # 197 (T = 19.62 ms)
    n_isi = _steps_to_threshold(v_reset, v_inf, v_th, tau_m, DT)      # 163 (T = 16.22 ms)
    ref = int(round(t_ref / DT))
    # Brian2 semantics (checked against Brian2 2.9): a spike in step k sets v = v_reset and the
    # neuron does not integrate in steps k+1 .. k+ref-1; integration resumes in step k+ref.
    # Without refractoriness it resumes in step k+1, so the interval grows by (ref - 1) steps.
    isi_steps = n_isi + max(ref - 1, 0)
    k_first = n_first - 1  # v is sampled after integrating step k: n integrations -> step n-1
    assert (n_first, n_isi) == (197, 163)
    want = k_first + isi_steps * np.arange(100)
    want = want[want < 3000] * DT
    np.testing.assert_allclose(spikes.t, want, rtol=0, atol=1e-9)
    assert np.all(spikes.i == 0)


def test_refractory_period_caps_rate_and_holds_v_at_reset():
    # huge current: without refractoriness the neuron would fire every step
    t_ref, v_reset = 2.0, -62.0
    net = models.Network(dt=DT)
    cell = net.add(models.LIF(1, v_th=-50.0, v_reset=v_reset, t_ref=t_ref, i_ext=1e6))
    spikes = net.record_spikes(cell)
    v = net.record_state(cell, "v")
    net.run(50.0)
    # first step: v jumps far above threshold -> spike at step 0; then exactly one per t_ref
    np.testing.assert_allclose(spikes.t, np.arange(0, 50.0 - 1e-9, t_ref), rtol=0, atol=1e-9)
    # v (recorded at step starts) stays at v_reset for steps k+1 .. k+20 after each spike at k
    for k in np.rint(spikes.t / DT).astype(int)[:-1]:
        np.testing.assert_array_equal(v.values[k + 1:k + 21, 0], v_reset)


def test_refractory_neuron_ignores_input_but_current_still_decays():
    # a neuron forced to fire at step 0 is refractory for 5 ms; an input arriving meanwhile
    # does not move v, while I_e decays as w exp(-t/tau_e) all along
    net = models.Network(dt=DT)
    kick = net.add(models.SpikeGeneratorGroup(1, (np.array([0.0, 1.0]),)))
    cell = net.add(models.LIF(1, v_th=-50.0, v_reset=-70.0, t_ref=5.0, v_init=-49.0, i_ext=0.0))
    net.connect(kick, cell, weight=300.0)
    spikes = net.record_spikes(cell)
    v = net.record_state(cell, "v")
    cur = net.record_state(cell, "I_e")
    net.run(20.0)
    assert spikes.t.tolist() == [0.0]
    # v = v_reset through step 50 (start); integration resumes in step 50
    np.testing.assert_array_equal(v.values[1:51, 0], -70.0)
    t = np.arange(200) * DT
    want_i = np.where(t >= 0.1 - 1e-9, 300.0 * np.exp(-(t - 0.1) / 5.0), 0.0) \
        + np.where(t >= 1.1 - 1e-9, 300.0 * np.exp(-(t - 1.1) / 5.0), 0.0)
    np.testing.assert_allclose(cur.values[:, 0], want_i, rtol=0, atol=1e-10)
    # from step 50 on the membrane integrates the (decayed) current: closed form from v_reset
    # at t = 5.0 with I(t) = I(5.0) exp(-(t-5)/tau_e)
    i5 = want_i[50]
    tail = -70.0 + _psp(t[50:] - 5.0, i5, 250.0, 20.0, 5.0)
    np.testing.assert_allclose(v.values[50:, 0], tail, rtol=0, atol=1e-10)


# --- conductance-based PSP ------------------------------------------------------------------

TAU_M, TAU_E, E_LEAK, E_E, W_G = 20.0, 5.0, -70.0, 0.0, 0.3


def _conductance_run(dt, t_spike=10.0, duration=70.0):
    net = models.Network(dt=dt)
    src = net.add(models.SpikeGeneratorGroup(1, (np.array([t_spike]),)))
    cell = net.add(models.LIF(1, synapses="conductance", tau_m=TAU_M, e_leak=E_LEAK, v_th=-20.0,
                              v_reset=-70.0, tau_e=TAU_E, e_e=E_E))
    net.connect(src, cell, weight=W_G)
    v = net.record_state(cell, "v")
    g = net.record_state(cell, "g_e")
    net.run(duration)
    return v.t, v.values[:, 0], g.values[:, 0]


def _conductance_reference(t_arr, t_eval):
    """tau_m dv/dt = e_leak - v + g(t)(e_e - v), g = W exp(-(t - t_arr)/tau_e), v(t_arr) = e_leak."""
    def rhs(t, v):
        g = W_G * math.exp(-(t - t_arr) / TAU_E)
        return [(E_LEAK - v[0] + g * (E_E - v[0])) / TAU_M]
    sol = solve_ivp(rhs, (t_arr, t_eval[-1]), [E_LEAK], method="DOP853", t_eval=t_eval,
                    rtol=1e-12, atol=1e-12)
    assert sol.success
    return sol.y[0]


def _conductance_error(dt):
    t, v, g = _conductance_run(dt)
    k_arr = int(round(10.0 / dt)) + 1
    t_arr = k_arr * dt
    assert np.all(v[:k_arr + 1] == E_LEAK)  # v starts moving after the first step with g > 0
    np.testing.assert_allclose(g[k_arr:], W_G * np.exp(-(t[k_arr:] - t_arr) / TAU_E), rtol=1e-12)
    ref = _conductance_reference(t_arr, t[k_arr:])
    return v[k_arr:], ref, t[k_arr:], g[k_arr:]


def test_conductance_psp_is_exact_for_piecewise_constant_conductance():
    # exponential Euler = exact solution with g held at its start-of-step value:
    # v(t + dt) = v_inf + (v - v_inf) exp(-(1 + g) dt / tau_m),  v_inf = (e_leak + g e_e)/(1 + g)
    v, _, _, g = _conductance_error(DT)
    want = np.empty_like(v)
    want[0] = E_LEAK
    for n in range(v.size - 1):
        v_inf = (E_LEAK + g[n] * E_E) / (1.0 + g[n])
        want[n + 1] = v_inf + (want[n] - v_inf) * math.exp(-(1.0 + g[n]) * DT / TAU_M)
    np.testing.assert_allclose(v, want, rtol=0, atol=1e-10)


def test_conductance_psp_converges_to_the_ode_at_first_order():
    v1, ref1, t1, _ = _conductance_error(DT)
    v2, ref2, t2, _ = _conductance_error(DT / 2)
    peak = np.max(ref1 - E_LEAK)
    assert 3.0 < peak < 4.0  # ~3.2 mV for g = 0.3, tau_e = 5, tau_m = 20
    err1 = np.max(np.abs(v1 - ref1))
    err2 = np.max(np.abs(v2 - ref2))
    # holding g at its step-start value overestimates it by ~ g dt/(2 tau_e) on average:
    # error <~ peak * dt / (2 tau_e) = 1% of the peak at dt = 0.1 ms; allow twice that
    assert err1 < peak * DT / TAU_E
    assert err1 > 1e-4  # the scheme is not exact for a decaying conductance
    # first order: halving dt halves the error
    assert 1.8 < err1 / err2 < 2.2


def test_conductance_psp_inhibitory_is_exact_for_piecewise_constant_conductance():
    # g_i pulls v from rest (e_leak = -60 mV) towards e_i = -80 mV
    w, tau_i, e_i = 0.4, 8.0, -80.0
    net = models.Network(dt=DT)
    src = net.add(models.SpikeGeneratorGroup(1, (np.array([2.0]),)))
    cell = net.add(models.LIF(1, synapses="conductance", tau_m=TAU_M, e_leak=-60.0, v_th=-50.0,
                              v_reset=-70.0, tau_i=tau_i, e_i=e_i))
    net.connect(src, cell, weight=w, receptor="inhibitory")
    v = net.record_state(cell, "v")
    g = net.record_state(cell, "g_i")
    net.run(40.0)
    t = v.t
    g_want = np.where(t >= 2.1 - 1e-9, w * np.exp(-(t - 2.1) / tau_i), 0.0)
    np.testing.assert_allclose(g.values[:, 0], g_want, rtol=0, atol=1e-12)
    want = np.empty(t.size)
    want[0] = -60.0
    for n in range(t.size - 1):
        v_inf = (-60.0 + g_want[n] * e_i) / (1.0 + g_want[n])
        want[n + 1] = v_inf + (want[n] - v_inf) * math.exp(-(1.0 + g_want[n]) * DT / TAU_M)
    np.testing.assert_allclose(v.values[:, 0], want, rtol=0, atol=1e-10)
    assert v.values[:, 0].min() < -61.5  # a real IPSP (~1.65 mV)


def test_two_groups_keep_their_own_constants():
    # a current-based and a conductance-based group with different leak, tau_m and bias
    net = models.Network(dt=DT)
    cur = net.add(models.LIF(2, tau_m=20.0, c_m=250.0, e_leak=-70.0, i_ext=400.0, v_th=100.0))
    cond = net.add(models.LIF(3, synapses="conductance", tau_m=12.0, c_m=200.0, e_leak=-65.0,
                              i_ext=150.0, v_th=100.0))
    a = net.record_state(cur, "v", neurons=[1])
    b = net.record_state(cond, "v", neurons=[0, 2])
    net.run(60.0)
    t = np.arange(600) * DT
    np.testing.assert_allclose(a.values[:, 0], -70.0 + 32.0 * (1 - np.exp(-t / 20.0)), rtol=0, atol=1e-10)
    want = -65.0 + 12.0 / 200.0 * 150.0 * (1 - np.exp(-t / 12.0))  # R I = 9 mV
    assert b.values.shape == (600, 2)
    np.testing.assert_allclose(b.values, np.c_[want, want], rtol=0, atol=1e-10)


def test_state_monitor_interval_and_chunks():
    # every = 0.7 ms (7 steps), chunk edges every 3.3 ms, two run() calls
    net = models.Network(dt=DT, chunk=3.3)
    cell = net.add(models.LIF(1, tau_m=20.0, c_m=250.0, e_leak=-70.0, i_ext=400.0, v_th=100.0))
    rec = net.record_state(cell, "v", every=0.7)
    net.run(12.0)
    net.run(8.0)
    k = np.arange(0, 200, 7)
    np.testing.assert_allclose(rec.t, k * DT, rtol=0, atol=1e-9)
    np.testing.assert_allclose(rec.values[:, 0], -70.0 + 32.0 * (1 - np.exp(-k * DT / 20.0)),
                               rtol=0, atol=1e-10)


# --- the plain LIF pass (models.simulate._lif_plain) against the general loop ---------------

@pytest.mark.parametrize("e_leak", [0.0, -70.0])
def test_plain_lif_pass_equals_the_general_loop_bitwise(e_leak):
    """A current LIF group without adaptation takes the blocked two-pass update; with
    reset="subtract" (and no spike, so nothing to subtract) the same arithmetic runs in the
    general loop of integrate(). Both must give the same potentials to the last bit, with the
    rest at 0 (where the membrane settles to exactly 0 instead of going subnormal) and far
    from 0 (where the plain pass leaves the settling out: SETTLE_FREE)."""
    def trace(reset):
        net = models.Network(dt=DT, seed=4)
        rng = np.random.default_rng(5)
        drive = net.add(models.SpikeGeneratorGroup(30, times=[np.unique(np.round(rng.uniform(0.0, 1500.0, 30), 1))
                                                               for _ in range(30)]))
        cell = net.add(models.LIF(300, tau_m=10.0, e_leak=e_leak, v_th=e_leak + 1e6, reset=reset,
                                  v_init=np.linspace(e_leak - 5.0, e_leak + 5.0, 300)))
        net.connect(drive, cell, weight=40.0, connectivity=models.fixed_probability(0.2))
        rec = net.record_state(cell, "v", every=5.0)
        net.run(5500.0)                 # the first 1500 ms with input, the rest decays alone
        return rec.values
    plain, general = trace("value"), trace("subtract")
    assert np.array_equal(plain, general)
    assert np.ptp(plain[:10]) > 1.0                       # the input moved the potentials
    # back at rest: exactly 0 after settling (not a subnormal number); near -70 mV, rounding
    # stops the decay some ulps away (v_rest + d p_m rounds back to v_rest + d), in both paths
    assert np.all(plain[-1] == 0.0) if e_leak == 0.0 else np.all(np.abs(plain[-1] - e_leak) < 1e-11)


def test_spike_flags_are_the_spikes_of_the_step_in_every_block():
    """z (what online rules read) is 1 exactly for the neurons that spiked in the step just
    run: the plain pass clears it only in the blocks that had a spike at the step before
    (NeuronArrays.fired_at), so a block that spiked, then did not, must be cleared."""
    net = models.Network(dt=DT, seed=6)
    drive = net.add(models.PoissonGroup(50, rate=50.0))
    cell = net.add(models.LIF(700, tau_m=10.0, e_leak=-65.0, v_th=-55.0, v_reset=-65.0, t_ref=0.2))
    net.connect(drive, cell, weight=300.0, connectivity=models.fixed_probability(0.2))
    rec = net.record_spikes(cell)
    flags, steps = [], 400
    for _ in range(steps):
        net.run(DT)
        flags.append(net._built.neurons.z[net.offset(cell):net.offset(cell) + cell.n].copy())
    want = np.zeros((steps, cell.n))
    want[np.round(rec.t / DT).astype(int), rec.i] = 1.0
    assert 200 < rec.i.size < 0.2 * steps * cell.n         # many spikes, most steps silent per block
    assert np.array_equal(np.array(flags), want)
