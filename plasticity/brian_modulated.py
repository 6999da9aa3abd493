"""Dopamine-modulated STDP (Izhikevich 2007) as Brian2 equations: every target, cpp_standalone included.

The event-driven formulation of :mod:`plasticity.modulated` (NEST's ``stdp_dopamine_synapse``),
written as Brian2 code that mirrors the Numba kernels statement by statement. Per synapse: the
eligibility c and the time t_c it was last brought up to date, a copy of the dopamine
concentration d with the time t_d of its last release, and the pair-STDP traces r (pre,
tau_plus) and o (post, tau_minus) as event-driven variables. Bringing a synapse up to t::

    d0  = d * exp(-(t_c - t_d) / tau_d)
    w   = clip(w + eta * [c d0 tau_cd (1 - exp(-T/tau_cd)) - b c tau_c (1 - exp(-T/tau_c))], w_min, w_max)
    c   = c * exp(-T / tau_c),  t_c = t          (T = t - t_c; 1/tau_cd = 1/tau_c + 1/tau_d)

the exact integral of dw/dt = eta c (d - b) between events (``modulated.eligibility_integral``).
A presynaptic spike (``pre`` pathway): up to date, then the optional ``transmit`` statement
(so the weight transmitted includes the integral of c*d up to the spike, as ``models.Network``
and NEST's ``stdp_dopamine_synapse`` transmit it), c -= a_minus * o, r += 1. A postsynaptic spike: up to date, c += a_plus * r, o += 1. A dopamine
release (a spike of the ``rewards`` group, through a ``Synapses`` from it onto the plastic
``Synapses``, :func:`dopamine_rewards`): up to date, then d = d exp(-(t - t_d)/tau_d) + amount,
t_d = t. Order at equal times as the kernels: pre (pathway order -1), post (+1), rewards (+2).
Weights are exact at each synapse's last event; ``flush_every`` brings every synapse up to date
at that period (the runtime plug-in does it every step) — needed before reading ``w`` if it
is not read at an event.
"""
from __future__ import annotations

from .errors import ParameterError, check_positive
from .modulated import DopamineSTDP

PREFIX = "da_"


def _advance(suffix: str = "") -> list[str]:
    """Statements bringing a synapse up to the current time (variables with ``suffix``)."""
    c, w, t_c, d, t_d = (f"{v}{suffix}" for v in ("c", "w", "t_c", "d", "t_d"))
    return [f"da_T = t - {t_c}",
            f"da_d0 = {d} * exp(-({t_c} - {t_d}) / da_tau_d)",
            f"da_dw = da_eta * ({c} * da_d0 * da_tau_cd * (-expm1(-da_T / da_tau_cd))"
            f" - da_baseline * {c} * da_tau_c * (-expm1(-da_T / da_tau_c)))",
            f"{w} = clip({w} + da_dw, da_w_min, da_w_max)",
            f"{c} = {c} * exp(-da_T / da_tau_c)",
            f"{t_c} = t"]


def _namespace(rule: DopamineSTDP) -> dict:
    import brian2 as b2

    ms = b2.ms
    return dict(da_tau_c=rule.tau_c * ms, da_tau_d=rule.tau_d * ms, da_tau_cd=rule.tau_cd * ms,
                da_tau_plus=rule.tau_plus * ms, da_tau_minus=rule.tau_minus * ms, da_eta=rule.eta / ms,
                da_baseline=rule.baseline, da_w_min=rule.w_min, da_w_max=rule.w_max, da_a_plus=rule.a_plus,
                da_a_minus=rule.a_minus)


def dopamine_to_brian(rule: DopamineSTDP, *, weight: str = "w", transmit: str | None = None) -> dict:
    """Brian2 ``Synapses`` keyword arguments (model, on_pre, on_post, namespace) of ``rule``.
    ``weight`` must be ``"w"`` (the statements name it); ``transmit`` runs on each presynaptic
    spike once the synapse is up to date (e.g. ``"v_post += w*mV"``: the weight integrated up
    to the spike, as in ``models.Network``). Add the dopamine with :func:`dopamine_rewards`."""
    if not isinstance(rule, DopamineSTDP):
        raise ParameterError(f"rule must be a DopamineSTDP, got {type(rule).__name__}")
    if weight != "w":
        raise ParameterError(f"weight must be 'w' for the dopamine rule's equations, got {weight!r}")
    model = "\n".join(["w : 1", "c : 1", "t_c : second", "d : 1", "t_d : second",
                       "dr/dt = -r / da_tau_plus : 1 (event-driven)",
                       "do/dt = -o / da_tau_minus : 1 (event-driven)"])
    on_pre = _advance() + ([transmit] if transmit else []) + ["c -= da_a_minus * o", "r += 1"]
    on_post = _advance() + ["c += da_a_plus * r", "o += 1"]
    return dict(model=model, on_pre="\n".join(on_pre), on_post="\n".join(on_post), namespace=_namespace(rule))


def dopamine_rewards(rule: DopamineSTDP, rewards, synapses, *, amount: float = 1.0, flush_every=None,
                     name: str = "dopamine*"):
    """The ``Synapses`` that deliver dopamine: each spike of ``rewards`` (a group; all its
    neurons release) brings every synapse of ``synapses`` (made with :func:`dopamine_to_brian`)
    up to date and adds ``amount`` to its d. ``flush_every`` (ms): also bring every synapse
    up to date at that period (a ``run_regularly`` of ``synapses``, slot ``end``). Add the
    returned object to your ``Network``."""
    import brian2 as b2

    if not isinstance(synapses, b2.Synapses) or "c" not in synapses.variables or "t_d" not in synapses.variables:
        raise ParameterError("synapses must be a brian2.Synapses made with dopamine_to_brian(rule) "
                             "(variables c, t_c, d, t_d)")
    if not hasattr(rewards, "spikes"):
        raise ParameterError(f"rewards must be a Brian2 group that spikes, got {type(rewards).__name__}")
    ns = dict(_namespace(rule), da_amount=float(amount))
    code = _advance("_post") + ["d_post = d_post * exp(-(t - t_d_post) / da_tau_d) + da_amount", "t_d_post = t"]
    R = b2.Synapses(rewards, synapses, on_pre="\n".join(code), namespace=ns, name=name)
    R.connect()
    R.pre.order = 2          # after the pre (-1) and post (+1) pathways of the same step
    if flush_every is not None:
        every = check_positive("flush_every", flush_every, "ms")
        synapses.run_regularly("\n".join(_advance()), dt=every * b2.ms, when="end", name=f"{synapses.name}_flush*")
    return R


__all__ = ["dopamine_to_brian", "dopamine_rewards"]
