"""DARTS-CIFAR10: the DARTS convolutional cell space (paper appendix A.2.3).

A network stacks a *normal* and a *reduction* cell. Each cell has two inputs
(nodes 0 and 1: the outputs of the two previous cells) and four intermediate
nodes 2..5, all concatenated into the cell output. Node ``n`` sums two *choice
blocks*; each block picks one input among nodes ``0..n-1`` and one of the seven
non-zero DARTS operations. In the reduction cell an op has stride 2 iff its
input is a cell input (0 or 1), as in DARTS.

Architecture = the DARTS ``Genotype``: 8 ``(op, input)`` pairs per cell, in
node order (blocks 0 and 1 of node 2, then of node 3 ...). ``str(arch)`` is
the namedtuple's repr, e.g. ``Genotype(normal=[('sep_conv_3x3', 0), ...],
normal_concat=range(2, 6), reduce=[...], reduce_concat=range(2, 6))``;
``parse`` also accepts DARTS's ``normal_concat=[2, 3, 4, 5]`` spelling.

Size. The two blocks of a node are *ordered* (block 0, block 1) and, as in
every DARTS genotype, pick *distinct* inputs. Per node with k = n inputs that
is k(k-1) input pairs times 7*7 ops; per cell prod_{k=2..5} 49 k(k-1) =
49^4 * 2880; normal x reduction gives (49^4 * 2880)^2 = 275,647,219,316,498,534,400
~ 2.76e20, exactly the paper's Table 1 figure. ``size_variants()`` gives the
other ways of counting (repeated inputs allowed: 6.89e21; unordered blocks:
1.08e18 distinct / 3.85e19 with repeats); none of them rounds to 2.76e20.
``DartsCnnSpace(distinct_inputs=False)`` is the ENAS-style space with repeats.

Networks follow DARTS's ``NetworkCIFAR`` (stem, cells with reductions at
layers//3 and 2*layers//3, preprocessing, drop-path, auxiliary head). The
stand-alone network and the supernet are the same class: a stand-alone
network's blocks hold only their chosen op; the supernet's blocks hold all
seven (ENAS-style: one op instance per block, shared by every input choice).
Parameter names agree, so a stand-alone network can load supernet weights.

Strides in the supernet are set per forward pass from the picked input;
separable/dilated convolutions and pools have the same parameters at stride 1
and 2. ``skip_connect`` at stride 2 is DARTS's ``FactorizedReduce`` (two 1x1
convs + BN): every block of a supernet *reduction* cell owns one, used when the
block picks ``skip_connect`` from input 0 or 1 and idle (identity) otherwise.
A stand-alone network has it only where the genotype needs it.

Output conventions: ``forward`` returns the logits; when the network has an
auxiliary head and is training, the auxiliary logits are left in
``net.logits_aux`` (None otherwise). ``net.drop_path_prob`` is the current
drop-path probability; DARTS raises it linearly from 0 to ``cfg['drop_path_prob']``
over training, which is the trainer's job.
"""
from __future__ import annotations

import ast
import itertools
import math
import random
from collections import namedtuple
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

import torch
import torch.nn as nn
import torch.nn.functional as F

from . import ops
from .base import Cost, InvalidArchitecture, SearchSpace, narrow_choices
from .config import Budget, Recipe, smoke_budget

Genotype = namedtuple("Genotype", "normal normal_concat reduce reduce_concat")

OPS = ("max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5")
CELLS = ("normal", "reduce")
NODES = (2, 3, 4, 5)  # intermediate nodes; node n takes inputs 0..n-1
CONCAT = tuple(range(2, 6))


@dataclass(frozen=True)
class DartsCnnArch:
    normal: tuple  # 8 (op, input) pairs: node 2 block 0, node 2 block 1, node 3 block 0, ...
    reduce: tuple

    def __str__(self) -> str:
        return repr(to_genotype(self))

    def cell(self, name: str) -> tuple:
        return self.normal if name == "normal" else self.reduce


def to_genotype(arch: DartsCnnArch) -> Genotype:
    """DARTS's namedtuple (lists of pairs, concat ``range(2, 6)``)."""
    return Genotype(list(arch.normal), range(2, 6), list(arch.reduce), range(2, 6))


