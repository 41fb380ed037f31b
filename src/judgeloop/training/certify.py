"""`--target-error`: certify an automation rule for a trained model on its held-out human labels.

The rule (judgeloop.loop.risk: Learn-then-Test) is a review band around the threshold such that the
sessions decided outside it have an error rate of at most `target` with probability 1 - `delta`.
It is written into the model's judgeloop.json (`target_error`, with `review_band`), so the
evaluator marks sessions inside the band `needs_review`, with the automation report beside it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from judgeloop.artifact import ModelArtifact
from judgeloop.training.examples import Example


def certify_target_error(
    model_dir: str | Path, target: float, delta: float, heldout: list[Example]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Certify the rule on `heldout` (the model's held-out examples), write it into the folder's
    judgeloop.json (and the model card, with the automation report) atomically, and return the rule
    and the report. Without held-out rows (a small label set measured by cross-validation) the rule
    decides nothing automatically, and says why."""
    from judgeloop.evaluators.learned import LearnedEvaluator
    from judgeloop.io import atomic_write_text
    from judgeloop.loop.risk import AutomationRule, calibrate
    from judgeloop.loop.risk_cascade import automation_report
    from judgeloop.training.report import model_card

    model_dir = Path(model_dir)
    ev = LearnedEvaluator.load(model_dir)
    if heldout:
        probs = ev.predict_proba([ex.pair for ex in heldout])
        labels = [ex.label for ex in heldout]
        rule = calibrate(probs, labels, target=target, delta=delta, threshold=ev.threshold)
    else:
        rule = AutomationRule(None, target, delta, 0.0, None, None, 0, 0, 0, threshold=ev.threshold)
    data = rule.as_dict()
    data["review_band"] = list(rule.review_band() or (0.0, 1.0))
    data["describe"] = rule.describe()
    artifact = ModelArtifact.load(model_dir)
    if not heldout:
        data["describe"] += " (too few labels to hold some out for certification)"
        artifact.updated(target_error=data).save(model_dir)
        return data, []
    report = automation_report([probs], [ev.threshold], labels, delta=delta)
    artifact = artifact.updated(target_error=data, automation_report=report)
    artifact.save(model_dir)
    if artifact.metrics is not None:
        atomic_write_text(model_dir / "README.md", model_card(artifact.to_dict()))  # with the report
    return data, report
