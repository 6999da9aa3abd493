"""Keep Numba's on-disk cache honest across source edits, and clear no more than needed.

Numba invalidates a cached function only when *its own* source file changes, but a cached
caller also contains the compiled code of the kernels it calls (``models.simulate`` holds
``plasticity.traces.current_coupling``). After an edit to a kernel, the stale caller would
silently run the old kernel. :func:`refresh` therefore gives each module of a package a
*Numba dependency set*: the module itself plus, transitively, the project modules it imports
at module level (``from .x import``, ``from plasticity.x import``, ``import models.x``, ``from
. import x``) that contain Numba code (their source mentions ``njit`` or ``numba``). The import
chain is followed through modules without Numba code (a name they re-export may be a kernel),
but their own sources count for nobody: they have no compiled code and no cache files. Imports
inside functions are not followed (they cannot feed a compiled function's globals).

One stamp per package (``__pycache__/numba-deps.json``) maps each module's file stem to the
digest of its dependency set's sources; :func:`refresh` deletes the cache files
(``<stem>.<qualname>-<line>.py311.nbi`` / ``.nbc``) only of the modules whose digest changed or
that no longer exist. A comment added to ``plasticity/optim.py`` (no Numba code) deletes
nothing; an edit of ``plasticity/traces.py`` deletes the caches of ``traces`` and of every
module that imports it, directly or not.

Limit: a compile-time constant imported by a kernel from a module *without* Numba code is not
tracked (``plasticity.contract``, whose ``M_*`` columns kernels read, mentions ``njit`` and so
counts).

:func:`module_graph` and :meth:`ModuleGraph.digest` are also what ``models.loopgen`` names its
generated loops by.
"""
from __future__ import annotations

import ast
import hashlib
import json
import os
from pathlib import Path

STAMP = "numba-deps.json"
_OLD_STAMP = "numba-sources.sha256"          # the whole-package digest of earlier versions
CACHE_SUFFIXES = (".nbi", ".nbc")


def sources_digest(directories) -> str:
    """SHA-256 over the names and contents of the ``*.py`` files in ``directories``."""
    h = hashlib.sha256()
    for directory in directories:
        for path in sorted(Path(directory).glob("*.py")):
            h.update(path.name.encode())
            h.update(path.read_bytes())
    return h.hexdigest()


def has_numba_code(source: bytes) -> bool:
    return b"njit" in source or b"numba" in source


