"""Optimizers, gradient clipping and the four tasks."""
import math

import numpy as np
import pytest

from models.rsnn import RSNN
from plasticity import optim
from plasticity.errors import ParameterError
from protocols import tasks


# -- optimizers ---------------------------------------------------------------------------------
def test_sgd_step_and_momentum():
    g = {"w": np.array([1.0, -2.0])}
    np.testing.assert_allclose(optim.SGD(lr=0.1).delta(g)["w"], [-0.1, 0.2])
    opt = optim.SGD(lr=0.1, momentum=0.5)
    opt.delta(g)
    np.testing.assert_allclose(opt.delta(g)["w"], [-0.15, 0.3])  # m = 0.5*g + g


def test_adam_matches_the_formulas():
    rng = np.random.default_rng(0)
    gs = [rng.standard_normal(3) for _ in range(4)]
    opt = optim.Adam(lr=0.01, beta1=0.8, beta2=0.95, eps=1e-6)
    first = opt.delta({"w": gs[0]})["w"]
    np.testing.assert_allclose(first, -0.01 * gs[0] / (np.abs(gs[0]) + 1e-6), rtol=1e-12)  # bias-corrected
    m, s = (1 - 0.8) * gs[0], (1 - 0.95) * gs[0] ** 2
    for k, g in enumerate(gs[1:], start=2):
        m, s = 0.8 * m + 0.2 * g, 0.95 * s + 0.05 * g * g
        want = -0.01 * (m / (1 - 0.8 ** k)) / (np.sqrt(s / (1 - 0.95 ** k)) + 1e-6)
        np.testing.assert_allclose(opt.delta({"w": g})["w"], want, rtol=1e-12)


def test_adam_minimizes_a_quadratic():
    opt, w = optim.Adam(lr=0.05), np.array([3.0, -2.0])
    for _ in range(500):
        w = w + opt.delta({"w": 2 * (w - [1.0, 0.5])})["w"]
    np.testing.assert_allclose(w, [1.0, 0.5], atol=1e-2)


def test_clipping():
    g = {"a": np.array([3.0]), "b": np.array([4.0])}
    clipped, norm = optim.clip_by_global_norm(g, 1.0)
    assert norm == pytest.approx(5.0)
    np.testing.assert_allclose([clipped["a"][0], clipped["b"][0]], [0.6, 0.8])
    same, _ = optim.clip_by_global_norm(g, 10.0)
    np.testing.assert_array_equal(same["a"], g["a"])
    np.testing.assert_array_equal(optim.clip_by_value(g, 3.5)["b"], [3.5])


def test_apply_keeps_w_rec_diagonal_zero():
    net = RSNN(3, 4, 1, seed=0)
    g = {k: np.ones_like(v) for k, v in net.weights().items()}
    before = net.weights()
    delta = optim.apply(net, optim.SGD(lr=0.5), g, max_norm=1.0)
    assert np.all(np.diag(net.w_rec) == 0)
    np.testing.assert_allclose(net.w_in - before["w_in"], delta["w_in"])
    # clipping to norm 1 scales every entry of the all-ones gradient to 1/sqrt(size)
    np.testing.assert_allclose(delta["w_in"], -0.5 / math.sqrt(sum(v.size for v in g.values())))


def test_optimizer_validation():
    with pytest.raises(ParameterError, match="lr"):
        optim.Adam(lr=-1.0)
    with pytest.raises(ParameterError, match="beta1"):
        optim.Adam(beta1=1.0)
    with pytest.raises(ParameterError, match="momentum"):
        optim.SGD(momentum=1.5)
    with pytest.raises(ParameterError, match="finite"):
        optim.SGD().delta({"w": np.array([np.nan])})
    with pytest.raises(ParameterError, match="optimizer"):
        optim.make("rmsprop", 0.1)


# -- tasks ------------------------------------------------------------------------------------------
def test_pattern_generation_is_frozen_and_a_sum_of_sines():
    task = tasks.PatternGeneration(seed=3)
    x, target = task.sample(2)
    x2, target2 = tasks.PatternGeneration(seed=3).sample(1)
    assert x.shape == (2, 1000, 100) and target.shape == (2, 1000, 1)
    np.testing.assert_array_equal(x[0], x2[0])
    np.testing.assert_array_equal(x[1], x[0])
    assert set(np.unique(x)) <= {0.0, 1.0}
    assert x.mean() * 1000 == pytest.approx(50.0, rel=0.05)        # rate_hz * dt
    spectrum = np.abs(np.fft.rfft(target[0, :, 0]))                 # 1 s: bin k is k Hz
    assert set(np.argsort(spectrum)[-4:]) == {1, 2, 3, 5}
    assert not np.array_equal(tasks.PatternGeneration(seed=4).sample(1)[1], target2)


def test_evidence_accumulation_labels_are_the_majority_side():
    task = tasks.EvidenceAccumulation(n_cues=3, delay_ms=200.0, cue_rate_hz=1000.0, background_hz=0.0)
    x, labels = task.sample(20, np.random.default_rng(1))
    assert x.shape == (20, task.steps, 40) and task.steps == 3 * 150 + 200 + 150
    g = task.n_per_group
    left = x[:, :450, :g].sum(axis=(1, 2)) / (100 * g)           # cues of 100 steps at rate 1/step
    right = x[:, :450, g:2 * g].sum(axis=(1, 2)) / (100 * g)
    np.testing.assert_array_equal(left + right, 3)
    np.testing.assert_array_equal(labels, (right > left).astype(int))
    assert 0 < labels.mean() < 1
    assert np.all(x[:, -150:, 2 * g:3 * g] == 1) and np.all(x[:, :-150, 2 * g:3 * g] == 0)
    np.testing.assert_array_equal(task.sample(20, np.random.default_rng(1))[0], x)


def test_store_recall():
    task = tasks.StoreRecall(cue_rate_hz=1000.0, distractor_hz=0.0, noise_hz=0.0, delay_ms=300.0)
    x, bits = task.sample(10, np.random.default_rng(2))
    g = task.n_per_group
    shown = x[:, :, :2 * g].reshape(10, task.steps, 2, g).sum(axis=(1, 3))
    np.testing.assert_array_equal(np.argmax(shown, axis=1), bits)
    assert task.window == 100 and task.steps == 100 + 200 + 300


def test_spike_pattern_classification_jitter():
    task = tasks.SpikePatternClassification(jitter_ms=0.0, p_delete=0.0, n_classes=3)
    x, labels = task.sample(6, np.random.default_rng(0))
    for b in range(6):                                   # no jitter: exactly the template
        i, t = task.templates()[labels[b]]
        assert x[b].sum() == i.size and np.all(x[b, t.astype(int), i] == 1)
    jit = tasks.SpikePatternClassification(jitter_ms=3.0, p_delete=0.0, n_classes=3)
    xj, lj = jit.sample(6, np.random.default_rng(0))
    np.testing.assert_array_equal(lj, labels)
    assert not np.array_equal(xj, x) and abs(xj.sum() - x.sum()) < 0.05 * x.sum()


def test_task_validation():
    with pytest.raises(ParameterError, match="n_cues"):
        tasks.EvidenceAccumulation(n_cues=4)
    with pytest.raises(ParameterError, match="rate_hz"):
        tasks.PatternGeneration(rate_hz=-1.0)
    with pytest.raises(ParameterError, match="task"):
        tasks.make_task("xor")
    with pytest.raises(ParameterError, match="batch"):
        tasks.PatternGeneration().sample(0)
