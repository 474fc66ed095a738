"""Search-space pruning: paper section 3.3, Figures 5, 6, 17 and 18.

The paper prunes a search space in three ways and asks whether weight sharing
works better in what is left:

- **optimistic**: remove the architectures with the worst ground truth (keep the
  best ``1/f`` for a pruning factor ``f``);
- **random**: remove a random part of the space (keep a random ``1/f``);
- **supernet-guided**: remove the architectures the supernet of the unpruned
  space scores worst (keep its best ``1/f``): the only one of the three a NAS
  algorithm can actually run.

At CPU scale the "space" of Figure 5 is the fixed sample of architectures that
has ground truth (``study.eval_sample`` with the profile's ``n_gt_archs``): a
``SubsetSpace``. Every supernet of a sweep samples only from its pruned subset
(``train_supernet`` draws paths with ``space.sample``) and scores exactly that
subset. All three prunings are nested: the subset kept at factor ``2f`` lies
inside the one kept at ``f`` (random pruning keeps a prefix of one seeded
permutation), so the curves differ by pruning only, not by draw-to-draw noise.
Subsets keep the order of the fixed sample, so equal subsets are equal spaces:
factor 1 is one space shared by the three methods and trained once per seed.

Figure 6's DARTS-CIFAR10 and ProxylessNAS panels prune *around a known good
architecture* (DARTS's second-order cell, ProxylessNAS-GPU): all but ``n_free``
choice blocks (DARTS, via ``DartsCnnSpace.fix_blocks`` with every input fixed)
or layers (ProxylessNAS, drawn among its 15 skippable layers) are fixed to the
gold architecture's choice, giving spaces of ``7 ** n_free`` architectures.

Scores follow ``space.higher_is_better`` throughout (accuracy up, DARTS-PTB
perplexity down). Every trained supernet is a table in the results store
(``results/pruning/``) keyed by its space, seed, epochs, network and recipe;
the sweep tables are computed from those in seconds.

Two budgets: the sweep's own (``default_epochs``; 8 epochs on the NAS-Benches at ``cpu``, where
the unpruned supernet does not rank) and the trained-budget families (``trained_jobs``: the
budget where the ladder's unpruned supernet ranks), which ``regime`` computes and the chapter
reads where stored (``trained_family``).
"""
from __future__ import annotations

import dataclasses
import hashlib
import math
import numbers
import random
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from . import metrics, paper, study, verdicts
from .groundtruth import build_ground_truth
from .parallel import compute_missing
from .profiles import PROFILES, budget, check_profile
from .spaces import SPACE_NAMES, get_space
from .spaces.gold import AROUND_SPACES, GOLD, GOLD_NAMES, gold_architecture  # noqa: F401  (notebooks read them here)
from .store import result_name, stored_or_none
from .training import recipe_for

METHODS = ("optimistic", "random", "guided")
METHOD_LABELS = {"optimistic": "optimistic", "random": "random", "guided": "supernet-guided"}

# Pruning factors per profile (the first must be 1: the unpruned sample). The smoke sample
# holds 8 architectures, the cpu one 300 (nb201, nb101) or 60 (DARTS spaces), the paper's 1000.
DEFAULT_FACTORS = {"smoke": (1, 2), "cpu": (1, 2, 4, 8), "paper": (1, 2, 4, 8, 16, 32)}
# Spaces with a ground-truth sample, where Figure 5's sweep and Figures 17-18 apply (each says so:
# ``pruning_sweep``; the paper's Figure 5 shows NB-101 and NB-201, 17-18 add DARTS-CIFAR10 and DARTS-PTB).
SWEEP_SPACES = tuple(n for n in SPACE_NAMES if get_space(n).pruning_sweep)
# The gold architecture of each space Figure 6 prunes around (6b, 6c): the space's ``gold`` (GOLD: a view).
# Free choice blocks / layers of the spaces around the gold architecture (7 ** n architectures).
DEFAULT_FREE = {"smoke": (0, 1), "cpu": (0, 1, 2, 3), "paper": (0, 1, 2, 3, 4, 5, 6)}
# Stand-alone trainings per DARTS pruned space for Figure 6a (the paper: 10 random architectures).
DEFAULT_AROUND_GT = {"smoke": 1, "cpu": 3, "paper": 10}


def _budget_fact(field: str) -> dict:
    """``{(space, profile): value}`` of a pruning field of the spaces' budgets, where one is set:
    a read-only view of the one place each lives (``Budget.pruning_epochs`` ...)."""
    return {(s, p): getattr(budget(s, p), field) for p in PROFILES for s in SPACE_NAMES
            if getattr(budget(s, p), field) is not None}


# The sweeps' supernet epochs where a space's budget pins them (``Budget.pruning_epochs``): the
# paper's 2k on DARTS-CIFAR10 (section 3.3), the 8 of the cpu NAS-Bench ladders the sweeps were
# computed on. Views, for notebooks; ``default_epochs`` reads the budget.
PINNED_EPOCHS = _budget_fact("pruning_epochs")
PAPER_EPOCHS = {k: e for k, e in PINNED_EPOCHS.items() if k[1] == "paper"}
# Precision of the best / worst fractions (Figure 17).
FRACTIONS = (0.1, 0.3)

# Numbers the paper states in section 3.3 (labelled "paper" wherever they are shown), transcribed
# in paper.py: Figure 6's best supernet accuracies and Figure 17's precisions.
PAPER_FIGURE6 = paper.FIGURE6
PAPER_PRECISION = paper.PRECISION
# The paper's item each claim of ``verdict_table`` belongs to (the results page groups by it).
CLAIM_ITEMS = {"worst_vs_best": "Figure 17", "quality_top10": "Figure 6"}

PAPER_CLAIMS = {
    "optimistic_top10": "optimistic pruning: top-10 significantly better",
    "random_top10": "random pruning: meagre improvement of top-10",
    "optimistic_corr": "optimistic pruning: correlation with ground truth drops",
    "tracks_random": "supernet top-10 improves at the same pace as random-search top-10",
    "optimistic_sn": "a correctly pruned smaller space trains a better supernet",
    "worst_vs_best": "the supernet finds the worst 30% more precisely than the best 30% (NB-101: ~70% vs ~50%)",
    "guided": "a supernet-guided pruning keeps a better space than a random one",
    "quality_top10": "a pruned space of better mean ground truth gives a better supernet top-10 (Figure 6a)",
}


# ---------------------------------------------------------------- pruning factors and budgets

def default_factors(profile: str) -> list[int]:
    return list(DEFAULT_FACTORS[check_profile(profile)])


def default_free(profile: str) -> list[int]:
    return list(DEFAULT_FREE[check_profile(profile)])


