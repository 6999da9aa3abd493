"""e-prop and OTTT: equalities with the exact gradients where theory says they hold, kernels
vs NumPy twins, the online step() API, memory independent of T."""
import tracemalloc

import numpy as np
import pytest

from models.rsnn import RSNN
from plasticity import bptt, eprop, ottt, rtrl
from plasticity.errors import ParameterError

KEYS = ("w_in", "w_rec", "w_out", "b_out")


def make(rng, n_alif=3, loss="mse", T=40, batch=2, **kw):
    net = RSNN(5, 8, 2, n_alif=n_alif, seed=int(rng.integers(1 << 30)), **kw)
    net.w_in *= 3.0
    x = rng.random((batch, T, 5))
    target = rng.standard_normal((batch, T, 2)) if loss == "mse" else rng.integers(0, 2, batch)
    return net, x, target


def rel_max(a, b):
    return np.abs(a - b).max() / np.abs(b).max()


# -- e-prop ------------------------------------------------------------------------------------
@pytest.mark.parametrize("loss", ["mse", "ce"])
@pytest.mark.parametrize("n_alif", [0, 3, 8], ids=["LIF", "mixed", "ALIF"])
@pytest.mark.parametrize("surrogate", ["triangular", "fast_sigmoid"])
def test_eprop_symmetric_equals_bptt_without_recurrent_and_reset_paths(loss, n_alif, surrogate, rng):
    net, x, target = make(rng, n_alif=n_alif, loss=loss, surrogate=surrogate)
    kw = dict(loss=loss, c_reg=1e-3, window=15 if loss == "ce" else None)
    got = eprop.gradients(net, x, target, feedback="symmetric", **kw)
    want = bptt.gradients(net, x, target, recurrent=False, detach_reset=True, **kw)
    full = bptt.gradients(net, x, target, **kw)
    for name in KEYS:
        assert rel_max(got[name], want[name]) < 1e-10, name
    assert rel_max(got["w_in"], full["w_in"]) > 1e-3          # and it *is* an approximation


@pytest.mark.parametrize("detach_reset", [True, False])
@pytest.mark.parametrize("loss", ["mse", "ce"])
def test_eprop_equals_rtrl_with_recurrent_influence_dropped(detach_reset, loss, rng):
    net, x, target = make(rng, loss=loss)
    kw = dict(loss=loss, detach_reset=detach_reset, c_reg=1e-3)
    got = eprop.gradients(net, x, target, **kw)
    want = rtrl.gradients(net, x, target, recurrent=False, **kw)
    for name in KEYS:
        assert rel_max(got[name], want[name]) < 1e-10, name


@pytest.mark.parametrize("n_alif", [0, 3])
def test_eprop_equals_bptt_when_w_rec_is_zero(n_alif, rng):
    net, x, target = make(rng, n_alif=n_alif)
    net.w_rec[:] = 0.0
    got = eprop.gradients(net, x, target)
    want = bptt.gradients(net, x, target, detach_reset=True)
    for name in KEYS:
        assert rel_max(got[name], want[name]) < 1e-10, name


@pytest.mark.parametrize("loss", ["mse", "ce"])
@pytest.mark.parametrize("detach_reset", [True, False])
def test_eprop_kernel_equals_twin_random_feedback(loss, detach_reset, rng):
    net, x, target = make(rng, loss=loss)
    B = eprop.feedback_matrix(net, "random", seed=4)
    kw = dict(loss=loss, c_reg=1e-6, detach_reset=detach_reset)
    got = eprop.gradients(net, x, target, feedback="random", B=B, **kw)
    want = eprop.gradients_reference(net, x, target, B=B, **kw)
    for name in KEYS:
        np.testing.assert_allclose(got[name], want[name], rtol=1e-11, atol=1e-11 * np.abs(want[name]).max())
    kw["c_reg"] = 0.0
    got, sym = (eprop.gradients(net, x, target, feedback=f, B=b, **kw) for f, b in (("random", B), ("symmetric", None)))
    assert rel_max(got["w_in"], sym["w_in"]) > 1e-2
    np.testing.assert_allclose(got["w_out"], sym["w_out"], rtol=1e-12)   # readout gradient is exact either way


