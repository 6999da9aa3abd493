"""Connection patterns, per-synapse values and delays, and parameter validation."""
import math

import numpy as np
import pytest

import models
import plasticity
from plasticity import PairSTDP, ParameterError

DT = 0.1


def _net_with(*groups, seed=0):
    net = models.Network(dt=DT, seed=seed)
    return net, [net.add(g) for g in groups]


# --- patterns -------------------------------------------------------------------------------

def test_fixed_probability_onto_itself():
    n, p = 200, 0.1
    net, (g,) = _net_with(models.LIF(n), seed=1)
    proj = net.connect(g, g, weight=1.0, connectivity=models.fixed_probability(p))
    pairs = n * (n - 1)                       # self-connections excluded
    mean, sigma = pairs * p, math.sqrt(pairs * p * (1 - p))  # 3980 +- 60
    assert abs(proj.n_syn - mean) < 5 * sigma
    assert np.all(proj.pre != proj.post)
    # no duplicate pairs; CSR grouped by presynaptic neuron
    assert np.unique(proj.pre * n + proj.post).size == proj.n_syn
    assert np.all(np.diff(proj.pre) >= 0)
    # the dense view has exactly the synapses' weights
    dense = proj.dense_weights()
    assert np.count_nonzero(dense) == proj.n_syn and np.all(np.diag(dense) == 0)


def test_fixed_probability_between_groups_counts_self_pairs():
    net, (a, b) = _net_with(models.PoissonGroup(200), models.LIF(200), seed=2)
    proj = net.connect(a, b, weight=1.0, connectivity=models.fixed_probability(0.1))
    mean, sigma = 4000.0, math.sqrt(40000 * 0.1 * 0.9)
    assert abs(proj.n_syn - mean) < 5 * sigma
    assert np.any(proj.pre == proj.post)  # different groups: index-equal pairs are allowed


@pytest.mark.parametrize("p, want", [(0.0, 0), (1.0, 50 * 49)])
def test_fixed_probability_limits(p, want):
    net, (g,) = _net_with(models.LIF(50))
    assert net.connect(g, g, weight=1.0, connectivity=models.fixed_probability(p)).n_syn == want


def test_fixed_indegree():
    n, k = 100, 7
    net, (g,) = _net_with(models.LIF(n), seed=3)
    proj = net.connect(g, g, weight=1.0, connectivity=models.fixed_indegree(k))
    assert proj.n_syn == n * k
    np.testing.assert_array_equal(np.bincount(proj.post, minlength=n), np.full(n, k))
    for i in range(n):
        sources = proj.pre[proj.post == i]
        assert np.unique(sources).size == k
        assert i not in sources
    # the maximum is n - 1 distinct sources when self-connections are excluded
    proj = net.connect(g, g, weight=1.0, connectivity=models.fixed_indegree(n - 1))
    dense = proj.dense_weights()
    np.testing.assert_array_equal(dense, 1.0 - np.eye(n))


def test_one_to_one_and_all_to_all():
    net, (a, b, c) = _net_with(models.PoissonGroup(6), models.LIF(6), models.LIF(4))
    proj = net.connect(a, b, weight=np.arange(6.0) + 1, connectivity=models.one_to_one())
    np.testing.assert_array_equal(proj.dense_weights(), np.diag(np.arange(6.0) + 1))
    full = net.connect(a, c, weight=2.0)  # default all-to-all
    assert full.n_syn == 24
    np.testing.assert_array_equal(full.dense_weights(), np.full((4, 6), 2.0))
    rec = net.connect(b, b, weight=1.0, connectivity=models.all_to_all(allow_self=False))
    assert rec.n_syn == 30 and np.all(rec.pre != rec.post)


class _ScrambledPairs:
    """A pattern yielding pairs in a non-CSR order, to check per-synapse array ordering."""

    PRE = np.array([2, 0, 1, 0, 2, 1])
    POST = np.array([0, 3, 1, 0, 2, 2])

    def pairs(self, n_pre, n_post, rng, same_group=False):
        return self.PRE.copy(), self.POST.copy()


