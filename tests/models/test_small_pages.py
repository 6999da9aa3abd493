"""models.simulate.small_pages: a network's first run flattens it into the loop's arrays without
NumPy's request for transparent huge pages (synchronous compaction at first touch cost 30-60 ms
at 16 000 neurons on the benchmark VM), and gives NumPy its setting back, also after an error."""
import pytest

import models
from models import simulate


def test_the_setting_is_off_inside_and_restored_after_a_run_and_an_error():
    setter = simulate._set_madvise_hugepage
    if setter is None:
        pytest.skip("this NumPy has no huge-page setting")
    previous = setter(True)
    try:
        with simulate.small_pages():
            assert setter(False) is False          # off inside (the call returns the value before it)
        assert setter(True) is True                # restored on leaving
        with pytest.raises(RuntimeError), simulate.small_pages():
            raise RuntimeError("inside")
        assert setter(True) is True
        net = models.Network(dt=0.1, seed=1)
        cells = net.add(models.LIF(50, i_ext=400.0))
        net.connect(cells, cells, weight=5.0, connectivity=models.fixed_probability(0.1))
        rec = net.record_spikes(cells)
        net.run(50.0)
        assert rec.t.size > 0 and setter(True) is True
    finally:
        setter(previous)
