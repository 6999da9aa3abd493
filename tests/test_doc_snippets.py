"""What README.md and docs/ show runs as shown, and no file of the repository names a file it lacks.

Fenced blocks are read by their info string (the word after the opening fence):

- ```python      runs in a fresh interpreter: a temporary working directory, the repository on
                 PYTHONPATH, MPLBACKEND=Agg, a time limit. ```python partial``` marks a
                 deliberately incomplete snippet, which is skipped.
- ```sh runnable every line is a `plab` command (a `#` starts a comment), run in order in one
                 temporary working directory per page, so results/ lands there and a later
                 `plab show results/NAME` sees the earlier run. Pages put only cheap commands
                 (`--small`, `--quick`, listings) in such blocks; other command blocks are
                 parsed (tests/test_docs.py) but not run.
- ```toml file=NAME (any language) is written to NAME in that directory before the page's
                 runnable commands run, so a page can show the file its commands read.
"""
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
SNIPPET_TIMEOUT_S = 90      # imports and Numba cache loading on a busy 2-core machine
COMMAND_TIMEOUT_S = 600   # a generous bound: a first run may compile the Numba loop on a busy machine
PLAB = "import sys; from protocols.cli import main; sys.exit(main())"  # setup.cfg's console script


class Block(NamedTuple):
    page: Path
    line: int          # 1-based line of the opening fence
    info: tuple        # the words of the info string
    text: str


def fenced_blocks(page: Path):
    """Every fenced block of a Markdown page, with its info string split into words."""
    lines = page.read_text(encoding="utf-8").splitlines()
    opening = None
    body = []
    for number, line in enumerate(lines, 1):
        fence = re.match(r"^ {0,3}(`{3,})(.*)$", line)
        if opening is None:
            if fence:
                opening, info, body = (number, fence.group(1)), tuple(fence.group(2).split()), []
        elif fence and fence.group(1).startswith(opening[1]) and not fence.group(2).strip():
            yield Block(page, opening[0], info, "\n".join(body) + "\n")
            opening = None
        else:
            body.append(line)
    assert opening is None, f"{page.relative_to(ROOT)}:{opening[0]}: unclosed code fence"


def _blocks(pred):
    return [b for page in PAGES for b in fenced_blocks(page) if pred(b)]


def _id(block):
    return f"{block.page.relative_to(ROOT)}:{block.line}"


def _is_python(block):
    return bool(block.info) and block.info[0] in ("python", "py") and "partial" not in block.info[1:]


def _is_runnable_shell(block):
    return bool(block.info) and block.info[0] in ("sh", "console", "bash") and "runnable" in block.info[1:]


PYTHON = _blocks(_is_python)
SHELL_PAGES = sorted({b.page for b in _blocks(_is_runnable_shell)})


def environment():
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONHASHSEED="0")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
    return env


def _fail(what, proc):
    return f"{what} failed (exit {proc.returncode})\n--- stdout\n{proc.stdout[-3000:]}\n--- stderr\n{proc.stderr[-5000:]}"


@pytest.mark.parametrize("block", PYTHON, ids=_id)
def test_python_snippet_runs(block, tmp_path):
    script = tmp_path / "snippet.py"
    script.write_text(block.text, encoding="utf-8")
    proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=environment(), capture_output=True,
                          text=True, timeout=SNIPPET_TIMEOUT_S)
    assert proc.returncode == 0, _fail(f"the snippet at {_id(block)}", proc)


def runnable_commands(page):
    """The `plab` argument lists of a page's runnable blocks, and the files its blocks declare."""
    commands, files = [], {}
    for block in fenced_blocks(page):
        for word in block.info[1:]:
            if word.startswith("file="):
                files[word[len("file="):]] = block.text
        if _is_runnable_shell(block):
            for line in block.text.splitlines():
                words = shlex.split(line, comments=True)
                if words and words[0] == "$":
                    words = words[1:]
                if words:
                    assert words[0] == "plab", f"{_id(block)}: runnable blocks hold plab commands, got {line!r}"
                    commands.append(words[1:])
    return commands, files


