"""Dataset loaders: bundled digits split; IDX files written byte by byte in the MNIST format."""
import gzip
import struct

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from plasticity import ParameterError
from protocols import datasets


def test_digits_split_is_stratified_seeded_and_scaled():
    s = datasets.load_digits()
    assert s.x_train.shape[1] == s.x_test.shape[1] == 64
    n = len(s.y_train) + len(s.y_test)
    assert n == 1797                                        # sklearn's bundled optdigits set
    assert len(s.y_test) == int(np.ceil(0.25 * 1797))        # 450
    assert s.x_train.dtype == np.float64 and s.y_train.dtype == np.int64
    assert s.x_train.min() == 0.0 and s.x_train.max() == 1.0  # grey levels 0..16 / 16
    # stratified: every class's test share is within one sample of 25 %
    counts = np.bincount(np.concatenate([s.y_train, s.y_test]), minlength=10)
    test_counts = np.bincount(s.y_test, minlength=10)
    assert np.all(np.abs(test_counts - 0.25 * counts) <= 1.0)
    again = datasets.load_digits()
    np.testing.assert_array_equal(again.x_test, s.x_test)
    other = datasets.load_digits(seed=1)
    assert not np.array_equal(other.y_test, s.y_test)


def test_digits_pixels_match_sklearn_data():
    from sklearn.datasets import load_digits
    raw = load_digits()
    s = datasets.load_digits(test_fraction=0.5, seed=3)
    # every training row is a row of the raw set divided by 16, with its label
    lookup = {r.tobytes(): t for r, t in zip(raw.data.astype(np.float64), raw.target)}
    for row, label in zip(s.x_train[:50] * 16.0, s.y_train[:50]):
        assert lookup[row.tobytes()] == label


@pytest.mark.parametrize("bad", [0.0, 1.0, -0.2, float("nan")])
def test_digits_bad_fraction(bad):
    with pytest.raises(ParameterError, match="test_fraction"):
        datasets.load_digits(test_fraction=bad)


def _write_idx(path, magic, dims, payload: bytes, compress=False):
    raw = struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in dims) + payload
    opener = gzip.open if compress else open
    with opener(path, "wb") as f:
        f.write(raw)


@pytest.mark.parametrize("compress", [False, True])
def test_idx_round_trip(tmp_path, compress):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(7, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=7, dtype=np.uint8)
    suffix = ".gz" if compress else ""
    ip, lp = tmp_path / f"img-idx3-ubyte{suffix}", tmp_path / f"lab-idx1-ubyte{suffix}"
    _write_idx(ip, 2051, (7, 28, 28), images.tobytes(), compress)
    _write_idx(lp, 2049, (7,), labels.tobytes(), compress)
    x, y = datasets.load_idx(ip, lp)
    assert x.shape == (7, 784) and x.dtype == np.float64 and y.dtype == np.int64
    np.testing.assert_array_equal(x * 255.0, images.reshape(7, -1).astype(float))
    np.testing.assert_array_equal(y, labels)
    # row-major: pixel (row 3, col 5) of image 2 is column 3*28+5
    assert x[2, 3 * 28 + 5] == images[2, 3, 5] / 255.0


def test_idx_bad_files(tmp_path):
    img = np.zeros((3, 4, 4), np.uint8).tobytes()
    ip, lp = tmp_path / "i", tmp_path / "l"
    _write_idx(lp, 2049, (3,), bytes(3))
    _write_idx(ip, 2049, (3, 4, 4), img)                      # labels magic on an image file
    with pytest.raises(ParameterError, match=r"magic number 2049, expected 2051") as e:
        datasets.load_idx(ip, lp)
    assert str(ip) in str(e.value)
    _write_idx(ip, 2051, (3, 4, 4), img[:-5])                 # truncated data
    with pytest.raises(ParameterError, match="truncated") as e:
        datasets.load_idx(ip, lp)
    assert str(ip) in str(e.value)
    ip.write_bytes(b"\x00\x00\x08")                          # shorter than the header
    with pytest.raises(ParameterError, match="truncated"):
        datasets.load_idx(ip, lp)
    _write_idx(ip, 2051, (3, 4, 4), img)
    _write_idx(lp, 2049, (2,), bytes(2))                      # count mismatch
    with pytest.raises(ParameterError, match="3 images but 2 labels"):
        datasets.load_idx(ip, lp)
    with pytest.raises(ParameterError, match="not found; get it from") as e:
        datasets.load_idx(tmp_path / "missing", lp)
    assert "missing" in str(e.value)
    (tmp_path / "bad.gz").write_bytes(b"not gzip at all")
    with pytest.raises(ParameterError, match="cannot be read"):
        datasets.load_idx(tmp_path / "bad.gz", lp)
    whole = gzip.compress(struct.pack(">IIII", 2051, 3, 4, 4) + img)
    (tmp_path / "cut.gz").write_bytes(whole[:-12])            # a download that stopped early
    with pytest.raises(ParameterError, match="cut.gz' cannot be read"):
        datasets.load_idx(tmp_path / "cut.gz", lp)


@settings(max_examples=40, deadline=None)
@given(st.binary(max_size=64))
def test_idx_arbitrary_bytes_never_crash(tmp_path_factory, blob):
    p = tmp_path_factory.mktemp("idx") / "blob"
    p.write_bytes(blob)
    lp = p.parent / "labels"
    _write_idx(lp, 2049, (1,), bytes(1))
    try:
        x, y = datasets.load_idx(p, lp)
    except ParameterError:
        return
    assert x.shape[0] == y.shape[0] == 1
