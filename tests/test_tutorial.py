"""The tutorial's statements follow from its numbers: each sentence function on constructed
inputs whose answer is known, then the chapter's logic twice at the smoke profile (other
seeds, other torch thread counts), and the notebook itself, whose sentences must be the ones
the functions write from the stored results."""
import json
import random
import re

import matplotlib
import numpy as np
import pandas as pd
import pytest
import torch

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from nas_core import analysis, metrics, study, tutorial  # noqa: E402
from nas_core.sampling import FairNasSampler, UniformSampler  # noqa: E402
from nas_core.spaces import get_space  # noqa: E402

RNG = np.random.default_rng(0)


def _series(values, prefix="a"):
    return pd.Series(np.asarray(values, float), index=[f"{prefix}{i}" for i in range(len(values))])


def _scores(gt: pd.Series, noise: float, seeds=(0, 1, 2), sign: float = 1.0) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    parts = [pd.DataFrame({"arch": gt.index, "score": sign * gt.to_numpy() + noise * rng.normal(size=len(gt)),
                           "seed": s, "epochs": 8}) for s in seeds]
    return pd.concat(parts, ignore_index=True)


# ---------------------------------------------------------------- numbers

def test_verdict_follows_the_interval():
    assert tutorial.verdict(0.1, 0.5) == "positive"
    assert tutorial.verdict(-0.5, -0.1) == "negative"
    assert tutorial.verdict(-0.1, 0.5) == "indistinguishable from zero"
    assert tutorial.verdict(float("nan"), 0.5) == "undetermined"


def test_concordant_share_is_one_plus_tau_over_two_without_ties():
    x, y = RNG.normal(size=40), RNG.normal(size=40)
    assert tutorial.concordant_share(x, x) == 1.0
    assert tutorial.concordant_share(x, -x) == 0.0
    assert tutorial.concordant_share(x, y) == pytest.approx((1 + metrics.kendall(x, y)) / 2)


def test_conv3_groups_never_leave_a_small_group():
    archs = [""] * 10 + ["nor_conv_3x3"] * 10 + ["nor_conv_3x3 " * 2] * 5 + ["nor_conv_3x3 " * 3] * 2
    archs = [f"{a} #{i}" for i, a in enumerate(archs)]
    groups = tutorial.conv3_groups(archs, min_group=8)
    assert groups.value_counts().min() >= 8
    assert set(groups) == {"0", "1 or more"}


def test_ranking_sentence_says_what_the_intervals_say():
    gt = _series(RNG.normal(size=60))
    for sign, word in ((1.0, "positive"), (-1.0, "negative")):
        table = tutorial.ranking_table(_scores(gt, 0.3, sign=sign), gt, n_boot=200)
        text = tutorial.ranking_sentence(table, epochs=8, truth_label="constructed")
        assert f"all 3 seeds say **{word}**" in text
        assert f"{table.loc['seed 0', 'spearman']:.2f}" in text
    noise = _series(RNG.normal(size=10))
    table = tutorial.ranking_table(pd.DataFrame({"arch": noise.index, "score": RNG.normal(size=10), "seed": 0}),
                                   noise, n_boot=200)
    v = tutorial.verdict(table.loc["seed 0", "ci_low"], table.loc["seed 0", "ci_high"])
    assert f"Verdict: **{v}**" in tutorial.ranking_sentence(table, epochs=1, truth_label="x")
    assert "1 epoch ranked" in tutorial.ranking_sentence(table, epochs=1, truth_label="x")


def test_seed_spread_counts_the_common_verdict():
    table = pd.DataFrame({"spearman": [0.5, 0.1, 0.6], "ci_low": [0.2, -0.2, 0.3], "ci_high": [0.7, 0.4, 0.8]},
                         index=["seed 0", "seed 1", "seed 2"])
    s = tutorial.seed_spread(table)
    assert (s["common"], s["n_common"], s["n_seeds"]) == ("positive", 2, 3)
    assert s["min"] == 0.1 and s["max"] == 0.6
    assert tutorial.verdicts_text(s) == ("the seeds' verdicts differ: **positive** (2 of 3), "
                                         "**indistinguishable from zero** (1 of 3)")
    tie = tutorial.seed_spread(table.iloc[1:].iloc[::-1])  # seeds 2, 1: one verdict each, the first wins
    assert tie["common"] == "positive"


