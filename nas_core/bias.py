"""Bias of weight sharing and robustness of ground truth: the numbers behind the
``bias`` chapter (paper section 3.2, Figure 4) and the ``stability`` chapter
(appendix A.2 and B.2, Figures 7-12).

Every function takes plain tables (architecture string -> value, or one column
per decision) and a ``higher_is_better`` flag (False for perplexity), so the
same code serves all five spaces. Confidence intervals are percentile
bootstraps over architectures; with the same ``seed`` they resample exactly
as ``metrics.bootstrap_ci`` does, so the two agree.

The figure helpers at the end (``plot_*``) draw on axes the caller owns.
"""
from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from . import metrics, paper
from .spaces import SPACE_NAMES, get_space
from .verdicts import AGREES, DISAGREES, INCONCLUSIVE, PARTLY, Verdict, combine, interval_call

# ---------------------------------------------------------------- what the paper says
# Labelled references, transcribed from the paper: they live in paper.py with its other numbers
# (PAPER_OPERATOR_BIAS: section 3.2 / Figure 4; PAPER_SEED_SPEARMAN: appendix B.2; DISTRIBUTION_FIGURE:
# Figures 7-10) and are re-exported here, where the chapters have always read them.
PAPER_OPERATOR_BIAS = paper.OPERATOR_BIAS
PAPER_SEED_SPEARMAN = paper.SEED_SPEARMAN
DISTRIBUTION_FIGURE = paper.DISTRIBUTION_FIGURE


def paper_size_bias(space: str) -> dict | None:
    """Spearman(parameters, ground truth) and Spearman(parameters, supernet) from the paper's
    mutual-correlation matrices (Figures 13-15), at the paper's longest naive budget.
    None where the paper has no parameter row (DARTS-PTB: all models have one size)."""
    key = paper.SIZE_BIAS_MATRIX.get(space, space)
    if key not in paper.MUTUAL_FILES:
        return None
    m = paper.mutual_correlations(key)
    if "Parameters" not in m.index:
        return None
    gt_row = m.index[0]
    naive = [c for c in m.columns if c.startswith("Naive ") and "," not in c]
    top = naive[-1]
    return {"rho_params_gt": float(m.loc["Parameters", gt_row]),
            "rho_params_supernet": float(m.loc["Parameters", top]),
            "supernet": top, "ground_truth": gt_row, "figure": paper.FIGURE_OF[key]}


def reference_architecture(space_name: str):
    """The architecture the paper measures edit distances to (DARTS V2, second order), or None:
    the space's ``edit_reference``."""
    return get_space(space_name).edit_reference if space_name in SPACE_NAMES else None


# ---------------------------------------------------------------- tables of architectures

def choices_table(space, archs: Sequence) -> pd.DataFrame:
    """One row per architecture (index: canonical string), one column per decision."""
    rows, index = [], []
    for a in archs:
        arch = space.parse(a) if isinstance(a, str) else a
        rows.append(space.decisions(arch))
        index.append(str(arch))
    return pd.DataFrame(rows, index=pd.Index(index, name="arch"))


def costs_table(space, archs: Sequence, cfg: Mapping) -> pd.DataFrame:
    """Parameters and FLOPs (multiply-adds) of each architecture's stand-alone network under ``cfg``."""
    rows = []
    for a in archs:
        arch = space.parse(a) if isinstance(a, str) else a
        c = space.cost(arch, cfg)
        rows.append((str(arch), c.params, c.flops))
    return pd.DataFrame(rows, columns=["arch", "params", "flops"]).set_index("arch")


def has_size_variation(params) -> bool:
    """False where every architecture has the same size (DARTS-PTB): no size-bias analysis."""
    p = np.asarray(params, dtype=float)
    return bool(len(p) > 1 and np.ptp(p) > 0)


# ---------------------------------------------------------------- bootstrap helpers

def _boot_indices(n: int, n_boot: int, seed: int) -> np.ndarray:
    # the same draws as metrics.bootstrap_ci with the same seed
    return np.random.default_rng(seed).integers(0, n, size=(n_boot, n))


