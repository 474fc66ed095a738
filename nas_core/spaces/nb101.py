"""NAS-Bench-101 sub-space of the paper (appendix A.2.1).

Close to NAS-Bench-1Shot1's search space 3, aligned with NAS-Bench-101:

- a cell has 7 vertices: input 0, intermediates 1..5, output 6;
- intermediate node 1, 2, 3, 4, 5 takes exactly 1, 1, 1, 2, 2 inputs among the
  vertices before it (input included);
- the output concatenates exactly 2 of the 5 intermediates; no input->output edge;
- every intermediate reaches the output (the validity filter);
- intermediates' ops: ``conv3x3-bn-relu``, ``conv1x1-bn-relu``, ``maxpool3x3``.

This gives 395 graphs x 3^5 labelings = 95,985 cells (isomorphic cells are
kept, as in the paper), 42,228 up to isomorphism (NAS-Bench-101's graph hash).
Every cell has 9 edges, so each one is a NAS-Bench-101 spec and its hash
(``nb101_hash``) queries the NAS-Bench-101 tables.

Canonical string: the adjacency matrix as JSON rows without spaces, ``|``, the
5 intermediate ops joined by ``,``::

    [[0,1,0,0,0,0,0],[0,0,1,0,0,0,0],...,[0,0,0,0,0,0,0]]|conv3x3-bn-relu,maxpool3x3,...

Networks follow NAS-Bench-101's model builder (``nasbench/lib/model_builder.py``
and ``base_ops.py``): the parameter count of ``standalone`` equals the official
``trainable_parameters`` of the same spec (checked against published numbers).
"""
from __future__ import annotations

import functools
import hashlib
import itertools
import json
import math
import random
from dataclasses import dataclass
from typing import Any, Iterator, Mapping, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from .base import Cost, InvalidArchitecture, SearchSpace
from .config import Budget, Recipe, smoke_budget
from .ops import MaxPool2d

CONV3X3, CONV1X1, MAXPOOL3X3 = "conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3"
OPS = (CONV3X3, CONV1X1, MAXPOOL3X3)  # NAS-Bench-101's canonical order (hash labels 0, 1, 2)
INPUT, OUTPUT = "input", "output"
NUM_VERTICES = 7
N_INTER = 5
IN_DEGREE = (1, 1, 1, 2, 2)  # inputs of intermediate nodes 1..5
OUT_DEGREE = 2  # intermediates concatenated by the output
KERNEL = {CONV3X3: 3, CONV1X1: 1}
# TF's tf.layers.batch_normalization(momentum=0.997) == PyTorch momentum 0.003.
BN_MOMENTUM, BN_EPS = 0.003, 1e-5


# ---- architecture -----------------------------------------------------------
@dataclass(frozen=True)
class Nb101Arch:
    """A cell: 7x7 upper-triangular 0/1 matrix and 7 op labels ('input' ... 'output')."""

    matrix: tuple  # tuple of 7 tuples of 7 ints
    ops: tuple  # ('input', op1, ..., op5, 'output')

    def __str__(self) -> str:
        rows = ",".join("[" + ",".join(str(v) for v in row) + "]" for row in self.matrix)
        return f"[{rows}]|" + ",".join(self.ops[1:-1])


