"""Supernet training throughput on CPU, side by side in one run.

1. images/s of uniform (single-path), FairNAS and multi-path training (one thread);
   for FairNAS/multi-path an image counts once per path it is trained through;
2. two independent one-thread processes (total images/s) vs one process with two threads;
3. achieved GFLOP/s of supernet training (3 x forward multiply-adds x 2) as a fraction of
   this machine's fp32 matmul rate with the same number of threads (a timed ``torch.mm``).

    OMP_NUM_THREADS=1 NAS_CORE_DATA=../shared/data python benchmarks/bench_training.py [--space nb201]

Numbers are noisy on a shared machine; the defaults take about a minute.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import torch
import torch.multiprocessing as mp


def _setup(space_name, profile):
    from nas_core import data as data_mod
    from nas_core.spaces import get_space
    from nas_core.training import recipe_for

    space = get_space(space_name)
    cfg = space.config(profile)
    return space, cfg, data_mod.load(cfg), recipe_for(space_name, profile)


def _mean_macs(space, cfg, n=50):
    return statistics.mean(space.cost(a, cfg).flops for a in space.sample_many(n, seed=0))


def measure(space_name, profile, strategy, steps, threads, paths=None):
    """Images (x paths) per second of supernet training, after one warm-up step."""
    from nas_core.training import train_supernet

    torch.set_num_threads(threads)
    space, cfg, data, recipe = _setup(space_name, profile)
    train_supernet(space, cfg, data, recipe, 1, strategy=strategy, paths=paths, max_steps_per_epoch=1,
                   progress=False)  # warm-up (allocator, oneDNN kernels)
    t0 = time.perf_counter()
    _, hist = train_supernet(space, cfg, data, recipe, 1, strategy=strategy, paths=paths,
                             max_steps_per_epoch=steps, progress=False)
    dt = time.perf_counter() - t0
    k = 1 if strategy == "uniform" else (paths or _paths(space_name))
    return int(hist["steps"].sum()) * min(recipe.batch_size, len(data.train_x)) * k / dt


def _paths(space_name):
    from nas_core.sampling import paper_paths

    return paper_paths(space_name)


def _worker(rank, space_name, profile, steps, out):
    out[rank] = measure(space_name, profile, "uniform", steps, 1)


def matmul_gflops(threads, n=1024, seconds=2.0):
    torch.set_num_threads(threads)
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)
    reps, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        torch.mm(a, b)
        reps += 1
    return 2 * n ** 3 * reps / (time.perf_counter() - t0) / 1e9


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--space", default="nb201")
    p.add_argument("--profile", default="cpu")
    p.add_argument("--steps", type=int, default=6)
    args = p.parse_args(argv)

    space, cfg, data, recipe = _setup(args.space, args.profile)
    macs = _mean_macs(space, cfg)
    print(f"{args.space} / {args.profile}: {len(data.train_x)} training images, batch {recipe.batch_size}, "
          f"mean forward {macs / 1e6:.2f} M multiply-adds per image, torch {torch.__version__}, "
          f"{os.cpu_count()} CPUs")

    rows = []
    for strategy in ("uniform", "fairnas", "multipath"):
        ips = measure(args.space, args.profile, strategy, args.steps, 1)
        rows.append((f"{strategy}, 1 process x 1 thread", ips))

    out = mp.Manager().dict()
    t0 = time.perf_counter()
    mp.spawn(_worker, args=(args.space, args.profile, args.steps, out), nprocs=2, join=True)
    two_procs = sum(out.values())
    rows.append(("uniform, 2 processes x 1 thread (total)", two_procs))
    two_threads = measure(args.space, args.profile, "uniform", args.steps, 2)
    rows.append(("uniform, 1 process x 2 threads", two_threads))

    peak1, peak2 = matmul_gflops(1), matmul_gflops(2)
    flops_per_image = 3 * 2 * macs  # forward + backward (2x forward) ; 2 FLOPs per multiply-add
    print(f"\nfp32 matmul (1024^2): {peak1:.1f} GFLOP/s with 1 thread, {peak2:.1f} GFLOP/s with 2 threads\n")
    print(f"{'configuration':44s} {'images/s':>9s} {'GFLOP/s':>8s} {'of matmul':>9s}")
    for label, ips in rows:
        gf = ips * flops_per_image / 1e9
        peak = peak2 if ("2 threads" in label or "2 processes" in label) else peak1
        print(f"{label:44s} {ips:9.0f} {gf:8.2f} {100 * gf / peak:8.1f}%")
    sec = len(data.train_x) / rows[0][1]
    print(f"\none uniform epoch of {len(data.train_x)} images: {sec:.1f} s on one thread")
    return 0


if __name__ == "__main__":
    sys.exit(main())
