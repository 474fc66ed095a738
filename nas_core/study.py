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
import time
from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from . import data as data_mod
from . import evaluation, groundtruth, metrics, settings
from .groundtruth import GT_KINDS, ground_truth_path  # noqa: F401  (where notebooks and bookgen find them)
from .nasbench101_records import benchmark_ground_truth
from .profiles import PROFILES, budget, check_profile, settings_text
from .spaces import SPACE_NAMES, FactTable, get_space
from .spaces.gold import gold_architecture
from .store import EXTRA_ATTR, ResultStore, result_name
from .training import recipe_for, train_supernet, training_part

REPO = settings.REPO


def results_root() -> Path:
    return settings.current().results_root


def runs_root() -> Path:
    return settings.current().runs_root


def store() -> ResultStore:
    return ResultStore(results_root())


def short_hash(params: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()[:10]


def space_config(space_name: str, profile: str, overrides: Mapping[str, Any] | None = None) -> dict:
    check_profile(profile)
    return {**get_space(space_name).config(profile), **(overrides or {})}


def supernet_config(space_name: str, profile: str, overrides: Mapping[str, Any] | None = None) -> dict:
    """The network configuration of this space's supernets: the space's own, plus the profile's
    supernet-only settings (``Budget.supernet_cfg``), plus ``overrides``."""
    return space_config(space_name, profile, {**budget(space_name, profile).supernet_cfg, **(overrides or {})})


def eval_sample(space_name: str, profile: str, n_archs: int | None = None, sample_seed: int = 0) -> list:
    """The fixed sample of architectures every supernet of a study is evaluated on."""
    n = budget(space_name, profile).n_eval_archs if n_archs is None else n_archs
    return get_space(space_name).sample_many(n, seed=sample_seed)


def _supernet_result(space_name, profile, epochs, seed=0, strategy="uniform", paths=None, n_archs=None,
                     sample_seed=0, cfg_overrides=None, recipe_overrides=None, with_supernet_cfg=True):
    """(result name, parameters, network config, recipe) of one ``supernet_scores`` call."""
    cfg = (supernet_config if with_supernet_cfg else space_config)(space_name, profile, cfg_overrides)
    evaluation.channels_last(get_space(space_name), cfg)  # a bad or language-model memory format fails here, untrained
    recipe = dataclasses.replace(recipe_for(space_name, profile), **dict(recipe_overrides or {}))
    params = dict(
        space=space_name, profile=profile, epochs=epochs, seed=seed, strategy=strategy, paths=paths,
        n_archs=n_archs if n_archs is not None else budget(space_name, profile).n_eval_archs,
        sample_seed=sample_seed, cfg=cfg, recipe=dataclasses.asdict(recipe),
    )
    name = result_name(space_name, profile, strategy, epochs=epochs, seed=seed, params_hash=short_hash(params))
    return name, params, cfg, recipe


def supernet_result_name(space_name: str, profile: str, epochs: int, *, seed: int = 0, strategy: str = "uniform",
                         **kw) -> str:
    """The name under ``results/supernets/`` of ``supernet_scores`` with the same arguments."""
    return _supernet_result(space_name, profile, epochs, seed, strategy, **kw)[0]


def _checkpoint_name(params: Mapping[str, Any], recipe, b) -> str:
    # the checkpoint depends on training alone: scoring more architectures, or with another
    # BN recalibration, reuses the trained supernet
    training = {k: v for k, v in params.items() if k not in ("n_archs", "sample_seed")}
    training["recipe"] = training_part(recipe)
    training["max_steps_per_epoch"] = b.max_steps_per_epoch
    p = params
    return result_name(p["space"], p["profile"], p["strategy"], epochs=p["epochs"], seed=p["seed"],
                       params_hash=f"train{short_hash(training)}")


def supernet_checkpoint_name(space_name: str, profile: str, epochs: int, *, seed: int = 0,
                             strategy: str = "uniform", **kw) -> str:
    """The name under ``runs/supernets/`` of the training checkpoint of ``supernet_scores``."""
    _, params, _, recipe = _supernet_result(space_name, profile, epochs, seed, strategy, **kw)
    return _checkpoint_name(params, recipe, budget(space_name, profile))


def train_and_score(space, cfg: Mapping[str, Any], recipe, epochs: float, archs, *, checkpoint_path: Path,
                    seed: int = 0, strategy: str = "uniform", paths: int | None = None,
                    max_steps_per_epoch: int | None = None, progress: bool = True):
    """The one path from a supernet's settings to its scores, shared by ``supernet_scores`` and
    ``pruning.supernet_on_space`` (each names and stores its own result): load the data, train the
    supernet (resuming from ``checkpoint_path``), score ``archs`` on it after BN recalibration.
    Returns ``(scores, training history, training seconds, scoring seconds)``."""
    data = data_mod.load(cfg)
    checkpoint_path.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    model, history = train_supernet(space, cfg, data, recipe, epochs, strategy=strategy, paths=paths, seed=seed,
                                    checkpoint_path=checkpoint_path, progress=progress,
                                    max_steps_per_epoch=max_steps_per_epoch)
    t1 = time.time()
    # looked up at call time: test_regime stops a run here
    scores = evaluation.evaluate_architectures(space, model, archs, data, bn_calib_steps=recipe.bn_calib_steps,
                                               bn_calib_batch_size=recipe.bn_calib_batch_size, seed=seed,
                                               progress=progress,
                                               channels_last=evaluation.channels_last(space, cfg))
    return scores, history, t1 - t0, time.time() - t1


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
    with_supernet_cfg: bool = True,
    progress: bool = True,
) -> pd.DataFrame:
    """Train (or load) one supernet and score the fixed sample on it.

    Returns columns ``arch`` (canonical string) and ``score`` (accuracy in %, or
    perplexity for language models) plus ``epochs``, ``seed``, ``strategy``.
    ``with_supernet_cfg=False`` leaves out the profile's supernet-only network
    settings (``Budget.supernet_cfg``), to show what that deviation changes.
    """
    if epochs < 0:
        raise ValueError(f"epochs must be >= 0, got {epochs}")
    if n_archs is not None and n_archs < 1:  # refused before training, not stored as an empty table
        raise ValueError(f"n_archs must be >= 1 (architectures to score), got {n_archs}")
    space = get_space(space_name)
    b = budget(space_name, profile)
    name, params, cfg, recipe = _supernet_result(space_name, profile, epochs, seed, strategy, paths, n_archs,
                                                 sample_seed, cfg_overrides, recipe_overrides, with_supernet_cfg)
    ckpt_name = _checkpoint_name(params, recipe, b)

    def compute() -> pd.DataFrame:
        archs = eval_sample(space_name, profile, params["n_archs"], sample_seed)
        scores, history, _, _ = train_and_score(
            space, cfg, recipe, epochs, archs, checkpoint_path=runs_root() / "supernets" / f"{ckpt_name}.pt",
            seed=seed, strategy=strategy, paths=paths, max_steps_per_epoch=b.max_steps_per_epoch, progress=progress,
        )
        df = pd.DataFrame({
            "arch": [str(a) for a in archs], "score": scores,
            "epochs": epochs, "seed": seed, "strategy": strategy,
        })
        # the supernet's own learning curve, for diagnosing one that stays at chance (ProxylessNAS)
        df.attrs[EXTRA_ATTR] = {"train_history": history.round(6).to_dict("records")}
        return df

    return store().get_or_compute(
        "supernets", name, params, compute,
        command=f"nas-study run <experiment> --profile {profile}  # supernet {name}",
    )


