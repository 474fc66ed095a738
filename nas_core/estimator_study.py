"""Free estimators as study results: resumable tables, their cost, their correlation with ground truth.

Tables (``results/estimators/<name>.csv`` through the results store, with provenance)
    ``nb201_full_scale(num_classes)`` (all 15,625 NAS-Bench-201 cells at the paper's network)
    and ``cpu_scale(space)`` (each space's evaluated sample): computed and stored by
    ``estimator_tables`` (its docstring says how), one layer down so that ``regime`` can
    schedule them; every name of it is re-exported here.

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

Supernets beside the estimators (``ladder_correlations``, ``top_rung_comparison``)
    Every stored supernet of a space's ladder is read through the store (never trained here)
    and correlated with the same ground truth as the estimators; its cost per architecture is
    its recorded time, training and scoring, amortised over the architectures it scored
    (``supernet_seconds``). At the top stored rung the supernet, the best free estimator and
    their mean-rank hybrid are compared by a paired bootstrap (``paired_spearman``), which the
    chapter's verdicts read (``supernet_vs_estimator_verdict``, ``hybrid_verdict``).

Correlations (``correlations``)
    Spearman and Kendall between an estimator and the ground truth oriented so that higher is
    better (perplexity negated), with percentile-bootstrap 95% intervals (``metrics``). A
    non-finite estimate (jacob_cov of a cell whose output is cut off, say) ranks last, as
    NAS-Bench-Suite-Zero's -1e8; ``n_nonfinite`` counts them.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from . import estimators as est
from . import metrics, study
from .paper import published_free_estimators
from .analysis import stored_seed_ladder
from .profiles import budget
from .regime import FALLBACK_RATES, LADDER_PLAN
from .spaces import get_space
from .store import stored_or_none
# the tables themselves, one layer down (regime schedules them); re-exported, so that notebooks,
# tests and benchmarks/ keep calling estimator_study.nb201_full_scale, .WORKER_ENV, ._setup ...
from .estimator_tables import (BATCH_SEED, BATCH_SIZE, BUILDERS, EXPERIMENT, FULL_SCALE_CPU_S_PER_CELL, INIT_SEED,  # noqa: F401
                               WORKER_ENV, _WORKER, _columns, _init_worker, _params, _setup, _stored_table, _task,
                               _worker_env, build_estimator_table, cpu_scale, full_scale_status, nb201_any_cell,
                               nb201_full_config, nb201_full_scale)
from .verdicts import AGREES, DISAGREES, INCONCLUSIVE, Verdict, across_seeds, fmt_ci, interval_call

NB201_DATASETS = ("cifar10", "cifar100", "imagenet16-120")
NB201_SAMPLE = dict(n=1000, seed=0)  # the paper's 1k evaluated cells (profiles: paper n_eval_archs)
ALL_VALID, SAMPLE_1K = "all valid cells", "paper's 1k sample"
ALL_CELLS = "all 15,625 cells"  # as the zero-cost authors correlate (disconnected cells included)


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


# ---------------------------------------------------------------- supernets beside the estimators

HYBRID = "hybrid (mean rank)"
BEYOND_ITEM = "Beyond the paper: supernet vs free estimators"  # the Verdicts' item (not one of the paper's)


def ladder_rungs(space_name: str, profile: str = "cpu") -> list[int]:
    """Every rung a supernet of the space may be stored at: the profile's ladder and, at ``cpu``,
    the rungs ``regime.LADDER_PLAN`` extends it with (a stored extension is as much a supernet of the
    ladder as the profile's rungs; only the stored ones are read)."""
    rungs = set(budget(space_name, profile).ladder)
    if profile == "cpu":
        rungs |= {r.epochs for r in LADDER_PLAN if r.space == space_name}
    return sorted(rungs)


def supernet_seconds(meta: Mapping[str, Any], score_s_per_arch: float | None = None) -> tuple[float, str]:
    """(seconds, how) a stored supernet result took, training and scoring together, from its
    provenance (``store`` meta): ``wall_time_s``, unless its per-epoch training record
    (``extra.train_history``, ``wall_s`` per epoch) sums to more, which happens when training
    resumed from a checkpoint in a later process (the wall time counts that last process only);
    then the recorded epochs plus ``score_s_per_arch`` for each scored architecture (the
    scoring is not recorded apart). One-thread wall seconds."""
    wall = float(meta["wall_time_s"])
    hist = (meta.get("extra") or {}).get("train_history") or []
    train = float(sum(r["wall_s"] for r in hist)) if hist else None
    if train is None:
        return wall, "provenance wall time (training and scoring)"
    if wall >= train:
        return wall, "provenance wall time (training and scoring)"
    if score_s_per_arch is None:
        raise ValueError(f"{meta.get('name')}: training resumed over processes; a scoring rate is needed")
    n = int(meta["rows"])
    return train + n * score_s_per_arch, (f"resumed: {train:.0f} s of recorded epochs + {n} x {score_s_per_arch:.2f} s "
                                          "scoring (the space's median recorded rate)")


def scoring_rate(metas: Sequence[Mapping[str, Any]], fallback: float) -> float:
    """Median scoring seconds per architecture over the results that ran in one process (wall time
    above their recorded epochs): ``(wall - epochs) / rows``; ``fallback`` where none did."""
    rates = []
    for m in metas:
        hist = (m.get("extra") or {}).get("train_history") or []
        if hist and float(m["wall_time_s"]) >= (t := sum(r["wall_s"] for r in hist)):
            rates.append((float(m["wall_time_s"]) - t) / int(m["rows"]))
    return float(np.median(rates)) if rates else float(fallback)


def supernet_ladder(space_name: str, profile: str = "cpu", *, compute: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every stored supernet of the space's ladder (``analysis.stored_seed_ladder`` over
    ``ladder_rungs``: the chapters' supernets, uniform sampling, the profile's configuration):
    (scores with columns epochs, seed, arch, score; one row per supernet with ``result``,
    ``n_scored``, ``seconds``, ``cpu_s_per_arch`` = seconds / architectures scored, ``cost_how``).
    ``compute``: first train the profile's ladder at seed 0 where it is missing
    (``study.supernet_scores``, as the Figure 1 chapter does; refused under NAS_CORE_CACHED_ONLY)."""
    if compute:
        for e in budget(space_name, profile).ladder:
            study.supernet_scores(space_name, profile, e, progress=False)
    scores = stored_seed_ladder(space_name, profile, ladder_rungs(space_name, profile))
    store = study.store()
    metas = {}
    for (e, s) in scores[["epochs", "seed"]].drop_duplicates().itertuples(index=False):
        name = study.supernet_result_name(space_name, profile, int(e), seed=int(s))
        metas[int(e), int(s)] = store.meta("supernets", name)
    rate = scoring_rate(list(metas.values()), FALLBACK_RATES[space_name][1])
    rows = []
    for (e, s), meta in sorted(metas.items()):
        seconds, how = supernet_seconds(meta, rate)
        rows.append({"epochs": e, "seed": s, "result": meta["name"], "n_scored": int(meta["rows"]),
                     "seconds": seconds, "cpu_s_per_arch": seconds / int(meta["rows"]), "cost_how": how})
    return scores, pd.DataFrame(rows, columns=["epochs", "seed", "result", "n_scored", "seconds", "cpu_s_per_arch",
                                               "cost_how"])


def ladder_correlations(space_name: str, profile: str = "cpu", *, n_boot: int = 1000, seed: int = 0,
                        compute: bool = False) -> pd.DataFrame:
    """Each stored supernet's Spearman with the same ground truth as the estimators
    (``cpu_ground_truth``; perplexity negated on both sides), with the same bootstrap as
    ``correlations``, beside its seconds per architecture (``supernet_ladder``, with ``compute``)."""
    scores, costs = supernet_ladder(space_name, profile, compute=compute)
    truth = cpu_ground_truth(space_name, profile)
    hib = get_space(space_name).higher_is_better
    rows = []
    for (e, s), g in scores.groupby(["epochs", "seed"], sort=True):
        sn = g.set_index("arch")["score"]
        keep = [a for a in sn.index if a in truth.index]
        x = sn.loc[keep].to_numpy(float) * (1.0 if hib else -1.0)
        y = truth.loc[keep].to_numpy(float) * (1.0 if hib else -1.0)
        lo, hi = metrics.bootstrap_ci(x, y, n_boot=n_boot, seed=seed) if n_boot else (np.nan, np.nan)
        rows.append({"epochs": int(e), "seed": int(s), "n": len(keep), "spearman": metrics.spearman(x, y),
                     "spearman_lo": lo, "spearman_hi": hi})
    out = pd.DataFrame(rows, columns=["epochs", "seed", "n", "spearman", "spearman_lo", "spearman_hi"])
    return out.merge(costs, on=["epochs", "seed"]).assign(space=space_name, profile=profile)


def top_rung(space_name: str, profile: str = "cpu", *, min_seeds: int = 1) -> int | None:
    """The most epochs at which at least ``min_seeds`` supernets (seeds) of the ladder are stored
    (``supernet_ladder``); None if no rung has that many."""
    return _top_with(_seeds_per_rung(space_name, profile), min_seeds)


def _seeds_per_rung(space_name: str, profile: str) -> pd.Series:
    _, costs = supernet_ladder(space_name, profile)
    return costs.groupby("epochs")["seed"].nunique()


def _top_with(counts: pd.Series, min_seeds: int) -> int | None:
    counts = counts[counts >= min_seeds]
    return int(counts.index.max()) if len(counts) else None


def verdict_rung(space_name: str, profile: str = "cpu") -> int | None:
    """The rung the chapter's verdicts read: the most epochs with at least two stored seeds (so that
    the verdict combines seeds, as every ladder verdict of the book does), else the top stored rung
    (a ladder with one seed per rung, e.g. at the smoke profile); None if nothing is stored."""
    counts = _seeds_per_rung(space_name, profile)  # the stored ladder read once
    return _top_with(counts, 2) or _top_with(counts, 1)


def best_estimator(correlations_table: pd.DataFrame) -> str:
    """The estimator of highest Spearman (finite) in a ``cpu_correlations`` table. Chosen on the
    same ground truth it is then compared on, so its correlation is an optimistic one."""
    t = correlations_table.dropna(subset=["spearman"])
    if t.empty:
        raise ValueError("no estimator has a finite Spearman correlation")
    return str(t.loc[t["spearman"].idxmax(), "estimator"])


def paired_spearman(rankings: Mapping[str, pd.Series], truth: pd.Series, pairs: Sequence[tuple[str, str]], *,
                    n_boot: int = 1000, seed: int = 0, level: float = 0.95) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Spearman of each ranking (higher = better, already oriented) with ``truth`` (oriented) and the
    differences ``a - b`` of ``pairs``, with percentile-bootstrap intervals from one set of
    resamples of the architectures all share: every statistic sees the same architectures, so
    a difference's interval is paired. Non-finite values rank last. Returns (per ranking:
    name, n, spearman, lo, hi; per pair: a, b, diff, lo, hi)."""
    keep = truth.index
    for r in rankings.values():
        keep = keep.intersection(r.index)
    if len(keep) < 3:
        raise ValueError(f"only {len(keep)} architectures are in every ranking and the ground truth")
    g = truth.loc[keep].to_numpy(float)
    x = {k: _rankable(r.loc[keep].to_numpy(float)) for k, r in rankings.items()}
    point = {k: metrics.spearman(v, g) for k, v in x.items()}
    rng = np.random.default_rng(seed)
    boot = {k: [] for k in x}
    for _ in range(n_boot):
        i = rng.integers(0, len(g), len(g))
        for k, v in x.items():
            boot[k].append(metrics.spearman(v[i], g[i]))
    boot = {k: np.asarray(v, float) for k, v in boot.items()}
    a = (1 - level) / 2

    def interval(vals: np.ndarray) -> tuple[float, float]:
        vals = vals[np.isfinite(vals)]  # a resample with a constant ranking carries no information
        return (float(np.quantile(vals, a)), float(np.quantile(vals, 1 - a))) if len(vals) else (np.nan, np.nan)

    singles = pd.DataFrame([{"ranking": k, "n": len(keep), "spearman": point[k],
                             **dict(zip(("spearman_lo", "spearman_hi"), interval(boot[k]) if n_boot else (np.nan,) * 2))}
                            for k in x])
    diffs = pd.DataFrame([{"a": p, "b": q, "diff": point[p] - point[q],
                           **dict(zip(("diff_lo", "diff_hi"), interval(boot[p] - boot[q]) if n_boot else (np.nan,) * 2))}
                          for p, q in pairs])
    return singles, diffs