def test_random_feedback_is_seeded(rng):
    net, _, _ = make(rng)
    a, b = eprop.feedback_matrix(net, "random", seed=1), eprop.feedback_matrix(net, "random", seed=1)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (8, 2) and not np.allclose(a, eprop.feedback_matrix(net, "random", seed=2))


@pytest.mark.parametrize("loss", ["mse", "ce"])
@pytest.mark.parametrize("feedback", ["symmetric", "random"])
def test_online_step_api_equals_accumulated(loss, feedback, rng):
    net, x, target = make(rng, loss=loss, batch=3)
    rule = eprop.EProp(net, loss=loss, feedback=feedback, seed=7, c_reg=1e-3)
    rule.reset(3)
    T = x.shape[1]
    for t in range(T):
        y_t = rule.step(x[:, t], target[:, t] if loss == "mse" else None, in_window=t >= T - 10)
    grads = rule.gradients(None if loss == "mse" else target)
    want, value = eprop.gradients(net, x, target, loss=loss, window=10 if loss == "ce" else None, c_reg=1e-3,
                                  feedback=feedback, B=rule.B, return_loss=True)
    np.testing.assert_allclose(y_t, net.forward(x).y[:, -1], rtol=1e-12)
    for name in KEYS:
        np.testing.assert_allclose(grads[name], want[name], rtol=1e-11, atol=1e-12 * np.abs(want[name]).max())
    assert rule.loss_value == pytest.approx(value, rel=1e-12)
    assert value == pytest.approx(bptt.loss_and_gradients(net, x, target, loss=loss,
                                                          window=10 if loss == "ce" else None)[0].loss, rel=1e-12)


def test_adaptive_feedback_moves_like_w_out(rng):
    net, x, target = make(rng)
    rule = eprop.EProp(net, feedback="adaptive", seed=3)
    B0 = rule.B.copy()
    delta = rng.standard_normal(net.w_out.shape)
    rule.update_feedback(delta)
    np.testing.assert_allclose(rule.B - B0, delta.T, rtol=1e-15)
    sym = eprop.EProp(net)
    sym.update_feedback(delta)
    assert sym.B is None  # symmetric feedback reads W_out itself


def test_regularization_pulls_rates_toward_target(rng):
    """With only the regularization (c_reg > 0, zero task error), the gradient step lowers
    E_reg: the rule's regularization gradient points the right way."""
    net = RSNN(5, 8, 2, seed=0)
    x = 0.3 * rng.random((2, 200, 5))
    target = net.forward(x).y  # zero error: only the regularization acts
    g = eprop.gradients(net, x, target, c_reg=1e-2)
    rates = net.rates_hz(net.forward(x).z)
    before = np.sum((rates - 10.0) ** 2)
    stepped = net.copy()
    stepped.w_in -= 0.05 * g["w_in"] / np.abs(g["w_in"]).max()
    after = np.sum((net.rates_hz(stepped.forward(x).z) - 10.0) ** 2)
    assert np.abs(g["w_out"]).max() < 1e-12
    assert rates.mean() > 20 and after < 0.8 * before


def _peak(fn):
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def test_eprop_memory_does_not_grow_with_T(rng):
    net = RSNN(20, 30, 2, n_alif=10, seed=0)
    data = {}
    for T in (200, 2000):
        data[T] = (rng.random((1, T, 20)), rng.standard_normal((1, T, 2)))
        eprop.gradients(net, *data[T])           # compile and warm up outside the measurement
        bptt.gradients(net, *data[T])
    e = {T: _peak(lambda: eprop.gradients(net, *data[T])) for T in data}
    b = {T: _peak(lambda: bptt.gradients(net, *data[T])) for T in data}
    assert e[2000] - e[200] < 2048, e              # bytes: constant in T
    assert b[2000] > 5 * b[200], b                 # BPTT stores every state: linear in T
    assert e[2000] < b[2000] / 10


