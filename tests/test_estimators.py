"""Training-free estimators: hand-computed values on tiny networks, invariances, determinism,
the resumable table builder and the correlation helpers. Synthetic data only (no files)."""
import math

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn as nn

from nas_core import estimator_study as es
from nas_core import estimators as est
from nas_core.spaces import get_space

LN3 = math.log(3.0)


def linear(weight):
    layer = nn.Linear(len(weight[0]), len(weight), bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor(weight, dtype=torch.float32))
    return layer


@pytest.fixture
def two_layer():
    # W1 = [[1, -2], [3, 0.5]], W2 = [[-1, 2]]: with |W| and a ones input, h = [3, 3.5], R = 10
    return nn.Sequential(linear([[1.0, -2.0], [3.0, 0.5]]), nn.ReLU(), linear([[-1.0, 2.0]]))


@pytest.fixture
def softmax_layer():
    # logits of x = [1, 0] are [0, ln 3]: softmax p = [1/4, 3/4], dL/dlogits = p - e_0 = [-3/4, 3/4]
    return nn.Sequential(linear([[0.0, 1.0], [LN3, 2.0]]))


ONE_INPUT = (torch.tensor([[1.0, 0.0]]), torch.tensor([0]))


def test_synflow_hand_computed(two_layer):
    # sum |w * dR/dw|: layer 2 gives |W2| . h = 10, layer 1 gives sum_ij |W1_ij| |W2_i| = 10
    assert est.synflow(two_layer, (2,)) == pytest.approx(20.0)
    assert two_layer[0].weight[0, 1].item() == -2.0  # the network passed in is unchanged


def test_synflow_makes_batch_norm_the_identity(two_layer):
    with_bn = nn.Sequential(two_layer[0], nn.BatchNorm1d(2), nn.ReLU(), two_layer[2])
    with torch.no_grad():
        with_bn[1].weight.fill_(3.0)
        with_bn[1].running_mean.fill_(5.0)
    assert est.synflow(with_bn, (2,)) == pytest.approx(20.0)


def test_snip_grad_norm_hand_computed(softmax_layer):
    # dL/dW = (p - e_0) x^T = [[-3/4, 0], [3/4, 0]]
    assert est.snip(softmax_layer, *ONE_INPUT) == pytest.approx(0.75 * LN3, rel=1e-6)
    assert est.grad_norm(softmax_layer, *ONE_INPUT) == pytest.approx(0.75 * math.sqrt(2), rel=1e-6)


def test_grasp_hand_computed(softmax_layer):
    # H_z = diag(p) - p p^T = 3/16 [[1, -1], [-1, 1]]; H g = H_z (p - e_0) x^T = [[-9/32, 0], [9/32, 0]]
    # score = -sum W * Hg = -(9/32) ln 3
    assert est.grasp(softmax_layer, *ONE_INPUT) == pytest.approx(-9 / 32 * LN3, rel=1e-5)


def test_fisher_hand_computed(softmax_layer):
    # a = [0, ln 3], g = [-3/4, 3/4]: F = 0.5 (a g)^2 = [0, (3/4 ln 3)^2 / 2], times 2 weights per channel
    assert est.fisher(softmax_layer, *ONE_INPUT) == pytest.approx((0.75 * LN3) ** 2, rel=1e-6)


def test_jacob_cov_and_naswot_hand_computed():
    net = nn.Sequential(linear(np.eye(3).tolist()), nn.ReLU())
    x = torch.tensor([[1.0, 1.0, -1.0], [1.0, -1.0, -1.0]])
    # Jacobians of the summed output are the ReLU masks [1, 1, 0] and [1, 0, 0]: correlation 1/2,
    # eigenvalues 1/2 and 3/2
    k = est.JACOB_COV_K
    want = -sum(math.log(v + k) + 1 / (v + k) for v in (0.5, 1.5))
    assert est.jacob_cov(net, x) == pytest.approx(want, rel=1e-9)
    # codes [1, 1, 0] and [1, 0, 0] agree on 2 of 3 units: K = [[3, 2], [2, 3]], log det 5
    assert est.naswot(net, x) == pytest.approx(math.log(5.0), rel=1e-12)


