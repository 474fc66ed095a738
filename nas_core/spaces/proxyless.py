"""ProxylessNAS search space, GPU setting (paper appendix A.2.4).

Backbone (ProxylessNAS-GPU, width multiplier 1.35; channels = make_divisible(base * 1.35, 8)):

    stem       3x3 conv stride 2            32 -> 40
    first      MBConv expand 1, kernel 3    16 -> 24   (fixed, not searched)
    stage 1    4 layers, first stride 2     24 -> 32
    stage 2    4 layers, first stride 2     40 -> 56
    stage 3    4 layers, first stride 2     80 -> 112
    stage 4    4 layers, first stride 1     96 -> 128
    stage 5    4 layers, first stride 2    192 -> 256
    stage 6    1 layer,  stride 1          320 -> 432
    head       1x1 conv 1280 -> 1728, global average pool, dropout, linear

Base widths, layer counts and strides follow the ProxylessNAS search code
(``width_stages = [24, 40, 80, 96, 192, 320]``, ``n_cell_stages = [4, 4, 4, 4, 4, 1]``,
``stride_stages = [2, 2, 2, 1, 2, 1]``); the published proxyless_gpu network has
exactly these channels. The head keeps 1280 channels for width multipliers <= 1,
as ProxylessNAS and MobileNetV2 do; the small profiles (smoke, cpu) set
``scale_head`` so that it scales with the width like every other layer.
Why: the classifier's step on a logit grows with the squared norm of the
pooled head features (1280 non-negative ReLU6 outputs), so a 1280-wide head
on a tiny 10-class network made Table 2's learning rate (0.2) blow the loss up
within a few steps (first-epoch loss ~8 where ln 10 = 2.3 at the start). The
paper setting (width 1.35 scales the head anyway) is unchanged.

The 21 searchable layers are numbered ``layer01`` .. ``layer21``. Each picks an
MBConv with kernel {3, 5, 7} and expansion {3, 6}, written ``k{kernel}_e{expand}``
(6 choices). The first layer of each stage (layers 01, 05, 09, 13, 17, 21)
changes the tensor shape and cannot be skipped; the other 15 keep the shape,
may also be ``skip`` (identity) and, when an MBConv, add a residual connection.
Which layers keep the shape is fixed by position, so the space is the same
at every width (at tiny widths layer13's channels can coincide; it still gets
no skip and no residual). Size: 6**6 * 7**15 = 2.22e17.

FairNAS (``from_decisions``): every layer is an op decision, so a fair set of
m = 7 paths uses each of a layer's candidates once; the six first-in-stage
layers have only 6 candidates and take one extra uniform draw (see
``sampling.FairNasSampler``). Every combination is valid.

Canonical string: the 21 choices joined by ``:``, e.g. PROXYLESS_GPU is
``k5_e3:skip:skip:skip:k7_e3:skip:skip:k3_e3:k7_e6:skip:skip:k5_e3:k5_e6:k3_e3:skip:k5_e3:k7_e6:k7_e6:k7_e6:k5_e6:k7_e6``.

FLOPs are multiply-adds of convolutions and the linear layer for one image
(BN, activations, pooling and residual additions are not counted), the way
ProxylessNAS counts them.
"""
from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Iterable, Mapping

import torch
import torch.nn as nn

from .base import Cost, InvalidArchitecture, SearchSpace
from .config import Budget, Recipe, smoke_budget

KERNELS = (3, 5, 7)
EXPANSIONS = (3, 6)
MB_OPS = tuple(f"k{k}_e{e}" for k in KERNELS for e in EXPANSIONS)
SKIP = "skip"
ALL_OPS = MB_OPS + (SKIP,)

# (base width, number of layers, stride of the first layer), before the width multiplier
STAGES = ((24, 4, 2), (40, 4, 2), (80, 4, 2), (96, 4, 1), (192, 4, 2), (320, 1, 1))
STEM_WIDTH, FIRST_WIDTH, HEAD_WIDTH = 32, 16, 1280
N_LAYERS = sum(n for _, n, _ in STAGES)  # 21
# True for layers that keep the shape (not first in their stage): skippable, residual
KEEPS_SHAPE = tuple(i > 0 for _, n, _ in STAGES for i in range(n))
DECISION_NAMES = tuple(f"layer{i + 1:02d}" for i in range(N_LAYERS))
FULL_CHOICES = tuple(ALL_OPS if keep else MB_OPS for keep in KEEPS_SHAPE)

