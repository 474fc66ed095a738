"""ProxylessNAS (GPU) space: counts, parsing, networks, cost, restriction."""
import math
import random

import pytest
import torch
from scipy.stats import chisquare

from nas_core.spaces import InvalidArchitecture, get_space
from nas_core.spaces.proxyless import (ALL_OPS, MB_OPS, MOBILE_FLOPS_LIMIT, PROXYLESS_GPU, ProxylessArch,
                                       ProxylessSpace, count_macs, make_divisible)


@pytest.fixture(scope="module")
def space():
    return get_space("proxyless")


def test_metadata_and_size(space):
    assert isinstance(space, ProxylessSpace)
    assert (space.name, space.title, space.space_type, space.paper_dataset) == (
        "proxyless", "ProxylessNAS", "chain-wise", "ImageNet")
    assert space.size() == 6**6 * 7**15 == 221502229807900608  # 2.22e17 (paper Table 1)
    choices = space.decision_choices()
    assert list(choices) == [f"layer{i:02d}" for i in range(1, 22)]
    fixed = [k for k, v in choices.items() if "skip" not in v]
    assert fixed == ["layer01", "layer05", "layer09", "layer13", "layer17", "layer21"]
    assert set(MB_OPS) == {"k3_e3", "k3_e6", "k5_e3", "k5_e6", "k7_e3", "k7_e6"}


def test_make_divisible_widths():
    # ProxylessNAS-GPU channels at width 1.35
    assert [make_divisible(c * 1.35) for c in (32, 16, 24, 40, 80, 96, 192, 320, 1280)] == [
        40, 24, 32, 56, 112, 128, 256, 432, 1728]


def test_proxyless_gpu_params_and_flops(space):
    cfg = space.config("paper")
    net = space.standalone(PROXYLESS_GPU, cfg)
    n_params = sum(p.numel() for p in net.parameters() if p.requires_grad)
    assert n_params == 7_119_848  # the published proxyless_gpu network
    cost = space.cost(PROXYLESS_GPU, cfg)
    assert cost.params == n_params
    assert abs(cost.flops - 465e6) / 465e6 < 0.01  # 465,260,160 multiply-adds
    assert cost.flops == space.flops_paper_scale(PROXYLESS_GPU)
    net.eval()
    assert count_macs(net, torch.zeros(1, 3, 224, 224)) == cost.flops


def test_analytic_cost_matches_networks(space):
    paper = space.config("paper")
    smoke = space.config("smoke")
    for a in space.sample_many(3, seed=1):
        net = space.standalone(a, paper).eval()
        assert space.flops_paper_scale(a) == count_macs(net, torch.zeros(1, 3, 224, 224))
        assert space.cost(a, paper).params == sum(p.numel() for p in net.parameters())
    for a in space.sample_many(5, seed=2):
        net = space.standalone(a, smoke).eval()
        c = space.cost(a, smoke)
        assert c.params == sum(p.numel() for p in net.parameters())
        assert c.flops == count_macs(net, torch.zeros(2, 3, 16, 16))


def test_round_trip(space):
    s = str(PROXYLESS_GPU)
    assert s.startswith("k5_e3:skip:skip:skip:k7_e3:")
    assert space.parse(s) == PROXYLESS_GPU
    assert space.parse(" " + s.replace(":", " : ") + "\n") == PROXYLESS_GPU
    for a in space.sample_many(50, seed=3):
        assert space.parse(str(a)) == a
        assert hash(space.parse(str(a))) == hash(a)
        assert tuple(space.decisions(a).values()) == a.ops


def _with(i, op):
    """PROXYLESS_GPU's string with layer i (0-based) replaced."""
    ops = list(PROXYLESS_GPU.ops)
    ops[i] = op
    return ":".join(ops)


@pytest.mark.parametrize("bad, message", [
    (str(PROXYLESS_GPU) + ":k5_e3", "got 22"),
    (":".join(PROXYLESS_GPU.ops[:-1]), "got 20"),
    ("", "got 1"),
    (_with(0, "k4_e3"), "layer01: unknown op 'k4_e3'"),
    (_with(20, "zero"), "layer21: unknown op 'zero'"),
    (_with(9, "K3_E3"), "layer10: unknown op 'K3_E3'"),
    (_with(0, "skip"), "layer01 is the first layer of a stage"),
    (_with(4, "skip"), "layer05 is the first layer of a stage"),
    (_with(20, "skip"), "layer21 is the first layer of a stage"),
])
def test_bad_strings_rejected(space, bad, message):
    with pytest.raises(InvalidArchitecture, match=message):
        space.parse(bad)


def test_bad_objects_rejected(space):
    assert not space.is_valid(ProxylessArch(tuple(PROXYLESS_GPU.ops[:-1])))
    assert not space.is_valid(ProxylessArch(list(PROXYLESS_GPU.ops)))
    assert not space.is_valid(str(PROXYLESS_GPU))
    with pytest.raises(InvalidArchitecture):
        space.standalone(ProxylessArch(("skip",) * 21), space.config("smoke"))
    with pytest.raises(InvalidArchitecture):
        space.parse(None)


