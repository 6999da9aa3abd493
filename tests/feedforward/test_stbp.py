"""models.feedforward.SNN and plasticity.stbp: forward against hand-computed values, STBP
against central finite differences on the smoothed model, kernels against their NumPy twins,
tdBN's backward against its twin and finite differences, TET beside rate-coded CE."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.feedforward import SNN, apply_gradients, firing_rates, flatten, train_step
from plasticity import optim, stbp
from plasticity.errors import ParameterError
from plasticity.surrogate import Surrogate

SMOOTH = Surrogate("sigmoid", sharpness=4.0)


def make(rng, sizes=(5, 6, 6, 6, 3), T=5, batch=4, **kw):
    net = SNN(list(sizes), T=T, seed=int(rng.integers(1 << 30)), **kw)
    for g, b in zip(net.bn_gamma, net.bn_beta):  # away from the trivial lambda = 1, beta = 0
        g[:] = rng.uniform(0.5, 2.0, g.size)
        b[:] = rng.uniform(-0.3, 0.3, b.size)
    return net, rng.random((batch, T, sizes[0])), rng.integers(0, sizes[-1], batch)


def finite_differences(net, x, y, loss, h=1e-6):
    out = {}
    for key, arrays in net.parameters().items():
        out[key] = []
        for p in arrays:
            g = np.zeros_like(p)
            for idx in np.ndindex(p.shape):
                old = p[idx]
                p[idx] = old + h
                plus = stbp.loss_value(net, x, y, loss=loss)
                p[idx] = old - h
                minus = stbp.loss_value(net, x, y, loss=loss)
                p[idx] = old
                g[idx] = (plus - minus) / (2 * h)
            out[key].append(g)
    return out


@pytest.mark.parametrize("norm", ["tdbn", "bn", None])
@pytest.mark.parametrize("residual", [False, True], ids=["plain", "residual"])
@pytest.mark.parametrize("loss", ["ce", "tet"])
def test_gradients_equal_finite_differences_on_the_smoothed_model(norm, residual, loss, rng):
    net, x, y = make(rng, norm=norm, residual=residual, surrogate=SMOOTH)
    got = stbp.gradients(net, x, y, loss=loss)
    want = finite_differences(net, x, y, loss)
    assert len(got["weights"]) == 4 and len(got["bn_gamma"]) == (3 if norm else 0)
    for key in want:
        for a, b in zip(got[key], want[key]):
            assert np.abs(b).max() > 1e-6  # every parameter has an effect on the loss
            np.testing.assert_allclose(a, b, rtol=0, atol=2e-7 * np.abs(b).max() + 1e-10, err_msg=key)


@pytest.mark.parametrize("surrogate", ["rectangular", "triangular", "dspike", SMOOTH], ids=str)
@pytest.mark.parametrize("detach_reset", [False, True])
@pytest.mark.parametrize("norm", ["tdbn", None])
def test_kernels_equal_numpy_twin(surrogate, detach_reset, norm, rng):
    net, x, y = make(rng, sizes=(8, 12, 12, 12, 4), T=6, batch=7, norm=norm, residual=True, surrogate=surrogate)
    got = stbp.gradients(net, x, y, detach_reset=detach_reset)
    want = stbp.gradients_reference(net, x, y, detach_reset=detach_reset)
    for key in got:
        for a, b in zip(got[key], want[key]):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14 * max(1.0, np.abs(b).max()))
    assert any(np.abs(g).max() > 0 for g in got["weights"][:-1])
    fwd, ref = stbp.forward(net, x), stbp.forward(net, x, reference=True)
    for a, b in zip(fwd.u + fwd.s + fwd.psi, ref.u + ref.s + ref.psi):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)


def test_detach_reset_drops_only_the_reset_path(rng):
    """With tau_decay = 0 the reset term tau*u*(1-s) vanishes, so detaching it changes nothing;
    with tau_decay = 0.25 it changes the hidden gradients but not the readout's."""
    net, x, y = make(rng, tau_decay=0.0, surrogate=SMOOTH)
    a, b = stbp.gradients(net, x, y), stbp.gradients(net, x, y, detach_reset=True)
    for ga, gb in zip(a["weights"], b["weights"]):
        np.testing.assert_allclose(ga, gb, rtol=1e-13, atol=1e-16)
    net, x, y = make(rng, surrogate=SMOOTH)
    a, b = stbp.gradients(net, x, y), stbp.gradients(net, x, y, detach_reset=True)
    np.testing.assert_array_equal(a["weights"][-1], b["weights"][-1])
    assert np.abs(a["weights"][0] - b["weights"][0]).max() > 1e-6 * np.abs(a["weights"][0]).max()


