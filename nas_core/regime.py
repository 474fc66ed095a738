"""Supernets in the paper's training regime: the plan, its cost, and chunked runs.

At the ``cpu`` profile the first ladders stopped at 12.8x the ground-truth epochs on the
NAS-Benches (the paper's Table 4: 148x on NAS-Bench-101, 20x on NAS-Bench-201, 13.3x on
DARTS-CIFAR10, 3.3x on ProxylessNAS). ``PLAN`` lists, in the order they are worth computing,
the supernets that extend each ladder by doublings to (and past) the paper's budget ratio,
and the extra seeds that let a trend be judged seed-aware. Each is an ordinary
``study.supernet_scores`` call, so its result is the one a chapter asks for once its rung is
in the profile's ladder (``profiles.Budget.ladder``): nothing here changes a key.

After the ladder's rungs, ``PLAN`` holds the trained-budget pruning families
(``pruning.PrunedJob``: Figure 5's sweep at the budget where the unpruned supernet ranks,
Figures 6b/6c's spaces around a gold architecture past 4 epochs): one supernet on a pruned
space each, computed, costed, stopped and resumed as a rung is. Then ``ESTIMATOR_PLAN``: the
NAS-Bench-201 full-scale free-estimator tables (``EstimatorTableJob``, 8 core-hours each), which
resume from their append log of finished cells as a supernet resumes from its checkpoint. ``PLAN``
puts what the chapters' claims need (the paper's budget ratios, three seeds at a top rung, the
pruning families) before the tables, and the rungs past the budgets (saturation) last.

A rung takes hours on two cores, more than one session, so ``run`` computes for a bounded
time and then stops its workers; each supernet resumes from its per-epoch checkpoint.
``keep_unfinished`` copies the checkpoints of the unfinished ones into the results tree
(``results/unfinished/``, committed) and ``restore_unfinished`` puts them back where the
trainer looks, so a fresh clone continues where the last session stopped (an estimator table's
partial log likewise, in ``results/unfinished/estimators/``).
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

from . import checkpoints, estimator_tables, parallel, pruning, study
from .profiles import budget
from .spaces import SPACE_NAMES, FactTable
from .store import load_checkpoint, result_name, stored_or_none

ALLOCATOR_ENV = parallel.ALLOCATOR_ENV  # its old home, read by benchmarks/bench_allocator.py


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


# One schedule for the study, not a fact of a space: its order interleaves the spaces by worth (tests pin it).
# In order of what it is worth: NB-201 reaches the paper's 20x at 256 epochs; a rung becomes the
# chapters' top rung only with the second seed there that they compare with (top-k, mutual
# correlations), and three seeds judge a trend; NB-101's 148x needs 2048 epochs.
_SEEDED_RUNGS = tuple(
    _rungs("nb201", [256]) + _rungs("nb101", [256]) + _rungs("nb101", [256], seeds=(1,))
    + _rungs("nb201", [256], seeds=(1,)) + _rungs("proxyless", [32], seeds=(1,))  # Figures 2, 15c/d's seed pair
    + _rungs("nb101", [512]) + _rungs("nb201", [512])
    + _rungs("darts_cnn", [64]) + _rungs("proxyless", [64])
    # third seeds at the top rung, then second seeds at 512 so that rung joins the ladder (a rung
    # enters it with seeds 0 and 1), before the single-seed 1024-epoch rungs
    + _rungs("nb201", [256], seeds=(2,)) + _rungs("nb101", [256], seeds=(2,))
    + _rungs("nb101", [512], seeds=(1,)) + _rungs("nb201", [512], seeds=(1,))
    # third seeds where Figure 1's verdict reads its claims: the top rung (512) and NB-201's peak (128)
    + _rungs("nb201", [512], seeds=(2,)) + _rungs("nb101", [512], seeds=(2,)) + _rungs("nb201", [128], seeds=(2,))
)
# The paper's budget ratios (Table 4) where a ladder is still below them: DARTS-CIFAR10's 13.3x needs
# 256 epochs, NB-101's 148x 2048 (1024 the rung between), ProxylessNAS is followed until its mean stops
# rising; each new top rung with three seeds (two for ProxylessNAS, whose chapters compare a seed pair).
_BUDGET_RUNGS = tuple(
    _rungs("nb101", [1024]) + _rungs("darts_cnn", [128]) + _rungs("proxyless", [128], seeds=(0, 1))
    + _rungs("darts_cnn", [256], seeds=(0, 1, 2)) + _rungs("nb101", [2048], seeds=(0, 1, 2))
)
# Past the budgets, for the saturation test (two doublings that change neither the mean nor the
# correlation, analysis.saturation_table), with the second seeds it reads at every rung.
_SATURATION_RUNGS = tuple(
    _rungs("nb201", [1024], seeds=(0, 1, 2)) + _rungs("nb101", [1024], seeds=(1,))
    + _rungs("nb201", [2048], seeds=(0, 1)) + _rungs("nb101", [4096], seeds=(0, 1))
)
LADDER_PLAN: tuple[Rung, ...] = _SEEDED_RUNGS + _BUDGET_RUNGS + _SATURATION_RUNGS
# Then the trained-budget pruning families (issue #23, Findings 4-5) every space's cpu budget declares
# (``Budget.pruning_trained_epochs``, ``around_trained_epochs``): the sweeps in registry order (NB-101's
# first, its budget a quarter of NB-201's), then the spaces around the gold architectures.
PRUNING_PLAN: tuple[pruning.PrunedJob, ...] = tuple(
    [j for s in SPACE_NAMES for j in pruning.trained_jobs(s, "cpu")]
    + [j for s in SPACE_NAMES for j in pruning.trained_jobs(s, "cpu", "around")])


@dataclass(frozen=True)
class EstimatorTableJob:
    """``estimator_tables.nb201_full_scale(num_classes)``, computed as a plan item: in one regime
    worker, cell after cell (its own worker processes would nest in the regime's), resumable from
    its append log. ``n_cells``: the table of the first cells only (tests)."""
    num_classes: int
    n_cells: int | None = None
    space = "nb201"  # not a field: the plan table's space column

    def __post_init__(self):
        estimator_tables.nb201_full_config(self.num_classes)  # refuses a class count it has no network for

    def call(self) -> dict:
        return dict(num_classes=self.num_classes, n_cells=self.n_cells)

    def label(self) -> str:
        return f"NB-201 full scale, {self.num_classes} classes" + (
            "" if self.n_cells is None else f", first {self.n_cells} cells")

    def __str__(self) -> str:
        return f"estimators: {self.label()}"


# After the supernets the claims need, before the saturation rungs: the full-scale tables say how far
# a free estimator is from the published values; 10 classes first (CIFAR-10, the paper's)
ESTIMATOR_PLAN: tuple[EstimatorTableJob, ...] = (EstimatorTableJob(10), EstimatorTableJob(100))
# What the regime computes, in order (the rungs alone: LADDER_PLAN): first what the claims
# need, then what only goes further. NB-101's Figure 5 sweep (three seeds, 2.3 core-hours) goes before
# the single-seed rungs from 1024 epochs: it gives Findings 4-5 their first test on supernets that rank.
# The other trained pruning families (Findings 4-5 on every space) before the three-seed budget rungs,
# which cost the most per claim; the full-scale estimator tables next; the saturation rungs last.
_NB101_SWEEP = tuple(j for j in PRUNING_PLAN if j.space == "nb101" and j.family == "sweep")
_FIRST_BUDGET_RUNGS = _BUDGET_RUNGS[:4]  # NB-101 1024, DARTS-CIFAR10 128, ProxylessNAS 128 (two seeds)
PLAN = (_SEEDED_RUNGS + _NB101_SWEEP + _FIRST_BUDGET_RUNGS + tuple(j for j in PRUNING_PLAN if j not in _NB101_SWEEP)
        + _BUDGET_RUNGS[4:] + ESTIMATOR_PLAN + _SATURATION_RUNGS)

# Seconds per training epoch and per scored architecture with one thread, measured on 3 December
# 2026; used only where no stored result of the space records them. Each space's own
# (``fallback_rates``); this is a view, in registry order.
FALLBACK_RATES = FactTable("fallback_rates")


def unfinished_dir(root: Path | None = None) -> Path:
    return (study.results_root() if root is None else root) / "unfinished"


def pruned_rates(space: str, kind: str, profile: str = "cpu") -> tuple[float, float, str] | None:
    """(seconds per training epoch, per scored architecture, source) of the stored supernets on
    pruned spaces of ``space`` of this ``kind`` ("subset" or "around"): the lower quartile of each
    (runs that shared the cores record more than they need); None without one."""
    epoch_s, arch_s = [], []
    for meta_path in sorted((study.results_root() / "pruning").glob(f"{result_name(space, profile, 'size')}*.json")):
        meta = json.loads(meta_path.read_text())
        p = meta.get("params", {})
        if p.get("pruned_space", {}).get("kind") != kind or not p.get("epochs"):
            continue
        row = pd.read_csv(meta_path.with_suffix(".csv"), nrows=1, usecols=["train_s", "score_s"]).iloc[0]
        epoch_s.append(row["train_s"] / p["epochs"])
        arch_s.append(row["score_s"] / p["n_archs"])
    if not epoch_s:
        return None
    q = lambda v: float(pd.Series(v).quantile(0.25))  # noqa: E731
    return q(epoch_s), q(arch_s), f"{len(epoch_s)} stored {kind} supernets"


def measured_rates(space: str, profile: str = "cpu") -> tuple[float, float, str]:
    """(train seconds per epoch, scoring seconds per architecture, source): training, the quickest
    of the stored results of ``space`` whose training curve records its epochs' seconds (the lower
    quartile of its epochs) and ``FALLBACK_RATES``; scoring, as the stored supernets on pruned
    spaces record it (``pruned_rates``; the same network scores as fast), else ``FALLBACK_RATES``.
    The quickest, since a run that shared the cores with other work records more than it needs."""
    train, score = FALLBACK_RATES[space]
    source = "measured 3 December 2026"
    for meta_path in sorted((study.results_root() / "supernets").glob(f"{result_name(space, profile, 'uniform')}_*.json")):
        meta = json.loads(meta_path.read_text())
        hist = meta.get("extra", {}).get("train_history") or []
        if not hist or not meta.get("wall_time_s"):
            continue
        epoch_s = sorted(r["wall_s"] for r in hist)
        run_train = epoch_s[len(epoch_s) // 4]
        if run_train < train:
            train, source = run_train, f"recorded by {meta['name']}"
    # not from a ladder result's wall time: a resumed run's covers its last session only
    recorded = [r for kind in ("subset", "around") if (r := pruned_rates(space, kind, profile)) is not None]
    if recorded:
        score = min(r[1] for r in recorded)
    return train, score, source


class _JobKind:
    """What the regime does with one kind of plan item, said here and nowhere else: every function
    below asks ``_kind(item)`` instead of testing the item's type. ``call``: the item's resolved
    inputs (``calls``), a pruned job's ``pruning.job_calls`` entry and None for the other kinds;
    resolved once per plan, since a pruned job's read the ground truth and its guide."""
    runs_folder: str  # under runs/: where the trainer keeps the checkpoints
    kept_subdir: str  # under results/unfinished/: where an unfinished one is kept ("": there itself)
    kept_glob: str  # the kept files of this kind in that folder

    def calls(self, items, profile: str) -> list[dict | None]:
        return [None] * len(items)

    def waits(self, call: dict | None) -> bool:
        """Whether the item cannot start yet (what it is computed from is not stored)."""
        return False

    def is_stored(self, item, profile: str, call: dict | None) -> bool:
        raise NotImplementedError

    def checkpoint_path(self, item, profile: str, call: dict | None) -> Path | None:
        raise NotImplementedError

    def epochs_done(self, item, profile: str, call: dict | None) -> int:
        path = self.checkpoint_path(item, profile, call)
        return 0 if path is None or not path.is_file() else _checkpoint_epochs(path)

    def row(self, item, profile: str, call: dict | None, rates: dict) -> dict:
        """Its plan-table row; ``rates``: the table's rates read so far, by (space, rates kind)."""
        raise NotImplementedError

    def compute(self, item, profile: str) -> None:
        """Compute and store it, in a regime worker."""
        raise NotImplementedError

    def kept_dir(self) -> Path:
        return unfinished_dir() / self.kept_subdir

    def is_as_far(self, there: Path, kept: Path) -> bool:
        """Whether the checkpoint where training resumes is as far along as the kept copy."""
        return there.is_file() and _checkpoint_epochs(there) >= _checkpoint_epochs(kept)


