"""Pieces every protocol shares: backend check, provenance, rule construction by name."""
from __future__ import annotations

import time
from contextlib import contextmanager

from plasticity import PairSTDP, TripletSTDP
from plasticity.errors import ParameterError

BACKENDS = ("native", "brian2")
TARGETS = ("numpy", "cython", "cpp_standalone")  # Brian2 code-generation targets


def check_backend(backend: str) -> str:
    if backend not in BACKENDS:
        raise ParameterError(f"backend must be one of {', '.join(map(repr, BACKENDS))}, got {backend!r}")
    return backend


def check_target(target: str) -> str:
    if target not in TARGETS:
        raise ParameterError(f"target must be one of {', '.join(map(repr, TARGETS))}, got {target!r}")
    return target


@contextmanager
def timed(provenance: dict, backend: str, seed=None):
    """Fill ``provenance`` with the backend, seed and wall time (s) of the enclosed block."""
    start = time.perf_counter()
    yield provenance
    provenance.update(backend=backend, wall_time_s=time.perf_counter() - start)
    if seed is not None:
        provenance["seed"] = seed


def make_rule(kind: str, *, triplet_set: str = "visual_cortex/all_to_all/minimal", **pair_fields):
    """``"pair"`` -> PairSTDP(**pair_fields); ``"triplet"`` -> TripletSTDP.from_paper(*triplet_set.split("/"))."""
    if kind == "pair":
        return PairSTDP(**pair_fields)
    if kind == "triplet":
        parts = triplet_set.split("/")
        if len(parts) != 3:
            raise ParameterError(f"triplet_set must look like 'region/scheme/variant', got {triplet_set!r}")
        return TripletSTDP.from_paper(*parts, w_min=pair_fields.get("w_min", 0.0),
                                      w_max=pair_fields.get("w_max", 1.0))
    raise ParameterError(f"rule must be 'pair' or 'triplet', got {kind!r}")