def test_eprop_bad_input(rng):
    net, x, target = make(rng)
    with pytest.raises(ParameterError, match="feedback"):
        eprop.gradients(net, x, target, feedback="transpose")
    with pytest.raises(ParameterError, match="B must have shape"):
        eprop.gradients(net, x, target, feedback="random", B=np.zeros((2, 8)))
    with pytest.raises(ParameterError, match="finite"):
        eprop.gradients(net, np.full_like(x, np.nan), target)
    with pytest.raises(ParameterError, match="T >= 1"):
        eprop.gradients(net, x[:, :0], target[:, :0])
    rule = eprop.EProp(net)
    with pytest.raises(ParameterError, match="reset"):
        rule.step(x[:, 0], target[:, 0])
    rule.reset(2)
    with pytest.raises(ParameterError, match="x_t"):
        rule.step(x[0, 0], target[:, 0])
    with pytest.raises(ParameterError, match="target_t"):
        rule.step(x[:, 0])


# -- OTTT -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("loss", ["mse", "ce"])
@pytest.mark.parametrize("n_alif", [0, 3])
def test_ottt_kernel_equals_twin(loss, n_alif, rng):
    net, x, target = make(rng, n_alif=n_alif, loss=loss)
    kw = dict(loss=loss, c_reg=1e-3, return_loss=True)
    (got, lg), (want, lw) = ottt.gradients(net, x, target, **kw), ottt.gradients(net, x, target, reference=True, **kw)
    for name in KEYS:
        np.testing.assert_allclose(got[name], want[name], rtol=1e-11, atol=1e-12 * np.abs(want[name]).max())
    assert lg == pytest.approx(lw, rel=1e-12)


def test_ottt_o_kernel_equals_twin(rng):
    net, x, target = make(rng)
    twin = net.copy()
    got = ottt.gradients(net, x, target, variant="O", lr=0.01)
    want = ottt.gradients(twin, x, target, variant="O", lr=0.01, reference=True)
    for name in KEYS:
        np.testing.assert_allclose(got[name], want[name], rtol=1e-10, atol=1e-11 * np.abs(want[name]).max())
        np.testing.assert_allclose(getattr(net, name), getattr(twin, name), rtol=1e-12, atol=1e-13)
    assert np.all(np.diag(net.w_rec) == 0)


def test_ottt_trace_is_the_papers(rng):
    """a_hat[t] = lam*a_hat[t-1] + s[t]: with one input spike at step 0 into a LIF neuron that
    stays sub-threshold, the W_in gradient at step t is psi_t * (W_out^T e_t) * lam^t."""
    net = RSNN(1, 1, 1, seed=0, tau_out=0.0)
    net.w_in[:] = 0.5
    net.w_out[:] = 1.0
    x = np.zeros((1, 6, 1))
    x[0, 0, 0] = 1.0
    target = np.ones((1, 6, 1))
    g = ottt.gradients(net, x, target, lam=0.5)
    s = net.forward(x)
    assert s.z.sum() == 0
    want = np.sum(s.psi[0, :, 0] * (s.y[0, :, 0] - 1.0) * 0.5 ** np.arange(6))
    assert g["w_in"][0, 0] == pytest.approx(want, rel=1e-12)
    assert want != 0.0


@pytest.mark.parametrize("loss", ["mse", "ce"])
def test_ottt_a_equals_bptt_for_one_layer_without_reset_path(loss, rng):
    """Xiao et al. 2022: OTTT_A == BPTT for one layer when the reset path is detached and the
    loss at each step depends on that step's output only. Here: W_rec = 0, LIF, a readout
    without memory (tau_out = 0), detach_reset=True, lam = alpha."""
    net, x, target = make(rng, n_alif=0, loss=loss, tau_out=0.0)
    net.w_rec[:] = 0.0
    got = ottt.gradients(net, x, target, loss=loss)
    want = bptt.gradients(net, x, target, loss=loss, detach_reset=True)
    for name in KEYS:
        assert rel_max(got[name], want[name]) < 1e-10, name
    leaky, _, _ = make(rng, n_alif=0, loss=loss)             # with the readout's leak it is approximate
    leaky.w_rec[:] = 0.0
    assert rel_max(ottt.gradients(leaky, x, target, loss=loss)["w_in"],
                   bptt.gradients(leaky, x, target, loss=loss, detach_reset=True)["w_in"]) > 1e-2


