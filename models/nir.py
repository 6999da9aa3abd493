"""Trained networks to and from NIR, the Neuromorphic Intermediate Representation.

NIR (Pedersen et al. 2024, Nat. Commun. 15:8122; the ``nir`` package) describes neurons as
ODEs in continuous time; the project's models are discrete-time maps with step ``dt``. The
mapping used here, stated once (docs/nir.md has the derivation):

* **time**: NIR time constants and the graph's ``metadata["dt"]`` are in seconds (the
  ecosystem's convention, e.g. snnTorch's export); the project's ms are divided by 1000.
* **leak**: a per-step decay ``alpha`` is the exact solution of ``tau dv/dt = -v`` over one
  step: ``tau = -dt / ln(alpha)`` (``method="zoh"``, default), or forward Euler's
  ``tau = dt / (1 - alpha)`` (``method="euler"``, snnTorch's convention).
* **input**: the step's input current is held over the step (zero-order hold), so
  ``tau dv/dt = (v_leak - v) + r I`` gives ``v_t = alpha v_{t-1} + (1 - alpha) r I_t``; with
  ``r = 1 / (1 - alpha)`` and ``v_leak = 0`` that is the project's ``v_t = alpha v_{t-1} + I_t``
  (Euler gives the same r).

:class:`models.rsnn.RSNN` (Bellec et al. 2020) resets by *subtracting* v_th at the step after
a spike, which NIR's LIF (reset *to* ``v_reset``) cannot express. The subtraction is a
recurrent self-connection of weight ``-v_th``, so the RSNN is exported exactly as
``Input -> Linear(W_in) -> LI(membrane) -> Threshold(v_th)``, with the recurrent edge
``Threshold -> Linear(W_rec - v_th I) -> LI`` (one step late, as every NIR simulator treats a
cycle) and the readout ``Threshold -> Affine(W_out, b_out) -> LI(tau_out) -> Output``
(``tau_out = 0``: the Affine feeds the Output directly). ALIF neurons (no adaptive-threshold
node in NIR) and the smoothed model (``smooth=``) are refused.

:class:`models.feedforward.SNN` (Zheng et al. 2021) resets to 0 through its decay gate,
which is NIR's LIF with ``v_reset = 0``: each hidden layer is ``Linear(W)`` (``norm=None``) or
``Affine`` with the evaluation-mode batch norm folded in (running statistics), then
``LIF``; a residual shortcut is an edge from the block input's ``LIF`` to the ``LIF`` it
joins (NIR sums a node's inputs); the readout is ``Linear(W_out) -> Output`` and the logits
are the **mean over the T steps** of the Output (graph metadata ``readout``). ``tau_decay``
of 0 or 1 and the logistic (smoothed) spike are refused. The feedforward net counts time in steps:
``to_nir(net, dt=...)`` sets the step (ms, default 1).

Every node also carries the project's own parameters under ``plab_*`` metadata keys, so
``from_nir`` rebuilds the network bit for bit when they agree with the node's ODE fields;
graphs from other tools (no such keys) are imported from the ODE fields alone.
:func:`simulate` runs any graph of these node types by the NIR semantics above, independently
of the project's models: what a NIR-consuming simulator does with an exported file.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np

from plasticity.errors import ParameterError, check_choice, check_positive

METHODS = ("zoh", "euler")


# -- the discretisation mapping -------------------------------------------------------------
def tau_of(alpha: float, dt_s: float, method: str = "zoh") -> float:
    """NIR time constant (s) of a per-step decay factor ``alpha`` in (0, 1)."""
    return -dt_s / math.log(alpha) if method == "zoh" else dt_s / (1.0 - alpha)


def alpha_of(tau_s, dt_s: float, method: str = "zoh"):
    """Per-step decay factor of a NIR time constant (inverse of :func:`tau_of`)."""
    tau_s = np.asarray(tau_s, dtype=np.float64)
    return np.exp(-dt_s / tau_s) if method == "zoh" else 1.0 - dt_s / tau_s


def _full(n, value):
    return np.full(n, float(value))


def _membrane(n, alpha, dt_s, method, **meta):
    """LI node whose zero-order-hold (or Euler) step is v <- alpha v + I."""
    import nir

    node = nir.LI(tau=_full(n, tau_of(alpha, dt_s, method)), r=_full(n, 1.0 / (1.0 - alpha)), v_leak=np.zeros(n))
    return _node_meta(node, meta)


def _node_meta(node, meta):
    node.metadata = {f"plab_{k}": v for k, v in meta.items()}
    return node


def _graph_meta(model: str, dt_ms: float, method: str, **extra) -> dict:
    return {"dt": dt_ms / 1000.0, "time_unit": "s", "discretisation": method, "source": "plasticity-lab",
            "plab_model": model, "plab_dt_ms": dt_ms, **extra}


# -- export -----------------------------------------------------------------------------------
def to_nir(model, *, method: str = "zoh", dt: float = 1.0):
    """``models.rsnn.RSNN`` or ``models.feedforward.SNN`` -> ``nir.NIRGraph`` (see the module
    docstring for the mapping). ``method``: "zoh" (exact leak) or "euler". ``dt`` (ms) is
    used only for the feedforward net, whose time is counted in steps."""
    from models.rsnn import RSNN

    check_choice("method", method, METHODS)
    if isinstance(model, RSNN):
        return _rsnn_to_nir(model, method)
    try:
        from models.feedforward import SNN
    except ImportError:  # pragma: no cover - the module exists in this tree
        SNN = ()
    if isinstance(model, SNN):
        return _snn_to_nir(model, method, check_positive("dt", dt, "ms"))
    raise ParameterError(f"model must be a models.rsnn.RSNN or models.feedforward.SNN, got {type(model).__name__}")


def _rsnn_to_nir(net, method):
    import nir

    p = net.params
    if p.n_alif:
        raise ParameterError(f"n_alif must be 0 to export to NIR (NIR has no adaptive-threshold neuron), got {p.n_alif}")
    if p.smooth is not None:
        raise ParameterError(f"smooth must be None to export to NIR (a logistic spike is not a threshold), got {p.smooth}")
    dt_s = p.dt / 1000.0
    n_rec = p.n_rec
    nodes = {
        "input": nir.Input(input_type={"input": np.array([p.n_in])}),
        "w_in": nir.Linear(weight=net.w_in.copy()),
        "membrane": _membrane(n_rec, p.alpha, dt_s, method, tau_ms=p.tau_m),
        "spike": nir.Threshold(threshold=_full(n_rec, p.v_th)),
        "w_rec": nir.Linear(weight=net.w_rec - p.v_th * np.eye(n_rec)),
        "w_out": nir.Affine(weight=net.w_out.copy(), bias=net.b_out.copy()),
        "output": nir.Output(output_type={"output": np.array([p.n_out])}),
    }
    edges = [("input", "w_in"), ("w_in", "membrane"), ("membrane", "spike"), ("spike", "w_rec"),
             ("w_rec", "membrane"), ("spike", "w_out")]
    if p.tau_out > 0:
        nodes["readout"] = _membrane(p.n_out, p.kappa, dt_s, method, tau_ms=p.tau_out)
        edges += [("w_out", "readout"), ("readout", "output")]
    else:
        edges.append(("w_out", "output"))
    meta = _graph_meta("rsnn", p.dt, method, reset="subtractive: the -v_th diagonal of w_rec",
                       plab_gamma=p.gamma, plab_surrogate=p.surrogate, plab_beta=p.beta, plab_tau_a_ms=p.tau_a)
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=meta)


def _folded(net, l):
    """Layer l's evaluation-mode input map as (weight, bias): BN folded into W."""
    w = net.weights[l]
    if net.norm is None:
        return w.copy(), None
    a = net.bn_gamma[l] * net.bn_scale[l] / np.sqrt(net.running_var[l] + net.eps)
    return a[:, None] * w, net.bn_beta[l] - a * net.running_mean[l]