def _check(matrix, ops) -> None:
    """Raise InvalidArchitecture naming the first rule a (matrix, ops) breaks."""
    n = NUM_VERTICES
    if len(matrix) != n or any(len(row) != n for row in matrix):
        raise InvalidArchitecture(f"matrix must be {n}x{n}, got {[len(r) for r in matrix]} columns per row")
    for i, row in enumerate(matrix):
        for j, v in enumerate(row):
            if v not in (0, 1):
                raise InvalidArchitecture(f"matrix entry ({i},{j}) is {v!r}, must be 0 or 1")
            if v and i >= j:
                raise InvalidArchitecture(f"matrix is not upper triangular: edge {i}->{j}")
    if len(ops) != n:
        raise InvalidArchitecture(f"expected {n} ops (input, 5 intermediates, output), got {len(ops)}")
    if ops[0] != INPUT or ops[-1] != OUTPUT:
        raise InvalidArchitecture(f"ops must start with 'input' and end with 'output', got {ops[0]!r} ... {ops[-1]!r}")
    for k in range(1, n - 1):
        if ops[k] not in OPS:
            raise InvalidArchitecture(f"unknown op {ops[k]!r} at node {k}; ops are {', '.join(OPS)}")
    if matrix[0][n - 1]:
        raise InvalidArchitecture("edge input->output (0->6) is not allowed in this sub-space")
    for k in range(1, n - 1):
        deg = sum(matrix[i][k] for i in range(k))
        if deg != IN_DEGREE[k - 1]:
            raise InvalidArchitecture(f"node {k} must have exactly {IN_DEGREE[k - 1]} input(s), has {deg}")
    deg = sum(matrix[i][n - 1] for i in range(n - 1))
    if deg != OUT_DEGREE:
        raise InvalidArchitecture(f"output must concatenate exactly {OUT_DEGREE} intermediate nodes, has {deg}")
    reach = _reaches_output(matrix)
    for k in range(1, n - 1):
        if not reach[k]:
            raise InvalidArchitecture(f"node {k} does not reach the output")


def _reaches_output(matrix) -> list:
    n = len(matrix)
    reach = [False] * n
    reach[n - 1] = True
    for v in range(n - 2, -1, -1):  # upper triangular: successors come later
        reach[v] = any(matrix[v][w] and reach[w] for w in range(v + 1, n))
    return reach


def _graph_matrix(ins: Sequence[tuple], out: tuple) -> tuple:
    """Adjacency matrix from the inputs of nodes 1..5 and the output's inputs."""
    m = [[0] * NUM_VERTICES for _ in range(NUM_VERTICES)]
    for k, srcs in enumerate(ins, start=1):
        for s in srcs:
            m[s][k] = 1
    for s in out:
        m[s][NUM_VERTICES - 1] = 1
    return tuple(tuple(r) for r in m)


def _in_choices(k: int) -> tuple:
    return tuple(itertools.combinations(range(k), IN_DEGREE[k - 1]))


def _out_choices() -> tuple:
    return tuple(itertools.combinations(range(1, N_INTER + 1), OUT_DEGREE))


@functools.lru_cache(maxsize=None)
def valid_graphs() -> tuple:
    """The 395 valid adjacency matrices, in the product order of (in1..in5, out)."""
    out = []
    for choice in itertools.product(*[_in_choices(k) for k in range(1, N_INTER + 1)], _out_choices()):
        m = _graph_matrix(choice[:-1], choice[-1])
        if all(_reaches_output(m)[1:]):
            out.append(m)
    return tuple(out)


_LABELINGS = tuple(itertools.product(OPS, repeat=N_INTER))  # 243, fixed order


def to_spec(arch: Nb101Arch) -> tuple[list, list]:
    """NAS-Bench-101 ModelSpec form: (matrix as list of lists, ops list of 7 labels)."""
    return [list(r) for r in arch.matrix], list(arch.ops)


def from_spec(matrix, ops) -> Nb101Arch:
    """Arch from a ModelSpec-style (matrix, ops); raises InvalidArchitecture if outside the sub-space."""
    try:  # numpy arrays and ints become plain ints; anything else is reported by _check
        m = tuple(tuple(int(v) if v in (0, 1) else v for v in row) for row in matrix)
    except TypeError:
        raise InvalidArchitecture(f"matrix must be a 7x7 list of 0/1, got {matrix!r}") from None
    ops = tuple(ops)
    _check(m, ops)
    return Nb101Arch(m, ops)


