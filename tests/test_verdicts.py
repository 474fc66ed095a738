"""Verdicts on constructed inputs (nas_core.verdicts and the verdict functions of the chapters):
every rule that once said more than its numbers (issue 24) has a case here, so a wrong word
cannot come back: a negative bias, intervals that include 0, a paired difference within noise,
a single supporting factor."""
import numpy as np
import pandas as pd
import pytest

from nas_core import analysis, bias, paper, pruning, tricks, verdicts
from nas_core.verdicts import AGREES, DISAGREES, INCONCLUSIVE, PARTLY, Verdict


def test_verdict_is_its_text_and_carries_its_call():
    v = Verdict("**X.** text", AGREES, item="Figure 1", space="nb101", key="ρ 0.4", numbers={"s": (0.4, 0.3, np.nan)})
    assert v == "**X.** text" and "text" in v and v.call == AGREES
    bundle = v._repr_mimebundle_()
    assert bundle["text/markdown"] == "**X.** text"
    assert bundle[verdicts.MIME]["numbers"] == {"s": [0.4, 0.3, None]}  # NaN -> None (JSON)
    assert v.about(space="nb201").space == "nb201" and v.about(space="nb201").call == AGREES
    with pytest.raises(ValueError, match="call must be one of"):
        Verdict("x", "holds")


def test_combine_and_interval_call():
    assert verdicts.combine([AGREES, AGREES]) == AGREES
    assert verdicts.combine([AGREES, INCONCLUSIVE]) == PARTLY
    assert verdicts.combine([DISAGREES, INCONCLUSIVE]) == DISAGREES
    assert verdicts.combine([]) == verdicts.NOT_RUN
    assert verdicts.interval_call(0.1, 0.3, +1) == AGREES
    assert verdicts.interval_call(-0.1, 0.3, +1) == INCONCLUSIVE  # an interval that includes 0
    assert verdicts.interval_call(-0.3, -0.1, +1) == DISAGREES
    assert verdicts.interval_call(float("nan"), 0.3, +1) == INCONCLUSIVE


def test_across_seeds_holds_a_call_only_when_every_seed_gives_it():
    # unlike combine (several checks), seeds are replicates of one check
    assert verdicts.across_seeds([DISAGREES, DISAGREES]) == DISAGREES
    assert verdicts.across_seeds([DISAGREES, INCONCLUSIVE]) == INCONCLUSIVE
    assert verdicts.across_seeds([AGREES, INCONCLUSIVE]) == INCONCLUSIVE
    assert verdicts.across_seeds([AGREES, DISAGREES]) == INCONCLUSIVE
    assert verdicts.across_seeds([verdicts.NOT_RUN]) == verdicts.NOT_RUN


# ---------------------------------------------------------------- Figure 4: a negative bias

def _bias_row(sn, gt, b):
    return pd.Series({"group": "any of op1..op5", "choice": "conv3x3-bn-relu", "n_archs": 200,
                      "sn_rank": np.mean(sn), "sn_rank_low": sn[0], "sn_rank_high": sn[1],
                      "gt_rank": np.mean(gt), "gt_rank_low": gt[0], "gt_rank_high": gt[1],
                      "bias": np.mean(b), "bias_low": b[0], "bias_high": b[1]})


def test_operator_bias_negative_bias_is_not_favoured():
    claim = bias.PAPER_OPERATOR_BIAS["nb101"]
    # NB-101 at cpu: above-average supernet rank, but below its ground-truth rank (bias -0.061)
    v = bias.verdict_operator_bias("NB101", _bias_row((0.55, 0.60), (0.61, 0.66), (-0.081, -0.043)), claim)
    assert "favours it, as in the paper" not in v
    assert "does not favour it beyond its merit" in v
    assert v.call == PARTLY  # ground truth good as in the paper, supernet preference not
    assert bias.verdict_operator_bias("X", _bias_row((0.6, 0.7), (0.55, 0.6), (0.02, 0.08)), claim).call == AGREES
    within = bias.verdict_operator_bias("X", _bias_row((0.5, 0.6), (0.45, 0.55), (-0.02, 0.03)), claim)
    assert within.call == INCONCLUSIVE and "holds 0" in within