def _checkpoint_epochs(path: Path) -> int:
    return int(load_checkpoint(path).get("epoch", 0))


class _SupernetKind(_JobKind):
    """A supernet trained for ``item.epochs`` epochs, then scored: a rung or a pruned job."""
    kept_glob = "*.pt"

    def rates_kind(self, item) -> str:
        raise NotImplementedError

    def rates(self, item, profile: str) -> tuple[float, float, str]:
        return measured_rates(item.space, profile)

    def n_archs(self, item, profile: str) -> int:
        raise NotImplementedError

    def item_label(self, item) -> str:
        raise NotImplementedError

    def row(self, item, profile: str, call: dict | None, rates: dict) -> dict:
        key = item.space, self.rates_kind(item)
        if key not in rates:  # read once per space, not once per item
            rates[key] = self.rates(item, profile)
        train_s, score_s, source = rates[key]
        stored = self.is_stored(item, profile, call)
        done = item.epochs if stored else self.epochs_done(item, profile, call)
        left = 0.0 if stored else (item.epochs - done) * train_s + self.n_archs(item, profile) * score_s
        return {"space": item.space, "item": self.item_label(item), "epochs": item.epochs, "seed": item.seed,
                "budget_x": item.epochs / budget(item.space, profile).gt_epochs, "stored": stored,
                "epochs_done": done, "core_h_left": left / 3600,
                "rates": f"{train_s:.2f} s/epoch, {score_s:.2f} s/arch ({source})"}


