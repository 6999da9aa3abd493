"""NIR export/import: exact round trips through nir.write/nir.read, the exported graph run by an
independent NIR simulator gives the model's spikes, and what NIR cannot express is refused."""
import math

import nir
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from models import nir as mnir
from models.feedforward import SNN
from models.rsnn import RSNN
from plasticity import ParameterError


def spikes_in(rng, batch=3, T=60, n_in=6, p=0.2):
    return (rng.random((batch, T, n_in)) < p).astype(float)


def through_file(graph, tmp_path, name="net.nir"):
    nir.write(tmp_path / name, graph)
    return nir.read(tmp_path / name)


def test_mapping_formulas():
    # zoh: exp(-dt/tau) = alpha; euler: 1 - dt/tau = alpha
    assert mnir.tau_of(math.exp(-1e-3 / 0.02), 1e-3) == pytest.approx(0.02, rel=1e-14)
    assert mnir.tau_of(0.95, 1e-3, "euler") == pytest.approx(0.02, rel=1e-14)
    assert mnir.alpha_of(0.02, 1e-3) == pytest.approx(math.exp(-0.05), rel=1e-15)
    assert mnir.alpha_of(0.02, 1e-3, "euler") == pytest.approx(0.95, rel=1e-15)


@pytest.mark.filterwarnings("ignore:dt = .* of the smallest time constant")   # coarse dt is part of the sample
@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 10_000), n_rec=st.integers(1, 12), tau_m=st.floats(5.0, 50.0),
       tau_out=st.sampled_from([0.0, 5.0, 20.0]), dt=st.sampled_from([0.5, 1.0, 2.0]),
       method=st.sampled_from(["zoh", "euler"]))
def test_rsnn_round_trip_is_exact(tmp_path_factory, seed, n_rec, tau_m, tau_out, dt, method):
    net = RSNN(6, n_rec, 2, dt=dt, tau_m=tau_m, tau_out=tau_out, v_th=0.7, gamma=0.5, seed=seed)
    net.w_in *= 3.0
    x = spikes_in(np.random.default_rng(seed))
    before = net.forward(x)
    g = through_file(mnir.to_nir(net, method=method), tmp_path_factory.mktemp("nir"))
    back = mnir.from_nir(g)
    after = back.forward(x)
    np.testing.assert_array_equal(after.z, before.z)
    np.testing.assert_array_equal(after.y, before.y)
    np.testing.assert_array_equal(after.v, before.v)
    assert back.params == net.params


def test_exported_rsnn_runs_in_a_nir_simulator(tmp_path):
    net = RSNN(6, 10, 3, dt=1.0, tau_m=20.0, tau_out=20.0, seed=4)
    net.w_in *= 3.0
    x = spikes_in(np.random.default_rng(1))
    s = net.forward(x)
    assert 0.05 < s.z.mean() < 0.6                          # the network does spike
    out = mnir.simulate(through_file(mnir.to_nir(net), tmp_path), x)
    np.testing.assert_array_equal(out["spike"], s.z)
    np.testing.assert_allclose(out["membrane"], s.v, rtol=0, atol=1e-12)
    np.testing.assert_allclose(out["output"], s.y, rtol=0, atol=1e-12)


def test_graph_layout_and_units():
    net = RSNN(4, 5, 2, dt=0.5, tau_m=20.0, tau_out=10.0, v_th=1.0, seed=0)
    g = mnir.to_nir(net)
    assert {type(n).__name__ for n in g.nodes.values()} == {"Input", "Linear", "LI", "Threshold", "Affine", "Output"}
    assert ("w_rec", "membrane") in g.edges and ("spike", "w_rec") in g.edges
    np.testing.assert_allclose(g.nodes["membrane"].tau, 0.020, rtol=1e-14)     # seconds, exact leak
    np.testing.assert_allclose(g.nodes["membrane"].r, 1.0 / (1.0 - math.exp(-0.5 / 20.0)))
    np.testing.assert_array_equal(np.diag(g.nodes["w_rec"].weight), -1.0)       # subtractive reset
    assert g.metadata["dt"] == 0.0005


