"""Supernet and stand-alone training: the paper's recipes (Table 2) and one training loop.

Recipes (each space's, held by its module in ``nas_core/spaces/``; viewed here as tables)
    ``SUPERNET_RECIPES`` are Table 2 of the paper, value for value. The one
    correction: DARTS-PTB's weight decay is printed as "8 * 10^7", a typo for
    8e-7, the value of DARTS's own PTB training (``rnn/train.py --wdecay``).
    ``STANDALONE_RECIPES`` are the settings of the original benchmarks and
    papers (ground truth, appendix A.1: "we completely followed the settings
    mentioned in the original paper"); each names its source.
    ``recipe_table()`` renders Table 2 for the book from the same objects.

Supernet training (``train_supernet``)
    - ``uniform``: single-path one-shot (SPOS): every mini-batch trains one
      uniformly sampled architecture. When the recipe has ``gpus > 1`` (Table 2's
      starred batch sizes) this is the paper's *multi-path parallel strategy*:
      the mini-batch is split into ``gpus`` shards, each trains its own uniform
      architecture and the gradients are averaged. Inside an initialised
      ``torch.distributed`` group each rank takes one shard (so use
      ``world_size == gpus``); otherwise the shards run one after another in
      this process, which gives the same update (BN statistics aside: each
      shard normalises with its own batch statistics, as separate GPUs do).
    - ``parallel``: the same as above with ``paths`` shards (default ``gpus``).
    - ``fairnas``: FairNAS strict fairness: ``paths`` architectures (default:
      the size of the op set, which is the paper's 3, 5 on NAS-Bench-201) that
      use every candidate of every operation decision once, all on the same
      mini-batch (``sampling.FairNasSampler``); gradients summed, one update.
    - ``multipath``: ``paths`` independent uniform architectures on the same
      mini-batch; gradients summed, one update.
    ``parity_epochs`` gives the paper's equal-budget epochs for the last two
    (appendix B.1: a third of the epochs, a fifth on NAS-Bench-201); epochs may
    be fractional, the last epoch is then cut short.

    The learning rate follows a cosine from ``lr`` to ``lr_end`` per step (over
    all steps of the run; NAS-Bench-101's COSINE_BY_STEP), or stays fixed.

Reproducibility
    All randomness comes from generators seeded by ``seed``: a
    ``random.Random`` for architectures, ``torch.Generator`` s for data order and
    augmentation, and the torch global generator (model initialisation, dropout,
    drop-path) inside ``torch.random.fork_rng`` so the caller's global state is
    untouched. A checkpoint (end of every epoch, and after the current step on
    SIGTERM) holds model, optimiser, progress, history and all these generator
    states, so a run killed at any point and restarted with the same arguments
    finishes bit-identical (on CPU) to an uninterrupted one.

Memory format
    ``cfg["memory_format"] = "channels_last"`` (``evaluation.MEMORY_FORMAT``, image
    supernets only) trains the model and its batches in the channels-last layout: faster on
    CPU, numbers different, so a recorded setting (it is in the config, hence in the result's
    and the checkpoint's names); less precise on this PyTorch (``evaluation``'s docstring), so
    no result the book reads uses it. Stand-alone training refuses it.

Language models (``space.task == "language_model"``, DARTS-PTB)
    DARTS's loop: batchified token stream, sequence length drawn around
    ``bptt`` (95%: bptt, else bptt/2, plus N(0, 5), at least 5, at most
    bptt + 20) with the learning rate scaled by ``seq_len / bptt``, hidden state
    carried (detached) across batches, clipped gradients, temporal activation
    regularisation (``tar_beta``, through the model's ``return_h=True``), and
    the switch from SGD to ASGD (``t0=0, lambd=0``) once the validation loss is
    worse than the best of all but the last ``nonmono`` epochs. Evaluation
    after the switch uses the averaged weights; the returned model carries
    them. Stand-alone language models report the best-validation weights, as
    DARTS does. Language-model supernets train single-path only (Table 2: one
    GPU, no FairNAS/multi-path runs in the paper).
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import math
import random
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any, Mapping

import pandas as pd
import torch
import torch.nn as nn
import torch.nn.functional as F
from tqdm.auto import tqdm

from . import data as data_mod
from .evaluation import (MEMORY_FORMAT, batchify, channels_last, detach_hidden, evaluate_standalone, perplexity,
                         to_layout)
from .profiles import budget
from .sampling import FairNasSampler, MultiPathSampler, UniformSampler, paper_paths
from .settings import current as current_settings
from .spaces import SPACE_NAMES, FactTable, get_space
from .spaces.config import Recipe  # defined below the spaces (each holds its recipes), re-exported here
from .store import load_checkpoint, save_checkpoint

STRATEGIES = ("uniform", "parallel", "fairnas", "multipath")


class DivergenceError(RuntimeError):
    """The training loss became NaN or infinite."""


class TrainingInterrupted(SystemExit):
    """SIGTERM arrived: the checkpoint was saved after the current step; rerun to resume."""

    def __init__(self, path):
        super().__init__(143)  # 128 + SIGTERM, what a shell reports for a terminated job
        self.path = path


# ---------------------------------------------------------------------------- recipes
# Recipe fields that only the scoring of a trained network reads: a supernet checkpoint
# ignores them, so re-scoring with other values reuses the training.
SCORING_FIELDS = ("bn_calib_batch_size", "bn_calib_steps", "test_batch_size", "source")


def training_part(recipe: Recipe) -> dict:
    """The recipe's fields that change training (everything but ``SCORING_FIELDS``)."""
    return {k: v for k, v in dataclasses.asdict(recipe).items() if k not in SCORING_FIELDS}


