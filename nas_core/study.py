"""The study's building blocks as cached results: what a notebook asks for.

Each function names a result by its parameters; the results store returns the
committed table when one exists for exactly those parameters and code version,
or computes it (resumably: supernets checkpoint every epoch, ground truth
appends every finished architecture) and stores it with its provenance.

Environment:
- ``NAS_CORE_RESULTS``: results root (default ``<repo>/results``); the smoke
  profile in tests points it at a temporary folder.
- ``NAS_CORE_RUNS``: checkpoints and logs of unfinished work (default ``<repo>/runs``).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from . import data as data_mod
from .profiles import budget, check_profile
from .spaces import get_space

REPO = Path(__file__).resolve().parents[1]


def results_root() -> Path:
    return Path(os.environ.get("NAS_CORE_RESULTS", REPO / "results"))


def runs_root() -> Path:
    return Path(os.environ.get("NAS_CORE_RUNS", REPO / "runs"))


def store():
    from .store import ResultStore

    return ResultStore(results_root())


def short_hash(params: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()[:10]


def space_config(space_name: str, profile: str, overrides: Mapping[str, Any] | None = None) -> dict:
    check_profile(profile)
    return {**get_space(space_name).config(profile), **(overrides or {})}


def eval_sample(space_name: str, profile: str, n_archs: int | None = None, sample_seed: int = 0) -> list:
    """The fixed sample of architectures every supernet of a study is evaluated on."""
    n = budget(space_name, profile).n_eval_archs if n_archs is None else n_archs
    return get_space(space_name).sample_many(n, seed=sample_seed)


def supernet_scores(
    space_name: str,
    profile: str,
    epochs: int,
    *,
    seed: int = 0,
    strategy: str = "uniform",
    paths: int | None = None,
    n_archs: int | None = None,
    sample_seed: int = 0,
    cfg_overrides: Mapping[str, Any] | None = None,
    recipe_overrides: Mapping[str, Any] | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """Train (or load) one supernet and score the fixed sample on it.

    Returns columns ``arch`` (canonical string) and ``score`` (accuracy in %, or
    perplexity for language models) plus ``epochs``, ``seed``, ``strategy``.
    """
    from .evaluation import evaluate_architectures
    from .training import SUPERNET_RECIPES, train_supernet

    if epochs < 0:
        raise ValueError(f"epochs must be >= 0, got {epochs}")
    space = get_space(space_name)
    b = budget(space_name, profile)
    cfg = space_config(space_name, profile, cfg_overrides)
    recipe = dataclasses.replace(SUPERNET_RECIPES[space_name], **dict(recipe_overrides or {}), **b.recipe_overrides)
    params = dict(
        space=space_name, profile=profile, epochs=epochs, seed=seed, strategy=strategy, paths=paths,
        n_archs=n_archs if n_archs is not None else b.n_eval_archs, sample_seed=sample_seed,
        cfg=cfg, recipe=dataclasses.asdict(recipe),
    )
    name = f"{space_name}_{profile}_{strategy}_e{epochs}_s{seed}_{short_hash(params)}"

    def compute() -> pd.DataFrame:
        archs = eval_sample(space_name, profile, params["n_archs"], sample_seed)
        data = data_mod.load(cfg)
        ckpt = runs_root() / "supernets" / f"{name}.pt"
        ckpt.parent.mkdir(parents=True, exist_ok=True)
        model, _history = train_supernet(
            space, cfg, data, recipe, epochs, strategy=strategy, paths=paths, seed=seed,
            checkpoint_path=ckpt, progress=progress, max_steps_per_epoch=b.max_steps_per_epoch,
        )
        scores = evaluate_architectures(
            space, model, archs, data, bn_calib_steps=recipe.bn_calib_steps,
            bn_calib_batch_size=recipe.bn_calib_batch_size, seed=seed, progress=progress,
        )
        return pd.DataFrame({
            "arch": [str(a) for a in archs], "score": scores,
            "epochs": epochs, "seed": seed, "strategy": strategy,
        })

    return store().get_or_compute(
        "supernets", name, params, compute,
        command=f"nas-study run <experiment> --profile {profile}  # supernet {name}",
    )


def ground_truth(space_name: str, profile: str, *, seeds=None, n_archs: int | None = None,
                 sample_seed: int = 0, workers: int | None = None, progress: bool = True) -> pd.DataFrame:
    """Stand-alone results (one row per architecture and seed) for the first
    ``n_archs`` of the fixed sample (the profile's ``n_gt_archs`` by default).

    Resumable: finished architectures are appended to the table as they complete.
    """
    from .groundtruth import build_ground_truth

    b = budget(space_name, profile)
    seeds = list(b.gt_seeds if seeds is None else seeds)
    archs = eval_sample(space_name, profile, b.n_gt_archs if n_archs is None else n_archs, sample_seed)
    out = results_root() / "groundtruth" / f"{space_name}_{profile}.csv"
    return build_ground_truth(space_name, profile, archs, seeds, out_path=out, workers=workers, progress=progress)


def mean_ground_truth(gt: pd.DataFrame, column: str = "valid") -> pd.Series:
    """Mean over seeds, indexed by architecture string."""
    return gt.groupby("arch")[column].mean()


def timed(fn, *args, **kwargs):
    t0 = time.time()
    out = fn(*args, **kwargs)
    return out, time.time() - t0


def nb201_real_table(dataset: str = "cifar100", metric: str = "test_200ep") -> pd.Series:
    """Real NAS-Bench-201 ground truth (all 15,625 cells), indexed by architecture string."""
    from .groundtruth import ground_truth as real_ground_truth

    return real_ground_truth("nb201", dataset, metric)


def nb201_real_reference(n_archs: int = 1000, sample_seed: int = 0, dataset: str = "cifar100") -> pd.DataFrame:
    """Analyses that need only ground truth, on the real 200-epoch table over a fixed sample:
    Spearman(parameters at C=16 N=5, accuracy), best of the sample, random-search top-1/top-10."""
    from . import metrics

    space = get_space("nb201")
    params = dict(n_archs=n_archs, sample_seed=sample_seed, dataset=dataset, network="C=16,N=5,classes=100")

    def compute() -> pd.DataFrame:
        archs = space.sample_many(n_archs, seed=sample_seed)
        acc = nb201_real_table(dataset).loc[[str(a) for a in archs]].to_numpy(float)
        cfg = space.config("paper")
        n_params = [space.cost(a, cfg).params for a in archs]
        rows = [
            ("spearman(params, accuracy)", metrics.spearman(n_params, acc)),
            ("best of sample", float(acc.max())),
            ("random search: expected top-1", metrics.random_top_k_expectation(acc, 1)),
            ("random search: expected best of 10", metrics.random_top_k_expectation(acc, 10)),
            ("mean of sample", float(acc.mean())),
        ]
        return pd.DataFrame(rows, columns=["quantity", "value"])

    return store().get_or_compute("nb201_real", f"reference_{dataset}_n{n_archs}_s{sample_seed}", params, compute,
                                  command="nas-study run performance_vs_epochs")


def scale_note(space_name: str, profile: str) -> str:
    """A one-line description of the scale a profile runs a space at."""
    cfg = get_space(space_name).config(profile)
    b = budget(space_name, profile)
    keys = [k for k in ("C", "N", "layers", "stem_channels", "width_mult", "hidden", "nhid") if k in cfg]
    net = ", ".join(f"{k}={cfg[k]}" for k in keys)
    size = f"{cfg.get('n_train') or 'all'} train / {cfg.get('n_valid') or 'all'} valid"
    img = f" at {cfg['image_size']}x{cfg['image_size']}" if cfg.get("image_size") else ""
    return (f"{cfg['dataset']}{img}, {size}; network {net}; supernet ladder {list(b.ladder)} epochs; "
            f"ground truth {b.gt_epochs} epochs; {b.n_eval_archs} sampled architectures, {b.n_gt_archs} with ground truth")
