"""Learning rules: spike-timing kernels with NumPy reference twins, and gradient rules.

Importing this package does not import Brian2 or the models; a rule can be used alone.
"""
from pathlib import Path as _Path

from .jit_cache import refresh as _refresh_jit_cache

_refresh_jit_cache(_Path(__file__).parent)

from .errors import ParameterError  # noqa: E402
from .inhibitory import InhibitorySTDP  # noqa: E402
from .modulated import DopamineSTDP  # noqa: E402
from .online import EPropRule, OTTTRule  # noqa: E402
from .replay import Trajectory, replay  # noqa: E402
from .stdp import PairSTDP  # noqa: E402
from .triplet import TripletSTDP  # noqa: E402
from .voltage import AdExClopath, ClopathSTDP  # noqa: E402

__all__ = ["AdExClopath", "ClopathSTDP", "DopamineSTDP", "EPropRule", "InhibitorySTDP", "OTTTRule", "ParameterError", "PairSTDP", "TripletSTDP", "Trajectory", "replay"]
