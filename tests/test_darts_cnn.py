import collections
import math
import random

import pytest
import torch
from scipy.stats import chisquare

from nas_core.spaces import InvalidArchitecture, get_space
from nas_core.spaces.darts_cnn import (
    DARTS_V2, OPS, DartsCnnArch, DartsCnnSpace, Genotype, from_genotype, size_variants, to_genotype,
)

torch.set_num_threads(1)
SPACE = DartsCnnSpace()


def test_registry_and_metadata():
    sp = get_space("darts_cnn")
    assert isinstance(sp, DartsCnnSpace)
    assert (sp.title, sp.paper_dataset, sp.higher_is_better) == ("DARTS-CIFAR10", "CIFAR-10", True)


def test_size_matches_paper_table1():
    # ordered blocks, distinct inputs per node: (49^4 * 2*6*12*20)^2
    assert SPACE.size() == (49**4 * 2880) ** 2 == 275647219316498534400
    assert f"{SPACE.size():.2e}" == "2.76e+20"
    v = size_variants()
    assert v["ordered_distinct_inputs"] == SPACE.size()
    assert v["ordered_with_repeats"] == math.prod((7 * k) ** 2 for k in range(2, 6)) ** 2 == DartsCnnSpace(False).size()
    # each distinct-input node has exactly two orderings of its blocks
    assert v["ordered_distinct_inputs"] == v["unordered_distinct_inputs"] * 2**8
    assert [f"{x:.2e}" for x in v.values()] == ["2.76e+20", "6.89e+21", "1.08e+18", "3.85e+19"]


def test_string_and_genotype_round_trip():
    s = str(DARTS_V2)
    assert s.startswith("Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1)")
    assert s.endswith("reduce_concat=range(2, 6))")
    assert SPACE.parse(s) == DARTS_V2
    # DARTS genotypes.py spelling
    assert SPACE.parse(s.replace("range(2, 6)", "[2, 3, 4, 5]")) == DARTS_V2
    for a in SPACE.sample_many(50, seed=0):
        assert SPACE.parse(str(a)) == a
        g = to_genotype(a)
        assert isinstance(g, Genotype) and repr(g) == str(a)
        assert from_genotype(g) == a
    assert hash(DARTS_V2) == hash(SPACE.parse(str(DARTS_V2)))


@pytest.mark.parametrize("bad, msg", [
    (str(DARTS_V2).replace("'dil_conv_3x3'", "'conv_7x7'"), "unknown op"),
    (str(DARTS_V2).replace("('dil_conv_3x3', 2)", "('dil_conv_3x3', 5)"), "out of range 0..4"),
    (str(DARTS_V2).replace("('sep_conv_3x3', 1), ('sep_conv_3x3', 0)", "('sep_conv_3x3', 1), ('sep_conv_3x3', 3)", 1),
     "node 3: input 3 out of range"),
    (str(DARTS_V2).replace(", ('dil_conv_3x3', 2)]", "]"), "needs 8"),
    (str(DARTS_V2).replace("('sep_conv_3x3', 0), ('sep_conv_3x3', 1)", "('sep_conv_3x3', 0), ('sep_conv_3x3', 0)", 1),
     "inputs must differ"),
    (str(DARTS_V2).replace("normal_concat=range(2, 6)", "normal_concat=[4, 5]"), "normal_concat"),
    ("Genotype(normal=[], reduce=[])", "fields"),
    ("NotAGenotype()", "expected 'Genotype"),
    ("Genotype(normal=[", "not a Genotype"),
    ("Genotype(normal=__import__('os'), normal_concat=range(2, 6), reduce=[], reduce_concat=range(2, 6))", "literal"),
])
def test_bad_strings_rejected(bad, msg):
    with pytest.raises(InvalidArchitecture, match=msg):
        SPACE.parse(bad)


def test_repeated_inputs_only_in_enas_variant():
    g = to_genotype(DARTS_V2)
    normal = [("sep_conv_3x3", 0), ("sep_conv_3x3", 0)] + g.normal[2:]
    a = DartsCnnArch(tuple(normal), DARTS_V2.reduce)
    assert not SPACE.is_valid(a)
    assert DartsCnnSpace(distinct_inputs=False).is_valid(a)


