"""Analyses of supernet scores against ground truth: the numbers behind the figures.

Every function takes plain tables (architecture string -> value) and a
``higher_is_better`` flag (False for perplexity), so the same code serves all
five spaces without sign mistakes.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from . import metrics, paper, regime, study
from .profiles import budget
from .spaces import SPACE_NAMES, get_space
from .store import stored_or_none
from .verdicts import AGREES, DISAGREES, INCONCLUSIVE, PARTLY, Verdict, fmt_ci, interval_call


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


def best_of_sample(gt_test, gt_select=None, higher_is_better: bool = True) -> float:
    """The paper's "best of the sample": the test result (``gt_test``) of the architecture best
    on validation (``gt_select``; ``gt_test`` itself when None). The one meaning of the words
    in this book: anything else is named differently (e.g. "best validation value")."""
    t = np.asarray(gt_test, dtype=float).ravel()
    v = t if gt_select is None else np.asarray(gt_select, dtype=float).ravel()
    if len(t) == 0 or len(v) != len(t):
        raise ValueError(f"gt_test and gt_select must be non-empty and of one length, got {len(t)} and {len(v)}")
    return float(t[metrics.best_first(v, higher_is_better)[0]])


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
            "best_of_sample": best_of_sample(g, s, higher_is_better),
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


def verdict_space_size(title: str, ours: float, paper_size: float, *, tolerance: float = 0.01) -> Verdict:
    """Table 1: our count of a space's valid architectures against the paper's printed size,
    which is rounded (2.76e20): ``agrees`` within ``tolerance`` (relative)."""
    ratio = ours / paper_size
    call = AGREES if abs(ratio - 1) <= tolerance else DISAGREES

    def count(n):
        return f"{n:,.0f}" if n < 1e6 else f"{n:.4g}"

    return Verdict(f"**{title}.** {count(ours)} valid architectures against the paper's {count(paper_size)} "
                   f"(ratio {ratio:.4f}; the paper's value as printed): **{call}**.", call,
                   item="Table 1", key=f"{count(ours)} vs {count(paper_size)} (ratio {ratio:.3f})")


# ---------------------------------------------------------------- Figure 1: the trend along the ladder, seed-aware

def paired_spearman_difference(pred: pd.Series, base: pd.Series, gt: pd.Series, *, n_boot: int = 1000,
                               seed: int = 0, level: float = 0.95) -> tuple[float, float, float]:
    """``spearman(pred, gt) - spearman(base, gt)`` and its paired bootstrap interval (the same
    resampled architectures for both supernets), over the architectures all three share."""
    common = pred.index.intersection(base.index).intersection(gt.index)
    if len(common) == 0:
        raise ValueError("no architecture is present in all tables")
    p, b, g = (x.loc[common].to_numpy(float) for x in (pred, base, gt))
    delta = metrics.spearman(p, g) - metrics.spearman(b, g)
    if n_boot <= 0:
        return delta, float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    vals = []
    for _ in range(n_boot):
        i = rng.integers(0, len(g), len(g))
        vals.append(metrics.spearman(p[i], g[i]) - metrics.spearman(b[i], g[i]))
    vals = np.asarray(vals, float)
    vals = vals[~np.isnan(vals)]
    if len(vals) == 0:
        return delta, float("nan"), float("nan")
    a = (1 - level) / 2
    return delta, float(np.quantile(vals, a)), float(np.quantile(vals, 1 - a))


def stored_seed_ladder(space_name: str, profile: str, rungs: Sequence[int], *, max_seed: int = 16,
                       **kw) -> pd.DataFrame:
    """Every stored supernet of each rung: ``study.supernet_scores(space_name, profile, e, seed=s, **kw)``
    for the seeds 0..``max_seed - 1`` that are stored (nothing is computed). Columns as
    ``supernet_scores`` (epochs, seed, arch, score, ...)."""
    kw = {k: v for k, v in kw.items() if k != "seed"}
    parts = [df for e in rungs for s in range(max_seed)
             if (df := stored_or_none(study.supernet_scores, space_name=space_name, profile=profile, epochs=e,
                                      seed=s, progress=False, **kw)) is not None]
    if not parts:
        return pd.DataFrame(columns=["arch", "score", "epochs", "seed"])
    return pd.concat(parts, ignore_index=True)


def _plan_past_ladder(space_name: str, ladder: Sequence[int]) -> list:
    """The training regime's rungs of the space (``regime.LADDER_PLAN``) above the ladder's top."""
    return [r for r in regime.LADDER_PLAN if r.space == space_name and r.epochs > max(ladder)]


def rungs_past_ladder(space_name: str, ladder: Sequence[int]) -> list[int]:
    """The epochs of the regime's rungs of the space above the ladder's top, in order."""
    return sorted({r.epochs for r in _plan_past_ladder(space_name, ladder)})


def past_ladder_note(space_name: str, profile: str, ladder: Sequence[int], stored: pd.DataFrame) -> str:
    """One line: which of the regime's rungs past the ladder are stored (with their seeds), why
    they stay outside the verdict, and what the rest costs."""
    # costs this space's rungs only (the pruning jobs are not the ladder's)
    plan = regime.plan_table(_plan_past_ladder(space_name, ladder), profile=profile)
    have = ", ".join(f"{int(e)} epochs (seed{'s' if len(g) > 1 else ''} {', '.join(str(int(s)) for s in sorted(g))})"
                     for e, g in stored.groupby("epochs")["seed"].unique().items()) if len(stored) else "none yet"
    left = plan[~plan["stored"]]
    if plan.empty:
        return "The training regime has no rungs past this space's ladder (`regime.PLAN`)."
    return (f"Stored past the ladder: {have}. A rung joins the ladder, and with it the verdict above, once seeds 0 "
            f"and 1 are stored there. Still to compute for this space: {len(left)} supernet(s), "
            f"{left['core_h_left'].sum():.1f} core-hours (`nas-study regime --plan`).")


def top_and_peak_supernets(space_name: str, profile: str, gt: pd.Series, rungs: Sequence[int] | None = None, *,
                           n_boot: int = 200, **kw) -> dict[str, pd.DataFrame]:
    """The ladder's trained supernets that Figures 17-18 read: every stored seed of the top rung
    and of the rung whose mean Spearman with ``gt`` is highest, among rungs with at least two
    stored seeds (one entry when they coincide). Keys: '256 epochs (top rung, seeds 0, 1)'; values:
    their scores (columns seed, arch, score, epochs) on the architectures that have ground truth.
    Nothing is computed; an empty dict when no rung is stored."""
    lad = stored_seed_ladder(space_name, profile, list(rungs or budget(space_name, profile).ladder), **kw)
    lad = lad[lad["arch"].isin(gt.index)]
    if lad.empty:
        return {}
    per = rung_table(lad, gt, n_boot=n_boot)
    seeded = per[per["n_seeds"] >= 2]
    top = int(per["epochs"].max())
    peak = int(seeded.loc[seeded["spearman"].idxmax(), "epochs"]) if len(seeded) else top
    out = {}
    for e, role in ((top, "top rung"), (peak, "peak rung")):
        g = lad[lad["epochs"] == e]
        role = "top and peak rung" if top == peak else role
        out.setdefault(f"{e} epochs ({role}, seeds {', '.join(str(s) for s in sorted(g['seed'].unique()))})", g)
    return out


def rung_correlations(ladder: pd.DataFrame, gt: pd.Series, *, n_boot: int = 1000) -> pd.DataFrame:
    """Spearman with ground truth of every supernet of a ladder (columns epochs, seed, arch, score),
    one row per (epochs, seed), with its bootstrap interval."""
    rows = []
    for (e, s), g in ladder.groupby(["epochs", "seed"], sort=True):
        rows.append({"epochs": e, "seed": int(s), **correlation_summary(g.set_index("arch")["score"], gt,
                                                                        n_boot=n_boot)})
    return pd.DataFrame(rows)


ONE_SEED = "one seed"  # rung_table's seed-to-seed spread of a rung with one seed: there is none to measure


def rung_table(ladder: pd.DataFrame, gt: pd.Series, *, higher_is_better: bool = True,
               n_boot: int = 1000) -> pd.DataFrame:
    """Per rung: the seeds stored, the mean over them of the supernet's mean score and of its
    Spearman with ground truth, the lowest and highest per-seed interval bound, and the
    **seed-to-seed spread** (largest minus smallest per-seed Spearman; the text ``ONE_SEED`` where a
    rung has one seed, so the table a chapter displays says why there is none; ``spread_values``
    reads the column as numbers, NaN there)."""
    per = rung_correlations(ladder, gt, n_boot=n_boot)
    means = ladder.groupby(["epochs", "seed"])["score"].mean().groupby("epochs").mean()
    rows = []
    for e, g in per.groupby("epochs", sort=True):
        rows.append({"epochs": e, "seeds": ", ".join(str(s) for s in g["seed"]), "n_seeds": len(g),
                     "supernet_mean": float(means.loc[e]), "spearman": float(g["spearman"].mean()),
                     "ci_low": float(g["ci_low"].min()), "ci_high": float(g["ci_high"].max()),
                     "seed_spread": float(np.ptp(g["spearman"])) if len(g) > 1 else ONE_SEED})
    return pd.DataFrame(rows)


def spread_values(spreads: pd.Series) -> pd.Series:
    """A ``rung_table`` ``seed_spread`` column as numbers: NaN where a rung has one seed."""
    return pd.to_numeric(spreads.where(spreads != ONE_SEED), errors="coerce").astype(float)


def rung_differences(ladder: pd.DataFrame, gt: pd.Series, rung_a, rung_b, *, n_boot: int = 1000,
                     seed: int = 0) -> pd.DataFrame:
    """Spearman at ``rung_b`` minus Spearman at ``rung_a`` for **every pair of seeds** stored at
    the two rungs, each with its paired bootstrap interval over the same architectures."""
    rows = []
    for sa, ga in ladder[ladder["epochs"] == rung_a].groupby("seed", sort=True):
        for sb, gb in ladder[ladder["epochs"] == rung_b].groupby("seed", sort=True):
            d, lo, hi = paired_spearman_difference(gb.set_index("arch")["score"], ga.set_index("arch")["score"], gt,
                                                   n_boot=n_boot, seed=seed)
            rows.append({"from_epochs": rung_a, "from_seed": int(sa), "to_epochs": rung_b, "to_seed": int(sb),
                         "difference": d, "ci_low": lo, "ci_high": hi})
    return pd.DataFrame(rows, columns=["from_epochs", "from_seed", "to_epochs", "to_seed", "difference",
                                       "ci_low", "ci_high"])


def ladder_trend(ladder: pd.DataFrame, gt: pd.Series, *, higher_is_better: bool = True,
                 n_boot: int = 1000) -> dict:
    """The inputs of Figure 1's verdict: the ``rung_table``, its peak rung (highest mean Spearman)
    and top rung, and the paired seed-pair differences that decide the trend: peak -> top when the
    peak comes earlier (a drop?), else the rung before the top -> top (still rising?)."""
    rungs = rung_table(ladder, gt, higher_is_better=higher_is_better, n_boot=n_boot)
    if rungs.empty:
        return {"rungs": rungs, "peak": None, "top": None, "compared": None, "pairs": rung_differences(
            ladder.iloc[:0], gt, None, None)}
    top = rungs["epochs"].max()
    peak = rungs.loc[rungs["spearman"].idxmax(), "epochs"]
    before = rungs["epochs"][rungs["epochs"] < top]
    start = peak if peak < top else (before.max() if len(before) else None)
    pairs = (rung_differences(ladder, gt, start, top, n_boot=n_boot) if start is not None
             else rung_differences(ladder.iloc[:0], gt, None, None))
    return {"rungs": rungs, "peak": peak, "top": top, "compared": start, "pairs": pairs,
            "higher_is_better": higher_is_better}


def _trend_is_decided(pairs: pd.DataFrame, spread: float, sign: int) -> tuple[bool, str]:
    """A change counts only when every seed pair's paired interval excludes 0 on the side
    ``sign`` and the mean change exceeds the seed-to-seed spread of the two rungs."""
    if pairs.empty:
        return False, "no pair of supernets to compare"
    side = (pairs["ci_low"] > 0) if sign > 0 else (pairs["ci_high"] < 0)
    other = (pairs["ci_high"] < 0) if sign > 0 else (pairs["ci_low"] > 0)
    mean = float(pairs["difference"].mean())
    if not bool(side.all()):
        holds = int((~side & ~other).sum())
        parts = ([f"holds 0 for {holds}"] if holds else []) + (
            [f"lies on the other side of 0 for {int(other.sum())}"] if other.any() else [])
        return False, f"the paired interval {' and '.join(parts)} of {len(pairs)} seed pair(s)"
    if np.isnan(spread):
        return False, ("only one seed at each of the two rungs, so the seed-to-seed spread is unknown and "
                       "a change of this size may be the noise of training")
    if abs(mean) <= spread:
        return False, f"the change ({mean:+.2f}) is within the seed-to-seed spread ({spread:.2f})"
    return True, f"every seed pair's paired interval excludes 0 and the change exceeds the seed spread ({spread:.2f})"


SATURATION_MEAN_TOL = 1.0  # a doubling that moves the mean sub-network score by at most this (points) is flat


def saturation_table(ladder: pd.DataFrame, gt: pd.Series, *, higher_is_better: bool = True, n_boot: int = 1000,
                     mean_tol: float = SATURATION_MEAN_TOL) -> pd.DataFrame:
    """Per doubling of the ladder (rungs ``e`` and ``2e`` both stored): the change of the supernet's
    mean score (mean over seeds), the seed pairs' paired Spearman changes, and the doubling's
    status: ``flat`` when the mean moves by at most ``mean_tol`` and the Spearman change is not
    decided either way (Figure 1's test, ``_trend_is_decided``); ``changes`` otherwise; ``one seed``
    when a rung has a single seed, whose spread is unknown, so flatness cannot be told."""
    rungs = rung_table(ladder, gt, higher_is_better=higher_is_better, n_boot=n_boot)
    columns = ["from_epochs", "to_epochs", "mean_change", "spearman_change", "pairs_excluding_0", "n_pairs",
               "seed_spread", "status"]
    if rungs.empty:
        return pd.DataFrame(columns=columns)
    r = rungs.set_index("epochs")
    rows = []
    for a in r.index:
        b = 2 * a
        if b not in r.index:
            continue
        pairs = rung_differences(ladder, gt, a, b, n_boot=n_boot)
        spreads = spread_values(r.loc[[a, b], "seed_spread"])
        spread = float(spreads.max()) if spreads.notna().all() else float("nan")
        d_mean = float(r.loc[b, "supernet_mean"] - r.loc[a, "supernet_mean"])
        decided = any(_trend_is_decided(pairs, spread, sign)[0] for sign in (+1, -1))
        status = ("one seed" if np.isnan(spread) else
                  "flat" if abs(d_mean) <= mean_tol and not decided else "changes")
        rows.append({"from_epochs": int(a), "to_epochs": int(b), "mean_change": d_mean,
                     "spearman_change": float(pairs["difference"].mean()) if len(pairs) else float("nan"),
                     "pairs_excluding_0": int(((pairs["ci_low"] > 0) | (pairs["ci_high"] < 0)).sum()),
                     "n_pairs": len(pairs), "seed_spread": spread, "status": status})
    return pd.DataFrame(rows, columns=columns)


def saturation_note(title: str, table: pd.DataFrame, *, mean_tol: float = SATURATION_MEAN_TOL) -> str:
    """One line from ``saturation_table``: the ladder has saturated from the first of two successive
    flat doublings (training longer changed neither the mean score by more than ``mean_tol`` nor
    the ranking beyond the paired test), or it has not yet, and why (descriptive; no verdict)."""
    rule = (f"two successive doublings that change neither the mean sub-network score by more than {mean_tol:g} "
            f"point{'' if mean_tol == 1 else 's'} nor the Spearman correlation (Figure 1's paired, seed-aware test)")
    if table.empty:
        return f"**{title}**: no doubling with both rungs stored; saturation means {rule}."
    flat = list(table["status"] == "flat")
    for i in range(len(table) - 1):
        if flat[i] and flat[i + 1] and table["to_epochs"].iloc[i] == table["from_epochs"].iloc[i + 1]:
            return (f"**{title}**: saturated from {int(table['from_epochs'].iloc[i])} epochs: {rule} "
                    f"({int(table['from_epochs'].iloc[i])} -> {int(table['to_epochs'].iloc[i + 1])}).")
    last = table.iloc[-1]
    why = {"changes": f"the last doubling, {int(last['from_epochs'])} -> {int(last['to_epochs'])}, moves the mean "
                      f"by {last['mean_change']:+.2f} and Spearman by {last['spearman_change']:+.2f} "
                      f"({int(last['pairs_excluding_0'])} of {int(last['n_pairs'])} seed pairs' intervals exclude 0)",
           "one seed": f"the last doubling, {int(last['from_epochs'])} -> {int(last['to_epochs'])}, has a rung with "
                       "one seed",
           "flat": f"only the last doubling, {int(last['from_epochs'])} -> {int(last['to_epochs'])}, is flat"}
    return f"**{title}**: not saturated yet ({rule}): {why[last['status']]}."


def verdict_trend(title: str, trend: Mapping) -> Verdict:
    """Finding 1 on one space, from ``ladder_trend``: does the ranking stop improving, or drop,
    while the supernet trains on? ``agrees`` only for a drop after the peak decided by every
    seed pair and larger than the seed-to-seed spread, with the supernet's mean score still
    improving; ``disagrees`` for a correlation still rising at the top rung, decided the same
    way; ``inconclusive`` otherwise (including when no rung ranks distinguishably from 0)."""
    rungs, peak, top, start, pairs = (trend[k] for k in ("rungs", "peak", "top", "compared", "pairs"))
    if rungs is None or rungs.empty:
        return Verdict(f"**{title}.** No supernet with ground truth: nothing to judge.", INCONCLUSIVE)
    sign = 1.0 if trend.get("higher_is_better", True) else -1.0
    r = rungs.set_index("epochs")
    first, last = r.iloc[0], r.loc[top]
    numbers = {"spearman": (last["spearman"], last["ci_low"], last["ci_high"]),
               "supernet_mean": (last["supernet_mean"], float("nan"), float("nan"))}
    text = (f"**{title}.** Supernet mean score {first['supernet_mean']:.2f} at {r.index[0]:g} epochs, "
            f"{last['supernet_mean']:.2f} at {top:g}; Spearman with ground truth {first['spearman']:.2f} at "
            f"{r.index[0]:g} epochs, "
            + (f"highest {r.loc[peak, 'spearman']:.2f} at {peak:g}, " if peak != top else "highest ")
            + f"{last['spearman']:.2f} at {top:g} (mean of seeds {last['seeds']}; per-seed 95% intervals within "
            f"[{last['ci_low']:.2f}, {last['ci_high']:.2f}]). ")
    key = f"ρ {last['spearman']:.2f} [{last['ci_low']:.2f}, {last['ci_high']:.2f}] at {top:g} ep"
    if bool((r["ci_low"] <= 0).all()):
        return Verdict(text + "No rung's correlation is distinguishable from 0 (every interval holds 0), so there "
                       "is no trend to judge: **inconclusive**.", INCONCLUSIVE, item="Figure 1", key=key,
                       numbers=numbers)
    if start is None:
        return Verdict(text + "A single rung: no trend to judge: **inconclusive**.", INCONCLUSIVE, item="Figure 1",
                       key=key, numbers=numbers)
    spreads = spread_values(r.loc[[start, top], "seed_spread"])
    spread = float(spreads.max()) if spreads.notna().any() else float("nan")
    mean = float(pairs["difference"].mean()) if len(pairs) else float("nan")
    desc = "; ".join(f"seed {a}->{b}: {d:+.2f} [{lo:+.2f}, {hi:+.2f}]" for a, b, d, lo, hi in zip(
        pairs["from_seed"], pairs["to_seed"], pairs["difference"], pairs["ci_low"], pairs["ci_high"]))
    text += (f"Paired change of Spearman from {start:g} to {top:g} epochs (same architectures, every seed pair): "
             f"{desc}; mean {mean:+.2f}; seed-to-seed spread "
             + (f"{spread:.2f}" if not np.isnan(spread) else "unknown (one seed per rung)") + ". ")
    key += f"; Δ {start:g}→{top:g} ep {mean:+.2f}"
    if peak < top:
        decided, why = _trend_is_decided(pairs, spread, -1)
        if not decided:
            return Verdict(text + f"The drop after the peak is not decided ({why}): **inconclusive**.",
                           INCONCLUSIVE, item="Figure 1", key=key, numbers=numbers)
        better = sign * (last["supernet_mean"] - r.loc[peak, "supernet_mean"]) > 0
        if better:
            return Verdict(text + f"The ranking got worse after its peak ({why}) while the supernet's mean score "
                           "kept improving: **agrees with finding 1**.", AGREES, item="Figure 1", key=key,
                           numbers=numbers)
        return Verdict(text + f"The ranking got worse after its peak ({why}), but so did the supernet's mean score: "
                       "**partly** (finding 1 is about a supernet that trains better).", PARTLY, item="Figure 1",
                       key=key, numbers=numbers)
    decided, why = _trend_is_decided(pairs, spread, +1)
    if decided:
        return Verdict(text + f"The correlation was still rising at the top rung ({why}): more training still "
                       "improved the ranking, so **finding 1 is not reproduced within this budget** (disagrees).",
                       DISAGREES, item="Figure 1", key=key, numbers=numbers)
    return Verdict(text + f"The correlation is highest at the top rung, but its last change is not decided ({why}): "
                   "**inconclusive**.", INCONCLUSIVE, item="Figure 1", key=key, numbers=numbers)


def verdict_reference_line(title: str, summary: pd.DataFrame, reference: float, *,
                           paper_gap: float | None = None) -> Verdict:
    """Figure 1 where a gold architecture's stand-alone accuracy is the reference line
    (ProxylessNAS): does longer training bring the supernet's mean towards it? ``agrees`` when
    the gap narrowed at every rung, ``partly`` when it narrowed overall only, else ``disagrees``."""
    s = summary.sort_values("epochs")
    gaps = reference - s["supernet_mean"].to_numpy(float)
    first, last = s.iloc[0], s.iloc[-1]
    text = (f"**{title}.** Supernet mean went from {first['supernet_mean']:.2f} to {last['supernet_mean']:.2f} "
            f"from {first['epochs']:g} to {last['epochs']:g} epochs; the gap to the reference architecture's "
            f"stand-alone accuracy ({reference:.2f}) went from {gaps[0]:+.2f} to {gaps[-1]:+.2f} points. ")
    if paper_gap is not None:
        text += f"Paper: {paper_gap:.0f} points at its largest budget. "
    shrinking = bool(np.all(np.diff(gaps) <= 0)) if len(gaps) > 1 else False
    key = f"gap {gaps[0]:+.1f} → {gaps[-1]:+.1f} points"
    numbers = {"supernet_mean": (last["supernet_mean"], float("nan"), float("nan"))}
    if gaps[-1] < gaps[0]:
        return Verdict(text + "Longer training narrowed the gap" + (" at every rung" if shrinking else
                       " overall, though not at every rung") + ", as the paper reports"
                       + ("." if shrinking else ": **partly**."), AGREES if shrinking else PARTLY,
                       item="Figure 1", key=key, numbers=numbers)
    return Verdict(text + "Longer training did not narrow the gap at this scale, unlike the paper.", DISAGREES,
                   item="Figure 1", key=key, numbers=numbers)


# ---------------------------------------------------------------- Table 4: the best-trained supernet vs ground truth

def supernet_minus_ground_truth(sn: pd.Series, gt: pd.Series, *, higher_is_better: bool = True, n_boot: int = 1000,
                                seed: int = 0, level: float = 0.95) -> dict:
    """Mean supernet score minus mean ground truth over the same architectures, oriented so that
    positive means the supernet's sub-networks do *better* than their stand-alone training (for
    perplexity: lower), with a paired bootstrap interval over architectures."""
    common = sn.index.intersection(gt.index)
    if len(common) == 0:
        raise ValueError("no architecture has both a supernet score and ground truth")
    sign = 1.0 if higher_is_better else -1.0
    d = sign * (sn.loc[common].to_numpy(float) - gt.loc[common].to_numpy(float))
    rng = np.random.default_rng(seed)
    boots = np.array([d[rng.integers(0, len(d), len(d))].mean() for _ in range(n_boot)]) if n_boot else np.array([])
    a = (1 - level) / 2
    lo, hi = (float(np.quantile(boots, a)), float(np.quantile(boots, 1 - a))) if len(boots) else (np.nan, np.nan)
    return {"n": len(d), "sn_avg": float(sn.loc[common].mean()), "gt_avg": float(gt.loc[common].mean()),
            "difference": float(d.mean()), "ci_low": lo, "ci_high": hi}


def verdict_table4(title: str, ours: Mapping, paper_row: Mapping | None, *, budget_x: float | None = None) -> Verdict:
    """Table 4 on one space: is the best-trained supernet's mean above or below the ground truth's,
    as in the paper? ``ours`` is a ``supernet_minus_ground_truth``; ``paper_row`` a row of
    ``paper.TABLE4``. Decided by the paired interval; ``inconclusive`` where it holds 0 or the
    paper prints no ground truth."""
    diff = verdict_number = ours["difference"]
    text = (f"**{title}.** Best-trained supernet" + (f" ({budget_x:.1f}x one stand-alone training)" if budget_x else "")
            + f": mean score {ours['sn_avg']:.2f} against a ground-truth mean of {ours['gt_avg']:.2f} over the same "
            f"{ours['n']} architectures; supernet better by {fmt_ci(diff, ours['ci_low'], ours['ci_high'], signed=True)} "
            "(paired 95% interval; negative: the supernet's sub-networks do worse than trained alone). ")
    key = f"{ours['sn_avg']:.1f} vs GT {ours['gt_avg']:.1f}, Δ {fmt_ci(verdict_number, ours['ci_low'], ours['ci_high'], 1, True)}"
    numbers = {"supernet_minus_gt": (diff, ours["ci_low"], ours["ci_high"])}
    if paper_row is None or pd.isna(paper_row.get("gt_avg")):
        return Verdict(text + "The paper prints no ground truth for this space: **inconclusive**.", INCONCLUSIVE,
                       item="Table 4", key=key, numbers=numbers)
    hib = paper_row.get("higher_is_better", True)
    paper_diff = (1.0 if hib else -1.0) * (paper_row["sn_avg"] - paper_row["gt_avg"])
    text += (f"Paper: supernet {paper_row['sn_avg']:.2f} against ground truth {paper_row['gt_avg']:.2f} "
             f"({'better' if paper_diff > 0 else 'worse'} by {abs(paper_diff):.2f}). ")
    call = interval_call(ours["ci_low"], ours["ci_high"], 1 if paper_diff > 0 else -1)
    words = {AGREES: "same side of the ground truth as in the paper: **agrees**",
             DISAGREES: "other side of the ground truth than in the paper: **disagrees**",
             INCONCLUSIVE: "the interval holds 0: **inconclusive**"}
    return Verdict(text + ("Ours is on the " + words[call] if call != INCONCLUSIVE else "Not decided: " + words[call])
                   + ".", call, item="Table 4", key=key, numbers=numbers)


# ---------------------------------------------------------------- Figure 2: supernet top-k vs random search

def _random_pick_weights(n: int, k: int) -> np.ndarray:
    """With ``n`` architectures sorted worst to best, the probability that the i-th (0-based)
    is the best of ``k`` drawn uniformly without replacement: ``C(i, k-1) / C(n, k)``."""
    from scipy.special import gammaln

    if not 1 <= k <= n:
        raise ValueError(f"k must be in 1..{n}, got {k}")
    i = np.arange(n)
    w = np.zeros(n)
    ok = i >= k - 1
    w[ok] = np.exp(gammaln(i[ok] + 1) - gammaln(k) - gammaln(i[ok] - k + 2)
                   - (gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1)))
    return w / w.sum()


def random_top_k_at_least(gt, value: float, k: int, *, higher_is_better: bool = True, gt_select=None) -> float:
    """Probability that random search, retraining ``k`` random architectures of the sample and
    keeping the one best on ``gt_select`` (``gt`` itself by default), ends with a ``gt`` at least
    as good as ``value``: the p-value of a supernet's top-k against random search."""
    g = np.asarray(gt, dtype=float).ravel()
    sel = g if gt_select is None else np.asarray(gt_select, dtype=float).ravel()
    if len(sel) != len(g):
        raise ValueError(f"gt and gt_select differ in length: {len(g)} vs {len(sel)}")
    worst_first = metrics.best_first(sel, higher_is_better)[::-1]
    w = _random_pick_weights(len(g), k)
    as_good = g[worst_first] >= value if higher_is_better else g[worst_first] <= value
    return float(min(1.0, w[as_good].sum()))