BN_EPS, BN_MOMENTUM = 1e-3, 0.1  # ProxylessNAS bn_param
MOBILE_FLOPS_LIMIT = 600_000_000  # the paper's "Proxyless-600M" filter (paper scale)


def parse_op(op: str) -> tuple[int, int]:
    """``"k5_e3"`` -> (kernel 5, expansion 3)."""
    k, e = op.split("_")
    return int(k[1:]), int(e[1:])


def make_divisible(v: float, divisor: int = 8) -> int:
    """Round to a multiple of ``divisor`` (at least ``divisor``), never more than 10% down."""
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


@dataclass(frozen=True)
class ProxylessArch:
    """One choice per searchable layer: ``"k{3,5,7}_e{3,6}"`` or ``"skip"``."""

    ops: tuple[str, ...]

    def __str__(self) -> str:
        return ":".join(self.ops)


PROXYLESS_GPU = ProxylessArch((
    "k5_e3", "skip", "skip", "skip",  # stage 1 -> 32
    "k7_e3", "skip", "skip", "k3_e3",  # stage 2 -> 56
    "k7_e6", "skip", "skip", "k5_e3",  # stage 3 -> 112
    "k5_e6", "k3_e3", "skip", "k5_e3",  # stage 4 -> 128
    "k7_e6", "k7_e6", "k7_e6", "k5_e6",  # stage 5 -> 256
    "k7_e6",  # stage 6 -> 432
))


# ---- plan: channels and strides for a width multiplier ------------------------
@dataclass(frozen=True)
class _Plan:
    stem: int
    stem_stride: int
    first: int
    layers: tuple[tuple[int, int, int], ...]  # (in channels, out channels, stride) per layer
    head: int


@lru_cache(maxsize=None)
def _plan(width_mult: float, small_input: bool, scale_head: bool = False) -> _Plan:
    cin = make_divisible(FIRST_WIDTH * width_mult)
    layers = []
    for base, n, stride in STAGES:
        cout = make_divisible(base * width_mult)
        for i in range(n):
            layers.append((cin, cout, stride if i == 0 else 1))
            cin = cout
    head = make_divisible(HEAD_WIDTH * width_mult) if width_mult > 1.0 or scale_head else HEAD_WIDTH
    return _Plan(make_divisible(STEM_WIDTH * width_mult), 1 if small_input else 2,
                 make_divisible(FIRST_WIDTH * width_mult), tuple(layers), head)