def hybrid_comparison(supernet: pd.Series, estimator: pd.Series, truth: pd.Series, *, supernet_higher_is_better: bool,
                      truth_higher_is_better: bool, n_boot: int = 1000, seed: int = 0) -> dict:
    """The supernet, the estimator and their mean-rank hybrid (``mean_rank_hybrid``, over the
    architectures all three share) against the ground truth, paired (``paired_spearman``):
    Spearman of each and the differences supernet - estimator, hybrid - supernet,
    hybrid - estimator. If the hybrid beats both, the two rankings carry different information."""
    sign_t = 1.0 if truth_higher_is_better else -1.0
    keep = [a for a in supernet.index if a in estimator.index and a in truth.index]
    sn = supernet.loc[keep] * (1.0 if supernet_higher_is_better else -1.0)
    e = estimator.loc[keep].astype(float)
    h = mean_rank_hybrid(sn, e)
    singles, diffs = paired_spearman({"supernet": sn, "estimator": e, "hybrid": h}, truth.loc[keep] * sign_t,
                                     [("supernet", "estimator"), ("hybrid", "supernet"), ("hybrid", "estimator")],
                                     n_boot=n_boot, seed=seed)
    out = {"n": len(keep)}
    for r in singles.itertuples(index=False):
        out.update({f"{r.ranking}_spearman": r.spearman, f"{r.ranking}_lo": r.spearman_lo, f"{r.ranking}_hi": r.spearman_hi})
    for r in diffs.itertuples(index=False):
        k = f"{r.a}_minus_{r.b}"
        out.update({k: r.diff, f"{k}_lo": r.diff_lo, f"{k}_hi": r.diff_hi})
    return out


