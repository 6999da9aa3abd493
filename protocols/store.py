"""Saving and loading protocol runs: ``results/NAME/<timestamp>/``.

A run directory holds ``config.json``, ``result.npz``, ``provenance.json``, one PNG per
figure and ``summary.txt``. It is written as ``.<timestamp>.partial`` and renamed to
``<timestamp>`` only when every file is written; if anything fails, it becomes
``<timestamp>.incomplete`` with an ``INCOMPLETE`` file holding the traceback, so a
directory named like a timestamp is always complete.

:func:`save_run` writes a finished result in one go. :func:`begin_run` reserves the
directory (with ``config.json``) before a protocol runs and returns a :class:`PendingRun`
to :meth:`~PendingRun.finish`, :meth:`~PendingRun.fail` or :meth:`~PendingRun.discard`;
the CLI uses it so that a crash or Ctrl-C during the run leaves ``.incomplete`` evidence.
:func:`load_run` reads the files back; :func:`load_result` (``protocols.load``) rebuilds
the protocol's Result object. ``provenance.json`` records the protocol name and the
Result/Config classes (``module:QualName``) for that.
"""
from __future__ import annotations

import dataclasses
import enum
import importlib.metadata
import json
import os
import platform
import re
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import zipfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np

PACKAGES = ("plasticity-lab", "numpy", "scipy", "numba", "brian2", "matplotlib")
FIGURE_DPI = 120
GIT_TIMEOUT_S = 5.0
OWNER_FILE = ".owner"   # in a .partial directory: {"hostname", "pid"} of the process writing it
RUN_FILES = ("config.json", "provenance.json", "result.npz")
_SKIPPED_FIELDS = ("config", "provenance")


def save_run(name: str, config, result, figures: Mapping, summary: str,
             root: str | os.PathLike = "results") -> Path:
    """Write one run to ``root/name/<YYYYmmdd-HHMMSS[-N]>/`` and return that path.

    Parameters
    ----------
    name : str
        Protocol name (a directory name: letters, digits, ``_ . -``).
    config : dataclass instance or mapping
        Written to ``config.json`` via :func:`dataclasses.asdict`; NumPy values become lists.
    result : dataclass instance
        Its NumPy-array and scalar fields (except ``config`` and ``provenance``) go to
        ``result.npz``; its ``provenance`` dict, if any, is merged into ``provenance.json``.
    figures : mapping of str to matplotlib Figure, or a callable returning one
        Each saved as ``<name>.png`` at 120 dpi. A callable is called after the data
        files are written, so a plotting error still leaves them in ``.incomplete``.
    summary : str
        Written to ``summary.txt``.
    """
    pending = begin_run(name, config, root=root)
    return pending.finish(result, figures, summary)


