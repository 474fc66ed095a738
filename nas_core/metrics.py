"""Ranking metrics of the study: correlations, top-k, random search, precision, regret.

Inputs are plain sequences or arrays, aligned by position: ``pred`` is the
supernet's score of each architecture, ``gt`` its ground truth (stand-alone
result). Both are in the same direction: ``higher_is_better=True`` for accuracy,
``False`` for perplexity. Ties in a ranking are broken by position (earlier
first), so every function is deterministic.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import gammaln


def _arr(x, name="input") -> np.ndarray:
    a = np.asarray(x, dtype=float).ravel()
    if np.isnan(a).any():
        raise ValueError(f"{name} contains NaN")
    return a


def _pair(pred, gt) -> tuple[np.ndarray, np.ndarray]:
    p, g = _arr(pred, "pred"), _arr(gt, "gt")
    if len(p) != len(g):
        raise ValueError(f"pred and gt differ in length: {len(p)} vs {len(g)}")
    if len(p) == 0:
        raise ValueError("empty input")
    return p, g


def best_first(values, higher_is_better: bool = True) -> np.ndarray:
    """Indices from best to worst; ties keep their original order."""
    v = _arr(values)
    return np.argsort(-v if higher_is_better else v, kind="stable")


# ---------------------------------------------------------------- correlations

def spearman(x, y) -> float:
    """Spearman's rho (average ranks for ties), as ``scipy.stats.spearmanr``; nan if an input is constant."""
    x, y = _pair(x, y)
    if len(x) < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    return float(stats.spearmanr(x, y).statistic)


def kendall(x, y) -> float:
    """Kendall's tau-b, as ``scipy.stats.kendalltau``; nan if an input is constant."""
    x, y = _pair(x, y)
    if len(x) < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    return float(stats.kendalltau(x, y).statistic)


def sparse_kendall(pred, gt, resolution: float = 0.1) -> float:
    """"Sparse" Kendall's tau-b (Yu et al. 2020, How to Train Your Super-Net): the ground truth
    rounded to ``resolution`` (0.1 percentage points of accuracy) first, so that architectures
    whose stand-alone results differ by less than that are tied instead of ranked by noise.
    NAS-Bench-301's implementation rounds the predictions instead; pass them as ``gt`` for it."""
    if resolution <= 0:
        raise ValueError(f"resolution must be positive, got {resolution}")
    p, g = _pair(pred, gt)
    return kendall(p, np.round(g / resolution) * resolution)


def spearman_brown(r: float, k: float) -> float:
    """Reliability of the mean of ``k`` repeats from the reliability ``r`` of one."""
    if k <= 0:
        raise ValueError(f"k must be positive, got {k}")
    return float(k * r / (1 + (k - 1) * r))


