"""Free estimators as study results: resumable tables, their cost, their correlation with ground truth.

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
    (``parallel.imap_workers``); the complete table is then stored once.

Differences from the zero-cost reference's NAS-Bench-201 run (``nasbench2_pred.py``), to read
beside its published correlations (``paper.published_free_estimators``)
    - its network (``foresight/models/nasbench2.py``) gives the cells' batch norms no affine
      parameters and no running statistics and their convolutions a bias; this project uses the
      benchmark's own network (affine batch norm, no bias: the benchmark's parameter counts);
    - its SynFlow copy is rebuilt without batch norm except in the two reduction blocks (their
      ``ReLUConvBN`` keeps the default ``use_bn=True``); here, as in Suite-Zero's copy, every
      batch norm is the identity;
    - it draws a fresh, augmented (crop, flip) batch of 64 for every cell from one loader
      seeded 42, and builds cell after cell from one generator; here every cell sees the same
      un-augmented batch and its network is initialised from ``torch.manual_seed(0)``;
    - CIFAR-10 is normalised with std (0.2023, 0.1994, 0.2010) there, (0.2470, 0.2435, 0.2616)
      here (``data.MEAN_STD``); its accuracies are NAS-Bench-201's ``cifar10-valid`` test
      accuracies for CIFAR-10, the offline table's CIFAR-10 column here;
    - its correlations are absolute values over all 15,625 cells, NaN scores omitted.

Correlations (``correlations``)
    Spearman and Kendall between an estimator and the ground truth oriented so that higher is
    better (perplexity negated), with percentile-bootstrap 95% intervals (``metrics``). A
    non-finite estimate (jacob_cov of a cell whose output is cut off, say) ranks last, as
    NAS-Bench-Suite-Zero's -1e8; ``n_nonfinite`` counts them.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from . import estimators as est
from . import __version__, metrics, study
from .paper import published_free_estimators
from .parallel import default_workers, imap_workers
from .profiles import budget
from .spaces import get_space
from .store import EXTRA_ATTR, AppendLog, canonical_json, exclusive, one_torch_thread, require_compute, stored_or_none

EXPERIMENT = "estimators"
BATCH_SIZE = 64  # the zero-cost reference's batch (nasbench2_pred.py --batch_size 64)
BATCH_SEED = 0
INIT_SEED = 0
NB201_DATASETS = ("cifar10", "cifar100", "imagenet16-120")
NB201_SAMPLE = dict(n=1000, seed=0)  # the paper's 1k evaluated cells (profiles: paper n_eval_archs)
ALL_VALID, SAMPLE_1K = "all valid cells", "paper's 1k sample"
ALL_CELLS = "all 15,625 cells"  # as the zero-cost authors correlate (disconnected cells included)


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


def _init_worker(setup: dict) -> None:
    import torch

    torch.set_num_threads(1)
    if _WORKER.get("hash") == setup["config_hash"]:
        return
    _WORKER.clear()
    batch = est.estimator_batch(setup["cfg"], setup["batch_size"], setup["batch_seed"]) \
        if set(setup["estimators"]) - set(est.DATA_FREE) else (None, None)
    _WORKER.update(hash=setup["config_hash"], setup=setup, space=get_space(setup["space"]), batch=batch)


def _task(arch_str: str) -> dict:
    setup, space = _WORKER["setup"], _WORKER["space"]
    values = est.estimate_all(space, space.parse(arch_str), setup["cfg"], _WORKER["batch"], seed=setup["seed"],
                              estimators=setup["estimators"])
    return {"arch": arch_str, **values, "config_hash": setup["config_hash"]}


# ---------------------------------------------------------------- build (resumable)

def build_estimator_table(space_name: str, archs: Sequence, cfg: Mapping[str, Any], *, log_path,
                          batch_size: int = BATCH_SIZE, batch_seed: int = BATCH_SEED, seed: int = INIT_SEED,
                          estimators: Sequence[str] | None = None, workers: int | None = None,
                          progress: bool = True, command: str | None = None) -> pd.DataFrame:
    """Every estimator of every architecture, one row each in ``archs``' order.

    Finished rows are appended to ``log_path`` at once and skipped when it is run again
    (resume); a log made for another configuration is refused. ``workers`` processes (default
    ``$NAS_CORE_WORKERS`` or one per core) of one torch thread each; one runs here."""
    from tqdm.auto import tqdm

    space = get_space(space_name)
    names = tuple(est.defined_estimators(space_name) if estimators is None else estimators)
    undefined = [n for n in names if n not in est.defined_estimators(space_name)]
    if undefined:
        raise est.EstimatorUndefined(f"{', '.join(undefined)} not defined for {space_name}: "
                                     + "; ".join(f"{n}: {est.UNDEFINED_FOR_LM[n]}" for n in undefined))
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
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
                        _init_worker(setup)
                        try:
                            for a in todo:
                                log.append(_task(a))
                                bar.update(1)
                        finally:
                            _WORKER.clear()  # do not keep the batch alive in the caller
                else:
                    for row in imap_workers(_task, todo, n, initializer=_init_worker, initargs=(setup,)):
                        log.append(row)
                        bar.update(1)
            finally:
                bar.close()
    frame = log.frame()
    frame["arch"] = frame["arch"].astype(str)
    frame = frame.drop_duplicates("arch").set_index("arch").loc[arch_strs].reset_index()
    return frame


def _stored_table(name: str, params: dict, archs: Sequence, space_name: str, cfg: Mapping[str, Any], note: str,
                  workers: int | None, progress: bool, command: str) -> pd.DataFrame:
    config_hash = _setup(space_name, cfg, params["batch_size"], params["batch_seed"], params["seed"],
                         params["estimators"])["config_hash"]

    def compute() -> pd.DataFrame:
        log = study.runs_root() / EXPERIMENT / f"{name}_{config_hash}.csv"  # the resumable log
        df = build_estimator_table(space_name, archs, cfg, log_path=log, batch_size=params["batch_size"],
                                   batch_seed=params["batch_seed"], seed=params["seed"],
                                   estimators=params["estimators"], workers=workers, progress=progress,
                                   command=command)
        df.attrs[EXTRA_ATTR] = {"batch": note, "cpu_seconds": "process CPU time per estimator, one torch thread",
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
    name = f"nb201_full_c{num_classes}" + ("" if n_cells is None else f"_first{n_cells}")
    note = (f"{BATCH_SIZE} CIFAR-10 training images of the offline first-4000 subset (seed {BATCH_SEED}), labels 0-9"
            + ("; the 100-class network sees the same CIFAR-10 images and labels" if num_classes == 100 else ""))
    cmd = (f"python -c 'from nas_core import estimator_study as s; s.nb201_full_scale({num_classes}"
           + ("" if n_cells is None else f", n_cells={n_cells}") + ")'")
    return _stored_table(name, _params("nb201", cfg, desc, names), cells, "nb201", cfg, note, workers, progress, cmd)


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
    return _stored_table(f"{space_name}_{profile}", params, archs, space_name, cfg, note, workers, progress, cmd)


# ---------------------------------------------------------------- analysis

def _rankable(values) -> np.ndarray:
    """Non-finite values rank last (below every finite one)."""
    v = np.asarray(values, dtype=float)
    bad = ~np.isfinite(v)
    if bad.all():
        return np.zeros_like(v)
    v = v.copy()
    v[bad] = v[~bad].min() - 1.0
    return v


def correlations(table: pd.DataFrame, truth: pd.Series, estimators: Sequence[str] | None = None, *,
                 higher_is_better: bool = True, n_boot: int = 1000, seed: int = 0,
                 archs: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per estimator: ``n``, ``spearman`` / ``kendall`` with their bootstrap 95%
    intervals (``*_lo``, ``*_hi``, ``n_boot`` resamples), ``n_nonfinite``; over ``archs`` (default
    every row of ``table`` that ``truth`` has). ``truth`` is negated when lower is better."""
    names = [c for c in est.ESTIMATORS if c in table.columns] if estimators is None else list(estimators)
    t = table.set_index("arch")
    keep = [a for a in (t.index if archs is None else archs) if a in truth.index and a in t.index]
    if len(keep) < 3:
        raise ValueError(f"only {len(keep)} architectures have both an estimate and a ground truth")
    gt = truth.loc[keep].to_numpy(float) * (1.0 if higher_is_better else -1.0)
    rows = []
    for name in names:
        raw = t.loc[keep, name].to_numpy(float)
        x = _rankable(raw)
        row = {"estimator": name, "n": len(keep), "n_nonfinite": int((~np.isfinite(raw)).sum())}
        for stat_name, stat in (("spearman", metrics.spearman), ("kendall", metrics.kendall)):
            row[stat_name] = stat(x, gt)
            row[f"{stat_name}_lo"], row[f"{stat_name}_hi"] = (
                metrics.bootstrap_ci(x, gt, stat=stat, n_boot=n_boot, seed=seed) if n_boot else (np.nan, np.nan))
        rows.append(row)
    return pd.DataFrame(rows)


