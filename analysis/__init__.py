"""Pure functions on simulation results: spike statistics, weights, learning, energy, plots.

Times are in ms and rates in Hz. Plot functions take ``ax=None`` and return the Axes.
"""
from .energy import EnergyEstimate, dense_macs, energy_estimate, synaptic_operations
from .learning import Alignment, alignment, alignment_history, gradient_alignment, moving_average
from .plots import (alignment_plot, correlogram_plot, isi_histogram_plot, learning_curve_plot, psth_plot,
                    rate_plot, raster, receptive_field_plot, spike_array_raster, state_trace_plot,
                    stdp_window_plot, surrogate_shapes_plot,
                    weight_histogram_plot, weight_matrix_plot, weight_trajectories)
from .spikes import (binned_rates, cross_correlogram, fano_factor, firing_rates, from_trains, isi_cv,
                     isi_histogram, population_rate, psth, smoothed_rate, spike_count_correlation,
                     synchrony, to_trains, van_rossum_distance, victor_purpura_distance)
from .weights import Bimodality, bimodality, weight_histogram

__all__ = [
    "Alignment", "Bimodality", "EnergyEstimate", "alignment", "alignment_history", "alignment_plot",
    "bimodality", "binned_rates", "correlogram_plot", "cross_correlogram", "dense_macs",
    "energy_estimate", "fano_factor", "firing_rates", "from_trains", "gradient_alignment", "isi_cv",
    "isi_histogram", "isi_histogram_plot", "learning_curve_plot", "moving_average", "population_rate",
    "psth", "psth_plot", "rate_plot", "raster", "receptive_field_plot", "smoothed_rate",
    "spike_array_raster", "spike_count_correlation", "state_trace_plot", "stdp_window_plot", "surrogate_shapes_plot", "synaptic_operations",
    "synchrony", "to_trains", "van_rossum_distance", "victor_purpura_distance", "weight_histogram",
    "weight_histogram_plot", "weight_matrix_plot", "weight_trajectories",
]
