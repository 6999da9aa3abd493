"""When iSTDP can drive the rate to ρ0, and when it cannot (docs/protocols/vogels2011.md).

The rule's mean drift is 2 η τ ρ_pre (ρ_post − ρ0) (plasticity.inhibitory.mean_drift): it
adds inhibition while the cell fires above ρ0 and removes it below. Removing stops at
w_min = 0, so when the excitation alone drives the cell below ρ0 the rate ends at that
excitation-only rate, not at ρ0. With the default drive (5 Hz inputs + a rectified OU signal
of 15 Hz, about 11 Hz mean) the excitation alone fires the cell at ~50 Hz; with the signal
switched off (5 Hz inputs) at ~2 Hz.
"""
import pytest

from plasticity.inhibitory import mean_drift
from protocols import vogels2011


def test_drift_sign_flips_at_rho0():
    rule = vogels2011.Config().rule()
    assert mean_drift(rule, 5.0, 3.0) == pytest.approx(0.0, abs=1e-15)
    assert mean_drift(rule, 5.0, 2.0) < 0 < mean_drift(rule, 5.0, 4.0)


def test_independent_inputs_with_enough_drive_reach_rho0():
    """signal_hz=0 rate_hz=11 (the default's mean input rate, no co-modulation): ρ0 within 0.5 Hz
    (seeds 0-2 measured 3.27, 3.33, 3.13 Hz over the last 15 s of 60 s)."""
    r = vogels2011.run(vogels2011.Config(signal_hz=0.0, rate_hz=11.0, seed=0))
    assert r.final_rate_hz == pytest.approx(3.0, abs=0.5)
    assert not r.inhibition_removed
    assert r.w_inh[-1].mean() > 2 * r.w_inh[0].mean()     # inhibition had to grow to get there


@pytest.mark.slow  # two 60 s runs
def test_weak_drive_removes_inhibition_and_stays_below_rho0():
    """signal_hz=0 alone (5 Hz inputs): the excitation alone gives ~2 Hz < ρ0 = 3 Hz, the rule takes
    the inhibition away and the rate ends at about the excitation-only rate."""
    excitation_only = vogels2011.run(vogels2011.Config(signal_hz=0.0, eta=1e-12, w_inh0=0.0, seed=0))
    learned = vogels2011.run(vogels2011.Config(signal_hz=0.0, seed=0))
    assert excitation_only.final_rate_hz < 3.0 - 0.5
    assert learned.inhibition_removed
    assert learned.w_inh[-1].mean() < 0.1 * learned.w_inh[0].mean()
    assert learned.final_rate_hz < excitation_only.final_rate_hz + 0.5
    assert "inhibition removed" in vogels2011.summary(learned)