def search_in_sample(table: pd.DataFrame, truth: pd.Series, archs: Sequence[str], estimators: Sequence[str] | None = None,
                     *, higher_is_better: bool = True) -> pd.DataFrame:
    """The ground truth of the cell each estimator ranks first in ``archs`` (``top1``) and the best
    of its ten first (``top10``; all, in a sample of fewer), beside random search's expectations and the best of the sample."""
    names = [c for c in est.ESTIMATORS if c in table.columns] if estimators is None else list(estimators)
    t = table.set_index("arch")
    gt = truth.loc[list(archs)].to_numpy(float)
    sign = 1.0 if higher_is_better else -1.0  # estimators are higher-is-better; top_k orders both as gt
    k10 = min(10, len(gt))
    rows = []
    for name in names:
        x = sign * _rankable(t.loc[list(archs), name].to_numpy(float))
        rows.append({"estimator": name, "top1": metrics.top_k(x, gt, 1, higher_is_better),
                     "top10": metrics.top_k(x, gt, k10, higher_is_better)})
    out = pd.DataFrame(rows)
    out["random_top1"] = metrics.random_top_k_expectation(gt, 1, higher_is_better)
    out["random_top10"] = metrics.random_top_k_expectation(gt, k10, higher_is_better)
    out["best_of_sample"] = gt.max() if higher_is_better else gt.min()
    return out


