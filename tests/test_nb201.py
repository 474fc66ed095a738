"""NAS-Bench-201 space: counts, strings, benchmark order, sampling, networks, costs."""
import os
import random
from collections import Counter
from pathlib import Path

import pytest
import torch
import torch.nn as nn
from scipy.stats import chisquare

from nas_core.spaces import InvalidArchitecture, get_space
from nas_core.spaces.nb201 import EDGE_NAMES, OPS, Nb201Arch, Nb201Network, Nb201Supernet

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA_ROOT = Path(os.environ.get("NAS_CORE_DATA", REPO_ROOT.parent / "shared" / "data"))
TABLE_200EP = DATA_ROOT / "nasbench201" / "nb201_200ep_test_accuracy.csv"
needs_table = pytest.mark.skipif(not TABLE_200EP.exists(),
                                 reason=f"NAS-Bench-201 table not found at {TABLE_200EP} (set NAS_CORE_DATA)")

BEST_CIFAR10 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
PAPER_10 = dict(C=16, N=5, num_classes=10, in_channels=3, image_size=32)


@pytest.fixture(scope="module")
def space():
    return get_space("nb201")


@pytest.fixture(scope="module")
def table():
    import pandas as pd
    return pd.read_csv(TABLE_200EP)


def arch_of(*ops):
    return Nb201Arch(tuple(ops))


def n_params(model):
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


# ---- counts and strings -----------------------------------------------------------

def test_counts(space):
    assert len(space.all_cells()) == 15625
    assert space.size() == 15284
    valid = list(space.enumerate())
    assert len(valid) == 15284 == len(set(valid))
    assert sum(not space.is_valid(a) for a in space.all_cells()) == 341
    assert len(space.isomorphism_classes()) == 6466
    assert (space.name, space.title, space.paper_dataset) == ("nb201", "NAS-Bench-201", "CIFAR-100")


def test_string_round_trip_and_index_for_all_cells(space):
    for i, arch in enumerate(space.all_cells()):
        s = str(arch)
        assert space.parse(s) == arch and str(space.parse(s)) == s
        assert space.index(arch) == i and space.from_index(i) == arch
    example = "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_1x1~1|skip_connect~2|"
    assert str(space.parse(example)) == example
    assert space.parse(example).ops == ("nor_conv_3x3", "none", "skip_connect",
                                        "avg_pool_3x3", "nor_conv_1x1", "skip_connect")


@pytest.mark.parametrize("bad,message", [
    ("|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|", "unknown op 'conv'"),
    ("|nor_conv_3x3~1|+|none~0|none~1|+|none~0|none~1|none~2|", "input node index 1, expected 0"),
    ("|nor_conv_3x3~0|+|none~0|none~2|+|none~0|none~1|none~2|", "input node index 2, expected 1"),
    ("|nor_conv_3x3~0|+|none~0|+|none~0|none~1|none~2|", "node 2 needs 2 input edge"),
    ("|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|none~3|", "node 3 needs 3 input edge"),
    ("|nor_conv_3x3~0|+|none~0|none~1|", "expected 3 nodes"),
    ("|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|+|none~0|", "expected 3 nodes"),
    ("nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|", "malformed"),
    ("|nor_conv_3x3|+|none~0|none~1|+|none~0|none~1|none~2|", "malformed"),
    ("|nor_conv_3x3~x|+|none~0|none~1|+|none~0|none~1|none~2|", "malformed"),
    ("", "malformed"),
])
def test_bad_strings_rejected_with_reason(space, bad, message):
    with pytest.raises(InvalidArchitecture, match=message):
        space.parse(bad)


