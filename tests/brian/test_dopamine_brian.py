"""Dopamine-modulated STDP as Brian2 equations (plasticity.brian_modulated) against the native
event-driven kernels (plasticity.modulated.replay_modulated): same spikes, same rewards, the
same final weights to rtol 1e-9 (exact closed-form integrals of c*d on both sides)."""
import numpy as np
import pytest

from plasticity import DopamineSTDP
from plasticity.brian import brian_target, dopamine_rewards, dopamine_to_brian, to_brian
from plasticity.errors import ParameterError
from plasticity.modulated import replay_modulated

b2 = pytest.importorskip("brian2")


def trains(seed, n, rate_hz, steps):
    rng = np.random.default_rng(seed)
    return [np.flatnonzero(rng.random(steps - 1) < rate_hz * 1e-3).astype(float) for _ in range(n)]


def brian_weights(rule, pre, post, reward_t, amount, w0, steps, device):
    with brian_target(device, 1.0) as b2_:
        def gen(tr, name):
            idx = np.concatenate([np.full(len(t), k) for k, t in enumerate(tr)]).astype(int)
            return b2_.SpikeGeneratorGroup(len(tr), idx, np.concatenate(tr) * b2_.ms, name=name)
        g_pre, g_post = gen(pre, "pre"), gen(post, "post")
        g_reward = gen([reward_t], "reward")
        S = b2_.Synapses(g_pre, g_post, name="da_stdp", **dopamine_to_brian(rule))
        i = np.repeat(np.arange(len(pre)), len(post))
        j = np.tile(np.arange(len(post)), len(pre))
        S.connect(i=i, j=j)
        S.w = w0[j, i]
        R = dopamine_rewards(rule, g_reward, S, amount=amount, flush_every=1.0)
        net = b2_.Network(g_pre, g_post, g_reward, S, R)
        net.run(steps * b2_.ms)
        out = np.zeros_like(w0)
        out[j, i] = np.asarray(S.w[:])
        return out


RULES = [DopamineSTDP(eta=0.02, w_max=2.0),                               # weights reach the bound
         DopamineSTDP(eta=0.0005, baseline=0.05, w_min=-10.0, w_max=10.0)]    # baseline, bounds not reached
# (with a baseline and a bound reached, clipping depends on when synapses are brought up to date:
#  plasticity.modulated's docstring; the equations flush every step here, replay at events)


def case(seed=0, steps=3000, rule=RULES[0]):
    pre, post = trains(seed, 4, 40.0, steps), trains(seed + 1, 3, 40.0, steps)
    reward_t = np.array([100.0, 350.0, 351.0, 1200.0, 2500.0])
    w0 = np.random.default_rng(seed).uniform(0.2, 1.8, (3, 4))
    ref = replay_modulated(rule, pre, post, reward_t, np.full(reward_t.size, 0.7), w0, duration=steps - 1.0)
    assert np.abs(ref - w0).max() > 1e-2      # the rule changed the weights
    return rule, pre, post, reward_t, w0, ref


@pytest.mark.parametrize("rule", RULES)
def test_numpy_equals_native_replay(rule):
    rule, pre, post, reward_t, w0, ref = case(rule=rule)
    got = brian_weights(rule, pre, post, reward_t, 0.7, w0, 3000, "numpy")
    np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-12)


@pytest.mark.slow
@pytest.mark.parametrize("device", ["cython", "cpp_standalone"])
def test_compiled_targets_equal_native_replay(device):
    rule, pre, post, reward_t, w0, ref = case(seed=3, rule=RULES[1])
    got = brian_weights(rule, pre, post, reward_t, 0.7, w0, 3000, device)
    np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-12)


def test_rewards_need_dopamine_synapses():
    g = b2.SpikeGeneratorGroup(1, [0], [1] * b2.ms)
    S = b2.Synapses(g, g, "w : 1")
    with pytest.raises(ParameterError, match="made with dopamine_to_brian"):
        dopamine_rewards(DopamineSTDP(), g, S)
    with pytest.raises(ParameterError, match="weight must be 'w'"):
        dopamine_to_brian(DopamineSTDP(), weight="g")
    with pytest.raises(ParameterError, match="use dopamine_to_brian"):
        to_brian(DopamineSTDP())