def _snn_to_nir(net, method, dt_ms):
    import nir

    if not 0.0 < net.tau_decay < 1.0:
        raise ParameterError(f"tau_decay must be in (0, 1) to export to NIR as a LIF, got {net.tau_decay}")
    if net.surrogate.kind == "sigmoid":
        raise ParameterError("surrogate 'sigmoid' smooths the forward spike, which NIR cannot express; "
                             "export a network with a threshold spike")
    dt_s = dt_ms / 1000.0
    alpha = net.tau_decay
    nodes = {"input": nir.Input(input_type={"input": np.array([net.sizes[0]])})}
    edges, prev = [], "input"
    for l in range(net.depth):
        w, b = _folded(net, l)
        meta = {"weight": net.weights[l].copy()}
        if b is None:
            syn = nir.Linear(weight=w)
        else:
            syn = nir.Affine(weight=w, bias=b)
            meta.update(bn_gamma=net.bn_gamma[l].copy(), bn_beta=net.bn_beta[l].copy(),
                        running_mean=net.running_mean[l].copy(), running_var=net.running_var[l].copy())
        n = net.sizes[l + 1]
        nodes[f"syn{l}"] = _node_meta(syn, meta)
        nodes[f"lif{l}"] = nir.LIF(tau=_full(n, tau_of(alpha, dt_s, method)), r=_full(n, 1.0 / (1.0 - alpha)),
                                   v_leak=np.zeros(n), v_threshold=_full(n, net.v_th), v_reset=np.zeros(n))
        edges += [(prev, f"syn{l}"), (f"syn{l}", f"lif{l}")]
        if net.shortcuts[l] >= 0:                       # residual: the block input's spikes join J
            edges.append((f"lif{net.shortcuts[l]}", f"lif{l}"))
        prev = f"lif{l}"
    nodes["w_out"] = nir.Linear(weight=net.weights[-1].copy())
    nodes["output"] = nir.Output(output_type={"output": np.array([net.sizes[-1]])})
    edges += [(prev, "w_out"), ("w_out", "output")]
    surrogate = {f"plab_surrogate_{k}": v for k, v in dataclasses.asdict(net.surrogate).items()}
    meta = _graph_meta("feedforward", dt_ms, method, readout="logits = mean over the T steps of the output",
                       plab_T=net.T, plab_tau_decay=alpha, plab_norm=str(net.norm), plab_alpha=net.alpha,
                       plab_eps=net.eps, plab_momentum=net.momentum, **surrogate)
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=meta)


