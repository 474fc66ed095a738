"""NAS-Bench-101 sub-space: counts, strings, hashes, parameter counts, networks, sampling."""
import collections
import random

import numpy as np
import pytest
import torch
import torch.nn as nn
from scipy.stats import chisquare

from nas_core.spaces import get_space
from nas_core.spaces.base import InvalidArchitecture
from nas_core.spaces.nb101 import (
    OPS, Nb101Arch, Nb101Network, compute_vertex_channels, count_isomorphism_classes, from_spec,
    hash_module, nb101_hash, official_cost, to_spec, valid_graphs,
)

SPACE = get_space("nb101")
PAPER = SPACE.config("paper")
C3, C1, MP = OPS

# Two NAS-Bench-101 table rows (outside the sub-space: nodes with 3 inputs / 4 output
# inputs), with their published hash and trainable_parameters at the paper network.
ROW_A = ([[0, 1, 0, 0, 1, 1, 0], [0, 0, 1, 0, 0, 0, 0], [0, 0, 0, 1, 0, 0, 1], [0, 0, 0, 0, 0, 1, 0],
          [0, 0, 0, 0, 0, 1, 0], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 0]],
         ["input", C3, MP, C3, C3, C1, "output"])
ROW_A_HASH, ROW_A_PARAMS = "00005c142e6f48ac74fdcf73e3439874", 8555530
ROW_B = ([[0, 1, 1, 1, 1, 0, 0], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1],
          [0, 0, 0, 0, 0, 1, 0], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 0]],
         ["input", C3, C1, MP, C3, C3, "output"])
ROW_B_PARAMS = 2694282  # the README's Inception-like cell

# A sub-space cell: 1<-0, 2<-1, 3<-2, 4<-{0,3}, 5<-{0,4}, out<-{3,5}.
CHAIN = "[[0,1,0,0,1,1,0],[0,0,1,0,0,0,0],[0,0,0,1,0,0,0],[0,0,0,0,1,0,1],[0,0,0,0,0,1,0],[0,0,0,0,0,0,1],[0,0,0,0,0,0,0]]"
CHAIN_STR = CHAIN + "|conv3x3-bn-relu,maxpool3x3,conv1x1-bn-relu,conv3x3-bn-relu,conv3x3-bn-relu"


def tiny(**kw):
    cfg = SPACE.config("smoke")
    cfg.update(kw)
    return cfg


# ---- counts -----------------------------------------------------------------------
def test_counts():
    assert len(valid_graphs()) == 395
    assert SPACE.size() == 95985 == 395 * 3 ** 5
    archs = list(SPACE.enumerate())
    assert len(archs) == len(set(archs)) == 95985
    assert archs[:50] == list(SPACE.enumerate())[:50]  # deterministic order
    assert SPACE.arch_at(12345) == archs[12345]
    for m in valid_graphs():  # each graph is valid (labels do not affect validity)
        SPACE.validate(Nb101Arch(m, ("input", C3, C3, C3, C3, C3, "output")))


def test_isomorphism_classes():
    assert count_isomorphism_classes() == 42228  # paper, A.2.1


def test_hash_matches_nasbench101():
    assert nb101_hash(*ROW_A) == ROW_A_HASH
    # Cell: 1<-0, 2<-0, 3<-0, 4<-{1,2}, 5<-{0,3}, out<-{4,5}; swapping nodes 1 and 2 (same
    # role) with their ops gives the same hash, a different op layout a different hash.
    base = [[0, 1, 1, 1, 0, 1, 0], [0, 0, 0, 0, 1, 0, 0], [0, 0, 0, 0, 1, 0, 0], [0, 0, 0, 0, 0, 1, 0],
            [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1], [0] * 7]
    a = from_spec(base, ["input", C3, C1, MP, C3, C3, "output"])
    b = from_spec(base, ["input", C1, C3, MP, C3, C3, "output"])
    c = from_spec(base, ["input", C3, C3, C1, MP, C3, "output"])
    assert SPACE.hash(a) == SPACE.hash(b) != SPACE.hash(c)
    # official tricky case (graph_util_test): directed edges matter
    m = [[0, 1, 0, 1], [0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0]]
    assert hash_module(m, [-1, 1, 0, -2]) != hash_module(m, [-1, 0, 1, -2])


