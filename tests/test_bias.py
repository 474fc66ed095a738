"""Bias and stability analyses: against analysis.group_by_decision, scipy and brute force;
planted biases are found; lower-is-better symmetry; edit distances by hand."""
import random

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from nas_core import analysis, bias, metrics
from nas_core.spaces import get_space


@pytest.fixture(scope="module")
def nb201():
    return get_space("nb201")


@pytest.fixture(scope="module")
def sample(nb201):
    """200 NAS-Bench-201 cells with a supernet that loves nor_conv_3x3 on edge 3<-0 and a
    ground truth that prefers skip_connect there."""
    archs = nb201.sample_many(200, seed=3)
    choices = bias.choices_table(nb201, archs)
    rng = np.random.default_rng(0)
    base = rng.normal(size=len(archs))
    edge = choices["3<-0"].to_numpy()
    gt = pd.Series(base + 1.5 * (edge == "skip_connect"), index=choices.index)
    pred = pd.Series(base + 0.5 * rng.normal(size=len(archs)) + 2.0 * (edge == "nor_conv_3x3"), index=choices.index)
    return choices, pred, gt


def test_bias_table_matches_group_by_decision(nb201, sample):
    choices, pred, gt = sample
    dec = {a: nb201.decisions(nb201.parse(a)) for a in choices.index}
    for hib in (True, False):
        table = bias.bias_table(pred, gt, choices, higher_is_better=hib, n_boot=50)
        for name in ("1<-0", "3<-0"):
            ref = analysis.group_by_decision(pred, gt, dec, name, higher_is_better=hib).set_index("choice")
            ours = table[table["group"] == name].set_index("choice").loc[ref.index]
            for col in ("sn_rank", "gt_rank", "bias", "supernet_mean", "ground_truth_mean"):
                np.testing.assert_allclose(ours[col], ref[col], atol=1e-12)
            assert (ours["n"] == ref["n"]).all()


def test_planted_operator_bias_is_found_with_a_significant_interval(sample):
    choices, pred, gt = sample
    table = bias.bias_table(pred, gt, choices, n_boot=300)
    top = bias.most_biased(table, min_archs=10)
    assert (top["group"], top["choice"]) == ("3<-0", "nor_conv_3x3")
    assert top["bias_low"] > 0 and top["sn_rank_low"] > 0.5
    assert top["bias_low"] <= top["bias"] <= top["bias_high"]
    skip = table[(table["group"] == "3<-0") & (table["choice"] == "skip_connect")].iloc[0]
    assert skip["bias_high"] < 0 and skip["gt_rank_low"] > 0.5
    # an unrelated edge carries a much smaller bias (chance only)
    other = table[table["group"] == "1<-0"]
    assert other["bias"].abs().max() < top["bias"] / 2
    # the paper's statement on edge 3<-0 is reproduced by the planted data
    text = bias.verdict_operator_bias("NB201", table[(table["group"] == "3<-0") & (table["choice"] == "nor_conv_3x3")]
                                      .iloc[0], bias.PAPER_OPERATOR_BIAS["nb201"])
    assert "the supernet favours it, as in the paper" in text


def test_bias_table_is_symmetric_under_lower_is_better(sample):
    choices, pred, gt = sample
    up = bias.bias_table(pred, gt, choices, n_boot=100, seed=4)
    down = bias.bias_table(-pred, -gt, choices, higher_is_better=False, n_boot=100, seed=4)
    for col in ("sn_rank", "gt_rank", "bias", "bias_low", "bias_high"):
        np.testing.assert_allclose(up[col], down[col], atol=1e-12)
    np.testing.assert_allclose(up["supernet_mean"], -down["supernet_mean"])


def test_pooled_groups_weight_each_decision_taken(sample):
    choices, pred, gt = sample
    cols = ["1<-0", "2<-0"]
    table = bias.bias_table(pred, gt, choices, decisions=[], pooled={"both": cols}, n_boot=20)
    assert set(table["group"]) == {"both"}
    n = len(choices)
    rs, rg = pred.rank(pct=True), gt.rank(pct=True)
    for _, row in table.iterrows():
        w = sum((choices[c] == row["choice"]).astype(float) for c in cols)
        assert row["n"] == w.sum() and row["n_archs"] == (w > 0).sum()
        assert row["sn_rank"] == pytest.approx((w * rs).sum() / w.sum())
        assert row["gt_rank"] == pytest.approx((w * rg).sum() / w.sum())
    assert table["n"].sum() == 2 * n
    # a pooled set of one decision is that decision
    one = bias.bias_table(pred, gt, choices, decisions=[], pooled={"x": ["3<-0"]}, n_boot=30, seed=1)
    ref = bias.bias_table(pred, gt, choices, decisions=["3<-0"], n_boot=30, seed=1)
    np.testing.assert_allclose(one["bias_low"], ref["bias_low"])


