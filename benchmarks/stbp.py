#!/usr/bin/env python
"""STBP benchmark: one training epoch of a deep SNN on the digits, beside PyTorch CPU.

Workload (issue 14): 64-256-256-10 dense SNN with tdBN (``models.feedforward.SNN``, Zheng
et al. 2021 constants), T = 8 steps of direct encoding, batch 64, Adam, rate-coded CE, one
epoch over scikit-learn's digits training split (1347 images -> 22 batches).

Reported: the first epoch in this process (Numba cache load or compile included) and the
minimum / median of ``--repeats`` further epochs, measured again after the PyTorch runs (on a
shared machine the load changes between runs: the minimum over both is the fair number). When ``--torch-python`` names an
interpreter with PyTorch (never a dependency: e.g. a scratch venv with torch==2.13.0), the
same network from the same initial weights is trained there by a hand-written PyTorch
module (autograd, the rectangular surrogate as an ``autograd.Function``, tdBN over batch and
time) in float32 and float64, with its default threads and with one thread; first the
PyTorch float64 gradient of one batch is compared with ``plasticity.stbp.gradients``.

Usage: python benchmarks/stbp.py [--repeats 5] [--torch-python /tmp/venv/bin/python] [--write-results]
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from models.feedforward import SNN, train_epoch  # noqa: E402
from plasticity import optim, stbp  # noqa: E402
from protocols.datasets import load_digits  # noqa: E402

SIZES = [64, 256, 256, 10]
T, BATCH, LR = 8, 64, 1e-3
SECTION = "## Deep SNN: one STBP epoch vs PyTorch CPU"

TORCH_CHILD = r'''
import json, sys, time
import numpy as np
import torch

data = np.load(sys.argv[1])
dtype = {"float32": torch.float32, "float64": torch.float64}[sys.argv[2]]
threads = int(sys.argv[3])
repeats = int(sys.argv[4])
if threads > 0:
    torch.set_num_threads(threads)
T, batch, lr, tau, vth, eps = (float(v) for v in data["consts"])
T, batch = int(T), int(batch)


class Spike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, u):
        ctx.save_for_backward(u)
        return (u > vth).to(u.dtype)

    @staticmethod
    def backward(ctx, g):
        (u,) = ctx.saved_tensors
        return g * ((u - vth).abs() < 0.5).to(g.dtype)   # rectangular, a = 1


class Net(torch.nn.Module):
    def __init__(self, weights):
        super().__init__()
        self.w = torch.nn.ParameterList([torch.nn.Parameter(torch.tensor(w, dtype=dtype)) for w in weights])
        hidden = [w.shape[0] for w in weights[:-1]]
        self.gamma = torch.nn.ParameterList([torch.nn.Parameter(torch.ones(n, dtype=dtype)) for n in hidden])
        self.beta = torch.nn.ParameterList([torch.nn.Parameter(torch.zeros(n, dtype=dtype)) for n in hidden])

    def forward(self, x):                                   # x: (B, T, n_in)
        s = x
        for w, g, b in zip(self.w[:-1], self.gamma, self.beta):
            i = s @ w.T
            mean = i.mean(dim=(0, 1))
            var = i.var(dim=(0, 1), unbiased=False)
            j = g * vth * (i - mean) / torch.sqrt(var + eps) + b        # tdBN, alpha = 1
            u = torch.zeros_like(j[:, 0])
            z = torch.zeros_like(j[:, 0])
            out = []
            for t in range(T):
                u = tau * u * (1 - z) + j[:, t]
                z = Spike.apply(u)
                out.append(z)
            s = torch.stack(out, dim=1)
        return (s @ self.w[-1].T).mean(dim=1)


weights = [data[f"w{k}"] for k in range(int(data["n_w"]))]
net = Net(weights)
x = torch.tensor(data["x"], dtype=dtype)
y = torch.tensor(data["y"], dtype=torch.long)
result = {"threads": torch.get_num_threads(), "version": torch.__version__}
loss = torch.nn.functional.cross_entropy(net(x[:batch].unsqueeze(1).expand(-1, T, -1)), y[:batch])
loss.backward()
result["grads"] = [p.grad.detach().double().numpy().tolist() for p in net.w]
net.zero_grad()
opt = torch.optim.Adam(net.parameters(), lr=lr)
rng = np.random.default_rng(0)


def epoch():
    order = torch.tensor(rng.permutation(len(y)))
    for k in range(0, len(order), batch):
        idx = order[k:k + batch]
        xb = x[idx].unsqueeze(1).expand(-1, T, -1)
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(xb), y[idx]).backward()
        opt.step()


start = time.perf_counter()
epoch()
result["first_s"] = time.perf_counter() - start
times = []
for _ in range(repeats):
    start = time.perf_counter()
    epoch()
    times.append(time.perf_counter() - start)
result["epoch_s"] = times
print("TORCH-RESULT " + json.dumps(result))
'''


def ours(data, repeats, dtype="float64"):
    net = SNN(SIZES, T=T, seed=0, dtype=dtype)
    w0 = [w.astype(np.float64) for w in net.weights]
    opt = optim.Adam(lr=LR)
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    train_epoch(net, opt, data.x_train, data.y_train, batch=BATCH, rng=rng)
    first = time.perf_counter() - start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        train_epoch(net, opt, data.x_train, data.y_train, batch=BATCH, rng=rng)
        times.append(time.perf_counter() - start)
    return w0, first, times


def run_torch(python, data, w0, dtype, threads, repeats):
    with tempfile.TemporaryDirectory(prefix="stbp_bench_") as tmp:
        path = Path(tmp) / "data.npz"
        arrays = {f"w{k}": w for k, w in enumerate(w0)}
        np.savez(path, x=data.x_train, y=data.y_train, n_w=len(w0),
                 consts=np.array([T, BATCH, LR, 0.25, 0.5, 1e-5]), **arrays)
        script = Path(tmp) / "child.py"
        script.write_text(TORCH_CHILD)
        out = subprocess.run([python, str(script), str(path), dtype, str(threads), str(repeats)],
                             capture_output=True, text=True, check=True).stdout
    line = next(ln for ln in out.splitlines() if ln.startswith("TORCH-RESULT "))
    return json.loads(line[len("TORCH-RESULT "):])


def gradient_check(data, w0, torch_grads) -> float:
    net = SNN(SIZES, T=T, seed=0)
    net.weights = [w.copy() for w in w0]
    g = stbp.gradients(net, data.x_train[:BATCH], data.y_train[:BATCH])["weights"]
    return max(float(np.abs(a - np.array(b)).max() / np.abs(a).max()) for a, b in zip(g, torch_grads))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--torch-python", default=None, help="an interpreter where torch is importable")
    parser.add_argument("--write-results", action="store_true", help="append the numbers to benchmarks/RESULTS.md")
    args = parser.parse_args(argv)
    data = load_digits(seed=0)
    runs = {dtype: ours(data, args.repeats, dtype) for dtype in ("float64", "float32")}
    w0 = runs["float64"][0]
    times = {dtype: list(run[2]) for dtype, run in runs.items()}
    lines = []
    torch_lines = []
    if args.torch_python:
        for dtype, threads in (("float32", 0), ("float32", 1), ("float64", 0), ("float64", 1)):
            res = run_torch(args.torch_python, data, w0, dtype, threads, args.repeats)
            torch_lines.append((f"PyTorch {res['version']} CPU {dtype}, {res['threads']} thread(s): first "
                                f"{res['first_s']:.3f} s, min {min(res['epoch_s']):.3f} s / median "
                                f"{np.median(res['epoch_s']):.3f} s per epoch", min(res["epoch_s"]), dtype))
            if dtype == "float64" and threads == 0:
                lines.append(f"gradient of one batch, PyTorch float64 vs plasticity.stbp: max relative difference "
                             f"{gradient_check(data, w0, res['grads']):.2e}")
        for dtype in times:
            times[dtype] += ours(data, args.repeats, dtype)[2]
    best = {dtype: min(t) for dtype, t in times.items()}
    for k, dtype in enumerate(times):
        lines.insert(k, f"plasticity-lab STBP ({dtype}, Numba kernels, 1 BLAS thread): first epoch "
                        f"{runs[dtype][1]:.3f} s, then min {best[dtype]:.3f} s / median {np.median(times[dtype]):.3f} s "
                        f"per epoch ({len(times[dtype])} epochs, before and after PyTorch)")
    for text, t_min, dtype in torch_lines:
        lines.append(f"{text}; min PyTorch / min ours ({dtype}) = {t_min / best[dtype]:.2f}")
    if not args.torch_python:
        lines.append("PyTorch: not compared (pass --torch-python with an interpreter that has torch)")
    load = os.getloadavg()
    import numba

    meta = (f"{datetime.date.today()}, {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
            f"load average {load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f}; Python {platform.python_version()}, "
            f"NumPy {np.__version__}, Numba {numba.__version__}")
    print("\n".join([meta] + lines))
    if args.write_results:
        path = ROOT / "benchmarks" / "RESULTS.md"
        text = path.read_text(encoding="utf-8")
        block = (f"\n{SECTION} ({datetime.date.today()})\n\n64-256-256-10, tdBN, T = {T}, batch {BATCH}, "
                 f"Adam, one epoch of the digits (22 batches). {meta}.\n\n" + "\n".join(f"- {ln}" for ln in lines) + "\n")
        tmp = path.with_suffix(".md.tmp")
        tmp.write_text(text.rstrip("\n") + "\n" + block, encoding="utf-8")
        os.replace(tmp, path)


if __name__ == "__main__":
    main()
