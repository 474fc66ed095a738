"""Ground-truth tables: build (parallel, resumable), import, query.

Build
    ``build_ground_truth`` trains every (architecture, seed) stand-alone with the
    space's stand-alone recipe and the profile's budget, in worker processes of
    one thread each (two one-thread processes do ~1.75x the work of one
    two-thread process on these small networks), or as Ray tasks. Each finished
    pair is appended at once to an append-only CSV (``store.AppendLog``), so a
    killed run resumes where it stopped. Every task seeds Python, numpy and
    torch from its seed first: a result depends only on (arch, seed, config),
    not on which worker ran it or in which order.

Table format (built here or imported with ``load_csv_table``)
    One row per (architecture, seed): ``arch`` (the space's canonical string),
    ``seed`` (int), ``valid``, ``test`` (accuracy in %, or perplexity), optional
    ``params``, ``flops``; built tables add ``wall_s``, ``epochs``, ``profile``,
    ``config_hash`` and any extra metric the training returns (``train_loss``).
    A built table ``X.csv`` has ``X.json`` beside it: the configuration its
    ``config_hash`` stands for, with provenance.

Query
    ``ground_truth(space, dataset, metric, source=...)`` -> Series keyed by
    architecture string: the real NAS-Bench-201 tables (200 and 12 epochs), the
    ``nats_bench`` API, or any table in the format above (mean over seeds).
"""
from __future__ import annotations

import csv
import dataclasses
import functools
import hashlib
import json
import math
import os
import random
import time
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from . import data as data_mod
from . import metrics, settings
from .parallel import imap_workers
from .profiles import PROFILES, budget
from .spaces import SPACE_NAMES, InvalidArchitecture, get_space
from .store import (AppendLog, StoreError, atomic_write_bytes, canonical_json, exclusive, provenance, require_compute,
                    result_name)
from .training import recipe_for, train_standalone

COLUMNS = ("arch", "seed", "valid", "test", "params", "flops", "wall_s", "epochs", "profile", "config_hash")
NB201_DATASETS = {"cifar10": "cifar10", "cifar100": "cifar100", "imagenet16-120": "imagenet"}  # -> table prefix
NB201_METRICS = {"test_200ep": ("200ep", "test"), "valid_12ep": ("12ep", "val"), "test_12ep": ("12ep", "test")}


class GroundTruthError(ValueError):
    """A table that cannot be used: other configuration, bad rows, unknown source."""


GT_KINDS = (None, "variant", "pruning", "reference")


def ground_truth_path(space_name: str, profile: str, kind: str | None = None, *, root: Path | None = None) -> Path:
    """Where a profile's stand-alone ground truth is stored:
    ``<results>/groundtruth/<space>_<profile>[_<kind>].csv``; ``kind`` None (the sample),
    ``"variant"`` (Figure 12's other recipe), ``"pruning"`` (Figure 6a's pruned spaces) or
    ``"reference"`` (the gold architecture of Figure 1's ProxylessNAS reference line)."""
    if kind not in GT_KINDS:
        raise ValueError(f"unknown ground-truth kind {kind!r}; choose from {GT_KINDS}")
    name = result_name(space_name, profile, kind)
    return (settings.current().results_root if root is None else root) / "groundtruth" / f"{name}.csv"


# ---------------------------------------------------------------- the task (runs in workers)

def synthetic_train(space, arch, cfg, data, recipe, epochs, *, seed=0, delay_s=0.0, **_):
    """A fast stand-in for ``training.train_standalone`` (tests, dry runs of the pipeline).

    Accuracy is a fixed per-architecture quality plus noise drawn from torch's
    *global* generator: reproducible only when the caller seeded it, as every
    task here does, so it also checks the seeding.
    """
    quality = int(hashlib.sha256(str(arch).encode()).hexdigest()[:8], 16) / 16 ** 8
    noise = torch.randn(2 + int(quality * 1000))[-2:]  # arch-dependent draw from the seeded stream
    valid = 50 + 40 * quality + float(noise[0])
    test = valid + 0.5 * float(noise[1])
    if delay_s:
        time.sleep(delay_s)
    cost = space.cost(arch, cfg)
    return {"valid": valid, "test": test, "train_loss": 1.0 - quality, "wall_s": delay_s,
            "params": cost.params, "flops": cost.flops, "epochs": epochs}


_WORKER: dict = {}  # per process: the setup it was initialised for, its space and data