def test_spearman_ci_agrees_with_metrics_and_scipy():
    rng = np.random.default_rng(5)
    x = rng.integers(0, 6, size=40).astype(float)  # many ties
    y = x + rng.normal(size=40)
    r = bias.spearman_ci(x, y, n_boot=200, seed=7)
    assert r["spearman"] == pytest.approx(stats.spearmanr(x, y).statistic)
    assert (r["ci_low"], r["ci_high"]) == pytest.approx(metrics.bootstrap_ci(x, y, n_boot=200, seed=7))
    rows = bias._rowwise_spearman(np.vstack([x, y]), np.vstack([y, x]))
    assert rows[0] == pytest.approx(stats.spearmanr(x, y).statistic)
    assert np.isnan(bias._rowwise_spearman(np.ones((1, 5)), np.arange(5.0)[None])[0])


def test_spearman_difference_is_paired():
    rng = np.random.default_rng(2)
    a = rng.normal(size=80)
    b = a + 0.3 * rng.normal(size=80)
    c = a + 2.0 * rng.normal(size=80)
    same = bias.spearman_difference(a, b, a, b, n_boot=100)
    assert same["difference"] == 0 and same["ci_low"] == 0 and same["ci_high"] == 0
    d = bias.spearman_difference(a, b, a, c, n_boot=300)
    assert d["ci_low"] > 0 and d["difference"] == pytest.approx(metrics.spearman(a, b) - metrics.spearman(a, c))


def test_size_bias_detects_a_supernet_that_ranks_by_size():
    rng = np.random.default_rng(1)
    idx = [f"a{i}" for i in range(120)]
    params = pd.Series(rng.integers(10_000, 1_000_000, size=120), index=idx)
    gt = pd.Series(np.log(params) + 2 * rng.normal(size=120), index=idx)
    sn = pd.Series(np.log(params) + 0.2 * rng.normal(size=120), index=idx)
    r = bias.size_bias(params, sn, gt, n_boot=300)
    assert r["diff_low"] > 0 and r["rho_params_supernet"] > r["rho_params_gt"] > 0
    # perplexity: lower is better, so a supernet whose perplexity falls with size also "favours" size
    r2 = bias.size_bias(params, -sn, -gt, higher_is_better=False, n_boot=300)
    assert r2["difference"] == pytest.approx(r["difference"])
    assert "favours big models more" in bias.verdict_size_bias("X", r, bias.paper_size_bias("nb101"))
    with pytest.raises(ValueError, match="same number of parameters"):
        bias.size_bias(pd.Series(5.0, index=idx), sn, gt)


def test_no_size_panel_for_darts_ptb_but_sizes_vary_elsewhere():
    for name, varies in (("darts_rnn", False), ("nb201", True)):
        sp = get_space(name)
        costs = bias.costs_table(sp, sp.sample_many(12, seed=0), sp.config("smoke"))
        assert bias.has_size_variation(costs["params"]) is varies
    assert bias.paper_size_bias("darts_rnn") is None
    ref = bias.paper_size_bias("nb101")
    assert ref["rho_params_gt"] == 0.67 and ref["supernet"] == "Naive 16k"
    assert bias.paper_size_bias("nb201")["rho_params_gt"] == 0.75


def test_top_share_by_brute_force_and_wilson():
    idx = [f"a{i}" for i in range(10)]
    values = pd.Series(np.arange(10.0), index=idx)
    choice = pd.Series(["x", "y"] * 5, index=idx)  # a9 (best) is y, a8 is x ...
    t = bias.top_share(choice, values, 0.3).set_index("choice")
    assert t.loc["y", "k_top"] == 2 and t.loc["x", "k_top"] == 1 and t.loc["x", "share_all"] == 0.5
    t_low = bias.top_share(choice, values, 0.3, higher_is_better=False).set_index("choice")
    assert t_low.loc["x", "k_top"] == 2  # a0, a2 among a0..a2
    lo, hi = bias.wilson(5, 10)
    assert (lo, hi) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    assert bias.wilson(0, 10)[0] == 0
    with pytest.raises(ValueError):
        bias.top_share(choice, values, 0)


