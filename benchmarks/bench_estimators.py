"""Cost of the training-free estimators per NAS-Bench-201 cell at the paper's network, and the
projected core-hours of the full-scale tables (``estimator_study.nb201_full_scale``).

Scores ``--cells`` cells of the paper's 1k sample (``sample_many(1000, seed=0)``, its first ones)
with every estimator, one torch thread, in this process, nothing stored, for each
``--classes``; prints per estimator the mean CPU seconds per cell, the total, and the
projection for all 15,625 cells (CPU seconds, i.e. core-seconds: wall time on a busy machine
is longer, CPU time much less so). It also prints the machine's load average before and
after, since other processes on the same cores slow every kernel (shared caches and memory
bandwidth) even when CPU time is counted. Usage:

    python benchmarks/bench_estimators.py --cells 20 --classes 10 100
"""
from __future__ import annotations

import argparse
import os
import time

import torch

from nas_core import estimator_study as es
from nas_core import estimators as est
from nas_core.spaces import get_space
from nas_core.spaces.nb201 import NUM_CELLS


def measure(num_classes: int, n_cells: int) -> dict[str, float]:
    """Mean CPU seconds per cell of each estimator (and of building the network), first cell
    excluded (kernel warm-up)."""
    space = get_space("nb201")
    cfg = es.nb201_full_config(num_classes)
    batch = est.estimator_batch(cfg, es.BATCH_SIZE, es.BATCH_SEED)
    cells = space.sample_many(n_cells + 1, seed=0)
    totals: dict[str, float] = {}
    for i, arch in enumerate(cells):
        out = est.estimate_all(space, arch, cfg, batch, seed=es.INIT_SEED)
        if i == 0:
            continue
        for k, v in out.items():
            if k.startswith("cpu_s_") or k == "build_cpu_s":
                totals[k] = totals.get(k, 0.0) + v
    return {k: v / n_cells for k, v in totals.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cells", type=int, default=20, help="cells measured (after one warm-up cell)")
    ap.add_argument("--classes", type=int, nargs="+", default=[10, 100], choices=[10, 100])
    args = ap.parse_args()
    if args.cells < 1:
        ap.error("--cells must be >= 1")
    torch.set_num_threads(1)
    print(f"load average before: {os.getloadavg()}; cpu count {os.cpu_count()}; torch threads 1")
    grand = 0.0
    for classes in args.classes:
        t0 = time.time()
        per = measure(classes, args.cells)
        total = sum(per.values())
        grand += total
        print(f"\nNB-201 C=16 N=5, {classes} classes, batch {es.BATCH_SIZE}: {args.cells} cells, "
              f"{time.time() - t0:.0f} s wall")
        for k, v in sorted(per.items(), key=lambda kv: -kv[1]):
            print(f"  {k:18s} {v:7.3f} CPU s/cell")
        print(f"  {'total':18s} {total:7.3f} CPU s/cell -> {total * NUM_CELLS / 3600:.1f} core-hours "
              f"for all {NUM_CELLS} cells")
    print(f"\nall tables asked for: {grand * NUM_CELLS / 3600:.1f} core-hours; "
          f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