def _init_worker(setup: dict) -> None:
    """Load the data once per process (pool initializer; Ray workers call it lazily)."""
    torch.set_num_threads(setup["threads"])
    if _WORKER.get("hash") == setup["config_hash"]:
        return
    _WORKER.clear()
    _WORKER.update(hash=setup["config_hash"], setup=setup, space=get_space(setup["space"]),
                   data=setup["data_fn"](setup["cfg"]))


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _run_task(setup: dict, arch_str: str, seed: int) -> dict:
    """Train one (arch, seed); returns the row for the log."""
    _init_worker(setup)
    space = _WORKER["space"]
    _seed_everything(seed)
    out = setup["train_fn"](space, space.parse(arch_str), setup["cfg"], _WORKER["data"], setup["recipe"],
                            setup["epochs"], seed=seed, device=setup["device"], progress=False,
                            **setup["train_kwargs"])
    row = {k: v for k, v in out.items() if _is_scalar(v)}
    row.update(arch=arch_str, seed=seed, epochs=setup["epochs"], profile=setup["profile"],
               config_hash=setup["config_hash"])
    return row


def _pool_task(task):
    return _run_task(_WORKER["setup"], *task)


def _is_scalar(v) -> bool:
    return isinstance(v, (int, float, str, bool, np.generic)) or v is None


# ---------------------------------------------------------------- configuration

def _fn_name(fn) -> str:
    if isinstance(fn, functools.partial):
        kw = ",".join(f"{k}={v!r}" for k, v in sorted(fn.keywords.items()))
        return f"{_fn_name(fn.func)}({kw})"
    return f"{fn.__module__}.{fn.__qualname__}"


def resolve_setup(space_name: str, profile: str, *, train_fn=None, cfg_overrides=None, recipe_overrides=None,
                  epochs: int | None = None, data_fn=None, device=None) -> dict:
    """Everything a task needs, plus ``config_hash`` over what determines its results.

    ``recipe_overrides`` may carry ``epochs`` (the training length; default the
    profile's ``gt_epochs``); its other keys replace fields of the recipe.
    """
    space = get_space(space_name)
    b = budget(space_name, profile)
    cfg = {**space.config(profile), **dict(cfg_overrides or {})}
    over = dict(recipe_overrides or {})
    epochs = over.pop("epochs", b.gt_epochs) if epochs is None else epochs
    if epochs <= 0:
        raise ValueError(f"ground-truth epochs must be > 0, got {epochs}")
    train_fn = train_standalone if train_fn is None else train_fn
    recipe = dataclasses.replace(recipe_for(space_name, profile, standalone=True), **over)
    recipe_dict = dataclasses.asdict(recipe) if dataclasses.is_dataclass(recipe) else dict(recipe)
    train_kwargs = {"max_steps_per_epoch": b.max_steps_per_epoch} if b.max_steps_per_epoch else {}
    data_fn = data_fn or data_mod.load
    config = {"space": space_name, "profile": profile, "cfg": cfg, "recipe": recipe_dict, "epochs": epochs,
              "train": _fn_name(train_fn), "data": _fn_name(data_fn), "train_kwargs": train_kwargs}
    config_hash = hashlib.sha256(canonical_json(config).encode()).hexdigest()[:12]
    return {"space": space_name, "profile": profile, "cfg": cfg, "recipe": recipe, "epochs": epochs,
            "train_fn": train_fn, "data_fn": data_fn, "train_kwargs": train_kwargs, "device": device,
            "threads": 1, "config": config, "config_hash": config_hash}


def _sidecar(out_path: Path) -> Path:
    return out_path.with_suffix(".json")


def _data_rows(out_path: Path) -> int:
    """Rows in a log, its header and a row cut by a kill not counted."""
    if not out_path.exists() or out_path.stat().st_size == 0:
        return 0
    return len(AppendLog(out_path, _header(out_path)).rows())


def recorded_chunks(out_path) -> list[dict]:
    """The builder runs on record in a table's side file, the last one completed from the table:
    a chunk stopped by SIGKILL between appending a row and rewriting the side file (two files, no
    common atomic write) is on record with one row too few; its ``rows_before`` (the table's rows
    when it started) tells how many it added. The next build writes the corrected count."""
    out_path = Path(out_path)
    side = _sidecar(out_path)
    chunks = json.loads(side.read_text()).get("chunks", []) if side.exists() else []
    return _completed(chunks, _data_rows(out_path))


