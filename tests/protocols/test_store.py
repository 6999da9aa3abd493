"""Run directories: exact round trip, incomplete runs marked, name collisions suffixed."""
import dataclasses
import json
import subprocess

import numpy as np
import pytest
from matplotlib.figure import Figure

from protocols import store


@dataclasses.dataclass(frozen=True)
class Config:
    n: int = 3
    rate_hz: float = 15.0
    seed: int = 7
    taus_ms: tuple = (16.8, 33.7)
    w0: np.ndarray = dataclasses.field(default_factory=lambda: np.array([0.5, 0.25]))
    scale: np.float64 = np.float64(2.5)


@dataclasses.dataclass
class Result:
    config: Config
    weights: np.ndarray
    spike_i: np.ndarray
    spike_t: np.ndarray
    mask: np.ndarray
    final_rate_hz: float
    n_spikes: int
    label: str
    trains: list
    provenance: dict


def make_result(seed=0):
    rng = np.random.default_rng(seed)
    return Result(
        config=Config(),
        weights=rng.random((5, 4)),
        spike_i=rng.integers(0, 10, 50),
        spike_t=np.sort(rng.random(50) * 1000.0),
        mask=rng.random(7) > 0.5,
        final_rate_hz=12.345678901234567,
        n_spikes=50,
        label="pair STDP",
        trains=[np.array([1.0])],
        provenance={"wall_time_s": 1.25, "backend": "native"},
    )


def figure():
    fig = Figure()
    fig.add_subplot().plot([0, 1], [1, 0])
    return fig


@pytest.fixture
def fixed_stamp(monkeypatch):
    monkeypatch.setattr(store, "_timestamp", lambda: "20240101-120000")
    return "20240101-120000"


def test_round_trip(tmp_path, fixed_stamp):
    result = make_result()
    path = store.save_run("demo", Config(), result, {"weights": figure()}, "all good",
                          root=tmp_path)
    assert path == tmp_path / "demo" / fixed_stamp
    assert sorted(p.name for p in path.iterdir()) == [
        "config.json", "provenance.json", "result.npz", "summary.txt", "weights.png"]
    config, arrays, prov = store.load_run(path)

    assert config == {"n": 3, "rate_hz": 15.0, "seed": 7, "taus_ms": [16.8, 33.7],
                      "w0": [0.5, 0.25], "scale": 2.5}
    assert set(arrays) == {"weights", "spike_i", "spike_t", "mask", "final_rate_hz",
                           "n_spikes", "label"}
    for key in ("weights", "spike_i", "spike_t", "mask"):
        np.testing.assert_array_equal(arrays[key], getattr(result, key))
        assert arrays[key].dtype == getattr(result, key).dtype
    assert arrays["final_rate_hz"] == result.final_rate_hz
    assert arrays["n_spikes"] == 50 and arrays["label"] == "pair STDP"

    assert prov["seed"] == 7
    assert prov["wall_time_s"] == 1.25 and prov["backend"] == "native"
    assert prov["result_fields_not_saved"] == ["trains"]
    assert set(prov["versions"]) >= {"numpy", "numba", "brian2", "scipy", "matplotlib"}
    assert prov["versions"]["numpy"] == np.__version__
    for key in ("python", "git_commit", "hostname", "platform"):
        assert key in prov
    assert (path / "summary.txt").read_text() == "all good\n"
    assert (path / "weights.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list((tmp_path / "demo").glob(".*"))


def test_failing_figure_leaves_incomplete_directory(tmp_path, fixed_stamp):
    class Broken(Figure):
        def savefig(self, *args, **kwargs):
            raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        store.save_run("demo", Config(), make_result(), {"ok": figure(), "bad": Broken()}, "s",
                       root=tmp_path)
    entries = sorted(p.name for p in (tmp_path / "demo").iterdir())
    assert entries == [f"{fixed_stamp}.incomplete"]
    incomplete = tmp_path / "demo" / entries[0]
    assert "disk on fire" in (incomplete / "INCOMPLETE").read_text()
    assert "Traceback" in (incomplete / "INCOMPLETE").read_text()
    assert (incomplete / "result.npz").exists()  # the data written before the failure is kept
    with pytest.raises(ValueError, match="incomplete"):
        store.load_run(incomplete)


def test_failing_lazy_figures_keep_the_data(tmp_path, fixed_stamp):
    def plot():
        raise ValueError("no axes")

    with pytest.raises(ValueError, match="no axes"):
        store.save_run("demo", Config(), make_result(), plot, "s", root=tmp_path)
    incomplete = tmp_path / "demo" / f"{fixed_stamp}.incomplete"
    assert {"config.json", "result.npz", "provenance.json", "INCOMPLETE"} <= {
        p.name for p in incomplete.iterdir()}


def test_colliding_timestamps_get_suffixes(tmp_path, fixed_stamp):
    paths = [store.save_run("demo", Config(), make_result(), {}, "s", root=tmp_path)
             for _ in range(3)]
    assert [p.name for p in paths] == [fixed_stamp, f"{fixed_stamp}-1", f"{fixed_stamp}-2"]


def test_incomplete_name_is_not_reused(tmp_path, fixed_stamp):
    (tmp_path / "demo" / f"{fixed_stamp}.incomplete").mkdir(parents=True)
    path = store.save_run("demo", Config(), make_result(), {}, "s", root=tmp_path)
    assert path.name == f"{fixed_stamp}-1"


def test_provenance_without_git(monkeypatch):
    def no_git(*args, **kwargs):
        raise FileNotFoundError("git")

    monkeypatch.setattr(subprocess, "run", no_git)
    prov = store.provenance(Config(), make_result())
    assert prov["git_commit"] is None and prov["git_dirty"] is None


def test_bad_name_rejected_before_writing(tmp_path):
    with pytest.raises(ValueError, match="name"):
        store.save_run("../escape", Config(), make_result(), {}, "s", root=tmp_path)
    assert not list(tmp_path.iterdir())


def test_load_run_missing_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match="config.json"):
        store.load_run(tmp_path)


def test_write_text_atomic_replaces_whole_file(tmp_path):
    target = tmp_path / "sub" / "summary.txt"
    store.write_text_atomic(target, "first")
    store.write_text_atomic(target, "second")
    assert target.read_text() == "second"
    assert [p.name for p in target.parent.iterdir()] == ["summary.txt"]


def test_config_json_is_plain_json(tmp_path, fixed_stamp):
    path = store.save_run("demo", {"a": np.arange(3), "b": np.float32(0.5)}, make_result(), {},
                          "s", root=tmp_path)
    assert json.loads((path / "config.json").read_text()) == {"a": [0, 1, 2], "b": 0.5}
