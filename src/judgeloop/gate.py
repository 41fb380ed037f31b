"""The promotion gate's arithmetic: a paired comparison of two evaluators on the same human labels,
and whether the candidate may replace the champion. No store here: the registry (promotion), the
ONNX export (int8 against fp32) and the pairwise comparators all call it."""

from __future__ import annotations

from typing import Any

MIN_GATE_ROWS = 20
P_WORSE = 0.10  # a drop this significant (McNemar) refuses promotion
MAX_DROP = 0.02  # and so does any accuracy drop larger than this, significant or not


def compare_predictions(truth: Any, pred_new: Any, pred_old: Any) -> dict[str, Any]:
    """Paired comparison of two evaluators' verdicts on the same human labels, for `gate_decision`."""
    import numpy as np

    from judgeloop.stats import paired_difference

    t, new, old = (
        np.asarray(truth).astype(int),
        np.asarray(pred_new).astype(int),
        np.asarray(pred_old).astype(int),
    )
    result = paired_difference(t, new, old)
    result["candidate_accuracy"] = float((new == t).mean())
    result["champion_accuracy"] = float((old == t).mean())
    return result


def gate_decision(
    comparison: dict[str, Any], require: str = "not_worse", names: tuple[str, str] = ("candidate", "champion")
) -> tuple[bool, str]:
    """Whether the candidate may replace the champion, and why (in words; `names` for the two sides)."""
    new, old = names
    diff, p = comparison["diff"], comparison["mcnemar_p"]
    summary = (
        f"{new} accuracy {comparison['candidate_accuracy']:.3f} vs {old} "
        f"{comparison['champion_accuracy']:.3f} on {comparison['n']} held-out human labels "
        f"(difference {diff:+.3f}, 95% CI [{comparison['low']:+.3f}, {comparison['high']:+.3f}], "
        f"McNemar p={p:.3f})"
    )
    if require == "better":
        ok = diff > 0
        return ok, summary + ("" if ok else f": not better than the {old}")
    if diff < -MAX_DROP or (diff < 0 and p < P_WORSE):
        return False, summary + f": worse than the {old}"
    return True, summary
