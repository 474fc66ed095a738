"""The teaching chapter (``notebooks/weight_sharing_tutorial.ipynb``): its defaults, pictures,
demonstrations and every sentence it states about a run.

A class re-runs the tutorial on many laptops, and scores differ from one CPU kind to another
(the book's re-running appendix). So nothing the chapter says about a result is prose written
in advance: each statement is a function here of the numbers shown beside it, and the test
(``tests/test_tutorial.py``) checks each against constructed inputs whose answer is known.

The ranking is like for like: the supernet of a profile is scored against the stand-alone
ground truth of the same cells at the same scale (``study.ground_truth``; at the ``paper``
profile that is the real NAS-Bench-201 table), with the real 200-epoch table as a second,
labelled reference and the study's well-trained supernet of the same profile as the contrast.
"""
from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass
from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from . import analysis, data as data_mod, metrics, paper, parallel, study
from .evaluation import bn_layers, calibrate_bn, calibration_batches, restore_bn_state, save_bn_state
from .profiles import budget, check_profile
from .spaces import get_space
from .spaces.nb201 import EDGES, OPS
from .store import stored_or_none
from .training import recipe_for, train_supernet
from .tricks import paired_delta_ci

SPACE = "nb201"  # the chapter's one space (a chapter names the spaces it renders, as chapters.py)


# ---------------------------------------------------------------- parameters

@dataclass(frozen=True)
class Defaults:
    epochs: int  # training epochs of each short supernet
    n_archs: int  # first architectures of the study's fixed sample (all have ground truth)


# cpu: three seeds of 8 epochs on 50 cells fit five minutes on two cores (the chapter's timing note)
DEFAULTS = {"smoke": Defaults(epochs=1, n_archs=8), "cpu": Defaults(epochs=8, n_archs=50),
            "paper": Defaults(epochs=16, n_archs=100)}
MIN_ARCHS = 8  # fewer than this cannot carry a rank correlation
MIN_GROUP = 8  # a group of architectures smaller than this is pooled with its neighbour, never judged alone


def check_parameters(profile: str, epochs: int, seeds: Sequence[int], n_archs: int, *,
                     reference_epochs: int, bn_calib_steps: int | None = None, top_k: int = 5,
                     bn_demo_archs: int = 0) -> None:
    """One clear line for a parameter the tutorial cannot run with, before any compute."""
    check_profile(profile)
    b = budget(SPACE, profile)
    if not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be a whole number of epochs, 1 or more; got {epochs!r}")
    if not seeds or len(set(seeds)) != len(seeds) or any(not isinstance(s, int) or s < 0 for s in seeds):
        raise ValueError(f"seeds must list distinct non-negative whole numbers, e.g. [0, 1, 2]; got {seeds!r}")
    if not MIN_ARCHS <= n_archs <= b.n_gt_archs:
        raise ValueError(f"n_archs must be between {MIN_ARCHS} and {b.n_gt_archs} at profile {profile!r} "
                         f"(the cells with ground truth); got {n_archs}")
    if reference_epochs < 1:
        raise ValueError(f"reference_epochs must be 1 or more; got {reference_epochs}")
    if bn_calib_steps is not None and bn_calib_steps < 0:
        raise ValueError(f"bn_calib_steps must be 0 or more (or None for the profile's); got {bn_calib_steps}")
    if not 1 <= top_k < n_archs:
        raise ValueError(f"top_k must be between 1 and n_archs - 1 = {n_archs - 1}; got {top_k}")
    if bn_demo_archs < 0:
        raise ValueError(f"bn_demo_archs must be 0 (skip the demonstration) or more; got {bn_demo_archs}")


# The cpu contrast stays the 128-epoch rung it was written for when the ladder grew past it
# (its seeds 0 and 1 are stored; the ladder figure shows the longer rungs too).
PINNED_REFERENCE_EPOCHS = {"cpu": 128}


def reference_epochs_of(profile: str) -> int:
    """The well-trained contrast: the longest rung of the profile's supernet ladder, at cpu the
    128-epoch one."""
    return PINNED_REFERENCE_EPOCHS.get(profile, budget(SPACE, profile).ladder[-1])


# ---------------------------------------------------------------- results the chapter reads

def truth(profile: str) -> tuple[pd.Series, str]:
    """The like-for-like ground truth of the profile's cells and its label: the mean validation
    accuracy over the profile's ground-truth seeds of stand-alone training at that scale (at the
    ``paper`` profile: the real NAS-Bench-201 200-epoch table, which is that scale)."""
    if profile == "paper":
        return study.nb201_real_table("cifar100"), "real NAS-Bench-201 CIFAR-100, 200 epochs"
    b = budget(SPACE, profile)
    gt = study.ground_truth(SPACE, profile, progress=False)
    label = (f"stand-alone, {b.gt_epochs} epochs, same data and network"
             + (f", mean of {len(b.gt_seeds)} seeds" if len(b.gt_seeds) > 1 else ""))
    return study.mean_ground_truth(gt, "valid", seeds=b.gt_seeds), label


def supernet_calls(profile: str, epochs: int, seeds: Sequence[int], n_archs: int,
                   bn_calib_steps: int | None = None) -> list[dict]:
    """The ``study.supernet_scores`` calls of the short supernets, one per seed."""
    over = None if bn_calib_steps is None else {"bn_calib_steps": int(bn_calib_steps)}
    return [dict(space_name=SPACE, profile=profile, epochs=epochs, seed=int(s), n_archs=n_archs,
                 recipe_overrides=over) for s in seeds]


def short_supernets(profile: str, epochs: int, seeds: Sequence[int], n_archs: int,
                    bn_calib_steps: int | None = None, workers: int | None = None) -> pd.DataFrame:
    """Scores of the short supernets (columns arch, score, seed, epochs): the missing ones are
    trained first in worker processes, one per core (``parallel.compute_missing``)."""
    calls = supernet_calls(profile, epochs, seeds, n_archs, bn_calib_steps)
    parallel.compute_missing(study.supernet_scores, calls, workers=workers, desc="short supernets")
    return pd.concat([study.supernet_scores(**c, progress=True) for c in calls], ignore_index=True)


def prepare(profile: str, epochs: int, seeds: Sequence[int], n_archs: int, *, bn_calib_steps: int | None = None,
            bn_demo_archs: int = 0, workers: int | None = None) -> int:
    """Train what the chapter needs and is not stored (the short supernets, then the BN
    demonstration) in worker processes, one per core; returns how many results were computed."""
    jobs = [(study.supernet_scores, c) for c in supernet_calls(profile, epochs, seeds, n_archs, bn_calib_steps)]
    if bn_demo_archs:
        jobs.append((bn_demo, dict(profile=profile, epochs=epochs, seed=int(seeds[0]), n_archs=bn_demo_archs)))
    return parallel.compute_missing_jobs(jobs, workers=workers, desc="tutorial results")


