"""Hostile values for the property suite: anything a user might pass for a parameter."""
import numpy as np
from hypothesis import strategies as st

FAST_EXAMPLES = 15     # per property in the fast suite
SLOW_EXAMPLES = 300    # the same properties under -m slow

numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(-1e3, 1e3),
    st.integers(-10 ** 20, 10 ** 20),
    st.integers(-3, 300),
    st.sampled_from([0, 1, -1, 0.5, 1e-300, 1e308, -0.0, 2 ** 63, np.float32(2.5), np.int64(7)]),
)
anything = st.one_of(
    numbers,
    st.booleans(),
    st.none(),
    st.text(max_size=6),
    st.sampled_from(["16.8", "1e-4", "nan", "all_to_all", "", "triangular"]),
    st.lists(st.floats(-10, 10), max_size=3).map(np.array),
    st.lists(st.floats(allow_nan=True), max_size=3).map(tuple),
)