def test_ottt_bad_input(rng):
    net, x, target = make(rng)
    with pytest.raises(ParameterError, match="variant"):
        ottt.gradients(net, x, target, variant="B")
    with pytest.raises(ParameterError, match="lr"):
        ottt.gradients(net, x, target, variant="O")
    with pytest.raises(ParameterError, match="per-step"):
        ottt.gradients(net, x, np.array([0, 1]), loss="ce", variant="O", lr=0.1)
    with pytest.raises(ParameterError, match="detach_reset"):
        ottt.gradients(net, x, target, detach_reset=False)
    with pytest.raises(ParameterError, match="lam"):
        ottt.gradients(net, x, target, lam=1.5)
    with pytest.raises(ParameterError, match="loss"):
        ottt.gradients(net, x, target, loss="nll")


@pytest.mark.parametrize("loss", ["mse", "ce"])
def test_ottt_online_step_api_equals_accumulated(loss, rng):
    net, x, target = make(rng, loss=loss, batch=3)
    rule = ottt.OTTT(net, loss=loss, c_reg=1e-3)
    rule.reset(3)
    T = x.shape[1]
    for t in range(T):
        y_t = rule.step(x[:, t], target[:, t] if loss == "mse" else None, in_window=t >= T - 10)
    got = rule.gradients(None if loss == "mse" else target)
    want, value = ottt.gradients(net, x, target, loss=loss, window=10 if loss == "ce" else None, c_reg=1e-3,
                                 return_loss=True)
    np.testing.assert_allclose(y_t, net.forward(x).y[:, -1], rtol=1e-12)
    for name in KEYS:
        np.testing.assert_allclose(got[name], want[name], rtol=1e-11, atol=1e-12 * np.abs(want[name]).max())
    assert rule.loss_value == pytest.approx(value, rel=1e-12)


def test_ottt_o_online_step_api_updates_the_network(rng):
    net, x, target = make(rng)
    twin, start = net.copy(), net.copy()
    rule = ottt.OTTT(net, variant="O", lr=0.01)
    rule.reset(2)
    for t in range(x.shape[1]):
        rule.step(x[:, t], target[:, t])
    got = rule.gradients()
    want = ottt.gradients(twin, x, target, variant="O", lr=0.01)
    for name in KEYS:
        np.testing.assert_allclose(got[name], want[name], rtol=1e-11, atol=1e-12 * np.abs(want[name]).max())
        np.testing.assert_allclose(getattr(net, name), getattr(twin, name), rtol=1e-12, atol=1e-14)
    assert np.abs(net.w_in - start.w_in).max() > 1e-4      # the network was updated along the way


def test_kernels_run_as_plain_python():
    """The kernels also work uncompiled (NUMBA_DISABLE_JIT=1; bounds checked by Python):
    e-prop == cut BPTT and BPTT == RTRL hold there too. One small subprocess."""
    import os
    import subprocess
    import sys

    code = """
import numpy as np
from models.rsnn import RSNN
from plasticity import bptt, eprop, ottt, rtrl
rng = np.random.default_rng(0)
net = RSNN(3, 4, 2, n_alif=2, seed=1); net.w_in *= 3
x = rng.random((2, 12, 3)); tg = rng.standard_normal((2, 12, 2)); lab = np.array([0, 1])
rel = lambda a, b: max(np.abs(a[k] - b[k]).max() / np.abs(b[k]).max() for k in a)
for loss, t in (("mse", tg), ("ce", lab)):
    assert rel(eprop.gradients(net, x, t, loss=loss, c_reg=1e-3),
               bptt.gradients(net, x, t, loss=loss, recurrent=False, detach_reset=True, c_reg=1e-3)) < 1e-10
    assert rel(bptt.gradients(net, x, t, loss=loss), rtrl.gradients(net, x, t, loss=loss)) < 1e-10
    assert rel(ottt.gradients(net, x, t, loss=loss), ottt.gradients(net, x, t, loss=loss, reference=True)) < 1e-10
print("ok")
"""
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "ok"
