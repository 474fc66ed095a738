"""NAS-Bench-201: a 4-node cell, 6 edges, 5 candidate operations per edge.

Facts taken from the benchmark (Dong & Yang, 2020) and its reference code
(xautodl), re-implemented here:

- Architecture strings ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``: node 1 <- 0,
  node 2 <- 0, 1, node 3 <- 0, 1, 2; node 0 is the cell input, node 3 its output.
- Benchmark index order: all 5**6 op tuples in ``itertools.product`` order
  (edge 1<-0 most significant, ops in the order of ``OPS``), shuffled once with
  ``random.Random(88)``. Checked against every row of the 200-epoch table.
- Valid cells: node 0 reaches node 3 through non-``none`` edges; 15,284 of
  15,625 (the paper filters the other 341).
- Unique topologies: the benchmark's own rule (``to_unique_str`` with
  ``consider_zero=True``) gives 6,466 classes; see ``canonical_form``.
- Networks: stem (3x3 conv + BN), three stages of N cells with C, 2C, 4C
  channels separated by ResNet basic blocks of stride 2, then BN-ReLU, global
  average pooling and a linear classifier. Parameter counts equal the
  benchmark's (C=16, N=5, 10 classes: 73,306 to 1,531,546).

Supernet BN policy: every op keeps affine BN with running statistics (the
same modules as the stand-alone network), so one path of the supernet is
exactly a stand-alone network (``Nb201Supernet.standalone_state_dict``) and BN
can be recalibrated before evaluation.
"""
from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Mapping

import torch
import torch.nn as nn

from .base import Cost, InvalidArchitecture, SearchSpace
from .config import Budget, Recipe, smoke_budget
from .ops import AvgPool3x3, ReLUConvBN, Zero

OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
EDGES = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))  # (to, from), benchmark order
EDGE_NAMES = tuple(f"{dst}<-{src}" for dst, src in EDGES)
NUM_CELLS = len(OPS) ** len(EDGES)  # 15,625
BENCHMARK_SHUFFLE_SEED = 88  # the seed NAS-Bench-201 shuffled its cell list with
_OP_DIGIT = {op: i for i, op in enumerate(OPS)}


@dataclass(frozen=True)
class Nb201Arch:
    """The ops of the 6 edges, in ``EDGE_NAMES`` order."""

    ops: tuple[str, ...]

    def __post_init__(self):
        ops = tuple(self.ops)
        object.__setattr__(self, "ops", ops)
        if len(ops) != len(EDGES):
            raise InvalidArchitecture(f"a NAS-Bench-201 cell has {len(EDGES)} edges, got {len(ops)} ops")
        for name, op in zip(EDGE_NAMES, ops):
            if op not in _OP_DIGIT:
                raise InvalidArchitecture(f"unknown op {op!r} on edge {name}; ops are {', '.join(OPS)}")

    def op(self, edge: str) -> str:
        """The op on an edge named like ``"3<-0"``."""
        return self.ops[EDGE_NAMES.index(edge)]

    def __str__(self) -> str:
        o = self.ops
        return f"|{o[0]}~0|+|{o[1]}~0|{o[2]}~1|+|{o[3]}~0|{o[4]}~1|{o[5]}~2|"


# ---- all cells, validity, benchmark order (computed once) -------------------

def _product_index(arch: Nb201Arch) -> int:
    i = 0
    for op in arch.ops:
        i = i * len(OPS) + _OP_DIGIT[op]
    return i


def _reaches_output(ops) -> bool:
    live = {0}
    for (dst, src), op in zip(EDGES, ops):
        if op != "none" and src in live:
            live.add(dst)
    return 3 in live


@lru_cache(maxsize=None)
def _tables():
    """Cells by product index, validity flags, benchmark order and its inverse."""
    cells = tuple(Nb201Arch(ops) for ops in itertools.product(OPS, repeat=len(EDGES)))
    valid = tuple(_reaches_output(a.ops) for a in cells)
    order = list(range(NUM_CELLS))
    random.Random(BENCHMARK_SHUFFLE_SEED).shuffle(order)  # benchmark index -> product index
    position = [0] * NUM_CELLS
    for bench_index, product_index in enumerate(order):
        position[product_index] = bench_index
    return cells, valid, tuple(order), tuple(position)


def _needed_nodes(ops) -> set[int]:
    """Nodes whose value reaches the output through non-``none`` edges."""
    needed = {3}
    for (dst, src), op in reversed(list(zip(EDGES, ops))):
        if op != "none" and dst in needed:
            needed.add(src)
    return needed


