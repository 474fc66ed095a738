"""Metrics against scipy, brute force and Monte Carlo; lower-is-better symmetry."""
import itertools

import numpy as np
import pytest
from scipy import stats

from nas_core import metrics as m


@pytest.fixture
def pair():
    rng = np.random.default_rng(1)
    gt = rng.normal(size=60)
    return gt + rng.normal(size=60), gt


def test_correlations_match_scipy(pair):
    p, g = pair
    assert m.spearman(p, g) == pytest.approx(stats.spearmanr(p, g).statistic, abs=1e-12)
    assert m.kendall(p, g) == pytest.approx(stats.kendalltau(p, g).statistic, abs=1e-12)
    ties = [1, 1, 2, 3, 3, 3, 4]
    other = [2, 1, 3, 3, 5, 4, 4]
    assert m.spearman(ties, other) == pytest.approx(stats.spearmanr(ties, other).statistic)
    assert m.kendall(ties, other) == pytest.approx(stats.kendalltau(ties, other).statistic)
    assert np.isnan(m.spearman([1, 1, 1], [1, 2, 3]))
    assert m.spearman(p, g) == pytest.approx(m.spearman(-p, -g))  # direction does not matter
    with pytest.raises(ValueError, match="length"):
        m.spearman([1, 2], [1, 2, 3])


def test_bootstrap_ci(pair):
    p, g = pair
    lo, hi = m.bootstrap_ci(p, g, n_boot=300, seed=0)
    assert lo < m.spearman(p, g) < hi
    assert (lo, hi) == m.bootstrap_ci(p, g, n_boot=300, seed=0)  # seeded
    lo2, hi2 = m.bootstrap_ci(p, g, n_boot=300, seed=0, level=0.5)
    assert lo <= lo2 < hi2 <= hi
    lo_k, hi_k = m.bootstrap_ci(p, g, stat=m.kendall, n_boot=200)
    assert lo_k < m.kendall(p, g) < hi_k


def _brute_top_k(pred, gt, k, hib, sel=None):
    s = 1 if hib else -1
    order = sorted(range(len(pred)), key=lambda i: (-s * pred[i], i))[:k]
    sel = gt if sel is None else sel
    pick = min(order, key=lambda i: (-s * sel[i], order.index(i)))
    return gt[pick]


def test_top_k_brute_force_and_direction(pair):
    p, g = pair
    v = g + 0.3 * np.random.default_rng(2).normal(size=len(g))
    for k in (1, 5, 10, 60):
        assert m.top_k(p, g, k) == _brute_top_k(p, g, k, True)
        assert m.top_k(p, g, k, gt_select=v) == _brute_top_k(p, g, k, True, v)
        # lower-is-better: negated inputs give the negated answer
        assert m.top_k(-p, -g, k, higher_is_better=False) == -m.top_k(p, g, k)
        assert m.top_k(-p, -g, k, higher_is_better=False, gt_select=-v) == -m.top_k(p, g, k, gt_select=v)
    assert m.top_k(p, g, len(g)) == g.max()
    # the paper's protocol: pick by validation, report test
    assert m.top_k([3, 2, 1], [10, 90, 50], 2, gt_select=[0.9, 0.1, 0.5]) == 10
    with pytest.raises(ValueError):
        m.top_k(p, g, 0)


def test_random_expectation_exact():
    rng = np.random.default_rng(3)
    g = np.round(rng.normal(size=8), 1)  # rounding makes ties
    for k in range(1, 9):
        subsets = list(itertools.combinations(range(8), k))
        brute = np.mean([g[list(s)].max() for s in subsets])
        assert m.random_top_k_expectation(g, k) == pytest.approx(brute, abs=1e-12)
        brute_low = np.mean([g[list(s)].min() for s in subsets])
        assert m.random_top_k_expectation(g, k, higher_is_better=False) == pytest.approx(brute_low, abs=1e-12)
    v = rng.normal(size=8)  # select on validation, report test
    for k in (1, 3, 8):
        brute = np.mean([g[list(s)][np.argmax(v[list(s)])] for s in itertools.combinations(range(8), k)])
        assert m.random_top_k_expectation(g, k, gt_select=v) == pytest.approx(brute, abs=1e-12)


