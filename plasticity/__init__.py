"""Learning rules: spike-timing kernels with NumPy reference twins, and gradient rules.

Importing this package does not import Brian2 or the models; a rule can be used alone.
"""
from .errors import ParameterError
from .replay import Trajectory, replay
from .stdp import PairSTDP
from .triplet import TripletSTDP

__all__ = ["ParameterError", "PairSTDP", "TripletSTDP", "Trajectory", "replay"]
