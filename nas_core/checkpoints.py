"""Trained supernets kept: safetensors weights with their configuration, re-scored without retraining.

Format
    One ``.safetensors`` file per trained supernet (no pickle: the file holds tensors and a
    JSON header only). Its tensors are the supernet's ``state_dict`` (weights and batch-norm
    buffers, float32/int64). Its metadata holds ``format`` (``FORMAT``) and ``config``: the
    canonical JSON of everything the weights need to be rebuilt and scored, independent of any
    architecture: ``space``, ``profile``, ``cfg`` (the network and data configuration),
    ``recipe`` (the full training recipe, BN-recalibration settings included), ``epochs``,
    ``seed``, ``strategy``, ``paths``, ``result`` (the name of the stored result whose scores
    it reproduces under ``results/supernets/``) and that result's ``n_archs``/``sample_seed``,
    ``key`` and ``csv_sha256``.

Where
    ``<results>/checkpoints/<result name>.safetensors``: beside the results it reproduces,
    under the same name, so a kept supernet is found from its result and vice versa.

Loading (``load_supernet``)
    Refuses, with one line naming the file and what is wrong, anything that is not such a
    file: no file, not safetensors (bad header), no or other ``format``, a ``config`` that is
    not JSON, tensors whose names, shapes or dtypes differ from the space's supernet built
    from that ``config``. Shapes are checked from the header, before any tensor is read.

Re-scoring (``rescore``) under three batch-norm protocols
    - ``bn_calib``: the paper's (``evaluation.evaluate_architectures``): BN statistics reset
      and recomputed for every architecture from one fixed draw of training images; with the
      supernet's own seed this reproduces its stored scores exactly (same CPU kind, one thread).
    - ``running``: the running statistics kept during training, accumulated over all paths.
    - ``batch``: each evaluated batch normalised by its own statistics (BN in training mode,
      nothing kept).
    Language-model supernets (DARTS-PTB) have no batch norm: only ``bn_calib`` applies there
    (perplexity, as in the stored results).

``protocol_table`` measures how much each choice moves the result against ground truth:
BN protocol x ranking metric (Spearman, Kendall tau-b, sparse Kendall, precision@k) x
the architectures the metric is computed on (all with ground truth, or random sub-samples).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
import torch
import torch.nn as nn
from tqdm.auto import tqdm

from . import __version__, metrics, study
from . import data as data_mod
from .evaluation import _BN, channels_last, evaluate_architectures, restore_bn_state, save_bn_state
from .profiles import budget
from .spaces import SPACE_NAMES, get_space
from .store import (EXTRA_ATTR, REPO, ResultStore, StoreError, atomic_write_bytes, canonical_json, load_checkpoint,
                    one_torch_thread)
from .training import Recipe, make_optimizer

FORMAT = "nas_core.supernet/1"
SUFFIX = ".safetensors"
PROTOCOLS = ("bn_calib", "running", "batch")
PROTOCOL_TEXT = {
    "bn_calib": "BN recalibrated per architecture (the paper's)",
    "running": "BN running statistics kept during training",
    "batch": "BN statistics of each evaluated batch",
}
# safetensors' dtype names
_DTYPES = {torch.float32: "F32", torch.float64: "F64", torch.float16: "F16", torch.bfloat16: "BF16",
           torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8",
           torch.bool: "BOOL"}
_MAX_HEADER = 100 * 2**20  # a header beyond this is not one of ours


class CheckpointError(ValueError):
    """A file that is not a kept supernet of the expected shapes; the message is one line."""


@dataclass
class KeptSupernet:
    """A loaded supernet: the network (eval mode) and the configuration it was trained with."""

    path: Path
    model: nn.Module
    config: dict

    @property
    def space(self):
        return get_space(self.config["space"])


def checkpoints_dir(root: Path | None = None) -> Path:
    return (study.results_root() if root is None else Path(root)) / "checkpoints"


def kept_path(result_name: str, root: Path | None = None) -> Path:
    """Where the kept supernet of the stored result ``result_name`` lives."""
    return checkpoints_dir(root) / f"{result_name}{SUFFIX}"


# ---------------------------------------------------------------- save

def save_supernet(path, model: nn.Module, config: Mapping[str, Any]) -> Path:
    """Write ``model``'s state dict and ``config`` (needs ``space`` and ``cfg``) as safetensors, atomically."""
    from safetensors.torch import save

    missing = [k for k in ("space", "cfg") if k not in config]
    if missing:
        raise ValueError(f"config lacks {', '.join(missing)}: a kept supernet must say which network it is")
    # contiguous private copies: safetensors refuses shared or strided storage (tied weights)
    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in model.state_dict().items()}
    meta = {"format": FORMAT, "config": canonical_json(dict(config)), "nas_core_version": __version__}
    path = Path(path)
    atomic_write_bytes(path, save(tensors, metadata=meta))
    return path


