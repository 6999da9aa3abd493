"""plasticity.replay: event- vs clock-driven, Brian2's grid rule, trajectories, duration."""
import math

import numpy as np
import pytest

import plasticity
from plasticity import PairSTDP, TripletSTDP
from plasticity.replay import spike_steps

TP, TM = 16.8, 33.7
AP, AM = 0.01, 0.0105


def poisson_trains(rng, n, rate_hz, duration_ms, refractory_ms):
    out = []
    for _ in range(n):
        isi = refractory_ms + rng.exponential(1000.0 / rate_hz, size=int(3 * rate_hz * duration_ms / 1000) + 10)
        t = np.cumsum(isi)
        out.append(t[t < duration_ms])
    return out


def separated_trains(rng, n_pre, n_post, rate_hz, duration_ms, sep_ms=1.5):
    """Trains at non-grid times in which no post spike lies within ``sep_ms`` of any pre spike
    and no neuron fires twice within ``sep_ms``: on grids with dt <= 1 ms the order of every
    pre/post pair is kept, so the clock-driven error comes from the time shifts alone."""
    pre = poisson_trains(rng, n_pre, rate_hz, duration_ms, sep_ms)
    all_pre = np.sort(np.concatenate(pre))
    post = []
    for t in poisson_trains(rng, n_post, rate_hz, duration_ms, sep_ms):
        k = np.searchsorted(all_pre, t)
        before = np.abs(t - all_pre[np.clip(k - 1, 0, None)])
        after = np.abs(all_pre[np.clip(k, None, all_pre.size - 1)] - t)
        post.append(t[np.minimum(before, after) > sep_ms])
    return pre, post


# ----------------------------------------------------------------------------------------
# Clock-driven converges to event-driven as O(dt)
# ----------------------------------------------------------------------------------------

RULES = {
    "pair_all_to_all": PairSTDP(a_plus=0.005, a_minus=0.00525),
    "pair_pre_centred_mult": PairSTDP(a_plus=0.005, a_minus=0.00525, scheme="nearest_pre_centred",
                                      weight_dependence="multiplicative"),
    "triplet_hippocampal": TripletSTDP.from_paper("hippocampal", "all_to_all", "full",
                                                  w_min=-5.0, w_max=5.0),
}


@pytest.mark.parametrize("seed", [7, 8])
@pytest.mark.parametrize("name", sorted(RULES))
def test_clock_driven_converges_linearly_in_dt(name, seed):
    rule = RULES[name]
    rng = np.random.default_rng(seed)
    pre, post = separated_trains(rng, n_pre=8, n_post=6, rate_hz=20.0, duration_ms=2000.0)
    # the trains really are off-grid
    assert np.all(np.abs(np.concatenate(pre) * 100 - np.round(np.concatenate(pre) * 100)) > 0)
    w0 = np.full((6, 8), 0.5)
    exact = plasticity.replay(rule, pre, post, w0)
    assert np.mean(np.abs(exact - w0)) > 0.01  # rules actually act
    dts = (1.0, 0.1, 0.01)
    err = np.array([np.sqrt(np.mean((plasticity.replay(rule, pre, post, w0, dt=dt) - exact) ** 2))
                    for dt in dts])
    ratios = err[:-1] / err[1:]
    # first order: each 10x smaller dt gives a ~10x smaller error (not 100x, not 1x)
    assert np.all((ratios > 4.0) & (ratios < 25.0)), (err, ratios)
    # and small: per ms of dt, under 5% of the mean weight change the trains produce
    assert np.all(err / np.array(dts) < 0.05 * np.mean(np.abs(exact - w0))), err


def test_clock_driven_on_grid_times_is_exact():
    """Spike times already on the grid: clock-driven equals event-driven (to rounding)."""
    rng = np.random.default_rng(3)
    dt = 0.5
    pre = [np.flatnonzero(rng.random(400) < 0.05) * dt for _ in range(3)]
    post = [np.flatnonzero(rng.random(400) < 0.05) * dt for _ in range(2)]
    rule = PairSTDP(a_plus=AP, a_minus=AM)
    w0 = np.full((2, 3), 0.5)
    np.testing.assert_allclose(plasticity.replay(rule, pre, post, w0, dt=dt),
                               plasticity.replay(rule, pre, post, w0), rtol=1e-12, atol=1e-14)


