"""Pure functions on simulation results: spike statistics, weight statistics, and plots.

Times are in ms and rates in Hz. Plot functions take ``ax=None`` and return the Axes.
"""
from .plots import rate_plot, raster, stdp_window_plot, weight_histogram_plot, weight_trajectories
from .spikes import fano_factor, firing_rates, from_trains, isi_cv, population_rate, to_trains
from .weights import Bimodality, bimodality, weight_histogram

__all__ = [
    "Bimodality",
    "bimodality",
    "fano_factor",
    "firing_rates",
    "from_trains",
    "isi_cv",
    "population_rate",
    "rate_plot",
    "raster",
    "stdp_window_plot",
    "to_trains",
    "weight_histogram",
    "weight_histogram_plot",
    "weight_trajectories",
]
