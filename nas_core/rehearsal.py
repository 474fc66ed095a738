"""Rehearse a profile (the paper's) before a GPU day: ``nas-study rehearse [EXPERIMENT] --profile paper``.

No one runs the ``paper`` profile end to end before a GPU user does, and a first run may fail
hours in. A rehearsal runs every computation the experiments' notebooks ask for, at the profile's
networks, recipes and per-device batch sizes, briefly:

- every *task* (a kind of computation a full run repeats: a supernet trained with one strategy on
  one space or pruned space, a stand-alone network, Table 1's cost count) runs the library's own
  code (``training.train_supernet`` / ``train_standalone``, ``evaluation.evaluate_architectures``)
  for **two optimisation steps**, writes its checkpoint, and scores **two architectures**;
- data: the real dataset where it is present, else synthetic data of its shape (said so); a
  dataset with no loader (ImageNet) is the error a real run would hit first and is reported as
  such, while its tasks still run on synthetic data so that the rest is checked too;
- it reports, per task and per experiment, the peak memory, seconds per optimisation step (of the
  recipe's whole batch, its shards one after another on one device) and the projected
  device-hours of the full run: the experiment's trainings and scorings, counted from
  the notebooks' default parameters and the profile's budgets (``profiles.py``), times the
  measured rates; results shared by experiments are counted once in the total;
- a task whose peak would not fit ``memory_gib`` (by default 24 GiB on a CPU, the device's memory on
  a GPU) is reported as such, with the size it needs; any error is reported with the task that
  raised it; the exit code is 1 then.

On a CPU the full per-device batches of the paper take minutes per step, so the steps run at
``batch_cap`` images per device (default 4; scoring on at most ``eval_cap`` images) and times are
scaled linearly to the per-device batch (an upper bound where per-step overheads dominate). Peak
memory off a GPU is counted, not measured: the live tensors of training at the per-device batch
(parameters, gradients, optimiser state, and the activations autograd keeps for the backward
pass, which grow linearly with the batch: counted at 4 and at 256 images, NAS-Bench-201's
0.947 and 0.944 GiB at 256); the framework's workspace and fragmentation come on top, so it is
a lower bound of what a GPU needs. On a GPU the default is the full batch and the peak is the
device memory allocated, where an out-of-memory error is the answer.
The notebooks' own logic (tables, figures, verdicts) is not rehearsed: the ``smoke`` profile
runs every notebook in the test suite.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd
import torch
from torch.optim.optimizer import register_optimizer_step_post_hook

from . import data as data_mod
from . import chapters, evaluation, pruning, study, training, tricks, tutorial
from .nasbench101_records import default_path, where_to_get
from .profiles import PROFILES, budget
from .spaces import get_space

GIB = 2 ** 30
DEFAULT_MEMORY_GIB = 24.0
CPU_BATCH_CAP, CPU_EVAL_CAP = 4, 16  # images per device on a CPU; images (tokens x 35 for PTB) scored
GPU_EVAL_CAP = 1000
STEPS = 2  # optimisation steps per training
SCORED = 2  # architectures per scoring
# Full split sizes where the data is absent (images; PTB in tokens), for the projections.
FULL_SIZES = {"cifar10": (40_000, 10_000, 10_000), "cifar100": (50_000, 5_000, 5_000),
              "imagenet": (1_281_167, 50_000, 50_000), "ptb": (929_589, 73_760, 82_430),
              "cifar10-4k": (3_000, 1_000, 1_000), "fashion-mnist": (50_000, 10_000, 10_000),
              "synthetic": (512, 256, 256)}
IMAGE_SHAPES = {"cifar10": (3, 32, 10), "cifar100": (3, 32, 100), "imagenet": (3, 224, 1000),
                "cifar10-4k": (3, 32, 10), "fashion-mnist": (1, 28, 10), "synthetic": (3, 16, 10)}


# ---------------------------------------------------------------- what a full run computes

@dataclass(frozen=True)
class Task:
    """A kind of computation a full run repeats; rehearsed once per session."""

    space: str
    kind: str  # "supernet" | "standalone" | "costs"
    strategy: str = "uniform"  # supernets: uniform | fairnas | multipath
    pruned: str = ""  # supernets: "" | "subset" (Figure 5's pruned samples) | "around" (Figure 6)

    @property
    def label(self) -> str:
        if self.kind != "supernet":
            return f"{self.space} {self.kind}"
        return f"{self.space} supernet {self.strategy}" + (f" ({self.pruned} space)" if self.pruned else "")


@dataclass(frozen=True)
class Work:
    """Computations of one task in an experiment's full run: ``trainings`` runs of ``epochs``
    each (supernets: one result each), and ``scorings`` architectures scored (supernets) or
    architecture costs counted (``costs``). ``what`` names the results, so that experiments
    sharing one (the same supernet, the same ground truth) count it once in a total."""

    task: Task
    what: str
    trainings: int = 0
    epochs: float = 0
    scorings: int = 0
    note: str = ""


def _supernet(space, e, seed, n, strategy="uniform", what="", pruned="") -> Work:
    return Work(Task(space, "supernet", strategy, pruned), what or f"{strategy} {e} epochs, seed {seed}", 1, e, n)


def _ground_truth(space, profile, n_archs=None) -> list[Work]:
    b = budget(space, profile)
    n = b.n_gt_archs if n_archs is None else n_archs
    runs = n * len(b.gt_seeds) + min(n, b.gt_extra_seed_archs)
    if profile in get_space(space).benchmark_gt_profiles and default_path().is_file():
        return [Work(Task(space, "standalone"), "ground truth", 0, b.gt_epochs, 0,
                     note="read from nasbench_only108.tfrecord: nothing to train")]
    return [Work(Task(space, "standalone"), "ground truth", runs, b.gt_epochs)]


def _ladder(space, profile, seeds=(0,), top_only=False) -> list[Work]:
    b = budget(space, profile)
    rungs = [max(b.ladder)] if top_only else list(b.ladder)
    out = [_supernet(space, e, 0, b.n_eval_archs) for e in rungs]
    return out + [_supernet(space, max(b.ladder), s, b.n_eval_archs) for s in seeds if s != 0]


FOUR, ALL = chapters.FOUR, chapters.ALL  # the spaces the chapters' notebooks run by default


def plan(experiment: str, profile: str) -> list[Work]:
    """The computations of one experiment's full run at ``profile``, from its notebook's defaults."""
    def gt_plus(spaces, works_of):
        return [w for s in spaces for w in works_of(s) + _ground_truth(s, profile)]

    if experiment == "search_spaces":
        return [Work(Task(s, "costs"), "Table 1 costs", scorings=200) for s in ALL]
    if experiment == "performance_vs_epochs":
        out = gt_plus(ALL, lambda s: _ladder(s, profile))
        for s in (s for s in ALL if get_space(s).reference_line):
            b = budget(s, profile)
            out.append(Work(Task(s, "standalone"), "reference line (gold architecture)",
                            len(b.gt_seeds) + (1 if b.gt_extra_seed_archs else 0), b.gt_epochs))
        return out
    if experiment in ("top_k", "mutual_correlation"):
        return gt_plus(FOUR, lambda s: _ladder(s, profile, seeds=(0, 1)))
    if experiment == "bias":
        return gt_plus(FOUR, lambda s: _ladder(s, profile, top_only=True))
    if experiment == "stability":
        out = gt_plus(FOUR, lambda s: _ladder(s, profile))
        for s in (s for s in FOUR if get_space(s).gt_variant):
            n = budget(s, profile).gt_variant_archs
            if n:
                out.append(Work(Task(s, "standalone"), "Figure 12 recipe variant", n,
                                budget(s, profile).gt_epochs * get_space(s).gt_variant["epochs_factor"]))
        return out
    if experiment == "training_tricks":
        out = []
        for s in chapters.ITEM["Table 3"].spaces:
            for e in budget(s, profile).table3_epochs:
                for row in tricks.plan(s, profile, e):
                    what = (f"{row.strategy} {row.epochs:g} epochs, seed {row.seed}"
                            + (" (LR/WD)" if row.recipe_overrides else ""))
                    out.append(_supernet(s, row.epochs, row.seed, budget(s, profile).n_eval_archs,
                                         row.strategy, what))
            out += _ground_truth(s, profile)
        return out
    if experiment == "pruning":
        out, seeds, factors = [], (0, 1, 2), pruning.default_factors(profile)
        for s in FOUR:
            b = budget(s, profile)
            e = pruning.default_epochs(s, profile)
            sweep = s in chapters.ITEM["Figure 5"].spaces
            size = pruning.plan_size(b.n_gt_archs, factors if sweep else [1], pruning.METHODS, seeds)
            out.append(Work(Task(s, "supernet", pruned="subset"), f"pruning sweep, {e} epochs",
                            size["supernets"], e, size["scorings"]))
            out += _ground_truth(s, profile)
        for s in pruning.AROUND_SPACES:
            e = pruning.default_epochs(s, profile)
            n_eval = budget(s, profile).n_eval_archs
            free = pruning.default_free(profile)
            scorings = sum(min(7 ** k, n_eval) for k in free) * len(seeds)
            out.append(Work(Task(s, "supernet", pruned="around"), f"around the gold architecture, {e} epochs",
                            len(free) * len(seeds), e, scorings))
        b = budget("darts_cnn", profile)  # Figure 6a's stand-alone points are DARTS-CIFAR10's (the notebook's)
        n_gt = pruning.default_around_gt(profile)
        out.append(Work(Task("darts_cnn", "standalone"), "Figure 6a stand-alone networks",
                        len(pruning.default_free(profile)) * 2 * n_gt * len(b.gt_seeds), b.gt_epochs,
                        note="at most: the random and the supernet's top architectures may overlap"))
        return out
    if experiment == "groundtruth_pilot":
        out = []
        for s, n in (("nb201", 40), ("nb101", 40), ("darts_rnn", 12)):  # the notebook's defaults
            out.append(Work(Task(s, "standalone"), f"pilot, {n} architectures x 2 seeds", n * 2,
                            budget(s, profile).gt_epochs))
        return out + _ground_truth("nb201", profile) + _ground_truth("nb101", profile)
    if experiment == "weight_sharing_tutorial":
        d = tutorial.DEFAULTS[profile]  # the chapter's own defaults, so the plan follows them
        return [_supernet(tutorial.SPACE, d.epochs, s, d.n_archs, what=f"tutorial, {d.epochs} epochs, seed {s}")
                for s in (0, 1, 2)]
    raise ValueError(f"no rehearsal plan for experiment {experiment!r}")


def experiments() -> list[str]:
    """Every experiment with a plan (``Chapter.rehearsed``), in the command line's order."""
    return [c.name for c in chapters.CHAPTERS if c.rehearsed]


