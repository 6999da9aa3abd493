"""Datasets from a user's files (and scikit-learn's bundled digits) as NumPy arrays.

Nothing is downloaded: every loader reads a path the user gives, checks the file's format
and says where to get the file when it is missing.

- :func:`load_digits`: scikit-learn's bundled 8x8 digits (1797 images), a stratified seeded
  train/test split, pixels scaled to [0, 1].
- :func:`load_idx`: the IDX files of MNIST / Fashion-MNIST (LeCun et al. 1998; Xiao et al.
  2017), plain or gzip-compressed.
- :func:`load_shd`: Spiking Heidelberg Digits / Spiking Speech Commands HDF5 files.
- :func:`read_nmnist_events`, :func:`load_nmnist`: N-MNIST binary event files.
- :func:`bin_events`: per-sample spike times/units -> (batch, T, n_units) counts per bin,
  the input the gradient rules (BPTT, e-prop, OTTT) take.

Times are in ms everywhere (files in s or µs are converted on reading).
"""
from __future__ import annotations

import gzip
import os
import zlib
from typing import NamedTuple

import numpy as np

from plasticity.errors import ParameterError, check_choice, check_finite, check_int, check_positive

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
    except (OSError, EOFError, zlib.error) as exc:   # gzip: bad header, truncated, corrupt stream
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


# --- Spiking Heidelberg Digits / Spiking Speech Commands (Cramer et al. 2020, IEEE TNNLS) ---

SHD_URL = ("https://zenkelab.org/resources/spiking-heidelberg-datasets-shd/ (files "
           "shd_train.h5.gz / shd_test.h5.gz at https://zenkelab.org/datasets/, "
           "formerly compneuro.net/datasets)")
SHD_CHANNELS = 700  # cochlea-model channels of SHD and SSC


class SpikeData(NamedTuple):
    """Event data per sample: times (ms) and units (int) arrays of equal length, labels (n,)."""

    times: list
    units: list
    labels: np.ndarray


def _open_hdf5(path):
    import io

    import h5py

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise _missing(path, "SHD/SSC HDF5", SHD_URL)
    try:
        if path.endswith(".gz"):
            return h5py.File(io.BytesIO(_read_bytes(path, "SHD/SSC HDF5", SHD_URL)), "r")
        return h5py.File(path, "r")
    except OSError as exc:
        raise ParameterError(f"SHD/SSC file {path!r} is not an HDF5 file: {exc}") from None


def load_shd(path, *, max_samples: int | None = None) -> SpikeData:
    """Read a Spiking Heidelberg Digits / Spiking Speech Commands HDF5 file (or its .h5.gz).

    The file (Cramer, Stradmann, Schemmel & Zenke 2020) holds ``spikes/times`` (variable-
    length per sample, seconds), ``spikes/units`` (variable-length, channel 0..699) and
    ``labels``. Returns :class:`SpikeData` ``(times, units, labels)``: one float64 array of
    spike times **in ms** per sample, one int64 array of channels per sample, int64 labels.
    ``max_samples`` keeps only the first samples (the file order).
    """
    if max_samples is not None:
        max_samples = check_int("max_samples", max_samples, 1)
    with _open_hdf5(path) as f:
        missing = [k for k in ("spikes/times", "spikes/units", "labels") if k not in f]
        if missing:
            raise ParameterError(
                f"SHD/SSC file {str(path)!r} lacks {', '.join(missing)}; expected the datasets "
                "spikes/times, spikes/units and labels")
        n = len(f["labels"]) if max_samples is None else min(max_samples, len(f["labels"]))
        if len(f["spikes/times"]) < n or len(f["spikes/units"]) < n:
            raise ParameterError(
                f"SHD/SSC file {str(path)!r} has {len(f['labels'])} labels but "
                f"{len(f['spikes/times'])} times and {len(f['spikes/units'])} units entries")
        labels = np.asarray(f["labels"][:n], dtype=np.int64)
        raw_t, raw_u = f["spikes/times"][:n], f["spikes/units"][:n]
    times, units = [], []
    for i, (t, u) in enumerate(zip(raw_t, raw_u)):
        t = np.asarray(t, dtype=np.float64) * 1000.0
        u = np.asarray(u, dtype=np.int64)
        if t.shape != u.shape or t.ndim != 1:
            raise ParameterError(
                f"SHD/SSC file {str(path)!r}: sample {i} has {t.size} times but {u.size} units")
        times.append(t)
        units.append(u)
    return SpikeData(times, units, labels)


# --- N-MNIST (Orchard, Jayawant, Cohen & Thakor 2015, Front. Neurosci. 9:437) ---

NMNIST_URL = "https://www.garrickorchard.com/datasets/n-mnist"
NMNIST_SIZE = 34               # the ATIS sensor crop: 34 x 34 pixels
NMNIST_UNITS = 2 * NMNIST_SIZE * NMNIST_SIZE
_OVERFLOW_Y = 240              # an event with y = 240 marks a timestamp overflow, not a spike
_OVERFLOW_US = 2 ** 13         # added to all later timestamps at an overflow (Orchard's reader)


class Events(NamedTuple):
    """Address events of a DVS/ATIS recording: pixel x, y, polarity (1 = ON), time (µs)."""

    x: np.ndarray
    y: np.ndarray
    polarity: np.ndarray
    t_us: np.ndarray


