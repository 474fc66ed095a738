"""Training-free estimators of an architecture's trained accuracy ("zero-cost proxies").

One function per estimator, on a space's stand-alone network (``space.standalone(arch, cfg)``)
freshly initialised; none trains it. Each follows its defining paper and the way the
zero-cost-proxies reference implementation (Abdelfattah et al. 2021, SamsungLabs/zero-cost-nas,
``foresight/pruners/measures``) and NAS-Bench-Suite-Zero (Krishnakumar et al. 2022, NASLib's
``naslib/predictors/utils/pruners/measures``) compute them; the code here is this project's own.

Conventions (all estimators)
    - Higher is better: every score is oriented as its reference orients it (GraSP with the
      reference's minus sign), so a positive rank correlation with accuracy means agreement.
    - Every function works on a deep copy: the network passed in is left as it was, and the
      estimators of ``estimate_all`` all see the same initial weights.
    - Data-dependent estimators see one batch (``estimator_batch``) with the network in train
      mode, so batch normalisation normalises with the batch's statistics (the reference's
      ``net.train()``); the loss is the cross-entropy (language model: the next-token negative
      log-likelihood of one ``bptt`` window).
    - "Weights" are the weights of the network's ``Conv2d`` and ``Linear`` modules (the
      reference's ``get_layer_metric_array``); biases and batch-norm parameters do not count.
      The DARTS-PTB cell multiplies raw parameter matrices, so for the language model the
      weights are its parameter matrices (embedding tied to the decoder, ``W0`` and the eight
      ``Ws``).
    - Deterministic on CPU: ``estimate_all`` seeds torch with ``seed`` before building the
      network (its default PyTorch initialisation, or the space's own, e.g. ProxylessNAS's
      "he_fout") and again before each estimator (dropout in train mode draws from it).

Language model (DARTS-PTB): ``params``, ``flops``, ``snip``, ``grasp`` and ``grad_norm`` are
defined; ``synflow``, ``fisher``, ``jacob_cov`` and ``naswot`` are not (``UNDEFINED_FOR_LM``
says why) and raise ``EstimatorUndefined``. DARTS-PTB's parameter count and FLOPs are the same
for every architecture, so they cannot rank its cells.
"""
from __future__ import annotations

import copy
import time
import types
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from . import data as data_mod
from .spaces import get_space

ESTIMATORS = ("params", "flops", "synflow", "snip", "grasp", "grad_norm", "fisher", "jacob_cov", "naswot")
DATA_FREE = ("params", "flops", "synflow")
UNDEFINED_FOR_LM = {
    "synflow": "its input is an all-ones image and its score assumes a network of non-negative weights "
               "and piecewise-linear units; a language model takes token ids (an embedding lookup, not a "
               "product with the input) and its cell gates with sigmoid and tanh",
    "fisher": "it sums over the output channels of Conv2d/Linear modules; the DARTS-PTB cell has none "
              "(raw matrix products), only the decoder, which every cell shares",
    "jacob_cov": "it needs the gradient with respect to the input, and token ids have none",
    "naswot": "its codes are the on/off patterns of ReLU units; the DARTS-PTB cell has no ReLU modules "
              "(its activations are chosen per node, most of them not piecewise linear)",
}
JACOB_COV_K = 1e-5  # the reference's regulariser of the eigenvalues


class EstimatorUndefined(ValueError):
    """The estimator has no definition for this kind of network (the message says why)."""


# ---------------------------------------------------------------- helpers

def is_language_model(net: nn.Module) -> bool:
    return hasattr(net, "init_hidden")


def _copy(net: nn.Module, train: bool = True) -> nn.Module:
    net = copy.deepcopy(net)
    net.train(train)
    net.zero_grad(set_to_none=True)
    return net