def from_genotype(g) -> DartsCnnArch:
    """Any object with DARTS's Genotype fields -> architecture (validated)."""
    for f in ("normal_concat", "reduce_concat"):
        if tuple(getattr(g, f)) != CONCAT:
            raise InvalidArchitecture(f"{f} must be [2, 3, 4, 5] (all nodes concatenated), got {list(getattr(g, f))}")
    try:
        arch = DartsCnnArch(tuple((str(o), int(i)) for o, i in g.normal), tuple((str(o), int(i)) for o, i in g.reduce))
    except (TypeError, ValueError) as e:
        raise InvalidArchitecture(f"cells must be lists of (op, input) pairs: {e}") from None
    DartsCnnSpace().validate(arch)
    return arch


DARTS_V2 = DartsCnnArch(
    normal=(("sep_conv_3x3", 0), ("sep_conv_3x3", 1), ("sep_conv_3x3", 0), ("sep_conv_3x3", 1),
            ("sep_conv_3x3", 1), ("skip_connect", 0), ("skip_connect", 0), ("dil_conv_3x3", 2)),
    reduce=(("max_pool_3x3", 0), ("max_pool_3x3", 1), ("skip_connect", 2), ("max_pool_3x3", 1),
            ("max_pool_3x3", 0), ("skip_connect", 2), ("skip_connect", 2), ("max_pool_3x3", 1)),
)


def size_variants() -> dict[str, int]:
    """Counts of the full space under the possible readings (see module docstring)."""
    per_cell = {
        "ordered_distinct_inputs": math.prod(49 * k * (k - 1) for k in range(2, 6)),  # = size(); paper's 2.76e20
        "ordered_with_repeats": math.prod((7 * k) ** 2 for k in range(2, 6)),  # ENAS-style blocks
        "unordered_distinct_inputs": math.prod(49 * math.comb(k, 2) for k in range(2, 6)),  # DARTS edge sets
        "unordered_with_repeats": math.prod(7 * k * (7 * k + 1) // 2 for k in range(2, 6)),
    }
    return {k: v * v for k, v in per_cell.items()}  # normal x reduction


# ---- parsing -------------------------------------------------------------------


def _concat_value(node, field):
    # ``range(2, 6)`` as DARTS search prints it, or a literal list
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "range":
        return tuple(range(*[ast.literal_eval(a) for a in node.args]))
    return tuple(ast.literal_eval(node))


def _parse_genotype(s: str, fields: tuple[str, ...], concat_fields: tuple[str, ...]) -> dict:
    """``Genotype(f=..., ...)`` -> {field: python value}; no code is evaluated."""
    try:
        call = ast.parse(s.strip(), mode="eval").body
    except SyntaxError as e:
        raise InvalidArchitecture(f"not a Genotype(...) expression: {e.msg}: {s!r}") from None
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "Genotype"):
        raise InvalidArchitecture(f"expected 'Genotype(...)', got {s!r}")
    nodes = dict(zip(fields, call.args))
    for kw in call.keywords:
        if kw.arg not in fields or kw.arg in nodes:
            raise InvalidArchitecture(f"unexpected or repeated Genotype field {kw.arg!r}; fields are {fields}")
        nodes[kw.arg] = kw.value
    if len(call.args) > len(fields) or set(nodes) != set(fields):
        raise InvalidArchitecture(f"Genotype needs exactly the fields {fields}, got {sorted(nodes)}")
    out = {}
    for f, node in nodes.items():
        try:
            out[f] = _concat_value(node, f) if f in concat_fields else ast.literal_eval(node)
        except (ValueError, TypeError, SyntaxError):
            raise InvalidArchitecture(f"field {f!r} is not a literal value") from None
    return out


# ---- operations (stride chosen per call) -----------------------------------------


class ReLUConvBN(nn.Sequential):
    def __init__(self, C_in, C_out):
        super().__init__(nn.ReLU(), nn.Conv2d(C_in, C_out, 1, bias=False), nn.BatchNorm2d(C_out))


class FactorizedReduce(nn.Module):
    """Halves the resolution with two offset 1x1 stride-2 convs (DARTS)."""

    def __init__(self, C_in, C_out):
        super().__init__()
        self.conv_1 = nn.Conv2d(C_in, C_out // 2, 1, stride=2, bias=False)
        self.conv_2 = nn.Conv2d(C_in, C_out - C_out // 2, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(C_out)

    def forward(self, x):
        x = F.relu(x)
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(x[:, :, 1:, 1:])], dim=1))


