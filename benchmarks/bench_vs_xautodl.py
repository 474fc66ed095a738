"""Our NAS-Bench-201 supernet beside the benchmark authors' own: a training step, one thread.

xautodl (Dong & Yang's code for NAS-Bench-201) trains its random-search supernet as
``TinyNetworkRANDOM``; this benchmark installs it with ``pip install --no-deps --target`` into
a scratch folder (never a dependency of the package) and times, one torch thread each,
interleaved round by round, one SGD step (forward, cross-entropy, backward, momentum update) of
each supernet on the same sampled architectures and the same random images, at two sizes:

- ``cpu``: the cpu profile's network (C=8, N=3, 16x16 Fashion-MNIST; xautodl's stem gets a
  one-channel convolution, its only change),
- ``paper``: the paper's (C=16, N=5, 32x32, 3 channels, 100 classes).

It prints images per second of each (median over rounds), their ratio, and the fraction of
this machine's one-thread fp32 matrix-multiply peak each reaches (training FLOPs per image
taken as 3 x 2 x the forward multiply-adds of the sampled architecture, from
``space.cost``). Usage:

    python benchmarks/bench_vs_xautodl.py [--rounds 5] [--archs 8] [--batch 256]
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn as nn

from nas_core.spaces import get_space

SCRATCH = Path(tempfile.gettempdir()) / "nas_core_bench_xautodl"
SIZES = {"cpu": dict(C=8, N=3, image_size=16, in_channels=1, num_classes=10),
         "paper": dict(C=16, N=5, image_size=32, in_channels=3, num_classes=100)}


def import_xautodl():
    if not (SCRATCH / "xautodl").is_dir():
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(SCRATCH),
                        "xautodl"], check=True)
    sys.path.insert(0, str(SCRATCH))
    from xautodl.models.cell_operations import SearchSpaceNames
    from xautodl.models.cell_searchs.genotypes import Structure
    from xautodl.models.cell_searchs.search_model_random import TinyNetworkRANDOM

    return TinyNetworkRANDOM, Structure, SearchSpaceNames["nas-bench-201"]


def matmul_peak_gflops(n: int = 1024, repeats: int = 10) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(repeats):
            a @ b
        best = min(best, (time.perf_counter() - t0) / repeats)
    return 2 * n ** 3 / best / 1e9


class Ours:
    def __init__(self, cfg):
        self.net = get_space("nb201").supernet(cfg)

    def step_fn(self, arch):
        return lambda x: self.net(x, arch)


class Theirs:
    def __init__(self, cfg, TinyNetworkRANDOM, Structure, ops):
        self.net = TinyNetworkRANDOM(cfg["C"], cfg["N"], 4, cfg["num_classes"], ops, True, True)
        if cfg["in_channels"] != 3:
            self.net.stem[0] = nn.Conv2d(cfg["in_channels"], cfg["C"], kernel_size=3, padding=1, bias=False)
        self.Structure = Structure

    def step_fn(self, arch):
        structure = self.Structure.str2structure(str(arch))

        def forward(x):
            self.net.arch_cache = structure
            return self.net(x)[1]
        return forward


def time_steps(model, archs, x, y) -> float:
    """Seconds of one training step per architecture, summed over ``archs``."""
    opt = torch.optim.SGD(model.net.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4)
    loss_fn = nn.CrossEntropyLoss()
    model.net.train()
    t0 = time.perf_counter()
    for arch in archs:
        forward = model.step_fn(arch)
        opt.zero_grad(set_to_none=True)
        loss_fn(forward(x), y).backward()
        opt.step()
    return time.perf_counter() - t0


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--archs", type=int, default=8)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    TinyNetworkRANDOM, Structure, ops = import_xautodl()
    space = get_space("nb201")
    peak = matmul_peak_gflops()
    print(f"one-thread fp32 matmul peak (1024^3): {peak:.1f} GFLOP/s; torch {torch.__version__}, "
          f"CPU capability {torch.backends.cpu.get_cpu_capability()}")
    for size in args.sizes:
        cfg = SIZES[size]
        archs = space.sample_many(args.archs, seed=0)
        g = torch.Generator().manual_seed(0)
        x = torch.randn(args.batch, cfg["in_channels"], cfg["image_size"], cfg["image_size"], generator=g)
        y = torch.randint(0, cfg["num_classes"], (args.batch,), generator=g)
        torch.manual_seed(0)
        models = {"ours": Ours(cfg), "xautodl": Theirs(cfg, TinyNetworkRANDOM, Structure, ops)}
        for m in models.values():
            time_steps(m, archs[:2], x, y)  # warm-up: kernel selection, allocator
        seconds = {k: [] for k in models}
        for r in range(args.rounds):  # interleaved, alternating which goes first
            order = list(models) if r % 2 == 0 else list(models)[::-1]
            for k in order:
                seconds[k].append(time_steps(models[k], archs, x, y))
        train_flops = 3 * 2 * statistics.mean(space.cost(a, cfg).flops for a in archs)
        print(f"\n{size} network (C={cfg['C']}, N={cfg['N']}, {cfg['image_size']}x{cfg['image_size']}, "
              f"batch {args.batch}, {args.archs} architectures x {args.rounds} rounds):")
        ips = {}
        for k, s in seconds.items():
            ips[k] = args.batch * args.archs / statistics.median(s)
            print(f"  {k:8s} {ips[k]:8.0f} images/s   {100 * ips[k] * train_flops / 1e9 / peak:5.1f}% of peak")
        ratios = [t / o for o, t in zip(seconds["ours"], seconds["xautodl"])]
        print(f"  ours / xautodl speed: {ips['ours'] / ips['xautodl']:.2f}x "
              f"(per round {min(ratios):.2f}-{max(ratios):.2f})")


if __name__ == "__main__":
    main()