# ---------------------------------------------------------------- measuring

@dataclass
class Measure:
    """What one task's rehearsal measured and what it projects for the full per-device batch."""

    task: Task
    batch: int = 0  # per-device batch of the profile's recipe
    measured_batch: int = 0  # per-device batch the steps ran at
    peak_gib: float = float("nan")  # at ``batch``: measured on cuda at the full batch, else ``tensors_gib``
    tensors_gib: float = float("nan")  # live tensors of training at ``batch`` (counted, see ``_Probe``)
    measured_gib: float = float("nan")  # growth of device memory (cuda) or resident memory (cpu) as run
    s_step: float = float("nan")  # projected at ``batch``
    steps_per_epoch: int = 0
    s_epoch_extra: float = 0.0  # per epoch besides steps: validation (language models), checkpoint
    s_score: float = float("nan")  # per architecture scored (supernets), evaluation (stand-alone), per cost
    checkpoint_mib: float = float("nan")
    data: str = ""
    error: str = ""
    seconds: float = 0.0  # of this rehearsal

    def hours(self, w: Work) -> float:
        if self.error and math.isnan(self.s_step) and self.task.kind != "costs":
            return float("nan")
        if self.task.kind == "costs":
            return w.scorings * self.s_score / 3600
        epochs = w.trainings * w.epochs
        train = epochs * self.steps_per_epoch * self.s_step + math.ceil(w.epochs) * w.trainings * self.s_epoch_extra
        if self.task.kind == "standalone":
            return (train + w.trainings * self.s_score) / 3600
        return (train + w.scorings * self.s_score) / 3600