def share_better(gt, value: float, *, higher_is_better: bool = True) -> float:
    """Share of the sample strictly better than ``value`` (0: nothing is better, the best)."""
    g = np.asarray(gt, dtype=float).ravel()
    if len(g) == 0:
        raise ValueError("empty sample")
    return float(np.mean(g > value) if higher_is_better else np.mean(g < value))


def top_k_advantage(pred, gt, k: int, *, higher_is_better: bool = True, gt_select=None) -> float:
    """How much better than random search's expectation the supernet's top-k pick is, in the
    metric's units (positive: better, whatever the direction of the metric)."""
    sign = 1.0 if higher_is_better else -1.0
    pick = metrics.top_k(pred, gt, k, higher_is_better=higher_is_better, gt_select=gt_select)
    rnd = metrics.random_top_k_expectation(gt, k, higher_is_better=higher_is_better, gt_select=gt_select)
    return sign * (pick - rnd)


def top_k_advantage_ci(pred, gt, k: int, *, higher_is_better: bool = True, gt_select=None, n_boot: int = 1000,
                       seed: int = 0, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of ``top_k_advantage``, resampling architectures."""
    p, g = np.asarray(pred, float).ravel(), np.asarray(gt, float).ravel()
    s = None if gt_select is None else np.asarray(gt_select, float).ravel()
    rng = np.random.default_rng(seed)
    vals = np.empty(n_boot)
    for b in range(n_boot):
        i = rng.integers(0, len(g), len(g))
        vals[b] = top_k_advantage(p[i], g[i], k, higher_is_better=higher_is_better,
                                  gt_select=None if s is None else s[i])
    a = (1 - level) / 2
    return float(np.quantile(vals, a)), float(np.quantile(vals, 1 - a))


def top_k_table(scores: pd.DataFrame, gt: pd.Series, ks: Sequence[int] = (1, 10), *,
                gt_select: pd.Series | None = None, higher_is_better: bool = True,
                archs: Sequence[str] | None = None, n_boot: int = 0, seed: int = 0) -> pd.DataFrame:
    """Figure 2, one row per supernet (``epochs``, ``seed``, ``strategy`` of ``scores``) and k.

    Over the architectures that have a supernet score and ground truth (and are in ``archs``
    when given, e.g. the FLOPs-filtered ones): the ground truth ``gt`` (test) of the architecture
    picked among the supernet's top k by ``gt_select`` (validation; ``gt`` itself by default),
    the exact expectation of the same for a random ranking, the best ``gt`` of the sample,
    ``share_better`` (share of the sample strictly better than the pick) and ``p_random`` (the
    probability that random search does at least as well). A k larger than the sample is
    clipped to it (``k`` is what was used, ``k_asked`` what was asked for). With ``n_boot``,
    also ``advantage`` (``top_k_advantage``) and its bootstrap interval ``adv_low``/``adv_high``.
    """
    keys = [c for c in ("epochs", "seed", "strategy") if c in scores.columns]
    rows = []
    for key, group in scores.groupby(keys, sort=True) if keys else [((), scores)]:
        pred = group.set_index("arch")["score"]
        common = pred.index.intersection(gt.index)
        if gt_select is not None:
            common = common.intersection(gt_select.index)
        if archs is not None:
            common = common.intersection(pd.Index(list(archs)))
        if len(common) == 0:
            continue
        p, g = pred.loc[common].to_numpy(float), gt.loc[common].to_numpy(float)
        s = None if gt_select is None else gt_select.loc[common].to_numpy(float)
        for k_asked in ks:
            k = min(int(k_asked), len(g))
            pick = metrics.top_k(p, g, k, higher_is_better=higher_is_better, gt_select=s)
            row = dict(zip(keys, key if isinstance(key, tuple) else (key,)))
            row.update({
                "k": k, "k_asked": int(k_asked), "n": len(g),
                "supernet_top_k": pick,
                "random_expectation": metrics.random_top_k_expectation(g, k, higher_is_better=higher_is_better,
                                                                       gt_select=s),
                "best_of_sample": best_of_sample(g, s, higher_is_better),
                "mean_of_sample": float(g.mean()),
                "share_better": share_better(g, pick, higher_is_better=higher_is_better),
                "p_random": random_top_k_at_least(g, pick, k, higher_is_better=higher_is_better, gt_select=s),
            })
            if n_boot:
                row["advantage"] = top_k_advantage(p, g, k, higher_is_better=higher_is_better, gt_select=s)
                row["adv_low"], row["adv_high"] = top_k_advantage_ci(
                    p, g, k, higher_is_better=higher_is_better, gt_select=s, n_boot=n_boot, seed=seed)
            rows.append(row)
    return pd.DataFrame(rows)


def seed_spread(table: pd.DataFrame, value: str = "supernet_top_k",
                by: Sequence[str] = ("epochs", "k")) -> pd.DataFrame:
    """Mean, standard deviation, min and max of ``value`` over the seeds of each ``by`` group
    (the error bars of Figure 2), with the number of seeds."""
    g = table.groupby(list(by))[value]
    out = pd.DataFrame({"mean": g.mean(), "sd": g.std(ddof=1), "min": g.min(), "max": g.max(), "n_seeds": g.size()})
    return out.reset_index()


def paper_top_k_reference(space: str) -> pd.DataFrame:
    """The paper's numbers that stand beside Figure 2 (its plotted values are not transcribed):
    Table 3's supernet top-10 of the baseline supernets and Table 4's mean and best ground truth
    of the paper's sample (1k architectures on the NAS-Benches, 100 on DARTS), labelled by their
    source. Empty for a space the tables do not cover."""
    prefix = get_space(space).title if space in SPACE_NAMES else None  # Table 3's groups name the space's title
    rows = []
    if prefix:
        t3 = paper.TABLE3[(paper.TABLE3["setting"] == "baseline") & paper.TABLE3["group"].str.startswith(prefix)]
        rows += [(f"supernet top-10, {g.split('(')[-1].rstrip(')')} supernet (Table 3)", "top-10", float(v))
                 for g, v in zip(t3["group"], t3["top10"])]
    if space in paper.TABLE4.index:
        t4 = paper.TABLE4.loc[space]
        for col, what in (("gt_avg", "mean"), ("gt_best", "best")):
            if pd.notna(t4[col]):
                rows.append((f"{what} ground truth of the sample (Table 4)", what, float(t4[col])))
    return pd.DataFrame(rows, columns=["quantity", "kind", "paper"])


# ---------------------------------------------------------------- Figure 16: regret

def regret_frame(preds: Mapping[str, pd.Series], gt_valid: pd.Series, gt_test: pd.Series, *,
                 higher_is_better: bool = True, n_perm: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Figure 16: test regret after retraining the first ``n`` architectures, in each supernet's
    order (one column per entry of ``preds``), choosing by ``gt_valid`` and reporting ``gt_test``,
    beside random search over ``n_perm`` random orders (``random_mean``, ``random_std`` and the
    5% / 95% quantiles ``random_lo`` / ``random_hi``). Over the architectures all tables share."""
    common = gt_valid.index.intersection(gt_test.index)
    for pred in preds.values():
        common = common.intersection(pred.index)
    if len(common) == 0:
        raise ValueError("no architecture has a supernet score, validation and test ground truth")
    v, t = gt_valid.loc[common].to_numpy(float), gt_test.loc[common].to_numpy(float)
    rnd = metrics.random_regret(v, t, n_perm=n_perm, seed=seed, higher_is_better=higher_is_better)
    out = pd.DataFrame({"n": np.arange(1, len(common) + 1)})
    for label, pred in preds.items():
        out[label] = metrics.regret_curve(pred.loc[common].to_numpy(float), v, t, higher_is_better=higher_is_better)
    for c in ("mean", "std", "lo", "hi"):
        out[f"random_{c}"] = rnd[c].to_numpy()
    return out


def regret_bars(gt_test, fractions: Sequence[float] = (0.01, 0.1), *, higher_is_better: bool = True) -> dict:
    """The dashed bars of Figure 16: the regret of the worst architecture still in the best
    ``fraction`` of the sample (at least one architecture), per fraction."""
    g = np.asarray(gt_test, dtype=float).ravel()
    order = g[metrics.best_first(g, higher_is_better)]
    out = {}
    for f in fractions:
        if not 0 < f <= 1:
            raise ValueError(f"fraction must be in (0, 1], got {f}")
        m = max(1, int(round(f * len(g))))
        out[f] = float(abs(order[0] - order[m - 1]))
    return out


def retrained_to_reach(curve, bar: float) -> int | None:
    """The number of retrained architectures after which ``curve`` (regret after 1..n) is at
    most ``bar``; None if it never is."""
    c = np.asarray(curve, dtype=float)
    hit = np.flatnonzero(c <= bar + 1e-12)
    return int(hit[0]) + 1 if len(hit) else None


def verdict_top_k(title: str, table: pd.DataFrame, regret: pd.DataFrame | None = None, *,
                  higher_is_better: bool = True, supernet_columns: Sequence[str] = (), at_n: int = 10,
                  metric: str = "accuracy") -> Verdict:
    """Finding 2 in words, from the numbers of one space at one budget (all seeds of ``table``,
    a ``top_k_table``): is the supernet's pick better than random search, in the best 10% of the
    sample but not in the best 1%? With ``regret`` (a ``regret_frame``), also Figure 16's claim
    that the supernet's order has little advantage once ``at_n`` architectures are retrained."""
    if table.empty:
        return Verdict(f"**{title}.** No architecture had both a supernet score and ground truth: nothing to judge.",
                       INCONCLUSIVE, item="Figure 2")
    sign = 1.0 if higher_is_better else -1.0
    n = int(table["n"].iloc[0])
    n_seeds = table["seed"].nunique() if "seed" in table else 1
    parts = [f"**{title}** ({n} architectures with ground truth, {n_seeds} supernet seed(s)):"]
    whole = table[table["k"] >= table["n"]]
    table = table[table["k"] < table["n"]]  # a top-k covering the whole sample tells nothing
    if len(whole):
        parts.append(f"(top-{int(whole['k_asked'].iloc[0])} would cover the whole sample: left out.)")
    if table.empty:
        return Verdict(" ".join(parts + ["Too few architectures to judge."]), INCONCLUSIVE, item="Figure 2")
    largest = table["k"].max()
    good_all, best_any, sure = True, False, None
    for k, g in table.groupby("k"):
        beats = sign * (g["supernet_top_k"] - g["random_expectation"]) > 0
        in10, in1 = g["share_better"] < 0.1, g["share_better"] < 0.01
        if k == largest:
            good_all = bool((beats & in10).all())
            if "adv_low" in g:
                sure = bool((g["adv_low"] > 0).all())
        best_any |= bool(in1.any())
        parts.append(
            f"top-{k} gave {g['supernet_top_k'].mean():.2f} {metric} (per seed: "
            f"{', '.join(f'{v:.2f}' for v in g['supernet_top_k'])}) against {g['random_expectation'].iloc[0]:.2f} "
            f"expected from random search and {g['best_of_sample'].iloc[0]:.2f} for the best of the sample; "
            f"the pick beat the random expectation in {int(beats.sum())}/{len(g)} seeds, was in the best 10% in "
            f"{int(in10.sum())}/{len(g)} and in the best 1% in {int(in1.sum())}/{len(g)}; probability that random "
            f"search does at least as well: {', '.join(f'{p:.3f}' for p in g['p_random'])}.")
        if "adv_low" in g:
            parts.append("Its advantage over random search's expectation (95% bootstrap interval over architectures): "
                         + "; ".join(f"{a:+.2f} [{lo:+.2f}, {hi:+.2f}]"
                                     for a, lo, hi in zip(g["advantage"], g["adv_low"], g["adv_high"])) + ".")
    if regret is not None and len(supernet_columns) and at_n <= len(regret):
        parts.append(str(verdict_regret("", regret, supernet_columns, at_n=at_n)).removeprefix("**.** "))
    if n < 100:
        parts.append(f"With {n} architectures the best 1% is the single best one, a strict test; "
                     f"with few architectures and seeds none of this is decisive.")
    g = table[table["k"] == largest]
    key = (f"top-{largest} advantage " + ", ".join(fmt_ci(a, lo, hi, 1, True) for a, lo, hi in
                                                   zip(g["advantage"], g["adv_low"], g["adv_high"]))
           if "adv_low" in g else f"top-{largest} {g['supernet_top_k'].mean():.2f} vs random "
                                  f"{g['random_expectation'].iloc[0]:.2f}")
    numbers = {}
    if "adv_low" in g:
        numbers["top_k_advantage"] = (float(g["advantage"].mean()), float(g["adv_low"].min()),
                                      float(g["adv_high"].max()))
    if good_all and not best_any:
        parts.append("Verdict: the supernet's top-k held a relatively good architecture (best 10%, better than "
                     "random search's expectation) for every seed, but none of the best 1%.")
        if sure:
            parts.append(f"How sure: the top-{largest} advantage over random search is positive in every seed's "
                         "95% bootstrap interval: **agrees with finding 2**.")
            call = AGREES
        else:
            parts.append(f"How sure: the top-{largest} advantage over random search is within the bootstrap noise "
                         "for at least one seed" + (" (or was not bootstrapped)" if sure is None else "")
                         + ": consistent with finding 2, not decided: **inconclusive**.")
            call = INCONCLUSIVE
    elif good_all:
        parts.append("Verdict: the supernet's top-k held a top-10% architecture for every seed, and one of the best "
                     "1% for at least one: **better than finding 2 at this scale** (partly: it does find good "
                     "architectures, and here the best too).")
        call = PARTLY
    else:
        parts.append("Verdict: for at least one seed the supernet's top-k did not hold an architecture in the best "
                     "10% that beats random search's expectation: **weaker than finding 2 at this scale** (disagrees).")
        call = DISAGREES
    return Verdict(" ".join(parts), call, item="Figure 2", key=key, numbers=numbers)


def verdict_regret(title: str, regret: pd.DataFrame, supernet_columns: Sequence[str], *, at_n: int = 10) -> Verdict:
    """Figure 16: after retraining ``at_n`` architectures in the supernet's order, is the test
    regret within random search's 5-95% spread (the paper: little advantage beyond 10)?"""
    if not len(supernet_columns) or at_n > len(regret):
        return Verdict(f"**{title}.** Fewer than {at_n} architectures: Figure 16 not judged.", INCONCLUSIVE,
                       item="Figure 16")
    r = regret.iloc[at_n - 1]
    sn = float(np.mean([r[c] for c in supernet_columns]))
    if r["random_lo"] <= sn <= r["random_hi"]:
        how, call = "within random search's 5-95% spread, as the paper finds (little advantage beyond 10)", AGREES
    elif sn < r["random_lo"]:
        how, call = "below random search's 5-95% spread: a clearer advantage than the paper's Figure 16", DISAGREES
    else:
        how, call = "above random search's 5-95% spread: worse than random search", DISAGREES
    return Verdict(f"**{title}.** After retraining {at_n} architectures in the supernet's order the test regret was "
                   f"{sn:.2f} against {r['random_mean']:.2f} for random search ({r['random_lo']:.2f}-"
                   f"{r['random_hi']:.2f}): {how}.", call, item="Figure 16",
                   key=f"regret@{at_n} {sn:.2f} vs random {r['random_lo']:.2f}-{r['random_hi']:.2f}")


# ---------------------------------------------------------------- Figures 3, 13-15: mutual correlations

def mutual_spearman_pairwise(columns: Mapping[str, pd.Series], min_n: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Spearman of every pair of columns over the architectures both have (pairwise complete:
    ground truth with an extra seed covers fewer architectures than a supernet), and the number
    of architectures behind each entry. Constant columns and pairs under ``min_n`` give NaN."""
    df = pd.DataFrame(dict(columns))
    present = df.notna().astype(int)
    counts = present.T @ present
    out = pd.DataFrame(np.nan, index=df.columns, columns=df.columns)
    for i, a in enumerate(df.columns):
        for b in df.columns[i:]:
            both = df[a].notna() & df[b].notna()
            if both.sum() < min_n:
                continue
            x, y = df.loc[both, a].to_numpy(float), df.loc[both, b].to_numpy(float)
            rho = metrics.spearman(x, y)
            out.loc[a, b] = out.loc[b, a] = rho
    return out, counts


def compact_mutual(m: pd.DataFrame) -> pd.DataFrame:
    """Figure 3's view of a Figures 13-15 matrix: the first ground-truth row, parameters and the
    naive supernets of the epoch ladder (no seeds, tricks or other datasets)."""
    gt = [c for c in m.columns if c.startswith(("GT", "Ground truth"))][:1]
    keep = gt + [c for c in m.columns if c == "Parameters"]
    keep += [c for c in m.columns if c.startswith("Naive ") and "," not in c]
    return m.loc[keep, keep]


def naive_label(epochs: int) -> str:
    """The paper's label of a supernet budget: 'Naive 512', 'Naive 1k', 'Naive 2k'."""
    e = int(epochs)
    return f"Naive {e // 1000}k" if e >= 1000 and e % 1000 == 0 else f"Naive {e}"


def label_epochs(label: str) -> int | None:
    """Inverse of ``naive_label`` (None for a label that is not a plain ladder rung)."""
    if not label.startswith("Naive ") or "," in label:
        return None
    e = label.split()[1]
    return int(e[:-1]) * 1000 if e.endswith("k") else int(e)


KEY_QUANTITIES = {
    "gt_vs_params": "Spearman(ground truth, parameters)",
    "top_supernet_vs_gt": "Spearman(best-trained supernet, ground truth)",
    "top_supernet_vs_params": "Spearman(best-trained supernet, parameters)",
    "upper_ladder_mutual": "mean Spearman among the upper half of the epoch ladder",
    "top_supernet_vs_seed": "Spearman(a supernet, the same with another seed)",
}


def key_columns(labels: Sequence[str]) -> dict:
    """For each of ``KEY_QUANTITIES``, the labels it is computed from (absent when missing): the
    first ground-truth label, 'Parameters', the ladder's largest rung ('Naive 2k'), and the
    largest rung that has a 'diff seed' twin ('Naive 2k, diff seed')."""
    labels = list(labels)
    gt = [c for c in labels if c.startswith(("GT", "Ground truth"))][:1]
    rungs = sorted((e, c) for c in labels if (e := label_epochs(c)) is not None)
    top = rungs[-1][1] if rungs else None
    upper = [c for _, c in rungs[len(rungs) // 2:]]
    out = {}
    if gt and "Parameters" in labels:
        out["gt_vs_params"] = [gt[0], "Parameters"]
    if top and gt:
        out["top_supernet_vs_gt"] = [top, gt[0]]
    if top and "Parameters" in labels:
        out["top_supernet_vs_params"] = [top, "Parameters"]
    if len(upper) >= 2:
        out["upper_ladder_mutual"] = upper
    seeded = [c for _, c in rungs if f"{c}, diff seed" in labels]
    if seeded:
        out["top_supernet_vs_seed"] = [seeded[-1], f"{seeded[-1]}, diff seed"]
    return out


def _mean_pairs(m: pd.DataFrame, cols: Sequence[str]) -> float:
    vals = np.array([m.loc[a, b] for i, a in enumerate(cols) for b in cols[i + 1:]], dtype=float)
    return float(np.nanmean(vals)) if len(vals) and not np.isnan(vals).all() else float("nan")


def mutual_key_numbers(m: pd.DataFrame) -> dict:
    """The numbers section 3.2 reads off a mutual-correlation matrix (ours or the paper's), one
    per ``KEY_QUANTITIES`` entry; NaN where the matrix lacks the columns."""
    cols = key_columns(m.columns)
    return {q: (_mean_pairs(m, cols[q]) if q in cols else float("nan")) for q in KEY_QUANTITIES}


def bootstrap_frame_ci(frame: pd.DataFrame, stat, *, n_boot: int = 1000, seed: int = 0,
                       level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of ``stat(frame)``, resampling rows (architectures)."""
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    if len(frame) < 2:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    vals = np.array([stat(frame.iloc[rng.integers(0, len(frame), len(frame))]) for _ in range(n_boot)], float)
    vals = vals[~np.isnan(vals)]
    if len(vals) == 0:
        return float("nan"), float("nan")
    a = (1 - level) / 2
    return float(np.quantile(vals, a)), float(np.quantile(vals, 1 - a))


def mutual_comparison(columns: Mapping[str, pd.Series], paper_matrix: pd.DataFrame | None = None, *,
                      n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Section 3.2's key numbers, ours with 95% bootstrap intervals (over the architectures that
    have every column involved) beside the paper's, one row per ``KEY_QUANTITIES`` entry ours has."""
    df = pd.DataFrame(dict(columns))
    paper_vals = mutual_key_numbers(paper_matrix) if paper_matrix is not None else {}
    paper_cols = key_columns(paper_matrix.columns) if paper_matrix is not None else {}
    rows = []
    for q, cols in key_columns(df.columns).items():
        sub = df[cols].dropna()
        if len(sub) < 3:
            continue

        def stat(f, cols=cols):
            return _mean_pairs(pd.DataFrame({c: f[c].to_numpy() for c in cols}).rank().corr(), cols) \
                if all(f[c].nunique() > 1 for c in cols) else float("nan")

        lo, hi = bootstrap_frame_ci(sub, stat, n_boot=n_boot, seed=seed)
        rows.append({"quantity": KEY_QUANTITIES[q], "key": q, "ours": stat(sub), "ci_low": lo, "ci_high": hi,
                     "n": len(sub), "paper": paper_vals.get(q, float("nan")), "columns": " / ".join(cols),
                     "paper_columns": " / ".join(paper_cols.get(q, []))})
    gap = _agreement_gap(df, key_columns(df.columns), n_boot=n_boot, seed=seed)
    if gap is not None:
        paper_gap = float("nan")
        if gap["agree_key"] in paper_vals:
            paper_gap = paper_vals[gap["agree_key"]] - paper_vals.get("top_supernet_vs_gt", float("nan"))
        rows.append({"quantity": GAP_QUANTITY, "key": GAP_KEY, "ours": gap["ours"], "ci_low": gap["ci_low"],
                     "ci_high": gap["ci_high"], "n": gap["n"], "paper": paper_gap, "columns": gap["columns"],
                     "paper_columns": ""})
    return pd.DataFrame(rows)


GAP_KEY = "agreement_minus_gt"
GAP_QUANTITY = "supernets' agreement with each other minus the top supernet's with ground truth (paired)"


def _agreement_gap(df: pd.DataFrame, cols: Mapping[str, list], *, n_boot: int, seed: int) -> dict | None:
    """The paired test of the "stable, biased state": mean Spearman among supernets (upper ladder,
    else two seeds) minus Spearman(top supernet, ground truth), both on the same resampled
    architectures (those that have every column involved)."""
    agree_key = next((k for k in ("upper_ladder_mutual", "top_supernet_vs_seed") if k in cols), None)
    if agree_key is None or "top_supernet_vs_gt" not in cols:
        return None
    agree, vs_gt = cols[agree_key], cols["top_supernet_vs_gt"]
    involved = list(dict.fromkeys(agree + vs_gt))
    sub = df[involved].dropna()
    if len(sub) < 3:
        return None

    def stat(f):
        if not all(f[c].nunique() > 1 for c in involved):
            return float("nan")
        m = pd.DataFrame({c: f[c].to_numpy() for c in involved}).rank().corr()
        return _mean_pairs(m, agree) - m.loc[vs_gt[0], vs_gt[1]]

    lo, hi = bootstrap_frame_ci(sub, stat, n_boot=n_boot, seed=seed)
    return {"ours": stat(sub), "ci_low": lo, "ci_high": hi, "n": len(sub), "agree_key": agree_key,
            "columns": " / ".join(involved)}


def verdict_mutual(title: str, comparison: pd.DataFrame) -> Verdict:
    """Section 3.2 in words for one space: do supernets agree with each other far more than with
    the ground truth (the bias of weight sharing), and how do model size and seeds compare with
    the paper's matrix? Reads a ``mutual_comparison`` table; the call rests on its paired
    ``agreement_minus_gt`` row: ``agrees`` when its interval lies above 0, ``disagrees`` below,
    ``inconclusive`` when it holds 0."""
    if comparison.empty:
        return Verdict(f"**{title}.** Too few architectures with every column to compare.", INCONCLUSIVE,
                       item="Figure 3")
    c = comparison.set_index("key")
    parts = [f"**{title}.**"]

    def fmt(k):
        r = c.loc[k]
        paper = "" if np.isnan(r["paper"]) else f"; paper {r['paper']:.2f}" + (
            ", inside our interval" if r["ci_low"] <= r["paper"] <= r["ci_high"] else ", outside our interval")
        return f"{r['ours']:.2f} [95% CI {r['ci_low']:.2f}, {r['ci_high']:.2f}; n={int(r['n'])}{paper}]"

    for k in c.index:
        parts.append(f"{KEY_QUANTITIES.get(k, GAP_QUANTITY if k == GAP_KEY else k)}: {fmt(k)}.")
    numbers = {k: (c.loc[k, "ours"], c.loc[k, "ci_low"], c.loc[k, "ci_high"]) for k in c.index}
    call, key = INCONCLUSIVE, ""
    if GAP_KEY in c.index:
        g = c.loc[GAP_KEY]
        who = "of different budgets" if "upper_ladder_mutual" in c.index else "of different seeds"
        call = interval_call(g["ci_low"], g["ci_high"], +1)
        key = f"agreement − GT {fmt_ci(g['ours'], g['ci_low'], g['ci_high'], signed=True)}"
        if call == AGREES:
            parts.append(f"Supernets {who} agree with each other more than with the ground truth, by a paired "
                         "difference whose interval lies above 0: **the bias of weight sharing the paper describes "
                         "is reproduced** (agrees): the ranking settles into a stable state away from the ground truth.")
        elif call == DISAGREES:
            parts.append(f"Supernets {who} agree with each other *less* than with the ground truth (the paired "
                         "difference's interval lies below 0): **the paper's stable, biased state is not "
                         "reproduced at this scale** (disagrees).")
        else:
            parts.append(f"Whether supernets {who} agree with each other more than with the ground truth is not "
                         "decided: the paired difference's interval holds 0 (**inconclusive**).")
    elif "top_supernet_vs_gt" in c.index:
        parts.append("Too few supernets (ladder rungs or seeds) to test whether they agree with each other more "
                     "than with the ground truth: **inconclusive**.")
    if "gt_vs_params" in c.index and "top_supernet_vs_params" in c.index:
        ours = c.loc["top_supernet_vs_params", "ours"] - c.loc["gt_vs_params", "ours"]
        paper = c.loc["top_supernet_vs_params", "paper"] - c.loc["gt_vs_params", "paper"]
        side = "more" if ours > 0 else "less"
        text = (f"The supernet follows model size {side} than the ground truth does ({ours:+.2f}; the paired "
                "test is in the bias chapter)")
        if not np.isnan(paper):
            same = np.sign(ours) == np.sign(paper)
            text += (f"; in the paper's matrix {'also' if same else 'instead'} "
                     f"{'more' if paper > 0 else 'less'} ({paper:+.2f})")
        parts.append(text + ".")
    return Verdict(" ".join(parts), call, item="Figure 3", key=key, numbers=numbers)