def _rowwise_spearman(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Spearman of each row pair (average ranks for ties); nan where a row is constant."""
    rx = stats.rankdata(x, axis=1)
    ry = stats.rankdata(y, axis=1)
    rx = rx - rx.mean(axis=1, keepdims=True)
    ry = ry - ry.mean(axis=1, keepdims=True)
    den = np.sqrt((rx * rx).sum(1) * (ry * ry).sum(1))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (rx * ry).sum(1) / den
    r[den == 0] = np.nan
    return r


def _interval(vals: np.ndarray, level: float) -> tuple[float, float]:
    vals = vals[~np.isnan(vals)]
    if len(vals) == 0:
        return float("nan"), float("nan")
    a = (1 - level) / 2
    return float(np.quantile(vals, a)), float(np.quantile(vals, 1 - a))


def spearman_ci(x, y, *, n_boot: int = 1000, seed: int = 0, level: float = 0.95) -> dict:
    """Spearman with its bootstrap interval (as ``metrics.bootstrap_ci``), and Kendall."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    if len(x) != len(y):
        raise ValueError(f"inputs differ in length: {len(x)} vs {len(y)}")
    if len(x) == 0:
        raise ValueError("empty input")
    idx = _boot_indices(len(x), n_boot, seed)
    lo, hi = _interval(_rowwise_spearman(x[idx], y[idx]), level)
    return {"n": len(x), "spearman": metrics.spearman(x, y), "ci_low": lo, "ci_high": hi,
            "kendall": metrics.kendall(x, y)}


def spearman_difference(x1, y1, x2, y2, *, n_boot: int = 1000, seed: int = 0, level: float = 0.95) -> dict:
    """Spearman(x1, y1) - Spearman(x2, y2) on the same architectures (position i of every
    input is one architecture), with a paired bootstrap interval of the difference."""
    arrs = [np.asarray(a, float) for a in (x1, y1, x2, y2)]
    n = len(arrs[0])
    if any(len(a) != n for a in arrs) or n == 0:
        raise ValueError("the four inputs must be non-empty and of one length")
    idx = _boot_indices(n, n_boot, seed)
    d = _rowwise_spearman(arrs[0][idx], arrs[1][idx]) - _rowwise_spearman(arrs[2][idx], arrs[3][idx])
    lo, hi = _interval(d, level)
    r1, r2 = metrics.spearman(arrs[0], arrs[1]), metrics.spearman(arrs[2], arrs[3])
    return {"n": n, "first": r1, "second": r2, "difference": r1 - r2, "ci_low": lo, "ci_high": hi}


def wilson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion ``k / n``."""
    if n <= 0:
        return float("nan"), float("nan")
    z = stats.norm.ppf(1 - (1 - level) / 2)
    p = k / n
    den = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return max(0.0, centre - half), min(1.0, centre + half)


# ---------------------------------------------------------------- operator bias (Figure 4)

def _common(pred: pd.Series, gt: pd.Series, choices: pd.DataFrame) -> pd.Index:
    common = pred.index.intersection(gt.index).intersection(choices.index)
    if len(common) == 0:
        raise ValueError("no architecture is present in the supernet, ground-truth and decision tables")
    return common


def bias_table(pred: pd.Series, gt: pd.Series, choices: pd.DataFrame, *, higher_is_better: bool = True,
               pooled: Mapping[str, Sequence[str]] | None = None, decisions: Sequence[str] | None = None,
               n_boot: int = 1000, seed: int = 0, level: float = 0.95) -> pd.DataFrame:
    """Per (group, candidate): how the supernet and the ground truth rank the architectures
    that take the candidate, with bootstrap intervals.

    A group is one decision (each of ``decisions``, default all columns of ``choices``) or a
    pooled set of decisions (``pooled``: name -> decision names), where an architecture counts
    once for every decision of the set that takes the candidate (e.g. "conv3x3 on any node").

    ``sn_rank`` / ``gt_rank``: mean rank percentile (1 = best of the sample) of the
    candidate's architectures under the supernet / ground truth; ``bias = sn_rank - gt_rank``
    (positive: favoured by the supernet beyond its merit), the same quantity as
    ``analysis.group_by_decision``. Intervals resample architectures (ranks recomputed).
    """
    common = _common(pred, gt, choices)
    sign = 1.0 if higher_is_better else -1.0
    x = sign * pred.loc[common].to_numpy(float)
    y = sign * gt.loc[common].to_numpy(float)
    n = len(common)
    rs, rg = stats.rankdata(x) / n, stats.rankdata(y) / n
    idx = _boot_indices(n, n_boot, seed)
    brs, brg = stats.rankdata(x[idx], axis=1) / n, stats.rankdata(y[idx], axis=1) / n
    raw_sn, raw_gt = pred.loc[common].to_numpy(float), gt.loc[common].to_numpy(float)

    groups = [(d, [d]) for d in (choices.columns if decisions is None else decisions)]
    groups += [(name, list(cols)) for name, cols in (pooled or {}).items()]
    rows = []
    for name, cols in groups:
        sub = choices.loc[common, cols]
        values = sub.to_numpy(object)
        for cand in dict.fromkeys(values.ravel().tolist()):
            w = np.array([[v == cand for v in row] for row in values], dtype=float).sum(1)
            tot = w.sum()
            bw = w[idx]
            bden = bw.sum(1)
            with np.errstate(invalid="ignore", divide="ignore"):
                b_sn = (bw * brs).sum(1) / bden
                b_gt = (bw * brg).sum(1) / bden
            sn_rank, gt_rank = float(w @ rs / tot), float(w @ rg / tot)
            row = {"group": name, "choice": cand, "n_archs": int((w > 0).sum()), "n": int(tot),
                   "supernet_mean": float(w @ raw_sn / tot), "ground_truth_mean": float(w @ raw_gt / tot),
                   "sn_rank": sn_rank, "gt_rank": gt_rank, "bias": sn_rank - gt_rank}
            for key, vals in (("sn_rank", b_sn), ("gt_rank", b_gt), ("bias", b_sn - b_gt)):
                row[f"{key}_low"], row[f"{key}_high"] = _interval(vals, level)
            rows.append(row)
    return pd.DataFrame(rows)


def most_biased(table: pd.DataFrame, *, min_archs: int = 1, groups: Sequence[str] | None = None) -> pd.Series:
    """The row of ``bias_table`` with the largest |bias| among candidates taken by at least
    ``min_archs`` architectures (all candidates if none is that common)."""
    t = table if groups is None else table[table["group"].isin(list(groups))]
    if t.empty:
        raise ValueError("no candidate to choose from")
    big = t[t["n_archs"] >= min_archs]
    t = big if not big.empty else t
    return t.loc[t["bias"].abs().idxmax()]


def top_share(choice: pd.Series, values: pd.Series, fraction: float, *, higher_is_better: bool = True,
              level: float = 0.95) -> pd.DataFrame:
    """Share of each candidate of one decision among the best ``fraction`` of architectures by
    ``values`` (ties by position), beside its share in the whole table, with Wilson intervals."""
    common = values.index.intersection(choice.index)
    if len(common) == 0:
        raise ValueError("no architecture is present in both tables")
    v = values.loc[common].to_numpy(float)
    c = choice.loc[common].to_numpy(object)
    m = max(1, int(round(fraction * len(v)))) if 0 < fraction <= 1 else None
    if m is None:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    top = c[metrics.best_first(v, higher_is_better)[:m]]
    rows = []
    for cand in dict.fromkeys(c.tolist()):
        k = int(sum(t == cand for t in top))
        lo, hi = wilson(k, m, level)
        rows.append({"choice": cand, "n_top": m, "k_top": k, "share_top": k / m, "share_low": lo,
                     "share_high": hi, "share_all": float(np.mean([t == cand for t in c]))})
    return pd.DataFrame(rows).sort_values("share_top", ascending=False, ignore_index=True)


# ---------------------------------------------------------------- size bias

def size_bias(params: pd.Series, pred: pd.Series, gt: pd.Series, *, higher_is_better: bool = True,
              n_boot: int = 1000, seed: int = 0, level: float = 0.95) -> dict:
    """Spearman(parameters, supernet) against Spearman(parameters, ground truth) on the same
    architectures, scores oriented so that positive means "bigger is better". A positive
    ``difference`` (interval above 0) means the supernet favours big models more than
    stand-alone training does (the paper's "bias towards big models")."""
    common = params.index.intersection(pred.index).intersection(gt.index)
    if len(common) < 3:
        raise ValueError(f"need at least 3 architectures with parameters, supernet and ground truth, got {len(common)}")
    p = params.loc[common].to_numpy(float)
    if not has_size_variation(p):
        raise ValueError("every architecture has the same number of parameters: no size bias to measure")
    sign = 1.0 if higher_is_better else -1.0
    s, g = sign * pred.loc[common].to_numpy(float), sign * gt.loc[common].to_numpy(float)
    sn = spearman_ci(p, s, n_boot=n_boot, seed=seed, level=level)
    gtc = spearman_ci(p, g, n_boot=n_boot, seed=seed, level=level)
    d = spearman_difference(p, s, p, g, n_boot=n_boot, seed=seed, level=level)
    return {"n": len(common),
            "rho_params_supernet": sn["spearman"], "sn_low": sn["ci_low"], "sn_high": sn["ci_high"],
            "rho_params_gt": gtc["spearman"], "gt_low": gtc["ci_low"], "gt_high": gtc["ci_high"],
            "difference": d["difference"], "diff_low": d["ci_low"], "diff_high": d["ci_high"]}


# ---------------------------------------------------------------- supernet picks (Figures 7-10)

def supernet_picks(scores: pd.DataFrame, *, higher_is_better: bool = True) -> pd.DataFrame:
    """The top-1 architecture of each supernet: ``scores`` has columns epochs, arch, score
    (one supernet per epoch budget); ties go to the first listed."""
    rows = []
    for epochs, g in scores.groupby("epochs", sort=True):
        i = metrics.best_first(g["score"].to_numpy(float), higher_is_better)[0]
        rows.append({"epochs": epochs, "arch": g["arch"].iloc[i], "score": float(g["score"].iloc[i])})
    return pd.DataFrame(rows)


def percentile(values: pd.Series, *, higher_is_better: bool = True) -> pd.Series:
    """Rank percentile of each architecture in ``values`` (1 = best; average ranks for ties)."""
    sign = 1.0 if higher_is_better else -1.0
    return (sign * values.astype(float)).rank(pct=True)


def picks_test(values: pd.Series, picks: Sequence[str], *, higher_is_better: bool = True,
               n_perm: int = 2000, seed: int = 0) -> dict:
    """Mean rank percentile of the distinct ``picks`` among ``values``, and the one-sided
    Monte Carlo p-value of a random draw of as many distinct architectures doing as well."""
    pct = percentile(values, higher_is_better=higher_is_better)
    chosen = [a for a in dict.fromkeys(picks) if a in pct.index]
    if not chosen:
        return {"k": 0, "mean_percentile": float("nan"), "p_value": float("nan")}
    obs = float(pct.loc[chosen].mean())
    rng = np.random.default_rng(seed)
    arr = pct.to_numpy(float)
    k = len(chosen)
    draws = np.array([arr[rng.choice(len(arr), k, replace=False)].mean() for _ in range(n_perm)])
    p = (1 + int((draws >= obs - 1e-12).sum())) / (1 + n_perm)
    return {"k": k, "mean_percentile": obs, "p_value": float(p)}


# ---------------------------------------------------------------- edit distance

def edit_distance(space, a, b) -> int:
    """Number of single changes (one block's op or input, one node's activation or input,
    one edge's op ...) that turn ``a`` into ``b``.

    DARTS-CIFAR10: a node's two blocks are interchangeable (the node sums them), so each
    node is matched with the cheaper of the two block alignments. Other spaces: the number of
    decisions whose choices differ.
    """
    a = space.parse(a) if isinstance(a, str) else a
    b = space.parse(b) if isinstance(b, str) else b
    if hasattr(a, "normal") and hasattr(a, "reduce"):  # DARTS-CIFAR10
        def cost(p, q):
            return int(p[0] != q[0]) + int(p[1] != q[1])

        total = 0
        for cell in ("normal", "reduce"):
            ca, cb = getattr(a, cell), getattr(b, cell)
            for i in range(0, len(ca), 2):
                straight = cost(ca[i], cb[i]) + cost(ca[i + 1], cb[i + 1])
                swapped = cost(ca[i], cb[i + 1]) + cost(ca[i + 1], cb[i])
                total += min(straight, swapped)
        return total
    da, db = space.decisions(a), space.decisions(b)
    return sum(da[k] != db[k] for k in da)


# ---------------------------------------------------------------- ground-truth stability (Figures 11, 12)

def seed_pairs(gt: pd.DataFrame, column: str = "valid", *, n_boot: int = 1000, seed: int = 0,
               level: float = 0.95) -> pd.DataFrame:
    """Spearman (bootstrap interval) and Kendall between every two seeds of a ground-truth
    table (rows arch, seed, column), over the architectures trained with both."""
    wide = gt.pivot_table(index="arch", columns="seed", values=column, aggfunc="mean")
    seeds = sorted(wide.columns)
    rows = []
    for i, sa in enumerate(seeds):
        for sb in seeds[i + 1:]:
            both = wide[[sa, sb]].dropna()
            if len(both) < 3:
                continue
            r = spearman_ci(both[sa], both[sb], n_boot=n_boot, seed=seed, level=level)
            rows.append({"seed_a": sa, "seed_b": sb, **r})
    return pd.DataFrame(rows, columns=["seed_a", "seed_b", "n", "spearman", "ci_low", "ci_high", "kendall"])


def seed_frame(gt: pd.DataFrame, seed_a, seed_b, column: str = "valid") -> pd.DataFrame:
    """Architectures trained with both seeds: columns ``a`` and ``b`` (index arch)."""
    wide = gt.pivot_table(index="arch", columns="seed", values=column, aggfunc="mean")
    return wide[[seed_a, seed_b]].dropna().set_axis(["a", "b"], axis=1)


# ---------------------------------------------------------------- verdicts

def _fmt_ci(v, lo, hi, digits=2):
    return f"{v:.{digits}f} [95% CI {lo:.{digits}f}, {hi:.{digits}f}]"


def verdict_size_bias(title: str, ours: dict, paper_ref: dict | None) -> Verdict:
    """Section 3.2's bias towards big models on one space (read off Figure 3's matrix): does the
    supernet follow the parameter count more than the ground truth does, in the paper's direction?
    Decided by the paired interval of the difference."""
    text = (f"**{title}.** Spearman(parameters, supernet) = "
            f"{_fmt_ci(ours['rho_params_supernet'], ours['sn_low'], ours['sn_high'])}, Spearman(parameters, "
            f"ground truth) = {_fmt_ci(ours['rho_params_gt'], ours['gt_low'], ours['gt_high'])}; difference "
            f"{_fmt_ci(ours['difference'], ours['diff_low'], ours['diff_high'])} over {ours['n']} architectures. ")
    if ours["diff_low"] > 0:
        ours_dir, sure = "the supernet favours big models more than stand-alone training does", True
    elif ours["diff_high"] < 0:
        ours_dir, sure = "the supernet favours big models less than stand-alone training does", True
    else:
        ours_dir, sure = "no significant difference in how much the two favour big models", False
    text += f"Here {ours_dir}. "
    kw = dict(item="Figure 3", key=f"size bias {ours['difference']:+.2f} [{ours['diff_low']:+.2f}, "
                                    f"{ours['diff_high']:+.2f}]",
              numbers={"params_vs_gt": (ours["rho_params_gt"], ours["gt_low"], ours["gt_high"]),
                       "params_vs_supernet": (ours["rho_params_supernet"], ours["sn_low"], ours["sn_high"])})
    if paper_ref is None:
        return Verdict(text + "The paper gives no parameter correlation for this space.", INCONCLUSIVE, **kw)
    pd_ = paper_ref["rho_params_supernet"] - paper_ref["rho_params_gt"]
    text += (f"Paper ({paper_ref['figure']}, {paper_ref['supernet']}): {paper_ref['rho_params_supernet']:.2f} vs "
             f"{paper_ref['rho_params_gt']:.2f}, difference {pd_:+.2f}. ")
    if not sure:
        return Verdict(text + "Not decisive at this sample size: the interval of our difference contains 0 "
                       "(**inconclusive**).", INCONCLUSIVE, **kw)
    agree = (pd_ > 0) == (ours["difference"] > 0)
    return Verdict(text + ("Same direction as the paper's numbers for this space (**agrees**)." if agree else
                           "Opposite direction to the paper's numbers for this space (**disagrees**)."),
                   AGREES if agree else DISAGREES, **kw)


def operator_bias_calls(row: Mapping, claim: Mapping) -> dict:
    """The two halves of a ``PAPER_OPERATOR_BIAS`` statement, each decided by its interval:
    ``supernet``: is the candidate favoured by the supernet *beyond its merit* (its bias, supernet
    rank minus ground-truth rank, above 0), and ``ground_truth``: is its ground truth good (rank
    above the average 0.5) or poor, as the paper says. Each: agrees / disagrees / inconclusive."""
    out = {}
    if claim.get("supernet") == "favoured":
        out["supernet"] = interval_call(row["bias_low"], row["bias_high"], +1)
    want = +1 if claim["ground_truth"] == "good" else -1
    out["ground_truth"] = interval_call(row["gt_rank_low"] - 0.5, row["gt_rank_high"] - 0.5, want)
    return out


def verdict_operator_bias(title: str, row: pd.Series, claim: dict) -> Verdict:
    """One paper statement (``PAPER_OPERATOR_BIAS``) against a ``bias_table`` row of its candidate.
    The supernet "favours" a candidate only when its bias interval lies above 0: a candidate the
    supernet ranks above average but below its ground truth is not favoured (negative bias)."""
    calls = operator_bias_calls(row, claim)
    text = (f"**{title}** ({row['group']}, `{row['choice']}`, {row['n_archs']} architectures): mean supernet "
            f"rank percentile {_fmt_ci(row['sn_rank'], row['sn_rank_low'], row['sn_rank_high'])}, ground truth "
            f"{_fmt_ci(row['gt_rank'], row['gt_rank_low'], row['gt_rank_high'])}, bias "
            f"{_fmt_ci(row['bias'], row['bias_low'], row['bias_high'])} (0.5 = average; bias = supernet minus "
            "ground-truth rank). ")
    text += f"Paper: *{claim['text']}* "
    parts = []
    if "supernet" in calls:
        above = "the supernet ranks it above average" if row["sn_rank_low"] > 0.5 else (
            "the supernet ranks it below average" if row["sn_rank_high"] < 0.5 else
            "the supernet ranks it about average")
        parts.append({AGREES: f"{above} and higher than its ground truth does (bias above 0): the supernet "
                              "favours it, as in the paper",
                      DISAGREES: f"{above} but *lower* than its ground truth does (bias below 0): the supernet "
                                 "does not favour it beyond its merit, unlike the paper",
                      INCONCLUSIVE: f"{above}; its bias interval holds 0, so no preference beyond its merit "
                                    "is established"}[calls["supernet"]])
    want_good = claim["ground_truth"] == "good"
    gt_call = calls["ground_truth"]
    gt_good = (gt_call == AGREES) == want_good if gt_call != INCONCLUSIVE else None
    parts.append(("its ground truth is good" if gt_good else "its ground truth is poor" if gt_good is False else
                  "its ground truth is not significantly different from average")
                 + {AGREES: ", as in the paper", DISAGREES: ", unlike the paper", INCONCLUSIVE: ""}[gt_call])
    call = combine(calls.values())
    return Verdict(text + "Here " + "; ".join(parts) + f": **{call}**.", call, item="Figure 4",
                   key=f"bias {row['bias']:+.3f} [{row['bias_low']:+.3f}, {row['bias_high']:+.3f}]",
                   numbers={"bias": (row["bias"], row["bias_low"], row["bias_high"])})


def verdict_best_choice(title: str, share: pd.DataFrame, claim: dict, where: str) -> Verdict | str:
    """The paper's "the best cells choose X" against a ``top_share`` table (Wilson intervals):
    ``agrees`` when X is the most common choice of the best and above its base rate, ``partly``
    when above its base rate only, ``disagrees`` when its interval lies below its base rate."""
    best = claim.get("best_choice")
    if best is None:
        return ""
    r = share.set_index("choice").loc[best] if best in set(share["choice"]) else None
    if r is None:
        return Verdict(f"**{title}** ({where}): `{best}` never occurs.", DISAGREES, item="Figure 4")
    top = share.iloc[0]
    text = (f"**{title}** ({where}): `{best}` is taken by {r['share_top']:.0%} of the best {int(r['n_top'])} "
            f"architectures [95% CI {r['share_low']:.0%}, {r['share_high']:.0%}] against {r['share_all']:.0%} of all. ")
    kw = dict(item="Figure 4", key=f"{best} {r['share_top']:.0%} of best [{r['share_low']:.0%}, "
                                   f"{r['share_high']:.0%}] vs {r['share_all']:.0%}")
    if top["choice"] == best and r["share_low"] > r["share_all"]:
        return Verdict(text + "The most common choice of the best cells, well above its base rate: as in the paper "
                       "(**agrees**).", AGREES, **kw)
    if r["share_low"] > r["share_all"]:
        return Verdict(text + f"Over-represented among the best, but `{top['choice']}` is more common there "
                       "(**partly**).", PARTLY, **kw)
    if r["share_high"] < r["share_all"]:
        return Verdict(text + "Under-represented among the best cells here: the paper's statement is not reproduced "
                       "(**disagrees**).", DISAGREES, **kw)
    return Verdict(text + "Not over-represented among the best cells here (its interval holds its base rate): "
                   "the paper's statement is not reproduced at this sample size (**inconclusive**).", INCONCLUSIVE, **kw)


def verdict_picks(title: str, row: Mapping, figure: str) -> Verdict:
    """Figures 7-10: where the supernets' top-1 picks sit in the sample's distributions: among
    big models (the bias towards big models) and better than random picks? Each by its
    permutation p-value (``picks_test``) at 0.05; a part without data is left out."""
    text = f"**{title}, supernet picks ({figure}).** "
    calls = []
    if "params percentile" in row:
        big = row["params p"] < 0.05 and row["params percentile"] > 0.5
        calls.append(AGREES if big else INCONCLUSIVE)
        text += (f"The {row['distinct picks']} distinct picks sit at mean parameter percentile "
                 f"{row['params percentile']:.2f} (p = {row['params p']:.3f}): "
                 + ("the supernets pick big models, in line with the paper's bias towards big models. " if big else
                    "no significant preference for big models among the picks. "))
    key = ""
    if row["picks with ground truth"]:
        good = row["ground-truth p"] < 0.05
        calls.append(AGREES if good else INCONCLUSIVE)
        key = f"picks at GT percentile {row['ground-truth percentile']:.2f} (p {row['ground-truth p']:.3f})"
        text += (f"Their ground truth sits at mean percentile {row['ground-truth percentile']:.2f} "
                 f"(p = {row['ground-truth p']:.3f}; {row['picks with ground truth']} picks with ground truth): "
                 + ("better than random picks." if good else "not significantly better than random picks."))
    else:
        text += "None of the picks has ground truth at this profile."
    call = combine(calls) if calls else INCONCLUSIVE
    return Verdict(text + f" (**{call}**)", call, item=figure, key=key)


def verdict_seed(title: str, row: Mapping, ref: tuple, n_seeds: int) -> Verdict:
    """Figure 11: how stable the ground truth is across seeds, against the value the paper quotes."""
    value, source = ref
    text = (f"**{title}.** Seed {int(row['seed_a'])} vs seed {int(row['seed_b'])}: Spearman "
            f"{_fmt_ci(row['spearman'], row['ci_low'], row['ci_high'])} over {int(row['n'])} architectures. ")
    if n_seeds > 1 and not np.isnan(row["spearman"]) and row["spearman"] > 0:
        text += (f"The study ranks by the mean of {n_seeds} seeds; Spearman-Brown estimates its reliability at "
                 f"{metrics.spearman_brown(row['spearman'], n_seeds):.2f}. ")
    text += f"Paper: {source}. "
    kw = dict(item="Figure 11", key=f"ρ {row['spearman']:.2f} [{row['ci_low']:.2f}, {row['ci_high']:.2f}]"
                                     + (f" vs paper {value:.2f}" if value is not None else ""))
    if value is None:
        return Verdict(text + "No number to compare with (**inconclusive**).", INCONCLUSIVE, **kw)
    if row["ci_high"] - row["ci_low"] > 0.5:
        return Verdict(text + "The interval is too wide to compare with it (**inconclusive**).", INCONCLUSIVE, **kw)
    if row["ci_low"] > value:
        return Verdict(text + "Our ground truth is more stable across seeds than that (**agrees**: stable).",
                       AGREES, **kw)
    if row["ci_high"] < value:
        return Verdict(text + "Our ground truth is significantly less stable across seeds than that "
                       "(**disagrees**).", DISAGREES, **kw)
    return Verdict(text + "Consistent with that value within the interval (**agrees**).", AGREES, **kw)


def verdict_recipe(title: str, recipe: Mapping, diff: Mapping | None) -> Verdict:
    """Figure 12: does another stand-alone recipe change the ranking more than another seed?"""
    text = (f"**{title}.** Standard vs different recipe: Spearman "
            f"{_fmt_ci(recipe['spearman'], recipe['ci_low'], recipe['ci_high'])} over {recipe['n']} architectures. ")
    kw = dict(item="Figure 12", key=f"recipe ρ {recipe['spearman']:.2f} [{recipe['ci_low']:.2f}, "
                                     f"{recipe['ci_high']:.2f}]")
    if diff is None:
        return Verdict(text + ("No second seed on these architectures, so the recipe effect cannot be set against "
                               "the seed effect here (**inconclusive**)."), INCONCLUSIVE, **kw)
    text += (f"On the same architectures two seeds of the standard recipe agree at {diff['first']:.2f}; the "
             f"difference (seed minus recipe) is {_fmt_ci(diff['difference'], diff['ci_low'], diff['ci_high'])}. ")
    kw["key"] += f"; seed − recipe {diff['difference']:+.2f} [{diff['ci_low']:+.2f}, {diff['ci_high']:+.2f}]"
    if diff["ci_low"] > 0:
        return Verdict(text + ("A different recipe changes the ranking more than a different seed does: as in the "
                               "paper, appendix B.2 (**agrees**)."), AGREES, **kw)
    if diff["ci_high"] < 0:
        return Verdict(text + "Here the seed changes the ranking more than the recipe does: unlike the paper "
                       "(**disagrees**).", DISAGREES, **kw)
    return Verdict(text + "Not decisive: the interval of the difference contains 0 (**inconclusive**).",
                   INCONCLUSIVE, **kw)


# ---------------------------------------------------------------- figures

HIGHLIGHT = "tab:orange"


def readable_log_axis(ax, which: str = "x") -> None:
    """Log-scale ticks that do not run together: majors at 1, 2 and 5 of each decade with
    short labels (2k, 500k, 1M), no minor labels (matplotlib labels every minor tick of a
    range under a decade, which overlapped on the parameter and FLOPs axes)."""
    from matplotlib.ticker import EngFormatter, LogLocator, MaxNLocator, NullFormatter

    axis = ax.xaxis if which == "x" else ax.yaxis
    lo, hi = ax.get_xlim() if which == "x" else ax.get_ylim()
    if lo > 0 and hi / lo < 3:  # a narrow range (ProxylessNAS's parameters): few evenly spaced labels
        axis.set_major_locator(MaxNLocator(nbins=3))
    else:
        axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0), numticks=12))
    axis.set_major_formatter(EngFormatter(sep=""))
    axis.set_minor_formatter(NullFormatter())