class _RungKind(_SupernetKind):
    runs_folder = "supernets"
    kept_subdir = ""

    def is_stored(self, item: Rung, profile, call) -> bool:
        return stored_or_none(study.supernet_scores, **item.call(profile)) is not None

    def checkpoint_path(self, item: Rung, profile, call) -> Path:
        return study.runs_root() / self.runs_folder / f"{study.supernet_checkpoint_name(**item.call(profile))}.pt"

    def rates_kind(self, item: Rung) -> str:
        return "ladder"

    def n_archs(self, item: Rung, profile) -> int:
        return budget(item.space, profile).n_eval_archs

    def item_label(self, item: Rung) -> str:
        return "ladder"

    def compute(self, item: Rung, profile) -> None:
        study.supernet_scores(**item.call(profile), progress=False)
        # the extended ladders' supernets are kept, to re-score under other protocols without retraining
        checkpoints.keep_supernet(item.space, profile, item.epochs, seed=item.seed, missing_ok=True)


class _PrunedKind(_SupernetKind):
    runs_folder = "pruning"
    kept_subdir = "pruning"

    def calls(self, items, profile) -> list[dict | None]:
        return pruning.job_calls(items, profile)

    def waits(self, call) -> bool:
        return call is None  # its ground truth or the supernet it prunes by is not stored yet

    def is_stored(self, item: pruning.PrunedJob, profile, call) -> bool:
        return call is not None and stored_or_none(pruning.supernet_on_space, **call) is not None

    def checkpoint_path(self, item: pruning.PrunedJob, profile, call) -> Path | None:
        # None while its pruned space is not known
        return None if call is None else study.runs_root() / self.runs_folder / f"{pruning.on_space_name(**call)}.pt"

    def rates_kind(self, item: pruning.PrunedJob) -> str:
        return "subset" if item.family == "sweep" else "around"

    def rates(self, item: pruning.PrunedJob, profile) -> tuple[float, float, str]:
        return pruned_rates(item.space, self.rates_kind(item), profile) or measured_rates(item.space, profile)

    def n_archs(self, item: pruning.PrunedJob, profile) -> int:
        return item.n_archs(profile)

    def item_label(self, item: pruning.PrunedJob) -> str:
        return f"pruning {item.family}: {item.label()}"

    def compute(self, item: pruning.PrunedJob, profile) -> None:
        call = self.calls([item], profile)[0]
        if call is None:  # never trains the ground truth or the guide itself: their cost is not in the plan
            raise RuntimeError(f"{item}: the ground truth or the supernet it prunes by is not stored")
        pruning.supernet_on_space(**call, progress=False)