# ---------------------------------------------------------------- Figure 3: a paired difference within noise

def _columns(rng, n=300, noise_gt=1.0, noise_sn=0.3):
    z = rng.normal(size=n)
    idx = [f"a{i}" for i in range(n)]
    base = z + rng.normal(scale=noise_sn, size=n)  # what the supernets share
    cols = {"GT": pd.Series(z + rng.normal(scale=noise_gt, size=n), idx)}
    for e in (16, 32, 64, 128):
        cols[analysis.naive_label(e)] = pd.Series(base + rng.normal(scale=noise_sn, size=n), idx)
    return cols


def test_mutual_gap_within_noise_is_inconclusive():
    rng = np.random.default_rng(0)
    cols = _columns(rng)
    # supernets agreeing with each other about as much as with the ground truth
    top = cols["Naive 128"]
    for e in (16, 32, 64):
        cols[analysis.naive_label(e)] = cols["GT"] * 0.0 + rng.permutation(top.to_numpy()) * 0 + \
            0.5 * top + 0.5 * cols["GT"] + rng.normal(scale=1.0, size=len(top))
    c = analysis.mutual_comparison(cols, n_boot=200)
    gap = c.set_index("key").loc[analysis.GAP_KEY]
    assert gap["ci_low"] < 0 < gap["ci_high"]
    v = analysis.verdict_mutual("X", c)
    assert v.call == INCONCLUSIVE and "agree with each other more than with the ground truth, by" not in v
    clear = analysis.verdict_mutual("X", analysis.mutual_comparison(_columns(np.random.default_rng(1), noise_gt=2.0),
                                                                    n_boot=200))
    assert clear.call == AGREES and "is reproduced" in clear


# ---------------------------------------------------------------- Figure 1: paired, seed-aware trend

def _ladder(gt, spec, seed=0):
    """spec: {(epochs, seed): noise scale}; smaller noise ranks better."""
    rng = np.random.default_rng(seed)
    parts = []
    for (e, s), noise in spec.items():
        score = gt.to_numpy() + rng.normal(scale=noise, size=len(gt))
        parts.append(pd.DataFrame({"arch": gt.index, "score": score + e / 100, "epochs": e, "seed": s}))
    return pd.concat(parts, ignore_index=True)


@pytest.fixture(scope="module")
def gt():
    return pd.Series(np.random.default_rng(5).normal(size=300), [f"a{i}" for i in range(300)])


def test_trend_drop_within_seed_noise_is_inconclusive(gt):
    # peak at 64 with two seeds; at 128 one seed far below, the other at the peak: seed noise
    spec = {(32, 0): 1.5, (64, 0): 0.9, (64, 1): 0.95, (128, 0): 2.2, (128, 1): 0.9}
    t = analysis.ladder_trend(_ladder(gt, spec), gt, n_boot=200)
    assert t["peak"] == 64 and t["top"] == 128 and len(t["pairs"]) == 4
    v = analysis.verdict_trend("X", t)
    assert v.call == INCONCLUSIVE and "not decided" in v


def test_trend_one_seed_is_inconclusive_even_when_the_interval_excludes_0(gt):
    t = analysis.ladder_trend(_ladder(gt, {(32, 0): 1.0, (64, 0): 0.5, (128, 0): 2.5}), gt, n_boot=200)
    assert (t["pairs"]["ci_high"] < 0).all()
    v = analysis.verdict_trend("X", t)
    assert v.call == INCONCLUSIVE and "seed-to-seed spread is unknown" in v


