"""Analyses behind Figures 2, 3, 13-16 (nas_core.analysis): brute force, scipy, both directions.

Fast: small synthetic tables and the paper's transcribed matrices, no training.
"""
import itertools

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from nas_core import analysis as an
from nas_core import metrics, paper


def _brute_pick(sel, subset, higher_is_better):
    """Best of ``subset`` by ``sel``, ties to the earliest index (the metrics module's rule)."""
    sign = -1.0 if higher_is_better else 1.0
    return min(subset, key=lambda i: (sign * sel[i], i))


@pytest.mark.parametrize("higher_is_better", [True, False])
@pytest.mark.parametrize("with_select", [False, True])
def test_random_top_k_at_least_matches_brute_force(higher_is_better, with_select):
    rng = np.random.default_rng(3)
    gt = rng.integers(0, 5, size=8).astype(float)  # ties on purpose
    sel = rng.integers(0, 4, size=8).astype(float) if with_select else gt
    for k in (1, 2, 3, 8):
        subsets = list(itertools.combinations(range(8), k))
        picks = np.array([gt[_brute_pick(sel, s, higher_is_better)] for s in subsets])
        for value in (0.0, 1.5, 2.0, 4.0, 9.0):
            ok = picks >= value if higher_is_better else picks <= value
            got = an.random_top_k_at_least(gt, value, k, higher_is_better=higher_is_better,
                                           gt_select=sel if with_select else None)
            assert got == pytest.approx(ok.mean(), abs=1e-12), (k, value)
        # the same weights give metrics.random_top_k_expectation
        exp = metrics.random_top_k_expectation(gt, k, higher_is_better=higher_is_better,
                                               gt_select=sel if with_select else None)
        assert exp == pytest.approx(picks.mean())
    with pytest.raises(ValueError, match="k must be"):
        an.random_top_k_at_least(gt, 1.0, 9)


def test_share_better_both_directions():
    g = [1.0, 2.0, 3.0, 4.0]
    assert an.share_better(g, 4.0) == 0.0
    assert an.share_better(g, 2.0) == 0.5
    assert an.share_better(g, 1.0, higher_is_better=False) == 0.0
    assert an.share_better(g, 3.0, higher_is_better=False) == 0.5


def _frame(pred, gt, valid=None, seeds=(0,), epochs=4):
    archs = [f"a{i}" for i in range(len(gt))]
    scores = pd.concat([pd.DataFrame({"arch": archs, "score": np.asarray(p, float), "epochs": epochs, "seed": s,
                                      "strategy": "uniform"}) for s, p in zip(seeds, pred)], ignore_index=True)
    gts = pd.Series(np.asarray(gt, float), index=archs)
    vs = None if valid is None else pd.Series(np.asarray(valid, float), index=archs)
    return scores, gts, vs


def test_top_k_table_perfect_and_reversed_rankings():
    gt = np.arange(20.0)
    scores, g, _ = _frame([gt, -gt], gt, seeds=(0, 1))
    t = an.top_k_table(scores, g, [1, 5]).set_index(["seed", "k"])
    assert t.loc[(0, 1), "supernet_top_k"] == 19 and t.loc[(0, 1), "share_better"] == 0
    assert t.loc[(0, 1), "p_random"] == pytest.approx(1 / 20)
    assert t.loc[(1, 1), "supernet_top_k"] == 0 and t.loc[(1, 1), "p_random"] == 1.0
    assert t.loc[(1, 5), "supernet_top_k"] == 4 and t.loc[(1, 5), "share_better"] == pytest.approx(15 / 20)
    assert (t["random_expectation"].loc[(0, 1)], t["best_of_sample"].iloc[0]) == (pytest.approx(9.5), 19)
    assert t.loc[(0, 5), "random_expectation"] == pytest.approx(metrics.random_top_k_expectation(gt, 5))


