"""e-prop and OTTT as Brian2 equations (plasticity.brian_online) against the native rules.

The Brian2 network is the RSNN of models.rsnn written with run_regularly, summed variables and a
TimedArray target; its gradients must equal plasticity.eprop / plasticity.ottt (the fused Numba
loops) and the models.rsnn.to_network learner to rtol 1e-9 — the only differences allowed are the
order of floating-point sums.
"""
import numpy as np
import pytest

from models.rsnn import RSNN, to_network
from plasticity import EPropRule, eprop, ottt
from plasticity.brian import attach_eprop, attach_ottt, rsnn_gradients
from plasticity.errors import ParameterError

b2 = pytest.importorskip("brian2")

RTOL = 1e-9


def problem(n_alif=0, T=40, seed=1):
    """A small RSNN with a biased readout, input spikes at ~20 % and a random target; the
    input weights are scaled up so that the recurrent neurons fire (~20 % of the steps)."""
    rng = np.random.default_rng(seed)
    net = RSNN(6, 10, 2, n_alif=n_alif, seed=seed + 2, tau_out=15.0)
    net.set_weights({"w_in": net.w_in * 3.0, "b_out": rng.standard_normal(2)})
    x = (rng.random((T, 6)) < 0.2).astype(float)
    return net, x, rng.standard_normal((T, 2))


def native(net, x, target, rule, **options):
    if rule == "eprop":
        return eprop.gradients(net, x[None], target[None], detach_reset=True, **options)
    return ottt.gradients(net, x[None], target[None], **options)


def assert_same(got, ref):
    assert set(got) == {"w_in", "w_rec", "w_out", "b_out"}
    for name, value in ref.items():
        scale = np.abs(value).max()
        assert scale > 0, name                      # a gradient that could be wrong
        np.testing.assert_allclose(got[name], value, rtol=RTOL, atol=RTOL * scale, err_msg=name)


CASES = [  # (rule, n_alif, options)
    ("eprop", 0, {}),
    ("eprop", 4, dict(feedback="random", seed=5, c_reg=0.1)),
    ("ottt", 0, {}),
    ("ottt", 3, dict(c_reg=0.05, lam=0.8)),
]


@pytest.mark.parametrize("rule, n_alif, options", CASES)
def test_numpy_equals_native(rule, n_alif, options):
    net, x, target = problem(n_alif)
    assert net.forward(x[None]).z.mean() > 0.05     # the network spikes: psi and the traces matter
    assert_same(rsnn_gradients(net, x, target, rule=rule, device="numpy", **options),
                native(net, x, target, rule, **options))


def _cross_entropy_case(rule, n_alif, options, device):
    """(Brian2, native) gradients of CE on the mean readout of the last 15 steps: window sums in
    Brian2, the error applied after."""
    rng = np.random.default_rng(3)
    net = RSNN(6, 10, 3, n_alif=n_alif, seed=5, tau_out=15.0)
    net.set_weights({"w_in": net.w_in * 3.0, "b_out": rng.standard_normal(3)})
    x = (rng.random((40, 6)) < 0.2).astype(float)
    ref = (eprop.gradients(net, x[None], np.array([2]), loss="ce", window=15, detach_reset=True, **options)
           if rule == "eprop" else ottt.gradients(net, x[None], np.array([2]), loss="ce", window=15, **options))
    return rsnn_gradients(net, x, 2, rule=rule, loss="ce", window=15, device=device, **options), ref


@pytest.mark.parametrize("rule, n_alif, options", [("eprop", 3, dict(feedback="random", seed=4, c_reg=0.1)),
                                                   ("ottt", 0, {})])
def test_cross_entropy_window_equals_native(rule, n_alif, options):
    assert_same(*_cross_entropy_case(rule, n_alif, options, "numpy"))


@pytest.mark.slow
def test_cross_entropy_on_cpp_standalone():
    assert_same(*_cross_entropy_case("eprop", 3, dict(feedback="random", seed=4, c_reg=0.1), "cpp_standalone"))


def test_equals_the_network_learner():
    """The same numbers as the models.Network rule contract (models.rsnn.to_network)."""
    net, x, target = problem(2, seed=4)
    options = dict(feedback="random", seed=9)
    _, learner = to_network(net, x, target, rule="eprop", **options)
    learner.net.run(x.shape[0] * net.dt)
    assert_same(rsnn_gradients(net, x, target, rule="eprop", **options), learner.gradients())


