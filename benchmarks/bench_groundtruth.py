"""Ground-truth throughput: architectures per hour per worker, and a worker's peak memory.

For each space, one worker process (one torch thread, as ``build_ground_truth``
runs them) loads the profile's data, then trains ONE sampled architecture for
ONE epoch with the stand-alone recipe. Architectures per hour are extrapolated
from that epoch to the profile's ground-truth epochs (data loading, paid once
per worker, is excluded; the one-epoch time includes one evaluation, which the
extrapolation multiplies too, so the rate is slightly pessimistic); multiply by
the number of workers (cores). Peak memory is the worker's ``ru_maxrss``.
With ``--workers N`` (default: one per core) the same epoch is then timed in N
workers at once, in the same run: the aggregate rate and its ratio to N times
the one-worker rate (``scaling``, 1.0 = perfect) show how much workers slow each
other (shared caches, memory bandwidth, vCPUs sharing a core). Spaces whose
module, training code or data is missing are skipped with the reason. Usage:

    OMP_NUM_THREADS=1 python benchmarks/bench_groundtruth.py [--profile cpu] [--spaces nb201 ...] [--workers 2]
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import sys
import time

import pandas as pd


def measure(space_name: str, profile: str, seed: int) -> dict:
    """Runs in a fresh worker: load data, train one arch for one epoch."""
    from nas_core import groundtruth as gt
    from nas_core.spaces import get_space

    setup = gt.resolve_setup(space_name, profile, epochs=1)
    t0 = time.perf_counter()
    gt._init_worker(setup)  # loads the data, sets one thread
    load_s = time.perf_counter() - t0
    arch = get_space(space_name).sample_many(1, seed=seed)[0]
    row = gt._run_task(setup, str(arch), seed)
    return {"load_s": load_s, "epoch_s": row["wall_s"], "valid": row["valid"],
            "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}  # KiB on Linux


def bench(space_name: str, profile: str, seed: int, workers: int) -> list[dict]:
    """One row for one worker, then (if ``workers`` > 1) one for ``workers`` workers at once."""
    from nas_core.profiles import budget
    from nas_core.spaces import get_space

    row = {"space": space_name}
    try:
        get_space(space_name)
        import nas_core.training  # noqa: F401
    except ImportError as e:
        return [{**row, "note": f"skipped: {e}"}]
    gt_epochs = budget(space_name, profile).gt_epochs
    ctx = mp.get_context("spawn")
    rows, solo_rate = [], None
    for n in sorted({1, workers}):
        with ctx.Pool(n) as pool:  # fresh processes per measurement: their own peak memory
            try:
                ms = pool.starmap(measure, [(space_name, profile, seed)] * n)
            except Exception as e:  # missing data and the like: report, go on with the next space
                return [{**row, "note": f"skipped: {type(e).__name__}: {str(e).splitlines()[0]}"}]
        epoch_s = sum(m["epoch_s"] for m in ms) / n
        rate = n * 3600 / (epoch_s * gt_epochs)
        solo_rate = rate if n == 1 else solo_rate
        rows.append({**row, "workers": n, "gt_epochs": gt_epochs, "load_s": round(ms[0]["load_s"], 1),
                     "epoch_s": round(epoch_s, 1), "archs_per_hour": round(rate, 1),
                     "scaling": round(rate / (n * solo_rate), 2),
                     "peak_mem_mb": round(max(m["maxrss_mb"] for m in ms)), "note": ""})
    return rows


def main(argv=None) -> int:
    from nas_core.spaces import SPACE_NAMES

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--profile", default="cpu")
    p.add_argument("--spaces", nargs="+", default=list(SPACE_NAMES), choices=SPACE_NAMES)
    p.add_argument("--seed", type=int, default=0, help="which architecture (sample seed) and training seed")
    p.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)),
                   help="also time this many workers at once (default: one per core)")
    args = p.parse_args(argv)
    if args.workers < 1:
        p.error(f"--workers must be at least 1, got {args.workers}")
    rows = []
    for name in args.spaces:
        print(f"{name} ...", file=sys.stderr, flush=True)
        rows += bench(name, args.profile, args.seed, args.workers)
    print(f"profile {args.profile}: workers of 1 thread each; archs/hour (all workers together) EXTRAPOLATED "
          "from one epoch of one sampled architecture to the profile's ground-truth epochs (data loading "
          "excluded); scaling: the rate over workers x the one-worker rate")
    print(pd.DataFrame(rows).fillna("").to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
