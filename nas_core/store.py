"""Results store: CSV tables with provenance JSON, keyed by parameters and code version.

A result lives at ``<root>/<experiment>/<name>.csv`` with ``<name>.json`` beside
it. The JSON holds the provenance (parameters, seed, versions, git commit,
machine, time) plus the key (short sha256 of experiment, canonical JSON
parameters and ``nas_core.__version__``), the sha256 of the CSV bytes and the
command that regenerates it. ``load`` refuses a CSV whose bytes or key do not
match. Writes are atomic (temporary file in the same folder, fsync, rename).

``AppendLog`` is an append-only CSV of finished rows for resumable work;
``save_checkpoint``/``load_checkpoint`` keep training state (tensors and plain
values only, loaded with ``weights_only=True``). Nothing here pickles results.
"""
from __future__ import annotations

import contextlib
import csv
import datetime as _dt
import hashlib
import io
import json
import math
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from . import __version__, settings
from .settings import CACHED_ONLY_ENV  # noqa: F401  (the name the CLI and tests set)

REPO = Path(__file__).resolve().parents[1]


class StoreError(RuntimeError):
    """A stored result is missing, corrupt or was made for other parameters."""


class ResultMissing(LookupError):
    """A result is not stored and ``$NAS_CORE_CACHED_ONLY`` forbids computing it."""


def require_compute(what: str, command: str | None = None, *, cached_only: bool | None = None) -> None:
    """Raise ``ResultMissing`` for ``what`` when only stored results may be used (``cached_only``,
    default the settings' ``$NAS_CORE_CACHED_ONLY``)."""
    if settings.current().cached_only if cached_only is None else cached_only:
        hint = f"; compute it with: {command}" if command else ""
        raise ResultMissing(f"{what} is not stored under the results root{hint}")


def stored_or_none(fn: Callable, /, **kwargs):
    """``fn(**kwargs)``'s stored result, or None where it is not stored: nothing is computed
    (``fn`` runs as if only stored results were allowed: the settings say so inside this call,
    the environment that worker processes and other threads see stays as it is)."""
    with settings.overriding(cached_only=True):
        try:
            return fn(**kwargs)
        except ResultMissing:
            return None


@contextlib.contextmanager
def one_torch_thread():
    """Within: torch computes on one thread. Results are computed this way everywhere (a
    notebook, a worker process, the ground-truth builder): with two threads the same seed
    trains to other numbers, since reductions split between threads add up in another order."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


# ---------------------------------------------------------------- canonical JSON and keys

def _plain(o):
    # numpy scalars/arrays, paths and tuples become JSON values; anything else is an error
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    if isinstance(o, (set, frozenset)):
        return sorted(o)
    raise TypeError(f"parameter value {o!r} of type {type(o).__name__} is not JSON-serialisable")


def canonical_json(obj: Any) -> str:
    """Sorted keys, no whitespace, no NaN: equal parameters give equal strings."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=_plain, allow_nan=False)


def canonical(obj: Any) -> Any:
    """``obj`` as it reads back from JSON (tuples -> lists, numpy -> Python)."""
    return json.loads(canonical_json(obj))


def result_key(experiment: str, params: Mapping[str, Any], version: str = __version__) -> str:
    blob = canonical_json({"experiment": experiment, "params": params, "version": version})
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


# ---------------------------------------------------------------- provenance

def result_name(space: str, profile: str, tag: str | None = None, *, epochs=None, seed=None,
                params_hash: str | None = None) -> str:
    """The one naming scheme of a space's result files and their checkpoints:
    ``{space}_{profile}[_{tag}][_e{epochs}][_s{seed}][_{params_hash}]``, leaving out what is None.
    Supernets: ``tag`` the strategy (``study.supernet_result_name``); supernets on pruned spaces:
    ``size{N}`` (``pruning.on_space_name``); a training checkpoint: ``params_hash`` ``train{hash}``;
    ground-truth tables: ``tag`` the kind, nothing after (``groundtruth.ground_truth_path``). The
    names are the stored results' file names: changing this renames them (tests/test_result_keys.py)."""
    parts = [space, profile] + ([tag] if tag else [])
    parts += [f"e{epochs}"] if epochs is not None else []
    parts += [f"s{seed}"] if seed is not None else []
    return "_".join(parts + ([params_hash] if params_hash is not None else []))


