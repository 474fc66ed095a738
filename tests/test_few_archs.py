"""What a chapter shows of a space with few results (nas_core.coverage): the supernet seeds a
cached build has, the note on a missing seed's cost, and verdicts on few architectures.

Fast: synthetic tables and a scratch results folder, no training.
"""
import json

import numpy as np
import pandas as pd
import pytest

from nas_core import analysis as an
from nas_core import coverage as cv
from nas_core import store, study
from nas_core.verdicts import AGREES, DISAGREES, INCONCLUSIVE, Verdict


def test_seeds_to_show_keeps_every_seed_when_results_may_be_computed(monkeypatch):
    monkeypatch.delenv(store.CACHED_ONLY_ENV, raising=False)
    monkeypatch.setattr(store, "stored_or_none", lambda fn, **kw: pytest.fail("nothing is looked up"))
    assert cv.seeds_to_show("proxyless", "cpu", 32, [0, 1, 2]) == ([0, 1, 2], [])


def test_seeds_to_show_in_a_cached_build_keeps_the_first_and_the_stored(monkeypatch):
    monkeypatch.setenv(store.CACHED_ONLY_ENV, "1")
    asked = []

    def fake(fn, **kw):
        asked.append(kw)
        return pd.DataFrame({"arch": ["a"], "score": [1.0]}) if kw["seed"] == 2 else None

    monkeypatch.setattr(store, "stored_or_none", fake)
    shown, missing = cv.seeds_to_show("proxyless", "cpu", 32, [0, 1, 2], n_archs=None, sample_seed=0)
    assert (shown, missing) == ([0, 2], [1])
    # the first seed is the ladder's own (the chapter loads it and fails loudly if it is absent)
    assert [k["seed"] for k in asked] == [1, 2]
    assert all(k["epochs"] == 32 and k["space_name"] == "proxyless" and k["profile"] == "cpu" for k in asked)


def test_missing_seeds_note_reads_the_recorded_cost_of_seed_0(tmp_path, monkeypatch):
    monkeypatch.setenv("NAS_CORE_RESULTS", str(tmp_path))
    assert cv.missing_seeds_note("proxyless", "smoke", 2, []) == ""
    note = cv.missing_seeds_note("proxyless", "smoke", 2, [1])
    assert "seed(s) 1" in note and "about" not in note  # no provenance: no cost claimed
    name = study.supernet_result_name("proxyless", "smoke", 2, seed=0)
    (tmp_path / "supernets").mkdir()
    (tmp_path / "supernets" / f"{name}.json").write_text(json.dumps({"wall_time_s": 1160.068}))
    note = cv.missing_seeds_note("proxyless", "smoke", 2, [1, 3])
    assert "seed(s) 1, 3" in note and "about 1,160 s" in note and "NAS_CORE_CACHED_ONLY" in note


def test_few_archs_note_appends_only_under_the_threshold_and_keeps_the_record():
    v = Verdict("**X.** text (**agrees**)", AGREES, item="Figure 9", space="proxyless", key="k",
                numbers={"q": (1.0, 0.5, 1.5)})
    assert cv.few_archs_note(v, 30) is v
    out = cv.few_archs_note(v, 20, 100)
    assert str(out).startswith(str(v)) and "20 architectures of the 100 scored" in out
    assert out.record() == {**v.record(), "text": str(out)}


def _table(gt, pred, ks, n_boot=300):
    archs = [f"a{i}" for i in range(len(gt))]
    scores = pd.DataFrame({"arch": archs, "score": pred, "epochs": 32, "seed": 0})
    return an.top_k_table(scores, pd.Series(gt, index=archs), ks, n_boot=n_boot)


def test_verdict_top_k_sized_delegates_on_a_large_sample():
    rng = np.random.default_rng(0)
    gt = rng.normal(size=40)
    t = _table(gt, gt + rng.normal(size=40), [1, 10])
    assert str(cv.verdict_top_k_sized("S", t, few=30)) == str(an.verdict_top_k("S", t))


@pytest.mark.parametrize("direction, call", [(1, AGREES), (-1, DISAGREES)])
def test_verdict_top_k_sized_reads_the_interval_on_few(direction, call):
    gt = np.arange(12, dtype=float)
    t = _table(gt, direction * gt, [1, 5])  # a perfect (or reversed) ranking: the pick is the best (worst)
    v = cv.verdict_top_k_sized("S", t, few=30)
    assert v.call == call and v.item == "Figure 2"
    assert "12 architectures" in v and "best 10% of 12 is its best 2" in v
    g = t[t["k"] == 5]
    assert v.numbers["top_k_advantage"] == pytest.approx((g["advantage"].iloc[0], g["adv_low"].iloc[0],
                                                          g["adv_high"].iloc[0]))
    assert (g["adv_low"] > 0).all() if call == AGREES else (g["adv_high"] < 0).all()


def test_verdict_top_k_sized_on_few_holds_0_and_leaves_out_a_whole_sample_k():
    gt = np.array([27.0, 29.0, 30.1, 26.5, 27.8])
    t = _table(gt, np.array([0.1, 0.3, 0.2, 0.0, 0.5]), [1, 5])  # picks the 27.8 one: third of five
    v = cv.verdict_top_k_sized("S", t, few=30)
    low, high = t.loc[t["k"] == 1, ["adv_low", "adv_high"]].iloc[0]
    assert low <= 0 <= high and v.call == INCONCLUSIVE
    assert "top-5 covers all 5: left out" in v and "its single best, as is the best 1%" in v
    assert v.key.startswith("top-1 advantage") and "(n=5)" in v.key
    assert v.numbers == {}  # the cross-space table's number is the largest k asked for (here top-5): none


def test_verdict_top_k_sized_needs_the_bootstrap():
    t = _table(np.arange(5.0), np.arange(5.0), [1], n_boot=0)
    with pytest.raises(ValueError, match="n_boot"):
        cv.verdict_top_k_sized("S", t)
