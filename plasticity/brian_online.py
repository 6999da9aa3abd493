"""e-prop and OTTT as Brian2 equations: :func:`attach_eprop`, :func:`attach_ottt`, :func:`rsnn_gradients`.

Bellec et al. 2020 (Nat Commun 11:3625, e-prop) and Xiao et al. 2022 (NeurIPS, OTTT), the
rules of :mod:`plasticity.online` (the parameters are the same :class:`~plasticity.EPropRule`
/ :class:`~plasticity.OTTTRule`), written as Brian2 code so that they run on every target
(numpy, cython, cpp_standalone): no Python runs during the simulation.

What :func:`attach_eprop` adds to a user's network (``neurons``: the recurrent group with a
membrane potential and a threshold; ``readout``: the group whose output ``y`` should follow a
target ``y_star``; ``hidden``: the Synapses onto ``neurons`` that learn; ``output``: the
Synapses ``neurons`` -> ``readout``), for delta synapses (an arrival changes v by
``increment`` * w, y by ``increment_y`` * w):

* per hidden synapse j <- l: the presynaptic trace eps_v = dv_j/dw (``xbar += increment`` on
  each arrival, ``xbar *= decay`` where the user's group leaks: ``leak_when``), and, at the
  threshold test of every step (``when="after_thresholds"``), with psi_j the pseudo-derivative
  of the neuron at that moment (a subexpression of a helper group that links the user's
  ``v`` and threshold, or the user's own ``psi``)::

      e     = psi_j * (eps_v - beta_j * eps_a)              (eligibility trace)
      ebar  = kappa_e * ebar + e                            (kappa_e: readout leak; OTTT: 0)
      eps_a = rho * eps_a + e                               (ALIF adaptation path, e-prop)

* the readout error err_k = (y_k - y_star_k) / batch at the end of the step (``when="end"``),
  the readout's gradient g_out += err_k * zbar (zbar = dy_k/dw, the same trace on the output
  synapses) and the bias's gb += err_k * cb (cb = kappa*cb + 1, for y = kappa*y + b per step);
* the learning signal L_j = sum_k B_jk err_k as a ``(summed)`` variable of the helper group;
  Brian2 computes summed variables in the ``groups`` slot, so it is applied at the start of the
  next step: grad += L_j * ebar (``when="groups"``, before the user's state updaters).

Every update is a ``run_regularly`` operation with an explicit slot and order, so the discrete
recursions are exact (no ODE approximation). :func:`rsnn_gradients` builds the discrete RSNN of
:mod:`models.rsnn` as such a Brian2 network (leak as ``run_regularly`` before the synaptic
arrivals, subtractive reset, threshold ``v > A`` with A = v_th + beta*a and psi a subexpression
of the group), attaches the rule and returns the gradients: equal to
``plasticity.eprop.gradients(..., detach_reset=True)`` / ``plasticity.ottt.gradients`` and to
the ``models.rsnn.to_network`` learner (tests/brian/test_eprop_brian.py, rtol 1e-9).
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .errors import ParameterError, check_choice, check_non_negative, check_positive
from .online import EPropRule, OTTTRule
from .surrogate import Surrogate, as_surrogate

DEVICES = ("numpy", "cython", "cpp_standalone")
RULES = ("eprop", "ottt")


# -- the pieces of code -----------------------------------------------------------------------

def surrogate_expression(spec: Surrogate, scale: float, u: str) -> tuple[str, dict]:
    """``(expression, namespace)`` of the pseudo-derivative psi(u) of :mod:`plasticity.surrogate`
    (u in mV, ``scale`` = v_th of the triangular shape, mV), with the constants folded the way
    the Numba kernel folds them so that both give the same double."""
    kind = spec.kind
    if kind == "triangular":
        return (f"ep_gv * clip(1.0 - abs({u}) / ep_scale, 0.0, inf)",
                dict(ep_gv=spec.gamma / scale, ep_scale=float(scale)))
    if kind == "fast_sigmoid":
        return f"1.0 / ((ep_slope * abs({u}) + 1.0) * (ep_slope * abs({u}) + 1.0))", dict(ep_slope=spec.slope)
    if kind == "arctan":
        return (f"ep_half_a / (1.0 + (ep_qa * ({u})) * (ep_qa * ({u})))",
                dict(ep_half_a=0.5 * spec.alpha, ep_qa=0.5 * math.pi * spec.alpha))
    if kind == "rectangular":
        return f"int(abs({u}) < ep_half_w) / ep_width", dict(ep_half_w=0.5 * spec.width, ep_width=spec.width)
    raise ParameterError(f"surrogate must be one of 'triangular', 'fast_sigmoid', 'arctan', 'rectangular' for "
                         f"Brian2 (the smoothed model has no spike events), got {kind!r}")


class Projection(NamedTuple):
    """A user's Synapses as the rule sees it: the pairs (source index ``i``, target index
    ``j``), the delay of each synapse (s) and the weight (``w``, read for symmetric feedback)."""

    synapses: object
    i: np.ndarray
    j: np.ndarray
    delay: np.ndarray
    w: np.ndarray | None


class Timing(NamedTuple):
    """Per-step factors of the rule (dimensionless): ``decay`` of the presynaptic trace (alpha
    = exp(-dt/tau_m), or OTTT's lam), ``kappa`` of the readout, ``kappa_e`` of the eligibility
    filter (kappa for e-prop, 0 for OTTT) and ``rho`` = exp(-dt/tau_a) (ALIF)."""

    decay: float
    kappa: float
    kappa_e: float
    rho: float


class OnlineLearning:
    """What :func:`attach_eprop` / :func:`attach_ottt` return.

    ``objects``: the Brian2 objects to add to your ``Network`` (``net.add(learning.objects)``);
    after a run, :meth:`gradients` gives the accumulated gradient of each learning Synapses'
    weights (arrays in the Synapses' own order), of the output weights and of a per-step bias.
    """

    def __init__(self, rule, objects, hidden, output, hidden_groups, output_group, error_group, monitor, dt_ms):
        self.rule = rule
        self.objects = objects
        self._hidden, self._output = hidden, output
        self._hidden_groups, self._output_group = hidden_groups, output_group
        self._error_group, self._monitor, self._dt = error_group, monitor, dt_ms
        self._count0 = 0.0
        self._feedback = self._feedback_index = None
        self._B, self._ce, self._batch = None, False, 1

    def reset(self) -> None:
        """Restart the accumulation (runtime targets; the traces and the network go on, as
        ``models.learning.Learner.reset``). The learning signal of a run's last step is applied
        at the first step of the next run, so it counts toward the next accumulation."""
        for s in self._hidden_groups:
            s.g = 0.0
            if self.rule.c_reg > 0:
                s.esum = 0.0
        self._output_group.g = 0.0
        self._error_group.gb = 0.0
        self._error_group.sq = 0.0
        if self._ce:
            for group in self._hidden_groups + [self._output_group]:
                group.s_win = 0.0
            self._error_group.ysum = self._error_group.s_cb = self._error_group.n_win = 0.0
        if self._monitor is not None:
            self._count0 = np.array(self._monitor.count[:], dtype=float)   # a copy: the view is live

    def loss(self) -> float:
        """0.5 * the sum over steps and outputs of (y - y_star)^2 since :meth:`reset` (as
        ``models.learning.Learner.loss``)."""
        return 0.5 * float(np.sum(self._error_group.sq[:]))

    def refresh_feedback(self) -> None:
        """Symmetric feedback: copy the output weights (after you changed them) into B = W_out^T."""
        if self.rule.feedback == "symmetric":
            w = np.append(np.asarray(self._output.synapses.w[:], dtype=float), 0.0)   # index -1: no synapse
            self._feedback.B = w[self._feedback_index]

    def ce_gradients(self, label: int) -> tuple[dict, float]:
        """CE (``ce_window`` given): the window's error err = (softmax(mean y) - onehot(label)) /
        (batch * n_window) applied to the window sums (the same error at every window step, as
        plasticity.eprop does): grad = L_j * sum(ebar), L = B err; output err * sum(zbar); bias
        err * sum(cb). Returns ``(gradients as raw() gives them, -log p[label])``."""
        from .readout import softmax_ce_error_reference

        if not self._ce:
            raise ParameterError("ce_gradients needs attach(..., ce_window=(t_start, t_stop))")
        E = self._error_group
        n_win = float(E.n_win[:][0])
        if n_win < 1:
            raise ParameterError("the CE window held no step")
        loss, err = softmax_ce_error_reference(np.asarray(E.ysum[:], dtype=float), n_win, np.array(label),
                                               1.0 / self._batch)
        L = self._B @ err
        hidden = [(L[p.j] * np.array(s.s_win[:], dtype=float), None) for s, p in zip(self._hidden_groups, self._hidden)]
        out = err[self._output.j] * np.array(self._output_group.s_win[:], dtype=float)
        return dict(hidden=hidden, output=out, bias=err * np.asarray(E.s_cb[:], dtype=float)), float(loss)

    def raw(self) -> dict:
        """Accumulators as NumPy arrays: ``hidden`` (list, per projection: grad, esum), ``output``
        (grad), ``bias`` (grad), ``counts`` (spikes per neuron)."""
        use_reg = self.rule.c_reg > 0
        hidden = [(np.array(s.g[:], dtype=float), np.array(s.esum[:], dtype=float) if use_reg else None)
                  for s in self._hidden_groups]
        return dict(hidden=hidden, output=np.array(self._output_group.g[:], dtype=float),
                    bias=np.array(self._error_group.gb[:], dtype=float),
                    counts=(np.array(self._monitor.count[:], dtype=float) - self._count0)
                    if self._monitor is not None else None)

    def gradients(self, n_steps: int | None = None) -> dict:
        """``{"hidden": [grad per hidden Synapses], "output": grad, "bias": grad}``; with the
        rate regularization (``c_reg`` > 0) ``n_steps`` (the steps run, batch 1) gives the
        rates (Hz) of its dE/dz, added times the eligibility sums."""
        from .bptt import rate_regularization

        raw = self.raw()
        grads = [g for g, _ in raw["hidden"]]
        if self.rule.c_reg > 0:
            if n_steps is None:
                raise ParameterError("n_steps must be given with c_reg > 0 (the rates of the regularization)")
            rates = raw["counts"] / n_steps * (1000.0 / self._dt)
            _, reg = rate_regularization(rates, self.rule.c_reg, self.rule.f_target, self._dt, n_steps)
            grads = [g + reg[p.j] * es for (g, es), p in zip(raw["hidden"], self._hidden)]
        return dict(hidden=grads, output=raw["output"], bias=raw["bias"])


def _projection(b2, synapses, what: str, pairs, weights: bool) -> Projection:
    if not isinstance(synapses, b2.Synapses):
        raise ParameterError(f"{what} must be a brian2.Synapses, got {type(synapses).__name__}")
    standalone = not isinstance(b2.get_device(), b2.devices.RuntimeDevice)
    if pairs is not None:
        i, j = (np.asarray(a, dtype=np.int64) for a in pairs[:2])
        delay = np.asarray(pairs[2], dtype=float) if len(pairs) > 2 and pairs[2] is not None else np.zeros(i.size)
        w = np.asarray(pairs[3], dtype=float) if len(pairs) > 3 else None
    elif standalone:
        raise ParameterError(f"connections must give (i, j[, delay_s[, w]]) for {what} {synapses.name!r} on "
                             "cpp_standalone (its indices cannot be read before the run)")
    else:
        i, j = np.asarray(synapses.i[:], dtype=np.int64), np.asarray(synapses.j[:], dtype=np.int64)
        delay = np.asarray(synapses.pre.delay[:], dtype=float) if i.size else np.zeros(0)
        delay = np.broadcast_to(delay, i.shape).copy()
        w = None
        if weights:
            if "w" not in synapses.variables:
                raise ParameterError(f"{what} {synapses.name!r} has no weight 'w' for the symmetric feedback")
            w = np.asarray(synapses.w[:], dtype=float)
    if i.shape != j.shape or i.shape != delay.shape:
        raise ParameterError(f"connections of {what} must give i, j and delay of the same length")
    return Projection(synapses, i, j, delay, w)


def _require(group, name: str, what: str, role: str):
    if name not in group.variables:
        raise ParameterError(f"{what} {group.name!r} has no variable {name!r} ({role}); it has "
                             f"{', '.join(sorted(k for k in group.variables if not k.startswith('_')))}")
    return group.variables[name]


def _gate(t_start, t_stop) -> tuple[str, dict]:
    """Code and namespace of ``gate`` = 1 inside [t_start, t_stop) (ms, on the step grid), else 0."""
    import brian2 as b2

    parts, ns = [], {}
    if t_start is not None:
        parts.append("int(t > ep_t0)")
        ns["ep_t0"] = float(t_start) * b2.ms
    if t_stop is not None:
        parts.append("int(t < ep_t1)")
        ns["ep_t1"] = float(t_stop) * b2.ms
    return "gate = " + (" * ".join(parts) if parts else "1.0"), ns


def _attach(rule, neurons, readout, hidden, output, *, timing: Timing, beta, potential, threshold, output_var,
            target, psi, surrogate, v_scale, increment, increment_y, leak_when, t_start, t_stop, batch,
            connections, name, ce_window=None):
    import brian2 as b2

    for group, what in ((neurons, "neurons"), (readout, "readout")):
        if not isinstance(group, b2.NeuronGroup):
            raise ParameterError(f"{what} must be a brian2.NeuronGroup, got {type(group).__name__}")
    if isinstance(hidden, b2.Synapses):
        hidden = [hidden]
    if not hidden:
        raise ParameterError("hidden must list the Synapses onto neurons that learn, got none")
    connections = connections or {}
    projections = [_projection(b2, s, "hidden", connections.get(s), False) for s in hidden]
    for p in projections:
        if p.synapses.target is not neurons:
            raise ParameterError(f"hidden Synapses {p.synapses.name!r} must target neurons {neurons.name!r}, "
                                 f"got {p.synapses.target.name!r}")
    out = _projection(b2, output, "output", connections.get(output), rule.feedback == "symmetric")
    if output.source is not neurons or output.target is not readout:
        raise ParameterError(f"output Synapses {output.name!r} must connect neurons {neurons.name!r} to readout "
                             f"{readout.name!r}")
    if np.any(out.delay > 0):
        raise ParameterError("output synapses must have no delay (y_t reads the spikes of its own step)")
    n, n_out = neurons.N, readout.N
    gate, gate_ns = _gate(t_start, t_stop)
    dt_ms = float(neurons.clock.dt / b2.ms)

    # the readout: dimensionless output and target
    _require(readout, output_var, "readout", "the output y")
    if ce_window is None:
        _require(readout, target, "readout", "the target y_star")
    for var, role in ((output_var, "output"),) + (((target, "target"),) if ce_window is None else ()):
        if not readout.variables[var].dim.is_dimensionless:
            raise ParameterError(f"the readout's {role} {var!r} must be dimensionless, got {readout.variables[var].unit}")

    # the helper group of the learning neurons: psi and the learning signal
    h_eqs = ["L : 1"]
    user_ns = dict(neurons.namespace or {})   # linked subexpressions are resolved where they are used
    h_ns = dict(user_ns)
    if psi is not None:
        _require(neurons, psi, "neurons", "the pseudo-derivative psi")
        h_eqs.append("psi_l : 1 (linked)")
        psi_name = "psi_l"
    else:
        v = _require(neurons, potential, "neurons", "the membrane potential")
        unit = b2.mV if v.dim is b2.volt.dim else 1.0
        if not (v.dim is b2.volt.dim or v.dim.is_dimensionless):
            raise ParameterError(f"the potential {potential!r} must be in volt or dimensionless, got {v.unit}")
        h_eqs.append(f"v_l : {'volt' if v.dim is b2.volt.dim else '1'} (linked)")
        if isinstance(threshold, str):
            _require(neurons, threshold, "neurons", "the firing threshold")
            h_eqs.append(f"th_l : {'volt' if v.dim is b2.volt.dim else '1'} (linked)")
            u = "(v_l - th_l) / ep_vunit"
        else:
            h_ns["ep_threshold"] = float(threshold) * unit
            u = "(v_l - ep_threshold) / ep_vunit"
        h_ns["ep_vunit"] = unit
        expr, ns = surrogate_expression(surrogate, v_scale, u)
        h_eqs.append(f"psi = {expr} : 1")
        h_ns.update(ns)
        psi_name = "psi"
    alif = beta is not None and np.any(np.asarray(beta) != 0)
    if alif:
        h_eqs.append("beta_h : 1 (constant)")
    H = b2.NeuronGroup(n, "\n".join(h_eqs), namespace=h_ns, name=f"{name}_neurons*", order=-50)
    if psi is not None:
        H.psi_l = b2.linked_var(neurons, psi)
    else:
        H.v_l = b2.linked_var(neurons, potential)
        if isinstance(threshold, str):
            H.th_l = b2.linked_var(neurons, threshold)
    if alif:
        H.beta_h = np.asarray(beta, dtype=float)

    # the error group: err = (y - y_star) / batch at the end of the step, the bias gradient
    ce = ce_window is not None
    win, win_ns = _gate(*ce_window) if ce else ("", {})
    win = win.replace("gate =", "win =")
    e_model = "err : 1\ncb : 1\ngb : 1\nsq : 1" + ("\nysum : 1\ns_cb : 1\nn_win : 1" if ce else "")
    E = b2.NeuronGroup(n_out, "y_l : 1 (linked)\n" + ("" if ce else "ys_l : 1 (linked)\n") + e_model,
                       namespace=dict(readout.namespace or {}, ep_scale_err=1.0 / batch, ep_kappa=timing.kappa,
                                      **gate_ns), name=f"{name}_error*")
    E.y_l = b2.linked_var(readout, output_var)
    if ce:   # the error exists at the end of the window only: window sums here, applied by gradients(labels)
        E.namespace.update({k.replace("ep_t", "ep_w"): v for k, v in win_ns.items()})
        win = win.replace("ep_t", "ep_w")
        E.run_regularly(f"{gate}\n{win}\ncb = ep_kappa * cb + gate\nysum += win * y_l\ns_cb += win * cb\n"
                        "n_win += win", when="end", order=0, name=f"{name}_error_step*")
    else:
        E.ys_l = b2.linked_var(readout, target)
        E.run_regularly(f"{gate}\nerr = gate * (y_l - ys_l) * ep_scale_err\ncb = ep_kappa * cb + gate\n"
                        "gb += err * cb\nsq += gate * (y_l - ys_l) * (y_l - ys_l)",
                        when="end", order=0, name=f"{name}_error_step*")

    # the learning signal, summed (computed in the groups slot at H.order - 1)
    F = b2.Synapses(E, H, "B : 1\nL_post = B * err_pre : 1 (summed)", name=f"{name}_feedback*")
    F.connect(i=np.tile(np.arange(n_out), n), j=np.repeat(np.arange(n), n_out))
    if rule.feedback == "symmetric":
        if out.w is None:
            raise ParameterError("connections of the output Synapses must give w (4th entry) for symmetric "
                                 "feedback on cpp_standalone")
        B = np.zeros((n, n_out))
        np.add.at(B, (out.i, out.j), out.w)
    else:
        B = rule.feedback_matrix(n, n_out)
    f_j, f_k = np.repeat(np.arange(n), n_out), np.tile(np.arange(n_out), n)
    F.B = np.asarray(B, dtype=float)[f_j, f_k]

    # eligibility synapses, one per hidden projection (same pairs and delays)
    use_reg = rule.c_reg > 0
    model = (["xbar : 1", "ebar : 1", "g : 1"] + (["eps_a : 1"] if alif else []) + (["esum : 1"] if use_reg else [])
             + (["s_win : 1"] if ce else []))
    e_code = [gate, f"elig = gate * {psi_name}_post * (xbar{' - beta_h_post * eps_a' if alif else ''})",
              "ebar = ep_kappa_e * ebar + elig"]
    if alif:
        e_code.append("eps_a = ep_rho * eps_a + elig")
    if use_reg:
        e_code.append("esum += elig")
    if ce:
        e_code += [win, "s_win += win * ebar"]
    s_ns = dict(h_ns, **({k.replace("ep_t", "ep_w"): v for k, v in win_ns.items()} if ce else {}), ep_decay=timing.decay, ep_kappa_e=timing.kappa_e, ep_rho=timing.rho, ep_inc=float(increment),
                **gate_ns)
    groups = []
    for k, p in enumerate(projections):
        S = b2.Synapses(p.synapses.source, H, "\n".join(model), on_pre="xbar += ep_inc", namespace=s_ns,
                        name=f"{name}_eligibility{k}*")
        S.connect(i=p.i, j=p.j)
        if p.i.size and np.any(p.delay > 0):
            S.delay = p.delay * b2.second
        S.run_regularly("xbar = ep_decay * xbar", when=leak_when, order=1, name=f"{name}_trace{k}*")
        S.run_regularly("\n".join(e_code), when="after_thresholds", order=0, name=f"{name}_elig{k}*")
        if not ce:
            S.run_regularly("g += L_post * ebar", when="groups", order=-49, name=f"{name}_grad{k}*")
        groups.append(S)

    # the readout's own gradient: zbar = dy/dw on the output pairs
    O = b2.Synapses(neurons, E, "zbar : 1\ng : 1" + ("\ns_win : 1" if ce else ""), on_pre="zbar += ep_inc_y",
                    namespace=dict(ep_kappa=timing.kappa, ep_inc_y=float(increment_y),
                                   **({k.replace("ep_t", "ep_w"): v for k, v in win_ns.items()} if ce else {})),
                    name=f"{name}_readout*")
    O.connect(i=out.i, j=out.j)
    O.run_regularly("zbar = ep_kappa * zbar", when=leak_when, order=1, name=f"{name}_ztrace*")
    O.run_regularly(f"{win}\ns_win += win * zbar" if ce else "g += err_post * zbar", when="end", order=1,
                    name=f"{name}_readout_grad*")
    monitor = b2.SpikeMonitor(neurons, record=False, name=f"{name}_counts*") if use_reg else None
    objects = [H, E, F, O] + groups + ([monitor] if monitor is not None else [])
    learning = OnlineLearning(rule, objects, projections, out, groups, O, E, monitor, dt_ms)
    learning._B, learning._ce, learning._batch = np.asarray(B, dtype=float), ce, batch
    if rule.feedback == "symmetric":     # F synapse (k -> j) reads output synapse (j -> k)
        position = {(a, b): s for s, (a, b) in enumerate(zip(out.i.tolist(), out.j.tolist()))}
        learning._feedback = F
        learning._feedback_index = np.array([position.get((a, b), -1) for a, b in zip(f_j.tolist(), f_k.tolist())])
    return learning


def _decays(dt_ms: float, tau_m, tau_out, tau_a):
    check_positive("tau_m", tau_m, "ms")
    check_non_negative("tau_out", tau_out, "ms")
    alpha = math.exp(-dt_ms / tau_m)
    kappa = 0.0 if tau_out == 0 else math.exp(-dt_ms / tau_out)
    rho = 0.0 if tau_a is None else math.exp(-dt_ms / check_positive("tau_a", tau_a, "ms"))
    return alpha, kappa, rho


def _window(value):
    if value is None:
        return None
    if len(value) != 2:
        raise ParameterError(f"ce_window must be (t_start, t_stop) in ms, got {value!r}")
    return _as_ms(value[0], "ce_window start"), _as_ms(value[1], "ce_window stop")


def _as_ms(value, name):
    import brian2 as b2

    if value is None:
        return None
    if isinstance(value, b2.Quantity):
        return float(value / b2.ms)
    return check_non_negative(name, value, "ms")


def attach_eprop(rule, neurons, readout, hidden, output, *, tau_m, tau_out, beta=None, tau_a=None, potential="v",
                 threshold="v_th", output_var="y", target="y_star", psi=None, surrogate="triangular", gamma=0.3,
                 v_scale=1.0, increment=1.0, increment_y=1.0, leak_when="groups", t_start=None, t_stop=None,
                 batch=1, connections=None, ce_window=None, name="eprop"):
    """Add e-prop (``rule``: a :class:`plasticity.EPropRule`) to your own Brian2 network.

    ``neurons``: your recurrent ``NeuronGroup``, with a membrane potential ``potential`` (volt
    or dimensionless) and a threshold ``threshold`` (a variable or subexpression name, or a
    number in mV) — or your own pseudo-derivative subexpression named by ``psi``; ``readout``:
    a ``NeuronGroup`` with a dimensionless output ``output_var`` and target ``target``
    (e.g. ``y_star = target_array(t, i) : 1``); ``hidden``: the ``Synapses`` onto ``neurons``
    that learn (one or a list), ``output``: the ``Synapses`` neurons -> readout (no delay).
    Synapses are delta synapses: an arrival changes v by ``increment`` * w (mV or units of v)
    and y by ``increment_y`` * w.

    ``tau_m`` (ms): the membrane time constant (the trace decays by exp(-dt/tau_m) per step,
    where your group leaks: ``leak_when``, Brian2's slot of your state update, "groups" for
    differential equations); ``tau_out`` (ms): the readout's. ALIF neurons: ``beta`` (per
    neuron, threshold = v_th + beta*a, a += 1 per spike) and ``tau_a`` (ms). The surrogate
    (``surrogate``, ``gamma``) is :mod:`plasticity.surrogate`'s with v_th = ``v_scale`` mV.
    Learning happens for t_start < t < t_stop (ms, None: always); ``batch`` divides the error.
    ``connections``: ``{synapses: (i, j[, delay_s[, w]])}``, needed on cpp_standalone (where
    indices cannot be read before the run). ``ce_window=(t0, t1)`` (ms): cross-entropy on the
    mean of y over t0 < t < t1 instead of MSE (no target needed); read the result with
    ``learning.ce_gradients(label)``.

    Returns :class:`OnlineLearning`; add ``learning.objects`` to your network.
    """
    import brian2 as b2

    if not isinstance(rule, EPropRule):
        raise ParameterError(f"rule must be a plasticity.EPropRule, got {type(rule).__name__}")
    if rule.feedback == "adaptive":
        raise ParameterError("feedback 'adaptive' is not available in Brian2 (B would change with W_out between "
                             "runs); use 'symmetric' (refresh_feedback() after W_out changes) or 'random'")
    dt_ms = float(neurons.clock.dt / b2.ms) if hasattr(neurons, "clock") else None
    if dt_ms is None:
        raise ParameterError(f"neurons must be a brian2.NeuronGroup, got {type(neurons).__name__}")
    if (beta is None) != (tau_a is None):
        raise ParameterError("beta and tau_a go together (ALIF neurons): give both or neither")
    alpha, kappa, rho = _decays(dt_ms, _as_ms(tau_m, "tau_m"), _as_ms(tau_out, "tau_out"), _as_ms(tau_a, "tau_a"))
    timing = Timing(alpha, kappa, kappa, rho)
    return _attach(rule, neurons, readout, hidden, output, timing=timing,
                   beta=None if beta is None else np.broadcast_to(np.asarray(beta, dtype=float), (neurons.N,)),
                   potential=potential, threshold=threshold, output_var=output_var, target=target, psi=psi,
                   surrogate=Surrogate(kind=as_surrogate(surrogate).kind, gamma=gamma), v_scale=v_scale,
                   increment=increment, increment_y=increment_y, leak_when=leak_when, t_start=_as_ms(t_start, "t_start"),
                   t_stop=_as_ms(t_stop, "t_stop"), batch=batch, connections=connections,
                   name=name, ce_window=_window(ce_window))


def attach_ottt(rule, neurons, readout, hidden, output, *, tau_m, tau_out, potential="v", threshold="v_th",
                output_var="y", target="y_star", psi=None, surrogate="triangular", gamma=0.3, v_scale=1.0,
                increment=1.0, increment_y=1.0, leak_when="groups", t_start=None, t_stop=None, batch=1,
                connections=None, ce_window=None, name="ottt"):
    """Add OTTT (``rule``: a :class:`plasticity.OTTTRule`, variant A: gradients accumulated)
    to your own Brian2 network; arguments as :func:`attach_eprop` (no ALIF path: OTTT has
    none). The presynaptic trace decays with ``rule.lam`` (default exp(-dt/tau_m)), the
    eligibility is not filtered (kappa_e = 0) and the feedback is symmetric (W_out^T)."""
    import brian2 as b2

    if not isinstance(rule, OTTTRule):
        raise ParameterError(f"rule must be a plasticity.OTTTRule, got {type(rule).__name__}")
    if not hasattr(neurons, "clock"):
        raise ParameterError(f"neurons must be a brian2.NeuronGroup, got {type(neurons).__name__}")
    dt_ms = float(neurons.clock.dt / b2.ms)
    alpha, kappa, _ = _decays(dt_ms, _as_ms(tau_m, "tau_m"), _as_ms(tau_out, "tau_out"), None)
    timing = Timing(alpha if rule.lam is None else rule.lam, kappa, 0.0, 0.0)
    return _attach(rule, neurons, readout, hidden, output, timing=timing, beta=None, potential=potential,
                   threshold=threshold, output_var=output_var, target=target, psi=psi,
                   surrogate=Surrogate(kind=as_surrogate(surrogate).kind, gamma=gamma), v_scale=v_scale,
                   increment=increment, increment_y=increment_y, leak_when=leak_when, t_start=_as_ms(t_start, "t_start"),
                   t_stop=_as_ms(t_stop, "t_stop"), batch=batch, connections=connections,
                   name=name, ce_window=_window(ce_window))


# -- the RSNN of models.rsnn in Brian2 ---------------------------------------------------------

def rsnn_network(b2, rsnn, x, target):
    """The discrete RSNN of :mod:`models.rsnn` as Brian2 objects (a dict), on input spikes ``x``
    (T, n_in) of 0/1 and ``target`` (T, n_out).

    RSNN step t is Brian2 step t + 1: in step t the threshold tests v_{t-1} (``v > A``, A =
    v_th + beta*a, the spike z_{t-1}), then the leak ``v = alpha*v; a = rho*a`` runs
    (``run_regularly`` in ``before_synapses``), the arrivals of x_t (a SpikeGeneratorGroup
    spiking at t*dt) and of z_{t-1} add W_in and W_rec, and the reset subtracts v_th (a += 1
    for ALIF): v_t = alpha v_{t-1} + W_in x_t + W_rec z_{t-1} - v_th z_{t-1}. The readout
    ``y = kappa*y + b`` (from step 1) plus the arrivals of z_t gives y_t at the end of step t + 1,
    where ``y_star`` (a TimedArray, shifted by one step) is target_t."""
    p = rsnn.params
    ms = b2.ms
    T = x.shape[0]
    expr, ns = surrogate_expression(p.surrogate_spec, p.v_th, "v - A")
    rec = b2.NeuronGroup(p.n_rec, f"""
        v : 1
        a : 1
        beta : 1 (constant)
        adaptive : 1 (constant)
        A = ep_vth + beta * a : 1
        psi = {expr} : 1
        """, threshold="v > A", reset="v -= ep_vth\na += adaptive",
                         namespace=dict(ep_vth=p.v_th, ep_alpha=p.alpha, ep_rho=p.rho, **ns),
                         name="rsnn_rec*")
    rec.beta = rsnn.beta_vec
    rec.adaptive = rsnn.adaptive
    rec.run_regularly("v = ep_alpha * v\na = ep_rho * a", when="before_synapses", order=0, name="rsnn_leak*")
    rows = np.zeros((T + 2, p.n_out))
    rows[1:T + 1] = target
    target_array = b2.TimedArray(rows, dt=p.dt * ms)
    out = b2.NeuronGroup(p.n_out, "y : 1\nb : 1 (constant)\ny_star = target_array(t, i) : 1",
                         namespace=dict(target_array=target_array, ep_kappa=p.kappa, ep_t0=0.5 * p.dt * ms),
                         name="rsnn_out*")
    out.b = rsnn.b_out
    out.run_regularly("y = ep_kappa * y + b * int(t > ep_t0)", when="before_synapses", order=0, name="rsnn_out_leak*")
    steps, idx = np.nonzero(x)
    inputs = b2.SpikeGeneratorGroup(p.n_in, idx, steps * p.dt * ms, name="rsnn_in*")
    s_in = b2.Synapses(inputs, rec, "w : 1", on_pre="v_post += w", name="rsnn_w_in*")
    i_in, j_in = np.repeat(np.arange(p.n_in), p.n_rec), np.tile(np.arange(p.n_rec), p.n_in)
    s_in.connect(i=i_in, j=j_in)
    s_in.w = rsnn.w_in[j_in, i_in]
    i_rec, j_rec = (a.ravel() for a in np.meshgrid(np.arange(p.n_rec), np.arange(p.n_rec), indexing="ij"))
    keep = i_rec != j_rec
    i_rec, j_rec = i_rec[keep], j_rec[keep]
    s_rec = b2.Synapses(rec, rec, "w : 1", on_pre="v_post += w", name="rsnn_w_rec*")
    s_rec.connect(i=i_rec, j=j_rec)
    s_rec.w = rsnn.w_rec[j_rec, i_rec]
    i_out, j_out = np.repeat(np.arange(p.n_rec), p.n_out), np.tile(np.arange(p.n_out), p.n_rec)
    s_out = b2.Synapses(rec, out, "w : 1", on_pre="y_post += w", name="rsnn_w_out*")
    s_out.connect(i=i_out, j=j_out)
    s_out.w = rsnn.w_out[j_out, i_out]
    pairs = {s_in: (i_in, j_in), s_rec: (i_rec, j_rec), s_out: (i_out, j_out, None, rsnn.w_out[j_out, i_out])}
    return dict(inputs=inputs, rec=rec, out=out, w_in=s_in, w_rec=s_rec, w_out=s_out, pairs=pairs)


def _check_x(rsnn, x, target):
    x = np.asarray(x, dtype=float)
    if x.ndim != 2 or x.shape[1] != rsnn.n_in:
        raise ParameterError(f"x must have shape (T, n_in = {rsnn.n_in}), got {x.shape}")
    if not np.all((x == 0) | (x == 1)):
        raise ParameterError("x must hold spikes (0 or 1): they become a SpikeGeneratorGroup")
    target = np.asarray(target, dtype=float)
    if target.shape != (x.shape[0], rsnn.n_out) or not np.all(np.isfinite(target)):
        raise ParameterError(f"target must be finite with shape (T, n_out) = {(x.shape[0], rsnn.n_out)}, "
                             f"got {target.shape}")
    if rsnn.smooth is not None:
        raise ParameterError("rsnn.smooth must be None: the Brian2 network's spikes are the Heaviside step")
    return x, target


def rsnn_learning(b2, rsnn, x, target, rule, window=None):
    """``(network dict, OnlineLearning)``: :func:`rsnn_network` with ``rule`` attached, learning
    from RSNN step 0 to T-1 (Brian2 steps 1 .. T; run T + 2 steps: the learning signal of step T
    is applied at the start of step T + 1). ``window`` (steps): CE over the last ``window``
    steps (``target`` unused) instead of MSE."""
    p = rsnn.params
    T = x.shape[0]
    nw = rsnn_network(b2, rsnn, x, np.zeros((T, p.n_out)) if window is not None else target)
    common = dict(tau_m=p.tau_m, tau_out=p.tau_out, psi="psi", leak_when="before_synapses",
                  t_start=0.5 * p.dt, t_stop=(T + 0.5) * p.dt, connections=nw["pairs"],
                  ce_window=None if window is None else ((T - window + 0.5) * p.dt, (T + 0.5) * p.dt))
    if isinstance(rule, EPropRule):
        alif = dict(beta=rsnn.beta_vec, tau_a=p.tau_a) if p.n_alif else {}
        learning = attach_eprop(rule, nw["rec"], nw["out"], [nw["w_in"], nw["w_rec"]], nw["w_out"], **common, **alif)
    else:
        learning = attach_ottt(rule, nw["rec"], nw["out"], [nw["w_in"], nw["w_rec"]], nw["w_out"], **common)
    return nw, learning


def rsnn_gradients(rsnn, x, target, *, rule="eprop", device="numpy", loss="mse", window=None, **options) -> dict:
    """The gradients ``{"w_in", "w_rec", "w_out", "b_out"}`` of ``rsnn`` (a ``models.rsnn.RSNN``)
    on one sequence, input spikes ``x`` (T, n_in) of 0/1 and MSE ``target`` (T, n_out), computed
    by Brian2 equations on ``device`` ("numpy", "cython" or "cpp_standalone").

    ``loss="ce"``: ``target`` is the integer label of the sequence and ``window`` the decision
    window in steps (default T), as ``plasticity.eprop.gradients`` takes them.
    ``rule``: "eprop" (``options``: ``feedback``, ``B``, ``seed``, ``c_reg``, ``f_target`` as
    :class:`plasticity.EPropRule`; the reset path dropped) or "ottt" (``lam``, ``c_reg``,
    ``f_target``; variant A), or a rule instance. Equal to
    ``plasticity.eprop.gradients(rsnn, x[None], target[None], detach_reset=True, ...)`` /
    ``plasticity.ottt.gradients(...)`` (tests: rtol 1e-9).
    """
    from .brian import brian_target

    if isinstance(rule, (EPropRule, OTTTRule)):
        if options:
            raise ParameterError(f"options {sorted(options)} go with a rule name, not a rule instance")
        online = rule
    else:
        check_choice("rule", rule, RULES)
        try:
            online = EPropRule(**options) if rule == "eprop" else OTTTRule(**options)
        except TypeError as exc:
            raise ParameterError(f"unknown option for rule {rule!r}: {exc}") from None
    check_choice("device", device, DEVICES)
    check_choice("loss", loss, ("mse", "ce"))
    if loss == "ce":
        from .bptt import check_target, check_window

        x, _ = _check_x(rsnn, x, np.zeros((np.shape(x)[0] if np.ndim(x) == 2 else 0, rsnn.n_out)))
        label = int(check_target(np.atleast_1d(target), "ce", 1, x.shape[0], rsnn.n_out)[0])
        window = check_window(window, x.shape[0])
    else:
        if window is not None:
            raise ParameterError("window belongs to loss='ce'")
        x, target = _check_x(rsnn, x, target)
    T = x.shape[0]
    p = rsnn.params
    with brian_target(device, p.dt) as b2:
        nw, learning = rsnn_learning(b2, rsnn, x, target, online, window if loss == "ce" else None)
        spikes = b2.SpikeMonitor(nw["rec"], name="rsnn_spikes*") if online.c_reg > 0 else None
        net = b2.Network(*(obj for key, obj in nw.items() if key != "pairs"), *learning.objects,
                         *([spikes] if spikes is not None else []))
        net.run((T + 2) * p.dt * b2.ms)
        raw = learning.raw()
        if loss == "ce":
            ce, _ = learning.ce_gradients(label)
            raw = dict(ce, hidden=[(g, es) for (g, _), (_, es) in zip(ce["hidden"], raw["hidden"])])
        counts = None
        if spikes is not None:
            t_ms = np.asarray(spikes.t / b2.ms)
            i_sp = np.asarray(spikes.i[:])
            counts = np.bincount(i_sp[(t_ms > 0.5 * p.dt) & (t_ms < (T + 0.5) * p.dt)], minlength=p.n_rec)
    return _assemble(rsnn, nw["pairs"], nw, raw, counts, online, T)


def _assemble(rsnn, pairs, nw, raw, counts, rule, T) -> dict:
    from .bptt import rate_regularization

    p = rsnn.params
    grads = {}
    for (name, key), (g, esum) in zip((("w_in", "w_in"), ("w_rec", "w_rec")), raw["hidden"]):
        i, j = pairs[nw[key]][:2]
        if rule.c_reg > 0:
            rates = counts / T * (1000.0 / p.dt)
            _, reg = rate_regularization(rates, rule.c_reg, rule.f_target, p.dt, T)
            g = g + reg[j] * esum
        G = np.zeros(getattr(rsnn, name).shape)
        G[j, i] = g
        grads[name] = G
    i, j = pairs[nw["w_out"]][:2]
    g_out = np.zeros(rsnn.w_out.shape)
    g_out[j, i] = raw["output"]
    grads["w_out"] = g_out
    grads["b_out"] = raw["bias"]
    return grads


__all__ = ["OnlineLearning", "attach_eprop", "attach_ottt", "rsnn_gradients", "rsnn_network", "rsnn_learning",
           "surrogate_expression"]