def _git_info(repo: Path = REPO) -> dict | None:
    """Commit and dirtiness of the checkout the package runs from (None outside git).
    Untracked files do not count as dirty: new result files would otherwise."""
    def git(*args):
        return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=10)

    try:
        head = git("rev-parse", "HEAD")
        if head.returncode != 0:
            top = git("rev-parse", "--show-toplevel")
            return {"commit": None, "dirty": True} if top.returncode == 0 else None  # repo, no commit yet
        dirty = git("status", "--porcelain", "--untracked-files=no")
        return {"commit": head.stdout.strip(), "dirty": bool(dirty.stdout.strip())}
    except (OSError, subprocess.SubprocessError):
        return None


def _cpu_model() -> str | None:
    """The CPU's model name (Linux), so wall times from different machines can be told apart."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            return next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), None)
    except OSError:
        return None


def provenance(params: Mapping[str, Any], seed: int | None = None, wall_time_s: float | None = None,
               extra: Mapping[str, Any] | None = None) -> dict:
    """Everything needed to say how a result was made."""
    import torch  # lazy: AppendLog users need not pay for it

    return {
        "params": canonical(params),
        "seed": seed,
        "nas_core_version": __version__,
        "git": _git_info(),
        "versions": {"python": platform.python_version(), "torch": torch.__version__,
                     "numpy": np.__version__, "pandas": pd.__version__},
        "machine": {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
                    "cpu_model": _cpu_model(), "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
                    "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads()},
        "timestamp_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "wall_time_s": None if wall_time_s is None else round(float(wall_time_s), 3),
        "extra": canonical(dict(extra)) if extra else {},
    }


EXTRA_ATTR = "provenance_extra"  # ``df.attrs[EXTRA_ATTR]``: a dict that get_or_compute stores in the sidecar


# ---------------------------------------------------------------- atomic writes

_UMASK = os.umask(0o022)
os.umask(_UMASK)  # read once: files get the mode a plain open() would give them, not mkstemp's 0600
_HOST = platform.node().replace(".", "_") or "host"


def _temp_prefix(path: Path, pid: int | None = None) -> str:
    # names the writer, so that one killed mid-write (SIGKILL) can be told from one writing now
    return f".{path.name}.{_HOST}.{os.getpid() if pid is None else pid}."


def _remove_stale_temps(path: Path) -> None:
    """Temporary files of ``path`` left by writers on this host that no longer run."""
    head = f".{path.name}.{_HOST}."
    for tmp in path.parent.glob(f"{glob_escape(head)}*.tmp"):
        pid = tmp.name[len(head):].split(".", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _running(int(pid)):
            tmp.unlink(missing_ok=True)


def glob_escape(text: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in text)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def atomic_write(path, write: Callable[[Any], None]) -> None:
    """Call ``write(f)`` on a temporary binary file beside ``path``, fsync, then rename
    over ``path``: readers see the old file or the whole new one, never a part. The file
    gets the umask's mode; temporary files of killed writers of ``path`` are removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temps(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=_temp_prefix(path), suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), 0o666 & ~_UMASK)
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def atomic_write_bytes(path, data: bytes) -> None:
    atomic_write(path, lambda f: f.write(data))