class _EstimatorTableKind(_JobKind):
    """Its "checkpoint" is its append log of finished cells; it has no epochs."""
    runs_folder = estimator_tables.EXPERIMENT
    kept_subdir = "estimators"
    kept_glob = "*.csv"

    def is_stored(self, item: EstimatorTableJob, profile, call) -> bool:
        return stored_or_none(estimator_tables.nb201_full_scale, **item.call(), progress=False) is not None

    def checkpoint_path(self, item: EstimatorTableJob, profile, call) -> Path:
        return estimator_tables.full_scale_log(item.num_classes, item.n_cells)

    def epochs_done(self, item, profile, call) -> int:
        return 0

    def row(self, item: EstimatorTableJob, profile, call, rates) -> dict:
        """Core-hours left: the cells not yet in its log at the measured rate. No epochs, seed or
        budget (the table shows <NA>)."""
        stored = self.is_stored(item, profile, call)
        left = 0 if stored else estimator_tables.full_scale_cells_left(item.num_classes, item.n_cells)[0]
        rate = estimator_tables.FULL_SCALE_CPU_S_PER_CELL[item.num_classes]
        return {"space": item.space, "item": str(item), "epochs": None, "seed": None, "budget_x": float("nan"),
                "stored": stored, "epochs_done": None, "core_h_left": left * rate / 3600,
                "rates": f"{rate} CPU-s/cell (benchmarks/bench_estimators.py), {left:,} cells left" if not stored
                else f"{rate} CPU-s/cell (benchmarks/bench_estimators.py)"}

    def compute(self, item: EstimatorTableJob, profile) -> None:
        # workers=1: computed here, in this regime worker (one torch thread, run's WORKER_ENV);
        # every finished cell is in the log at once, so a stopped worker loses one cell at most
        estimator_tables.nb201_full_scale(**item.call(), workers=1, progress=False)

    def is_as_far(self, there: Path, kept: Path) -> bool:
        return estimator_tables.log_rows(there) >= estimator_tables.log_rows(kept)


