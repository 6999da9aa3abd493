"""plasticity.vector_exp.exp_nonpositive: within 2 units in the last place of math.exp on its
domain, compiled (fused multiply-adds) and as plain Python (the no-JIT path, rounding each step)."""
import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from plasticity.vector_exp import LOWEST, exp_nonpositive

# the plain-Python function (under NUMBA_DISABLE_JIT=1, exp_nonpositive is that function)
plain = getattr(exp_nonpositive, "py_func", exp_nonpositive)


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


def test_below_the_domain_it_is_zero():
    assert 0.0 < exp_nonpositive(LOWEST) < 1e-300
    assert exp_nonpositive(-800.0) == 0.0 == plain(-800.0)
    assert exp_nonpositive(-math.inf) == 0.0 == plain(-math.inf)


def test_plain_python_is_as_accurate_and_within_one_ulp_of_compiled():
    xs = -np.random.default_rng(7).uniform(0.0, 50.0, 2000)
    compiled = np.array([exp_nonpositive(x) for x in xs])
    python = np.array([plain(x) for x in xs])
    assert max(_ulps(p, math.exp(x)) for p, x in zip(python, xs)) <= 2.0
    assert max(_ulps(p, c) for p, c in zip(python, compiled)) <= 1.0
    assert np.mean(python != compiled) < 0.5        # most values agree exactly