def test_trend_decided_drop_agrees_and_decided_rise_disagrees(gt):
    drop = {(32, 0): 1.0, (64, 0): 0.4, (64, 1): 0.42, (128, 0): 2.5, (128, 1): 2.6}
    v = analysis.verdict_trend("X", analysis.ladder_trend(_ladder(gt, drop), gt, n_boot=200))
    assert v.call == AGREES and "agrees with finding 1" in v and v.item == "Figure 1"
    rise = {(32, 0): 2.5, (64, 0): 2.0, (64, 1): 2.1, (128, 0): 0.4, (128, 1): 0.42}
    v = analysis.verdict_trend("X", analysis.ladder_trend(_ladder(gt, rise), gt, n_boot=200))
    assert v.call == DISAGREES and "still rising" in v
    # lower-is-better scores (perplexity) mirrored: the same calls
    mirrored = _ladder(gt, drop).assign(score=lambda d: -d["score"])
    v = analysis.verdict_trend("X", analysis.ladder_trend(mirrored, -gt, higher_is_better=False, n_boot=200))
    assert v.call in (AGREES, PARTLY)


def test_saturation_needs_two_successive_flat_doublings(gt):
    # the same noise at every rung and the mean moving by e / 100 (< 1 point): two flat doublings
    flat = {(e, s): 0.9 + 0.05 * s for e in (32, 64, 128) for s in (0, 1)}
    t = analysis.saturation_table(_ladder(gt, flat), gt, n_boot=200)
    assert list(t["status"]) == ["flat", "flat"] and list(t["n_pairs"]) == [4, 4]
    assert "saturated from 32 epochs" in analysis.saturation_note("X", t)
    # the correlation still rising (noise falling with every doubling, every seed pair decided)
    rise = {(e, s): n + 0.02 * s for e, n in ((32, 2.5), (64, 1.2), (128, 0.4)) for s in (0, 1)}
    t = analysis.saturation_table(_ladder(gt, rise), gt, n_boot=200)
    assert list(t["status"]) == ["changes", "changes"]
    note = analysis.saturation_note("X", t)
    assert "not saturated yet" in note and "64 -> 128" in note and "4 of 4 seed pairs" in note
    # a rung with one seed: its spread is unknown, so flatness cannot be told
    t = analysis.saturation_table(_ladder(gt, {(32, 0): 0.9, (32, 1): 0.95, (64, 0): 0.9}), gt, n_boot=200)
    assert list(t["status"]) == ["one seed"] and "one seed" in analysis.saturation_note("X", t)
    # a doubling moving the mean by more than a point is not flat, whatever the ranking does
    t = analysis.saturation_table(_ladder(gt, {(e, s): 0.9 + 0.05 * s for e in (128, 256) for s in (0, 1)}), gt,
                                  n_boot=200)
    assert list(t["status"]) == ["changes"] and t["mean_change"].iloc[0] == pytest.approx(1.28, abs=0.1)


def test_trend_with_every_interval_including_0_is_inconclusive(gt):
    noise = {(e, 0): 40.0 for e in (1, 2, 4, 8, 16)}
    v = analysis.verdict_trend("X", analysis.ladder_trend(_ladder(gt, noise), gt, n_boot=200))
    assert v.call == INCONCLUSIVE and "distinguishable from 0" in v
    assert "consistent with finding 1" not in v


# ---------------------------------------------------------------- Table 4

def test_table4_verdict_follows_the_paired_interval():
    idx = [f"a{i}" for i in range(100)]
    rng = np.random.default_rng(0)
    gt = pd.Series(80 + rng.normal(size=100), idx)
    nb101 = dict(paper.TABLE4.loc["nb101"], higher_is_better=True)  # paper: supernet above ground truth
    below = analysis.supernet_minus_ground_truth(gt - 20, gt, n_boot=200)
    v = analysis.verdict_table4("NB101", below, nb101)
    assert v.call == DISAGREES and below["ci_high"] < 0
    same = analysis.supernet_minus_ground_truth(gt + rng.normal(size=100), gt, n_boot=200)
    assert analysis.verdict_table4("NB101", same, nb101).call == INCONCLUSIVE  # interval includes 0
    nb201 = dict(paper.TABLE4.loc["nb201"], higher_is_better=True)  # paper: supernet below
    assert analysis.verdict_table4("NB201", below, nb201).call == AGREES
    ptb = dict(paper.TABLE4.loc["darts_rnn"], higher_is_better=False)  # higher perplexity: worse, as in the paper
    worse = analysis.supernet_minus_ground_truth(gt + 20, gt, higher_is_better=False, n_boot=200)
    assert worse["difference"] < 0 and analysis.verdict_table4("PTB", worse, ptb).call == AGREES
    prox = dict(paper.TABLE4.loc["proxyless"], higher_is_better=True)  # the paper prints no ground truth
    assert analysis.verdict_table4("P", below, prox).call == INCONCLUSIVE


