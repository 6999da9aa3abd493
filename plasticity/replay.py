"""Apply a spike-timing rule to given spike trains: the rules' test bench.

``replay(rule, pre_times, post_times, w0)`` runs the rule's kernels on a dense all-to-all
projection (n_post x n_pre) with no neuron dynamics. Event-driven (``dt=None``) uses the
exact spike times; clock-driven (``dt`` in ms) first moves each spike to its time step as
Brian2 does, step = floor(t/dt + 1e-3) (brian2.core.functions.timestep), and then runs the
same kernels at the grid times. Presynaptic events precede postsynaptic events at equal
times, as in the native simulator (models/simulate.py) and Brian2's default schedule.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from . import stdp
from .errors import ParameterError, as_float_array, check_dt, check_positive
from .synapse_index import INDEX32_MAX, dense_index

PRE, POST = 0, 1


class Trajectory(NamedTuple):
    """Weights after every event time: ``times`` (n_times,) ms, ``weights`` (n_times, n_post, n_pre)."""

    times: np.ndarray
    weights: np.ndarray


def replay(rule, pre_times, post_times, w0, *, duration=None, dt=None, record=False):
    """Final weights (n_post, n_pre) after applying ``rule`` to the spike trains.

    Parameters
    ----------
    rule : PairSTDP | TripletSTDP
    pre_times, post_times : sequence of 1-D arrays
        Spike times (ms) per presynaptic / postsynaptic neuron, sorted, >= 0.
    w0 : array (n_post, n_pre)
        Initial weights, inside [rule.w_min, rule.w_max].
    duration : float, optional
        Only spikes at t < duration (ms) are applied (on the grid when ``dt`` is given).
    dt : float, optional
        Clock-driven time step (ms); ``None`` means event-driven with exact times.
    record : bool
        Also return a :class:`Trajectory` of the weights after each distinct event time.
    """
    if isinstance(rule, type) or getattr(rule, "family", None) is not stdp.FAMILY:
        got = f"the class {rule.__name__} (create an instance: {rule.__name__}())" if isinstance(rule, type) \
            else type(rule).__name__
        raise ParameterError(f"rule must be a spike-timing rule of the STDP kernel family (PairSTDP, TripletSTDP, "
                             f"InhibitorySTDP), got {got}; DopamineSTDP has "
                             f"plasticity.modulated.replay_modulated")
    pre = _spike_trains("pre_times", pre_times)
    post = _spike_trains("post_times", post_times)
    w = _initial_weights(rule, w0, len(pre), len(post))
    if duration is not None:
        duration = check_positive("duration", duration, "ms")
    if dt is not None:
        dt = check_dt(dt, rule.smallest_tau)
        pre = [_on_grid(f"pre_times[{k}]", t, dt) for k, t in enumerate(pre)]
        post = [_on_grid(f"post_times[{k}]", t, dt) for k, t in enumerate(post)]
        if duration is not None:
            # compare on the grid: step * dt < n_steps * dt  <=>  step < n_steps exactly
            duration = _duration_steps(duration, dt) * dt
    ev_t, ev_kind, ev_neuron = _merge_events(pre, post, duration)

    n_post, n_pre = w.shape
    index = dense_index(n_pre, n_post)
    w_syn = np.ascontiguousarray(w.T).ravel()
    state = stdp.init_state(n_pre, n_post, w_syn.size)
    if record:
        boundaries = np.flatnonzero(np.r_[ev_t[1:] != ev_t[:-1], True]) if ev_t.size else np.zeros(0, np.int64)
        saved = np.empty((boundaries.size, w_syn.size))
    else:
        boundaries = np.zeros(0, np.int64)
        saved = np.empty((0, w_syn.size))
    narrow = np.int32 if w_syn.size <= INDEX32_MAX else np.int64     # the simulator's index type
    _run_events(rule.kernel_params(), state, w_syn, index.indptr, index.post_idx.astype(narrow), index.post_ptr,
                index.post_syn.astype(narrow), index.post_pre.astype(narrow), ev_t, ev_kind, ev_neuron,
                boundaries, saved)
    final = w_syn.reshape(n_pre, n_post).T.copy()
    if not record:
        return final
    weights = saved.reshape(-1, n_pre, n_post).transpose(0, 2, 1).copy()
    return final, Trajectory(ev_t[boundaries], weights)


@njit(cache=True, error_model="numpy")     # as the network loop: the kernels' trace decay vectorises
def _run_events(p, state, w, indptr, post_idx, post_ptr, post_syn, post_pre,
                ev_t, ev_kind, ev_neuron, boundaries, saved):
    b = 0
    syn_start, syn_stop = indptr[:-1], indptr[1:]
    in_start, in_stop = post_ptr[:-1], post_ptr[1:]
    for e in range(ev_t.size):
        if ev_kind[e] == PRE:
            stdp.on_pre(p, state, w, syn_start, syn_stop, post_idx, ev_neuron[e], ev_t[e])
        else:
            stdp.on_post(p, state, w, in_start, in_stop, post_syn, post_pre, ev_neuron[e], ev_t[e])
        if b < boundaries.size and boundaries[b] == e:
            for s in range(w.size):        # not saved[b, :] = w: a slice assignment compiles
                saved[b, s] = w[s]         # Numba's shape-error formatting (seconds of cold compile)
            b += 1


def _spike_trains(name, trains):
    if isinstance(trains, np.ndarray) and trains.ndim == 1 and trains.dtype != object:
        raise ParameterError(f"{name} must be a sequence of 1-D arrays (one per neuron), "
                             f"got a single 1-D array; wrap it: [{name}]")
    try:
        out = [np.asarray(t, dtype=float) for t in trains]
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be a sequence of 1-D arrays of spike times (ms)") from None
    if not out:
        raise ParameterError(f"{name} must contain at least one neuron, got an empty sequence")
    for k, t in enumerate(out):
        label = f"{name}[{k}]"
        if t.ndim != 1:
            raise ParameterError(f"{label} must be a 1-D array of spike times (ms), got shape {t.shape}")
        if not np.all(np.isfinite(t)):
            raise ParameterError(f"{label} must contain finite spike times (ms), got {t[~np.isfinite(t)][0]!r}")
        if t.size and t.min() < 0.0:
            raise ParameterError(f"{label} must contain spike times >= 0 ms, got {t.min()!r}")
        if np.any(np.diff(t) <= 0.0):
            raise ParameterError(f"{label} must be sorted in increasing order without repeats (ms)")
    return out


def _initial_weights(rule, w0, n_pre, n_post):
    w = as_float_array("w0", w0)
    if w.shape != (n_post, n_pre):
        raise ParameterError(f"w0 must have shape (n_post, n_pre) = ({n_post}, {n_pre}), got {w.shape}")
    if not np.all(np.isfinite(w)):
        raise ParameterError("w0 must be finite")
    if w.min() < rule.w_min or w.max() > rule.w_max:
        raise ParameterError(f"w0 must lie in [w_min, w_max] = [{rule.w_min}, {rule.w_max}], "
                             f"got values in [{w.min()}, {w.max()}]")
    return w


def spike_steps(times, dt):
    """Time step of each spike time (ms) as Brian2 computes it: floor(t/dt + 1e-3)."""
    return np.floor(np.asarray(times, dtype=float) / dt + 1e-3).astype(np.int64)


def _duration_steps(duration, dt):
    """Number of time steps of a run of ``duration`` ms, as Brian2's Clock counts them:
    round(duration/dt) if that is within 1e-4 dt of the duration, else ceil(duration/dt)."""
    n = int(np.round(duration / dt))
    if n * dt == duration or abs(n * dt - duration) / dt <= 1e-4:
        return n
    return int(np.ceil(duration / dt))


def _on_grid(label, times, dt):
    steps = spike_steps(times, dt)
    if np.any(np.diff(steps) == 0):
        raise ParameterError(f"{label} has two spikes in one time step of dt = {dt} ms; use a smaller dt")
    return steps * dt


def _merge_events(pre, post, duration):
    times, kinds, neurons = [], [], []
    for kind, trains in ((PRE, pre), (POST, post)):
        for n, t in enumerate(trains):
            times.append(t)
            kinds.append(np.full(t.size, kind, dtype=np.int64))
            neurons.append(np.full(t.size, n, dtype=np.int64))
    t = np.concatenate(times)
    kind = np.concatenate(kinds)
    neuron = np.concatenate(neurons)
    if duration is not None:
        keep = t < duration
        t, kind, neuron = t[keep], kind[keep], neuron[keep]
    order = np.lexsort((neuron, kind, t))
    return t[order], kind[order], neuron[order]