def test_naswot_kernel_counts_exactly_as_the_reference():
    # the reference adds c c^T + (1 - c)(1 - c)^T per ReLU module; same log-determinant here
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(5, 300), nn.ReLU(), nn.Linear(300, 200), nn.ReLU6())
    x = torch.randn(12, 5)
    h1 = net[0](x)
    codes = [(h1 > 0).double(), (net[2](net[1](h1)) > 0).double()]
    kernel = sum(c @ c.T + (1 - c) @ (1 - c).T for c in codes)
    assert est.naswot(net, x) == np.linalg.slogdet(kernel.detach().numpy())[1]


def test_jacob_cov_nan_for_a_constant_jacobian():
    net = nn.Sequential(linear([[0.0, 0.0]]))
    assert math.isnan(est.jacob_cov(net, torch.randn(4, 2)))


def _smoke(space_name="nb201"):
    space = get_space(space_name)
    cfg = {**space.config("smoke"), "dataset": "synthetic"}
    return space, cfg


def test_synflow_unchanged_by_input_data():
    space, cfg = _smoke()
    arch = space.sample_many(1, seed=3)[0]
    a = est.estimate_all(space, arch, cfg, est.estimator_batch(cfg, 16, seed=0), estimators=est.DATA_FREE)
    b = est.estimate_all(space, arch, cfg, (torch.randn(16, 3, 16, 16) * 5, torch.zeros(16, dtype=torch.long)),
                         estimators=est.DATA_FREE)
    assert {k: a[k] for k in est.DATA_FREE} == {k: b[k] for k in est.DATA_FREE}


@pytest.mark.parametrize("space_name", ["nb201", "nb101", "darts_cnn", "proxyless", "darts_rnn"])
def test_parameter_count_is_the_space_cost(space_name):
    space = get_space(space_name)
    cfg = space.config("smoke")
    for arch in space.sample_many(2, seed=1):
        net = space.standalone(arch, {**cfg, "auxiliary": False})
        assert est.n_params(space, arch, cfg) == space.cost(arch, cfg).params == sum(p.numel() for p in net.parameters())


def test_determinism_and_the_seed():
    space, cfg = _smoke()
    arch = space.sample_many(1, seed=5)[0]
    batch = est.estimator_batch(cfg, 16, seed=0)
    values = lambda d: {k: v for k, v in d.items() if k in est.ESTIMATORS}  # noqa: E731
    first = values(est.estimate_all(space, arch, cfg, batch, seed=0))
    assert first == values(est.estimate_all(space, arch, cfg, batch, seed=0))
    assert set(first) == set(est.ESTIMATORS) and all(np.isfinite(v) for v in first.values())
    other = values(est.estimate_all(space, arch, cfg, batch, seed=1))
    assert other["snip"] != first["snip"] and other["params"] == first["params"]
    # each value depends on its own estimator only, not on which others ran before it
    assert values(est.estimate_all(space, arch, cfg, batch, seed=0, estimators=["naswot", "grasp"])) == \
        {k: first[k] for k in ("naswot", "grasp")}


