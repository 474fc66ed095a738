"""Channels-last max pool (nas_core.spaces.ops.max_pool2d) vs F.max_pool2d, op by op and end to end.

Op level (``--ops``): forward + backward (training) and forward under ``no_grad``
(evaluation) of both on the shapes of the cpu profile's NAS-Bench-101 and DARTS-CIFAR10
networks, side by side, best of ``--rounds``; checks the results are bit-identical.

End to end (``--space nb101`` / ``--space darts_cnn``): trains ``--archs`` architectures of
the committed cpu ground-truth table stand-alone with the builder's setup, once with each
max pool (in ABBA order, so drift on a shared machine hits both alike), and prints the
CPU seconds of each (``time.process_time``: what a run costs, little changed by other
processes on the machine; wall seconds beside them), their ratio, and whether validation and
test metrics are identical (they must be: the fast pool changes no number). One thread, as
one builder worker. Usage:

    python benchmarks/bench_maxpool.py --ops
    python benchmarks/bench_maxpool.py --space nb101 --archs 4
"""
from __future__ import annotations

import argparse
import contextlib
import sys
import time

import torch
import torch.nn.functional as F

from _timing import best_seconds
from nas_core.spaces import ops

# (shape, kernel, stride, padding, ceil_mode): cpu-profile networks at batch 256 (NB-101,
# 16 x 16 Fashion-MNIST, 16/32/64 channels) and 96 (DARTS-CIFAR10, 32 x 32, C = 8 to 32)
SHAPES = [((256, 16, 16, 16), 3, 1, 1, False), ((256, 32, 8, 8), 3, 1, 1, False),
          ((256, 16, 16, 16), 2, 2, 0, True), ((96, 8, 32, 32), 3, 1, 1, False),
          ((96, 16, 16, 16), 3, 2, 1, False), ((96, 32, 8, 8), 3, 1, 1, False)]


def torch_max_pool2d(x, kernel_size, stride, padding=0, ceil_mode=False):
    return F.max_pool2d(x, kernel_size, stride, padding, ceil_mode=ceil_mode)


@contextlib.contextmanager
def reference_max_pool():
    """Every space's max pool through ``F.max_pool2d`` (what the tables were first made with)."""
    fast = ops.max_pool2d
    ops.max_pool2d = torch_max_pool2d
    try:
        yield
    finally:
        ops.max_pool2d = fast


def best_ms(fn, rounds=3, repeats=10):
    return 1e3 * best_seconds(fn, rounds, repeats)


def bench_ops(rounds: int) -> None:
    print(f"{'shape':>18} k s p ceil | train ms: torch  ours  speed-up | eval ms: torch  ours  speed-up | identical")
    for shape, k, s, p, ceil in SHAPES:
        x = torch.randn(shape)
        upstream = torch.randn(torch_max_pool2d(x, k, s, p, ceil).shape)
        results, times = {}, {}
        for name, pool in (("torch", torch_max_pool2d), ("ours", ops.max_pool2d)):
            def train(pool=pool):
                xg = x.detach().requires_grad_(True)
                y = pool(xg, k, s, p, ceil)
                y.backward(upstream)
                return y.detach(), xg.grad

            def evaluate(pool=pool):
                with torch.no_grad():
                    return pool(x, k, s, p, ceil)

            results[name] = train()
            times[name] = best_ms(train, rounds), best_ms(evaluate, rounds)
        same = all(torch.equal(a, b) for a, b in zip(results["torch"], results["ours"]))
        (tt, te), (ot, oe) = times["torch"], times["ours"]
        print(f"{str(shape):>18} {k} {s} {p} {int(ceil):>4} | {tt:13.2f} {ot:5.2f} {tt / ot:8.2f}x | "
              f"{te:12.2f} {oe:5.2f} {te / oe:8.2f}x | {same}")


def bench_training(space_name: str, n_archs: int, profile: str) -> None:
    import pandas as pd

    from nas_core import data as data_mod
    from nas_core import groundtruth as gt
    from nas_core import study
    from nas_core.spaces import get_space
    from nas_core.training import train_standalone

    space = get_space(space_name)
    setup = gt.resolve_setup(space_name, profile)
    table = pd.read_csv(study.ground_truth_path(space_name, profile))
    archs = list(dict.fromkeys(table.loc[table["seed"] == 0, "arch"]))[:n_archs]
    data = data_mod.load(setup["cfg"])
    rows = []
    for arch in archs:
        out = {}
        for pool in ("torch", "ours", "ours", "torch"):  # ABBA
            with reference_max_pool() if pool == "torch" else contextlib.nullcontext():
                cpu, wall = time.process_time(), time.perf_counter()
                res = train_standalone(space, space.parse(arch), setup["cfg"], data, setup["recipe"],
                                       setup["epochs"], seed=0)
                out.setdefault(pool, []).append((time.process_time() - cpu, time.perf_counter() - wall,
                                                 res["valid"], res["test"]))

        def mean(pool, i):
            return sum(run[i] for run in out[pool]) / len(out[pool])

        metrics = {run[2:] for runs in out.values() for run in runs}
        rows.append({"arch": arch[:40], "torch_cpu_s": round(mean("torch", 0), 1),
                     "ours_cpu_s": round(mean("ours", 0), 1), "speed_up": round(mean("torch", 0) / mean("ours", 0), 3),
                     "torch_wall_s": round(mean("torch", 1), 1), "ours_wall_s": round(mean("ours", 1), 1),
                     "identical": len(metrics) == 1, "valid": out["ours"][0][2]})
        print(rows[-1], file=sys.stderr, flush=True)
    df = pd.DataFrame(rows)
    print(f"{space_name} ({profile}), stand-alone ground-truth training, 1 thread, ABBA per architecture")
    print(df.to_string(index=False))
    torch_s, ours_s = df.torch_cpu_s.sum(), df.ours_cpu_s.sum()
    print(f"total CPU time: torch {torch_s:.0f} s, ours {ours_s:.0f} s, speed-up {torch_s / ours_s:.3f}x; "
          f"all metrics identical: {bool(df.identical.all())}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ops", action="store_true", help="op-level comparison")
    p.add_argument("--space", choices=("nb101", "darts_cnn"), help="end-to-end stand-alone training")
    p.add_argument("--archs", type=int, default=4)
    p.add_argument("--profile", default="cpu")
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args(argv)
    if not args.ops and not args.space:
        p.error("give --ops and/or --space")
    if args.archs < 1:
        p.error("--archs must be at least 1")
    torch.set_num_threads(1)
    if args.ops:
        bench_ops(args.rounds)
    if args.space:
        bench_training(args.space, args.archs, args.profile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
