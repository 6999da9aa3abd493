"""Clopath 2010 voltage rule and its AdEx neuron: kernels == NumPy twins, hand cases, validation."""
import math

import numpy as np
import pytest

from plasticity import ParameterError
from plasticity.voltage import AdExClopath, ClopathSTDP, adex_run, adex_run_reference, clopath_run, clopath_run_reference

DT = 0.1


def drive(rng, n=6000):
    jumps = np.zeros(n)
    jumps[rng.choice(n, 60, replace=False)] = rng.uniform(0.5, 6.0, 60)
    forced = np.zeros(n, np.int64)
    forced[rng.choice(n, 8, replace=False)] = 1
    return jumps, forced


@pytest.mark.parametrize("neuron", [AdExClopath(), AdExClopath(b=0.0805, v_reset=-49.6)], ids=["default", "pairing"])
def test_adex_kernel_equals_twin(rng, neuron):
    jumps, forced = drive(rng)
    u, sp = np.zeros(jumps.size), np.zeros(jumps.size, np.int64)
    n = adex_run(neuron.params(), DT, jumps, forced, 450.0, u, sp)   # i_ext makes it fire by itself too
    u_ref, sp_ref = adex_run_reference(neuron, DT, jumps, forced, 450.0)
    np.testing.assert_array_equal(sp, sp_ref)
    np.testing.assert_allclose(u, u_ref, rtol=1e-12, atol=1e-12)
    assert n == sp.sum() > forced.sum()


def test_adex_spike_clamp_and_reset():
    neuron = AdExClopath()
    n = 400
    forced = np.zeros(n, np.int64)
    forced[100] = 1
    u, sp = np.zeros(n), np.zeros(n, np.int64)
    adex_run(neuron.params(), DT, np.zeros(n), forced, 0.0, u, sp)
    np.testing.assert_allclose(u[:100], neuron.e_l, atol=1e-3)  # near rest (the exp term shifts it slightly)
    assert np.all(u[100:120] == neuron.v_clamp)               # 2 ms clamp
    assert u[120] == pytest.approx(neuron.v_reset, abs=1e-12)


@pytest.mark.parametrize("rule", [ClopathSTDP(), ClopathSTDP(a_ltd=5e-3, a_ltp=5e-3, delay_u=0.0, w_max=0.6)],
                         ids=["published", "bounds-no-delay"])
def test_rule_kernel_equals_twin(rng, rule):
    jumps, forced = drive(rng)
    u, sp = np.zeros(jumps.size), np.zeros(jumps.size, np.int64)
    adex_run(AdExClopath().params(), DT, jumps, forced, 0.0, u, sp)
    pre = np.zeros((3, u.size), np.int64)
    for s in range(3):
        pre[s, rng.choice(u.size, 40, replace=False)] = 1
    w0 = np.array([0.5, 0.3, 0.55])
    w = np.zeros((3, u.size))
    clopath_run(rule.params(), DT, u, pre, -70.6, w0, w)
    want = clopath_run_reference(rule, DT, u, pre, -70.6, w0)
    np.testing.assert_allclose(w, want, rtol=1e-12, atol=1e-14)
    assert not np.allclose(w[:, -1], w0)
    if rule.w_max == 0.6:
        assert w.max() == 0.6 or w.min() == 0.0


def test_ltd_by_hand():
    """A lone presynaptic spike while ū- is held above θ-: w drops by A_LTD (ū- - θ-)."""
    rule = ClopathSTDP(delay_u=0.0)
    u = np.full(50, -60.6)               # constant: ū- = -60.6 when started there
    pre = np.zeros((1, 50), np.int64)
    pre[0, 10] = 1
    w = np.zeros((1, 50))
    clopath_run(rule.params(), DT, u, pre, -60.6, np.array([0.5]), w)
    # no LTP: u < θ+; LTD = 14e-5 * 10 mV
    assert w[0, -1] == pytest.approx(0.5 - 14e-5 * 10.0, rel=1e-12)


def test_ltp_by_hand():
    """Held u above θ+ and ū+ above θ-: dw/dt = A_LTP x̄ [u - θ+][ū+ - θ-], x̄ = e^{-t/τx}/τx."""
    rule = ClopathSTDP(delay_u=0.0)
    n = 100
    u = np.full(n, -40.3)                # u - θ+ = 5 mV, ū+ - θ- = 30.3 mV (started there)
    pre = np.zeros((1, n), np.int64)
    pre[0, 0] = 1
    w = np.zeros((1, n))
    clopath_run(rule.params(), DT, u, pre, -40.3, np.array([0.5]), w)
    ltd = 14e-5 * 30.3
    xs = np.exp(-DT * np.arange(n) / 15.0) / 15.0
    want = 0.5 - ltd + 8e-5 * 5.0 * 30.3 * DT * xs.sum()
    assert w[0, -1] == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize("cls,kwargs,name", [
    (ClopathSTDP, dict(tau_x=0.0), "tau_x"), (ClopathSTDP, dict(a_ltd=-1.0), "a_ltd"),
    (ClopathSTDP, dict(delay_u=-1.0), "delay_u"), (ClopathSTDP, dict(w_max=-1.0), "w_max"),
    (AdExClopath, dict(c_m=0.0), "c_m"), (AdExClopath, dict(tau_w=float("nan")), "tau_w"),
    (AdExClopath, dict(v_peak=-60.0), "v_peak"),
])
def test_bad_parameters_name_themselves(cls, kwargs, name):
    with pytest.raises(ParameterError, match=name):
        cls(**kwargs)