# ---------------------------------------------------------------- load

def _fail(path, what: str):
    raise CheckpointError(f"{path}: {what}; a kept supernet is written by nas_core.checkpoints.save_supernet")


def read_header(path) -> dict:
    """The safetensors JSON header of ``path`` (tensor names -> dtype/shape, ``__metadata__``), checked."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such file; kept supernets are under results/checkpoints/")
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            _fail(path, f"not a safetensors file ({size} bytes, no header)")
        n = int.from_bytes(head, "little")
        if n <= 1 or n > min(_MAX_HEADER, size - 8):
            _fail(path, "not a safetensors file (its first 8 bytes give no valid header length)")
        raw = f.read(n)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        _fail(path, "not a safetensors file (its header is not JSON)")
    if not isinstance(header, dict):
        _fail(path, "not a safetensors file (its header is not a JSON object)")
    # a copy cut short (an interrupted download, a partial commit): say so before any tensor is read
    ends = [v["data_offsets"][1] for k, v in header.items()
            if k != "__metadata__" and isinstance(v, dict) and len(v.get("data_offsets") or []) == 2]
    if ends and max(ends) > size - 8 - n:
        _fail(path, f"truncated (its header describes {max(ends):,} bytes of tensors, the file holds "
                    f"{size - 8 - n:,})")
    return header


def read_config(path) -> dict:
    """The configuration stored with a kept supernet (no tensor is read)."""
    meta = read_header(path).get("__metadata__") or {}
    if meta.get("format") != FORMAT:
        _fail(path, f"a safetensors file but not a kept supernet (format {meta.get('format')!r}, expected {FORMAT!r})")
    try:
        config = json.loads(meta["config"])
    except (KeyError, TypeError, ValueError):
        _fail(path, "its metadata has no readable 'config'")
    if not isinstance(config, dict) or "space" not in config or "cfg" not in config:
        _fail(path, "its 'config' does not name a space and network configuration")
    return config


def _check_shapes(path, header: Mapping, expected: Mapping[str, torch.Tensor], space_name: str) -> None:
    stored = {k: v for k, v in header.items() if k != "__metadata__"}
    missing, extra = sorted(set(expected) - set(stored)), sorted(set(stored) - set(expected))
    if missing or extra:
        parts = ([f"{len(missing)} tensors missing (first {missing[0]})"] if missing else []) + \
                ([f"{len(extra)} unexpected (first {extra[0]})"] if extra else [])
        _fail(path, f"its tensors do not match a {space_name} supernet of its config: {', '.join(parts)}")
    for k, t in expected.items():
        got = stored[k]
        want_dtype = _DTYPES.get(t.dtype, str(t.dtype))
        if list(got.get("shape", [])) != list(t.shape) or got.get("dtype") != want_dtype:
            _fail(path, f"tensor {k} is {got.get('dtype')} {list(got.get('shape', []))}, a {space_name} supernet "
                        f"of its config has {want_dtype} {list(t.shape)}")


def load_supernet(path, device="cpu") -> KeptSupernet:
    """The kept supernet at ``path``, rebuilt from its config and loaded (see the module docstring)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(path)
    header = read_header(path)
    config = read_config(path)
    try:
        space = get_space(config["space"])
    except ValueError as e:
        _fail(path, str(e))
    try:
        model = space.supernet(config["cfg"])
    except (KeyError, TypeError, ValueError) as e:
        _fail(path, f"its config cannot build a {config['space']} supernet ({type(e).__name__}: {e})")
    _check_shapes(path, header, model.state_dict(), config["space"])
    try:
        tensors = load_file(str(path), device=str(device))
    except (SafetensorError, OSError, ValueError) as e:
        _fail(path, f"unreadable tensors ({str(e).splitlines()[0]})")
    model.load_state_dict(tensors, strict=True)
    return KeptSupernet(path, model.to(device).eval(), config)


