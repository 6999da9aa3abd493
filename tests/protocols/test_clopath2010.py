"""Clopath 2010 on the Sjöström frequency protocol: LTD at low frequency, LTP at high frequency
for both pairing orders; the distance to the data is computed and reported."""
import numpy as np
import pytest

from plasticity import ParameterError
from protocols import clopath2010, registry


@pytest.fixture(scope="module")
def small():
    return clopath2010.run(clopath2010.Config.small())


def test_frequency_dependence(small):
    f = small.frequencies_hz
    assert np.all(np.diff(small.dw_plus) > -1e-3)           # +10 ms: potentiation grows with frequency
    assert small.dw_minus[f <= 20].max() < -0.05             # -10 ms: depression at low frequency
    assert small.dw_minus[f == 50][0] > 0.05                 # ... turning into potentiation at 50 Hz
    assert small.dw_plus[f == 50][0] > 5 * abs(small.dw_plus[f == 0.1][0])
    assert small.dw_plus[f == 0.1][0] > small.dw_minus[f == 0.1][0]


def test_shape_matches_data_up_to_scale(small):
    assert small.scale > 0
    assert small.rms_scaled < 0.25                           # data spread: SEM 5-32%


@pytest.mark.slow
def test_full_protocol_distance_to_data():
    r = clopath2010.run(clopath2010.Config())
    assert r.rms_raw < 0.25
    assert 0.7 < r.scale < 1.5


def test_summary_plot_registry(small):
    text = clopath2010.summary(small)
    assert "RMS" in text and "verified" in text and "Sjöström" in text
    assert set(clopath2010.plot(small)) == {"clopath2010"}
    assert registry.get("clopath2010") is clopath2010
    rows = clopath2010.compare(small)
    assert rows[0]["distance"] == small.rms_raw and "passed" in rows[0]


@pytest.mark.parametrize("kwargs,name", [
    (dict(frequencies_hz=()), "frequencies_hz"), (dict(frequencies_hz=(200.0,)), "frequencies_hz"),
    (dict(n_pairs=0), "n_pairs"), (dict(dt=1.0), "dt"), (dict(a_ltp=-1.0), "a_ltp"), (dict(v_reset=40.0), "v_reset"),
])
def test_bad_config(kwargs, name):
    with pytest.raises(ParameterError, match=name):
        clopath2010.Config(**kwargs)