def plot_decision(ax, frame: pd.DataFrame, highlight, *, title: str, metric: str, log: bool = False,
                  highlight_label: str = "most biased") -> None:
    """Figure 4 panel: supernet score (x) vs ground truth (y), one colour per candidate of
    the decision; the ``highlight`` candidate drawn on top in orange."""
    import seaborn as sns

    cands = sorted((c for c in dict.fromkeys(frame["choice"].tolist()) if c != highlight), key=str)
    muted = [c for i, c in enumerate(sns.color_palette("muted", 10)) if i != 1]  # no orange: that is the highlight
    colours = muted if len(cands) <= len(muted) else sns.color_palette("Greys", len(cands) + 2)[1:-1]
    for c, col in zip(cands, colours):
        g = frame[frame["choice"] == c]
        ax.scatter(g["supernet"], g["ground_truth"], s=14, alpha=0.6, color=col, linewidth=0, label=str(c))
    g = frame[frame["choice"] == highlight]
    ax.scatter(g["supernet"], g["ground_truth"], s=30, color=HIGHLIGHT, edgecolor="black", linewidth=0.4,
               label=f"{highlight} ({highlight_label})", zorder=3)
    if log:
        ax.set(xscale="log", yscale="log")
        readable_log_axis(ax, "x")
        readable_log_axis(ax, "y")
    ax.set(xlabel=f"supernet {metric}", ylabel=f"ground truth {metric}", title=title)
    ax.legend(fontsize=7, loc="best")


