"""From-scratch budget of the committed ground-truth tables, measured on this machine.

Every committed row records its training time (``wall_s``), but on whichever host ran its
chunk, and the hosts these tables were made on differ up to 2.5x per run. This benchmark
retrains ``--per-table`` recorded runs of every table here, ``--workers`` at once as the
builder runs them (one thread each, data loaded once per worker as in the builder, so the
times compare like for like), and scales each table's recorded total by the median of
(time here / time recorded) over its retrained runs, separately for the rows of each host
that recorded them (a table's sidecar lists its chunks in order, each with its machine and
the number of rows it appended; a table without that list is one group):

    hours here on W workers = sum over tables and recording hosts
                              (median ratio x recorded seconds) / W / 3600

Why per host: one ratio for a whole table mixes hosts up to 3x apart (DARTS-CIFAR10's rows
come from three), so a median over a few runs lands on whichever host those runs came from.

The runs are picked at interior quantiles of each group's recorded times (short to long networks).
The largest difference between a retrained run's validation metric and the recorded one is
printed too: zero on the same kind of CPU, since training is deterministic for a seed.
Nothing is written to the results. Usage:

    python benchmarks/bench_gt_budget.py [--profile cpu] [--per-table 4] [--workers 2] [--spaces ...]
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import time

import numpy as np
import pandas as pd


def table_setup(space_name: str, profile: str, kind: str | None) -> dict:
    """The builder's setup of one table (the variant recipe for ``kind="variant"``)."""
    from nas_core import groundtruth as gt
    from nas_core import study

    if kind != "variant":
        return gt.resolve_setup(space_name, profile)
    cfg_overrides, recipe_overrides = study.gt_variant_overrides(space_name, profile)
    return gt.resolve_setup(space_name, profile, cfg_overrides=cfg_overrides, recipe_overrides=recipe_overrides)


def pick_runs(rows: pd.DataFrame, k: int) -> pd.DataFrame:
    """``k`` rows at the interior quantiles (i + 0.5) / k of the recorded time (all rows if fewer).
    Not the extremes: the shortest recorded runs are those that ran alone at a chunk's end
    and the longest those slowed by a busy neighbour, so their ratios are outliers."""
    ordered = rows.sort_values("wall_s", kind="stable").reset_index(drop=True)
    k = min(k, len(ordered))
    idx = np.unique(np.floor((np.arange(k) + 0.5) / k * len(ordered)).astype(int))
    return ordered.iloc[idx]


def host_of(machine: dict) -> str:
    """A provenance machine's host kind: its kernel build (``v1045`` of ``Linux-6.18.44-fc-v1045-x86_64-...``,
    else the whole platform string) and, where recorded, torch's CPU capability (``v1045/AVX2``): one
    kernel build ran on AVX2 and AVX-512 CPUs, whose speeds differ and whose float results differ too."""
    name = machine.get("platform", "?")
    kernel = next((part for part in name.split("-") if part.startswith("v") and part[1:].isdigit()), name)
    return f"{kernel}/{machine['torch_cpu_capability']}" if machine.get("torch_cpu_capability") else kernel


def row_hosts(sidecar: dict, n_rows: int) -> list[str]:
    """The host that recorded each row, from the sidecar's chunks (rows are appended chunk
    after chunk); one group named after the sidecar's machine otherwise."""
    chunks = sidecar.get("chunks", [])
    if sum(c.get("runs_added", 0) for c in chunks) == n_rows:
        return [host_of(c["machine"]) for c in chunks for _ in range(c["runs_added"])]
    return [host_of(sidecar.get("machine", {})) + " (last chunk's)"] * n_rows


def retrain(setup: dict, tasks: list[tuple[str, int]], workers: int) -> list[dict]:
    from nas_core import groundtruth as gt

    with mp.get_context("spawn").Pool(min(workers, len(tasks)), initializer=gt._init_worker,
                                      initargs=(setup,)) as pool:
        return pool.map(gt._pool_task, tasks, chunksize=1)


