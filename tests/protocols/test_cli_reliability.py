"""Issue 13 items 7-13: what plab does on signals, damaged runs, unwritable paths, hostile
provenance and a terminal that cannot print the summary. Signals and exit codes are checked
in separate processes; the rest in process against fake protocol modules."""
import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
import types
from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure

from plasticity.errors import interrupt_in, keyboard_interrupts
from protocols import cli, registry, store

TIMEOUT_S = 180
LONG_RUN = ["run", "song2000", "--small", "--set", "duration_ms=20000000", "record_every_ms=20000000",
            "--no-figures", "--quiet"]


@dataclasses.dataclass(frozen=True)
class Config:
    n: int = 3
    seed: int = 0

    @classmethod
    def small(cls):
        return cls()


@dataclasses.dataclass
class Result:
    config: Config
    values: np.ndarray
    provenance: dict


class Behaviour:
    run_raises = summary_raises = None


def _run(config, backend="native"):
    if Behaviour.run_raises is not None:
        raise Behaviour.run_raises
    return Result(config, np.arange(float(config.n)), {})


def _summary(result):
    if Behaviour.summary_raises is not None:
        raise Behaviour.summary_raises
    return f"Δw = {result.values.sum()}"


def _plot(result):
    fig = Figure()
    fig.add_subplot().plot(result.values * 2)   # fails (TypeError) when values is None
    return {"values": fig}


@pytest.fixture
def fake(monkeypatch):
    module = types.ModuleType("_plab_rel_fake", "A stand-in protocol.")
    module.Config, module.Result, module.run, module.plot, module.summary = Config, Result, _run, _plot, _summary
    monkeypatch.setitem(sys.modules, "_plab_rel_fake", module)
    monkeypatch.setattr(registry, "PROTOCOLS", {"fake": "_plab_rel_fake"})
    monkeypatch.setattr(Behaviour, "run_raises", None)
    monkeypatch.setattr(Behaviour, "summary_raises", None)
    return module


def one_run(root):
    (path,) = [p for p in (root / "fake").iterdir()]
    return path


def run_fake(tmp_path, *extra):
    return cli.main(["run", "fake", "--out", str(tmp_path), "--no-figures", *extra])


# --- interrupts -------------------------------------------------------------------------------------

def test_keyboard_interrupt_inside_systemerror_is_found_and_reraised():
    try:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as ki:
            raise SystemError("CPUDispatcher(<f>) returned a result with an exception set") from ki
    except SystemError as exc:
        wrapped = exc
    assert isinstance(interrupt_in(wrapped), KeyboardInterrupt)
    assert interrupt_in(ValueError("x")) is None
    with pytest.raises(KeyboardInterrupt):
        with keyboard_interrupts():
            raise wrapped
    with pytest.raises(ValueError):
        with keyboard_interrupts():
            raise ValueError("other errors pass unchanged")


def test_wrapped_interrupt_during_run_exits_130_with_incomplete(fake, tmp_path, capsys):
    try:
        raise KeyboardInterrupt
    except KeyboardInterrupt as ki:
        wrapped = SystemError("returned a result with an exception set")
        wrapped.__cause__ = ki
    Behaviour.run_raises = wrapped
    assert run_fake(tmp_path) == 130
    err = capsys.readouterr().err.strip()
    path = one_run(tmp_path)
    assert path.name.endswith(".incomplete") and err.endswith(f"partial output kept in {path}")
    assert {"config.json", "provenance.json", "INCOMPLETE"} <= {p.name for p in path.iterdir()}
    assert (path / "INCOMPLETE").read_text().strip().splitlines()[-1].startswith("reason: interrupted")
    assert json.loads((path / "config.json").read_text()) == {"n": 3, "seed": 0}


def test_arrays_saved_before_the_summary(fake, tmp_path, capsys):
    """An exception or Ctrl-C in summary() leaves result.npz in the .incomplete directory."""
    Behaviour.summary_raises = RuntimeError("summary bug")
    with pytest.raises(RuntimeError):
        run_fake(tmp_path)
    path = one_run(tmp_path)
    with np.load(path / "result.npz") as npz:
        np.testing.assert_array_equal(npz["values"], [0.0, 1.0, 2.0])
    assert (path / "INCOMPLETE").read_text().strip().endswith("reason: RuntimeError: summary bug")
    Behaviour.summary_raises = KeyboardInterrupt()
    assert run_fake(tmp_path) == 130
    (second,) = [p for p in (tmp_path / "fake").iterdir() if p != path]
    assert second.name.endswith(".incomplete") and (second / "result.npz").stat().st_size > 0
    assert store.run_status(second)[0] == "incomplete"


