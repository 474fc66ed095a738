"""Free-estimator tables: computed once, resumably, and stored (re-exported by ``estimator_study``).

In the study layer, below the analysis that reads them, so that the study's scheduler
(``regime.EstimatorTableJob``) can compute the full-scale tables as it computes supernets.

Tables (``results/estimators/<name>.csv`` through the results store, with provenance)
    One row per architecture: ``arch`` (canonical string), one column per estimator
    (``nas_core.estimators``), ``build_cpu_s`` and ``cpu_s_<estimator>`` (CPU seconds on one
    thread) and ``config_hash``.

    - ``nb201_full_scale(num_classes)``: all 15,625 NAS-Bench-201 cells (benchmark index order,
      the 341 disconnected ones included) at the paper's network (C=16, N=5, 32x32 input) with
      10 or 100 classes. The data-dependent estimators see one batch of 64 CIFAR-10 training
      images from the offline first-4000 subset (``estimators.estimator_batch``, seed 0, no
      augmentation), labels 0-9 in both cases: CIFAR-100 and ImageNet16-120 images are not
      offline, so a 100-class network is scored on CIFAR-10 images and labels (and its
      CIFAR-100 and ImageNet16-120 correlations say how far a CIFAR-10 batch carries).
    - ``cpu_scale(space)``: each space's evaluated sample (``study.eval_sample``) at the
      profile's stand-alone network (``study.space_config``, the ground truth's), on 64
      training images of the profile's dataset (DARTS-PTB: 64 columns of ``bptt`` tokens).

    Both build through ``build_estimator_table``: every finished architecture is appended to a
    log under ``runs/estimators/`` (``store.AppendLog``), so an interrupted run resumes where it
    stopped; missing architectures are computed in worker processes of one torch thread each
    (``parallel.imap_workers``, started with ``WORKER_ENV``); the complete table is then stored once.
"""
from __future__ import annotations

import hashlib
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Mapping, Sequence

import pandas as pd

from . import estimators as est
from . import __version__, study
from .parallel import ALLOCATOR_ENV, default_workers, imap_workers
from .spaces import get_space
from .spaces.nb201 import Nb201Network
from .store import EXTRA_ATTR, AppendLog, canonical_json, exclusive, one_torch_thread, require_compute, result_name

EXPERIMENT = "estimators"
BATCH_SIZE = 64  # the zero-cost reference's batch (nasbench2_pred.py --batch_size 64)
BATCH_SEED = 0
INIT_SEED = 0


# ---------------------------------------------------------------- configurations

def nb201_full_config(num_classes: int) -> dict:
    """NAS-Bench-201's network (C=16, N=5, 3x32x32 input) with ``num_classes`` outputs, its
    batch drawn from the offline CIFAR-10 subset."""
    if num_classes not in (10, 100):
        raise ValueError(f"num_classes must be 10 (CIFAR-10) or 100 (CIFAR-100), got {num_classes}")
    return {**get_space("nb201").config("paper"), "num_classes": num_classes, "dataset": "cifar10-4k",
            "n_train": None, "n_valid": None}


def _setup(space_name: str, cfg: Mapping[str, Any], batch_size: int, batch_seed: int, seed: int,
           names: Sequence[str]) -> dict:
    setup = {"space": space_name, "cfg": dict(cfg), "batch_size": batch_size, "batch_seed": batch_seed,
             "seed": seed, "estimators": list(names)}
    setup["config_hash"] = hashlib.sha256(canonical_json({**setup, "version": __version__}).encode()).hexdigest()[:12]
    return setup


def _columns(names: Sequence[str]) -> list[str]:
    return ["arch", *names, "build_cpu_s", *(f"cpu_s_{n}" for n in names), "config_hash"]


# ---------------------------------------------------------------- the task (runs in workers)

_WORKER: dict = {}

# The workers' environment (read when a process starts): glibc keeps freed memory (fewer page
# faults, parallel.ALLOCATOR_ENV) and numpy's OpenBLAS computes on one thread (jacob_cov's
# correlation matrix: two spinning threads cost about 100x the CPU time of one on a shared
# machine). Neither changes a value (benchmarks/bench_estimators.py --processes checks it).
WORKER_ENV = {**ALLOCATOR_ENV, "OPENBLAS_NUM_THREADS": "1"}