@pytest.mark.slow
@pytest.mark.parametrize("device", ["cython", "cpp_standalone"])
@pytest.mark.parametrize("rule, n_alif, options", [CASES[1], CASES[3]])
def test_compiled_targets_equal_native(device, rule, n_alif, options):
    net, x, target = problem(n_alif, seed=2)
    assert_same(rsnn_gradients(net, x, target, rule=rule, device=device, **options),
                native(net, x, target, rule, **options))


def test_options_and_inputs_are_checked():
    net, x, target = problem()
    with pytest.raises(ParameterError, match="rule must be one of"):
        rsnn_gradients(net, x, target, rule="bptt")
    with pytest.raises(ParameterError, match="device must be one of"):
        rsnn_gradients(net, x, target, device="gpu")
    with pytest.raises(ParameterError, match="unknown option for rule 'ottt'"):
        rsnn_gradients(net, x, target, rule="ottt", feedback="random")
    with pytest.raises(ParameterError, match="x must hold spikes"):
        rsnn_gradients(net, x * 0.5, target)
    with pytest.raises(ParameterError, match="target must be finite"):
        rsnn_gradients(net, x, target[:-1])


def user_network():
    """A Brian2 user's own network: LIF in mV with a threshold variable, a leaky readout."""
    ms, mV = b2.ms, b2.mV
    inputs = b2.SpikeGeneratorGroup(3, [0, 1, 2], [1, 2, 3] * ms)
    neurons = b2.NeuronGroup(4, "dv/dt = -v / (20*ms) : volt\nv_th : volt", threshold="v > v_th",
                             reset="v -= v_th", method="exact")
    readout = b2.NeuronGroup(1, "dy/dt = -y / (10*ms) : 1\ny_star : 1", method="exact")
    hidden = b2.Synapses(inputs, neurons, "w : 1", on_pre="v_post += w*mV")
    hidden.connect()
    output = b2.Synapses(neurons, readout, "w : 1", on_pre="y_post += w")
    output.connect()
    return neurons, readout, hidden, output


def test_attach_names_what_is_missing():
    neurons, readout, hidden, output = user_network()
    rule = EPropRule()
    with pytest.raises(ParameterError, match="no variable 'u' .the membrane potential"):
        attach_eprop(rule, neurons, readout, hidden, output, tau_m=20.0, tau_out=10.0, potential="u")
    with pytest.raises(ParameterError, match="no variable 'theta' .the firing threshold"):
        attach_eprop(rule, neurons, readout, hidden, output, tau_m=20.0, tau_out=10.0, threshold="theta")
    with pytest.raises(ParameterError, match="no variable 'target' .the target y_star"):
        attach_eprop(rule, neurons, readout, hidden, output, tau_m=20.0, tau_out=10.0, target="target")
    with pytest.raises(ParameterError, match="must target neurons"):
        attach_eprop(rule, neurons, readout, output, output, tau_m=20.0, tau_out=10.0)
    with pytest.raises(ParameterError, match="rule must be a plasticity.OTTTRule"):
        attach_ottt(rule, neurons, readout, hidden, output, tau_m=20.0, tau_out=10.0)


@pytest.fixture
def one_ms():
    old = b2.defaultclock.dt
    b2.defaultclock.dt = 1 * b2.ms
    yield
    b2.defaultclock.dt = old


