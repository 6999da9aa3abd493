"""BPTT, RTRL and the forward pass of models.rsnn: kernels vs twins, BPTT vs finite
differences on the smoothed model, BPTT == RTRL, input validation."""
import math

import numpy as np
import pytest

from models.rsnn import RSNN
from plasticity import bptt, rtrl
from plasticity.errors import ParameterError
from plasticity.surrogate import KINDS, Surrogate, psi, psi_reference

KEYS = ("w_in", "w_rec", "w_out", "b_out")


def make(rng, n_alif=3, loss="mse", T=40, batch=2, in_scale=3.0, **kw):
    net = RSNN(5, 8, 2, n_alif=n_alif, seed=int(rng.integers(1 << 30)), **kw)
    net.w_in *= in_scale          # enough drive for every neuron to spike
    x = rng.random((batch, T, 5))
    target = rng.standard_normal((batch, T, 2)) if loss == "mse" else rng.integers(0, 2, batch)
    return net, x, target


def rel_max(a, b):
    """max |a - b| relative to max |b|."""
    return np.abs(a - b).max() / np.abs(b).max()


# -- surrogates -------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_psi_kernel_equals_twin(kind, rng):
    spec = Surrogate(kind=kind)
    u = np.concatenate([rng.uniform(-3, 3, 200), [0.0, 0.5, -0.5, 1.0, -1.0]])
    p = spec.kernel_params(1.3)
    got = np.array([psi(ui, p) for ui in u])
    np.testing.assert_allclose(got, psi_reference(u, spec, 1.3), rtol=1e-12, atol=1e-15)


def test_psi_values_from_the_formulas():
    assert psi(0.0, Surrogate().kernel_params(1.0)) == pytest.approx(0.3)            # gamma / v_th
    assert psi(0.5, Surrogate().kernel_params(2.0)) == pytest.approx(0.3 / 2 * 0.75)
    assert psi(1.0, Surrogate().kernel_params(1.0)) == 0.0
    assert psi(0.04, Surrogate("fast_sigmoid").kernel_params(1.0)) == pytest.approx(0.25)  # 1/(25*.04+1)^2
    assert psi(0.0, Surrogate("arctan").kernel_params(1.0)) == pytest.approx(1.0)          # alpha / 2
    assert psi(1 / math.pi, Surrogate("arctan").kernel_params(1.0)) == pytest.approx(0.5)  # (pi/2*2*u)=1
    assert psi(0.49, Surrogate("rectangular").kernel_params(1.0)) == 1.0
    assert psi(0.51, Surrogate("rectangular").kernel_params(1.0)) == 0.0
    assert psi(0.0, Surrogate("sigmoid", sharpness=4.0).kernel_params(1.0)) == pytest.approx(1.0)  # k/4


# -- forward ----------------------------------------------------------------------------------
@pytest.mark.parametrize("kw", [dict(), dict(smooth=5.0), dict(surrogate="arctan"),
                                dict(surrogate="fast_sigmoid", n_alif=8)], ids=["tri", "smooth", "arctan", "fs-alif"])
def test_forward_kernel_equals_twin(kw, rng):
    kw = {"n_alif": 3, **kw}
    net, x, _ = make(rng, **kw)
    got, want = net.forward(x), net.forward_reference(x)
    for name, a, b in zip(got._fields, got, want):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10, err_msg=name)  # 40 chained steps
    assert 0.05 < got.z.mean() < 0.6
    n_lif = 8 - kw["n_alif"]
    assert np.all(got.a[..., :n_lif] == 0) and np.any(got.a[..., n_lif:] > 0)