def bootstrap_ci(x, y, stat: Callable = spearman, n_boot: int = 1000, seed: int = 0,
                 level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval ``(low, high)`` of ``stat(x, y)``, resampling pairs."""
    x, y = _pair(x, y)
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(x), size=(n_boot, len(x)))
    vals = np.array([stat(x[i], y[i]) for i in idx], dtype=float)
    vals = vals[~np.isnan(vals)]  # degenerate resamples (all ties) carry no information
    if len(vals) == 0:
        return float("nan"), float("nan")
    a = (1 - level) / 2
    return float(np.quantile(vals, a)), float(np.quantile(vals, 1 - a))


# ---------------------------------------------------------------- top-k and random search

def top_k(pred, gt, k: int, higher_is_better: bool = True, gt_select=None) -> float:
    """Best ground truth among the ``k`` architectures the supernet ranks best.

    With ``gt_select`` (validation ground truth) the architecture picked among the
    ``k`` is the one best on ``gt_select`` and its ``gt`` (test) is returned, as the
    paper reports top-k.
    """
    p, g = _pair(pred, gt)
    if not 1 <= k <= len(p):
        raise ValueError(f"k must be in 1..{len(p)}, got {k}")
    chosen = best_first(p, higher_is_better)[:k]
    sel = g if gt_select is None else _pair(gt_select, g)[0]
    pick = chosen[best_first(sel[chosen], higher_is_better)[0]]
    return float(g[pick])


def random_top_k_expectation(gt, k: int, higher_is_better: bool = True, gt_select=None) -> float:
    """Exact expectation of ``top_k`` for a random ranking: the best of ``k`` architectures
    drawn uniformly without replacement.

    Order statistics: with the architectures sorted worst to best by the selection
    criterion, the i-th (1-based) is the best of the draw with probability
    ``C(i-1, k-1) / C(n, k)``. With ``gt_select``, ties in it are broken by position.
    """
    g = _arr(gt, "gt")
    n = len(g)
    if not 1 <= k <= n:
        raise ValueError(f"k must be in 1..{n}, got {k}")
    sel = g if gt_select is None else _pair(gt_select, g)[0]
    worst_first = best_first(sel, higher_is_better)[::-1]
    i = np.arange(1, n + 1)
    w = np.zeros(n)
    ok = i >= k
    w[ok] = np.exp(gammaln(i[ok]) - gammaln(k) - gammaln(i[ok] - k + 1)  # C(i-1, k-1)
                   - (gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1)))  # / C(n, k)
    return float(np.dot(w / w.sum(), g[worst_first]))


# ---------------------------------------------------------------- precision of best / worst

def _fraction_count(n: int, fraction: float) -> int:
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    return max(1, int(round(fraction * n)))


def _ordered(values, which: str, higher_is_better: bool) -> np.ndarray:
    if which not in ("best", "worst"):
        raise ValueError(f"which must be 'best' or 'worst', got {which!r}")
    return best_first(values, higher_is_better if which == "best" else not higher_is_better)


def precision_at(pred, gt, fraction: float, which: str = "best", higher_is_better: bool = True) -> float:
    """Overlap ratio of the supernet's best (or worst) ``fraction`` of architectures with
    the ground truth's best (worst) ``fraction``; random ranking gives ``fraction``."""
    p, g = _pair(pred, gt)
    m = _fraction_count(len(p), fraction)
    mine = set(_ordered(p, which, higher_is_better)[:m].tolist())
    truth = set(_ordered(g, which, higher_is_better)[:m].tolist())
    return len(mine & truth) / m


def precision_recall_curve(pred, gt, fraction: float, which: str = "best",
                           higher_is_better: bool = True) -> pd.DataFrame:
    """Examining architectures in the supernet's order (best to worst for "best", worst to
    best for "worst"): after ``examined`` of them, the share that is in the ground truth's
    best (worst) ``fraction`` (precision) and the share of that set found (recall)."""
    p, g = _pair(pred, gt)
    m = _fraction_count(len(p), fraction)
    truth = np.zeros(len(p), dtype=bool)
    truth[_ordered(g, which, higher_is_better)[:m]] = True
    hits = np.cumsum(truth[_ordered(p, which, higher_is_better)])
    examined = np.arange(1, len(p) + 1)
    return pd.DataFrame({"examined": examined, "precision": hits / examined, "recall": hits / m})


# ---------------------------------------------------------------- regret

def _regret_rows(orders: np.ndarray, valid: np.ndarray, test: np.ndarray, higher_is_better: bool) -> np.ndarray:
    """Regret after 1..n architectures for each row of ``orders`` (index arrays)."""
    s = 1.0 if higher_is_better else -1.0
    v = s * valid[orders]  # larger is better from here on
    run = np.maximum.accumulate(v, axis=1)
    new_best = np.ones_like(v, dtype=bool)
    new_best[:, 1:] = v[:, 1:] > run[:, :-1]  # strictly better: ties keep the earlier one
    pos = np.maximum.accumulate(np.where(new_best, np.arange(v.shape[1]), 0), axis=1)
    picked = np.take_along_axis(test[orders], pos, axis=1)
    return test.max() - picked if higher_is_better else picked - test.min()


def regret_curve(pred, gt_valid, gt_test, higher_is_better: bool = True) -> np.ndarray:
    """Test regret after retraining the first 1..n architectures in the supernet's order:
    the gap between the best test result of all and the test result of the architecture
    best on validation so far (never negative)."""
    p, v = _pair(pred, gt_valid)
    t = _pair(gt_test, v)[0]
    order = best_first(p, higher_is_better)
    return _regret_rows(order[None], v, t, higher_is_better)[0]


def random_regret(gt_valid, gt_test, n_perm: int = 1000, seed: int = 0,
                  higher_is_better: bool = True) -> pd.DataFrame:
    """Regret of random search over ``n_perm`` random orders: per number of retrained
    architectures ``n``, the ``mean``, ``std`` and the 5% / 95% quantiles ``lo`` / ``hi``."""
    v, t = _pair(gt_valid, gt_test)
    rng = np.random.default_rng(seed)
    rows = []
    for start in range(0, n_perm, 256):  # chunks bound memory on large pools
        orders = np.argsort(rng.random((min(256, n_perm - start), len(v))), axis=1)
        rows.append(_regret_rows(orders, v, t, higher_is_better))
    r = np.concatenate(rows)
    return pd.DataFrame({"n": np.arange(1, len(v) + 1), "mean": r.mean(0), "std": r.std(0),
                         "lo": np.quantile(r, 0.05, axis=0), "hi": np.quantile(r, 0.95, axis=0)})