# ----------------------------------------------------------------------------------------
# Brian2's grid rule: step = floor(t/dt + 1e-3)
# ----------------------------------------------------------------------------------------

def test_spike_steps_follow_brian2_rule():
    times = np.array([0.0, 0.05, 0.0998, 0.29999999, 0.3, 0.34, 12.3456])
    assert spike_steps(times, 0.1).tolist() == [0, 0, 0, 3, 3, 3, 123]
    assert spike_steps(np.array([0.9999, 0.99, 2.5]), 1.0).tolist() == [1, 0, 2]


def test_spike_steps_random_times_hand_formula(rng):
    t = rng.uniform(0.0, 1000.0, 1000)
    for dt in (0.1, 0.025, 1.0):
        want = [math.floor(x / dt + 1e-3) for x in t]
        assert spike_steps(t, dt).tolist() == want


def test_spike_just_below_a_grid_point_moves_up():
    """post at 0.29999999, pre at 0.3, dt 0.1: both on step 3 -> pre first -> potentiation.

    Event-driven, the same spikes are a post-pre pair (depression)."""
    rule = PairSTDP(tau_plus=TP, tau_minus=TM, a_plus=AP, a_minus=AM)
    pre, post, w0 = [np.array([0.3])], [np.array([0.29999999])], np.array([[0.5]])
    clock = plasticity.replay(rule, pre, post, w0, dt=0.1)[0, 0] - 0.5
    event = plasticity.replay(rule, pre, post, w0)[0, 0] - 0.5
    np.testing.assert_allclose(clock, AP, rtol=1e-12)
    np.testing.assert_allclose(event, -AM * math.exp(-1e-8 / TM), rtol=1e-12)


def test_spike_further_below_a_grid_point_stays_down():
    """pre at 0.2999 (step 2), post at 0.3 (step 3), dt 0.1: pair lag is one step."""
    rule = PairSTDP(tau_plus=TP, tau_minus=TM, a_plus=AP, a_minus=AM)
    w = plasticity.replay(rule, [np.array([0.2999])], [np.array([0.3])], np.array([[0.5]]), dt=0.1)
    np.testing.assert_allclose(w[0, 0] - 0.5, AP * math.exp(-0.1 / TP), rtol=1e-12)


# ----------------------------------------------------------------------------------------
# record=True
# ----------------------------------------------------------------------------------------