def nb201_full_correlations(num_classes: int = 10, *, table: pd.DataFrame | None = None,
                            datasets: Sequence[str] = NB201_DATASETS, n_boot: int = 1000) -> pd.DataFrame:
    """Correlations of the full-scale table with the real 200-epoch test accuracies, over all
    valid cells, over the paper's 1k sample (``space.sample_many(1000, seed=0)``, with its search
    outcome, ``search_in_sample``) and over all 15,625 cells (the published values' set)."""
    space = get_space("nb201")
    table = nb201_full_scale(num_classes) if table is None else table
    valid = {str(a) for a in space.enumerate()}
    sample = [str(a) for a in space.sample_many(NB201_SAMPLE["n"], seed=NB201_SAMPLE["seed"])]
    everything = [str(a) for a in space.all_cells()]
    parts = []
    for dataset in datasets:
        truth = study.nb201_real_table(dataset, "test_200ep")
        all_valid = [a for a in table["arch"] if a in valid]
        for subset, archs in ((ALL_VALID, all_valid), (SAMPLE_1K, sample), (ALL_CELLS, everything)):
            if not set(archs) <= set(table["arch"]):
                continue  # a partial table (n_cells) lacks part of the sample
            c = correlations(table, truth, archs=archs, n_boot=n_boot)
            if subset == SAMPLE_1K:
                c = c.merge(search_in_sample(table, truth, archs), on="estimator")
            parts.append(c.assign(num_classes=num_classes, dataset=dataset, subset=subset))
    if not parts:
        raise ValueError("the table covers neither all valid cells nor the paper's 1k sample")
    out = pd.concat(parts, ignore_index=True)
    first = ["num_classes", "dataset", "subset", "estimator"]
    return out[first + [c for c in out.columns if c not in first]]


