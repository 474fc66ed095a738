import collections
import math
import random

import pytest
import torch
import torch.nn.functional as F
from scipy.stats import chisquare

from nas_core.spaces import InvalidArchitecture, get_space
from nas_core.spaces.darts_rnn import (
    ACTS, DARTS_V2, DartsRnnArch, DartsRnnSpace, Genotype, from_genotype, to_genotype,
)

torch.set_num_threads(1)
SPACE = DartsRnnSpace()


def n_params(m):
    return sum(p.numel() for p in m.parameters())  # tied weights count once


def test_registry_and_metadata():
    sp = get_space("darts_rnn")
    assert isinstance(sp, DartsRnnSpace)
    assert (sp.title, sp.task, sp.metric, sp.higher_is_better) == ("DARTS-PTB", "language_model", "perplexity", False)
    assert sp.paper_dataset == "Penn Treebank"


def test_size_matches_paper_table1():
    assert SPACE.size() == math.factorial(8) * 4**8 == 2_642_411_520
    assert f"{SPACE.size():.2e}" == "2.64e+09"


def test_string_and_genotype_round_trip():
    s = str(DARTS_V2)
    assert s == ("Genotype(recurrent=[('sigmoid', 0), ('relu', 1), ('relu', 1), ('identity', 1), ('tanh', 2), "
                 "('sigmoid', 5), ('tanh', 3), ('relu', 5)], concat=range(1, 9))")
    assert SPACE.parse(s) == DARTS_V2
    assert SPACE.parse(s.replace("range(1, 9)", "[1, 2, 3, 4, 5, 6, 7, 8]")) == DARTS_V2
    for a in SPACE.sample_many(50, seed=0):
        assert SPACE.parse(str(a)) == a
        g = to_genotype(a)
        assert isinstance(g, Genotype) and repr(g) == str(a) and from_genotype(g) == a


@pytest.mark.parametrize("bad, msg", [
    (str(DARTS_V2).replace("'tanh', 2", "'gelu', 2"), "unknown activation"),
    (str(DARTS_V2).replace("('sigmoid', 0)", "('sigmoid', 1)"), r"node 1: input 1 out of range 0\.\.0"),
    (str(DARTS_V2).replace(", ('relu', 5)]", "]"), "8"),
    (str(DARTS_V2).replace("range(1, 9)", "range(1, 8)"), "concat"),
    ("Genotype(recurrent=[])", "fields"),
    ("Genotype(normal=[], concat=[])", "unexpected"),
    ("genotype", "expected 'Genotype"),
    ("Genotype(recurrent=[('relu', 0)", "not a Genotype"),
    ("Genotype(recurrent=[1, 2], concat=range(1, 9))", "pairs"),
])
def test_bad_strings_rejected(bad, msg):
    with pytest.raises(InvalidArchitecture, match=msg):
        SPACE.parse(bad)


def test_decisions():
    d = SPACE.decisions(DARTS_V2)
    ch = SPACE.decision_choices()
    assert list(d) == list(ch) and len(d) == 16
    assert d["n1.act"] == "sigmoid" and d["n6.input"] == 5
    assert ch["n3.input"] == (0, 1, 2) and ch["n8.act"] == ACTS


def test_sampling_uniform():
    rng = random.Random(0)
    archs = [SPACE.sample(rng) for _ in range(4000)]
    joint = collections.Counter((a.recurrent[2][1], a.recurrent[2][0]) for a in archs)  # node 3: 3 inputs x 4 acts
    assert len(joint) == 12 and chisquare(list(joint.values())).pvalue > 1e-3
    assert all(SPACE.is_valid(a) for a in archs[:200])