def test_the_marker_is_used():
    """At least the getting-started page runs its commands (the marker did not silently vanish)."""
    assert ROOT / "docs" / "getting-started.md" in SHELL_PAGES


@pytest.mark.slow  # each command is a fresh interpreter that imports numba/matplotlib: ~5-20 s each
@pytest.mark.parametrize("page", SHELL_PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_runnable_commands_run(page, tmp_path):
    commands, files = runnable_commands(page)
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    for argv in commands:
        proc = subprocess.run([sys.executable, "-c", PLAB, *argv], cwd=tmp_path, env=environment(),
                              capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S)
        assert proc.returncode == 0, _fail(f"{page.relative_to(ROOT)}: plab {shlex.join(argv)}", proc)
    assert not (ROOT / "results" / ".partial").exists()


# --- references to files -----------------------------------------------------------------------

TOP = ("README.md", "Makefile", "setup.cfg", "pyproject.toml")
DIRS = ("analysis", "benchmarks", "docs", "examples", "models", "plasticity", "protocols", "tests", ".ci")
SKIP_DIRS = {".git", ".venv", "results", "__pycache__", ".pytest_cache", "plasticity_lab.egg-info", "build", "dist"}
TEXT_SUFFIXES = {".py", ".md", ".cfg", ".toml", ".txt", ".json", ".sh", ""}
# a path into one of the package's directories, ending in a file name with an extension
PATH_RE = re.compile(r"(?<![\w./-])((?:%s)/[\w./-]*\w\.(?:py|md|json|csv|txt|toml|cfg|npz|h5|yml|yaml))(?![\w/])"
                     % "|".join(re.escape(d) for d in DIRS))
LINK_RE = re.compile(r"\]\(([^)#:\s]+)(?:#[^)]*)?\)")
PLACEHOLDER_RE = re.compile(r"NAME|FILE|<|\{|\*|\.\.\.|XXX|foo")
# files of other projects that the text names as theirs
EXTERNAL = {"examples/synapses/STDP.py": "Brian2's documentation example synapses/STDP",
            "models/spiking_vgg.py": "OTTT-SNN's (pkuxmq/OTTT-SNN) model file"}
# a line that says the file does not exist yet is not a broken reference
ANNOUNCED_RE = re.compile(r"planned|exists? yet", re.I)


def repository_files():
    for path in sorted(ROOT.rglob("*")):
        rel = path.relative_to(ROOT)
        if any(part in SKIP_DIRS or part.startswith(".") and part not in (".ci",) for part in rel.parts[:-1]):
            continue
        if path.is_file() and (path.suffix in TEXT_SUFFIXES or path.name in TOP) and path.stat().st_size < 2_000_000:
            yield path


def missing_references(path: Path):
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return []
    missing = []
    bases = (ROOT, path.parent, ROOT / "docs")  # docs pages name each other relative to docs/
    for line in text.splitlines():
        if ANNOUNCED_RE.search(line):
            continue
        for target in PATH_RE.findall(line):
            if not (PLACEHOLDER_RE.search(target) or target in EXTERNAL or any((b / target).exists() for b in bases)):
                missing.append(target)
    if path.suffix == ".md":
        for target in LINK_RE.findall(text):
            if not PLACEHOLDER_RE.search(target) and not (path.parent / target).exists():
                missing.append(f"link {target}")
    return missing


def test_path_finder_sees_paths():
    """The scanner itself: it finds these and ignores placeholders and outputs."""
    text = "see examples/replay_rule.py, {d}/x.md and `benchmarks/RESULTS.md`; results/a/x.txt, myexamples/a.py"
    found = PATH_RE.findall(text.format(d="docs"))
    assert found == ["examples/replay_rule.py", "docs" + "/x.md", "benchmarks/RESULTS.md"]


def test_no_file_names_a_file_the_repository_lacks():
    broken = {}
    for path in repository_files():
        missing = missing_references(path)
        if missing:
            broken[str(path.relative_to(ROOT))] = sorted(set(missing))
    assert not broken, f"files name paths that do not exist: {broken}"