@lru_cache(maxsize=NUM_CELLS)
def _path_plan(arch: Nb201Arch):
    """For each node the supernet must compute: (node, [(source, edge name, op)])."""
    needed = _needed_nodes(arch.ops)
    plan = []
    for node in (1, 2, 3):
        if node in needed:
            inputs = [(src, name, op) for (dst, src), name, op in zip(EDGES, EDGE_NAMES, arch.ops)
                      if dst == node and op != "none"]
            plan.append((node, inputs))
    return tuple(plan)


# ---- networks -----------------------------------------------------------------

def make_op(op: str, channels: int) -> nn.Module:
    """One edge operation; NB201 cells keep channels and resolution."""
    if op == "none":
        return Zero()
    if op == "skip_connect":
        return nn.Identity()
    if op == "nor_conv_1x1":
        return ReLUConvBN(channels, channels, 1, 1, 0)
    if op == "nor_conv_3x3":
        return ReLUConvBN(channels, channels, 3, 1, 1)
    if op == "avg_pool_3x3":
        return AvgPool3x3(stride=1)
    raise InvalidArchitecture(f"unknown op {op!r}; ops are {', '.join(OPS)}")


class ResNetBasicblock(nn.Module):
    """The reduction block between stages (NAS-Bench-201's ResNet basic block)."""

    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, stride, 1)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1, 1)
        if stride == 2:
            self.downsample = nn.Sequential(
                nn.AvgPool2d(kernel_size=2, stride=2, padding=0),
                nn.Conv2d(c_in, c_out, kernel_size=1, stride=1, padding=0, bias=False),
            )
        elif c_in != c_out:
            self.downsample = ReLUConvBN(c_in, c_out, 1, 1, 0)
        else:
            self.downsample = None

    def forward(self, x):
        residual = x if self.downsample is None else self.downsample(x)
        return residual + self.conv_b(self.conv_a(x))


class Nb201Cell(nn.Module):
    """Stand-alone cell: exactly the chosen ops, every edge computed as in the benchmark."""

    def __init__(self, arch: Nb201Arch, channels: int):
        super().__init__()
        self.edges = nn.ModuleDict({name: make_op(op, channels) for name, op in zip(EDGE_NAMES, arch.ops)})

    def forward(self, x):
        nodes = [x]
        for node in (1, 2, 3):
            out = self.edges[f"{node}<-0"](x)
            for src in range(1, node):
                out = out + self.edges[f"{node}<-{src}"](nodes[src])
            nodes.append(out)
        return nodes[3]


class Nb201SuperCell(nn.Module):
    """All non-``none`` ops of every edge; ``forward(x, arch)`` runs only what reaches the output."""

    def __init__(self, channels: int):
        super().__init__()
        self.edges = nn.ModuleDict({
            name: nn.ModuleDict({op: make_op(op, channels) for op in OPS if op != "none"})
            for name in EDGE_NAMES
        })

    def forward(self, x, arch: Nb201Arch):
        nodes = {0: x}
        for node, inputs in _path_plan(arch):
            out = None
            for src, edge, op in inputs:
                y = self.edges[edge][op](nodes[src])
                out = y if out is None else out + y
            # a node fed only by `none` edges is zero, as in the benchmark's network
            nodes[node] = torch.zeros_like(x) if out is None else out
        return nodes[3]


def _stage_layout(C: int, N: int):
    """(channels, is_reduction) of every block after the stem."""
    return ([(C, False)] * N + [(2 * C, True)] + [(2 * C, False)] * N
            + [(4 * C, True)] + [(4 * C, False)] * N)


class _MacroNetwork(nn.Module):
    def __init__(self, C: int, N: int, num_classes: int, in_channels: int, make_cell):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, C, kernel_size=3, padding=1, bias=False),
                                  nn.BatchNorm2d(C))
        cells, c_prev = [], C
        for channels, reduction in _stage_layout(C, N):
            cells.append(ResNetBasicblock(c_prev, channels, 2) if reduction else make_cell(channels))
            c_prev = channels
        self.cells = nn.ModuleList(cells)
        self.lastact = nn.Sequential(nn.BatchNorm2d(c_prev), nn.ReLU(inplace=True))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_prev, num_classes)

    def _head(self, x):
        x = self.global_pooling(self.lastact(x))
        return self.classifier(x.flatten(1))


