"""plab end to end, as a user runs it: separate processes (4 of them, each pays the imports),
real protocols on --small configs, files on disk, exit codes, one-line errors. `show` and
`plot` of the real run are driven in process (cli.main) to keep the suite fast."""
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np

from protocols import cli

TIMEOUT_S = 180  # imports + Numba cache loading on a busy 2-core machine; the runs take ~1 s
PLAB = Path(sys.executable).parent / "plab"


def plab(*args, cwd):
    return subprocess.run([sys.executable, "-m", "protocols.cli", *map(str, args)], capture_output=True,
                          text=True, timeout=TIMEOUT_S, cwd=cwd)


def only_dir(path):
    (child,) = [p for p in path.iterdir()]
    return child


def test_demo_quick_then_show_and_plot(tmp_path, capsys):
    proc = plab("demo", "--quick", "--quiet", "--out", "res", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"summary: {Path('res') / 'demo_summary.txt'}"   # --quiet
    summary = (tmp_path / "res" / "demo_summary.txt").read_text()
    for name in ("stdp_window", "song2000"):
        run_dir = only_dir(tmp_path / "res" / name)
        assert sorted(p.name for p in run_dir.iterdir()) == sorted([
            "config.json", f"{name}.png", "provenance.json", "result.npz", "summary.txt"])
        assert f"output: {Path('res') / name / run_dir.name}" in summary
        prov = json.loads((run_dir / "provenance.json").read_text())
        assert prov["protocol"] == name and prov["backend"] == "native"
        assert prov["result_class"] == f"protocols.{name}:Result"
    assert "Song 2000: 1000 Poisson inputs" in summary

    run_dir = only_dir(tmp_path / "res" / "stdp_window")
    config = json.loads((run_dir / "config.json").read_text())
    assert config["n_pairs"] == 10 and config["dt_step"] == 20.0            # Config.small()
    with np.load(run_dir / "result.npz") as npz:
        np.testing.assert_array_equal(npz["dt_ms"], np.arange(-100.0, 101.0, 20.0))
        # additive pair rule, 10 pairings of a+ = 0.005 at w0 = 0.5: 10% at dt -> 0, tau+ 16.8 ms
        np.testing.assert_allclose(npz["dw"][npz["dt_ms"] == 20.0], 0.1 * np.exp(-20 / 16.8), rtol=1e-9)
        np.testing.assert_allclose(npz["fit"], [0.1, 16.8, 0.105, 33.7], rtol=1e-4)

    assert cli.main(["show", str(tmp_path / "res" / "stdp_window")]) == 0     # newest run of the protocol
    shown = capsys.readouterr().out
    assert f"run:        {run_dir}" in shown and "status:     complete" in shown
    assert re.search(r"^  dt_ms +11 +float64 +min -100 +max 100 +mean 0$", shown, flags=re.M)
    assert "fitted tau+ = 16.8 ms" in shown
    assert cli.main(["plot", str(run_dir), "--out", str(tmp_path / "figs"), "--format", "svg"]) == 0
    assert (tmp_path / "figs" / "stdp_window.svg").stat().st_size > 1000


def test_song2000_with_overrides_and_seed(tmp_path):
    proc = plab("run", "song2000", "--small", "--set", "duration_ms=2000", "record_every_ms=500",
                "--seed", "3", "--quiet", "--no-figures", "--out", tmp_path, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("\n") == 1 and proc.stdout.startswith("saved: ")   # --quiet
    run_dir = only_dir(tmp_path / "song2000")
    config = json.loads((run_dir / "config.json").read_text())
    assert config["duration_ms"] == 2000.0 and config["seed"] == 3 and config["n_inputs"] == 1000
    assert json.loads((run_dir / "provenance.json").read_text())["seed"] == 3
    with np.load(run_dir / "result.npz") as npz:
        np.testing.assert_array_equal(npz["w_t"], [0.0, 500.0, 1000.0, 1500.0, 2000.0])
        assert npz["w_traj"].shape == (5, 1000)
        assert 0.0 <= npz["w"].min() and npz["w"].max() <= 0.01
    assert not list(run_dir.glob("*.png"))


def test_wrong_type_is_one_line_exit_2(tmp_path):
    proc = plab("run", "song2000", "--set", "n_inputs=abc", "--out", "res", cwd=tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("plab: error: config key 'n_inputs' expects int, got 'abc'; "
                               "valid keys: n_inputs, rate_hz,")
    assert not (tmp_path / "res").exists()


def test_console_script_unknown_protocol(tmp_path):
    command = [str(PLAB)] if PLAB.exists() else [sys.executable, "-m", "protocols.cli"]
    proc = subprocess.run([*command, "run", "nosuch"], capture_output=True, text=True, timeout=TIMEOUT_S,
                          cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("plab: error: unknown protocol 'nosuch'; known: ")
    assert "song2000" in proc.stderr and "stdp_window" in proc.stderr and "Traceback" not in proc.stderr