def test_import_without_project_metadata(tmp_path):
    """A graph as another tool would write it (no plab_* keys) imports from the ODE fields."""
    net = RSNN(6, 8, 2, dt=1.0, tau_m=20.0, tau_out=20.0, seed=5)
    net.w_in *= 3.0
    g = mnir.to_nir(net)
    for node in g.nodes.values():
        node.metadata = {}
    g.metadata = {}
    with pytest.raises(ParameterError, match="pass dt="):
        mnir.from_nir(g)
    back = mnir.from_nir(g, dt=1.0, method="zoh")
    assert back.tau_m == pytest.approx(20.0, rel=1e-12) and back.tau_out == pytest.approx(20.0, rel=1e-12)
    x = spikes_in(np.random.default_rng(2))
    np.testing.assert_array_equal(back.forward(x).z, net.forward(x).z)
    np.testing.assert_allclose(back.forward(x).y, net.forward(x).y, atol=1e-12)


@pytest.mark.parametrize("norm", ["tdbn", "bn", None])
def test_feedforward_round_trip_is_exact(tmp_path, norm):
    net = SNN([6, 9, 7, 3], T=8, norm=norm, seed=3)
    x = np.random.default_rng(0).random((5, 8, 6)) * 2.0
    net.run(x)                                                # a training pass sets running statistics
    net.eval()
    logits = net.forward(x)
    trace = net.run(x)
    assert 0.02 < float(np.mean(trace.s[0])) < 0.9
    g = through_file(mnir.to_nir(net, dt=1.0), tmp_path)
    back = mnir.from_nir(g)
    np.testing.assert_array_equal(back.forward(x), logits)
    assert back.norm == norm and back.T == 8 and not back.training
    # a NIR simulator: LIF reset to 0, folded batch norm; logits = mean of the output over steps
    out = mnir.simulate(g, x)
    np.testing.assert_array_equal(out["lif0"], trace.s[0])
    np.testing.assert_allclose(out["output"].mean(axis=1), logits, atol=1e-12)


def test_residual_feedforward_round_trip(tmp_path):
    net = SNN([6, 10, 10, 10, 10, 3], T=6, residual=True, seed=7)
    assert net.shortcuts == (-1, -1, 0, -1, 2)[:net.depth]
    x = np.random.default_rng(3).random((4, 6, 6)) * 2.0
    net.run(x)
    net.eval()
    for gamma in net.bn_gamma:
        gamma *= 3.0                                          # livelier layers: spikes to compare
    trace = net.run(x)
    assert all(0.02 < float(np.mean(s)) < 0.9 for s in trace.s)
    g = through_file(mnir.to_nir(net), tmp_path)
    assert ("lif0", "lif2") in g.edges
    back = mnir.from_nir(g)
    assert back.residual and back.shortcuts == net.shortcuts
    np.testing.assert_array_equal(back.forward(x), net.forward(x))
    out = mnir.simulate(g, x)                                 # shortcut summed into lif2's input
    for l in range(net.depth):
        np.testing.assert_array_equal(out[f"lif{l}"], trace.s[l])
    g.edges.remove(("lif0", "lif2"))
    g.edges.append(("lif1", "lif2"))                          # not one of the SNN's blocks
    with pytest.raises(ParameterError, match="not the residual blocks"):
        mnir.from_nir(g)


