"""plab sweep --scheduler on a real Dask cluster: a scheduler and two workers on 127.0.0.1,
started by the standard `dask scheduler` / `dask worker` commands and stopped by the fixture
(also when the test fails); the sweep runs through the CLI in a separate process, and its
points are bitwise equal to `plab run` of the same points."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from protocols import cli, sweep

pytestmark = pytest.mark.slow   # ~40-60 s on a busy 2-core machine: worker processes import numba + protocols
DASK = Path(sys.executable).parent / "dask"
START_TIMEOUT_S = 120.0
SWEEP_TIMEOUT_S = 600.0


@pytest.fixture
def dask_cluster(tmp_path):
    """The address of a scheduler with two single-threaded workers; all three killed at the end."""
    import distributed

    procs, logs = [], tmp_path / "dask-logs"
    logs.mkdir()

    def start(name, *args):
        log = open(logs / f"{name}.log", "w")
        procs.append((subprocess.Popen([str(DASK), *args], stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path,
                                       start_new_session=True), log))
        return procs[-1][0]

    def fail(what):
        text = "\n".join(f"--- {p.name}\n{p.read_text()[-2000:]}" for p in sorted(logs.iterdir()))
        pytest.fail(f"{what}\n{text}")

    try:
        file = tmp_path / "scheduler.json"
        scheduler = start("scheduler", "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                          "--scheduler-file", str(file))
        deadline = time.monotonic() + START_TIMEOUT_S
        while not (file.is_file() and file.stat().st_size):
            if scheduler.poll() is not None or time.monotonic() > deadline:
                fail("the Dask scheduler did not start")
            time.sleep(0.2)
        address = json.loads(file.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        for name in ("w1", "w2"):
            start(name, "worker", address, "--name", name, "--nthreads", "1", "--no-nanny", "--no-dashboard",
                  "--host", "127.0.0.1", "--local-directory", str(tmp_path / name))
        with distributed.Client(address, timeout=START_TIMEOUT_S) as client:
            try:
                client.wait_for_workers(2, timeout=START_TIMEOUT_S)
            except TimeoutError:
                fail("two Dask workers did not connect")
        yield address
    finally:
        for proc, log in reversed(procs):   # the workers first, then the scheduler they report to
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            log.close()


def assert_same_npz(a_dir, b_dir):
    with np.load(a_dir / "result.npz") as a, np.load(b_dir / "result.npz") as b:
        assert sorted(a.files) == sorted(b.files)
        for key in a.files:
            assert a[key].dtype == b[key].dtype and a[key].tobytes() == b[key].tobytes(), key


def test_sweep_on_a_dask_cluster_equals_plab_run(dask_cluster, tmp_path):
    out = tmp_path / "sw"
    proc = subprocess.run([sys.executable, "-m", "protocols.cli", "sweep", "song2000", "--small",
                           "--grid", "rate_hz=10,20", "--grid", "duration_ms=2000", "--seeds", "0-1",
                           "--scheduler", dask_cluster, "--out", str(out), "--no-figures"],
                          capture_output=True, text=True, timeout=SWEEP_TIMEOUT_S, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"sweep: {out} (4 done, 0 failed)"
    doc = sweep.load(out)
    assert [(p["values"]["rate_hz"], p["seed"], p["status"]) for p in doc["points"]] == [
        (10.0, 0, "done"), (10.0, 1, "done"), (20.0, 0, "done"), (20.0, 1, "done")]
    workers = set()
    for point in doc["points"]:
        argv = json.loads((out / point["run"] / "provenance.json").read_text())["argv"]
        workers.add(argv[argv.index("--name") + 1])       # the run was made inside a `dask worker`
    assert workers == {"w1", "w2"}

    for point in (doc["points"][1], doc["points"][2]):
        direct = tmp_path / f"direct-{point['index']}"
        assert cli.main(["run", "song2000", "--small", "--quiet", "--no-figures", "--out", str(direct),
                         "--set", f"rate_hz={point['values']['rate_hz']}", "duration_ms=2000",
                         "--seed", str(point["seed"])]) == 0
        (run_dir,) = (direct / "song2000").iterdir()
        assert_same_npz(out / point["run"], run_dir)

    # the Python API with a Client the notebook already holds (left open), on two of the same points
    import distributed

    with distributed.Client(dask_cluster) as client:
        result = sweep.run("song2000", {"rate_hz": [20.0], "duration_ms": [2000.0]}, seeds=[0, 1], small=True,
                           out=tmp_path / "api", scheduler=client, figures=False)
        assert client.submit(sum, [1, 2]).result() == 3
    assert [p["status"] for p in result.points] == ["done", "done"]
    for mine, theirs in zip(result.points, doc["points"][2:]):
        assert_same_npz(result.path / mine["run"], out / theirs["run"])
