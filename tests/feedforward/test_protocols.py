"""The deep-SNN protocols: small configs run, their criteria rows are well formed and their
measurements agree with what they are computed from."""
import numpy as np
import pytest

from plasticity.errors import ParameterError
from protocols import registry


@pytest.fixture(scope="module")
def depth_result():
    from protocols import tdbn_depth

    return tdbn_depth.run(tdbn_depth.Config.small())


def test_tdbn_depth_small(depth_result):
    from protocols import tdbn_depth

    r = depth_result
    assert r.accuracy.shape == (3, 2, 3) and r.grad_norms.shape == (3, 2, 3, 5)
    i = r.norm_names().index("tdbn")
    assert r.accuracy[i, 0, -1] > 0.6                                   # depth 2 learns the digits
    assert np.all(np.isnan(r.grad_norms[:, 0, :, 3:]))                  # beyond depth 2 + readout
    rows = tdbn_depth.compare(r)
    assert {row["rule"] for row in rows} == {"tdBN", "plain BN", "no normalisation"}
    ratio = rows[0]["distance"]
    g = r.grad_norms[i, 1, 0, :4]
    assert ratio == pytest.approx(g.max() / g.min())
    assert "tdbn" in tdbn_depth.summary(r)
    assert set(tdbn_depth.plot(r)) == {"accuracy_depth", "grad_norms", "firing_rates", "learning_curves"}


def test_tdbn_depth_config_validated():
    from protocols import tdbn_depth

    with pytest.raises(ParameterError, match="norms"):
        tdbn_depth.Config(norms="tdbn,layer")
    with pytest.raises(ParameterError, match="depths"):
        tdbn_depth.Config(depths=())


def test_registered():
    for name in ("tdbn_depth",):
        assert registry.get(name).Config.small()
