"""The Numba cache is cleared when any source a package's compiled code depends on changes."""
from plasticity.jit_cache import STAMP, refresh, sources_digest


def test_cache_cleared_when_a_dependency_changes(tmp_path):
    pkg, dep = tmp_path / "pkg", tmp_path / "dep"
    (pkg / "__pycache__").mkdir(parents=True)
    dep.mkdir()
    (pkg / "a.py").write_text("x = 1\n")
    (dep / "kernel.py").write_text("y = 1\n")
    cached = pkg / "__pycache__" / "a.f-1.py311.nbi"
    cached.write_text("index")
    assert refresh(pkg, [dep]) is True          # no stamp yet: clear and stamp
    assert not cached.exists()
    cached.write_text("index")
    assert refresh(pkg, [dep]) is False         # nothing changed: the cache stays
    assert cached.exists()
    (dep / "kernel.py").write_text("y = 2\n")   # a kernel the cached code inlines changed
    assert refresh(pkg, [dep]) is True
    assert not cached.exists()
    assert (pkg / "__pycache__" / STAMP).read_text() == sources_digest([pkg, dep])