def plot_size(ax, params: pd.Series, values: pd.Series, *, ylabel: str, title: str, rho: float | None = None,
              picks: Sequence[str] = ()) -> None:
    """Parameters (x, log) against a score (y); ``picks`` in orange."""
    common = params.index.intersection(values.index)
    ax.scatter(params.loc[common], values.loc[common], s=8 if len(common) > 2000 else 14, alpha=0.5,
               color="black", linewidth=0)
    chosen = [a for a in dict.fromkeys(picks) if a in common]
    if chosen:
        ax.scatter(params.loc[chosen], values.loc[chosen], s=40, color=HIGHLIGHT, edgecolor="black",
                   linewidth=0.5, zorder=3, label="top-1 of a supernet")
        ax.legend(fontsize=7)
    ax.set(xscale="log", xlabel="parameters", ylabel=ylabel,
           title=title + (f" (Spearman {rho:.2f})" if rho is not None else ""))
    readable_log_axis(ax, "x")


def plot_pairs(ax, a: pd.Series, b: pd.Series, *, xlabel: str, ylabel: str, title: str, log: bool = False,
               picks: Sequence[str] = ()) -> None:
    """Two results of the same architectures (Figures 11-12): identity line, picks in orange."""
    common = a.index.intersection(b.index)
    ax.scatter(a.loc[common], b.loc[common], s=14, alpha=0.6, color="black", linewidth=0)
    chosen = [x for x in dict.fromkeys(picks) if x in common]
    if chosen:
        ax.scatter(a.loc[chosen], b.loc[chosen], s=40, color=HIGHLIGHT, edgecolor="black", linewidth=0.5,
                   zorder=3, label="top-1 of a supernet")
        ax.legend(fontsize=7)
    lo = float(min(a.loc[common].min(), b.loc[common].min()))
    hi = float(max(a.loc[common].max(), b.loc[common].max()))
    ax.plot([lo, hi], [lo, hi], color="gray", linewidth=0.6, linestyle=":")
    if log:
        ax.set(xscale="log", yscale="log")
        readable_log_axis(ax, "x")
        readable_log_axis(ax, "y")
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
