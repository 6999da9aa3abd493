"""Gradient alignment and learning-curve helpers on hand-computed gradient dicts."""
import numpy as np
import pytest

from analysis import alignment, alignment_history, gradient_alignment, moving_average
from plasticity.errors import ParameterError

G = {"w": np.array([1.0, 0.0]), "b": np.array([0.0, 1.0])}
REF = {"w": np.array([1.0, 0.0]), "b": np.array([0.0, -1.0])}


def test_per_key_and_overall_by_hand():
    out = gradient_alignment(G, REF)
    assert list(out) == ["w", "b", "overall"]
    assert out["w"].cosine == 1.0 and out["w"].relative_error == 0.0
    assert out["b"].cosine == -1.0 and out["b"].relative_error == 2.0   # |(0, 2)| / |(0, -1)|
    assert out["overall"].cosine == 0.0                                  # dot 1 - 1 over norms 2
    assert out["overall"].relative_error == pytest.approx(np.sqrt(2.0))  # |(0,0,0,2)| / sqrt 2
    # signs: w (+, 0) vs (+, 0): 2/2; b (0, +) vs (0, -): 1/2; overall 3/4
    assert (out["w"].sign_agreement, out["b"].sign_agreement, out["overall"].sign_agreement) == (1.0, 0.5, 0.75)
    assert out["overall"].size == 4


def test_scaled_gradient_is_aligned_but_twice_as_long():
    a = alignment(np.array([[2.0, -4.0], [6.0, 0.5]]), np.array([[1.0, -2.0], [3.0, 0.25]]))
    assert a.cosine == pytest.approx(1.0) and a.relative_error == pytest.approx(1.0)
    assert a.norm_ratio == pytest.approx(2.0) and a.sign_agreement == 1.0


def test_random_gradients_are_nearly_orthogonal(rng):
    a = alignment(rng.standard_normal(40_000), rng.standard_normal(40_000))
    assert abs(a.cosine) < 0.02 and a.sign_agreement == pytest.approx(0.5, abs=0.01)
    assert a.relative_error == pytest.approx(np.sqrt(2.0), rel=0.02)


def test_zero_reference_gives_nan():
    a = alignment([1.0, 2.0], [0.0, 0.0])
    assert np.isnan(a.cosine) and np.isnan(a.relative_error) and a.sign_agreement == 0.0


def test_history_over_training():
    hist = alignment_history([(G, REF), (REF, REF)])
    np.testing.assert_allclose(hist["overall"]["cosine"], [0.0, 1.0])
    np.testing.assert_allclose(hist["b"]["relative_error"], [2.0, 0.0])


def test_mismatched_shapes_and_keys_rejected():
    with pytest.raises(ParameterError, match="'w' has shape"):
        gradient_alignment({"w": np.zeros(3)}, {"w": np.zeros(2)})
    with pytest.raises(ParameterError, match="missing"):
        gradient_alignment(G, REF, keys=["w", "w_rec"])
    with pytest.raises(ParameterError, match="share no key"):
        gradient_alignment({"a": 1}, {"b": 1})


def test_moving_average_by_hand():
    np.testing.assert_allclose(moving_average([1.0, 2.0, 3.0, 4.0], 2), [1.0, 1.5, 2.5, 3.5])
    np.testing.assert_allclose(moving_average([3.0, 6.0, 9.0], 5), [3.0, 4.5, 6.0])
