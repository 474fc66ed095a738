"""Search-space pruning: exact fractions, seeded random pruning, spaces around a gold
architecture, sweep bookkeeping (with a stand-in for supernet training) and one tiny
real supernet on a pruned subset."""
import dataclasses
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nas_core import pruning, settings
from nas_core.spaces import get_space


@pytest.fixture(scope="module")
def pool():
    """40 NAS-Bench-201 architecture strings with a made-up ground truth."""
    archs = [str(a) for a in get_space("nb201").sample_many(40, seed=3)]
    gt = pd.Series(np.random.default_rng(0).normal(70, 5, size=40), index=archs)
    return archs, gt


# ---------------------------------------------------------------- factors

@pytest.mark.parametrize("n,f,k", [(300, 1, 300), (300, 2, 150), (300, 4, 75), (300, 8, 38), (8, 2, 4), (7, 2, 4),
                                   (10, 3, 3), (300, 2.5, 120)])
def test_keep_count(n, f, k):
    assert pruning.keep_count(n, f) == k


@pytest.mark.parametrize("bad,msg", [
    ([0.5, 1], ">= 1"), ([1, 0], ">= 1"), ([1, -2], ">= 1"), ([1, "2"], "finite number"),
    ([1, True], "finite number"), ([1, float("nan")], "finite number"), ([1, 2, 2], "repeat"),
    ([2, 4], "must include 1"), ([], "empty"), ([1, 2, 32], "keeps 1 of 40"),
])
def test_invalid_factors_are_rejected_with_a_clear_message(bad, msg):
    with pytest.raises(ValueError, match=msg):
        pruning.check_factors(bad, 40)


def test_check_factors_sorts_and_keeps_types():
    assert pruning.check_factors([4, 1, 2], 300) == [1, 2, 4]
    assert pruning.check_factors([1, 2.5], 300) == [1, 2.5]
    assert pruning.check_factors(pruning.default_factors("cpu"), 300) == [1, 2, 4, 8]
    assert pruning.check_factors(pruning.default_factors("smoke"), 8) == [1, 2]


def test_default_epochs_is_a_middle_rung():
    assert pruning.default_epochs("nb201", "cpu") == 8
    assert pruning.default_epochs("nb201", "smoke") == 1
    assert pruning.default_epochs("nb101", "paper") == 1000
    assert pruning.default_epochs("darts_cnn", "paper") == 2000


# ---------------------------------------------------------------- the three prunings

@pytest.mark.parametrize("f", [1, 2, 4, 8])
def test_optimistic_pruning_keeps_exactly_the_best_fraction(pool, f):
    archs, gt = pool
    kept = pruning.prune_optimistic(gt, f)
    k = pruning.keep_count(len(archs), f)
    assert len(kept) == k
    assert set(kept) == set(gt.sort_values(ascending=False).index[:k])
    assert kept == [a for a in archs if a in set(kept)]  # the pool's order
    assert gt.loc[kept].min() >= gt.drop(kept).max() if f > 1 else True


def test_optimistic_pruning_lower_is_better(pool):
    _, gt = pool
    kept = pruning.prune_optimistic(gt, 4, higher_is_better=False)
    assert set(kept) == set(gt.sort_values().index[:10])


def test_optimistic_pruning_breaks_ties_by_pool_order():
    gt = pd.Series([1.0, 2.0, 2.0, 2.0, 0.0], index=list("abcde"))
    assert pruning.prune_optimistic(gt, 2.5) == ["b", "c"]


def test_random_pruning_is_seeded_reproducible_and_nested(pool):
    archs, _ = pool
    a = pruning.prune_random(archs, 4, seed=7)
    assert a == pruning.prune_random(archs, 4, seed=7)
    assert a != pruning.prune_random(archs, 4, seed=8)
    assert len(a) == 10 and set(a) <= set(archs)
    assert a == [x for x in archs if x in set(a)]
    assert set(pruning.prune_random(archs, 8, seed=7)) <= set(pruning.prune_random(archs, 2, seed=7))
    assert pruning.prune_random(archs, 1, seed=7) == archs


def test_guided_pruning_ranks_by_supernet_score(pool):
    archs, gt = pool
    scores = -gt  # a supernet that ranks exactly backwards
    kept = pruning.prune("guided", archs, 4, scores=scores)
    assert set(kept) == set(gt.sort_values().index[:10])
    with pytest.raises(ValueError, match="needs the supernet scores"):
        pruning.prune("guided", archs, 2)
    with pytest.raises(ValueError, match="unknown pruning method"):
        pruning.prune("greedy", archs, 2, gt=gt)