def test_uniform_sampling(space):
    rng = random.Random(0)
    n = 7000
    counts = {op: 0 for op in ALL_OPS}
    first = {op: 0 for op in MB_OPS}
    for _ in range(n):
        a = space.sample(rng)
        counts[a.ops[1]] += 1  # layer02: 7 choices
        first[a.ops[0]] += 1  # layer01: 6 choices, never skip
    assert chisquare(list(counts.values())).pvalue > 1e-3
    assert chisquare(list(first.values())).pvalue > 1e-3
    assert len(set(space.sample_many(100, seed=0))) == 100
    assert space.sample_many(5, seed=7) == space.sample_many(5, seed=7)


def test_restrict_exact(space):
    sub = space.restrict({"layer01": ["k3_e3", "k7_e6"], "layer02": ["skip"], "layer21": ("k5_e6",)})
    assert isinstance(sub, ProxylessSpace) and sub.name == "proxyless"
    assert sub.size() == 2 * 1 * 6**4 * 7**14 * 1
    assert sub.decision_choices()["layer01"] == ("k3_e3", "k7_e6")
    for a in sub.sample_many(30, seed=0):
        d = sub.decisions(a)
        assert d["layer01"] in ("k3_e3", "k7_e6") and d["layer02"] == "skip" and d["layer21"] == "k5_e6"
        assert space.is_valid(a)
    assert not sub.is_valid(PROXYLESS_GPU)
    with pytest.raises(InvalidArchitecture, match="layer01: 'k5_e3' is pruned"):
        sub.parse(str(PROXYLESS_GPU))
    # narrowing again works, widening is refused
    assert sub.restrict({"layer01": ["k7_e6"]}).size() == sub.size() // 2
    with pytest.raises(ValueError, match="cannot take"):
        sub.restrict({"layer02": ["k3_e3"]})
    with pytest.raises(ValueError, match="cannot take"):
        space.restrict({"layer01": ["skip"]})
    with pytest.raises(ValueError, match="no candidate"):
        space.restrict({"layer03": []})
    with pytest.raises(ValueError, match="unknown decision"):
        space.restrict({"layer22": ["skip"]})


def test_restrict_to_few_enumerates(space):
    # Figure 6c's best supernet holds 7 architectures: one layer free, the rest fixed
    allowed = {k: [v] for k, v in space.decisions(PROXYLESS_GPU).items()}
    allowed["layer02"] = list(ALL_OPS)
    sub = space.restrict(allowed)
    archs = list(sub.enumerate())
    assert sub.size() == len(archs) == len(set(archs)) == 7
    assert PROXYLESS_GPU in archs
    with pytest.raises(NotImplementedError):
        space.enumerate()


def test_supernet_and_standalone_train_step(space):
    cfg = space.config("smoke")
    torch.manual_seed(0)
    x = torch.randn(4, cfg["in_channels"], cfg["image_size"], cfg["image_size"])
    y = torch.randint(0, cfg["num_classes"], (4,))
    sn = space.supernet(cfg)
    # all 6 MBConv candidates per layer with separate weights, plus skip where allowed
    assert [len(layer) for layer in sn.layers] == [len(c) for c in space.decision_choices().values()]
    for a in [PROXYLESS_GPU, *space.sample_many(2, seed=4)]:
        sn.zero_grad()
        out = sn(x, a)
        assert out.shape == (4, cfg["num_classes"])
        torch.nn.functional.cross_entropy(out, y).backward()
        # only the path's candidates get gradients
        for layer, op in zip(sn.layers, a.ops):
            for name, cand in layer.items():
                grads = [p.grad for p in cand.parameters()]
                if name == op:
                    assert all(g is not None for g in grads)
                else:
                    assert all(g is None or not g.any() for g in grads)
        net = space.standalone(a, cfg)
        out = net(x)
        assert out.shape == (4, cfg["num_classes"])
        torch.nn.functional.cross_entropy(out, y).backward()
        assert all(p.grad is not None for p in net.parameters())
    assert sn(x, str(PROXYLESS_GPU)).shape == (4, cfg["num_classes"])
    sub = space.restrict({"layer02": ["skip"]})
    with pytest.raises(InvalidArchitecture, match="layer02"):
        sub.supernet(cfg)(x, space.parse("k5_e3:k3_e3:" + ":".join(PROXYLESS_GPU.ops[2:])))


def test_configs(space):
    for profile in ("smoke", "cpu", "paper"):
        cfg = space.config(profile)
        for key in ("dataset", "image_size", "num_classes", "in_channels", "width_mult", "dropout",
                    "n_train", "n_valid", "small_input"):
            assert key in cfg
    assert space.config("paper")["width_mult"] == 1.35 and space.config("paper")["image_size"] == 224
    assert space.config("paper")["dataset"] == "imagenet"
    cpu = space.config("cpu")
    assert (cpu["image_size"], cpu["width_mult"], cpu["n_train"], cpu["n_valid"]) == (32, 0.35, 3000, 1000)
    with pytest.raises(ValueError):
        space.config("huge")
    # the CPU network really is small
    assert space.cost(PROXYLESS_GPU, cpu).params < 700_000


