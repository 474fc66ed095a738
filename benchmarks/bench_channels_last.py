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
losses and of the scores): the layout changes the kernels' summation order, hence the
rounding, which is why it is a recorded setting. Usage:

    OMP_NUM_THREADS=1 NAS_CORE_DATA=../shared/data python benchmarks/bench_channels_last.py
    python benchmarks/bench_channels_last.py --spaces nb201,nb101,darts_cnn,proxyless --rounds 3

Numbers are noisy on a shared machine; the defaults take a few minutes.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys

import torch

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


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--spaces", default="nb201,nb101", help="comma-separated image spaces")
    p.add_argument("--profile", default="cpu")
    p.add_argument("--steps", type=int, default=6, help="training steps per timed run")
    p.add_argument("--archs", type=int, default=2, help="architectures scored per timed run")
    p.add_argument("--rounds", type=int, default=3, help="interleaved timed rounds (after one warm-up)")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
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