def test_top_k_table_lower_is_better_mirrors_higher():
    rng = np.random.default_rng(0)
    gt = rng.normal(size=30)
    pred = gt + rng.normal(size=30)
    valid = gt + 0.3 * rng.normal(size=30)
    up = an.top_k_table(*_frame([pred], gt, valid)[:2], [1, 10], gt_select=_frame([pred], gt, valid)[2], n_boot=50)
    s, g, v = _frame([-pred], -gt, -valid)
    down = an.top_k_table(s, g, [1, 10], gt_select=v, higher_is_better=False, n_boot=50)
    for col in ("supernet_top_k", "random_expectation", "best_of_sample"):
        np.testing.assert_allclose(down[col], -up[col])
    for col in ("share_better", "p_random", "advantage", "adv_low", "adv_high"):  # direction-free
        np.testing.assert_allclose(down[col], up[col])


def test_top_k_table_selects_by_validation_clips_k_and_filters():
    gt = [5.0, 9.0, 1.0, 7.0]  # test
    valid = [6.0, 2.0, 0.0, 8.0]  # the supernet's top-2 is (a1, a0); validation prefers a0
    scores, g, v = _frame([[3.0, 4.0, 1.0, 0.0]], gt, valid)
    t = an.top_k_table(scores, g, [2, 10], gt_select=v).set_index("k_asked")
    assert t.loc[2, "supernet_top_k"] == 5.0  # a0's test, not the better a1's
    assert t.loc[10, "k"] == 4 and t.loc[10, "n"] == 4
    f = an.top_k_table(scores, g, [1], archs=["a2", "a3"])
    assert f["n"].iloc[0] == 2 and f["supernet_top_k"].iloc[0] == 1.0  # a2 scores higher than a3
    assert an.top_k_table(scores, g, [1], archs=["nope"]).empty


def test_top_k_advantage_and_interval():
    gt = np.arange(50.0)
    assert an.top_k_advantage(gt, gt, 1) == pytest.approx(49 - 24.5)
    assert an.top_k_advantage(-gt, -gt, 1, higher_is_better=False) == pytest.approx(49 - 24.5)
    assert an.top_k_advantage(-gt, gt, 1) == pytest.approx(0 - 24.5)
    lo, hi = an.top_k_advantage_ci(gt, gt, 1, n_boot=200, seed=1)
    assert 0 < lo <= hi
    assert (lo, hi) == an.top_k_advantage_ci(gt, gt, 1, n_boot=200, seed=1)


def test_seed_spread():
    t = pd.DataFrame({"epochs": [4, 4, 4, 8], "k": [1, 1, 1, 1], "supernet_top_k": [1.0, 2.0, 6.0, 5.0]})
    s = an.seed_spread(t).set_index("epochs")
    assert s.loc[4, "mean"] == 3.0 and s.loc[4, "min"] == 1.0 and s.loc[4, "max"] == 6.0
    assert s.loc[4, "n_seeds"] == 3 and s.loc[8, "n_seeds"] == 1 and np.isnan(s.loc[8, "sd"])


def test_rung_table_says_one_seed_not_nan():
    gt = pd.Series(np.arange(30.0), [f"a{i}" for i in range(30)])
    rng = np.random.default_rng(0)
    ladder = pd.concat([pd.DataFrame({"arch": gt.index, "score": gt.to_numpy() + rng.normal(scale=sc, size=30),
                                      "epochs": e, "seed": s})
                        for e, s, sc in ((4, 0, 5.0), (8, 0, 1.0), (8, 1, 20.0))], ignore_index=True)
    r = an.rung_table(ladder, gt, n_boot=50).set_index("epochs")
    assert r.loc[4, "seed_spread"] == an.ONE_SEED == "one seed"
    per = an.rung_correlations(ladder, gt, n_boot=50).set_index("seed")
    per = per[per["epochs"] == 8]["spearman"]
    assert r.loc[8, "seed_spread"] == pytest.approx(per.max() - per.min())
    assert "NaN" not in r.to_string() and "nan" not in r.to_html()  # what a chapter displays
    values = an.spread_values(r["seed_spread"])
    assert np.isnan(values.loc[4]) and values.loc[8] == pytest.approx(per.max() - per.min())
    one = an.rung_table(ladder[ladder["epochs"] == 4], gt, n_boot=50)  # every rung with one seed
    assert list(one["seed_spread"]) == ["one seed"] and an.spread_values(one["seed_spread"]).isna().all()


