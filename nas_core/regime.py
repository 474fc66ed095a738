"""Supernets in the paper's training regime: the plan, its cost, and chunked runs.

At the ``cpu`` profile the first ladders stopped at 12.8x the ground-truth epochs on the
NAS-Benches (the paper's Table 4: 148x on NAS-Bench-101, 20x on NAS-Bench-201, 13.3x on
DARTS-CIFAR10, 3.3x on ProxylessNAS). ``PLAN`` lists, in the order they are worth computing,
the supernets that extend each ladder by doublings to (and past) the paper's budget ratio,
and the extra seeds that let a trend be judged seed-aware. Each is an ordinary
``study.supernet_scores`` call, so its result is the one a chapter asks for once its rung is
in the profile's ladder (``profiles.Budget.ladder``): nothing here changes a key.

A rung takes hours on two cores, more than one session, so ``run`` computes for a bounded
time and then stops its workers; each supernet resumes from its per-epoch checkpoint.
``keep_unfinished`` copies the checkpoints of the unfinished ones into the results tree
(``results/unfinished/``, committed) and ``restore_unfinished`` puts them back where the
trainer looks, so a fresh clone continues where the last session stopped.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from . import checkpoints, parallel, study
from .profiles import budget
from .store import load_checkpoint, stored_or_none

# glibc keeps freed memory instead of returning it to the system after every step: about 12k
# fewer page faults per training step on these networks; the arithmetic is unchanged
ALLOCATOR_ENV = {"MALLOC_MMAP_THRESHOLD_": "1073741824", "MALLOC_TRIM_THRESHOLD_": "4294967296",
                 "MALLOC_TOP_PAD_": "268435456"}


@dataclass(frozen=True)
class Rung:
    space: str
    epochs: int
    seed: int = 0

    def call(self, profile: str = "cpu") -> dict:
        return dict(space_name=self.space, profile=profile, epochs=self.epochs, seed=self.seed)

    def __str__(self) -> str:
        return f"{self.space} {self.epochs} epochs seed {self.seed}"


def _rungs(space, epochs, seeds=(0,)):
    return [Rung(space, e, s) for e in epochs for s in seeds]


# In order of what it is worth: NB-201 reaches the paper's 20x at 256 epochs; a rung becomes the
# chapters' top rung only with the second seed there that they compare with (top-k, mutual
# correlations), and three seeds judge a trend; NB-101's 148x needs 2048 epochs; saturation (two
# doublings that change neither the mean nor the correlation) needs two rungs past the budget.
PLAN: tuple[Rung, ...] = tuple(
    _rungs("nb201", [256]) + _rungs("nb101", [256]) + _rungs("nb101", [256], seeds=(1,))
    + _rungs("nb201", [256], seeds=(1,)) + _rungs("proxyless", [32], seeds=(1,))  # Figures 2, 15c/d's seed pair
    + _rungs("nb101", [512]) + _rungs("nb201", [512])
    + _rungs("darts_cnn", [64]) + _rungs("proxyless", [64])
    # third seeds at the top rung, then second seeds at 512 so that rung joins the ladder (a rung
    # enters it with seeds 0 and 1), before the single-seed 1024-epoch rungs
    + _rungs("nb201", [256], seeds=(2,)) + _rungs("nb101", [256], seeds=(2,))
    + _rungs("nb101", [512], seeds=(1,)) + _rungs("nb201", [512], seeds=(1,))
    + _rungs("nb101", [1024]) + _rungs("nb201", [1024])
    + _rungs("darts_cnn", [128]) + _rungs("proxyless", [128]) + _rungs("nb101", [2048])
    + _rungs("darts_cnn", [256]) + _rungs("nb101", [4096]) + _rungs("nb101", [2048], seeds=(1, 2))
    + _rungs("nb201", [1024], seeds=(1, 2)) + _rungs("darts_cnn", [256], seeds=(1, 2))
)

# Seconds per training epoch and per scored architecture with one thread, measured on 3 December
# 2026 (AMD EPYC family 26, torch CPU capability AVX512) with two processes busy; used only where
# no stored result of the space records them.
FALLBACK_RATES = {"nb101": (4.25, 2.24), "nb201": (6.35, 2.43), "darts_cnn": (18.5, 5.2),
                  "proxyless": (22.4, 3.4), "darts_rnn": (8.6, 1.2)}


def unfinished_dir(root: Path | None = None) -> Path:
    return (study.results_root() if root is None else root) / "unfinished"


def is_stored(rung: Rung, profile: str = "cpu") -> bool:
    return stored_or_none(study.supernet_scores, **rung.call(profile)) is not None


def measured_rates(space: str, profile: str = "cpu") -> tuple[float, float, str]:
    """(train seconds per epoch, scoring seconds per architecture, source): the quickest of the
    stored results of ``space`` whose training curve records its epochs' seconds (the lower
    quartile of its epochs; scoring from the rest of its wall time) and ``FALLBACK_RATES``.
    The quickest, since a run that shared the cores with other work records more than it needs."""
    train, score = FALLBACK_RATES[space]
    source = "measured 3 December 2026"
    for meta_path in sorted((study.results_root() / "supernets").glob(f"{space}_{profile}_uniform_*.json")):
        meta = json.loads(meta_path.read_text())
        hist = meta.get("extra", {}).get("train_history") or []
        if not hist or not meta.get("wall_time_s"):
            continue
        epoch_s = sorted(r["wall_s"] for r in hist)
        run_train = epoch_s[len(epoch_s) // 4]
        run_score = max(meta["wall_time_s"] - sum(epoch_s), 0.0) / meta["params"]["n_archs"]
        if run_train < train:
            train, source = run_train, f"recorded by {meta['name']}"
        score = min(score, run_score)
    return train, score, source


def checkpoint_epoch(rung: Rung, profile: str = "cpu") -> int:
    """Epochs a rung's checkpoint has finished (0 without one)."""
    path = _checkpoint_path(rung, profile)
    if not path.is_file():
        return 0
    return int(load_checkpoint(path).get("epoch", 0))