def test_attach_in_an_ode_network_matches_its_recorded_twin(one_ms):
    """attach_eprop on a network integrated by Brian2 itself (leak in the groups slot, before the
    threshold; arrivals after it): the gradients equal e-prop's equations applied in NumPy to the
    recorded v (at the threshold test), spikes and readout (at the end of each step)."""
    ms = b2.ms
    rng = np.random.default_rng(7)
    N, n_in, steps, tau_m, tau_out = 5, 4, 150, 20.0, 10.0
    s_in, i_in = np.nonzero(rng.random((steps - 5, n_in)) < 0.25)
    inputs = b2.SpikeGeneratorGroup(n_in, i_in, s_in * ms)
    neurons = b2.NeuronGroup(N, "dv/dt = -v / (20*ms) : 1", threshold="v > 1", reset="v -= 1", method="exact")
    y_star = b2.TimedArray(rng.standard_normal((steps, 1)), dt=1 * ms)
    readout = b2.NeuronGroup(1, "dy/dt = -y / (10*ms) : 1\ny_star = y_star_values(t, i) : 1", method="exact",
                             namespace=dict(y_star_values=y_star))
    hidden = b2.Synapses(inputs, neurons, "w : 1", on_pre="v_post += w")
    hidden.connect()
    hidden.w = rng.uniform(0.2, 0.9, len(hidden))
    rec = b2.Synapses(neurons, neurons, "w : 1", on_pre="v_post += w")
    rec.connect(condition="i != j")
    rec.w = rng.normal(0, 0.3, len(rec))
    output = b2.Synapses(neurons, readout, "w : 1", on_pre="y_post += w")
    output.connect()
    output.w = rng.standard_normal(len(output))
    learning = attach_eprop(EPropRule(), neurons, readout, [hidden, rec], output, tau_m=tau_m, tau_out=tau_out,
                            threshold=1.0)
    v_mon = b2.StateMonitor(neurons, "v", record=True, when="thresholds", order=-1)
    y_mon = b2.StateMonitor(readout, ["y", "y_star"], record=True, when="end", order=-5)
    in_mon, z_mon = b2.SpikeMonitor(inputs), b2.SpikeMonitor(neurons)
    net = b2.Network(inputs, neurons, readout, hidden, rec, output, learning.objects, v_mon, y_mon, in_mon, z_mon)
    net.run(steps * ms)
    g = learning.gradients()

    alpha, kappa = np.exp(-1.0 / tau_m), np.exp(-1.0 / tau_out)
    psi = 0.3 * np.maximum(0.0, 1.0 - np.abs(v_mon.v[:].T - 1.0))                  # (steps, N)
    def spikes(mon, n):
        z = np.zeros((steps, n))
        z[np.round(mon.t / ms).astype(int), mon.i[:]] = 1.0
        return z
    x, z = spikes(in_mon, n_in), spikes(z_mon, N)
    err = (y_mon.y[:] - y_mon.y_star[:]).T                                       # (steps, 1)
    w_out = np.zeros((N, 1))
    w_out[output.i[:], output.j[:]] = output.w[:]
    for syn, pre in ((hidden, x), (rec, z)):
        xbar, ebar, grad = np.zeros(pre.shape[1]), np.zeros((N, pre.shape[1])), np.zeros((N, pre.shape[1]))
        for s in range(steps):
            if s:
                xbar = alpha * (xbar + pre[s - 1])        # the leak acts on last step's arrivals
            ebar = kappa * ebar + psi[s][:, None] * xbar[None, :]
            if s < steps - 1:                             # L of the last step: applied at the next run
                grad += (w_out @ err[s])[:, None] * ebar
        got = g["hidden"][0 if syn is hidden else 1]
        want = grad[syn.j[:], syn.i[:]]
        assert np.abs(want).max() > 1e-3
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)
    zbar, g_out = np.zeros(N), np.zeros((N, 1))
    for s in range(steps):
        zbar = kappa * zbar + z[s]
        g_out += zbar[:, None] * err[s][None, :]
    np.testing.assert_allclose(g["output"], g_out[output.i[:], output.j[:]], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(learning.loss(), 0.5 * np.sum(err ** 2), rtol=1e-12)


def test_reset_restarts_the_accumulation(one_ms):
    neurons, readout, hidden, output = user_network()
    hidden.w = 3.0
    output.w = 0.5
    neurons.v_th = 1 * b2.mV
    learning = attach_eprop(EPropRule(c_reg=1.0), neurons, readout, hidden, output, tau_m=20.0, tau_out=10.0)
    spikes = b2.SpikeMonitor(neurons)
    net = b2.Network(hidden.source, neurons, readout, hidden, output, learning.objects, spikes)
    net.run(5 * b2.ms)
    assert learning.raw()["counts"].sum() == spikes.num_spikes > 0
    assert learning.loss() > 0
    learning.reset()
    before = np.bincount(spikes.i[:], minlength=4)
    hidden.source.set_spikes([0, 1], [6, 7] * b2.ms)
    net.run(5 * b2.ms)
    assert learning.loss() > 0 and spikes.num_spikes > before.sum()
    np.testing.assert_array_equal(learning.raw()["counts"], np.bincount(spikes.i[:], minlength=4) - before)
    learning.reset()
    assert learning.loss() == 0 and not np.any(learning.gradients(n_steps=10)["output"])