def published_comparison(full_correlations: pd.DataFrame) -> pd.DataFrame:
    """Our Spearman over all 15,625 cells beside the published values (``paper.published_free_estimators``)
    of the same estimator and dataset; ``ours_abs`` is compared where the source prints absolute
    values. Ours rank a non-finite score last; the zero-cost notebook omitted such cells."""
    pub = published_free_estimators()
    ours = full_correlations[full_correlations["subset"] == ALL_CELLS]
    out = pub.merge(ours[["num_classes", "dataset", "estimator", "spearman", "spearman_lo", "spearman_hi"]],
                    on=["dataset", "estimator"], how="left")
    out["ours_abs"] = out["spearman"].abs()
    out["ours_minus_published"] = np.where(out["statistic"] == "abs_spearman", out["ours_abs"], out["spearman"]) \
        - out["value"]
    return out


def cpu_ground_truth(space_name: str, profile: str = "cpu") -> pd.Series:
    """The supernets' ground truth: mean validation result over the profile's ground-truth seeds
    (``study.ground_truth``, committed under ``results/groundtruth/``); never trains."""
    gt = stored_or_none(study.ground_truth, space_name=space_name, profile=profile, progress=False)
    if gt is None:
        raise LookupError(f"no complete ground truth for {space_name}/{profile}; build it with: "
                          f"nas-study gt {space_name} --profile {profile}")
    return study.mean_ground_truth(gt, "valid", seeds=budget(space_name, profile).gt_seeds)


def cost_per_arch(table: pd.DataFrame, estimators: Sequence[str] | None = None) -> pd.Series:
    """Mean CPU seconds per architecture of each estimator: its own seconds, plus building the
    network for those that need one (params and FLOPs are analytic)."""
    names = [c for c in est.ESTIMATORS if c in table.columns] if estimators is None else list(estimators)
    build = table["build_cpu_s"].to_numpy(float)
    return pd.Series({n: float(np.mean(table[f"cpu_s_{n}"].to_numpy(float)
                                       + (0.0 if n in ("params", "flops") else build))) for n in names},
                     name="cpu_s_per_arch")


def supernet_seconds_per_arch(space_name: str, profile: str, epochs: int, **kw) -> float:
    """Seconds per architecture of a stored supernet ranking (``study.supernet_scores`` with the
    same arguments): its recorded time, training and scoring together, over the architectures it
    scored. Wall seconds of a one-thread computation (comparable to the estimators' CPU seconds
    on a core nothing else uses); StoreError if it is not stored."""
    meta = study.store().meta("supernets", study.supernet_result_name(space_name, profile, epochs, **kw))
    return float(meta["wall_time_s"]) / int(meta["rows"])


def mean_rank_hybrid(first: pd.Series, second: pd.Series, *, first_higher_is_better: bool = True,
                     second_higher_is_better: bool = True) -> pd.Series:
    """The mean of two rankings of the same architectures (index: arch), as fractional ranks in
    (0, 1], higher = better (a supernet's rank combined with an estimator's, say); non-finite
    values rank last. Only architectures in both are kept."""
    keep = [a for a in first.index if a in second.index]
    if not keep:
        raise ValueError("the two rankings share no architecture")

    def frac(s: pd.Series, hib: bool) -> pd.Series:
        v = _rankable(s.loc[keep].to_numpy(float) * (1.0 if hib else -1.0))
        return pd.Series(v, index=keep).rank(method="average", pct=True)

    return ((frac(first, first_higher_is_better) + frac(second, second_higher_is_better)) / 2).rename("mean_rank")


def cpu_correlations(space_name: str, profile: str = "cpu", *, table: pd.DataFrame | None = None,
                     n_boot: int = 1000) -> pd.DataFrame:
    """Each estimator's correlation with the cpu ground truth on the architectures that have
    one, beside its CPU seconds per architecture."""
    table = cpu_scale(space_name, profile) if table is None else table
    truth = cpu_ground_truth(space_name, profile)
    c = correlations(table, truth, higher_is_better=get_space(space_name).higher_is_better, n_boot=n_boot)
    return c.merge(cost_per_arch(table).rename_axis("estimator").reset_index(), on="estimator").assign(
        space=space_name, profile=profile)


__all__ = ["EXPERIMENT", "BATCH_SIZE", "nb201_full_config", "build_estimator_table", "nb201_full_scale", "cpu_scale",
           "correlations", "search_in_sample", "nb201_full_correlations", "published_comparison", "cpu_ground_truth", "cost_per_arch", "supernet_seconds_per_arch", "mean_rank_hybrid",
           "cpu_correlations"]