@contextmanager
def _worker_env():
    """Within: processes started get ``WORKER_ENV``; this process's environment is restored after."""
    before = {k: os.environ.get(k) for k in WORKER_ENV}
    os.environ.update(WORKER_ENV)
    try:
        yield
    finally:
        for k, v in before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def nb201_any_cell(arch, cfg: Mapping[str, Any]):
    """NAS-Bench-201's stand-alone network of any of the 15,625 cells: ``space.standalone``'s
    network for a connected cell (the same modules, so the same weights from the same seed), and
    also for a disconnected one, which ``standalone`` refuses (its cells' output is zero; the
    full-scale table scores it as the zero-cost authors do)."""
    return Nb201Network(arch, cfg["C"], cfg["N"], cfg["num_classes"], cfg.get("in_channels", 3))


BUILDERS = {"nb201_any_cell": nb201_any_cell}  # by name: a worker process receives the name


def _init_worker(setup: dict, shared: bool = False, build: str | None = None) -> None:
    import torch

    torch.set_num_threads(1)
    if (_WORKER.get("hash"), _WORKER.get("shared"), _WORKER.get("build")) == (setup["config_hash"], shared, build):
        return
    _WORKER.clear()
    batch = est.estimator_batch(setup["cfg"], setup["batch_size"], setup["batch_seed"]) \
        if set(setup["estimators"]) - set(est.DATA_FREE) else (None, None)
    _WORKER.update(hash=setup["config_hash"], setup=setup, space=get_space(setup["space"]), batch=batch, shared=shared,
                   build=build)


def _task(arch_str: str) -> dict:
    setup, space = _WORKER["setup"], _WORKER["space"]
    build = _WORKER["build"]
    values = est.estimate_all(space, space.parse(arch_str), setup["cfg"], _WORKER["batch"], seed=setup["seed"],
                              estimators=setup["estimators"], shared=_WORKER["shared"],
                              build=None if build is None else BUILDERS[build])
    return {"arch": arch_str, **values, "config_hash": setup["config_hash"]}


# ---------------------------------------------------------------- build (resumable)

def build_estimator_table(space_name: str, archs: Sequence, cfg: Mapping[str, Any], *, log_path,
                          batch_size: int = BATCH_SIZE, batch_seed: int = BATCH_SEED, seed: int = INIT_SEED,
                          estimators: Sequence[str] | None = None, workers: int | None = None,
                          progress: bool = True, command: str | None = None, shared: bool = False,
                          build: str | None = None) -> pd.DataFrame:
    """Every estimator of every architecture, one row each in ``archs``' order.

    ``shared``: the estimators that read the same pass from one pass
    (``estimators.estimate_all(shared=True)``): the same values, so not part of the
    configuration (a log may mix both); only the ``cpu_s_*`` columns differ in meaning.

    ``build``: a name in ``BUILDERS``, the network builder instead of ``space.standalone``
    (``"nb201_any_cell"``: NAS-Bench-201's disconnected cells too; the same network for the
    others, so not part of the configuration either).

    Finished rows are appended to ``log_path`` at once and skipped when it is run again
    (resume); a log made for another configuration is refused. ``workers`` processes (default
    ``$NAS_CORE_WORKERS`` or one per core) of one torch thread each, started with ``WORKER_ENV``;
    one runs here (in this process's environment)."""
    from tqdm.auto import tqdm

    names = tuple(est.defined_estimators(space_name) if estimators is None else estimators)
    undefined = [n for n in names if n not in est.defined_estimators(space_name)]
    if undefined:
        raise est.EstimatorUndefined(f"{', '.join(undefined)} not defined for {space_name}: "
                                     + "; ".join(f"{n}: {est.UNDEFINED_FOR_LM[n]}" for n in undefined))
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    if build is not None and build not in BUILDERS:
        raise ValueError(f"unknown build {build!r}; choose from {', '.join(BUILDERS)}")
    arch_strs = list(dict.fromkeys(a if isinstance(a, str) else str(a) for a in archs))
    setup = _setup(space_name, cfg, batch_size, batch_seed, seed, names)
    log_path = Path(log_path)
    with exclusive(log_path):
        log = AppendLog(log_path, _columns(names))
        rows = log.rows()
        other = sorted({r["config_hash"] for r in rows} - {setup["config_hash"]})
        if other:
            raise ValueError(f"{log_path} holds rows of configuration {', '.join(other)}, this run's is "
                             f"{setup['config_hash']}; move the log away to start anew")
        done = {r["arch"] for r in rows}
        todo = [a for a in arch_strs if a not in done]
        if todo:
            require_compute(f"estimators of {len(todo)} of {len(arch_strs)} {space_name} architectures", command)
            n = max(1, min(default_workers() if workers is None else workers, len(todo)))
            bar = tqdm(total=len(arch_strs), initial=len(arch_strs) - len(todo), unit="arch", disable=not progress,
                       desc=f"estimators {space_name}" + (f" ({n} workers)" if n > 1 else ""), dynamic_ncols=True)
            try:
                if n == 1:
                    with one_torch_thread():
                        _init_worker(setup, shared, build)
                        try:
                            for a in todo:
                                log.append(_task(a))
                                bar.update(1)
                        finally:
                            _WORKER.clear()  # do not keep the batch alive in the caller
                else:
                    with _worker_env():
                        for row in imap_workers(_task, todo, n, initializer=_init_worker,
                                                initargs=(setup, shared, build)):
                            log.append(row)
                            bar.update(1)
            finally:
                bar.close()
    frame = log.frame()
    frame["arch"] = frame["arch"].astype(str)
    frame = frame.drop_duplicates("arch").set_index("arch").loc[arch_strs].reset_index()
    return frame