# Each space holds its recipes (``get_space(name).supernet_recipe`` / ``.standalone_recipe``, in
# ``nas_core/spaces/<space>.py``); these are read-only views, in registry order (Table 2's columns).
SUPERNET_RECIPES: Mapping[str, Recipe] = FactTable("supernet_recipe")
STANDALONE_RECIPES: Mapping[str, Recipe] = FactTable("standalone_recipe")


def recipe_table(recipes: Mapping[str, Recipe] | None = None) -> pd.DataFrame:
    """Table 2 (rows: hyper-parameters; columns: spaces), rendered from ``SUPERNET_RECIPES``."""
    recipes = SUPERNET_RECIPES if recipes is None else recipes
    cols = {}
    for name, r in recipes.items():
        lm = r.bptt > 0
        na = "-" if lm else None  # Table 2 leaves image-only settings blank for DARTS-PTB

        def show(v, image_only=False):
            return na if (image_only and lm) else v

        cols[get_space(name).table2_column if name in SPACE_NAMES else name] = {
            "Batch size": f"{r.batch_size}*" if r.gpus > 1 else str(r.batch_size),
            "Initial LR": f"{r.lr:g}",
            "LR Decay": r.schedule.capitalize(),
            "Ending LR": f"{r.lr_end:g}",
            "Optimizer": {"sgd": "SGD", "sgd_asgd": "SGD/ASGD", "rmsprop": "RMSProp"}[r.optimizer],
            "Momentum": f"{r.momentum:g}",
            "Nesterov": "yes" if r.nesterov else "no",
            "Weight decay": f"{r.weight_decay:g}",
            "Gradient clip": f"{r.grad_clip:g}",
            "Auxiliary weight": show(f"{r.aux_weight:g}", True),
            "Label smoothing": show(f"{r.label_smoothing:g}", True),
            "Cutout": show(str(r.cutout), True),
            "Drop-Path Prob": show(f"{r.drop_path:g}", True),
            "BN calib batch size": show(str(r.bn_calib_batch_size), True),
            "BN calib steps": str(r.bn_calib_steps),
            "# GPUs": str(r.gpus),
        }
    return pd.DataFrame(cols)


def parity_epochs(epochs: float, space_name: str) -> float:
    """Epochs for FairNAS / multi-path with the budget of ``epochs`` of single-path training
    (paper B.1: each mini-batch trains 3 paths, 5 on NAS-Bench-201)."""
    return epochs / paper_paths(space_name)


def recipe_for(space_name: str, profile: str, *, standalone: bool = False) -> Recipe:
    """The space's recipe with the profile's budget changes (never its kind)."""
    space = get_space(space_name)
    base = space.standalone_recipe if standalone else space.supernet_recipe
    return dataclasses.replace(base, **budget(space_name, profile).recipe_overrides)


# ---------------------------------------------------------------------------- optimisers
class TFRMSprop(torch.optim.Optimizer):
    """RMSProp as TensorFlow 1 (NAS-Bench-101): ``ms`` starts at 1, epsilon inside the root,
    momentum on the scaled step; L2 weight decay added to the gradient."""

    def __init__(self, params, lr, decay=0.9, momentum=0.9, eps=1.0, weight_decay=0.0):
        super().__init__(params, dict(lr=lr, decay=decay, momentum=momentum, eps=eps, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self, closure=None):
        for g in self.param_groups:
            for p in g["params"]:
                if p.grad is None:
                    continue
                grad = p.grad.add(p, alpha=g["weight_decay"]) if g["weight_decay"] else p.grad
                st = self.state[p]
                if not st:
                    st["ms"] = torch.ones_like(p)
                    st["mom"] = torch.zeros_like(p)
                st["ms"].mul_(g["decay"]).addcmul_(grad, grad, value=1 - g["decay"])
                st["mom"].mul_(g["momentum"]).addcdiv_(grad, (st["ms"] + g["eps"]).sqrt_(), value=g["lr"])
                p.sub_(st["mom"])


def _param_groups(model: nn.Module, recipe: Recipe) -> list[dict]:
    if not recipe.no_decay_bn:
        return [{"params": [p for p in model.parameters() if p.requires_grad]}]
    bn = {id(p) for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm) for p in m.parameters()}
    params = [p for p in model.parameters() if p.requires_grad]
    return [{"params": [p for p in params if id(p) not in bn]},
            {"params": [p for p in params if id(p) in bn], "weight_decay": 0.0}]


