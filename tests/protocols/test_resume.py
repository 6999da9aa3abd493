"""plab run --resume: a long protocol interrupted after any of its checkpoints and resumed from
its .incomplete directory saves bitwise the arrays of the run that was never interrupted
(protocols.checkpoint on Network.save/load; issue 13 item 16)."""
import numpy as np
import pytest

from plasticity.errors import ParameterError
from protocols import checkpoint, cli, cli_run, registry, store


class Stop(KeyboardInterrupt):
    pass


def _interrupt_after(monkeypatch, n_saves):
    real = checkpoint._save
    count = {"n": 0}

    def save(*args):
        real(*args)
        count["n"] += 1
        if count["n"] == n_saves:
            raise Stop()

    monkeypatch.setattr(checkpoint, "_save", save)


def _count_saves(monkeypatch):
    real = checkpoint._save
    count = {"n": 0}

    def save(*args):
        real(*args)
        count["n"] += 1

    monkeypatch.setattr(checkpoint, "_save", save)
    return count


def _arrays(path):
    _, arrays, _ = store.load_run(path)
    return arrays


MEASURED = {"compare_bptt": ("time_per_iter_ms", "peak_memory_mb", "scaling_time_ms", "scaling_memory_mb")}      # wall-clock measurements differ in every run


@pytest.mark.parametrize("name, cuts", [("song2000", (3, 10)), ("izhikevich2007", (4,)), ("compare_bptt", (2, 7))])
def test_resumed_run_saves_the_uninterrupted_arrays(tmp_path, monkeypatch, name, cuts):
    module = registry.get(name)
    config = module.Config.small()
    saves = _count_saves(monkeypatch)
    whole, _ = cli_run.run_and_save(name, module, config, out=tmp_path / "whole", figures=False)
    total = saves["n"]
    want = _arrays(whole)
    assert not checkpoint.saved_keys(whole)                      # a complete run keeps none
    for cut in cuts:
        with monkeypatch.context() as m:
            _interrupt_after(m, cut)
            with pytest.raises(KeyboardInterrupt):
                cli_run.run_and_save(name, module, config, out=tmp_path / f"cut{cut}", figures=False)
        incomplete = next((tmp_path / f"cut{cut}" / name).glob("*.incomplete"))
        assert checkpoint.saved_keys(incomplete)
        saves = _count_saves(monkeypatch)
        assert cli.main(["run", name, "--resume", str(incomplete), "--out", str(tmp_path / f"resumed{cut}"),
                         "--no-figures", "--quiet"]) == 0
        assert saves["n"] == total - cut                  # it went on from the checkpoint, not from t = 0
        resumed = next(p for p in (tmp_path / f"resumed{cut}" / name).iterdir() if not p.name.startswith("."))
        got = _arrays(resumed)
        assert sorted(got) == sorted(want)
        for key in want:
            if key not in MEASURED.get(name, ()):
                assert np.array_equal(got[key], want[key]), key


def test_resume_refuses_what_it_cannot_continue(tmp_path, capsys):
    module = registry.get("song2000")
    done, _ = cli_run.run_and_save("song2000", module, module.Config.small(), out=tmp_path, figures=False)
    assert cli.main(["run", "song2000", "--resume", str(done)]) == 2
    assert "interrupted run directory" in capsys.readouterr().err
    assert cli.main(["run", "song2000", "--resume", str(done), "--small"]) == 2
    assert "cannot be combined" in capsys.readouterr().err
    assert cli.main(["run", "izhikevich2007", "--resume", str(tmp_path / "nothing")]) == 2


def test_outside_plab_a_checkpointed_run_is_a_plain_run(tmp_path):
    import models

    def build():
        net = models.Network(dt=0.1, seed=1)
        cell = net.add(models.LIF(1, i_ext=400.0))
        return net, {"spikes": net.record_spikes(cell)}

    net, h = checkpoint.network("x", build)
    checkpoint.run("x", net, h, 50.0)
    assert net.t == pytest.approx(50.0) and h["spikes"].t.size > 0
    assert not list(tmp_path.iterdir())


def test_a_damaged_checkpoint_is_named(tmp_path):
    (tmp_path / "checkpoint-k.plab").write_bytes(b"junk")
    with checkpoint.active(tmp_path / "new", resume=tmp_path):
        with pytest.raises(ParameterError, match="not a readable checkpoint"):
            checkpoint.network("k", lambda: None)