def test_pruning_subsets_share_factor_one(pool):
    archs, gt = pool
    subsets = pruning.pruning_subsets(archs, [1, 2, 4], pruning.METHODS, gt=gt, guide=gt + 1)
    assert all(subsets[m, 1] == archs for m in pruning.METHODS)
    assert subsets["guided", 2] == subsets["optimistic", 2]  # the guide ranks like the ground truth
    assert set(subsets["optimistic", 4]) <= set(subsets["optimistic", 2])


# ---------------------------------------------------------------- pruned spaces

def test_subset_space_samples_only_its_members(pool):
    import random

    archs, _ = pool
    sub = pruning.subset_space("nb201", archs[:5])
    rng = random.Random(0)
    assert {str(sub.sample(rng)) for _ in range(200)} == set(archs[:5])
    assert sub.size() == 5 and sub.higher_is_better


@pytest.mark.parametrize("n_free", [0, 1, 3])
def test_darts_fix_blocks_pruning_contains_darts_v2(n_free):
    from nas_core.spaces.darts_cnn import DARTS_V2

    sp = pruning.around_space("darts_cnn", n_free, seed=0)
    assert sp.size() == 7 ** n_free
    assert sp.is_valid(DARTS_V2)
    archs = pruning.space_archs(sp, 1000)
    assert len(archs) == 7 ** n_free and DARTS_V2 in archs
    inputs = {tuple(i for _, i in a.normal + a.reduce) for a in archs}
    assert inputs == {tuple(i for _, i in DARTS_V2.normal + DARTS_V2.reduce)}  # every input fixed


def test_darts_around_space_depends_on_the_block_seed():
    a = set(map(str, pruning.space_archs(pruning.around_space("darts_cnn", 2, seed=0), 100)))
    b = set(map(str, pruning.space_archs(pruning.around_space("darts_cnn", 2, seed=1), 100)))
    assert a != b
    with pytest.raises(ValueError, match="0..16"):
        pruning.around_space("darts_cnn", 17)


def test_proxyless_around_space_contains_proxyless_gpu():
    from nas_core.spaces.proxyless import PROXYLESS_GPU

    for k in (0, 1, 2):
        sp = pruning.around_space("proxyless", k, seed=0)
        assert sp.size() == 7 ** k and sp.is_valid(PROXYLESS_GPU)
    with pytest.raises(ValueError, match="no gold architecture"):
        pruning.around_space("nb201", 1)


# ---------------------------------------------------------------- sweep bookkeeping

def _fake_supernet(noise):
    """Stand-in for supernet training: score = ground truth + seeded noise."""
    calls = []

    def fake(space_name, profile, space, archs, epochs, *, seed=0, **kw):
        if not settings.current().cached_only:  # compute_missing's look-ups (stored_or_none) are not trainings
            calls.append((tuple(map(str, archs)), seed))
        gt = fake.gt.loc[[str(a) for a in archs]].to_numpy()
        rng = np.random.default_rng([seed, len(archs)])
        return pd.DataFrame({"arch": [str(a) for a in archs], "score": gt + noise * rng.normal(size=len(gt)),
                             "seed": seed, "epochs": epochs, "space_size": space.size(),
                             "supernet": f"{len(archs)}_{hash(tuple(archs))}_{seed}", "train_s": 1.0,
                             "score_s": 0.5})

    fake.calls = calls
    return fake


