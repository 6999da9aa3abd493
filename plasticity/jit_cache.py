"""Keep Numba's on-disk cache honest across source edits.

Numba invalidates a cached function only when *its own* source file changes, but a cached
caller also contains the compiled code of the kernels it calls (``models.simulate`` holds
``plasticity.stdp.on_pre``). After an edit to a kernel, the stale caller would silently run
the old kernel. :func:`refresh` hashes every source file a package's compiled code can
depend on and deletes the package's Numba cache files when the hash changes.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

STAMP = "numba-sources.sha256"


def sources_digest(directories) -> str:
    """SHA-256 over the names and contents of the ``*.py`` files in ``directories``."""
    h = hashlib.sha256()
    for directory in directories:
        for path in sorted(Path(directory).glob("*.py")):
            h.update(path.name.encode())
            h.update(path.read_bytes())
    return h.hexdigest()


def refresh(package_dir, depends_on=()) -> bool:
    """Delete ``package_dir``'s Numba cache if its sources or ``depends_on`` dirs changed.

    Returns True when the cache was cleared. Never raises for file-system problems (a
    read-only install simply keeps Numba's own behaviour).
    """
    package_dir = Path(package_dir)
    cache = package_dir / "__pycache__"
    digest = sources_digest([package_dir, *map(Path, depends_on)])
    stamp = cache / STAMP
    try:
        if stamp.exists() and stamp.read_text() == digest:
            return False
        if cache.is_dir():
            for pattern in ("*.nbi", "*.nbc"):
                for path in cache.glob(pattern):
                    path.unlink(missing_ok=True)
        cache.mkdir(exist_ok=True)
        stamp.write_text(digest)
    except OSError:
        return False
    return True
