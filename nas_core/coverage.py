"""What a chapter can show of a space whose results are few (ProxylessNAS at ``cpu``): the
supernet seeds a cached build has, what a missing one would cost, and verdicts that say how
few architectures their ground truth rests on.

A cached build (``$NAS_CORE_CACHED_ONLY``) computes nothing; a chapter that needs one more
supernet seed than is stored would otherwise become a placeholder, so it shows the stored
seeds and says which is missing. Where ground truth covers few architectures (20 of
ProxylessNAS's 100 at ``cpu``, 5 of them under the paper's 600M FLOPs), a proportion of
the sample (the best 10%) is two or three architectures, and Figure 2's verdict reads the
bootstrap interval of the advantage over random search instead.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from . import pruning, regime, settings, store, study
from .analysis import verdict_top_k
from .verdicts import AGREES, DISAGREES, INCONCLUSIVE, Verdict, fmt_ci, interval_call


def seeds_to_show(space_name: str, profile: str, epochs: int, seeds: Sequence[int], **kw) -> tuple[list, list]:
    """The supernet seeds of ``epochs`` a chapter shows, and those it leaves out: all of ``seeds``
    when results may be computed (the chapter computes the missing ones); under
    ``$NAS_CORE_CACHED_ONLY`` the first seed (the ladder's own, which the chapter needs) and
    the others that are stored, so that a cached build renders what exists instead of a
    placeholder and says what is missing. ``kw`` as ``study.supernet_scores``."""
    seeds = [int(s) for s in seeds]
    if not settings.current().cached_only or not seeds:
        return seeds, []
    kw = {k: v for k, v in kw.items() if k not in ("seed", "progress")}
    stored = [s for s in seeds[1:] if store.stored_or_none(study.supernet_scores, space_name=space_name,
                                                      profile=profile, epochs=epochs, seed=s, progress=False,
                                                      **kw) is not None]
    return [seeds[0], *stored], [s for s in seeds[1:] if s not in stored]


def missing_seeds_note(space_name: str, profile: str, epochs: int, missing: Sequence[int], **kw) -> str:
    """A sentence for a chapter that leaves out the supernet seeds ``missing`` of ``epochs``
    (``seeds_to_show``): which, what computes them, and what they cost by the recorded wall
    time of the stored seed-0 supernet of the same budget (empty when nothing is missing)."""
    if not missing:
        return ""
    kw = {k: v for k, v in kw.items() if k not in ("seed", "progress")}
    name = study.supernet_result_name(space_name, profile, epochs, seed=0, **kw)
    try:
        wall = store.read_provenance(study.results_root() / "supernets" / f"{name}.csv").get("wall_time_s")
    except store.StoreError:
        wall = None
    cost = f" (about {float(wall):,.0f} s of one core each, as the stored seed 0 took)" if wall else ""
    which = ", ".join(str(s) for s in missing)
    return (f"Not stored, so left out of this cached build: the {epochs}-epoch supernet with seed(s) {which}"
            f"{cost}; a run without `NAS_CORE_CACHED_ONLY` computes it.")


TRAINED_MIN_SEEDS = 2  # a trained family is read once two supernet seeds are complete: a spread over seeds


def trained_pruning(space_name: str, profile: str, family: str = "sweep", *, factors=None, free=None,
                    sample_seed: int = 0, block_seed: int = 0, min_seeds: int = TRAINED_MIN_SEEDS,
                    **inputs) -> tuple[pd.DataFrame | None, str]:
    """The stored trained-budget pruning family of a space (``pruning.trained_family``: the rows of
    its complete supernet seeds, or None while fewer than ``min_seeds`` are) and a sentence for the
    chapter: where it is not complete, which supernets are missing, their core-hours at the regime's
    rates and the command that computes them (and, with rows, which seeds they hold); empty when
    every supernet is stored, or when the family has no budget for the space.
    The family is the profile's default factors (``free`` blocks), sample and block seed 0: a
    chapter run with others is told so. Nothing is computed. ``inputs``: as ``pruning.job_calls``."""
    jobs = pruning.trained_jobs(space_name, profile, family)
    if not jobs:
        return None, ""
    defaults = (pruning.default_factors(profile) if family == "sweep" else pruning.default_free(profile))
    given = factors if family == "sweep" else free
    if (given is not None and sorted(given) != defaults) or sample_seed != 0 or (family == "around" and block_seed):
        return None, (f"The trained-budget family ({jobs[0].epochs} epochs) is defined for the profile's default "
                      f"{'pruning factors' if family == 'sweep' else 'free blocks'} {defaults} and seed 0 of the "
                      "sample (and blocks): not shown in this run.")
    rows, missing = pruning.trained_family(space_name, profile, family, min_seeds=min_seeds, **inputs)
    if not missing:
        return rows, ""
    hours = regime.plan_table(missing, profile)["core_h_left"].sum()
    per_seed = {}
    for j in missing:
        per_seed.setdefault(j.seed, []).append(j.label())
    n_per_seed = len(jobs) // len(pruning.TRAINED_SEEDS)
    which = "; ".join(f"seed {s}: " + ("all " + str(n_per_seed) if len(labels) == n_per_seed else ", ".join(labels))
                      for s, labels in per_seed.items())
    waits = ""
    if family == "sweep" and inputs.get("gt", {}).get(space_name) is None and \
            pruning.pool_ground_truth(space_name, profile) is None:
        waits = " None can start yet: the ground truth of the pool is not stored."
    elif family == "sweep" and inputs.get("guide", {}).get(space_name) is None and \
            pruning.trained_guide(space_name, profile, jobs[0].epochs) is None:
        waits = (f" Guided pruning cannot start yet: it ranks by the ladder's {jobs[0].epochs}-epoch supernet "
                 f"(seed {pruning.TRAINED_GUIDE_SEED}), which is not stored.")
    what, verb = ("Figure 5 sweep", "is") if family == "sweep" else ("Figure 6b/6c supernets", "are")
    if rows is not None:
        have = sorted(rows["seed"].unique())
        return rows, (f"The trained-budget {what} ({jobs[0].epochs} epochs a supernet) has supernet seeds "
                      f"{', '.join(str(s) for s in have)} of {', '.join(str(s) for s in pruning.TRAINED_SEEDS)} "
                      f"complete, and what follows reads those; {len(missing)} of its {len(jobs)} supernets are "
                      f"missing ({which}), about {hours:.2g} core-hours; `nas-study regime` computes them.")
    return None, (f"The trained-budget {what} ({jobs[0].epochs} epochs a supernet) {verb} not stored yet: "
                  f"{len(missing)} of its {len(jobs)} supernets are missing ({which}), about {hours:.2g} "
                  f"core-hours at the rates the regime measures; `nas-study regime` computes them (resumably, "
                  f"after the ladder's rungs).{waits}")


FEW_ARCHS = 30  # below this many architectures with ground truth, proportions of the sample decide little


def few_archs_note(verdict: Verdict, n: int, of: int | None = None, *, few: int = FEW_ARCHS) -> Verdict:
    """``verdict`` with a sentence saying how few architectures its ground-truth numbers rest on,
    when ``n`` is under ``few`` (out of ``of`` scored); unchanged otherwise."""
    if n >= few:
        return verdict
    out_of = f" of the {of} scored" if of else ""
    note = (f" *Few architectures*: these ground-truth numbers rest on {n} architectures{out_of}, so only a "
            "large effect could be decided; a call other than inconclusive needs one.")
    return Verdict(str(verdict) + note, verdict.call, item=verdict.item, space=verdict.space, key=verdict.key,
                   numbers=verdict.numbers)


def verdict_top_k_sized(title: str, table: pd.DataFrame, *, higher_is_better: bool = True,
                        metric: str = "accuracy", few: int = FEW_ARCHS) -> Verdict:
    """Figure 2's verdict (``verdict_top_k``) where the sample is large enough for its
    best-10% / best-1% tests; under ``few`` architectures with ground truth (the best 10% is
    then at most two or three of them, and a pick's place among them is mostly luck) the call
    rests on the top-k advantage over random search's expectation alone, by its 95% bootstrap
    interval over architectures (``table`` needs ``n_boot``): ``agrees`` when every seed's
    interval lies above 0 (better than random search, the half of finding 2 that can be
    tested), ``disagrees`` when one lies below, ``inconclusive`` otherwise. The largest k
    below the sample size is judged (a top-k covering the whole sample tells nothing)."""
    if table.empty or int(table["n"].iloc[0]) >= few:
        return verdict_top_k(title, table, higher_is_better=higher_is_better, metric=metric)
    if "adv_low" not in table:
        raise ValueError("verdict_top_k_sized needs a top_k_table with n_boot > 0")
    n = int(table["n"].iloc[0])
    n_seeds = table["seed"].nunique() if "seed" in table else 1
    top10 = int(np.ceil(0.1 * n))  # share_better < 0.1: at most this many, the pick included
    best10 = (f"the best 10% of {n} is its single best, as is the best 1%" if top10 == 1 else
              f"the best 10% of {n} is its best {top10}, the best 1% its single best")
    parts = [f"**{title}** ({n} architectures with ground truth, {n_seeds} supernet seed(s)): too few for the "
             f"paper's best-10% / best-1% reading ({best10}), so the call rests on the advantage over random search's "
             "expectation, by its 95% bootstrap interval over architectures."]
    judged = table[table["k"] < table["n"]]
    whole = table[table["k"] >= table["n"]]
    if len(whole):
        parts.append(f"(top-{int(whole['k_asked'].iloc[0])} covers all {n}: left out.)")
    if judged.empty:
        return Verdict(" ".join(parts + ["Nothing left to judge (**inconclusive**)."]), INCONCLUSIVE,
                       item="Figure 2", key=f"{n} architectures: not judged")
    for k, g in judged.groupby("k"):
        parts.append(
            f"Top-{k}: {g['supernet_top_k'].mean():.2f} {metric} (per seed: "
            f"{', '.join(f'{v:.2f}' for v in g['supernet_top_k'])}) against {g['random_expectation'].iloc[0]:.2f} "
            f"expected from random search and {g['best_of_sample'].iloc[0]:.2f} for the best of the {n}; "
            f"share of them better than the pick {', '.join(f'{v:.2f}' for v in g['share_better'])}; probability "
            f"that random search does at least as well {', '.join(f'{p:.2f}' for p in g['p_random'])}; advantage "
            + "; ".join(fmt_ci(a, lo, hi, 2, True) for a, lo, hi in zip(g["advantage"], g["adv_low"], g["adv_high"]))
            + ".")
    largest = int(judged["k"].max())
    g = judged[judged["k"] == largest]
    calls = [interval_call(lo, hi, +1) for lo, hi in zip(g["adv_low"], g["adv_high"])]
    call = DISAGREES if DISAGREES in calls else AGREES if all(c == AGREES for c in calls) else INCONCLUSIVE
    every, one = (" for every seed", " for at least one seed") if len(g) > 1 else ("", "")
    how = {AGREES: f"lies above 0{every}: the supernet's pick beats random search, as finding 2 says (its "
                   "other half, missing the best 1%, cannot be tested on so few)",
           DISAGREES: f"lies below 0{one}: the pick is worse than random search's",
           INCONCLUSIVE: f"holds 0{one}: not distinguishable from random search on so few"}[call]
    parts.append(f"Verdict: the top-{largest} advantage's interval {how} (**{call}**).")
    key = f"top-{largest} advantage " + ", ".join(fmt_ci(a, lo, hi, 1, True) for a, lo, hi in
                                                   zip(g["advantage"], g["adv_low"], g["adv_high"])) + f" (n={n})"
    numbers = {}
    if largest == int(table["k_asked"].max()):  # the cross-space table's number is the largest k asked for
        numbers["top_k_advantage"] = (float(g["advantage"].mean()), float(g["adv_low"].min()),
                                      float(g["adv_high"].max()))
    return Verdict(" ".join(parts), call, item="Figure 2", key=key, numbers=numbers)