def test_bad_objects_rejected(space):
    with pytest.raises(InvalidArchitecture, match="6 edges"):
        Nb201Arch(("none",) * 5)
    with pytest.raises(InvalidArchitecture, match="unknown op 'max_pool_3x3'"):
        Nb201Arch(("max_pool_3x3",) + ("none",) * 5)
    with pytest.raises(InvalidArchitecture, match="not connected"):
        space.validate(arch_of("nor_conv_3x3", "none", "none", "none", "none", "skip_connect"))
    with pytest.raises(InvalidArchitecture, match="Nb201Arch"):
        space.validate("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    space.validate(space.parse(BEST_CIFAR10))


def test_decisions(space):
    arch = space.parse("|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_1x1~1|skip_connect~2|")
    d = space.decisions(arch)
    assert list(d) == ["1<-0", "2<-0", "2<-1", "3<-0", "3<-1", "3<-2"] == list(EDGE_NAMES)
    assert d["3<-0"] == "avg_pool_3x3" == arch.op("3<-0") and d["2<-0"] == "none"
    assert space.decision_choices() == {name: OPS for name in EDGE_NAMES}
    assert OPS == ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")


def test_restrict(space):
    sub = space.restrict({"3<-0": ["skip_connect"]})
    assert sub.size() == 5 ** 5  # a skip from input to output makes every cell valid
    assert all(a.op("3<-0") == "skip_connect" for a in sub.enumerate())


# ---- the benchmark's own table --------------------------------------------------------

@needs_table
def test_index_order_matches_benchmark_table(space, table):
    column = "ArchitectureString" if "ArchitectureString" in table.columns else "arch"
    strings = table[column].tolist()
    assert len(strings) == 15625
    for i, s in enumerate(strings):
        assert space.index(space.parse(s)) == i
        assert str(space.from_index(i)) == s


@needs_table
def test_canonical_form_matches_benchmark_unique_strings(space, table):
    for s, unique in zip(table["ArchitectureString"], table["UniqueString"]):
        assert space.canonical_form(space.parse(s)) == unique
    assert table["UniqueString"].nunique() == 6466


# ---- sampling ---------------------------------------------------------------------------

def test_uniform_sampling(space):
    rng = random.Random(0)
    draws = [space.sample(rng) for _ in range(20000)]
    assert all(space.is_valid(a) for a in draws)
    valid = list(space.enumerate())
    # the op on the input->output edge, and the number of `none` edges, conditional on validity
    for statistic in (lambda a: a.op("3<-0"), lambda a: a.ops.count("none")):
        expected = Counter(statistic(a) for a in valid)
        observed = Counter(statistic(a) for a in draws)
        keys = sorted(expected)
        f_exp = [expected[k] / len(valid) * len(draws) for k in keys]
        assert chisquare([observed[k] for k in keys], f_exp).pvalue > 1e-3


def test_sampling_is_deterministic(space):
    assert space.sample_many(50, seed=3) == space.sample_many(50, seed=3)
    assert space.sample_many(50, seed=3) != space.sample_many(50, seed=4)
    assert len(set(space.sample_many(200, seed=1))) == 200


# ---- networks and costs -------------------------------------------------------------------

@pytest.mark.parametrize("op,num_classes,expected", [
    ("none", 10, 73306), ("nor_conv_3x3", 10, 1531546),
    ("none", 100, 79156), ("nor_conv_3x3", 100, 1537396),
])
def test_parameter_counts_match_benchmark(space, op, num_classes, expected):
    arch = arch_of(*(op,) * 6)
    cfg = dict(PAPER_10, num_classes=num_classes)
    assert space.cost(arch, cfg).params == expected
    assert n_params(network(arch, cfg)) == expected  # the benchmark counts its disconnected cells too


def network(arch, cfg):
    """The network of any cell, disconnected ones included (``standalone`` refuses those)."""
    return Nb201Network(arch, cfg["C"], cfg["N"], cfg["num_classes"], cfg.get("in_channels", 3))


def test_standalone_refuses_a_disconnected_cell(space):
    cut = arch_of("nor_conv_3x3", "nor_conv_3x3", "skip_connect", "none", "none", "none")  # no edge into the output
    with pytest.raises(InvalidArchitecture, match="not connected"):
        space.standalone(cut, space.config("smoke"))
    with pytest.raises(InvalidArchitecture, match="not connected"):
        space.standalone(str(cut), space.config("smoke"))


def test_param_free_ops_have_the_same_count(space):
    cfg = dict(PAPER_10, C=4, N=1)
    counts = {n_params(space.standalone(arch_of(op, *("skip_connect",) * 5), cfg))
              for op in ("none", "skip_connect", "avg_pool_3x3")}
    assert len(counts) == 1


def hooked_flops(model, cfg):
    """Multiply-adds of Conv2d and Linear layers for one image, by forward hooks."""
    total = []

    def conv_hook(m, inputs, out):
        total.append(out.numel() * m.in_channels // m.groups * m.kernel_size[0] * m.kernel_size[1])

    def linear_hook(m, inputs, out):
        total.append(m.in_features * m.out_features)

    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            m.register_forward_hook(conv_hook)
        elif isinstance(m, nn.Linear):
            m.register_forward_hook(linear_hook)
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, cfg["in_channels"], cfg["image_size"], cfg["image_size"]))
    return sum(total)


def test_cost_matches_built_network(space):
    cfgs = [space.config("smoke"), space.config("cpu"), dict(space.config("cpu"), image_size=28),
            dict(PAPER_10, C=8, N=2)]
    archs = [arch_of(*("none",) * 6), space.parse(BEST_CIFAR10)] + space.sample_many(3, seed=0)
    for cfg in cfgs:
        for arch in archs:
            model = network(arch, cfg)
            cost = space.cost(arch, cfg)
            assert cost.params == n_params(model)
            assert cost.flops == hooked_flops(model, cfg)
    assert space.cost(arch_of(*("nor_conv_3x3",) * 6), PAPER_10).flops == 220_119_680