class _Probe:
    """Peak memory and the times of optimiser steps while a block runs.

    Measured: on cuda the allocated device memory (``max_memory_allocated``), on a CPU the growth
    of resident memory (/proc, its high-water mark reset at the start; it also holds the
    allocator's retained blocks and one-time library buffers). Counted, on every device: the
    bytes of parameters, gradients and optimiser state after each step, and of the tensors
    autograd keeps for the backward pass of each forward pass (``saved_tensors_hooks``; a
    supernet step runs one forward and backward per shard or path, one after another): their
    sum is the training peak of live tensors, and the saved part grows with the batch.
    """

    def __init__(self, device):
        self.register = register_optimizer_step_post_hook
        self.torch, self.device = torch, device
        self.cuda = device.type == "cuda"

    def _now_bytes(self) -> float:
        if self.cuda:
            return float(self.torch.cuda.memory_allocated(self.device))
        return _proc_status("VmRSS")

    def _pack(self, t):
        if self.in_backward:  # a new forward pass: the previous one's tensors are freed
            self._close_pass()
        if not (t.is_leaf and t.requires_grad):  # parameters are counted with the optimiser
            st = t.untyped_storage()
            if st.data_ptr() not in self.seen:
                self.seen.add(st.data_ptr())
                self.pass_bytes += st.nbytes()
        return t

    def _unpack(self, t):
        self.in_backward = True
        return t

    def _close_pass(self):
        self.saved_peak = max(self.saved_peak, self.pass_bytes)
        self.pass_bytes, self.in_backward = 0, False
        self.seen = set()

    def __enter__(self):
        torch = self.torch
        if self.cuda:
            torch.cuda.synchronize(self.device)
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats(self.device)
        else:
            _reset_peak_rss()
        self.base = self._now_bytes()
        self.step_times, self.step_bytes = [], []
        self.state_bytes, self.saved_peak, self.pass_bytes, self.in_backward, self.seen = 0, 0, 0, False, set()
        self.t0 = time.perf_counter()

        def hook(optimizer, args, kwargs):
            if self.cuda:
                torch.cuda.synchronize(self.device)
            self.step_times.append(time.perf_counter())
            self.step_bytes.append(self._now_bytes())
            self._close_pass()
            tensors = {}
            for g in optimizer.param_groups:
                for q in g["params"]:
                    tensors[q.data_ptr()] = q.nbytes
                    if q.grad is not None:
                        tensors[q.grad.data_ptr()] = q.grad.nbytes
                    for v in optimizer.state.get(q, {}).values():
                        if torch.is_tensor(v) and v.dim():
                            tensors[v.data_ptr()] = v.nbytes
            self.state_bytes = max(self.state_bytes, sum(tensors.values()))

        self.handle = self.register(hook)
        self.saved_hooks = torch.autograd.graph.saved_tensors_hooks(self._pack, self._unpack)
        self.saved_hooks.__enter__()
        return self

    def __exit__(self, *exc):
        self.saved_hooks.__exit__(*exc)
        self.handle.remove()
        if self.cuda:
            self.torch.cuda.synchronize(self.device)
            self.peak = float(self.torch.cuda.max_memory_allocated(self.device))
        else:
            self.peak = _proc_status("VmHWM")
        self.t1 = time.perf_counter()
        return False

    @property
    def grown(self) -> float:
        return max(0.0, self.peak - self.base)

    def s_step(self) -> float:
        """The last step's seconds (the first one also allocates optimiser state)."""
        t = self.step_times
        return t[-1] - t[-2] if len(t) >= 2 else (t[0] - self.t0 if t else float("nan"))

    def live_tensors(self, factor: float = 1.0) -> float:
        """Training peak of live tensors at ``factor`` times the batch: parameters, gradients and
        optimiser state plus the activations one forward pass keeps for its backward."""
        return self.state_bytes + self.saved_peak * factor


