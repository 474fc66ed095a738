"""Evaluating architectures: accuracy / perplexity, and scoring many paths of one supernet.

``evaluate_architectures`` follows SPOS/the paper (Table 2, "BN calib"): before
each architecture is evaluated, the batch-norm statistics of the supernet are
reset and recomputed from ``bn_calib_steps`` forward passes of
``bn_calib_batch_size`` training images through that architecture (cumulative
average, ``momentum=None``; no augmentation; only the BN layers in train mode so
dropout and drop-path stay off). The calibration images are one fixed draw
(``seed``), the same for every architecture, so scores are deterministic. The
supernet's own BN state is put back afterwards.

Memory format (a recorded setting, off by default)
    ``cfg["memory_format"] = "channels_last"`` (``MEMORY_FORMAT``; image spaces only) trains
    and scores a supernet with the model and every input batch in the channels-last layout:
    on one CPU thread at the cpu profile about 1.25x faster to train and to score on NB-201
    and NB-101, more on DARTS-CIFAR10 and ProxylessNAS (``benchmarks/bench_channels_last.py``),
    but other kernels compute, so the numbers differ. Being a key of the network config, it is
    part of the result's parameters and its checkpoint's name when on, and absent (every stored
    result unchanged) when off. ``channels_last(space, cfg)`` reads it.

    Not used by any result the book reads: it is less precise, not merely rounded otherwise.
    PyTorch 2.14's channels-last batch-norm backward on the CPU loses precision when a channel's
    mean is large against its spread (mean 10 standard deviations: input-gradient error 4e-3 of
    float64's, against 9e-8 in the default layout), as in NB-201's cells, which sum skip
    connections. One supernet step's whole gradient is 0.3-6% off float64's in this layout on
    the four image spaces, where the default layout's is at most 1e-3 and mostly 1e-5
    (``benchmarks/bench_channels_last.py --precision``). An NB-201 supernet trained 128 epochs
    channels-last (seed 0) ranked at Spearman 0.65, outside its three default-layout seeds
    (0.42-0.50): a setting that moves the result this far cannot stand in for the default.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from tqdm.auto import tqdm

_BN = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.SyncBatchNorm)


MEMORY_FORMAT = "memory_format"  # the network-config key; its one value is "channels_last"


def _refuse_language_model(space) -> None:
    if getattr(space, "task", "classification") == "language_model":
        raise ValueError(f"{MEMORY_FORMAT}='channels_last' is for image spaces; {space.name} is a language model")


def channels_last(space, cfg) -> bool:
    """Whether ``cfg`` asks for the channels-last memory format (``MEMORY_FORMAT``); refuses it for
    language models and any other value (off is the key's absence, so one result has one name)."""
    if MEMORY_FORMAT not in cfg:
        return False
    if cfg[MEMORY_FORMAT] != "channels_last":
        raise ValueError(f"{MEMORY_FORMAT} must be 'channels_last' or left out (the default layout), "
                         f"got {cfg[MEMORY_FORMAT]!r}")
    _refuse_language_model(space)
    return True


def to_layout(x: torch.Tensor, channels_last: bool) -> torch.Tensor:
    """``x`` in the channels-last layout when asked (a copy unless it already is), else unchanged."""
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _logits(out):
    # networks with an auxiliary head may return (logits, aux_logits)
    return out[0] if isinstance(out, (tuple, list)) else out


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, arch=None, batch_size: int = 500,
             device=None, channels_last: bool = False) -> float:
    """Top-1 accuracy (%) of ``model`` (or of path ``arch`` of a supernet) in eval mode; with
    ``channels_last`` each batch goes in in that layout."""
    device = torch.device(device) if device is not None else next(model.parameters()).device
    was_training = model.training
    model.eval()
    correct = 0
    try:
        for i in range(0, len(x), batch_size):
            xb = to_layout(x[i:i + batch_size].to(device, non_blocking=True), channels_last)
            out = model(xb) if arch is None else model(xb, arch)
            correct += (_logits(out).argmax(1).cpu() == y[i:i + batch_size]).sum().item()
    finally:
        model.train(was_training)
    return 100.0 * correct / max(1, len(x))


def batchify(tokens: torch.Tensor, batch_size: int) -> torch.Tensor:
    """1-D token stream -> (length, batch_size) columns (trailing tokens dropped), as in DARTS."""
    n = tokens.size(0) // batch_size
    return tokens[: n * batch_size].view(batch_size, n).t().contiguous()


def detach_hidden(h):
    if isinstance(h, torch.Tensor):
        return h.detach()
    return type(h)(detach_hidden(v) for v in h)


@torch.no_grad()
def perplexity(model: nn.Module, tokens: torch.Tensor, *, bptt: int, batch_size: int = 10,
               arch=None, device=None) -> float:
    """Perplexity of a language model on a 1-D token stream (hidden state carried across
    chunks, as DARTS evaluates). ``arch`` may be a callable ``(chunk_index) -> arch``."""
    device = torch.device(device) if device is not None else next(model.parameters()).device
    source = batchify(tokens, batch_size).to(device)
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    try:
        hidden = model.init_hidden(batch_size)
        hidden = _to(hidden, device)
        for k, i in enumerate(range(0, source.size(0) - 1, bptt)):
            seq = min(bptt, source.size(0) - 1 - i)
            inp, tgt = source[i:i + seq], source[i + 1:i + 1 + seq].reshape(-1)
            a = arch(k) if callable(arch) else arch
            out, hidden = model(inp, hidden) if a is None else model(inp, hidden, a)
            total += F.cross_entropy(out.reshape(-1, out.size(-1)).float(), tgt, reduction="sum").item()
            count += tgt.numel()
    finally:
        model.train(was_training)
    return math.exp(total / max(1, count))