class Nb201Network(_MacroNetwork):
    """Stand-alone network of one cell (the benchmark's TinyNetwork); ``forward(x)`` -> logits."""

    def __init__(self, arch: Nb201Arch, C: int, N: int, num_classes: int, in_channels: int = 3):
        super().__init__(C, N, num_classes, in_channels, lambda c: Nb201Cell(arch, c))
        self.arch = arch

    def forward(self, x):
        x = self.stem(x)
        for cell in self.cells:
            x = cell(x)
        return self._head(x)


class Nb201Supernet(_MacroNetwork):
    """Weight-sharing network; ``forward(x, arch)`` -> logits of the single path ``arch``."""

    def __init__(self, C: int, N: int, num_classes: int, in_channels: int = 3):
        super().__init__(C, N, num_classes, in_channels, Nb201SuperCell)

    def forward(self, x, arch):
        if isinstance(arch, str):
            arch = _parse_cached(arch)
        x = self.stem(x)
        for cell in self.cells:
            x = cell(x, arch) if isinstance(cell, Nb201SuperCell) else cell(x)
        return self._head(x)

    def standalone_state_dict(self, arch: Nb201Arch) -> dict[str, torch.Tensor]:
        """The weights of path ``arch``, keyed for ``Nb201Network(arch, ...).load_state_dict``."""
        out = {}
        for key, value in self.state_dict().items():
            parts = key.split(".")
            if parts[0] == "cells" and len(parts) > 4 and parts[2] == "edges":
                edge, op = parts[3], parts[4]
                if arch.op(edge) != op:
                    continue
                key = ".".join(parts[:4] + parts[5:])
            out[key] = value
        return out


# ---- the space ------------------------------------------------------------------

_CONFIGS = {
    # seconds on CPU: tiny network, tiny data (tests and CI)
    "smoke": dict(dataset="cifar10-4k", image_size=16, in_channels=3, num_classes=10,
                  C=4, N=1, n_train=256, n_valid=128),
    # CPU-scale study, chosen by the ground-truth pilot (results/groundtruth/pilot/nb201_cpu):
    # on 40 cells x 2 seeds, 10 epochs, N=3 gave seed-to-seed Spearman 0.914, N=2 only 0.762
    "cpu": dict(dataset="fashion-mnist", image_size=16, in_channels=1, num_classes=10,
                C=8, N=3, n_train=10000, n_valid=10000),
    # the paper: NAS-Bench-201's network on CIFAR-100, full splits
    "paper": dict(dataset="cifar100", image_size=32, in_channels=3, num_classes=100,
                  C=16, N=5, n_train=None, n_valid=None),
}


@lru_cache(maxsize=NUM_CELLS)
def _parse_cached(s: str) -> Nb201Arch:
    return NasBench201Space.parse(s)