def test_grasp_equals_the_two_pass_reference():
    # the reference takes g and H g from two forward passes of the same batch
    space, cfg = _smoke()
    torch.manual_seed(0)
    net = space.standalone(space.sample_many(1, seed=2)[0], cfg).train()
    x, y = est.estimator_batch(cfg, 16, seed=0)
    ref = __import__("copy").deepcopy(net)
    ws = [m.weight for m in ref.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    g = torch.autograd.grad(nn.functional.cross_entropy(ref(x), y), ws, allow_unused=True)
    gf = torch.autograd.grad(nn.functional.cross_entropy(ref(x), y), ws, allow_unused=True, create_graph=True)
    sum(((a * b).sum() for a, b in zip(g, gf) if a is not None)).backward()
    want = sum(float((-w.detach() * w.grad).sum()) for w in ws if w.grad is not None)
    assert est.grasp(net, x, y) == pytest.approx(want, rel=1e-5)


def test_language_model_estimators():
    space = get_space("darts_rnn")
    cfg = space.config("smoke")
    arch = space.sample_many(1, seed=0)[0]
    g = torch.Generator().manual_seed(0)
    tokens = torch.randint(cfg["vocab_size"], (cfg["bptt"] + 1, 4), generator=g)
    out = est.estimate_all(space, arch, cfg, (tokens[:-1], tokens[1:]), estimators=None)
    assert set(est.defined_estimators("darts_rnn")) == {"params", "flops", "snip", "grasp", "grad_norm"}
    assert all(np.isfinite(out[k]) for k in est.defined_estimators("darts_rnn"))
    torch.manual_seed(0)
    with pytest.raises(est.EstimatorUndefined, match="synflow is not defined for a language model"):
        est.synflow(space.standalone(arch, cfg), (1,))


def test_table_builder_resumes_and_refuses_another_configuration(tmp_path, monkeypatch):
    monkeypatch.setenv("NAS_CORE_CACHED_ONLY", "0")
    space, cfg = _smoke()
    archs = [str(a) for a in space.sample_many(4, seed=0)]
    log = tmp_path / "log.csv"
    kw = dict(log_path=log, batch_size=8, estimators=["params", "synflow", "naswot"], workers=1, progress=False)
    first = es.build_estimator_table("nb201", archs[:2], cfg, **kw)
    full = es.build_estimator_table("nb201", archs, cfg, **kw)
    assert list(full["arch"]) == archs and len(log.read_text().splitlines()) == 1 + 4
    pd.testing.assert_frame_equal(full.iloc[:2].reset_index(drop=True), first)
    with pytest.raises(ValueError, match="another|configuration"):
        es.build_estimator_table("nb201", archs, cfg, **{**kw, "batch_size": 16})
    with pytest.raises(est.EstimatorUndefined, match="jacob_cov"):
        es.build_estimator_table("darts_rnn", [], get_space("darts_rnn").config("smoke"), log_path=tmp_path / "x.csv",
                                 estimators=["jacob_cov"], workers=1, progress=False)


def test_correlations_rank_nonfinite_last_and_orient_perplexity():
    archs = [f"a{i}" for i in range(6)]
    table = pd.DataFrame({"arch": archs, "snip": [1.0, 2.0, 3.0, 4.0, 5.0, np.nan]})
    truth = pd.Series([10.0, 20.0, 30.0, 40.0, 50.0, 0.0], index=archs)
    c = es.correlations(table, truth, ["snip"], n_boot=50).iloc[0]
    assert c["spearman"] == pytest.approx(1.0) and c["kendall"] == pytest.approx(1.0) and c["n_nonfinite"] == 1
    assert c["spearman_lo"] <= c["spearman"] <= c["spearman_hi"]
    ppl = es.correlations(table, -truth, ["snip"], higher_is_better=False, n_boot=0).iloc[0]
    assert ppl["spearman"] == pytest.approx(1.0)
    s = es.search_in_sample(table, truth, archs, ["snip"]).iloc[0]
    assert s["top1"] == 50.0 and s["best_of_sample"] == 50.0 and s["random_top1"] == pytest.approx(25.0)


def test_mean_rank_hybrid_orients_both_rankings():
    a = pd.Series([3.0, 2.0, 1.0], index=["x", "y", "z"])  # accuracy-like: x best
    b = pd.Series([10.0, 30.0, 20.0, 5.0], index=["x", "y", "z", "w"])  # perplexity-like: x best
    h = es.mean_rank_hybrid(a, b, second_higher_is_better=False)
    assert list(h.index) == ["x", "y", "z"] and h["x"] == 1.0 and h["x"] > h["z"] and h["x"] > h["y"]


# ---------------------------------------------------------------- shared passes: the same values

def _same(a, b):
    return a == b or (math.isnan(a) and math.isnan(b))


@pytest.mark.parametrize("space_name", ["nb201", "nb101", "darts_cnn", "proxyless", "darts_rnn"])
def test_shared_passes_give_the_values_of_separate_passes(space_name):
    space = get_space(space_name)
    cfg = space.config("smoke")
    g = torch.Generator().manual_seed(0)
    if space.task == "language_model":
        tokens = torch.randint(cfg["vocab_size"], (cfg["bptt"] + 1, 4), generator=g)
        batch = (tokens[:-1], tokens[1:])
    else:
        c, s = cfg.get("in_channels", 3), cfg.get("image_size", 32)
        batch = (torch.randn(6, c, s, s, generator=g), torch.randint(cfg["num_classes"], (6,), generator=g))
    names = est.defined_estimators(space_name)
    # one architecture of the two slow smoke networks (DARTS-CIFAR10, ProxylessNAS), two of the others
    for arch in space.sample_many(2 if space_name in ("nb201", "nb101", "darts_rnn") else 1, seed=3):
        alone = est.estimate_all(space, arch, cfg, batch, seed=0)
        shared = est.estimate_all(space, arch, cfg, batch, seed=0, shared=True)
        assert list(shared) == list(alone)  # same keys, same order (the table's columns)
        assert all(_same(alone[n], shared[n]) for n in names), {n: (alone[n], shared[n]) for n in names}
        assert all(shared[f"cpu_s_{n}"] >= 0 for n in names)


def test_shared_passes_at_the_full_scale_network_and_for_any_subset():
    # the network of the full-scale run (C=16, N=5, 32x32), a small batch; any subset of a group
    # gives what each of its estimators gives alone
    space, cfg = get_space("nb201"), es.nb201_full_config(10)
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(4, 3, 32, 32, generator=g), torch.randint(10, (4,), generator=g)
    arch = space.sample_many(1, seed=5)[0]
    torch.manual_seed(0)
    net = space.standalone(arch, cfg)
    for names in (["snip"], ["fisher", "grasp"], ["grad_norm", "snip", "fisher"]):
        torch.manual_seed(0)
        got = est.gradient_group(net, x, y, names)
        want = {n: getattr(est, n)(net, x, y) for n in names}
        assert set(got) == set(names) and all(got[n] == want[n] for n in names), (got, want)
    assert est.forward_group(net, x, ["naswot"]) == {"naswot": est.naswot(net, x)}
    assert est.forward_group(net, x) == {"jacob_cov": est.jacob_cov(net, x), "naswot": est.naswot(net, x)}
    with pytest.raises(est.EstimatorUndefined):
        lm = get_space("darts_rnn")
        torch.manual_seed(0)
        est.forward_group(lm.standalone(lm.sample_many(1, seed=0)[0], lm.config("smoke")), x)


def test_table_builder_shared_passes_store_the_same_values(tmp_path, monkeypatch):
    monkeypatch.setenv("NAS_CORE_CACHED_ONLY", "0")
    space, cfg = _smoke()
    archs = [str(a) for a in space.sample_many(2, seed=0)]
    kw = dict(batch_size=8, estimators=["snip", "fisher", "naswot", "jacob_cov"], workers=1, progress=False)
    a = es.build_estimator_table("nb201", archs, cfg, log_path=tmp_path / "a.csv", **kw)
    b = es.build_estimator_table("nb201", archs, cfg, log_path=tmp_path / "b.csv", shared=True, **kw)
    cols = ["arch", "snip", "fisher", "naswot", "jacob_cov", "config_hash"]
    pd.testing.assert_frame_equal(a[cols], b[cols])


def test_one_shared_pass_for_any_mix_of_the_two_groups():
    # the forward estimators read the gradient estimators' forward pass: every mix gives what
    # each estimator gives alone, on a copy or (copy_net=False) on the network itself
    space, cfg = get_space("nb201"), es.nb201_full_config(10)
    g = torch.Generator().manual_seed(2)
    x, y = torch.randn(4, 3, 32, 32, generator=g), torch.randint(10, (4,), generator=g)
    torch.manual_seed(0)
    net = space.standalone(space.sample_many(1, seed=7)[0], cfg)
    alone = {n: getattr(est, n)(net, x, y) if n in est.GRADIENT_GROUP else getattr(est, n)(net, x)
             for n in est.DATA_GROUP}
    for names in (["snip", "naswot"], ["jacob_cov", "grasp"], ["jacob_cov", "fisher", "grad_norm"], est.DATA_GROUP):
        torch.manual_seed(0)
        got = est.shared_pass(net, x, y, names)
        assert set(got) == set(names) and all(_same(got[n], alone[n]) for n in names), (names, got)
    got = est.shared_pass(__import__("copy").deepcopy(net), x, y, copy_net=False)
    assert all(_same(got[n], alone[n]) for n in est.DATA_GROUP)
    with pytest.raises(ValueError, match="targets"):
        est.shared_pass(net, x, None, ["snip", "naswot"])


def test_disconnected_cells_are_built_for_the_full_scale_table():
    space = get_space("nb201")
    cfg = {**space.config("smoke"), "dataset": "synthetic"}
    cells = space.all_cells()
    cut, whole = cells[10], cells[0]  # benchmark index 10 is disconnected, 0 is not
    with pytest.raises(Exception, match="not connected"):
        space.standalone(cut, cfg)
    g = torch.Generator().manual_seed(0)
    batch = (torch.randn(6, 3, 16, 16, generator=g), torch.randint(10, (6,), generator=g))
    names = est.defined_estimators("nb201")
    # a connected cell: the same network, so the same values, as space.standalone's
    a = est.estimate_all(space, whole, cfg, batch, shared=True, build=es.nb201_any_cell)
    b = est.estimate_all(space, whole, cfg, batch, shared=True)
    assert all(a[n] == b[n] for n in names)
    # a disconnected cell: every estimator has a value (jacob_cov NaN: its Jacobian is zero), the
    # same with shared and separate passes
    shared = est.estimate_all(space, cut, cfg, batch, shared=True, build=es.nb201_any_cell)
    alone = est.estimate_all(space, cut, cfg, batch, build=es.nb201_any_cell)
    assert math.isnan(shared["jacob_cov"]) and all(_same(shared[n], alone[n]) for n in names)


def test_table_builder_builds_by_name_and_workers_get_their_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("NAS_CORE_CACHED_ONLY", "0")
    space, cfg = _smoke()
    archs = [str(a) for a in space.all_cells()[9:11]]  # the second is disconnected
    kw = dict(batch_size=8, estimators=["params", "naswot", "jacob_cov"], workers=1, progress=False, shared=True)
    t = es.build_estimator_table("nb201", archs, cfg, log_path=tmp_path / "a.csv", build="nb201_any_cell", **kw)
    assert list(t["arch"]) == archs and math.isnan(t["jacob_cov"].iloc[1]) and np.isfinite(t["naswot"]).all()
    with pytest.raises(ValueError, match="unknown build"):
        es.build_estimator_table("nb201", archs, cfg, log_path=tmp_path / "b.csv", build="nope", **kw)
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    monkeypatch.setenv("MALLOC_TOP_PAD_", "7")
    with es._worker_env():
        assert {k: __import__("os").environ[k] for k in es.WORKER_ENV} == es.WORKER_ENV
    env = __import__("os").environ
    assert "OPENBLAS_NUM_THREADS" not in env and env["MALLOC_TOP_PAD_"] == "7"


def test_naswot_counts_a_tensor_read_by_several_relus_each_time():
    # three ReLUs read h, the third after h changed in place: the counts reused for the second
    # equal recomputed ones, the third is recomputed
    class Branches(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin, self.r = nn.Linear(5, 40), nn.ModuleList(nn.ReLU() for _ in range(3))

        def forward(self, x):
            h = self.lin(x)
            a, b = self.r[0](h), self.r[1](h)
            h.sub_(0.3)
            return a + b + self.r[2](h)

    torch.manual_seed(0)
    net, x = Branches(), torch.randn(8, 5)
    with torch.no_grad():
        h = net.lin(x)
    codes = [(h > 0).double(), (h > 0).double(), (h - 0.3 > 0).double()]
    kernel = sum(c @ c.T + (1 - c) @ (1 - c).T for c in codes)
    assert est.naswot(net, x) == np.linalg.slogdet(kernel.numpy())[1]