def _stored_table(name: str, params: dict, archs: Sequence, space_name: str, cfg: Mapping[str, Any], note: str,
                  workers: int | None, progress: bool, command: str, shared: bool = False,
                  build: str | None = None) -> pd.DataFrame:
    config_hash = _setup(space_name, cfg, params["batch_size"], params["batch_seed"], params["seed"],
                         params["estimators"])["config_hash"]

    def compute() -> pd.DataFrame:
        log = study.runs_root() / EXPERIMENT / f"{name}_{config_hash}.csv"  # the resumable log
        df = build_estimator_table(space_name, archs, cfg, log_path=log, batch_size=params["batch_size"],
                                   batch_seed=params["batch_seed"], seed=params["seed"],
                                   estimators=params["estimators"], workers=workers, progress=progress,
                                   command=command, shared=shared, build=build)
        cpu = "process CPU time per estimator, one torch thread" + (
            "; the estimators of the one shared pass (estimators.DATA_GROUP) split its time equally"
            if shared else "")
        df.attrs[EXTRA_ATTR] = {"batch": note, "cpu_seconds": cpu,
                                "workers": default_workers() if workers is None else workers}
        return df

    return study.store().get_or_compute(EXPERIMENT, name, params, compute, command=command)


def _params(space_name: str, cfg: Mapping[str, Any], archs_desc: str, names: Sequence[str]) -> dict:
    return dict(space=space_name, archs=archs_desc, cfg=dict(cfg), batch_size=BATCH_SIZE, batch_seed=BATCH_SEED,
                batch="training split, drawn by torch.randperm(seed), no augmentation", seed=INIT_SEED,
                init="the stand-alone network's own initialisation after torch.manual_seed(seed)",
                estimators=list(names))


def nb201_full_scale(num_classes: int = 10, *, n_cells: int | None = None, workers: int | None = None,
                     progress: bool = True) -> pd.DataFrame:
    """Every estimator for the NAS-Bench-201 cells at the paper's network (module docstring):
    all 15,625 (``n_cells`` None) or the first ``n_cells`` in benchmark index order."""
    space = get_space("nb201")
    cells = space.all_cells()
    if n_cells is not None:
        if not 1 <= n_cells <= len(cells):
            raise ValueError(f"n_cells must be in 1..{len(cells)}, got {n_cells}")
        cells = cells[:n_cells]
    cfg = nb201_full_config(num_classes)
    names = est.defined_estimators("nb201")
    desc = "all 15625 cells, benchmark index order" if n_cells is None else f"first {n_cells} cells, benchmark index order"
    name = _full_scale_name(num_classes, n_cells)
    note = (f"{BATCH_SIZE} CIFAR-10 training images of the offline first-4000 subset (seed {BATCH_SEED}), labels 0-9"
            + ("; the 100-class network sees the same CIFAR-10 images and labels" if num_classes == 100 else "")
            + "; the disconnected cells' networks built as the others (nb201_any_cell), their cells' output zero")
    cmd = (f"python -c 'from nas_core import estimator_study as s; s.nb201_full_scale({num_classes}"
           + ("" if n_cells is None else f", n_cells={n_cells}") + ")'")
    # one shared pass, the values of separate passes (benchmarks/bench_estimators.py, 20 cells side by side in one
    # process, 10 / 100 classes: separate 3.92 / 4.07 CPU s per cell, two shared passes 2.20 / 2.35, one 2.09 /
    # 2.23); in fresh processes as the workers run (--processes, 3 rounds of 5 cells), two passes in the default
    # environment 2.18 / 2.29 -> one pass with WORKER_ENV 1.85 / 1.84: 8.0 core-hours per table. grasp's Hessian
    # product is 60% of what is left
    return _stored_table(name, _params("nb201", cfg, desc, names), cells, "nb201", cfg, note, workers, progress, cmd,
                         shared=True, build="nb201_any_cell")


