"""Small label sets, measured honestly: repeated cross-validation and the majority-class baseline.

A held-out slice of 20% of 30 labels is 6 rows: its accuracy is noise, a temperature fitted on a few
rows can flatten every probability to 0.5, and an uninformative model that answers the training
majority looks fine until it meets traffic whose majority is the other label. Below
`SMALL_DATA_BELOW` labels, `train_evaluator` therefore fits the final model on every label and measures
the whole procedure (fit, temperature, threshold) by repeated stratified k-fold cross-validation:
each row is predicted by a model that did not see it, `repeats` times over different fold draws.

Every evaluation (cross-validated or held out) is compared with the majority-class baseline on the
same rows: the label most common in the training side of each fold, answered for every row. The
model card and the CLI say plainly when the model is not better than that baseline.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from judgeloop.stats import paired_difference

SMALL_DATA_BELOW = 200  # labels; below it: fit on all, measure by repeated cross-validation
FOLDS = 5
REPEATS = 2

# fit(train_indices) -> score(test_indices) -> (logits of good, 0/1 predictions)
FoldFit = Callable[[list[int], list[int]], tuple[np.ndarray, np.ndarray]]


@dataclass
class CrossValidation:
    """Out-of-fold results: one row of logits and predictions per repeat, and the baseline's."""

    logits: np.ndarray  # (repeats, n): out-of-fold logits of good
    predictions: np.ndarray  # (repeats, n)
    baseline: np.ndarray  # (repeats, n): the training folds' majority label
    folds: int

    @property
    def repeats(self) -> int:
        return int(self.predictions.shape[0])


def fold_indices(
    labels: np.ndarray, folds: int, seed: int, groups: Sequence[str] | None = None
) -> list[tuple[list[int], list[int]]]:
    """Stratified folds (fewer when a class has fewer rows than `folds`, at least 2); with `groups`, a
    group (a prompt) never straddles a fold, as in the held-out split."""
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    k = max(2, min(folds, int(np.bincount(labels, minlength=2).min())))
    if groups is not None:
        k = max(2, min(k, len(set(groups))))
        grouped = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
        parts = grouped.split(np.zeros(len(labels)), labels, list(groups))
        return [(sorted(a.tolist()), sorted(b.tolist())) for a, b in parts]
    splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    return [
        (sorted(a.tolist()), sorted(b.tolist())) for a, b in splitter.split(np.zeros(len(labels)), labels)
    ]


def cross_validate(
    labels: np.ndarray,
    fit: FoldFit,
    seed: int = 0,
    folds: int = FOLDS,
    repeats: int = REPEATS,
    groups: Sequence[str] | None = None,
) -> CrossValidation:
    """Run `fit` on every fold of `repeats` stratified k-fold draws; collect out-of-fold results."""
    n = len(labels)
    logits, preds, base = (np.zeros((repeats, n)) for _ in range(3))
    used = folds
    for r in range(repeats):
        splits = fold_indices(labels, folds, seed + 1000 * r, groups)
        used = len(splits)
        for train, test in splits:
            z, yhat = fit(train, test)
            logits[r, test], preds[r, test] = z, yhat
            base[r, test] = int(labels[train].mean() >= 0.5)
    return CrossValidation(logits, preds.astype(int), base.astype(int), used)


def baseline_comparison(labels: Any, predictions: Any, baseline: Any) -> dict[str, Any]:
    """The model against the majority-class baseline on the same rows (paired bootstrap, McNemar)."""
    t, new, old = (np.asarray(x).astype(int).ravel() for x in (labels, predictions, baseline))
    diff = paired_difference(t, new, old)
    majority = "good" if old.mean() >= 0.5 else "bad"
    return {
        "majority_label": majority,
        "baseline_accuracy": float((old == t).mean()),
        "model_accuracy": float((new == t).mean()),
        "diff": diff["diff"],
        "low": diff["low"],
        "high": diff["high"],
        "mcnemar_p": diff["mcnemar_p"],
        "n": diff["n"],
        "better": bool(diff["low"] > 0),
    }


def describe_baseline(cmp: dict[str, Any]) -> str:
    """One plain sentence for the card and the CLI."""
    ours, base = cmp["model_accuracy"], cmp["baseline_accuracy"]
    label = cmp["majority_label"]
    gap = f"{100 * cmp['diff']:+.1f} points, 95% CI [{100 * cmp['low']:+.1f}, {100 * cmp['high']:+.1f}]"
    if cmp["better"]:
        return f"better than always answering '{label}' ({ours:.3f} vs {base:.3f}: {gap})"
    if cmp["diff"] > 0:
        return (
            f"NOT yet shown better than always answering '{label}' ({ours:.3f} vs {base:.3f}: {gap}, "
            "the interval includes no gain): label more sessions before trusting its verdicts"
        )
    return (
        f"NOT better than always answering '{label}' ({ours:.3f} vs {base:.3f}: {gap}): "
        "it has not learned the task yet; label more sessions"
    )


def repeat_summary(labels: np.ndarray, cv: CrossValidation) -> dict[str, Any]:
    """Accuracy of each repeat and of the baseline on it, for the record."""
    acc = [float((cv.predictions[r] == labels).mean()) for r in range(cv.repeats)]
    base = [float((cv.baseline[r] == labels).mean()) for r in range(cv.repeats)]
    return {
        "folds": cv.folds,
        "repeats": cv.repeats,
        "accuracy_per_repeat": acc,
        "accuracy_mean": float(np.mean(acc)),
        "baseline_accuracy_mean": float(np.mean(base)),
        "predicted_good_share": float(cv.predictions.mean()),
    }


__all__ = [
    "FOLDS",
    "REPEATS",
    "SMALL_DATA_BELOW",
    "CrossValidation",
    "baseline_comparison",
    "cross_validate",
    "describe_baseline",
    "fold_indices",
    "repeat_summary",
]