# ---------------------------------------------------------------- Figure 5: a single supporting factor

def _agg(guided_mean, seeds=3, std=0.1):
    rows = []
    for f, g in zip((1, 2, 4, 8), guided_mean):
        rows.append({"method": "guided", "factor": f, "mean_gt": g, "mean_gt_std": 0.0 if f == 1 else std,
                     "top_k": g, "top_k_std": std, "random_top_k": g, "seeds": seeds})
        rows.append({"method": "random", "factor": f, "mean_gt": 81.55, "mean_gt_std": 0.0, "top_k": 81.5,
                     "top_k_std": std, "random_top_k": 81.5, "seeds": seeds})
    agg = pd.DataFrame(rows)
    agg["spearman"], agg["spearman_std"], agg["sn_mean"], agg["sn_mean_std"] = 0.5, 0.01, 50.0, 0.1
    return agg


def test_guided_pruning_on_a_single_factor_is_not_agreement():
    def guided(agg):
        t = pruning.verdict_table("NB", agg)
        return t.set_index("claim").loc[pruning.PAPER_CLAIMS["guided"], "verdict"]

    assert guided(_agg([81.55, 81.41, 80.92, 82.09])) == PARTLY  # NB-101 at cpu: better at f=8 only
    assert guided(_agg([81.55, 82.5, 82.8, 83.0])) == AGREES
    assert guided(_agg([81.55, 81.56, 81.54, 81.57])) == INCONCLUSIVE  # within noise
    assert guided(_agg([81.55, 82.5, 82.8, 83.0], seeds=1)) == INCONCLUSIVE  # one seed: no noise estimate
    t = pruning.verdict_table("NB", _agg([81.55, 81.41, 80.92, 82.09]))
    v = verdicts.from_checks(t[t["item"] == "Figure 5"], item="Figure 5", space="nb101")
    assert v.call == PARTLY or v.call == verdicts.combine(t[t["item"] == "Figure 5"]["verdict"])


# ---------------------------------------------------------------- Table 3 and Figure 2

def test_paper_table3_rows_print_the_papers_deltas():
    rows = tricks.paper_rows("nb101").loc["NAS-Bench-101 (1k epochs)"]
    assert rows.loc["Multi-Path", "d_corr_gt"] == 0.007  # printed; 0.626 - 0.618 would give 0.008
    assert rows.loc["Multi-Path", "d_s_perf"] == -2.38
    assert rows.loc["Different Seed", "d_s_perf"] == -0.80
    assert tricks.paper_rows("nb101").loc[("NAS-Bench-101 (2k epochs)", "LR=0.05, WD=3e-4"), "d_s_perf"] == 0.01
    assert pd.isna(rows.loc["baseline", "d_corr_gt"])


def test_best_of_the_sample_follows_the_papers_protocol():
    test = np.array([84.40, 84.36, 83.0])
    valid = np.array([85.0, 85.11, 84.0])  # the best on validation is the second
    assert analysis.best_of_sample(test, valid) == 84.36
    assert analysis.best_of_sample(test) == 84.40
    assert analysis.best_of_sample([3.0, 2.0], higher_is_better=False) == 2.0
    idx = ["a", "b", "c"]
    t = analysis.top_k_table(pd.DataFrame({"arch": idx, "score": [1.0, 2.0, 3.0], "seed": 0, "epochs": 1}),
                             pd.Series(test, idx), ks=(1,), gt_select=pd.Series(valid, idx))
    assert t["best_of_sample"].iloc[0] == 84.36


