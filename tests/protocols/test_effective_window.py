"""effective_window: the STDP-like window that BPTT, e-prop, OTTT and RTRL give one synapse.

Deterministic (no random draws: weights are set explicitly); the small config runs in ~2 s."""
import math

import numpy as np
import pytest

from models.rsnn import RSNN
from plasticity import ParameterError, bptt, eprop, ottt, rtrl
from protocols import effective_window as ew
from protocols import registry


@pytest.fixture(scope="module")
def small():
    return ew.run(ew.Config.small())


def idx(result, name):
    return result.rule_names().index(name)


def test_registered():
    assert registry.get("effective_window") is ew


def test_bptt_equals_rtrl_for_every_dt(small):
    b, r = small.update[idx(small, "bptt")], small.update[idx(small, "rtrl")]
    assert small.dt_ms.size == 41 and np.all(np.abs(b) > 1.0)          # non-trivial values
    np.testing.assert_allclose(b, r, rtol=0, atol=1e-10)
    assert abs(small.pre_only[idx(small, "bptt")] - small.pre_only[idx(small, "rtrl")]) < 1e-10
    assert small.bptt_minus_rtrl < 1e-10


def test_post_spike_lands_at_the_intended_step(small):
    steps = np.rint(small.dt_ms).astype(int)                           # dt = 1 ms
    np.testing.assert_array_equal(small.post_step, small.t_pre_step + steps)
    np.testing.assert_array_equal(small.n_post_spikes, np.ones(steps.size, dtype=int))
    assert small.n_spikes_pre_only == 0
    assert small.t_pre_step == 105


def single_run(config, d, rule):
    """One pairing on its own n_in = 2 network (no batching trick): -dL/dw_syn and the spikes."""
    steps = int(round(d / config.dt))
    T = config.t_pre_step + 100 + int(config.tail_ms) + 1
    net = RSNN(2, 1, 1, tau_m=config.tau_m, tau_out=config.tau_out, surrogate=config.surrogate, seed=3)
    net.set_weights({"w_in": np.array([[config.w_syn, config.w_drive]]), "w_rec": np.zeros((1, 1)),
                     "w_out": np.ones((1, 1)), "b_out": np.zeros(1)})
    x = np.zeros((1, T, 2))
    x[0, config.t_pre_step, 0] = 1.0
    x[0, config.t_pre_step + steps, 1] = 1.0
    s = net.forward(x)
    target = s.y + 1.0
    fn = {"bptt": bptt.gradients, "rtrl": rtrl.gradients, "eprop": eprop.gradients, "ottt": ottt.gradients}[rule]
    return -fn(net, x, target)["w_in"][0, 0], np.nonzero(s.z[0, :, 0])[0]


@pytest.mark.parametrize("d", [-20.0, 0.0, 15.0])
def test_batched_experiment_equals_separate_single_synapse_runs(small, d):
    k = int(np.nonzero(small.dt_ms == d)[0][0])
    for rule in small.rule_names():
        value, spikes = single_run(small.config, d, rule)
        assert value == pytest.approx(small.update[idx(small, rule), k], rel=1e-10, abs=1e-12)
        np.testing.assert_array_equal(spikes, [small.t_pre_step + int(d)])


def test_sign_structure_rewarding_loss(small):
    d = small.dt_ms
    for name in ("bptt", "eprop", "ottt"):
        w = small.window[idx(small, name)]
        assert np.all(w[d > 0] > 0)                    # causal side: potentiation
        assert np.all(w[d < 0] > 0)                    # anti-causal side: also potentiation (r > 0 here)
        assert w[d == 0][0] == np.max(w)               # peak at Δt = 0 (input at step t enters v_t)
        assert small.pre_only[idx(small, name)] > 0    # an unpaired pre spike alone potentiates
    b = small.window[idx(small, "bptt")]
    assert b[d == 5][0] / b[d == -5][0] == pytest.approx(2.394, abs=0.01)   # causal > anti-causal at |Δt| = 5
    assert small.after_potential == pytest.approx(math.exp(-1 / 20) * 1.1 - 1, abs=1e-12) and small.after_potential > 0


