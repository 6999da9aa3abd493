"""The Numba cache is cleared for exactly the modules whose compiled code can depend on an edit."""
import json
from pathlib import Path

import pytest

from plasticity.jit_cache import STAMP, module_graph, refresh

ROOT = Path(__file__).resolve().parents[1]

# A tiny fake project: ``fakepkg`` (kernels) and ``fakemodels`` (a loop importing them).
# traces <- stdp <- sim <- fakemodels.loop (Numba code); other (Numba, imports nothing);
# optim (no Numba code, imports traces); __init__ (no Numba code, re-exports).
FAKEPKG = {
    "__init__.py": "from .stdp import on_pre\n",
    "traces.py": "from numba import njit\n\n@njit(cache=True)\ndef decay(x):\n    return x * 0.5\n",
    "stdp.py": "from numba import njit\nfrom .traces import decay\n\n@njit(cache=True)\n"
               "def on_pre(x):\n    return decay(x) + 1\n",
    "sim.py": "import numba\nfrom fakepkg.stdp import on_pre\n\n@numba.njit(cache=True)\n"
              "def run(x):\n    return on_pre(x)\n",
    "other.py": "from numba import njit\n\n@njit(cache=True)\ndef f(x):\n    return x\n",
    "optim.py": "from .traces import decay\n\ndef adam(x):\n    return x\n",
}
FAKEMODELS = {
    "__init__.py": "",
    "loop.py": "from numba import njit\nimport fakepkg.sim\nfrom fakepkg.sim import run\n\n"
               "@njit(cache=True)\ndef loop(x):\n    return run(x)\n",
    "helpers.py": "from fakepkg import optim\n\ndef g():\n    return 1\n",
}
NUMBA_MODULES = {"fakepkg": ["traces", "stdp", "sim", "other"], "fakemodels": ["loop"]}


def _cache_names(stem):
    # Numba's own naming: <stem>.<qualname>-<line>.py311.nbi / .<n>.nbc
    return [f"{stem}.f-4.py311.nbi", f"{stem}.f-4.py311.1.nbc", f"{stem}.Cls.g-9.py311.nbi"]


def _fill_caches(pkg):
    for stem in NUMBA_MODULES[pkg.name]:
        for name in _cache_names(stem):
            (pkg / "__pycache__" / name).write_text("cached")


def _cached_stems(pkg):
    return {p.name.split(".")[0] for p in (pkg / "__pycache__").iterdir()
            if p.suffix in (".nbi", ".nbc")}


@pytest.fixture
def project(tmp_path):
    dirs = {}
    for name, files in (("fakepkg", FAKEPKG), ("fakemodels", FAKEMODELS)):
        d = tmp_path / name
        (d / "__pycache__").mkdir(parents=True)
        for fname, text in files.items():
            (d / fname).write_text(text)
        dirs[name] = d
    pkg, models = dirs["fakepkg"], dirs["fakemodels"]

    def refresh_all():
        return refresh(pkg), refresh(models, [pkg])

    assert refresh_all() == (True, True)            # no stamp yet: stamped
    _fill_caches(pkg)
    _fill_caches(models)
    assert refresh_all() == (False, False)          # nothing changed: every cache stays
    assert _cached_stems(pkg) == set(NUMBA_MODULES["fakepkg"])
    assert _cached_stems(models) == {"loop"}
    return pkg, models, refresh_all


def test_editing_a_module_without_numba_code_deletes_nothing(project):
    pkg, models, refresh_all = project
    (pkg / "optim.py").write_text(FAKEPKG["optim.py"] + "# a comment\n")
    (models / "helpers.py").write_text(FAKEMODELS["helpers.py"] + "x = 2\n")
    (pkg / "__init__.py").write_text(FAKEPKG["__init__.py"] + "# re-exports\n")
    refresh_all()
    assert _cached_stems(pkg) == set(NUMBA_MODULES["fakepkg"])
    assert _cached_stems(models) == {"loop"}
    assert refresh_all() == (False, False)


def test_editing_a_kernel_deletes_it_and_its_importers_only(project):
    pkg, models, refresh_all = project
    (pkg / "traces.py").write_text(FAKEPKG["traces.py"].replace("0.5", "0.25"))
    assert refresh_all() == (True, True)
    # traces, and stdp -> sim -> fakemodels.loop which import it transitively; not other
    assert _cached_stems(pkg) == {"other"}
    assert _cached_stems(models) == set()
    _fill_caches(pkg)
    _fill_caches(models)
    assert refresh_all() == (False, False)
    (pkg / "sim.py").write_text(FAKEPKG["sim.py"] + "# edited\n")
    refresh_all()
    assert _cached_stems(pkg) == {"traces", "stdp", "other"}
    assert _cached_stems(models) == set()