class ModuleGraph:
    """The modules of some packages (directories), their sources and module-level imports.

    ``modules`` maps a dotted name (``"plasticity.stdp"``) to ``(path, source bytes)``;
    ``imports`` maps it to the set of project modules it imports at module level.
    """

    def __init__(self, package_dirs, overrides=None):
        overrides = {Path(p).resolve(): (t.encode() if isinstance(t, str) else t)
                     for p, t in (overrides or {}).items()}
        self.packages = {}
        self.modules = {}
        for directory in package_dirs:
            directory = Path(directory)
            self.packages[directory.name] = directory
            for path in sorted(directory.glob("*.py")):
                resolved = path.resolve()
                source = overrides[resolved] if resolved in overrides else path.read_bytes()
                self.modules[f"{directory.name}.{path.stem}"] = (path, source)
        self.imports = {name: self._imports_of(name.split(".")[0], source)
                        for name, (_, source) in self.modules.items()}
        self._digests = {}

    def _imports_of(self, package, source: bytes) -> set:
        """Project modules imported at module level by a module of ``package`` (None: a file
        outside the packages, whose relative imports are not followed)."""
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError):
            return set()
        found = set()

        def add(dotted):
            if dotted in self.modules:
                found.add(dotted)
            elif dotted in self.packages and f"{dotted}.__init__" in self.modules:
                found.add(f"{dotted}.__init__")

        def visit(node):
            for child in ast.iter_child_nodes(node):
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                    continue
                if isinstance(child, ast.Import):
                    for alias in child.names:
                        add(alias.name)
                elif isinstance(child, ast.ImportFrom):
                    if child.level == 1 and package is not None:
                        base = f"{package}.{child.module}" if child.module else package
                    elif child.level == 0 and child.module:
                        base = child.module
                    else:
                        continue
                    if base in self.modules:
                        found.add(base)
                        continue
                    for alias in child.names:          # from pkg import module, or a name of pkg
                        add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in self.modules else base)
                else:
                    visit(child)

        visit(tree)
        return found

    def _closure(self, roots) -> set:
        seen, stack = set(), list(roots)
        while stack:
            name = stack.pop()
            for dep in self.imports.get(name, ()):
                if dep not in seen:
                    seen.add(dep)
                    stack.append(dep)
        return seen

    def _hash(self, own: bytes, deps) -> str:
        h = hashlib.sha256(own)
        for dep in sorted(deps):
            source = self.modules[dep][1]
            if has_numba_code(source):
                h.update(b"\0" + dep.encode() + b"\0" + source)
        return h.hexdigest()

    def digest(self, name: str) -> str:
        """Digest of module ``name``'s Numba dependency set (its source and those of the Numba
        modules it imports, transitively)."""
        if name not in self._digests:
            deps = self._closure([name]) - {name}
            self._digests[name] = self._hash(self.modules[name][1], deps)
        return self._digests[name]

    def file_digest(self, path) -> str:
        """Like :meth:`digest` for any source file, inside these packages or not (a family's
        kernels can live in a test file): its source and the Numba modules it imports."""
        path = Path(path)
        for name, (p, _) in self.modules.items():
            if p.resolve() == path.resolve():
                return self.digest(name)
        source = path.read_bytes()
        package = path.parent.name if path.parent.name in self.packages else None
        imports = self._imports_of(package, source)
        deps = self._closure(imports) | imports
        return self._hash(source, deps)

    def stems(self, package: str) -> dict:
        """``{file stem: digest}`` of the modules of ``package``."""
        return {name.split(".", 1)[1]: self.digest(name) for name in self.modules
                if name.split(".", 1)[0] == package}


def module_graph(package_dirs, overrides=None) -> ModuleGraph:
    """The :class:`ModuleGraph` of ``package_dirs``; ``overrides`` ``{path: source}`` replaces
    files' contents (to ask "what if this file changed" without editing it)."""
    return ModuleGraph(package_dirs, overrides)


def _cache_files(cache: Path):
    return [p for p in cache.iterdir() if p.suffix in CACHE_SUFFIXES and p.is_file()]


def refresh(package_dir, depends_on=()) -> bool:
    """Delete the Numba cache files of ``package_dir``'s modules whose dependency set changed.

    ``depends_on`` are the other package directories its modules import from. Returns True
    when some module's digest changed (or the stamp was missing or unreadable: then the whole
    package's cache is cleared). Never raises for file-system problems (a read-only install
    simply keeps Numba's own behaviour).
    """
    package_dir = Path(package_dir)
    cache = package_dir / "__pycache__"
    stamp = cache / STAMP
    try:
        digests = module_graph([package_dir, *map(Path, depends_on)]).stems(package_dir.name)
        try:
            old = json.loads(stamp.read_text())
            if not (isinstance(old, dict) and all(isinstance(v, str) for v in old.values())):
                old = None
        except (OSError, ValueError):
            old = None
        if old == digests:
            return False
        if cache.is_dir():
            for path in _cache_files(cache):
                stem = path.name.split(".", 1)[0]
                if old is None or stem not in digests or old.get(stem) != digests[stem]:
                    path.unlink(missing_ok=True)
            (cache / _OLD_STAMP).unlink(missing_ok=True)
        cache.mkdir(exist_ok=True)
        tmp = stamp.with_name(f"{STAMP}.tmp{os.getpid()}")
        tmp.write_text(json.dumps(digests, indent=0, sort_keys=True))
        tmp.replace(stamp)
    except OSError:
        return False
    return True
