"""plab against fake protocol modules registered in place of the real ones."""
import dataclasses
import sys
import types

import numpy as np
import pytest
from matplotlib.figure import Figure

from plasticity.errors import ParameterError
from protocols import cli, registry, store


@dataclasses.dataclass(frozen=True)
class FakeConfig:
    x: int = 1
    gain: float = 0.5
    duration_ms: float = 100.0
    seed: int = 0

    def __post_init__(self):
        if self.gain < 0:
            raise ParameterError(f"gain must be >= 0, got {self.gain}")

    @classmethod
    def small(cls):
        return cls(x=2)


@dataclasses.dataclass
class FakeResult:
    config: FakeConfig
    values: np.ndarray
    provenance: dict


def fake_run(config, backend="native"):
    values = np.random.default_rng(config.seed).random(config.x)
    return FakeResult(config, values, {"backend": backend, "wall_time_s": 0.0})


def fake_plot(result):
    fig = Figure()
    fig.add_subplot().plot(result.values)
    return {"values": fig}


def fake_summary(result):
    return f"x = {result.config.x}, duration = {result.config.duration_ms} ms"


def make_module(name, doc):
    module = types.ModuleType(name, doc)
    module.Config, module.run, module.plot, module.summary = FakeConfig, fake_run, fake_plot, fake_summary
    return module


@pytest.fixture
def fake(monkeypatch):
    """Register 'fake', and stand-ins for the two demo protocols."""
    monkeypatch.setattr(registry, "PROTOCOLS", {})
    for name in ("fake", "stdp_window", "song2000"):
        path = f"_plab_test_{name}"
        monkeypatch.setitem(sys.modules, path, make_module(path, f"The {name} stand-in.\n\nMore."))
        registry.PROTOCOLS[name] = path
    return "fake"


def only_run_dir(root, name):
    (path,) = (root / name).iterdir()
    return path


def test_run_with_set_writes_config(fake, tmp_path, capsys):
    assert cli.main(["run", "fake", "--set", "x=3", "gain=2", "--out", str(tmp_path)]) == 0
    path = only_run_dir(tmp_path, "fake")
    config, arrays, prov = store.load_run(path)
    assert config["x"] == 3
    assert config["gain"] == 2.0 and isinstance(config["gain"], float)
    assert arrays["values"].shape == (3,)
    assert prov["backend"] == "native"
    assert (path / "values.png").exists()
    out = capsys.readouterr().out
    assert "x = 3" in out and str(path) in out


def test_run_small_seed_and_no_figures(fake, tmp_path):
    assert cli.main(["run", "fake", "--small", "--seed", "11", "--no-figures",
                     "--out", str(tmp_path)]) == 0
    path = only_run_dir(tmp_path, "fake")
    config, arrays, prov = store.load_run(path)
    assert config["x"] == 2 and config["seed"] == 11 and prov["seed"] == 11
    np.testing.assert_array_equal(arrays["values"], np.random.default_rng(11).random(2))
    assert not list(path.glob("*.png"))


def test_string_values_fall_back_to_str():
    assert cli.parse_assignments(["a=3", "b=abc", "c=[1, 2]", "d=true", "e=x=y"]) == {
        "a": 3, "b": "abc", "c": [1, 2], "d": True, "e": "x=y"}


@pytest.mark.parametrize("argv, words", [
    (["run", "fake", "--set", "z=1"], ["'z'", "valid keys: x, gain, duration_ms, seed"]),
    (["run", "fake", "--set", "x=abc"], ["'x' expects int, got 'abc'", "valid keys: x, gain, duration_ms, seed"]),
    (["run", "fake", "--set", "gain=fast"], ["'gain' expects float, got 'fast'"]),
    (["run", "fake", "--set", "x=1.5"], ["'x' expects int, got '1.5'"]),
    (["run", "fake", "--target", "cython"], ["protocol 'fake' has no target option", "valid keys"]),
    (["run", "fake", "--config", "/nonexistent/c.toml"], ["config file not found"]),
    (["run", "fake", "--set", "gain=-1"], ["gain must be >= 0"]),
    (["run", "fake", "--set", "novalue"], ["key=value"]),
    (["run", "nosuch"], ["unknown protocol 'nosuch'", "fake", "song2000", "stdp_window"]),
])
def test_user_errors_are_one_line_with_status_2(fake, tmp_path, capsys, argv, words):
    assert cli.main([*argv, "--out", str(tmp_path)]) == 2
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("plab: error: ")
    for word in words:
        assert word in lines[0]
    assert "Traceback" not in captured.err
    assert not (tmp_path / "fake").exists()