@pytest.mark.parametrize("higher_is_better", [True, False])
def test_regret_frame_matches_metrics(higher_is_better):
    rng = np.random.default_rng(2)
    n = 25
    test = rng.normal(size=n)
    valid = test + 0.2 * rng.normal(size=n)
    idx = [f"a{i}" for i in range(n)]
    pred = pd.Series(test + rng.normal(size=n), index=idx)
    other = pd.Series(rng.normal(size=n), index=idx).iloc[:20]  # covers fewer architectures
    f = an.regret_frame({"p": pred, "q": other}, pd.Series(valid, idx), pd.Series(test, idx),
                        higher_is_better=higher_is_better, n_perm=200, seed=0)
    assert len(f) == 20 and list(f["n"]) == list(range(1, 21))
    v, t = valid[:20], test[:20]
    np.testing.assert_allclose(f["p"], metrics.regret_curve(pred.to_numpy()[:20], v, t, higher_is_better))
    rnd = metrics.random_regret(v, t, n_perm=200, seed=0, higher_is_better=higher_is_better)
    np.testing.assert_allclose(f["random_mean"], rnd["mean"])
    assert (f[["p", "q", "random_mean"]] >= 0).all().all() and f["random_mean"].iloc[-1] == pytest.approx(
        f["p"].iloc[-1])
    with pytest.raises(ValueError, match="no architecture"):
        an.regret_frame({"p": pred.rename(lambda a: a + "x")}, pd.Series(valid, idx), pd.Series(test, idx))


def test_regret_bars_and_reach():
    g = np.arange(100.0)  # best 99; the 10th best is 90, the best 1% is the best one
    assert an.regret_bars(g) == {0.01: 0.0, 0.1: 9.0}
    assert an.regret_bars(g, higher_is_better=False) == {0.01: 0.0, 0.1: 9.0}
    assert an.regret_bars([3.0, 1.0, 2.0], (0.5,), higher_is_better=False) == {0.5: 1.0}  # 2 best: 1, 2
    with pytest.raises(ValueError, match="fraction"):
        an.regret_bars(g, (0.0,))
    assert an.retrained_to_reach([5.0, 3.0, 1.0, 0.0], 1.0) == 3
    assert an.retrained_to_reach([5.0, 3.0], 1.0) is None


def _verdict_table(pred, gt, higher_is_better=True, seeds=(0,)):
    scores, g, _ = _frame([pred] * len(seeds), gt, seeds=seeds)
    return an.top_k_table(scores, g, [1, 10], higher_is_better=higher_is_better, n_boot=100)


def test_verdict_top_k_reads_the_numbers():
    gt = np.arange(300.0)
    good = gt.copy()
    good[[299, 298, 297]] = -1  # the supernet misses the best 1% but ranks the rest right
    text = an.verdict_top_k("X", _verdict_table(good, gt, seeds=(0, 1)))
    assert "agrees with finding 2" in text and "2 supernet seed(s)" in text and "How sure" in text
    assert "better than finding 2" in an.verdict_top_k("X", _verdict_table(gt, gt))
    assert "weaker than finding 2" in an.verdict_top_k("X", _verdict_table(-gt, gt))
    # perplexity: lower is better; mirrored numbers give the same verdict
    assert "agrees with finding 2" in an.verdict_top_k("X", _verdict_table(-good, -gt, False),
                                                       higher_is_better=False)
    assert "weaker than finding 2" in an.verdict_top_k("X", _verdict_table(-good, -gt, False))  # wrong sign
    small = _verdict_table(np.arange(5.0), np.arange(5.0))
    assert "cover the whole sample" in an.verdict_top_k("X", small)
    assert "nothing to judge" in an.verdict_top_k("X", small.iloc[:0])