def supernet_history(space_name: str, profile: str, epochs: int, **kw) -> pd.DataFrame:
    """The training curve (one row per epoch: train loss and accuracy, lr, seconds) stored with
    the result of ``supernet_scores(space_name, profile, epochs, **kw)`` (StoreError if there is
    none yet); empty for results stored before curves were recorded."""
    name = supernet_result_name(space_name, profile, epochs, **kw)
    return pd.DataFrame(store().meta("supernets", name).get("extra", {}).get("train_history", []))


# A deliberately different stand-alone recipe per space (Figure 12), after the paper's A.3: each
# space's ``gt_variant`` (NB-101 and NB-201 have one), viewed as a table in registry order.
GT_VARIANTS = FactTable("gt_variant")


def ground_truth(space_name: str, profile: str, *, seeds=None, n_archs: int | None = None,
                 sample_seed: int = 0, workers: int | None = None, ray_address: str | None = None,
                 progress: bool = True) -> pd.DataFrame:
    """Stand-alone results (one row per architecture and seed) for the first ``n_archs``
    of the fixed sample (the profile's ``n_gt_archs`` by default), with the profile's
    seeds, plus one extra seed on its first ``gt_extra_seed_archs`` (Figure 11);
    explicit ``seeds`` give exactly those seeds.

    Resumable: finished runs are appended to ``results/groundtruth/<space>_<profile>.csv``.
    """
    b = budget(space_name, profile)
    n = b.n_gt_archs if n_archs is None else n_archs
    if profile in get_space(space_name).benchmark_gt_profiles and seeds is None:  # the benchmark's own runs
        table = benchmark_ground_truth(eval_sample(space_name, profile, n, sample_seed))
        if table is not None:
            return table
    extra = b.gt_extra_seed_archs if seeds is None else 0  # explicit seeds: exactly those
    seeds = list(b.gt_seeds if seeds is None else seeds)
    archs = eval_sample(space_name, profile, n, sample_seed)
    plan = [(archs, seeds)]
    if extra:
        plan.append((archs[:min(n, extra)], [b.gt_extra_seed]))
    out = ground_truth_path(space_name, profile)
    parts = [groundtruth.build_ground_truth(space_name, profile, a, s, out_path=out, workers=workers,
                                ray_address=ray_address, progress=progress) for a, s in plan]
    return pd.concat(parts, ignore_index=True).drop_duplicates(["arch", "seed"])