# -- import -----------------------------------------------------------------------------------
def _scalar(meta, key, default=None):
    value = meta.get(key, default)
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value[()]
    return value.item() if isinstance(value, np.generic) else value


def _uniform(name, values) -> float:
    values = np.asarray(values, dtype=np.float64).ravel()
    if values.size == 0 or not np.all(values == values[0]):
        raise ParameterError(f"{name} must be the same for every neuron to import, got {np.unique(values)[:5]}")
    return float(values[0])


def _decay(node, dt_s, method, what):
    """The per-step decay of an LI/LIF node, checking r = 1/(1 - alpha) and v_leak = 0."""
    tau = _uniform(f"{what} tau", node.tau)
    alpha = float(alpha_of(tau, dt_s, method))
    if not 0.0 < alpha < 1.0:
        raise ParameterError(f"{what} tau = {tau} s gives a per-step decay {alpha} at dt = {dt_s} s; must be in (0, 1)")
    if not np.allclose(node.r, 1.0 / (1.0 - alpha), rtol=1e-9):
        raise ParameterError(f"{what} r must be 1/(1 - alpha) = {1.0 / (1.0 - alpha):.12g} (v_t = alpha v + I), "
                             f"got {np.unique(node.r)[:5]}")
    if np.any(np.asarray(node.v_leak) != 0.0):
        raise ParameterError(f"{what} v_leak must be 0, got {np.unique(node.v_leak)[:5]}")
    return tau, alpha


def _tau_ms(node, alpha, dt_ms, key="plab_tau_ms"):
    """The project's time constant (ms, alpha = exp(-dt/tau)) of a per-step decay: the node's
    metadata value when it agrees (so the round trip is bit for bit), else -dt/ln(alpha)."""
    tau = -dt_ms / math.log(alpha)
    stored = _scalar(node.metadata or {}, key)
    if stored is not None and math.isclose(float(stored), tau, rel_tol=1e-9):
        return float(stored)
    return tau


def _dt(graph, dt, method):
    meta = graph.metadata if isinstance(graph.metadata, dict) else {}
    method = method or _scalar(meta, "discretisation", "zoh")
    check_choice("method", method, METHODS)
    if dt is None:
        if "dt" not in meta:
            raise ParameterError("the graph has no metadata['dt']; pass dt= (ms) of the simulation step")
        dt_s = float(_scalar(meta, "dt"))
        stored = _scalar(meta, "plab_dt_ms")
        dt_ms = float(stored) if stored is not None and math.isclose(stored / 1000.0, dt_s, rel_tol=1e-12) else dt_s * 1000.0
    else:
        dt_ms = check_positive("dt", dt, "ms")
        dt_s = dt_ms / 1000.0
    return dt_ms, dt_s, method, meta