def test_verdict_top_k_regret_clause():
    gt = np.arange(300.0)
    t = _verdict_table(gt, gt)
    reg = pd.DataFrame({"n": range(1, 11), "s": [0.0] * 10, "random_mean": [5.0] * 10, "random_lo": [1.0] * 10,
                        "random_hi": [9.0] * 10})
    assert "below random search's 5-95% spread" in an.verdict_top_k("X", t, reg, supernet_columns=["s"])
    reg["s"] = 4.0
    assert "within random search's 5-95% spread" in an.verdict_top_k("X", t, reg, supernet_columns=["s"])


def test_mutual_spearman_pairwise_against_scipy():
    rng = np.random.default_rng(5)
    idx = [f"a{i}" for i in range(40)]
    a = pd.Series(rng.normal(size=40), idx)
    b = pd.Series(a + rng.normal(size=40), idx)
    c = b.iloc[::2]  # half the architectures
    const = pd.Series(1.0, idx)
    m, n = an.mutual_spearman_pairwise({"a": a, "b": b, "c": c, "const": const})
    assert m.loc["a", "b"] == pytest.approx(stats.spearmanr(a, b).statistic)
    assert m.loc["a", "c"] == pytest.approx(stats.spearmanr(a.iloc[::2], c).statistic)
    assert m.loc["c", "a"] == m.loc["a", "c"] and m.loc["b", "b"] == pytest.approx(1.0)
    assert n.loc["a", "b"] == 40 and n.loc["a", "c"] == 20 and n.loc["c", "c"] == 20
    assert np.isnan(m.loc["a", "const"])
    few, _ = an.mutual_spearman_pairwise({"a": a.iloc[:2], "b": b.iloc[:2]})
    assert np.isnan(few.loc["a", "b"])


def test_labels_and_compact_view_of_the_paper_matrices():
    assert [an.naive_label(e) for e in (16, 512, 1000, 2000, 1500)] == \
        ["Naive 16", "Naive 512", "Naive 1k", "Naive 2k", "Naive 1500"]
    for e in (1, 128, 1000, 4000, 1500):
        assert an.label_epochs(an.naive_label(e)) == e
    assert an.label_epochs("Naive 2k, diff seed") is None and an.label_epochs("FairNAS 2k") is None
    c = an.compact_mutual(paper.mutual_correlations("nb201"))
    assert list(c.columns) == ["Ground truth", "Parameters"] + [an.naive_label(e) for e in
                                                                 (16, 32, 64, 128, 256, 512, 1000, 2000, 4000)]
    assert list(an.compact_mutual(paper.mutual_correlations("darts_rnn")).columns)[:2] == ["GT valid", "Naive 128"]


def test_key_numbers_of_the_paper_matrices():
    k = an.mutual_key_numbers(paper.mutual_correlations("nb201"))
    assert k["gt_vs_params"] == 0.75 and k["top_supernet_vs_gt"] == 0.72 and k["top_supernet_vs_params"] == 0.52
    m = paper.mutual_correlations("nb201")
    upper = ["Naive 256", "Naive 512", "Naive 1k", "Naive 2k", "Naive 4k"]
    want = np.mean([m.loc[a, b] for i, a in enumerate(upper) for b in upper[i + 1:]])
    assert k["upper_ladder_mutual"] == pytest.approx(want) and np.isnan(k["top_supernet_vs_seed"])
    k101 = an.mutual_key_numbers(paper.mutual_correlations("nb101"))
    assert k101["top_supernet_vs_seed"] == 0.98  # Naive 2k vs Naive 2k, diff seed
    assert k101["gt_vs_params"] == 0.67  # the number quoted in section 3.2
    kp = an.mutual_key_numbers(paper.mutual_correlations("darts_rnn"))
    assert np.isnan(kp["gt_vs_params"]) and kp["top_supernet_vs_gt"] == -0.22