def test_decisions():
    d = SPACE.decisions(DARTS_V2)
    choices = SPACE.decision_choices()
    assert list(d) == list(choices) and len(d) == 32
    assert d["normal.n2.b0.op"] == "sep_conv_3x3" and d["normal.n5.b1.input"] == 2
    assert choices["reduce.n4.b1.input"] == (0, 1, 2, 3) and choices["normal.n2.b0.op"] == OPS


def test_sampling_uniform():
    # joint input pair of node 3 (6 ordered distinct pairs) and one op marginal
    rng = random.Random(1)
    archs = [SPACE.sample(rng) for _ in range(3000)]
    pairs = collections.Counter((a.normal[2][1], a.normal[3][1]) for a in archs)
    assert set(pairs) == {(0, 1), (0, 2), (1, 0), (1, 2), (2, 0), (2, 1)}
    assert chisquare(list(pairs.values())).pvalue > 1e-3
    ops = collections.Counter(a.reduce[7][0] for a in archs)
    assert len(ops) == 7 and chisquare(list(ops.values())).pvalue > 1e-3
    assert all(SPACE.is_valid(a) for a in archs[:200])


def test_restrict_exact():
    sub = SPACE.restrict({"normal.n2.b0.op": ["sep_conv_3x3", "skip_connect"], "reduce.n5.b0.input": [0, 1],
                          "reduce.n5.b1.input": [1]})
    # normal node 2: 2 of 7 ops; reduce node 5: input pairs (0,1) only (1,1 repeats) instead of 20
    assert sub.size() == SPACE.size() * 2 // 7 // 20
    a = sub.sample(random.Random(0))
    assert a.normal[0][0] in ("sep_conv_3x3", "skip_connect") and (a.reduce[6][1], a.reduce[7][1]) == (0, 1)
    with pytest.raises(InvalidArchitecture, match="pruned"):
        sub.validate(DARTS_V2)
    with pytest.raises(ValueError):
        SPACE.restrict({"normal.n2.b0.input": [0], "normal.n2.b1.input": [0]})
    # small sub-space: enumerate agrees with size, sample stays inside
    tiny = SPACE.fix_blocks(DARTS_V2, 13, seed=0, fix_all_inputs=True)
    assert tiny.size() == 343 == len(set(tiny.enumerate()))
    assert DARTS_V2 in set(tiny.enumerate())
    assert SPACE.fix_blocks(DARTS_V2, 16, seed=3).size() == 1
    part = SPACE.fix_blocks(DARTS_V2, 8, seed=0)
    assert part.is_valid(DARTS_V2) and 1 < part.size() < SPACE.size()


def test_param_counts_match_darts():
    cfg = SPACE.config("paper")
    net = SPACE.standalone(DARTS_V2, cfg)
    assert sum(p.numel() for p in net.parameters()) == 3_825_768
    assert sum(p.numel() for n, p in net.named_parameters() if "auxiliary" not in n) == 3_349_342
    assert SPACE.standalone(DARTS_V2, {**cfg, "auxiliary": False}) is not None


def test_cost_smoke():
    cfg = SPACE.config("smoke")
    c = SPACE.cost(DARTS_V2, cfg)
    net = SPACE.standalone(DARTS_V2, cfg)
    assert c.params == sum(p.numel() for p in net.parameters()) and c.flops > 0


def _smoke_batch(cfg):
    torch.manual_seed(0)
    return torch.randn(4, 3, cfg["image_size"], cfg["image_size"]), torch.randint(0, 10, (4,))


def test_supernet_forward_backward_smoke():
    cfg = {**SPACE.config("smoke"), "drop_path_prob": 0.2}
    net = SPACE.supernet(cfg)
    x, y = _smoke_batch(cfg)
    for arch in [DARTS_V2] + SPACE.sample_many(3, seed=0):
        net.zero_grad()
        out = net(x, arch)
        assert out.shape == (4, 10)
        torch.nn.functional.cross_entropy(out, y).backward()
    # the supernet reduction cell uses the block's FactorizedReduce for skip from a cell input
    assert net.cells[1].ops[0]["skip_connect"].reduce is not None
    assert net.cells[0].ops[0]["skip_connect"].reduce is None
    with pytest.raises(ValueError):
        net(x)


