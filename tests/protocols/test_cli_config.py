"""Config overrides: --set text converted to the field types, --config TOML, --target, --quiet,
and `plab show` / `plab plot` / `plab rules` in process (fast; the subprocess tests are in
test_cli_subprocess.py)."""
import dataclasses
import sys
import types

import numpy as np
import pytest
from matplotlib.figure import Figure

import protocols
from plasticity.errors import ParameterError
from protocols import cli, registry, store


@dataclasses.dataclass(frozen=True)
class TypedConfig:
    n: int = 3
    rate_hz: float = 10.0
    name: str = "abc"
    flag: bool = False
    sim_dt: float | None = None
    taus: tuple[float, ...] = (1.0, 2.0)
    target: str = "numpy"
    seed: int = 0

    @classmethod
    def small(cls):
        return cls(n=2)


@dataclasses.dataclass(frozen=True)
class TypedResult:
    config: TypedConfig
    values: np.ndarray
    total: float
    provenance: dict = dataclasses.field(default_factory=dict)


def typed_run(config, backend="native", progress=False):
    values = np.arange(config.n) * config.rate_hz
    return TypedResult(config, values, float(values.sum()),
                       {"backend": backend, "progress": progress, "target": config.target})


def typed_plot(result):
    fig = Figure()
    fig.add_subplot().plot(result.values)
    return {"values": fig}


@pytest.fixture
def typed(monkeypatch):
    module = types.ModuleType("_plab_typed", "A typed stand-in protocol.")
    module.Config, module.Result, module.run, module.plot = TypedConfig, TypedResult, typed_run, typed_plot
    module.summary = lambda r: f"total = {r.total:g}"
    monkeypatch.setitem(sys.modules, "_plab_typed", module)
    monkeypatch.setattr(registry, "PROTOCOLS", {"typed": "_plab_typed"})
    return module


def test_set_text_is_converted_to_the_field_types():
    c = cli.configure(TypedConfig(), assignments=["n=7", "rate_hz=2", "name=x y", "flag=yes",
                                                  "sim_dt=0.25", "taus=[3, 4.5]"])
    assert c == TypedConfig(n=7, rate_hz=2.0, name="x y", flag=True, sim_dt=0.25, taus=(3.0, 4.5))
    assert isinstance(c.rate_hz, float) and isinstance(c.taus[0], float)
    c = cli.configure(TypedConfig(sim_dt=0.1), assignments=["sim_dt=none", "taus=5,6", "name=3"])
    assert c.sim_dt is None and c.taus == (5.0, 6.0) and c.name == "3"


@pytest.mark.parametrize("item, words", [
    ("n=abc", "config key 'n' expects int, got 'abc'"),
    ("n=2.5", "config key 'n' expects int, got '2.5'"),
    ("rate_hz=", "config key 'rate_hz' expects float, got ''"),
    ("flag=maybe", "config key 'flag' expects bool, got 'maybe'"),
    ("sim_dt=soon", "config key 'sim_dt' expects float or none, got 'soon'"),
    ("taus=[1, \"a\"]", "config key 'taus' expects float, got 'a'"),
])
def test_wrong_types_name_key_type_and_valid_keys(item, words):
    with pytest.raises(ParameterError) as info:
        cli.configure(TypedConfig(), assignments=[item])
    message = str(info.value)
    assert words in message
    assert message.endswith("valid keys: n, rate_hz, name, flag, sim_dt, taus, target, seed")


def test_toml_config_file_then_set_then_seed(typed, tmp_path, capsys):
    toml = tmp_path / "c.toml"
    toml.write_text('n = 4\nrate_hz = 3\nname = "from file"\n[typed]\nflag = true\n')
    assert cli.main(["run", "typed", "--config", str(toml), "--set", "n=5", "--seed", "9",
                     "--out", str(tmp_path / "out")]) == 0
    (path,) = (tmp_path / "out" / "typed").iterdir()
    config, arrays, _ = store.load_run(path)
    assert config == {"n": 5, "rate_hz": 3.0, "name": "from file", "flag": True, "sim_dt": None,
                      "taus": [1.0, 2.0], "target": "numpy", "seed": 9}
    np.testing.assert_array_equal(arrays["values"], [0.0, 3.0, 6.0, 9.0, 12.0])