def test_pruning_sweep_assembles_subsets_and_seeds(pool, monkeypatch):
    archs, gt = pool
    fake = _fake_supernet(noise=2.0)
    fake.gt = gt
    monkeypatch.setattr(pruning, "supernet_on_space", fake)
    sweep = pruning.pruning_sweep("nb201", "smoke", gt, factors=[1, 2, 4], seeds=[0, 1], epochs=1)
    # factor 1 trained once per seed and reused by all methods; 3 methods x 2 factors x 2 seeds besides
    assert len(fake.calls) == 2 + 3 * 2 * 2
    assert set(sweep["method"]) == set(pruning.METHODS)
    sizes = sweep.groupby(["method", "factor", "seed"])["arch"].size()
    assert (sizes.xs(4, level="factor") == 10).all() and (sizes.xs(1, level="factor") == 40).all()
    opt4 = sweep.query("method == 'optimistic' and factor == 4")["arch"].unique()
    assert set(opt4) == set(gt.sort_values(ascending=False).index[:10])

    summary = pruning.sweep_summary(sweep, gt, gt, k=10)
    assert len(summary) == 3 * 3 * 2
    opt = summary.query("method == 'optimistic'").groupby("factor")["mean_gt"].mean()
    assert opt.is_monotonic_increasing
    agg = pruning.aggregate(summary)
    assert len(agg) == 9 and (agg["seeds"] == 2).all() and "top_k_std" in agg
    row = agg.query("method == 'optimistic' and factor == 4").iloc[0]
    assert row["best_gt"] == pytest.approx(gt.max())
    assert row["random_top_k"] <= row["best_gt"] + 1e-9
    spent = pruning.compute_seconds(sweep)
    assert spent == {"supernets": 14, "train_s": 14.0, "score_s": 7.0}  # factor 1 counted once per seed
    with pytest.raises(ValueError, match="keeps 1 of 40"):
        pruning.pruning_sweep("nb201", "smoke", gt, factors=[1, 64], seeds=[0])


def test_summary_of_a_perfect_supernet(pool):
    archs, gt = pool
    sweep = pd.DataFrame({"method": "optimistic", "factor": 1, "n": 40, "seed": 0, "arch": archs,
                          "score": gt.to_numpy(), "epochs": 1, "space_size": 40, "supernet": "x", "train_s": 0,
                          "score_s": 0})
    s = pruning.sweep_summary(sweep, gt).iloc[0]
    assert s["spearman"] == pytest.approx(1) and s["top_k"] == pytest.approx(gt.max())
    assert s["sn_best"] == pytest.approx(gt.max())
    # lower is better (perplexity): the same table read the other way round
    s2 = pruning.sweep_summary(sweep.assign(score=-gt.to_numpy()), -gt, higher_is_better=False).iloc[0]
    assert s2["top_k"] == pytest.approx(-gt.max()) and s2["best_gt"] == pytest.approx(-gt.max())
    prec = pruning.precision_table(sweep, gt)
    assert (prec["precision"] == 1).all() and set(prec["fraction"]) == {0.1, 0.3}
    curves = pruning.pr_curves(sweep, gt)
    assert curves.groupby(["which", "fraction"])["recall"].max().eq(1).all()


def test_pruning_quality_compares_the_three_prunings(pool):
    archs, gt = pool
    q = pruning.pruning_quality(gt, -gt, [1, 2, 4], pruning_seed=0).set_index(["method", "factor"])
    assert q.loc[("optimistic", 2), "kept_best"] == 1 and q.loc[("optimistic", 4), "pruned_are_worst"] == 1
    assert q.loc[("guided", 2), "kept_best"] == 0  # a backwards supernet prunes the best first
    assert q.loc[("optimistic", 4), "mean_gt"] > q.loc[("random", 4), "mean_gt"] > q.loc[("guided", 4), "mean_gt"]


def test_verdict_table_calls(pool):
    agg = pd.DataFrame({
        "method": ["optimistic", "optimistic", "random", "random", "guided", "guided"],
        "factor": [1, 8] * 3,
        "top_k": [70, 75, 70, 70.2, 70, 73], "top_k_std": [0.1] * 6,
        "random_top_k": [68, 74, 68, 68.1, 68, 72],
        "spearman": [0.8, 0.4, 0.8, 0.8, 0.8, 0.6], "spearman_std": [0.05] * 6,
        "sn_mean": [50, 60, 50, 51, 50, 55], "sn_mean_std": [1] * 6,
        "mean_gt": [65, 72, 65, 65, 65, 69], "seeds": [3] * 6,
    })
    prec = pd.DataFrame({"seed": [0, 1, 2] * 2, "which": ["best"] * 3 + ["worst"] * 3, "fraction": 0.3,
                         "precision": [0.5, 0.52, 0.48, 0.7, 0.72, 0.69]})
    t = pruning.verdict_table("NB", agg, prec).set_index("claim")["verdict"]
    assert (t == "agrees").all(), t
    t2 = pruning.verdict_table("NB", agg.assign(spearman=[0.8, 0.81, 0.8, 0.8, 0.8, 0.8]), prec)
    assert t2.set_index("claim").loc[pruning.PAPER_CLAIMS["optimistic_corr"], "verdict"] == "inconclusive"
    assert "checks of section 3.3" in pruning.verdict_text(t2, profile="cpu", seeds=3)


