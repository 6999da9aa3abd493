"""The iSTDP, dopamine and Clopath kernels checked again as plain Python: run this module with
NUMBA_DISABLE_JIT=1 too (as the Makefile does for tests/test_nojit.py). Kept small."""
import numpy as np
import pytest

from plasticity import InhibitorySTDP, replay
from plasticity.modulated import DopamineSTDP, replay_modulated, replay_modulated_reference
from plasticity.stdp import replay_reference
from plasticity.voltage import AdExClopath, ClopathSTDP, adex_run, adex_run_reference, clopath_run, clopath_run_reference

pytestmark = pytest.mark.nojit


def test_istdp(rng):
    pre = [np.unique(rng.uniform(0, 300, 10)) for _ in range(2)]
    post = [np.unique(rng.uniform(0, 300, 8)) for _ in range(2)]
    rule = InhibitorySTDP(eta=0.01)
    w0 = rng.uniform(0.1, 0.3, (2, 2))
    np.testing.assert_allclose(replay(rule, pre, post, w0), replay_reference(rule.kernel_params(), pre, post, w0),
                               rtol=1e-12, atol=1e-15)


def test_dopamine(rng):
    pre = [np.unique(rng.uniform(0, 2000, 10)) for _ in range(2)]
    post = [np.unique(rng.uniform(0, 2000, 8)) for _ in range(2)]
    r_t = np.sort(rng.uniform(0, 2000, 4))
    rule = DopamineSTDP(eta=1e-3)
    w0 = np.full((2, 2), 0.5)
    got = replay_modulated(rule, pre, post, r_t, np.ones(4), w0, duration=2500.0)
    want = replay_modulated_reference(rule.params(), pre, post, r_t, np.ones(4), w0, 2500.0)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


def test_clopath(rng):
    n = 800
    jumps = np.zeros(n)
    jumps[rng.choice(n, 10, replace=False)] = 2.0
    forced = np.zeros(n, np.int64)
    forced[[200, 500]] = 1
    u, sp = np.zeros(n), np.zeros(n, np.int64)
    neuron = AdExClopath()
    adex_run(neuron.params(), 0.1, jumps, forced, 0.0, u, sp)
    np.testing.assert_allclose(u, adex_run_reference(neuron, 0.1, jumps, forced)[0], rtol=1e-12, atol=1e-12)
    pre = (jumps > 0).astype(np.int64)[None, :]
    rule = ClopathSTDP()
    w = np.zeros((1, n))
    clopath_run(rule.params(), 0.1, u, pre, -70.6, np.array([0.5]), w)
    np.testing.assert_allclose(w, clopath_run_reference(rule, 0.1, u, pre, -70.6, np.array([0.5])), rtol=1e-12)