def _to(h, device):
    if isinstance(h, torch.Tensor):
        return h.to(device)
    return type(h)(_to(v, device) for v in h)


# ---- BN calibration --------------------------------------------------------------
def bn_layers(model: nn.Module) -> list[nn.Module]:
    return [m for m in model.modules() if isinstance(m, _BN) and m.track_running_stats]


def save_bn_state(model: nn.Module) -> list[dict]:
    return [{"momentum": m.momentum, "training": m.training,
             "buffers": {k: b.clone() for k, b in m.named_buffers(recurse=False)}} for m in bn_layers(model)]


def restore_bn_state(model: nn.Module, state: list[dict]) -> None:
    for m, s in zip(bn_layers(model), state):
        m.momentum = s["momentum"]
        m.train(s["training"])
        for k, b in s["buffers"].items():
            getattr(m, k).copy_(b)


@torch.no_grad()
def calibrate_bn(model: nn.Module, batches: Sequence[torch.Tensor], *, arch=None) -> None:
    """Recompute BN running statistics from ``batches`` (cumulative average)."""
    layers = bn_layers(model)
    if not layers or not batches:
        return
    was_training = model.training
    model.eval()
    for m in layers:
        m.reset_running_stats()
        m.momentum = None  # cumulative moving average over the calibration batches
        m.train()
    try:
        for xb in batches:
            model(xb) if arch is None else model(xb, arch)
    finally:
        for m in layers:
            m.eval()
        model.train(was_training)


def calibration_batches(x: torch.Tensor, steps: int, batch_size: int, seed: int, device) -> list[torch.Tensor]:
    """One fixed draw of ``steps`` batches of training images (the same for every architecture)."""
    if steps <= 0 or batch_size <= 0:
        return []
    g = torch.Generator().manual_seed(seed)
    need = steps * batch_size
    idx = torch.cat([torch.randperm(len(x), generator=g) for _ in range(math.ceil(need / len(x)))])[:need]
    return [x[idx[i * batch_size:(i + 1) * batch_size]].to(device) for i in range(steps)]


# ---- scoring a sample of architectures on one supernet ------------------------------
def evaluate_architectures(space, supernet: nn.Module, archs: Sequence, data, *, bn_calib_steps: int,
                           bn_calib_batch_size: int, split: str = "valid", seed: int = 0, progress: bool = True,
                           batch_size: int | None = None, bptt: int = 35, device=None,
                           channels_last: bool = False) -> list[float]:
    """Score every architecture on the supernet: accuracy (%) on ``split`` for image spaces,
    perplexity for language models (lower is better: see ``space.higher_is_better``).
    ``channels_last`` (image spaces; pass ``channels_last(space, cfg)``) converts the supernet to
    that layout in place (its values unchanged) and feeds it calibration and evaluation batches
    in it."""
    if split not in ("train", "valid", "test"):
        raise ValueError(f"split must be train, valid or test, got {split!r}")
    device = torch.device(device) if device is not None else next(supernet.parameters()).device
    lm = getattr(space, "task", "classification") == "language_model"
    if channels_last:
        _refuse_language_model(space)  # a supernet restored from a checkpoint comes back in the default layout
        supernet.to(memory_format=torch.channels_last)
    saved = save_bn_state(supernet)
    was_training = supernet.training
    scores = []
    try:
        if lm:
            tokens = getattr(data, split)
            for arch in tqdm(archs, desc="evaluate", disable=not progress, leave=False):
                scores.append(perplexity(supernet, tokens, bptt=bptt, batch_size=batch_size or 10,
                                         arch=arch, device=device))
        else:
            x, y = getattr(data, f"{split}_x"), getattr(data, f"{split}_y")
            calib = [to_layout(xb, channels_last)
                     for xb in calibration_batches(data.train_x, bn_calib_steps, bn_calib_batch_size, seed, device)]
            for arch in tqdm(archs, desc="evaluate", disable=not progress, leave=False):
                calibrate_bn(supernet, calib, arch=arch)
                scores.append(accuracy(supernet, x, y, arch=arch, batch_size=batch_size or 500, device=device,
                                       channels_last=channels_last))
    finally:
        restore_bn_state(supernet, saved)
        supernet.train(was_training)
    return scores


def evaluate_standalone(model: nn.Module, data, split: str, *, task: str = "classification",
                        batch_size: int = 500, bptt: int = 35, device=None) -> float:
    """Accuracy (%) or perplexity of a stand-alone network, BN statistics from training (no recalibration)."""
    if task == "language_model":
        return perplexity(model, getattr(data, split), bptt=bptt, batch_size=batch_size, device=device)
    return accuracy(model, getattr(data, f"{split}_x"), getattr(data, f"{split}_y"),
                    batch_size=batch_size, device=device)