def test_punishing_loss_flips_every_sign(small):
    p = ew.run(ew.Config(dt_step=5.0, loss="punish", sweep=False))
    np.testing.assert_allclose(p.update, -small.update, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(p.pre_only, -small.pre_only, rtol=1e-12, atol=1e-12)
    assert np.all(p.window[idx(p, "bptt")][p.dt_ms > 0] < 0)


def test_eprop_is_bptt_without_the_reset_path_and_ottt_is_eprop_scaled(small):
    assert small.eprop_minus_bptt_detached < 1e-10
    e, b = small.update[idx(small, "eprop")], small.update[idx(small, "bptt")]
    np.testing.assert_allclose(b - e, small.reset_path, rtol=0, atol=1e-10)
    assert np.max(np.abs(small.reset_path)) > 1.0                      # the reset path matters here
    # OTTT uses e_t instead of the leaky-readout-filtered g_t: the same window times (1 - kappa)
    kappa = math.exp(-1 / small.config.tau_out)
    np.testing.assert_allclose(small.window[idx(small, "ottt")], (1 - kappa) * small.window[idx(small, "eprop")],
                               rtol=1e-6, atol=1e-12)


def test_causal_decay_follows_tau_m(small):
    """Derivation: the update is sum_{s>=t_pre} alpha^(s-t_pre) psi_s dz_s, and the post spike adds its
    psi at s = t_post, so the causal side is alpha^Δt = exp(-Δt/tau_m) times psi_post dz_post. That is
    exact when psi_post and dz_post do not depend on Δt: the rectangular surrogate (psi = 1 on
    |u| < 0.5, zero below v = 0.5 so no sub-threshold terms and no reset-path terms). Triangular and
    arctan make psi_post depend on the pre EPSP, and BPTT adds the reset path; measured there:
    e-prop/OTTT within 6 %, BPTT(triangular) within 12 %, BPTT(arctan) much faster (< tau_m / 2)."""
    taus = small.sweep_tau_m
    surs = small.sweep_surrogates.split(",")
    rules = small.sweep_rules.split(",")
    fit = small.sweep_fit
    rect = surs.index("rectangular")
    np.testing.assert_allclose(fit[rect, :, :, 1], np.broadcast_to(taus[:, None], (taus.size, len(rules))), rtol=1e-4)
    for sur in ("triangular", "arctan"):
        i = surs.index(sur)
        for r in (rules.index("eprop"), rules.index("ottt")):
            np.testing.assert_allclose(fit[i, :, r, 1], taus, rtol=0.06)
    tri, arc, b = surs.index("triangular"), surs.index("arctan"), rules.index("bptt")
    np.testing.assert_allclose(fit[tri, :, b, 1], taus, rtol=0.12)
    assert np.all(fit[arc, :, b, 1] < 0.5 * taus)
    assert small.fit[idx(small, "bptt"), 1] == pytest.approx(20.0, rel=0.05)   # main run, tau_m 20
    assert small.fit[idx(small, "eprop"), 1] == pytest.approx(20.0, rel=0.05)


def test_anticausal_side_has_the_sign_of_the_after_spike_potential(small):
    """For Δt < 0 the post spike reaches the update only through v after the reset, r*alpha^k with
    r = alpha*v_post - v_th; a surrogate increasing in v below threshold turns it into an update of the
    sign of r decaying with tau_m; the rectangular one is flat there (zero)."""
    d = small.dt_ms
    surs = small.sweep_surrogates.split(",")
    r_sign = np.sign(small.sweep_after_potential)
    assert list(r_sign) == [-1.0, 1.0]                                 # tau_m 10: r < 0, tau_m 40: r > 0
    for i, sur in enumerate(surs):
        for j in range(small.sweep_tau_m.size):
            for r in range(3):
                s = ew.side_sign(small.sweep_window[i, j, r], d, "anti")
                assert s == (0 if sur == "rectangular" else int(r_sign[j])), (sur, j, r)
    eprop_r = small.sweep_rules.split(",").index("eprop")
    tri = surs.index("triangular")
    np.testing.assert_allclose(small.sweep_fit[tri, :, eprop_r, 3], small.sweep_tau_m, rtol=0.01)
    assert np.isnan(small.sweep_fit[surs.index("rectangular"), 0, eprop_r, 3])


def test_fit_recovers_known_windows():
    d = np.arange(-100.0, 101.0, 2.0)
    w = np.where(d > 0, 0.7 * np.exp(-d / 13.0), -0.4 * np.exp(d / 31.0))
    np.testing.assert_allclose(ew.fit_window(d, w), [0.7, 13.0, -0.4, 31.0], rtol=1e-6)
    f = ew.fit_window(d, np.where(d > 0, 2.0 * np.exp(-d / 8.0), 0.0))
    assert f[0] == pytest.approx(2.0, rel=1e-6) and f[1] == pytest.approx(8.0, rel=1e-6)
    assert f[2] == 0.0 and np.isnan(f[3])


@pytest.mark.parametrize("field, value", [("w_syn", 1.2), ("w_drive", 0.9), ("w_drive", 3.0), ("tau_m", -5.0),
                                          ("dt_step", 0.5), ("dt_min", 200.0), ("surrogate", "nope"),
                                          ("loss", "maybe"), ("rules", "bptt,foo"), ("sweep_tau_m", (10.0, -1.0)),
                                          ("sweep_surrogates", ("triangular", "box")), ("tail_ms", 0.0)])
def test_invalid_config_names_the_field(field, value):
    with pytest.raises(ParameterError, match=field):
        ew.Config(**{field: value})


def test_summary_plot_compare(small):
    text = ew.summary(small)
    assert "max|BPTT - RTRL|" in text and "STDP parts reproduced" in text and "post-before-pre depression NO" in text
    figs = ew.plot(small)
    assert set(figs) == {"effective_window", "sweep"}
    rows = ew.compare(small)
    checks = [r for r in rows if r["passed"] is not None]
    assert len(checks) == 2 and all(r["passed"] for r in checks)
    tau_rows = {r["rule"]: r["distance"] for r in rows if r["passed"] is None}
    assert tau_rows["bptt"] == pytest.approx(small.fit[idx(small, "bptt"), 1] - 16.8)


def test_hyperpolarizing_reset_gives_a_relative_depression_branch():
    """w_drive = 1.02 at tau_m 20: r = alpha*1.02 - 1 < 0, so the anti-causal side turns negative
    (less potentiation than the unpaired pre spike), yet the raw update stays positive."""
    res = ew.run(ew.Config(w_drive=1.02, dt_step=5.0, sweep=False, rules="bptt,eprop"))
    d = res.dt_ms
    assert res.after_potential == pytest.approx(math.exp(-1 / 20) * 1.02 - 1, abs=1e-12) and res.after_potential < 0
    for k in range(2):
        assert np.all(res.window[k][d < 0] < 0) and np.all(res.window[k][d > 0] > 0)
        assert np.all(res.update[k] > 0)
    assert res.fit[1, 3] == pytest.approx(20.0, rel=1e-3)                # e-prop's anti-causal side: exactly tau_m
    assert "no net decrease" in ew.summary(res)
