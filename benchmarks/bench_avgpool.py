"""Fast 3x3 average pool (nas_core.spaces.ops.avg_pool_3x3) vs F.avg_pool2d.

Times forward + backward of both on the same input, side by side, and prints
the speed-up. Usage:

    python benchmarks/bench_avgpool.py [--threads 1] [--repeats 10] [--rounds 3] [--reuse-freed-memory]

Tensors over 32 MB (the (256, 32, 32, 32) rows) are mmap-ed afresh by glibc's
malloc at every allocation, and the page faults can cost more than the pooling
itself, for both implementations. ``--reuse-freed-memory`` raises glibc's mmap
and trim thresholds (``mallopt``) so that freed memory is reused, which shows
the kernels' own speed (what a long training run with a warm allocator sees).
"""
from __future__ import annotations

import argparse
import ctypes

import torch
import torch.nn.functional as F

from _timing import best_seconds
from nas_core.spaces.ops import avg_pool_3x3

SHAPES = [(64, 16, 16, 16), (64, 16, 15, 15), (256, 32, 32, 32)]


def torch_pool(x, stride):
    return F.avg_pool2d(x, 3, stride, 1, count_include_pad=False)


def seconds_per_step(pool, x, stride, repeats, rounds):
    """Best of ``rounds`` averages of ``repeats`` forward+backward steps (best: least disturbed)."""
    upstream = torch.ones_like(pool(x, stride))
    return best_seconds(lambda: pool(x, stride).backward(upstream), rounds, repeats, warmup=2)


def reuse_freed_memory():
    libc = ctypes.CDLL("libc.so.6")
    m_trim_threshold, m_mmap_threshold = -1, -3  # glibc's mallopt parameter codes
    return libc.mallopt(m_mmap_threshold, 1 << 30) == 1 and libc.mallopt(m_trim_threshold, 1 << 30) == 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1)")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--reuse-freed-memory", action="store_true",
                        help="glibc: keep freed memory instead of mmap-ing every large tensor afresh")
    args = parser.parse_args()
    allocator = "glibc default"
    if args.reuse_freed_memory:
        allocator = "freed memory reused" if reuse_freed_memory() else "mallopt failed, default"
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), allocator: {allocator}; "
          "forward+backward, ms per step (best of rounds)")
    print(f"{'shape':>20} {'stride':>6} {'avg_pool2d':>11} {'fast':>8} {'speed-up':>9}")
    for shape in SHAPES:
        x = torch.randn(*shape, requires_grad=True)
        for stride in (1, 2):
            ref = seconds_per_step(torch_pool, x, stride, args.repeats, args.rounds)
            fast = seconds_per_step(avg_pool_3x3, x, stride, args.repeats, args.rounds)
            print(f"{str(shape):>20} {stride:>6} {ref * 1e3:>11.2f} {fast * 1e3:>8.2f} {ref / fast:>8.1f}x")


if __name__ == "__main__":
    main()
