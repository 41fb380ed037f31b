from __future__ import annotations

import numpy as np
import pytest

from _loop_support import T0, Timed, add_timed, bulk_labels, bulk_sessions
from judgeloop.errors import InvalidInput
from judgeloop.loop.risk import (
    AutomationRule,
    automation_rule,
    calibrate,
    clopper_pearson_upper,
    confidence,
    evaluate_rule,
    load_rule,
    needs_review,
)
from judgeloop.store import Workspace
from judgeloop.store.tables import EvaluatorVersionRow
from judgeloop.types import Session


def calibrated(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A perfectly calibrated evaluator: the label is good with probability p."""
    p = rng.beta(0.6, 0.6, n)
    return p, (rng.random(n) < p).astype(int)


def true_selective_risk(tau: float, big: tuple[np.ndarray, np.ndarray]) -> float:
    p, _ = big
    conf = confidence(p)
    return float(np.mean(1 - conf[conf >= tau]))  # calibrated: P(wrong | p) = 1 - max(p, 1 - p)


def test_bound_holds_on_simulated_calibrated_data():
    rng = np.random.default_rng(0)
    big = calibrated(400_000, rng)
    target, delta, trials = 0.05, 0.1, 200
    violations, coverage = 0, []
    for _ in range(trials):
        p, y = calibrated(1000, rng)
        rule = calibrate(p, y, target=target, delta=delta)
        coverage.append(rule.coverage)
        if rule.tau is not None:
            violations += true_selective_risk(rule.tau, big) > target
            assert rule.upper_bound is not None and rule.upper_bound <= target
    assert violations / trials <= delta  # P(risk > target) <= delta
    assert np.mean(coverage) > 0.2  # and it does automate a useful share (best possible is about 0.4)


def test_rule_is_monotone_in_confidence_and_in_the_target():
    rng = np.random.default_rng(1)
    p, y = calibrated(3000, rng)
    taus = [calibrate(p, y, target=t).tau for t in (0.03, 0.05, 0.1, 0.2)]
    assert all(t is not None for t in taus)
    assert taus == sorted(taus, reverse=True)  # a looser target never demands more confidence
    rule = calibrate(p, y, target=0.05)
    probs = np.linspace(0, 1, 201)
    auto = [not needs_review(float(q), rule) for q in probs]
    conf = confidence(probs)
    for a, c in zip(auto, conf, strict=True):
        assert a == (c >= (rule.tau or 2))
    low, high = rule.review_band() or (0, 1)
    assert needs_review((low + high) / 2, rule) and not needs_review(0.999, rule)


def test_nothing_certified_sends_everything_to_review():
    rule = calibrate([0.99, 0.02, 0.97], [1, 0, 1], target=0.05, delta=0.1)
    assert rule.tau is None and rule.coverage == 0.0 and not rule.certified
    assert needs_review(1.0, rule) and needs_review(0.0, rule)
    assert "everything needs review" in rule.describe()


def test_a_perfect_evaluator_is_trusted_almost_everywhere():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 2000)
    p = np.where(y == 1, rng.uniform(0.8, 1.0, 2000), rng.uniform(0.0, 0.2, 2000))
    rule = calibrate(p, y, target=0.05, delta=0.1)
    assert rule.coverage > 0.95 and rule.empirical_error == 0.0
    assert evaluate_rule(rule, p, y)["error"] == 0.0


def test_clopper_pearson_upper_bound():
    assert clopper_pearson_upper(0, 45, 0.1) == pytest.approx(1 - 0.1 ** (1 / 45))
    assert clopper_pearson_upper(5, 5, 0.1) == 1.0
    assert 0.05 < clopper_pearson_upper(5, 100, 0.1) < 0.1


def test_rule_round_trips_through_a_dict():
    rule = calibrate(*calibrated(2000, np.random.default_rng(3)), target=0.1)
    assert AutomationRule.from_dict(rule.as_dict()) == rule


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"probs": [0.5], "good": [1, 0]}, "1 probabilities but 2 labels"),
        ({"probs": [], "good": []}, "no calibration data"),
        ({"probs": [1.5], "good": [1]}, r"\[0, 1\]"),
        ({"probs": [0.5], "good": [1], "target": 0}, "'target' parameter"),
        ({"probs": [0.5], "good": [1], "delta": 1.0}, "'delta' parameter"),
    ],
)
def test_bad_input_is_refused(kwargs, match):
    with pytest.raises(InvalidInput, match=match):
        calibrate(**kwargs)


def test_automation_rule_from_the_store_leaves_training_sessions_out(tmp_path):
    ws = Workspace(f"sqlite:///{tmp_path / 'r.db'}")
    rng = np.random.default_rng(4)
    p, y = calibrated(1500, rng)
    bulk_sessions(ws, "p", [Session(id=f"s{i}", model_input=f"q{i}", model_output="a") for i in range(1500)])
    bulk_labels(ws, "p", [(f"s{i}", bool(y[i]), []) for i in range(1200)])
    add_timed(
        ws,
        "p",
        [Timed(f"s{i}", T0, int(p[i] >= 0.5), evaluator="m", probability=float(p[i])) for i in range(1500)],
    )
    with ws.db() as db:
        pid = ws.project_id(db, "p")
        db.add(
            EvaluatorVersionRow(
                project_id=pid,
                name="m",
                version=1,
                status="champion",
                label_ids=[f"s{i}" for i in range(200)],
            )
        )
    rule, facts = automation_rule(ws, "p", "m", target=0.1, delta=0.1, save=True)
    assert rule.n_calibration == 1000 and facts["excluded_training"] == 200
    assert rule.certified and rule.upper_bound is not None and rule.upper_bound <= 0.1
    assert load_rule(ws, "p", "m@1") == rule
    with pytest.raises(InvalidInput, match="no probability verdicts"):
        automation_rule(ws, "p", "nobody")