# ---- analytic cost --------------------------------------------------------------
def _conv_cost(cin, cout, k, stride, h, groups=1):
    """(params incl. BN affine, multiply-adds, output size) of conv-BN with same padding."""
    h_out = -(-h // stride)
    params = cin // groups * k * k * cout + 2 * cout
    return params, cin // groups * k * k * cout * h_out * h_out, h_out


def _mbconv_cost(cin, cout, k, stride, expand, h):
    hidden = cin * expand
    p = m = 0
    if expand != 1:
        dp, dm, h = _conv_cost(cin, hidden, 1, 1, h)
        p, m = p + dp, m + dm
    dp, dm, h = _conv_cost(hidden, hidden, k, stride, h, groups=hidden)
    p, m = p + dp, m + dm
    dp, dm, h = _conv_cost(hidden, cout, 1, 1, h)
    return p + dp, m + dm, h


@lru_cache(maxsize=64)
def _cost_table(width_mult, small_input, scale_head, image_size, num_classes, in_channels):
    """Fixed part (params, macs) and, per layer, {op: (params, macs)}."""
    plan = _plan(width_mult, small_input, scale_head)
    p, m, h = _conv_cost(in_channels, plan.stem, 3, plan.stem_stride, image_size)
    dp, dm, h = _mbconv_cost(plan.stem, plan.first, 3, 1, 1, h)
    fixed_p, fixed_m = p + dp, m + dm
    per_layer = []
    for cin, cout, stride in plan.layers:
        row = {SKIP: (0, 0)}
        for op in MB_OPS:
            k, e = parse_op(op)
            op_p, op_m, h_out = _mbconv_cost(cin, cout, k, stride, e, h)
            row[op] = (op_p, op_m)
        per_layer.append(row)
        h = h_out
    dp, dm, h = _conv_cost(plan.layers[-1][1], plan.head, 1, 1, h)
    fixed_p += dp + plan.head * num_classes + num_classes
    fixed_m += dm + plan.head * num_classes
    return fixed_p, fixed_m, tuple(per_layer)


def count_macs(model: nn.Module, x: torch.Tensor, *args) -> int:
    """Multiply-adds per sample of ``model(x, *args)``, counted with hooks on Conv2d and Linear."""
    total = 0

    def hook(mod, inputs, out):
        nonlocal total
        if isinstance(mod, nn.Conv2d):
            kh, kw = mod.kernel_size
            total += out.numel() * (mod.in_channels // mod.groups) * kh * kw
        else:
            total += out.numel() * mod.in_features

    handles = [mod.register_forward_hook(hook) for mod in model.modules()
               if isinstance(mod, (nn.Conv2d, nn.Linear))]
    try:
        with torch.no_grad():
            model(x, *args)
    finally:
        for hnd in handles:
            hnd.remove()
    return total // x.shape[0]


# ---- networks -----------------------------------------------------------------
def _conv_bn(cin, cout, k, stride=1, groups=1, act=True):
    layers = [nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False),
              nn.BatchNorm2d(cout, eps=BN_EPS, momentum=BN_MOMENTUM)]
    if act:
        layers.append(nn.ReLU6(inplace=True))
    return nn.Sequential(*layers)


class MBConv(nn.Module):
    """Inverted residual: 1x1 expand-BN-ReLU6, kxk depthwise-BN-ReLU6, 1x1 project-BN (+ x)."""

    def __init__(self, cin, cout, kernel, stride, expand, residual):
        super().__init__()
        hidden = cin * expand
        layers = [_conv_bn(cin, hidden, 1)] if expand != 1 else []
        layers += [_conv_bn(hidden, hidden, kernel, stride, groups=hidden),
                   _conv_bn(hidden, cout, 1, act=False)]
        self.body = nn.Sequential(*layers)
        self.residual = residual

    def forward(self, x):
        y = self.body(x)
        return x + y if self.residual else y


def _make_op(op, cin, cout, stride, keeps_shape):
    if op == SKIP:
        return nn.Identity()
    k, e = parse_op(op)
    return MBConv(cin, cout, k, stride, e, residual=keeps_shape)


def _init_weights(net: nn.Module) -> None:
    # ProxylessNAS "he_fout": std = sqrt(2 / (k*k*out/groups)); BN 1/0; linear bias 0
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            n = m.kernel_size[0] * m.kernel_size[1] * m.out_channels / m.groups
            nn.init.normal_(m.weight, 0.0, math.sqrt(2.0 / n))
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)


class _Backbone(nn.Module):
    """Fixed stem, first block and head around the 21 searchable layers.

    ``zero_init_residual``: every residual MBConv starts as the identity (its last BN's
    gamma 0, Goyal et al. 2017). Only supernets of the cpu and smoke profiles use it
    (``Budget.supernet_cfg``).
    """

    def __init__(self, plan: _Plan, layers, num_classes, in_channels, dropout, zero_init_residual=False):
        super().__init__()
        self.stem = _conv_bn(in_channels, plan.stem, 3, plan.stem_stride)
        self.first = MBConv(plan.stem, plan.first, 3, 1, 1, residual=False)
        self.layers = nn.ModuleList(layers)
        self.head = _conv_bn(plan.layers[-1][1], plan.head, 1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(plan.head, num_classes)
        _init_weights(self)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, MBConv) and m.residual:
                    nn.init.zeros_(m.body[-1][1].weight)

    def _classify(self, x):
        x = self.pool(self.head(x)).flatten(1)
        return self.classifier(self.dropout(x))