# ---------------------------------------------------------------- one real (tiny) supernet

def test_supernet_on_a_pruned_subset_trains_scores_and_caches(tmp_path, monkeypatch):
    monkeypatch.setenv("NAS_CORE_RESULTS", str(tmp_path / "results"))
    monkeypatch.setenv("NAS_CORE_RUNS", str(tmp_path / "runs"))
    archs = get_space("nb201").sample_many(3, seed=5)
    sub = pruning.subset_space("nb201", archs)
    df = pruning.supernet_on_space("nb201", "smoke", sub, archs, 1, seed=0)
    assert list(df["arch"]) == [str(a) for a in archs]
    assert df["score"].between(0, 100).all() and (df["space_size"] == 3).all()
    stored = list((tmp_path / "results" / "pruning").glob("*.json"))
    assert len(stored) == 1
    again = pruning.supernet_on_space("nb201", "smoke", sub, [str(a) for a in archs], 1, seed=0)  # strings too
    pd.testing.assert_frame_equal(df, again)
    with pytest.raises(Exception, match="pruned from this sub-space"):
        pruning.supernet_on_space("nb201", "smoke", pruning.subset_space("nb201", archs[:2]), archs, 1)


# ---------------------------------------------------------------- the trained-budget family

def test_trained_family_jobs():
    jobs = pruning.trained_jobs("nb201", "cpu")
    assert len(jobs) == len(set(jobs)) == 3 * (1 + 3 * 3) and {j.epochs for j in jobs} == {128}
    assert {j.epochs for j in pruning.trained_jobs("nb101", "cpu")} == {32}
    rnd = [j for j in jobs if j.method == "random"]
    assert {(j.seed, j.pruning_seed) for j in rnd} == {(0, 0), (1, 1), (2, 2)}  # a draw per supernet seed
    assert pruning.trained_jobs("darts_rnn", "cpu") == [] and pruning.trained_jobs("nb201", "paper") == []
    around = pruning.trained_jobs("proxyless", "cpu", "around")
    assert len(around) == 12 and [j.n_archs("cpu") for j in around[:4]] == [1, 7, 49, 100]


def test_trained_calls_at_8_epochs_are_the_stored_sweeps(monkeypatch):
    # the family's subsets are the 8-epoch sweep's where they prune alike: same names, so the
    # committed sweep's results would be found (guided and random seeds 1-2 prune otherwise).
    # The committed results, not the smoke fixtures' scratch root an earlier test may have set.
    monkeypatch.setenv("NAS_CORE_RESULTS", str(Path(__file__).resolve().parents[1] / "results"))
    jobs = [pruning.PrunedJob("sweep", "nb101", 8, 0, m, f) for m, f in (("unpruned", 1), ("optimistic", 4),
                                                                       ("random", 8))]
    for call in pruning.job_calls(jobs, "cpu"):
        assert (pruning.study.results_root() / "pruning" / f"{pruning.on_space_name(**call)}.json").is_file()
    around = pruning.job_calls([pruning.PrunedJob("around", "darts_cnn", 4, 1, "around", 2)], "cpu")[0]
    assert "cfg_overrides" not in around
    assert (pruning.study.results_root() / "pruning" / f"{pruning.on_space_name(**around)}.json").is_file()


def test_a_trained_family_is_read_from_two_complete_seeds_and_names_the_rest(tmp_path, monkeypatch):
    from nas_core import coverage
    from nas_core.store import ResultMissing

    monkeypatch.setenv("NAS_CORE_RESULTS", str(tmp_path / "results"))
    archs = [str(a) for a in get_space("nb201").sample_many(8, seed=3)]
    gt = pd.Series(np.arange(8.0), index=archs)
    inputs = dict(gt={"nb201": gt}, guide={"nb201": -gt})
    fake = _fake_supernet(noise=0.0)
    fake.gt = gt

    def seeds_0_1_and_one_of_2(*a, seed=0, **kw):  # seed 2 has its unpruned supernet only
        if seed == 2 and len(kw["archs"]) < 8:
            raise ResultMissing("not stored")
        return fake(*a, seed=seed, **kw)

    monkeypatch.setattr(pruning, "supernet_on_space", seeds_0_1_and_one_of_2)
    rows, missing = pruning.trained_family("nb201", "smoke", **inputs)
    assert rows is None and {j.seed for j in missing} == {2}  # the default: every seed
    rows, missing = pruning.trained_family("nb201", "smoke", min_seeds=2, **inputs)
    assert set(rows["seed"]) == {0, 1} and len(missing) == 3
    rows, note = coverage.trained_pruning("nb201", "smoke", **inputs)
    assert set(rows["seed"]) == {0, 1} and "seeds 0, 1 of 0, 1, 2 complete" in note and "3 of its 12" in note
    assert coverage.trained_pruning("nb201", "smoke", min_seeds=3, **inputs)[0] is None