# ---------------------------------------------------------------- from a finished training

def convert_training_checkpoint(training_checkpoint, result_meta: Mapping[str, Any], out_path) -> Path:
    """Keep the supernet of a finished training: ``training_checkpoint`` (the trainer's
    per-epoch ``.pt`` under ``runs/supernets/``; only read, from a private copy) and
    ``result_meta`` (the provenance of the stored result it was scored for) -> ``out_path``.

    Refuses a checkpoint of another run or one whose training has not finished. DARTS-PTB
    supernets that switched to ASGD are kept with their averaged weights, as they were scored.
    """
    src = Path(training_checkpoint)
    if not src.is_file():
        raise StoreError(f"no training checkpoint {src}; it is written while `supernet_scores` trains")
    params = result_meta["params"]
    with tempfile.TemporaryDirectory() as tmp:  # a private copy: the trainer's file is never opened for long
        copy = Path(tmp) / src.name
        shutil.copyfile(src, copy)
        st = load_checkpoint(copy)
    run = st.get("run", {})
    want = {"space": params["space"], "seed": params["seed"], "strategy": params["strategy"],
            "epochs": float(params["epochs"])}
    got = {k: run.get(k) for k in want}
    if got != want:
        raise StoreError(f"{src} belongs to another run: {got}, the result {result_meta.get('name')} has {want}")
    if st.get("step", 0) != 0 or st.get("epoch", 0) < math.floor(want["epochs"]):
        raise StoreError(f"{src}: training not finished (epoch {st.get('epoch')} of {want['epochs']:g}, step "
                         f"{st.get('step')}); convert it once its result is stored")
    space = get_space(params["space"])
    model = space.supernet(params["cfg"])
    model.load_state_dict(st["model"], strict=True)
    if st.get("optimizer_kind") == "asgd":  # as the trainer hands the model back after ASGD
        fields = {f.name for f in dataclasses.fields(Recipe)}
        opt = make_optimizer(model, Recipe(**{k: v for k, v in params["recipe"].items() if k in fields}), "asgd")
        opt.load_state_dict(st["optimizer"])
        with torch.no_grad():
            for p in model.parameters():
                s = opt.state.get(p)
                if s and "ax" in s:
                    p.copy_(s["ax"])
    config = {
        "space": params["space"], "profile": params["profile"], "cfg": params["cfg"], "recipe": params["recipe"],
        "epochs": params["epochs"], "seed": params["seed"], "strategy": params["strategy"],
        "paths": params.get("paths"), "n_archs": params.get("n_archs"), "sample_seed": params.get("sample_seed"),
        "result": result_meta.get("name"), "key": result_meta.get("key"), "csv_sha256": result_meta.get("csv_sha256"),
        "training_checkpoint": src.stem,
    }
    return save_supernet(out_path, model, config)


def keep_supernet(space_name: str, profile: str, epochs, *, seed: int = 0, strategy: str = "uniform",
                  out_dir=None, missing_ok: bool = False, **kw) -> Path | None:
    """Keep the supernet of ``study.supernet_scores(space_name, profile, epochs, seed=..., strategy=..., **kw)``
    once its result is stored: its training checkpoint becomes ``<results>/checkpoints/<result>.safetensors``
    (``out_dir`` instead of ``<results>/checkpoints``). Returns the path; ``missing_ok``: None where
    there is no training checkpoint (a result loaded from a fresh clone, say) instead of StoreError."""
    name = study.supernet_result_name(space_name, profile, epochs, seed=seed, strategy=strategy, **kw)
    meta = study.store().meta("supernets", name)  # StoreError (with the command) if not stored yet
    ckpt_name = study.supernet_checkpoint_name(space_name, profile, epochs, seed=seed, strategy=strategy, **kw)
    ckpt = study.runs_root() / "supernets" / f"{ckpt_name}.pt"
    if missing_ok and not ckpt.is_file():
        return None
    out = (Path(out_dir) if out_dir is not None else checkpoints_dir()) / f"{name}{SUFFIX}"
    return convert_training_checkpoint(ckpt, meta, out)


