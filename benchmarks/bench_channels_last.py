"""Channels-last memory format (``cfg["memory_format"] = "channels_last"``) vs the default layout,
side by side in one run: supernet training and architecture scoring.

For each space at ``--profile`` (default cpu), one torch thread, interleaved (default, channels
last, default, ... ``--rounds`` times after one warm-up turn; medians and their ratio):

- training: images/s of ``training.train_supernet`` over ``--steps`` steps of one epoch (the
  recipe's batch; the same seed, so both layouts train the same sampled architectures on the
  same batches);
- scoring: seconds per architecture of ``evaluation.evaluate_architectures`` (BN recalibration
  with the recipe's steps and batch, then validation accuracy) over the first ``--archs`` of
  the study's fixed sample, on one freshly initialised supernet per layout (the same weights).

It also prints how far the two layouts' numbers are apart (largest difference of the training
losses and of the scores), which is why it is a recorded setting.

``--precision`` asks the question speed does not: how far each layout's gradient of one
supernet step (one sampled architecture, one batch of 64 training images, the same weights)
is from the same gradient in float64, as ||g - g64|| / ||g64|| over all parameters, for
``--archs`` sampled architectures. Measured on 3 December 2026 (torch 2.14.1, AMD EPYC, one
thread), three architectures each:

    space       default layout                channels last
    nb201       2.4e-04  4.7e-06  1.2e-03     2.8e-03  1.5e-02  3.8e-03
    nb101       6.2e-06  8.6e-06  6.3e-06     8.7e-03  1.1e-02  1.1e-02
    darts_cnn   1.3e-03  4.6e-05  8.6e-04     3.4e-03  6.7e-04  2.4e-03
    proxyless   8.3e-06  1.0e-05  4.1e-05     6.3e-02  5.0e-02  4.5e-02

The loss is lost in the channels-last batch-norm backward: with a channel's mean 10 standard
deviations from 0 (NB-201's cells sum skip connections), ``nn.BatchNorm2d``'s input gradient
is 4.3e-3 off float64 in channels-last and 9e-8 in the default layout; convolutions, pooling
and ReLU agree with float64 to 1e-6 in both. So the layout is not adopted for any result the
book reads (``evaluation``'s docstring). Usage:

    OMP_NUM_THREADS=1 NAS_CORE_DATA=../shared/data python benchmarks/bench_channels_last.py
    python benchmarks/bench_channels_last.py --spaces nb201,nb101,darts_cnn,proxyless --rounds 3
    python benchmarks/bench_channels_last.py --precision --spaces nb201,nb101,darts_cnn,proxyless --archs 3

Numbers are noisy on a shared machine; the defaults take a few minutes, ``--precision`` seconds.
"""
from __future__ import annotations

import argparse
import copy
import os
import statistics
import sys

import torch
import torch.nn.functional as F

from _timing import interleaved_seconds
from nas_core import data as data_mod
from nas_core import evaluation, study
from nas_core.spaces import get_space
from nas_core.training import recipe_for, train_supernet

LAYOUTS = {"default": {}, "channels last": {evaluation.MEMORY_FORMAT: "channels_last"}}


def bench_space(space_name: str, profile: str, steps: int, n_archs: int, rounds: int) -> dict:
    """Medians of training images/s and scoring seconds per architecture, per layout."""
    space = get_space(space_name)
    cfgs = {name: study.supernet_config(space_name, profile, over) for name, over in LAYOUTS.items()}
    data = data_mod.load(cfgs["default"])
    recipe = recipe_for(space_name, profile)
    archs = study.eval_sample(space_name, profile)[:n_archs]
    images = steps * min(recipe.batch_size, len(data.train_x))

    def train(cfg):
        _, hist = train_supernet(space, cfg, data, recipe, 1, seed=0, max_steps_per_epoch=steps, progress=False)
        return float(hist["train_loss"].iloc[0])

    torch.manual_seed(0)
    weights = space.supernet(cfgs["default"]).state_dict()
    models = {}
    for name, cfg in cfgs.items():
        models[name] = space.supernet(cfg)
        models[name].load_state_dict(weights)

    def score(name):
        cl = evaluation.channels_last(space, cfgs[name])
        return evaluation.evaluate_architectures(space, models[name], archs, data, bn_calib_steps=recipe.bn_calib_steps,
                                                 bn_calib_batch_size=recipe.bn_calib_batch_size, progress=False,
                                                 channels_last=cl)

    train_s, losses = interleaved_seconds({name: (lambda cfg=cfg: train(cfg)) for name, cfg in cfgs.items()}, rounds)
    score_s, scores = interleaved_seconds({name: (lambda name=name: score(name)) for name in cfgs}, rounds)
    out = {name: {"images/s": images / statistics.median(train_s[name]),
                  "s/arch": statistics.median(score_s[name]) / len(archs)} for name in cfgs}
    out["loss diff"] = abs(losses["default"] - losses["channels last"])
    out["score diff"] = max(abs(a - b) for a, b in zip(scores["default"], scores["channels last"]))
    return out


