"""The scripts in examples/ run to completion (so they never rot) and print sane numbers."""
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
TIMEOUT_S = 120  # generous: imports and Numba cache loading on a busy 2-core machine


def run(script, *args, cwd):
    proc = subprocess.run([sys.executable, str(EXAMPLES / script), *args], capture_output=True, text=True,
                          timeout=TIMEOUT_S, cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_replay_rule(tmp_path):
    out = run("replay_rule.py", "--plot", "w.png", cwd=tmp_path)
    rows = {float(m[0]): (float(m[1]), float(m[2]))
            for m in re.findall(r"^\s+(-?\d+)\s+(-?\d+\.\d+)\s+(-?\d+\.\d+)$", out, flags=re.M)}
    # additive pair rule, 60 pairs, a+ = 0.005 at w0 = 0.5: 60 * 0.01 * exp(-10/16.8) = 33.09%
    assert rows[10.0][0] == pytest.approx(33.09, abs=0.01)
    assert rows[-10.0][0] == pytest.approx(-60 * 0.0105 * 100 * 2.718281828 ** (-10 / 33.7), abs=0.01)
    assert (tmp_path / "w.png").read_bytes()[:4] == b"\x89PNG"


def test_song2000_network(tmp_path):
    out = run("song2000_network.py", "--seconds", "2", cwd=tmp_path)
    rate = float(re.search(r"mean input rate: ([\d.]+) Hz", out).group(1))
    assert rate == pytest.approx(15.0, abs=0.5)          # 1000 inputs x 2 s: sd of the mean ~0.09 Hz
    per_second = [float(x) for x in re.search(r"per second \(Hz\): ([\d ]+)", out).group(1).split()]
    assert len(per_second) == 2 and all(10 < r < 120 for r in per_second)
    assert "energy ESTIMATE" in out and "not independently verified" in out


def test_train_eprop(tmp_path):
    out = run("train_eprop.py", "--iterations", "40", "--plot", "curve.png", cwd=tmp_path)
    rows = re.findall(r"^\s*(\d+)\s+([\d.]+)\s+(-?[\d.]+)\s+(-?[\d.]+)\s+(-?[\d.]+)\s+overall (-?[\d.]+)$", out, flags=re.M)
    assert [int(r[0]) for r in rows] == [0, 10, 20, 30, 39]
    for row in rows:
        assert float(row[4]) == 1.0                     # e-prop's readout gradient is BPTT's exactly
        assert -1.0 <= float(row[5]) <= 1.0
    first, last = (float(x) for x in re.search(r"loss: ([\d.]+) -> ([\d.]+)", out).groups())
    assert last < 0.8 * first                           # seeded run: 1024 -> 501
    assert (tmp_path / "curve.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow  # Brian2 code generation: ~10-20 s
def test_brian2_network(tmp_path):
    out = run("brian2_network.py", "--seconds", "1", cwd=tmp_path)
    n_eq, n_plug = (int(x) for x in re.search(r"equations (\d+), plug-in (\d+)", out).groups())
    assert n_eq == n_plug > 0
    diff = float(re.search(r"max \|w_equations - w_plugin\| / g_max = ([\d.e+-]+)", out).group(1))
    assert diff < 1e-9                                  # the same rule, two paths, the same weights


def test_eprop_in_network(tmp_path):
    """The README's e-prop-in-a-Network example: the loss falls over three trials."""
    out = run("eprop_in_network.py", cwd=tmp_path)
    losses = [float(m) for m in re.findall(r"^\d+ ([\d.]+)$", out, flags=re.M)]
    assert len(losses) == 3 and losses[2] < 0.95 * losses[0]
