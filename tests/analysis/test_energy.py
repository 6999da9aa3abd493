"""Energy estimate: operation counts by hand, the 45 nm figures from the reference data."""
import json
from importlib import resources

import numpy as np
import pytest

from analysis import dense_macs, energy_estimate, synaptic_operations
from analysis.energy import energy_figures
from plasticity.errors import ParameterError


def packaged_reference() -> dict:
    """The reference data shipped with the package (analysis/data/plasticity_data.json)."""
    return json.loads(resources.files("analysis").joinpath("data/plasticity_data.json").read_text(encoding="utf-8"))


def test_figures_are_the_45nm_entry_and_unverified():
    fig = energy_figures()
    assert fig["pj_per_op"]["fp32_add"] == 0.9 and fig["pj_per_op"]["fp32_mac"] == 4.6
    assert fig["verified"] is False
    assert packaged_reference()["energy_45nm"] == fig   # read from the data file, not the fallback


def test_operation_counts_by_hand():
    assert synaptic_operations([10, 0, 5], [100, 100, 20]) == 1100.0
    assert synaptic_operations(np.array([3, 4]), 10) == 70.0
    assert dense_macs([(100, 3), (1, 100)], n_steps=1000) == 400_000.0
    assert dense_macs([np.zeros((2, 5))], n_steps=3) == 30.0


def test_estimate_by_hand():
    e = energy_estimate(1100.0, 400_000.0)
    assert e.snn_pj == pytest.approx(990.0)            # 1100 x 0.9 pJ
    assert e.dense_pj == pytest.approx(1_840_000.0)    # 400 000 x 4.6 pJ
    assert e.ratio == pytest.approx(1_840_000.0 / 990.0)
    assert e.verified is False
    text = str(e)
    assert "ESTIMATE" in text and "not independently verified" in text and "Horowitz" in text


def test_custom_figures_are_labelled():
    e = energy_estimate(10.0, 10.0, ac_pj=1.0, mac_pj=2.0)
    assert e.ratio == 2.0 and e.source == "user-given figures"


def test_bad_counts_rejected():
    with pytest.raises(ParameterError, match="fan_out"):
        synaptic_operations([1, 2], [1, 2, 3])
    with pytest.raises(ParameterError, match="n_steps"):
        dense_macs([(1, 1)], n_steps=-1)