def _by_type(graph):
    import nir

    kinds = {}
    for name, node in graph.nodes.items():
        kinds.setdefault(type(node).__name__, []).append(name)
    allowed = {"Input", "Output", "Linear", "Affine", "LI", "LIF", "Threshold"}
    unknown = sorted(set(kinds) - allowed)
    if unknown:
        hint = (" (CubaLIF's synaptic current filter has no counterpart in the project's models)"
                if "CubaLIF" in unknown else "")
        raise ParameterError(f"cannot import NIR node types {', '.join(unknown)}{hint}; "
                             f"supported: {', '.join(sorted(allowed))}")
    for key in ("Input", "Output"):
        if len(kinds.get(key, [])) != 1:
            raise ParameterError(f"the graph must have exactly one {key} node, got {len(kinds.get(key, []))}")
    if any(isinstance(n, nir.NIRGraph) for n in graph.nodes.values()):  # pragma: no cover
        raise ParameterError("nested NIR subgraphs are not supported; flatten the graph first")
    return kinds


def from_nir(graph, *, dt: float | None = None, method: str | None = None, T: int | None = None):
    """A ``nir.NIRGraph`` in one of the two layouts of :func:`to_nir` -> the project's model.

    ``LI -> Threshold`` with a recurrent ``Linear`` whose diagonal is ``-v_threshold``: an
    :class:`models.rsnn.RSNN`; a chain of ``Linear/Affine -> LIF`` (``v_reset = 0``): a
    :class:`models.feedforward.SNN` in evaluation mode. ``dt`` (ms) and ``method`` default to
    the graph's metadata; ``T`` (steps, feedforward only) to ``metadata["plab_T"]``. Anything
    the models cannot represent raises ParameterError saying what.
    """
    kinds = _by_type(graph)
    dt_ms, dt_s, method, meta = _dt(graph, dt, method)
    if kinds.get("Threshold"):
        return _rsnn_from_nir(graph, kinds, dt_ms, dt_s, method, meta)
    if kinds.get("LIF"):
        return _snn_from_nir(graph, kinds, dt_ms, dt_s, method, meta, T)
    raise ParameterError("the graph has neither a Threshold (RSNN layout) nor LIF nodes (feedforward layout)")


def _edges_from(graph, name):
    return [b for a, b in graph.edges if a == name]


def _edges_to(graph, name):
    return [a for a, b in graph.edges if b == name]


def _one(graph, names, what):
    if len(names) != 1:
        raise ParameterError(f"expected one {what}, got {len(names)}: {names}")
    return names[0], graph.nodes[names[0]]


def _rsnn_from_nir(graph, kinds, dt_ms, dt_s, method, meta):
    from models.rsnn import RSNN

    if kinds.get("LIF"):
        raise ParameterError("a graph mixing LIF and Threshold nodes is not an RSNN export; NIR's LIF resets to "
                             "v_reset while the RSNN resets by subtraction")
    spike, thr = _one(graph, kinds["Threshold"], "Threshold node")
    v_th = _uniform("threshold", thr.threshold)
    mem_name, mem = _one(graph, _edges_to(graph, spike), "membrane (LI) node feeding the Threshold")
    _, alpha = _decay(mem, dt_s, method, "membrane")
    inp = next(iter(kinds["Input"]))
    w_in = w_rec = None
    for src in _edges_to(graph, mem_name):
        pre = _edges_to(graph, src)
        if pre == [inp]:
            w_in = np.asarray(graph.nodes[src].weight, dtype=np.float64)
        elif pre == [spike]:
            w_rec = np.array(graph.nodes[src].weight, dtype=np.float64)
    if w_in is None or w_rec is None:
        raise ParameterError("the membrane must receive Linear(W_in) from the Input and Linear(W_rec) from the Threshold")
    if not np.allclose(np.diag(w_rec), -v_th, rtol=1e-12, atol=0.0):
        raise ParameterError(f"the recurrent diagonal must be -v_threshold = {-v_th} (the RSNN's subtractive reset), "
                             f"got {np.unique(np.diag(w_rec))[:5]}")
    np.fill_diagonal(w_rec, 0.0)
    out_syn = [n for n in _edges_from(graph, spike) if graph.nodes[n] is not None and _edges_from(graph, n) != [mem_name]]
    syn_name, syn = _one(graph, out_syn, "readout weight node after the Threshold")
    w_out = np.asarray(syn.weight, dtype=np.float64)
    b_out = np.asarray(getattr(syn, "bias", np.zeros(w_out.shape[0])), dtype=np.float64)
    after = _edges_from(graph, syn_name)
    tau_out = 0.0
    if after and type(graph.nodes[after[0]]).__name__ == "LI":
        _, kappa = _decay(graph.nodes[after[0]], dt_s, method, "readout")
        tau_out = _tau_ms(graph.nodes[after[0]], kappa, dt_ms)
    kw = {}
    for key, name, cast in (("plab_gamma", "gamma", float), ("plab_surrogate", "surrogate", str),
                            ("plab_beta", "beta", float), ("plab_tau_a_ms", "tau_a", float)):
        if key in meta:
            kw[name] = cast(_scalar(meta, key))
    net = RSNN(w_in.shape[1], w_in.shape[0], w_out.shape[0], dt=dt_ms, tau_m=_tau_ms(mem, alpha, dt_ms),
               tau_out=tau_out, v_th=v_th, **kw)
    net.set_weights({"w_in": w_in, "w_rec": w_rec, "w_out": w_out, "b_out": b_out})
    return net