def make_optimizer(model: nn.Module, recipe: Recipe, kind: str | None = None) -> torch.optim.Optimizer:
    kind = kind or ("rmsprop" if recipe.optimizer == "rmsprop" else "sgd")
    groups = _param_groups(model, recipe)
    if kind == "rmsprop":
        return TFRMSprop(groups, lr=recipe.lr, decay=recipe.rmsprop_decay, momentum=recipe.momentum,
                         eps=recipe.rmsprop_eps, weight_decay=recipe.weight_decay)
    if kind == "asgd":
        return torch.optim.ASGD(groups, lr=recipe.lr, t0=0, lambd=0.0, weight_decay=recipe.weight_decay)
    return torch.optim.SGD(groups, lr=recipe.lr, momentum=recipe.momentum, nesterov=recipe.nesterov,
                           weight_decay=recipe.weight_decay)


def lr_at(recipe: Recipe, progress: float) -> float:
    """Learning rate at ``progress`` in [0, 1] of the run."""
    if recipe.schedule == "fixed":
        return recipe.lr
    return recipe.lr_end + (recipe.lr - recipe.lr_end) * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


@contextlib.contextmanager
def averaged_weights(model: nn.Module, optimizer):
    """Temporarily load ASGD's averaged weights (no-op for other optimisers)."""
    if not isinstance(optimizer, torch.optim.ASGD):
        yield
        return
    saved = {}
    with torch.no_grad():
        for p in model.parameters():
            st = optimizer.state.get(p)
            if st and "ax" in st:
                saved[p] = p.detach().clone()
                p.copy_(st["ax"])
    try:
        yield
    finally:
        with torch.no_grad():
            for p, v in saved.items():
                p.copy_(v)


# ---------------------------------------------------------------------------- distributed
def _dist():
    """(rank, world_size) of an initialised torch.distributed group, else None."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return None


def _all_reduce_grads(params: list, stop: bool, device) -> bool:
    """Average gradients over ranks in one all-reduce; parameters no rank used keep grad None
    (so momentum and weight decay skip them, as in one process). Returns whether any rank
    was asked to stop."""
    import torch.distributed as dist

    flat = [p.grad.reshape(-1) if p.grad is not None else torch.zeros(p.numel(), device=device) for p in params]
    used = torch.tensor([p.grad is not None for p in params] + [stop], dtype=flat[0].dtype if flat else torch.float32,
                        device=device)
    buf = torch.cat(flat + [used])
    dist.all_reduce(buf)
    n = sum(p.numel() for p in params)
    used = buf[n:]
    off = 0
    for p, u in zip(params, used[:-1].tolist()):
        k = p.numel()
        if u > 0:
            if p.grad is None:
                p.grad = torch.empty_like(p)
            p.grad.copy_(buf[off:off + k].view_as(p))  # shards already scaled by 1/world: sum = mean
        off += k
    return used[-1].item() > 0


# ---------------------------------------------------------------------------- the loop
class _Fixed(nn.Module):
    """A stand-alone network behind the supernet interface ``forward(x, arch)``."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, *args, **kw):
        return self.net(*args[:-1], **kw)

    def init_hidden(self, bsz):
        return self.net.init_hidden(bsz)