# ---------------------------------------------------------------- re-scoring

@torch.no_grad()
def _batch_stat_accuracy(model: nn.Module, x, y, arch, batch_size: int) -> float:
    """Accuracy (%) with every BN layer normalising by the statistics of the batch it sees."""
    saved = save_bn_state(model)
    was_training = model.training
    model.eval()  # dropout, drop-path and auxiliary heads stay off
    for m in model.modules():
        # BN layers, and the modules that hold one and branch on their own flag (NAS-Bench-101's
        # channel-sliced conv-BN calls F.batch_norm with it)
        if isinstance(m, _BN) or any(isinstance(c, _BN) for c in m.children()):
            m.train()
    try:
        correct = 0
        for i in range(0, len(x), batch_size):
            out = model(x[i:i + batch_size], arch)
            logits = out[0] if isinstance(out, (tuple, list)) else out
            correct += (logits.argmax(1) == y[i:i + batch_size]).sum().item()
    finally:
        restore_bn_state(model, saved)
        model.train(was_training)
    return 100.0 * correct / max(1, len(x))


def rescore(kept: KeptSupernet, archs: Sequence, *, protocol: str = "bn_calib", split: str = "valid",
            data=None, batch_size: int | None = None, progress: bool = True) -> list[float]:
    """Scores of ``archs`` (objects or canonical strings) on the kept supernet under ``protocol``
    (``PROTOCOLS``); computed on one torch thread, as every stored score was. ``batch_size``:
    evaluation batch (default as the stored scores: 500 images, 10 token streams)."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; choose from {', '.join(PROTOCOLS)}")
    space, cfg, recipe = kept.space, kept.config["cfg"], kept.config["recipe"]
    lm = getattr(space, "task", "classification") == "language_model"
    if lm and protocol != "bn_calib":
        raise ValueError(f"{space.title} supernets have no batch norm: only protocol 'bn_calib' applies")
    archs = [space.parse(a) if isinstance(a, str) else a for a in archs]
    data = data_mod.load(cfg) if data is None else data
    with one_torch_thread():
        if protocol in ("bn_calib", "running"):  # 'running': no calibration batches, the kept statistics
            steps = recipe["bn_calib_steps"] if protocol == "bn_calib" else 0
            return evaluate_architectures(space, kept.model, archs, data, bn_calib_steps=steps,
                                          bn_calib_batch_size=recipe["bn_calib_batch_size"], split=split,
                                          seed=kept.config["seed"], progress=progress, batch_size=batch_size,
                                          channels_last=channels_last(space, cfg))  # as its stored scores
        x, y = getattr(data, f"{split}_x"), getattr(data, f"{split}_y")
        return [_batch_stat_accuracy(kept.model, x, y, a, batch_size or 500)
                for a in tqdm(archs, desc="evaluate (batch BN)", disable=not progress, leave=False)]


def protocol_scores(kept: KeptSupernet, archs: Sequence, protocols: Sequence[str] = PROTOCOLS, *,
                    split: str = "valid", progress: bool = True, known: Mapping[str, Sequence[float]] | None = None
                    ) -> pd.DataFrame:
    """One row per architecture (canonical string), one score column per protocol.
    ``known`` gives scores already computed for some protocols (the stored bn_calib scores, say)."""
    space = kept.space
    arch_strs = [str(space.parse(a)) if isinstance(a, str) else str(a) for a in archs]
    out = pd.DataFrame({"arch": arch_strs})
    data = None
    for p in protocols:
        if known and p in known:
            out[p] = list(known[p])
            continue
        data = data_mod.load(kept.config["cfg"]) if data is None else data
        out[p] = rescore(kept, arch_strs, protocol=p, split=split, data=data, progress=progress)
    return out


def _metric_row(pred, gt, higher: bool, ks: Sequence[int], resolution: float, labels: Sequence[int]) -> dict:
    row = {"spearman": metrics.spearman(pred, gt), "kendall": metrics.kendall(pred, gt),
           "sparse_kendall": metrics.sparse_kendall(pred, gt, resolution=resolution)}
    for k, label in zip(ks, labels):
        row[f"precision_at_{label}"] = metrics.precision_at(pred, gt, k / len(pred), higher_is_better=higher)
    return row


def protocol_table(scores: pd.DataFrame, gt: pd.Series, *, higher_is_better: bool = True, ks: Sequence[int] = (10,),
                   subsample: int | None = 100, draws: int = 200, seed: int = 0, resolution: float = 0.1
                   ) -> pd.DataFrame:
    """How much each evaluation choice moves the result: one row per (protocol, architectures).

    ``scores``: ``protocol_scores``' table; ``gt``: ground truth indexed by architecture string
    (``study.mean_ground_truth``). For every protocol: the metrics over all architectures with
    ground truth, and (``subsample``) their mean and standard deviation over ``draws`` random
    sub-samples of that many (the same sub-samples for every protocol). Columns: ``mean_score``,
    ``spearman``, ``kendall`` (tau-b), ``sparse_kendall`` (``metrics.sparse_kendall`` at
    ``resolution``), ``precision_at_<k>`` (share of the ground truth's best k among the
    supernet's best k; in a sub-sample k is scaled to the sub-sample), and ``*_sd``."""
    have = scores[scores["arch"].isin(gt.index)].reset_index(drop=True)
    if len(have) < 3:
        raise ValueError(f"only {len(have)} of the {len(scores)} scored architectures have ground truth")
    truth = gt.loc[have["arch"]].to_numpy(float)
    protocols = [c for c in have.columns if c != "arch"]
    rng = np.random.default_rng(seed)
    n = len(have)
    subs = [] if not subsample or subsample >= n else [np.sort(rng.choice(n, subsample, replace=False))
                                                       for _ in range(draws)]
    rows = []
    for p in protocols:
        pred = have[p].to_numpy(float)
        rows.append({"protocol": p, "archs": f"all {n} with ground truth", "n_archs": n,
                     "mean_score": float(pred.mean()),
                     **_metric_row(pred, truth, higher_is_better, [min(k, n) for k in ks], resolution, ks)})
        if subs:
            sub_ks = [max(1, round(k * subsample / n)) for k in ks]
            vals = pd.DataFrame([_metric_row(pred[i], truth[i], higher_is_better, sub_ks, resolution, ks)
                                 for i in subs])
            mean, sd = vals.mean(), vals.std(ddof=1)
            rows.append({"protocol": p, "archs": f"random {subsample} of them ({draws} draws)", "n_archs": subsample,
                         "mean_score": float(np.mean([pred[i].mean() for i in subs])), **mean.to_dict(),
                         **{f"{c}_sd": float(sd[c]) for c in vals.columns}})
    return pd.DataFrame(rows)


def verify_rescore(path, n_archs: int = 5, progress: bool = False) -> dict:
    """Re-score the first ``n_archs`` architectures of a kept supernet's stored result with the
    paper's protocol and compare with the stored scores: ``{"archs", "identical", "max_abs_diff"}``."""
    kept = load_supernet(path)
    stored = study.store().load("supernets", kept.config["result"])
    head = stored.head(n_archs)
    again = rescore(kept, list(head["arch"]), progress=progress)
    diff = np.abs(np.asarray(again) - head["score"].to_numpy(float))
    return {"archs": len(head), "identical": bool((diff == 0).all()), "max_abs_diff": float(diff.max())}


def protocol_table_for(space_name: str, profile: str, epochs, *, seed: int = 0, strategy: str = "uniform",
                       protocols: Sequence[str] = PROTOCOLS, path=None, n_archs: int | None = None,
                       progress: bool = True, **table_kw) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The protocol table of one space's kept supernet against the profile's ground truth
    (``results/groundtruth/<space>_<profile>.csv``, mean over the profile's seeds):
    ``(table, per-architecture scores)``, on the first ``n_archs`` scored architectures with
    ground truth (all by default). The bn_calib column is the stored result's scores (which
    ``rescore`` reproduces); the other protocols are computed."""
    name = study.supernet_result_name(space_name, profile, epochs, seed=seed, strategy=strategy)
    kept = load_supernet(kept_path(name) if path is None else path)
    stored = study.store().load("supernets", name)
    b = budget(space_name, profile)
    gt = study.mean_ground_truth(study.ground_truth(space_name, profile, progress=False), seeds=b.gt_seeds)
    archs = [a for a in stored["arch"] if a in gt.index][:n_archs]
    known = {"bn_calib": stored.set_index("arch").loc[archs, "score"].tolist()}
    scores = protocol_scores(kept, archs, protocols, progress=progress, known=known)
    table = protocol_table(scores, gt, higher_is_better=kept.space.higher_is_better, **table_kw)
    return table, scores


# ---------------------------------------------------------------- stored protocol tables

PROTOCOL_EXPERIMENT = "checkpoints_protocols"
TABLE_SETTINGS = {"ks": (10,), "subsample": 100, "draws": 200, "seed": 0, "resolution": 0.1}
BOOK_BEGIN = "<!-- protocol tables: generated by nas_core.checkpoints.update_book_section; do not edit by hand -->"
BOOK_END = "<!-- end of protocol tables -->"


def protocol_command(space_name: str, profile: str, epochs, *, seed: int = 0, strategy: str = "uniform",
                     n_archs: int | None = None) -> str:
    """The one command that regenerates a stored protocol table (and its scores)."""
    args = [repr(space_name), repr(profile), repr(epochs)] + ([f"seed={seed}"] if seed else []) + \
        ([f"strategy={strategy!r}"] if strategy != "uniform" else []) + ([f"n_archs={n_archs}"] if n_archs else [])
    return f'python -c "from nas_core import checkpoints as c; c.protocol_results({", ".join(args)})"'


def _file_sha(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def protocol_results(space_name: str, profile: str, epochs, *, seed: int = 0, strategy: str = "uniform",
                     n_archs: int | None = None, protocols: Sequence[str] = PROTOCOLS, progress: bool = True,
                     **table_kw) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``protocol_table_for`` stored: ``(table, per-architecture scores)`` of a kept supernet, each a
    result under ``<results>/checkpoints_protocols/`` (``<supernet result>_n<N>_scores`` and
    ``_n<N>_table``) with provenance and the command that regenerates both (``protocol_command``).

    The scores are keyed by the stored supernet result's and the kept file's sha256 (another
    training or another file computes anew), the table by the scores' key, the ground-truth
    file's sha256 and ``TABLE_SETTINGS``. Architectures: the first ``n_archs`` of the stored
    result with ground truth (all by default). The bn_calib column is the stored result's
    scores; the first two are re-scored and compared (recorded in provenance, ``bn_calib_check``:
    identical on the CPU kind that trained it). ``table_kw`` overrides ``TABLE_SETTINGS`` (a
    smoke-sized sample needs smaller sub-samples); the command records only the defaults."""
    store = study.store()
    name = study.supernet_result_name(space_name, profile, epochs, seed=seed, strategy=strategy)
    meta = store.meta("supernets", name)
    stored = store.load("supernets", name)
    path = kept_path(name)
    if not path.is_file():
        raise StoreError(f"no kept supernet {path}; keep it with nas_core.checkpoints.keep_supernet"
                         f"({space_name!r}, {profile!r}, {epochs!r}, seed={seed}) where its training checkpoint is")
    if getattr(get_space(space_name), "task", "") == "language_model" and tuple(protocols) == PROTOCOLS:
        protocols = ("bn_calib",)  # no batch norm: the metric and sample choices remain
    b = budget(space_name, profile)
    gt_path = study.ground_truth_path(space_name, profile)
    gt = study.mean_ground_truth(study.ground_truth(space_name, profile, progress=False), seeds=b.gt_seeds)
    archs = [a for a in stored["arch"] if a in gt.index][:n_archs]
    n = len(archs)
    base = f"{name}_n{n}"
    command = protocol_command(space_name, profile, epochs, seed=seed, strategy=strategy, n_archs=n_archs)
    params = {"space": space_name, "profile": profile, "epochs": epochs, "seed": seed, "strategy": strategy,
              "supernet_result": name, "supernet_csv_sha256": meta["csv_sha256"], "checkpoint": path.name,
              "checkpoint_sha256": _file_sha(path), "n_archs": n, "protocols": list(protocols), "split": "valid"}

    def compute() -> pd.DataFrame:
        kept = load_supernet(path)
        known = stored.set_index("arch").loc[archs, "score"].tolist()
        data = data_mod.load(kept.config["cfg"])
        out, cpu_s = pd.DataFrame({"arch": archs}), {}
        for p in protocols:
            if p == "bn_calib":
                out[p] = known
                continue
            t0 = time.process_time()
            out[p] = rescore(kept, archs, protocol=p, data=data, progress=progress)
            cpu_s[p] = round(time.process_time() - t0, 1)
        head = archs[:2]
        again = rescore(kept, head, data=data, progress=False)  # the stored column is what rescore gives
        diff = float(np.max(np.abs(np.asarray(again) - np.asarray(known[:2]))))
        out.attrs[EXTRA_ATTR] = {"cpu_s_per_protocol": cpu_s, "bn_calib_check": {
            "archs": len(head), "identical": diff == 0.0, "max_abs_diff": diff}}
        return out

    scores = store.get_or_compute(PROTOCOL_EXPERIMENT, f"{base}_scores", params, compute, command=command)
    unknown = set(table_kw) - set(TABLE_SETTINGS)
    if unknown:
        raise ValueError(f"unknown table settings {sorted(unknown)}; choose from {', '.join(TABLE_SETTINGS)}")
    settings = {**TABLE_SETTINGS, **table_kw}
    tparams = {"space": space_name, "profile": profile, "epochs": epochs, "seed": seed, "strategy": strategy,
               "supernet_result": name, "scores_result": f"{base}_scores",
               "scores_key": store.key(PROTOCOL_EXPERIMENT, params), "n_archs": n,
               "groundtruth": f"groundtruth/{gt_path.name}", "groundtruth_sha256": _file_sha(gt_path),
               "gt_seeds": list(b.gt_seeds), "higher_is_better": get_space(space_name).higher_is_better,
               **{("draw_seed" if k == "seed" else k): v for k, v in settings.items()}}
    table = store.get_or_compute(
        PROTOCOL_EXPERIMENT, f"{base}_table", tparams,
        lambda: protocol_table(scores, gt, higher_is_better=tparams["higher_is_better"], **settings),
        seed=seed, command=command)
    return table, scores


def stored_protocol_tables(root: Path | None = None) -> list[tuple[dict, pd.DataFrame]]:
    """Every stored protocol table under ``<results>/checkpoints_protocols/``: (provenance, table),
    checked against its sha256, in the order of the spaces' names then the results'."""
    root = study.results_root() if root is None else Path(root)
    store = ResultStore(root)
    out = []
    for js in sorted((root / PROTOCOL_EXPERIMENT).glob("*_table.json")):
        out.append((store.meta(PROTOCOL_EXPERIMENT, js.stem), store.load(PROTOCOL_EXPERIMENT, js.stem)))
    return out


def _fmt(v, sd=None, digits: int = 3) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    text = f"{v:.{digits}f}"
    return text if sd is None or (isinstance(sd, float) and math.isnan(sd)) else f"{text} ± {sd:.{digits}f}"


def protocol_markdown(root: Path | None = None) -> str:
    """The stored protocol tables as the book shows them: one table per kept supernet, then what
    each choice moves (all from the stored tables; sub-sample rows give mean ± sd over the draws)."""
    parts = []
    for meta, t in stored_protocol_tables(root):
        p = meta["params"]
        space = get_space(p["space"])
        ks = [c[len("precision_at_"):] for c in t.columns if c.startswith("precision_at_") and not c.endswith("_sd")]
        unit = " (%)" if space.metric == "accuracy" else ""
        head = ["BN protocol", "architectures", f"mean score{unit}", "Spearman", "Kendall", "sparse Kendall",
                *[f"precision@{k}" for k in ks]]
        lines = [f"**{space.title}** (`{p['space']}`, profile {p['profile']}): supernet `{p['supernet_result']}` "
                 f"({p['strategy']}, {p['epochs']:g} epochs, seed {p['seed']}) against the mean stand-alone "
                 f"validation result over seeds {', '.join(map(str, p['gt_seeds']))} (`{p['groundtruth']}`), "
                 f"on the first {p['n_archs']} architectures of the supernet's sample"
                 + (" (all of them)." if p["n_archs"] == _sample_size(p, root) else "."), "",
                 "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for r in t.to_dict("records"):
            cells = [PROTOCOL_TEXT.get(r["protocol"], r["protocol"]), r["archs"], _fmt(r["mean_score"], digits=2)]
            for c in ("spearman", "kendall", "sparse_kendall", *[f"precision_at_{k}" for k in ks]):
                cells.append(_fmt(r[c], r.get(f"{c}_sd")))
            lines.append("| " + " | ".join(str(x) for x in cells) + " |")
        lines += ["", _moves(t, p), ""]
        parts.append("\n".join(lines))
    if not parts:
        return "(no protocol table stored yet: run the command below)\n"
    return "\n".join(parts)


def _sample_size(p: Mapping, root: Path | None) -> int | None:
    try:
        store = study.store() if root is None else ResultStore(root)
        return int(store.meta("supernets", p["supernet_result"])["params"]["n_archs"])
    except (StoreError, KeyError, TypeError, ValueError):
        return None


def _moves(t: pd.DataFrame, p: Mapping) -> str:
    """One sentence: how far each choice moves the Spearman correlation, from the table itself."""
    full = t[t["n_archs"] == p["n_archs"]].set_index("protocol")
    rho = full["spearman"]
    text = (f"Choice of BN protocol: Spearman from {rho.min():.3f} ({rho.idxmin()}) to {rho.max():.3f} "
            f"({rho.idxmax()}).")
    if "bn_calib" in full.index:
        m = full.loc["bn_calib", ["spearman", "kendall", "sparse_kendall"]].astype(float)
        text += f" Choice of metric (the paper's protocol): {m.min():.3f} to {m.max():.3f}."
        sub = t[(t["protocol"] == "bn_calib") & (t["n_archs"] != p["n_archs"])]
        if len(sub):
            s = sub.iloc[0]
            text += (f" A random {int(s['n_archs'])} of the {p['n_archs']} instead of all: Spearman "
                     f"{s['spearman']:.3f} ± {s['spearman_sd']:.3f} over {p['draws']} draws.")
    return text


def update_book_section(path=None, root: Path | None = None) -> Path:
    """Write ``protocol_markdown`` between the markers of the book's re-running appendix."""
    path = Path(path) if path is not None else REPO / "book" / "rerun.md"
    text = path.read_text(encoding="utf-8")
    if BOOK_BEGIN not in text or BOOK_END not in text:
        raise ValueError(f"{path} has no protocol-table markers ({BOOK_BEGIN!r} ... {BOOK_END!r})")
    before, rest = text.split(BOOK_BEGIN, 1)
    _, after = rest.split(BOOK_END, 1)
    atomic_write_bytes(path, (before + BOOK_BEGIN + "\n\n" + protocol_markdown(root) + "\n" + BOOK_END + after)
                       .encode("utf-8"))
    return path


def supernet_sizes(profile: str = "cpu", spaces: Sequence[str] | None = None) -> pd.DataFrame:
    """Size of each space's kept supernet at ``profile`` (built untrained: the size does not
    depend on training): parameters and buffers, tensor bytes and safetensors file bytes."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for s in spaces or SPACE_NAMES:
            cfg = study.supernet_config(s, profile)
            model = get_space(s).supernet(cfg)
            path = save_supernet(Path(tmp) / f"{s}{SUFFIX}", model, {"space": s, "profile": profile, "cfg": cfg})
            sd = model.state_dict()
            rows.append({"space": s, "tensors": len(sd), "values": sum(t.numel() for t in sd.values()),
                         "tensor_bytes": sum(t.numel() * t.element_size() for t in sd.values()),
                         "file_bytes": path.stat().st_size})
    return pd.DataFrame(rows)


__all__ = ["FORMAT", "PROTOCOLS", "CheckpointError", "KeptSupernet", "checkpoints_dir", "kept_path",
           "save_supernet", "read_header", "read_config", "load_supernet", "convert_training_checkpoint",
           "keep_supernet", "rescore", "verify_rescore", "protocol_scores", "protocol_table", "protocol_table_for",
           "PROTOCOL_EXPERIMENT", "TABLE_SETTINGS", "protocol_command", "protocol_results", "stored_protocol_tables",
           "protocol_markdown", "update_book_section", "supernet_sizes"]