def gt_variant_overrides(space_name: str, profile: str) -> tuple[dict, dict]:
    """``(cfg_overrides, recipe_overrides)`` of the space's Figure 12 recipe variant for the builder."""
    if space_name not in GT_VARIANTS:
        raise ValueError(f"no recipe variant for space {space_name!r}; spaces: {', '.join(GT_VARIANTS)}")
    v = GT_VARIANTS[space_name]
    return v["cfg"], {**v["recipe"], "epochs": budget(space_name, profile).gt_epochs * v["epochs_factor"]}


def ground_truth_variant(space_name: str, profile: str, *, n_archs: int | None = None, sample_seed: int = 0,
                         workers: int | None = None, ray_address: str | None = None,
                         progress: bool = True) -> pd.DataFrame:
    """The first ``gt_variant_archs`` of the sample trained with ``GT_VARIANTS[space]``
    (seed 0), in ``results/groundtruth/<space>_<profile>_variant.csv``."""
    b = budget(space_name, profile)
    cfg_overrides, recipe_overrides = gt_variant_overrides(space_name, profile)
    archs = eval_sample(space_name, profile, b.gt_variant_archs if n_archs is None else n_archs, sample_seed)
    out = ground_truth_path(space_name, profile, "variant")
    return groundtruth.build_ground_truth(space_name, profile, archs, [0], out_path=out, workers=workers,
                              ray_address=ray_address, cfg_overrides=cfg_overrides, recipe_overrides=recipe_overrides,
                              command=f"nas-study gt {space_name} --profile {profile} --variant", progress=progress)


# Figure 1 on ProxylessNAS: the paper had no fair number of ground truths there, so it shows no
# correlation and draws the stand-alone accuracy of the ProxylessNAS-GPU architecture instead
# (the spaces whose ``reference_line`` is set).
REFERENCE_LINE_SPACES = tuple(n for n in SPACE_NAMES if get_space(n).reference_line)


def reference_ground_truth(space_name: str, profile: str, *, workers: int | None = None,
                           ray_address: str | None = None, progress: bool = True) -> pd.DataFrame:
    """The space's gold architecture (``spaces.gold.gold_architecture``: ProxylessNAS-GPU, DARTS's
    second-order cell) trained stand-alone with the profile's recipe and the same seeds as the
    sample's ground truth (its seeds plus the extra seed, if any), in
    ``results/groundtruth/<space>_<profile>_reference.csv``."""
    b = budget(space_name, profile)
    seeds = list(b.gt_seeds) + ([b.gt_extra_seed] if b.gt_extra_seed_archs else [])
    return groundtruth.build_ground_truth(space_name, profile, [gold_architecture(space_name)], seeds,
                              out_path=ground_truth_path(space_name, profile, "reference"), workers=workers,
                              ray_address=ray_address, command=f"nas-study gt {space_name} --profile {profile} --reference",
                              progress=progress)


def mean_ground_truth(gt: pd.DataFrame, column: str = "valid", seeds=None) -> pd.Series:
    """Mean over ``seeds`` (all seeds present by default), indexed by architecture string.
    Analyses pass the profile's ``gt_seeds`` so every architecture is ranked on equal terms."""
    if seeds is not None:
        gt = gt[gt["seed"].isin(list(seeds))]
    return gt.groupby("arch", sort=False)[column].mean()


def timed(fn, *args, **kwargs):
    t0 = time.time()
    out = fn(*args, **kwargs)
    return out, time.time() - t0