class _Trainer:
    def __init__(self, space, cfg, data, recipe: Recipe, epochs: float, *, model_fn, strategy, paths, seed,
                 checkpoint_path, device, progress, max_steps_per_epoch, amp, standalone_arch=None):
        if strategy not in STRATEGIES:
            raise ValueError(f"unknown strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")
        if epochs < 0:
            raise ValueError(f"epochs must be >= 0, got {epochs}")
        self.space, self.cfg, self.data, self.recipe = space, dict(cfg), data, recipe
        self.epochs, self.seed, self.progress, self.amp = epochs, seed, progress, amp
        self.lm = getattr(space, "task", "classification") == "language_model"
        self.standalone = standalone_arch is not None
        self.arch = standalone_arch
        self.channels_last = channels_last(space, cfg)  # refuses it for language models
        if self.channels_last and self.standalone:  # evaluate_standalone would score it in the default layout
            raise ValueError(f"{MEMORY_FORMAT}='channels_last' is a setting of supernet training and scoring; "
                             "stand-alone training keeps the default layout")
        self.dist = _dist()
        self.rank, self.world = self.dist or (0, 1)
        if device is None:
            device = (torch.device("cuda", torch.cuda.current_device()) if torch.cuda.is_available()
                      else torch.device("cpu"))
        self.device = torch.device(device)
        self.ckpt = Path(checkpoint_path) if checkpoint_path else None
        self.max_steps = max_steps_per_epoch

        # who trains what: shards (different data, averaged) or paths (same data, summed)
        self.strategy = strategy
        if self.standalone:
            self.sampler, self.shards = None, 1
        elif strategy in ("uniform", "parallel"):
            self.sampler = UniformSampler(space)
            self.shards = self.world if self.dist else (paths if strategy == "parallel" and paths else recipe.gpus)
        else:
            if self.dist:
                raise ValueError(f"strategy {strategy!r} runs in one process; "
                                 "use uniform or parallel with torch.distributed")
            self.sampler = (FairNasSampler(space, m=paths) if strategy == "fairnas"
                            else MultiPathSampler(space, paths if paths is not None else paper_paths(space.name)))
            self.shards = 1
        if self.lm and self.shards > 1:
            raise NotImplementedError("language-model supernets do not shard the batch (gpus=1, no parallel)")
        if self.lm and epochs != int(epochs):
            raise ValueError(f"language models train whole epochs, got {epochs}")

        # generators: architectures, data order, augmentation, LM sequence lengths; the offsets keep
        # the streams of one seed apart from those of every other seed
        self.rng = random.Random(seed)
        self.g_order = torch.Generator().manual_seed(seed)
        self.g_aug = torch.Generator().manual_seed(seed + 2**32)
        self.len_rng = random.Random(seed + 2 * 2**32)
        self.model_fn = model_fn
        self.history: list[dict] = []

    # ---- helpers
    def _autocast(self):
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.amp)

    def _augment(self, x):
        if not self.cfg.get("augment", True):
            return x
        return data_mod.augment(x, self.g_aug, pad=self.cfg.get("pad", 4), flip=self.cfg.get("flip", True),
                                cutout=self.recipe.cutout)

    def _check(self, loss, epoch, step, arch):
        if not torch.isfinite(loss).item():
            what = f"architecture {arch}" if arch is not None else "the stand-alone network"
            raise DivergenceError(f"loss is {loss.item()} at epoch {epoch + 1}, step {step + 1}, {what} "
                                  f"(lr {self.optimizer.param_groups[0]['lr']:.4g})")

    def _run_meta(self) -> dict:
        return {"space": self.space.name, "cfg": repr(sorted(self.cfg.items())),
                "strategy": self.strategy, "shards": self.shards, "seed": self.seed, "epochs": float(self.epochs),
                "recipe": repr(sorted(training_part(self.recipe).items())), "max_steps": self.max_steps or 0, "arch": str(self.arch),
                "world": self.world}

    # ---- state
    def _state(self, epoch, step, extra) -> dict:
        return {
            "format": 1, "run": self._run_meta(), "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(), "optimizer_kind": self.opt_kind,
            "epoch": epoch, "step": step, "global_step": self.global_step, "history": self.history,
            "rng": self.rng.getstate(), "len_rng": self.len_rng.getstate(),
            "g_order": self.g_order.get_state(), "g_aug": self.g_aug.get_state(),
            "epoch_order": self.epoch_order, "torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state() if self.device.type == "cuda" else None,
            "sampler_fallbacks": getattr(self.sampler, "fallbacks", 0), **extra,
        }

    def _write(self, epoch, step, extra) -> None:
        if self.ckpt is None or self.rank != 0:
            return
        self.ckpt.parent.mkdir(parents=True, exist_ok=True)
        save_checkpoint(self.ckpt, self._state(epoch, step, extra))

    def _restore(self) -> dict | None:
        if self.ckpt is None or not self.ckpt.exists():
            return None
        st = load_checkpoint(self.ckpt)
        if st.get("run") != self._run_meta():
            raise ValueError(f"checkpoint {self.ckpt} belongs to another run:\n  saved {st.get('run')}\n"
                             f"  now   {self._run_meta()}\ndelete it or use another path")
        self.model.load_state_dict(st["model"])
        if st["optimizer_kind"] != self.opt_kind:
            self.opt_kind = st["optimizer_kind"]
            self.optimizer = make_optimizer(self.model, self.recipe, self.opt_kind)
        self.optimizer.load_state_dict(st["optimizer"])
        self.global_step, self.history = st["global_step"], list(st["history"])
        self.rng.setstate(st["rng"])
        self.len_rng.setstate(st["len_rng"])
        self.g_order.set_state(st["g_order"])
        self.g_aug.set_state(st["g_aug"])
        self.epoch_order = st["epoch_order"]
        torch.set_rng_state(st["torch_rng"])
        if st["cuda_rng"] is not None and self.device.type == "cuda":
            torch.cuda.set_rng_state(st["cuda_rng"])
        if self.sampler is not None and hasattr(self.sampler, "fallbacks"):
            self.sampler.fallbacks = st["sampler_fallbacks"]
        return st

    # ---- signals
    def _install_sigterm(self):
        self.stop = self.stop_all = False
        if threading.current_thread() is not threading.main_thread():
            return None

        def handler(signum, frame):
            self.stop = True  # finish the current step, save, exit

        return signal.signal(signal.SIGTERM, handler)

    # ---- one optimisation step
    def _step(self, pairs, scale, epoch, step, stats, extra_lr=1.0):
        self.optimizer.zero_grad(set_to_none=True)
        for arch, xb, yb in pairs:
            with self._autocast():
                out = self.model(xb, arch)
            # auxiliary logits: a second output, or left on the network (DARTS-CIFAR10's ``logits_aux``)
            if isinstance(out, (tuple, list)):
                logits, aux = out[0], out[1]
            else:
                logits, aux = out, getattr(self.core, "logits_aux", None)
            ls = self.recipe.label_smoothing
            main = F.cross_entropy(logits.float(), yb, label_smoothing=ls)
            self._check(main, epoch, step, arch)
            loss = main
            if aux is not None and self.recipe.aux_weight:
                loss = main + self.recipe.aux_weight * F.cross_entropy(aux.float(), yb, label_smoothing=ls)
            (loss * scale).backward()
            stats[0] += main.item() * len(yb)
            stats[1] += (logits.argmax(1) == yb).sum().item()
            stats[2] += len(yb)
        return self._update(extra_lr)

    def _update(self, extra_lr=1.0) -> bool:
        """Average over ranks, clip, set the learning rate, step. Returns the stop flag."""
        stop = self.stop
        if self.dist:  # every rank learns whether any rank got SIGTERM
            stop = _all_reduce_grads(self.params, self.stop, self.device)
        self.stop_all = stop
        if self.recipe.grad_clip > 0:
            nn.utils.clip_grad_norm_(self.params, self.recipe.grad_clip)
        for g in self.optimizer.param_groups:
            g["lr"] = self.lr * extra_lr
        self.optimizer.step()
        self.global_step += 1
        return stop

    # ---- image epochs
    def _image_plan(self):
        n, bs = len(self.data.train_x), self.recipe.batch_size
        spe = max(1, n // bs)  # drop the last partial batch: every step the same size, no BN batch of 1
        if self.max_steps:
            spe = min(spe, self.max_steps)
        total = round(self.epochs * spe)
        return spe, total, min(bs, n)

    def _image_epoch(self, epoch, start_step, spe, total, bs, extra):
        x_all, y_all = self.data.train_x, self.data.train_y
        steps = min(spe, total - epoch * spe)
        if start_step == 0:
            self.epoch_order = self.g_order.get_state()
        else:  # resume mid-epoch: replay this epoch's permutation
            self.g_order.set_state(self.epoch_order)
        perm = torch.randperm(len(x_all), generator=self.g_order)
        stats = self._resumed_stats(extra)
        bar = tqdm(total=steps, initial=start_step, desc=f"epoch {epoch + 1}", disable=not self.progress, leave=False)
        for s in range(start_step, steps):
            idx = perm[s * bs:(s + 1) * bs]
            xb = to_layout(self._augment(x_all[idx]).to(self.device, non_blocking=True), self.channels_last)
            yb = y_all[idx].to(self.device, non_blocking=True)
            self.lr = lr_at(self.recipe, self.global_step / max(1, total))
            pairs, scale = self._pairs(xb, yb)
            stop = self._step(pairs, scale, epoch, s, stats)
            bar.update(1)
            if self.progress and (s % 10 == 0 or s == steps - 1):
                n = max(1, stats[2])
                bar.set_postfix(loss=f"{stats[0] / n:.3f}", acc=f"{100 * stats[1] / n:.1f}")
            if stop and s + 1 < steps:
                bar.close()
                self._write(epoch, s + 1, {"stats": stats})
                raise TrainingInterrupted(self.ckpt)
        bar.close()
        stats = self._reduce_stats(stats)
        return {"train_loss": stats[0] / max(1, stats[2]), "train_acc": 100.0 * stats[1] / max(1, stats[2]),
                "steps": steps}

    def _pairs(self, xb, yb):
        """(arch, x, y) triples of one step and the gradient scale of each."""
        if self.standalone:
            return [(None, xb, yb)], 1.0
        if self.shards > 1:
            archs = [self.sampler.next_paths(self.rng)[0] for _ in range(self.shards)]
            xs, ys = torch.tensor_split(xb, self.shards), torch.tensor_split(yb, self.shards)
            pairs = list(zip(archs, xs, ys))
            if self.dist:
                pairs = [pairs[self.rank]]
            return pairs, 1.0 / self.shards
        return [(a, xb, yb) for a in self.sampler.next_paths(self.rng)], 1.0

    def _resumed_stats(self, extra):
        # a checkpoint holds rank 0's running sums; other ranks restart theirs
        if "stats" in extra and self.rank == 0:
            return list(extra["stats"])
        return [0.0, 0, 0]

    def _reduce_stats(self, stats):
        if not self.dist:
            return stats
        import torch.distributed as dist

        t = torch.tensor([float(v) for v in stats], dtype=torch.float64, device=self.device)
        dist.all_reduce(t)
        return t.tolist()

    # ---- language-model epochs
    def _lm_epoch(self, epoch, start_step, extra):
        r = self.recipe
        src = self.train_tokens
        i = extra.get("lm_pos", 0)
        hidden = extra.get("lm_hidden")
        hidden = _to_device(hidden if hidden is not None else self.model.init_hidden(r.batch_size), self.device)
        stats = self._resumed_stats(extra)
        s = start_step
        approx = max(1, (src.size(0) - 2) // r.bptt)
        steps_cap = min(approx, self.max_steps) if self.max_steps else None
        bar = tqdm(total=steps_cap or approx, initial=s, desc=f"epoch {epoch + 1}", disable=not self.progress,
                   leave=False)
        while i < src.size(0) - 2 and (steps_cap is None or s < steps_cap):
            seq = r.bptt
            if r.variable_bptt:  # DARTS: mostly bptt, sometimes bptt/2, jittered
                base = r.bptt if self.len_rng.random() < 0.95 else r.bptt / 2
                seq = min(max(5, int(self.len_rng.gauss(base, 5))), r.bptt + 20)
            seq = min(seq, src.size(0) - 1 - i)
            inp, tgt = src[i:i + seq], src[i + 1:i + 1 + seq].reshape(-1)
            self.lr = lr_at(r, (epoch + i / src.size(0)) / max(1, self.epochs))
            # FairNAS / multi-path: every path runs from the same carried state, gradients summed;
            # the last path's state is carried on
            archs = [None] if self.standalone else self.sampler.next_paths(self.rng)
            self.optimizer.zero_grad(set_to_none=True)
            h0 = detach_hidden(hidden)
            for arch in archs:
                with self._autocast():
                    if r.tar_beta:  # DARTS's temporal activation regularisation on the cell outputs
                        out, hidden, raw, _ = self.model(inp, h0, arch, return_h=True)
                    else:
                        out, hidden = self.model(inp, h0, arch)
                raw_loss = F.cross_entropy(out.reshape(-1, out.size(-1)).float(), tgt)
                self._check(raw_loss, epoch, s, arch)
                loss = raw_loss + r.tar_beta * (raw[1:] - raw[:-1]).float().pow(2).mean() if r.tar_beta else raw_loss
                loss.backward()
                stats[0] += raw_loss.item() * tgt.numel()
                stats[2] += tgt.numel()
            stop = self._update(seq / r.bptt if r.variable_bptt else 1.0)
            i += seq
            s += 1
            bar.update(1)
            if self.progress and s % 10 == 0:
                bar.set_postfix(loss=f"{stats[0] / stats[2]:.3f}", ppl=f"{math.exp(min(50, stats[0] / stats[2])):.1f}")
            if stop and i < src.size(0) - 2 and (steps_cap is None or s < steps_cap):
                bar.close()
                self._write(epoch, s, {"stats": stats, "lm_pos": i, "lm_hidden": detach_hidden(hidden),
                                       "best_val": self.best_val, "best_state": self.best_state})
                raise TrainingInterrupted(self.ckpt)
        bar.close()
        loss = stats[0] / max(1, stats[2])
        return {"train_loss": loss, "train_ppl": math.exp(min(50, loss)), "steps": s}

    def _lm_validate(self, epoch) -> float:
        r = self.recipe
        model = self.model
        if self.standalone:
            arch, model = None, self.model.net
        else:  # a fixed stream of paths, the same every epoch, so epochs compare
            vr = random.Random(self.seed + 3 * 2**32)
            archs: list = []

            def arch(k):
                while len(archs) <= k:
                    archs.append(self.sampler.next_paths(vr)[0])
                return archs[k]
        with averaged_weights(self.model, self.optimizer):
            return perplexity(model, self.data.valid, bptt=r.bptt, batch_size=r.eval_batch_size or 10,
                              arch=arch, device=self.device)

    def _lm_after_epoch(self, epoch, row):
        """Validation, best weights (stand-alone) and DARTS's SGD -> ASGD switch."""
        r = self.recipe
        val_ppl = self._lm_validate(epoch)
        row["valid_ppl"] = val_ppl
        val_loss = math.log(val_ppl)
        if self.standalone and (self.best_state is None or val_loss < self.best_state["loss"]):
            with averaged_weights(self.model, self.optimizer):
                self.best_state = {"loss": val_loss,
                                   "weights": {k: v.detach().cpu().clone() for k, v in self.model.state_dict().items()}}
        if self.opt_kind == "sgd" and r.optimizer == "sgd_asgd":
            if len(self.best_val) > r.nonmono and val_loss > min(self.best_val[:-r.nonmono]):
                self.opt_kind = "asgd"
                self.optimizer = make_optimizer(self.model, r, "asgd")
            self.best_val.append(val_loss)

    # ---- run
    def run(self):
        with torch.random.fork_rng(devices=[self.device] if self.device.type == "cuda" else []):
            torch.manual_seed(self.seed)
            self.model = self.model_fn().to(self.device)
            if self.channels_last:  # before the optimiser sees the parameters; a resume copies into this layout
                self.model = self.model.to(memory_format=torch.channels_last)
            self.core = self.model.net if self.standalone else self.model  # the space's own module
            if self.dist:  # one initialisation for all ranks
                import torch.distributed as dist

                for t in self.model.state_dict().values():
                    dist.broadcast(t, 0)
            self.params = [p for p in self.model.parameters() if p.requires_grad]
            self.opt_kind = "rmsprop" if self.recipe.optimizer == "rmsprop" else "sgd"
            self.optimizer = make_optimizer(self.model, self.recipe, self.opt_kind)
            self.global_step, self.epoch_order, self.lr = 0, None, self.recipe.lr
            self.best_val, self.best_state = [], None
            st = self._restore() or {"epoch": 0, "step": 0}
            self.best_val = list(st.get("best_val", []) or [])
            self.best_state = st.get("best_state")
            if self.lm:
                self.train_tokens = batchify(self.data.train, self.recipe.batch_size).to(self.device)
                n_epochs, plan = int(self.epochs), None
            else:
                plan = self._image_plan()
                n_epochs = math.ceil(plan[1] / plan[0]) if plan[1] else 0
            old = self._install_sigterm()
            try:
                self.model.train()
                for epoch in range(st["epoch"], n_epochs):
                    extra = st if epoch == st["epoch"] and st["step"] else {}
                    start = st["step"] if extra else 0
                    if hasattr(self.core, "drop_path_prob"):  # DARTS: grows linearly from 0
                        self.core.drop_path_prob = self.recipe.drop_path * epoch / max(1, n_epochs)
                    t0 = time.time()
                    row = (self._lm_epoch(epoch, start, extra) if self.lm
                           else self._image_epoch(epoch, start, *plan, extra))
                    row = {"epoch": epoch + 1, **row, "lr": self.lr, "optimizer": self.opt_kind}
                    if self.lm:
                        self._lm_after_epoch(epoch, row)
                    row["wall_s"] = time.time() - t0  # of this process (a resumed epoch: since the resume)
                    self.history.append(row)
                    self._write(epoch + 1, 0, {"best_val": self.best_val, "best_state": self.best_state})
                    if self.stop_all and epoch + 1 < n_epochs:
                        raise TrainingInterrupted(self.ckpt)
            finally:
                if old is not None:
                    signal.signal(signal.SIGTERM, old)
            if isinstance(self.optimizer, torch.optim.ASGD):  # hand back the averaged weights
                with torch.no_grad():
                    for p in self.model.parameters():
                        st_p = self.optimizer.state.get(p)
                        if st_p and "ax" in st_p:
                            p.copy_(st_p["ax"])
        return self.model, pd.DataFrame(self.history)


def _to_device(h, device):
    if isinstance(h, torch.Tensor):
        return h.to(device)
    return type(h)(_to_device(v, device) for v in h)


# ---------------------------------------------------------------------------- public API
def train_supernet(space, cfg: Mapping[str, Any], data, recipe: Recipe, epochs: float, *, strategy: str = "uniform",
                   paths: int | None = None, seed: int = 0, checkpoint_path=None, device=None, progress: bool = True,
                   max_steps_per_epoch: int | None = None, amp: bool = False):
    """Train ``space.supernet(cfg)`` for ``epochs`` with ``recipe``; returns ``(model, history)``.

    ``history`` has one row per epoch (train loss/accuracy or perplexity, lr,
    optimiser, wall seconds). With ``checkpoint_path`` the run resumes from it
    and saves it every epoch; SIGTERM saves after the current step and raises
    ``TrainingInterrupted`` (exit code 143). Raises ``DivergenceError`` on a
    NaN/inf loss.
    """
    trainer = _Trainer(space, cfg, data, recipe, epochs, model_fn=lambda: space.supernet(cfg), strategy=strategy,
                       paths=paths, seed=seed, checkpoint_path=checkpoint_path, device=device, progress=progress,
                       max_steps_per_epoch=max_steps_per_epoch, amp=amp)
    return trainer.run()


def train_supernet_distributed(space, cfg, data, recipe: Recipe, epochs: float, **kw):
    """``train_supernet`` with the multi-path parallel strategy over an initialised process group:
    rank r trains the r-th of ``world_size`` architectures drawn per step from one shared
    generator, on the r-th shard of the mini-batch; gradients are averaged."""
    if _dist() is None:
        raise RuntimeError("torch.distributed is not initialised (launch with torchrun or init_process_group)")
    return train_supernet(space, cfg, data, recipe, epochs, strategy="parallel", **kw)


def train_standalone(space, arch, cfg: Mapping[str, Any], data, recipe: Recipe, epochs: float, *, seed: int = 0,
                     device=None, progress: bool = False, checkpoint_path=None,
                     max_steps_per_epoch: int | None = None, amp: bool = False) -> dict:
    """Train the stand-alone network of ``arch`` and evaluate it (BN statistics from training,
    no recalibration). Returns ``valid`` and ``test`` (accuracy % or perplexity),
    ``train_loss`` (last epoch), ``wall_s``, ``params``, ``flops``, ``epochs``."""
    t0 = time.time()
    trainer = _Trainer(space, cfg, data, recipe, epochs, model_fn=lambda: _Fixed(space.standalone(arch, cfg)),
                       strategy="uniform", paths=None, seed=seed, checkpoint_path=checkpoint_path, device=device,
                       progress=progress, max_steps_per_epoch=max_steps_per_epoch, amp=amp, standalone_arch=arch)
    model, history = trainer.run()
    lm = trainer.lm
    if lm and trainer.best_state is not None:  # DARTS reports the best-validation weights
        model.load_state_dict(trainer.best_state["weights"])
    net, r = model.net, recipe
    task = "language_model" if lm else "classification"
    valid = evaluate_standalone(net, data, "valid", task=task, batch_size=r.eval_batch_size or (10 if lm else 500),
                                bptt=r.bptt or 35, device=trainer.device)
    test = evaluate_standalone(net, data, "test", task=task, batch_size=r.test_batch_size or (1 if lm else 500),
                               bptt=r.bptt or 35, device=trainer.device)
    cost = space.cost(arch, cfg)
    return {"valid": valid, "test": test,
            "train_loss": float(history["train_loss"].iloc[-1]) if len(history) else float("nan"),
            "wall_s": time.time() - t0, "params": cost.params, "flops": cost.flops, "epochs": epochs}


# ---------------------------------------------------------------------------- command line
def main(argv=None) -> int:
    """``python -m nas_core.training --space nb201 --profile smoke --epochs 2 [--distributed]``;
    with ``--distributed`` launch through ``torchrun --nproc_per_node N``."""
    p = argparse.ArgumentParser(prog="python -m nas_core.training", description=main.__doc__.splitlines()[0])
    p.add_argument("--space", required=True)
    p.add_argument("--profile", default="smoke")
    p.add_argument("--epochs", type=float, required=True)
    p.add_argument("--strategy", default="uniform", choices=STRATEGIES)
    p.add_argument("--paths", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--checkpoint", default=None)
    p.add_argument("--distributed", action="store_true")
    args = p.parse_args(argv)

    if args.distributed:
        import torch.distributed as dist

        backend = "nccl" if torch.cuda.is_available() else "gloo"
        if backend == "nccl":
            torch.cuda.set_device(current_settings().local_rank)
        dist.init_process_group(backend)
    try:
        space = get_space(args.space)
        cfg = space.config(args.profile)
        recipe = recipe_for(args.space, args.profile)
        data = data_mod.load(cfg)
        strategy = "parallel" if args.distributed else args.strategy
        _, history = train_supernet(space, cfg, data, recipe, args.epochs, strategy=strategy, paths=args.paths,
                                    seed=args.seed, checkpoint_path=args.checkpoint,
                                    max_steps_per_epoch=budget(args.space, args.profile).max_steps_per_epoch,
                                    progress=_dist() is None or _dist()[0] == 0)
        if (_dist() or (0, 1))[0] == 0:
            print(history.to_string(index=False))
    finally:
        if args.distributed:
            import torch.distributed as dist

            dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