def read_nmnist_events(path) -> Events:
    """One N-MNIST / N-Caltech101 ``.bin`` file -> :class:`Events`.

    Format (Orchard et al. 2015, dataset page): 40 bits per event, 5 bytes: byte 0 = x,
    byte 1 = y, then bit 23 = polarity (1 ON, 0 OFF) and bits 22..0 = timestamp in µs, most
    significant byte first. Events with y = 240 are timestamp-overflow markers: they are
    dropped and add 2**13 µs to every later timestamp, as the dataset authors' reader
    (gorchard/event-Python, also used by tonic) does.
    """
    raw = np.frombuffer(_read_bytes(path, "N-MNIST", NMNIST_URL), dtype=np.uint8)
    if raw.size % 5:
        raise ParameterError(
            f"N-MNIST file {str(path)!r} has {raw.size} bytes, not a whole number of "
            "5-byte events (truncated or not an N-MNIST .bin file)")
    ev = raw.reshape(-1, 5).astype(np.int64)
    x, y = ev[:, 0], ev[:, 1]
    polarity = ev[:, 2] >> 7
    t = ((ev[:, 2] & 0x7F) << 16) | (ev[:, 3] << 8) | ev[:, 4]
    overflow = y == _OVERFLOW_Y
    t = t + _OVERFLOW_US * np.cumsum(overflow)
    keep = ~overflow
    return Events(x[keep], y[keep], polarity[keep], t[keep])


def nmnist_spikes(events: Events, *, size: int = NMNIST_SIZE) -> tuple[np.ndarray, np.ndarray]:
    """Events -> (times in ms, units): unit = polarity*size*size + y*size + x (2*34*34 units).

    Pixels outside the size x size sensor are refused.
    """
    size = check_int("size", size, 1)
    bad = (events.x >= size) | (events.y >= size)
    if bad.any():
        i = int(np.argmax(bad))
        raise ParameterError(
            f"N-MNIST event at ({int(events.x[i])}, {int(events.y[i])}) is outside the "
            f"{size} x {size} sensor")
    units = events.polarity * size * size + events.y * size + events.x
    return events.t_us.astype(np.float64) / 1000.0, units.astype(np.int64)


def load_nmnist(root, *, split: str = "Test", max_per_class: int | None = None) -> SpikeData:
    """An N-MNIST split as unpacked from the dataset's zip: ``root/<split>/<digit>/*.bin``.

    Returns :class:`SpikeData` with times in ms and units 0..2311 (see :func:`nmnist_spikes`);
    labels are the digit folder names. Files are read in sorted order; ``max_per_class``
    keeps the first files of each digit.
    """
    check_choice("split", split, ("Train", "Test"))
    if max_per_class is not None:
        max_per_class = check_int("max_per_class", max_per_class, 1)
    base = os.path.join(os.fspath(root), split)
    if not os.path.isdir(base):
        raise _missing(base, "N-MNIST folder", NMNIST_URL)
    times, units, labels = [], [], []
    for digit in range(10):
        folder = os.path.join(base, str(digit))
        names = sorted(n for n in os.listdir(folder) if n.endswith(".bin")) if os.path.isdir(folder) else []
        for name in names[:max_per_class]:
            t, u = nmnist_spikes(read_nmnist_events(os.path.join(folder, name)))
            times.append(t)
            units.append(u)
            labels.append(digit)
    if not labels:
        raise ParameterError(f"N-MNIST folder {base!r} holds no <digit>/*.bin files; get them from {NMNIST_URL}")
    return SpikeData(times, units, np.asarray(labels, dtype=np.int64))


# --- events -> the (batch, T, n_in) arrays of the gradient rules ---

def bin_events(times, units, n_units: int, *, dt: float, T: int) -> np.ndarray:
    """Spike counts per time bin: (batch, T, n_units) float64.

    ``times`` (ms) and ``units`` are sequences with one array per sample. A spike at t falls
    in bin floor(t/dt + 1e-3) (Brian2's timestep rule, see docs/conventions.md); spikes at or
    after T*dt are dropped. Units must lie in 0..n_units-1 (downsample channels before, e.g.
    ``units // 4``).
    """
    n_units = check_int("n_units", n_units, 1)
    T = check_int("T", T, 1)
    dt = check_positive("dt", dt, "ms")
    if len(times) != len(units):
        raise ParameterError(f"times and units must hold one array per sample, got {len(times)} and {len(units)}")
    out = np.zeros((len(times), T, n_units))
    for b, (t, u) in enumerate(zip(times, units)):
        t = np.asarray(t, dtype=np.float64)
        u = np.asarray(u)
        if t.shape != u.shape or t.ndim != 1:
            raise ParameterError(f"sample {b}: times and units must be 1-D of equal length, got {t.shape} and {u.shape}")
        if t.size and not (np.isfinite(t).all() and t.min() >= 0.0):
            raise ParameterError(f"sample {b}: spike times must be finite and >= 0 ms, got min {t.min()!r}")
        if u.size and (u.min() < 0 or u.max() >= n_units):
            raise ParameterError(
                f"sample {b}: units must be in 0..{n_units - 1} (n_units={n_units}), got "
                f"{int(u.min())}..{int(u.max())}")
        k = np.floor(t / dt + 1e-3).astype(np.int64)
        keep = k < T
        np.add.at(out[b], (k[keep], u[keep].astype(np.int64)), 1.0)
    return out