@pytest.mark.parametrize("text, words", [
    ("n = 1.5\n", "config key 'n' expects int, got 1.5"),
    ("n = true\n", "config key 'n' expects int, got True"),
    ("bogus = 1\n", "unknown config key 'bogus'"),
    ("[other]\nn = 1\n", "table [other] is not the protocol being run"),
    ("n = \n", "is not valid TOML"),
])
def test_bad_toml_is_one_line_status_2(typed, tmp_path, capsys, text, words):
    toml = tmp_path / "c.toml"
    toml.write_text(text)
    assert cli.main(["run", "typed", "--config", str(toml), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and words in err[0]
    assert not (tmp_path / "out").exists()


def test_target_backend_progress_and_quiet(typed, tmp_path, capsys):
    assert cli.main(["run", "typed", "--small", "--backend", "brian2", "--target", "cython", "--quiet",
                     "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and out[0].startswith("saved: ")          # --quiet: only the path
    config, _, prov = store.load_run(out[0][len("saved: "):])
    assert config["target"] == "cython" and config["n"] == 2
    assert prov["backend"] == "brian2" and prov["progress"] is False  # not a terminal here
    assert cli.main(["run", "typed", "--backend", "gpu"]) == 2       # argparse choices


def test_load_show_and_plot_round_trip(typed, tmp_path, capsys):
    assert cli.main(["run", "typed", "--set", "n=4", "rate_hz=0.5", "--out", str(tmp_path)]) == 0
    (path,) = (tmp_path / "typed").iterdir()
    result = protocols.load(path)
    assert isinstance(result, TypedResult) and result.config == TypedConfig(n=4, rate_hz=0.5)
    assert protocols.load(tmp_path / "typed").config == result.config   # protocol dir: newest run
    assert result.total == 3.0 and type(result.total) is float       # 0 + 0.5 + 1 + 1.5
    np.testing.assert_array_equal(result.values, [0.0, 0.5, 1.0, 1.5])
    assert result.provenance["protocol"] == "typed"
    capsys.readouterr()

    assert cli.main(["show", str(tmp_path / "typed")]) == 0          # newest run of the protocol
    shown = capsys.readouterr().out
    assert f"run:        {path}" in shown and "status:     complete" in shown
    assert "values  4       float64  min 0  max 1.5  mean 0.75" in shown
    assert "total   scalar  float64  = 3.0" in shown
    assert "figures:    values.png" in shown and "total = 3" in shown

    (path / "values.png").unlink()
    assert cli.main(["plot", str(path)]) == 0
    assert (path / "values.png").read_bytes()[:4] == b"\x89PNG"
    assert cli.main(["plot", str(path), "--out", str(tmp_path / "figs"), "--format", "svg"]) == 0
    assert (tmp_path / "figs" / "values.svg").read_text().lstrip().startswith("<?xml")


def test_show_and_plot_of_an_incomplete_run(typed, tmp_path, capsys):
    def broken_plot(result):
        raise RuntimeError("plot exploded")

    typed.plot = broken_plot
    with pytest.raises(RuntimeError):
        cli.main(["run", "typed", "--out", str(tmp_path)])
    (path,) = (tmp_path / "typed").iterdir()
    assert path.name.endswith(".incomplete")
    capsys.readouterr()
    assert cli.main(["show", str(path)]) == 0
    shown = capsys.readouterr().out
    assert "INCOMPLETE" in shown and "RuntimeError: plot exploded" in shown
    assert cli.main(["plot", str(path)]) == 2
    assert "incomplete" in capsys.readouterr().err
    assert cli.main(["show", str(tmp_path / "typed")]) == 2           # no complete run to pick


def test_rules_table_has_units_and_defaults(capsys):
    assert cli.main(["rules"]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line.startswith("  ")}
    assert rows["tau_plus"][:4] == ["tau_plus", "float", "16.8", "ms"]
    assert rows["a2_plus"][:4] == ["a2_plus", "float", "5e-10", "weight"]
    assert rows["mu_plus"][:4] == ["mu_plus", "float", "0.0", "1"]
    assert "one of all_to_all, nearest_symmetric, nearest_pre_centred" in out
    assert "one of all_to_all, nearest\n" in out                    # the triplet rule's schemes
    assert cli.main(["rules", "nosuch"]) == 2


def test_help_has_examples_everywhere(capsys):
    for argv in (["--help"], *([cmd, "--help"] for cmd in ("list", "run", "show", "plot", "rules", "demo"))):
        assert cli.main(argv) == 0
        assert "examples:" in capsys.readouterr().out


def test_a_crashing_run_leaves_an_incomplete_directory(typed, tmp_path, capsys):
    def crash(config, backend="native"):
        raise FloatingPointError("diverged at t = 12 ms")

    typed.run = crash
    with pytest.raises(FloatingPointError):
        cli.main(["run", "typed", "--set", "n=5", "--out", str(tmp_path)])
    (path,) = (tmp_path / "typed").iterdir()
    assert path.name.endswith(".incomplete")
    assert "diverged at t = 12 ms" in (path / "INCOMPLETE").read_text()
    assert '"n": 5' in (path / "config.json").read_text()
    prov = (path / "provenance.json").read_text()
    assert '"protocol": "typed"' in prov and "result_class" not in prov
    with pytest.raises(ValueError, match="incomplete"):
        protocols.load(path)


def test_ctrl_c_is_exit_130_and_names_the_kept_directory(typed, tmp_path, capsys):
    def interrupted(config, backend="native"):
        raise KeyboardInterrupt

    typed.run = interrupted
    assert cli.main(["run", "typed", "--out", str(tmp_path)]) == 130
    (path,) = (tmp_path / "typed").iterdir()
    assert capsys.readouterr().err.strip() == f"plab: interrupted; partial output kept in {path}"
    assert path.name.endswith(".incomplete") and "KeyboardInterrupt" in (path / "INCOMPLETE").read_text()


def test_a_refused_run_leaves_nothing(typed, tmp_path, capsys):
    def refuse(config, backend="native"):
        raise ParameterError(f"backend must be 'native', got {backend!r}")

    typed.run = refuse
    assert cli.main(["run", "typed", "--backend", "brian2", "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip() == "plab: error: backend must be 'native', got 'brian2'"
    assert list((tmp_path / "typed").iterdir()) == []


def test_progress_only_on_a_terminal_and_not_quiet(typed, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    assert cli._progress_enabled(quiet=False) is True
    assert cli._progress_enabled(quiet=True) is False
    assert cli.main(["run", "typed", "--no-figures", "--out", str(tmp_path)]) == 0
    (path,) = (tmp_path / "typed").iterdir()
    assert store.load_run(path)[2]["progress"] is True                # passed to run(progress=...)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False, raising=False)
    assert cli._progress_enabled(quiet=False) is False


def test_rule_units_are_declared_not_guessed():
    """Every numeric parameter of every registered rule states its unit and a description."""
    for name in registry.rule_names():
        for row in registry.rule_parameters(registry.get_rule(name)):
            assert row["description"], (name, row["name"])
            if row["type"] == "float":
                assert row["unit"], (name, row["name"])
    rows = {r["name"]: r for r in registry.rule_parameters(registry.get_rule("triplet"))}
    assert rows["tau_x"]["unit"] == "ms" and rows["a3_minus"]["unit"] == "weight"
    assert rows["scheme"]["unit"] == "" and rows["scheme"]["description"].endswith("one of all_to_all, nearest")
    rows = {r["name"]: r for r in registry.rule_parameters(registry.get_rule("inhibitory"))}
    assert rows["rho0_hz"]["unit"] == "Hz" and rows["tau"]["allowed"] == "a finite number > 0 ms"


def test_backend_and_wall_time_recorded_when_the_protocol_does_not(typed, tmp_path):
    def bare_run(config, backend="native"):
        values = np.arange(config.n, dtype=float)
        return TypedResult(config, values, float(values.sum()), {})   # no provenance of its own

    typed.run = bare_run
    assert cli.main(["run", "typed", "--no-figures", "--backend", "brian2", "--out", str(tmp_path)]) == 0
    (path,) = (tmp_path / "typed").iterdir()
    prov = store.load_run(path)[2]
    assert prov["backend"] == "brian2" and 0.0 <= prov["wall_time_s"] < 5.0


def test_elapsed_time_line_for_protocols_without_their_own_bar(typed, tmp_path, monkeypatch, capsys):
    def plain_run(config, backend="native"):  # no `progress` parameter
        return typed_run(config, backend)

    typed.run = plain_run
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    assert cli.main(["run", "typed", "--no-figures", "--out", str(tmp_path)]) == 0
    assert "plab: running typed: 00:00" in capsys.readouterr().err
    assert cli.main(["run", "typed", "--no-figures", "--quiet", "--out", str(tmp_path)]) == 0
    assert capsys.readouterr().err == ""                               # --quiet: no line at all
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False, raising=False)
    assert cli.main(["run", "typed", "--no-figures", "--out", str(tmp_path)]) == 0
    assert capsys.readouterr().err == ""                               # not a terminal


def test_config_validation_error_of_a_real_protocol_is_one_line(tmp_path, capsys):
    assert cli.main(["run", "song2000", "--small", "--set", "duration_ms=-5", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("plab: error: duration_ms must be > 0")
    assert not (tmp_path / "song2000").exists()


def test_rule_specific_meanings_override_shared_names():
    rows = {r["name"]: r for r in registry.rule_parameters(registry.get_rule("clopath"))}
    assert rows["tau_plus"]["description"].startswith("time constant of u_bar_plus")
    assert rows["a_ltp"]["unit"] == "weight/(mV^2 ms)" and rows["theta_minus"]["unit"] == "mV"
    pair = {r["name"]: r for r in registry.rule_parameters(registry.get_rule("pair"))}
    assert pair["tau_plus"]["description"].startswith("time constant of the presynaptic trace r1")


def test_config_fields_as_options_and_dashed_protocol_names(tmp_path):
    """`plab run compare-bptt --task pattern --rules a,b` (the issue's spelling) works like --set."""
    from protocols import cli, store

    code = cli.main(["run", "stdp-window", "--small", "--n-pairs", "3", "--rule=triplet", "--out", str(tmp_path),
                     "--quiet", "--no-figures"])
    assert code == 0
    (run_dir,) = (tmp_path / "stdp_window").iterdir()
    config, _, _ = store.load_run(run_dir)
    assert config["n_pairs"] == 3 and config["rule"] == "triplet"
    assert cli.main(["run", "stdp_window", "--small", "--n_pairs", "x", "--out", str(tmp_path)]) == 2
    assert cli.main(["run", "stdp_window", "--small", "--n_pairs"]) == 2
    assert cli.main(["list", "--n_pairs", "3"]) == 2