def gradient_errors(space_name: str, profile: str, n_archs: int, batch: int = 64) -> dict[str, list[float]]:
    """Per layout, ||g - g64|| / ||g64|| of one step's gradient (all parameters) for each of the first
    ``n_archs`` architectures of a fixed draw: the same weights, batch and dropout draws in each."""
    space = get_space(space_name)
    cfg = study.supernet_config(space_name, profile)
    data = data_mod.load(cfg)
    x, y = data.train_x[:batch], data.train_y[:batch]
    torch.manual_seed(0)
    net = space.supernet(cfg).train()
    archs = space.sample_many(n_archs, seed=5)

    def grad(layout, arch):
        m, xi = copy.deepcopy(net), x
        if layout == "channels last":
            m, xi = m.to(memory_format=torch.channels_last), x.contiguous(memory_format=torch.channels_last)
        elif layout == "float64":
            m, xi = m.double(), x.double()
        torch.manual_seed(1)
        out = m(xi, arch)
        F.cross_entropy(out[0] if isinstance(out, tuple) else out, y).backward()
        return torch.cat([p.grad.double().flatten() for p in m.parameters() if p.grad is not None])

    errors: dict[str, list[float]] = {name: [] for name in LAYOUTS}
    for arch in archs:
        ref = grad("float64", arch)
        for name in LAYOUTS:
            errors[name].append(float((grad(name, arch) - ref).norm() / ref.norm()))
    return errors


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--spaces", default="nb201,nb101", help="comma-separated image spaces")
    p.add_argument("--profile", default="cpu")
    p.add_argument("--steps", type=int, default=6, help="training steps per timed run")
    p.add_argument("--archs", type=int, default=2, help="architectures scored per timed run")
    p.add_argument("--rounds", type=int, default=3, help="interleaved timed rounds (after one warm-up)")
    p.add_argument("--precision", action="store_true",
                   help="instead of timing: each layout's gradient error against float64 (--archs architectures)")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    if args.precision:
        print(f"torch {torch.__version__}, 1 thread, profile {args.profile}: ||g - g64|| / ||g64|| of one supernet "
              f"step, {args.archs} sampled architectures")
        for space_name in args.spaces.split(","):
            e = gradient_errors(space_name, args.profile, args.archs)
            print(f"{space_name:10s} " + "   ".join(f"{name}: " + " ".join(f"{v:.1e}" for v in vals)
                                                   for name, vals in e.items()), flush=True)
        return 0
    print(f"torch {torch.__version__}, 1 thread, {os.cpu_count()} CPUs, profile {args.profile}; "
          f"{args.rounds} interleaved rounds, {args.steps} training steps, {args.archs} scored architectures each")
    print(f"\n{'space':10s} {'train img/s':>12s} {'(ch. last)':>10s} {'ratio':>6s} | {'score s/arch':>12s} "
          f"{'(ch. last)':>10s} {'ratio':>6s} | {'loss diff':>9s} {'score diff':>10s}")
    for space_name in args.spaces.split(","):
        r = bench_space(space_name, args.profile, args.steps, args.archs, args.rounds)
        d, c = r["default"], r["channels last"]
        print(f"{space_name:10s} {d['images/s']:12.0f} {c['images/s']:10.0f} {c['images/s'] / d['images/s']:5.2f}x | "
              f"{d['s/arch']:12.2f} {c['s/arch']:10.2f} {d['s/arch'] / c['s/arch']:5.2f}x | "
              f"{r['loss diff']:9.2g} {r['score diff']:10.2g}", flush=True)
    print("\nratio: channels last over default (training images/s) and default over channels last (scoring "
          "seconds): above 1 is faster; diffs: |default - channels last| of the training loss and of the scores (%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