def _forward(net: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    """Logits (images) or log-probabilities (language model: inputs are (T, B) token ids)."""
    if is_language_model(net):
        out, _ = net(inputs, net.init_hidden(inputs.size(1)))
        return out
    return net(inputs)


def _loss(net: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return _loss_of(net, _forward(net, inputs), targets)


def _loss_of(net: nn.Module, out: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    if is_language_model(net):
        return F.nll_loss(out.reshape(-1, out.size(-1)), targets.reshape(-1))
    return F.cross_entropy(out, targets)


def _weights(net: nn.Module) -> list[torch.Tensor]:
    """The weights every per-parameter estimator sums over (module docstring)."""
    if is_language_model(net):
        return [p for p in net.parameters() if p.dim() >= 2]
    return [m.weight for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def _refuse_lm(net: nn.Module, name: str) -> None:
    if is_language_model(net):
        raise EstimatorUndefined(f"{name} is not defined for a language model: {UNDEFINED_FOR_LM[name]}")


def _gradients(net: nn.Module, inputs, targets) -> tuple[list[torch.Tensor], list[torch.Tensor | None]]:
    """(weights, d loss / d weight) of one forward/backward pass in train mode; None where a
    weight does not reach the loss."""
    ws = _weights(net)
    loss = _loss(net, inputs, targets)
    grads = torch.autograd.grad(loss, ws, allow_unused=True)
    return ws, list(grads)


# ---------------------------------------------------------------- data-free

def n_params(space, arch, cfg: Mapping[str, Any]) -> int:
    """Trainable parameters of the stand-alone network: ``space.cost(arch, cfg).params``, the
    count the space's official implementation gives (the paper's Figure 3 baseline)."""
    return int(space.cost(arch, cfg).params)


def n_flops(space, arch, cfg: Mapping[str, Any]) -> int:
    """Multiply-adds of one forward pass for one input: ``space.cost(arch, cfg).flops``."""
    return int(space.cost(arch, cfg).flops)


def synflow(net: nn.Module, input_shape: Sequence[int]) -> float:
    """SynFlow, Tanaka et al. 2020 ("Pruning neural networks without any data by iteratively
    conserving synaptic flow"), as a network score (Abdelfattah et al. 2021).

    Data-free: every parameter and buffer replaced by its absolute value, batch normalisation
    made the identity (the reference's ``bn=False`` copy), double precision, one all-ones input
    of shape ``(1, *input_shape)`` (the zero-cost reference's NB-201 copy keeps the batch norms
    of its two reduction blocks, a side effect of how it rebuilds the network; Suite-Zero's copy,
    like this one, makes every one the identity); ``R = sum(net(ones))`` and the score is
    ``sum_w |w * dR/dw|`` over the weights. The network runs in eval mode, so dropout is off
    (the data-free definition; NB-201 has none). Suite-Zero reports ``log`` of this value,
    which ranks the same.
    """
    _refuse_lm(net, "synflow")
    net = _copy(net, train=False).double()
    for m in net.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.forward = types.MethodType(lambda self, x: x, m)
    with torch.no_grad():
        for t in net.state_dict().values():
            t.abs_()
    ws = _weights(net)
    out = net(torch.ones((1, *input_shape), dtype=torch.float64))
    grads = torch.autograd.grad(out.sum(), ws, allow_unused=True)
    return float(sum((w.detach() * g).abs().sum() for w, g in zip(ws, grads) if g is not None))


# ---------------------------------------------------------------- one batch

def snip(net: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> float:
    """SNIP, Lee et al. 2019 ("SNIP: single-shot network pruning based on connection
    sensitivity"): the connection sensitivity ``|dL/dc|`` of a multiplicative mask ``c = 1``
    on every weight, which equals ``|w * dL/dw|``, summed over the weights (Abdelfattah et al.
    2021). Train mode, one batch."""
    ws, grads = _gradients(_copy(net), inputs, targets)
    return _snip_value(ws, grads)


def _snip_value(ws, grads) -> float:
    return float(sum((w.detach() * g).abs().sum() for w, g in zip(ws, grads) if g is not None))


def grad_norm(net: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> float:
    """Gradient norm (Abdelfattah et al. 2021): the Euclidean norm of ``dL/dW`` for each weight
    tensor, summed over the tensors (the reference sums per-layer norms; it is not the norm of
    the whole gradient). Train mode, one batch."""
    _, grads = _gradients(_copy(net), inputs, targets)
    return _grad_norm_value(grads)


def _grad_norm_value(grads) -> float:
    return float(sum(g.norm() for g in grads if g is not None))


def grasp(net: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> float:
    """GraSP, Wang et al. 2020 ("Picking winning tickets before training by preserving gradient
    flow"): ``-sum_w w * (H g)`` with ``g = dL/dw`` and ``H`` the Hessian of the loss, the
    Hessian-gradient product taken as ``d(g_detached . g)/dw`` (temperature 1, one iteration).
    The minus sign is the reference's (Abdelfattah et al. 2021: accuracy correlates with it).
    The reference runs two forward passes of the same batch; this uses one (equal values for
    a network without dropout). Train mode, one batch."""
    net = _copy(net)
    ws = _weights(net)
    loss = _loss(net, inputs, targets)
    g_plain = torch.autograd.grad(loss, ws, allow_unused=True, retain_graph=True)
    return _grasp_value(loss, ws, g_plain)


def _grasp_value(loss: torch.Tensor, ws, g_plain, g_graph=None) -> float:
    """GraSP from the loss (its graph retained), its plain gradient ``g_plain`` and, if already
    taken, the same gradient with its graph (``g_graph``)."""
    if g_graph is None:
        g_graph = torch.autograd.grad(loss, ws, allow_unused=True, create_graph=True)
    z = sum((a.detach() * b).sum() for a, b in zip(g_plain, g_graph) if a is not None and b is not None)
    if not torch.is_tensor(z) or not z.requires_grad:
        return 0.0
    hg = torch.autograd.grad(z, ws, allow_unused=True)
    return float(sum((-w.detach() * h).sum() for w, h in zip(ws, hg) if h is not None))


def fisher(net: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> float:
    """Fisher, Theis et al. 2018 ("Faster gaze prediction with dense networks and Fisher
    pruning") as used for channel pruning by Turner et al. 2020 (BlockSwap) and as a network
    score by Abdelfattah et al. 2021. For every output channel ``k`` of every Conv2d/Linear
    module, with activation ``a`` (the module's output) and ``g = dL/da``:
    ``F_k = 0.5 * mean_n (sum_spatial a * g)^2``. The reference broadcasts ``F_k`` to every
    weight of channel ``k`` and sums them all, so the score is
    ``sum_modules sum_k F_k * (weights per output channel)``; this reproduces that sum.
    Train mode, one batch."""
    _refuse_lm(net, "fisher")
    net = _copy(net)
    per_module, recording, handles = _fisher_hooks(net)
    try:
        _loss(net, inputs, targets).backward()
    finally:
        for h in handles:
            h.remove()
    return _fisher_value(per_module)


def _fisher_hooks(net: nn.Module):
    """Hooks that collect Fisher's ``F_k`` per Conv2d/Linear module during a backward pass:
    (per-module sums, a one-item list whose False stops the collecting, forward-hook handles)."""
    per_module: dict[nn.Module, torch.Tensor] = {}
    recording = [True]  # a shared pass turns it off before its second-order backward passes

    def on_forward(module, _inp, out):
        def on_grad(grad, act=out.detach(), module=module):
            if not recording[0]:
                return
            prod = act * grad.detach()  # the grad carries a graph in a shared pass with grasp
            g_nk = prod.sum(dim=tuple(range(2, prod.dim()))) if prod.dim() > 2 else prod
            f_k = 0.5 * g_nk.pow(2).mean(0)
            per_module[module] = per_module[module] + f_k if module in per_module else f_k

        if out.requires_grad:
            out.register_hook(on_grad)

    modules = [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    return per_module, recording, [m.register_forward_hook(on_forward) for m in modules]


def _fisher_value(per_module) -> float:
    return float(sum(f.abs().sum() * (m.weight.numel() // m.weight.shape[0]) for m, f in per_module.items()))


def jacob_cov(net: nn.Module, inputs: torch.Tensor) -> float:
    """Jacobian covariance, Mellor et al. 2020 (arXiv:2006.04647 v1, "Neural architecture search
    without training"), as the zero-cost reference computes it: per input ``x_i`` the gradient
    of the sum of the network's outputs, ``J_i = d sum(f(x)) / d x_i`` (train mode: batch
    normalisation couples the samples, as in the reference), flattened; ``C`` the correlation
    matrix of the ``J_i`` over the batch, ``v`` its eigenvalues, and the score
    ``-sum(log(v + k) + 1 / (v + k))`` with ``k = 1e-5``. The eigenvalues come from
    ``numpy.linalg.eigvalsh`` (C is symmetric; the reference's ``eig`` gives the same values up
    to rounding). NaN where a ``J_i`` is constant (a cell whose output is cut off)."""
    _refuse_lm(net, "jacob_cov")
    net = _copy(net)
    x = inputs.detach().clone().requires_grad_(True)
    y = net(x)
    (jac,) = torch.autograd.grad(y, x, grad_outputs=torch.ones_like(y))
    return _jacob_cov_value(jac)


def _jacob_cov_value(jac: torch.Tensor) -> float:
    j = jac.reshape(len(jac), -1).double().numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.corrcoef(j)
    if not np.isfinite(corr).all():
        return float("nan")
    v = np.linalg.eigvalsh(corr)
    with np.errstate(invalid="ignore", divide="ignore"):
        return float(-np.sum(np.log(v + JACOB_COV_K) + 1.0 / (v + JACOB_COV_K)))


def naswot(net: nn.Module, inputs: torch.Tensor) -> float:
    """NASWOT, Mellor et al. 2021 (ICML, "Neural architecture search without training", v2 of
    arXiv:2006.04647): every ReLU unit's on/off state on each input gives a binary code
    ``c_i``; the kernel ``K[i, j]`` counts the units on which inputs ``i`` and ``j`` agree
    (``c c^T + (1 - c)(1 - c)^T``, summed over ReLU modules: ``nn.ReLU`` and ``nn.ReLU6``, whose
    inputs the hooks read, as BayesWatch/nas-without-training and Suite-Zero do); the score is
    ``log |det K|``. One forward pass in train mode; functional ``F.relu`` calls (DARTS-CIFAR10's
    factorized reduction) are not seen, as in the references."""
    _refuse_lm(net, "naswot")
    net = _copy(net)
    kernel, handles = _naswot_hooks(net, len(inputs))
    try:
        with torch.no_grad():
            net(inputs)
    finally:
        for h in handles:
            h.remove()
    return _naswot_value(kernel)


def _naswot_hooks(net: nn.Module, n: int):
    """(kernel, handles): forward hooks on the ReLU modules that add each one's agreement counts
    of the ``n`` inputs to ``kernel``."""
    kernel = torch.zeros(n, n, dtype=torch.float64)

    def on_forward(_module, inp, _out):
        # agreements = units - on_i - on_j + 2 (c c^T)_ij: one product instead of two, in float32,
        # which counts exactly below 2^24 units per module (the largest here have 16,384)
        c = (inp[0].detach().reshape(n, -1) > 0).float()
        if c.shape[1] >= 2 ** 24:
            raise ValueError(f"naswot: {c.shape[1]} units in one module are too many to count in float32")
        on = c.sum(1, dtype=torch.float64)
        kernel.add_(2.0 * (c @ c.T).double() - on[:, None] - on[None, :] + c.shape[1])

    return kernel, [m.register_forward_hook(on_forward) for m in net.modules() if isinstance(m, (nn.ReLU, nn.ReLU6))]


def _naswot_value(kernel: torch.Tensor) -> float:
    return float(np.linalg.slogdet(kernel.numpy())[1])


# ---------------------------------------------------------------- shared passes (same values, fewer passes)

# Estimators whose definitions read the same pass of the same network on the same batch: the
# gradient group all need one forward and dL/dW in train mode (fisher also dL/da of the modules'
# outputs, which the same backward computes; grasp continues from that pass with its Hessian
# product); the forward group run the same forward in train mode (jacob_cov then differentiates
# the outputs' sum with respect to the input, naswot's hooks read the ReLU inputs). Each
# estimator alone seeds torch and copies the network before its pass, so one seeded pass on one
# copy sees the same weights, batch statistics and dropout draws; the values are equal
# (tests/test_estimators.py).
GRADIENT_GROUP = ("snip", "grad_norm", "fisher", "grasp")
FORWARD_GROUP = ("jacob_cov", "naswot")
DATA_GROUP = GRADIENT_GROUP + FORWARD_GROUP


def shared_pass(net: nn.Module, inputs: torch.Tensor, targets: torch.Tensor | None = None,
                names: Sequence[str] = DATA_GROUP, *, copy_net: bool = True) -> dict[str, float]:
    """The estimators of ``DATA_GROUP`` in ``names`` from one forward pass, with the values each
    function gives alone: one backward for dL/dW (it keeps its graph when grasp's Hessian product
    or jacob_cov's input gradient follows), jacob_cov's backward of the outputs' sum to the input
    (the input requires its gradient; dL/dW does not ask for it, so the same kernels run), then
    grasp's Hessian product. The gradient taken with its graph equals the plain one exactly (the
    same kernels run; the tests check it). ``copy_net=False``: ``net`` itself is used and left
    changed (``estimate_all``, which builds it, saves a deep copy)."""
    names = [n for n in DATA_GROUP if n in names]
    grad_names = [n for n in names if n in GRADIENT_GROUP]
    for n in names:
        if n in UNDEFINED_FOR_LM:
            _refuse_lm(net, n)
    if grad_names and targets is None:
        raise ValueError(f"{', '.join(grad_names)} need the batch's targets")
    if copy_net:
        net = _copy(net)
    else:
        net.train()
        net.zero_grad(set_to_none=True)
    jacob, hessian = "jacob_cov" in names, "grasp" in names
    per_module, recording, handles = _fisher_hooks(net) if "fisher" in names else ({}, [False], [])
    kernel = None
    if "naswot" in names:
        kernel, more = _naswot_hooks(net, len(inputs))
        handles += more
    x = inputs.detach().clone().requires_grad_(True) if jacob else inputs
    ws = _weights(net)
    g_graph = grads = loss = None
    try:
        with torch.set_grad_enabled(bool(grad_names) or jacob):
            y = _forward(net, x)
        if grad_names:
            loss = _loss_of(net, y, targets)
            if hessian:
                g_graph = torch.autograd.grad(loss, ws, allow_unused=True, create_graph=True)
                grads = tuple(None if g is None else g.detach() for g in g_graph)
            else:
                grads = torch.autograd.grad(loss, ws, allow_unused=True, retain_graph=jacob)
    finally:
        recording[0] = False  # the passes below run back through the same outputs
        for h in handles:
            h.remove()
    out = {}
    if jacob:
        (jac,) = torch.autograd.grad(y, x, grad_outputs=torch.ones_like(y), retain_graph=hessian)
        out["jacob_cov"] = _jacob_cov_value(jac)
    if "naswot" in names:
        out["naswot"] = _naswot_value(kernel)
    if "snip" in names:
        out["snip"] = _snip_value(ws, grads)
    if "grad_norm" in names:
        out["grad_norm"] = _grad_norm_value(grads)
    if "fisher" in names:
        out["fisher"] = _fisher_value(per_module)
    if hessian:
        out["grasp"] = _grasp_value(loss, ws, grads, g_graph)
    return out


def gradient_group(net: nn.Module, inputs: torch.Tensor, targets: torch.Tensor,
                   names: Sequence[str] = GRADIENT_GROUP) -> dict[str, float]:
    """snip, grad_norm, fisher and grasp (those in ``names``) from one forward and one backward
    pass (``shared_pass``), with the values each function gives alone."""
    return shared_pass(net, inputs, targets, [n for n in names if n in GRADIENT_GROUP])


def forward_group(net: nn.Module, inputs: torch.Tensor, names: Sequence[str] = FORWARD_GROUP) -> dict[str, float]:
    """jacob_cov and naswot (those in ``names``) from one forward pass in train mode (jacob_cov's,
    with the input requiring its gradient; naswot's hooks read the same activations)."""
    return shared_pass(net, inputs, None, [n for n in names if n in FORWARD_GROUP])


# ---------------------------------------------------------------- the batch and all estimators

def estimator_batch(cfg: Mapping[str, Any], batch_size: int = 64, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """The one batch every data-dependent estimator of a table sees: ``batch_size`` training
    images of ``cfg``'s dataset (``data.load``: its fixed split, normalised, resized to
    ``cfg["image_size"]``), drawn without replacement by ``torch.randperm`` from a generator
    seeded with ``seed``; no augmentation. Language model: the first ``cfg["bptt"]`` tokens of
    each of ``batch_size`` columns of the batchified training stream (inputs and next-token
    targets; ``seed`` unused). The reference draws 64 augmented images per cell from a shuffled
    loader; one fixed batch makes every cell's score comparable and reproducible."""
    if batch_size < 2:
        raise ValueError(f"batch_size must be >= 2 (jacob_cov and naswot compare inputs), got {batch_size}")
    d = data_mod.load(cfg)
    if isinstance(d, data_mod.TextData):
        source = data_mod.batchify(d.train, batch_size)
        return data_mod.get_batch(source, 0, int(cfg["bptt"]))
    if batch_size > len(d.train_x):
        raise ValueError(f"batch_size {batch_size} exceeds the {len(d.train_x)} training images of {cfg['dataset']}")
    idx = torch.randperm(len(d.train_x), generator=torch.Generator().manual_seed(seed))[:batch_size]
    return d.train_x[idx].clone(), d.train_y[idx].clone()


def defined_estimators(space_name: str) -> tuple[str, ...]:
    """The estimators defined for a space (all but ``UNDEFINED_FOR_LM`` for the language model)."""
    if get_space(space_name).task == "language_model":
        return tuple(e for e in ESTIMATORS if e not in UNDEFINED_FOR_LM)
    return ESTIMATORS


def _input_shape(cfg: Mapping[str, Any]) -> tuple[int, int, int]:
    s = cfg.get("image_size", 32)
    return cfg.get("in_channels", 3), s, s


def estimate_all(space, arch, cfg: Mapping[str, Any], batch: tuple[torch.Tensor, torch.Tensor], *,
                 seed: int = 0, estimators: Sequence[str] | None = None, shared: bool = False,
                 build: Callable[[Any, Mapping[str, Any]], nn.Module] | None = None) -> dict[str, float]:
    """Every estimator (default: all defined for the space) of one architecture on one shared
    batch: ``{name: value}`` plus ``cpu_s_<name>`` (CPU seconds of this process, one thread
    expected) and ``build_cpu_s`` (building and initialising the network).

    ``torch.manual_seed(seed)`` before the network is built and before each estimator, so each
    value depends on (arch, cfg, batch, seed) only, not on which others run.

    ``build(arch, cfg)``: builds the network instead of ``space.standalone`` (which refuses
    NAS-Bench-201's disconnected cells; the full-scale table scores them too).

    ``shared``: the estimators of ``DATA_GROUP`` from one pass (``shared_pass``; torch seeded
    before it) on the network built here (no deep copy: it runs last), with the same values; the
    pass's CPU seconds are split equally among its estimators (the row's sum stays
    the real total; an estimator's cost alone is what ``shared=False`` records)."""
    names = tuple(defined_estimators(space.name) if estimators is None else estimators)
    unknown = [n for n in names if n not in ESTIMATORS]
    if unknown:
        raise ValueError(f"unknown estimator(s) {unknown}; choose from {', '.join(ESTIMATORS)}")
    inputs, targets = batch

    t0 = time.process_time()
    torch.manual_seed(seed)
    net = space.standalone(arch, cfg) if build is None else build(arch, cfg)
    out: dict[str, float] = {"build_cpu_s": time.process_time() - t0}
    calls: dict[str, Callable[[], float]] = {
        "params": lambda: n_params(space, arch, cfg),
        "flops": lambda: n_flops(space, arch, cfg),
        "synflow": lambda: synflow(net, _input_shape(cfg)),
        "snip": lambda: snip(net, inputs, targets),
        "grasp": lambda: grasp(net, inputs, targets),
        "grad_norm": lambda: grad_norm(net, inputs, targets),
        "fisher": lambda: fisher(net, inputs, targets),
        "jacob_cov": lambda: jacob_cov(net, inputs),
        "naswot": lambda: naswot(net, inputs),
    }
    group: tuple[str, ...] = ()
    if shared:
        members = tuple(n for n in names if n in DATA_GROUP)
        if len(members) > 1 and not (is_language_model(net) and set(members) & set(UNDEFINED_FOR_LM)):
            group = members
    for name in names:
        if name in group:
            continue
        t0 = time.process_time()
        torch.manual_seed(seed)
        out[name] = calls[name]()
        out[f"cpu_s_{name}"] = time.process_time() - t0
    if group:
        t0 = time.process_time()
        torch.manual_seed(seed)
        values = shared_pass(net, inputs, targets, group, copy_net=False)  # the last use of net
        each = (time.process_time() - t0) / len(group)
        for name in group:
            out[name], out[f"cpu_s_{name}"] = values[name], each
    return {k: out[k] for k in ["build_cpu_s", *(x for n in names for x in (n, f"cpu_s_{n}"))]}


__all__ = ["ESTIMATORS", "DATA_FREE", "UNDEFINED_FOR_LM", "EstimatorUndefined", "n_params", "n_flops", "synflow",
           "snip", "grad_norm", "grasp", "fisher", "jacob_cov", "naswot", "estimator_batch", "defined_estimators",
           "estimate_all", "is_language_model", "GRADIENT_GROUP", "FORWARD_GROUP", "DATA_GROUP", "gradient_group", "forward_group",
           "shared_pass"]