# CPU seconds per cell of the full-scale tables as their workers compute them (benchmarks/
# bench_estimators.py --processes, 3 December 2026, one thread, beside the training regime)
FULL_SCALE_CPU_S_PER_CELL = {10: 1.85, 100: 1.84}


def _full_scale_name(num_classes: int, n_cells: int | None = None) -> str:
    return f"nb201_full_c{num_classes}" + ("" if n_cells is None else f"_first{n_cells}")


def full_scale_log(num_classes: int, n_cells: int | None = None) -> Path:
    """The resumable log of ``nb201_full_scale(num_classes, n_cells=n_cells)`` (``_stored_table``'s path)."""
    cfg = nb201_full_config(num_classes)
    config_hash = _setup("nb201", cfg, BATCH_SIZE, BATCH_SEED, INIT_SEED, est.defined_estimators("nb201"))["config_hash"]
    return study.runs_root() / EXPERIMENT / f"{_full_scale_name(num_classes, n_cells)}_{config_hash}.csv"


def log_rows(path) -> int:
    """Complete rows of an append log (0 without one), read without opening it as an ``AppendLog``
    (which would cut a row a worker is writing now)."""
    path = Path(path)
    if not path.is_file():
        return 0
    data = path.read_bytes()
    return max(data[:data.rfind(b"\n") + 1].count(b"\n") - 1, 0)


def full_scale_cells_left(num_classes: int, n_cells: int | None = None) -> tuple[int, int]:
    """(cells not yet in the table's resumable log, cells of the table)."""
    total = len(get_space("nb201").all_cells()) if n_cells is None else n_cells
    return max(total - log_rows(full_scale_log(num_classes, n_cells)), 0), total


def full_scale_status(num_classes: int) -> str:
    """One line for a full-scale table not stored yet: the cells its resumable log holds, the
    core-hours left at the measured rate, and the command that computes (or resumes) it."""
    left, total = full_scale_cells_left(num_classes)
    done = total - left
    rate = FULL_SCALE_CPU_S_PER_CELL.get(num_classes, max(FULL_SCALE_CPU_S_PER_CELL.values()))
    return (f"The {num_classes}-class table is not stored yet: {done} of {total:,} cells in its resumable log, "
            f"about {left * rate / 3600:.1f} core-hours left at {rate} CPU-s per cell "
            f"(benchmarks/bench_estimators.py); compute or resume it with "
            f"`python -c 'from nas_core import estimator_study as s; s.nb201_full_scale({num_classes})'` "
            f"(one worker per core), or `nas-study regime`, which schedules it after the supernets.")


def cpu_scale(space_name: str, profile: str = "cpu", *, workers: int | None = None, progress: bool = True) -> pd.DataFrame:
    """Every estimator defined for the space on its evaluated sample at the profile's
    stand-alone network (module docstring)."""
    archs = study.eval_sample(space_name, profile)
    cfg = study.space_config(space_name, profile)
    names = est.defined_estimators(space_name)
    what = "bptt-token columns of the training stream" if cfg["dataset"] == "ptb" else "training images"
    note = f"{BATCH_SIZE} {what} of {cfg['dataset']} (seed {BATCH_SEED})"
    cmd = f"python -c 'from nas_core import estimator_study as s; s.cpu_scale(\"{space_name}\", \"{profile}\")'"
    params = _params(space_name, cfg, f"study.eval_sample({space_name!r}, {profile!r}): {len(archs)}", names)
    return _stored_table(result_name(space_name, profile), params, archs, space_name, cfg, note, workers, progress, cmd)