class SepConv(nn.Module):
    """ReLU-dw-pw-BN twice; only the first depthwise conv is strided."""

    def __init__(self, C, k):
        super().__init__()
        p = k // 2
        self.op = nn.Sequential(
            nn.ReLU(), nn.Conv2d(C, C, k, padding=p, groups=C, bias=False), nn.Conv2d(C, C, 1, bias=False), nn.BatchNorm2d(C),
            nn.ReLU(), nn.Conv2d(C, C, k, padding=p, groups=C, bias=False), nn.Conv2d(C, C, 1, bias=False), nn.BatchNorm2d(C),
        )

    def forward(self, x, stride=1):
        self.op[1].stride = (stride, stride)  # same weights at any stride
        return self.op(x)


class DilConv(nn.Module):
    """ReLU, dilated (2) depthwise conv, pointwise conv, BN."""

    def __init__(self, C, k):
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(), nn.Conv2d(C, C, k, padding=k - 1, dilation=2, groups=C, bias=False),
            nn.Conv2d(C, C, 1, bias=False), nn.BatchNorm2d(C),
        )

    def forward(self, x, stride=1):
        self.op[1].stride = (stride, stride)
        return self.op(x)


class Pool(nn.Module):
    def __init__(self, kind):
        super().__init__()
        self.kind = kind

    def forward(self, x, stride=1):
        if self.kind == "max":
            return ops.max_pool2d(x, 3, stride, 1)
        return F.avg_pool2d(x, 3, stride, 1, count_include_pad=False)


class Skip(nn.Module):
    """Identity at stride 1; FactorizedReduce (with parameters) at stride 2."""

    def __init__(self, C, reducible):
        super().__init__()
        self.reduce = FactorizedReduce(C, C) if reducible else None

    def forward(self, x, stride=1):
        return x if stride == 1 else self.reduce(x)


def make_op(name: str, C: int, reducible: bool) -> nn.Module:
    if name == "skip_connect":
        return Skip(C, reducible)
    if name.endswith("pool_3x3"):
        return Pool(name[:3])
    k = int(name[-1])
    return SepConv(C, k) if name.startswith("sep") else DilConv(C, k)


def drop_path(x, p):
    keep = 1.0 - p
    mask = torch.empty(x.size(0), 1, 1, 1, device=x.device, dtype=x.dtype).bernoulli_(keep)
    return x / keep * mask


# ---- networks ---------------------------------------------------------------------


class Cell(nn.Module):
    """Eight choice blocks; ``ops[b]`` maps op name -> module (all 7 in a supernet)."""

    def __init__(self, C_pp, C_p, C, reduction, reduction_prev, cell_arch=None):
        super().__init__()
        self.reduction = reduction
        self.preprocess0 = FactorizedReduce(C_pp, C) if reduction_prev else ReLUConvBN(C_pp, C)
        self.preprocess1 = ReLUConvBN(C_p, C)
        self.ops = nn.ModuleList()
        for b in range(8):
            if cell_arch is None:  # supernet: every op, FactorizedReduce wherever stride 2 can occur
                self.ops.append(nn.ModuleDict({o: make_op(o, C, reduction) for o in OPS}))
            else:
                o, i = cell_arch[b]
                self.ops.append(nn.ModuleDict({o: make_op(o, C, reduction and i < 2)}))

    def forward(self, s0, s1, cell_arch, drop_prob):
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for n in range(4):
            s = 0
            for b in (2 * n, 2 * n + 1):
                o, i = cell_arch[b]
                stride = 2 if self.reduction and i < 2 else 1
                h = self.ops[b][o](states[i], stride)
                if self.training and drop_prob > 0 and not (o == "skip_connect" and stride == 1):
                    h = drop_path(h, drop_prob)  # DARTS skips drop-path on identities only
                s = s + h
            states.append(s)
        return torch.cat(states[2:], dim=1)