# ---- strings, specs, decisions -------------------------------------------------------
def test_string_and_spec_round_trips():
    a = SPACE.parse(CHAIN_STR)
    assert str(a) == CHAIN_STR and SPACE.to_str(a) == CHAIN_STR
    for a in SPACE.sample_many(300, seed=1):
        assert SPACE.parse(str(a)) == a
        m, ops = to_spec(a)
        assert isinstance(m, list) and len(ops) == 7 and ops[0] == "input" and ops[-1] == "output"
        assert from_spec(m, ops) == a == SPACE.from_spec(*SPACE.to_spec(a))
    # numpy / spaced input is accepted and canonicalised
    assert from_spec(np.array(a.matrix), list(a.ops)) == a
    assert SPACE.parse(CHAIN.replace(",", ", ") + "|" + CHAIN_STR.split("|")[1]) == SPACE.parse(CHAIN_STR)


def _swap(s, old, new):
    assert old in s
    return s.replace(old, new, 1)


BAD = {
    "no bar": (CHAIN, "one '|'"),
    "bad json": ("[[0,1]|" + CHAIN_STR.split("|")[1], "not a JSON"),
    "4 ops": (CHAIN_STR.rsplit(",", 1)[0], "expected 5 ops"),
    "unknown op": (CHAIN_STR.replace("maxpool3x3", "avgpool3x3"), "unknown op 'avgpool3x3' at node 2"),
    "6 rows": (CHAIN.rsplit(",[", 1)[0] + "]|" + CHAIN_STR.split("|")[1], "7x7"),
    "entry 2": (_swap(CHAIN_STR, "[0,1,0,0,1,1,0]", "[0,2,0,0,1,1,0]"), "entry (0,1) is 2"),
    "lower": (_swap(CHAIN_STR, "[0,0,1,0,0,0,0]", "[1,0,1,0,0,0,0]"), "not upper triangular: edge 1->0"),
    "in->out": (_swap(CHAIN_STR, "[0,1,0,0,1,1,0]", "[0,1,0,0,1,1,1]"), "input->output"),
    "in-degree": (_swap(CHAIN_STR, "[0,1,0,0,1,1,0]", "[0,1,1,0,1,1,0]"), "node 2 must have exactly 1 input(s), has 2"),
    "out-degree": (_swap(CHAIN_STR, "[0,0,0,0,1,0,1]", "[0,0,0,0,1,0,0]"), "exactly 2 intermediate nodes, has 1"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_parse_rejects_with_reason(case):
    s, why = BAD[case]
    with pytest.raises(InvalidArchitecture, match=why.replace("(", r"\(").replace(")", r"\)")):
        SPACE.parse(s)


def test_dangling_node_rejected():
    # 1<-0, 2<-1, 3<-1, 4<-{0,1}, 5<-{0,4}, out<-{2,5}: node 3 is a dead end
    m = [[0, 1, 0, 0, 1, 1, 0], [0, 0, 1, 1, 1, 0, 0], [0, 0, 0, 0, 0, 0, 1], [0] * 7,
         [0, 0, 0, 0, 0, 1, 0], [0, 0, 0, 0, 0, 0, 1], [0] * 7]
    with pytest.raises(InvalidArchitecture, match="node 3 does not reach the output"):
        from_spec(m, ["input", C3, C3, C3, C3, C3, "output"])
    with pytest.raises(InvalidArchitecture, match="start with 'input'"):
        from_spec(SPACE.arch_at(0).matrix, [C3] * 7)
    assert not SPACE.is_valid("not an arch")


def test_decisions():
    choices = SPACE.decision_choices()
    assert list(choices) == [f"op{k}" for k in range(1, 6)] + [f"in{k}" for k in range(1, 6)] + ["out"]
    assert [len(choices[f"in{k}"]) for k in range(1, 6)] + [len(choices["out"])] == [1, 2, 3, 6, 10, 10]
    seen = {}
    for a in SPACE.sample_many(500, seed=2):
        d = SPACE.decisions(a)
        assert list(d) == list(choices) and all(d[k] in choices[k] for k in d)
        assert seen.setdefault(tuple(d.values()), a) == a  # decisions determine the arch
    d = SPACE.decisions(SPACE.parse(CHAIN_STR))
    assert d["in4"] == (0, 3) and d["out"] == (3, 5) and d["op2"] == MP


def test_restrict():
    sub = SPACE.restrict({"op1": [MP], "out": [(4, 5)]})
    assert 0 < sub.size() < 95985 / 3
    assert all(SPACE.decisions(a)["op1"] == MP for a in sub.sample_many(20, seed=0))


# ---- sampling -------------------------------------------------------------------------
def test_sampling_is_uniform():
    rng = random.Random(0)
    n = 40000
    draws = [SPACE.sample(rng) for _ in range(n)]
    graphs = {m: i for i, m in enumerate(valid_graphs())}
    g = collections.Counter(graphs[a.matrix] for a in draws)
    assert len(g) == 395 and chisquare([g[i] for i in range(395)]).pvalue > 1e-3
    op = collections.Counter(a.ops[1] for a in draws)
    assert chisquare([op[o] for o in OPS]).pvalue > 1e-3
    assert all(SPACE.is_valid(a) for a in draws[:500])
    assert len(set(SPACE.sample_many(1000, seed=5))) == 1000


# ---- parameter counts and FLOPs ---------------------------------------------------------
def n_params(model):
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def test_vertex_channels_official_cases():
    # from nasbench/tests/model_builder_test.py
    m = [[0, 1, 1, 1, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]]
    assert compute_vertex_channels(8, 8, m) == [8, 3, 3, 2, 8]
    m = [[0, 1, 0, 1, 0], [0, 0, 1, 0, 1], [0, 0, 0, 1, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]]
    assert compute_vertex_channels(8, 15, m) == [8, 8, 7, 7, 15]


def test_params_match_published_nasbench101_rows():
    assert official_cost(*ROW_A, PAPER).params == ROW_A_PARAMS
    assert official_cost(*ROW_B, PAPER).params == ROW_B_PARAMS
    assert n_params(Nb101Network(*ROW_A, PAPER)) == ROW_A_PARAMS
    # by hand for ROW_A: all vertices C/2 (output fed by 2 and 5); input feeds 1, 4, 5;
    # convs: 3x3 at 1, 3, 4, 1x1 at 5. Per cell 3*(cin*v+2v) + 3*(9v^2+2v) + (v^2+2v):
    # stack0 (v=64) 3*140160; stack1 (v=128) 509696 + 2*558848; stack2 (v=256) 2035200 +
    # 2*2231808; stem 3*9*128+256 = 3712; dense 512*10+10 = 5130; total 8555530.


def test_standalone_params_match_official_formula():
    for a in SPACE.sample_many(3, seed=3):  # full paper network
        assert n_params(SPACE.standalone(a, PAPER)) == SPACE.cost(a, PAPER).params
    for cfg in (tiny(stem_channels=7, num_stacks=2, cells_per_stack=2), SPACE.config("cpu")):
        for a in SPACE.sample_many(10, seed=4):  # odd channels exercise the +1 split
            assert n_params(SPACE.standalone(a, cfg)) == SPACE.cost(a, cfg).params


def test_params_range_at_paper_config():
    # measured over all 95,985 cells (stem 128, 3x3 cells): min 445,706 (all max-pool, one
    # projection; 69 cells), max 13,381,898 (all conv3x3, four projections; 27 cells),
    # median 5,532,810, mean 5,318,412.
    lo = SPACE.parse("[[0,1,0,0,0,0,0],[0,0,1,1,1,1,0],[0,0,0,0,1,0,0],[0,0,0,0,0,1,0],"
                     "[0,0,0,0,0,0,1],[0,0,0,0,0,0,1],[0,0,0,0,0,0,0]]|" + ",".join([MP] * 5))
    hi = SPACE.parse("[[0,1,1,1,1,0,0],[0,0,0,0,1,0,0],[0,0,0,0,0,1,0],[0,0,0,0,0,1,0],"
                     "[0,0,0,0,0,0,1],[0,0,0,0,0,0,1],[0,0,0,0,0,0,0]]|" + ",".join([C3] * 5))
    assert SPACE.cost(lo, PAPER).params == 445_706 and SPACE.cost(hi, PAPER).params == 13_381_898
    params = [SPACE.cost(a, PAPER).params for a in SPACE.sample_many(1000, seed=6)]
    assert 445_706 <= min(params) < 1_500_000 and 10_000_000 < max(params) <= 13_381_898


def test_flops_match_hooks():
    cfg = SPACE.config("cpu")
    for a in SPACE.sample_many(3, seed=7):
        model, macs = SPACE.standalone(a, cfg).eval(), []

        def hook(m, inp, out):
            w = m.weight
            macs.append(out[0].numel() * w[0].numel() if isinstance(m, nn.Conv2d) else w.numel())

        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                m.register_forward_hook(hook)
        with torch.no_grad():
            model(torch.zeros(1, cfg["in_channels"], cfg["image_size"], cfg["image_size"]))
        assert sum(macs) == SPACE.cost(a, cfg).flops


# ---- networks ---------------------------------------------------------------------------
def test_standalone_forward_backward():
    cfg = tiny(num_stacks=2)
    model = SPACE.standalone(SPACE.parse(CHAIN_STR), cfg)
    y = model(torch.randn(4, 3, 16, 16))
    assert y.shape == (4, 10)
    y.sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    bn = next(m for m in model.modules() if isinstance(m, nn.BatchNorm2d))
    assert bn.eps == 1e-5 and bn.momentum == pytest.approx(0.1)  # smoke: short runs need faster BN statistics
    paper_net = SPACE.standalone(SPACE.parse(CHAIN_STR), {**SPACE.config("paper"), "num_stacks": 1, "cells_per_stack": 1})
    bn = next(m for m in paper_net.modules() if isinstance(m, nn.BatchNorm2d))
    assert bn.momentum == pytest.approx(0.003)  # NAS-Bench-101's TF momentum 0.997


def _inherit(net, sup, arch):
    """Copy the supernet weights of ``arch``'s path into its stand-alone network."""
    for cell, sc in zip(net.cells, sup.cells):
        for t in range(1, 6):
            if str(t) in cell.proj:
                cell.proj[str(t)].load_state_dict({"0.weight": sc.proj[t - 1].conv.weight,
                                                   **{f"1.{k}": v for k, v in sc.proj[t - 1].bn.state_dict().items()}})
            if arch.ops[t] != MP:
                src = (sc.conv3 if arch.ops[t] == C3 else sc.conv1)[t - 1]
                cell.op[str(t)].load_state_dict({"0.weight": src.conv.weight,
                                                 **{f"1.{k}": v for k, v in src.bn.state_dict().items()}})
    net.stem.load_state_dict(sup.stem.state_dict())
    net.classifier.load_state_dict(sup.classifier.state_dict())


@pytest.mark.parametrize("stem", [8, 7])
def test_supernet_runs_one_path_like_standalone(stem):
    cfg = tiny(stem_channels=stem, num_stacks=2, cells_per_stack=1)
    torch.manual_seed(0)
    sup = SPACE.supernet(cfg)
    x = torch.randn(4, 3, 16, 16)
    for a in SPACE.sample_many(4, seed=8) + [SPACE.parse(CHAIN_STR)]:
        sup.zero_grad(set_to_none=True)
        y = sup(x, a)
        assert y.shape == (4, 10)
        y.sum().backward()
        used = sum(p.numel() for p in sup.parameters() if p.grad is not None)
        assert 0 < used < n_params(sup)
        if stem % 2 == 0:  # no slicing: the path has exactly the stand-alone's parameters
            assert used == SPACE.cost(a, cfg).params
            net = SPACE.standalone(a, cfg)
            _inherit(net, sup, a)
            sup.eval(), net.eval()
            with torch.no_grad():
                torch.testing.assert_close(net(x), sup(x, a))
            sup.train()


def test_configs():
    keys = {"dataset", "image_size", "in_channels", "num_classes", "stem_channels", "num_stacks",
            "cells_per_stack", "n_train", "n_valid"}
    for p in ("smoke", "cpu", "paper"):
        assert keys <= set(SPACE.config(p))
    assert SPACE.config("paper")["stem_channels"] == 128 and SPACE.config("cpu")["dataset"] == "fashion-mnist"
    with pytest.raises(ValueError):
        SPACE.config("huge")


def test_a_sliced_conv_bn_recalibrates_as_batch_norm_does():
    # BN recalibration puts the BN layers alone in train mode, with momentum None (a cumulative
    # average); a path narrower than the layer runs on a slice of its statistics, which must follow
    # nn.BatchNorm's rule (it read the enclosing module's mode and left them unchanged; this
    # sub-space never narrows a vertex, so no stored result took this path)
    from nas_core.evaluation import calibrate_bn
    from nas_core.spaces.nb101 import _SlicedConvBn

    torch.manual_seed(0)
    wide, narrow = _SlicedConvBn(4, 8, 1, {}), nn.Sequential(nn.Conv2d(4, 5, 1, bias=False), nn.BatchNorm2d(5))
    narrow[0].weight.data.copy_(wide.conv.weight.data[:5])

    class Path(nn.Module):  # calibrate_bn's model(x, arch) call, on 5 of the 8 channels
        def __init__(self, layer):
            super().__init__()
            self.layer = layer

        def forward(self, x, arch):
            return self.layer(x, 5)

    batches = [torch.randn(6, 4, 3, 3) for _ in range(3)]
    calibrate_bn(Path(wide), batches, arch="narrow")
    calibrate_bn(narrow, batches)
    torch.testing.assert_close(wide.bn.running_mean[:5], narrow[1].running_mean)
    torch.testing.assert_close(wide.bn.running_var[:5], narrow[1].running_var)
    assert int(wide.bn.num_batches_tracked) == 3
