"""protocols.sweep: grid and seed parsing/validation; a sweep of song2000 (small) on local worker
processes, bitwise equal to `plab run` of each point; resume after an interruption; a failed
point reported without stopping the others; plab sweep / show / plot on a sweep directory."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import protocols
from plasticity.errors import ParameterError
from protocols import cli, registry, sweep

GRID = {"rate_hz": ["10", 20.0], "duration_ms": [2000.0]}      # text values as the CLI gives them
POINTS = [({"rate_hz": r, "duration_ms": 2000.0}, s) for r in (10.0, 20.0) for s in (0, 1)]


def arrays(run_dir):
    with np.load(run_dir / "result.npz", allow_pickle=False) as npz:
        return {key: npz[key] for key in npz.files}


def assert_bitwise_equal(a: dict, b: dict):
    assert sorted(a) == sorted(b)
    for key in a:
        assert a[key].dtype == b[key].dtype and a[key].shape == b[key].shape, key
        assert a[key].tobytes() == b[key].tobytes(), key


def direct_run(tmp_path, name, values, seed, small=True):
    """The point as `plab run NAME --small --set k=v ... --seed S` runs it (in this process)."""
    out = tmp_path / f"direct-{len(list(tmp_path.glob('direct-*')))}"
    args = ["run", name, "--quiet", "--no-figures", "--out", str(out)] + (["--small"] if small else [])
    args += ["--set", *[f"{k}={v}" for k, v in values.items()]] + ([] if seed is None else ["--seed", str(seed)])
    assert cli.main(args) == 0
    (run_dir,) = (out / name).iterdir()
    return arrays(run_dir)


def run_dirs(path, name):
    return sorted(p.name for p in (path / name).iterdir())


# --- parsing and validation --------------------------------------------------------------------

def test_parse_grid_splits_at_top_level_commas():
    grid = sweep.parse_grid(["rate-hz=10,20.5", "sweep_rates_hz=[1,2],[3, 4]", 'data_csv="a,b",c'])
    assert grid == {"rate_hz": ["10", "20.5"], "sweep_rates_hz": ["[1,2]", "[3, 4]"], "data_csv": ['"a,b"', "c"]}
    typed = sweep.typed_grid(registry.get("song2000").Config(), {"sweep_rates_hz": grid["sweep_rates_hz"]})
    assert typed == {"sweep_rates_hz": [(1.0, 2.0), (3.0, 4.0)]}


@pytest.mark.parametrize("items, named", [
    (["rate_hz"], "'rate_hz'"),                      # no '='
    (["=1,2"], "'=1,2'"),                            # no key
    (["rate_hz=10,,20"], "rate_hz=10,,20"),          # empty value
    (["rate_hz="], "rate_hz="),
    (["rate_hz=10,10"], "'10' is given twice"),
    (["rate_hz=1", "rate-hz=2"], "'rate_hz' is given twice"),
    (["seed=1,2"], "--seeds"),
    (["sweep_rates_hz=[1,2"], "sweep_rates_hz=[1,2"),
    (["2x=1"], "'2x'"),
])
def test_parse_grid_refuses_naming_the_item(items, named):
    with pytest.raises(ParameterError) as info:
        sweep.parse_grid(items)
    assert named in str(info.value)


keys = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True).filter(lambda k: k != "seed")
values = st.lists(st.from_regex(r"[A-Za-z0-9_.+-]{1,8}", fullmatch=True), min_size=1, max_size=6, unique=True)


@settings(max_examples=200, deadline=None)
@given(grid=st.dictionaries(keys, values, min_size=1, max_size=4))
def test_parse_grid_round_trips(grid):
    items = [f"{key}={','.join(vals)}" for key, vals in grid.items()]
    assert sweep.parse_grid(items) == grid


@settings(max_examples=200, deadline=None)
@given(key=keys, vals=values, where=st.integers(0, 6))
def test_parse_grid_empty_value_is_refused_naming_the_key(key, vals, where):
    vals = list(vals)
    vals.insert(where % (len(vals) + 1), "")
    with pytest.raises(ParameterError, match=f"--grid {key}="):
        sweep.parse_grid([f"{key}={','.join(vals)}"])


def test_parse_seeds():
    assert sweep.parse_seeds("0-3") == [0, 1, 2, 3]
    assert sweep.parse_seeds("5") == [5]
    assert sweep.parse_seeds("0, 4,7-9") == [0, 4, 7, 8, 9]
    for bad, named in (("3-1", "'3-1'"), ("a", "'a'"), ("1,0-2", "seed 1 twice"), ("-1", "'-1'"), ("", "''")):
        with pytest.raises(ParameterError, match="--seeds") as info:
            sweep.parse_seeds(bad)
        assert named in str(info.value)


def test_typed_grid_converts_like_set_and_names_bad_keys_and_values():
    config = registry.get("song2000").Config.small()
    assert sweep.typed_grid(config, {"rate_hz": ["10", 20]}) == {"rate_hz": [10.0, 20.0]}
    with pytest.raises(ParameterError, match=r"grid key 'rate' is not a field of Config; valid keys: n_inputs"):
        sweep.typed_grid(config, {"rate": [1]})
    with pytest.raises(ParameterError, match=r"'n_inputs' expects int, got '2.5'"):
        sweep.typed_grid(config, {"n_inputs": ["10", "2.5"]})
    with pytest.raises(ParameterError, match=r"grid key 'rate_hz' lists the same value twice"):
        sweep.typed_grid(config, {"rate_hz": ["10", 10.0]})
    with pytest.raises(ParameterError, match=r"grid key 'rate_hz' needs a list of values, got '10,20'"):
        sweep.typed_grid(config, {"rate_hz": "10,20"})
    with pytest.raises(ParameterError, match=r"grid key 'rate_hz' has no values"):
        sweep.typed_grid(config, {"rate_hz": []})


def test_run_refuses_before_running_anything(tmp_path):
    out = tmp_path / "sw"
    with pytest.raises(ParameterError, match=r"seeds='0-1': Config has no seed field"):
        sweep.run("stdp_window", {}, seeds="0-1", small=True, out=out)
    with pytest.raises(ParameterError, match=r"grid point dt_min=-50.0 dt_max=-60.0: dt_max must be > dt_min"):
        sweep.run("stdp_window", {"dt_min": [-50.0], "dt_max": [50.0, -60.0]}, small=True, out=out)
    with pytest.raises(ParameterError, match=r"workers must be an integer >= 1, got 0"):
        sweep.run("stdp_window", {}, small=True, out=out, workers=0)
    with pytest.raises(ParameterError, match=r"not both"):
        sweep.run("stdp_window", {}, small=True, out=out, workers=2, scheduler="tcp://127.0.0.1:1")
    with pytest.raises(ParameterError, match=r"unknown protocol 'nope'"):
        sweep.run("nope", {}, out=out)
    assert not out.exists()


def test_unreachable_scheduler_is_a_one_line_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sweep, "CONNECT_TIMEOUT_S", 1.0)
    code = cli.main(["sweep", "stdp_window", "--small", "--grid", "n_pairs=2", "--out", str(tmp_path / "sw"),
                     "--scheduler", "tcp://127.0.0.1:9", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("plab: error: --scheduler 'tcp://127.0.0.1:9': no Dask scheduler")
    assert len(err.strip().splitlines()) == 1


# --- running ----------------------------------------------------------------------------------------

def test_local_processes_bitwise_equal_to_plab_run_and_resume(tmp_path):
    out = tmp_path / "sw"
    result = sweep.run("song2000", GRID, seeds="0-1", small=True, out=out, workers=2, figures=False)
    assert [p["status"] for p in result.points] == ["done"] * 4 and not result.failed
    doc = sweep.load(out)
    assert doc["grid"] == {"rate_hz": [10.0, 20.0], "duration_ms": [2000.0]} and doc["seeds"] == [0, 1]
    saved = {}
    for point, (values, seed) in zip(doc["points"], POINTS):
        assert point["values"] == values and point["seed"] == seed
        saved[point["index"]] = arrays(out / point["run"])
        config = json.loads((out / point["run"] / "config.json").read_text())
        assert (config["rate_hz"], config["duration_ms"], config["seed"]) == (values["rate_hz"], 2000.0, seed)
    for k in (0, 3):   # two points differing in rate and seed, run again one by one as `plab run` runs them
        assert_bitwise_equal(saved[k], direct_run(tmp_path, "song2000", *POINTS[k]))
    assert not np.array_equal(saved[0]["w"], saved[1]["w"])   # the seeds differ

    # the same sweep again: nothing to do
    before = run_dirs(out, "song2000")
    again = sweep.run("song2000", GRID, seeds="0-1", small=True, out=out, workers=2, figures=False)
    assert run_dirs(out, "song2000") == before and again.points == doc["points"]

    # a point whose run directory went missing, and one an interrupted sweep left pending with its
    # run marked incomplete, run again; the others are kept
    shutil.rmtree(out / doc["points"][1]["run"])
    interrupted = out / doc["points"][3]["run"]
    interrupted.rename(interrupted.with_name(interrupted.name + ".incomplete"))
    doc["points"][3].update(status="pending", run=None)
    (out / "sweep.json").write_text(json.dumps(doc))
    redone = sweep.run("song2000", GRID, seeds="0-1", small=True, out=out, workers=1, figures=False)
    assert [p["status"] for p in redone.points] == ["done"] * 4
    assert [p["run"] for p in redone.points][::2] == [p["run"] for p in doc["points"]][::2]   # kept
    new = set(run_dirs(out, "song2000")) - set(before) - {interrupted.name + ".incomplete"}
    assert new == {redone.points[1]["run"].split("/")[1], redone.points[3]["run"].split("/")[1]}
    for k in (1, 3):
        assert_bitwise_equal(arrays(out / redone.points[k]["run"]), saved[k])

    # another sweep in the same directory is refused
    with pytest.raises(ParameterError, match=r"holds a different sweep \(grid differ"):
        sweep.run("song2000", {"rate_hz": [30.0]}, seeds="0-1", small=True, out=out)


def test_interrupted_sweep_keeps_finished_points_and_resumes(tmp_path, monkeypatch):
    out, real, calls = tmp_path / "sw", sweep.run_point, []

    def interrupted_second(task):
        calls.append(task.index)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(task)

    monkeypatch.setattr(sweep, "run_point", interrupted_second)
    grid = {"rate_hz": [10.0, 20.0], "duration_ms": [1000.0]}
    with pytest.raises(KeyboardInterrupt):
        sweep.run("song2000", grid, seeds=[3], small=True, out=out, workers=1, figures=False)
    assert [p["status"] for p in sweep.load(out)["points"]] == ["done", "pending"]
    result = sweep.run("song2000", grid, seeds=[3], small=True, out=out, workers=1, figures=False)
    assert calls == [0, 1, 1] and [p["status"] for p in result.points] == ["done", "done"]


def test_failed_point_is_reported_and_the_others_finish(tmp_path, capsys):
    out, missing = tmp_path / "sw", tmp_path / "missing.csv"
    code = cli.main(["sweep", "stdp_window", "--small", "--grid", f'data_csv="",{missing}', "--grid", "n_pairs=2,4",
                     "--workers", "1", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 1
    doc = sweep.load(out)
    assert [(p["values"]["data_csv"], p["status"]) for p in doc["points"]] == [
        ("", "done"), ("", "done"), (str(missing), "failed"), (str(missing), "failed")]
    failed = doc["points"][2]
    assert failed["error"] == f"FileNotFoundError: data_csv file not found: {missing}"
    assert (out / failed["run"] / "INCOMPLETE").is_file() and failed["run"].endswith(".incomplete")
    assert f"plab: sweep point #2 failed: {failed['error']}" in captured.err
    assert f"sweep: {out} (2 done, 2 failed)" in captured.out
    assert cli.main(["show", str(out)]) == 0
    shown = capsys.readouterr().out
    assert "points:     4: 2 done, 2 failed, 0 pending" in shown
    assert f"#3 data_csv={missing} n_pairs=4: FileNotFoundError" in shown
    assert "(no finished point has a numeric measure yet)" in shown     # stdp_window has no compare()


def test_show_and_plot_mean_and_sd_over_seeds(tmp_path, capsys):
    out = tmp_path / "sw"
    grid = {"rate_hz": [10.0, 20.0], "duration_ms": [1000.0]}
    result = sweep.run("song2000", grid, seeds="0-2", small=True, out=out, workers=1, figures=False)
    (measure,) = result.points[0]["measures"]          # song2000: one compare() row, no scalar fields
    module = registry.get("song2000")
    for k, rate in enumerate((10.0, 20.0)):    # the measure recomputed from each saved result
        got = []
        for point in result.points[3 * k:3 * k + 3]:
            rows = module.compare(protocols.load(out / point["run"]))
            (row,) = [r for r in rows if r["measure"] == measure]
            got.append(row["distance"])
            assert point["measures"][measure] == row["distance"]
        mean, sd = np.mean(got), np.std(got, ddof=1)
        assert cli.main(["show", str(out)]) == 0
        line = next(line for line in capsys.readouterr().out.splitlines() if line.startswith(f"  {rate}  "))
        assert line.split()[2:] == [f"{mean:.4g}", f"{sd:.4g}", "3"]
    assert cli.main(["plot", str(out), "--out", str(tmp_path / "figs"), "--format", "svg"]) == 0
    (figure,) = (tmp_path / "figs").iterdir()
    assert figure.suffix == ".svg" and figure.stat().st_size > 2000
    assert f"wrote: {figure}" in capsys.readouterr().out


@pytest.mark.slow   # two worker processes import numba and start long points before the signal
@pytest.mark.parametrize("sig, status, group", [(signal.SIGTERM, 143, False), (signal.SIGINT, 130, True)])
def test_signal_stops_the_workers_and_leaves_points_pending(tmp_path, sig, status, group):
    """SIGTERM to plab (a job scheduler) or Ctrl-C (SIGINT to the whole process group): both running
    points end as .incomplete runs, every point stays pending, no worker is left behind."""
    out = tmp_path / "sw"
    proc = subprocess.Popen([sys.executable, "-m", "protocols.cli", "sweep", "song2000", "--small",
                             "--grid", "rate_hz=10,20,30", "--grid", "duration_ms=2000000", "--seeds", "0-1",
                             "--workers", "2", "--out", str(out), "--no-figures"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while not (out / "song2000").is_dir() or len(list((out / "song2000").glob(".*.partial"))) < 2:
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read() if proc.poll() else "timeout"
            time.sleep(0.2)
        time.sleep(3.0)   # both points inside the protocol's run (they take minutes), past begin_run
        (os.killpg if group else os.kill)(proc.pid, sig)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == status, err
    assert f"plab: sweep interrupted by {signal.Signals(sig).name}" in err and "Traceback" not in err
    runs = sorted((out / "song2000").iterdir())
    assert len(runs) == 2 and all(run.name.endswith(".incomplete") for run in runs)
    for run in runs:
        assert (run / "INCOMPLETE").read_text().strip().endswith(f"interrupted by {signal.Signals(sig).name} "
                                                                  f"(signal {int(sig)})")
    assert [p["status"] for p in sweep.load(out)["points"]] == ["pending"] * 6
    deadline = time.monotonic() + 30        # the session's processes (workers included) end too
    while time.monotonic() < deadline:
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
    else:
        ps = subprocess.run(["ps", "-o", "pid,cmd", "-g", str(proc.pid)], capture_output=True, text=True).stdout
        pytest.fail(f"processes of the sweep still run 30 s after it exited:\n{ps}")


def test_a_damaged_sweep_file_is_one_line(tmp_path, capsys):
    (tmp_path / "sweep.json").write_text('{"protocol": "song2000", "poin')
    assert cli.main(["show", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"plab: error: {tmp_path / 'sweep.json'} cannot be read (") and len(err.splitlines()) == 1
    (tmp_path / "sweep.json").write_text("[1, 2]")
    with pytest.raises(ParameterError, match="is not a sweep file"):
        sweep.run("stdp_window", {"n_pairs": [2]}, small=True, out=tmp_path)


def test_table_and_figure_of_a_two_key_sweep_document(tmp_path, rng):
    """sweep_show on a hand-made sweep.json: a numeric and a categorical key, 3 seeds, one failed
    and one pending point; the means and s.d. against numpy, the figure's lines against them."""
    from protocols import sweep_show

    grid = {"rate_hz": [10.0, 20.0, 40.0], "rule": ["pair", "triplet"]}
    points, values = [], {}
    for combo in sweep_show.grid_points({"grid": grid}):
        for seed in range(3):
            x = float(rng.normal())
            status = "failed" if (combo["rule"], combo["rate_hz"], seed) == ("pair", 20.0, 1) else "done"
            status = "pending" if (combo["rule"], combo["rate_hz"], seed) == ("triplet", 40.0, 2) else status
            points.append(dict(index=len(points), values=combo, seed=seed, status=status, run=None,
                               error="ValueError: boom" if status == "failed" else None,
                               measures={"m": x} if status == "done" else {}))
            if status == "done":
                values.setdefault((combo["rate_hz"], combo["rule"]), []).append(x)
    doc = dict(protocol="demo", small=False, backend="native", grid=grid, seeds=[0, 1, 2], points=points)
    cells = {(c.values["rate_hz"], c.values["rule"]): c for c in sweep_show.cells(doc, "m")}
    for key, xs in values.items():
        assert cells[key].n == len(xs) and cells[key].mean == pytest.approx(np.mean(xs), rel=1e-15)
        assert cells[key].sd == pytest.approx(np.std(xs, ddof=1), rel=1e-14)
    text = sweep_show.table(doc, tmp_path)
    assert "points:     18: 16 done, 1 failed, 1 pending" in text
    assert "#7 rate_hz=20.0 rule=pair seed=1: ValueError: boom" in text
    row = next(line for line in text.splitlines() if line.startswith("  20.0     pair"))
    xs = values[20.0, "pair"]
    assert row.split()[2:] == [f"{np.mean(xs):.4g}", f"{np.std(xs, ddof=1):.4g}", "2"]

    fig = sweep_show.figure(doc, "m")
    by_rate, by_rule = fig.axes
    assert [t.get_text() for t in by_rule.get_xticklabels()] == ["pair", "triplet"]
    for line, rule in zip(by_rate.get_lines()[::3], grid["rule"]):   # errorbar: data line, then 2 caps
        np.testing.assert_array_equal(line.get_xdata(), grid["rate_hz"])
        np.testing.assert_allclose(line.get_ydata(), [np.mean(values[r, rule]) for r in grid["rate_hz"]], rtol=1e-15)
    assert sweep_show.write_figures(doc, tmp_path / "figs") == [tmp_path / "figs" / "sweep_m.png"]