def test_random_expectation_monte_carlo():
    rng = np.random.default_rng(4)
    g = rng.normal(size=2000)
    draws = np.array([g[rng.choice(2000, 10, replace=False)].max() for _ in range(20000)])
    exact = m.random_top_k_expectation(g, 10)
    assert abs(exact - draws.mean()) < 4 * draws.std() / np.sqrt(len(draws))
    assert m.random_top_k_expectation(g, 1) == pytest.approx(g.mean())
    assert m.random_top_k_expectation(g, 2000) == pytest.approx(g.max())


def test_precision():
    gt = np.arange(10.0)
    assert m.precision_at(gt, gt, 0.3) == 1.0
    assert m.precision_at(gt, gt, 0.3, which="worst") == 1.0
    assert m.precision_at(-gt, gt, 0.3) == 0.0
    assert m.precision_at(np.r_[0, 1, 2, 3, 4, 5, 6, 9, 8, 7], gt, 0.3) == 1.0  # same set, other order
    assert m.precision_at(np.r_[0, 1, 2, 3, 4, 5, 9, 6, 8, 7], gt, 0.3) == pytest.approx(2 / 3)
    assert m.precision_at(np.r_[0, 1, 2, 3, 4, 5, 9, 6, 8, 7], gt, 0.3, "worst") == 1.0
    rng = np.random.default_rng(5)
    p, g = rng.normal(size=200), rng.normal(size=200)
    for which in ("best", "worst"):
        assert m.precision_at(-p, -g, 0.1, which, higher_is_better=False) == m.precision_at(p, g, 0.1, which)
    # random rankings give about `fraction`
    vals = [m.precision_at(rng.normal(size=500), g2, 0.3) for g2 in rng.normal(size=(40, 500))]
    assert np.mean(vals) == pytest.approx(0.3, abs=0.03)


def test_precision_recall_curve():
    rng = np.random.default_rng(6)
    p, g = rng.normal(size=50), rng.normal(size=50)
    for which in ("best", "worst"):
        c = m.precision_recall_curve(p, g, 0.2, which)
        assert list(c.columns) == ["examined", "precision", "recall"]
        assert c["recall"].iloc[-1] == 1.0 and c["precision"].iloc[-1] == pytest.approx(0.2)
        assert c["recall"].is_monotonic_increasing
        assert c["precision"].iloc[9] == m.precision_at(p, g, 0.2, which)  # at the set size, equal
        low = m.precision_recall_curve(-p, -g, 0.2, which, higher_is_better=False)
        assert np.allclose(low.to_numpy(), c.to_numpy())


def _brute_regret(pred, valid, test, hib):
    s = 1 if hib else -1
    order = sorted(range(len(pred)), key=lambda i: (-s * pred[i], i))
    best_test = max(s * t for t in test)
    out = []
    for n in range(1, len(order) + 1):
        seen = order[:n]
        pick = min(seen, key=lambda i: (-s * valid[i], seen.index(i)))
        out.append(best_test - s * test[pick])
    return np.array(out)


def test_regret_curve():
    rng = np.random.default_rng(7)
    v = np.round(rng.normal(size=30), 1)
    t = v + rng.normal(size=30)
    p = v + rng.normal(size=30)
    r = m.regret_curve(p, v, t)
    assert np.allclose(r, _brute_regret(p, v, t, True))
    assert (r >= 0).all()
    assert np.allclose(m.regret_curve(-p, -v, -t, higher_is_better=False), r)
    assert np.allclose(m.regret_curve(p, v, v), _brute_regret(p, v, v, True))
    assert m.regret_curve(p, v, v)[-1] == 0  # all retrained, validation = test: no regret


def test_random_regret():
    rng = np.random.default_rng(8)
    v = rng.normal(size=40)
    t = v + 0.5 * rng.normal(size=40)
    rr = m.random_regret(v, t, n_perm=600, seed=0)
    assert list(rr.columns) == ["n", "mean", "std", "lo", "hi"] and len(rr) == 40
    assert rr["mean"].is_monotonic_decreasing
    # after one architecture: the regret of a uniformly random one, exactly in expectation
    assert rr["mean"].iloc[0] == pytest.approx(t.max() - t.mean(), abs=4 * rr["std"].iloc[0] / np.sqrt(600))
    assert rr["std"].iloc[-1] == pytest.approx(0.0, abs=1e-12)  # all retrained: one answer
    assert rr.equals(m.random_regret(v, t, n_perm=600, seed=0))
    low = m.random_regret(-v, -t, n_perm=600, seed=0, higher_is_better=False)
    assert np.allclose(low[["mean", "std"]].to_numpy(), rr[["mean", "std"]].to_numpy())
