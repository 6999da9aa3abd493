"""protocols.load(path) gives back the Result of a saved run of the real protocols, field for
field, so summaries and figures are re-made without re-running."""
import dataclasses
import json

import numpy as np
import pytest

import protocols
from protocols import song2000, stdp_window, store


@pytest.fixture(scope="module", params=["stdp_window", "song2000"])
def saved(request, tmp_path_factory):
    module = {"stdp_window": stdp_window, "song2000": song2000}[request.param]
    config = module.Config.small()
    if module is song2000:  # 3 s of biological time is enough to check the round trip
        config = dataclasses.replace(config, duration_ms=3000.0, record_every_ms=1000.0)
    result = module.run(config)
    root = tmp_path_factory.mktemp("results")
    path = store.save_run(request.param, config, result, {}, module.summary(result), root=root)
    return module, result, path


def assert_same_result(loaded, result):
    assert type(loaded) is type(result)
    assert loaded.config == result.config
    for field in dataclasses.fields(result):
        if field.name in ("config", "provenance"):
            continue
        want, got = getattr(result, field.name), getattr(loaded, field.name)
        np.testing.assert_array_equal(got, want, err_msg=field.name)
        assert np.asarray(got).dtype == np.asarray(want).dtype, field.name


def test_load_gives_back_every_field(saved):
    module, result, path = saved
    loaded = protocols.load(path)
    assert_same_result(loaded, result)
    for key, value in result.provenance.items():  # the run's own provenance is kept
        assert loaded.provenance[key] == (pytest.approx(value) if isinstance(value, float) else value), key
    assert loaded.provenance["result_class"] == f"{module.__name__}:Result"


def test_summary_and_figures_from_the_loaded_result(saved):
    module, result, path = saved
    loaded = protocols.load(path)
    assert module.summary(loaded) == module.summary(result)
    (fig_a,), (fig_b,) = module.plot(result).values(), module.plot(loaded).values()
    for ax_a, ax_b in zip(fig_a.axes, fig_b.axes):
        for line_a, line_b in zip(ax_a.lines, ax_b.lines):
            np.testing.assert_array_equal(line_a.get_xydata(), line_b.get_xydata())


def test_old_runs_are_found_by_directory_name(saved, tmp_path):
    module, result, path = saved
    prov_path = path / "provenance.json"
    prov = json.loads(prov_path.read_text())
    try:
        for key in ("protocol", "result_class", "config_class"):
            prov.pop(key)
        prov_path.write_text(json.dumps(prov))
        assert_same_result(protocols.load(path), result)  # results/<NAME>/<stamp>: NAME is the protocol
    finally:
        prov_path.write_text(json.dumps({**prov, "protocol": path.parent.name,
                                         "result_class": f"{module.__name__}:Result",
                                         "config_class": f"{module.__name__}:Config"}))


def test_load_rejects_unknown_and_incomplete(tmp_path):
    run = tmp_path / "nonsense" / "20240101-000000"
    run.mkdir(parents=True)
    for name, text in (("config.json", "{}"), ("provenance.json", "{}")):
        (run / name).write_text(text)
    np.savez(run / "result.npz", x=np.zeros(2))
    with pytest.raises(ValueError, match="cannot tell which protocol"):
        protocols.load(run)
    (run / "INCOMPLETE").write_text("Traceback ...")
    with pytest.raises(ValueError, match="incomplete"):
        protocols.load(run)


@dataclasses.dataclass(frozen=True)
class TupleConfig:
    taus: tuple = (1.0, 2.0)
    dt: float | None = None


def test_build_config_turns_lists_into_tuples_and_warns_on_dropped_keys():
    assert store.build_config(TupleConfig, {"taus": [3.0, 4.0], "dt": None}) == TupleConfig((3.0, 4.0))
    with pytest.warns(UserWarning, match=r"\(dropped\): gone"):
        assert store.build_config(TupleConfig, {"gone": 1}) == TupleConfig()
