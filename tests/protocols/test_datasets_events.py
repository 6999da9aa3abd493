"""Event datasets: SHD/SSC HDF5 and N-MNIST .bin files written in their exact formats, binning."""
import gzip

import h5py
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from plasticity import ParameterError
from protocols import datasets


def write_shd(path, times_s, units, labels, time_dtype=np.float16):
    """An HDF5 file laid out as the published shd_*.h5: vlen spikes/times (s), vlen
    spikes/units (uint16), labels (uint16), extra/speaker and extra/keys."""
    with h5py.File(path, "w") as f:
        t = f.create_dataset("spikes/times", (len(times_s),), dtype=h5py.vlen_dtype(time_dtype))
        u = f.create_dataset("spikes/units", (len(units),), dtype=h5py.vlen_dtype(np.uint16))
        for i, (ti, ui) in enumerate(zip(times_s, units)):
            t[i] = np.asarray(ti, dtype=time_dtype)
            u[i] = np.asarray(ui, dtype=np.uint16)
        f.create_dataset("labels", data=np.asarray(labels, dtype=np.uint16))
        f.create_dataset("extra/speaker", data=np.zeros(len(labels), np.uint16))
        f.create_dataset("extra/keys", data=[b"null", b"eins"])


@pytest.mark.parametrize("time_dtype", [np.float16, np.float32])
def test_shd_reads_variable_length_samples_in_ms(tmp_path, time_dtype):
    times = [[0.0125, 0.5, 0.75], [], [0.001, 0.002]]
    units = [[3, 699, 0], [], [17, 17]]
    write_shd(tmp_path / "shd.h5", times, units, [4, 19, 0], time_dtype)
    data = datasets.load_shd(tmp_path / "shd.h5")
    assert [len(t) for t in data.times] == [3, 0, 2]
    for got, sec in zip(data.times, times):
        assert got.dtype == np.float64
        # ms = s * 1000 of the value the file stores (float16 rounds 0.0125 s to 0.012496948 s)
        np.testing.assert_allclose(got, np.asarray(sec, time_dtype).astype(float) * 1000.0)
    np.testing.assert_allclose(data.times[0][1:], [500.0, 750.0])
    assert data.units[0].tolist() == [3, 699, 0] and data.units[0].dtype == np.int64
    assert data.labels.tolist() == [4, 19, 0] and data.labels.dtype == np.int64
    first = datasets.load_shd(tmp_path / "shd.h5", max_samples=1)
    assert len(first.times) == 1 and first.labels.tolist() == [4]


def test_shd_gzipped_file_reads_the_same(tmp_path):
    write_shd(tmp_path / "shd.h5", [[0.25], [0.5, 0.125]], [[1], [2, 3]], [1, 2])
    with open(tmp_path / "shd.h5", "rb") as src, gzip.open(tmp_path / "shd.h5.gz", "wb") as dst:
        dst.write(src.read())
    a, b = datasets.load_shd(tmp_path / "shd.h5"), datasets.load_shd(tmp_path / "shd.h5.gz")
    for x, y in zip(a.times + a.units, b.times + b.units):
        np.testing.assert_array_equal(x, y)
    assert b.times[1].tolist() == [500.0, 125.0]


def test_shd_bad_files(tmp_path):
    with pytest.raises(ParameterError, match="zenkelab.org") as e:
        datasets.load_shd(tmp_path / "shd_train.h5")
    assert "not found" in str(e.value) and "\n" not in str(e.value)
    (tmp_path / "junk.h5").write_bytes(b"not hdf5")
    with pytest.raises(ParameterError, match="not an HDF5 file"):
        datasets.load_shd(tmp_path / "junk.h5")
    with h5py.File(tmp_path / "nolabels.h5", "w") as f:
        f.create_dataset("spikes/times", data=np.zeros((1, 2)))
    with pytest.raises(ParameterError, match="lacks spikes/units, labels"):
        datasets.load_shd(tmp_path / "nolabels.h5")
    write_shd(tmp_path / "ragged.h5", [[0.1, 0.2]], [[1]], [0])
    with pytest.raises(ParameterError, match="sample 0 has 2 times but 1 units"):
        datasets.load_shd(tmp_path / "ragged.h5")


def nmnist_bytes(events):
    """Encode (x, y, polarity, t_us) tuples as N-MNIST's 40-bit events, byte by byte."""
    out = bytearray()
    for x, y, p, t in events:
        assert t < 2 ** 23
        out += bytes([x, y, (p << 7) | (t >> 16), (t >> 8) & 0xFF, t & 0xFF])
    return bytes(out)


def test_nmnist_events_decode_bit_fields(tmp_path):
    events = [(0, 0, 0, 0), (33, 5, 1, 1), (7, 33, 1, 2 ** 23 - 1), (12, 20, 0, 70000)]
    (tmp_path / "00002.bin").write_bytes(nmnist_bytes(events))
    ev = datasets.read_nmnist_events(tmp_path / "00002.bin")
    assert ev.x.tolist() == [0, 33, 7, 12]
    assert ev.y.tolist() == [0, 5, 33, 20]
    assert ev.polarity.tolist() == [0, 1, 1, 0]
    assert ev.t_us.tolist() == [0, 1, 8388607, 70000]
    t_ms, units = datasets.nmnist_spikes(ev)
    assert t_ms.tolist() == [0.0, 0.001, 8388.607, 70.0]
    assert units.tolist() == [0, 1156 + 5 * 34 + 33, 1156 + 33 * 34 + 7, 20 * 34 + 12]