def bench_table(space_name: str, profile: str, kind: str | None, k: int, workers: int) -> dict | None:
    from nas_core import store, study

    path = study.ground_truth_path(space_name, profile, kind)
    if not path.exists():
        return None
    rows = pd.read_csv(path)
    name = path.stem
    setup = table_setup(space_name, profile, kind)
    own = rows[rows["config_hash"] == setup["config_hash"]]
    if len(own) < len(rows):  # rows of another configuration would not be retrained like for like
        return {"table": name, "runs": len(rows), "note": f"skipped: {len(rows) - len(own)} rows of another "
                f"configuration than this code's ({setup['config_hash']})"}
    rows = rows.assign(host=row_hosts(store.read_provenance(path), len(rows)))
    picked = pd.concat([pick_runs(g, k) for _, g in rows.groupby("host", sort=True)])
    t0 = time.perf_counter()
    done = retrain(setup, list(zip(picked["arch"], picked["seed"].astype(int))), workers)
    here = pd.DataFrame(done)[["arch", "seed", "wall_s", "valid"]]
    m = picked.merge(here, on=["arch", "seed"], suffixes=("_recorded", "_here"))
    m["ratio"] = m["wall_s_here"] / m["wall_s_recorded"]
    groups = rows.groupby("host")["wall_s"].agg(["size", "sum"]).join(m.groupby("host")["ratio"].median())
    core_s = float((groups["ratio"] * groups["sum"]).sum())
    recorded_s = float(rows["wall_s"].sum())
    return {"table": name, "runs": len(rows), "recorded_core_h": round(recorded_s / 3600, 2),
            "retrained": len(m), "ratio_min": round(float(m["ratio"].min()), 3),
            "ratio_max": round(float(m["ratio"].max()), 3),
            "hosts": "; ".join(f"{h}: {int(g['size'])} runs x {g['ratio']:.2f}" for h, g in groups.iterrows()),
            "core_h_here": round(core_s / 3600, 2),
            "max_abs_valid_diff": round(float((m["valid_here"] - m["valid_recorded"]).abs().max()), 4),
            "bench_s": round(time.perf_counter() - t0), "note": ""}


def total_line(what: str, recorded_core_h: float, here_core_h: float, workers: int) -> str:
    """The closing line of a budget benchmark: recorded and from-scratch core-hours, hours on the workers."""
    return (f"{what}: recorded {recorded_core_h:.1f} core-h ({recorded_core_h / workers:.1f} h on {workers} "
            f"workers); from scratch here about {here_core_h:.1f} core-h = {here_core_h / workers:.1f} h "
            f"on {workers} workers")


def main(argv=None) -> int:
    from nas_core.spaces import SPACE_NAMES

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--profile", default="cpu")
    p.add_argument("--spaces", nargs="+", default=list(SPACE_NAMES), choices=SPACE_NAMES)
    p.add_argument("--per-table", type=int, default=4,
                   help="recorded runs retrained per table and recording host")
    p.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)),
                   help="runs at once, as the builder's workers (default: one per core)")
    args = p.parse_args(argv)
    if args.per_table < 1 or args.workers < 1:
        p.error("--per-table and --workers must be at least 1")
    out = []
    for space in args.spaces:
        for kind in (None, "variant", "reference"):  # issue #5's tables; "pruning" ones belong to Figure 6
            print(f"{space} {kind or ''} ...", file=sys.stderr, flush=True)
            row = bench_table(space, args.profile, kind, args.per_table, args.workers)
            if row is not None:
                out.append(row)
    df = pd.DataFrame(out)
    print(f"profile {args.profile}, {args.workers} workers of 1 thread; ratio = time here / time recorded "
          f"for the same run; core_h_here = sum over recording hosts of median ratio x recorded core-hours")
    print(df.fillna("").to_string(index=False))
    if "core_h_here" in df:
        print("\n" + total_line("all tables", df["recorded_core_h"].sum(), df["core_h_here"].sum(), args.workers))
    return 0


if __name__ == "__main__":
    sys.exit(main())