def test_closing_note_claims_the_pattern_only_when_it_held():
    table = pd.DataFrame({"n": 50, "spearman": [0.0, 0.1, -0.1], "ci_low": [-0.3, -0.2, -0.4],
                          "ci_high": [0.3, 0.4, 0.2]}, index=["seed 0", "seed 1", "seed 2"])
    held = tutorial.closing_note(table, epochs=8, reference_epochs=128, contrast=(0.4, 0.1, 0.7))
    assert "Both parts of the story held" in held and "all 3 seeds say **indistinguishable from zero**" in held
    assert "not clearly better" in tutorial.closing_note(table, epochs=8, reference_epochs=128,
                                                         contrast=(0.1, -0.2, 0.4))
    split = table.assign(ci_low=[-0.3, 0.05, -0.4])
    assert "disagreed" in tutorial.closing_note(split, epochs=8, reference_epochs=128, contrast=(0.4, 0.1, 0.7))
    # too few cells in the run, enough in the study's stored supernets
    few = tutorial.closing_note(table, epochs=8, reference_epochs=128, contrast=(0.3, -0.04, 0.6),
                                stored_contrast=(0.44, 0.3, 0.6, 300))
    assert "Both parts of the story held" in few and "on the study's 300 cells, while this run's 50 were too few" in few
    assert "not clearly better" in tutorial.closing_note(table, epochs=8, reference_epochs=128,
                                                         contrast=(0.3, -0.04, 0.6),
                                                         stored_contrast=(0.1, -0.1, 0.3, 300))
    assert "No 128-epoch" in tutorial.closing_note(table, epochs=8, reference_epochs=128, contrast=None)


def _bn(share0, share1, acc0=10.0, acc1=40.0, ratio=1e6):
    n = len(share0)
    return pd.DataFrame({"accuracy without": [acc0] * n, "accuracy with": [acc1] * n,
                         "top class share without": share0, "top class share with": share1,
                         "last BN variance ratio without": [ratio] * n})


def test_bn_sentence_tells_collapse_from_no_collapse():
    collapse = tutorial.bn_sentence(_bn([1.0] * 10, [0.2] * 10), 10, 10)
    assert "for 10 of 10 architectures" in collapse and "spread over the classes again" in collapse
    both = tutorial.bn_sentence(_bn([1.0] * 10, [0.9] * 10, acc1=11.0), 10, 10)
    assert "cannot separate" in both
    none = tutorial.bn_sentence(_bn([0.2] * 10, [0.2] * 10, acc0=39.0, ratio=1.1), 10, 10)
    assert "No architecture collapsed" in none and "raised the accuracy of 10 of 10" in none
    partial = tutorial.bn_sentence(_bn([1.0] * 3 + [0.2] * 7, [0.2] * 10), 10, 10)
    assert "partial" in partial


def test_top_k_and_preference_sentences_follow_the_numbers():
    gt = _series(RNG.normal(size=50))
    table = analysis.top_k_table(_scores(gt, 0.0), gt, ks=[5])
    assert "beat random search's expectation in 3 of 3 seeds" in tutorial.top_k_sentence(table, 5)
    worst = analysis.top_k_table(_scores(gt, 0.0, sign=-1.0), gt, ks=[5])
    assert "in 0 of 3 seeds" in tutorial.top_k_sentence(worst, 5)
    archs = [("nor_conv_3x3 " * (i % 4)) + f"#{i}" for i in range(48)]
    n3 = np.array([i % 4 for i in range(48)], float)
    gt3, sn3 = pd.Series(n3 + 0.1 * RNG.normal(size=48), index=archs), pd.Series(-n3, index=archs)
    text = tutorial.conv3_sentence(tutorial.conv3_preference(sn3, gt3, n_boot=200))
    assert "the ground truth rewards 3x3" in text and "the supernet penalises them" in text