def test_fraction_under_600m(space):
    flops = [space.flops_paper_scale(a) for a in space.sample_many(5000, seed=0)]
    frac = sum(f < MOBILE_FLOPS_LIMIT for f in flops) / len(flops)
    assert 0.17 < frac < 0.24  # about 21% of uniform architectures pass the "Proxyless-600M" filter
    assert 380e6 < min(flops) and max(flops) < 910e6


# ---- FairNAS: from_decisions and fair path sets
def test_from_decisions_round_trip(space):
    sub = space.restrict({"layer02": ["skip", "k3_e3"], "layer21": ["k5_e6"]})
    for sp in (space, sub):
        for a in sp.sample_many(200, seed=5):
            assert sp.from_decisions(sp.decisions(a)) == a
    d = space.decisions(PROXYLESS_GPU)
    with pytest.raises(InvalidArchitecture, match="layer01 is the first layer"):
        space.from_decisions({**d, "layer01": "skip"})
    with pytest.raises(InvalidArchitecture, match="pruned"):
        sub.from_decisions(d)
    with pytest.raises(InvalidArchitecture, match="missing"):
        space.from_decisions({k: v for k, v in d.items() if k != "layer07"})


def test_fairnas_covers_every_op_once(space):
    from nas_core.sampling import FairNasSampler

    s = FairNasSampler(space)
    assert s.m == 7 and s.fair == list(space.decision_choices())  # every layer is an op decision
    rng = random.Random(0)
    for _ in range(50):
        paths = s.next_paths(rng)
        assert len(paths) == 7 and all(space.is_valid(a) for a in paths)
        for i, cands in enumerate(space.decision_choices().values()):
            col = [a.ops[i] for a in paths]
            assert set(col) == set(cands)  # every candidate trains in this mini-batch
            if len(cands) == 7:
                assert sorted(col) == sorted(cands)  # exactly once
    assert s.fallbacks == 0


def test_fairnas_training_steps(space):
    from nas_core import data
    from nas_core.training import recipe_for, train_supernet

    cfg = space.config("smoke")
    d = data.load({"dataset": "synthetic", "image_size": cfg["image_size"], "n_train": 64, "n_valid": 16})
    _, hist = train_supernet(space, cfg, d, recipe_for("proxyless", "smoke"), 1, strategy="fairnas", seed=0,
                             progress=False, max_steps_per_epoch=2)
    assert hist["steps"].iloc[0] == 2 and math.isfinite(hist["train_loss"].iloc[0])


# ---- initialisation: a fresh network predicts near-uniform classes
@pytest.mark.parametrize("profile", ["smoke", "cpu"])
def test_initial_loss_near_log_num_classes(space, profile):
    cfg = space.config(profile)
    torch.manual_seed(0)
    x = torch.randn(16, cfg["in_channels"], cfg["image_size"], cfg["image_size"])
    y = torch.randint(0, cfg["num_classes"], (16,))
    nets = [(space.supernet(cfg), (a,)) for a in space.sample_many(2, seed=0)]
    nets += [(space.standalone(PROXYLESS_GPU, cfg), ())]
    for net, args in nets:
        for train in (True, False):
            net.train(train)
            with torch.no_grad():
                loss = torch.nn.functional.cross_entropy(net(x, *args), y).item()
            assert abs(loss - math.log(cfg["num_classes"])) < 0.4, (train, loss)


def test_small_profiles_scale_the_head(space):
    # a 1280-wide head on a tiny 10-class network made lr 0.2 blow the loss up (module docstring)
    for profile, width in (("smoke", 320), ("cpu", 448)):
        assert space.supernet(space.config(profile)).classifier.in_features == width
    assert space.standalone(PROXYLESS_GPU, space.config("paper")).classifier.in_features == 1728
    no_key = {k: v for k, v in space.config("smoke").items() if k != "scale_head"}
    assert space.supernet(no_key).classifier.in_features == 1280  # ProxylessNAS's rule by default


def test_zero_init_residual_makes_every_residual_block_the_identity(space):
    cfg = {**space.config("smoke"), "dropout": 0.0}
    x = torch.randn(8, 3, 16, 16)
    a = space.sample_many(1, seed=3)[0]
    # same first-in-stage choices, every shape-keeping layer skipped
    b = ProxylessArch(tuple(op if i in (0, 4, 8, 12, 16, 20) else "skip" for i, op in enumerate(a.ops)))
    assert a != b
    torch.manual_seed(0)
    sn = space.supernet({**cfg, "zero_init_residual": True}).train()
    assert torch.equal(sn(x, a), sn(x, b))  # residual blocks add exactly 0 at initialisation
    torch.manual_seed(0)
    plain = space.supernet(cfg).train()
    assert not torch.allclose(plain(x, a), plain(x, b))
    net = space.standalone(a, {**cfg, "zero_init_residual": True})
    gammas = [m.body[-1][1].weight for m in net.modules() if type(m).__name__ == "MBConv"]
    assert any(g.abs().sum() == 0 for g in gammas) and any(g.abs().sum() > 0 for g in gammas)  # first-in-stage kept