class ProxylessNet(_Backbone):
    """Stand-alone network of one architecture; ``forward(x)``."""

    def __init__(self, arch: ProxylessArch, plan: _Plan, num_classes, in_channels, dropout, zero_init_residual=False):
        layers = [_make_op(op, cin, cout, s, keep)
                  for op, (cin, cout, s), keep in zip(arch.ops, plan.layers, KEEPS_SHAPE)]
        super().__init__(plan, layers, num_classes, in_channels, dropout, zero_init_residual)
        self.arch = arch

    def forward(self, x):
        x = self.first(self.stem(x))
        for layer in self.layers:
            x = layer(x)
        return self._classify(x)


class ProxylessSupernet(_Backbone):
    """Every layer holds each allowed candidate with its own weights (ProxylessNAS MixedEdge);
    ``forward(x, arch)`` runs the single path ``arch``."""

    def __init__(self, choices, plan: _Plan, num_classes, in_channels, dropout, zero_init_residual=False):
        layers = [nn.ModuleDict({op: _make_op(op, cin, cout, s, keep) for op in ops})
                  for ops, (cin, cout, s), keep in zip(choices, plan.layers, KEEPS_SHAPE)]
        super().__init__(plan, layers, num_classes, in_channels, dropout, zero_init_residual)

    def forward(self, x, arch):
        if isinstance(arch, str):
            arch = ProxylessSpace().parse(arch)
        if len(arch.ops) != len(self.layers):
            raise InvalidArchitecture(f"expected {len(self.layers)} layer choices, got {len(arch.ops)}")
        x = self.first(self.stem(x))
        for i, (layer, op) in enumerate(zip(self.layers, arch.ops)):
            if op not in layer:
                raise InvalidArchitecture(
                    f"{DECISION_NAMES[i]}: {op!r} is not a candidate of this supernet ({', '.join(layer)})")
            x = layer[op](x)
        return self._classify(x)


# ---- the space ------------------------------------------------------------------
_PROFILES = {
    # tiny network for tests; stem stride 1 so 16x16 inputs still reach 1x1 at the end
    # scale_head: head width follows width_mult (1280 would dwarf the tiny network; module docstring)
    "smoke": dict(dataset="cifar10-4k", image_size=16, num_classes=10, in_channels=3, width_mult=0.25,
                  small_input=True, scale_head=True, dropout=0.0, n_train=256, n_valid=128),
    # CPU stand-in for ImageNet (provisional): CIFAR-10 subset at 32x32, narrow network
    "cpu": dict(dataset="cifar10-4k", image_size=32, num_classes=10, in_channels=3, width_mult=0.35,
                small_input=True, scale_head=True, dropout=0.1, n_train=3000, n_valid=1000),
    # the paper: ImageNet train set (1.28M) for training, the 50k validation set held out;
    # dropout 0.3 as ProxylessNAS trains proxyless_gpu
    "paper": dict(dataset="imagenet", image_size=224, num_classes=1000, in_channels=3, width_mult=1.35,
                  small_input=False, scale_head=False, dropout=0.3, n_train=1_281_167, n_valid=50_000),
}
_NET_KEYS = ("image_size", "num_classes", "in_channels", "width_mult", "small_input", "scale_head", "dropout")