def test_argparse_errors_exit_2(fake, capsys):
    assert cli.main(["run"]) == 2
    assert cli.main(["frobnicate"]) == 2
    assert cli.main([]) == 2


def list_sections(text):
    """{"protocols": {name: description}, "rules": {...}, ...} from `plab list` output."""
    sections, current = {}, None
    for line in text.splitlines():
        if line.endswith(":") and not line.startswith(" "):
            current = sections.setdefault(line[:-1], {})
        elif line.strip():
            name, _, desc = line.strip().partition("  ")
            current[name] = desc.strip()
    return sections


def test_list_shows_names_and_first_docstring_line(fake, capsys):
    assert cli.main(["list"]) == 0
    sections = list_sections(capsys.readouterr().out)
    assert sections["protocols"] == {"fake": "The fake stand-in.", "song2000": "The song2000 stand-in.",
                                     "stdp_window": "The stdp_window stand-in."}
    assert {"pair", "triplet"} <= set(sections["rules"])
    assert sections["rules"]["pair"].startswith("plasticity.PairSTDP: Pair-based STDP")


def test_list_survives_a_missing_module(fake, monkeypatch, capsys):
    monkeypatch.setitem(registry.PROTOCOLS, "ghost", "_plab_test_does_not_exist")
    assert cli.main(["list", "protocols"]) == 0
    sections = list_sections(capsys.readouterr().out)
    assert list(sections) == ["protocols"]
    assert sections["protocols"]["ghost"].startswith("(unavailable: ")


def test_list_tasks_from_a_tasks_module(fake, monkeypatch, capsys):
    module = types.ModuleType("protocols.tasks")
    module.TASKS = {"delayed_match": "Delayed match-to-sample,\n  over a delay.\n\nMore.", "pattern": fake_run}
    monkeypatch.setitem(sys.modules, "protocols.tasks", module)
    assert cli.main(["list", "tasks"]) == 0
    assert list_sections(capsys.readouterr().out) == {
        "tasks": {"delayed_match": "Delayed match-to-sample, over a delay.", "pattern": ""}}


def test_list_without_tasks_module_has_no_tasks_section(fake, monkeypatch, capsys):
    monkeypatch.setattr(registry, "TASKS_MODULE", "protocols._no_such_tasks_module")
    assert cli.main(["list"]) == 0
    assert "tasks" not in list_sections(capsys.readouterr().out)


def test_demo_runs_both_and_writes_summary(fake, tmp_path, capsys):
    assert cli.main(["demo", "--out", str(tmp_path)]) == 0
    stdp_config, _, _ = store.load_run(only_run_dir(tmp_path, "stdp_window"))
    song_config, _, _ = store.load_run(only_run_dir(tmp_path, "song2000"))
    assert stdp_config["duration_ms"] == 100.0  # default config
    assert song_config["duration_ms"] == 100.0  # the full default run (no demo overrides)
    summary = (tmp_path / "demo_summary.txt").read_text()
    assert "== stdp_window ==" in summary and "== song2000 ==" in summary
    assert str(only_run_dir(tmp_path, "song2000")) in summary
    assert summary in capsys.readouterr().out


def test_demo_quick_uses_small_configs(fake, tmp_path):
    assert cli.main(["demo", "--quick", "--out", str(tmp_path)]) == 0
    for name in ("stdp_window", "song2000"):
        config, _, _ = store.load_run(only_run_dir(tmp_path, name))
        assert config["x"] == 2 and config["duration_ms"] == 100.0


def test_registry_get_unknown_name_lists_known(fake):
    with pytest.raises(ParameterError, match="known: fake, song2000, stdp_window"):
        registry.get("nope")


def test_list_survives_a_broken_rule_and_tasks_module(fake, monkeypatch, capsys):
    monkeypatch.setitem(registry.RULES, "ghost", "plasticity.NoSuchRule")
    monkeypatch.setattr(registry, "tasks", lambda: (_ for _ in ()).throw(RuntimeError("tasks exploded")))
    assert cli.main(["list"]) == 0
    sections = list_sections(capsys.readouterr().out)
    assert sections["rules"]["ghost"].startswith("(unavailable: ")
    assert sections["tasks"] == {"(tasks)": "(unavailable: tasks exploded)"}
