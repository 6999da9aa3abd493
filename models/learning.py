"""Gradients of e-prop/OTTT projections in a Network: read, reset, apply (online or per trial).

>>> learner = Learner(net, {"w_in": p_in, "w_rec": p_rec, "w_out": p_out}, readout=out)
>>> net.run(1000.0)
>>> grads = learner.gradients()          # dense (n_post, n_pre) per name, and "b_out"
>>> learner.apply(plasticity.optim.Adam(lr=1e-3)); learner.reset()

or online, every K ms: ``Learner(..., optimizer=SGD(lr=1e-3), every=K)`` adds the
accumulated gradient's update to the weights after every K ms of simulation and restarts the
accumulation (OTTT_O with K = dt). Adaptive e-prop feedback (``feedback="adaptive"``)
receives the update of W_out^T, as in Bellec et al. 2020.
"""
from __future__ import annotations


from plasticity.errors import ParameterError, check_positive
from plasticity.online import FAMILY, ROLE_HIDDEN, reset_accumulators, projection_gradient
from plasticity.online import FB_OFF, N_OUT, ROLE

from .neurons import Readout


class Learner:
    """The accumulated gradients of named e-prop/OTTT projections of ``net`` (and of the
    readout's biases, key ``"b_out"`` when ``readout`` is given)."""

    def __init__(self, net, projections: dict, *, readout=None, optimizer=None, every=None):
        if not isinstance(projections, dict) or not projections:
            raise ParameterError("projections must be a non-empty dict name -> projection")
        for name, proj in projections.items():
            if not any(proj is q for q in net.projections):
                raise ParameterError(f"projection {name!r} must come from this network's connect()")
            if proj.rule is None or getattr(proj.rule, "family", None) is not FAMILY:
                raise ParameterError(f"projection {name!r} must have an EPropRule or OTTTRule, got {proj.rule!r}")
        if readout is not None and not isinstance(readout, Readout):
            raise ParameterError(f"readout must be a models.Readout, got {type(readout).__name__}")
        if (optimizer is None) != (every is None):
            raise ParameterError("optimizer and every must be given together (online updates every `every` ms)")
        self.net = net
        self.projections = dict(projections)
        self.readout = readout
        self.optimizer = optimizer
        if every is not None:
            check_positive("every", every, "ms")
            net.add_operation(self._online_update, every)

    def _index(self, proj) -> int:
        return next(p for p, q in enumerate(self.net.projections) if q is proj)

    def gradients(self) -> dict:
        """Accumulated since the last :meth:`reset`: dense (n_post, n_pre) arrays by name (0
        where there is no synapse) and ``"b_out"`` (the readout's biases)."""
        data = self.net.family_data(FAMILY)
        view = self.net.view()
        out = {}
        for name, proj in self.projections.items():
            g = projection_gradient(data, view.wiring, self._index(proj), proj.rule, self.net.dt)
            out[name] = proj.dense_weights(g)
        if self.readout is not None:
            o = self.net.offset(self.readout)
            out["b_out"] = view.readout.gb[o:o + self.readout.n].copy()
        return out

    def loss(self) -> float:
        """The loss since the last reset (docs/design.md): MSE 0.5 * sum of squared readout
        errors; CE the sum over finished windows of -log p[label]."""
        ro = self.net.view().readout
        ce = self.readout is not None and self.readout.loss == "ce"
        return float(ro.loss[0]) if ce else 0.5 * float(ro.loss[0])

    def reset(self) -> None:
        """Restart the accumulation (the network's state and traces go on)."""
        reset_accumulators(self.net.family_data(FAMILY))
        ro = self.net.view().readout
        ro.gb[:] = 0.0
        ro.loss[:] = 0.0

    def apply(self, optimizer) -> dict:
        """Add ``optimizer.delta(gradients)`` to the weights (and biases); returns the deltas.
        Adaptive feedback matrices receive the transpose of W_out's delta."""
        grads = self.gradients()
        delta = optimizer.delta(grads)
        view = self.net.view()
        for name, proj in self.projections.items():
            proj.w[:] += delta[name][proj.post, proj.pre]
        if self.readout is not None:
            o = self.net.offset(self.readout)
            view.readout.b[o:o + self.readout.n] += delta["b_out"]
        self._adapt_feedback(delta)
        return delta

    def _adapt_feedback(self, delta):
        data = self.net.family_data(FAMILY)
        for name, proj in self.projections.items():
            if proj.target is not self.readout:
                continue
            d_out = delta[name]                      # (n_out, n_source)
            for p, hidden in enumerate(self.net.projections):
                rule = hidden.rule
                if (getattr(rule, "feedback", None) == "adaptive" and data.params[p, ROLE] == ROLE_HIDDEN
                        and hidden.target is proj.source):
                    off, n_out = int(data.params[p, FB_OFF]), int(data.params[p, N_OUT])
                    block = data.fb[off:off + hidden.target.n * n_out].reshape(hidden.target.n, n_out)
                    block += d_out.T

    def _online_update(self, net):
        self.apply(self.optimizer)
        self.reset()