def test_edit_distance_darts_cnn_swaps_and_changes():
    from nas_core.spaces.darts_cnn import DARTS_V2, DartsCnnArch

    sp = get_space("darts_cnn")
    assert bias.edit_distance(sp, DARTS_V2, DARTS_V2) == 0
    n = list(DARTS_V2.normal)
    swapped = DartsCnnArch(tuple([n[1], n[0]] + n[2:]), DARTS_V2.reduce)  # node 2's blocks swapped
    assert bias.edit_distance(sp, DARTS_V2, swapped) == 0
    n[7] = ("max_pool_3x3", 2)  # op only
    assert bias.edit_distance(sp, DARTS_V2, DartsCnnArch(tuple(n), DARTS_V2.reduce)) == 1
    n[7] = ("max_pool_3x3", 3)  # op and input
    assert bias.edit_distance(sp, DARTS_V2, DartsCnnArch(tuple(n), DARTS_V2.reduce)) == 2
    other = sp.sample(random.Random(1))
    d = bias.edit_distance(sp, DARTS_V2, other)
    assert 0 < d <= 32 and d == bias.edit_distance(sp, str(other), str(DARTS_V2))
    assert bias.reference_architecture("darts_cnn") == DARTS_V2 and bias.reference_architecture("nb201") is None


def test_edit_distance_is_hamming_over_decisions_elsewhere(nb201):
    from nas_core.spaces.darts_rnn import DARTS_V2

    a = nb201.parse("|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|")
    b = nb201.parse("|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|none~2|")
    assert bias.edit_distance(nb201, a, b) == 2
    ptb = get_space("darts_rnn")
    rec = list(DARTS_V2.recurrent)
    rec[0] = ("tanh", 0)  # activation changed
    rec[7] = ("relu", 6)  # input changed
    assert bias.edit_distance(ptb, DARTS_V2, type(DARTS_V2)(tuple(rec))) == 2


def test_supernet_picks_and_their_percentiles():
    scores = pd.DataFrame({"epochs": [1, 1, 1, 2, 2, 2], "arch": ["a", "b", "c", "a", "b", "c"],
                           "score": [5.0, 7.0, 7.0, 3.0, 1.0, 2.0]})
    up = bias.supernet_picks(scores)
    assert up["arch"].tolist() == ["b", "a"]  # tie at epoch 1 goes to the first listed
    assert bias.supernet_picks(scores, higher_is_better=False)["arch"].tolist() == ["a", "b"]
    values = pd.Series(np.arange(100.0), index=[f"x{i}" for i in range(100)])
    pct = bias.percentile(values)
    assert pct["x99"] == 1.0 and bias.percentile(values, higher_is_better=False)["x0"] == 1.0
    good = bias.picks_test(values, ["x99", "x98", "x97", "x99"], n_perm=500)
    assert good["k"] == 3 and good["mean_percentile"] == pytest.approx(0.99) and good["p_value"] < 0.01
    mid = bias.picks_test(values, ["x50"], n_perm=500)
    assert 0.3 < mid["p_value"] < 0.7
    assert bias.picks_test(values, ["nope"])["k"] == 0


def test_seed_pairs_and_spearman_brown():
    rng = np.random.default_rng(0)
    archs = [f"a{i}" for i in range(30)]
    q = rng.normal(size=30)
    rows = [(a, s, q[i] + 0.5 * rng.normal()) for s in (0, 1) for i, a in enumerate(archs)]
    rows += [(a, 2, q[i] + 0.5 * rng.normal()) for i, a in enumerate(archs[:10])]
    gt = pd.DataFrame(rows, columns=["arch", "seed", "valid"])
    t = bias.seed_pairs(gt, n_boot=100)
    assert t[["seed_a", "seed_b", "n"]].values.tolist() == [[0, 1, 30], [0, 2, 10], [1, 2, 10]]
    f = bias.seed_frame(gt, 0, 1)
    assert t.iloc[0]["spearman"] == pytest.approx(stats.spearmanr(f["a"], f["b"]).statistic)
    assert metrics.spearman_brown(0.5, 2) == pytest.approx(2 / 3)
    assert metrics.spearman_brown(0.9, 1) == pytest.approx(0.9)
    row = t.iloc[0].to_dict()
    assert "Spearman-Brown" in bias.verdict_seed("X", row, bias.PAPER_SEED_SPEARMAN["nb201"], 2)


def test_log_axis_labels_do_not_run_together_on_a_narrow_range():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    for lo, hi, most in ((360e3, 425e3, 4), (1e4, 1e6, 12)):  # ProxylessNAS's parameters; two decades
        fig, ax = plt.subplots(figsize=(3, 2.5))
        ax.scatter(np.linspace(lo, hi, 20), np.arange(20))
        ax.set_xscale("log")
        bias.readable_log_axis(ax, "x")
        fig.canvas.draw()
        a, b = ax.get_xlim()
        shown = [t for t in ax.get_xticklabels() if t.get_text() and a <= t.get_position()[0] <= b]
        assert 2 <= len(shown) <= most
        plt.close(fig)
