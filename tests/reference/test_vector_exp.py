"""plasticity.vector_exp.exp_nonpositive: within 2 units in the last place of math.exp on its
domain, compiled and as plain Python (the no-JIT path computes the same numbers)."""
import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from plasticity.vector_exp import LOWEST, exp_nonpositive


def _ulps(got, want):
    return abs(got - want) / math.ulp(want)


@settings(max_examples=300, deadline=None)
@given(st.floats(min_value=LOWEST, max_value=0.0, allow_nan=False))
def test_within_two_ulp_of_the_library_exp(x):
    assert _ulps(exp_nonpositive(x), math.exp(x)) <= 2.0


def test_a_dense_grid_where_the_conductance_lif_uses_it():
    xs = -np.linspace(0.0, 2.0, 20001)                       # dt/tau_m * g_tot of usual networks
    worst = max(_ulps(exp_nonpositive(x), math.exp(x)) for x in xs)
    assert worst <= 2.0
    assert exp_nonpositive(0.0) == 1.0 and exp_nonpositive(-math.log(2.0)) == 0.5


def test_below_the_domain_it_stays_at_exp_of_the_lowest_argument():
    assert exp_nonpositive(-800.0) == exp_nonpositive(LOWEST)
    assert 0.0 < exp_nonpositive(-800.0) < 1e-300


def test_plain_python_and_compiled_agree_bitwise():
    xs = -np.random.default_rng(7).uniform(0.0, 50.0, 500)
    compiled = [exp_nonpositive(x) for x in xs]
    python = [exp_nonpositive.py_func(x) for x in xs]
    assert compiled == python