def _snn_from_nir(graph, kinds, dt_ms, dt_s, method, meta, T):
    from models.feedforward import SNN
    from plasticity.surrogate import Surrogate

    T = T if T is not None else _scalar(meta, "plab_T")
    if T is None:
        raise ParameterError("the graph has no metadata['plab_T']; pass T= (time steps per sample)")
    name = next(iter(kinds["Input"]))
    layers, lif_names, skips = [], [], []                 # (synapse node, LIF node); shortcut edges
    while True:
        after = _edges_from(graph, name)
        skips += [(name, n) for n in after if type(graph.nodes[n]).__name__ == "LIF"]
        syn_name, syn = _one(graph, [n for n in after if type(graph.nodes[n]).__name__ != "LIF"],
                             f"Linear/Affine node after {name!r}")
        nxt = _edges_from(graph, syn_name)
        if type(syn).__name__ not in ("Linear", "Affine"):
            raise ParameterError(f"expected a Linear/Affine node after {name!r}, got {type(syn).__name__}")
        nxt_name, nxt_node = _one(graph, nxt, f"node after {syn_name!r}")
        if type(nxt_node).__name__ == "Output":
            w_out = np.asarray(syn.weight, dtype=np.float64)
            if type(syn).__name__ == "Affine" and np.any(syn.bias != 0):
                raise ParameterError("the feedforward SNN's readout has no bias; the last Affine's bias must be 0")
            break
        if type(nxt_node).__name__ != "LIF":
            raise ParameterError(f"expected a LIF after {syn_name!r}, got {type(nxt_node).__name__}")
        layers.append((syn, nxt_node))
        lif_names.append(nxt_name)
        name = nxt_name
    alphas, v_ths = [], []
    for _, lif in layers:
        _, alpha = _decay(lif, dt_s, method, "LIF")
        if np.any(np.asarray(lif.v_reset) != 0.0):
            raise ParameterError(f"LIF v_reset must be 0 (the SNN's decay-gated hard reset), got {np.unique(lif.v_reset)[:5]}")
        alphas.append(alpha)
        v_ths.append(_uniform("LIF v_threshold", lif.v_threshold))
    stored = _scalar(meta, "plab_tau_decay")
    tau_decay = _uniform("LIF decay (every layer)", alphas)
    if stored is not None and math.isclose(stored, tau_decay, rel_tol=1e-9):
        tau_decay = float(stored)
    v_th = _uniform("LIF v_threshold (every layer)", v_ths)
    norm = _scalar(meta, "plab_norm", "None")
    norm = None if norm == "None" else norm
    restorable = norm is not None and all("plab_bn_gamma" in (s.metadata or {}) for s, _ in layers)
    if not restorable:
        norm = None
        if any(type(s).__name__ == "Affine" and np.any(s.bias != 0) for s, _ in layers):
            norm = "bn"                                   # a bias: fold it into an eval-mode BN of scale 1
    sizes = [layers[0][0].weight.shape[1]] + [s.weight.shape[0] for s, _ in layers] + [w_out.shape[0]]
    surrogate_kw = {k[len("plab_surrogate_"):]: _scalar(meta, k) for k in meta if str(k).startswith("plab_surrogate_")}
    kw = dict(alpha=float(_scalar(meta, "plab_alpha", 1.0)), eps=float(_scalar(meta, "plab_eps", 1e-5)),
              momentum=float(_scalar(meta, "plab_momentum", 0.1)))
    if surrogate_kw:
        kw["surrogate"] = Surrogate(**surrogate_kw)
    index = {n: l for l, n in enumerate(lif_names)}
    found = [-1] * len(layers)
    for src, dst in skips:
        found[index[dst]] = index[src]
    net = SNN(sizes, T=int(T), tau_decay=tau_decay, v_th=v_th, norm=norm, residual=any(k >= 0 for k in found), **kw)
    if tuple(found) != net.shortcuts:
        raise ParameterError(f"the LIF -> LIF shortcut edges {skips} are not the residual blocks of "
                             f"models.feedforward.SNN (layer l >= 2, l even, from layer l - 2)")
    for l, (syn, _) in enumerate(layers):
        m = syn.metadata or {}
        if restorable:
            net.weights[l] = np.asarray(m["plab_weight"], dtype=np.float64).copy()
            for attr in ("bn_gamma", "bn_beta", "running_mean", "running_var"):
                getattr(net, attr)[l] = np.asarray(m[f"plab_{attr}"], dtype=np.float64).copy()
        else:
            net.weights[l] = np.asarray(syn.weight, dtype=np.float64).copy()
            if norm == "bn":                              # J = 1 * (I - 0) / sqrt(1 - eps + eps) + bias
                net.bn_gamma[l] = np.ones(sizes[l + 1])
                net.bn_beta[l] = np.asarray(getattr(syn, "bias", np.zeros(sizes[l + 1])), dtype=np.float64).copy()
                net.running_mean[l] = np.zeros(sizes[l + 1])
                net.running_var[l] = np.full(sizes[l + 1], 1.0 - net.eps)
    net.weights[-1] = w_out.copy()
    return net.eval()


