"""models.from_pairs: exactly the synapses given (Brian2's connect(i=, j=)), validated by name."""
import numpy as np
import pytest

import models
from plasticity.errors import ParameterError


def test_the_network_has_exactly_the_given_synapses_and_weights():
    rng = np.random.default_rng(3)
    pre, post = rng.integers(0, 7, 40), rng.integers(0, 5, 40)
    w = rng.uniform(0.0, 1.0, 40)
    net = models.Network(seed=1)
    a, b = net.add(models.LIF(7)), net.add(models.LIF(5))
    proj = net.connect(a, b, weight=w, connectivity=models.from_pairs(pre, post))
    expected = np.zeros((5, 7))
    np.add.at(expected, (post, pre), w)
    got = np.zeros((5, 7))
    np.add.at(got, (proj.post, proj.pre), proj.w)
    assert np.allclose(got, expected, rtol=0, atol=1e-15)
    assert proj.n_syn == 40


def test_the_pattern_keeps_its_own_copy():
    pre, post = np.array([0, 1]), np.array([1, 0])
    pattern = models.from_pairs(pre, post)
    pre[0] = 5
    assert pattern.pre.tolist() == [0, 1]


@pytest.mark.parametrize("pre, post, word", [([0, 1], [0], "same length"), ([0.5], [0], "integer"),
                                              ([[0]], [[0]], "1-D")])
def test_bad_pairs_are_named(pre, post, word):
    with pytest.raises(ParameterError, match=word):
        models.from_pairs(np.array(pre), np.array(post))


def test_indices_outside_the_groups_are_named():
    net = models.Network(seed=1)
    a, b = net.add(models.LIF(3)), net.add(models.LIF(2))
    with pytest.raises(ParameterError, match=r"post indices must be in \[0, 1\]"):
        net.connect(a, b, weight=1.0, connectivity=models.from_pairs(np.array([0]), np.array([2])))
