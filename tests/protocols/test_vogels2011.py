"""Vogels et al. 2011, shortened (40 s, 400 + 100 inputs): rate -> rho0 = 3 Hz, E/I balance."""
import numpy as np
import pytest

from plasticity import ParameterError
from protocols import registry, vogels2011


@pytest.fixture(scope="module")
def result():
    return vogels2011.run(vogels2011.Config.small())


def test_rate_converges_to_rho0(result):
    rates = result.rate_hz
    assert rates[0] > 3 * result.config.rho0_hz          # weak initial inhibition: fires fast
    assert result.rate_error_hz < 1.5                     # last 10 s within 1.5 Hz of 3 Hz
    assert abs(rates[-10:].mean() - 3.0) < 1.5


def test_inhibition_grows_and_balances_excitation(result):
    assert result.w_inh[-1].mean() > 5 * result.w_inh[0].mean()
    r0, c0 = result.balance("start")
    r1, c1 = result.balance("tail")
    assert r1 > r0 + 0.3                                  # inhibitory current catches up
    assert c1 > 0.5 and c1 > c0                           # and tracks the excitatory current
    assert result.w_inh.min() >= 0.0


def test_inhibitory_weights_follow_excitatory_tuning(result):
    assert result.cotuning > 0.5


def test_summary_plot_and_distance(result):
    text = vogels2011.summary(result)
    assert "|rate - rho0|" in text and "verified" in text
    figs = vogels2011.plot(result)
    assert set(figs) == {"vogels2011"}
    assert result.provenance["reference"]["rho0_hz"] == 3.0
    assert registry.get("vogels2011") is vogels2011
    rows = vogels2011.compare(result)
    assert len(rows) == 3 and all(r["passed"] for r in rows)


def test_same_seed_same_result():
    c = vogels2011.Config(n_exc=80, n_inh=20, duration_ms=2000.0, g_e=0.14)
    a, b = vogels2011.run(c), vogels2011.run(c)
    np.testing.assert_array_equal(a.out_t, b.out_t)
    np.testing.assert_array_equal(a.w_inh, b.w_inh)


@pytest.mark.parametrize("kwargs,name", [
    (dict(n_groups=0), "n_groups"), (dict(preferred_group=8), "preferred_group"),
    (dict(w_inh0=2.0), "w_inh0"), (dict(eta=-1.0), "eta"), (dict(tail_fraction=0.0), "tail_fraction"),
    (dict(dt=0.0), "dt"), (dict(duration_ms=500.0), "duration_ms"),
])
def test_bad_config_names_the_parameter(kwargs, name):
    with pytest.raises(ParameterError, match=name):
        vogels2011.Config(**kwargs)