def default_around_gt(profile: str) -> int:
    return DEFAULT_AROUND_GT[check_profile(profile)]


def default_epochs(space_name: str, profile: str) -> int:
    """Supernet epochs when the notebook's ``epochs`` is None: the middle rung of the profile's
    epoch ladder, the lower one of two (cpu: 8 for NB-101/201, 4 for DARTS-CIFAR10,
    ProxylessNAS and DARTS-PTB; smoke: 1; paper: 1000 for NB-101 as Table 3, 256 for NB-201),
    or the paper's stated budget (2k epochs on DARTS-CIFAR10 at paper scale). A sweep trains
    one supernet per pruned space and seed, so this rung sets most of its cost."""
    b = budget(space_name, profile)
    if b.pruning_epochs is not None:
        return b.pruning_epochs
    return int(b.ladder[(len(b.ladder) - 1) // 2])


def keep_count(n: int, factor) -> int:
    """How many of ``n`` architectures a pruning factor keeps: ``n / factor`` rounded half up."""
    if isinstance(factor, bool) or not isinstance(factor, numbers.Real) or not math.isfinite(factor):
        raise ValueError(f"a pruning factor must be a finite number >= 1, got {factor!r}")
    if factor < 1:
        raise ValueError(f"a pruning factor must be >= 1 (how many times the space is downscaled), got {factor}")
    if n < 1:
        raise ValueError(f"cannot prune an empty set of architectures (n = {n})")
    return int(math.floor(n / factor + 0.5))


def check_factors(factors: Iterable, n_pool: int, min_archs: int = 2) -> list:
    """Validate a list of pruning factors for a pool of ``n_pool`` architectures.

    Each factor must be a number >= 1, the list must not repeat one and must start
    with 1 (the unpruned pool: supernet-guided pruning ranks with its supernets),
    and every factor must keep at least ``min_archs`` architectures (two are the
    least a correlation needs). Returns the factors sorted, as given (ints stay ints).
    """
    fs = list(factors)
    if not fs:
        raise ValueError("pruning_factors is empty; give e.g. [1, 2, 4, 8]")
    for f in fs:
        keep_count(max(n_pool, 1), f)  # type and range
    if len(set(fs)) != len(fs):
        raise ValueError(f"pruning factors repeat a value: {fs}")
    fs = sorted(fs)
    if fs[0] != 1:
        raise ValueError(f"pruning factors must include 1 (the unpruned pool, which supernet-guided pruning "
                         f"ranks with), got {fs}")
    for f in fs:
        k = keep_count(n_pool, f)
        if k < min_archs:
            raise ValueError(f"pruning factor {f} keeps {k} of {n_pool} architectures; at least {min_archs} are "
                             f"needed (factors up to {n_pool / (min_archs - 0.5):.3g} suit this pool)")
    return fs


# ---------------------------------------------------------------- the three prunings

def _ranked_keep(values: pd.Series, factor, higher_is_better: bool) -> list[str]:
    values = pd.Series(values)
    if values.index.has_duplicates:
        raise ValueError("architectures repeat in the table to prune")
    if values.isna().any():
        raise ValueError(f"{int(values.isna().sum())} architectures have no value to prune by")
    k = keep_count(len(values), factor)
    order = metrics.best_first(values.to_numpy(float), higher_is_better)[:k]
    kept = set(values.index[order])
    return [a for a in values.index if a in kept]  # pool order


def prune_optimistic(gt: pd.Series, factor, higher_is_better: bool = True) -> list[str]:
    """Keep the best ``1/factor`` of the pool by ground truth (``gt``: arch -> value), i.e.
    remove the worst. Returned in the pool's order; ties broken by pool order."""
    return _ranked_keep(gt, factor, higher_is_better)


def prune_guided(scores: pd.Series, factor, higher_is_better: bool = True) -> list[str]:
    """Keep the best ``1/factor`` of the pool by supernet score (arch -> score)."""
    return _ranked_keep(scores, factor, higher_is_better)


def prune_random(archs: Sequence, factor, seed: int = 0) -> list:
    """Keep a random ``1/factor`` of ``archs``, reproducibly for a ``seed``: the first
    ``keep_count`` of one seeded permutation, so larger factors keep subsets of smaller
    ones. Returned in the pool's order."""
    archs = list(archs)
    if len(set(archs)) != len(archs):
        raise ValueError("architectures repeat in the pool to prune")
    k = keep_count(len(archs), factor)
    perm = np.random.default_rng(seed).permutation(len(archs))
    kept = set(perm[:k].tolist())
    return [a for i, a in enumerate(archs) if i in kept]


def prune(method: str, pool: Sequence[str], factor, *, gt: pd.Series | None = None,
          scores: pd.Series | None = None, seed: int = 0, higher_is_better: bool = True) -> list[str]:
    """One pruned subset of ``pool`` (architecture strings) by ``method``."""
    pool = list(pool)
    if method == "optimistic":
        if gt is None:
            raise ValueError("optimistic pruning needs the ground truth of the pool")
        return prune_optimistic(gt.loc[pool], factor, higher_is_better)
    if method == "guided":
        if scores is None:
            raise ValueError("supernet-guided pruning needs the supernet scores of the pool")
        return prune_guided(scores.loc[pool], factor, higher_is_better)
    if method == "random":
        return prune_random(pool, factor, seed)
    raise ValueError(f"unknown pruning method {method!r}; choose one of: {', '.join(METHODS)}")


# ---------------------------------------------------------------- pruned spaces

def subset_space(space_name: str, archs: Sequence):
    """The ``SubsetSpace`` of these architectures (strings or objects) of a registered space."""
    space = get_space(space_name)
    return space.subset([space.parse(a) if isinstance(a, str) else a for a in archs])


def around_space(space_name: str, n_free: int, seed: int = 0, gold=None):
    """A space of ``7 ** n_free`` architectures around the gold architecture (Figure 6), built
    by the space (``around``: DARTS-CIFAR10 frees ``n_free`` of its 16 choice blocks' ops,
    ProxylessNAS ``n_free`` of its 15 skippable layers, drawn with ``seed``). ``n_free = 0`` is
    the gold architecture alone. Always contains the gold architecture.
    """
    if isinstance(n_free, bool) or not isinstance(n_free, numbers.Integral):
        raise ValueError(f"n_free must be an integer, got {n_free!r}")
    space = get_space(space_name)
    gold = gold_architecture(space_name) if gold is None else gold
    if space_name not in AROUND_SPACES:
        raise ValueError(f"cannot prune {space_name!r} around a gold architecture; spaces: {', '.join(AROUND_SPACES)}")
    return space.around(gold, n_free, seed)


def space_archs(space, n_max: int, seed: int = 0) -> list:
    """All architectures of a small space (in its order), else a fixed sample of ``n_max``."""
    if space.size() <= n_max:
        return list(space.enumerate())
    return space.sample_many(n_max, seed=seed)


# ---------------------------------------------------------------- supernets on a pruned space

def _sha(strings: Sequence[str]) -> str:
    return hashlib.sha256("\n".join(strings).encode()).hexdigest()


def _on_space(space_name, profile, space, archs, epochs, seed=0, space_id=None, cfg_overrides=None,
              recipe_overrides=None):
    """(result name, parameters, parsed architectures, network config, recipe) of one
    ``supernet_on_space`` call."""
    if epochs < 0:
        raise ValueError(f"epochs must be >= 0, got {epochs}")
    archs = [space.parse(a) if isinstance(a, str) else a for a in archs]  # strings: parsed and validated
    if not archs:
        raise ValueError("no architectures to score")
    for a in archs:
        space.validate(a)
    strs = [str(a) for a in archs]
    b = budget(space_name, profile)
    cfg = study.supernet_config(space_name, profile, cfg_overrides)
    recipe = dataclasses.replace(recipe_for(space_name, profile), **dict(recipe_overrides or {}))
    sid = dict(space_id) if space_id is not None else {"kind": "subset", "archs_sha256": _sha(strs)}
    params = dict(space=space_name, profile=profile, epochs=epochs, seed=seed, strategy="uniform",
                  pruned_space=sid, space_size=space.size(), n_archs=len(strs), archs_sha256=_sha(strs),
                  cfg=cfg, recipe=dataclasses.asdict(recipe), max_steps_per_epoch=b.max_steps_per_epoch)
    name = result_name(space_name, profile, f"size{space.size()}", epochs=epochs, seed=seed,
                       params_hash=study.short_hash(params))
    return name, params, archs, cfg, recipe


def on_space_name(space_name: str, profile: str, space, archs: Sequence, epochs: int, *, seed: int = 0,
                  space_id: Mapping | None = None, cfg_overrides: Mapping | None = None,
                  recipe_overrides: Mapping | None = None, **_) -> str:
    """The name in ``results/pruning/`` (and of the checkpoint in ``runs/pruning/``) of
    ``supernet_on_space`` with the same arguments."""
    return _on_space(space_name, profile, space, archs, epochs, seed, space_id, cfg_overrides, recipe_overrides)[0]


def supernet_on_space(space_name: str, profile: str, space, archs: Sequence, epochs: int, *, seed: int = 0,
                      space_id: Mapping | None = None, cfg_overrides: Mapping | None = None,
                      recipe_overrides: Mapping | None = None, progress: bool = False) -> pd.DataFrame:
    """Train (or load) one supernet that samples only from ``space`` and score ``archs`` on it.

    ``space`` is a pruned space of ``space_name`` (``SubsetSpace``, a restricted DARTS or
    ProxylessNAS space); ``space_id`` names it in the cache key (default: the ordered list of
    ``archs``, which for a subset space is the space itself). Returns columns ``arch``,
    ``score`` (accuracy % or perplexity), ``seed``, ``epochs``, ``space_size``, the
    supernet's name in the store ``supernet``, and the seconds spent ``train_s`` /
    ``score_s`` (repeated on every row). Cached in
    ``results/pruning/`` with provenance.
    """
    name, params, archs, cfg, recipe = _on_space(space_name, profile, space, archs, epochs, seed, space_id,
                                                 cfg_overrides, recipe_overrides)
    strs = [str(a) for a in archs]
    b = budget(space_name, profile)

    def compute() -> pd.DataFrame:
        scores, _, train_s, score_s = study.train_and_score(
            space, cfg, recipe, epochs, archs, checkpoint_path=study.runs_root() / "pruning" / f"{name}.pt",
            seed=seed, max_steps_per_epoch=b.max_steps_per_epoch, progress=progress)
        return pd.DataFrame({"arch": strs, "score": scores, "seed": seed, "epochs": epochs,
                             "space_size": space.size(), "supernet": name,
                             "train_s": round(train_s, 2), "score_s": round(score_s, 2)})

    return study.store().get_or_compute(
        "pruning", name, params, compute,
        command=f"nas-study run pruning --profile {profile}  # supernet {name}",
    )


# ---------------------------------------------------------------- Figure 5: the pruning sweep

def pruning_subsets(pool: Sequence[str], factors: Sequence, methods: Sequence[str], *, gt: pd.Series,
                    guide: pd.Series | None = None, pruning_seed: int = 0,
                    higher_is_better: bool = True) -> dict[tuple[str, object], list[str]]:
    """``(method, factor) -> kept architectures`` for every method and (validated) factor.
    ``guide``: supernet scores of the pool for supernet-guided pruning."""
    factors = check_factors(factors, len(pool))
    out = {}
    for method in methods:
        for f in factors:
            out[method, f] = (list(pool) if f == 1 else
                              prune(method, pool, f, gt=gt, scores=guide, seed=pruning_seed,
                                    higher_is_better=higher_is_better))
    return out


def pruning_sweep(space_name: str, profile: str, gt: pd.Series, *, factors: Sequence | None = None,
                  seeds: Sequence[int] = (0, 1, 2), epochs: int | None = None,
                  methods: Sequence[str] = METHODS, pruning_seed: int = 0,
                  progress: bool = False) -> pd.DataFrame:
    """Figure 5: supernets trained on optimistically, randomly and supernet-guided pruned
    subsets of the ground-truth sample, one per (subset, seed).

    ``gt``: ground truth of the pool (arch string -> value, e.g. ``study.mean_ground_truth``);
    the pool is its index, in its order. Supernet-guided pruning ranks the pool by the mean
    score of the factor-1 supernets over ``seeds``. Returns one row per scored architecture:
    ``method, factor, n, seed, arch, score, epochs, space_size, supernet, train_s, score_s``; factor 1
    appears once per method (the same supernets).
    """
    for m in methods:
        if m not in METHODS:
            raise ValueError(f"unknown pruning method {m!r}; choose from {', '.join(METHODS)}")
    if not seeds:
        raise ValueError("supernet_seeds is empty")
    space = get_space(space_name)
    hib = space.higher_is_better
    pool = list(gt.index)
    factors = check_factors(default_factors(profile) if factors is None else factors, len(pool))
    epochs = default_epochs(space_name, profile) if epochs is None else int(epochs)

    def calls(archs):
        sub = subset_space(space_name, archs)
        return [dict(space_name=space_name, profile=profile, space=sub, archs=archs, epochs=epochs, seed=s)
                for s in seeds]

    def run(archs):
        return pd.concat([supernet_on_space(**c, progress=progress) for c in calls(archs)], ignore_index=True)

    def pruned_calls(subsets):
        return [c for (_, f), archs in subsets.items() if f != 1 for c in calls(archs)]

    # only guided pruning waits for the unpruned supernets: the rest train beside them
    unguided = pruning_subsets(pool, factors, [m for m in methods if m != "guided"], gt=gt,
                               pruning_seed=pruning_seed, higher_is_better=hib)
    compute_missing(supernet_on_space, calls(pool) + pruned_calls(unguided), desc=f"pruning {space_name}")
    full = run(pool)
    guide = full.groupby("arch", sort=False)["score"].mean() if "guided" in methods else None
    subsets = pruning_subsets(pool, factors, methods, gt=gt, guide=guide, pruning_seed=pruning_seed,
                              higher_is_better=hib)
    guided = {key: archs for key, archs in subsets.items() if key not in unguided}
    compute_missing(supernet_on_space, pruned_calls(guided), desc=f"pruning {space_name}, guided")
    parts = []
    for (method, f), archs in subsets.items():
        df = full if f == 1 else run(archs)
        parts.append(df.assign(method=method, factor=f, n=len(archs)))
    cols = ["method", "factor", "n", "seed", "arch", "score", "epochs", "space_size", "supernet", "train_s", "score_s"]
    return pd.concat(parts, ignore_index=True)[cols]


def _pick(values: np.ndarray, select: np.ndarray, hib: bool) -> float:
    return float(values[metrics.best_first(select, hib)[0]])


def sweep_summary(sweep: pd.DataFrame, gt_valid: pd.Series, gt_test: pd.Series | None = None, *,
                  higher_is_better: bool = True, k: int = 10) -> pd.DataFrame:
    """One row per (method, factor, seed) of a sweep:

    - ``top_k``: ground truth of the supernet's pick: among its best ``k`` the one best on
      validation, reported on ``gt_test`` (as the paper's top-10; ``k`` is capped at the
      subset size, column ``k``);
    - ``random_top_k``: the exact expectation of the same for random search in the subset;
    - ``best_gt``: the best of the subset by the paper's protocol, the test result of the
      architecture best on validation (dotted line of Figure 5 left);
    - ``mean_gt``: mean validation ground truth of the subset (space quality, Figure 6a), and
      ``sd_gt`` its standard deviation over the subset's architectures;
    - ``spearman``, ``kendall``: supernet score vs validation ground truth;
    - ``sn_mean``, ``sn_best``: mean and best supernet score of the subset (Figure 5 right).
    """
    test = gt_valid if gt_test is None else gt_test
    hib = higher_is_better
    rows = []
    for (method, factor, seed), g in sweep.groupby(["method", "factor", "seed"], sort=False):
        archs = g["arch"].tolist()
        p = g["score"].to_numpy(float)
        v = gt_valid.loc[archs].to_numpy(float)
        t = test.loc[archs].to_numpy(float)
        kk = min(k, len(archs))
        rows.append({
            "method": method, "factor": factor, "seed": seed, "n": len(archs), "k": kk,
            "top_k": metrics.top_k(p, t, kk, hib, gt_select=v),
            "random_top_k": metrics.random_top_k_expectation(t, kk, hib, gt_select=v),
            "best_gt": _pick(t, v, hib), "mean_gt": float(v.mean()), "sd_gt": float(v.std(ddof=1)) if len(v) > 1 else 0.0,
            "spearman": metrics.spearman(p, v), "kendall": metrics.kendall(p, v),
            "sn_mean": float(p.mean()), "sn_best": _pick(p, p, hib),
        })
    return pd.DataFrame(rows)


def aggregate(summary: pd.DataFrame) -> pd.DataFrame:
    """Mean and standard deviation over supernet seeds per (method, factor): columns
    ``<metric>`` (mean), ``<metric>_std`` and ``seeds``."""
    value_cols = [c for c in summary.columns if c not in ("method", "factor", "seed", "n", "k")]
    g = summary.groupby(["method", "factor"], sort=False)
    out = g[value_cols].mean()
    std = g[value_cols].std(ddof=1).add_suffix("_std")
    out = out.join(std)
    out["n"] = g["n"].first()
    out["k"] = g["k"].first()
    out["seeds"] = g["seed"].nunique()
    return out.reset_index()


# ---------------------------------------------------------------- Figures 17-18: precision

def precision_table(scores: pd.DataFrame, gt: pd.Series, *, fractions: Sequence[float] = FRACTIONS,
                    higher_is_better: bool = True) -> pd.DataFrame:
    """Figure 17: per supernet seed, the overlap of the supernet's best (worst) ``fraction``
    with the ground truth's best (worst) ``fraction``. ``scores``: columns seed, arch, score.
    A random ranking scores ``fraction`` (column ``random``)."""
    return pd.DataFrame([{"seed": seed, "which": which, "fraction": fr,
                          "precision": metrics.precision_at(p, v, fr, which, higher_is_better),
                          "random": fr, "n": len(p)}
                         for seed, p, v, which, fr in _per_seed_targets(scores, gt, fractions)])


def pr_curves(scores: pd.DataFrame, gt: pd.Series, *, fractions: Sequence[float] = FRACTIONS,
              higher_is_better: bool = True) -> pd.DataFrame:
    """Figure 18: precision-recall of the best (worst) ``fraction`` per seed, architectures
    examined in the supernet's order (best first for "best", worst first for "worst")."""
    return pd.concat([metrics.precision_recall_curve(p, v, fr, which, higher_is_better)
                      .assign(seed=seed, which=which, fraction=fr)
                      for seed, p, v, which, fr in _per_seed_targets(scores, gt, fractions)],
                     ignore_index=True)


def _per_seed_targets(scores: pd.DataFrame, gt: pd.Series, fractions: Sequence[float]):
    """(seed, supernet scores, ground truth, "best"/"worst", fraction) for Figures 17-18."""
    for seed, g in scores.groupby("seed", sort=True):
        p = g["score"].to_numpy(float)
        v = gt.loc[g["arch"]].to_numpy(float)
        for which in ("best", "worst"):
            for fr in fractions:
                yield seed, p, v, which, fr


def pruning_quality(gt: pd.Series, guide: pd.Series, factors: Sequence, *, pruning_seed: int = 0,
                    higher_is_better: bool = True, best_fraction: float = 0.1) -> pd.DataFrame:
    """What each pruning keeps, before any supernet is retrained (supernet-guided vs
    optimistic vs random), per factor > 1:

    - ``kept_best``: share of the ground truth's best ``best_fraction`` still in the subset;
    - ``pruned_are_worst``: share of the removed architectures that are among the ground
      truth's worst ``1 - 1/factor`` (1 for optimistic; about ``1 - 1/factor`` for random);
    - ``mean_gt`` / ``best_valid``: mean and best validation ground truth of the subset (not the
      paper's "best of the sample", which is the test result of the best on validation).
    """
    pool = list(gt.index)
    factors = check_factors(factors, len(pool))
    subsets = pruning_subsets(pool, factors, METHODS, gt=gt, guide=guide.loc[pool], pruning_seed=pruning_seed,
                              higher_is_better=higher_is_better)
    order = metrics.best_first(gt.to_numpy(float), higher_is_better)
    top = set(gt.index[order[:max(1, int(round(best_fraction * len(pool))))]])
    rows = []
    for (method, f), kept in subsets.items():
        if f == 1:
            continue
        kept_set = set(kept)
        removed = [a for a in pool if a not in kept_set]
        worst = set(gt.index[order[len(kept):]])  # the ground truth's worst, as many as removed
        rows.append({"method": method, "factor": f, "n": len(kept),
                     "kept_best": len(top & kept_set) / len(top),
                     "pruned_are_worst": len(worst & set(removed)) / len(removed) if removed else float("nan"),
                     "mean_gt": float(gt.loc[kept].mean()),
                     "best_valid": float(gt.loc[kept].max() if higher_is_better else gt.loc[kept].min())})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- Figure 6: around a gold architecture

def around_sweep(space_name: str, profile: str, *, free: Sequence[int] | None = None, seeds: Sequence[int] = (0, 1, 2),
                 epochs: int | None = None, n_eval: int | None = None, block_seed: int = 0, sample_seed: int = 0,
                 progress: bool = False) -> pd.DataFrame:
    """Figure 6b/6c: supernets on spaces of ``7 ** n_free`` architectures around the gold
    architecture, each scoring all its architectures (up to ``n_eval``, default the profile's
    sample size; a fixed sample beyond). Rows: ``n_free, size, seed, arch, score, is_gold, ...``."""
    free = list(DEFAULT_FREE[check_profile(profile)] if free is None else free)
    if len(set(free)) != len(free):
        raise ValueError(f"n_free values repeat: {free}")
    epochs = default_epochs(space_name, profile) if epochs is None else int(epochs)
    n_eval = budget(space_name, profile).n_eval_archs if n_eval is None else int(n_eval)
    calls = [around_call(space_name, profile, k, epochs, s, n_eval=n_eval, block_seed=block_seed,
                         sample_seed=sample_seed) for k in sorted(free) for s in seeds]
    compute_missing(supernet_on_space, calls, desc=f"{space_name} pruned around its gold architecture")
    return _around_rows([(c, supernet_on_space(**c, progress=progress)) for c in calls])


def around_call(space_name: str, profile: str, n_free: int, epochs: int, seed: int, *, n_eval: int | None = None,
                block_seed: int = 0, sample_seed: int = 0) -> dict:
    """The ``supernet_on_space`` arguments of one supernet of Figure 6b/6c."""
    n_eval = budget(space_name, profile).n_eval_archs if n_eval is None else int(n_eval)
    sp = around_space(space_name, n_free, block_seed)
    sid = {"kind": "around", "gold": str(gold_architecture(space_name)), "n_free": n_free, "block_seed": block_seed}
    return dict(space_name=space_name, profile=profile, space=sp, archs=space_archs(sp, n_eval, sample_seed),
                epochs=epochs, seed=seed, space_id=sid)


def _around_rows(results) -> pd.DataFrame:
    """``around_sweep``'s rows from ``(call, supernet_on_space table)`` pairs."""
    return pd.concat([df.assign(n_free=c["space_id"]["n_free"], size=c["space"].size(),
                                is_gold=df["arch"] == c["space_id"]["gold"]) for c, df in results],
                     ignore_index=True)


def around_summary(sweep: pd.DataFrame, *, higher_is_better: bool = True) -> pd.DataFrame:
    """Per space (``n_free``, ``size``): supernet mean and best score (mean and std over seeds)
    and the gold architecture's supernet score."""
    rows = []
    for (k, size, seed), g in sweep.groupby(["n_free", "size", "seed"], sort=True):
        p = g["score"].to_numpy(float)
        gold = g.loc[g["is_gold"], "score"]
        rows.append({"n_free": k, "size": size, "seed": seed, "scored": len(p), "sn_mean": float(p.mean()),
                     "sn_best": _pick(p, p, higher_is_better),
                     "gold_score": float(gold.iloc[0]) if len(gold) else float("nan")})
    per_seed = pd.DataFrame(rows)
    g = per_seed.groupby(["n_free", "size"], sort=True)
    out = g[["sn_mean", "sn_best", "gold_score"]].mean().join(
        g[["sn_mean", "sn_best"]].std(ddof=1).add_suffix("_std"))
    out["scored"] = g["scored"].first()
    return out.reset_index()


def around_ground_truth(space_name: str, profile: str, sweep: pd.DataFrame, n_gt: int, *, sample_seed: int = 0,
                        workers: int | None = None, progress: bool = False) -> pd.DataFrame:
    """Figure 6a's DARTS points: per pruned space, space quality (mean ground truth of
    ``n_gt`` random architectures of it; the paper uses 10) and top-``n_gt`` (best ground
    truth among the supernet's ``n_gt`` best by mean score over seeds). Trains the needed
    stand-alone networks with the profile's ground-truth recipe, appended to
    ``results/groundtruth/<space>_<profile>_pruning.csv`` (resumable)."""
    if n_gt < 1:
        raise ValueError(f"n_gt must be >= 1, got {n_gt}")
    space = get_space(space_name)
    hib = space.higher_is_better
    b = budget(space_name, profile)
    plan = {}
    for (k, size), g in sweep.groupby(["n_free", "size"], sort=True):
        mean = g.groupby("arch", sort=False)["score"].mean()
        archs = list(mean.index)
        rnd = [archs[i] for i in sorted(random.Random(sample_seed).sample(range(len(archs)), min(n_gt, len(archs))))]
        top = list(mean.index[metrics.best_first(mean.to_numpy(float), hib)[:min(n_gt, len(archs))]])
        plan[k, size] = (rnd, top)
    todo = list(dict.fromkeys(a for rnd, top in plan.values() for a in rnd + top))
    out = study.ground_truth_path(space_name, profile, "pruning")
    gt_rows = build_ground_truth(space_name, profile, todo, list(b.gt_seeds), out_path=out, workers=workers,
                                 command=(f"nas-study run pruning --profile {profile} -p 'spaces=[]' "
                                          f"-p 'around_spaces=[\"{space_name}\"]'"),
                                 progress=progress)
    gt = study.mean_ground_truth(gt_rows, "valid", seeds=b.gt_seeds)
    rows = []
    for (k, size), (rnd, top) in plan.items():
        tv = gt.loc[top].to_numpy(float)
        rows.append({"n_free": k, "size": size, "n_gt": len(rnd), "mean_gt": float(gt.loc[rnd].mean()),
                     "top_k": _pick(tv, tv, hib), "k": len(top)})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- trained-budget families (issue #23)

# The 8-epoch sweep cannot test Figure 5 at cpu: its unpruned supernets do not rank (Spearman
# 0.06 NB-101, 0.02 NB-201). This second family trains every pruned space to the budget at which
# the ladder's unpruned supernet ranks (0.42 at 32 epochs on NB-101, at 128 on NB-201); the
# 8-epoch results stay as they are. DARTS-CIFAR10 and DARTS-PTB get none: no rung of their
# ladders ranks (every interval holds 0, up to 32 and 16 epochs), and they are swept unpruned
# only, for Figures 17-18, which read the ladder's trained supernets instead.
# Each budget says its family's epochs (``Budget.pruning_trained_epochs``, ``around_trained_epochs``:
# Figures 6b/6c past 4 epochs, the top rung of the DARTS-CIFAR10 and ProxylessNAS ladders); views:
TRAINED_EPOCHS = _budget_fact("pruning_trained_epochs")
TRAINED_AROUND_EPOCHS = _budget_fact("around_trained_epochs")
TRAINED_SEEDS = (0, 1, 2)
# random pruning draws one subset per supernet seed (the i-th pruning seed for the i-th supernet
# seed): three draws at the cost of one, and the spread over seeds is random pruning's as a method
TRAINED_RANDOM_SEEDS = (0, 1, 2)
# guided pruning ranks by the ladder's stored supernet of the whole space at the same budget:
# trained, and stored before the family starts, so every pruned space is known in advance
TRAINED_GUIDE_SEED = 0
UNPRUNED = "unpruned"  # a job's method at factor 1 (one space for the three prunings)


@dataclasses.dataclass(frozen=True)
class PrunedJob:
    """One supernet of a trained-budget family: ``family`` "sweep" (Figure 5: ``method`` at
    ``factor``, random pruning drawn with ``pruning_seed``) or "around" (Figure 6b/6c: the space
    with ``factor`` = ``n_free`` free blocks around the gold architecture)."""
    family: str
    space: str
    epochs: int
    seed: int
    method: str
    factor: int
    pruning_seed: int = 0

    def label(self) -> str:
        if self.family == "around":
            return f"n_free {self.factor}"
        if self.method == UNPRUNED:
            return UNPRUNED
        return f"{self.method} f{self.factor}" + (f" p{self.pruning_seed}" if self.method == "random" else "")

    def n_archs(self, profile: str) -> int:
        """Architectures it scores (the ground-truth pool, or its pruned part)."""
        b = budget(self.space, profile)
        if self.family == "around":
            return min(7 ** self.factor, b.n_eval_archs)
        return keep_count(b.n_gt_archs, self.factor)

    def __str__(self) -> str:
        return f"{self.space} {self.family} {self.label()}, {self.epochs} epochs seed {self.seed}"


def trained_jobs(space_name: str, profile: str, family: str = "sweep") -> list[PrunedJob]:
    """The supernets of a trained-budget family, seed by seed (a finished seed is a usable
    sweep); empty where the family has no budget for the space and profile."""
    if family == "around":
        e = budget(space_name, profile).around_trained_epochs
        return [] if e is None else [PrunedJob("around", space_name, e, s, "around", k)
                                     for s in TRAINED_SEEDS for k in default_free(profile)]
    e = budget(space_name, profile).pruning_trained_epochs
    if e is None:
        return []
    out = []
    for i, s in enumerate(TRAINED_SEEDS):
        out.append(PrunedJob("sweep", space_name, e, s, UNPRUNED, 1))
        for f in default_factors(profile)[1:]:
            out += [PrunedJob("sweep", space_name, e, s, "optimistic", f),
                    PrunedJob("sweep", space_name, e, s, "random", f, TRAINED_RANDOM_SEEDS[i]),
                    PrunedJob("sweep", space_name, e, s, "guided", f)]
    return out


def pool_ground_truth(space_name: str, profile: str) -> pd.Series | None:
    """The stored validation ground truth of the pool, as the chapter reads it (None when not
    stored: nothing is computed)."""
    gt = stored_or_none(study.ground_truth, space_name=space_name, profile=profile, progress=False)
    return None if gt is None else study.mean_ground_truth(gt, "valid", seeds=budget(space_name, profile).gt_seeds)


def trained_guide(space_name: str, profile: str, epochs: int) -> pd.Series | None:
    """The stored ladder supernet that guided pruning of the family ranks by (arch -> score), or None."""
    df = stored_or_none(study.supernet_scores, space_name=space_name, profile=profile, epochs=epochs,
                        seed=TRAINED_GUIDE_SEED, progress=False)
    return None if df is None else df.set_index("arch")["score"]


def job_calls(jobs: Sequence[PrunedJob], profile: str, *, gt: Mapping | None = None,
              guide: Mapping | None = None) -> list[dict | None]:
    """The ``supernet_on_space`` arguments of each job, None where what it prunes by is not
    stored (the pool's ground truth; for guided pruning the ladder's supernet). ``gt`` /
    ``guide``: space -> Series to use instead of the stored ones (tests)."""
    gts, ranks_of = dict(gt or {}), {}  # each read once per space (and budget)
    out = []
    for job in jobs:
        # the family's recorded network settings (Budget.trained_family_cfg), in its results' keys
        setting = {"cfg_overrides": dict(c)} if (c := budget(job.space, profile).trained_family_cfg) else {}
        if job.family == "around":
            out.append({**around_call(job.space, profile, job.factor, job.epochs, job.seed), **setting})
            continue
        if job.space not in gts:
            gts[job.space] = pool_ground_truth(job.space, profile)
        g, ranks = gts[job.space], None
        if job.method == "guided":
            key = (job.space, job.epochs)
            if key not in ranks_of:
                ranks_of[key] = (guide[job.space] if guide and job.space in guide
                                 else trained_guide(job.space, profile, job.epochs))
            ranks = ranks_of[key]
        if g is None or (job.method == "guided" and ranks is None):
            out.append(None)
            continue
        pool = list(g.index)
        hib = get_space(job.space).higher_is_better
        archs = pool if job.method == UNPRUNED else prune(
            job.method, pool, job.factor, gt=g, scores=None if ranks is None else ranks.reindex(pool),
            seed=job.pruning_seed, higher_is_better=hib)
        out.append(dict(space_name=job.space, profile=profile, space=subset_space(job.space, archs), archs=archs,
                        epochs=job.epochs, seed=job.seed, **setting))
    return out


def trained_family_setting(space_name: str, profile: str) -> str:
    """What the chapter says of a trained family's recorded network settings: '' when it has none."""
    cfg = budget(space_name, profile).trained_family_cfg
    if not cfg:
        return ""
    what = ", ".join("the channels-last memory format" if (k, v) == ("memory_format", "channels_last") else f"{k}={v}"
                     for k, v in cfg.items())
    return (f"Computed with {what} (a recorded setting, in every result's parameters: faster on this CPU, "
            "other float rounding; `benchmarks/bench_channels_last.py`).")


def trained_family(space_name: str, profile: str, family: str = "sweep", *, min_seeds: int | None = None,
                   **inputs) -> tuple[pd.DataFrame | None, list[PrunedJob]]:
    """The stored trained-budget family of a space, read only (the regime computes it): ``(rows, missing)``.
    Rows as ``pruning_sweep``'s (factor 1 once per method) or ``around_sweep``'s, of the supernet
    seeds whose every job is stored; None unless at least ``min_seeds`` seeds are (default: all of
    ``TRAINED_SEEDS``). ``missing``: the jobs not stored. ``inputs``: as ``job_calls``."""
    jobs = trained_jobs(space_name, profile, family)
    calls = job_calls(jobs, profile, **inputs)
    tables = [None if c is None else stored_or_none(supernet_on_space, **c) for c in calls]
    missing = [j for j, t in zip(jobs, tables) if t is None]
    complete = sorted({j.seed for j in jobs} - {j.seed for j in missing})
    if not jobs or len(complete) < (len(TRAINED_SEEDS) if min_seeds is None else max(1, min_seeds)):
        return None, missing
    kept = [(j, c, t) for j, c, t in zip(jobs, calls, tables) if j.seed in complete]
    if family == "around":
        return _around_rows([(c, t) for _, c, t in kept]), missing
    parts = []
    for job, _, t in kept:
        methods = METHODS if job.method == UNPRUNED else (job.method,)
        parts += [t.assign(method=m, factor=job.factor, n=len(t)) for m in methods]
    cols = ["method", "factor", "n", "seed", "arch", "score", "epochs", "space_size", "supernet", "train_s", "score_s"]
    rows = pd.concat(parts, ignore_index=True)[cols]
    order = {m: i for i, m in enumerate(METHODS)}  # as pruning_sweep: by method, then factor
    return rows.sort_values(["method", "factor", "seed"], key=lambda c: c.map(order) if c.name == "method" else c,
                            kind="stable", ignore_index=True), missing


# ---------------------------------------------------------------- cost and verdict

def compute_seconds(*tables: pd.DataFrame) -> dict:
    """Training and scoring seconds of the distinct supernets in sweep tables (from the
    ``train_s`` / ``score_s`` their cached results recorded when they were computed)."""
    frames = [t[["supernet", "train_s", "score_s"]] for t in tables if len(t)]
    if not frames:
        return {"supernets": 0, "train_s": 0.0, "score_s": 0.0}
    df = pd.concat(frames).drop_duplicates("supernet")
    return {"supernets": len(df), "train_s": float(df["train_s"].sum()), "score_s": float(df["score_s"].sum())}


def plan_size(n_pool: int, factors: Sequence, methods: Sequence[str], seeds: Sequence[int]) -> dict:
    """How much a Figure 5 sweep trains and scores: supernets (factor 1 once per seed) and
    architecture scorings (each supernet scores its whole subset)."""
    factors = check_factors(factors, n_pool)
    kept = [keep_count(n_pool, f) for f in factors if f != 1]
    return {"supernets": len(seeds) * (1 + len(kept) * len(methods)),
            "scorings": len(seeds) * (n_pool + sum(kept) * len(methods))}


def _diff(agg: pd.DataFrame, method: str, col: str, f0, f1) -> tuple[float, float]:
    """Change of ``col`` from factor ``f0`` to ``f1`` for ``method`` and its standard error."""
    a = agg.set_index(["method", "factor"])
    x, y = a.loc[(method, f0)], a.loc[(method, f1)]
    if min(x["seeds"], y["seeds"]) < 2:  # one seed: no noise estimate, so no change can be decided
        return float(y[col] - x[col]), float("nan")
    se = math.sqrt(np.nan_to_num(x.get(f"{col}_std", 0.0)) ** 2 / x["seeds"]
                   + np.nan_to_num(y.get(f"{col}_std", 0.0)) ** 2 / y["seeds"])
    return float(y[col] - x[col]), se


def _call(delta: float, se: float, want_sign: int, tol: float = 0.0) -> str:
    """'agrees' / 'disagrees' when the change is beyond 2 standard errors (and ``tol``),
    'inconclusive' otherwise (also when the standard error is unknown: NaN)."""
    if math.isnan(se) or abs(delta) <= max(2 * se, tol):
        return "inconclusive"
    return "agrees" if np.sign(delta) == want_sign else "disagrees"


def verdict_table(space_title: str, agg: pd.DataFrame, precision: pd.DataFrame | None = None, *,
                  higher_is_better: bool = True, precision_label: str = "") -> pd.DataFrame:
    """Each claim of section 3.3 with our number and a call: agrees, disagrees or
    inconclusive (a change within two standard errors over the supernet seeds). ``precision``
    (Figure 17) may come from other supernets than the sweep's; ``precision_label`` names them."""
    s = 1 if higher_is_better else -1
    factors = sorted(agg["factor"].unique())
    f0, f1 = factors[0], factors[-1]
    methods = set(agg["method"])
    rows = []

    def add(key, ours, call):
        rows.append({"space": space_title, "claim": PAPER_CLAIMS[key], "ours": ours, "verdict": call,
                     "item": CLAIM_ITEMS.get(key, "Figure 5")})

    if f1 != f0:
        d_opt = None
        if "optimistic" in methods:
            d_opt, se = _diff(agg, "optimistic", "top_k", f0, f1)
            add("optimistic_top10", f"top-10 {d_opt:+.2f} (se {se:.2f}) from factor {f0} to {f1}",
                _call(s * d_opt, se, +1))
            dc, sec = _diff(agg, "optimistic", "spearman", f0, f1)
            add("optimistic_corr", f"Spearman {dc:+.2f} (se {sec:.2f})", _call(dc, sec, -1))
            dm, sem = _diff(agg, "optimistic", "sn_mean", f0, f1)
            add("optimistic_sn", f"mean supernet score {dm:+.2f} (se {sem:.2f})", _call(s * dm, sem, +1))
        if "random" in methods:
            dr, ser = _diff(agg, "random", "top_k", f0, f1)
            # meagre: within noise, or under half the optimistic gain
            bar = max(2 * ser, 0.5 * s * d_opt if d_opt is not None else 0.0)
            add("random_top10", f"top-10 {dr:+.2f} (se {ser:.2f})", "agrees" if s * dr <= bar else "disagrees")
        points = agg[(agg["factor"] != f0) | (agg["method"] == agg["method"].iloc[0])]  # factor 1 once
        if len(points) >= 3:
            x, y = points["top_k"].to_numpy(float), points["random_top_k"].to_numpy(float)
            r = float(np.corrcoef(x, y)[0, 1]) if np.ptp(x) > 0 and np.ptp(y) > 0 else float("nan")
            call = ("inconclusive" if math.isnan(r) or 0.3 <= r < 0.7  # nan: a constant top-10 (tiny spaces)
                    else "agrees" if r >= 0.7 else "disagrees")
            add("tracks_random", f"Pearson r = {r:.2f} over {len(points)} pruned spaces", call)
            q = points["mean_gt"].to_numpy(float)
            rq = float(np.corrcoef(s * q, s * x)[0, 1]) if np.ptp(q) > 0 and np.ptp(x) > 0 else float("nan")
            add("quality_top10", f"Pearson r(space mean ground truth, supernet top-10) = {rq:.2f} over {len(points)} "
                                 "pruned spaces", "inconclusive" if math.isnan(rq) or 0.3 <= rq < 0.7
                else "agrees" if rq >= 0.7 else "disagrees")
        if {"guided", "random"} <= methods:
            add("guided", *_guided_call(agg, s, factors))
    if precision is not None and len(precision):
        p = precision[precision["fraction"] == 0.3].groupby("which")["precision"]
        m, sd, n = p.mean(), p.std(ddof=1).fillna(0), p.count()
        if {"best", "worst"} <= set(m.index):
            d = m["worst"] - m["best"]
            se = math.sqrt(sd["worst"] ** 2 / n["worst"] + sd["best"] ** 2 / n["best"])
            on = f"{precision_label}: " if precision_label else ""
            add("worst_vs_best", f"{on}worst 30%: {m['worst']:.2f}, best 30%: {m['best']:.2f}", _call(d, se, +1))
    return pd.DataFrame(rows, columns=["space", "claim", "ours", "verdict", "item"])


def _guided_call(agg: pd.DataFrame, sign: int, factors: Sequence) -> tuple[str, str]:
    """Supernet-guided pruning against random pruning on the space's mean ground truth, at
    **every** pruning factor. Random pruning keeps a uniform random subset of ``n`` of the ``N``
    architectures: its mean is the unpruned mean, with standard error
    ``sd / sqrt(n) * sqrt((N - n) / (N - 1))`` (``sd`` over the unpruned space); the guided
    space's spread over supernet seeds adds to it. Guided must differ by more than two such
    standard errors (the sweep's one random draw is shown beside it). ``agrees`` only when guided
    is better at every factor; ``partly`` when at some; ``disagrees`` when worse somewhere and
    better nowhere; ``inconclusive`` otherwise (also with one seed and no ``sd_gt``)."""
    f0 = factors[0]
    a = agg.set_index(["method", "factor"])
    unpruned = a.xs(f0, level="factor").iloc[0]
    calls, texts = [], []
    for f in factors[1:]:
        g, r = a.loc[("guided", f)], a.loc[("random", f)]
        d = float(g["mean_gt"] - unpruned["mean_gt"])
        if "sd_gt" in unpruned and "n" in a.columns:
            big_n, n = float(unpruned["n"]), float(g["n"])
            se_random = float(unpruned["sd_gt"]) / math.sqrt(n) * math.sqrt(max(big_n - n, 0.0) / max(big_n - 1, 1.0))
            sd_g = np.nan_to_num(g.get("mean_gt_std", 0.0))
            se = math.sqrt(se_random ** 2 + sd_g ** 2 / max(g["seeds"], 1))
        else:  # no spread of the space recorded: the supernet seeds' alone
            d, se = _diff(agg, "guided", "mean_gt", f0, f) if ("guided", f0) in a.index else (d, float("nan"))
        calls.append(_call(sign * d, se, +1))
        texts.append(f"f={f:g}: {g['mean_gt']:.2f}, {d:+.2f} (se {se:.2f}) against random pruning's expectation "
                     f"(the unpruned mean; the sweep's one random draw {r['mean_gt']:.2f}): {calls[-1]}")
    call = verdicts.combine(calls) if calls else "inconclusive"
    return "space mean ground truth, guided: " + "; ".join(texts), call


def around_verdict(space_title: str, summary: pd.DataFrame, *, higher_is_better: bool = True) -> pd.DataFrame:
    """Figure 6b/6c's claims for spaces pruned around a gold architecture: smaller (correctly
    pruned) spaces train better supernets; in small spaces best and mean differ by < 0.1."""
    s = 1 if higher_is_better else -1
    rows = []
    if len(summary) >= 3:
        rho = metrics.spearman(np.log(summary["size"].to_numpy(float)), s * summary["sn_mean"].to_numpy(float))
        rows.append({"space": space_title, "claim": PAPER_CLAIMS["optimistic_sn"],
                     "ours": f"Spearman(log size, mean supernet score) = {rho:.2f} over {len(summary)} spaces",
                     "verdict": "agrees" if rho <= -0.5 else ("disagrees" if rho >= 0.5 else "inconclusive"),
                     "item": "Figure 6"})
    small = summary[summary["size"] > 1].sort_values("size").head(1)
    if len(small):
        r = small.iloc[0]
        gap = abs(r["sn_best"] - r["sn_mean"])
        rows.append({"space": space_title, "claim": PAPER_FIGURE6["best_vs_mean"],
                     "ours": f"{int(r['size'])} architectures: best {r['sn_best']:.2f}, mean {r['sn_mean']:.2f}",
                     "verdict": "agrees" if gap < 0.1 else "disagrees", "item": "Figure 6"})
    return pd.DataFrame(rows, columns=["space", "claim", "ours", "verdict", "item"])


def verdict_text(table: pd.DataFrame, *, profile: str, seeds: int) -> str:
    """The verdict in words from ``verdict_table`` rows (possibly of several spaces)."""
    if not len(table):
        return "No claim could be checked with these parameters."
    counts = table["verdict"].value_counts()
    parts = [f"{counts.get(v, 0)} {v}" for v in ("agrees", "disagrees", "inconclusive") if counts.get(v, 0)]
    text = (f"Of {len(table)} checks of section 3.3 at profile `{profile}`: {', '.join(parts)}. "
            f"Each point is the mean of {seeds} supernet seed(s); a change counts only beyond two standard "
            f"errors over those seeds, so *inconclusive* means the seeds disagree more than the effect. ")
    if profile != "paper":
        text += ("The pruned spaces are subsets of a small ground-truth sample, not of the full space, and the "
                 "networks and data are CPU-sized, so agreement here is evidence for the paper's mechanism, "
                 "not a reproduction of its numbers.")
    return text