def _completed(chunks: list[dict], rows_now: int) -> list[dict]:
    """``chunks`` with the last one completed from the table's ``rows_now`` rows (``recorded_chunks``)."""
    last = chunks[-1] if chunks else None
    if last is not None and not last.get("finished", True) and "rows_before" in last:
        last["runs_added"] = max(last["runs_added"], rows_now - last["rows_before"])
    return chunks


def _check_log(out_path: Path, setup: dict) -> pd.DataFrame | None:
    """The rows already in the log (None if there is none); refuses another configuration's log."""
    if not out_path.exists() or out_path.stat().st_size == 0:
        return None
    log = AppendLog(out_path, _header(out_path))  # drops a row cut by a kill
    missing = set(COLUMNS) - set(log.columns)
    if missing:
        raise GroundTruthError(f"{out_path} is not a ground-truth log: columns {sorted(missing)} are missing")
    try:
        rows = log.rows()
    except StoreError as e:  # a damaged line: named, before anything is trained
        raise GroundTruthError(str(e)) from None
    other = sorted({r["config_hash"] for r in rows} - {setup["config_hash"]})
    if other:
        diff = ""
        side = _sidecar(out_path)
        if side.exists():
            old = json.loads(side.read_text()).get("params", {})
            new = json.loads(json.dumps(setup["config"], default=str))
            diff = "; differs in: " + ", ".join(
                f"{k}: {json.dumps(old.get(k), default=str)[:120]} stored, {json.dumps(new.get(k), default=str)[:120]} now"
                for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k))
        raise GroundTruthError(
            f"{out_path} was built with config_hash {', '.join(other)}, this run's is {setup['config_hash']}{diff}. "
            "Use another out_path, or move the old table away to rebuild it.")
    return log.frame() if rows else None


def _header(path: Path) -> list[str]:
    with open(path, newline="") as f:
        return next(csv.reader(f))


# ---------------------------------------------------------------- build

def build_ground_truth(space_name: str, profile: str, archs: Sequence, seeds: Iterable[int], *, out_path,
                       workers: int | None = None, ray_address: str | None = None, train_fn: Callable | None = None,
                       cfg_overrides: Mapping | None = None, recipe_overrides: Mapping | None = None,
                       epochs: int | None = None, data_fn: Callable | None = None, device=None,
                       command: str | None = None, progress: bool = True) -> pd.DataFrame:
    """Train each (arch, seed) stand-alone; returns their rows (archs in the given order, then seed).

    - ``out_path``: the append-only log; pairs already in it are skipped (resume);
      a log of another configuration is refused.
    - ``workers``: processes (default ``os.cpu_count()``), one torch thread each;
      ``1`` runs in this process (with one thread for the duration).
    - ``ray_address``: ``"local"`` (start or reuse a local Ray) or a cluster
      address: one Ray task per pair instead of the process pool.
    - ``train_fn``: default ``training.train_standalone``; same signature.
    - ``cfg_overrides`` / ``recipe_overrides`` (may hold ``epochs``) / ``epochs``:
      change the profile's configuration (and so the config hash).
    - ``data_fn``: ``cfg -> data`` (default ``data.load``); must be importable by name.
    - ``command``: the command that builds this table (default ``nas-study gt SPACE --profile P``),
      recorded in the sidecar and named when computing is refused.
    """
    space = get_space(space_name)
    arch_strs = [str(_valid_arch(space, a, i)) for i, a in enumerate(archs)]
    seeds = [int(s) for s in seeds]
    if any(s < 0 for s in seeds) or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct non-negative integers, got {seeds}")
    setup = resolve_setup(space_name, profile, train_fn=train_fn, cfg_overrides=cfg_overrides,
                          recipe_overrides=recipe_overrides, epochs=epochs, data_fn=data_fn, device=device)
    out_path = Path(out_path)
    wanted = list(dict.fromkeys((a, s) for a in arch_strs for s in seeds))
    done_df, todo = _pending(out_path, setup, wanted)
    if todo:  # a complete table is read without waiting for a builder
        with exclusive(out_path):  # pending runs are looked up again: another builder may have added some
            _build(space_name, profile, wanted, setup, out_path, workers, ray_address, progress,
                   command or f"nas-study gt {space_name} --profile {profile}")
        done_df = _check_log(out_path, setup)
    if done_df is None:  # nothing asked for, nothing built
        return pd.DataFrame(columns=list(COLUMNS))
    return _select(done_df, wanted)