def rung(lad: pd.DataFrame, epochs: int) -> pd.Series:
    """One rung of a ``ladder`` as architecture -> score (empty if that rung is not stored)."""
    return lad[lad["epochs"] == epochs].set_index("arch")["score"]


def first_cells(lad: pd.DataFrame, profile: str, n_archs: int) -> pd.DataFrame:
    """The rows of a ``ladder`` (or any scores) for the first ``n_archs`` cells of the sample."""
    return lad[lad["arch"].isin([str(a) for a in study.eval_sample(SPACE, profile, n_archs)])]


def ladder(profile: str, n_archs: int | None = None) -> pd.DataFrame:
    """The study's seed-0 supernets along the profile's epoch ladder (columns arch, score, epochs),
    on the first ``n_archs`` of the sample (all of it by default). Other profiles than ``smoke``
    only read what is stored, so an answer never starts hours of training; ``smoke`` computes
    its two tiny rungs."""
    b = budget(SPACE, profile)
    parts = []
    for e in b.ladder:
        call = dict(space_name=SPACE, profile=profile, epochs=e)
        df = study.supernet_scores(**call, progress=False) if profile == "smoke" else \
            stored_or_none(study.supernet_scores, **call, progress=False)
        if df is not None:
            parts.append(df)
    if not parts:
        return pd.DataFrame(columns=["arch", "score", "epochs", "seed", "strategy"])
    out = pd.concat(parts, ignore_index=True)
    return out if n_archs is None else first_cells(out, profile, n_archs)


def reference_supernets(profile: str, epochs: int, seeds: Sequence[int] = (0, 1)) -> dict[int, pd.Series]:
    """The study's well-trained supernets that are stored (seed -> scores of its whole sample);
    like ``ladder``, only ``smoke`` computes them."""
    out = {}
    for s in seeds:
        call = dict(space_name=SPACE, profile=profile, epochs=epochs, seed=int(s))
        df = study.supernet_scores(**call, progress=False) if profile == "smoke" else \
            stored_or_none(study.supernet_scores, **call, progress=False)
        if df is not None:
            out[int(s)] = df.set_index("arch")["score"]
    return out


# ---------------------------------------------------------------- ranking numbers