# ---- NAS-Bench-101 graph hash ---------------------------------------------------
def _neighbours(matrix):
    n = len(matrix)
    ins = [[w for w in range(n) if matrix[w][v]] for v in range(n)]
    outs = [[w for w in range(n) if matrix[v][w]] for v in range(n)]
    return ins, outs


def _wl_hash(ins, outs, labeling) -> str:
    md5, n = hashlib.md5, len(ins)
    h = [md5(str((len(outs[v]), len(ins[v]), labeling[v])).encode()).hexdigest() for v in range(n)]
    for _ in range(n):
        h = [md5(("".join(sorted([h[w] for w in ins[v]])) + "|" + "".join(sorted([h[w] for w in outs[v]]))
                  + "|" + h[v]).encode()).hexdigest() for v in range(n)]
    return md5(str(sorted(h)).encode()).hexdigest()


def hash_module(matrix, labeling) -> str:
    """NAS-Bench-101's isomorphism-invariant hash (graph_util.hash_module).

    Iterated (Weisfeiler-Lehman style) MD5 over (out-degree, in-degree, label)
    with sorted in- and out-neighbour hashes, |V| rounds, then MD5 of the
    sorted vertex hashes. Strings are built exactly as the official code so
    the hash equals the key of the NAS-Bench-101 tables.
    """
    return _wl_hash(*_neighbours(matrix), list(labeling))


def _labeling(ops) -> list:
    return [-1] + [OPS.index(o) for o in list(ops)[1:-1]] + [-2]


def nb101_hash(matrix, ops) -> str:
    """Hash of a (pruned) NAS-Bench-101 spec, as ModelSpec.hash_spec(OPS); queries the tables."""
    return hash_module(matrix, _labeling(ops))


def count_isomorphism_classes(archs=None) -> int:
    """Distinct NAS-Bench-101 hashes among ``archs`` (default: the whole sub-space, 42,228; ~7 s)."""
    if archs is not None:
        return len({nb101_hash(a.matrix, a.ops) for a in archs})
    seen = set()
    for m in valid_graphs():  # neighbour lists once per graph, then every labeling
        ins, outs = _neighbours(m)
        seen.update(_wl_hash(ins, outs, [-1, *(OPS.index(o) for o in lab), -2]) for lab in _LABELINGS)
    return len(seen)


# ---- official channel and cost rules ----------------------------------------------
def compute_vertex_channels(in_ch: int, out_ch: int, matrix) -> list:
    """Channels of every vertex, as model_builder.compute_vertex_channels.

    The output's channels are split evenly among the intermediates feeding it
    (the first ones get +1 when uneven); other intermediates take the max of
    their successors.
    """
    n = len(matrix)
    vc = [0] * n
    vc[0], vc[n - 1] = in_ch, out_ch
    if n == 2:
        return vc
    fan_in = sum(matrix[v][n - 1] for v in range(1, n - 1))  # input->output edge excluded
    base, extra = divmod(out_ch, fan_in)
    for v in range(1, n - 1):
        if matrix[v][n - 1]:
            vc[v] = base + (1 if extra > 0 else 0)
            extra -= 1
    for v in range(n - 3, 0, -1):
        if not matrix[v][n - 1]:
            for w in range(v + 1, n - 1):
                if matrix[v][w]:
                    vc[v] = max(vc[v], vc[w])
    return vc


def _stack_channels(cfg) -> list:
    """(cell input channels, cell output channels) of every cell, in order."""
    cells, ch = [], cfg["stem_channels"]
    for s in range(cfg["num_stacks"]):
        cin = ch
        if s > 0:
            ch *= 2
        for _ in range(cfg["cells_per_stack"]):
            cells.append((cin, ch))
            cin = ch
    return cells


def _stack_sizes(cfg) -> list:
    """Spatial size of every stack: 2x2 max-pool, stride 2, 'same' padding (ceil) between stacks."""
    sizes, hw = [], cfg["image_size"]
    for s in range(cfg["num_stacks"]):
        if s > 0:
            hw = math.ceil(hw / 2)
        sizes.append(hw)
    return sizes