def test_removed_module_loses_its_caches(project):
    pkg, models, refresh_all = project
    (pkg / "other.py").unlink()
    assert refresh_all() == (True, False)
    assert _cached_stems(pkg) == {"traces", "stdp", "sim"}


@pytest.mark.parametrize("stamp_text", ["not json", "[1, 2]", '{"sim": 3}', ""])
def test_corrupt_or_missing_stamp_clears_that_package(project, stamp_text):
    pkg, models, refresh_all = project
    stamp = pkg / "__pycache__" / STAMP
    if stamp_text:
        stamp.write_text(stamp_text)
    else:
        stamp.unlink()
    assert refresh_all() == (True, False)
    assert _cached_stems(pkg) == set()
    assert _cached_stems(models) == {"loop"}         # the other package is untouched
    assert set(json.loads(stamp.read_text())) == {Path(n).stem for n in FAKEPKG}
    assert refresh_all() == (False, False)          # the stamp is rewritten


def test_refresh_never_raises_for_file_system_problems(tmp_path):
    refresh(tmp_path / "missing")                   # no package there: no error
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__pycache__").write_text("a file where the directory should be")
    (tmp_path / "pkg" / "a.py").write_text("from numba import njit\n")
    assert refresh(tmp_path / "pkg") is False


def _real_graph(overrides=None):
    return module_graph([ROOT / "models", ROOT / "plasticity"], overrides)


def test_loop_name_ignores_modules_without_numba_code_but_not_kernels():
    from models.loopgen import loop_name
    from plasticity.stdp import FAMILY

    families = (FAMILY,)
    base = loop_name(families, _real_graph())
    assert base == loop_name(families)              # the default graph is the real packages
    optim = ROOT / "plasticity" / "optim.py"
    assert "njit" not in optim.read_text() and "numba" not in optim.read_text()
    edited_optim = _real_graph({optim: optim.read_text() + "# a comment\n"})
    assert loop_name(families, edited_optim) == base
    stdp = ROOT / "plasticity" / "stdp.py"
    edited_stdp = _real_graph({stdp: stdp.read_text() + "# a comment\n"})
    assert loop_name(families, edited_stdp) != base
    traces = ROOT / "plasticity" / "traces.py"    # imported by stdp and by models.simulate
    assert loop_name(families, _real_graph({traces: traces.read_text() + "\n"})) != base
    simulate = ROOT / "models" / "simulate.py"
    assert loop_name(families, _real_graph({simulate: simulate.read_text() + "\n"})) != base


def test_generated_loops_are_pruned_to_the_most_recently_used(tmp_path):
    import os

    from models.loopgen import prune

    cache = tmp_path / "__pycache__"
    cache.mkdir()
    for n in range(10):
        stem = f"plab_loop_{n:020d}"
        (tmp_path / f"{stem}.py").write_text("# loop\n")
        (cache / f"{stem}.run_steps-10.py311.nbi").write_bytes(b"i")
        (cache / f"{stem}.run_steps-10.py311.1.nbc").write_bytes(b"c")
        os.utime(tmp_path / f"{stem}.py", (1000.0 + n, 1000.0 + n))     # loop n used at time 1000 + n
    (tmp_path / "other.py").write_text("")
    deleted = prune(tmp_path, 4, keep="plab_loop_00000000000000000000")
    assert sorted(deleted) == [f"plab_loop_{n:020d}" for n in range(1, 6)]     # the oldest, except the kept one
    left = sorted(p.stem for p in tmp_path.glob("plab_loop_*.py"))
    assert left == [f"plab_loop_{n:020d}" for n in (0, 6, 7, 8, 9)]
    assert sorted({p.name.split(".")[0] for p in cache.iterdir()}) == left        # their caches went with them
    assert (tmp_path / "other.py").exists()
    assert prune(tmp_path, 4) == ["plab_loop_00000000000000000000"]


def test_a_second_network_of_the_process_finds_its_loop_without_hashing_sources(monkeypatch):
    """loop_for remembers the loop of a (families, stages) pair: the next network with the
    same families gets the same compiled function without reading and hashing the sources
    again (3-5 ms of path resolution per network), while other stages get their own loop."""
    import models.loopgen as loopgen
    from plasticity.stdp import FAMILY

    stages = ("lif_current",)
    first = loopgen.loop_for((FAMILY,), stages)

    def no_hashing(*args, **kwargs):
        raise AssertionError("loop_name called again")

    monkeypatch.setattr(loopgen, "loop_name", no_hashing)
    assert loopgen.loop_for((FAMILY,), stages) is first
    with pytest.raises(AssertionError, match="loop_name called again"):
        loopgen.loop_for((FAMILY,), stages + ("record_state",))