def _fsync_dir(d: Path) -> None:
    # makes the rename itself durable; not possible on every platform
    try:
        fd = os.open(d, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ---------------------------------------------------------------- the store

def _csv_bytes(df: pd.DataFrame) -> bytes:
    if not isinstance(df.index, pd.RangeIndex) or df.index.start != 0 or df.index.step != 1:
        df = df.reset_index()  # keep a meaningful index as columns rather than lose it
    return df.to_csv(index=False, lineterminator="\n").encode("utf-8")


# pandas < 3 needs "round_trip" for exact floats; pandas 3 parses exactly and deprecates the option
_EXACT = {"float_precision": "round_trip"} if int(pd.__version__.split(".")[0]) < 3 else {}


def _read_csv_bytes(b: bytes) -> pd.DataFrame:
    if not b.strip():
        return pd.DataFrame()
    return pd.read_csv(io.BytesIO(b), **_EXACT)


class ResultStore:
    """Tables keyed by experiment, parameters and code version; see the module docstring."""

    def __init__(self, root=None, version: str = __version__, *, cached_only: bool | None = None):
        """``root`` default the settings' results root; ``cached_only`` (refuse to compute a result
        that is not stored) default the settings' at each call, so that a lookup can turn it on."""
        self.root = settings.current().results_root if root is None else Path(root)
        self.version = version
        self._cached_only = cached_only

    @property
    def cached_only(self) -> bool:
        return settings.current().cached_only if self._cached_only is None else self._cached_only

    def key(self, experiment: str, params: Mapping[str, Any]) -> str:
        return result_key(experiment, params, self.version)

    def paths(self, experiment: str, name: str) -> tuple[Path, Path]:
        for part in (experiment, name):
            if not part or "/" in part or "\\" in part or part.startswith("."):
                raise ValueError(f"experiment and name must be plain file names, got {part!r}")
        d = self.root / experiment
        return d / f"{name}.csv", d / f"{name}.json"

    def save(self, experiment: str, name: str, df: pd.DataFrame, params: Mapping[str, Any], *,
             seed: int | None = None, wall_time_s: float | None = None, command: str | None = None,
             extra: Mapping[str, Any] | None = None) -> dict:
        """Write the CSV then its JSON (both atomic); returns the provenance written."""
        csv_path, json_path = self.paths(experiment, name)
        data = _csv_bytes(df)
        meta = provenance(params, seed=seed, wall_time_s=wall_time_s, extra=extra)
        meta.update({
            "experiment": experiment, "name": name, "key": self.key(experiment, params),
            "nas_core_version": self.version, "csv": csv_path.name,
            "csv_sha256": hashlib.sha256(data).hexdigest(), "rows": len(df), "columns": [str(c) for c in df.columns],
            "command": command,
        })
        atomic_write_bytes(csv_path, data)
        atomic_write_bytes(json_path, (json.dumps(meta, indent=2, sort_keys=True) + "\n").encode())
        return meta

    def meta(self, experiment: str, name: str) -> dict:
        _, json_path = self.paths(experiment, name)
        if not json_path.is_file():
            raise StoreError(f"no stored result {json_path}; {self._regen(None)}")
        try:
            return json.loads(json_path.read_text())
        except (OSError, ValueError) as e:
            raise StoreError(f"{json_path}: unreadable provenance ({e}); delete it and {self._regen(None)}") from None

    @staticmethod
    def _regen(meta: Mapping | None) -> str:
        cmd = (meta or {}).get("command")
        return f"regenerate it with: {cmd}" if cmd else "regenerate it by rerunning its notebook or `nas-study run`"

    def load(self, experiment: str, name: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        """The stored table, after checking its bytes (and its key, if ``params`` given)."""
        csv_path, json_path = self.paths(experiment, name)
        meta = self.meta(experiment, name)
        if not csv_path.is_file():
            raise StoreError(f"{csv_path} is missing (its provenance {json_path.name} exists); {self._regen(meta)}")
        data = csv_path.read_bytes()
        sha = hashlib.sha256(data).hexdigest()
        if sha != meta.get("csv_sha256"):
            raise StoreError(f"{csv_path} is corrupt or was edited: sha256 {sha[:12]}... differs from "
                             f"{str(meta.get('csv_sha256'))[:12]}... recorded in {json_path.name}; "
                             f"{self._regen(meta)}")
        if params is not None:
            want = self.key(experiment, params)
            if meta.get("key") != want:
                raise StoreError(f"{csv_path} was made for other parameters or code version: "
                                 f"{self._diff(meta, params)}; {self._regen(meta)}")
        try:
            return _read_csv_bytes(data)
        except (ValueError, pd.errors.ParserError) as e:
            raise StoreError(f"{csv_path}: unreadable CSV ({e}); {self._regen(meta)}") from None

    def _diff(self, meta: Mapping, params: Mapping[str, Any]) -> str:
        parts = []
        if meta.get("nas_core_version") != self.version:
            parts.append(f"version {meta.get('nas_core_version')} stored, {self.version} now")
        old, new = meta.get("params") or {}, canonical(params)
        for k in sorted(set(old) | set(new)):
            if old.get(k, "<absent>") != new.get(k, "<absent>"):
                parts.append(f"{k}: {json.dumps(old.get(k, '<absent>'))} stored, "
                             f"{json.dumps(new.get(k, '<absent>'))} requested")
        return "; ".join(parts) or f"key {meta.get('key')} stored, {self.key(meta.get('experiment', ''), params)} now"

    def exists(self, experiment: str, name: str, params: Mapping[str, Any] | None = None) -> bool:
        try:
            self.load(experiment, name, params)
        except StoreError:
            return False
        return True

    def get_or_compute(self, experiment: str, name: str, params: Mapping[str, Any],
                       compute_fn: Callable[[], pd.DataFrame], *, seed: int | None = None,
                       command: str | None = None) -> pd.DataFrame:
        """The stored table when its key matches; else ``compute_fn()``, saved and returned.
        A stored table for other parameters is replaced; a corrupt one is recomputed with
        a warning. ``seed`` defaults to ``params["seed"]``."""
        stored = self._stored(experiment, name, params)
        if stored is not None:
            return stored
        require_compute(f"result {experiment}/{name}", command, cached_only=self.cached_only)
        with exclusive(self.paths(experiment, name)[0]):
            stored = self._stored(experiment, name, params)  # computed by another process meanwhile
            if stored is not None:
                return stored
            return self._compute(experiment, name, params, compute_fn, seed, command)

    def _stored(self, experiment, name, params) -> pd.DataFrame | None:
        _, json_path = self.paths(experiment, name)
        if json_path.is_file():
            try:
                if self.meta(experiment, name).get("key") == self.key(experiment, params):
                    return self.load(experiment, name, params)
            except StoreError as e:  # corrupt: recompute, but say so
                if self.cached_only:
                    raise StoreError(f"stored result {experiment}/{name} is unusable and only stored results "
                                     f"may be used: {e}") from None
                warnings.warn(f"recomputing: {e}", stacklevel=2)
        return None

    def _compute(self, experiment, name, params, compute_fn, seed, command) -> pd.DataFrame:
        t0 = time.time()
        with one_torch_thread():  # provenance (saved inside) records the threads it ran on
            df = compute_fn()
            if not isinstance(df, pd.DataFrame):
                raise TypeError(f"compute_fn must return a pandas DataFrame, got {type(df).__name__}")
            if seed is None and isinstance(params.get("seed"), int):
                seed = params["seed"]
            # what the computation learned along the way (a training history, say) rides in df.attrs
            self.save(experiment, name, df, params, seed=seed, wall_time_s=time.time() - t0, command=command,
                      extra=df.attrs.get(EXTRA_ATTR))
        return self.load(experiment, name, params)  # what later loads return, identical types


def read_provenance(path) -> dict:
    """The provenance JSON of a result, given its CSV or JSON path; for a result of
    the store, ``csv_verified`` says whether the CSV still has the recorded sha256."""
    path = Path(path)
    json_path = path.with_suffix(".json")
    if not json_path.is_file():
        raise StoreError(f"no provenance {json_path} for {path}")
    try:
        meta = json.loads(json_path.read_text())
    except (OSError, ValueError) as e:
        raise StoreError(f"{json_path}: unreadable provenance ({e})") from None
    csv_path = json_path.with_suffix(".csv")
    if "csv_sha256" in meta and csv_path.is_file():
        meta["csv_verified"] = hashlib.sha256(csv_path.read_bytes()).hexdigest() == meta["csv_sha256"]
    return meta


# ---------------------------------------------------------------- append-only log

@contextlib.contextmanager
def exclusive(path):
    """Hold ``<path>.lock`` exclusively: two processes asked for the same result (a notebook and
    `nas-study gt`, say) compute it once; the second waits, then finds it done."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no cross-process lock, duplicate work stays possible
        yield
        return
    lock = Path(str(path) + ".lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"waiting for another process computing {path} ...", file=sys.stderr, flush=True)
            fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


class AppendLog:
    """Append-only CSV of finished rows (one trained architecture each, say).

    Every ``append`` is one ``write`` to a file opened with O_APPEND, then fsync: a
    SIGKILL loses at most the row being written, and processes may share the file.
    On open, a last line without its newline (cut mid-write) is dropped with a
    warning, and the header must equal ``columns``.
    """

    def __init__(self, path, columns: Sequence[str]):
        self.path = Path(path)
        self.columns = [str(c) for c in columns]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        header = self._line(self.columns)
        if not self.path.exists() or self.path.stat().st_size == 0:
            atomic_write_bytes(self.path, header)
            return
        data = self.path.read_bytes()
        if not data.endswith(b"\n"):
            cut = data.rfind(b"\n") + 1
            warnings.warn(f"{self.path}: dropping a truncated last line {data[cut:][:80]!r} "
                          "(a writer was killed mid-row)", stacklevel=2)
            if cut == 0:
                atomic_write_bytes(self.path, header)
                return
            with open(self.path, "r+b") as f:
                f.truncate(cut)
                os.fsync(f.fileno())
        first = data[:data.find(b"\n") + 1]
        if first != header:
            raise StoreError(f"{self.path}: header {first.decode(errors='replace').strip()!r} does not match "
                             f"the expected columns {','.join(self.columns)!r}; move the file away to start anew")

    @staticmethod
    def _line(values: Iterable) -> bytes:
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerow(["" if v is None else v for v in values])
        return buf.getvalue().encode("utf-8")

    def append(self, row: Mapping[str, Any] | Sequence[Any]) -> None:
        if isinstance(row, Mapping):
            unknown = set(row) - set(self.columns)
            if unknown:
                raise ValueError(f"unknown columns {sorted(unknown)}; the log has {self.columns}")
            values = [row.get(c) for c in self.columns]
        else:
            values = list(row)
            if len(values) != len(self.columns):
                raise ValueError(f"row has {len(values)} values, the log has {len(self.columns)} columns")
        line = self._line(values)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)

    def _complete(self) -> bytes:
        data = self.path.read_bytes()
        return data[:data.rfind(b"\n") + 1]  # a row being written now is left out

    def _records(self, data: bytes) -> list[dict[str, str]]:
        """Rows as dicts of strings; a row without exactly the header's fields is damage
        (a line cut or edited by hand), refused with its line number."""
        reader = csv.reader(io.StringIO(data.decode("utf-8", errors="replace")))
        next(reader, None)
        out = []
        for values in reader:
            if len(values) != len(self.columns):
                raise StoreError(
                    f"{self.path}:{reader.line_num}: a damaged row ({len(values)} of {len(self.columns)} fields: "
                    f"{','.join(values)[:60]!r}); restore the file (git checkout -- {self.path} for a committed "
                    "one) or delete that line, and its run is computed again")
            out.append(dict(zip(self.columns, values)))
        return out

    def rows(self) -> list[dict[str, str]]:
        """Complete rows as dicts of strings (a row being written now is ignored)."""
        return self._records(self._complete())

    def frame(self) -> pd.DataFrame:
        """Complete rows as a typed DataFrame."""
        data = self._complete()
        self._records(data)
        return _read_csv_bytes(data)

    def done_keys(self, key_column: str) -> set[str]:
        if key_column not in self.columns:
            raise KeyError(f"{key_column!r} is not a column of {self.path} ({self.columns})")
        return {r[key_column] for r in self.rows()}


# ---------------------------------------------------------------- checkpoints

_PLAIN = (str, int, float, bool, type(None))


def _check_state(obj, where="state"):
    import torch

    if isinstance(obj, np.generic):  # np.float64 is a float, yet weights_only loading refuses it
        raise TypeError(f"{where}: numpy scalar {obj!r}; convert it with float() or int()")
    if isinstance(obj, (torch.Tensor, *_PLAIN)):
        return
    if isinstance(obj, Mapping):
        for k, v in obj.items():
            if not isinstance(k, (str, int)):
                raise TypeError(f"{where}: key {k!r} must be str or int")
            _check_state(v, f"{where}[{k!r}]")
        return
    if isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            _check_state(v, f"{where}[{i}]")
        return
    raise TypeError(f"{where}: {type(obj).__name__} cannot go in a checkpoint (tensors, numbers, strings, "
                    "lists, dicts only; convert RNG states with rng_state())")


def save_checkpoint(path, state: Mapping[str, Any]) -> None:
    """Atomic ``torch.save`` of a state made of tensors and plain values only."""
    import torch

    _check_state(state)
    atomic_write(path, lambda f: torch.save(state, f))


def load_checkpoint(path, map_location="cpu") -> dict:
    """``torch.load(weights_only=True)``: never runs code from the file. A truncated or damaged
    file, or one holding anything but tensors and plain values, raises ``StoreError``."""
    import pickle
    import zipfile

    import torch

    path = Path(path)
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except (pickle.UnpicklingError, zipfile.BadZipFile, EOFError, RuntimeError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise StoreError(f"{path} is not a loadable checkpoint (truncated, damaged, or holding code: {first[:200]}); "
                         "delete it and its training starts again") from None


def checkpoint_summary(path) -> dict:
    """What a checkpoint holds, for ``nas-study provenance``: its plain top-level values and the
    names of the others (tensors, nested state)."""
    path = Path(path)
    if not path.is_file():
        raise StoreError(f"no checkpoint {path}")
    state = load_checkpoint(path)
    plain = {k: v for k, v in state.items() if isinstance(v, _PLAIN)}
    return {"checkpoint": str(path), "bytes": path.stat().st_size, **plain,
            "other_entries": sorted(str(k) for k in state if k not in plain)}


def rng_state() -> dict:
    """Python, numpy (legacy global) and torch (CPU and CUDA) RNG states, as tensors."""
    import torch

    version, mt, gauss = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state = {
        "python": {"version": version, "state": torch.tensor(mt, dtype=torch.int64),
                   "gauss": math.nan if gauss is None else gauss},
        "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached": float(cached)},
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: Mapping[str, Any]) -> None:
    """Restore what ``rng_state`` captured."""
    import torch

    p = state["python"]
    gauss = None if math.isnan(p["gauss"]) else p["gauss"]
    random.setstate((p["version"], tuple(int(v) for v in p["state"].tolist()), gauss))
    n = state["numpy"]
    np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


__all__ = ["StoreError", "ResultStore", "AppendLog", "provenance", "read_provenance", "canonical_json", "result_key",
           "atomic_write", "atomic_write_bytes", "save_checkpoint", "load_checkpoint", "checkpoint_summary", "rng_state",
           "set_rng_state"]