def test_bn_backward_kernel_twin_and_finite_differences(rng):
    """tdBN alone: L = sum(G * J(I)) with J = lambda*c*(I - mean)/sqrt(var + eps) + beta."""
    N, n, c, eps = 30, 4, 0.5, 1e-5
    current, G = rng.standard_normal((N, n)) * 2 + 1, rng.standard_normal((N, n))
    gamma, beta = rng.uniform(0.5, 2, n), rng.standard_normal(n)

    def objective(I, g, b):
        xhat = (I - I.mean(0)) / np.sqrt(I.var(0) + eps)
        return float(np.sum(G * (g * c * xhat + b))), xhat, 1 / np.sqrt(I.var(0) + eps)

    _, xhat, inv_std = objective(current, gamma, beta)
    dI, dg, db = np.empty((N, n)), np.empty(n), np.empty(n)
    stbp.bn_backward(G, xhat, inv_std, gamma, c, dI, dg, db)
    for a, b in zip((dI, dg, db), stbp.bn_backward_reference(G, xhat, inv_std, gamma, c)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    h = 1e-6
    for value, grad, which in ((current, dI, 0), (gamma, dg, 1), (beta, db, 2)):
        for idx in np.ndindex(value.shape):
            args = [current.copy(), gamma.copy(), beta.copy()]
            args[which][idx] += h
            plus = objective(*args)[0]
            args[which][idx] -= 2 * h
            minus = objective(*args)[0]
            assert grad[idx] == pytest.approx((plus - minus) / (2 * h), rel=1e-6, abs=1e-8)
    np.testing.assert_allclose(dI.sum(0), 0.0, atol=1e-10)  # shifting a neuron's input changes nothing


def test_single_neuron_without_norm_by_hand():
    """u_t = 0.25 u_{t-1} (1 - s_{t-1}) + w x: with w x = 0.3 and V_th = 0.5, u = 0.3, 0.375,
    0.39375, ... never spikes; with w x = 0.45, u = 0.45, 0.5625 (spike), 0.45 (reset), ..."""
    net = SNN([1, 1, 1], T=6, norm=None, seed=0)
    net.weights[0][:] = 1.0
    net.weights[1][:] = 2.0
    tr = stbp.forward(net, np.full((1, 6, 1), 0.3))
    want = [0.3]
    for _ in range(5):
        want.append(0.25 * want[-1] + 0.3)
    np.testing.assert_allclose(tr.u[0][0, :, 0], want, rtol=1e-14)
    assert tr.s[0].sum() == 0
    tr = stbp.forward(net, np.full((1, 6, 1), 0.45))
    np.testing.assert_allclose(tr.u[0][0, :, 0], [0.45, 0.5625, 0.45, 0.5625, 0.45, 0.5625], rtol=1e-14)
    np.testing.assert_array_equal(tr.s[0][0, :, 0], [0, 1, 0, 1, 0, 1])
    np.testing.assert_allclose(tr.logits, [[2.0 * 3 / 6]])
    np.testing.assert_array_equal(tr.psi[0][0, :, 0], [1, 1, 1, 1, 1, 1])  # |u - 0.5| < a/2 = 0.5


def test_tdbn_forward_statistics_and_running_stats(rng):
    """Training mode: per neuron over batch and time, J has mean beta and standard deviation
    lambda*alpha*V_th; evaluation uses the running statistics (PyTorch's update rule)."""
    net = SNN([10, 7, 3], T=6, alpha=1.5, seed=3)
    net.bn_gamma[0][:] = 2.0
    net.bn_beta[0][:] = 0.1
    x = rng.random((9, 6, 10))
    tr = net.run(x)
    current = x @ net.weights[0].T
    J = tr.xhat[0] * 2.0 * 1.5 * 0.5 + 0.1
    np.testing.assert_allclose(J.mean(axis=(0, 1)), 0.1, atol=1e-12)
    np.testing.assert_allclose(J.std(axis=(0, 1)), 1.5 * np.sqrt(current.var((0, 1)) / (current.var((0, 1)) + 1e-5)),
                               rtol=1e-10)
    n = 9 * 6
    np.testing.assert_allclose(net.running_mean[0], 0.1 * current.mean((0, 1)), rtol=1e-12)
    np.testing.assert_allclose(net.running_var[0], 0.9 + 0.1 * current.var((0, 1)) * n / (n - 1), rtol=1e-12)
    ev = stbp.forward(net.eval(), x)
    np.testing.assert_allclose(ev.xhat[0], (current - net.running_mean[0]) / np.sqrt(net.running_var[0] + 1e-5),
                               rtol=1e-10)
    assert net.predict(x).shape == (9,)


def test_tet_and_ce_by_hand(rng):
    net, x, y = make(rng, surrogate=SMOOTH)
    tr = stbp.forward(net, x)
    logp = tr.logits - np.log(np.exp(tr.logits).sum(1, keepdims=True))
    ce, _ = stbp.loss_and_output_gradient(tr, y, "ce")
    assert ce == pytest.approx(-np.mean(logp[np.arange(4), y]), rel=1e-12)
    per_step = [-np.mean((o - np.log(np.exp(o).sum(1, keepdims=True)))[np.arange(4), y]) for o in tr.outputs.transpose(1, 0, 2)]
    tet, _ = stbp.loss_and_output_gradient(tr, y, "tet")
    assert tet == pytest.approx(np.mean(per_step), rel=1e-12)
    assert tet >= ce - 1e-12  # Jensen: CE is convex in the logits, the mean of the outputs


def test_training_reduces_the_loss_on_a_separable_task(rng):
    """Two Gaussian blobs: 40 Adam steps of STBP with tdBN bring the training loss down."""
    centers = rng.random((2, 10))
    y = rng.integers(0, 2, 64)
    x = np.clip(centers[y] + 0.1 * rng.standard_normal((64, 10)), 0, 1)
    net = SNN([10, 32, 32, 2], T=4, seed=1)
    opt = optim.Adam(lr=1e-2)
    losses = [train_step(net, opt, x, y)[0] for _ in range(40)]
    assert losses[-1] < 0.5 * losses[0]
    assert np.mean(net.predict(x) == y) > 0.9
    assert np.all(firing_rates(net.run(x)) > 0)


def test_apply_gradients_adds_the_optimizer_update(rng):
    net, x, y = make(rng)
    before = {k: a.copy() for k, a in flatten(net.parameters()).items()}
    grads = stbp.gradients(net, x, y)
    apply_gradients(net, optim.SGD(lr=0.1), grads)
    for key, a in flatten(net.parameters()).items():
        np.testing.assert_allclose(a, before[key] - 0.1 * flatten(grads)[key], rtol=1e-14)


# -- validation -------------------------------------------------------------------------------
@pytest.mark.parametrize("kw, name", [
    (dict(sizes=[3, 4]), "sizes"), (dict(sizes=[3, 0, 2]), "sizes[1]"), (dict(T=0), "T"),
    (dict(tau_decay=1.5), "tau_decay"), (dict(v_th=-1.0), "v_th"), (dict(norm="layer"), "norm"),
    (dict(alpha=0.0), "alpha"), (dict(surrogate="nope"), "surrogate"), (dict(momentum=0.0), "momentum"),
    (dict(sizes=[3, 4, 5, 6, 2], residual=True), "residual"), (dict(v_th=float("nan")), "v_th"),
])
def test_constructor_rejects_bad_parameters(kw, name):
    kw = {"sizes": [3, 4, 2], **kw}
    with pytest.raises(ParameterError, match=name.replace("[", r"\[").replace("]", r"\]")):
        SNN(kw.pop("sizes"), **kw)


@settings(max_examples=30, deadline=None)
@given(st.floats(allow_nan=True, allow_infinity=True))
def test_tau_decay_outside_unit_interval_refused(value):
    if 0.0 <= value <= 1.0:
        assert SNN([2, 3, 2], tau_decay=value).tau_decay == value
    else:
        with pytest.raises(ParameterError, match="tau_decay"):
            SNN([2, 3, 2], tau_decay=value)


def test_gradient_inputs_validated(rng):
    net, x, y = make(rng)
    with pytest.raises(ParameterError, match="x must have shape"):
        stbp.gradients(net, x[:, :3], y)
    with pytest.raises(ParameterError, match="labels"):
        stbp.gradients(net, x, y + 10)
    with pytest.raises(ParameterError, match="labels"):
        stbp.gradients(net, x, y.astype(float))
    with pytest.raises(ParameterError, match="loss"):
        stbp.gradients(net, x, y, loss="mse")
    bad = x.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ParameterError, match="finite"):
        stbp.gradients(net, bad, y)