def _valid_arch(space, arch, i: int):
    """``arch`` (or its string) as an architecture of ``space``, refused before any training
    when it lies outside the space (a disconnected NAS-Bench-201 cell, say)."""
    try:
        a = space.parse(arch) if isinstance(arch, str) else arch
        space.validate(a)
    except InvalidArchitecture as e:
        raise GroundTruthError(f"architecture {i} of the list is not in {space.name}: {e}") from None
    return a


def _build(space_name, profile, wanted, setup, out_path, workers, ray_address, progress, command):
    """The runs of ``build_ground_truth`` that ``out_path`` lacks, appended to it."""
    done_df, todo = _pending(out_path, setup, wanted)

    if todo:
        require_compute(f"ground truth {out_path.name} ({len(todo)} of {len(wanted)} runs)", command)
        meta = provenance(setup["config"], extra={"config_hash": setup["config_hash"]})
        meta["machine"]["torch_threads"] = setup["threads"]  # what every run trains on, not this process
        side = _sidecar(out_path)
        if done_df is None or not side.exists():  # a new table: record the configuration its hash stands for
            out_path.parent.mkdir(parents=True, exist_ok=True)
            _write_json(side, {**meta, "command": command})
        t0, added = time.time(), [0]
        n_local = max(1, min(workers or os.cpu_count() or 1, len(todo)))
        has_header = out_path.exists() and out_path.stat().st_size > 0
        log = [AppendLog(out_path, _header(out_path))] if has_header else []
        # Each builder run (a "chunk", finished or interrupted) is recorded: a table built over
        # several sessions says which code versions and machines made which runs. It is written
        # when the run starts and after every row, so a SIGKILLed chunk is on record too.
        chunk = {k: meta[k] for k in ("timestamp_utc", "git", "nas_core_version", "versions", "machine")}
        rows_before = 0 if done_df is None else len(done_df)  # the log as _pending read it
        chunk.update(runs_added=0, rows_before=rows_before, runs_planned=len(todo), wall_time_s=0.0,
                     workers=workers if ray_address else n_local, ray_address=ray_address, command=command,
                     finished=False)
        side_meta = json.loads(side.read_text())
        side_meta.setdefault("command", command)  # tables begun before commands were recorded
        side_meta["chunks"] = _completed(side_meta.get("chunks", []), rows_before) + [chunk]

        def save_chunk(**changes):
            chunk.update(changes, runs_added=added[0], wall_time_s=round(time.time() - t0, 1))
            _write_json(side, side_meta)

        save_chunk()

        def record(row):
            if not log:  # the first result fixes the columns: the standard ones, then extra metrics
                extra = sorted(k for k in row if k not in COLUMNS)
                log.append(AppendLog(out_path, list(COLUMNS) + extra))
            log[0].append({k: v for k, v in row.items() if k in log[0].columns})
            added[0] += 1
            save_chunk()
            bar.update(1)

        bar = tqdm(total=len(wanted), initial=len(wanted) - len(todo), unit="run", disable=not progress,
                   desc=f"ground truth {space_name}/{profile}", dynamic_ncols=True)
        try:
            if ray_address:
                _run_ray(setup, todo, ray_address, workers, record)
            elif n_local == 1:
                _run_here(setup, todo, record)
            else:
                _run_pool(setup, todo, n_local, record)
        finally:
            bar.close()
            save_chunk(finished=True)


def _write_json(path: Path, obj: dict) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode())


def _pending(out_path, setup, wanted):
    """(rows already in the log or None, the ``wanted`` (arch, seed) pairs it lacks); checks its configuration."""
    done_df = _check_log(out_path, setup)
    done = set() if done_df is None else set(zip(done_df["arch"].astype(str), done_df["seed"].astype(int)))
    return done_df, [p for p in wanted if p not in done]


def _select(frame: pd.DataFrame, wanted: list[tuple[str, int]]) -> pd.DataFrame:
    order = {p: i for i, p in enumerate(wanted)}
    keys = list(zip(frame["arch"].astype(str), frame["seed"].astype(int)))
    pos = pd.Series([order.get(k, -1) for k in keys], index=frame.index)
    out = frame[pos >= 0].assign(_pos=pos[pos >= 0]).sort_values("_pos", kind="stable")
    out = out.drop(columns="_pos").drop_duplicates(["arch", "seed"], keep="first")
    return out.reset_index(drop=True)


