"""Table 3: supernet training tricks under the same budget (paper appendix B.1).

The paper trains a single-path (uniform) baseline supernet and, with the same
budget, variations of it: FairNAS and multi-path (3 paths per mini-batch, 5 on
NAS-Bench-201, so a third / a fifth of the epochs: ``training.parity_epochs``),
another learning rate and weight decay (NAS-Bench-101: LR 0.1 -> 0.05, WD 1e-4
-> 3e-4, i.e. LR x0.5 and WD x3), and another seed. Each row reports:

- ``corr_bl``: Spearman of the row's supernet scores with the baseline's, over
  the whole scored sample;
- ``corr_gt``: Spearman with ground truth (validation), with a bootstrap
  interval, and ``d_corr_gt`` its change from the baseline with a *paired*
  bootstrap interval (architectures resampled jointly for both supernets);
- ``top10``: the test ground truth of the architecture picked (by validation
  ground truth) among the supernet's top 10, as in ``metrics.top_k``;
- ``s_perf``: the supernet's mean score over the sample.

``plan`` says which supernets a table needs; ``table`` computes the rows from
their scores; ``paper_rows`` and ``verdict`` put them beside the paper's.
Everything here is pure: scores come in as ``arch -> score`` series.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from . import metrics, paper
from .analysis import paired_spearman_difference
from .spaces import get_space
from .training import parity_epochs, recipe_for
from .verdicts import AGREES, DISAGREES, INCONCLUSIVE, Verdict, combine

BASELINE = "baseline"
SEED_ROW = "Different Seed"
# The paper's NAS-Bench-101 variant (LR 0.1 -> 0.05, WD 1e-4 -> 3e-4) as factors on any space's recipe.
PAPER_LR_WD_FACTORS = {"lr": 0.5, "weight_decay": 3.0}
# The paper's claim for every row of Table 3: Corr-BL "always high (above 0.95)".
PAPER_CORR_BL_CLAIM = 0.95
WIDE_INTERVAL = 0.4  # a paired interval of the change in Corr-GT wider than this can only show large effects


@dataclass(frozen=True)
class Setting:
    """One row of Table 3: how its supernet is trained (arguments of ``study.supernet_scores``)."""

    label: str
    strategy: str = "uniform"
    epochs: float = 0
    seed: int = 0
    recipe_overrides: Mapping[str, float] = field(default_factory=dict)

    def kwargs(self) -> dict:
        kw = dict(strategy=self.strategy, seed=self.seed)
        if self.recipe_overrides:
            kw["recipe_overrides"] = dict(self.recipe_overrides)
        return kw


def _fmt(v: float) -> str:
    return f"{v:.3g}"


def plan(space_name: str, profile: str, epochs: float, *, seed: int = 0, other_seed: int | None = None,
         lr_wd_factors: Mapping[str, float] | None = None, settings: Sequence[str] | None = None) -> list[Setting]:
    """The supernets of one group of Table 3 (one space, one baseline budget), baseline first.

    FairNAS and multi-path get ``training.parity_epochs`` (the same number of forward-backward
    passes as the baseline); ``lr_wd_factors`` scale the recipe's ``lr`` and ``weight_decay``
    (default: the paper's NAS-Bench-101 change); the seed row uses ``other_seed`` (``seed + 1``).
    ``settings`` keeps only the named rows (the baseline always stays).
    """
    if epochs <= 0:
        raise ValueError(f"epochs must be positive, got {epochs}")
    factors = dict(PAPER_LR_WD_FACTORS if lr_wd_factors is None else lr_wd_factors)
    bad = set(factors) - {"lr", "weight_decay"}
    if bad:
        raise ValueError(f"lr_wd_factors may scale lr and weight_decay only, not {sorted(bad)}")
    if any(f <= 0 for f in factors.values()):
        raise ValueError(f"lr_wd_factors must be positive, got {factors}")
    recipe = recipe_for(space_name, profile)
    over = {k: float(f"{getattr(recipe, k) * f:.12g}") for k, f in factors.items()}  # 3e-4, not 3.0000000000000003e-4
    lr, wd = over.get("lr", recipe.lr), over.get("weight_decay", recipe.weight_decay)
    other = seed + 1 if other_seed is None else other_seed
    if other == seed:
        raise ValueError("other_seed must differ from seed")
    fair = parity_epochs(epochs, space_name)
    rows = [
        Setting(BASELINE, "uniform", epochs, seed),
        Setting("FairNAS", "fairnas", fair, seed),
        Setting("Multi-Path", "multipath", fair, seed),
        Setting(f"LR={_fmt(lr)}, WD={_fmt(wd)}", "uniform", epochs, seed, over),
        Setting(SEED_ROW, "uniform", epochs, other),
    ]
    if settings is not None:
        keep = set(settings)
        known = {"FairNAS", "Multi-Path", "LR/WD", SEED_ROW, BASELINE}
        unknown = keep - known
        if unknown:
            raise ValueError(f"unknown settings {sorted(unknown)}; choose from {sorted(known)}")
        rows = [r for r in rows if r.label == BASELINE or r.label in keep
                or (r.label.startswith("LR=") and "LR/WD" in keep)]
    return rows


def _aligned(*series: pd.Series) -> list[np.ndarray]:
    common = series[0].index
    for s in series[1:]:
        common = common.intersection(s.index)
    if len(common) == 0:
        raise ValueError("no architecture is present in all tables")
    return [s.loc[common].to_numpy(float) for s in series]


def paired_delta_ci(pred: pd.Series, base: pd.Series, gt: pd.Series, *, n_boot: int = 1000, seed: int = 0,
                    level: float = 0.95) -> tuple[float, float, float]:
    """``spearman(pred, gt) - spearman(base, gt)`` and its paired bootstrap interval
    (``analysis.paired_spearman_difference``)."""
    return paired_spearman_difference(pred, base, gt, n_boot=n_boot, seed=seed, level=level)


def row(pred: pd.Series, base: pd.Series, gt_valid: pd.Series, gt_test: pd.Series | None = None, *,
        higher_is_better: bool = True, k: int = 10, n_boot: int = 1000, seed: int = 0) -> dict:
    """The numbers of one Table 3 row (see the module docstring). ``gt_test`` defaults to
    ``gt_valid`` (then top-k picks and reports the same ground truth)."""
    gt_test = gt_valid if gt_test is None else gt_test
    p_all, b_all = _aligned(pred, base)
    p, v, t = _aligned(pred, gt_valid, gt_test)
    lo, hi = metrics.bootstrap_ci(p, v, n_boot=n_boot, seed=seed) if n_boot > 0 else (float("nan"),) * 2
    d, d_lo, d_hi = paired_delta_ci(pred, base, gt_valid, n_boot=n_boot, seed=seed)
    kk = min(k, len(p))
    return {
        "corr_bl": metrics.spearman(p_all, b_all),
        "corr_gt": metrics.spearman(p, v), "ci_low": lo, "ci_high": hi,
        "d_corr_gt": d, "d_low": d_lo, "d_high": d_hi,
        "top10": metrics.top_k(p, t, kk, higher_is_better=higher_is_better, gt_select=v),
        "s_perf": float(pred.mean()),
        "n_gt": len(p), "n": len(p_all), "k": kk,
    }


def table(scores: Mapping[str, pd.Series], gt_valid: pd.Series, gt_test: pd.Series | None = None, *,
          baseline: str = BASELINE, real: pd.Series | None = None, higher_is_better: bool = True,
          k: int = 10, n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Table 3 for one group: a row per setting of ``scores`` (label -> ``arch -> score``), the
    baseline first, with the paper's deltas ``d_top10`` and ``d_s_perf``. With ``real`` (the real
    NAS-Bench-201 table, full scale) also ``corr_real`` and ``top10_real`` against it."""
    if baseline not in scores:
        raise ValueError(f"scores need the baseline row {baseline!r}; got {list(scores)}")
    base = scores[baseline]
    rows = {}
    for label in [baseline] + [s for s in scores if s != baseline]:
        r = row(scores[label], base, gt_valid, gt_test, higher_is_better=higher_is_better, k=k,
                n_boot=n_boot, seed=seed)
        if real is not None:
            p, g = _aligned(scores[label], real)
            r["corr_real"] = metrics.spearman(p, g)
            r["top10_real"] = metrics.top_k(p, g, min(k, len(p)), higher_is_better=True)
        rows[label] = r
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "setting"
    out["d_top10"] = out["top10"] - out.loc[baseline, "top10"]
    out["d_s_perf"] = out["s_perf"] - out.loc[baseline, "s_perf"]
    return out


def display_table(t: pd.DataFrame) -> pd.DataFrame:
    """The paper's layout: ``value (delta)`` strings, Corr-GT with its interval."""
    out = pd.DataFrame(index=t.index)
    out["Corr-BL"] = t["corr_bl"].map(lambda v: f"{v:.3f}")
    base = t.index[0]

    def with_delta(v, d, fmt, is_base):
        return f"{v:{fmt}}" if is_base else f"{v:{fmt}} ({d:+{fmt}})"

    out["Corr-GT [95% CI]"] = [
        f"{r.corr_gt:.3f} [{r.ci_low:.2f}, {r.ci_high:.2f}]" if i == base else
        f"{r.corr_gt:.3f} [{r.ci_low:.2f}, {r.ci_high:.2f}] ({r.d_corr_gt:+.3f} [{r.d_low:+.2f}, {r.d_high:+.2f}])"
        for i, r in t.iterrows()]
    out["Top-10"] = [with_delta(r.top10, r.d_top10, ".2f", i == base) for i, r in t.iterrows()]
    out["S-Perf"] = [with_delta(r.s_perf, r.d_s_perf, ".2f", i == base) for i, r in t.iterrows()]
    if "corr_real" in t:
        out["Corr-real"] = t["corr_real"].map(lambda v: f"{v:.3f}")
        out["Top-10 real"] = t["top10_real"].map(lambda v: f"{v:.2f}")
    return out


def paper_rows(space_name: str) -> pd.DataFrame:
    """The paper's Table 3 rows of a space (``paper.TABLE3``), deltas as the paper prints them."""
    title = get_space(space_name).title
    t = paper.TABLE3[paper.TABLE3["group"].str.startswith(title)].copy()
    return t if t.empty else t.set_index(["group", "setting"])


def verdict(title: str, t: pd.DataFrame, *, budget_label: str = "") -> Verdict:
    """The paper's two claims checked on one group of our Table 3, in words:
    (1) every variation ranks like the baseline (Corr-BL above 0.95), (2) no trick changes the
    correlation with ground truth significantly (paired 95% interval of the change covers 0),
    and how each trick's change compares with a change of seed alone. The call combines the two:
    claim (2) is contradicted only by a trick whose paired interval excludes 0 *and* whose change
    exceeds twice the change a new seed alone makes (where that row exists); it is undecided when
    the significant changes are all within that, or when none is significant but the intervals
    are too wide to show small ones."""
    others = t.drop(index=t.index[0])
    if others.empty:
        return Verdict(f"**{title}{budget_label}.** Only the baseline was trained: nothing to compare.",
                       INCONCLUSIVE, item="Table 3")
    lo_bl = others["corr_bl"].min()
    weakest = others["corr_bl"].idxmin()
    parts = [f"**{title}{budget_label}.** Baseline Corr-GT {t['corr_gt'].iloc[0]:.2f} "
             f"[{t['ci_low'].iloc[0]:.2f}, {t['ci_high'].iloc[0]:.2f}] on {int(t['n_gt'].iloc[0])} architectures."]
    if lo_bl >= PAPER_CORR_BL_CLAIM:
        parts.append(f"Every variation ranks like the baseline (Corr-BL >= {lo_bl:.2f}, lowest: {weakest}): "
                     "as in the paper, all these supernets share one ranking, and so one bias.")
        same_ranking = AGREES
    else:
        parts.append(f"Corr-BL falls to {lo_bl:.2f} ({weakest}), below the paper's {PAPER_CORR_BL_CLAIM}: "
                     "at this scale the supernets' rankings are less stable than the paper found.")
        same_ranking = DISAGREES
    sig = [(i, r) for i, r in others.iterrows()
           if np.isfinite(r["d_low"]) and (r["d_low"] > 0 or r["d_high"] < 0)]
    width = float((others["d_high"] - others["d_low"]).max())
    noise = abs(others.loc[SEED_ROW, "d_corr_gt"]) if SEED_ROW in others.index else 0.0
    if not sig:
        wide = width > WIDE_INTERVAL
        parts.append("No variation changed Corr-GT significantly (every paired 95% interval of the change "
                     "covers 0): the paper's \"no significant changes\" holds here"
                     + (f", though with intervals up to {width:.2f} wide only large changes could show."
                        if wide else "."))
        no_change = INCONCLUSIVE if wide else AGREES
    else:
        desc = ", ".join(f"{i} ({r['d_corr_gt']:+.2f} [{r['d_low']:+.2f}, {r['d_high']:+.2f}])" for i, r in sig)
        parts.append(f"Significant changes of Corr-GT: {desc}.")
        if any(i == SEED_ROW for i, _ in sig):
            parts.append("A new seed alone counts as significant: the bootstrap over architectures leaves out "
                         "the noise of training itself, so changes of that size are noise between supernets.")
        # one reseed is one draw of the noise between two supernets: a trick's change counts
        # against the claim only beyond twice it (about two standard deviations of that noise)
        beyond_seed = [i for i, r in sig if i != SEED_ROW and abs(r["d_corr_gt"]) > 2 * noise]
        if beyond_seed:
            no_change = DISAGREES
            if noise:
                parts.append(f"Beyond twice the change of a reseed ({2 * noise:.2f}): {', '.join(beyond_seed)}.")
        else:
            no_change = INCONCLUSIVE
            parts.append(f"Every significant change is within twice the change of a reseed ({2 * noise:.2f}): not "
                         "decided.")
    if SEED_ROW in others.index:
        tricks = others.drop(index=SEED_ROW)
        bigger = [i for i, r in tricks.iterrows() if abs(r["d_corr_gt"]) > noise]
        parts.append(f"A change of seed alone moved Corr-GT by {noise:.2f}; "
                     + (f"tricks that moved it more: {', '.join(bigger)}." if bigger
                        else "no trick moved it more than that."))
        further = [i for i, r in tricks.iterrows() if r["corr_bl"] < others.loc[SEED_ROW, "corr_bl"]]
        if further:
            parts.append(f"Rankings further from the baseline's than a reseeded baseline's: {', '.join(further)}.")
    call = combine([same_ranking, no_change])
    parts.append(f"Claims: one ranking (Corr-BL >= 0.95) {same_ranking}; no significant change {no_change}: "
                 f"**{call}**.")
    return Verdict(" ".join(parts), call, item="Table 3",
                   key=f"Corr-BL min {lo_bl:.2f}; Corr-GT {t['corr_gt'].iloc[0]:.2f} "
                       f"[{t['ci_low'].iloc[0]:.2f}, {t['ci_high'].iloc[0]:.2f}]")
