"""Each plot returns an Axes whose artists hold exactly the data it was given."""
import numpy as np
import pytest
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from analysis import (population_rate, rate_plot, raster, stdp_window_plot,
                      weight_histogram_plot, weight_trajectories)
from plasticity.errors import ParameterError

I = np.array([0, 3, 1, 2, 3, 0])
T = np.array([1.0, 2.5, 4.0, 7.0, 9.5, 12.0])


def test_raster_offsets_are_time_and_index():
    ax = raster(I, T)
    assert isinstance(ax, Axes)
    (points,) = ax.collections
    np.testing.assert_array_equal(points.get_offsets(), np.column_stack([T, I]))
    assert "ms" in ax.get_xlabel()


def test_raster_draws_on_given_axes_and_splits_groups():
    ax = Figure().add_subplot()
    out = raster(I, T, ax=ax, groups=[("E", 0, 2, "tab:red"), ("I", 2, 4, "tab:blue")])
    assert out is ax
    e, i = ax.collections
    np.testing.assert_array_equal(e.get_offsets(), [[1.0, 0], [4.0, 1], [12.0, 0]])
    np.testing.assert_array_equal(i.get_offsets(), [[2.5, 3], [7.0, 2], [9.5, 3]])
    assert [text.get_text() for text in ax.get_legend().get_texts()] == ["E", "I"]


def test_raster_window_keeps_spikes_inside_and_sets_limits():
    ax = raster(I, T, t_window=(2.0, 9.5))
    np.testing.assert_array_equal(ax.collections[0].get_offsets(), [[2.5, 3], [4.0, 1], [7.0, 2]])
    assert ax.get_xlim() == (2.0, 9.5)


def test_rate_plot_line_is_population_rate():
    ax = rate_plot(T, 15.0, bin_ms=5.0, n=4)
    centres, rate = population_rate(T, 15.0, 5.0, n=4)
    (line,) = ax.get_lines()
    np.testing.assert_array_equal(line.get_xdata(), centres)
    np.testing.assert_array_equal(line.get_ydata(), rate)
    assert "Hz" in ax.get_ylabel()


def test_weight_histogram_plot_counts_and_range():
    w = np.array([0.0, 0.1, 0.1, 0.9, 1.0])
    ax = weight_histogram_plot(w, w_max=1.0, bins=10, unit="nS")
    (patch,) = ax.patches
    values, edges, _ = patch.get_data()
    assert values.sum() == w.size
    np.testing.assert_array_equal(values, [1, 2, 0, 0, 0, 0, 0, 0, 0, 1 + 1])
    np.testing.assert_allclose(edges, np.linspace(0.0, 1.0, 11))
    assert ax.get_xlim() == (0.0, 1.0)
    assert ax.get_xlabel() == "weight (nS)"


def test_weight_trajectories_draws_subset_and_mean_in_seconds():
    times = np.array([0.0, 500.0, 1000.0])
    weights = np.arange(3 * 7, dtype=float).reshape(3, 7)
    ax = weight_trajectories(times, weights, max_lines=4)
    lines = ax.get_lines()
    assert len(lines) == 5  # 4 synapses + mean
    drawn = np.column_stack([line.get_ydata() for line in lines[:-1]])
    np.testing.assert_array_equal(drawn, weights[:, [0, 2, 4, 6]])
    np.testing.assert_array_equal(lines[-1].get_xdata(), times / 1000.0)
    np.testing.assert_array_equal(lines[-1].get_ydata(), weights.mean(axis=1))
    assert ax.get_xlabel() == "time (s)"


def test_weight_trajectories_shape_checked():
    with pytest.raises(ParameterError, match="n_times"):
        weight_trajectories(np.arange(3.0), np.zeros((4, 2)))


def model_line(ax):
    return next(line for line in ax.get_lines() if line.get_label() == "model")


def test_stdp_window_plot_sorts_model_and_overlays_points_with_sem():
    dt = np.array([20.0, -20.0, 5.0])
    dw = np.array([0.1, -0.05, 0.4])
    ref = {"dt": [-10.0, 10.0], "dw": [-0.2, 0.3], "sem": [0.05, 0.05], "label": "Bi & Poo 1998"}
    ax = stdp_window_plot(dt, dw, reference=ref)
    line = model_line(ax)
    np.testing.assert_array_equal(line.get_xdata(), [-20.0, 5.0, 20.0])
    np.testing.assert_array_equal(line.get_ydata(), [-0.05, 0.4, 0.1])
    (ref_container,) = ax.containers
    ref_line = ref_container.lines[0]
    np.testing.assert_array_equal(ref_line.get_xdata(), ref["dt"])
    np.testing.assert_array_equal(ref_line.get_ydata(), ref["dw"])
    assert ref_container.get_label() == "Bi & Poo 1998"
    assert "ms" in ax.get_xlabel()


def test_stdp_window_plot_reference_curve_is_a_line():
    ax = stdp_window_plot([-5.0, 5.0], [-1.0, 1.0],
                          reference={"dt": [5.0, -5.0], "dw": [0.9, -0.9], "curve": True, "label": "fit"})
    curve = next(line for line in ax.get_lines() if line.get_label() == "fit")
    np.testing.assert_array_equal(curve.get_xdata(), [-5.0, 5.0])
    np.testing.assert_array_equal(curve.get_ydata(), [-0.9, 0.9])
    assert curve.get_linestyle() == "--"
    assert not ax.containers


def test_stdp_window_plot_reference_needs_dt_and_dw():
    with pytest.raises(ParameterError, match="dw"):
        stdp_window_plot([0.0], [0.0], reference={"dt": [1.0]})


def test_new_figure_saves_without_pyplot(tmp_path):
    ax = raster(I, T)
    ax.figure.savefig(tmp_path / "raster.png")
    assert (tmp_path / "raster.png").stat().st_size > 0
