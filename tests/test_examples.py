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


def test_your_own_network(tmp_path):
    """docs/your-own-network.md: the numbers it states (seed 1, 10 s) are these."""
    out = run("your_own_network.py", "--plot", "net.png", cwd=tmp_path)
    theta = float(re.search(r"BCM threshold ([\d.]+) Hz", out).group(1))
    assert theta == pytest.approx(1e3 * 7.1e-3 * 33.7 / (6.5e-3 * 16.8 * 114.0), abs=0.05)   # 19.2 Hz
    rows = {m[0]: [float(x) for x in m[1:]] for m in re.findall(
        r"(strong|weak) start \(\d-\d\): rate first second ([\d.]+) Hz, last 2 s ([\d.]+) Hz; "
        r"mean w/w_max ([\d.]+) -> ([\d.]+)", out)}
    first, last, w_start, w_end = rows["strong"]
    assert first > 15.0 and 40.0 < last < 70.0 and w_end > 0.98 > w_start   # above threshold: up to w_max
    first, last, w_start, w_end = rows["weak"]
    assert last < 5.0 and w_end <= w_start                                  # below: no potentiation
    at_max, at_zero, jumps = (float(x) for x in re.search(
        r"(\d+)% above 0.9 w_max, (\d+)% below 0.1 w_max; changes > 0.5 w_max between 1 s records: ([\d.]+)%",
        out).groups())
    assert at_max == 50 and jumps == 0.0                                    # no flipping between the bounds
    with_ref, without = (float(x) for x in re.search(r"(\d+) Hz with t_ref = 5 ms, (\d+) Hz with t_ref = 0", out).groups())
    assert with_ref == pytest.approx(rows["strong"][1], rel=0.15) and without > 1.3 * with_ref
    assert (tmp_path / "net.png").read_bytes()[:4] == b"\x89PNG"
