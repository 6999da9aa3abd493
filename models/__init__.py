"""Neurons, connectivity and the native Numba simulation loop."""
from pathlib import Path as _Path

import plasticity as _plasticity
from plasticity.jit_cache import refresh as _refresh_jit_cache

# the simulation loop's cache embeds the rule kernels: clear it when either package changes
_refresh_jit_cache(_Path(__file__).parent, [_Path(_plasticity.__file__).parent])

from .connectivity import (Projection, all_to_all, fixed_indegree,  # noqa: E402
                           fixed_probability, from_pairs, normal, one_to_one, uniform)
from .modulators import Modulator, PairingReward  # noqa: E402
from .neurons import ALIF, LIF, AdEx, PoissonGroup, Readout, SpikeGeneratorGroup  # noqa: E402
from .simulate import Network, SpikeRecord, StateRecord, WeightRecord  # noqa: E402

__all__ = ["ALIF", "AdEx", "LIF", "Modulator", "Network", "PairingReward", "Readout", "PoissonGroup", "Projection", "SpikeGeneratorGroup", "SpikeRecord",
           "StateRecord", "WeightRecord", "all_to_all", "fixed_indegree", "fixed_probability",
           "from_pairs", "normal", "one_to_one", "uniform"]