class PendingRun:
    """A run directory being written: ``.<stamp>.partial`` until :meth:`finish` renames it.

    Made by :func:`begin_run` before the protocol runs, so that a run that fails or is
    interrupted (Ctrl-C) leaves ``<stamp>.incomplete`` with its ``config.json``,
    ``provenance.json`` and the traceback in ``INCOMPLETE`` (:meth:`fail`), or nothing at
    all when it was refused before any work (:meth:`discard`).
    """

    def __init__(self, name: str, config, final: Path, partial: Path):
        self.name, self.config, self.final, self.partial = name, config, final, partial
        self.closed = self.data_saved = False
        self.incomplete: Path | None = None

    def save_data(self, result, defaults: Mapping | None = None) -> None:
        """Write ``provenance.json`` and ``result.npz`` (the arrays come first: a summary or a
        figure that fails afterwards leaves them in ``.incomplete``); on any error, :meth:`fail`.
        ``defaults`` fills provenance keys the result's own provenance does not set (the
        CLI gives the backend and the wall time it measured)."""
        self._check_open()
        if self.data_saved:
            return
        partial, config = self.partial, self.config
        try:
            arrays, skipped = result_arrays(result)
            prov = provenance(config, result, skipped)
            for key, value in (defaults or {}).items():
                if prov.get(key) is None:
                    prov[key] = _jsonable(value)
            prov.update(self._names(result))
            _write_json(partial / "provenance.json", prov)
            with open(partial / "result.npz", "wb") as fh:
                np.savez_compressed(fh, **arrays)
        except BaseException as exc:
            self.fail(traceback.format_exc(), failure_reason(exc))
            raise
        self.data_saved = True

    def finish(self, result, figures, summary, defaults: Mapping | None = None) -> Path:
        """Write result.npz and provenance.json (:meth:`save_data`, unless done already), then
        figures and summary.txt, then rename to the final name (see :func:`save_run` for the
        arguments; ``summary`` may be a callable returning the text, called after the data
        are saved); on any error, :meth:`fail`."""
        self.save_data(result, defaults)
        partial = self.partial
        try:
            if callable(summary):
                summary = summary()
            if callable(figures):
                figures = figures()
            for fig_name, fig in figures.items():
                fig.savefig(partial / f"{_check_name('figure name', fig_name)}.png", dpi=FIGURE_DPI)
            (partial / "summary.txt").write_text(summary.rstrip("\n") + "\n", encoding="utf-8")
            (partial / OWNER_FILE).unlink(missing_ok=True)
            os.rename(partial, self.final)
        except BaseException as exc:
            self.fail(traceback.format_exc(), failure_reason(exc))
            raise
        self.closed = True
        return self.final

    def fail(self, trace: str, reason: str | None = None) -> Path | None:
        """Mark the run incomplete: ``<stamp>.incomplete`` with ``INCOMPLETE`` = ``trace`` and,
        if given, a last line ``reason: ...`` (the last line is what ``plab show`` prints).
        Returns the directory, or None if the run was already closed (:attr:`incomplete`
        keeps the directory of the first call) or could not be renamed."""
        if self.closed:
            return None
        self.closed = True
        if reason:
            trace = f"{trace.rstrip()}\nreason: {reason}\n"
        try:
            (self.partial / OWNER_FILE).unlink(missing_ok=True)
        except OSError:
            pass
        if not (self.partial / "provenance.json").exists():
            try:
                prov = provenance(self.config)
                prov.update(self._names(None))
                _write_json(self.partial / "provenance.json", prov)
            except Exception:  # noqa: BLE001 - keep the original error
                pass
        self.incomplete = _mark_incomplete(self.partial, self.final, trace)
        return self.incomplete

    def discard(self) -> None:
        """Remove the partial directory (the run was refused before doing any work)."""
        if self.closed:
            return
        self.closed = True
        import shutil

        shutil.rmtree(self.partial, ignore_errors=True)

    def _names(self, result) -> dict:
        names = {"protocol": self.name}
        if result is not None:
            names["result_class"] = _qualified_name(type(result))
        if dataclasses.is_dataclass(self.config) and not isinstance(self.config, type):
            names["config_class"] = _qualified_name(type(self.config))
        return names

    def _check_open(self):
        if self.closed:
            raise RuntimeError(f"run directory {self.final} is already finished or failed")


def begin_run(name: str, config, root: str | os.PathLike = "results") -> PendingRun:
    """Reserve ``root/name/.<stamp>.partial`` and write ``config.json`` into it."""
    _check_name("name", name)
    run_dir = Path(root) / name
    run_dir.mkdir(parents=True, exist_ok=True)
    final, partial = _reserve(run_dir, _timestamp())
    pending = PendingRun(name, config, final, partial)
    try:
        _write_json(partial / OWNER_FILE, {"hostname": socket.gethostname(), "pid": os.getpid()})
        _write_json(partial / "config.json", config_dict(config))
    except BaseException as exc:
        pending.fail(traceback.format_exc(), failure_reason(exc))
        raise
    return pending


def failure_reason(exc: BaseException) -> str:
    """One line for INCOMPLETE: the signal of an interrupt (also one that compiled code
    wrapped in a SystemError), else the exception's type and message."""
    from plasticity.errors import interrupt_in, one_line

    interrupt = interrupt_in(exc)
    if interrupt is not None:
        return str(interrupt) or "interrupted (KeyboardInterrupt)"
    return f"{type(exc).__name__}: {one_line(exc)}"