def test_configs(space):
    for profile in ("smoke", "cpu", "paper"):
        cfg = space.config(profile)
        assert {"dataset", "image_size", "in_channels", "num_classes", "C", "N", "n_train", "n_valid"} <= set(cfg)
    assert space.config("smoke") == dict(dataset="cifar10-4k", image_size=16, in_channels=3, num_classes=10,
                                         C=4, N=1, n_train=256, n_valid=128)
    assert space.config("cpu")["dataset"] == "fashion-mnist" and space.config("cpu")["in_channels"] == 1
    paper = space.config("paper")
    assert (paper["dataset"], paper["image_size"], paper["num_classes"], paper["C"], paper["N"]) == \
        ("cifar100", 32, 100, 16, 5)
    with pytest.raises(ValueError, match="unknown profile"):
        space.config("huge")


def test_standalone_forward_backward(space):
    torch.manual_seed(0)
    for profile in ("smoke", "cpu"):
        cfg = space.config(profile)
        model = space.standalone(space.parse(BEST_CIFAR10), cfg)
        x = torch.randn(8, cfg["in_channels"], cfg["image_size"], cfg["image_size"])
        logits = model(x)
        assert logits.shape == (8, cfg["num_classes"]) and torch.isfinite(logits).all()
        logits.logsumexp(1).mean().backward()
        assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


def test_supernet_forward_backward(space):
    cfg = space.config("smoke")
    torch.manual_seed(0)
    net = space.supernet(cfg)
    x = torch.randn(8, 3, 16, 16)
    arch = space.sample(random.Random(1))
    logits = net(x, arch)
    assert logits.shape == (8, 10) and torch.isfinite(logits).all()
    logits.logsumexp(1).mean().backward()
    # ops off the sampled path get no gradient; the shared stem, reductions and head do
    for name, p in net.named_parameters():
        parts = name.split(".")
        if parts[0] == "cells" and parts[2] == "edges":
            if arch.op(parts[3]) != parts[4]:
                assert p.grad is None, name
        else:
            assert p.grad is not None and torch.isfinite(p.grad).all(), name
    assert torch.equal(net(x, str(arch)), net(x, arch))  # the benchmark string works too


def test_supernet_holds_every_op(space):
    cfg = space.config("smoke")
    net = space.supernet(cfg)
    assert isinstance(net, Nb201Supernet)
    cell = net.cells[0]
    assert set(cell.edges) == set(EDGE_NAMES)
    assert all(set(ops) == set(OPS) - {"none"} for ops in cell.edges.values())
    bns = [m for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    assert all(bn.affine and bn.track_running_stats for bn in bns)


@pytest.mark.parametrize("arch_string", [
    BEST_CIFAR10,
    "|none~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|none~0|avg_pool_3x3~1|nor_conv_3x3~2|",  # node 1 is zero
    "|nor_conv_3x3~0|+|avg_pool_3x3~0|none~1|+|skip_connect~0|none~1|nor_conv_1x1~2|",  # node 1 unused
    "|avg_pool_3x3~0|+|none~0|none~1|+|nor_conv_1x1~0|skip_connect~1|nor_conv_3x3~2|",  # node 2 is zero
])
def test_supernet_path_equals_standalone_network(space, arch_string):
    """One path of the supernet is exactly the stand-alone network with the same weights."""
    cfg = dict(space.config("smoke"), in_channels=1)
    torch.manual_seed(0)
    supernet = space.supernet(cfg)
    arch = space.parse(arch_string)
    with torch.no_grad():  # non-trivial BN affine parameters, so zero nodes are not trivially zero
        for m in supernet.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)
    model = space.standalone(arch, cfg)
    model.load_state_dict(supernet.standalone_state_dict(arch))
    x = torch.randn(6, 1, 16, 16)
    torch.testing.assert_close(supernet(x, arch), model(x))  # train mode: batch statistics
    supernet.eval()
    model.eval()
    torch.testing.assert_close(supernet(x, arch), model(x))  # eval mode: running statistics


def test_network_determinism(space):
    cfg = space.config("smoke")
    arch = space.parse(BEST_CIFAR10)
    x = torch.randn(4, 3, 16, 16)
    outputs = []
    for _ in range(2):
        torch.manual_seed(7)
        outputs.append((space.supernet(cfg)(x, arch), space.standalone(arch, cfg)(x)))
    torch.testing.assert_close(outputs[0][0], outputs[1][0], rtol=0, atol=0)
    torch.testing.assert_close(outputs[0][1], outputs[1][1], rtol=0, atol=0)
