"""Files the results store writes atomically (summaries, sweep.json) get the user's usual
permissions, 0666 minus the umask, not mkstemp's 0600."""
import os
import stat

import pytest

from protocols import store


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_write_text_atomic_keeps_the_umask(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        path = store.write_text_atomic(tmp_path / "summary.txt", "Δw ok\n")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == mode
    assert path.read_text(encoding="utf-8") == "Δw ok\n"
    assert [p.name for p in tmp_path.iterdir()] == ["summary.txt"]