def test_static_input_is_repeated_over_time(rng):
    net = SNN([4, 5, 2], T=3, seed=0)
    x = rng.random((2, 4))
    np.testing.assert_array_equal(net(x, train=False), net(np.repeat(x[:, None], 3, axis=1), train=False))


def test_defaults_are_zheng_2021():
    net = SNN([2, 3, 2])
    assert (net.tau_decay, net.v_th, net.surrogate.kind, net.surrogate.width) == (0.25, 0.5, "rectangular", 1.0)
    assert net.bn_scale == [0.5]
    res = SNN([2, 3, 3, 3, 2], residual=True)
    assert res.shortcuts == (-1, -1, 0) and res.bn_scale[2] == pytest.approx(0.5 / math.sqrt(2))


def test_float32_network_follows_float64(rng):
    """The same smoothed network in single precision: gradients of float32 dtype within 1e-3."""
    net, x, y = make(rng, surrogate=SMOOTH)
    single = SNN([5, 6, 6, 6, 3], T=5, surrogate=SMOOTH, dtype=np.float32)
    for key, arrays in net.parameters().items():
        for a, b in zip(arrays, single.parameters()[key]):
            b[:] = a
    g64, g32 = stbp.gradients(net, x, y), stbp.gradients(single, x, y)
    for a, b in zip(g64["weights"] + g64["bn_gamma"], g32["weights"] + g32["bn_gamma"]):
        assert b.dtype == np.float32
        np.testing.assert_allclose(b, a, rtol=0, atol=1e-3 * np.abs(a).max())
    opt = optim.Adam(lr=1e-2)
    train_step(single, opt, x, y)
    assert all(w.dtype == np.float32 for w in single.weights)
    with pytest.raises(ParameterError, match="dtype"):
        SNN([2, 3, 2], dtype=np.int32)