def test_top_k_agreement_within_noise_is_inconclusive():
    rng = np.random.default_rng(0)
    gt = pd.Series(rng.normal(size=200), [f"a{i}" for i in range(200)])
    good = gt + rng.normal(scale=0.3, size=200)
    sc = pd.DataFrame({"arch": gt.index, "score": good.to_numpy(), "seed": 0, "epochs": 1})
    t = analysis.top_k_table(sc, gt, ks=(10,), n_boot=0)
    v = analysis.verdict_top_k("X", t)
    assert v.call in (INCONCLUSIVE, PARTLY) and v.call != AGREES  # no bootstrap: not decided


def _t3(d_fair, d_seed, lo_hi_fair=(0.05, 0.3), corr_bl=0.5):
    rows = {"baseline": dict(corr_bl=1.0, corr_gt=0.4, ci_low=0.3, ci_high=0.5, d_corr_gt=0.0, d_low=0.0, d_high=0.0,
                             n_gt=300),
            "FairNAS": dict(corr_bl=corr_bl, corr_gt=0.4 + d_fair, ci_low=0.3, ci_high=0.6, d_corr_gt=d_fair,
                            d_low=lo_hi_fair[0], d_high=lo_hi_fair[1], n_gt=300),
            tricks.SEED_ROW: dict(corr_bl=0.98, corr_gt=0.4 + d_seed, ci_low=0.3, ci_high=0.6, d_corr_gt=d_seed,
                                  d_low=d_seed - 0.1, d_high=d_seed + 0.1, n_gt=300)}
    return pd.DataFrame.from_dict(rows, orient="index")


def test_table3_change_within_seed_noise_is_not_a_contradiction():
    # FairNAS +0.20, significant over architectures, but a reseed alone moved Corr-GT by 0.15
    v = tricks.verdict("NB", _t3(0.20, 0.15))
    assert "within twice the change of a reseed" in v
    assert v.call == DISAGREES  # Corr-BL 0.5 < 0.95 contradicts the first claim; the second is undecided
    assert tricks.verdict("NB", _t3(0.20, 0.15, corr_bl=0.97)).call == PARTLY
    assert tricks.verdict("NB", _t3(0.50, 0.01, (0.4, 0.6), corr_bl=0.97)).call == PARTLY  # beyond: claim 2 fails
    assert tricks.verdict("NB", _t3(0.02, 0.01, (-0.05, 0.08), corr_bl=0.97)).call == AGREES


def test_guided_pruning_against_random_subsets_sampling_noise():
    # NB-101 at cpu: guided subsets identical across supernet seeds (no seed spread), so the
    # noise that matters is random pruning's own: sd / sqrt(n) * sqrt((N - n) / (N - 1))
    agg = _agg([81.55, 81.41, 80.92, 82.09], std=0.0)
    agg["n"] = agg["factor"].map({1: 300, 2: 150, 4: 75, 8: 38})
    agg["sd_gt"] = 3.0
    t = pruning.verdict_table("NB", agg).set_index("claim")
    assert t.loc[pruning.PAPER_CLAIMS["guided"], "verdict"] == DISAGREES  # worse at f=4 (-0.63), better nowhere
    assert "se 0.30" in t.loc[pruning.PAPER_CLAIMS["guided"], "ours"]  # f=4: 3/sqrt(75)*sqrt(225/299)
    far = _agg([81.55, 83.0, 84.0, 85.0], std=0.0).assign(n=lambda d: d["factor"].map({1: 300, 2: 150, 4: 75, 8: 38}),
                                                          sd_gt=3.0)
    assert pruning.verdict_table("NB", far).set_index("claim").loc[pruning.PAPER_CLAIMS["guided"], "verdict"] == AGREES


def test_an_undecided_trend_says_which_seed_pairs_point_the_other_way(gt):
    # a drop on one seed pair and a rise on another: not "holds 0" for both
    pairs = pd.DataFrame({"difference": [-0.3, 0.1, 0.0], "ci_low": [-0.4, 0.05, -0.1], "ci_high": [-0.2, 0.2, 0.1]})
    decided, why = analysis._trend_is_decided(pairs, 0.1, -1)
    assert not decided and why == ("the paired interval holds 0 for 1 and lies on the other side of 0 for 1 "
                                   "of 3 seed pair(s)")