def test_restrict_exact():
    sub = SPACE.restrict({"n8.input": [0, 7], "n1.act": ["tanh"], "n2.act": ["relu", "sigmoid"]})
    assert sub.size() == SPACE.size() * 2 // 8 // 4 * 2 // 4
    a = sub.sample(random.Random(1))
    assert a.recurrent[7][1] in (0, 7) and a.recurrent[0][0] == "tanh"
    with pytest.raises(InvalidArchitecture, match="pruned"):
        sub.validate(DARTS_V2)
    d = SPACE.decisions(DARTS_V2)
    tiny = SPACE.restrict({k: [v] for k, v in d.items() if k not in ("n7.act", "n8.input")})
    assert tiny.size() == 32 == len(set(tiny.enumerate())) and DARTS_V2 in set(tiny.enumerate())
    with pytest.raises(ValueError):
        SPACE.restrict({"n2.input": [5]})


def test_param_count_matches_darts():
    cfg = SPACE.config("paper")
    net = SPACE.standalone(DARTS_V2, cfg)
    # 10000*850 embedding (tied) + 10000 bias + 1700*1700 W0 + 8*850*1700 Ws
    assert n_params(net) == 22_960_000 == SPACE.cost(DARTS_V2, cfg).params
    del net


def test_same_params_for_every_arch():
    cfg = {**SPACE.config("smoke"), "vocab_size": 50}
    counts = {n_params(SPACE.standalone(a, cfg)) for a in SPACE.sample_many(5, seed=1)}
    assert counts == {n_params(SPACE.supernet(cfg))} == {SPACE.cost(DARTS_V2, cfg).params}
    assert SPACE.cost(DARTS_V2, SPACE.config("paper")).flops == 1700 * 1700 + 8 * 850 * 1700 + 850 * 10000


def _batch(cfg, B=3):
    torch.manual_seed(0)
    return torch.randint(0, cfg["vocab_size"], (cfg["bptt"] + 1, B))


def test_supernet_forward_backward_smoke():
    cfg = {**SPACE.config("smoke"), "vocab_size": 40}
    net = SPACE.supernet(cfg).train()
    data = _batch(cfg)
    x, y = data[:-1], data[1:]
    hidden = net.init_hidden(3)
    for arch in [DARTS_V2] + SPACE.sample_many(3, seed=0):
        net.zero_grad()
        logp, hidden = net(x, hidden.detach(), arch)
        assert logp.shape == (cfg["bptt"], 3, 40) and hidden.shape == (1, 3, cfg["nhid"])
        F.nll_loss(logp.reshape(-1, 40), y.reshape(-1)).backward()
        assert net.rnn.W0.grad is not None
    with pytest.raises(ValueError):
        net(x, hidden)


def test_standalone_forward_backward_and_weight_sharing():
    cfg = {**SPACE.config("smoke"), "vocab_size": 40}
    net = SPACE.standalone(DARTS_V2, cfg)
    data = _batch(cfg)
    logp, h = net(data[:-1], net.init_hidden(3))
    F.nll_loss(logp.reshape(-1, 40), data[1:].reshape(-1)).backward()
    assert torch.allclose(logp.exp().sum(-1), torch.ones(cfg["bptt"], 3), atol=1e-5)
    _, _, raw, dropped = net(data[:-1], h.detach(), return_h=True)
    assert raw.shape == dropped.shape == (cfg["bptt"], 3, cfg["nhid"])
    # supernet weights load unchanged into any stand-alone network; eval outputs agree
    sup = SPACE.supernet(cfg)
    net.load_state_dict(sup.state_dict())
    sup.eval()
    net.eval()
    x = data[:-1]
    assert torch.allclose(sup(x, net.init_hidden(3), DARTS_V2)[0], net(x, net.init_hidden(3))[0])


