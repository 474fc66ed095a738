"""Table 3 logic (nas_core.tricks): the plan of supernets, the row metrics, the paper's rows, the verdict."""
import numpy as np
import pandas as pd
import pytest

from nas_core import paper, tricks
from nas_core.training import recipe_for


def _series(values, archs):
    return pd.Series(np.asarray(values, float), index=archs)


@pytest.fixture
def study():
    """40 architectures: validation ground truth, test = validation + noise, and supernets."""
    rng = np.random.default_rng(0)
    archs = [f"a{i}" for i in range(40)]
    valid = _series(rng.normal(80, 2, 40), archs)
    test = valid + rng.normal(0, 0.3, 40)
    good = valid + rng.normal(0, 1.0, 40)  # a decent ranker
    return archs, valid, test, good


def test_plan_budget_parity_and_rows():
    rows = tricks.plan("nb201", "smoke", 10)
    assert [r.label for r in rows][0] == "baseline"
    by = {r.strategy: r for r in rows}
    assert by["fairnas"].epochs == pytest.approx(2.0) and by["multipath"].epochs == pytest.approx(2.0)  # 1/5
    assert [r.seed for r in rows] == [0, 0, 0, 0, 1]
    nb101 = {r.strategy: r for r in tricks.plan("nb101", "smoke", 9)}
    assert nb101["fairnas"].epochs == pytest.approx(3.0)  # 1/3 on NAS-Bench-101
    assert rows[0].kwargs() == {"strategy": "uniform", "seed": 0}


def test_plan_lr_wd_is_the_papers_nb101_variant():
    lr_row = [r for r in tricks.plan("nb101", "cpu", 64) if r.label.startswith("LR=")][0]
    assert lr_row.recipe_overrides == {"lr": 0.05, "weight_decay": 3e-4}  # exactly, no float dust
    base = recipe_for("nb201", "cpu")
    nb201 = [r for r in tricks.plan("nb201", "cpu", 64) if r.label.startswith("LR=")][0]
    assert nb201.recipe_overrides["lr"] == pytest.approx(base.lr * 0.5)
    assert nb201.recipe_overrides["weight_decay"] == pytest.approx(base.weight_decay * 3)


def test_plan_rejects_bad_input_and_filters():
    with pytest.raises(ValueError):
        tricks.plan("nb201", "smoke", 0)
    with pytest.raises(ValueError):
        tricks.plan("nb201", "smoke", 4, lr_wd_factors={"momentum": 2})
    with pytest.raises(ValueError):
        tricks.plan("nb201", "smoke", 4, other_seed=0)
    with pytest.raises(ValueError):
        tricks.plan("nb201", "smoke", 4, settings=["Dropout"])
    kept = tricks.plan("nb201", "smoke", 4, settings=["FairNAS", "LR/WD"])
    assert [r.strategy for r in kept] == ["uniform", "fairnas", "uniform"] and kept[2].recipe_overrides


def test_row_of_the_baseline_against_itself(study):
    archs, valid, test, good = study
    r = tricks.row(good, good, valid, test, n_boot=200)
    assert r["corr_bl"] == pytest.approx(1.0)
    assert r["d_corr_gt"] == 0 and r["d_low"] == 0 and r["d_high"] == 0
    assert r["ci_low"] <= r["corr_gt"] <= r["ci_high"]
    assert r["s_perf"] == pytest.approx(good.mean())
    # top-10: among the supernet's 10 best, the one best on validation, reported on test
    top = good.sort_values(ascending=False).index[:10]
    assert r["top10"] == pytest.approx(test[valid.loc[top].idxmax()])
    assert r["n"] == r["n_gt"] == 40


def test_table_deltas_and_a_significantly_worse_trick(study):
    archs, valid, test, good = study
    reversed_ = -good  # ranks exactly backwards
    partial = pd.concat([good.iloc[:30] * 2, pd.Series({"extra": 1.0})])  # same ranking, other scale
    t = tricks.table({"baseline": good, "Reversed": reversed_, "Rescaled": partial}, valid, test,
                     real=valid, n_boot=200)
    assert list(t.index) == ["baseline", "Reversed", "Rescaled"]
    assert t.loc["Reversed", "corr_bl"] == pytest.approx(-1.0)
    assert t.loc["Reversed", "d_high"] < 0  # significantly worse, paired interval below 0
    assert t.loc["Rescaled", "corr_bl"] == pytest.approx(1.0)  # on the 30 shared architectures
    assert t.loc["Rescaled", "n_gt"] == 30
    assert t.loc["baseline", "d_top10"] == 0 and t.loc["baseline", "d_s_perf"] == 0
    assert t.loc["Reversed", "d_s_perf"] == pytest.approx(-2 * good.mean())
    assert t.loc["baseline", "corr_real"] == pytest.approx(t.loc["baseline", "corr_gt"])
    shown = tricks.display_table(t)
    assert shown.loc["baseline", "Corr-BL"] == "1.000" and "(" in shown.loc["Reversed", "Top-10"]
    with pytest.raises(ValueError):
        tricks.table({"FairNAS": good}, valid)


def test_paired_delta_needs_shared_architectures(study):
    _, valid, _, good = study
    with pytest.raises(ValueError):
        tricks.paired_delta_ci(good.rename(lambda a: a + "x"), good, valid)


def test_paper_rows_are_table3_with_deltas():
    nb101 = tricks.paper_rows("nb101")
    assert len(nb101) == 10 and len(paper.TABLE3) == 15
    fair = nb101.loc[("NAS-Bench-101 (1k epochs)", "FairNAS")]
    assert fair["corr_gt"] == 0.683 and fair["d_corr_gt"] == 0.064  # as printed (0.683 - 0.618 = 0.065)
    assert fair["d_top10"] == pytest.approx(0.19) and fair["d_s_perf"] == pytest.approx(-1.79)
    nb201 = tricks.paper_rows("nb201")
    assert nb201.loc[("NAS-Bench-201 (2k epochs)", "CIFAR-10"), "d_s_perf"] == pytest.approx(32.94)
    assert tricks.paper_rows("darts_cnn").empty


def test_verdict_reads_the_numbers(study):
    archs, valid, test, good = study
    rng = np.random.default_rng(1)
    close = good + rng.normal(0, 0.05, len(good))
    same = tricks.table({"baseline": good, "FairNAS": close, "Different Seed": close + 0.01}, valid, test,
                        n_boot=200)
    text = tricks.verdict("NB", same)
    assert "Every variation ranks like the baseline" in text and "holds here" in text
    bad = tricks.table({"baseline": good, "FairNAS": -good, "Different Seed": close}, valid, test, n_boot=200)
    text = tricks.verdict("NB", bad)
    assert "below the paper's 0.95" in text and "Significant changes of Corr-GT: FairNAS" in text
    assert "tricks that moved it more: FairNAS" in text and "A new seed alone" not in text
    noisy = tricks.table({"baseline": good, "Different Seed": -good}, valid, test, n_boot=200)
    assert "A new seed alone counts as significant" in tricks.verdict("NB", noisy)
    assert "nothing to compare" in tricks.verdict("NB", same.iloc[:1])
