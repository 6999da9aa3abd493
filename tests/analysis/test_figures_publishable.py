"""Figures a scientist would publish: visible raster dots, weight axes with their unit, one time
unit per figure, legends that name the curve, and figure files with the user's permissions."""
import os
import re
import stat
from pathlib import Path

import numpy as np
import pytest

from analysis import plots

ROOT = Path(__file__).resolve().parents[2]


def dot_diameter_pt(collection):
    """Width in points of the first marker of a scatter collection (path extent x sqrt(area))."""
    width = collection.get_paths()[0].get_extents().width
    return width * np.sqrt(collection.get_sizes()[0])


def test_raster_dots_are_two_points_wide_by_default():
    ax = plots.raster(np.array([0, 1, 1]), np.array([1.0, 2.0, 3.0]))
    (collection,) = ax.collections
    assert dot_diameter_pt(collection) == pytest.approx(2.0, rel=1e-9)
    assert collection.get_facecolors()[0][3] == 1.0          # filled, opaque


def test_raster_in_seconds():
    ax = plots.raster(np.array([0, 1]), np.array([500.0, 1500.0]), time_unit="s", t_window=(0.0, 2000.0))
    assert ax.get_xlabel() == "time (s)"
    assert ax.collections[0].get_offsets()[:, 0].tolist() == [0.5, 1.5]
    assert ax.get_xlim() == (0.0, 2.0)


@pytest.mark.parametrize("unit, label", [("", "weight (arbitrary units)"), ("nS", "weight (nS)"),
                                         ("g_max", "w / g_max"), ("g_L", "w / g_L")])
def test_weight_labels_are_never_bare(unit, label):
    assert plots.weight_label(unit) == label
    w = np.linspace(0.0, 1.0, 12)
    assert plots.weight_histogram_plot(w, w_max=1.0, unit=unit).get_xlabel() == label
    assert plots.weight_trajectories(np.arange(3.0), np.ones((3, 4)), unit=unit).get_ylabel() == label
    ax = plots.weight_matrix_plot(w.reshape(3, 4), unit=unit)
    assert ax.figure.axes[-1].get_ylabel() == label           # the colorbar


def test_no_source_labels_an_axis_bare_weight():
    pattern = re.compile(r"""(set_[xy]label|label=)\(?\s*["'](weight|weights|w)["']""")
    offenders = [f"{p.relative_to(ROOT)}:{n}" for folder in ("analysis", "protocols", "examples")
                 for p in sorted((ROOT / folder).rglob("*.py"))
                 for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if pattern.search(line)]
    assert not offenders


def test_song2000_figure_has_one_time_unit():
    from protocols import song2000

    result = song2000.run(song2000.Config(n_inputs=100, duration_ms=2000.0, record_every_ms=500.0, g_max=0.05))
    fig = song2000.plot(result)["song2000"]
    units = {m for ax in fig.axes for m in re.findall(r"time \((m?s)\)", ax.get_xlabel())}
    assert units == {"s"}
    assert max(ax.get_xlim()[1] for ax in fig.axes if "time" in ax.get_xlabel()) <= 2.5
    assert all(ax.get_xlabel() != "weight" and ax.get_ylabel() != "weight" for ax in fig.axes)


def test_stdp_window_legend_names_the_rule():
    ax = plots.stdp_window_plot([-5.0, 5.0], [-1.0, 1.0], label="pair STDP (additive)")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["pair STDP (additive)"]


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600)])
def test_plab_plot_keeps_the_users_umask(tmp_path, umask, mode, capsys):
    from protocols import cli

    assert cli.main(["run", "stdp_window", "--small", "--quiet", "--no-figures", "--out", str(tmp_path)]) == 0
    old = os.umask(umask)
    try:
        assert cli.main(["plot", str(tmp_path / "stdp_window")]) == 0
    finally:
        os.umask(old)
    (figure,) = (tmp_path / "stdp_window").glob("*/stdp_window.png")
    assert stat.S_IMODE(figure.stat().st_mode) == mode