class ProxylessSpace(SearchSpace):
    """ProxylessNAS (GPU) chain-wise space; ``restrict`` gives another ProxylessSpace
    with narrowed per-layer choices (exact size, exact uniform sampling)."""

    name = "proxyless"
    title = "ProxylessNAS"
    space_type = "chain-wise"
    paper_dataset = "ImageNet"

    # ---- what the study knows about this space (base.STUDY_FACTS; read as get_space(name).<fact>) ----
    budgets = {
        "smoke": smoke_budget(supernet_cfg={"zero_init_residual": True}, around_trained_epochs=2),  # as cpu
        # supernet_cfg: without identity-initialised residual blocks the cpu supernet stays at chance
        # for its whole ladder (train loss ln 10; pilots in results/supernets, the book's Figure 1 page)
        "cpu": Budget((1, 2, 4, 8, 16, 32), 5, 100, 20, gt_extra_seed_archs=20,
                      recipe_overrides={"batch_size": 128, "bn_calib_steps": 10, "bn_calib_batch_size": 100},
                      supernet_cfg={"zero_init_residual": True},
                      around_trained_epochs=32),  # Figures 6b/6c past 4 epochs: the ladder's top rung
        "paper": Budget((32, 64, 128, 256, 512, 1000), 300, 1000, 36),
    }
    supernet_recipe = Recipe(batch_size=1024, lr=0.2, lr_end=0.0, momentum=0.9, nesterov=False, weight_decay=5e-4,
                             grad_clip=0, label_smoothing=0.1, bn_calib_batch_size=400, bn_calib_steps=25, gpus=8,
                             source="Table 2")
    # ProxylessNAS imagenet_run_exp.py: SGD Nesterov 0.9, cosine, wd 4e-5 (not on BN), label smoothing 0.1,
    # 300 epochs, lr 0.05 at batch 256; the paper trains at batch 1024 on 8 GPUs (A.1), lr scaled linearly to 0.2.
    # 8-GPU data parallelism is the same update as one process with batch 1024 (BN statistics aside): gpus=1
    standalone_recipe = Recipe(batch_size=1024, lr=0.2, momentum=0.9, nesterov=True, weight_decay=4e-5,
                               no_decay_bn=True, label_smoothing=0.1, epochs=300,
                               source="ProxylessNAS imagenet_run_exp.py (lr 0.05 x 1024/256)")
    table2_column = "Proxyless"
    # Figure 1: the paper had no fair number of ground truths here, so it shows no correlation and
    # draws the stand-alone accuracy of the ProxylessNAS-GPU architecture instead.
    reference_line = True
    gold, gold_name = PROXYLESS_GPU, "ProxylessNAS-GPU"  # Figure 6c prunes around it
    fallback_rates = (22.4, 3.4)  # s/epoch, s/arch (base.SearchSpace.fallback_rates)

    def __init__(self, choices: tuple[tuple[str, ...], ...] = FULL_CHOICES):
        self.choices = tuple(tuple(c) for c in choices)

    # ---- architectures --------------------------------------------------------
    def parse(self, s: str) -> ProxylessArch:
        if not isinstance(s, str):
            raise InvalidArchitecture(f"expected a string, got {type(s).__name__}")
        arch = ProxylessArch(tuple(t.strip() for t in s.strip().split(":")))
        self.validate(arch)
        return arch

    def validate(self, arch) -> None:
        if not isinstance(arch, ProxylessArch) or not isinstance(arch.ops, tuple):
            raise InvalidArchitecture(f"expected a ProxylessArch with a tuple of ops, got {arch!r}")
        if len(arch.ops) != N_LAYERS:
            raise InvalidArchitecture(f"expected {N_LAYERS} ':'-separated layer choices, got {len(arch.ops)}")
        for name, op, keep, allowed in zip(DECISION_NAMES, arch.ops, KEEPS_SHAPE, self.choices):
            if op not in ALL_OPS:
                raise InvalidArchitecture(f"{name}: unknown op {op!r}; choose from {', '.join(ALL_OPS)}")
            if op == SKIP and not keep:
                raise InvalidArchitecture(f"{name} is the first layer of a stage (changes the shape) "
                                          "and cannot be skipped")
            if op not in allowed:
                raise InvalidArchitecture(f"{name}: {op!r} is pruned from this space; allowed: {', '.join(allowed)}")

    def size(self) -> int:
        return math.prod(len(c) for c in self.choices)

    def sample(self, rng: random.Random) -> ProxylessArch:
        # independent uniform choice per layer = uniform over the product space
        return ProxylessArch(tuple(c[rng.randrange(len(c))] for c in self.choices))

    def enumerate(self):
        if self.size() > 10**7:
            return super().enumerate()
        return (ProxylessArch(ops) for ops in itertools.product(*self.choices))

    def decisions(self, arch) -> dict[str, str]:
        return dict(zip(DECISION_NAMES, arch.ops))

    def decision_choices(self) -> dict[str, tuple]:
        return dict(zip(DECISION_NAMES, self.choices))

    def from_decisions(self, decisions: Mapping[str, str]) -> ProxylessArch:
        """Inverse of ``decisions``; raises InvalidArchitecture if the result is not in this space."""
        missing = [n for n in DECISION_NAMES if n not in decisions]
        if missing:
            raise InvalidArchitecture(f"missing decisions {missing}")
        arch = ProxylessArch(tuple(decisions[n] for n in DECISION_NAMES))
        self.validate(arch)
        return arch

    def around(self, gold: ProxylessArch, n_free: int, seed: int = 0) -> "ProxylessSpace":
        """Figure 6c: ``n_free`` of the 15 skippable layers (drawn with ``seed``) choose among their 7
        candidates, every other layer is fixed to the gold op."""
        skippable = [n for n, keep in zip(DECISION_NAMES, KEEPS_SHAPE) if keep]
        if not 0 <= n_free <= len(skippable):
            raise ValueError(f"ProxylessNAS has {len(skippable)} skippable layers: n_free must be in "
                             f"0..{len(skippable)}, got {n_free}")
        self.validate(gold)
        free = set(random.Random(seed).sample(skippable, n_free))
        d = self.decisions(gold)
        return self.restrict({k: (v,) for k, v in d.items() if k not in free})

    def restrict(self, allowed: Mapping[str, Iterable]) -> "ProxylessSpace":
        """Narrow some layers' choices (optimistic pruning, paper Figure 6c). Candidates must
        be in this space already; unnamed layers keep their choices."""
        current = self.decision_choices()
        for k, v in allowed.items():
            if k not in current:
                raise ValueError(f"unknown decision {k!r}; decisions are layer01 .. layer{N_LAYERS:02d}")
            v = tuple(dict.fromkeys(v))
            bad = [c for c in v if c not in current[k]]
            if bad or not v:
                raise ValueError(f"decision {k!r} cannot take {bad or 'no candidate'}; candidates: {current[k]}")
            # keep this space's candidate order so equal restrictions give equal spaces
            current[k] = tuple(c for c in current[k] if c in v)
        return ProxylessSpace(tuple(current[n] for n in DECISION_NAMES))

    # ---- networks -------------------------------------------------------------
    def config(self, profile: str) -> dict[str, Any]:
        if profile not in _PROFILES:
            raise ValueError(f"unknown profile {profile!r}; choose one of: {', '.join(_PROFILES)}")
        return dict(_PROFILES[profile])

    @staticmethod
    def _net_cfg(cfg: Mapping[str, Any]) -> dict[str, Any]:
        # missing network keys fall back to the paper setting; zero_init_residual is off unless set
        # (only Budget.supernet_cfg sets it, so no stored configuration names it)
        return {**{k: cfg.get(k, _PROFILES["paper"][k]) for k in _NET_KEYS},
                "zero_init_residual": bool(cfg.get("zero_init_residual", False))}

    def supernet(self, cfg: Mapping[str, Any]) -> ProxylessSupernet:
        c = self._net_cfg(cfg)
        return ProxylessSupernet(self.choices, _plan(c["width_mult"], c["small_input"], c["scale_head"]),
                                 c["num_classes"], c["in_channels"], c["dropout"], c["zero_init_residual"])

    def standalone(self, arch, cfg: Mapping[str, Any]) -> ProxylessNet:
        self.validate(arch)
        c = self._net_cfg(cfg)
        return ProxylessNet(arch, _plan(c["width_mult"], c["small_input"], c["scale_head"]),
                            c["num_classes"], c["in_channels"], c["dropout"], c["zero_init_residual"])

    def cost(self, arch, cfg: Mapping[str, Any]) -> Cost:
        """Analytic (no network built): parameters and multiply-adds per image."""
        self.validate(arch)
        c = self._net_cfg(cfg)
        fixed_p, fixed_m, per_layer = _cost_table(c["width_mult"], c["small_input"], c["scale_head"],
                                                  c["image_size"], c["num_classes"], c["in_channels"])
        params, macs = fixed_p, fixed_m
        for op, row in zip(arch.ops, per_layer):
            params += row[op][0]
            macs += row[op][1]
        return Cost(params=params, flops=macs)

    def flops_paper_scale(self, arch) -> int:
        """Multiply-adds at 224x224, 1000 classes, width 1.35 (for the FLOPs < 600M filter)."""
        return self.cost(arch, _PROFILES["paper"]).flops