# -- a reference NIR simulator ------------------------------------------------------------
def _schedule(graph, start):
    """(nodes in topological order, the set of edges that close a cycle) by depth-first search."""
    visiting, done, late, post = set(), set(), set(), []

    def visit(u):
        visiting.add(u)
        for v in _edges_from(graph, u):
            if v in visiting:
                late.add((u, v))
            elif v not in done:
                visit(v)
        visiting.discard(u)
        done.add(u)
        post.append(u)

    visit(start)
    return post[::-1], late


def simulate(graph, x, *, dt: float | None = None, method: str | None = None) -> dict:
    """Run a graph of Input/Linear/Affine/LI/LIF/Threshold/Output nodes on ``x`` (batch, T, n_in)
    by the NIR equations discretised as in the module docstring (zero-order-hold input,
    ``method``'s leak), independently of the project's models.

    An edge that closes a cycle (found by depth-first search from the Input) is recurrent and
    delivers the previous step's output; every other node is updated in topological order
    within the step. A LIF spikes when v > v_threshold and then sets v = v_reset. Returns
    every node's output, ``{name: (batch, T, n)}``.
    """
    _by_type(graph)
    _, dt_s, method, _ = _dt(graph, dt, method)
    x = np.asarray(x, dtype=np.float64)
    inp = next(n for n, node in graph.nodes.items() if type(node).__name__ == "Input")
    names, late = _schedule(graph, inp)
    batch, T, _ = x.shape
    out = {}
    state = {}
    for name in names:
        node = graph.nodes[name]
        size = x.shape[2] if name == inp else int(np.prod(next(iter(node.output_type.values()))))
        out[name] = np.zeros((batch, T, size))
        state[name] = np.zeros((batch, size))
    for t in range(T):
        for name in names:
            node, kind = graph.nodes[name], type(graph.nodes[name]).__name__
            if kind == "Input":
                out[name][:, t] = x[:, t]
                continue
            total = 0.0
            for src in _edges_to(graph, name):
                if (src, name) not in late:
                    total = total + out[src][:, t]
                elif t > 0:
                    total = total + out[src][:, t - 1]
            if kind == "Linear":
                y = total @ np.asarray(node.weight).T
            elif kind == "Affine":
                y = total @ np.asarray(node.weight).T + node.bias
            elif kind == "Threshold":
                y = (total > node.threshold).astype(float)
            elif kind == "Output":
                y = total
            else:                                            # LI, LIF: zero-order hold over the step
                a = alpha_of(node.tau, dt_s, method)
                v = a * state[name] + (1.0 - a) * (node.v_leak + node.r * total)
                if kind == "LIF":
                    y = (v > node.v_threshold).astype(float)
                    v = np.where(y > 0, node.v_reset, v)
                else:
                    y = v
                state[name] = v
            out[name][:, t] = y
    return out