def _wait_for_partial(root: Path, proc, timeout=TIMEOUT_S):
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if (root / "song2000").is_dir() and any(p.name.endswith(".partial") for p in (root / "song2000").iterdir()):
            return
        if proc.poll() is not None:
            raise AssertionError(f"plab ended early: {proc.communicate()}")
        time.sleep(0.05)
    raise AssertionError("the run directory never appeared")


@pytest.mark.parametrize("sig, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143),
                                         pytest.param(signal.SIGHUP, 129, marks=pytest.mark.slow)])
def test_signal_during_a_native_run(tmp_path, sig, status):
    proc = subprocess.Popen([sys.executable, "-m", "protocols.cli", *LONG_RUN, "--out", str(tmp_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_partial(tmp_path, proc)
        time.sleep(1.0)   # into the compiled loop
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=TIMEOUT_S)
    finally:
        proc.kill()
    assert proc.returncode == status, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    (path,) = list((tmp_path / "song2000").iterdir())
    assert path.name.endswith(".incomplete")
    assert {"config.json", "provenance.json", "INCOMPLETE"} <= {p.name for p in path.iterdir()}
    reason = (path / "INCOMPLETE").read_text().strip().splitlines()[-1]
    assert reason == f"reason: interrupted by {sig.name} (signal {int(sig)})"
    assert json.loads((path / "provenance.json").read_text())["protocol"] == "song2000"


def test_sigkill_leftover_shown_and_cleaned(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "protocols.cli", *LONG_RUN, "--out", str(tmp_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _wait_for_partial(tmp_path, proc)
        proc.kill()
        proc.wait(timeout=TIMEOUT_S)
    finally:
        proc.kill()
    (partial,) = list((tmp_path / "song2000").iterdir())
    assert partial.name.startswith(".") and store.leftovers(tmp_path) == [partial]
    show = subprocess.run([sys.executable, "-m", "protocols.cli", "show", str(tmp_path / "song2000")],
                          capture_output=True, text=True, timeout=TIMEOUT_S)
    assert show.returncode == 2                       # no complete run to show ...
    assert f"plab clean {tmp_path / 'song2000'}" in show.stderr and str(partial) in show.stderr   # ... but the leftover is named
    assert cli.main(["clean", str(tmp_path)]) == 0
    assert not partial.exists()


def test_partial_of_a_live_run_is_not_cleaned(tmp_path):
    pending = store.begin_run("p", Config(), root=tmp_path)   # owned by this (live) process
    assert store.leftovers(tmp_path) == [] and store.clean(tmp_path) == []
    assert pending.partial.exists()
    (pending.partial / store.OWNER_FILE).write_text(json.dumps({"hostname": os.uname().nodename, "pid": 2 ** 22 + 7}))
    assert store.leftovers(tmp_path) == [pending.partial]   # a pid that does not exist


def test_interrupt_during_startup_prints_no_traceback(tmp_path):
    """SIGINT while plab imports its modules: one line, status 130."""
    code = ("import os, signal, sys\n"
            "sys.argv = ['plab', 'list']\n"
            "import protocols.cli as c\n"
            "import protocols.listing\n"     # imported by the handler: interrupt inside it instead
            "orig = protocols.listing.cmd_list\n"
            "protocols.listing.cmd_list = lambda args: os.kill(os.getpid(), signal.SIGINT) or orig(args)\n"
            "sys.exit(c.main())\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=TIMEOUT_S,
                          cwd=Path(__file__).resolve().parents[2])
    assert proc.returncode == 130 and "Traceback" not in proc.stderr
    assert proc.stderr.strip() == "plab: interrupted by SIGINT (signal 2)"


def test_ascii_terminal_does_not_fail_after_saving(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "protocols.cli", "run", "stdp_window", "--small", "--no-figures",
                           "--out", str(tmp_path)], capture_output=True, timeout=TIMEOUT_S,
                          env={**os.environ, "PYTHONIOENCODING": "ascii"})
    assert proc.returncode == 0, proc.stderr
    assert b"saved: " in proc.stdout and proc.stdout.isascii()


# --- damaged runs -----------------------------------------------------------------------------------

@pytest.fixture
def saved(fake, tmp_path, capsys):
    assert run_fake(tmp_path) == 0
    capsys.readouterr()
    return one_run(tmp_path)


def _damage(path: Path, how: str):
    if how == "empty npz":
        (path / "result.npz").write_bytes(b"")
    elif how == "truncated npz":
        data = (path / "result.npz").read_bytes()
        (path / "result.npz").write_bytes(data[: len(data) // 2])
    elif how == "missing npz":
        (path / "result.npz").unlink()
    elif how == "config list":
        (path / "config.json").write_text("[1, 2]")
    elif how == "bad json":
        (path / "provenance.json").write_text("{not json")
    elif how == "missing key":
        np.savez(path / "result.npz", other=np.zeros(2))


@pytest.mark.parametrize("how", ["empty npz", "truncated npz", "missing npz", "config list", "bad json"])
def test_show_and_plot_of_a_damaged_run(saved, how, capsys):
    _damage(saved, how)
    assert cli.main(["show", str(saved)]) == 2
    out, err = capsys.readouterr()
    assert "\nstatus:     DAMAGED (" in out and "status:     complete" not in out
    assert err.startswith("plab: error: ") and err.count("\n") == 1
    assert cli.main(["plot", str(saved)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("plab: error: ") and err.count("\n") == 1


def test_plot_of_a_run_missing_an_array_is_one_line(saved, capsys):
    _damage(saved, "missing key")
    assert cli.main(["plot", str(saved)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"plab: error: cannot plot {saved}") and err.count("\n") == 1


def test_show_protocol_dir_falls_back_to_newest_readable_run(saved, tmp_path, capsys):
    newer = saved.with_name(saved.name + "-9")
    newer.mkdir()
    (newer / "config.json").write_text("{}")   # result.npz and provenance.json missing
    assert cli.main(["show", str(tmp_path / "fake")]) == 0
    out = capsys.readouterr().out
    assert f"run:        {saved}\n" in out and "status:     complete" in out


def test_provenance_never_imports_a_module(saved, capsys):
    prov = json.loads((saved / "provenance.json").read_text())
    prov.update(result_class="this:s", config_class="antigravity:x")
    (saved / "provenance.json").write_text(json.dumps(prov))
    sys.modules.pop("this", None)
    assert cli.main(["plot", str(saved)]) == 0
    assert "this" not in sys.modules and "antigravity" not in sys.modules
    assert "Zen of Python" not in capsys.readouterr().out
    import protocols

    assert type(protocols.load(saved)) is Result


# --- unwritable paths ---------------------------------------------------------------------------------

@pytest.mark.parametrize("where", ["file", "under a file", "read-only"])
def test_unwritable_out_is_one_line(fake, tmp_path, where, capsys):
    target = tmp_path / "blocker"
    if where == "read-only":
        target.mkdir()
        target.chmod(0o500)
        if os.access(target, os.W_OK):   # root ignores the mode
            pytest.skip("running as root: a read-only directory is writable")
    else:
        target.write_text("x")
    out = target / "sub" if where == "under a file" else target
    assert cli.main(["run", "fake", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("plab: error: cannot write results under --out") and err.count("\n") == 1


def test_config_that_is_a_directory_is_one_line(fake, tmp_path, capsys):
    assert cli.main(["run", "fake", "--config", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("plab: error: --config") and "Is a directory" in err and err.count("\n") == 1


def test_clean_incomplete_and_show_of_a_partial_directory(fake, tmp_path, capsys):
    Behaviour.run_raises = RuntimeError("boom")
    with pytest.raises(RuntimeError):
        run_fake(tmp_path)
    incomplete = one_run(tmp_path)
    assert cli.main(["show", str(incomplete)]) == 0                     # incomplete is a known, true state
    out = capsys.readouterr().out
    assert "status:     INCOMPLETE" in out and "failure:    reason: RuntimeError: boom" in out
    stale = tmp_path / "fake" / ".20000101-000000.partial"
    stale.mkdir()
    (stale / "config.json").write_text("{}")
    assert cli.main(["show", str(stale)]) == 2                          # a .partial directory is never complete
    assert "status:     DAMAGED" in capsys.readouterr().out
    assert cli.main(["clean", str(tmp_path)]) == 0
    assert not stale.exists() and incomplete.exists()                   # only leftovers by default
    assert capsys.readouterr().out.strip() == f"removed: {stale}"
    assert cli.main(["clean", str(tmp_path), "--incomplete"]) == 0
    assert not incomplete.exists()
    assert capsys.readouterr().out.strip() == f"removed: {incomplete}"


@pytest.mark.parametrize("assignment, key", [("v_th=nan", "v_th"), ("v_rest=inf", "v_rest"),
                                             ("delay_max_ms=nan", "delay_max_ms")])
def test_non_finite_config_values_refused_before_running(tmp_path, capsys, assignment, key):
    """Issue 13 item 3: `plab run izhikevich2007 --small --set v_th=nan` exited 0 and stored NaN."""
    assert cli.main(["run", "izhikevich2007", "--small", "--set", assignment, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"plab: error: {key} must be a finite number") and err.count("\n") == 1
    assert not (tmp_path / "izhikevich2007").exists()
