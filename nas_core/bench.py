"""The study's results as a dataset: tidy tables from the committed ``results/``, an export, a data card.

Tables (``tables()``; each also on its own, filterable by any column: ``supernet_table(space="nb201")``)
    - ``supernet_scores``: one row per (space, strategy, epochs, seed, architecture) and
      supernet: the score of the architecture on that supernet (``results/supernets/`` and the
      pruned-space supernets of ``results/pruning/``), with what tells supernets apart
      (profile, result name, number of scored architectures, the pruned space, the settings
      that differ from the profile's supernet configuration and recipe).
    - ``ground_truth``: one row per (space, architecture, seed, recipe): stand-alone validation
      and test result, parameters and FLOPs (``results/groundtruth/``: the sample, Figure 12's
      recipe variant, Figure 6a's pruned spaces, the reference architecture and the pilots).
    - ``search_space_costs``: parameters and FLOPs of sampled architectures at the paper's size.
    - ``nb201_real_reference``: quantities of the real NAS-Bench-201 table over a sample.
    - ``kept_supernets``: the trained supernets kept as safetensors (``results/checkpoints/``).
    - ``protocol_scores``: one row per (kept supernet, architecture, BN protocol): the score
      re-computed on the kept supernet under each protocol (``results/checkpoints_protocols/``).
    - ``protocol_tables``: per kept supernet, how much the BN protocol, the ranking metric and
      the number of architectures move the correlation with ground truth (same folder).
    - ``sources``: every file read, its sha256, how it was checked, its provenance.
Architectures are in each space's canonical string (``space.parse(s)`` gives the object back).

Checks
    Every store result (supernets, pruning, costs, reference) is read through
    ``store.ResultStore.load``, which refuses a CSV whose sha256 differs from its provenance.
    Ground-truth tables are append-only logs without a recorded checksum: each is read with
    ``groundtruth.load_csv_table`` (row by row) and its rows' ``config_hash`` must equal its
    sidecar's; their sha256 is reported in ``sources`` and the data card.

Export (``export(dir)``, ``nas-study export DIR``)
    Each table as Parquet (pyarrow), or CSV where pyarrow is missing, plus ``DATASET.md``: the
    data card (columns, how every value was made, licences, checksums, caveats), generated from
    the tables and their provenance.
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime as _dt
import hashlib
import json
import sys
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd

from . import __version__, study
from .checkpoints import PROTOCOL_EXPERIMENT, SUFFIX, checkpoints_dir, read_config
from .groundtruth import GroundTruthError, load_csv_table, seed_stability
from .metrics import spearman
from .profiles import budget
from .spaces import SPACE_NAMES, get_space
from .store import _EXACT, ResultStore, StoreError, read_provenance
from .training import SCORING_FIELDS, recipe_for

TABLES = ("supernet_scores", "ground_truth", "search_space_costs", "nb201_real_reference", "kept_supernets",
          "protocol_scores", "protocol_tables", "sources")
SUPERNET_EXPERIMENTS = ("supernets", "pruning")
GT_KINDS = {"": "default", "_variant": "variant", "_pruning": "pruning", "_reference": "reference"}
_PARAM_COLUMNS = ("space", "profile", "epochs", "seed", "strategy", "paths", "n_archs", "sample_seed", "cfg", "recipe")


def _root(root) -> Path:
    return study.results_root() if root is None else Path(root)


def select(df: pd.DataFrame, **filters) -> pd.DataFrame:
    """Rows of ``df`` matching every filter: ``column=value``, ``column=[values]`` (any of them)
    or ``column=callable`` (a predicate on the column's values)."""
    unknown = [k for k in filters if k not in df.columns]
    if unknown:
        raise ValueError(f"unknown column {unknown[0]!r} to filter on; the table has: {', '.join(df.columns)}")
    keep = pd.Series(True, index=df.index)
    for col, want in filters.items():
        if callable(want):
            keep &= df[col].map(want).astype(bool)
        elif isinstance(want, (list, tuple, set, frozenset)):
            keep &= df[col].isin(list(want))
        else:
            keep &= df[col] == want
    return df[keep].reset_index(drop=True)


# ---------------------------------------------------------------- helpers

def _machine(meta: Mapping) -> dict:
    m = meta.get("machine") or {}
    return {"cpu_model": m.get("cpu_model"), "cpu_capability": m.get("torch_cpu_capability"),
            "platform": m.get("platform")}


def _changed(value: Mapping, base: Mapping) -> str:
    """``k=v`` of the settings in ``value`` that differ from ``base`` (``k=-`` for one it lacks)."""
    parts = [f"{k}={json.dumps(value[k])}" for k in sorted(value) if base.get(k, "<absent>") != value[k]]
    parts += [f"{k}=-" for k in sorted(base) if k not in value]
    return "; ".join(parts)


def _overrides(params: Mapping) -> tuple[str, str]:
    """(cfg, recipe) settings of a supernet that differ from its profile's supernet configuration and recipe."""
    space, profile = params["space"], params["profile"]
    base_cfg = study.supernet_config(space, profile)
    base_recipe = dataclasses.asdict(recipe_for(space, profile))
    return _changed(params.get("cfg", {}), base_cfg), _changed(params.get("recipe", {}), base_recipe)


def _pruned_text(params: Mapping) -> str:
    ps = params.get("pruned_space") or {}
    if not ps:
        return ""
    if ps.get("kind") == "around":
        return (f"{params.get('space_size')} architectures around the gold one ({ps.get('n_free')} decisions free, "
                f"block seed {ps.get('block_seed')})")
    return f"subset of {params.get('space_size')} architectures (sha256 {str(ps.get('archs_sha256'))[:10]})"


_CANON: dict[tuple[str, str], str] = {}  # (space, string) -> canonical string: results share their samples


def _canonical(space_name: str, archs: pd.Series) -> pd.Series:
    space = get_space(space_name)
    for a in pd.unique(archs):
        if (space_name, a) not in _CANON:
            _CANON[space_name, a] = str(space.parse(a))
    return archs.map(lambda a: _CANON[space_name, a])


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _source_row(path: Path, root: Path, kind: str, meta: Mapping, check: str, rows: int) -> dict:
    return {"file": str(path.relative_to(root)), "kind": kind, "rows": rows, "sha256": _sha(path), "check": check,
            "command": meta.get("command"), "timestamp_utc": meta.get("timestamp_utc"),
            "git_commit": (meta.get("git") or {}).get("commit"), "nas_core_version": meta.get("nas_core_version"),
            "wall_time_s": meta.get("wall_time_s"), **_machine(meta)}


def _store_results(root: Path, experiment: str) -> list[tuple[str, dict, pd.DataFrame]]:
    """(name, provenance, verified table) of every result of ``experiment`` under ``root``."""
    store = ResultStore(root)
    out = []
    for js in sorted((root / experiment).glob("*.json")):
        meta = store.meta(experiment, js.stem)
        out.append((js.stem, meta, store.load(experiment, js.stem)))  # StoreError on a checksum mismatch
    return out


# ---------------------------------------------------------------- tables

def _supernet_rows(root: Path, sources: list) -> pd.DataFrame:
    parts = []
    for experiment in SUPERNET_EXPERIMENTS:
        for name, meta, df in _store_results(root, experiment):
            p = meta["params"]
            space = get_space(p["space"])
            cfg_over, recipe_over = _overrides(p)
            part = pd.DataFrame({
                "space": p["space"], "profile": p["profile"], "experiment": experiment, "result": name,
                "strategy": p["strategy"], "epochs": float(p["epochs"]), "seed": int(p["seed"]),
                "paths": p.get("paths"), "n_archs": int(p["n_archs"]), "sample_seed": p.get("sample_seed"),
                "pruned_space": _pruned_text(p), "space_size": p.get("space_size"),
                "cfg_overrides": cfg_over, "recipe_overrides": recipe_over,
                "arch": _canonical(p["space"], df["arch"].astype(str)), "score": df["score"].astype(float),
                "metric": space.metric, "higher_is_better": space.higher_is_better,
                "train_wall_s": meta.get("wall_time_s"), **_machine(meta),
            })
            parts.append(part)
            sources.append(_source_row(root / experiment / f"{name}.csv", root, experiment, meta,
                                       "sha256 matches provenance", len(df)))
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    for col in ("paths", "sample_seed", "space_size"):
        if col in out:
            out[col] = out[col].astype("Int64")
    return out


def _gt_files(root: Path) -> list[tuple[Path, str, str, str]]:
    """(csv, space, profile, recipe label) of every ground-truth table under ``root``."""
    found = []
    for csv in sorted((root / "groundtruth").glob("*.csv")):
        stem = csv.stem
        for space in sorted(SPACE_NAMES, key=len, reverse=True):
            if stem.startswith(space + "_"):
                rest = stem[len(space) + 1:]
                profile, _, kind = rest.partition("_")
                label = GT_KINDS.get(f"_{kind}" if kind else "")
                if label:
                    found.append((csv, space, profile, label))
                break
    for csv in sorted((root / "groundtruth" / "pilot").glob("*/*.csv")):
        space_profile = csv.parent.name
        space = next((s for s in sorted(SPACE_NAMES, key=len, reverse=True) if space_profile.startswith(s + "_")), None)
        if space:
            found.append((csv, space, space_profile[len(space) + 1:], f"pilot:{csv.stem}"))
    return found


def _gt_rows(root: Path, sources: list) -> pd.DataFrame:
    parts = []
    for csv, space_name, profile, label in _gt_files(root):
        meta = read_provenance(csv)
        try:
            df = load_csv_table(csv, space_name)
        except GroundTruthError as e:
            raise StoreError(f"{csv}: {e}") from None
        want = (meta.get("extra") or {}).get("config_hash")
        if "config_hash" in df and want and set(df["config_hash"].astype(str)) != {want}:
            other = sorted(set(df["config_hash"].astype(str)) - {want})
            raise StoreError(f"{csv}: rows with config_hash {', '.join(other)}, its provenance records {want}")
        space = get_space(space_name)
        p = meta.get("params") or {}
        base_cfg = space.config(profile)
        base_recipe = dataclasses.asdict(recipe_for(space_name, profile, standalone=True))
        base_recipe_epochs = budget(space_name, profile).gt_epochs
        recipe_over = _changed({k: v for k, v in (p.get("recipe") or {}).items()}, base_recipe)
        if p.get("epochs") not in (None, base_recipe_epochs):
            recipe_over = "; ".join(x for x in (recipe_over, f"training_epochs={p['epochs']}") if x)
        part = pd.DataFrame({
            "space": space_name, "profile": profile, "recipe": label, "config_hash": want,
            "cfg_overrides": _changed(p.get("cfg") or {}, base_cfg), "recipe_overrides": recipe_over,
            "arch": df["arch"], "seed": df["seed"].astype(int),
            "valid": df["valid"].astype(float), "test": df["test"].astype(float),
            "params": df["params"].astype("Int64") if "params" in df else pd.NA,
            "flops": df["flops"].astype("Int64") if "flops" in df else pd.NA,
            "epochs": df["epochs"] if "epochs" in df else p.get("epochs"),
            "train_loss": df["train_loss"].astype(float) if "train_loss" in df else np.nan,
            "wall_s": df["wall_s"].astype(float) if "wall_s" in df else np.nan,
            "metric": space.metric, "higher_is_better": space.higher_is_better,
        })
        parts.append(part)
        sources.append(_source_row(csv, root, "groundtruth", meta,
                                   "append-only log (no recorded sha256): rows checked, config_hash matches", len(df)))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def _plain_results(root: Path, experiment: str, sources: list) -> pd.DataFrame:
    parts = []
    for name, meta, df in _store_results(root, experiment):
        p = meta.get("params") or {}
        df = df.copy()
        if "arch" in df and p.get("space") in SPACE_NAMES:
            df["arch"] = _canonical(p["space"], df["arch"].astype(str))
        lead = {"result": name,
                **{k: p[k] for k in ("space", "n_archs", "sample_seed", "dataset", "network") if k in p}}
        parts.append(pd.concat([pd.DataFrame(lead, index=df.index), df], axis=1))
        sources.append(_source_row(root / experiment / f"{name}.csv", root, experiment, meta,
                                   "sha256 matches provenance", len(df)))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def _kept_rows(root: Path, sources: list) -> pd.DataFrame:
    rows = []
    for path in sorted(checkpoints_dir(root).glob(f"*{SUFFIX}")):
        cfg = read_config(path)  # CheckpointError on anything else
        rows.append({"file": str(path.relative_to(root)), "space": cfg["space"], "profile": cfg.get("profile"),
                     "result": cfg.get("result"), "strategy": cfg.get("strategy"), "epochs": cfg.get("epochs"),
                     "seed": cfg.get("seed"), "bytes": path.stat().st_size, "sha256": _sha(path)})
        sources.append({"file": str(path.relative_to(root)), "kind": "checkpoints", "rows": 0,
                        "sha256": rows[-1]["sha256"], "check": "safetensors header and format checked"})
    return pd.DataFrame(rows, columns=["file", "space", "profile", "result", "strategy", "epochs", "seed", "bytes",
                                       "sha256"])


_PROTOCOL_LEAD = ("space", "profile", "strategy", "epochs", "seed", "supernet_result")


def _protocol_rows(root: Path, sources: list) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(protocol_scores, protocol_tables): the stored re-scores of kept supernets, long (one row
    per architecture and protocol), and their tables, each led by the supernet it came from."""
    scores, tabs = [], []
    for name, meta, df in _store_results(root, PROTOCOL_EXPERIMENT):
        p = meta.get("params") or {}
        lead = {"result": name, **{k: p.get(k) for k in _PROTOCOL_LEAD}}
        if "scores_result" in p:  # a table, computed from a scores result and the ground truth
            lead["groundtruth"] = p.get("groundtruth")
            tabs.append(pd.concat([pd.DataFrame(lead, index=df.index), df], axis=1))
        else:
            long = df.melt(id_vars="arch", var_name="protocol", value_name="score")
            long["arch"] = _canonical(p["space"], long["arch"].astype(str))
            scores.append(pd.concat([pd.DataFrame(lead, index=long.index), long], axis=1))
        sources.append(_source_row(root / PROTOCOL_EXPERIMENT / f"{name}.csv", root, PROTOCOL_EXPERIMENT, meta,
                                   "sha256 matches provenance", len(df)))
    out = []
    for parts in (scores, tabs):
        df = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
        if len(df):
            df["epochs"], df["seed"] = df["epochs"].astype(float), df["seed"].astype(int)
        out.append(df)
    return out[0], out[1]


def _tidy(df: pd.DataFrame) -> pd.DataFrame:
    """Text columns as pandas strings (a missing value is NA, not None), as they read back from Parquet."""
    for c in df.columns:
        if df[c].dtype == object and df[c].map(lambda v: v is None or isinstance(v, str)).all():
            df[c] = df[c].astype("str")
    return df


def tables(root=None) -> dict[str, pd.DataFrame]:
    """Every table of the dataset (``TABLES``), read and checked from the results root."""
    root = _root(root)
    if not root.is_dir():
        raise StoreError(f"no results folder {root}; set NAS_CORE_RESULTS or run from a checkout with results/")
    sources: list = []
    out = {
        "supernet_scores": _supernet_rows(root, sources),
        "ground_truth": _gt_rows(root, sources),
        "search_space_costs": _plain_results(root, "search_spaces", sources),
        "nb201_real_reference": _plain_results(root, "nb201_real", sources),
        "kept_supernets": _kept_rows(root, sources),
    }
    out["protocol_scores"], out["protocol_tables"] = _protocol_rows(root, sources)
    out["sources"] = pd.DataFrame(sources)
    # a table with no source file still has its documented columns
    return {name: _tidy(df if len(df.columns) else pd.DataFrame(columns=list(COLUMN_DOCS[name])))
            for name, df in out.items()}


def supernet_table(root=None, **filters) -> pd.DataFrame:
    """Supernet scores, one row per (space, strategy, epochs, seed, architecture) and supernet; see ``select``."""
    return select(_tidy(_supernet_rows(_root(root), [])), **filters)


def groundtruth_table(root=None, **filters) -> pd.DataFrame:
    """Stand-alone results, one row per (space, architecture, seed, recipe); see ``select``."""
    return select(_tidy(_gt_rows(_root(root), [])), **filters)


# ---------------------------------------------------------------- export

COLUMN_DOCS = {
    "supernet_scores": {
        "space": "search space (nb101, nb201, darts_cnn, proxyless, darts_rnn)",
        "profile": "budget profile the supernet was trained at (cpu: this study's scale)",
        "experiment": "supernets (the sample's supernets) or pruning (supernets of a pruned space)",
        "result": "name of the stored result (results/<experiment>/<result>.csv, provenance in .json)",
        "strategy": "supernet training: uniform (single path), fairnas, multipath",
        "epochs": "supernet training epochs (fractional for the equal-budget FairNAS/multi-path runs)",
        "seed": "training seed (also seeds the BN-recalibration images)",
        "paths": "paths per step for fairnas/multipath (empty: the default)",
        "n_archs": "architectures scored on this supernet",
        "sample_seed": "seed of the fixed architecture sample (supernets only)",
        "pruned_space": "the pruned space the supernet was trained on (pruning only)",
        "space_size": "architectures in the pruned space (pruning only)",
        "cfg_overrides": "network settings that differ from the profile's supernet configuration",
        "recipe_overrides": "training settings that differ from the profile's supernet recipe (Table 2)",
        "arch": "architecture, the space's canonical string",
        "score": "the architecture's score on the supernet: validation accuracy (%) after BN recalibration, "
                 "or validation perplexity (darts_rnn)",
        "metric": "accuracy or perplexity", "higher_is_better": "direction of score",
        "train_wall_s": "seconds the result took (training and scoring, one thread)",
        "cpu_model": "CPU model recorded in provenance (empty in early results)",
        "cpu_capability": "torch CPU kernel capability (AVX2, AVX512) recorded in provenance",
        "platform": "platform string of the machine that computed it",
    },
    "ground_truth": {
        "space": "search space", "profile": "budget profile",
        "recipe": "default (the sample), variant (Figure 12's other recipe), pruning (Figure 6a), reference "
                  "(the gold architecture), pilot:<candidate> (configurations compared before the study)",
        "config_hash": "hash of the full training configuration (groundtruth.resolve_setup)",
        "cfg_overrides": "network settings that differ from the space's profile configuration",
        "recipe_overrides": "stand-alone recipe settings that differ from the space's profile recipe",
        "arch": "architecture, the space's canonical string", "seed": "training seed",
        "valid": "stand-alone validation accuracy (%) or perplexity",
        "test": "stand-alone test accuracy (%) or perplexity",
        "params": "trainable parameters of the stand-alone network", "flops": "multiply-adds of one forward pass",
        "epochs": "stand-alone training epochs", "train_loss": "training loss of the last epoch",
        "wall_s": "seconds to train and evaluate (one thread)", "metric": "accuracy or perplexity",
        "higher_is_better": "direction of valid/test",
    },
    "search_space_costs": {"result": "stored result", "space": "search space", "n_archs": "sampled architectures",
                           "sample_seed": "sample seed", "network": "network size (paper: the paper's)",
                           "arch": "architecture", "params": "parameters at the paper's size",
                           "flops": "multiply-adds at the paper's size"},
    "nb201_real_reference": {"result": "stored result", "n_archs": "sampled cells", "sample_seed": "sample seed",
                             "dataset": "NAS-Bench-201 dataset", "network": "network of the parameter count",
                             "quantity": "what is measured", "value": "its value (accuracy %, or a correlation)"},
    "kept_supernets": {"file": "safetensors file under the results root", "space": "search space",
                       "profile": "profile", "result": "the supernet result its weights reproduce",
                       "strategy": "training strategy", "epochs": "training epochs", "seed": "training seed",
                       "bytes": "file size", "sha256": "sha256 of the file"},
    "protocol_scores": {"result": "stored result (results/checkpoints_protocols/<result>.csv)",
                        "space": "search space", "profile": "profile", "strategy": "training strategy",
                        "epochs": "training epochs", "seed": "training seed",
                        "supernet_result": "the supernet result (and kept supernet) re-scored",
                        "arch": "architecture, the space's canonical string",
                        "protocol": "bn_calib: BN statistics recomputed per architecture (the paper's; the stored "
                                    "scores); running: the running statistics kept during training; batch: each "
                                    "evaluated batch's own statistics",
                        "score": "validation accuracy (%) under that protocol (nas_core.checkpoints.rescore)"},
    "protocol_tables": {"result": "stored result", "space": "search space", "profile": "profile",
                        "strategy": "training strategy", "epochs": "training epochs", "seed": "training seed",
                        "supernet_result": "the supernet result re-scored",
                        "groundtruth": "ground-truth table ranked against (mean over the profile's seeds)",
                        "protocol": "BN protocol (see protocol_scores)",
                        "archs": "which architectures: all with ground truth, or random sub-samples",
                        "n_archs": "architectures per computation", "mean_score": "mean score under the protocol",
                        "spearman": "Spearman's rho with ground truth", "kendall": "Kendall's tau-b",
                        "sparse_kendall": "Kendall's tau-b with ground truth rounded to 0.1 points",
                        "precision_at_10": "share of the ground truth's best 10 among the supernet's best 10 "
                                           "(scaled to the sub-sample's size in sub-sample rows)",
                        "spearman_sd": "sd over the sub-samples (empty for all)", "kendall_sd": "sd over the "
                        "sub-samples", "sparse_kendall_sd": "sd over the sub-samples",
                        "precision_at_10_sd": "sd over the sub-samples"},
    "sources": {"file": "file read, relative to the results root", "kind": "folder it came from",
                "rows": "rows read", "sha256": "sha256 of its bytes", "check": "how it was verified",
                "command": "command that regenerates it (from provenance)", "timestamp_utc": "when it was written",
                "git_commit": "commit of the code that computed it", "nas_core_version": "package version",
                "wall_time_s": "seconds it took", "cpu_model": "CPU model", "cpu_capability": "torch CPU capability",
                "platform": "machine platform"},
}

# Licences of the data the study derives from (looked up at the sources named).
DATA_LICENCES = {
    "fashion-mnist": ("Fashion-MNIST (Xiao, Rasul, Vollgraf 2017)", "MIT licence, copyright Zalando SE "
                      "(github.com/zalandoresearch/fashion-mnist, LICENSE)"),
    "cifar10-4k": ("CIFAR-10, its first 4000 training images (Krizhevsky 2009)", "no licence stated; the authors ask "
                   "users to cite the technical report (www.cs.toronto.edu/~kriz/cifar.html)"),
    "cifar10": ("CIFAR-10 (Krizhevsky 2009)", "no licence stated; cite the technical report"),
    "ptb": ("Penn Treebank, Mikolov's language-modelling version", "LDC User Agreement for Non-Members (the Treebank "
            "is LDC99T42); the preprocessed text is distributed for research"),
    "nasbench201": ("NAS-Bench-201 (Dong & Yang 2020) accuracy tables", "MIT licence (github.com/D-X-Y/NAS-Bench-201, "
                    "LICENSE.md)"),
}


def _write_table(df: pd.DataFrame, path_stem: Path, fmt: str) -> Path:
    if fmt == "parquet":
        path = path_stem.with_suffix(".parquet")
        df.to_parquet(path, index=False)
    else:
        path = path_stem.with_suffix(".csv")
        df.to_csv(path, index=False, lineterminator="\n")
    return path


def read_export(directory) -> dict[str, pd.DataFrame]:
    """The tables of an export (Parquet or CSV), by name."""
    directory = Path(directory)
    out = {}
    for name in TABLES:
        pq, csv = directory / f"{name}.parquet", directory / f"{name}.csv"
        if pq.is_file():
            out[name] = pd.read_parquet(pq)
        elif csv.is_file():
            out[name] = pd.read_csv(csv, **_EXACT)
    if not out:
        raise FileNotFoundError(f"{directory} holds no exported table ({', '.join(TABLES)})")
    return out


def _parquet_available() -> bool:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


def export(directory, *, root=None, fmt: str = "auto") -> dict:
    """Write every table and DATASET.md into ``directory``; returns {table: {file, rows, bytes, sha256}}.
    ``fmt``: ``parquet``, ``csv`` or ``auto`` (Parquet where pyarrow is installed)."""
    if fmt not in ("auto", "parquet", "csv"):
        raise ValueError(f"format must be auto, parquet or csv, got {fmt!r}")
    if fmt == "parquet" and not _parquet_available():
        raise ValueError("Parquet needs pyarrow (pip install pyarrow), or export with format csv")
    fmt = ("parquet" if _parquet_available() else "csv") if fmt == "auto" else fmt
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise ValueError(f"{directory} is a file; give a folder to export into")
    data = tables(root)
    directory.mkdir(parents=True, exist_ok=True)
    files = {}
    for name in TABLES:
        path = _write_table(data[name], directory / name, fmt)
        files[name] = {"file": path.name, "rows": len(data[name]), "bytes": path.stat().st_size, "sha256": _sha(path)}
    card = data_card(data, files, fmt)
    (directory / "DATASET.md").write_text(card, encoding="utf-8")
    return files


# ---------------------------------------------------------------- the data card

def _md_table(df: pd.DataFrame) -> str:
    cols = [str(c) for c in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join("" if (isinstance(v, float) and np.isnan(v)) or v is None or v is pd.NA
                                       else str(v).replace("|", "\\|") for v in row) + " |")
    return "\n".join(lines)


def _supernet_seed_stability(sn: pd.DataFrame) -> pd.DataFrame:
    """Spearman between seeds of the same supernet (same space, strategy, epochs, settings)."""
    rows = []
    base = sn[sn["experiment"] == "supernets"]
    keys = ["space", "strategy", "epochs", "cfg_overrides", "recipe_overrides", "n_archs"]
    for key, g in base.groupby(keys, sort=True):
        seeds = sorted(g["seed"].unique())
        if len(seeds) < 2:
            continue
        wide = g.pivot_table(index="arch", columns="seed", values="score", aggfunc="first").dropna()
        vals = [spearman(wide[a], wide[b]) for i, a in enumerate(seeds) for b in seeds[i + 1:]]
        rows.append({"space": key[0], "strategy": key[1], "epochs": f"{key[2]:g}", "seeds": ", ".join(map(str, seeds)),
                     "archs": len(wide), "seed_spearman": round(float(np.mean(vals)), 3)})
    return pd.DataFrame(rows)


def _gt_seed_stability(gt: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for (space, recipe), g in gt.groupby(["space", "recipe"], sort=True):
        if g["seed"].nunique() < 2 or g["arch"].nunique() < 3:
            continue
        s = seed_stability(g, "valid")
        rows.append({"space": space, "recipe": recipe, "archs": s["n_archs"], "seeds": s["n_seeds"],
                     "seed_spearman": round(s["seed_spearman"], 3), "seed_kendall": round(s["seed_kendall"], 3),
                     "per_seed_noise_sd": round(s["noise_sd"], 3), "spread_sd": round(s["spread_sd"], 3)})
    return pd.DataFrame(rows)


def _how_made(data: dict[str, pd.DataFrame]) -> list[str]:
    sn, gt = data["supernet_scores"], data["ground_truth"]
    out = []
    for space in SPACE_NAMES:
        if space not in set(sn.get("space", [])) and space not in set(gt.get("space", [])):
            continue
        profiles = sorted(set(sn.loc[sn["space"] == space, "profile"]) | set(gt.loc[gt["space"] == space, "profile"]))
        for profile in profiles:
            cfg = study.supernet_config(space, profile)
            sup = dataclasses.asdict(recipe_for(space, profile))
            std = dataclasses.asdict(recipe_for(space, profile, standalone=True))
            skip = ("source",)
            skip_std = ("source", *SCORING_FIELDS)  # stand-alone networks are scored without recalibration
            out += [f"### {get_space(space).title} ({space}), profile {profile}", "",
                    f"- Scale: {study.scale_note(space, profile)}.",
                    f"- Data: {cfg.get('dataset')} (see the licences below); splits and normalisation as "
                    "`nas_core.data.load` defines them.",
                    f"- Supernet network: {json.dumps(cfg, sort_keys=True)}.",
                    f"- Supernet recipe ({sup.get('source')}): "
                    + ", ".join(f"{k}={v}" for k, v in sup.items() if k not in skip) + "; rows whose "
                    "`recipe_overrides` is not empty changed the named settings.",
                    ("- Scores: validation perplexity of each architecture's path through the supernet (no batch "
                     "norm; `nas_core.evaluation.evaluate_architectures`)." if get_space(space).task == "language_model"
                     else f"- Scores: every architecture of the fixed sample evaluated on the supernet with batch-norm "
                     f"statistics recomputed per architecture from {sup['bn_calib_steps']} batches of "
                     f"{sup['bn_calib_batch_size']} training images (one fixed draw per supernet seed), "
                     "then validation accuracy (`nas_core.evaluation.evaluate_architectures`)."),
                    f"- Stand-alone recipe ({std.get('source')}): "
                    + ", ".join(f"{k}={v}" for k, v in std.items() if k not in skip_std)
                    + f"; {budget(space, profile).gt_epochs} epochs at this profile (`recipe_overrides` lists "
                      "other settings of the variant, pruning and pilot tables).", ""]
    src = data["sources"]
    commands = src.get("command", pd.Series(dtype=object)).dropna().astype(str)
    commands = commands.str.split("  #").str[0].str.strip()  # the comment names the result itself
    per = commands.groupby(commands).size()
    out += ["### Commands (from provenance)", "", "Each result's provenance names the command that regenerates it "
            "(the `command` column of `sources`); `<experiment>` is any chapter that reads the result:", ""]
    out += [f"- `{c}`: {n} files" for c, n in per.items()]
    missing = len(src) - len(commands)
    out += ([f"- none recorded: {missing} files (written before commands were recorded; `nas-study gt SPACE "
             "--profile P` rebuilds a ground-truth table)"] if missing else []) + [""]
    return out


def _protocols_made(data: dict[str, pd.DataFrame]) -> list[str]:
    ps, pt = data["protocol_scores"], data["protocol_tables"]
    if not len(ps) and not len(pt):
        return []
    out = ["### Re-scoring under other protocols (`protocol_scores`, `protocol_tables`)", "",
           "Each kept supernet (`kept_supernets`) loaded from its safetensors file and its architectures scored "
           "again without retraining (`nas_core.checkpoints.rescore`, one torch thread) under three batch-norm "
           "protocols: `bn_calib` is the stored score of `supernet_scores` (the first two re-scored and compared; "
           "provenance `bn_calib_check`), `running` and `batch` are computed. The tables rank them against the "
           "profile's ground truth (mean over its seeds) with `nas_core.checkpoints.protocol_table`. Per supernet:", ""]
    if len(ps):
        per = ps.groupby(["space", "supernet_result", "result"]).agg(archs=("arch", "nunique"),
                                                                     protocols=("protocol", "nunique"),
                                                                     rows=("score", "size"))
        out += [_md_table(per.reset_index()), ""]
    return out


def data_card(data: dict[str, pd.DataFrame], files: Mapping[str, Mapping], fmt: str) -> str:
    """DATASET.md for an export of ``data`` (written as ``files``)."""
    sn, gt, src = data["supernet_scores"], data["ground_truth"], data["sources"]
    total = sum(f["bytes"] for f in files.values())
    lines = [
        "# The supernet study's dataset: supernet scores, ground truth and trained supernets", "",
        "Generated by `nas-study export` (`nas_core.bench.export`) from the committed results of "
        f"nas_core {__version__}; {_dt.datetime.now(_dt.timezone.utc).isoformat(timespec='seconds')}. "
        f"{len(files)} tables, {total:,} bytes ({fmt}).", "",
        "Load it with pandas (`pd.read_parquet('supernet_scores.parquet')`), or from a checkout with the loader:", "",
        "```python", "from nas_core import bench",
        "scores = bench.supernet_table(space=\"nb201\", strategy=\"uniform\", seed=0)",
        "gt = bench.groundtruth_table(space=\"nb201\", recipe=\"default\")", "```", "",
        "## Tables", "",
        _md_table(pd.DataFrame([{"table": n, "file": f["file"], "rows": f["rows"], "bytes": f["bytes"],
                                 "sha256": f["sha256"]} for n, f in files.items()])), "",
    ]
    if len(sn):
        per = sn.groupby(["space", "experiment"]).agg(supernets=("result", "nunique"), rows=("score", "size"))
        lines += ["Supernets per space:", "", _md_table(per.reset_index()), ""]
    if len(gt):
        per = gt.groupby(["space", "recipe"]).agg(archs=("arch", "nunique"), seeds=("seed", "nunique"),
                                                  rows=("valid", "size"))
        lines += ["Ground-truth rows per space and recipe:", "", _md_table(per.reset_index()), ""]
    lines += ["## Columns", ""]
    for name in TABLES:
        docs = COLUMN_DOCS.get(name, {})
        cols = list(data[name].columns)
        columns = pd.DataFrame({"column": cols, "dtype": [str(data[name][c].dtype) for c in cols],
                                "meaning": [docs.get(c, "") for c in cols]})
        lines += [f"### {name}", "", _md_table(columns), ""]
    lines += ["## How each value was made", "",
              "Every number was computed by this project's code (`nas_core`) on CPUs, one torch thread per run, "
              "and stored with its provenance (parameters, versions, git commit, machine, wall time, command): "
              "the `sources` table lists every file with its checksum.", ""]
    lines += _how_made(data)
    lines += _protocols_made(data)
    pairs = set(zip(sn.get("space", []), sn.get("profile", []))) | set(zip(gt.get("space", []), gt.get("profile", [])))
    datasets = sorted({study.supernet_config(s, p).get("dataset") for s, p in pairs})
    if len(data["nb201_real_reference"]):
        datasets.append("nasbench201")
    lines += ["## Licences", "",
              "The study's data (these tables and the kept supernets) are released under the MIT licence, as the "
              "nas_core package (pyproject.toml). They derive from:", ""]
    for d in datasets:
        title, lic = DATA_LICENCES.get(d, (d, "see its source"))
        lines.append(f"- {title}: {lic}.")
    lines += ["", "## Checksums", "",
              f"{int((~src['kind'].isin(['groundtruth', 'checkpoints'])).sum())} store results were read through "
              "`nas_core.store.ResultStore.load`, which refuses a CSV whose sha256 differs from the one recorded in "
              f"its provenance; {int((src['kind'] == 'groundtruth').sum())} ground-truth tables are append-only logs "
              "without a recorded checksum: they were read row by row (`groundtruth.load_csv_table`) and every row's "
              "`config_hash` equals the one in their provenance. The sha256 of each source file is in `sources`; "
              "the exported files' are in the table above.", "",
              "## Caveats", "",
              f"- Scale: profiles {', '.join(sorted(set(sn.get('profile', [])) | set(gt.get('profile', []))))}: small "
              "networks on small data, supernets trained for fewer epochs than the paper's (the scale notes above). "
              "The numbers are neither the paper's nor NAS-Bench's; the paper's appear only in the book, labelled.",
              "- CPU kinds: a score reproduces exactly only on the same CPU kind and one torch thread (reductions "
              "add up in another order elsewhere). Machines recorded in provenance:", ""]
    host = src["platform"].fillna("?").astype(str).str.extract(r"(fc-v\d+|[^-]+$)", expand=False).fillna("?")
    kinds = src.assign(kind_of=src["cpu_model"].fillna("?").astype(str) + " / "
                       + src["cpu_capability"].fillna("?").astype(str) + " / " + host)
    per_kind = kinds.groupby(["kind_of", "kind"]).size().rename("files").reset_index()
    per_kind.columns = ["cpu model / torch capability / host", "folder", "files"]
    lines += [_md_table(per_kind), "",
              "  Early results recorded no CPU model or capability (shown as ?); ground-truth tables list the "
              "machine of each build chunk in their own provenance (`chunks`), the table above names the first.", "",
              "- Seed stability of the ground truth (validation, mean over seed pairs; per-seed noise and the spread "
              "of the architectures' means in the metric's units):", "",
              _md_table(_gt_seed_stability(gt)) if len(gt) else "(no ground truth)", "",
              "- Seed stability of supernet scores (Spearman between supernets that differ only in their seed):", "",
              (_md_table(_supernet_seed_stability(sn)) if len(sn) else "(no supernets)"), "",
              "- Pruning supernets record their pruned space by the sha256 of its architecture list, not by the "
              "pruning method that chose it (the book's pruning chapter does).",
              "- `nb201_real_reference` is computed from the real NAS-Bench-201 CIFAR-100 table, not from this "
              "study's training.", ""]
    return "\n".join(lines)


# ---------------------------------------------------------------- command line

def add_export_parser(subparsers) -> argparse.ArgumentParser:
    """The ``export`` subcommand of ``nas-study``."""
    s = subparsers.add_parser("export", help="write the study's results as a dataset (Parquet or CSV) with DATASET.md")
    s.add_argument("dir", help="folder to write into (created if missing)")
    s.add_argument("--format", choices=("auto", "parquet", "csv"), default="auto",
                   help="table format (auto: Parquet where pyarrow is installed, else CSV)")
    s.add_argument("--results", default=None, help="results root to read (default: $NAS_CORE_RESULTS or results/)")
    s.set_defaults(fn=run_export)
    return s


def run_export(args) -> int:
    """``nas-study export``: 0 when written, 2 on bad input or a result that fails its check."""
    try:
        files = export(args.dir, root=args.results, fmt=args.format)
    except (ValueError, StoreError) as e:
        print(f"nas-study: error: {str(e).splitlines()[0]}", file=sys.stderr)
        return 2
    total = sum(f["bytes"] for f in files.values())
    for name, f in files.items():
        print(f"{f['file']:32s} {f['rows']:>8,} rows {f['bytes']:>11,} bytes")
    print(f"{args.dir}: {len(files)} tables, {total:,} bytes, and DATASET.md")
    return 0


__all__ = ["TABLES", "select", "tables", "supernet_table", "groundtruth_table", "export", "read_export", "data_card",
           "add_export_parser", "run_export"]
