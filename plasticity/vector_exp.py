"""exp(x) for x <= 0 written so that a loop of it compiles to vector instructions.

``math.exp`` is a call into the C library, which keeps a loop over neurons scalar; the
conductance-based LIF needs one exp per neuron and step (the exponential-Euler factor
exp(-dt/tau_m * g_tot)), which made it the whole cost of a conductance network.
Here: x = k ln2 + r with |r| <= ln2/2 (ln2 split in two parts, Cody & Waite 1980), exp(r)
by its Taylor polynomial of degree 13 in Horner form (truncation < 5e-18 relative), and 2^k
from a table (k in [-1021, 0]), so there is no branch and no call. Arguments below -700 give
exp(-700) ~ 1e-304 instead of a smaller number (a factor nothing can tell from 0); positive
arguments are outside its domain. Agrees with ``math.exp`` to within 2 units in the last
place (tests/reference/test_vector_exp.py).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

LOWEST = -700.0
_LN2_HI = 6.93147180369123816490e-01     # ln 2 to 32 bits: k * _LN2_HI is exact
_LN2_LO = 1.90821492927058770002e-10
_INV_LN2 = 1.0 / math.log(2.0)
_POW2 = np.array([2.0 ** -k for k in range(1022)])       # _POW2[j] = 2^-j
_C = tuple(1.0 / math.factorial(n) for n in range(14))
(_C0, _C1, _C2, _C3, _C4, _C5, _C6, _C7, _C8, _C9, _C10, _C11, _C12, _C13) = _C


@njit(cache=True)
def exp_nonpositive(x):
    """exp(x) for x <= 0 (x < -700 gives exp(-700)); see the module docstring."""
    x = max(x, LOWEST)
    k = math.floor(x * _INV_LN2 + 0.5)
    r = (x - k * _LN2_HI) - k * _LN2_LO
    p = ((((((((((((_C13 * r + _C12) * r + _C11) * r + _C10) * r + _C9) * r + _C8) * r + _C7) * r + _C6) * r
                + _C5) * r + _C4) * r + _C3) * r + _C2) * r + _C1) * r + _C0
    return p * _POW2[int(-k)]
