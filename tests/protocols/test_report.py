"""plab report: table of distances to published data, figures, atomic replacement, failures as rows."""
import json
import sys
import types

import pytest

from plasticity import ParameterError
from protocols import cli, registry, report
from protocols import sjostrom_frequency as sf

FAST = ["sjostrom_frequency", "bi_poo"]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("results")
    return root, report.build_report(out=root, names=FAST)


def test_reference_loader_returns_the_cited_values():
    d = report.load_reference("sjostrom2001_frequency")
    assert d["dw_plus10ms"][-1] == 0.56 and d["dw_minus10ms"][-1] == 0.75
    d["dw_plus10ms"][-1] = 99.0                      # a copy: the cache is not modified
    assert report.load_reference("sjostrom2001_frequency")["dw_plus10ms"][-1] == 0.56
    assert report.load_reference("pfister_gerstner2006_triplet")["sets"]["visual_cortex/all_to_all/minimal"][
        "a3_plus"] == 0.0065
    with pytest.raises(KeyError, match="no entry"):
        report.load_reference("nope")


def test_report_files_and_table(built):
    root, path = built
    assert path == root / "report" / "report.md"
    text = path.read_text()
    assert "| protocol | variant | rule | measure | distance | paper | tolerance | result |" in text
    rows = json.loads((path.parent / "report.json").read_text())["rows"]
    assert [r["protocol"] for r in rows] == ["sjostrom_frequency"] * 4 + ["bi_poo"] * 3
    # the table carries the protocol's own numbers
    want = sf.compare(sf.run(sf.Config.small()))
    assert [r["distance"] for r in rows[:4]] == pytest.approx([w["distance"] for w in want])
    assert rows[0]["paper"] == "fit error not available offline"
    assert all(r["passed"] for r in rows)
    assert report.counts(path) == {"PASS": 7, "FAIL": 0, "n/a": 0}
    assert "| sjostrom_frequency |  | pair STDP |" in text and "PASS |" in text
    assert (path.parent / "figures" / "sjostrom_frequency.png").stat().st_size > 10_000
    assert "![bi_poo.png](figures/bi_poo.png)" in text
    assert not [p for p in root.iterdir() if p.name.startswith(".")]      # no staging left


def test_failing_protocol_is_a_failed_row_and_rerun_replaces(built, monkeypatch):
    root, _ = built
    fake = types.ModuleType("fake_failing_protocol")
    fake.__doc__ = "A protocol that fails."

    class Config:
        @classmethod
        def small(cls):
            return cls()

    def run(config):
        raise RuntimeError("boom 42")

    fake.Config, fake.run, fake.plot, fake.summary = Config, run, lambda r: {}, lambda r: ""
    monkeypatch.setitem(sys.modules, "fake_failing_protocol", fake)
    monkeypatch.setitem(registry.PROTOCOLS, "fake_fail", "fake_failing_protocol")
    path = report.build_report(out=root, names=["fake_fail"])
    rows = json.loads((path.parent / "report.json").read_text())["rows"]
    assert len(rows) == 1 and rows[0]["passed"] is False and "boom 42" in rows[0]["note"]
    assert report.counts(path) == {"PASS": 0, "FAIL": 1, "n/a": 0}
    assert not (path.parent / "figures" / "bi_poo.png").exists()   # the old report was replaced whole
    assert "Traceback" in path.read_text()


def test_write_failure_keeps_previous_report(tmp_path, monkeypatch):
    path = report.build_report(out=tmp_path, names=["sjostrom_frequency"])
    before = path.read_text()

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(report, "markdown", broken)
    with pytest.raises(OSError, match="disk full"):
        report.build_report(out=tmp_path, names=["sjostrom_frequency"])
    assert path.read_text() == before
    bad = tmp_path / "report.incomplete"
    assert "disk full" in (bad / "INCOMPLETE").read_text()


def test_cli_report(tmp_path, capsys):
    assert cli.main(["report", "--only", "sjostrom_frequency", "--out", str(tmp_path), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "4 passed, 0 failed" in out and (tmp_path / "report" / "report.md").exists()
    assert cli.main(["report", "--only", "no_such_protocol", "--out", str(tmp_path)]) == 2
    assert "unknown protocol" in capsys.readouterr().err
    with pytest.raises(ParameterError):
        report.build_report(out=tmp_path, names=["no_such_protocol"])
