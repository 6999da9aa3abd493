"""e-prop inside a models.Network: 50 LIF/ALIF neurons learn a sine from frozen input (README).

Run: python examples/eprop_in_network.py   (prints the readout loss of each trial)
"""
import numpy as np
import models, plasticity
from models.learning import Learner
from plasticity.optim import Adam

net = models.Network(dt=1.0, seed=0)                                          # ms
rng = np.random.default_rng(0)
pattern = [np.flatnonzero(rng.random(500) < 0.05) * 1.0 for _ in range(20)]  # ms, one trial
inp = net.add(models.SpikeGeneratorGroup.from_trains(
    [np.concatenate([t + 500.0 * r for r in range(3)]) for t in pattern]))   # the same input each trial
rec = net.add(models.LIF(50, synapses="delta", reset="subtract", tau_m=20.0, e_leak=0.0,
                         v_reset=0.0, v_th=1.0, beta=np.r_[np.zeros(25), np.full(25, 1.8)]))  # 25 ALIF
out = net.add(models.Readout(1, tau=20.0, target=lambda t: np.sin(2 * np.pi * t / 500.0)))
rule = plasticity.EPropRule(feedback="random", seed=1)
p_in = net.connect(inp, rec, weight=models.normal(0, 0.3), rule=rule, readout=out)
p_rec = net.connect(rec, rec, weight=models.normal(0, 0.1), rule=rule, readout=out,
                    connectivity=models.all_to_all(allow_self=False))
p_out = net.connect(rec, out, weight=models.normal(0, 0.1), rule=rule)
learner = Learner(net, {"w_in": p_in, "w_rec": p_rec, "w_out": p_out}, readout=out)
adam = Adam(lr=1e-3)
for trial in range(3):  # each trial: 500 ms, then one Adam step on the accumulated gradient
    net.run(500.0)
    print(trial, learner.loss())
    learner.apply(adam); learner.reset()