def test_weight_and_delay_arrays_follow_the_pairs():
    net, (a, b) = _net_with(models.PoissonGroup(3), models.LIF(4))
    w = np.array([10.0, 20.0, 30.0, 40.0, 50.0, 60.0])
    d = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    proj = net.connect(a, b, weight=w, delay=d, connectivity=_ScrambledPairs())
    dense = np.zeros((4, 3))
    dense[_ScrambledPairs.POST, _ScrambledPairs.PRE] = w
    np.testing.assert_array_equal(proj.dense_weights(), dense)
    dense_d = np.zeros((4, 3))
    dense_d[_ScrambledPairs.POST, _ScrambledPairs.PRE] = d
    np.testing.assert_array_equal(proj.dense_weights(proj.delay), dense_d)


def test_distributions_are_sampled_per_synapse():
    net, (a, b) = _net_with(models.PoissonGroup(100), models.LIF(100), seed=8)
    proj = net.connect(a, b, weight=models.uniform(2.0, 4.0))
    # 10^4 uniform samples: mean 3 +- 0.0058, all in [2, 4)
    assert abs(proj.w.mean() - 3.0) < 5 * (2.0 / math.sqrt(12)) / 100
    assert proj.w.min() >= 2.0 and proj.w.max() < 4.0
    clipped = net.connect(a, b, weight=models.normal(1.0, 2.0, low=0.0, high=2.0))
    assert clipped.w.min() == 0.0 and clipped.w.max() == 2.0


# --- per-synapse delays -------------------------------------------------------------------

@pytest.mark.parametrize("t_spike", [1.0, 4.97])
def test_heterogeneous_delays_arrive_at_their_times(t_spike):
    delays = np.array([1.0, 2.0, 3.0])
    weights = np.array([100.0, 200.0, 300.0])
    tau_e = 5.0
    net = models.Network(dt=DT, chunk=1.3)  # chunk edges inside the delay window
    gen = net.add(models.SpikeGeneratorGroup(3, tuple(np.array([t_spike]) for _ in range(3))))
    cells = net.add(models.LIF(3, tau_e=tau_e, v_th=0.0))
    net.connect(gen, cells, weight=weights, delay=delays, connectivity=models.one_to_one())
    rec = net.record_state(cells, "I_e")
    net.run(20.0)
    t = np.arange(200) * DT
    k0 = math.floor(t_spike / DT + 1e-3)
    for n in range(3):
        # emitted in step k0, delivered at the end of step k0 + D: on from (k0 + D + 1) * dt
        t_on = (k0 + round(delays[n] / DT) + 1) * DT
        want = np.where(t >= t_on - 1e-9, weights[n] * np.exp(-(t - t_on) / tau_e), 0.0)
        np.testing.assert_allclose(rec.values[:, n], want, rtol=0, atol=1e-10)
        first = np.flatnonzero(rec.values[:, n])[0]
        assert first == k0 + round(delays[n] / DT) + 1


def test_heterogeneous_delays_including_zero_and_repeated_spikes():
    # delays 0, 0.5 and 2 ms; the source spikes every 1 ms, so deliveries overlap in the ring
    delays = np.array([0.0, 0.5, 2.0])
    times = np.arange(0.0, 10.0, 1.0)
    net = models.Network(dt=DT)
    gen = net.add(models.SpikeGeneratorGroup(3, tuple(times for _ in range(3))))
    cells = net.add(models.LIF(3, tau_e=4.0, v_th=0.0))
    net.connect(gen, cells, weight=50.0, delay=delays, connectivity=models.one_to_one())
    rec = net.record_state(cells, "I_e")
    net.run(20.0)
    t = np.arange(200) * DT
    for n in range(3):
        want = np.zeros_like(t)
        for ts in times:
            t_on = ts + delays[n] + DT
            want += np.where(t >= t_on - 1e-9, 50.0 * np.exp(-(t - t_on) / 4.0), 0.0)
        np.testing.assert_allclose(rec.values[:, n], want, rtol=0, atol=1e-9)