def test_foreign_feedforward_graph_imports(tmp_path):
    """A graph as snnTorch writes one (Affine with bias, LIF with Euler tau = dt/(1 - beta),
    r = tau/dt, dt = 1e-4 s not in the metadata): imported, it spikes as the graph says."""
    rng = np.random.default_rng(11)
    beta, dt = 0.8, 1e-4
    tau = dt / (1 - beta)
    nodes = {
        "input": nir.Input(input_type={"input": np.array([5])}),
        "fc0": nir.Affine(weight=rng.normal(0, 1, (9, 5)), bias=rng.normal(0, 0.3, 9)),
        "lif0": nir.LIF(tau=np.full(9, tau), r=np.full(9, tau / dt), v_leak=np.zeros(9),
                        v_threshold=np.full(9, 0.7), v_reset=np.zeros(9)),
        "fc_out": nir.Linear(weight=rng.normal(0, 1, (3, 9))),
        "output": nir.Output(output_type={"output": np.array([3])}),
    }
    edges = [("input", "fc0"), ("fc0", "lif0"), ("lif0", "fc_out"), ("fc_out", "output")]
    g = through_file(nir.NIRGraph(nodes=nodes, edges=edges), tmp_path)
    with pytest.raises(ParameterError, match="pass T="):
        mnir.from_nir(g, dt=0.1, method="euler")
    net = mnir.from_nir(g, dt=0.1, method="euler", T=10)
    assert net.tau_decay == pytest.approx(beta, rel=1e-12) and net.v_th == 0.7 and net.norm == "bn"
    x = rng.random((3, 10, 5)) * 2.0
    trace = net.run(x)
    assert 0.05 < float(np.mean(trace.s[0])) < 0.95
    out = mnir.simulate(g, x, dt=0.1, method="euler")
    np.testing.assert_array_equal(out["lif0"], trace.s[0])
    np.testing.assert_allclose(out["output"].mean(axis=1), net.forward(x), atol=1e-12)


def test_refusals():
    with pytest.raises(ParameterError, match="n_alif must be 0"):
        mnir.to_nir(RSNN(3, 4, 1, n_alif=2))
    with pytest.raises(ParameterError, match="smooth must be None"):
        mnir.to_nir(RSNN(3, 4, 1, smooth=5.0))
    with pytest.raises(ParameterError, match="method"):
        mnir.to_nir(RSNN(3, 4, 1), method="rk4")
    with pytest.raises(ParameterError, match="model must be"):
        mnir.to_nir("net")
    g = mnir.to_nir(RSNN(3, 4, 1, seed=0))
    w = g.nodes["w_rec"].weight
    np.fill_diagonal(w, 0.0)                                  # a reset NIR cannot pair with the RSNN
    with pytest.raises(ParameterError, match="diagonal must be -v_threshold"):
        mnir.from_nir(g)
    g = mnir.to_nir(RSNN(3, 4, 1, seed=0))
    g.nodes["membrane"].tau[0] *= 2
    with pytest.raises(ParameterError, match="membrane tau must be the same for every neuron"):
        mnir.from_nir(g)
    g = mnir.to_nir(RSNN(3, 4, 1, seed=0))
    g.nodes["membrane"].r[:] = 1.0
    with pytest.raises(ParameterError, match=r"membrane r must be 1/\(1 - alpha\)"):
        mnir.from_nir(g)
    cuba = nir.NIRGraph(nodes={
        "input": nir.Input(input_type={"input": np.array([2])}),
        "lin": nir.Linear(weight=np.eye(2)),
        "lif": nir.CubaLIF(tau_syn=np.ones(2), tau_mem=np.ones(2), r=np.ones(2), v_leak=np.zeros(2),
                           v_threshold=np.ones(2)),
        "output": nir.Output(output_type={"output": np.array([2])})},
        edges=[("input", "lin"), ("lin", "lif"), ("lif", "output")], metadata={"dt": 1e-3})
    with pytest.raises(ParameterError, match="CubaLIF"):
        mnir.from_nir(cuba)
    ff = mnir.to_nir(SNN([3, 4, 2], T=2, norm=None, seed=0))
    ff.nodes["lif0"].v_reset[:] = 0.1
    with pytest.raises(ParameterError, match="v_reset must be 0"):
        mnir.from_nir(ff)