# The two functions below are about NAS-Bench-201's own published tables (the benchmark's
# numbers, as paper.py's are the paper's), hence the space's name.
def nb201_real_table(dataset: str = "cifar100", metric: str = "test_200ep") -> pd.Series:
    """Real NAS-Bench-201 ground truth (all 15,625 cells), indexed by architecture string."""
    return groundtruth.ground_truth("nb201", dataset, metric)


def nb201_real_reference(n_archs: int = 1000, sample_seed: int = 0, dataset: str = "cifar100") -> pd.DataFrame:
    """Analyses that need only ground truth, on the real 200-epoch table over a fixed sample:
    Spearman(parameters at C=16 N=5, accuracy), best of the sample, random-search top-1/top-10."""
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


def paper_scale_costs(space_name: str, n_archs: int, sample_seed: int = 0) -> pd.DataFrame:
    """Parameters and FLOPs of ``n_archs`` uniformly sampled architectures at the paper's
    network size (Table 1's companion histograms); cached, since building paper-size
    networks takes minutes on a CPU."""
    if n_archs <= 0:
        raise ValueError(f"n_archs must be positive, got {n_archs}")
    space = get_space(space_name)

    def compute() -> pd.DataFrame:
        cfg = space.config("paper")
        costs = [(str(a), space.cost(a, cfg)) for a in space.sample_many(n_archs, seed=sample_seed)]
        return pd.DataFrame({"arch": [a for a, _ in costs], "params": [c.params for _, c in costs],
                             "flops": [c.flops for _, c in costs]})

    params = dict(space=space_name, n_archs=n_archs, sample_seed=sample_seed, network="paper")
    return store().get_or_compute("search_spaces", f"{space_name}_costs_n{n_archs}_s{sample_seed}", params, compute,
                                  command="nas-study run search_spaces")


def _tokens(n) -> str:
    return "all" if n is None else f"{n:,}"


def scale_note(space_name: str, profile: str) -> str:
    """A one-line description of the scale a profile runs a space at."""
    cfg = get_space(space_name).config(profile)
    b = budget(space_name, profile)
    keys = [k for k in ("C", "N", "layers", "stem_channels", "width_mult", "hidden", "nhid") if k in cfg]
    net = ", ".join(f"{k}={cfg[k]}" for k in keys)
    if cfg["dataset"] == "ptb":  # tokens, not images
        words = "all" if cfg.get("vocab_size", 10000) >= 10000 else f"the {cfg['vocab_size']:,} commonest"
        size = (f"{_tokens(cfg.get('max_train_tokens'))} train / {_tokens(cfg.get('max_eval_tokens'))} valid "
                f"tokens, {words} words")
    else:
        size = f"{cfg.get('n_train') or 'all'} train / {cfg.get('n_valid') or 'all'} valid"
    img = f" at {cfg['image_size']}x{cfg['image_size']}" if cfg.get("image_size") else ""
    return (f"{cfg['dataset']}{img}, {size}; network {net}; supernet ladder {list(b.ladder)} epochs; "
            f"ground truth {b.gt_epochs} epochs" + (f", mean of {len(b.gt_seeds)} seeds" if len(b.gt_seeds) > 1 else "")
            + f"; {b.n_eval_archs} sampled architectures, {b.n_gt_archs} with ground truth"
            + (f"; supernets only: {settings_text(b.supernet_cfg)}" if b.supernet_cfg else ""))


# Candidate configurations of the ground truth, compared by the pilot
# (notebooks/groundtruth_pilot.ipynb): profile -> space -> name -> (config overrides, epochs),
# gathered from each space's ``pilot_candidates``.
PILOT_CANDIDATES = {p: {s: get_space(s).pilot_candidates[p] for s in SPACE_NAMES if p in get_space(s).pilot_candidates}
                    for p in PROFILES}


def ground_truth_pilot(space_name: str, profile: str, *, n_archs: int, seeds, candidates=None,
                       sample_seed: int = 1000, workers: int | None = None, progress: bool = True) -> pd.DataFrame:
    """Seed-to-seed stability of each candidate ground-truth configuration (resumable tables
    under ``results/groundtruth/pilot/``). The pilot's sample (seed 1000) is not the study's."""
    cands = candidates if candidates is not None else PILOT_CANDIDATES[profile][space_name]
    out_dir = results_root() / "groundtruth" / "pilot" / result_name(space_name, profile)
    return groundtruth.run_pilot(space_name, {k: tuple(v) for k, v in cands.items()}, n_archs, list(seeds), out_dir,
                     profile=profile, sample_seed=sample_seed, workers=workers, progress=progress)