def test_forward_single_lif_analytic():
    """One LIF neuron, constant input 0.3: v_t = 0.3 (1 - alpha^(t+1)) / (1 - alpha) until the
    first spike at the first t with v_t > v_th = 1, then reset by v_th."""
    net = RSNN(1, 1, 1, seed=0, tau_out=0.0)
    net.w_in[:] = 1.0
    net.w_out[:] = 2.0
    x = np.full((1, 12, 1), 0.3)
    s = net.forward(x)
    alpha = math.exp(-1 / 20)
    v = 0.3 * (1 - alpha ** np.arange(1, 13)) / (1 - alpha)
    t_spike = int(np.argmax(v > 1.0))
    np.testing.assert_allclose(s.v[0, :t_spike + 1, 0], v[:t_spike + 1], rtol=1e-13)
    assert s.z[0, :t_spike + 2, 0].tolist() == [0.0] * t_spike + [1.0, 0.0]
    np.testing.assert_allclose(s.v[0, t_spike + 1, 0], alpha * v[t_spike] + 0.3 - 1.0, rtol=1e-13)
    np.testing.assert_allclose(s.y[0, :, 0], 2.0 * s.z[0, :, 0])            # kappa = 0
    assert s.psi[0, 0, 0] == pytest.approx(0.3 * max(0.0, 1 - abs(v[0] - 1.0)))


def test_initialization_bellec(rng):
    net = RSNN(400, 300, 3, seed=3)
    assert np.all(np.diag(net.w_rec) == 0) and np.all(net.b_out == 0)
    assert net.w_in.std() == pytest.approx(1 / 20, rel=0.02)
    assert net.w_rec[~np.eye(300, dtype=bool)].std() == pytest.approx(1 / math.sqrt(300), rel=0.02)
    assert np.array_equal(RSNN(400, 300, 3, seed=3).w_in, net.w_in)


# -- BPTT vs finite differences on the smoothed model -------------------------------------------
def finite_differences(net, x, target, loss, h=1e-6, **kw):
    fd = {}
    for name in KEYS:
        w = getattr(net, name)
        out = np.zeros_like(w)
        for idx in np.ndindex(w.shape):
            if name == "w_rec" and idx[0] == idx[1]:
                continue
            old = w[idx]
            w[idx] = old + h
            lp = bptt.loss_and_gradients(net, x, target, loss=loss, **kw)[0].loss_reg
            w[idx] = old - h
            lm = bptt.loss_and_gradients(net, x, target, loss=loss, **kw)[0].loss_reg
            w[idx] = old
            out[idx] = (lp - lm) / (2 * h)
        fd[name] = out
    return fd


@pytest.mark.parametrize("n_alif", [0, 4], ids=["LIF", "ALIF"])
@pytest.mark.parametrize("loss", ["mse", "ce"])
def test_bptt_matches_finite_differences_on_smoothed_model(n_alif, loss, rng):
    net, x, target = make(rng, n_alif=n_alif, loss=loss, T=30, smooth=4.0, in_scale=2.0)
    kw = dict(c_reg=1e-5) if loss == "mse" else {}
    got = bptt.gradients(net, x, target, loss=loss, **kw)
    fd = finite_differences(net, x, target, loss, **kw)
    for name in KEYS:
        err = np.linalg.norm(got[name] - fd[name]) / np.linalg.norm(fd[name])
        assert err < 1e-6, (name, err)
    assert np.abs(got["w_rec"]).max() > 1e-3  # the recurrent path matters


# -- BPTT == RTRL --------------------------------------------------------------------------------
@pytest.mark.parametrize("loss", ["mse", "ce"])
@pytest.mark.parametrize("detach_reset", [False, True])
@pytest.mark.parametrize("surrogate", ["triangular", "arctan", "rectangular"])
def test_bptt_equals_rtrl(loss, detach_reset, surrogate, rng):
    net, x, target = make(rng, loss=loss, surrogate=surrogate)
    kw = dict(loss=loss, detach_reset=detach_reset, c_reg=1e-4)
    a, b = bptt.gradients(net, x, target, **kw), rtrl.gradients(net, x, target, **kw)
    for name in KEYS:
        assert a[name].shape == getattr(net, name).shape
        assert rel_max(a[name], b[name]) < 1e-10, name
    assert np.all(np.diag(a["w_rec"]) == 0)


def test_bptt_equals_rtrl_with_recurrent_path_cut(rng):
    net, x, target = make(rng)
    kw = dict(detach_reset=True, recurrent=False)
    a, b = bptt.gradients(net, x, target, **kw), rtrl.gradients(net, x, target, **kw)
    for name in KEYS:
        assert rel_max(a[name], b[name]) < 1e-10, name