def concordant_share(x, y) -> float:
    """Share of the pairs of architectures that two scores put in the same order, over the pairs
    neither ties (with no ties it is ``(1 + Kendall's tau) / 2``)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    i, j = np.triu_indices(len(x), 1)
    s = np.sign(x[i] - x[j]) * np.sign(y[i] - y[j])
    untied = np.count_nonzero(s)
    return float(np.count_nonzero(s > 0) / untied) if untied else float("nan")


def ranking_row(pred: pd.Series, gt: pd.Series, *, n_boot: int = 1000) -> dict:
    """Spearman with its 95% bootstrap interval, Kendall, share of pairs in the right order, and
    the supernet's mean score, over the architectures both have."""
    x, y = analysis.align(pred, gt)
    row = analysis.correlation_summary(pred, gt, n_boot=n_boot)
    row.update(pairs=len(x) * (len(x) - 1) // 2, concordant=concordant_share(x, y), supernet_mean=float(x.mean()))
    return row


def seed_mean(scores: pd.DataFrame) -> pd.Series:
    """Mean score over the seeds, per architecture (in the sample's order)."""
    return scores.groupby("arch", sort=False)["score"].mean()


def ranking_table(scores: pd.DataFrame, gt: pd.Series, *, n_boot: int = 1000) -> pd.DataFrame:
    """One row per seed (``ranking_row``), and one for the mean of the seeds' scores."""
    rows = {f"seed {s}": ranking_row(g.set_index("arch")["score"], gt, n_boot=n_boot)
            for s, g in scores.groupby("seed", sort=True)}
    if scores["seed"].nunique() > 1:
        rows["mean of the seeds' scores"] = ranking_row(seed_mean(scores), gt, n_boot=n_boot)
    return pd.DataFrame(rows).T


def verdict(ci_low: float, ci_high: float) -> str:
    """A correlation's sign as its 95% interval allows: positive, negative or indistinguishable from 0."""
    if np.isnan(ci_low) or np.isnan(ci_high):
        return "undetermined"
    if ci_low > 0:
        return "positive"
    if ci_high < 0:
        return "negative"
    return "indistinguishable from zero"


def seed_spread(table: pd.DataFrame) -> dict:
    """How stable the per-seed rows of a ``ranking_table`` are: mean, sd, min and max of Spearman,
    the verdict of each seed and how many share the most common one."""
    per_seed = table[table.index.str.startswith("seed ")]
    rho = per_seed["spearman"].astype(float)
    verdicts = [verdict(lo, hi) for lo, hi in zip(per_seed["ci_low"].astype(float), per_seed["ci_high"].astype(float))]
    common = max(verdicts, key=verdicts.count)  # ties: the first seed's (sets would order by hash)
    return {"n_seeds": len(rho), "mean": float(rho.mean()), "sd": float(rho.std(ddof=1)) if len(rho) > 1 else 0.0,
            "min": float(rho.min()), "max": float(rho.max()), "verdicts": verdicts, "common": common,
            "n_common": verdicts.count(common)}


def verdicts_text(spread: Mapping) -> str:
    """``all 3 seeds say **positive**``, or each verdict with its count where the seeds differ."""
    n = spread["n_seeds"]
    if spread["n_common"] == n:
        return f"all {n} seeds say **{spread['common']}**" if n > 1 else f"the one seed says **{spread['common']}**"
    counts = {v: spread["verdicts"].count(v) for v in spread["verdicts"]}  # in seed order
    return "the seeds' verdicts differ: " + ", ".join(f"**{v}** ({k} of {n})" for v, k in counts.items())


def mutual_agreement(scores: pd.DataFrame) -> float:
    """Mean Spearman between the scores of every two seeds (nan with one seed)."""
    wide = scores.pivot_table(index="arch", columns="seed", values="score")
    pairs = [metrics.spearman(wide[a], wide[b]) for a, b in itertools.combinations(wide.columns, 2)]
    return float(np.nanmean(pairs)) if pairs else float("nan")


def ensemble_curve(scores: pd.DataFrame, gt: pd.Series) -> pd.DataFrame:
    """Spearman with the ground truth of the mean score of the first k seeds, k = 1..n."""
    seeds = sorted(scores["seed"].unique())
    rows = []
    for k in range(1, len(seeds) + 1):
        pred = seed_mean(scores[scores["seed"].isin(seeds[:k])])
        rows.append({"seeds averaged": k, "spearman": metrics.spearman(*analysis.align(pred, gt))})
    return pd.DataFrame(rows).set_index("seeds averaged")


def conv3_groups(archs: Sequence[str], min_group: int = MIN_GROUP) -> pd.Series:
    """Architecture -> its number of 3x3 convolutions, the largest counts pooled ("k or more")
    until every group has at least ``min_group`` architectures (or one group is left)."""
    n = pd.Series([a.count("nor_conv_3x3") for a in archs], index=list(archs))
    top = int(n.max())
    while top > int(n.min()) and (n >= top).sum() < min_group:
        top -= 1
    return n.clip(upper=top).map(lambda k, top=top: f"{k} or more" if k == top and (n > top).any() else str(k))


def conv3_table(pred: pd.Series, gt: pd.Series, min_group: int = MIN_GROUP) -> pd.DataFrame:
    """Mean supernet score and ground truth per number of 3x3 convolutions (groups of at least
    ``min_group``), with the size of each group."""
    common = pred.index.intersection(gt.index)
    g = conv3_groups(list(common), min_group)
    out = pd.DataFrame({"architectures": g.value_counts(),
                        "supernet (mean, %)": pred.loc[common].groupby(g).mean(),
                        "ground truth (mean, %)": gt.loc[common].groupby(g).mean()})
    out.index.name = "3x3 convolutions in the cell"
    return out.sort_index()


def conv3_preference(pred: pd.Series, gt: pd.Series, *, n_boot: int = 1000) -> pd.DataFrame:
    """Spearman between a cell's number of 3x3 convolutions and its score, for the supernet and
    for the ground truth, each with a 95% bootstrap interval: a preference read over every
    architecture, not from small groups."""
    common = pred.index.intersection(gt.index)
    n3 = pd.Series([a.count("nor_conv_3x3") for a in common], index=common, dtype=float)
    rows = {}
    for label, s in (("supernet", pred), ("ground truth", gt)):
        r = analysis.correlation_summary(n3, s.loc[common], n_boot=n_boot)
        rows[label] = {k: r[k] for k in ("n", "spearman", "ci_low", "ci_high")}
    return pd.DataFrame(rows).T


# ---------------------------------------------------------------- BN recalibration demonstration

def _predictions(model, x: torch.Tensor, arch, batch_size: int = 500) -> tuple[torch.Tensor, torch.Tensor]:
    """Predicted classes and logits of path ``arch`` in eval mode (batches as the scoring uses)."""
    model.eval()
    preds, logits = [], []
    with torch.no_grad():
        for i in range(0, len(x), batch_size):
            out = model(x[i:i + batch_size], arch)
            logits.append(out)
            preds.append(out.argmax(1))
    return torch.cat(preds), torch.cat(logits)


def _variance_ratios(model, x: torch.Tensor, arch) -> list[tuple[str, float]]:
    """For every BN layer on the path, in forward order: the median over channels of its running
    variance divided by the variance of the input it receives from ``x`` (1: the statistics fit;
    channels that receive exactly zero are left out, nan where all are)."""
    names = {m: n for n, m in model.named_modules()}
    seen: list[tuple[str, float]] = []

    def hook(module, inputs, output):
        v = inputs[0].double().var(dim=(0, 2, 3))
        live = v > 0  # a channel that is exactly zero (fed by `none` edges only) has no variance to compare
        ratio = module.running_var.double()[live] / v[live]
        seen.append((names[module], float(ratio.median()) if live.any() else float("nan")))

    handles = [m.register_forward_hook(hook) for m in bn_layers(model)]
    try:
        model.eval()
        with torch.no_grad():
            model(x, arch)
    finally:
        for h in handles:
            h.remove()
    return seen


def bn_demo(profile: str, epochs: int, seed: int, n_archs: int, *, calib_steps: Sequence[int] = (1, 2, 5),
            n_images: int = 2000, n_ratio_images: int = 500, progress: bool = False) -> pd.DataFrame:
    """What BN recalibration changes, on the first ``n_archs`` cells scored by the supernet that
    ``study.supernet_scores(profile, epochs, seed)`` trains (the same training, repeated here
    because the chapter needs the network itself, not only its scores).

    Long table, one row per (arch, calibration, kind, position): ``calibration`` is the number
    of calibration batches (0: the supernet's own running statistics; the largest, the profile's
    number, as the study scores; ``calib_steps`` under it in between); kinds: ``accuracy`` (% of
    the first ``n_images`` validation images), ``class`` (how many of them are predicted as
    class ``position``), ``logit_sd`` (standard deviation of the logits
    over images, averaged over classes), ``var_ratio`` (``_variance_ratios`` of BN layer number
    ``position`` on the path, named in ``layer``; calibration 0 and the profile's only).
    """
    space = get_space(SPACE)
    b = budget(SPACE, profile)
    cfg = study.supernet_config(SPACE, profile)
    recipe = recipe_for(SPACE, profile)
    steps = sorted({0, *(k for k in calib_steps if 0 < k < recipe.bn_calib_steps), recipe.bn_calib_steps})
    params = dict(space=SPACE, profile=profile, epochs=epochs, seed=seed, n_archs=n_archs, cfg=cfg,
                  recipe=dataclasses.asdict(recipe), calib_steps=steps, n_images=n_images,
                  n_ratio_images=n_ratio_images,
                  max_steps_per_epoch=b.max_steps_per_epoch)
    name = f"bn_demo_{profile}_e{epochs}_s{seed}_{study.short_hash(params)}"

    def compute() -> pd.DataFrame:
        data = data_mod.load(cfg)
        ckpt = study.runs_root() / "tutorial" / f"{name}.pt"
        ckpt.parent.mkdir(parents=True, exist_ok=True)
        model, _ = train_supernet(space, cfg, data, recipe, epochs, seed=seed, checkpoint_path=ckpt,
                                  progress=progress, max_steps_per_epoch=b.max_steps_per_epoch)
        archs = study.eval_sample(SPACE, profile, n_archs)
        device = next(model.parameters()).device
        x, y = data.valid_x[:n_images], data.valid_y[:n_images]
        saved = save_bn_state(model)
        rows = []
        for arch in archs:
            a = str(arch)
            for k in steps:
                restore_bn_state(model, saved)
                if k:
                    calibrate_bn(model, calibration_batches(data.train_x, k, recipe.bn_calib_batch_size, seed, device),
                                 arch=arch)
                pred, logits = _predictions(model, x, arch)
                rows.append((a, k, "accuracy", 0, "", 100.0 * float((pred == y).float().mean())))
                rows.append((a, k, "logit_sd", 0, "", float(logits.std(dim=0).mean())))
                counts = np.bincount(pred.numpy(), minlength=cfg["num_classes"])
                rows += [(a, k, "class", c, "", float(n)) for c, n in enumerate(counts)]
                if k in (0, recipe.bn_calib_steps):
                    rows += [(a, k, "var_ratio", i, layer, r)
                             for i, (layer, r) in enumerate(_variance_ratios(model, x[:n_ratio_images], arch))]
        restore_bn_state(model, saved)
        return pd.DataFrame(rows, columns=["arch", "calibration", "kind", "position", "layer", "value"])

    df = study.store().get_or_compute("tutorial", name, params, compute,
                                      command=f"nas-study run weight_sharing_tutorial --profile {profile}")
    df["layer"] = df["layer"].fillna("").astype(str)
    return df


def bn_summary(demo: pd.DataFrame, calibrated: int) -> pd.DataFrame:
    """Per architecture, with and without recalibration (``calibrated`` batches vs 0): accuracy,
    share of predictions in the most predicted class, and the variance ratio at the last BN layer."""
    rows = []
    for arch, g in demo.groupby("arch", sort=False):
        row = {"arch": arch}
        for k, label in ((0, "without"), (calibrated, "with")):
            h = g[(g["calibration"] == k)]
            cls = h[h["kind"] == "class"]["value"]
            vr = h[h["kind"] == "var_ratio"].sort_values("position")["value"]
            row[f"accuracy {label}"] = float(h[h["kind"] == "accuracy"]["value"].iloc[0])
            row[f"top class share {label}"] = float(cls.max() / cls.sum())
            row[f"last BN variance ratio {label}"] = float(vr.iloc[-1]) if len(vr) else float("nan")
        rows.append(row)
    return pd.DataFrame(rows)


def calibration_steps_table(demo: pd.DataFrame) -> pd.DataFrame:
    """Mean accuracy over the demonstration's architectures per number of calibration batches, and
    the largest change of any architecture from the profile's number (the last, largest one)."""
    acc = demo[demo["kind"] == "accuracy"].pivot_table(index="arch", columns="calibration", values="value", sort=False)
    full = acc.columns.max()
    return pd.DataFrame({"mean accuracy (%)": acc.mean(),
                         "largest change from the profile's (points)": (acc.sub(acc[full], axis=0)).abs().max()})


# ---------------------------------------------------------------- sentences

def _n(x: float, d: int = 2) -> str:
    return f"{x:.{d}f}"


def _count(n: int, word: str, plural: str | None = None) -> str:
    """``1 epoch``, ``8 epochs``."""
    return f"{n:g} {word if n == 1 else plural or word + 's'}"


def equivalence_sentence(same: bool, n_super: int, n_alone: int) -> str:
    if same:
        return (f"The path and the stand-alone network with inherited weights compute the same outputs: one "
                f"architecture *is* a sub-network of the supernet, using {n_alone:,} of its {n_super:,} weights "
                f"({n_alone / n_super:.0%}).")
    return ("The path and the stand-alone network with inherited weights did **not** compute the same outputs: "
            "the supernet's path is not the stand-alone network here, so please report it.")


def gradient_sentence(touched: int, total: int) -> str:
    return (f"{touched} of the supernet's {total} weight tensors received a gradient from one mini-batch "
            f"through this path; the other {total - touched} (the operations the path did not choose) were not "
            "touched.")


def fairness_sentence(paths: Sequence[Mapping[str, str]], choices: Mapping[str, Sequence[str]]) -> str:
    """Whether every candidate of every decision is used exactly once by ``paths`` (FairNAS)."""
    fair = all(sorted(p[e] for p in paths) == sorted(c) for e, c in choices.items())
    if fair:
        return (f"Each of the {len(choices)} edges takes each of its {len(next(iter(choices.values())))} operations "
                f"exactly once over these {len(paths)} paths: every weight gets one update per mini-batch.")
    return f"These {len(paths)} paths do **not** use every operation of every edge exactly once."


def bn_sentence(summary: pd.DataFrame, calibrated: int, n_classes: int) -> str:
    """The BN-recalibration demonstration in words, from ``bn_summary``: did the predictions
    collapse onto one class without recalibration, did recalibration undo it, and how far off
    the running statistics were at the last BN layer."""
    n = len(summary)
    acc0, acc1 = summary["accuracy without"], summary["accuracy with"]
    share0, share1 = summary["top class share without"], summary["top class share with"]
    ratio0 = summary["last BN variance ratio without"].dropna()
    chance = 100.0 / n_classes
    collapsed0 = int((share0 >= 0.5).sum())
    collapsed1 = int((share1 >= 0.5).sum())
    raised = int((acc1 > acc0).sum())
    text = (f"On {n} architectures, accuracy was {_n(acc0.mean(), 1)}% on average with the supernet's own running "
            f"statistics and {_n(acc1.mean(), 1)}% after recalibrating them with "
            f"{_count(calibrated, 'batch', 'batches')} "
            f"(chance: {_n(chance, 0)}%); recalibration raised the accuracy of {raised} of {n}. Without recalibration "
            f"the most predicted class took at least half of all predictions for {collapsed0} of {n} architectures "
            f"(median share {share0.median():.0%}); after it, for {collapsed1} of {n} (median {share1.median():.0%}). ")
    if len(ratio0):
        text += (f"At the last BN layer the running variance was {ratio0.median():.3g} times the variance of what "
                 "the path actually feeds it (median over architectures). ")
    if collapsed0 > n / 2 and collapsed1 <= n / 2:
        text += ("So without recalibration most architectures predict nearly one class for every image, which "
                 "says nothing about the architecture; recalibrated, their predictions spread over the classes again.")
    elif collapsed0 > n / 2:
        text += ("Predictions collapse with and without recalibration: this supernet has not yet learnt to tell the "
                 "classes apart, so the demonstration cannot separate the two effects on this run.")
    elif collapsed0:
        text += "The collapse is partial on this run: it hit some architectures and not others."
    else:
        text += ("No architecture collapsed on this run: the running statistics were close enough to each path's, "
                 "and recalibration changed the scores only by the amounts above.")
    return text


def calibration_steps_sentence(table: pd.DataFrame, n_archs: int) -> str:
    full = table.index.max()
    zero = table.loc[0, "mean accuracy (%)"] if 0 in table.index else float("nan")
    fewer = table.drop(index=[i for i in (0, full) if i in table.index])
    parts = [f"Mean accuracy of {n_archs} architectures: {_n(zero, 1)}% without recalibration, "
             + "".join(f"{_n(r['mean accuracy (%)'], 1)}% with {_count(k, 'batch', 'batches')}, "
                       for k, r in fewer.iterrows())
             + f"and {_n(table.loc[full, 'mean accuracy (%)'], 1)}% with the profile's {full}."]
    change = table["largest change from the profile's (points)"]
    parts.append(f"Without recalibration some architecture's score is {_n(change.loc[0], 1)} points away from its "
                 f"score with {full} batches"
                 + "".join(f"; with {_count(k, 'batch', 'batches')}, up to {_n(change.loc[k], 1)}" for k in fewer.index)
                 + ".")
    return " ".join(parts)


def ranking_sentence(table: pd.DataFrame, *, epochs: int, truth_label: str) -> str:
    """The short supernets' ranking in words, from a ``ranking_table``."""
    s = seed_spread(table)
    seeds = table[table.index.str.startswith("seed ")]
    per = "; ".join(f"{i}: {_n(r['spearman'])} [{_n(r['ci_low'])}, {_n(r['ci_high'])}]" for i, r in seeds.iterrows())
    text = (f"Supernets of {_count(epochs, 'epoch')} ranked {int(seeds['n'].iloc[0])} architectures against the "
            f"ground truth "
            f"({truth_label}) with Spearman {per} (95% bootstrap intervals over architectures). ")
    if s["n_seeds"] > 1:
        text += (f"Over the {s['n_seeds']} seeds: mean {_n(s['mean'])}, sd {_n(s['sd'])}, range {_n(s['min'])} to "
                 f"{_n(s['max'])}; {verdicts_text(s)}. ")
        if "mean of the seeds' scores" in table.index:
            m = table.loc["mean of the seeds' scores"]
            text += (f"Averaging the seeds' scores gives {_n(m['spearman'])} [{_n(m['ci_low'])}, {_n(m['ci_high'])}], "
                     f"{verdict(m['ci_low'], m['ci_high'])}.")
    else:
        text += f"Verdict: **{s['common']}** (one seed: run more to see the spread)."
    return text


def contrast(reference: Mapping[int, pd.Series], short: pd.Series, gt: pd.Series, *,
             n_boot: int = 1000) -> tuple[float, float, float] | None:
    """Spearman of the first well-trained supernet minus that of ``short`` on the architectures
    both scored, with its paired 95% bootstrap interval; None without a well-trained one."""
    if not reference:
        return None
    return paired_delta_ci(next(iter(reference.values())), short, gt, n_boot=n_boot)


def stored_contrast(reference: Mapping[int, pd.Series], stored_short: pd.Series, gt: pd.Series, *,
                    n_boot: int = 1000) -> tuple[float, float, float, int] | None:
    """``contrast`` against the study's stored short supernet on every cell both scored, and how
    many cells that is; None without a well-trained supernet or a stored short one."""
    if not reference or not len(stored_short):
        return None
    n = len(analysis.align(next(iter(reference.values())), stored_short)[0])
    return (*contrast(reference, stored_short, gt, n_boot=n_boot), n)


def _difference(d: float, lo: float, hi: float) -> str:
    return (f"{_n(d)} (paired 95% interval {_n(lo)} to {_n(hi)}: "
            + ("a clear improvement)" if lo > 0 else "a clear loss)" if hi < 0 else "not distinguishable from 0)"))


def contrast_sentence(short: pd.Series, reference: Mapping[int, pd.Series], gt: pd.Series, *, epochs: int,
                      reference_epochs: int, stored: tuple[float, float, float, int] | None = None,
                      n_boot: int = 1000) -> str:
    """The well-trained supernets against the short ones: on the short ones' architectures
    (paired interval of the difference), on the whole sample, and, with ``stored`` (a
    ``stored_contrast``), against the study's stored short supernet on the whole sample."""
    if not reference:
        return (f"No {reference_epochs}-epoch supernet of this profile is stored; compute it with "
                f"`nas-study run performance_vs_epochs` to see the contrast.")
    d, lo, hi = contrast(reference, short, gt, n_boot=n_boot)
    n_same = len(analysis.align(next(iter(reference.values())), short)[0])
    text = (f"On the same {n_same} architectures the {reference_epochs}-epoch supernet "
            f"({reference_epochs / epochs:g}x the training) ranks with Spearman "
            f"{_n(d + metrics.spearman(*analysis.align(short, gt)))}, more than the mean of the {epochs}-epoch ones by "
            f"{_difference(d, lo, hi)}. ")
    parts = []
    for seed, ref in reference.items():
        r = analysis.correlation_summary(ref, gt, n_boot=n_boot)
        parts.append(f"seed {seed}: {_n(r['spearman'])} [{_n(r['ci_low'])}, {_n(r['ci_high'])}] on {r['n']}")
    text += f"On all the architectures with ground truth: {'; '.join(parts)}."
    if len(reference) > 1:
        a, b = list(reference.values())[:2]
        text += f" Two seeds of it agree with each other at {_n(metrics.spearman(*analysis.align(a, b)))}."
    if stored is not None:
        sd, slo, shi, n_all = stored
        text += (f" Against the study's stored seed-0 supernet of {epochs} epochs, paired on all {n_all}: higher by "
                 f"{_difference(sd, slo, shi)}.")
    return text


def real_table_sentence(rows: pd.DataFrame) -> str:
    """The second, labelled reference: the real NAS-Bench-201 table, from rows label -> correlation summary."""
    parts = [f"{label}: {_n(r['spearman'])} [{_n(r['ci_low'])}, {_n(r['ci_high'])}], n={int(r['n'])}"
             for label, r in rows.iterrows()]
    return ("Against the real NAS-Bench-201 table (CIFAR-100, 200 epochs, a different dataset and a network "
            "twice as wide; a reference, not the like-for-like test): " + "; ".join(parts) + ".")


def top_k_sentence(table: pd.DataFrame, k: int) -> str:
    """Top-k of the short supernets against random search, from an ``analysis.top_k_table`` by seed."""
    g = table[table["k"] == k]
    beats = int((g["supernet_top_k"] > g["random_expectation"]).sum())
    ties = int((g["supernet_top_k"] == g["random_expectation"]).sum())
    return (f"The best ground truth among each supernet's top {k}: "
            + ", ".join(f"{v:.2f}" for v in g["supernet_top_k"])
            + f" (one per seed) against {g['random_expectation'].iloc[0]:.2f} expected from "
            f"{_count(k, 'random pick')} and {g['best_of_sample'].iloc[0]:.2f} for the best of the "
            f"{int(g['n'].iloc[0])}; it beat random search's expectation in {beats} of {len(g)} seeds"
            + (f" ({ties} tied)" if ties else "") + " (probability that random search does at least as well: "
            + ", ".join(f"{p:.2f}" for p in g["p_random"]) + ").")


def conv3_sentence(pref: pd.DataFrame) -> str:
    sn, gt = pref.loc["supernet"], pref.loc["ground truth"]

    def what(r):
        v = verdict(r["ci_low"], r["ci_high"])
        return {"positive": "rewards", "negative": "penalises",
                "indistinguishable from zero": "shows no clear preference about"}.get(v, "says nothing about")

    return (f"Over {int(sn['n'])} architectures, the ground truth {what(gt)} 3x3 convolutions (Spearman of their "
            f"number with accuracy {_n(gt['spearman'])} [{_n(gt['ci_low'])}, {_n(gt['ci_high'])}]) and the supernet "
            f"{what(sn)} them ({_n(sn['spearman'])} [{_n(sn['ci_low'])}, {_n(sn['ci_high'])}]).")


def kendall_sentence(row: Mapping) -> str:
    return (f"Kendall's tau is {_n(row['kendall'])}: of the {int(row['pairs']):,} pairs of architectures, the supernet "
            f"orders {row['concordant']:.0%} the same way as the ground truth (a coin would get 50%; "
            f"(1 + tau) / 2 = {(1 + row['kendall']) / 2:.0%}, equal up to ties).")


def ladder_table(lad: pd.DataFrame, gt: pd.Series, *, n_boot: int = 1000) -> pd.DataFrame:
    """Per rung of a ``ladder``: supernet mean and Spearman with its interval."""
    if lad.empty:
        return pd.DataFrame(columns=["epochs", "supernet_mean", "n", "spearman", "ci_low", "ci_high"])
    s = analysis.ladder_summary(lad, gt, n_boot=n_boot)
    return s[["epochs", "supernet_mean", "n", "spearman", "ci_low", "ci_high"]]


def ladder_sentence(summary: pd.DataFrame) -> str:
    if len(summary) < 2:
        return "Fewer than two rungs of the ladder are stored: nothing to compare."
    s = summary.sort_values("epochs")
    first, last = s.iloc[0], s.iloc[-1]
    clear = last["ci_low"] > first["ci_high"]
    return (f"From {first['epochs']:g} to {last['epochs']:g} epochs the supernet's mean accuracy went from "
            f"{_n(first['supernet_mean'], 1)}% to {_n(last['supernet_mean'], 1)}% and its Spearman from "
            f"{_n(first['spearman'])} [{_n(first['ci_low'])}, {_n(first['ci_high'])}] to {_n(last['spearman'])} "
            f"[{_n(last['ci_low'])}, {_n(last['ci_high'])}] on {int(last['n'])} architectures: "
            + ("the intervals do not overlap, longer training clearly ranked better." if clear else
               "the intervals overlap, so on this many architectures the change is not decisive.")
            + _peak_clause(s))


def _peak_clause(s: pd.DataFrame) -> str:
    """Where the correlation peaks before the last rung (finding 1's pattern), a sentence saying so."""
    peak, last = s.loc[s["spearman"].idxmax()], s.iloc[-1]
    if peak["epochs"] == last["epochs"]:
        return ""
    if peak["ci_low"] <= last["ci_high"]:
        verdict = "within the intervals of the last rung."
    elif last["supernet_mean"] > peak["supernet_mean"]:
        verdict = ("the last rung ranks clearly worse than the peak while its mean accuracy is higher, "
                   "the paper's finding 1.")
    else:
        verdict = "the last rung ranks clearly worse than the peak."
    return (f" In between it peaked at {peak['epochs']:g} epochs ({_n(peak['spearman'])} [{_n(peak['ci_low'])}, "
            f"{_n(peak['ci_high'])}]): {verdict}")


def sample_size_table(pred: pd.Series, gt: pd.Series, sizes: Sequence[int], *, n_boot: int = 1000) -> pd.DataFrame:
    """Spearman and the width of its 95% interval on the first n architectures, per n."""
    rows = []
    for n in sizes:
        r = analysis.correlation_summary(pred.iloc[:n], gt, n_boot=n_boot)
        rows.append({"architectures": r["n"], "spearman": r["spearman"], "ci_low": r["ci_low"],
                     "ci_high": r["ci_high"], "interval width": r["ci_high"] - r["ci_low"]})
    return pd.DataFrame(rows).set_index("architectures")


def sample_sizes(n_archs: int, available: int) -> list[int]:
    """Half, once and twice ``n_archs`` and all ``available`` architectures (at least ``MIN_ARCHS``)."""
    return sorted({n for n in (n_archs // 2, n_archs, 2 * n_archs, available) if MIN_ARCHS <= n <= available})


def sample_size_sentence(table: pd.DataFrame) -> str:
    w = table["interval width"]
    if len(w) < 2:
        return f"Only {table.index[0]} architectures are stored: nothing to compare."
    return (f"The 95% interval is {_n(w.iloc[0])} wide on {table.index[0]} architectures and {_n(w.iloc[-1])} on "
            f"{table.index[-1]}: {w.iloc[0] / w.iloc[-1]:.1f}x narrower with {table.index[-1] / table.index[0]:.0f}x "
            f"the architectures (about the square root, {np.sqrt(table.index[-1] / table.index[0]):.1f}x).")


def ensemble_sentence(curve: pd.DataFrame, mutual: float, single: float) -> str:
    """Exercise 3 in words: ``curve`` from ``ensemble_curve``, ``mutual`` from ``mutual_agreement``,
    ``single`` the seeds' mean Spearman with the ground truth."""
    if len(curve) < 2:
        return "One seed: nothing to average."
    one, all_ = curve["spearman"].iloc[0], curve["spearman"].iloc[-1]
    text = (f"Spearman with the ground truth was {_n(one)} for the first seed alone and {_n(all_)} for the mean of "
            f"{len(curve)} seeds' scores ({'higher' if all_ > one else 'not higher'}); each seed alone averaged "
            f"{_n(single)}. The seeds agreed with each other at {_n(mutual)} (mean Spearman of every two). ")
    if mutual < 0.2:
        text += ("They hardly agree with each other: at this budget most of each ranking is the seed's own noise, "
                 "which averaging can remove.")
    elif mutual > single + 0.1:
        text += ("They agree with each other more than with the ground truth: a preference the seeds share, which "
                 "averaging cannot remove (the bias of weight sharing the paper's section 3.2 describes).")
    else:
        text += "They agree with each other about as much as with the ground truth."
    return text


def timing_sentence(total_s: float, computed: int, compute_s: float) -> str:
    """What this run cost: the results it computed, or that it only loaded stored ones."""
    if not computed:
        return f"Every result was already stored: this run only loaded them and took {total_s:.0f} s."
    return (f"This run took {total_s:.0f} s, {compute_s:.0f} s of it computing {_count(computed, 'result')} in "
            "worker processes; a second run loads them in seconds.")


def paper_sentence() -> str:
    """The paper's own NAS-Bench-201 correlations along its epoch ladder (Figure 14), labelled."""
    ref = paper.correlation_vs_epochs(SPACE)
    return (f"*Paper (full scale, 1,000 architectures, Figure 14):* Spearman {ref.iloc[0]:.2f} at {ref.index[0]:,} "
            f"epochs, {ref.loc[256]:.2f} at 256 and {ref.iloc[-1]:.2f} at {ref.index[-1]:,}.")


def closing_note(table: pd.DataFrame, *, epochs: int, reference_epochs: int,
                 contrast: tuple[float, float, float] | None,
                 stored_contrast: tuple[float, float, float, int] | None = None) -> str:
    """How stable the run's story is across its seeds, in numbers. ``contrast``: the paired
    (difference, low, high) of the well-trained supernet's Spearman minus the short ones' on the
    run's cells; ``stored_contrast``: the same against the study's stored short supernet on all
    its ``n`` cells, (difference, low, high, n)."""
    s = seed_spread(table)
    text = (f"**How stable is this?** Over {_count(s['n_seeds'], 'seed')} of {_count(epochs, 'epoch')}, Spearman "
            f"with the like-for-like ground truth had mean {_n(s['mean'])} and ranged from {_n(s['min'])} to "
            f"{_n(s['max'])} (sd {_n(s['sd'])}); {verdicts_text(s)}. ")
    if contrast is None:
        return text + f"No {reference_epochs}-epoch supernet is stored to contrast with."
    d, lo, hi = contrast
    n = int(table["n"].iloc[0])
    text += f"The {reference_epochs}-epoch supernet ranked this run's {n} cells higher by {_difference(d, lo, hi)}"
    clear_stored = False
    if stored_contrast is not None:
        sd, slo, shi, sn = stored_contrast
        clear_stored = slo > 0
        text += (f", and all {sn} cells of the study higher than its stored {epochs}-epoch one by "
                 f"{_difference(sd, slo, shi)}")
    text += ". "
    unanimous = s["n_common"] == s["n_seeds"] and s["n_seeds"] > 1
    where = ("on this run's cells" if lo > 0 else f"on the study's {stored_contrast[3]} cells, while this run's "
             f"{n} were too few to show it" if clear_stored else "")
    if unanimous and where:
        text += (f"Both parts of the story held: every seed gave the same verdict about the short supernets, and "
                 f"the long-trained one ranked clearly better ({where}). That pattern, not the second digit, is what "
                 "a re-run on another machine should reproduce.")
    elif where:
        text += (f"The long-trained supernet ranked clearly better ({where}), but the seeds of the short ones "
                 "disagreed about their verdict: one seed alone could have told another story.")
    else:
        text += ("The long-trained supernet is not clearly better here: look at the intervals before concluding, "
                 "or rank more cells (exercise 2).")
    return text


# ---------------------------------------------------------------- pictures

OP_COLOURS = {"none": "#bbbbbb", "skip_connect": "#4c72b0", "nor_conv_1x1": "#55a868", "nor_conv_3x3": "#c44e52",
              "avg_pool_3x3": "#dd8452"}
OP_SHORT = {"none": "none", "skip_connect": "skip", "nor_conv_1x1": "conv 1x1", "nor_conv_3x3": "conv 3x3",
            "avg_pool_3x3": "avg pool"}
_NODE_X = {0: 0.0, 1: 1.6, 2: 3.2, 3: 4.8}
_EDGE_RAD = {(1, 0): 0.0, (2, 1): 0.0, (3, 2): 0.0, (2, 0): -0.35, (3, 1): -0.35, (3, 0): 0.3}


def _bezier_mid(src: int, dst: int, rad: float) -> tuple[float, float]:
    x1, x2 = _NODE_X[src], _NODE_X[dst]
    dx = x2 - x1
    return (x1 + x2) / 2, 0.5 * rad * (-dx)  # arc3: control point at mid + rad * (dy, -dx)


def _nodes(ax) -> None:
    for node, x in _NODE_X.items():
        ax.add_patch(plt.Circle((x, 0), 0.22, color="white", ec="black", zorder=5))
        ax.text(x, 0, str(node), ha="center", va="center", fontsize=11, zorder=6)
    ax.text(_NODE_X[0], -0.42, "input", ha="center", fontsize=8)
    ax.text(_NODE_X[3], -0.42, "output", ha="center", fontsize=8)


def _finish(ax, title: str) -> None:
    ax.set_xlim(-0.5, 5.3)
    ax.set_ylim(-1.25, 1.1)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(title, fontsize=10)


def _legend(ax, ops: Sequence[str] = OPS) -> None:
    handles = [plt.Line2D([], [], color=OP_COLOURS[o], lw=2.5, linestyle=":" if o == "none" else "-",
                          label=OP_SHORT[o]) for o in ops]
    ax.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, -0.16), ncol=len(ops), fontsize=8,
              frameon=False)


def draw_cell(ax, arch=None):
    """The NB-201 cell: 4 nodes, 6 edges (to<-from), each edge one of the 5 operations; with
    ``arch``, each edge drawn in the colour of its operation."""
    ops = dict(zip(EDGES, arch.ops)) if arch is not None else {}
    for (dst, src), rad in _EDGE_RAD.items():
        op = ops.get((dst, src))
        colour = OP_COLOURS[op] if op else "black"
        ax.add_patch(FancyArrowPatch((_NODE_X[src], 0), (_NODE_X[dst], 0), connectionstyle=f"arc3,rad={rad}",
                                     arrowstyle="-|>", mutation_scale=12, lw=2.2, color=colour, shrinkA=12,
                                     shrinkB=12, linestyle=":" if op == "none" else "-"))
        mx, my = _bezier_mid(src, dst, rad)
        label = f"{dst}<-{src}" + (f"\n{OP_SHORT[op]}" if op else "")
        ax.text(mx, my + (0.12 if my >= 0 else -0.12), label, ha="center", va="bottom" if my >= 0 else "top",
                fontsize=7.5, bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.8))
    _nodes(ax)
    _finish(ax, "NAS-Bench-201 cell: 6 edges, 5 operations each" if arch is None else "one architecture")
    _legend(ax)
    return ax


def draw_supernet_path(ax, arch):
    """One supernet cell: every edge holds all 5 operations (thin), the sampled path's (thick)."""
    offsets = np.linspace(-0.12, 0.12, len(OPS))
    chosen = dict(zip(EDGES, arch.ops))
    for (dst, src), rad in _EDGE_RAD.items():
        for op, off in zip(OPS, offsets):
            on = chosen[(dst, src)] == op
            ax.add_patch(FancyArrowPatch((_NODE_X[src], 0), (_NODE_X[dst], 0),
                                         connectionstyle=f"arc3,rad={rad + off}", arrowstyle="-", lw=3.0 if on else 0.8,
                                         color=OP_COLOURS[op], alpha=1.0 if on else 0.35, shrinkA=12, shrinkB=12,
                                         linestyle=":" if op == "none" else "-", zorder=3 if on else 1))
    _nodes(ax)
    _finish(ax, "supernet cell: all 5 operations on every edge,\nthe sampled path in bold")
    _legend(ax)
    return ax


def draw_skeleton(ax, N: int):
    """The fixed network around the cell: stem, three stages of N cells, two reduction blocks, head."""
    blocks = ["stem"] + [f"{N} x cell", "reduce", f"{N} x cell", "reduce", f"{N} x cell"] + ["head"]
    step = 1.5
    for i, b in enumerate(blocks):
        colour = "#f3d9d9" if b.endswith("cell") else "#e8e8e8"
        ax.add_patch(FancyBboxPatch((i * step, 0), 1.0, 0.6, boxstyle="round,pad=0.05", fc=colour, ec="black"))
        ax.text(i * step + 0.5, 0.3, b, ha="center", va="center", fontsize=8)
        if i:
            ax.add_patch(FancyArrowPatch(((i - 1) * step + 1.07, 0.3), (i * step - 0.07, 0.3), arrowstyle="-|>",
                                         mutation_scale=10, lw=1.2, color="black"))
    ax.set_xlim(-0.2, len(blocks) * step)
    ax.set_ylim(-0.3, 0.9)
    ax.axis("off")
    ax.set_title("the network: a fixed skeleton; every cell is the searched one", fontsize=10)
    return ax


def draw_schedule(axes, space, uniform_paths: Sequence, fair_paths: Sequence):
    """Which operation each edge trains: one path per mini-batch (SPOS, left) and the five paths
    of one FairNAS mini-batch (right), one row per path."""
    edges = list(space.decision_choices())
    for ax, paths, title in ((axes[0], uniform_paths, "uniform (SPOS): one path per mini-batch"),
                             (axes[1], fair_paths, "FairNAS: 5 paths in one mini-batch")):
        for r, arch in enumerate(paths):
            for c, e in enumerate(edges):
                op = space.decisions(arch)[e]
                ax.add_patch(plt.Rectangle((c, -r - 1), 1, 1, fc=OP_COLOURS[op], ec="white", lw=2))
                ax.text(c + 0.5, -r - 0.5, OP_SHORT[op].replace(" ", "\n"), ha="center", va="center", fontsize=6.5,
                        color="white" if op != "none" else "black")
        ax.set_xlim(0, len(edges))
        ax.set_ylim(-len(paths), 0)
        ax.set_xticks(np.arange(len(edges)) + 0.5, edges, fontsize=8)
        ax.set_yticks(-np.arange(len(paths)) - 0.5,
                      [f"batch {i + 1}" if paths is uniform_paths else f"path {i + 1}" for i in range(len(paths))],
                      fontsize=8)
        ax.xaxis.tick_top()
        ax.set_title(title, fontsize=10, pad=22)
        for s in ax.spines.values():
            s.set_visible(False)
        ax.grid(False)
    return axes


def draw_bn_classes(axes, demo: pd.DataFrame, calibrated: int, archs: Sequence[str]):
    """Predicted-class histograms of a few architectures, without (top) and with (bottom) recalibration."""
    for col, arch in enumerate(archs):
        for row, (k, label) in enumerate(((0, "supernet's running statistics"), (calibrated, "recalibrated"))):
            ax = axes[row][col]
            h = demo[(demo["arch"] == arch) & (demo["calibration"] == k)]
            cls = h[h["kind"] == "class"].sort_values("position")
            acc = float(h[h["kind"] == "accuracy"]["value"].iloc[0])
            ax.bar(cls["position"], cls["value"] / cls["value"].sum(), color="#4c72b0" if k else "#c44e52")
            ax.set_ylim(0, 1)
            ax.set_xticks(range(len(cls)))
            ax.tick_params(labelsize=7)
            ax.set_title(f"arch {col + 1}, {label}\naccuracy {acc:.1f}%", fontsize=8)
            if col == 0:
                ax.set_ylabel("share of predictions", fontsize=8)
            if row == 1:
                ax.set_xlabel("predicted class", fontsize=8)
    return axes


def draw_bn_mismatch(ax, demo: pd.DataFrame, calibrated: int):
    """Running variance / actual input variance of every BN layer along the path (log scale),
    one line per architecture, with the supernet's statistics and after recalibration."""
    vr = demo[demo["kind"] == "var_ratio"]
    for (arch, k), g in vr.groupby(["arch", "calibration"], sort=False):
        g = g.sort_values("position")
        ax.plot(g["position"], g["value"], color="#c44e52" if k == 0 else "#4c72b0", alpha=0.6, lw=1.2)
    ax.plot([], [], color="#c44e52", label="supernet's running statistics")
    ax.plot([], [], color="#4c72b0", label=f"recalibrated ({calibrated} batches)")
    ax.axhline(1, color="gray", lw=0.8, linestyle="--")
    ax.set(yscale="log", xlabel="BN layer on the path (stem to classifier)",
           ylabel="running variance / actual variance", title="what each BN layer assumes vs what it gets")
    ax.legend(fontsize=8)
    return ax


def draw_rankings(ax, table: pd.DataFrame, references: Mapping[str, tuple[float, float, float]]):
    """Spearman and 95% interval per seed and for their mean, beside labelled references
    (label -> (spearman, ci_low, ci_high))."""
    labels = list(table.index) + list(references)
    vals = [(r["spearman"], r["ci_low"], r["ci_high"]) for _, r in table.iterrows()] + list(references.values())
    y = np.arange(len(labels))[::-1]
    for yi, (label, (v, lo, hi)) in zip(y, zip(labels, vals)):
        ref = label in references
        ax.errorbar(v, yi, xerr=[[v - lo], [hi - v]], fmt="s" if ref else "o", color="black" if ref else "#4c72b0",
                    capsize=3)
    ax.axvline(0, color="gray", lw=0.8)
    ax.set_yticks(y, labels, fontsize=8)
    ax.set(xlim=(-1, 1), xlabel="Spearman with the like-for-like ground truth (95% interval)")
    return ax


def draw_scatter(ax, pred: pd.Series, gt: pd.Series, *, xlabel: str, ylabel: str, title: str):
    x, y = analysis.align(pred, gt)
    ax.scatter(x, y, s=16)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    return ax


def draw_ladder(ax, summary: pd.DataFrame, *, marks: Mapping[str, tuple[float, float]] = ()):
    """Spearman (with interval) along the stored ladder; ``marks``: label -> (epochs, spearman)."""
    s = summary.sort_values("epochs")
    ax.plot(s["epochs"], s["spearman"], marker="o", label=f"stored seed-0 supernets, {int(s['n'].max())} cells")
    ax.fill_between(s["epochs"].astype(float), s["ci_low"].astype(float), s["ci_high"].astype(float), alpha=0.2)
    for label, (e, v) in dict(marks).items():
        ax.plot([e], [v], marker="*", markersize=12, linestyle="none", label=label)
    ax.axhline(0, color="gray", lw=0.8)
    ax.set(xscale="log", xlabel="supernet training epochs", ylabel="Spearman with ground truth", ylim=(-1, 1))
    ax.set_xticks(list(s["epochs"]), [f"{e:g}" for e in s["epochs"]])
    ax.minorticks_off()
    ax.legend(fontsize=8)
    return ax