def test_small_positive_delay_is_at_least_one_step():
    net = models.Network(dt=DT)
    gen = net.add(models.SpikeGeneratorGroup(2, (np.array([1.0]), np.array([1.0]))))
    cells = net.add(models.LIF(2, v_th=0.0))
    net.connect(gen, cells, weight=100.0, delay=np.array([0.0, 0.01]), connectivity=models.one_to_one())
    rec = net.record_state(cells, "I_e")
    net.run(3.0)
    assert np.flatnonzero(rec.values[:, 0])[0] == 11  # zero delay: on from step 11
    assert np.flatnonzero(rec.values[:, 1])[0] == 12  # 0.01 ms -> one step


# --- validation ---------------------------------------------------------------------------

def _two_groups():
    net = models.Network(dt=DT)
    a = net.add(models.PoissonGroup(10, rate=5.0))
    b = net.add(models.LIF(10))
    return net, a, b


def test_negative_delay():
    net, a, b = _two_groups()
    with pytest.raises(ParameterError, match=r"^delay"):
        net.connect(a, b, weight=1.0, delay=-1.0)
    with pytest.raises(ParameterError, match=r"^delay"):
        net.connect(a, b, weight=1.0, delay=np.r_[np.ones(99), -0.5])


@pytest.mark.parametrize("p", [-0.1, 1.5, float("nan")])
def test_probability_out_of_range(p):
    with pytest.raises(ParameterError, match=r"^p "):
        models.fixed_probability(p)


def test_indegree_too_large():
    net, a, b = _two_groups()
    with pytest.raises(ParameterError, match=r"^k "):
        net.connect(a, b, weight=1.0, connectivity=models.fixed_indegree(11))
    with pytest.raises(ParameterError, match=r"^k "):  # onto itself: at most n - 1 sources
        net.connect(b, b, weight=1.0, connectivity=models.fixed_indegree(10))
    with pytest.raises(ParameterError, match=r"^k "):
        models.fixed_indegree(-1)


def test_weight_array_of_wrong_length():
    net, a, b = _two_groups()
    with pytest.raises(ParameterError, match=r"^weight"):
        net.connect(a, b, weight=np.ones(99))
    with pytest.raises(ParameterError, match=r"^weight"):
        net.connect(a, b, weight=np.ones(10), connectivity=models.all_to_all())
    with pytest.raises(ParameterError, match=r"^weight"):
        net.connect(a, b, weight=np.full(100, np.nan))


def test_weights_outside_rule_bounds():
    net, a, b = _two_groups()
    rule = PairSTDP(w_min=0.0, w_max=1.0)
    with pytest.raises(ParameterError, match=r"^weight"):
        net.connect(a, b, weight=1.5, rule=rule)
    with pytest.raises(ParameterError, match=r"^weight"):
        net.connect(a, b, weight=models.uniform(-0.5, 0.5), rule=rule)


def test_non_uniform_delays_on_plastic_projection():
    net, a, b = _two_groups()
    with pytest.raises(ParameterError, match=r"^delay"):
        net.connect(a, b, weight=0.5, rule=PairSTDP(), delay=np.linspace(1.0, 2.0, 100))


@pytest.mark.parametrize("tau_m", [0.0, -5.0, float("nan"), float("inf")])
def test_lif_bad_tau_m(tau_m):
    with pytest.raises(ParameterError, match=r"^tau_m"):
        models.LIF(1, tau_m=tau_m)


@pytest.mark.parametrize("v_reset", [-50.0, -40.0])
def test_lif_reset_not_below_threshold(v_reset):
    with pytest.raises(ParameterError, match=r"^v_reset"):
        models.LIF(1, v_th=-50.0, v_reset=v_reset)