def test_detach_reset_changes_only_the_hidden_gradients(rng):
    net, x, target = make(rng)
    full, det = bptt.gradients(net, x, target), bptt.gradients(net, x, target, detach_reset=True)
    np.testing.assert_array_equal(full["w_out"], det["w_out"])
    assert rel_max(full["w_in"], det["w_in"]) > 1e-3


@pytest.mark.parametrize("loss", ["mse", "ce"])
def test_backward_kernel_equals_twin(loss, rng):
    net, x, target = make(rng, loss=loss)
    for detach in (False, True):
        kw = dict(loss=loss, detach_reset=detach, c_reg=1e-3, window=7 if loss == "ce" else None)
        (ba, ga), (bb, gb) = (bptt.loss_and_gradients(net, x, target, reference=r, **kw) for r in (False, True))
        np.testing.assert_allclose(ba.dv, bb.dv, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(ba.g, bb.g, rtol=1e-12, atol=1e-12)
        assert ba.loss == pytest.approx(bb.loss, rel=1e-12)
        for name in KEYS:   # weight_gradients_kernel (sparse loops) vs its twin (matrix products)
            np.testing.assert_allclose(ga[name], gb[name], rtol=1e-11, atol=1e-12 * np.abs(gb[name]).max())


def test_output_gradients_analytic(rng):
    """dL/db_out for MSE with kappa = 0 is sum_t (y_t - target_t) / batch."""
    net, x, target = make(rng, tau_out=0.0)
    y = net.forward(x).y
    g = bptt.gradients(net, x, target)
    np.testing.assert_allclose(g["b_out"], (y - target).sum(axis=(0, 1)) / 2, rtol=1e-12)


def test_ce_loss_value(rng):
    net, x, labels = make(rng, loss="ce")
    b, _ = bptt.loss_and_gradients(net, x, labels, loss="ce", window=10)
    m = net.forward(x).y[:, -10:].mean(axis=1)
    want = np.mean([np.log(np.exp(m[i]).sum()) - m[i, labels[i]] for i in range(2)])
    assert b.loss == pytest.approx(want, rel=1e-12)


# -- bad input --------------------------------------------------------------------------------------
@pytest.mark.parametrize("module", [bptt, rtrl])
def test_bad_input_rejected(module, rng):
    net, x, target = make(rng)
    bad = [
        (x[:, :, :4], target, {}, "n_in"),
        (x[0], target[0], {}, "shape"),
        (np.zeros((2, 0, 5)), np.zeros((2, 0, 2)), {}, "T >= 1"),
        (np.where(x > 0.5, np.nan, x), target, {}, "finite"),
        (x.astype(complex), target, {}, "real"),
        (x, target[:, :-1], {}, "target"),
        (x, target, {"loss": "hinge"}, "loss"),
        (x, np.array([0, 2]), {"loss": "ce"}, "labels"),
        (x, np.array([0.0, 1.0]), {"loss": "ce"}, "integers"),
        (x, np.array([0, 1]), {"loss": "ce", "window": 0}, "window"),
        (x, target, {"c_reg": -1.0}, "c_reg"),
    ]
    for xx, tt, kw, word in bad:
        with pytest.raises(ParameterError, match=word):
            module.gradients(net, xx, tt, **kw)


def test_bad_parameters_rejected():
    for kw, word in [(dict(tau_m=-1.0), "tau_m"), (dict(dt=0.0), "dt"), (dict(n_alif=9), "n_alif"),
                     (dict(surrogate="relu"), "surrogate"), (dict(beta=float("nan")), "beta"),
                     (dict(smooth=-2.0), "smooth")]:
        with pytest.raises(ParameterError, match=word):
            RSNN(5, 8, 2, **kw)
    with pytest.raises(ParameterError, match="n_rec"):
        RSNN(5, 0, 2)
    with pytest.warns(UserWarning, match="larger than half"):
        RSNN(5, 8, 2, dt=15.0)