def _proc_status(key: str) -> float:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return float(line.split()[1]) * 1024
    except OSError:
        pass
    return float("nan")


def _reset_peak_rss() -> None:
    try:  # glibc: hand freed memory back first, so that the next task's growth shows in the RSS
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
    try:  # Linux: "5" resets the resident-memory high-water mark (VmHWM) of this process
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


# ---------------------------------------------------------------- data

def _data_for(space_name: str, cfg: dict, n_train: int, cap: int, notes: dict):
    """(data for the steps, full split sizes, description): the real data where present
    (validation and test cut to ``cap``), else synthetic data of the dataset's shape."""
    name = cfg["dataset"]
    full = list(FULL_SIZES.get(name, (n_train, cap, cap)))
    if cfg.get("n_train") is not None:
        full[0] = int(cfg["n_train"])
    if cfg.get("n_valid") is not None:
        full[1] = int(cfg["n_valid"])
    if name == "ptb":
        for k, i in (("max_train_tokens", 0), ("max_eval_tokens", 1)):
            if cfg.get(k) is not None:
                full[i] = int(cfg[k])
    error = ""
    try:
        data_mod.check_available(name)
        real = True
    except (data_mod.DataNotFound, data_mod.DataCorrupt) as e:
        real = False
        first = str(e).splitlines()[0]
        if isinstance(e, data_mod.DataCorrupt):  # a damaged file stops a real run; absent data is fetched first
            error = f"a real run stops here: {first}"
        elif name not in data_mod.DATASETS:  # no loader: the first error of a real run
            error = f"a real run stops here: {first} ({data_mod.SOURCES.get(name, '')})"
        notes[name] = (f"{name} {'damaged' if isinstance(e, data_mod.DataCorrupt) else 'absent'}: synthetic data "
                       "of its shape" + (f"; {error}" if error else ""))
    if real:
        d = data_mod.load(cfg)
        if name == "ptb":
            full = [len(d.train), len(d.valid), len(d.test)]
            d = data_mod.TextData(d.train, d.valid[:cap * 35], d.test[:cap * 35], d.vocab_size, d.itos, d.name)
        else:
            full = [len(d.train_x), len(d.valid_x), len(d.test_x)]
            d = data_mod.ImageData(d.train_x, d.train_y, d.valid_x[:cap], d.valid_y[:cap], d.test_x[:cap],
                                   d.test_y[:cap], d.num_classes, d.in_channels, d.name, d.image_size, d.note)
        notes.setdefault(name, f"{name}: the real data")
        return d, full, f"{name} (real)", ""
    g = torch.Generator().manual_seed(0)
    if name == "ptb":
        vocab = int(cfg.get("vocab_size") or 10_000)
        toks = lambda n: torch.randint(0, vocab, (n,), generator=g)  # noqa: E731
        d = data_mod.TextData(toks(max(n_train, 2000)), toks(cap * 35), toks(cap * 35), vocab,
                              tuple(f"w{i}" for i in range(vocab)), "ptb (synthetic)")
        return d, full, "ptb (synthetic)", error
    c, size, k = IMAGE_SHAPES.get(name, (int(cfg.get("in_channels", 3)), 32, int(cfg.get("num_classes", 10))))
    size = int(cfg.get("image_size") or size)
    c, k = int(cfg.get("in_channels") or c), int(cfg.get("num_classes") or k)

    def split(n):
        return torch.randn(n, c, size, size, generator=g), torch.randint(0, k, (n,), generator=g)

    (tx, ty), (vx, vy), (sx, sy) = split(n_train), split(cap), split(cap)
    d = data_mod.ImageData(tx, ty, vx, vy, sx, sy, k, c, f"{name} (synthetic)", size, "synthetic, real shape")
    return d, full, f"{name} (synthetic, {c}x{size}x{size})", error