def test_record_trajectory(rng):
    rule = PairSTDP(a_plus=0.02, a_minus=0.021, scheme="nearest_symmetric")
    pre = [np.sort(rng.uniform(0, 300, 12)) for _ in range(3)]
    post = [np.sort(rng.uniform(0, 300, 10)) for _ in range(2)]
    post[0] = np.unique(np.r_[post[0], pre[0][:3]])  # shared times -> fewer distinct times
    w0 = rng.uniform(0.3, 0.7, (2, 3))
    final, traj = plasticity.replay(rule, pre, post, w0, record=True)
    assert isinstance(traj, plasticity.Trajectory)
    all_times = np.concatenate(pre + post)
    np.testing.assert_array_equal(traj.times, np.unique(all_times))
    assert traj.times.size < all_times.size
    assert traj.weights.shape == (traj.times.size, 2, 3)
    np.testing.assert_array_equal(traj.weights[-1], final)
    np.testing.assert_array_equal(final, plasticity.replay(rule, pre, post, w0))
    # weights after event time k == a replay that stops just before event time k + 1
    for k in (0, 5, traj.times.size // 2, traj.times.size - 2):
        cut = plasticity.replay(rule, pre, post, w0, duration=traj.times[k + 1])
        np.testing.assert_array_equal(traj.weights[k], cut)


def test_record_trajectory_hand_values():
    """pre 0, post 10, pre+post 30, pre+post 45: a row per distinct time, taken after *all*
    events at that time (pre then post)."""
    rule = PairSTDP(tau_plus=TP, tau_minus=TM, a_plus=AP, a_minus=AM)
    final, traj = plasticity.replay(rule, [np.array([0.0, 30.0, 45.0])],
                                    [np.array([10.0, 30.0, 45.0])], np.array([[0.5]]),
                                    record=True)
    np.testing.assert_array_equal(traj.times, [0.0, 10.0, 30.0, 45.0])
    w1 = 0.5 + AP * math.exp(-10 / TP)
    # t=30: pre (post 10 before it), then post (pres 0 and 30 before it)
    w2 = w1 - AM * math.exp(-20 / TM) + AP * (math.exp(-30 / TP) + 1.0)
    # t=45: pre (posts 10, 30), then post (pres 0, 30, 45)
    w3 = (w2 - AM * (math.exp(-35 / TM) + math.exp(-15 / TM))
          + AP * (math.exp(-45 / TP) + math.exp(-15 / TP) + 1.0))
    np.testing.assert_allclose(traj.weights[:, 0, 0], [0.5, w1, w2, w3], rtol=1e-14)
    assert final[0, 0] == traj.weights[-1, 0, 0]


def test_record_clock_driven_times_are_grid_times():
    rule = PairSTDP()
    final, traj = plasticity.replay(rule, [np.array([0.31, 1.07])], [np.array([0.55])],
                                    np.array([[0.5]]), dt=0.1, record=True)
    np.testing.assert_allclose(traj.times, [0.3, 0.5, 1.0], rtol=1e-12)
    np.testing.assert_array_equal(traj.weights[-1], final)


def test_record_with_no_events():
    w0 = np.array([[0.25]])
    final, traj = plasticity.replay(PairSTDP(), [np.array([5.0])], [np.array([6.0])], w0,
                                    duration=1.0, record=True)
    assert traj.times.shape == (0,) and traj.weights.shape == (0, 1, 1)
    np.testing.assert_array_equal(final, w0)


# ----------------------------------------------------------------------------------------
# duration
# ----------------------------------------------------------------------------------------

def test_duration_equals_truncated_trains(rng):
    rule = TripletSTDP.from_paper("hippocampal", "all_to_all", "full")
    pre = [np.sort(rng.uniform(0, 500, 20)) for _ in range(3)]
    post = [np.sort(rng.uniform(0, 500, 20)) for _ in range(2)]
    w0 = np.full((2, 3), 0.5)
    duration = 250.0
    cut = plasticity.replay(rule, pre, post, w0, duration=duration)
    truncated = plasticity.replay(rule, [t[t < duration] for t in pre],
                                  [t[t < duration] for t in post], w0)
    np.testing.assert_array_equal(cut, truncated)
    assert not np.array_equal(cut, plasticity.replay(rule, pre, post, w0))


def test_spike_at_duration_is_ignored():
    rule = PairSTDP(tau_plus=TP, tau_minus=TM, a_plus=AP, a_minus=AM)
    pre, post, w0 = [np.array([0.0])], [np.array([10.0])], np.array([[0.5]])
    assert plasticity.replay(rule, pre, post, w0, duration=10.0)[0, 0] == 0.5
    np.testing.assert_allclose(plasticity.replay(rule, pre, post, w0, duration=10.0 + 1e-9)[0, 0],
                               0.5 + AP * math.exp(-10 / TP), rtol=1e-12)


@pytest.mark.parametrize("dt, t_spike", [(0.1, 0.3), (0.3, 0.9), (0.1, 0.7), (0.01, 0.07)])
def test_clock_driven_spike_at_duration_is_ignored(dt, t_spike):
    """The post spike lands on step round(t/dt) whose nominal time equals the duration: the
    run has that many steps (Brian2's clock), so the spike is not applied, whatever the
    floating-point value of step * dt (3 * 0.3 = 0.8999999999999999 < 0.9)."""
    rule = PairSTDP(a_plus=AP, a_minus=AM)
    w = plasticity.replay(rule, [np.array([0.0])], [np.array([t_spike])], np.array([[0.5]]),
                          dt=dt, duration=t_spike)
    assert w[0, 0] == 0.5


def test_clock_driven_duration_off_grid():
    """duration 0.35 ms with dt 0.1 ms is a run of 4 steps (0..3): a spike at 0.38 ms falls on
    step 3 (0.3 ms) and is applied; with duration 0.3 ms (3 steps) it is not."""
    rule = PairSTDP(tau_plus=TP, tau_minus=TM, a_plus=AP, a_minus=AM)
    pre, post, w0 = [np.array([0.0])], [np.array([0.38])], np.array([[0.5]])
    w = plasticity.replay(rule, pre, post, w0, dt=0.1, duration=0.35)
    np.testing.assert_allclose(w[0, 0] - 0.5, AP * math.exp(-0.3 / TP), rtol=1e-12)
    assert plasticity.replay(rule, pre, post, w0, dt=0.1, duration=0.3)[0, 0] == 0.5