def _checkpoint_path(rung: Rung, profile: str) -> Path:
    return study.runs_root() / "supernets" / f"{study.supernet_checkpoint_name(**rung.call(profile))}.pt"


def plan_table(plan=PLAN, profile: str = "cpu") -> pd.DataFrame:
    """One row per supernet of the plan: stored or not, the epochs its checkpoint holds, and the
    core-hours still to go (training epochs left and scoring, at the measured rates)."""
    rates = {space: measured_rates(space, profile) for space in dict.fromkeys(r.space for r in plan)}
    rows = []
    for rung in plan:
        train_s, score_s, source = rates[rung.space]  # read once per space, not once per rung
        stored = is_stored(rung, profile)
        done = rung.epochs if stored else checkpoint_epoch(rung, profile)
        b = budget(rung.space, profile)
        left = 0.0 if stored else (rung.epochs - done) * train_s + b.n_eval_archs * score_s
        gt = b.gt_epochs
        rows.append({"space": rung.space, "epochs": rung.epochs, "seed": rung.seed,
                     "budget_x": rung.epochs / gt, "stored": stored, "epochs_done": done,
                     "core_h_left": left / 3600, "rates": f"{train_s:.2f} s/epoch, {score_s:.2f} s/arch ({source})"})
    return pd.DataFrame(rows)


def _job(rung_and_profile) -> tuple:
    rung, profile = rung_and_profile
    t0 = time.time()
    study.supernet_scores(**rung.call(profile), progress=False)
    # the extended ladders' supernets are kept, to re-score under other protocols without retraining
    checkpoints.keep_supernet(rung.space, profile, rung.epochs, seed=rung.seed, missing_ok=True)
    return rung, time.time() - t0


class DeadlineReached(Exception):
    """``run``'s time is up: its workers stop, their supernets resume from their checkpoints."""


def _deadline(signum, frame):
    raise DeadlineReached


def run(plan=PLAN, *, hours: float, workers: int | None = None, profile: str = "cpu", log=print) -> list[Rung]:
    """Compute the plan's missing supernets in order, in worker processes, for at most ``hours``
    of wall time; then stop the workers (their supernets resume from the last finished epoch)
    and keep the unfinished checkpoints (``keep_unfinished``). Returns the supernets finished."""
    if hours <= 0:
        raise ValueError(f"hours must be positive, got {hours}")
    restore_unfinished()
    todo = [r for r in plan if not is_stored(r, profile)]
    n = max(1, min(parallel.default_workers() if workers is None else workers, len(todo)))
    os.environ.update(ALLOCATOR_ENV)  # the spawned workers start with it
    log(f"{len(todo)} supernets to compute in {n} workers, for at most {hours:g} h")
    finished = []
    previous = signal.signal(signal.SIGALRM, _deadline)
    signal.setitimer(signal.ITIMER_REAL, hours * 3600)
    try:
        for rung, seconds in parallel.imap_workers(_job, [(r, profile) for r in todo], n):
            finished.append(rung)
            log(f"{time.strftime('%H:%M:%S')} finished {rung} in {seconds / 60:.0f} min")
    except DeadlineReached:  # leaving imap_workers terminated the workers
        log(f"{time.strftime('%H:%M:%S')} {hours:g} h are up: {len(todo) - len(finished)} supernets unfinished")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        keep_unfinished(plan, profile)
    return finished


def keep_unfinished(plan=PLAN, profile: str = "cpu") -> list[Path]:
    """Copy the checkpoints of the plan's unfinished supernets into ``results/unfinished/``
    (and drop the copies of those since finished), so that they can be committed."""
    out = unfinished_dir()
    kept = []
    for rung in plan:
        src, dst = _checkpoint_path(rung, profile), out / _checkpoint_path(rung, profile).name
        if is_stored(rung, profile):
            dst.unlink(missing_ok=True)
        elif src.is_file():
            out.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
            kept.append(dst)
    return kept


def restore_unfinished() -> list[Path]:
    """Put kept checkpoints back where training resumes from them, unless a newer one is there."""
    restored = []
    for src in sorted(unfinished_dir().glob("*.pt")):
        dst = study.runs_root() / "supernets" / src.name
        if dst.is_file() and int(load_checkpoint(dst).get("epoch", 0)) >= int(load_checkpoint(src).get("epoch", 0)):
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dst)
        restored.append(dst)
    return restored


def add_parser(sub):
    """``nas-study regime [--plan] [--hours H] [--workers N]``."""
    s = sub.add_parser("regime", help="supernets in the paper's training regime (issue #23): print the plan, "
                                      "or compute it for a bounded time, resumably")
    s.add_argument("--plan", action="store_true", help="print what is left and its core-hours, compute nothing")
    s.add_argument("--hours", type=float, default=2.0, help="wall-clock hours to compute for (default 2)")
    s.add_argument("--workers", type=int, default=None, help="worker processes (default: one per core)")
    s.set_defaults(fn=main)
    return s


def main(args) -> int:
    """Bad input in one line (exit 2) before any compute."""
    if args.hours <= 0 or (args.workers is not None and args.workers < 1):
        print("nas-study: error: --hours must be positive and --workers 1 or more", file=sys.stderr)
        return 2
    table = plan_table()
    print(table.drop(columns="rates").to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    print(f"{int((~table['stored']).sum())} of {len(table)} to go, {table['core_h_left'].sum():.1f} core-hours")
    if not args.plan:
        run(hours=args.hours, workers=args.workers)
    return 0
