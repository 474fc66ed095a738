"""Cost of the training-free estimators per NAS-Bench-201 cell at the paper's network, and the
projected core-hours of the full-scale tables (``estimator_study.nb201_full_scale``): each
estimator on its own pass (``estimate_all(shared=False)``) beside the shared passes
(``shared=True``: snip, grad_norm, fisher and grasp from one forward/backward, jacob_cov and
naswot from one forward), measured side by side.

Scores ``--cells`` cells of the paper's 1k sample (``sample_many(1000, seed=0)``, its first ones,
after one warm-up cell) in this process, one torch thread, nothing stored, for each
``--classes``. Each cell runs both ways, interleaved in the order A B, B A, A B, ... so that a
change of the machine's load falls on both alike, and the two values of every estimator are
checked for equality (exact; a failure is printed and ends the run with status 1). Prints per
estimator the mean CPU seconds per cell of each way, the totals, their ratio and the projection
for all 15,625 cells (CPU seconds, i.e. core-seconds: wall time on a busy machine is longer, CPU
time much less so), and the machine's load average before and after, since other processes on
the same cores slow every kernel (shared caches and memory bandwidth) even when CPU time is
counted. Usage:

    python benchmarks/bench_estimators.py --cells 20 --classes 10 100
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import time

import torch

from nas_core import estimator_study as es
from nas_core import estimators as est
from nas_core.spaces import get_space
from nas_core.spaces.nb201 import NUM_CELLS

WAYS = ("separate", "shared")


def _same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


def measure(num_classes: int, n_cells: int) -> tuple[dict[str, dict[str, float]], list[str]]:
    """({way: {cost column: mean CPU s per cell}}, mismatches), first cell excluded (warm-up)."""
    space = get_space("nb201")
    cfg = es.nb201_full_config(num_classes)
    batch = est.estimator_batch(cfg, es.BATCH_SIZE, es.BATCH_SEED)
    cells = space.sample_many(n_cells + 1, seed=0)
    names = est.defined_estimators("nb201")
    totals: dict[str, dict[str, float]] = {w: {} for w in WAYS}
    mismatches = []
    for i, arch in enumerate(cells):
        order = WAYS if i % 2 == 0 else WAYS[::-1]
        out = {w: est.estimate_all(space, arch, cfg, batch, seed=es.INIT_SEED, shared=(w == "shared")) for w in order}
        mismatches += [f"{arch} {n}: {out['separate'][n]!r} vs {out['shared'][n]!r}" for n in names
                       if not _same(out["separate"][n], out["shared"][n])]
        if i == 0:
            continue
        for w in WAYS:
            for k, v in out[w].items():
                if k.startswith("cpu_s_") or k == "build_cpu_s":
                    totals[w][k] = totals[w].get(k, 0.0) + v
    return {w: {k: v / n_cells for k, v in t.items()} for w, t in totals.items()}, mismatches


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cells", type=int, default=20, help="cells measured (after one warm-up cell)")
    ap.add_argument("--classes", type=int, nargs="+", default=[10, 100], choices=[10, 100])
    args = ap.parse_args()
    if args.cells < 1:
        ap.error("--cells must be >= 1")
    torch.set_num_threads(1)
    print(f"load average before: {os.getloadavg()}; cpu count {os.cpu_count()}; torch threads 1")
    grand = {w: 0.0 for w in WAYS}
    failed = False
    for classes in args.classes:
        t0 = time.time()
        per, mismatches = measure(classes, args.cells)
        total = {w: sum(per[w].values()) for w in WAYS}
        for w in WAYS:
            grand[w] += total[w]
        print(f"\nNB-201 C=16 N=5, {classes} classes, batch {es.BATCH_SIZE}: {args.cells} cells each way, "
              f"{time.time() - t0:.0f} s wall; values equal on every cell: {'yes' if not mismatches else 'NO'}")
        for m in mismatches:
            print("  MISMATCH", m)
        failed |= bool(mismatches)
        print(f"  {'CPU s/cell':18s} {'separate':>9s} {'shared':>9s}  (shared: a pass's time split among its estimators)")
        for k in sorted(per["separate"], key=lambda k: -per["separate"][k]):
            print(f"  {k:18s} {per['separate'][k]:9.3f} {per['shared'][k]:9.3f}")
        print(f"  {'total':18s} {total['separate']:9.3f} {total['shared']:9.3f}  ratio {total['separate'] / total['shared']:.2f}x")
        for w in WAYS:
            print(f"  {w}: {total[w] * NUM_CELLS / 3600:.1f} core-hours for all {NUM_CELLS} cells")
    print("\nall tables asked for: " + ", ".join(f"{w} {grand[w] * NUM_CELLS / 3600:.1f}" for w in WAYS)
          + f" core-hours (ratio {grand['separate'] / grand['shared']:.2f}x); load average after: {os.getloadavg()}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