def test_standalone_forward_backward_and_shared_names():
    cfg = SPACE.config("smoke")
    net = SPACE.standalone(DARTS_V2, cfg)
    x, y = _smoke_batch(cfg)
    torch.nn.functional.cross_entropy(net(x), y).backward()
    assert net.logits_aux is None
    # stand-alone parameter names are a subset of the supernet's, so it can inherit weights
    sup = SPACE.supernet(cfg).state_dict()
    own = net.state_dict()
    assert set(own) <= set(sup) and all(own[k].shape == sup[k].shape for k in own)
    net.load_state_dict({k: sup[k] for k in own})
    sn = SPACE.supernet(cfg)
    sn.load_state_dict(sup)
    sn.eval()
    net.eval()
    assert torch.allclose(sn(x, DARTS_V2), net(x), atol=1e-5)


def test_auxiliary_head_32px():
    cfg = {**SPACE.config("smoke"), "image_size": 32, "auxiliary": True}
    net = SPACE.standalone(DARTS_V2, cfg).train()
    out = net(torch.randn(2, 3, 32, 32))
    assert out.shape == net.logits_aux.shape == (2, 10)
    with pytest.raises(ValueError, match="32x32"):
        SPACE.standalone(DARTS_V2, {**SPACE.config("smoke"), "auxiliary": True})


def test_configs():
    for p in ("smoke", "cpu", "paper"):
        cfg = SPACE.config(p)
        assert {"dataset", "C", "layers", "auxiliary", "drop_path_prob", "num_classes", "in_channels",
                "image_size", "n_train", "n_valid"} <= set(cfg)
    assert SPACE.config("paper")["C"] == 36 and SPACE.config("paper")["layers"] == 20


# ---- FairNAS: from_decisions and fair path sets
def test_from_decisions_round_trip():
    sub = SPACE.fix_blocks(DARTS_V2, 10, seed=1)
    enas = DartsCnnSpace(distinct_inputs=False)
    for sp in (SPACE, sub, enas):
        for a in sp.sample_many(200, seed=5):
            assert sp.from_decisions(sp.decisions(a)) == a
    d = SPACE.decisions(DARTS_V2)
    same = {**d, "normal.n3.b1.input": d["normal.n3.b0.input"]}
    with pytest.raises(InvalidArchitecture, match="inputs must differ"):
        SPACE.from_decisions(same)
    assert enas.from_decisions(same).normal[3][1] == d["normal.n3.b0.input"]
    with pytest.raises(InvalidArchitecture, match="missing"):
        SPACE.from_decisions({k: v for k, v in d.items() if k != "reduce.n5.b1.op"})


def test_fairnas_covers_every_op_once_with_valid_inputs():
    from nas_core.sampling import FairNasSampler

    s = FairNasSampler(SPACE)
    ops = [k for k in SPACE.decision_choices() if k.endswith(".op")]
    assert s.m == 7 and s.fair == ops  # inputs are drawn, not balanced
    rng = random.Random(0)
    for _ in range(50):
        paths = s.next_paths(rng)
        assert len(paths) == 7 and all(SPACE.is_valid(a) for a in paths)  # distinct input pairs
        for k in ops:
            assert sorted(SPACE.decisions(a)[k] for a in paths) == sorted(OPS)
    assert s.fallbacks == 0


def test_fairnas_training_steps():
    from nas_core import data
    from nas_core.training import recipe_for, train_supernet

    cfg = SPACE.config("smoke")
    d = data.load({"dataset": "synthetic", "image_size": cfg["image_size"], "n_train": 64, "n_valid": 16})
    _, hist = train_supernet(SPACE, cfg, d, recipe_for("darts_cnn", "smoke"), 1, strategy="fairnas", seed=0,
                             progress=False, max_steps_per_epoch=2)
    assert hist["steps"].iloc[0] == 2 and math.isfinite(hist["train_loss"].iloc[0])