class AuxiliaryHeadCIFAR(nn.Module):
    """DARTS's auxiliary classifier; expects an 8x8 feature map (32x32 images)."""

    def __init__(self, C, num_classes):
        super().__init__()
        self.features = nn.Sequential(
            nn.ReLU(), nn.AvgPool2d(5, stride=3, padding=0, count_include_pad=False),
            nn.Conv2d(C, 128, 1, bias=False), nn.BatchNorm2d(128), nn.ReLU(),
            nn.Conv2d(128, 768, 2, bias=False), nn.BatchNorm2d(768), nn.ReLU(),
        )
        self.classifier = nn.Linear(768, num_classes)

    def forward(self, x):
        return self.classifier(self.features(x).flatten(1))


class DartsCifarNet(nn.Module):
    """DARTS NetworkCIFAR. ``arch`` given: stand-alone network; None: supernet."""

    def __init__(self, C, num_classes, layers, auxiliary=False, drop_path_prob=0.0, in_channels=3, arch=None):
        super().__init__()
        self.arch = arch
        self.layers = layers
        self.drop_path_prob = drop_path_prob
        self.logits_aux = None
        C_curr = 3 * C
        self.stem = nn.Sequential(nn.Conv2d(in_channels, C_curr, 3, padding=1, bias=False), nn.BatchNorm2d(C_curr))
        C_pp, C_p, C_curr = C_curr, C_curr, C
        self.cells = nn.ModuleList()
        reduction_prev = False
        for i in range(layers):
            reduction = i in (layers // 3, 2 * layers // 3)
            if reduction:
                C_curr *= 2
            cell_arch = None if arch is None else arch.cell("reduce" if reduction else "normal")
            self.cells.append(Cell(C_pp, C_p, C_curr, reduction, reduction_prev, cell_arch))
            reduction_prev = reduction
            C_pp, C_p = C_p, 4 * C_curr
            if i == 2 * layers // 3:
                C_aux = C_p
        self.auxiliary_head = AuxiliaryHeadCIFAR(C_aux, num_classes) if auxiliary else None
        self.classifier = nn.Linear(C_p, num_classes)

    def forward(self, x, arch=None):
        arch = self.arch if arch is None else arch
        if arch is None:
            raise ValueError("the supernet needs an architecture: forward(x, arch)")
        self.logits_aux = None
        s0 = s1 = self.stem(x)
        for i, cell in enumerate(self.cells):
            s0, s1 = s1, cell(s0, s1, arch.cell("reduce" if cell.reduction else "normal"), self.drop_path_prob)
            if i == 2 * self.layers // 3 and self.auxiliary_head is not None and self.training:
                self.logits_aux = self.auxiliary_head(s1)
        return self.classifier(F.adaptive_avg_pool2d(s1, 1).flatten(1))


def count_macs(model: nn.Module, x: torch.Tensor, *args) -> int:
    """Multiply-adds of convolutions and linear layers for one forward of ``x`` (batch 1)."""
    total = 0

    def conv_hook(m, inp, out):
        nonlocal total
        total += out.numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]

    def linear_hook(m, inp, out):
        nonlocal total
        total += out.numel() * m.in_features

    hooks = [m.register_forward_hook(conv_hook) for m in model.modules() if isinstance(m, nn.Conv2d)]
    hooks += [m.register_forward_hook(linear_hook) for m in model.modules() if isinstance(m, nn.Linear)]
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(x, *args)
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    return total


# ---- the space --------------------------------------------------------------------


