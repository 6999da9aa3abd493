"""Weight histogram and bimodality on constructed weight arrays."""
import numpy as np
import pytest

from analysis import bimodality, weight_histogram
from plasticity.errors import ParameterError


def sarle_by_hand(w):
    """Sarle's b from the textbook moment formulas (independent of scipy)."""
    n = w.size
    d = w - w.mean()
    m2, m3, m4 = (d ** 2).mean(), (d ** 3).mean(), (d ** 4).mean()
    g1 = m3 / m2 ** 1.5 * np.sqrt(n * (n - 1)) / (n - 2)
    g2 = (n - 1) / ((n - 2) * (n - 3)) * ((n + 1) * (m4 / m2 ** 2 - 3) + 6)
    return (g1 ** 2 + 1) / (g2 + 3 * (n - 1) ** 2 / ((n - 2) * (n - 3)))


def test_fractions_on_constructed_array():
    w_max = 2.0
    # below 0.2: 3 of 10; above 1.8: 4 of 10; the bounds themselves count as neither
    w = np.array([0.0, 0.05, 0.19, 0.2, 1.0, 1.8, 1.81, 1.9, 2.0, 2.0])
    result = bimodality(w, w_max)
    assert result.frac_low == 0.3
    assert result.frac_high == 0.4


def test_coefficient_matches_hand_formula():
    w = np.array([0.0, 0.1, 0.1, 0.3, 0.9, 0.95, 1.0, 1.0, 0.5])
    assert bimodality(w, 1.0).coefficient == pytest.approx(sarle_by_hand(w), rel=1e-12)


def test_four_point_example_by_hand():
    # [0, 0, 1, 1]: g = 0, G2 = -6, 3 (n-1)^2 / ((n-2)(n-3)) = 13.5  ->  b = 1 / 7.5
    assert bimodality([0.0, 0.0, 1.0, 1.0], 1.0).coefficient == pytest.approx(1 / 7.5, rel=1e-12)


def test_split_weights_are_bimodal_and_normal_weights_are_not():
    rng = np.random.default_rng(0)
    split = np.concatenate([rng.uniform(0.0, 0.05, 500), rng.uniform(0.95, 1.0, 500)])
    normal = np.clip(rng.normal(0.5, 0.1, 1000), 0.0, 1.0)
    b_split = bimodality(split, 1.0)
    assert (b_split.frac_low, b_split.frac_high) == (0.5, 0.5)
    assert b_split.coefficient > 0.9
    b_normal = bimodality(normal, 1.0)
    assert b_normal.frac_low == 0.0 and b_normal.frac_high == 0.0
    assert abs(b_normal.coefficient - 1 / 3) < 0.05


def test_constant_weights_give_nan_coefficient():
    assert np.isnan(bimodality(np.full(10, 0.5), 1.0).coefficient)


def test_histogram_counts_every_weight():
    w = np.array([[0.0, 0.25], [0.5, 1.0]])
    counts, edges = weight_histogram(w, bins=4, range=(0.0, 1.0))
    np.testing.assert_array_equal(counts, [1, 1, 1, 1])
    np.testing.assert_allclose(edges, [0.0, 0.25, 0.5, 0.75, 1.0])


@pytest.mark.parametrize("kwargs, name", [({"w_max": 0.0}, "w_max"),
                                          ({"w_max": 1.0, "low": 0.9, "high": 0.1}, "low")])
def test_bad_parameters_rejected(kwargs, name):
    with pytest.raises(ParameterError, match=name):
        bimodality([0.1, 0.2], **kwargs)