def _run_here(setup, todo, record):
    threads = torch.get_num_threads()
    try:
        for arch, seed in todo:
            record(_run_task(setup, arch, seed))
    finally:
        torch.set_num_threads(threads)
        _WORKER.clear()  # do not keep the data alive in the caller


def _run_pool(setup, todo, workers, record):
    for row in imap_workers(_pool_task, todo, workers, initializer=_init_worker, initargs=(setup,)):
        record(row)


def _run_ray(setup, todo, address, workers, record):
    try:
        import ray
    except ImportError:
        raise ImportError("ray_address needs Ray: pip install 'nas_core[ray]'") from None
    started = False
    if not ray.is_initialized():
        if address == "local":
            ray.init(num_cpus=workers or os.cpu_count(), include_dashboard=False)
        else:
            ray.init(address=address)
        started = True
    try:
        task = ray.remote(num_cpus=1)(_run_task)
        ref = ray.put(setup)
        pending = [task.remote(ref, arch, seed) for arch, seed in todo]
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            record(ray.get(ready[0]))
    finally:
        if started:
            ray.shutdown()


# ---------------------------------------------------------------- import and query

def load_csv_table(path, space_name: str) -> pd.DataFrame:
    """A table in the documented format, checked row by row; ``arch`` made canonical.

    Raises ``GroundTruthError`` naming the first bad row's line number (the header is line 1).
    """
    path = Path(path)
    df = pd.read_csv(path, dtype=str, keep_default_na=False)  # raw text: bad cells are reported as written
    missing = [c for c in ("arch", "seed", "valid", "test") if c not in df.columns]
    if missing:
        raise GroundTruthError(f"{path}: missing column(s) {', '.join(missing)}; "
                               "expected arch, seed, valid, test[, params, flops]")
    space = get_space(space_name)
    archs = []
    for i, s in enumerate(df["arch"]):
        try:
            archs.append(str(space.parse(s)))
        except InvalidArchitecture as e:
            raise GroundTruthError(f"{path}:{i + 2}: not a {space_name} architecture: {e}") from None
    df["arch"] = archs
    for col in ("seed", "valid", "test", "params", "flops"):
        if col not in df.columns:
            continue
        num = pd.to_numeric(df[col], errors="coerce").astype(float)
        bad = np.flatnonzero(~np.isfinite(num.to_numpy()))
        if col == "seed" and not len(bad):
            bad = np.flatnonzero((num < 0).to_numpy() | (num != num.round()).to_numpy())
        if len(bad):
            i = int(bad[0])
            raise GroundTruthError(f"{path}:{i + 2}: column {col} has {df[col].iloc[i]!r}, expected a number"
                                   + (" (non-negative integer)" if col == "seed" else ""))
        integral = col in ("seed", "params", "flops") and (num == num.round()).all()
        df[col] = num.astype("int64") if integral else num
    for col in set(df.columns) - {"arch", "seed", "valid", "test", "params", "flops", "profile", "config_hash"}:
        try:  # extra metrics (wall_s, train_loss ...) are numbers where they can be
            df[col] = pd.to_numeric(df[col])
        except (ValueError, TypeError):
            pass
    dup = df.duplicated(["arch", "seed"])
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise GroundTruthError(f"{path}:{i + 2}: ({df['arch'].iloc[i]}, seed {df['seed'].iloc[i]}) appears twice")
    return df


def mean_over_seeds(df: pd.DataFrame, column: str = "valid") -> pd.Series:
    """Mean of ``column`` over seeds, indexed by architecture string (first-seen order)."""
    return df.groupby("arch", sort=False)[column].mean()


def _seed_pairs(df: pd.DataFrame, column: str):
    """(a, b) value arrays for every pair of seeds, over the archs both have."""
    wide = df.pivot_table(index="arch", columns="seed", values=column, aggfunc="mean", sort=False)
    seeds = list(wide.columns)
    if len(seeds) < 2:
        raise ValueError(f"seed-to-seed statistics need at least 2 seeds, the table has {seeds}")
    for i, a in enumerate(seeds):
        for b in seeds[i + 1:]:
            both = wide[[a, b]].dropna()
            yield both[a].to_numpy(float), both[b].to_numpy(float)


