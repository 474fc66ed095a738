"""The supernet-against-estimator analysis on constructed inputs: cost amortisation, the paired
bootstrap, the mean-rank hybrid and the verdicts' three cases."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nas_core import estimator_study as es
from nas_core.verdicts import AGREES, DISAGREES, INCONCLUSIVE


def _meta(wall, epochs_s=None, rows=100, name="x"):
    extra = {"train_history": [{"epoch": i + 1, "wall_s": s} for i, s in enumerate(epochs_s)]} if epochs_s else {}
    return {"name": name, "wall_time_s": wall, "rows": rows, "extra": extra}


def test_supernet_cost_is_its_recorded_time_amortised_over_the_scored_sample():
    # one process: the provenance wall time holds training and scoring
    assert es.supernet_seconds(_meta(500.0, [10.0] * 30)) == (500.0, "provenance wall time (training and scoring)")
    assert es.supernet_seconds(_meta(500.0))[0] == 500.0  # no per-epoch record
    # resumed: the wall time (last process) is below the recorded epochs; epochs + rows x rate
    seconds, how = es.supernet_seconds(_meta(100.0, [10.0] * 30, rows=50), score_s_per_arch=2.0)
    assert seconds == pytest.approx(300.0 + 50 * 2.0) and how.startswith("resumed")
    with pytest.raises(ValueError, match="scoring rate"):
        es.supernet_seconds(_meta(100.0, [10.0] * 30))
    # the rate: median over one-process runs of (wall - epochs) / rows; resumed runs do not count
    metas = [_meta(300.0 + 100 * r, [10.0] * 30) for r in (1.0, 2.0, 4.0)] + [_meta(10.0, [10.0] * 30)]
    assert es.scoring_rate(metas, fallback=9.0) == pytest.approx(2.0)
    assert es.scoring_rate([_meta(10.0, [10.0] * 30)], fallback=9.0) == 9.0


def test_supernet_ladder_cost_per_architecture(monkeypatch):
    scores = pd.DataFrame({"epochs": [1, 1, 4, 4], "seed": [0, 0, 0, 0], "arch": ["a", "b", "a", "b"],
                           "score": [1.0, 2.0, 3.0, 4.0]})
    metas = {"r1": _meta(200.0, [10.0], rows=100, name="r1"), "r4": _meta(10.0, [50.0] * 4, rows=100, name="r4")}

    class Store:
        def meta(self, experiment, name):
            assert experiment == "supernets"
            return metas[name]

    monkeypatch.setattr(es, "stored_seed_ladder", lambda *a, **k: scores)
    monkeypatch.setattr(es.study, "store", lambda: Store())
    monkeypatch.setattr(es.study, "supernet_result_name", lambda space, profile, e, seed=0: f"r{e}")
    _, costs = es.supernet_ladder("nb201", "cpu")
    one, four = costs.set_index("epochs").loc[1], costs.set_index("epochs").loc[4]
    assert one["cpu_s_per_arch"] == pytest.approx(2.0)  # 200 s over 100 scored architectures
    # resumed: 200 s of epochs + 100 x the one-process run's scoring rate (200 - 10) / 100
    assert four["seconds"] == pytest.approx(200.0 + 100 * 1.9) and four["cpu_s_per_arch"] == pytest.approx(3.9)


def _series(values, n):
    return pd.Series(values, index=[f"a{i}" for i in range(n)], dtype=float)


def test_mean_rank_hybrid_beats_two_rankings_with_independent_errors():
    rng = np.random.default_rng(0)
    n = 400
    truth = rng.normal(size=n)
    sn, e = truth + rng.normal(size=n), truth + rng.normal(size=n)  # independent noise: the mean helps
    c = es.hybrid_comparison(_series(-sn, n), _series(e, n), _series(truth, n), supernet_higher_is_better=False,
                             truth_higher_is_better=True, n_boot=300)
    assert c["n"] == n and c["supernet_spearman"] == pytest.approx(c["estimator_spearman"], abs=0.1)
    assert c["hybrid_spearman"] > max(c["supernet_spearman"], c["estimator_spearman"])
    assert c["hybrid_minus_supernet_lo"] > 0 and c["hybrid_minus_estimator_lo"] > 0
    assert es.hybrid_call(c) == AGREES
    # the same ranking twice carries nothing new: the hybrid equals it, the differences are 0
    same = es.hybrid_comparison(_series(e, n), _series(e, n), _series(truth, n), supernet_higher_is_better=True,
                                truth_higher_is_better=True, n_boot=100)
    assert same["hybrid_spearman"] == pytest.approx(same["estimator_spearman"])
    assert same["hybrid_minus_estimator_lo"] == pytest.approx(0) == same["hybrid_minus_estimator_hi"]


def test_paired_bootstrap_uses_the_same_resamples_for_every_ranking():
    rng = np.random.default_rng(1)
    n = 200
    truth = _series(rng.normal(size=n), n)
    a = truth + _series(rng.normal(scale=0.5, size=n), n)
    singles, diffs = es.paired_spearman({"a": a, "a2": a.copy(), "b": -truth}, truth, [("a", "a2"), ("a", "b")],
                                        n_boot=200)
    assert list(singles["ranking"]) == ["a", "a2", "b"] and singles["n"].eq(n).all()
    d = diffs.set_index("b")
    assert d.loc["a2", "diff"] == 0 and d.loc["a2", "diff_lo"] == 0 and d.loc["a2", "diff_hi"] == 0  # paired: exact 0
    assert d.loc["b", "diff"] == pytest.approx(singles.set_index("ranking").loc["a", "spearman"] + 1.0)
    assert d.loc["b", "diff_lo"] > 1.0
    with pytest.raises(ValueError, match="architectures"):
        es.paired_spearman({"a": a.iloc[:2]}, truth, [], n_boot=10)


def test_best_estimator_skips_undefined_correlations():
    t = pd.DataFrame({"estimator": ["params", "snip", "naswot"], "spearman": [np.nan, -0.2, 0.1]})
    assert es.best_estimator(t) == "naswot"
    with pytest.raises(ValueError):
        es.best_estimator(t.assign(spearman=np.nan))


def _comparison(diff_ci, hyb_sn_ci=(0.1, 0.05, 0.2), hyb_est_ci=(0.1, 0.05, 0.2), seeds=(0,)):
    rows = []
    for s, (d, lo, hi) in zip(seeds, diff_ci if isinstance(diff_ci[0], tuple) else [diff_ci]):
        rows.append({"space": "nb201", "epochs": 128, "seed": s, "best_estimator": "jacob_cov", "n": 300,
                     "supernet_spearman": 0.5, "supernet_lo": 0.4, "supernet_hi": 0.6,
                     "estimator_spearman": 0.5 - d, "estimator_lo": 0.3, "estimator_hi": 0.7,
                     "hybrid_spearman": 0.6, "hybrid_lo": 0.5, "hybrid_hi": 0.7,
                     "supernet_minus_estimator": d, "supernet_minus_estimator_lo": lo, "supernet_minus_estimator_hi": hi,
                     "hybrid_minus_supernet": hyb_sn_ci[0], "hybrid_minus_supernet_lo": hyb_sn_ci[1],
                     "hybrid_minus_supernet_hi": hyb_sn_ci[2], "hybrid_minus_estimator": hyb_est_ci[0],
                     "hybrid_minus_estimator_lo": hyb_est_ci[1], "hybrid_minus_estimator_hi": hyb_est_ci[2],
                     "supernet_cpu_s_per_arch": 5.0, "estimator_cpu_s_per_arch": 0.09})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("ci, call", [((0.2, 0.1, 0.3), AGREES), ((0.05, -0.05, 0.15), INCONCLUSIVE),
                                      ((-0.2, -0.3, -0.1), DISAGREES)])
def test_supernet_vs_estimator_verdict_follows_the_paired_interval(ci, call):
    v = es.supernet_vs_estimator_verdict(_comparison(ci), "nb201")
    assert v.call == call and v.space == "nb201" and v.item == es.BEYOND_ITEM
    assert v.numbers["supernet_minus_estimator"] == ci and "jacob_cov" in v and f"**{call}**" in v
    assert v.record()["numbers"]["supernet_minus_estimator"] == list(ci)


def test_verdict_combines_the_seeds():
    v = es.supernet_vs_estimator_verdict(_comparison(((0.2, 0.1, 0.3), (0.05, -0.05, 0.15)), seeds=(0, 1)), "nb201")
    # a call holds when every seed gives it: one seed decided, the other not -> inconclusive
    assert v.call == INCONCLUSIVE and "seed 0" in v and "seed 1" in v
    assert es.supernet_vs_estimator_verdict(
        _comparison(((-0.2, -0.3, -0.1), (0.05, -0.05, 0.15)), seeds=(0, 1)), "nb201").call == INCONCLUSIVE
    assert es.supernet_vs_estimator_verdict(
        _comparison(((-0.2, -0.3, -0.1), (-0.2, -0.3, -0.1)), seeds=(0, 1)), "nb201").call == DISAGREES


@pytest.mark.parametrize("sn, e, call", [((0.1, 0.05, 0.2), (0.1, 0.05, 0.2), AGREES),
                                         ((0.1, -0.05, 0.2), (0.1, 0.05, 0.2), INCONCLUSIVE),
                                         ((-0.1, -0.2, -0.05), (0.1, 0.05, 0.2), DISAGREES)])
def test_hybrid_verdict(sn, e, call):
    v = es.hybrid_verdict(_comparison((0.0, -0.1, 0.1), sn, e), "nb201")
    assert v.call == call and v.numbers["hybrid_minus_supernet"] == sn and v.item.startswith(es.BEYOND_ITEM)


def test_full_scale_status_counts_the_cells_of_its_resumable_log(tmp_path, monkeypatch):
    monkeypatch.setenv("NAS_CORE_RUNS", str(tmp_path))
    assert "0 of 15,625 cells" in es.full_scale_status(10)
    cfg = es.nb201_full_config(10)
    h = es._setup("nb201", cfg, es.BATCH_SIZE, es.BATCH_SEED, es.INIT_SEED,
                  es.est.defined_estimators("nb201"))["config_hash"]
    log = tmp_path / es.EXPERIMENT / f"nb201_full_c10_{h}.csv"
    log.parent.mkdir(parents=True)
    log.write_text("arch,x\na,1\nb,2\n")
    line = es.full_scale_status(10)
    assert "2 of 15,625 cells" in line and "nb201_full_scale(10)" in line
