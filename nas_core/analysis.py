"""Analyses of supernet scores against ground truth: the numbers behind the figures.

Every function takes plain tables (architecture string -> value) and a
``higher_is_better`` flag (False for perplexity), so the same code serves all
five spaces without sign mistakes.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from . import metrics


def align(pred: pd.Series, gt: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Values of the architectures present in both tables, in one order."""
    common = pred.index.intersection(gt.index)
    if len(common) == 0:
        raise ValueError("no architecture is present in both tables")
    return pred.loc[common].to_numpy(float), gt.loc[common].to_numpy(float)


def correlation_summary(pred: pd.Series, gt: pd.Series, *, n_boot: int = 1000, seed: int = 0) -> dict:
    """Spearman with a bootstrap confidence interval, and Kendall."""
    x, y = align(pred, gt)
    lo, hi = metrics.bootstrap_ci(x, y, n_boot=n_boot, seed=seed)
    return {"n": len(x), "spearman": metrics.spearman(x, y), "ci_low": lo, "ci_high": hi,
            "kendall": metrics.kendall(x, y)}


def ladder_summary(scores: pd.DataFrame, gt: pd.Series | None, *, higher_is_better: bool = True,
                   n_boot: int = 1000) -> pd.DataFrame:
    """Figure 1: per epoch budget, supernet mean score and Spearman with ground truth.

    ``scores`` has columns epochs, arch, score (one supernet per epoch budget).
    """
    rows = []
    for epochs, group in scores.groupby("epochs"):
        pred = group.set_index("arch")["score"]
        row = {"epochs": epochs, "supernet_mean": pred.mean(), "supernet_best": _best(pred, higher_is_better),
               "supernet_worst": _best(pred, not higher_is_better)}
        if gt is not None:
            row.update(correlation_summary(pred, gt, n_boot=n_boot))
        rows.append(row)
    return pd.DataFrame(rows)


def _best(values: pd.Series, higher_is_better: bool) -> float:
    return float(values.max() if higher_is_better else values.min())


def avg_best_worst(values: pd.Series, higher_is_better: bool = True) -> dict:
    """Table 4's avg / best / worst / range of one set of scores."""
    best, worst = _best(values, higher_is_better), _best(values, not higher_is_better)
    return {"avg": float(values.mean()), "best": best, "worst": worst, "range": abs(best - worst)}


def top_k_summary(pred: pd.Series, gt: pd.Series, ks: Sequence[int] = (1, 10), *,
                  higher_is_better: bool = True, gt_select: pd.Series | None = None) -> pd.DataFrame:
    """Figure 2: best ground truth among the supernet's top k vs the random-search expectation."""
    common = pred.index.intersection(gt.index)
    p, g = pred.loc[common].to_numpy(float), gt.loc[common].to_numpy(float)
    s = None if gt_select is None else gt_select.loc[common].to_numpy(float)
    rows = []
    for k in ks:
        rows.append({
            "k": k,
            "supernet_top_k": metrics.top_k(p, g, k, higher_is_better=higher_is_better, gt_select=s),
            "random_expectation": metrics.random_top_k_expectation(g, k, higher_is_better=higher_is_better),
            "best_of_sample": _best(pd.Series(g), higher_is_better),
            "n": len(g),
        })
    return pd.DataFrame(rows)


def group_by_decision(pred: pd.Series, gt: pd.Series, decisions: Mapping[str, Mapping[str, object]],
                      decision: str, *, higher_is_better: bool = True) -> pd.DataFrame:
    """Figure 4: supernet and ground-truth means per candidate of one decision.

    ``decisions`` maps architecture string -> {decision name: choice}. The
    ``bias`` column is the candidate's mean supernet rank minus its mean
    ground-truth rank (in rank percentiles, positive = favoured by the supernet).
    """
    x, y = align(pred, gt)
    common = pred.index.intersection(gt.index)
    sign = 1.0 if higher_is_better else -1.0
    df = pd.DataFrame({
        "arch": common, "supernet": x, "ground_truth": y,
        "choice": [decisions[a][decision] for a in common],
    })
    df["sn_rank"] = (sign * df["supernet"]).rank(pct=True)
    df["gt_rank"] = (sign * df["ground_truth"]).rank(pct=True)
    out = df.groupby("choice").agg(
        n=("arch", "size"), supernet_mean=("supernet", "mean"), ground_truth_mean=("ground_truth", "mean"),
        sn_rank=("sn_rank", "mean"), gt_rank=("gt_rank", "mean"),
    )
    out["bias"] = out["sn_rank"] - out["gt_rank"]
    return out.reset_index()


def most_biased_decision(pred: pd.Series, gt: pd.Series, decisions: Mapping[str, Mapping[str, object]],
                         *, higher_is_better: bool = True) -> tuple[str, object, float]:
    """The (decision, candidate) whose supernet preference departs most from ground truth."""
    names = next(iter(decisions.values())).keys()
    best = ("", None, 0.0)
    for name in names:
        g = group_by_decision(pred, gt, decisions, name, higher_is_better=higher_is_better)
        i = g["bias"].abs().idxmax()
        if abs(g.loc[i, "bias"]) > abs(best[2]):
            best = (name, g.loc[i, "choice"], float(g.loc[i, "bias"]))
    return best


def mutual_spearman(columns: Mapping[str, pd.Series]) -> pd.DataFrame:
    """Figure 3: Spearman between every pair of score columns over the common architectures."""
    df = pd.DataFrame(dict(columns)).dropna()
    return df.rank().corr(method="pearson")


def verdict_performance_vs_epochs(title: str, summary: pd.DataFrame) -> str:
    """Finding 1 in words, from the numbers: does more training give a better ranking?"""
    s = summary.sort_values("epochs")
    first, last = s.iloc[0], s.iloc[-1]
    peak = s.loc[s["spearman"].idxmax()]
    gain = last["supernet_mean"] - first["supernet_mean"]
    ci_overlap = last["ci_high"] >= peak["ci_low"]
    text = (f"**{title}.** Supernet mean went from {first['supernet_mean']:.2f} to {last['supernet_mean']:.2f} "
            f"({gain:+.2f}) from {first['epochs']} to {last['epochs']} epochs; Spearman went from "
            f"{first['spearman']:.2f} to {last['spearman']:.2f} [95% CI {last['ci_low']:.2f}, {last['ci_high']:.2f}], "
            f"peaking at {peak['spearman']:.2f} at {peak['epochs']} epochs. ")
    if peak["epochs"] < last["epochs"] and not ci_overlap:
        text += "The ranking got significantly worse after its peak while training went on: finding 1 holds here."
    elif peak["epochs"] < last["epochs"]:
        text += ("The correlation stopped improving before the supernet did (the drop after the peak is within "
                 "the bootstrap interval): consistent with finding 1, but not decisive at this sample size.")
    else:
        text += ("The correlation was still rising at the largest budget: at this scale more training still "
                 "improved the ranking, so finding 1 is not reproduced within this budget.")
    return text