def _synthetic_columns(noise_gt, seed=0, n=120):
    rng = np.random.default_rng(seed)
    idx = [f"a{i}" for i in range(n)]
    latent = rng.normal(size=n)  # what the supernets agree on
    gt = pd.Series(noise_gt * latent + rng.normal(size=n), idx)
    cols = {"GT valid": gt, "Parameters": pd.Series(gt + rng.normal(size=n), idx)}
    for e in (1, 2, 4, 8):
        cols[an.naive_label(e)] = pd.Series(latent + 0.1 * rng.normal(size=n), idx)
    cols["Naive 8, diff seed"] = pd.Series(latent + 0.1 * rng.normal(size=n), idx)
    return cols


def test_mutual_comparison_and_verdict():
    cols = _synthetic_columns(noise_gt=0.3)
    c = an.mutual_comparison(cols, paper.mutual_correlations("nb201"), n_boot=200).set_index("key")
    assert set(c.index) == set(an.KEY_QUANTITIES) | {an.GAP_KEY}
    m, _ = an.mutual_spearman_pairwise(cols)
    gap = c.loc[an.GAP_KEY]  # the paired test: agreement among supernets minus agreement with ground truth
    assert gap["ours"] == pytest.approx(c.loc["upper_ladder_mutual", "ours"] - c.loc["top_supernet_vs_gt", "ours"])
    assert gap["ci_low"] > 0
    assert c.loc["top_supernet_vs_gt", "ours"] == pytest.approx(m.loc["Naive 8", "GT valid"])
    assert c.loc["upper_ladder_mutual", "ours"] == pytest.approx(m.loc["Naive 4", "Naive 8"])
    assert c.loc["upper_ladder_mutual", "columns"] == "Naive 4 / Naive 8"
    assert c.loc["top_supernet_vs_gt", "paper"] == 0.72
    assert c.loc["top_supernet_vs_gt", "paper_columns"] == "Naive 4k / Ground truth"
    assert (c["ci_low"] <= c["ours"]).all() and (c["ours"] <= c["ci_high"]).all()
    text = an.verdict_mutual("X", c.reset_index())
    assert "bias of weight sharing the paper describes is reproduced" in text and text.call == "agrees"
    # supernets that follow the ground truth: no stable, separate state
    same = _synthetic_columns(noise_gt=30.0)
    text = an.verdict_mutual("X", an.mutual_comparison(same, n_boot=100))
    assert "reproduced**" not in text
    assert "Too few" in an.verdict_mutual("X", an.mutual_comparison(
        {k: cols[k] for k in ("GT valid", "Naive 8")}, n_boot=50))


def test_bootstrap_frame_ci():
    rng = np.random.default_rng(0)
    f = pd.DataFrame({"x": rng.normal(size=200)})
    lo, hi = an.bootstrap_frame_ci(f, lambda d: float(d["x"].mean()), n_boot=300)
    assert lo < f["x"].mean() < hi and hi - lo < 0.5
    assert np.isnan(an.bootstrap_frame_ci(f.iloc[:1], lambda d: 0.0)[0])
    with pytest.raises(ValueError, match="level"):
        an.bootstrap_frame_ci(f, lambda d: 0.0, level=1.0)


def test_paper_top_k_reference():
    r = an.paper_top_k_reference("nb201").set_index("kind")["paper"]
    assert r["top-10"] == 69.66 and r["best"] == 73.13 and r["mean"] == 62.74
    assert len(an.paper_top_k_reference("nb101")) == 4  # top-10 of the 1k and 2k supernets, mean, best
    assert an.paper_top_k_reference("proxyless").empty  # Table 4 has no ground truth for it


def test_verdict_reference_line_reads_the_gap():
    summary = pd.DataFrame({"epochs": [1, 2, 4], "supernet_mean": [20.0, 25.0, 24.0]})
    text = an.verdict_reference_line("ProxylessNAS", summary, 30.0, paper_gap=2.0)
    assert "from +10.00 to +6.00 points" in text and "Paper: 2 points" in text
    assert "narrowed the gap overall, though not at every rung" in text and text.call == "partly"  # 25 -> 24
    worse = summary.assign(supernet_mean=[25.0, 22.0, 21.0])
    assert "did not narrow" in an.verdict_reference_line("P", worse, 30.0)