@pytest.mark.parametrize("kw, name", [(dict(t_ref=-1.0), "t_ref"), (dict(c_m=0.0), "c_m"),
                                      (dict(tau_e=-1.0), "tau_e"), (dict(n=0), "n"),
                                      (dict(synapses="alpha"), "synapses"),
                                      (dict(e_leak=float("nan")), "e_leak")])
def test_lif_other_parameters(kw, name):
    kw = {"n": 1, **kw}
    with pytest.raises(ParameterError, match=rf"^{name}"):
        models.LIF(**kw)


@pytest.mark.parametrize("dt", [0.0, -0.1, float("nan")])
def test_network_bad_dt(dt):
    with pytest.raises(ParameterError, match=r"^dt"):
        models.Network(dt=dt)


def test_network_dt_too_large_warns():
    net = models.Network(dt=3.0)
    with pytest.warns(UserWarning, match="dt"):
        net.add(models.LIF(1, tau_e=5.0))


@pytest.mark.parametrize("rate", [-1.0, np.array([1.0, -2.0, 3.0]), float("inf"), np.ones(4)])
def test_poisson_bad_rate(rate):
    with pytest.raises(ParameterError, match=r"^rate"):
        models.PoissonGroup(3, rate=rate)


def test_generator_bad_times():
    with pytest.raises(ParameterError, match=r"^times\[1\]"):
        models.SpikeGeneratorGroup(2, (np.array([1.0, 2.0]), np.array([3.0, 2.0])))
    with pytest.raises(ParameterError, match=r"^times\[0\]"):
        models.SpikeGeneratorGroup(1, (np.array([-1.0]),))
    with pytest.raises(ParameterError, match=r"^times"):
        models.SpikeGeneratorGroup(2, (np.array([1.0]),))
    # two spikes in one time step are rejected when the network is built
    net = models.Network(dt=DT)
    net.add(models.SpikeGeneratorGroup(1, (np.array([1.0, 1.04]),)))
    with pytest.raises(ParameterError, match=r"^times\[0\]"):
        net.run(2.0)


def test_connect_requires_added_groups():
    net = models.Network(dt=DT)
    a = net.add(models.PoissonGroup(2))
    stranger = models.LIF(2)
    with pytest.raises(ParameterError, match=r"^target"):
        net.connect(a, stranger, weight=1.0)
    with pytest.raises(ParameterError, match=r"^source"):
        net.connect(models.PoissonGroup(2), net.add(models.LIF(2)), weight=1.0)
    with pytest.raises(ParameterError, match=r"^target"):  # sources cannot be targets
        net.connect(a, a, weight=1.0)


def test_structure_frozen_after_run():
    net, a, b = _two_groups()
    net.run(1.0)
    with pytest.raises(ParameterError, match="already run"):
        net.connect(a, b, weight=1.0)


def test_other_connect_arguments():
    net, a, b = _two_groups()
    with pytest.raises(ParameterError, match=r"^receptor"):
        net.connect(a, b, weight=1.0, receptor="gaba")
    with pytest.raises(ParameterError, match=r"^delay_type"):
        net.connect(a, b, weight=1.0, delay_type="somatic")
    with pytest.raises(ParameterError, match=r"^duration"):
        net.run(-1.0)
    with pytest.raises(ParameterError, match=r"^every"):
        net.record_weights(net.connect(a, b, weight=1.0), every=0.0)
    assert isinstance(plasticity.ParameterError("x"), ValueError)


def test_adding_a_group_twice_and_a_non_rule_are_clear_errors():
    import models
    from plasticity import ParameterError

    net = models.Network(dt=0.1)
    cell = net.add(models.LIF(2))
    with pytest.raises(ParameterError, match="already part of this network"):
        net.add(cell)
    src = net.add(models.PoissonGroup(3, rate=5.0))
    with pytest.raises(ParameterError, match="rule must be a rule with a family"):
        net.connect(src, cell, weight=1.0, rule="stdp")
