from __future__ import annotations

import numpy as np
import pytest

from judgeloop.errors import InvalidInput
from judgeloop.monitor.spikes import (
    SpikeConfig,
    WindowTest,
    benjamini_hochberg,
    detect,
    episodes,
    overdispersion,
)


def simulate(
    windows: int, seed: int, fail: float = 0.1, rho: float = 0.0, drop: tuple[int, int, float] | None = None
):
    rng = np.random.default_rng(seed)
    ns = rng.poisson(300, windows)
    p = np.full(windows, fail)
    if rho > 0:
        c = (1 - rho) / rho
        p = rng.beta(fail * c, (1 - fail) * c, windows)
    if drop:
        p[drop[0] : drop[1] + 1] += drop[2]
    return ns.tolist(), rng.binomial(ns, np.clip(p, 0, 1)).tolist()


@pytest.mark.parametrize(
    "cfg",
    [
        SpikeConfig(test="betabinomial"),
        SpikeConfig(test="binomial", correction="bonferroni"),
        SpikeConfig(test="betabinomial", correction="horizon", alpha=0.1),
        SpikeConfig(test="cusum"),
    ],
    ids=["betabinomial-bh", "binomial-bonferroni", "betabinomial-horizon", "cusum"],
)
def test_injected_drop_is_detected_and_nothing_else(cfg):
    ns, fails = simulate(200, seed=1, drop=(150, 155, 0.10))  # pass rate 90% -> 80% for 6 windows
    tests = detect(ns, fails, cfg)
    runs = episodes(tests)
    assert runs, "the drop was missed"
    assert all(150 <= first <= 155 for first, _ in runs), runs
    assert runs[0][0] <= 151  # found within two windows


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("test", ["betabinomial", "binomial", "cusum"])
def test_stable_stream_raises_no_alert(seed, test):
    ns, fails = simulate(300, seed=seed)
    assert episodes(detect(ns, fails, SpikeConfig(test=test))) == []


@pytest.mark.parametrize("seed", range(3))
def test_beta_binomial_absorbs_overdispersion(seed):
    ns, fails = simulate(300, seed=seed, rho=0.004)  # hour-to-hour swings of ~4 points
    assert episodes(detect(ns, fails, SpikeConfig(test="betabinomial"))) == []


def test_naive_fixed_threshold_false_alarms_where_tests_do_not():
    ns, fails = simulate(300, seed=0, rho=0.004)
    fixed = episodes(detect(ns, fails, SpikeConfig(test="fixed", fixed_drop=0.03)))
    assert len(fixed) >= 3


def test_cusum_finds_small_sustained_drops_more_often_than_the_window_test():
    found = {"cusum": 0, "betabinomial": 0}
    for seed in range(10):
        ns, fails = simulate(200, seed=seed, drop=(100, 139, 0.04))  # 4 points for 40 windows
        for test in found:
            runs = episodes(detect(ns, fails, SpikeConfig(test=test)))  # type: ignore[arg-type]
            found[test] += bool(runs) and 100 <= runs[0][0] <= 139
    assert found["cusum"] >= 5 and found["cusum"] > found["betabinomial"], found


def test_a_drop_does_not_become_its_own_baseline():
    ns, fails = simulate(120, seed=3, drop=(60, 119, 0.15))  # a level shift that lasts
    tests = detect(ns, fails, SpikeConfig(test="betabinomial", correction="horizon", alpha=0.1))
    flagged = [t.index for t in tests if t.flagged]
    assert flagged[0] <= 61 and len(flagged) >= 50  # still flagged 50 windows later: baseline frozen
    assert {t.baseline_fail_rate is not None and t.baseline_fail_rate < 0.13 for t in tests[61:100]} == {True}


def test_small_and_empty_windows_are_not_tested():
    ns = [100] * 10 + [0, 5] + [100] * 3
    fails = [10] * 10 + [0, 5] + [10] * 3
    tests = detect(ns, fails, SpikeConfig(min_n=20))
    assert tests[10].p_value is None and not tests[10].flagged
    assert not tests[11].flagged  # 5/5 failures, but too small to alert on
    assert tests[4].p_value is None  # fewer than min_baseline_windows before it


def test_overdispersion_estimate_recovers_rho():
    rng = np.random.default_rng(0)
    ns = np.full(4000, 500)
    c = (1 - 0.01) / 0.01
    fails = rng.binomial(ns, rng.beta(0.2 * c, 0.8 * c, len(ns)))
    assert overdispersion(ns, fails) == pytest.approx(0.01, rel=0.15)
    binomial = rng.binomial(ns, 0.2)
    assert overdispersion(ns, binomial) < 0.001


def test_benjamini_hochberg_matches_hand_computation():
    q = benjamini_hochberg([0.01, 0.04, 0.03, 0.20])
    assert q == pytest.approx([0.04, 0.16 / 3, 0.16 / 3, 0.20])  # 0.03*4/2 is capped by 0.04*4/3
    assert benjamini_hochberg([]) == []


def test_episodes_merge_consecutive_flags():
    tests = [WindowTest(i, 10, 1, flagged=f) for i, f in enumerate([0, 1, 1, 0, 1, 0, 1, 1])]
    assert episodes(tests) == [(1, 2), (4, 4), (6, 7)]


@pytest.mark.parametrize(
    "kwargs", [{"alpha": 0}, {"test": "ttest"}, {"correction": "holm"}, {"arl0": 1}, {"min_n": 0}]
)
def test_bad_config_is_refused_with_a_clear_message(kwargs):
    with pytest.raises(InvalidInput, match="of SpikeConfig must"):
        SpikeConfig(**kwargs)
