from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score, roc_auc_score

from judgeloop import stats


def test_cohen_kappa_hand_computed_and_matches_sklearn():
    a, b = [1, 1, 0, 0], [1, 0, 0, 0]
    assert stats.cohen_kappa(a, b) == pytest.approx(0.5)
    rng = np.random.default_rng(1)
    x, y = rng.integers(0, 5, 200), rng.integers(0, 5, 200)
    for w in (None, "linear", "quadratic"):
        assert stats.cohen_kappa(x, y, weights=w) == pytest.approx(cohen_kappa_score(x, y, weights=w))


def test_krippendorff_alpha_hand_computed():
    # coincidences: o11=2, o10=o01=1, o00=4; n=8, n1=3, n0=5; alpha = 1 - (2/8) / (2*15/56)
    units = [[1, 1], [1, 0], [0, 0], [0, 0]]
    assert stats.krippendorff_alpha(units) == pytest.approx(1 - 0.25 / (30 / 56))
    assert stats.krippendorff_alpha([[1, 1, None], [0, 0, 0], [2, 2]]) == pytest.approx(1.0)


def test_krippendorff_alpha_reference_example():
    # Krippendorff (2011), "Computing Krippendorff's alpha-reliability", the 4 coders x 12 units example:
    # nominal alpha = 0.743, interval alpha = 0.849.
    n = None
    coders = [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, n, n, n],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, n, 3],
        [n, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, n],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, n],
    ]
    units = [list(u) for u in zip(*coders, strict=True)]
    assert stats.krippendorff_alpha(units, "nominal") == pytest.approx(0.743, abs=1e-3)
    assert stats.krippendorff_alpha(units, "interval") == pytest.approx(0.849, abs=1e-3)


def test_roc_auc_matches_sklearn_with_ties():
    y = [0, 0, 1, 1, 1, 0, 1]
    s = [0.1, 0.4, 0.4, 0.8, 0.9, 0.9, 0.2]
    assert stats.roc_auc(y, s) == pytest.approx(roc_auc_score(y, s))


def test_bootstrap_ci_contains_value_and_narrows_with_n():
    rng = np.random.default_rng(0)
    small = rng.integers(0, 2, 50)
    large = rng.integers(0, 2, 2000)
    e_small = stats.bootstrap(np.mean, small)
    e_large = stats.bootstrap(np.mean, large)
    assert e_small.low <= e_small.value <= e_small.high
    assert (e_large.high - e_large.low) < (e_small.high - e_small.low)


def test_ece_zero_when_calibrated_and_large_when_not():
    y = np.array([1] * 70 + [0] * 30)
    assert stats.expected_calibration_error(y, np.full(100, 0.7)) == pytest.approx(0.0)
    assert stats.expected_calibration_error(y, np.full(100, 0.99)) == pytest.approx(0.29)


def test_paired_difference_counts_discordant_pairs():
    truth = [1] * 30
    new = [1] * 30
    old = [1] * 20 + [0] * 10
    out = stats.paired_difference(truth, new, old)
    assert out["diff"] == pytest.approx(10 / 30)
    assert (out["new_right_old_wrong"], out["old_right_new_wrong"]) == (10, 0)
    assert out["mcnemar_p"] < 0.01


def test_scale_agreement_vectorised_cis_equal_the_looped_bootstrap():
    rng = np.random.default_rng(3)
    human = rng.integers(1, 6, 60).astype(float)
    predicted = human + rng.normal(0, 1.5, 60)
    report = stats.scale_agreement(human, predicted, n_resamples=500)
    for name, fn in (("spearman", stats.spearman), ("pearson", stats.pearson), ("kendall", stats.kendall)):
        looped = stats.bootstrap(fn, human, predicted, n_resamples=500).as_dict()
        assert report[name] == pytest.approx(looped, rel=1e-9), name
    constant = stats.scale_agreement([1, 1, 1], [1, 2, 3])
    assert np.isnan(constant["spearman"]["value"]) and np.isnan(constant["pearson"]["low"])


def test_bootstrap_agreement_matches_the_row_bootstraps():
    """Multinomial draws of the table give the row bootstrap's estimate and, on enough rows, its
    intervals (same distribution, not the same draws); under 2 rows, no interval either way."""
    rng = np.random.default_rng(1)
    for n in (0, 1, 2, 7, 400, 3000):
        human = rng.integers(0, 2, n)
        for pred in (human.copy(), np.where(rng.random(n) < 0.8, human, 1 - human), np.zeros(n, int)):
            acc, kappa = stats.bootstrap_agreement(human, pred, n_resamples=2000)
            for got, fn in ((acc, stats.accuracy), (kappa, stats.cohen_kappa)):
                want = stats.bootstrap(fn, human, pred, n_resamples=2000, seed=3)
                assert got.n == want.n
                assert got.value == pytest.approx(want.value, abs=0, nan_ok=True)
                assert np.isnan(got.low) == np.isnan(want.low) and np.isnan(got.high) == np.isnan(want.high)
                if n >= 400:
                    assert got.low == pytest.approx(want.low, abs=0.03)
                    assert got.high == pytest.approx(want.high, abs=0.03)


def test_kappas_of_a_stack_equal_kappa_from_counts():
    rng = np.random.default_rng(2)
    tables = rng.integers(0, 6, (400, 3, 3))
    tables[:50, 0, :] = tables[:50, :, 0] = 0  # category 0 used by neither rater
    tables[50:60] = 0
    tables[50:60, 1, 1] = 5  # one category only
    tables[60:70, :, 2] = 0  # a category only one rater used
    want = [stats.kappa_from_counts(t) for t in tables]
    assert np.allclose(stats.kappas(tables), want, rtol=0, atol=1e-12)
