"""PendingRun: the run directory exists (hidden) from the start; it ends complete, incomplete
or removed, and nothing else."""
import dataclasses

import numpy as np
import pytest

from protocols import store


@dataclasses.dataclass(frozen=True)
class Config:
    n: int = 2
    seed: int = 5


@dataclasses.dataclass
class Result:
    config: Config
    x: np.ndarray
    provenance: dict


@pytest.fixture
def stamp(monkeypatch):
    monkeypatch.setattr(store, "_timestamp", lambda: "20240101-000000")
    return "20240101-000000"


def test_begin_writes_config_into_a_hidden_directory(tmp_path, stamp):
    pending = store.begin_run("p", Config(), root=tmp_path)
    assert [p.name for p in (tmp_path / "p").iterdir()] == [f".{stamp}.partial"]
    assert (pending.partial / "config.json").read_text().startswith('{\n  "n": 2')
    final = pending.finish(Result(Config(), np.arange(3.0), {"wall_time_s": 0.5}), {}, "done",
                           defaults={"wall_time_s": 9.0, "backend": "native"})
    assert final == tmp_path / "p" / stamp and [p.name for p in (tmp_path / "p").iterdir()] == [stamp]
    config, arrays, prov = store.load_run(final)
    assert config == {"n": 2, "seed": 5} and prov["seed"] == 5
    assert prov["wall_time_s"] == 0.5 and prov["backend"] == "native"   # the result's own value wins
    np.testing.assert_array_equal(arrays["x"], [0.0, 1.0, 2.0])
    with pytest.raises(RuntimeError, match="already finished"):
        pending.finish(Result(Config(), np.zeros(1), {}), {}, "again")


def test_fail_marks_incomplete_once_and_discard_removes(tmp_path, stamp):
    pending = store.begin_run("p", Config(), root=tmp_path)
    target = pending.fail("Traceback: boom")
    assert target == tmp_path / "p" / f"{stamp}.incomplete"
    assert (target / "INCOMPLETE").read_text() == "Traceback: boom"
    assert {p.name for p in target.iterdir()} == {"config.json", "provenance.json", "INCOMPLETE"}
    assert pending.fail("again") is None                                 # no second directory
    other = store.begin_run("p", Config(), root=tmp_path)
    assert other.final.name == f"{stamp}-1"                               # the incomplete name is not reused
    other.discard()
    assert sorted(p.name for p in (tmp_path / "p").iterdir()) == [f"{stamp}.incomplete"]