def test_trained_family_is_read_when_every_supernet_is_stored(tmp_path, monkeypatch):
    from nas_core import coverage

    monkeypatch.setenv("NAS_CORE_RESULTS", str(tmp_path / "results"))
    archs = [str(a) for a in get_space("nb201").sample_many(8, seed=3)]
    gt = pd.Series(np.arange(8.0), index=archs)
    inputs = dict(gt={"nb201": gt}, guide={"nb201": -gt})  # a backwards guide keeps the worst
    rows, missing = pruning.trained_family("nb201", "smoke", **inputs)
    assert rows is None and len(missing) == 12
    rows, note = coverage.trained_pruning("nb201", "smoke", **inputs)
    assert rows is None and "12 of its 12 supernets are missing" in note and "core-hours" in note
    assert "nas-study regime" in note
    _, other = coverage.trained_pruning("nb201", "smoke", factors=[1, 4], **inputs)
    assert "not shown in this run" in other
    assert coverage.trained_pruning("darts_rnn", "smoke") == (None, "")

    fake = _fake_supernet(noise=0.0)
    fake.gt = gt
    monkeypatch.setattr(pruning, "supernet_on_space", fake)
    rows, missing = pruning.trained_family("nb201", "smoke", **inputs)
    assert missing == [] and set(rows["method"]) == set(pruning.METHODS)
    assert (rows.groupby(["method", "factor", "seed"]).size() == rows.groupby(["method", "factor", "seed"])["n"]
            .first()).all()
    guided = rows.query("method == 'guided' and factor == 2")["arch"].unique()
    assert set(guided) == set(archs[:4])
    draws = {s: frozenset(g["arch"]) for s, g in rows.query("method == 'random' and factor == 2").groupby("seed")}
    assert len(set(draws.values())) > 1  # three pruning seeds, not one draw
    agg = pruning.aggregate(pruning.sweep_summary(rows, gt, gt, k=2))
    assert len(agg) == 6 and (agg["seeds"] == 3).all()
    assert coverage.trained_pruning("nb201", "smoke", **inputs)[1] == ""


def test_a_trained_family_carries_its_recorded_network_setting(monkeypatch):
    # no space's family has one (channels-last, the candidate, is less precise: evaluation.MEMORY_FORMAT)
    assert all(not pruning.budget(s, "cpu").trained_family_cfg for s in ("nb101", "nb201", "darts_cnn", "proxyless"))
    assert pruning.trained_family_setting("nb201", "cpu") == ""
    # a setting, once a budget declares one, goes into every call of the family and into its names
    real = pruning.budget
    monkeypatch.setattr(pruning, "budget", lambda s, p: dataclasses.replace(
        real(s, p), trained_family_cfg={"memory_format": "channels_last"}) if s == "darts_cnn" else real(s, p))
    around = pruning.job_calls([pruning.PrunedJob("around", "darts_cnn", 32, 0, "around", 2)], "cpu")[0]
    assert around["cfg_overrides"] == {"memory_format": "channels_last"}
    assert "cfg_overrides" not in pruning.around_call("darts_cnn", "cpu", 2, 32, 0)  # Figure 6a's 4-epoch ones
    archs = [str(a) for a in get_space("nb101").sample_many(8, seed=3)]
    gt = pd.Series(np.arange(8.0), index=archs)
    sweep = pruning.job_calls([pruning.PrunedJob("sweep", "nb101", 32, 0, "unpruned", 1)], "cpu", gt={"nb101": gt})[0]
    assert "cfg_overrides" not in sweep
    assert "channels-last" in pruning.trained_family_setting("darts_cnn", "cpu")
    assert pruning.trained_family_setting("nb101", "cpu") == ""
    on = pruning.on_space_name(**around)
    off = pruning.on_space_name(**{k: v for k, v in around.items() if k != "cfg_overrides"})
    assert on != off
