"""The shared readout kernels of plasticity.readout (and the CE window error of
plasticity.rsnn_step) against their NumPy twins, and the CE error against finite differences."""
import numpy as np
import pytest

from plasticity import bptt
from plasticity.readout import (log_softmax, readout_step, readout_step_reference, softmax_ce_error,
                                softmax_ce_error_reference)
from plasticity.rsnn_step import apply_window_error, new_sequences, new_sums, new_work


@pytest.mark.parametrize("n_out, n", [(1, 1), (3, 17), (5, 40)])
@pytest.mark.parametrize("kappa", [0.0, 0.95])
def test_readout_step_equals_twin(n_out, n, kappa, rng):
    w_out = rng.standard_normal((n_out, n))
    b_out = rng.standard_normal(n_out)
    for z in (rng.random(n), (rng.random(n) < 0.3).astype(float), np.zeros(n)):   # smooth, spikes, silence
        y = rng.standard_normal(n_out)
        want = readout_step_reference(z, w_out, b_out, kappa, y)
        readout_step(z, w_out, b_out, kappa, y)
        np.testing.assert_allclose(y, want, rtol=1e-12, atol=1e-14)


def test_readout_step_twin_takes_a_batch(rng):
    w_out, b_out = rng.standard_normal((2, 6)), rng.standard_normal(2)
    z, y = rng.random((4, 6)), rng.standard_normal((4, 2))
    want = readout_step_reference(z, w_out, b_out, 0.8, y)
    for b in range(4):
        readout_step(z[b], w_out, b_out, 0.8, y[b])
    np.testing.assert_allclose(y, want, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("n_out", [1, 2, 7])
@pytest.mark.parametrize("n_window", [1, 10, 37.0])
def test_softmax_ce_error_equals_twin(n_out, n_window, rng):
    ysum = 3.0 * n_window * rng.standard_normal((6, n_out))
    labels = rng.integers(0, n_out, 6)
    loss_want, err_want = softmax_ce_error_reference(ysum, n_window, labels, 0.25)
    err = np.empty(n_out)
    for b in range(6):
        loss = softmax_ce_error(ysum[b], n_window, labels[b], 0.25, err)
        np.testing.assert_allclose(err, err_want[b], rtol=1e-12, atol=1e-15)
        assert loss == pytest.approx(loss_want[b], rel=1e-12, abs=1e-15)
        np.testing.assert_allclose(err.sum(), 0.0, atol=1e-15)            # softmax and one-hot both sum to 1


def test_softmax_ce_error_is_stable_for_large_readouts():
    err = np.empty(3)
    loss = softmax_ce_error(np.array([1e4, 0.0, -1e4]), 1, 0, 1.0, err)
    assert loss == pytest.approx(0.0, abs=1e-300) and np.all(np.isfinite(err))
    loss = softmax_ce_error(np.array([1e4, 0.0, -1e4]), 1, 2, 1.0, err)
    assert loss == pytest.approx(2e4, rel=1e-12)
    np.testing.assert_allclose(err, [1.0, 0.0, -1.0], atol=1e-15)


@pytest.mark.parametrize("n_out", [2, 5])
def test_ce_error_is_the_finite_difference_derivative(n_out, rng):
    """err * n_window / scale == dCE/dm, m = ysum / n_window the window-mean readout."""
    n_window, scale, h = 8, 0.5, 1e-6
    for _ in range(5):
        m = rng.standard_normal(n_out) * 2.0
        label = int(rng.integers(0, n_out))
        err = np.empty(n_out)
        softmax_ce_error(m * n_window, n_window, label, scale, err)
        fd = np.empty(n_out)
        for k in range(n_out):
            dm = np.zeros(n_out)
            dm[k] = h
            up = softmax_ce_error((m + dm) * n_window, n_window, label, scale, np.empty(n_out))
            down = softmax_ce_error((m - dm) * n_window, n_window, label, scale, np.empty(n_out))
            fd[k] = (up - down) / (2 * h)
        np.testing.assert_allclose(err * n_window / scale, fd, rtol=1e-7, atol=1e-9)
        assert softmax_ce_error(m * n_window, n_window, label, scale, err) == pytest.approx(-log_softmax(m)[label],
                                                                                            rel=1e-12)


def test_bptt_ce_error_kernel_equals_twin(rng):
    y = rng.standard_normal((3, 20, 4))
    labels = rng.integers(0, 4, 3)
    (lk, ek), (lr, er) = (bptt.loss_and_error(y, labels, "ce", 6, reference=r) for r in (False, True))
    assert lk == pytest.approx(lr, rel=1e-12)
    np.testing.assert_allclose(ek, er, rtol=1e-12, atol=1e-15)
    assert np.all(ek[:, :14] == 0.0)
    np.testing.assert_allclose(bptt.ce_error(log_softmax(y[:, 14:].mean(axis=1)), labels, 3, 6), er[:, -1],
                               rtol=1e-12, atol=1e-15)


def test_apply_window_error_equals_numpy(rng):
    """The CE window error of e-prop and OTTT: G += (B err) S_b, g_out += err s_zbar_b, g_b += err s_cb_b."""
    batch, n_in, n, n_out, window = 3, 4, 5, 3, 7
    st = new_sequences(batch, n_in, n, n_out)
    for a in (st.S, st.s_zbar, st.s_cb, st.ysum):
        a[...] = rng.standard_normal(a.shape)
    sums, work = new_sums(n_in, n, n_out, False), new_work(n_in, n, n_out)
    for a in (sums.G, sums.g_out, sums.g_b):
        a[...] = rng.standard_normal(a.shape)
    fb = rng.standard_normal((n, n_out))
    labels = rng.integers(0, n_out, batch)
    G, g_out, g_b = sums.G.copy(), sums.g_out.copy(), sums.g_b.copy()
    losses, err = softmax_ce_error_reference(st.ysum, window, labels, 1.0 / batch)
    for b in range(batch):
        assert apply_window_error(b, labels[b], window, 1.0 / batch, fb, st, sums, work) == pytest.approx(losses[b],
                                                                                                          rel=1e-12)
        G += (fb @ err[b])[:, None] * st.S[b]
        g_out += np.outer(err[b], st.s_zbar[b])
        g_b += err[b] * st.s_cb[b]
    for got, want in ((sums.G, G), (sums.g_out, g_out), (sums.g_b, g_b)):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
