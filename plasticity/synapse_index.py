"""CSR synapse indexing shared by the rule kernels, ``replay`` and the native simulator.

Synapses are numbered grouped by presynaptic neuron: the synapses of presynaptic neuron j
are ``indptr[j]..indptr[j+1]``, with targets ``post_idx[s]``. Postsynaptic events need the
transpose: synapse ids onto neuron i are ``post_syn[post_ptr[i]:post_ptr[i+1]]``; ``syn_pre[s]``
gives each synapse's presynaptic neuron and ``post_pre[k]`` the presynaptic neuron of synapse
``post_syn[k]`` (the same, read in the order a postsynaptic event walks, without a random access).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np


INDEX32_MAX = 2 ** 31 - 1
"""Largest neuron or synapse index stored in 32 bits: the simulator (``models.simulate._wire``)
and ``replay`` keep per-synapse indices as int32 up to it, so that the kernels are compiled
for one index type (a second one cost 0.2-0.3 s of cold compilation per kernel)."""


class SynapseIndex(NamedTuple):
    indptr: np.ndarray    # (n_pre + 1,) int64
    post_idx: np.ndarray  # (n_syn,) int64
    post_ptr: np.ndarray  # (n_post + 1,) int64
    post_syn: np.ndarray  # (n_syn,) int64
    syn_pre: np.ndarray   # (n_syn,) int64
    post_pre: np.ndarray  # (n_syn,) int64, syn_pre[post_syn]


def build_index(pre, post, n_pre: int, n_post: int) -> tuple[SynapseIndex, np.ndarray]:
    """Index synapses given as (pre[k], post[k]) pairs.

    Returns the index and ``order``: synapse s of the index is pair ``order[s]`` of the input
    (so per-pair arrays such as weights are reordered with ``values[order]``).
    """
    pre = np.asarray(pre, dtype=np.int64)
    post = np.asarray(post, dtype=np.int64)
    order = np.lexsort((post, pre))
    pre_sorted, post_sorted = pre[order], post[order]
    indptr = np.zeros(n_pre + 1, dtype=np.int64)
    np.cumsum(np.bincount(pre_sorted, minlength=n_pre), out=indptr[1:])
    post_syn = np.argsort(post_sorted, kind="stable").astype(np.int64)
    post_ptr = np.zeros(n_post + 1, dtype=np.int64)
    np.cumsum(np.bincount(post_sorted, minlength=n_post), out=post_ptr[1:])
    return SynapseIndex(indptr, post_sorted, post_ptr, post_syn, pre_sorted, pre_sorted[post_syn]), order


def dense_index(n_pre: int, n_post: int) -> SynapseIndex:
    """All-to-all index where synapse s = j * n_post + i joins pre j to post i.

    A dense (n_post, n_pre) weight matrix ``w`` maps to synapse order as ``w.T.ravel()``.
    """
    pre = np.repeat(np.arange(n_pre), n_post)
    post = np.tile(np.arange(n_post), n_pre)
    index, _ = build_index(pre, post, n_pre, n_post)
    return index