def seed_correlation(df: pd.DataFrame, column: str = "valid", method: str = "spearman") -> float:
    """Rank correlation between seeds over the archs present in both (mean over seed pairs).

    How reproducible a ground-truth ranking is; the real benchmarks reach 0.95-0.98.
    """
    corr = {"spearman": metrics.spearman, "kendall": metrics.kendall}[method]
    vals = [corr(a, b) if len(a) >= 2 else float("nan") for a, b in _seed_pairs(df, column)]
    return float(np.mean(vals))


def seed_stability(df: pd.DataFrame, column: str = "valid") -> dict:
    """Seed Spearman/Kendall, range (mean_min, mean_max: accuracy % or perplexity) and spread
    (sd) of the seed means, per-seed noise (sd of seed differences / sqrt 2, mean over seed pairs)."""
    means = mean_over_seeds(df, column)
    noise = [np.std(a - b, ddof=1) / math.sqrt(2) if len(a) >= 2 else float("nan")
             for a, b in _seed_pairs(df, column)]
    return {"n_archs": int(df["arch"].nunique()), "n_seeds": int(df["seed"].nunique()),
            "seed_spearman": seed_correlation(df, column, "spearman"),
            "seed_kendall": seed_correlation(df, column, "kendall"),
            "mean_min": float(means.min()), "mean_max": float(means.max()),
            "spread_sd": float(means.std(ddof=1)), "noise_sd": float(np.mean(noise))}


def ground_truth(space_name: str, dataset: str | None, metric: str, *, source: str = "benchmark") -> pd.Series:
    """One query for every ground truth: a Series of ``metric`` keyed by architecture string.

    ``source``:
    - ``"benchmark"`` (NAS-Bench-201 only): the offline tables through
      ``data.load_nb201_table``; ``dataset`` in cifar10 / cifar100 /
      imagenet16-120, ``metric`` in test_200ep / valid_12ep / test_12ep. All
      15,625 cells, invalid ones included.
    - ``"nats_bench"``: the same quantities through the ``nats_bench`` API
      (optional package plus the NATS-Bench topology files).
    - a profile name (``"cpu"``...) or a CSV path: a table in this module's
      format (``results/groundtruth/<space>_<profile>.csv`` for a profile),
      ``metric`` a column (valid, test ...), averaged over seeds; ``dataset``,
      if given, must match the dataset recorded beside a built table.
    """
    if source in ("benchmark", "nats_bench"):
        with_tables = [n for n in SPACE_NAMES if get_space(n).benchmark_tables]  # the benchmark's own tables
        if space_name not in with_tables:
            raise GroundTruthError(f"source={source!r} exists for {', '.join(with_tables)} only; for {space_name} pass "
                                   f"a profile name ({', '.join(PROFILES)}) or the path of a CSV table as source")
        if dataset not in NB201_DATASETS:
            raise GroundTruthError(f"unknown NAS-Bench-201 dataset {dataset!r}; choose one of {', '.join(NB201_DATASETS)}")
        if metric not in NB201_METRICS:
            raise GroundTruthError(f"unknown NAS-Bench-201 metric {metric!r}; choose one of {', '.join(NB201_METRICS)}")
        return _nats_bench(dataset, metric) if source == "nats_bench" else _nb201_table(dataset, metric)
    path = ground_truth_path(space_name, source) if source in PROFILES else Path(source)
    if not path.exists():
        raise GroundTruthError(f"no ground-truth table {path}" + (
            f"; build it with: nas-study gt {space_name} --profile {source}" if source in PROFILES else ""))
    side = _sidecar(path)
    if dataset is not None and side.exists():
        have = json.loads(side.read_text()).get("params", {}).get("cfg", {}).get("dataset")
        if have is not None and have != dataset:
            raise GroundTruthError(f"{path} holds {have} results, not {dataset}")
    df = load_csv_table(path, space_name)
    if metric not in df.columns:
        raise GroundTruthError(f"{path} has no column {metric!r}; columns: {', '.join(df.columns)}")
    return mean_over_seeds(df, metric).rename(metric)


def _nb201_table(dataset: str, metric: str) -> pd.Series:
    kind, split = NB201_METRICS[metric]
    t = data_mod.load_nb201_table(kind)
    return pd.Series(t[f"{NB201_DATASETS[dataset]}-{split}"].to_numpy(float), index=t["arch"].astype(str),
                     name=f"{dataset}/{metric}").rename_axis("arch")


