"""Datasets from a user's files (and scikit-learn's bundled digits) as NumPy arrays.

Nothing is downloaded: every loader reads a path the user gives, checks the file's format
and says where to get the file when it is missing.

- :func:`load_digits`: scikit-learn's bundled 8x8 digits (1797 images), a stratified seeded
  train/test split, pixels scaled to [0, 1].
- :func:`load_idx`: the IDX files of MNIST / Fashion-MNIST (LeCun et al. 1998; Xiao et al.
  2017), plain or gzip-compressed.
"""
from __future__ import annotations

import gzip
import os
from typing import NamedTuple

import numpy as np

from plasticity.errors import ParameterError, check_finite, check_int

IDX_IMAGES_MAGIC = 2051  # 0x00000803: unsigned bytes, 3 dimensions (count, rows, cols)
IDX_LABELS_MAGIC = 2049  # 0x00000801: unsigned bytes, 1 dimension (count)

MNIST_URL = "http://yann.lecun.com/exdb/mnist/ (or https://github.com/zalandoresearch/fashion-mnist)"


class Split(NamedTuple):
    """A train/test split: x float64 (n, n_features) in [0, 1], y int64 class labels."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def load_digits(*, test_fraction: float = 0.25, seed: int = 0) -> Split:
    """scikit-learn's bundled digits (UCI optdigits test set; 8x8 images, grey levels 0..16).

    Returns a :class:`Split` with x of shape (n, 64) scaled to [0, 1] (divided by 16) and
    labels 0..9; the split is stratified by class and seeded (``seed``), ``test_fraction``
    of each class goes to the test set.
    """
    from sklearn.datasets import load_digits as _sk_digits
    from sklearn.model_selection import train_test_split

    frac = check_finite("test_fraction", test_fraction)
    if not 0.0 < frac < 1.0:
        raise ParameterError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
    seed = check_int("seed", seed, 0)
    bunch = _sk_digits()
    x = np.asarray(bunch.data, dtype=np.float64) / 16.0
    y = np.asarray(bunch.target, dtype=np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(
        x, y, test_size=frac, random_state=seed, stratify=y)
    return Split(x_tr, y_tr, x_te, y_te)


def _missing(path, what: str, where: str) -> ParameterError:
    return ParameterError(f"{what} file {str(path)!r} not found; get it from {where}")


def _read_bytes(path, what: str, where: str) -> bytes:
    """The file's bytes, gunzipped when the name ends in .gz."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise _missing(path, what, where)
    try:
        if path.endswith(".gz"):
            with gzip.open(path, "rb") as f:
                return f.read()
        with open(path, "rb") as f:
            return f.read()
    except (OSError, EOFError) as exc:
        raise ParameterError(f"{what} file {path!r} cannot be read: {exc}") from None


def _idx_array(path, magic: int, n_dims: int) -> np.ndarray:
    """One IDX file (big-endian header: magic, then ``n_dims`` uint32 sizes; uint8 data)."""
    data = _read_bytes(path, "IDX", MNIST_URL)
    header = 4 * (1 + n_dims)
    if len(data) < header:
        raise ParameterError(
            f"IDX file {str(path)!r} is truncated: {len(data)} bytes, the header alone needs {header}")
    got = int.from_bytes(data[:4], "big")
    if got != magic:
        raise ParameterError(
            f"IDX file {str(path)!r} has magic number {got}, expected {magic} "
            f"({'images' if magic == IDX_IMAGES_MAGIC else 'labels'})")
    dims = tuple(int.from_bytes(data[4 * (1 + i):4 * (2 + i)], "big") for i in range(n_dims))
    size = int(np.prod(dims))
    if len(data) - header != size:
        raise ParameterError(
            f"IDX file {str(path)!r} holds {len(data) - header} data bytes, its header "
            f"{dims} says {size} (truncated or corrupt)")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


def load_idx(images_path, labels_path) -> tuple[np.ndarray, np.ndarray]:
    """MNIST / Fashion-MNIST IDX files (plain or .gz) -> (images, labels).

    images: float64 (n, rows*cols), pixel / 255 in [0, 1]; labels: int64 (n,). The format
    (LeCun et al., http://yann.lecun.com/exdb/mnist/): a big-endian uint32 magic number
    (2051 images, 2049 labels), the dimension sizes as big-endian uint32, then uint8 data.
    """
    images = _idx_array(images_path, IDX_IMAGES_MAGIC, 3)
    labels = _idx_array(labels_path, IDX_LABELS_MAGIC, 1)
    if images.shape[0] != labels.shape[0]:
        raise ParameterError(
            f"IDX files {str(images_path)!r} and {str(labels_path)!r} disagree: "
            f"{images.shape[0]} images but {labels.shape[0]} labels")
    x = images.reshape(images.shape[0], -1).astype(np.float64) / 255.0
    return x, labels.astype(np.int64)
