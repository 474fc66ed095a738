"""Cost of the training-free estimators per NAS-Bench-201 cell at the paper's network, and the
projected core-hours of the full-scale tables (``estimator_study.nb201_full_scale``), measured
side by side for up to three ways of computing the same values:

- ``separate``: each estimator on its own pass (``estimate_all(shared=False)``), the reference;
- ``before``: the shared passes of ``nas_core/estimators.py`` at ``--baseline`` (a git revision,
  default the branch point of issue #26's speed-up: snip, grad_norm, fisher and grasp from one
  forward/backward, jacob_cov and naswot from another forward, a deep copy of the network each);
- ``shared``: this tree's ``estimate_all(shared=True)`` (all six data estimators from one
  forward, synflow on a second build from the seed instead of a deep copy).

Scores ``--cells`` cells of the paper's 1k sample (``sample_many(1000, seed=0)``, its first ones,
after one warm-up cell) in this process, one torch thread, nothing stored, for each
``--classes``. Each cell runs every way, the order rotated from cell to cell so that a change of
the machine's load falls on all alike, and every way's values are checked against the first
way's (exact; a failure is printed and ends the run with status 1). Prints per estimator the
mean CPU seconds per cell of each way, the totals, their ratios and the projection for all
15,625 cells (CPU seconds, i.e. core-seconds: wall time on a busy machine is longer, CPU time
much less so), and the machine's load average before and after, since other processes on the
same cores slow every kernel (shared caches and memory bandwidth) even when CPU time is counted.

``--processes R``: instead, ``R`` rounds of three fresh processes each scoring the cells with
shared passes, as a table's worker does: ``before`` in the default environment (as its workers
ran), this tree's ``shared`` in the default environment and in ``estimator_study.WORKER_ENV``
(glibc keeps freed memory; numpy's OpenBLAS on one thread), the order rotated; per setting the
median CPU s per cell (user + system, every thread of the process) and minor page faults per
cell, and whether the values are identical in every process. Usage:

    python benchmarks/bench_estimators.py --cells 20 --classes 10 100
    python benchmarks/bench_estimators.py --cells 20 --classes 10 --ways before shared
    python benchmarks/bench_estimators.py --processes 3 --cells 6 --classes 10 100
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from nas_core import estimator_study as es
from nas_core import estimators as est
from nas_core.spaces import get_space
from nas_core.spaces.nb201 import NUM_CELLS

ROOT = Path(__file__).resolve().parents[1]
WAYS = ("separate", "before", "shared")
BASELINE = "6b5bce3"  # main when branch est26 began: the shared passes as they were


def _same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


def baseline_estimators(rev: str):
    """``nas_core/estimators.py`` as it was at git revision ``rev``, imported as a module of
    the package (its relative imports resolve to this tree's, unchanged by the speed-up)."""
    src = subprocess.run(["git", "show", f"{rev}:nas_core/estimators.py"], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    path = Path(tempfile.mkdtemp(prefix="bench_est_")) / "estimators_baseline.py"
    path.write_text(src)
    spec = importlib.util.spec_from_file_location("nas_core._estimators_baseline", path)
    mod = importlib.util.module_from_spec(spec)
    mod.__package__ = "nas_core"
    spec.loader.exec_module(mod)
    return mod


def measure(num_classes: int, n_cells: int, ways, before=None) -> tuple[dict[str, dict[str, float]], list[str]]:
    """({way: {cost column: mean CPU s per cell}}, mismatches), first cell excluded (warm-up)."""
    space = get_space("nb201")
    cfg = es.nb201_full_config(num_classes)
    batch = est.estimator_batch(cfg, es.BATCH_SIZE, es.BATCH_SEED)
    cells = space.sample_many(n_cells + 1, seed=0)
    names = est.defined_estimators("nb201")
    run = {"separate": lambda a: est.estimate_all(space, a, cfg, batch, seed=es.INIT_SEED),
           "before": lambda a: before.estimate_all(space, a, cfg, batch, seed=es.INIT_SEED, shared=True),
           "shared": lambda a: est.estimate_all(space, a, cfg, batch, seed=es.INIT_SEED, shared=True)}
    totals: dict[str, dict[str, float]] = {w: {} for w in ways}
    mismatches = []
    for i, arch in enumerate(cells):
        order = ways[i % len(ways):] + ways[:i % len(ways)]
        out = {w: run[w](arch) for w in order}
        ref = ways[0]
        mismatches += [f"{arch} {n}: {ref} {out[ref][n]!r} vs {w} {out[w][n]!r}" for w in ways[1:] for n in names
                       if not _same(out[ref][n], out[w][n])]
        if i == 0:
            continue
        for w in ways:
            for k, v in out[w].items():
                if k.startswith("cpu_s_") or k == "build_cpu_s":
                    totals[w][k] = totals[w].get(k, 0.0) + v
    return {w: {k: v / n_cells for k, v in t.items()} for w, t in totals.items()}, mismatches


CHILD = r"""
import json, resource, sys, hashlib
import torch
torch.set_num_threads(1)
sys.path.insert(0, sys.argv[5])
from bench_estimators import baseline_estimators
from nas_core import estimator_study as es, estimators as est
from nas_core.spaces import get_space
classes, n, way, rev = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
mod = baseline_estimators(rev) if way == "before" else est
space, cfg = get_space("nb201"), es.nb201_full_config(classes)
batch = est.estimator_batch(cfg, es.BATCH_SIZE, es.BATCH_SEED)
cells = space.sample_many(n + 1, seed=0)
mod.estimate_all(space, cells[0], cfg, batch, seed=es.INIT_SEED, shared=True)
r0 = resource.getrusage(resource.RUSAGE_SELF)
rows = [mod.estimate_all(space, a, cfg, batch, seed=es.INIT_SEED, shared=True) for a in cells[1:]]
r1 = resource.getrusage(resource.RUSAGE_SELF)
values = repr([[r[k] for k in est.defined_estimators("nb201")] for r in rows]).encode()
print(json.dumps({"user": (r1.ru_utime - r0.ru_utime) / n, "sys": (r1.ru_stime - r0.ru_stime) / n,
                  "faults": (r1.ru_minflt - r0.ru_minflt) / n, "values": hashlib.sha256(values).hexdigest()[:16]}))
"""
# (way, environment) of each fresh process: the baseline as its workers ran, this tree's code
# without and with the table builder's worker environment
SETTINGS = (("before", False), ("shared", False), ("shared", True))


def processes(rounds: int, n_cells: int, classes: int, rev: str) -> tuple[float, float]:
    """Fresh processes per ``SETTINGS``, rotated; prints medians; returns (before, shared with
    the worker environment) CPU s per cell."""
    results: dict[tuple, list[dict]] = {k: [] for k in SETTINGS}
    for r in range(rounds):
        for way, worker_env in SETTINGS[r % 3:] + SETTINGS[:r % 3]:
            env = {k: v for k, v in os.environ.items() if k not in es.WORKER_ENV}
            if worker_env:
                env.update(es.WORKER_ENV)
            p = subprocess.run([sys.executable, "-c", CHILD, str(classes), str(n_cells), way, rev,
                                str(Path(__file__).resolve().parent)], env=env, cwd=ROOT, capture_output=True,
                               text=True, check=True)
            results[(way, worker_env)].append(json.loads(p.stdout.strip().splitlines()[-1]))
    print(f"\nfresh processes, {classes} classes, {rounds} rounds of {n_cells} cells each (shared passes)")
    cpu = {}
    for (way, worker_env), rs in results.items():
        cpu[(way, worker_env)] = statistics.median(x["user"] + x["sys"] for x in rs)
        print(f"  {way:7s} {'WORKER_ENV' if worker_env else 'default env':12s} CPU s/cell {cpu[(way, worker_env)]:.3f} "
              f"(user {statistics.median(x['user'] for x in rs):.3f}, system {statistics.median(x['sys'] for x in rs):.3f})"
              f", minor faults/cell {statistics.median(x['faults'] for x in rs):.0f}")
    same = len({x["values"] for rs in results.values() for x in rs}) == 1
    print(f"  shared default env / WORKER_ENV: {cpu[('shared', False)] / cpu[('shared', True)]:.2f}x; before / shared "
          f"WORKER_ENV: {cpu[('before', False)] / cpu[('shared', True)]:.2f}x; values identical in every process: "
          f"{'yes' if same else 'NO'}")
    for k, label in ((("before", False), "before"), (("shared", True), "shared, WORKER_ENV")):
        print(f"  {label}: {cpu[k] * NUM_CELLS / 3600:.1f} core-hours for all {NUM_CELLS} cells")
    if not same:
        sys.exit(1)
    return cpu[("before", False)], cpu[("shared", True)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cells", type=int, default=20, help="cells measured (after one warm-up cell)")
    ap.add_argument("--classes", type=int, nargs="+", default=[10, 100], choices=[10, 100])
    ap.add_argument("--ways", nargs="+", default=list(WAYS), choices=WAYS)
    ap.add_argument("--baseline", default=BASELINE, help="git revision of the 'before' way")
    ap.add_argument("--processes", type=int, default=0, metavar="ROUNDS",
                    help="measure in fresh processes, with and without the workers' environment, instead")
    args = ap.parse_args()
    if args.cells < 1:
        ap.error("--cells must be >= 1")
    torch.set_num_threads(1)
    print(f"load average before: {os.getloadavg()}; cpu count {os.cpu_count()}; torch threads 1")
    if args.processes:
        tot = [0.0, 0.0]
        for classes in args.classes:
            for i, v in enumerate(processes(args.processes, args.cells, classes, args.baseline)):
                tot[i] += v
        print(f"\nall tables asked for: before {tot[0] * NUM_CELLS / 3600:.1f}, shared with WORKER_ENV "
              f"{tot[1] * NUM_CELLS / 3600:.1f} core-hours ({tot[0] / tot[1]:.2f}x); load average after: {os.getloadavg()}")
        return
    ways = tuple(w for w in WAYS if w in args.ways)
    before = baseline_estimators(args.baseline) if "before" in ways else None
    grand = {w: 0.0 for w in ways}
    failed = False
    for classes in args.classes:
        t0 = time.time()
        per, mismatches = measure(classes, args.cells, ways, before)
        total = {w: sum(per[w].values()) for w in ways}
        for w in ways:
            grand[w] += total[w]
        print(f"\nNB-201 C=16 N=5, {classes} classes, batch {es.BATCH_SIZE}: {args.cells} cells each way, "
              f"{time.time() - t0:.0f} s wall; values equal on every cell: {'yes' if not mismatches else 'NO'}")
        for m in mismatches:
            print("  MISMATCH", m)
        failed |= bool(mismatches)
        print(f"  {'CPU s/cell':18s} " + " ".join(f"{w:>9s}" for w in ways)
              + "  (shared ways: a pass's time split among its estimators)")
        for k in sorted(per[ways[0]], key=lambda k: -per[ways[0]][k]):
            print(f"  {k:18s} " + " ".join(f"{per[w].get(k, 0.0):9.3f}" for w in ways))
        print(f"  {'total':18s} " + " ".join(f"{total[w]:9.3f}" for w in ways))
        for w in ways[1:]:
            print(f"  {ways[0]} / {w}: {total[ways[0]] / total[w]:.2f}x")
        if "before" in ways and "shared" in ways and ways[0] != "before":
            print(f"  before / shared: {total['before'] / total['shared']:.2f}x")
        for w in ways:
            print(f"  {w}: {total[w] * NUM_CELLS / 3600:.1f} core-hours for all {NUM_CELLS} cells")
    print("\nall tables asked for: " + ", ".join(f"{w} {grand[w] * NUM_CELLS / 3600:.1f}" for w in ways)
          + " core-hours" + (f" (before / shared {grand['before'] / grand['shared']:.2f}x)"
                             if {"before", "shared"} <= set(ways) else "")
          + f"; load average after: {os.getloadavg()}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