class DartsCnnSpace(SearchSpace):
    name = "darts_cnn"
    title = "DARTS-CIFAR10"
    paper_dataset = "CIFAR-10"

    # ---- what the study knows about this space (base.STUDY_FACTS; read as get_space(name).<fact>) ----
    budgets = {
        "smoke": smoke_budget(around_trained_epochs=2),
        "cpu": Budget((1, 2, 4, 8, 16, 32), 10, 100, 60, gt_extra_seed_archs=50,
                      recipe_overrides={"batch_size": 96, "bn_calib_steps": 10, "bn_calib_batch_size": 100},
                      around_trained_epochs=32),  # Figures 6b/6c past 4 epochs: the ladder's top rung
        "paper": Budget((32, 64, 128, 256, 512, 1000, 2000, 4000, 8000), 600, 1000, 100, gt_extra_seed_archs=100,
                        pruning_epochs=2000),  # section 3.3: each pruning supernet trains 2k epochs
    }
    supernet_recipe = Recipe(batch_size=448, lr=0.1, lr_end=0.0, momentum=0.9, nesterov=False, weight_decay=3e-4,
                             grad_clip=5, aux_weight=0.4, cutout=16, drop_path=0.2, bn_calib_batch_size=200,
                             bn_calib_steps=100, gpus=4, source="Table 2")
    # DARTS cnn/train.py: SGD 0.9, lr 0.025 cosine to 0, wd 3e-4, batch 96, 600 epochs, cutout 16, aux 0.4,
    # drop path 0.2, grad clip 5
    standalone_recipe = Recipe(batch_size=96, lr=0.025, momentum=0.9, weight_decay=3e-4, grad_clip=5, aux_weight=0.4,
                               cutout=16, drop_path=0.2, epochs=600, source="DARTS cnn/train.py")
    table2_column = "DARTS-C"
    edit_reference = DARTS_V2  # the paper measures edit distances to DARTS V2 (second order)
    pruning_sweep = True
    gold, gold_name = DARTS_V2, "DARTS (second order)"  # Figure 6b prunes around it
    fallback_rates = (18.5, 5.2)  # s/epoch, s/arch (base.SearchSpace.fallback_rates)

    def __init__(self, distinct_inputs: bool = True, allowed: Mapping[str, Iterable] | None = None):
        self.distinct_inputs = distinct_inputs
        self.allowed = dict(self._full_choices())
        for k, v in (allowed or {}).items():
            if k not in self.allowed:
                raise ValueError(f"unknown decision {k!r}; e.g. 'normal.n2.b0.input', 'reduce.n5.b1.op'")
            v = tuple(dict.fromkeys(v))
            bad = [c for c in v if c not in self.allowed[k]]
            if bad or not v:
                raise ValueError(f"decision {k!r} cannot take {bad or 'no candidate'}; candidates: {self.allowed[k]}")
            self.allowed[k] = tuple(c for c in self.allowed[k] if c in v)  # keep the canonical order
        self._pairs = {}  # (cell, node) -> allowed (input0, input1) pairs
        for cell, n in itertools.product(CELLS, NODES):
            p = [(a, b) for a in self.allowed[f"{cell}.n{n}.b0.input"] for b in self.allowed[f"{cell}.n{n}.b1.input"]
                 if not (distinct_inputs and a == b)]
            if not p:
                raise ValueError(f"restriction leaves no distinct input pair for {cell} node {n}")
            self._pairs[cell, n] = p

    @staticmethod
    def _full_choices():
        for cell, n, b in itertools.product(CELLS, NODES, (0, 1)):
            yield f"{cell}.n{n}.b{b}.input", tuple(range(n))
            yield f"{cell}.n{n}.b{b}.op", OPS

    # ---- architectures
    def parse(self, s: str) -> DartsCnnArch:
        if not isinstance(s, str):
            raise InvalidArchitecture(f"expected a string, got {type(s).__name__}")
        g = _parse_genotype(s, Genotype._fields, ("normal_concat", "reduce_concat"))
        for f in ("normal_concat", "reduce_concat"):
            if g[f] != CONCAT:
                raise InvalidArchitecture(f"{f} must be range(2, 6), got {list(g[f])}")
        cells = {}
        for cell in CELLS:
            pairs = g[cell]
            if not isinstance(pairs, (list, tuple)) or not all(isinstance(p, tuple) and len(p) == 2 for p in pairs):
                raise InvalidArchitecture(f"{cell} must be a list of (op, input) pairs")
            cells[cell] = tuple(pairs)
        arch = DartsCnnArch(cells["normal"], cells["reduce"])
        self.validate(arch)
        return arch

    def validate(self, arch) -> None:
        if not isinstance(arch, DartsCnnArch):
            raise InvalidArchitecture(f"expected a DartsCnnArch, got {type(arch).__name__}")
        for cell in CELLS:
            pairs = arch.cell(cell)
            if not isinstance(pairs, tuple):
                raise InvalidArchitecture(f"{cell} must be a tuple of (op, input) pairs, got {type(pairs).__name__}")
            if len(pairs) != 8:
                raise InvalidArchitecture(f"{cell} cell needs 8 (op, input) pairs (2 per node, 4 nodes), got {len(pairs)}")
            for b, p in enumerate(pairs):
                n = 2 + b // 2
                if not (isinstance(p, tuple) and len(p) == 2):
                    raise InvalidArchitecture(f"{cell} pair {b} is not an (op, input) pair: {p!r}")
                op, i = p
                if op not in OPS:
                    raise InvalidArchitecture(f"{cell} node {n}: unknown op {op!r}; ops are {OPS}")
                if type(i) is not int or not 0 <= i < n:
                    raise InvalidArchitecture(f"{cell} node {n}: input {i!r} out of range 0..{n - 1}")
            for n in NODES:
                i0, i1 = pairs[2 * n - 4][1], pairs[2 * n - 3][1]
                if self.distinct_inputs and i0 == i1:
                    raise InvalidArchitecture(f"{cell} node {n}: both blocks take input {i0}; inputs must differ")
        d = self.decisions(arch)
        for k, v in self.allowed.items():
            if d[k] not in v:
                raise InvalidArchitecture(f"{k} = {d[k]!r} is pruned from this sub-space (allowed: {v})")

    def size(self) -> int:
        """Number of architectures ``sample`` draws from (paper's count for the full space)."""
        total = 1
        for cell, n in itertools.product(CELLS, NODES):
            ops = len(self.allowed[f"{cell}.n{n}.b0.op"]) * len(self.allowed[f"{cell}.n{n}.b1.op"])
            total *= len(self._pairs[cell, n]) * ops
        return total

    size_variants = staticmethod(size_variants)

    def sample(self, rng: random.Random) -> DartsCnnArch:
        cells = {}
        for cell in CELLS:
            pairs = []
            for n in NODES:
                inputs = rng.choice(self._pairs[cell, n])  # uniform over allowed input pairs
                for b in (0, 1):
                    pairs.append((rng.choice(self.allowed[f"{cell}.n{n}.b{b}.op"]), inputs[b]))
            cells[cell] = tuple(pairs)
        return DartsCnnArch(cells["normal"], cells["reduce"])

    def enumerate(self):
        if self.size() > 10**7:
            raise NotImplementedError(f"{self.title} (sub-)space of {self.size():.3g} architectures is too large to enumerate")
        per_node = []
        for cell, n in itertools.product(CELLS, NODES):
            a = self.allowed
            per_node.append([((o0, i0), (o1, i1)) for i0, i1 in self._pairs[cell, n]
                             for o0 in a[f"{cell}.n{n}.b0.op"] for o1 in a[f"{cell}.n{n}.b1.op"]])
        for combo in itertools.product(*per_node):
            flat = [p for node in combo for p in node]
            yield DartsCnnArch(tuple(flat[:8]), tuple(flat[8:]))

    def decisions(self, arch) -> dict:
        d = {}
        for cell in CELLS:
            for b, (op, i) in enumerate(arch.cell(cell)):
                key = f"{cell}.n{2 + b // 2}.b{b % 2}"
                d[key + ".input"] = i
                d[key + ".op"] = op
        return d

    def decision_choices(self) -> dict:
        return dict(self.allowed)

    def from_decisions(self, decisions: Mapping) -> DartsCnnArch:
        """Inverse of ``decisions``; raises InvalidArchitecture if the result is not in this space.

        FairNAS (``sampling.FairNasSampler``) balances the 16 op decisions: m = 7 paths use
        each op of every choice block once. The inputs are not balanced (a block has 2..5
        candidates and the two blocks of a node must differ); each path takes the inputs
        of a uniform architecture, so they are always a valid distinct pair."""
        cells = {}
        for cell in CELLS:
            pairs = []
            for n, b in itertools.product(NODES, (0, 1)):
                key = f"{cell}.n{n}.b{b}"
                if key + ".op" not in decisions or key + ".input" not in decisions:
                    raise InvalidArchitecture(f"missing decision {key}.op or {key}.input")
                pairs.append((decisions[key + ".op"], decisions[key + ".input"]))
            cells[cell] = tuple(pairs)
        arch = DartsCnnArch(cells["normal"], cells["reduce"])
        self.validate(arch)
        return arch

    def restrict(self, allowed: Mapping[str, Iterable]) -> "DartsCnnSpace":
        """Exact sub-space: decisions narrowed to ``allowed`` (intersected with this space's)."""
        merged = narrow_choices(self.allowed, allowed)
        return DartsCnnSpace(self.distinct_inputs, merged)

    def around(self, gold: DartsCnnArch, n_free: int, seed: int = 0) -> "DartsCnnSpace":
        """Figure 6b: ``fix_blocks(gold, 16 - n_free, seed, fix_all_inputs=True)``: every block keeps
        the gold input, ``n_free`` blocks (drawn with ``seed``) choose among the 7 ops."""
        if not 0 <= n_free <= 16:
            raise ValueError(f"DARTS-CIFAR10 has 16 choice blocks: n_free must be in 0..16, got {n_free}")
        return self.fix_blocks(gold, 16 - n_free, seed, fix_all_inputs=True)

    def fix_blocks(self, arch: DartsCnnArch, n_fixed: int, seed: int, fix_all_inputs: bool = False) -> "DartsCnnSpace":
        """Pruned space around ``arch`` (paper Figure 6): ``n_fixed`` of the 16 choice
        blocks, drawn with ``seed``, are fixed to ``arch``'s input and op. With
        ``fix_all_inputs`` every block keeps ``arch``'s input and the free blocks vary
        only their op, giving spaces of 7^(16 - n_fixed) (e.g. 343 = 7^3)."""
        self.validate(arch)
        blocks = [f"{c}.n{n}.b{b}" for c, n, b in itertools.product(CELLS, NODES, (0, 1))]
        if not 0 <= n_fixed <= len(blocks):
            raise ValueError(f"n_fixed must be in 0..16, got {n_fixed}")
        d = self.decisions(arch)
        fixed = random.Random(seed).sample(blocks, n_fixed)
        allowed = {f"{b}.{part}": (d[f"{b}.{part}"],) for b in fixed for part in ("input", "op")}
        if fix_all_inputs:
            allowed.update({f"{b}.input": (d[f"{b}.input"],) for b in blocks})
        return self.restrict(allowed)

    # ---- networks
    def config(self, profile: str) -> dict[str, Any]:
        base = dict(num_classes=10, in_channels=3, auxiliary=False, auxiliary_weight=0.4, drop_path_prob=0.0)
        if profile == "smoke":
            return {**base, "dataset": "cifar10-4k", "image_size": 16, "C": 4, "layers": 3, "n_train": 256, "n_valid": 128}
        if profile == "cpu":  # provisional: small enough for a CPU supernet, all 3 stages kept
            return {**base, "dataset": "cifar10-4k", "image_size": 32, "C": 8, "layers": 5, "n_train": 3000, "n_valid": 1000}
        if profile == "paper":
            # DARTS evaluation settings, which the paper keeps for the supernet too. The paper trains
            # on all 50k images; data.py's "cifar10" split holds out 40k..50k as validation.
            return {**base, "dataset": "cifar10", "image_size": 32, "C": 36, "layers": 20, "auxiliary": True,
                    "drop_path_prob": 0.2, "n_train": 40000, "n_valid": 10000}
        raise ValueError(f"unknown profile {profile!r}; choose smoke, cpu or paper")

    def _net(self, cfg, arch):
        if cfg.get("auxiliary") and not 8 <= cfg.get("image_size", 32) // 4 <= 10:
            raise ValueError("DARTS's auxiliary head needs an 8x8 map at 2/3 depth, i.e. 32x32 images")
        return DartsCifarNet(cfg["C"], cfg.get("num_classes", 10), cfg["layers"], bool(cfg.get("auxiliary", False)),
                             cfg.get("drop_path_prob", 0.0), cfg.get("in_channels", 3), arch)

    def supernet(self, cfg: Mapping[str, Any]) -> DartsCifarNet:
        return self._net(cfg, None)

    def standalone(self, arch, cfg: Mapping[str, Any]) -> DartsCifarNet:
        self.validate(arch)
        return self._net(cfg, arch)

    def cost(self, arch, cfg: Mapping[str, Any]) -> Cost:
        """Parameters without the auxiliary head (as DARTS reports) and conv/linear MACs per image."""
        net = self.standalone(arch, {**cfg, "auxiliary": False})
        params = sum(p.numel() for p in net.parameters())
        s = cfg.get("image_size", 32)
        return Cost(params, count_macs(net, torch.zeros(1, cfg.get("in_channels", 3), s, s)))