def test_nmnist_overflow_marker_shifts_later_timestamps(tmp_path):
    events = [(1, 1, 1, 100), (0, 240, 0, 0), (2, 2, 0, 50), (0, 240, 0, 0), (3, 3, 1, 7)]
    (tmp_path / "o.bin").write_bytes(nmnist_bytes(events))
    ev = datasets.read_nmnist_events(tmp_path / "o.bin")
    assert ev.x.tolist() == [1, 2, 3]
    assert ev.t_us.tolist() == [100, 50 + 8192, 7 + 2 * 8192]


def test_nmnist_bad_files_and_folder(tmp_path):
    (tmp_path / "t.bin").write_bytes(bytes(7))
    with pytest.raises(ParameterError, match="7 bytes, not a whole number of 5-byte events"):
        datasets.read_nmnist_events(tmp_path / "t.bin")
    with pytest.raises(ParameterError, match="garrickorchard.com"):
        datasets.read_nmnist_events(tmp_path / "none.bin")
    (tmp_path / "w.bin").write_bytes(nmnist_bytes([(34, 0, 0, 1)]))
    with pytest.raises(ParameterError, match=r"\(34, 0\) is outside the 34 x 34 sensor"):
        datasets.nmnist_spikes(datasets.read_nmnist_events(tmp_path / "w.bin"))
    with pytest.raises(ParameterError, match="split"):
        datasets.load_nmnist(tmp_path, split="train")
    with pytest.raises(ParameterError, match="not found; get it from"):
        datasets.load_nmnist(tmp_path)


def test_load_nmnist_folder_tree(tmp_path):
    for digit, n in ((0, 2), (3, 1)):
        folder = tmp_path / "Test" / str(digit)
        folder.mkdir(parents=True)
        for k in range(n):
            (folder / f"{k:05d}.bin").write_bytes(nmnist_bytes([(digit, k, 1, 1000 * (k + 1))]))
    data = datasets.load_nmnist(tmp_path)
    assert data.labels.tolist() == [0, 0, 3]
    assert [t.tolist() for t in data.times] == [[1.0], [2.0], [1.0]]
    assert [u.tolist() for u in data.units] == [[1156], [1156 + 34], [1156 + 3]]
    assert datasets.load_nmnist(tmp_path, max_per_class=1).labels.tolist() == [0, 3]


def test_bin_events_hand_counted():
    x = datasets.bin_events([[0.0, 0.99, 1.0, 2.5, 2.7, 9.99, 10.0, 0.3], [4.0]],
                            [[0, 1, 1, 2, 2, 0, 0, 1], [2]], 3, dt=1.0, T=10)
    assert x.shape == (2, 10, 3)
    expected = np.zeros((2, 10, 3))
    expected[0, 0, 0] = 1          # t = 0
    expected[0, 0, 1] = 2          # t = 0.99 and 0.3
    expected[0, 1, 1] = 1          # t = 1.0
    expected[0, 2, 2] = 2          # t = 2.5, 2.7
    expected[0, 9, 0] = 1          # t = 9.99; t = 10.0 is past T*dt and dropped
    expected[1, 4, 2] = 1
    np.testing.assert_array_equal(x, expected)
    # a time that is a whole number of steps up to rounding lands in that step (0.3/0.1)
    assert datasets.bin_events([[0.3]], [[0]], 1, dt=0.1, T=5)[0, :, 0].tolist() == [0, 0, 0, 1, 0]


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 39), st.integers(0, 4)), max_size=60),
       st.sampled_from([0.5, 1.0, 2.0]))
def test_bin_events_equals_histogram(spikes, dt):
    # times at bin centres, so the histogram over edges k*dt is unambiguous
    t = np.array([(k + 0.5) * dt for k, _ in spikes])
    u = np.array([c for _, c in spikes], dtype=int)
    x = datasets.bin_events([t], [u], 5, dt=dt, T=30)
    h, _, _ = np.histogram2d(t, u, bins=[np.arange(31) * dt, np.arange(6)])
    np.testing.assert_array_equal(x[0], h)


def test_bin_events_refuses_bad_input():
    with pytest.raises(ParameterError, match=r"units must be in 0\.\.2"):
        datasets.bin_events([[1.0]], [[3]], 3, dt=1.0, T=4)
    with pytest.raises(ParameterError, match="dt must be > 0"):
        datasets.bin_events([[1.0]], [[0]], 3, dt=0.0, T=4)
    with pytest.raises(ParameterError, match="T must be an integer >= 1"):
        datasets.bin_events([[1.0]], [[0]], 3, dt=1.0, T=0)
    with pytest.raises(ParameterError, match="finite and >= 0"):
        datasets.bin_events([[-1.0]], [[0]], 3, dt=1.0, T=4)
    with pytest.raises(ParameterError, match="one array per sample"):
        datasets.bin_events([[1.0]], [], 3, dt=1.0, T=4)
    with pytest.raises(ParameterError, match="equal length"):
        datasets.bin_events([[1.0, 2.0]], [[0]], 3, dt=1.0, T=4)
