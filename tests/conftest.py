"""Shared fixtures of the test suite. Only seeded randomness is global here."""
import numpy as np
import pytest


@pytest.fixture
def rng():
    """A fresh, seeded NumPy generator per test (never rely on global seeding)."""
    return np.random.default_rng(12345)