# ---------------------------------------------------------------- one task

def _space_for(task: Task, profile: str):
    if task.pruned == "subset":
        return pruning.subset_space(task.space, study.eval_sample(task.space, profile, 8))
    if task.pruned == "around":
        return pruning.around_space(task.space, 2)
    return get_space(task.space)


def run_task(task: Task, profile: str, device, batch_cap: int | None, eval_cap: int, notes: dict) -> Measure:
    """Rehearse one task: two optimisation steps and two scorings at the profile's sizes
    (batches capped at ``batch_cap`` images per device), measured and projected."""
    m = Measure(task)
    t_start = time.perf_counter()
    space = _space_for(task, profile)
    if task.kind == "costs":
        cfg = space.config("paper")  # Table 1 counts at the paper's networks in every profile
        archs = space.sample_many(SCORED, seed=0)
        t0 = time.perf_counter()
        for a in archs:
            space.cost(a, cfg)
        m.s_score = (time.perf_counter() - t0) / len(archs)
        m.seconds = time.perf_counter() - t_start
        return m
    standalone = task.kind == "standalone"
    cfg = (study.space_config if standalone else study.supernet_config)(task.space, profile)
    full_recipe = training.recipe_for(task.space, profile, standalone=standalone)
    lm = getattr(space, "task", "classification") == "language_model"
    shards = 1 if (standalone or task.strategy != "uniform") else full_recipe.gpus
    m.batch = full_recipe.batch_size // shards  # per device: the recipe's batch over its shards
    per_device = m.batch if batch_cap is None else min(m.batch, batch_cap)
    m.measured_batch = per_device
    recipe = replace(full_recipe, batch_size=per_device * shards)
    calib_steps, calib_bs = full_recipe.bn_calib_steps, full_recipe.bn_calib_batch_size
    if batch_cap is not None:
        calib_steps, calib_bs = min(calib_steps, 1), min(calib_bs, batch_cap)
    recipe = replace(recipe, bn_calib_steps=calib_steps, bn_calib_batch_size=calib_bs)
    bptt = recipe.bptt or 35
    n_train = (STEPS * recipe.batch_size * (bptt + 25) + 2) if lm else max(STEPS * recipe.batch_size, calib_bs, 2)
    data, full, m.data, m.error = _data_for(task.space, cfg, n_train, eval_cap, notes)
    n_train_full = full[0]
    m.steps_per_epoch = (max(1, n_train_full // (full_recipe.batch_size * bptt)) if lm
                         else max(1, n_train_full // full_recipe.batch_size))
    cap_steps = budget(task.space, profile).max_steps_per_epoch
    if cap_steps:
        m.steps_per_epoch = min(m.steps_per_epoch, cap_steps)
    factor = m.batch / per_device
    scoring_peak = 0.0
    try:
        with tempfile.TemporaryDirectory(prefix="nas-rehearse-") as tmp:
            ckpt = Path(tmp) / "checkpoint.pt"
            if standalone:
                arch = space.sample_many(1, seed=0)[0]
                with _Probe(device) as p:
                    training.train_standalone(space, arch, cfg, data, recipe, 1, seed=0, device=device, progress=False,
                                              max_steps_per_epoch=STEPS)
                # after the steps: per-epoch validation (language models) and the final evaluation
                after = p.t1 - (p.step_times[-1] if p.step_times else p.t0)
                if lm:  # validation every epoch, then the best weights on valid and test
                    per_token = after / max(1, 2 * len(data.valid) + len(data.test))
                    m.s_epoch_extra = per_token * full[1]
                    m.s_score = per_token * (full[1] + full[2])
                else:  # the evaluation on valid and test at the end of a training
                    m.s_score = after * (full[1] + full[2]) / max(1, len(data.valid_x) + len(data.test_x))
            else:
                with _Probe(device) as p:
                    model, _ = training.train_supernet(space, cfg, data, recipe, 1, strategy=task.strategy, seed=0,
                                                       checkpoint_path=ckpt, device=device, progress=False,
                                                       max_steps_per_epoch=STEPS)
                m.checkpoint_mib = ckpt.stat().st_size / 2 ** 20 if ckpt.exists() else float("nan")
                after = p.t1 - (p.step_times[-1] if p.step_times else p.t0)
                m.s_epoch_extra = after * (full[1] / max(1, len(data.valid)) if lm else 1.0)
                archs = space.sample_many(SCORED, seed=1)
                with _Probe(device) as q:
                    evaluation.evaluate_architectures(space, model, archs, data, bn_calib_steps=calib_steps,
                                                      bn_calib_batch_size=calib_bs, seed=0, progress=False,
                                                      batch_size=None if lm else min(500, eval_cap), device=device)
                if lm:
                    per_arch_full = full[1]
                    per_arch_done = len(data.valid)
                else:
                    per_arch_full = full_recipe.bn_calib_steps * full_recipe.bn_calib_batch_size + full[1]
                    per_arch_done = calib_steps * calib_bs + len(data.valid_x)
                m.s_score = (q.t1 - q.t0) / SCORED * per_arch_full / max(1, per_arch_done)
                scoring_peak = q.peak - p.base
            m.measured_gib = p.grown / GIB
            m.tensors_gib = p.live_tensors(factor) / GIB
            # cuda at the full batch: what the device allocated; else the count of live tensors
            measured = device.type == "cuda" and factor == 1
            m.peak_gib = (max(p.grown, scoring_peak) if measured else p.live_tensors(factor)) / GIB
            m.s_step = p.s_step() * factor
    except torch.cuda.OutOfMemoryError as e:
        m.error = f"out of device memory at per-device batch {per_device}: {str(e).splitlines()[0]}"
    except Exception as e:  # the first error a real run would hit, said with its task
        m.error = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
    finally:
        if device.type == "cuda":
            torch.cuda.empty_cache()
    m.seconds = time.perf_counter() - t_start
    return m


# ---------------------------------------------------------------- the rehearsal

@dataclass
class Report:
    profile: str
    device: str
    memory_gib: float
    batch_cap: int | None
    measures: dict = field(default_factory=dict)  # Task -> Measure
    plans: dict = field(default_factory=dict)  # experiment -> [Work]
    notes: dict = field(default_factory=dict)  # dataset -> note

    def problems(self, m: Measure) -> str:
        """What a real run of this task would hit: its error, and a size that does not fit."""
        out = [m.error] if m.error else []
        if m.peak_gib > self.memory_gib:
            how = "measured" if m.measured_batch == m.batch else f"projected from batch {m.measured_batch}"
            out.append(f"does not fit {self.memory_gib:g} GiB: needs about {m.peak_gib:.1f} GiB at per-device "
                       f"batch {m.batch} ({how})")
        return "; ".join(out)

    def task_table(self):
        rows = []
        for t, m in self.measures.items():
            rows.append({"task": t.label, "data": m.data or "-", "per-device batch": m.batch or "-",
                         "run at": m.measured_batch or "-", "peak GiB": round(m.peak_gib, 2),
                         "as run GiB": round(m.measured_gib, 2),
                         "s/step": round(m.s_step, 3), "steps/epoch": m.steps_per_epoch or "-",
                         "s/scoring": round(m.s_score, 3), "checkpoint MiB": round(m.checkpoint_mib, 1),
                         "rehearsal s": round(m.seconds, 1), "status": self.status(m),
                         "problem": self.problems(m)})
        return pd.DataFrame(rows)

    def status(self, m: Measure) -> str:
        fits = not m.peak_gib > self.memory_gib
        return "ok" if not (m.error or not fits) else "; ".join(
            (["fails"] if m.error else []) + ([] if fits else ["does not fit"]))

    def experiment_table(self):
        rows, seen, total = [], set(), 0.0
        for exp, works in self.plans.items():
            ms = [self.measures[w.task] for w in works]
            hours = sum(self.measures[w.task].hours(w) for w in works)
            for w in works:
                key = (w.task.space, w.task.kind, w.what)
                if key not in seen:
                    seen.add(key)
                    total += self.measures[w.task].hours(w)
            bad = list(dict.fromkeys(m.task.label for m in ms if self.problems(m)))
            peak = max((m.peak_gib for m in ms if not math.isnan(m.peak_gib)), default=float("nan"))
            steps = [m.s_step for m in ms if not math.isnan(m.s_step)]
            rows.append({"experiment": exp, "tasks": len({w.task for w in works}), "peak GiB": round(peak, 2),
                         "s/step (min-max)": f"{min(steps):.3g}-{max(steps):.3g}" if steps else "-",
                         "device-hours": round(hours, 1),
                         "status": f"fails: {', '.join(bad)}" if bad else "ok"})
        df = pd.DataFrame(rows)
        return df, total

    def failed(self) -> bool:
        used = {w.task for works in self.plans.values() for w in works}
        return any(self.problems(self.measures[t]) for t in used)


def rehearse(names, profile: str = "paper", *, device=None, batch_cap: int | None = -1,
             eval_cap: int | None = None, memory_gib: float | None = None, progress: bool = True) -> Report:
    """Rehearse the experiments ``names`` at ``profile``; every task once. ``batch_cap`` -1: 4
    images per device on a CPU, none on a GPU; None: the full batch everywhere."""
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if batch_cap == -1:
        batch_cap = None if device.type == "cuda" else CPU_BATCH_CAP
    if eval_cap is None:
        eval_cap = GPU_EVAL_CAP if device.type == "cuda" else CPU_EVAL_CAP
    where = (f"cuda ({torch.cuda.get_device_name(device)})" if device.type == "cuda"
             else f"cpu ({os.cpu_count()} cores)")
    if memory_gib is None:
        memory_gib = (torch.cuda.get_device_properties(device).total_memory / GIB if device.type == "cuda"
                      else DEFAULT_MEMORY_GIB)
    report = Report(profile, where, memory_gib, batch_cap)
    report.plans = {n: plan(n, profile) for n in names}
    tasks = list(dict.fromkeys(w.task for works in report.plans.values() for w in works))
    for i, t in enumerate(tasks, 1):
        if progress:
            print(f"[{i}/{len(tasks)}] {t.label} ...", file=sys.stderr, flush=True)
        m = run_task(t, profile, device, batch_cap, eval_cap, report.notes)
        report.measures[t] = m
        if progress:
            status = report.problems(m) or "ok"
            print(f"[{i}/{len(tasks)}] {t.label}: {m.seconds:.1f} s; {status}", file=sys.stderr, flush=True)
    return report


def render(report: Report) -> str:
    exp, total = report.experiment_table()
    with pd.option_context("display.width", 250, "display.max_columns", 30, "display.max_colwidth", 90):
        lines = [f"rehearsal of profile {report.profile} on {report.device}"
                 + (f", steps at up to {report.batch_cap} images per device, scaled to the recipe's batch"
                    if report.batch_cap else ", at the recipes' per-device batches")
                 + f"; memory limit {report.memory_gib:g} GiB",
                 "", "tasks (each once: two optimisation steps, two architectures scored):",
                 report.task_table().drop(columns="problem").to_string(index=False), "",
                 "experiments (projected device-hours of the full run on this device):", exp.to_string(index=False),
                 f"all experiments, shared results counted once: {total:,.1f} device-hours"]
    problems = [(m.task.label, report.problems(m)) for m in report.measures.values() if report.problems(m)]
    if problems:
        lines += ["", "what a real run would hit:"] + [f"  {label}: {p}" for label, p in problems]
    if report.batch_cap:
        lines.append(f"s/step scaled linearly from {report.batch_cap} images per device (an upper bound where per-step "
                     "overheads dominate: small networks, DARTS-PTB's recurrent steps)")
    if not report.device.startswith("cuda") or report.batch_cap:
        lines.append("peak GiB: live tensors of training at the per-device batch (parameters, gradients, optimiser "
                     "state, activations kept for backward), a lower bound of device memory; as run GiB: growth of "
                     "this process's memory at the batch it ran")
    lines += [f"data: {n}" for n in report.notes.values()]
    if report.profile == "paper" and any("paper" in get_space(w.task.space).benchmark_gt_profiles
                                         and w.task.kind == "standalone"
                                         for ws in report.plans.values() for w in ws) and not default_path().is_file():
        lines.append(where_to_get())
    return "\n".join(lines)


# ---------------------------------------------------------------- command line

def add_parser(sub) -> argparse.ArgumentParser:
    """``nas-study rehearse [EXPERIMENT] [--profile paper] [--batch-cap N | --full-batch] ...``."""
    s = sub.add_parser("rehearse", help="rehearse a profile (default paper): two steps of every computation, "
                                        "peak memory, s/step, projected device-hours")
    s.add_argument("experiment", nargs="?", default=None, help="one experiment (default: all)")
    s.add_argument("--profile", default="paper")
    s.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: cuda when available)")
    cap = s.add_mutually_exclusive_group()
    cap.add_argument("--batch-cap", type=int, default=-1,
                     help=f"images per device in the steps, scaled up after (default: {CPU_BATCH_CAP} on a CPU, "
                          "none on a GPU)")
    cap.add_argument("--full-batch", action="store_true", help="the recipes' per-device batches, also on a CPU")
    s.add_argument("--memory-gib", type=float, default=None,
                   help=f"memory a task must fit (default: {DEFAULT_MEMORY_GIB:g} on a CPU, the device's on a GPU)")
    s.add_argument("--json", default=None, metavar="PATH", help="also write the figures as JSON")
    s.set_defaults(fn=main)
    return s


def main(args) -> int:
    """The ``rehearse`` command: bad input in one line (exit 2) before any compute; exit 1 when a
    task fails or does not fit."""
    def usage(msg):
        print(f"nas-study: error: {msg}", file=sys.stderr)
        return 2

    if args.profile not in PROFILES:
        return usage(f"unknown profile {args.profile!r}; choose one of: {', '.join(PROFILES)}")
    names = experiments()
    if args.experiment is not None and args.experiment not in names:
        return usage(f"unknown experiment {args.experiment!r}; choose one of: {', '.join(names)}")
    if args.batch_cap is not None and args.batch_cap != -1 and args.batch_cap < 1:
        return usage(f"--batch-cap must be 1 or more, got {args.batch_cap}")
    if args.memory_gib is not None and not args.memory_gib > 0:
        return usage(f"--memory-gib must be positive, got {args.memory_gib}")
    if args.device is not None:
        try:
            dev = torch.device(args.device)
        except RuntimeError:
            return usage(f"unknown device {args.device!r}; use cpu or cuda[:N]")
        if dev.type == "cuda" and not torch.cuda.is_available():
            return usage(f"device {args.device} asked for, but torch sees no GPU")
    cap = None if args.full_batch else args.batch_cap
    report = rehearse([args.experiment] if args.experiment else names, args.profile, device=args.device,
                      batch_cap=cap, memory_gib=args.memory_gib)
    print(render(report))
    if args.json:
        def records(df):  # not measured (NaN) -> null: strict JSON
            return [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}
                    for r in df.to_dict("records")]

        exp, total = report.experiment_table()
        Path(args.json).write_text(json.dumps({
            "profile": report.profile, "device": report.device, "batch_cap": report.batch_cap,
            "memory_gib": report.memory_gib, "tasks": records(report.task_table()),
            "experiments": records(exp),
            "total_device_hours": None if math.isnan(total) else total, "data": report.notes},
            indent=2, default=str, allow_nan=False) + "\n")
    return 1 if report.failed() else 0
