"""From-scratch budget of the committed supernet results (issue #6: 8 hours beyond the ground truth).

Every supernet result under ``results/supernets`` (Figures 1-4, 10, 13-16, Table 3) and
``results/pruning`` (Figures 5, 6, 17, 18) records its wall time, training plus scoring, but
on whichever host ran it and next to however many other processes. This benchmark recomputes
``--per-group`` of them per (directory, space, recording host) group from their recorded
parameters, ``--workers`` at once (one thread each), into a scratch results folder (nothing
committed is read back or touched), checks that each recomputation is the same result (same
name, that is the same parameter hash, and, on the CPU kind that recorded it, the same
scores) and scales each group's recorded total by the median of (time here / time recorded):

    hours here on W workers = sum over groups (median ratio x recorded seconds) / W / 3600

The recomputed runs are picked at interior quantiles of the cheaper half of each group's
recorded times (the ratio does not depend much on a run's size, and the benchmark stays
under half an hour). The pruning chapter also trains networks stand-alone, Figure 6a's few
per space pruned around DARTS (``results/groundtruth/*_cpu_pruning.csv``): ground truth, but
not the tables the ground-truth benchmark measures, so a few of those (at least one per
worker) are retrained here too, as ``bench_gt_budget`` does, and reported on lines of their own. Usage:

    python benchmarks/bench_study_budget.py [--profile cpu] [--per-group 1] [--workers 2] [--spaces ...]
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from bench_gt_budget import bench_table, host_of, pick_runs, total_line  # same rules as the ground-truth benchmark

REPO = Path(__file__).resolve().parents[1]
DIRS = ("supernets", "pruning")


def committed(profile: str) -> pd.DataFrame:
    rows = []
    for d in DIRS:
        for side in sorted((REPO / "results" / d).glob(f"*_{profile}_*.json")):
            meta = json.loads(side.read_text())
            rows.append({"dir": d, "space": meta["params"]["space"], "name": meta["name"],
                         "host": host_of(meta["machine"]), "wall_s": meta["wall_time_s"],
                         "sidecar": str(side)})
    return pd.DataFrame(rows)


def recompute(job: tuple[str, str]) -> dict:
    """Recompute one committed result from its sidecar's parameters (in a worker whose
    ``NAS_CORE_RESULTS`` is a scratch folder); returns its name, whether the recomputation
    has the same name (parameter hash), its seconds and the largest score difference."""
    import torch

    from nas_core import pruning, study

    torch.set_num_threads(1)
    d, sidecar = job
    meta = json.loads(Path(sidecar).read_text())
    p = meta["params"]
    recorded = pd.read_csv(Path(sidecar).with_suffix(".csv"))
    t0 = time.perf_counter()
    if d == "supernets":
        # the recorded cfg is complete (any supernet-only settings included): take it as it is
        kw = dict(seed=p["seed"], strategy=p["strategy"], paths=p["paths"], n_archs=p["n_archs"],
                  sample_seed=p["sample_seed"], cfg_overrides=p["cfg"], recipe_overrides=p["recipe"],
                  with_supernet_cfg=False)
        name = study.supernet_result_name(p["space"], p["profile"], p["epochs"], **kw)
        df = study.supernet_scores(p["space"], p["profile"], p["epochs"], progress=False, **kw)
    else:
        sid = p["pruned_space"]
        archs = list(recorded["arch"])
        space = (pruning.around_space(p["space"], sid["n_free"], sid["block_seed"]) if sid["kind"] == "around"
                 else pruning.subset_space(p["space"], archs))
        df = pruning.supernet_on_space(p["space"], p["profile"], space, archs, p["epochs"], seed=p["seed"],
                                       space_id=sid, cfg_overrides=p["cfg"], recipe_overrides=p["recipe"])
        name = str(df["supernet"].iloc[0])
    seconds = time.perf_counter() - t0
    diff = np.abs(df["score"].to_numpy(float) - recorded["score"].to_numpy(float))
    return {"name": meta["name"], "same_name": name == meta["name"], "wall_s_here": seconds,
            "max_abs_score_diff": float(np.nanmax(diff)) if len(diff) else float("nan")}


def figure6a_trainings(spaces, profile: str, per_table: int, workers: int) -> pd.DataFrame:
    """``bench_table`` rows for the spaces that have Figure 6a's ground truth (``*_pruning.csv``);
    ``per_table`` at least ``workers``, since those runs were recorded that many at once."""
    rows = [bench_table(space, profile, "pruning", per_table, workers) for space in spaces]
    return pd.DataFrame([row for row in rows if row is not None])


def main(argv=None) -> int:
    import torch

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--profile", default="cpu")
    p.add_argument("--spaces", nargs="+", help="only these spaces (default: all)")
    p.add_argument("--per-group", type=int, default=1, help="results recomputed per (directory, space, host)")
    p.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)),
                   help="recomputations at once (default: one per core)")
    args = p.parse_args(argv)
    if args.per_group < 1 or args.workers < 1:
        p.error("--per-group and --workers must be at least 1")
    results = committed(args.profile)
    if args.spaces and not results.empty:
        results = results[results["space"].isin(args.spaces)]
    if results.empty:
        p.error(f"no committed supernet results of profile {args.profile!r} under results/")
    keys = ["dir", "space", "host"]
    picked = pd.concat([pick_runs(g[g["wall_s"] <= g["wall_s"].median()], args.per_group)
                        for _, g in results.groupby(keys, sort=True)])
    print(f"recomputing {len(picked)} of {len(results)} results, {args.workers} at once ...", file=sys.stderr)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        os.environ["NAS_CORE_RESULTS"] = str(Path(scratch) / "results")  # inherited by the spawned workers
        os.environ["NAS_CORE_RUNS"] = str(Path(scratch) / "runs")
        jobs = list(zip(picked["dir"], picked["sidecar"]))
        # longest first, so that the two workers finish together
        jobs = [jobs[i] for i in np.argsort(-picked["wall_s"].to_numpy(), kind="stable")]
        with mp.get_context("spawn").Pool(min(args.workers, len(jobs))) as pool:
            done = pd.DataFrame(pool.map(recompute, jobs, chunksize=1))
    m = picked.merge(done, on="name")
    m["ratio"] = m["wall_s_here"] / m["wall_s"]
    # a seed fixes a result on one kind of CPU; AVX2 and AVX-512 kernels round differently
    m["same_cpu_kind"] = m["host"].str.endswith("/" + torch.backends.cpu.get_cpu_capability())
    groups = results.groupby(keys)["wall_s"].agg(["size", "sum"]).join(m.groupby(keys)["ratio"].median())
    groups["core_h_here"] = groups["ratio"] * groups["sum"] / 3600
    groups = groups.rename(columns={"size": "results", "sum": "recorded_s"}).reset_index()
    groups["recorded_core_h"] = groups.pop("recorded_s") / 3600
    print(f"profile {args.profile}, {args.workers} workers of 1 thread; ratio = time here / time recorded "
          f"for the same result; core_h_here = median ratio x the group's recorded core-hours")
    print(m[["name", "host", "wall_s", "wall_s_here", "ratio", "same_name", "same_cpu_kind", "max_abs_score_diff"]]
          .round(3).to_string(index=False))
    print("(a seed fixes the scores on one kind of CPU only: expect max_abs_score_diff 0 where same_cpu_kind holds; "
          "a host recorded without its CPU kind never counts as the same)")
    print()
    print(groups.round(3).to_string(index=False))
    print("\n" + total_line("all supernet results", groups["recorded_core_h"].sum(), groups["core_h_here"].sum(),
                             args.workers) + f" (benchmark {time.perf_counter() - t0:.0f} s)")
    t = figure6a_trainings(sorted(results["space"].unique()), args.profile, max(args.per_group, args.workers),
                           args.workers)
    if len(t):
        print("\nFigure 6a's stand-alone trainings (ground truth for pruned spaces; not in bench_gt_budget):")
        print(t.fillna("").to_string(index=False))
        print(total_line("supernet results and Figure 6a's trainings",
                         groups["recorded_core_h"].sum() + t["recorded_core_h"].sum(),
                         groups["core_h_here"].sum() + t["core_h_here"].sum(), args.workers))
    return 0


if __name__ == "__main__":
    sys.exit(main())