def test_ladder_ensemble_and_sample_size_sentences():
    s = pd.DataFrame({"epochs": [1, 128], "supernet_mean": [10.0, 60.0], "n": [300, 300], "spearman": [0.0, 0.4],
                      "ci_low": [-0.1, 0.3], "ci_high": [0.1, 0.5]})
    assert "clearly ranked better" in tutorial.ladder_sentence(s)
    assert "not decisive" in tutorial.ladder_sentence(s.assign(ci_low=[-0.1, 0.05]))
    assert "peaked" not in tutorial.ladder_sentence(s)
    peaked = pd.DataFrame({"epochs": [1, 128, 256], "supernet_mean": [10.0, 60.0, 70.0], "n": [300] * 3,
                           "spearman": [0.0, 0.42, 0.22], "ci_low": [-0.1, 0.33, 0.12], "ci_high": [0.1, 0.5, 0.32]})
    assert "peaked at 128 epochs (0.42 [0.33, 0.50]): the last rung ranks clearly worse" in \
        tutorial.ladder_sentence(peaked) and "finding 1" in tutorial.ladder_sentence(peaked)
    assert "within the intervals" in tutorial.ladder_sentence(peaked.assign(ci_high=[0.1, 0.5, 0.4]))
    curve = pd.DataFrame({"spearman": [0.1, 0.2, 0.25]}, index=[1, 2, 3])
    assert "hardly agree" in tutorial.ensemble_sentence(curve, 0.05, 0.1)
    assert "more than with the ground truth" in tutorial.ensemble_sentence(curve, 0.6, 0.1)
    gt = _series(RNG.normal(size=300))
    pred = gt + RNG.normal(size=300)
    t = tutorial.sample_size_table(pred, gt, tutorial.sample_sizes(50, 300), n_boot=200)
    assert list(t.index) == [25, 50, 100, 300]
    assert f"{t['interval width'].iloc[0] / t['interval width'].iloc[-1]:.1f}x narrower" in \
        tutorial.sample_size_sentence(t)


def test_fairness_sentence_checks_every_edge():
    space = get_space("nb201")
    fair = FairNasSampler(space).next_paths(random.Random(0))
    uniform = [UniformSampler(space).next_paths(random.Random(i))[0] for i in range(5)]
    assert "exactly once" in tutorial.fairness_sentence([space.decisions(a) for a in fair], space.decision_choices())
    assert "do **not**" in tutorial.fairness_sentence([space.decisions(a) for a in uniform],
                                                      space.decision_choices())


def test_bad_parameters_fail_in_one_line_before_compute():
    with pytest.raises(ValueError, match="n_archs must be between 8 and 300"):
        tutorial.check_parameters("cpu", 8, [0], 500, reference_epochs=128)
    with pytest.raises(ValueError, match="seeds must list distinct"):
        tutorial.check_parameters("cpu", 8, [0, 0], 50, reference_epochs=128)
    with pytest.raises(ValueError, match="top_k"):
        tutorial.check_parameters("cpu", 8, [0], 50, reference_epochs=128, top_k=50)
    tutorial.check_parameters("cpu", 8, [0, 1, 2], 50, reference_epochs=128)


def test_pictures_draw():
    space = get_space("nb201")
    arch = space.sample_many(1, seed=0)[0]
    fig, axes = plt.subplots(2, 3)
    tutorial.draw_cell(axes[0, 0])
    tutorial.draw_cell(axes[0, 1], arch)
    tutorial.draw_supernet_path(axes[0, 2], arch)
    tutorial.draw_skeleton(axes[1, 0], 3)
    tutorial.draw_schedule(axes[1, 1:], space, space.sample_many(5, seed=1), space.sample_many(5, seed=2))
    plt.close(fig)


# ---------------------------------------------------------------- the chapter's logic at smoke