# By the item's exact type. In this order ``restore_unfinished`` restores: supernets, pruned, estimator logs.
_KINDS: dict[type, _JobKind] = {Rung: _RungKind(), pruning.PrunedJob: _PrunedKind(),
                                EstimatorTableJob: _EstimatorTableKind()}


def _kind(item) -> _JobKind:
    try:
        return _KINDS[type(item)]
    except KeyError:
        raise TypeError(f"not a plan item: {item!r}") from None


def _planned(plan, profile: str) -> list[tuple[object, _JobKind, dict | None]]:
    """``(item, its kind, its call)`` for each plan item, the calls of a kind resolved together."""
    kinds = [_kind(item) for item in plan]
    calls: list[dict | None] = [None] * len(plan)
    for kind in dict.fromkeys(kinds):
        at = [i for i, k in enumerate(kinds) if k is kind]
        for i, call in zip(at, kind.calls([plan[i] for i in at], profile), strict=True):
            calls[i] = call
    return list(zip(plan, kinds, calls))


def _call(item, profile: str, call: dict | None) -> dict | None:
    """A public function's ``call``, resolved when not given."""
    return _kind(item).calls([item], profile)[0] if call is None else call


def is_stored(rung, profile: str = "cpu", call: dict | None = None) -> bool:
    """Whether a plan item (a ``Rung``, a ``pruning.PrunedJob``, an ``EstimatorTableJob``;
    ``call``: a pruned job's ``job_calls`` entry when known) is stored."""
    return _kind(rung).is_stored(rung, profile, _call(rung, profile, call))


def checkpoint_epoch(rung, profile: str = "cpu", call: dict | None = None) -> int:
    """Epochs a plan item's checkpoint has finished (0 without one; an estimator table has none)."""
    return _kind(rung).epochs_done(rung, profile, _call(rung, profile, call))


