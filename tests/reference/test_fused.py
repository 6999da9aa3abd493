"""plasticity.fused.fma: a * b + c rounded once (IEEE 754 fusedMultiplyAdd), compiled and as
plain Python (the no-JIT path), checked against exact rational arithmetic."""
import math
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit

from plasticity.fused import _fma_python, fma


@njit(cache=False)
def _compiled(a, b, c):
    return fma(a, b, c)


def _exact(a, b, c):
    return float(Fraction(a) * Fraction(b) + Fraction(c))


_finite = st.floats(min_value=-1e100, max_value=1e100, allow_nan=False, allow_infinity=False)


@settings(max_examples=400, deadline=None)
@given(_finite, _finite, _finite)
def test_one_rounding_of_the_exact_result(a, b, c):
    want = _exact(a, b, c)
    assert _compiled(a, b, c) == want
    assert _fma_python(a, b, c) == want


def test_it_differs_from_a_multiply_then_add_where_the_product_needs_more_bits():
    a, b = 1.0 + 2.0 ** -30, 1.0 - 2.0 ** -30          # a b = 1 - 2**-60 exactly
    assert a * b - 1.0 == 0.0                         # the product rounded to 1 first
    assert _compiled(a, b, -1.0) == -(2.0 ** -60) == _fma_python(a, b, -1.0)


def test_non_finite_arguments_follow_the_plain_expression():
    assert math.isnan(_compiled(math.inf, 0.0, 1.0)) and math.isnan(_fma_python(math.inf, 0.0, 1.0))
    assert _compiled(math.inf, 2.0, 1.0) == math.inf == _fma_python(math.inf, 2.0, 1.0)