def test_configs():
    for p in ("smoke", "cpu", "paper"):
        cfg = SPACE.config(p)
        assert cfg["dataset"] == "ptb" and cfg["ninp"] == cfg["nhid"]
        assert {"bptt", "max_train_tokens", "vocab_size", "dropout", "dropouth", "dropoutx", "dropouti",
                "dropoute"} <= set(cfg)
    assert SPACE.config("paper")["nhid"] == 850
    # the paper's softmax covers PTB's whole vocabulary; the cpu profile's, its 2,000 commonest words,
    # and the model, its cost and the data (data.load_ptb reads the same key) agree on it
    assert SPACE.config("paper")["vocab_size"] == 10000 and SPACE.config("cpu")["vocab_size"] == 2000
    cfg = SPACE.config("cpu")
    net = SPACE.standalone(DARTS_V2, cfg)
    assert SPACE.cost(DARTS_V2, cfg).params == sum(p.numel() for p in net.parameters())
    assert net.encoder.num_embeddings == 2000


# ---- FairNAS: from_decisions and fair path sets
def test_from_decisions_round_trip():
    sub = SPACE.restrict({"n3.input": [0, 2], "n8.act": ["relu"]})
    for sp in (SPACE, sub):
        for a in sp.sample_many(200, seed=5):
            assert sp.from_decisions(sp.decisions(a)) == a
    d = SPACE.decisions(DARTS_V2)
    with pytest.raises(InvalidArchitecture, match="out of range"):
        SPACE.from_decisions({**d, "n2.input": 2})
    with pytest.raises(InvalidArchitecture, match="pruned"):
        sub.from_decisions(d)
    with pytest.raises(InvalidArchitecture, match="missing"):
        SPACE.from_decisions({k: v for k, v in d.items() if k != "n4.act"})


def test_fairnas_covers_every_activation_once():
    from nas_core.sampling import FairNasSampler

    s = FairNasSampler(SPACE)
    assert s.m == 4 and s.fair == [f"n{i}.act" for i in range(1, 9)]  # inputs are drawn, not balanced
    rng = random.Random(0)
    inputs = collections.Counter()
    for _ in range(100):
        paths = s.next_paths(rng)
        assert len(paths) == 4 and all(SPACE.is_valid(a) for a in paths)
        for i in range(8):
            assert sorted(a.recurrent[i][0] for a in paths) == sorted(ACTS)
        inputs.update(a.recurrent[7][1] for a in paths)
    assert set(inputs) == set(range(8))  # node 8's input still varies over all its candidates


def test_fairnas_training_steps():
    from nas_core.data import TextData
    from nas_core.training import recipe_for, train_supernet

    cfg = {**SPACE.config("smoke"), "vocab_size": 50}
    g = torch.Generator().manual_seed(0)
    d = TextData(*(torch.randint(0, 50, (n,), generator=g) for n in (1000, 200, 200)), vocab_size=50,
                 itos=tuple(map(str, range(50))))
    _, hist = train_supernet(SPACE, cfg, d, recipe_for("darts_rnn", "smoke"), 1, strategy="fairnas", seed=0,
                             progress=False, max_steps_per_epoch=2)
    assert hist["steps"].iloc[0] == 2 and math.isfinite(hist["train_loss"].iloc[0])


# ---- evaluation cap of the small profiles
def test_eval_token_cap_in_small_profiles():
    caps = {p: SPACE.config(p)["max_eval_tokens"] for p in ("smoke", "cpu", "paper")}
    assert caps == {"smoke": 2000, "cpu": 20_000, "paper": None}


def test_load_ptb_caps_valid_and_test():
    import os
    from pathlib import Path

    from nas_core import data

    root = Path(os.environ.get(data.ENV_ROOT) or Path(__file__).resolve().parents[2] / "shared" / "data")
    if not (root / "ptb" / "ptb.train.txt").exists():
        pytest.skip(f"PTB absent under {root}")
    full = data.load({"dataset": "ptb"}, root=root)
    small = data.load(SPACE.config("smoke"), root=root)
    assert (len(small.train), len(small.valid), len(small.test)) == (2000, 2000, 2000)
    assert torch.equal(small.valid, full.valid[:2000]) and torch.equal(small.test, full.test[:2000])
    assert small.vocab_size == full.vocab_size == 10000
    paper = data.load(SPACE.config("paper"), root=root)
    assert (len(paper.valid), len(paper.test)) == (73_760, 82_430)  # uncapped
