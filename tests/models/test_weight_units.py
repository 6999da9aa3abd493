"""The weight units that docs/conventions.md states are the ones the native loop uses.

One presynaptic spike onto a LIF neuron at rest; the peak of the PSP is compared with the
closed form of the linearised membrane equation
    tau_m du/dt = -u + A exp(-t/tau_e),   u(t) = A tau_e/(tau_m - tau_e) (exp(-t/tau_m) - exp(-t/tau_e)),
with A = w (e_e - e_leak) for a conductance synapse (w a multiple of the leak conductance) and
A = w R = w tau_m / c_m (pA x GOhm = mV) for a current synapse. A weight read as nS would give
a PSP c_m / tau_m (= 25 here) times smaller; a weight read in units of g_L but scaled by c_m
would change with c_m, which the first test varies.
"""
import math

import numpy as np
import pytest

import models

TAU_M, TAU_E, E_LEAK, E_E = 10.0, 5.0, -74.0, 0.0
DT = 0.01   # ms: the exponential-Euler error of a 5 ms conductance is ~dt/(2 tau_e) = 0.1 %


def psp_peak_factor(tau_m=TAU_M, tau_e=TAU_E):
    """max_t of tau_e/(tau_m - tau_e) (exp(-t/tau_m) - exp(-t/tau_e)): the PSP peak per unit A."""
    t_star = tau_m * tau_e * math.log(tau_m / tau_e) / (tau_m - tau_e)
    return tau_e / (tau_m - tau_e) * (math.exp(-t_star / tau_m) - math.exp(-t_star / tau_e))


def psp_peak(synapses, weight, c_m=250.0):
    net = models.Network(dt=DT, seed=0)
    source = net.add(models.SpikeGeneratorGroup(1, times=(np.array([1.0]),)))
    cell = net.add(models.LIF(1, synapses=synapses, tau_m=TAU_M, tau_e=TAU_E, c_m=c_m, e_leak=E_LEAK,
                              e_e=E_E, v_th=0.0, v_reset=E_LEAK))
    net.connect(source, cell, weight=weight)
    v = net.record_state(cell, "v")
    net.run(60.0)
    return v.values[:, 0].max() - E_LEAK


def test_the_closed_form_peak():
    assert psp_peak_factor(10.0, 5.0) == pytest.approx(0.25, rel=1e-12)   # t* = 10 ln 2: 1/2 - 1/4


@pytest.mark.parametrize("c_m", [250.0, 100.0])
def test_conductance_weight_is_a_multiple_of_the_leak_conductance(c_m):
    w = 0.002                                          # g_e peaks at 0.2 % of g_L: linear to ~0.3 %
    want = w * (E_E - E_LEAK) * psp_peak_factor()      # 0.037 mV
    assert psp_peak("conductance", w, c_m=c_m) == pytest.approx(want, rel=0.01)


def test_conductance_conversion_to_nS():
    """g [nS] = w c_m / tau_m: a 0.5 nS synapse onto c_m = 250 pF, tau_m = 10 ms (g_L = 25 nS) is w = 0.02."""
    g_ns = 0.5
    w = g_ns * TAU_M / 250.0
    linear = w * (E_E - E_LEAK) * psp_peak_factor()
    assert psp_peak("conductance", w) == pytest.approx(linear, rel=0.03)   # 2 % of g_L: slight shunting


def test_current_weight_is_in_pA():
    w = 10.0                                           # pA; R = tau_m / c_m = 0.04 GOhm
    want = w * TAU_M / 250.0 * psp_peak_factor()       # 0.1 mV: exact (the current equation is linear)
    assert psp_peak("current", w) == pytest.approx(want, rel=2e-3)


def test_delta_weight_is_in_mV():
    assert psp_peak("delta", 0.7) == pytest.approx(0.7, rel=1e-9)
