"""The deep-SNN protocols: small configs run, their criteria rows are well formed and their
measurements agree with what they are computed from."""
import numpy as np
import pytest

from plasticity.errors import ParameterError
from protocols import registry


@pytest.fixture(scope="module")
def depth_result():
    from protocols import tdbn_depth

    return tdbn_depth.run(tdbn_depth.Config.small())


def test_tdbn_depth_small(depth_result):
    from protocols import tdbn_depth

    r = depth_result
    assert r.accuracy.shape == (3, 2, 3) and r.grad_norms.shape == (3, 2, 3, 5)
    i = r.norm_names().index("tdbn")
    assert r.accuracy[i, 0, -1] > 0.6                                   # depth 2 learns the digits
    assert np.all(np.isnan(r.grad_norms[:, 0, :, 3:]))                  # beyond depth 2 + readout
    rows = tdbn_depth.compare(r)
    assert {row["rule"] for row in rows} == {"tdBN", "plain BN", "no normalisation"}
    ratio = rows[0]["distance"]
    g = r.grad_norms[i, 1, 0, :4]
    assert ratio == pytest.approx(g.max() / g.min())
    assert "tdbn" in tdbn_depth.summary(r)
    assert set(tdbn_depth.plot(r)) == {"accuracy_depth", "grad_norms", "firing_rates", "learning_curves"}


def test_tdbn_depth_config_validated():
    from protocols import tdbn_depth

    with pytest.raises(ParameterError, match="norms"):
        tdbn_depth.Config(norms="tdbn,layer")
    with pytest.raises(ParameterError, match="depths"):
        tdbn_depth.Config(depths=())


def test_registered():
    for name in ("tdbn_depth",):
        assert registry.get(name).Config.small()


def test_coding_energy_small_counts_operations():
    from analysis.energy import energy_figures
    from protocols import coding_energy

    r = coding_energy.run(coding_energy.Config.small())
    assert r.accuracy.shape == (2, 2) and np.all(r.accuracy > 0.3)
    lat = r.coding_names().index("latency")
    # latency coding: one spike per non-zero pixel whatever T
    from protocols.datasets import load_digits
    x_test = load_digits().x_test
    np.testing.assert_allclose(r.input_spikes[lat], np.count_nonzero(x_test) / len(x_test))
    # rate coding: the input spikes grow with T (mean intensity x T)
    rate = r.coding_names().index("rate")
    assert r.input_spikes[rate, 1] == pytest.approx(x_test.mean() * 64 * 8, rel=0.05)
    assert r.ann_macs == 64 * 32 + 32 * 10
    ac = energy_figures()["pj_per_op"]["fp32_add"]
    np.testing.assert_allclose(r.snn_pj, r.synaptic_ops * ac)
    assert np.all(r.synaptic_ops >= r.input_spikes * 32)
    rows = coding_energy.compare(r)
    assert len(rows) == 1 and isinstance(rows[0]["passed"], bool)
    assert set(coding_energy.plot(r)) == {"coding_energy", "encoded_raster"}
    assert "latency" in coding_energy.summary(r)


def test_surrogate_sweep_small():
    from protocols import surrogate_sweep

    r = surrogate_sweep.run(surrogate_sweep.Config.small())
    assert r.accuracy.shape == (2, 2) and np.all(r.accuracy > 0.6)
    row = surrogate_sweep.compare(r)[0]
    assert row["distance"] == pytest.approx(r.accuracy.max() - r.accuracy.min())
    assert set(surrogate_sweep.plot(r)) == {"surrogate_sweep"}
    with pytest.raises(ParameterError, match="kinds"):
        surrogate_sweep.Config(kinds="triangular")


def test_surrogate_width_mapping():
    from plasticity.surrogate import psi_reference
    from protocols.surrogate_sweep import SWEPT, surrogate_for

    for kind in ("rectangular", "dspike", "arctan"):
        for w in (0.5, 2.0):
            peak = psi_reference(0.0, surrogate_for(kind, w, 1e-6), 0.5)
            assert peak == pytest.approx(1.0 / w, rel=1e-6)  # dspike at b -> 0 is the rectangle
    assert len(SWEPT) == 4


def test_all_three_registered():
    for name in ("tdbn_depth", "coding_energy", "surrogate_sweep"):
        assert registry.get(name).Config.small()


def _write_idx(path, array, magic):
    import gzip

    header = magic.to_bytes(4, "big") + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    with gzip.open(path, "wb") as fh:
        fh.write(header + array.astype(np.uint8).tobytes())


def test_protocols_run_on_idx_files(tmp_path):
    """MNIST-format files the test writes: 12x12 images of three classes (a bright row per
    class); the protocol reads all four, sizes its network from them and learns them."""
    from protocols import surrogate_sweep, tdbn_depth

    rng = np.random.default_rng(0)
    for stem, n in (("train", 120), ("t10k", 60)):
        labels = rng.integers(0, 3, n)
        images = rng.integers(0, 40, (n, 12, 12))
        images[np.arange(n), 2 + 4 * labels, :] = 250
        _write_idx(tmp_path / f"{stem}-images-idx3-ubyte.gz", images, 2051)
        _write_idx(tmp_path / f"{stem}-labels-idx1-ubyte.gz", labels, 2049)
    r = surrogate_sweep.run(surrogate_sweep.Config(kinds="rectangular", widths=(1.0,), hidden=(16,), epochs=3,
                                                   batch=20, idx_dir=str(tmp_path)))
    assert r.accuracy[0, 0] > 0.9 and r.provenance["n_train"] == 120
    with pytest.raises(ParameterError, match="t10k-labels-idx1-ubyte"):
        (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
        tdbn_depth.Config(idx_dir=str(tmp_path))


@pytest.mark.slow
def test_tdbn_depth_full_reproduces_the_claim():
    """Default config (about 2.5 min): tdBN keeps the hidden-layer gradient norms within 10x of
    each other at every depth and trains the 16-layer net; without normalisation the deep
    nets stay at chance (measured 2026-12-01: ratios 1.02-1.24, accuracy 0.73 at depth 16)."""
    from protocols import tdbn_depth

    r = tdbn_depth.run(tdbn_depth.Config())
    assert all(row["passed"] for row in tdbn_depth.compare(r) if row["passed"] is not None)
    for j in range(r.depths.size):
        assert tdbn_depth.gradient_ratio(r, "tdbn", j) < 10
    none = r.norm_names().index("none")
    assert np.all(r.accuracy[none, 1:, -1] < 0.2)


@pytest.mark.slow
def test_coding_energy_full():
    """Default config (about a minute): rate coding's input spikes grow linearly in T,
    latency coding's stay one per non-zero pixel; the trade-off row passes (measured
    2026-12-01: latency at T=1 reaches 0.90 with 0.79x the synaptic operations of rate coding)."""
    from protocols import coding_energy

    r = coding_energy.run(coding_energy.Config())
    rate, lat = r.coding_names().index("rate"), r.coding_names().index("latency")
    np.testing.assert_allclose(r.input_spikes[rate] / r.steps, r.input_spikes[rate, 0], rtol=0.05)
    assert np.ptp(r.input_spikes[lat]) == 0
    assert coding_energy.compare(r)[0]["passed"]
    assert r.accuracy[rate].max() > 0.9
