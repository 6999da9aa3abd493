"""Neurons, connectivity and the native Numba simulation loop."""
from .connectivity import (Projection, all_to_all, fixed_indegree, fixed_probability, normal,
                           one_to_one, uniform)
from .neurons import LIF, PoissonGroup, SpikeGeneratorGroup
from .simulate import Network, SpikeRecord, StateRecord, WeightRecord

__all__ = ["LIF", "Network", "PoissonGroup", "Projection", "SpikeGeneratorGroup", "SpikeRecord",
           "StateRecord", "WeightRecord", "all_to_all", "fixed_indegree", "fixed_probability",
           "normal", "one_to_one", "uniform"]
