"""compare_bptt's `shd` task on a tiny file in the SHD layout: binning, held-out split, CLI errors."""
import numpy as np
import pytest

from plasticity import ParameterError
from protocols import cli, compare_bptt
from protocols.tasks import SHDClassification, make_task

from test_datasets_events import write_shd  # tests/protocols is on sys.path (rootdir conftest layout)

N = 50


@pytest.fixture(scope="module")
def shd_file(tmp_path_factory):
    """Sample i: 3 marker spikes at t = 0 on channel 5*i (pooled channel i), then 40 spikes
    on channels near 200*(i % 3) between 20 and 1100 ms (the last ones past the 1 s window)."""
    rng = np.random.default_rng(7)
    times, units, labels = [], [], []
    for i in range(N):
        t = np.concatenate([np.zeros(3), rng.uniform(0.02, 1.1, 40)])
        u = np.concatenate([np.full(3, 5 * i), rng.integers(0, 100, 40) + 200 * (i % 3)])
        times.append(t)
        units.append(u)
        labels.append(i % 3)
    path = tmp_path_factory.mktemp("shd") / "shd_train.h5"
    write_shd(path, times, units, labels, np.float32)
    return path, times, units, np.array(labels)


def expected_bins(times_s, units, channel_factor=5, dt=10.0, T=100):
    """Counts per (step, pooled channel), one spike at a time."""
    x = np.zeros((T, -(-700 // channel_factor)))
    for t, u in zip(np.asarray(times_s, np.float32).astype(float) * 1000.0, units):
        k = int(np.floor(t / dt + 1e-3))
        if k < T:
            x[k, u // channel_factor] += 1
    return x


def test_task_bins_the_drawn_samples_and_holds_out_the_rest(shd_file):
    path, times, units, labels = shd_file
    task = make_task("shd", data=str(path))
    assert (task.n_in, task.steps, task.n_out, task.loss) == (140, 100, 20, "ce")
    x, y = task.sample(16, np.random.default_rng(1))
    assert x.shape == (16, 100, 140)
    drawn = [int(np.flatnonzero(x[b, 0])[0]) for b in range(16)]
    for b, i in enumerate(drawn):
        assert x[b, 0, i] == 3.0
        np.testing.assert_array_equal(x[b], expected_bins(times[i], units[i]))
        assert y[b] == labels[i]
    x_ev, y_ev = task.sample_eval(100, np.random.default_rng(2))
    held = sorted(int(np.flatnonzero(x_ev[b, 0])[0]) for b in range(len(y_ev)))
    assert len(held) == 10                                    # eval_fraction 0.2 of 50
    train_many, _ = task.sample(400, np.random.default_rng(3))
    trained = {int(np.flatnonzero(s[0])[0]) for s in train_many}
    assert trained.isdisjoint(held) and len(trained) == 40    # every other sample is trained on
    assert trained | set(held) == set(range(N))


def test_test_data_file_is_the_evaluation_set(shd_file, tmp_path):
    path, *_ = shd_file
    write_shd(tmp_path / "shd_test.h5", [[0.5], [0.25, 0.0]], [[699], [0, 10]], [19, 4])
    task = SHDClassification(data=str(path), test_data=str(tmp_path / "shd_test.h5"), channel_factor=1)
    x, y = task.sample_eval(8, np.random.default_rng(0))
    assert x.shape == (2, 100, 700) and sorted(y.tolist()) == [4, 19]
    first = int(np.flatnonzero(y == 19)[0])
    assert x[first].sum() == 1 and x[first, 50, 699] == 1


def test_labels_beyond_n_classes_are_refused(shd_file):
    path, *_ = shd_file
    task = SHDClassification(data=str(path), n_classes=2)     # the file has labels 0..2
    with pytest.raises(ParameterError, match=r"labels 0\.\.2, outside 0\.\.1"):
        task.sample(1, np.random.default_rng(0))


@pytest.mark.filterwarnings("ignore:dt = 10 ms")         # the task's 10 ms bins, documented
def test_compare_bptt_runs_on_shd(shd_file):
    path, *_ = shd_file
    cfg = compare_bptt.Config(task="shd", data=str(path), rules="bptt,ottt", n_rec=12, iterations=3, batch=4,
                              eval_every=3, align_every=3, eval_batch=64)
    r = compare_bptt.run(cfg)
    assert r.metric_name == "accuracy"
    assert r.y_eval.shape == (2, 100, 20) and r.x_eval.shape == (100, 140)
    assert r.cosine[0, 0] == pytest.approx(1.0)              # BPTT against itself
    assert np.all(np.isfinite(r.train_loss)) and np.all(np.isfinite(r.eval_loss))
    # the first evaluation (before any update) is the same network for both rules
    assert r.eval_loss[0, 0] == r.eval_loss[1, 0]
    # untrained 20-way readout: CE near log(20)
    assert abs(r.eval_loss[0, 0] - np.log(20)) < 1.5


def test_cli_without_the_file_is_one_line_exit_2(tmp_path, capsys):
    code = cli.main(["run", "compare_bptt", "--set", "task=shd", f"data={tmp_path / 'shd_train.h5'}",
                     "--out", str(tmp_path / "res")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert "no such file" in err[0] and "zenkelab.org" in err[0]
    assert cli.main(["run", "compare_bptt", "--set", "task=shd", "--out", str(tmp_path / "res")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "needs data=PATH" in err[0]
    assert not (tmp_path / "res").exists()
