"""The repository stands alone: no tracked file points to files outside it.

The design is docs/design.md and the reference data ship in analysis/data/; nothing may refer
to a design page or reference folder kept outside the repository.
"""
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# built by concatenation so that this file does not contain the strings it looks for
_S = "sha" + "red"
FORBIDDEN = ("../" + _S, "/work/" + _S, _S + "/DESIGN", _S + "/reference")


def tracked_files() -> list[str]:
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout (git ls-files failed)")
    return [name for name in out.decode("utf-8").split("\0") if name]


def text_of(path: Path):
    """The file's text, or None for binary (NUL byte or not UTF-8) and missing files."""
    try:
        data = path.read_bytes()
    except OSError:     # tracked but deleted in the work tree
        return None
    if b"\0" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def test_no_tracked_file_refers_outside_the_repository():
    names = tracked_files()
    assert names
    offending = []
    for name in names:
        text = text_of(ROOT / name)
        if text is None:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            for needle in FORBIDDEN:
                if needle in line:
                    offending.append(f"{name}:{number}: {needle}")
    assert offending == []
