"""The newer plots: each artist holds exactly the numbers it was given."""
import numpy as np
import pytest
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from analysis import (alignment_history, alignment_plot, correlogram_plot, isi_histogram_plot,
                      learning_curve_plot, psth_plot, receptive_field_plot, state_trace_plot,
                      weight_matrix_plot)
from plasticity.errors import ParameterError


def test_weight_matrix_image_is_the_matrix():
    w = np.arange(6.0).reshape(2, 3)
    ax = weight_matrix_plot(w, vmin=0.0, vmax=10.0, unit="nS")
    assert isinstance(ax, Axes)
    np.testing.assert_array_equal(ax.images[0].get_array(), w)
    assert ax.images[0].get_clim() == (0.0, 10.0)
    assert ax.get_xlabel() == "presynaptic neuron"
    assert len(ax.figure.axes) == 2  # the colour bar


def test_receptive_field_is_row_major():
    ax = receptive_field_plot(np.arange(6.0), (2, 3), colorbar=False)
    np.testing.assert_array_equal(ax.images[0].get_array(), [[0, 1, 2], [3, 4, 5]])
    with pytest.raises(ParameterError, match="needs 4 weights"):
        receptive_field_plot(np.arange(6.0), (2, 2))


def test_psth_and_isi_and_correlogram_plots_hold_the_counts():
    ax = psth_plot(np.array([10.0, 12.0, 105.0, 215.0]), [0.0, 100.0, 200.0], (-10.0, 30.0), 10.0)
    np.testing.assert_allclose(ax.patches[0].get_data().values, np.array([0, 1, 3, 0]) / 0.03)
    np.testing.assert_allclose(ax.patches[0].get_data().edges, [-10, 0, 10, 20, 30])
    ax = isi_histogram_plot([0.0, 2.0, 5.0, 6.0, 16.0], bin_ms=2.0)
    np.testing.assert_array_equal(ax.patches[0].get_data().values, [1, 2, 0, 0, 0, 1])
    ax = correlogram_plot([10.0, 50.0], [12.0, 45.0, 53.0], 5.0, 10.0)
    np.testing.assert_array_equal(ax.patches[0].get_data().values, [0, 1, 2, 0])
    np.testing.assert_array_equal(ax.patches[0].get_data().edges, [-10, -5, 0, 5, 10])


def test_learning_curve_smoothing_draws_raw_and_average():
    ax = learning_curve_plot([4.0, 2.0, 3.0, 1.0], smooth=2, ylabel="loss", label="train")
    raw, avg = ax.lines
    np.testing.assert_array_equal(raw.get_ydata(), [4, 2, 3, 1])
    np.testing.assert_allclose(avg.get_ydata(), [4.0, 3.0, 2.5, 2.0])
    np.testing.assert_array_equal(avg.get_xdata(), [0, 1, 2, 3])


def test_alignment_plot_one_line_per_key_overall_black():
    g = {"w": np.array([1.0, 0.0])}
    hist = alignment_history([(g, g), ({"w": np.array([0.0, 1.0])}, g)])
    ax = alignment_plot(hist)
    assert [line.get_label() for line in ax.lines] == ["w", "overall"]
    np.testing.assert_allclose(ax.lines[1].get_ydata(), [1.0, 0.0])
    assert ax.lines[1].get_color() == "k"


def test_state_trace_plot_threshold_and_spikes():
    t = np.arange(5.0)
    v = np.column_stack([np.linspace(-70, -50, 5), np.full(5, -65.0)])
    fig = Figure()
    ax = state_trace_plot(t, v, ax=fig.add_subplot(), labels=["a", "b"], threshold=-54.0,
                          spikes_ms=[2.0, 3.0])
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), v[:, 0])
    np.testing.assert_array_equal(ax.lines[2].get_ydata(), [-54.0, -54.0])   # threshold
    np.testing.assert_array_equal(ax.lines[3].get_xdata(), [2.0, 3.0])        # spike ticks
    assert ax.get_ylabel() == "v (mV)"
    with pytest.raises(ParameterError, match="labels"):
        state_trace_plot(t, v, labels=["a"])