def _chapter(seeds, threads):
    """What the notebook computes and says, for these seeds, with torch on ``threads`` threads."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        d = tutorial.DEFAULTS["smoke"]
        tutorial.prepare("smoke", d.epochs, seeds, d.n_archs, bn_demo_archs=d.n_archs, workers=1)
        scores = tutorial.short_supernets("smoke", d.epochs, seeds, d.n_archs, workers=1)
        gt, label = tutorial.truth("smoke")
        table = tutorial.ranking_table(scores, gt)
        demo = tutorial.bn_demo("smoke", d.epochs, seeds[0], d.n_archs)
        reference = tutorial.reference_supernets("smoke", tutorial.reference_epochs_of("smoke"))
        contrast = tutorial.contrast(reference, tutorial.seed_mean(scores), gt)
        stored = tutorial.stored_contrast(reference, tutorial.rung(tutorial.ladder("smoke"), d.epochs), gt)
    finally:
        torch.set_num_threads(before)
    return scores, gt, label, table, demo, contrast, stored


@pytest.mark.slow
@pytest.mark.parametrize("seeds, threads", [([0, 1, 2], 1), ([3, 4], 2)])
def test_chapter_conclusions_are_the_ones_its_numbers_support(smoke_root, seeds, threads):
    scores, gt, label, table, demo, contrast, stored = _chapter(seeds, threads)
    assert sorted(scores["seed"].unique()) == seeds
    assert set(scores["arch"]) <= set(gt.index)  # like for like: every scored cell has ground truth
    for name, row in table.iterrows():  # each verdict is the one its own interval gives
        pred = (scores[scores["seed"] == int(name.split()[1])].set_index("arch")["score"]
                if name.startswith("seed ") else tutorial.seed_mean(scores))
        x, y = analysis.align(pred, gt)
        assert row["spearman"] == pytest.approx(metrics.spearman(x, y), nan_ok=True)
        assert (row["ci_low"], row["ci_high"]) == pytest.approx(metrics.bootstrap_ci(x, y), nan_ok=True)
    spread = tutorial.seed_spread(table)
    text = tutorial.ranking_sentence(table, epochs=1, truth_label=label)
    assert tutorial.verdicts_text(spread) in text
    assert all(f"**{v}**" in text for v in spread["verdicts"])
    note = tutorial.closing_note(table, epochs=1, reference_epochs=2, contrast=contrast, stored_contrast=stored)
    held = "Both parts of the story held" in note
    assert held == (spread["n_common"] == spread["n_seeds"] > 1 and (contrast[1] > 0 or stored[1] > 0))
    # the BN demonstration: its recalibrated accuracy is what the study's scoring gives, on the
    # same images, and its sentence counts what the table holds
    bn = tutorial.bn_summary(demo, 2)
    collapsed = int((bn["top class share without"] >= 0.5).sum())
    assert f"for {collapsed} of {len(bn)} architectures" in tutorial.bn_sentence(bn, 2, 10)
    assert set(demo["calibration"]) == {0, 1, 2}  # smoke calibrates with 2 batches


def test_bn_demo_scores_with_the_profiles_calibration_as_the_study(smoke_root):
    """The demonstration trains the seed's supernet again: with the profile's calibration its
    accuracy on the whole validation split is the study's score (smoke: 128 images, all used)."""
    d = tutorial.DEFAULTS["smoke"]
    demo = tutorial.bn_demo("smoke", d.epochs, 0, 4)
    scores = study.supernet_scores("nb201", "smoke", d.epochs, seed=0, n_archs=4, progress=False)
    acc = demo[(demo["kind"] == "accuracy") & (demo["calibration"] == 2)].set_index("arch")["value"]
    assert acc.to_numpy() == pytest.approx(scores.set_index("arch")["score"].loc[acc.index].to_numpy())


@pytest.mark.slow
def test_notebook_states_what_the_functions_write(smoke_root, tmp_path):
    from nas_core import cli

    out = cli.run_experiment("weight_sharing_tutorial", "smoke", {"seeds": [5, 6]}, tmp_path)
    cells = json.loads(out.read_text())["cells"]
    said = "\n".join("".join(o["data"]["text/markdown"]) for c in cells if c["cell_type"] == "code"
                     for o in c.get("outputs", []) if "text/markdown" in o.get("data", {}))
    scores, gt, label, table, demo, contrast, stored = _chapter([5, 6], 1)
    assert tutorial.ranking_sentence(table, epochs=1, truth_label=label) in said
    assert tutorial.closing_note(table, epochs=1, reference_epochs=2, contrast=contrast,
                                 stored_contrast=stored) in said
    assert tutorial.bn_sentence(tutorial.bn_summary(demo, 2), 2, 10) in said
    assert not re.search(r"\bnan\b", said)
