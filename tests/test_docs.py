"""docs/ stays true: every `plab` command shown parses, its protocol exists, its --set keys are
Config fields, and the conventions page carries the update order of models/simulate.py."""
import dataclasses
import re
import shlex
from pathlib import Path

import pytest

import models.simulate
from protocols import cli, registry

DOCS = Path(__file__).resolve().parents[1] / "docs"
PAGES = sorted(DOCS.rglob("*.md"))


def shown_commands():
    for page in PAGES:
        in_code = False
        for line in page.read_text(encoding="utf-8").splitlines():
            if line.startswith("```"):
                in_code = not in_code
            elif in_code and line.startswith("plab "):
                yield page.name, shlex.split(line.split("#")[0])[1:]


def test_the_pages_exist():
    names = {p.relative_to(DOCS).as_posix() for p in PAGES}
    assert {"getting-started.md", "conventions.md", "writing-a-rule.md", "protocols/stdp_window.md",
            "protocols/song2000.md"} <= names


@pytest.mark.parametrize("page, argv", list(shown_commands()))
def test_shown_commands_parse_and_name_real_keys(page, argv):
    args = cli._parser().parse_args(argv)  # SystemExit (a failure) if the command does not parse
    if args.command == "run":
        fields = {f.name for f in dataclasses.fields(registry.get(args.name).Config)}
        for item in args.set or ():
            assert item.partition("=")[0] in fields, f"{page}: {item}"


def test_every_protocol_has_a_page():
    missing = [name for name in registry.names() if not (DOCS / "protocols" / f"{name}.md").exists()]
    assert not missing, (f"registered protocols without a docs page: {missing}; write docs/protocols/NAME.md "
                         "(what the paper did, how to run it, what the figure shows)")


def test_conventions_copy_the_simulate_docstring():
    source = " ".join(models.simulate.__doc__.split())
    page = (DOCS / "conventions.md").read_text(encoding="utf-8")
    steps = re.findall(r"^\d\. \*\*(.+?)\*\*", page, flags=re.M)
    assert steps == ["record", "integrate", "threshold and reset", "propagate", "postsynaptic plasticity events",
                     "readouts", "modulators", "per-step rule hooks"]
    for step in steps:
        assert f"**{step}**" in source
    assert "potentiating pair with dt = 0" in source and "potentiating pair with Δt = 0" in " ".join(page.split())


def test_relative_links_resolve():
    broken = []
    for page in PAGES:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
            if not (page.parent / target).exists():
                broken.append(f"{page.relative_to(DOCS)} -> {target}")
    assert not broken


def test_analysis_page_names_every_public_function():
    import analysis

    page = (DOCS / "analysis.md").read_text(encoding="utf-8")
    missing = [name for name in analysis.__all__ if f"`{name}" not in page]
    assert not missing
