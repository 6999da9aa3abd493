"""The RSNN of docs/design.md as a models.Network, trained online by the rule contract.

``to_network(rsnn, x, target, rule=...)`` builds (Bellec et al. 2020 / NEST ``eprop_iaf``
conventions, the mapping held exact by the tests):

* inputs x (T, n_in) of 0/1 -> a SpikeGeneratorGroup spiking at t*dt where x[t] = 1;
* the recurrent neurons -> one LIF group with delta synapses (W_in, W_rec in mV; v_th,
  e_leak = v_reset = 0), ``reset="subtract"`` (v_t = alpha v_{t-1} + ... - v_th z_{t-1}, the
  subtraction not decayed), per-neuron beta (the last n_alif are ALIF, tau_a), the RSNN's
  surrogate for psi; W_rec all-to-all without self-connections;
* the readout -> ``models.Readout(n_out, tau_out, target, bias=b_out, t_start=dt)``;
* step alignment: a spike emitted at network step k reaches v at step k + 1, so RSNN step t
  is network step t + 1: the inputs x_t arrive at step t + 1, and the readout starts at
  step 1 with target row t at step t + 1. The network returned has already run its first
  step (0 .. dt, the inputs' transmission step; nothing learns there), so that after
  ``net.run(T * rsnn.dt)`` it has done RSNN steps 0 .. T-1.

``rule="eprop"`` (options ``feedback``, ``B``, ``seed``, ``c_reg``, ``f_target``) or
``"ottt"`` (options ``lam``, ``c_reg``, ``f_target``; variant O: ``optimizer=SGD(lr)`` and
``every=rsnn.dt``). ``learner.gradients()`` then equals
``plasticity.eprop.gradients(rsnn, x[None], target[None], detach_reset=True, ...)`` and
``plasticity.ottt.gradients(rsnn, x[None], target[None], ...)``.

Online updates (``optimizer``, ``every`` ms: :class:`models.learning.Learner`) change the
weights between steps. A spike is delivered with the weight its synapse has when it arrives
(the end of the emission step), one update before the RSNN's integration reads the weight,
so OTTT_O here agrees with ``plasticity.ottt.gradients(..., variant="O")`` to second order
in the learning rate (0.2-0.5 % of the weight change over 40 steps at lr = 1e-3, tested).
"""
from __future__ import annotations

import numpy as np

from plasticity.bptt import check_target, check_window
from plasticity.errors import ParameterError, check_choice
from plasticity.online import EPropRule, OTTTRule

from .connectivity import all_to_all
from .learning import Learner
from .neurons import LIF, Readout, SpikeGeneratorGroup
from .simulate import Network

RULES = ("eprop", "ottt")


def to_network(rsnn, x, target, *, rule="eprop", loss="mse", window=None, optimizer=None, every=None,
               recurrent=None, **options):
    """``(net, learner)``: ``rsnn`` on inputs ``x`` (T, n_in) of 0/1 and ``target`` as a
    models.Network with the online rule (see the module docstring). ``loss="mse"``: target
    (T, n_out); ``loss="ce"``: target is the integer label of the sequence and ``window`` the
    decision window in steps (default T), as plasticity.eprop.gradients takes them.
    ``recurrent``: the connection pattern of W_rec (default all-to-all without
    self-connections; e.g. ``models.fixed_probability(0.2)``), weights taken from rsnn.w_rec."""
    check_choice("rule", rule, RULES)
    x = np.asarray(x, dtype=float)
    if x.ndim != 2 or x.shape[1] != rsnn.n_in:
        raise ParameterError(f"x must have shape (T, n_in = {rsnn.n_in}), got {x.shape}")
    if not np.all((x == 0) | (x == 1)):
        raise ParameterError("x must hold spikes (0 or 1) to become spike generators")
    check_choice("loss", loss, ("mse", "ce"))
    T = x.shape[0]
    if loss == "mse":
        target = np.asarray(target, dtype=float)
        if target.shape != (T, rsnn.n_out) or not np.all(np.isfinite(target)):
            raise ParameterError(f"target must be finite with shape (T, n_out) = {(T, rsnn.n_out)}, got {target.shape}")
        if window is not None:
            raise ParameterError("window belongs to loss='ce'")
        readout = dict(target=target)
    else:
        label = check_target(np.atleast_1d(target), "ce", 1, T, rsnn.n_out)[0]
        w = check_window(window, T)
        readout = dict(loss="ce", labels=[int(label)], trial=T * rsnn.dt, window=w * rsnn.dt)
    if rsnn.smooth is not None:
        raise ParameterError("rsnn.smooth must be None: the network's spikes are the Heaviside step")
    try:
        online = EPropRule(**options) if rule == "eprop" else OTTTRule(**options)
    except TypeError as exc:
        raise ParameterError(f"unknown option for rule {rule!r}: {exc}") from None
    dt = rsnn.dt
    net = Network(dt=dt, seed=rsnn.seed)
    inputs = net.add(SpikeGeneratorGroup.from_trains([np.flatnonzero(x[:, l]) * dt for l in range(rsnn.n_in)]))
    rec = net.add(LIF(rsnn.n_rec, synapses="delta", reset="subtract", tau_m=rsnn.tau_m, e_leak=0.0, v_reset=0.0,
                      v_th=rsnn.v_th, beta=rsnn.beta_vec, tau_a=rsnn.tau_a,
                      surrogate=rsnn.params.surrogate_spec))
    out = net.add(Readout(rsnn.n_out, tau=rsnn.tau_out, bias=rsnn.b_out, t_start=dt, **readout))
    p_in = net.connect(inputs, rec, weight=0.0, rule=online, readout=out)
    p_rec = net.connect(rec, rec, weight=0.0, connectivity=recurrent or all_to_all(allow_self=False), rule=online, readout=out)
    p_out = net.connect(rec, out, weight=0.0, rule=online)
    for proj, w in ((p_in, rsnn.w_in), (p_rec, rsnn.w_rec), (p_out, rsnn.w_out)):
        proj.w[:] = w[proj.post, proj.pre]
    learner = Learner(net, {"w_in": p_in, "w_rec": p_rec, "w_out": p_out}, readout=out, optimizer=optimizer,
                      every=every)
    net.run(dt)                 # the inputs' transmission step (see the module docstring)
    learner.reset()
    return net, learner
