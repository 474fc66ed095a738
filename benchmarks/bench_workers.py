"""Supernet results from scratch: one process on every core vs one worker process per core.

Chapters used to compute their missing supernet results one at a time in the notebook's own
process, where torch uses every core; now ``parallel.compute_missing`` computes them in one
worker process per core, one torch thread each. This trains and scores the same ``--results``
small cpu-profile supernets (``--epochs`` epochs, ``--archs`` architectures scored, seeds 0, 1,
...) both ways, side by side in one run, nothing stored, and prints the wall time of each, the
speed-up, and whether the two ways give the same scores, with their largest difference (they
need not agree: how torch splits reductions between threads changes float sums, which is why
results are now always computed on one thread). Usage:

    python benchmarks/bench_workers.py --space nb201 --results 4 --archs 20
"""
from __future__ import annotations

import argparse
import os
import time

import torch

from nas_core import data as data_mod
from nas_core import parallel, study
from nas_core.evaluation import evaluate_architectures
from nas_core.profiles import budget
from nas_core.spaces import get_space
from nas_core.training import recipe_for, train_supernet


def one_result(job: tuple) -> list[float]:
    """Train one cpu supernet and score the first ``n_archs`` of the sample (no store, no checkpoint)."""
    space_name, epochs, n_archs, seed = job
    space, cfg = get_space(space_name), study.supernet_config(space_name, "cpu")
    recipe, data = recipe_for(space_name, "cpu"), data_mod.load(cfg)
    model, _ = train_supernet(space, cfg, data, recipe, epochs, seed=seed, progress=False,
                              max_steps_per_epoch=budget(space_name, "cpu").max_steps_per_epoch)
    return evaluate_architectures(space, model, study.eval_sample(space_name, "cpu", n_archs), data,
                                  bn_calib_steps=recipe.bn_calib_steps, bn_calib_batch_size=recipe.bn_calib_batch_size,
                                  seed=seed, progress=False)


def _one_thread() -> None:
    torch.set_num_threads(1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--space", default="nb201")
    ap.add_argument("--results", type=int, default=4)
    ap.add_argument("--epochs", type=float, default=1)
    ap.add_argument("--archs", type=int, default=20)
    args = ap.parse_args()
    cores = os.cpu_count() or 1
    jobs = [(args.space, args.epochs, args.archs, seed) for seed in range(args.results)]

    torch.set_num_threads(cores)
    t0 = time.perf_counter()
    one_process = {job[3]: one_result(job) for job in jobs}
    t_one = time.perf_counter() - t0

    t0 = time.perf_counter()
    workers = dict(parallel.imap_workers(_seeded, jobs, cores, initializer=_one_thread))
    t_workers = time.perf_counter() - t0

    print(f"{args.results} {args.space} cpu supernets ({args.epochs:g} epochs, {args.archs} architectures scored), "
          f"{cores} cores, torch CPU capability {torch.backends.cpu.get_cpu_capability()}")
    print(f"  one process, {cores} torch threads : {t_one:8.1f} s")
    print(f"  {cores} worker processes, 1 thread : {t_workers:8.1f} s   speed-up {t_one / t_workers:.2f}x")
    diff = max(abs(a - b) for seed in one_process for a, b in zip(one_process[seed], workers[seed]))
    print(f"  same scores both ways: {one_process == workers} (largest difference {diff:.2f})")


def _seeded(job: tuple) -> tuple[int, list[float]]:
    return job[3], one_result(job)


if __name__ == "__main__":
    main()
