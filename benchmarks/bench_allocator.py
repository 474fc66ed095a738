"""Keeping freed memory in glibc's allocator (``regime.ALLOCATOR_ENV``): speed, page faults, same numbers.

By default glibc returns large freed blocks to the system (``mmap``/``munmap`` above its
threshold), so every training step faults its activations' pages in again. The settings in
``nas_core.regime.ALLOCATOR_ENV`` keep them. This benchmark trains the cpu profile's NB-201
and NB-101 supernets for ``--steps`` steps in fresh processes, with and without the settings,
alternating for ``--rounds`` rounds (one thread each), and prints per setting the median
seconds per step, the minor page faults per step, and whether the trained weights are
bit-identical. Usage:

    python benchmarks/bench_allocator.py [--rounds 3] [--steps 20] [--spaces nb201 nb101]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

from nas_core.regime import ALLOCATOR_ENV

CHILD = r"""
import hashlib, json, resource, sys, time
import torch
from nas_core import study
from nas_core.spaces import get_space
from nas_core.training import recipe_for
torch.set_num_threads(1)
space_name, steps = sys.argv[1], int(sys.argv[2])
space, cfg = get_space(space_name), study.supernet_config(space_name, "cpu")
torch.manual_seed(0)
net = space.supernet(cfg)
r = recipe_for(space_name, "cpu")
opt = torch.optim.SGD(net.parameters(), lr=r.lr, momentum=r.momentum, weight_decay=r.weight_decay)
g = torch.Generator().manual_seed(0)
x = torch.randn(r.batch_size, cfg["in_channels"], cfg["image_size"], cfg["image_size"], generator=g)
y = torch.randint(0, cfg["num_classes"], (r.batch_size,), generator=g)
archs = space.sample_many(steps + 2, seed=0)
def step(a):
    opt.zero_grad(set_to_none=True)
    torch.nn.functional.cross_entropy(net(x, a), y).backward()
    opt.step()
for a in archs[:2]:
    step(a)
f0, t0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt, time.perf_counter()
for a in archs[2:]:
    step(a)
t, f = time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0
digest = hashlib.sha256(b"".join(p.detach().numpy().tobytes() for p in net.parameters())).hexdigest()[:16]
print(json.dumps({"s_per_step": t / steps, "faults_per_step": f / steps, "weights": digest}))
"""


def run(space: str, steps: int, keep: bool) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ALLOCATOR_ENV}
    if keep:
        env.update(ALLOCATOR_ENV)
    out = subprocess.run([sys.executable, "-c", CHILD, space, str(steps)], env=env, capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--spaces", nargs="+", default=["nb201", "nb101"])
    args = p.parse_args(argv)
    for space in args.spaces:
        runs = {False: [], True: []}
        for r in range(args.rounds):  # interleaved, alternating which goes first
            for keep in ((False, True) if r % 2 == 0 else (True, False)):
                runs[keep].append(run(space, args.steps, keep))
        med = {k: statistics.median(x["s_per_step"] for x in v) for k, v in runs.items()}
        for keep, label in ((False, "glibc default"), (True, "ALLOCATOR_ENV")):
            faults = statistics.median(x["faults_per_step"] for x in runs[keep])
            print(f"{space} {label:14s} {1000 * med[keep]:7.1f} ms/step  {faults:8.0f} page faults/step")
        same = len({x["weights"] for v in runs.values() for x in v}) == 1
        print(f"{space} speed-up {med[False] / med[True]:.2f}x; trained weights bit-identical: {same}")


if __name__ == "__main__":
    main()