def _nats_bench(dataset: str, metric: str) -> pd.Series:
    try:
        from nats_bench import create
    except ImportError:
        raise ImportError("source='nats_bench' needs the nats_bench package (pip install 'nas_core[nats]') and the "
                          "NATS-Bench topology files (NATS-tss-v1_0-3ffb9-simple) under $TORCH_HOME; the offline "
                          "tables need neither: source='benchmark'") from None
    kind, split = NB201_METRICS[metric]
    name = {"cifar10": "cifar10", "cifar100": "cifar100", "imagenet16-120": "ImageNet16-120"}[dataset]
    if dataset == "cifar10" and split == "val":
        name = "cifar10-valid"  # NATS-Bench reports CIFAR-10 validation accuracy on this split
    api = create(None, "tss", fast_mode=True, verbose=False)
    key = "test-accuracy" if split == "test" else "valid-accuracy"
    hp = "200" if kind == "200ep" else "12"
    vals = {api.arch(i): api.get_more_info(i, name, hp=hp, is_random=False)[key] for i in range(len(api))}
    return pd.Series(vals, name=f"{dataset}/{metric}", dtype=float).rename_axis("arch")


# ---------------------------------------------------------------- pilot

def run_pilot(space_name: str, candidates: Mapping[str, tuple], n_archs: int, seeds: Sequence[int], out_dir, *,
              profile: str = "cpu", sample_seed: int = 0, workers: int | None = None, train_fn=None,
              real_dataset: str = "cifar10", progress: bool = True) -> pd.DataFrame:
    """Build one table per candidate configuration and compare their seed-to-seed stability.

    ``candidates``: name -> ``(cfg_overrides, recipe_overrides)``, where the second
    may be a dict (``epochs`` allowed) or just the number of epochs. Tables go to
    ``out_dir/<name>.csv`` (resumable). Returns one row per candidate: see
    ``seed_stability``, plus ``real_spearman`` (mean over seeds vs the real
    NAS-Bench-201 200-epoch table, nb201 only) and ``mean_wall_s``.
    """
    archs = get_space(space_name).sample_many(n_archs, seed=sample_seed)
    real = None
    if get_space(space_name).benchmark_tables:
        try:
            real = ground_truth(space_name, real_dataset, "test_200ep")
        except (FileNotFoundError, ValueError):
            real = None  # no table offline: the column stays empty
    rows = []
    for name, (cfg_over, recipe_over) in candidates.items():
        recipe_over = {"epochs": recipe_over} if isinstance(recipe_over, (int, float)) else dict(recipe_over or {})
        df = build_ground_truth(space_name, profile, archs, seeds, out_path=Path(out_dir) / f"{name}.csv",
                                workers=workers, train_fn=train_fn, cfg_overrides=cfg_over,
                                recipe_overrides=recipe_over, progress=progress)
        row = {"candidate": name, **seed_stability(df), "epochs": int(df["epochs"].iloc[0]),
               "mean_wall_s": float(df["wall_s"].mean()), "real_spearman": float("nan")}
        if real is not None:
            means = mean_over_seeds(df)
            row["real_spearman"] = metrics.spearman(means.to_numpy(), real.loc[means.index].to_numpy())
        rows.append(row)
    return pd.DataFrame(rows).set_index("candidate")


# ---------------------------------------------------------------- the `nas-study gt` summary

def summary(df: pd.DataFrame, path, seconds: float) -> str:
    means = mean_over_seeds(df)
    lines = [f"{path}: {len(df)} runs, {df['arch'].nunique()} architectures x seeds "
             f"{sorted(df['seed'].unique().tolist())}, {int(df['epochs'].iloc[0])} epochs, "
             f"config {df['config_hash'].iloc[0]} ({seconds:.0f} s this run)",
             f"valid (mean over seeds): min {means.min():.2f}, median {means.median():.2f}, max {means.max():.2f}"]
    if df["seed"].nunique() >= 2 and len(means) >= 3:
        s = seed_stability(df)
        lines.append(f"seed-to-seed: Spearman {s['seed_spearman']:.3f}, Kendall {s['seed_kendall']:.3f}; "
                     f"spread sd {s['spread_sd']:.2f}, per-seed noise sd {s['noise_sd']:.2f}")
    return "\n".join(lines)


__all__ = ["COLUMNS", "GroundTruthError", "build_ground_truth", "resolve_setup", "synthetic_train",
           "load_csv_table", "mean_over_seeds", "seed_correlation", "seed_stability", "ground_truth",
           "run_pilot", "summary", "GT_KINDS", "ground_truth_path"]