class NasBench201Space(SearchSpace):
    name = "nb201"
    title = "NAS-Bench-201"
    space_type = "cell-wise"
    paper_dataset = "CIFAR-100"

    # ---- what the study knows about this space (base.STUDY_FACTS; read as get_space(name).<fact>) ----
    budgets = {
        "smoke": smoke_budget(pruning_trained_epochs=2),
        # Network and data chosen by the ground-truth pilot (groundtruth_pilot notebook): seed-to-seed
        # Spearman on 40 architectures, 10 epochs: (C=8, N=3) 0.914 with one seed; on the full
        # 300-architecture sample one seed gave only 0.82 seed-to-seed, so the ground truth is the mean
        # of two seeds. Stand-alone training costs about 36 s per architecture and seed on one core.
        # Table 3 groups as the paper's one (2k), at 128. The ladder reaches 512 epochs (51.2x the
        # ground truth's, training regime); a rung joins once its seeds 0 and 1 are stored, the rest of
        # the regime's rungs are `regime.PLAN`'s.
        "cpu": Budget((1, 2, 4, 8, 16, 32, 64, 128, 256, 512), 10, 300, 300, (128,), gt_seeds=(0, 1),
                      gt_variant_archs=50, recipe_overrides={"bn_calib_steps": 10, "bn_calib_batch_size": 200},
                      # the pruning sweep keeps the 8 epochs of the ladder it was computed on (the ladder
                      # grew past 128 since), so no stored sweep changes meaning; its trained-budget family
                      # trains where the ladder's unpruned supernet ranks (at 128 epochs)
                      pruning_epochs=8, pruning_trained_epochs=128),
        "paper": Budget((16, 32, 64, 128, 256, 512, 1000, 2000, 4000), 200, 1000, 1000, (2000,)),
    }
    supernet_recipe = Recipe(batch_size=256, lr=0.05, lr_end=0.0, momentum=0.9, nesterov=True, weight_decay=5e-4,
                             grad_clip=5, bn_calib_batch_size=400, bn_calib_steps=25, gpus=1, source="Table 2")
    # NAS-Bench-201 paper: Nesterov SGD 0.9, lr 0.1 cosine to 0, wd 5e-4, batch 256, 200 epochs
    standalone_recipe = Recipe(batch_size=256, lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4, epochs=200,
                               source="NAS-Bench-201 (Dong & Yang 2020, sec. 2.4)")
    table2_column = "NB-201"
    pruning_sweep = True
    fallback_rates = (6.35, 2.43)  # s/epoch, s/arch (base.SearchSpace.fallback_rates)
    paper_paths = 5  # appendix B.1: five paths per mini-batch (an edge has 5 ops)
    # Figure 12, after the paper's A.3: a wider stem network, cutout, gradient clipping 5 and longer
    # training. At 16x16 pixels the cutout length is scaled from 16 (of 32) to 8; epochs double, not x5.
    gt_variant = dict(cfg={"C": 16}, recipe=dict(grad_clip=5.0, cutout=8), epochs_factor=2)
    # name -> (config overrides, epochs). cpu: Fashion-MNIST 16x16, 10k train / 10k valid; the DESIGN
    # pilot's best row first. The paper profile's one candidate: its own configuration.
    pilot_candidates = {"smoke": {"smoke_a": ({}, 1), "smoke_b": ({"N": 2}, 1)},
                        "cpu": {"fm16_C8_N2_e10": ({"N": 2}, 10), "fm16_C8_N3_e10": ({"N": 3}, 10)},
                        "paper": {"paper": ({}, budgets["paper"].gt_epochs)}}
    benchmark_tables = True  # the benchmark's own trained tables (data.load_nb201_table, NATS-Bench)

    ops = OPS
    edge_names = EDGE_NAMES

    # ---- architectures ----------------------------------------------------------
    @staticmethod
    def parse(s: str) -> Nb201Arch:
        """Benchmark string -> architecture. Accepts all 15,625 cells, valid or not
        (``validate`` rejects the disconnected ones)."""
        if not isinstance(s, str):
            raise InvalidArchitecture(f"expected a string, got {type(s).__name__}")
        groups = s.split("+")
        if len(groups) != 3:
            raise InvalidArchitecture(f"malformed {s!r}: expected 3 nodes separated by '+', got {len(groups)}")
        ops = []
        for node, group in enumerate(groups, start=1):
            if len(group) < 2 or not (group.startswith("|") and group.endswith("|")):
                raise InvalidArchitecture(f"malformed {s!r}: node {node} must look like |op~i|...|, got {group!r}")
            entries = group[1:-1].split("|")
            if len(entries) != node:
                raise InvalidArchitecture(
                    f"{s!r}: node {node} needs {node} input edge(s) (from nodes 0..{node - 1}), got {len(entries)}")
            for position, entry in enumerate(entries):
                parts = entry.split("~")
                if len(parts) != 2 or not parts[1].isdigit():
                    raise InvalidArchitecture(f"malformed {s!r}: edge {entry!r} of node {node} must look like op~i")
                op, src = parts[0], int(parts[1])
                if src != position:
                    raise InvalidArchitecture(
                        f"{s!r}: node {node}, edge {position + 1} has input node index {src}, expected {position}")
                if op not in _OP_DIGIT:
                    raise InvalidArchitecture(f"{s!r}: unknown op {op!r} on edge {node}<-{src}; ops are {', '.join(OPS)}")
                ops.append(op)
        return Nb201Arch(tuple(ops))

    def validate(self, arch) -> None:
        if not isinstance(arch, Nb201Arch):
            raise InvalidArchitecture(f"expected an Nb201Arch, got {type(arch).__name__}")
        if not _reaches_output(arch.ops):
            raise InvalidArchitecture(f"{arch}: the input is not connected to the output through non-none edges")

    def size(self) -> int:
        return sum(_tables()[1])

    def all_cells(self) -> list[Nb201Arch]:
        """All 15,625 cells (invalid ones included) in benchmark index order."""
        cells, _, order, _ = _tables()
        return [cells[p] for p in order]

    def enumerate(self):
        """Valid cells in benchmark index order."""
        cells, valid, order, _ = _tables()
        return (cells[p] for p in order if valid[p])

    def index(self, arch: Nb201Arch) -> int:
        """Benchmark index (row of the NAS-Bench-201 tables), 0..15624."""
        return _tables()[3][_product_index(arch)]

    def from_index(self, index: int) -> Nb201Arch:
        if not 0 <= index < NUM_CELLS:
            raise IndexError(f"NAS-Bench-201 index must be in 0..{NUM_CELLS - 1}, got {index}")
        cells, _, order, _ = _tables()
        return cells[order[index]]

    def sample(self, rng: random.Random) -> Nb201Arch:
        """Uniform over valid cells: uniform over all 15,625, rejecting the 341 invalid."""
        cells, valid, _, _ = _tables()
        while True:
            p = rng.randrange(NUM_CELLS)
            if valid[p]:
                return cells[p]

    def decisions(self, arch: Nb201Arch) -> dict[str, str]:
        return dict(zip(EDGE_NAMES, arch.ops))

    def decision_choices(self) -> dict[str, tuple]:
        return {name: OPS for name in EDGE_NAMES}

    # ---- unique topologies ------------------------------------------------------
    @staticmethod
    def canonical_form(arch: Nb201Arch) -> str:
        """The benchmark's unique string: equal strings = same function up to weights.

        NAS-Bench-201's own rule (its ``UniqueString`` column): ``skip_connect``
        is the identity; a ``none`` edge, or any edge leaving a node that is
        exactly ``#``, is a zero term ``#``; a node is the sorted sum of its
        terms. Zero terms stay in sums (``x`` and ``x+#`` differ), which is how
        the published 6,466 was counted; a stricter functional equivalence
        would give 5,390, graph isomorphism after pruning 8,765.
        """
        exprs = ["0"]
        for node in (1, 2, 3):
            terms = []
            for (dst, src), op in zip(EDGES, arch.ops):
                if dst != node:
                    continue
                if op == "none" or exprs[src] == "#":
                    terms.append("#")
                elif op == "skip_connect":
                    terms.append(exprs[src])
                else:
                    terms.append(f"({exprs[src]})@{op}")
            exprs.append("+".join(sorted(terms)))
        return exprs[3]

    def isomorphism_classes(self) -> dict[str, list[Nb201Arch]]:
        """canonical form -> its cells (benchmark order), over all 15,625 cells: 6,466 classes."""
        classes: dict[str, list[Nb201Arch]] = {}
        for arch in self.all_cells():
            classes.setdefault(self.canonical_form(arch), []).append(arch)
        return classes

    # ---- networks ---------------------------------------------------------------
    def config(self, profile: str) -> dict[str, Any]:
        if profile not in _CONFIGS:
            raise ValueError(f"unknown profile {profile!r}; choose one of {', '.join(_CONFIGS)}")
        return dict(_CONFIGS[profile])

    def supernet(self, cfg: Mapping[str, Any]) -> Nb201Supernet:
        return Nb201Supernet(cfg["C"], cfg["N"], cfg["num_classes"], cfg.get("in_channels", 3))

    def standalone(self, arch: Nb201Arch, cfg: Mapping[str, Any]) -> Nb201Network:
        if isinstance(arch, str):
            arch = self.parse(arch)
        self.validate(arch)  # a disconnected cell is outside the space, as in NB-101 and DARTS
        return Nb201Network(arch, cfg["C"], cfg["N"], cfg["num_classes"], cfg.get("in_channels", 3))

    def cost(self, arch: Nb201Arch, cfg: Mapping[str, Any]) -> Cost:
        """Parameters and multiply-adds (convolutions and the classifier) of the
        stand-alone network for one image; analytic, so it needs no network."""
        C, N, classes = cfg["C"], cfg["N"], cfg["num_classes"]
        c_in, size = cfg.get("in_channels", 3), cfg["image_size"]
        n1 = arch.ops.count("nor_conv_1x1")
        n3 = arch.ops.count("nor_conv_3x3")
        params = c_in * 9 * C + 2 * C  # stem
        flops = size * size * c_in * 9 * C
        c_prev = C
        for channels, reduction in _stage_layout(C, N):
            if reduction:
                out = (size - 1) // 2 + 1
                params += 9 * c_prev * channels + 9 * channels * channels + 4 * channels + c_prev * channels
                flops += out * out * 9 * channels * (c_prev + channels) + (size // 2) ** 2 * c_prev * channels
                size = out
            else:
                params += (n1 + n3) * 2 * channels + (n1 + 9 * n3) * channels * channels
                flops += size * size * (n1 + 9 * n3) * channels * channels
            c_prev = channels
        params += 2 * c_prev + c_prev * classes + classes  # last BN + classifier
        flops += c_prev * classes
        return Cost(params=params, flops=flops)
