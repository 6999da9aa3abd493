"""The pairing protocol against the pair rule's closed form and the Bi & Poo time constants."""
import numpy as np
import pytest

from plasticity import ParameterError
from protocols import stdp_window


def test_additive_window_equals_closed_form():
    # 60 isolated pairings (1 s apart, traces ~exp(-1000/16.8) ~ 1e-26): each adds
    # a_plus exp(-dt/tau_plus) or subtracts a_minus exp(dt/tau_minus); relative to w0 = 0.5.
    c = stdp_window.Config()
    r = stdp_window.run(c)
    expected = np.where(r.dt_ms >= 0, c.n_pairs * c.a_plus * np.exp(-r.dt_ms / c.tau_plus),
                        -c.n_pairs * c.a_minus * np.exp(r.dt_ms / c.tau_minus)) / c.w0
    np.testing.assert_allclose(r.dw, expected, rtol=1e-9, atol=1e-12)


def test_fit_recovers_bi_poo_time_constants():
    r = stdp_window.run(stdp_window.Config())
    a_plus, tau_plus, a_minus, tau_minus = r.fit
    assert tau_plus == pytest.approx(16.8, rel=1e-3)
    assert tau_minus == pytest.approx(33.7, rel=1e-3)
    assert a_plus == pytest.approx(60 * 0.005 / 0.5, rel=1e-3)


def test_clock_driven_window_within_grid_error():
    event = stdp_window.run(stdp_window.Config(dt_step=10.0))
    clock = stdp_window.run(stdp_window.Config(dt_step=10.0, sim_dt=0.1))
    # Δt are multiples of the grid, so only floating rounding of the times differs
    np.testing.assert_allclose(clock.dw, event.dw, atol=1e-9)


def test_triplet_minimal_hippocampal_window_has_pair_shape_at_1hz():
    # at 1 Hz the triplet traces have decayed between pairings: pure pair terms, a2+ and a2-
    c = stdp_window.Config(rule="triplet", triplet_set="hippocampal/all_to_all/minimal")
    r = stdp_window.run(c)
    pos = r.dt_ms == 10.0
    assert r.dw[pos][0] == pytest.approx(60 * 5.3e-3 * np.exp(-10 / 16.8) / 0.5, rel=1e-6)
    neg = r.dt_ms == -10.0
    assert r.dw[neg][0] == pytest.approx(-60 * 3.5e-3 * np.exp(-10 / 33.7) / 0.5, rel=1e-6)


def test_data_overlay_reports_rms(tmp_path):
    csv = tmp_path / "points.csv"
    csv.write_text("dt_ms,dw,sem\n10,0.3,0.05\n-10,-0.2,0.05\n")
    r = stdp_window.run(stdp_window.Config(data_csv=str(csv)))
    model = np.interp([10, -10], r.dt_ms, r.dw)
    assert stdp_window.rms_to_data(r) == pytest.approx(np.sqrt(np.mean((model - [0.3, -0.2]) ** 2)))
    assert "RMS distance" in stdp_window.summary(r)
    assert set(stdp_window.plot(r)) == {"stdp_window"}


@pytest.mark.parametrize("field, value", [("n_pairs", 0), ("frequency_hz", -1.0), ("dt_max", 600.0),
                                          ("tau_plus", -5.0), ("rule", "nope")])
def test_bad_config_names_parameter(field, value):
    with pytest.raises(ParameterError, match=field if field != "dt_max" else "dt"):
        stdp_window.Config(**{field: value})