def load_run(path: str | os.PathLike) -> tuple[dict, dict, dict]:
    """``(config, arrays, provenance)`` of a complete run directory written by :func:`save_run`.

    Arrays come back exactly as saved; fields saved as scalars come back as NumPy scalars.
    A missing file raises FileNotFoundError; an incomplete or damaged directory (a file
    unreadable, truncated, or JSON that is not an object) :class:`DamagedRun` (a ValueError),
    naming the file.
    """
    path = Path(path)
    if (path / "INCOMPLETE").exists():
        raise DamagedRun(f"run directory {path} is incomplete (see {path / 'INCOMPLETE'})")
    for required in RUN_FILES:
        if not (path / required).is_file():
            raise FileNotFoundError(f"{path} is not a complete run directory: {required} is missing")
    config = read_json_object(path / "config.json")
    prov = read_json_object(path / "provenance.json")
    try:
        with np.load(path / "result.npz", allow_pickle=False) as npz:
            arrays = {key: (npz[key][()] if npz[key].ndim == 0 else npz[key]) for key in npz.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        raise DamagedRun(f"{path / 'result.npz'} is unreadable (damaged or truncated: "
                         f"{type(exc).__name__}: {exc})") from None
    return config, arrays, prov


class DamagedRun(ValueError):
    """A run directory that is incomplete, or whose files are missing, unreadable or malformed."""


def read_json_object(path: Path) -> dict:
    """The JSON object in ``path``; DamagedRun if the file is unreadable, not JSON or not an object."""
    try:
        value = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DamagedRun(f"{path} is unreadable ({type(exc).__name__}: {exc})") from None
    if not isinstance(value, dict):
        raise DamagedRun(f"{path} holds a JSON {type(value).__name__}, not an object")
    return value


def run_status(path: str | os.PathLike) -> tuple[str, str]:
    """``(status, reason)`` of a run directory: ``"complete"``, ``"incomplete"`` (a run that
    failed or was interrupted; reason = the last line of INCOMPLETE) or ``"damaged"`` (reason =
    what is wrong). Complete means every file :func:`load_run` needs is there and readable."""
    path = Path(path)
    if path.name.startswith(".") and path.name.endswith(".partial"):
        return "damaged", (f"{path} is the hidden directory of a run still writing or killed "
                           f"(remove with `plab clean {path.parent}`)")
    if (path / "INCOMPLETE").exists():
        try:
            lines = (path / "INCOMPLETE").read_text(encoding="utf-8", errors="replace").strip().splitlines()
        except OSError as exc:
            lines = [f"INCOMPLETE unreadable: {exc}"]
        return "incomplete", (lines[-1] if lines else "(no reason recorded)")
    try:
        load_run(path)
    except (DamagedRun, FileNotFoundError) as exc:
        return "damaged", str(exc)
    return "complete", ""


def load_result(path: str | os.PathLike, module=None):
    """The protocol's ``Result`` object of a run directory, rebuilt without re-running.

    ``path`` is a run directory or a protocol directory (its newest complete run).

    The Result and Config classes are the ones recorded in ``provenance.json``
    (``result_class``/``config_class`` as ``module:QualName``), else those of the protocol
    module registered under the recorded ``protocol`` name or, for older runs, under the
    name of the run's parent directory (``results/NAME/<timestamp>``); ``module`` overrides
    all of these. The Config is rebuilt from ``config.json`` (:func:`build_config`); the
    Result from its dataclass fields: ``config``, ``provenance`` (the whole
    provenance.json), arrays from ``result.npz`` by name, and each field's default for
    anything not saved. A protocol whose Result needs more may define
    ``Result.from_arrays(config, arrays, provenance)``.
    """
    import typing

    path = resolve_run(path)
    config_json, arrays, prov = load_run(path)
    result_cls, config_cls = _result_classes(path, prov, module)
    try:
        hints = typing.get_type_hints(result_cls)
    except Exception:  # noqa: BLE001 - unresolvable annotations: no type conversions
        hints = {}
    if config_cls is None:
        config_cls = hints.get("config")
    if not (isinstance(config_cls, type) and dataclasses.is_dataclass(config_cls)):
        raise ValueError(f"cannot tell the Config class of {path}")
    try:
        config = build_config(config_cls, config_json)
    except (TypeError, ValueError) as exc:
        raise DamagedRun(f"{path / 'config.json'} does not make a valid {config_cls.__qualname__}: "
                         f"{' '.join(str(exc).split())}") from None
    if hasattr(result_cls, "from_arrays"):
        return result_cls.from_arrays(config, arrays, prov)
    kwargs = {}
    for field in dataclasses.fields(result_cls):
        if not field.init:
            continue
        if field.name == "config":
            kwargs["config"] = config
        elif field.name == "provenance":
            kwargs["provenance"] = prov
        elif field.name in arrays:
            kwargs[field.name] = _from_saved(arrays[field.name], hints.get(field.name))
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            kwargs[field.name] = None  # a field that was not saved (listed in provenance)
    return result_cls(**kwargs)


def resolve_run(path: str | os.PathLike) -> Path:
    """A run directory: ``path`` itself (complete or not), or the newest complete, readable run
    under a protocol directory such as ``results/song2000`` (run names sort by time; damaged
    newer runs are skipped)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such run directory: {path}")
    if not path.is_dir():
        raise DamagedRun(f"{path} is a file, not a run directory")
    if any((path / name).exists() for name in RUN_FILES + ("INCOMPLETE",)):
        return path
    runs = sorted((p for p in path.iterdir() if p.is_dir() and not p.name.startswith(".")), reverse=True)
    for run in runs:
        if run_status(run)[0] == "complete":
            return run
    raise FileNotFoundError(f"{path} is not a run directory (no config.json) and holds no complete, "
                            f"readable run")


def leftovers(path: str | os.PathLike) -> list[Path]:
    """Hidden ``.<stamp>.partial`` directories under ``path`` (a run, protocol or results
    directory, searched two levels deep) that no live process on this host is writing: what
    a killed run (SIGKILL, power loss) leaves. A partial directory whose owner is another
    host, or a live process here, is not listed."""
    path = Path(path)
    found = []
    for parent in [path, *(p for p in _subdirs(path))]:
        for child in _subdirs(parent):
            if child.name.startswith(".") and child.name.endswith(".partial") and not _owner_alive(child):
                found.append(child)
    return sorted(set(found))


def clean(path: str | os.PathLike, incomplete: bool = False) -> list[Path]:
    """Remove :func:`leftovers` (and, with ``incomplete=True``, ``*.incomplete`` run
    directories) under ``path``; return what was removed."""
    import shutil

    path = Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"no such results directory: {path}")
    doomed = leftovers(path)
    if incomplete:
        doomed += sorted(p for parent in [path, *_subdirs(path)] for p in _subdirs(parent)
                         if ".incomplete" in p.name and (p / "INCOMPLETE").exists())
    for p in doomed:
        shutil.rmtree(p)
    return doomed


def _subdirs(path: Path) -> list[Path]:
    try:
        return [p for p in path.iterdir() if p.is_dir() and not p.is_symlink()]
    except OSError:
        return []


def _owner_alive(partial: Path) -> bool:
    """Whether the process named in ``partial/.owner`` still runs (True for another host's,
    so that a shared results directory is never cleaned under a running job)."""
    try:
        owner = read_json_object(partial / OWNER_FILE)
        pid, host = int(owner["pid"]), owner["hostname"]
    except (DamagedRun, KeyError, TypeError, ValueError):
        return False  # no owner record: finished writing long ago, or killed before writing it
    if host != socket.gethostname():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def build_config(config_cls: type, values: Mapping):
    """``config_cls(**values)`` from JSON values: lists become tuples for tuple fields,
    keys the class no longer has are dropped with a warning, missing keys take defaults."""
    import typing
    import warnings

    try:
        hints = typing.get_type_hints(config_cls)
    except Exception:  # noqa: BLE001
        hints = {}
    fields = {field.name: field for field in dataclasses.fields(config_cls) if field.init}
    unknown = [key for key in values if key not in fields]
    if unknown:
        warnings.warn(f"config.json keys not in {config_cls.__qualname__} (dropped): {', '.join(unknown)}",
                      stacklevel=2)
    kwargs = {}
    for key, value in values.items():
        if key in fields:
            kwargs[key] = _to_tuples(value) if _is_tuple_hint(hints.get(key)) else value
    return config_cls(**kwargs)


def _is_tuple_hint(hint) -> bool:
    import types
    import typing

    origin = typing.get_origin(hint)
    if hint is tuple or origin is tuple:
        return True
    if origin is typing.Union or origin is getattr(types, "UnionType", None):
        return any(_is_tuple_hint(arg) for arg in typing.get_args(hint))
    return False


def _to_tuples(value):
    return tuple(_to_tuples(v) for v in value) if isinstance(value, list) else value


def _from_saved(value, hint):
    """A 0-d saved value back to the field's Python type (float, int, bool, str)."""
    if isinstance(value, np.generic) and hint in (float, int, bool, str):
        return hint(value.item())
    return value


def _result_classes(path: Path, prov: Mapping, module) -> tuple[type, type | None]:
    """(Result class, Config class or None) for a saved run; see :func:`load_result`.

    Classes are looked up in protocol modules of the registry only: a ``result_class`` in
    ``provenance.json`` selects a class inside the registered module, never a module to
    import (opening someone else's results must not run code they named)."""
    if module is None:
        module = _protocol_module(path, prov)
    result_cls = _registered_class(module, prov.get("result_class")) or getattr(module, "Result", None)
    if not (isinstance(result_cls, type) and dataclasses.is_dataclass(result_cls)):
        raise DamagedRun(f"protocol module {module.__name__} has no Result dataclass")
    config_cls = _registered_class(module, prov.get("config_class")) or getattr(module, "Config", None)
    return result_cls, config_cls


def _registered_class(module, qualified):
    """The dataclass ``QualName`` of ``module:QualName`` when ``module`` is the given,
    already imported protocol module; else None."""
    if not (isinstance(qualified, str) and qualified.partition(":")[0] == module.__name__):
        return None
    obj = module
    for part in qualified.partition(":")[2].split("."):
        obj = getattr(obj, part, None)
    return obj if isinstance(obj, type) and dataclasses.is_dataclass(obj) else None


def _protocol_module(path: Path, prov: Mapping):
    from . import registry

    name = prov.get("protocol")
    if not (isinstance(name, str) and name in registry.PROTOCOLS):
        name = path.resolve().parent.name
    if name not in registry.PROTOCOLS:
        raise DamagedRun(f"cannot tell which protocol wrote {path}: provenance.json names none and "
                         f"the parent directory {name!r} is not a protocol ({', '.join(registry.names())})")
    return registry.get(name)


def _qualified_name(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def file_mode() -> int:
    """The permissions an ordinary ``open()`` gives a new file: 0666 minus the umask
    (``tempfile.mkstemp`` alone makes 0600)."""
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file in the same directory and
    :func:`os.replace`, so readers see the old file or the whole new one, never a part; the
    file gets the user's usual permissions (:func:`file_mode`)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, file_mode())
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def config_dict(config) -> dict:
    """The config as a JSON-ready dict (dataclass or mapping; NumPy values as lists)."""
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        return _jsonable(dataclasses.asdict(config))
    if isinstance(config, Mapping):
        return _jsonable(dict(config))
    raise TypeError(f"config must be a dataclass instance or a mapping, got {type(config).__name__}")


def result_arrays(result) -> tuple[dict[str, np.ndarray], list[str]]:
    """The result's array and scalar fields by name, and the names of fields left out.

    Left out: ``config``, ``provenance``, ``None`` and anything that is neither a
    non-object NumPy array nor a scalar (bool, int, float, complex, str, NumPy scalar).
    """
    if not (dataclasses.is_dataclass(result) and not isinstance(result, type)):
        raise TypeError(f"result must be a dataclass instance, got {type(result).__name__}")
    arrays, skipped = {}, []
    for field in dataclasses.fields(result):
        if field.name in _SKIPPED_FIELDS:
            continue
        value = getattr(result, field.name)
        if isinstance(value, np.ndarray) and value.dtype != object:
            arrays[field.name] = value
        elif isinstance(value, (bool, int, float, complex, str, np.generic)):
            arrays[field.name] = np.asarray(value)
        elif value is not None:
            skipped.append(field.name)
    return arrays, skipped


def provenance(config=None, result=None, skipped_fields=()) -> dict:
    """Where and with what a run was made: versions, git commit, host, seed, and the
    result's own ``provenance`` dict (wall time, backend, ...) merged in last."""
    prov = {
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "python": platform.python_version(),
        "versions": {pkg: _version(pkg) for pkg in PACKAGES},
        "git_commit": _git("rev-parse", "HEAD"),
        "git_dirty": _git_dirty(),
        "hostname": socket.gethostname(),
        "platform": platform.platform(),
        "argv": list(sys.argv),
        "seed": _seed(config),
    }
    if skipped_fields:
        prov["result_fields_not_saved"] = list(skipped_fields)
    extra = getattr(result, "provenance", None)
    if isinstance(extra, Mapping):
        prov.update(_jsonable(dict(extra)))
    return prov


def _timestamp() -> str:
    return time.strftime("%Y%m%d-%H%M%S")


def _reserve(run_dir: Path, stamp: str) -> tuple[Path, Path]:
    """Create ``.<stamp[-N]>.partial`` for the first N whose final and incomplete names are free."""
    for n in range(10_000):
        label = stamp if n == 0 else f"{stamp}-{n}"
        final = run_dir / label
        if final.exists() or (run_dir / f"{label}.incomplete").exists():
            continue
        partial = run_dir / f".{label}.partial"
        try:
            partial.mkdir()
        except FileExistsError:
            continue
        if final.exists():  # another process finished this name between the checks
            partial.rmdir()
            continue
        return final, partial
    raise FileExistsError(f"no free run directory name for {stamp} in {run_dir}")


def _mark_incomplete(partial: Path, final: Path, trace: str) -> Path | None:
    """Rename the partial directory to ``<final>.incomplete`` and record why."""
    target = final.with_name(final.name + ".incomplete")
    n = 1
    while target.exists():
        target = final.with_name(f"{final.name}.incomplete-{n}")
        n += 1
    try:
        os.rename(partial, target)
        (target / "INCOMPLETE").write_text(trace, encoding="utf-8")
    except OSError:
        return None  # keep the original exception; the hidden .partial directory stays as evidence
    return target


def _write_json(path: Path, obj) -> None:
    path.write_text(json.dumps(obj, indent=2, sort_keys=False) + "\n", encoding="utf-8")


def _jsonable(obj):
    """Plain JSON types for dataclass-dict contents: NumPy arrays and scalars, tuples,
    sets, paths and enums are converted; anything else unknown becomes its ``repr``."""
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    if isinstance(obj, float):
        return obj  # NaN/inf are written as JSON's NaN/Infinity, which json.loads reads back
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return _jsonable(obj.item())
    if isinstance(obj, Mapping):
        return {str(key): _jsonable(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(value) for value in obj]
    if isinstance(obj, (set, frozenset)):
        return sorted((_jsonable(value) for value in obj), key=repr)
    if isinstance(obj, enum.Enum):
        return _jsonable(obj.value)
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if isinstance(obj, complex):
        return [obj.real, obj.imag]
    return repr(obj)


def _check_name(what: str, name) -> str:
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", name):
        raise ValueError(f"{what} must be letters, digits, '_', '.' or '-' "
                         f"(not starting with '.' or '-'), got {name!r}")
    return name


def _seed(config):
    if isinstance(config, Mapping):
        return _jsonable(config.get("seed"))
    return _jsonable(getattr(config, "seed", None))


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def _git(*args: str) -> str | None:
    """Output of ``git ARGS`` run in this package's directory, or None on any failure."""
    try:
        out = subprocess.run(["git", *args], cwd=Path(__file__).resolve().parent,
                             capture_output=True, text=True, timeout=GIT_TIMEOUT_S, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def _git_dirty() -> bool | None:
    status = _git("status", "--porcelain", "--untracked-files=no")
    return None if status is None else bool(status)