def official_cost(matrix, ops, cfg: Mapping[str, Any]) -> Cost:
    """Trainable parameters and multiply-adds, following the official builder literally.

    Convs have no bias (use_bias=False, BN follows); BN has gamma and beta;
    the dense layer has a bias. Each vertex taking the input has its own 1x1
    projection; an input->output edge adds a projection to the cell's channels.
    """
    n = len(matrix)
    params = flops = 0

    def conv(k, cin, cout, hw):
        nonlocal params, flops
        params += k * k * cin * cout + 2 * cout  # kernel + BN gamma/beta
        flops += k * k * cin * cout * hw * hw

    conv(3, cfg["in_channels"], cfg["stem_channels"], cfg["image_size"])
    sizes = _stack_sizes(cfg)
    for i, (cin, cout) in enumerate(_stack_channels(cfg)):
        hw = sizes[i // cfg["cells_per_stack"]]
        vc = compute_vertex_channels(cin, cout, matrix)
        for t in range(1, n - 1):
            if matrix[0][t]:
                conv(1, cin, vc[t], hw)
            if ops[t] in KERNEL:
                conv(KERNEL[ops[t]], vc[t], vc[t], hw)
        if matrix[0][n - 1]:
            conv(1, cin, cout, hw)
    last = _stack_channels(cfg)[-1][1]
    params += last * cfg["num_classes"] + cfg["num_classes"]
    flops += last * cfg["num_classes"]
    return Cost(params=params, flops=flops)


# ---- layers ---------------------------------------------------------------------
def _bn(c, cfg):
    return nn.BatchNorm2d(c, eps=cfg.get("bn_eps", BN_EPS), momentum=cfg.get("bn_momentum", BN_MOMENTUM))


class ConvBnRelu(nn.Sequential):
    """base_ops.conv_bn_relu: conv (no bias, 'same' padding, stride 1), BN, ReLU."""

    def __init__(self, cin, cout, k, cfg):
        super().__init__(nn.Conv2d(cin, cout, k, padding=k // 2, bias=False), _bn(cout, cfg), nn.ReLU(inplace=False))


def _maxpool3x3():
    return MaxPool2d(3, stride=1, padding=1)  # padded with -inf, as TF 'same'


def _init_weights(module: nn.Module) -> None:
    """TF defaults of the official code: variance_scaling (fan_in, truncated normal) for convs,
    Glorot uniform kernel and zero bias for the dense layer."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            fan_in = m.in_channels * m.kernel_size[0] * m.kernel_size[1]
            std = math.sqrt(1.0 / fan_in) / 0.87962566103423978  # corrects for truncation at 2 std
            nn.init.trunc_normal_(m.weight, std=std, a=-2 * std, b=2 * std)
        elif isinstance(m, nn.Linear):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)


class _Skeleton(nn.Module):
    """Stem, stacks of cells with 2x2 max-pool and channel doubling between stacks, GAP, dense."""

    def __init__(self, cfg, make_cell):
        super().__init__()
        self.stem = ConvBnRelu(cfg["in_channels"], cfg["stem_channels"], 3, cfg)
        self.cells = nn.ModuleList(make_cell(cin, cout) for cin, cout in _stack_channels(cfg))
        self.per_stack = cfg["cells_per_stack"]
        self.pool = MaxPool2d(2, stride=2, ceil_mode=True)  # ceil == TF 'same' for odd sizes
        self.classifier = nn.Linear(_stack_channels(cfg)[-1][1], cfg["num_classes"])
        _init_weights(self)

    def run(self, x, cell_fn):
        x = self.stem(x)
        for i, cell in enumerate(self.cells):
            if i > 0 and i % self.per_stack == 0:
                x = self.pool(x)
            x = cell_fn(cell, x)
        return self.classifier(x.mean(dim=(2, 3)))


# ---- stand-alone network ------------------------------------------------------------
class Nb101Cell(nn.Module):
    """model_builder.build_module for any pruned NAS-Bench-101 spec.

    Vertex inputs are summed: outputs of earlier intermediates truncated to the
    vertex's channels, plus a 1x1 projection of the cell input. The output
    concatenates its intermediates (plus a projected input if 0->output).
    """

    def __init__(self, matrix, ops, cin, cout, cfg):
        super().__init__()
        self.matrix, self.n = matrix, len(matrix)
        self.vc = compute_vertex_channels(cin, cout, matrix)
        self.proj = nn.ModuleDict()
        self.op = nn.ModuleDict()
        for t in range(1, self.n - 1):
            if matrix[0][t]:
                self.proj[str(t)] = ConvBnRelu(cin, self.vc[t], 1, cfg)
            if ops[t] in KERNEL:
                self.op[str(t)] = ConvBnRelu(self.vc[t], self.vc[t], KERNEL[ops[t]], cfg)
            elif ops[t] == MAXPOOL3X3:
                self.op[str(t)] = _maxpool3x3()
            else:
                raise InvalidArchitecture(f"unknown op {ops[t]!r} at node {t}")
        if matrix[0][self.n - 1]:
            self.proj[str(self.n - 1)] = ConvBnRelu(cin, cout, 1, cfg)

    def forward(self, x):
        m, n = self.matrix, self.n
        tensors, concat = [x], []
        for t in range(1, n - 1):
            add = [tensors[s][:, : self.vc[t]] for s in range(1, t) if m[s][t]]
            if m[0][t]:
                add.append(self.proj[str(t)](x))
            h = self.op[str(t)](sum(add[1:], add[0]))
            tensors.append(h)
            if m[t][n - 1]:
                concat.append(h)
        if not concat:
            return self.proj[str(n - 1)](x)
        out = torch.cat(concat, dim=1)
        if m[0][n - 1]:
            out = out + self.proj[str(n - 1)](x)
        return out


class Nb101Network(_Skeleton):
    """NAS-Bench-101 network of one (pruned) spec; ``forward(x)``."""

    def __init__(self, matrix, ops, cfg):
        matrix = [list(r) for r in matrix]
        super().__init__(cfg, lambda cin, cout: Nb101Cell(matrix, list(ops), cin, cout, cfg))

    def forward(self, x):
        return self.run(x, lambda cell, h: cell(h))


# ---- supernet -----------------------------------------------------------------------
class _SlicedConvBn(nn.Module):
    """Conv (no bias) + BN + ReLU at max channels, run on the first ``cin``/``cout`` channels."""

    def __init__(self, cin, cout, k, cfg):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, padding=k // 2, bias=False)
        self.bn = _bn(cout, cfg)

    def forward(self, x, cout):
        cin = x.shape[1]
        w = self.conv.weight
        if cout != w.shape[0] or cin != w.shape[1]:
            w = w[:cout, :cin]
        y = F.conv2d(x, w, padding=self.conv.padding)
        bn = self.bn
        if cout == bn.num_features:
            y = bn(y)
        else:  # slices of the running stats are views: updates land in the buffers
            # the BN layer's mode, not this module's: BN recalibration trains the BN layers alone
            momentum = bn.momentum
            if bn.training and bn.track_running_stats:
                bn.num_batches_tracked.add_(1)
                if momentum is None:  # BN recalibration's cumulative average, as nn.BatchNorm computes it
                    momentum = 1.0 / float(bn.num_batches_tracked)
            y = F.batch_norm(y, bn.running_mean[:cout], bn.running_var[:cout], bn.weight[:cout], bn.bias[:cout],
                             bn.training, 0.0 if momentum is None else momentum, bn.eps)
        return F.relu(y)


class _SuperCell(nn.Module):
    """All candidates of one cell: per intermediate node a 3x3 and a 1x1 conv (max-pool has no
    weights) and a 1x1 projection of the cell input, all at ceil(cout / 2) channels."""

    def __init__(self, cin, cout, cfg):
        super().__init__()
        self.cin, self.cout = cin, cout
        c = -(-cout // OUT_DEGREE)  # widest vertex any arch needs
        self.proj = nn.ModuleList(_SlicedConvBn(cin, c, 1, cfg) for _ in range(N_INTER))
        self.conv3 = nn.ModuleList(_SlicedConvBn(c, c, 3, cfg) for _ in range(N_INTER))
        self.conv1 = nn.ModuleList(_SlicedConvBn(c, c, 1, cfg) for _ in range(N_INTER))
        self.maxpool = _maxpool3x3()

    def forward(self, x, arch: Nb101Arch):
        m, ops = arch.matrix, arch.ops
        vc = _vertex_channels_cached(self.cin, self.cout, m)
        tensors, concat = [x], []
        for t in range(1, NUM_VERTICES - 1):
            c = vc[t]
            add = [tensors[s][:, :c] for s in range(1, t) if m[s][t]]
            if m[0][t]:
                add.append(self.proj[t - 1](x, c))
            h = sum(add[1:], add[0])
            if ops[t] == CONV3X3:
                h = self.conv3[t - 1](h, c)
            elif ops[t] == CONV1X1:
                h = self.conv1[t - 1](h, c)
            else:
                h = self.maxpool(h)
            tensors.append(h)
            if m[t][NUM_VERTICES - 1]:
                concat.append(h)
        return torch.cat(concat, dim=1)


@functools.lru_cache(maxsize=1 << 14)
def _vertex_channels_cached(cin, cout, matrix):
    return tuple(compute_vertex_channels(cin, cout, matrix))


class Nb101Supernet(_Skeleton):
    """Weight-sharing network of the sub-space; ``forward(x, arch)`` runs one cell path.

    Sharing scheme (NAS-Bench-1Shot1 style, faithful to the stand-alone
    builder): every cell position and every intermediate node k owns one
    weight set per candidate op (conv3x3-bn-relu, conv1x1-bn-relu; max-pool
    has none) and one 1x1 projection of the cell input. An arch uses node k's
    chosen op and, if node k takes the input, node k's projection; edges
    between intermediates carry no weights. So every stand-alone parameter
    maps to exactly one supernet tensor and the path has the stand-alone's
    shape. Because the output always concatenates 2 intermediates, every
    vertex has cout/2 channels for even cout (all profiles) and no slicing
    happens; for odd cout the weights hold ceil(cout/2) channels and are
    sliced to the arch's compute_vertex_channels (first channels, like the
    official truncation). Stem and classifier are shared by all archs.
    """

    def __init__(self, cfg):
        super().__init__(cfg, lambda cin, cout: _SuperCell(cin, cout, cfg))

    def forward(self, x, arch: Nb101Arch):
        return self.run(x, lambda cell, h: cell(h, arch))


# ---- the space ------------------------------------------------------------------------
_PROFILES = {
    "smoke": dict(dataset="cifar10-4k", image_size=16, in_channels=3, num_classes=10, stem_channels=8,
                  num_stacks=1, cells_per_stack=1, n_train=256, n_valid=128, bn_momentum=0.1),
    # chosen by the ground-truth pilot (groundtruth_pilot notebook). Short runs: the official BN
    # momentum (TF 0.997) would leave running statistics far from converged after a few epochs.
    "cpu": dict(dataset="fashion-mnist", image_size=16, in_channels=1, num_classes=10, stem_channels=16,
                num_stacks=3, cells_per_stack=1, n_train=10000, n_valid=10000, bn_momentum=0.1),
    # NAS-Bench-101's network; 40k/10k split of the CIFAR-10 training set (A.2.1)
    "paper": dict(dataset="cifar10", image_size=32, in_channels=3, num_classes=10, stem_channels=128,
                  num_stacks=3, cells_per_stack=3, n_train=40000, n_valid=10000),
}


class NasBench101Space(SearchSpace):
    name = "nb101"
    title = "NAS-Bench-101"
    space_type = "cell-wise"
    paper_dataset = "CIFAR-10"

    # ---- what the study knows about this space (base.STUDY_FACTS; read as get_space(name).<fact>) ----
    budgets = {
        "smoke": smoke_budget(pruning_trained_epochs=2),
        # Network and data chosen by the ground-truth pilot (groundtruth_pilot notebook): seed-to-seed
        # Spearman on 40 architectures, 10 epochs (stem 16, 3 stacks x 1 cell) 0.889 for one seed, so
        # the ground truth is the mean of two seeds (Spearman-Brown estimate 0.94); stand-alone training
        # costs about 33 s per architecture and seed on one core. Table 3 groups as the paper's two (its
        # 1k and 2k epochs), at 64 / 128. The ladder reaches 512 epochs (51.2x the ground truth's,
        # training regime); a rung joins once its seeds 0 and 1 are stored, the rest of the regime's
        # rungs are `regime.PLAN`'s.
        "cpu": Budget((1, 2, 4, 8, 16, 32, 64, 128, 256, 512), 10, 300, 300, (64, 128), gt_seeds=(0, 1),
                      gt_variant_archs=50, recipe_overrides={"bn_calib_steps": 10, "bn_calib_batch_size": 200},
                      # the pruning sweep keeps the 8 epochs of the ladder it was computed on (the ladder
                      # grew past 128 since), so no stored sweep changes meaning; its trained-budget family
                      # trains where the ladder's unpruned supernet ranks (Spearman 0.42 at 32 epochs)
                      pruning_epochs=8, pruning_trained_epochs=32),
        "paper": Budget((128, 256, 512, 1000, 2000, 4000, 8000, 16000), 108, 1000, 1000, (1000, 2000)),
    }
    supernet_recipe = Recipe(batch_size=256, lr=0.1, lr_end=0.0, momentum=0.9, nesterov=False, weight_decay=1e-4,
                             grad_clip=5, bn_calib_batch_size=400, bn_calib_steps=25, gpus=1, source="Table 2")
    # google-research/nasbench lib/config.py + model_builder.py: RMSProp (TF, epsilon 1.0), momentum 0.9,
    # base lr 0.1 scaled by the 2 TPU shards = 0.2, cosine by step, L2 1e-4, batch 256, 108 epochs
    standalone_recipe = Recipe(batch_size=256, lr=0.2, optimizer="rmsprop", momentum=0.9, rmsprop_decay=0.9,
                               rmsprop_eps=1.0, weight_decay=1e-4, epochs=108,
                               source="NAS-Bench-101 (nasbench lib/config.py, model_builder.py)")
    table2_column = "NB-101"
    pruning_sweep = True
    fallback_rates = (4.25, 2.24)  # s/epoch, s/arch (base.SearchSpace.fallback_rates)
    # Figure 12, after the paper's A.3: from RMSProp to momentum SGD with gradient clipping 5, cutout
    # and longer training. At 16x16 pixels the cutout length is scaled from 16 (of 32) to 8; epochs
    # double, not x5.
    gt_variant = dict(cfg={}, recipe=dict(optimizer="sgd", lr=0.05, momentum=0.9, nesterov=False,
                                          grad_clip=5.0, cutout=8), epochs_factor=2)
    # name -> (config overrides, epochs); the paper profile's one candidate: its own configuration
    pilot_candidates = {"smoke": {"smoke_a": ({}, 1)}, "cpu": {"fm16_stem16_3x1_e10": ({}, 10)},
                        "paper": {"paper": ({}, budgets["paper"].gt_epochs)}}
    benchmark_gt_profiles = ("paper",)  # as the paper: NAS-Bench-101's own runs (nasbench101_records)

    def parse(self, s: str) -> Nb101Arch:
        if not isinstance(s, str) or s.count("|") != 1:
            raise InvalidArchitecture(f"expected 'MATRIX|op1,...,op5' with one '|', got {s!r}")
        left, right = s.split("|")
        try:
            matrix = json.loads(left)
        except ValueError:
            raise InvalidArchitecture(f"matrix is not a JSON list of lists: {left!r}") from None
        if not isinstance(matrix, list) or not all(isinstance(r, list) for r in matrix):
            raise InvalidArchitecture(f"matrix must be a list of 7 lists, got {left!r}")
        if any(type(v) is not int for r in matrix for v in r):
            raise InvalidArchitecture(f"matrix entries must be 0 or 1, got {left!r}")
        ops = right.split(",")
        if len(ops) != N_INTER:
            raise InvalidArchitecture(f"expected {N_INTER} ops after '|', got {len(ops)}: {right!r}")
        return from_spec(matrix, [INPUT, *ops, OUTPUT])

    def validate(self, arch) -> None:
        if not isinstance(arch, Nb101Arch):
            raise InvalidArchitecture(f"not an Nb101Arch: {arch!r}")
        _check(arch.matrix, arch.ops)

    def size(self) -> int:
        return len(valid_graphs()) * len(_LABELINGS)

    def arch_at(self, i: int) -> Nb101Arch:
        """The i-th arch of ``enumerate()`` (graph-major, then labeling)."""
        g, l = divmod(i, len(_LABELINGS))
        return Nb101Arch(valid_graphs()[g], (INPUT, *_LABELINGS[l], OUTPUT))

    def sample(self, rng: random.Random) -> Nb101Arch:
        # every valid graph has the same 3^5 labelings, so an index is exactly uniform
        return self.arch_at(rng.randrange(self.size()))

    def enumerate(self) -> Iterator[Nb101Arch]:
        for m in valid_graphs():
            for lab in _LABELINGS:
                yield Nb101Arch(m, (INPUT, *lab, OUTPUT))

    def decisions(self, arch: Nb101Arch) -> dict:
        m = arch.matrix
        d = {f"op{k}": arch.ops[k] for k in range(1, N_INTER + 1)}
        for k in range(1, N_INTER + 1):
            d[f"in{k}"] = tuple(s for s in range(k) if m[s][k])
        d["out"] = tuple(s for s in range(1, N_INTER + 1) if m[s][NUM_VERTICES - 1])
        return d

    def decision_choices(self) -> dict:
        d = {f"op{k}": OPS for k in range(1, N_INTER + 1)}
        for k in range(1, N_INTER + 1):
            d[f"in{k}"] = _in_choices(k)
        d["out"] = _out_choices()
        return d

    def config(self, profile: str) -> dict:
        if profile not in _PROFILES:
            raise ValueError(f"unknown profile {profile!r}; choose one of {', '.join(_PROFILES)}")
        return dict(_PROFILES[profile])

    def supernet(self, cfg) -> nn.Module:
        return Nb101Supernet(cfg)

    def standalone(self, arch: Nb101Arch, cfg) -> nn.Module:
        self.validate(arch)
        return Nb101Network(arch.matrix, arch.ops, cfg)

    def cost(self, arch: Nb101Arch, cfg) -> Cost:
        return official_cost(arch.matrix, arch.ops, cfg)

    def to_spec(self, arch: Nb101Arch) -> tuple[list, list]:
        return to_spec(arch)

    def from_spec(self, matrix, ops) -> Nb101Arch:
        return from_spec(matrix, ops)

    def hash(self, arch: Nb101Arch) -> str:
        """NAS-Bench-101 hash (key of its tables); equal for isomorphic cells."""
        return nb101_hash(arch.matrix, arch.ops)