def plan_table(plan=PLAN, profile: str = "cpu") -> pd.DataFrame:
    """One row per supernet of the plan: stored or not, the epochs its checkpoint holds, and the
    core-hours still to go (training epochs left and scoring, at the measured rates)."""
    rates: dict = {}
    rows = [kind.row(item, profile, call, rates) for item, kind, call in _planned(plan, profile)]
    # an estimator table has no epochs, seed or budget: <NA>, the other rows' integers kept
    columns = ["space", "item", "epochs", "seed", "budget_x", "stored", "epochs_done", "core_h_left", "rates"]
    return pd.DataFrame(rows, columns=columns).astype({"epochs": "Int64", "seed": "Int64", "epochs_done": "Int64"})


def _job(rung_and_profile) -> tuple:
    """A regime worker's task: ``(item, profile)`` -> ``(item, seconds)``."""
    rung, profile = rung_and_profile
    t0 = time.time()
    _kind(rung).compute(rung, profile)
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
    planned = _planned(plan, profile)
    # an item that waits (a pruned job whose guide is not stored yet) waits for the next run
    todo = [item for item, kind, call in planned if not kind.is_stored(item, profile, call) and not kind.waits(call)]
    n = max(1, min(parallel.default_workers() if workers is None else workers, len(todo)))
    # the spawned workers start with it: ALLOCATOR_ENV, and numpy's OpenBLAS on one thread for the
    # estimator tables (estimator_tables.WORKER_ENV); torch computes with its own BLAS, values unchanged
    os.environ.update(estimator_tables.WORKER_ENV)
    waiting = sum(kind.waits(call) for _, kind, call in planned)
    log(f"{len(todo)} items to compute in {n} workers, for at most {hours:g} h"
        + (f" ({waiting} pruned ones wait for the ground truth or supernet they prune by)" if waiting else ""))
    finished = []
    previous = signal.signal(signal.SIGALRM, _deadline)
    signal.setitimer(signal.ITIMER_REAL, hours * 3600)
    try:
        for rung, seconds in parallel.imap_workers(_job, [(r, profile) for r in todo], n):
            finished.append(rung)
            log(f"{time.strftime('%H:%M:%S')} finished {rung} in {seconds / 60:.0f} min")
    except DeadlineReached:  # leaving imap_workers terminated the workers
        log(f"{time.strftime('%H:%M:%S')} {hours:g} h are up: {len(todo) - len(finished)} items unfinished")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        keep_unfinished(plan, profile)
    return finished


def keep_unfinished(plan=PLAN, profile: str = "cpu") -> list[Path]:
    """Copy the checkpoints of the plan's unfinished supernets into ``results/unfinished/``
    (a pruned job's into ``unfinished/pruning/``, an estimator table's log into
    ``unfinished/estimators/``), and drop the copies of those since finished, so that they can be
    committed."""
    kept = []
    for item, kind, call in _planned(plan, profile):
        src = kind.checkpoint_path(item, profile, call)
        if src is None:
            continue
        dst = kind.kept_dir() / src.name
        if kind.is_stored(item, profile, call):
            dst.unlink(missing_ok=True)
        elif src.is_file():
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
            kept.append(dst)
    return kept


def restore_unfinished() -> list[Path]:
    """Put kept checkpoints back where training resumes from them, unless a newer one is there
    (``unfinished/*.pt`` to ``runs/supernets/``, ``unfinished/pruning/*.pt`` to ``runs/pruning/``),
    and kept estimator logs unless the one there is as long (``unfinished/estimators/*.csv`` to
    ``runs/estimators/``)."""
    restored = []
    for kind in _KINDS.values():
        for src in sorted(kind.kept_dir().glob(kind.kept_glob)):
            dst = study.runs_root() / kind.runs_folder / src.name
            if kind.is_as_far(dst, src):
                continue
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
            restored.append(dst)
    return restored


def add_parser(sub):
    """``nas-study regime [--plan] [--hours H] [--workers N]``."""
    s = sub.add_parser("regime", help="supernets in the paper's training regime (issue #23), then the full-scale "
                                      "free-estimator tables: print the plan, or compute it for a bounded time, "
                                      "resumably")
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