def top_rung_comparison(space_name: str, profile: str = "cpu", *, epochs: int | None = None, n_boot: int = 1000,
                        seed: int = 0, estimator_correlations: pd.DataFrame | None = None,
                        table: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per stored seed of the supernet at ``epochs`` (default: the top stored rung of
    ``supernet_ladder``), the supernet against the best free estimator (``best_estimator``) and
    their hybrid (``hybrid_comparison``), with both costs per architecture. Nothing is computed
    but the statistics: the tables and supernets are read from the store."""
    table = cpu_scale(space_name, profile) if table is None else table
    corr = cpu_correlations(space_name, profile, table=table, n_boot=0) if estimator_correlations is None \
        else estimator_correlations
    name = best_estimator(corr)
    scores, costs = supernet_ladder(space_name, profile)
    if scores.empty:
        raise LookupError(f"no stored supernet of {space_name}/{profile}")
    epochs = int(scores["epochs"].max()) if epochs is None else int(epochs)
    truth = cpu_ground_truth(space_name, profile)
    sp = get_space(space_name)
    estimator = table.set_index("arch")[name].astype(float)
    est_cost = float(cost_per_arch(table, [name]).iloc[0])
    rows = []
    for s, g in scores[scores["epochs"] == epochs].groupby("seed", sort=True):
        c = hybrid_comparison(g.set_index("arch")["score"], estimator, truth,
                              supernet_higher_is_better=sp.higher_is_better,
                              truth_higher_is_better=sp.higher_is_better, n_boot=n_boot, seed=seed)
        cost = costs[(costs["epochs"] == epochs) & (costs["seed"] == s)].iloc[0]
        rows.append({"space": space_name, "profile": profile, "epochs": epochs, "seed": int(s),
                     "best_estimator": name, **c, "supernet_cpu_s_per_arch": float(cost["cpu_s_per_arch"]),
                     "estimator_cpu_s_per_arch": est_cost})
    if not rows:
        raise LookupError(f"no stored supernet of {space_name}/{profile} at {epochs} epochs")
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- verdicts

def _ci_text(row, key: str) -> str:
    return fmt_ci(row[key], row[f"{key}_lo"], row[f"{key}_hi"], signed=True)


def supernet_vs_estimator_verdict(comparison: pd.DataFrame, space_name: str) -> Verdict:
    """Does the top-rung supernet rank better than the best free estimator? Per seed of
    ``top_rung_comparison``: ``agrees`` when the paired interval of Spearman(supernet) -
    Spearman(estimator) lies above 0, ``disagrees`` below 0, ``inconclusive`` when it holds 0; the
    seeds' calls combined by ``verdicts.across_seeds`` (a call holds when every seed gives it).
    Key number: seed 0's difference (or the first seed's)."""
    rows = list(comparison.itertuples(index=False))
    if not rows:
        raise ValueError("no comparison to judge")
    calls = [interval_call(r.supernet_minus_estimator_lo, r.supernet_minus_estimator_hi, +1) for r in rows]
    call = across_seeds(calls)
    first = comparison.iloc[0]
    title = get_space(space_name).title
    per = "; ".join(
        f"seed {int(r['seed'])}: supernet {r['supernet_spearman']:.2f} vs {r['best_estimator']} "
        f"{r['estimator_spearman']:.2f}, difference {_ci_text(r, 'supernet_minus_estimator')} ({c})"
        for (_, r), c in zip(comparison.iterrows(), calls))
    meaning = {"agrees": "yes: the supernet ranks better", "disagrees": "no: the free estimator ranks better",
               "inconclusive": "not decided: the paired interval holds 0 on some seed, or the seeds differ"
               }.get(call, call)
    text = (f"**{title}**, does the {int(first['epochs'])}-epoch supernet rank better than the best free estimator "
            f"({first['best_estimator']}, chosen on this ground truth), on {int(first['n'])} architectures? {per}. "
            f"Cost per architecture: supernet {first['supernet_cpu_s_per_arch']:.3g} s, estimator "
            f"{first['estimator_cpu_s_per_arch']:.3g} CPU s. **{call}** ({meaning}).")
    numbers = {"supernet_spearman": (first["supernet_spearman"], first["supernet_lo"], first["supernet_hi"]),
               "estimator_spearman": (first["estimator_spearman"], first["estimator_lo"], first["estimator_hi"]),
               "supernet_minus_estimator": (first["supernet_minus_estimator"], first["supernet_minus_estimator_lo"],
                                            first["supernet_minus_estimator_hi"])}
    key = f"supernet - {first['best_estimator']} {_ci_text(first, 'supernet_minus_estimator')} (seed {int(first['seed'])})"
    return Verdict(text, call, item=BEYOND_ITEM, space=space_name, key=key, numbers=numbers)


def hybrid_call(row) -> str:
    """``agrees`` (the hybrid beats both) when both paired intervals, hybrid - supernet and
    hybrid - estimator, lie above 0; ``disagrees`` when either lies below 0 (one of the two alone
    ranks better); ``inconclusive`` otherwise."""
    calls = [interval_call(row[f"{k}_lo"], row[f"{k}_hi"], +1) for k in ("hybrid_minus_supernet", "hybrid_minus_estimator")]
    if all(c == AGREES for c in calls):
        return AGREES
    if DISAGREES in calls:
        return DISAGREES
    return INCONCLUSIVE


def hybrid_verdict(comparison: pd.DataFrame, space_name: str) -> Verdict:
    """Does the mean-rank hybrid of the top-rung supernet and the best free estimator rank better
    than both (``hybrid_call`` per seed, combined by ``verdicts.across_seeds``)?"""
    calls = [hybrid_call(r) for _, r in comparison.iterrows()]
    call = across_seeds(calls)
    first = comparison.iloc[0]
    per = "; ".join(f"seed {int(r['seed'])}: hybrid {r['hybrid_spearman']:.2f}, minus supernet "
                    f"{_ci_text(r, 'hybrid_minus_supernet')}, minus {r['best_estimator']} "
                    f"{_ci_text(r, 'hybrid_minus_estimator')} ({c})" for (_, r), c in zip(comparison.iterrows(), calls))
    meaning = {"agrees": "yes: the two carry different information", "disagrees": "no: one of the two alone ranks better",
               "inconclusive": "not decided on every seed"}.get(call, call)
    text = (f"**{get_space(space_name).title}**, does the mean rank of the {int(first['epochs'])}-epoch supernet and "
            f"{first['best_estimator']} rank better than both? {per}. **{call}** ({meaning}).")
    numbers = {"hybrid_spearman": (first["hybrid_spearman"], first["hybrid_lo"], first["hybrid_hi"]),
               **{k: (first[k], first[f"{k}_lo"], first[f"{k}_hi"])
                  for k in ("hybrid_minus_supernet", "hybrid_minus_estimator")}}
    key = (f"hybrid - supernet {_ci_text(first, 'hybrid_minus_supernet')}, hybrid - estimator "
           f"{_ci_text(first, 'hybrid_minus_estimator')} (seed {int(first['seed'])})")
    return Verdict(text, call, item=BEYOND_ITEM + " (hybrid)", space=space_name, key=key, numbers=numbers)


def verdict_summary(comparisons: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per space (``top_rung_comparison`` tables by space): the top rung, the best
    estimator, the three Spearman correlations and the supernet - estimator difference (seed 0,
    or the first stored seed, with intervals), both costs, and both verdicts' calls over the
    rung's seeds."""
    rows = []
    for space_name, c in comparisons.items():
        r = c.iloc[0]
        ci = lambda k, lo, hi, signed=False: fmt_ci(r[k], r[lo], r[hi], signed=signed)  # noqa: E731
        rows.append({"space": get_space(space_name).title, "supernet epochs": int(r["epochs"]),
                     "seeds": ", ".join(str(int(s)) for s in c["seed"]), "n": int(r["n"]),
                     "best estimator": r["best_estimator"],
                     "estimator": ci("estimator_spearman", "estimator_lo", "estimator_hi"),
                     "supernet": ci("supernet_spearman", "supernet_lo", "supernet_hi"),
                     "hybrid": ci("hybrid_spearman", "hybrid_lo", "hybrid_hi"),
                     "supernet - estimator": ci("supernet_minus_estimator", "supernet_minus_estimator_lo",
                                                "supernet_minus_estimator_hi", True),
                     "supernet s/arch": r["supernet_cpu_s_per_arch"], "estimator CPU s/arch": r["estimator_cpu_s_per_arch"],
                     "supernet better?": supernet_vs_estimator_verdict(c, space_name).call,
                     "hybrid beats both?": hybrid_verdict(c, space_name).call})
    return pd.DataFrame(rows).set_index("space")


__all__ = ["EXPERIMENT", "BATCH_SIZE", "nb201_full_config", "build_estimator_table", "nb201_full_scale", "cpu_scale",
           "correlations", "search_in_sample", "nb201_full_correlations", "published_comparison", "cpu_ground_truth",
           "cost_per_arch", "mean_rank_hybrid", "cpu_correlations", "ladder_rungs", "supernet_seconds", "scoring_rate",
           "supernet_ladder", "ladder_correlations", "top_rung", "verdict_rung", "best_estimator", "paired_spearman",
           "hybrid_comparison", "top_rung_comparison", "supernet_vs_estimator_verdict", "hybrid_call", "hybrid_verdict",
           "verdict_summary"]
