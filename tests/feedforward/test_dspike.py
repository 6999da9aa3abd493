"""Dspike (Li et al. 2021): kernel == twin, unit area for every temperature, the rectangle as
b -> 0, the derivative of its tanh integral, and the shapes figure."""
import numpy as np
import pytest
from scipy.integrate import quad

from plasticity.errors import ParameterError
from plasticity.surrogate import Surrogate, psi, psi_reference


@pytest.mark.parametrize("b", [0.5, 3.0, 10.0])
@pytest.mark.parametrize("width", [0.5, 1.0])
def test_dspike_kernel_twin_and_unit_area(b, width, rng):
    spec = Surrogate("dspike", temperature=b, width=width)
    u = rng.uniform(-1, 1, 300)
    p = spec.kernel_params(0.5)
    np.testing.assert_allclose([psi(x, p) for x in u], psi_reference(u, spec, 0.5), rtol=1e-11, atol=1e-14)
    area = quad(lambda x: psi(x, p), -width / 2, width / 2, limit=200)[0]
    assert area == pytest.approx(1.0, rel=1e-9)
    assert psi(0.51 * width, p) == 0.0


def test_dspike_limits_and_antiderivative():
    small = Surrogate("dspike", temperature=1e-4).kernel_params(1.0)
    assert psi(0.3, small) == pytest.approx(1.0, rel=1e-7)  # the rectangle 1/width
    b, h = 4.0, 1e-6
    p = Surrogate("dspike", temperature=b).kernel_params(1.0)
    F = lambda u: (np.tanh(b * u) + np.tanh(b / 2)) / (2 * np.tanh(b / 2))  # noqa: E731
    for u in (-0.4, -0.1, 0.0, 0.2):
        assert psi(u, p) == pytest.approx((F(u + h) - F(u - h)) / (2 * h), rel=1e-7)


def test_dspike_temperature_validated():
    with pytest.raises(ParameterError, match="temperature"):
        Surrogate("dspike", temperature=0.0)


def test_surrogate_shapes_plot():
    from analysis.plots import surrogate_shapes_plot

    ax = surrogate_shapes_plot([Surrogate("rectangular"), Surrogate("dspike", temperature=5.0)], v_th=0.5)
    assert len(ax.lines) == 3  # two shapes and the threshold line
    y = ax.lines[1].get_ydata()
    assert y.max() == pytest.approx(5.0 / (2 * np.tanh(2.5)), rel=1e-3)
