"""Seconds per training epoch and per scored architecture of supernets on pruned spaces, measured
now, beside the rates the regime's plan reads from the stored pruned supernets (issue #23).

One short supernet of each kind the trained-budget families train: a subset of the ground-truth
sample (NB-101, NB-201; ``--epochs`` epochs, ``--archs`` architectures scored) and a space around a
gold architecture (DARTS-CIFAR10, ProxylessNAS: 7 architectures, one epoch). Everything goes to a
scratch results root; nothing is stored. The first epoch carries the data loading, so it is
counted as the rate (an upper bound). Then the families' core-hours at the measured rates.
Usage (about 3 CPU-minutes at ``cpu`` on quiet cores):

    python benchmarks/bench_pruned_rates.py [--profile cpu] [--epochs 2] [--archs 19]
"""
from __future__ import annotations

import argparse
import os
import tempfile

import pandas as pd

from nas_core import pruning, regime, study
from nas_core.profiles import budget


def plan_rates(profile: str) -> dict:
    """The rates the plan reads, per space (from the real results root)."""
    kinds = {"nb101": "subset", "nb201": "subset", "darts_cnn": "around", "proxyless": "around"}
    return {s: regime.pruned_rates(s, k, profile) or regime.measured_rates(s, profile) for s, k in kinds.items()}


def measure(profile: str, epochs: int, n_archs: int, stored: dict) -> pd.DataFrame:
    rows = []
    for space in ("nb101", "nb201"):
        pool = [str(a) for a in study.eval_sample(space, profile, budget(space, profile).n_gt_archs)]
        archs = pruning.prune_random(pool, len(pool) / n_archs, seed=0)
        call = dict(space_name=space, profile=profile, space=pruning.subset_space(space, archs), archs=archs,
                    epochs=epochs, seed=0)
        rows.append(("subset", space, call))
    for space in ("darts_cnn", "proxyless"):
        rows.append(("around", space, pruning.around_call(space, profile, 1, 1, 0)))
    out = []
    for kind, space, call in rows:
        df = pruning.supernet_on_space(**call)
        out.append({"space": space, "kind": kind, "epochs": call["epochs"], "archs": len(df),
                    "s/epoch now": df["train_s"].iloc[0] / call["epochs"], "s/arch now": df["score_s"].iloc[0] / len(df),
                    "s/epoch plan": stored[space][0], "s/arch plan": stored[space][1]})
    return pd.DataFrame(out)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--profile", default="cpu")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--archs", type=int, default=19)
    args = p.parse_args(argv)
    jobs = list(regime.PRUNING_PLAN) if args.profile == "cpu" else [
        j for s, f in (("nb101", "sweep"), ("nb201", "sweep"), ("darts_cnn", "around"), ("proxyless", "around"))
        for j in pruning.trained_jobs(s, args.profile, f)]
    plan = regime.plan_table(jobs, args.profile)  # read from the real results root, before it is swapped
    stored = plan_rates(args.profile)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.update(NAS_CORE_RESULTS=f"{tmp}/results", NAS_CORE_RUNS=f"{tmp}/runs")
        rates = measure(args.profile, args.epochs, args.archs, stored)
    with pd.option_context("display.width", 200):
        print(rates.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    now = rates.set_index("space")
    left = []
    for job, (_, row) in zip(jobs, plan.iterrows()):
        r = now.loc[job.space]
        left.append(0.0 if row["stored"] else ((job.epochs - row["epochs_done"]) * r["s/epoch now"]
                                               + job.n_archs(args.profile) * r["s/arch now"]) / 3600)
    plan["core_h_now"] = left
    print()
    print(plan.groupby("space", sort=False)[["core_h_left", "core_h_now"]].sum().round(2).to_string())
    print(f"\n{len(jobs)} supernets: {plan['core_h_left'].sum():.1f} core-hours at the plan's rates, "
          f"{plan['core_h_now'].sum():.1f} at the rates measured now")


if __name__ == "__main__":
    main()
