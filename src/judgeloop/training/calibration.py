"""Temperature scaling and the decision threshold, fitted on a calibration slice (never the test set).

A binary classifier's logit z becomes P(good) = sigmoid(z / T). T > 1 softens an over-confident model,
T < 1 sharpens a timid one; the ranking and the 0.5 decision are unchanged, only the probabilities move.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from judgeloop.stats import accuracy, expected_calibration_error, f1
from judgeloop.types import ThresholdRule as ThresholdRule

T_MIN, T_MAX = 0.05, 20.0


def sigmoid(z: np.ndarray | Sequence[float]) -> np.ndarray:
    x = np.asarray(z, dtype=float)
    return np.asarray(0.5 * (1.0 + np.tanh(0.5 * x)))


def nll(
    logits: np.ndarray | Sequence[float], y: np.ndarray | Sequence[int], temperature: float = 1.0
) -> float:
    """Mean negative log-likelihood of labels y under sigmoid(logits / T)."""
    z = np.asarray(logits, dtype=float) / temperature
    t = np.asarray(y, dtype=float)
    # log(1 + e^-z) for y=1, log(1 + e^z) for y=0, computed stably
    return float(np.mean(np.logaddexp(0.0, -z) * t + np.logaddexp(0.0, z) * (1.0 - t)))


def fit_temperature(logits: np.ndarray | Sequence[float], y: np.ndarray | Sequence[int]) -> float:
    """The T minimising NLL on (logits, y); 1.0 when there is too little to fit (< 2 rows or one class)."""
    from scipy.optimize import minimize_scalar

    z, t = np.asarray(logits, dtype=float), np.asarray(y, dtype=int)
    if len(z) < 2 or len(set(t.tolist())) < 2 or not np.any(z):
        return 1.0
    result = minimize_scalar(
        lambda log_t: nll(z, t, float(np.exp(log_t))),
        bounds=(np.log(T_MIN), np.log(T_MAX)),
        method="bounded",
        options={"xatol": 1e-4},
    )
    best = float(np.exp(result.x))
    return best if nll(z, t, best) <= nll(z, t, 1.0) else 1.0


def choose_threshold(
    probabilities: np.ndarray | Sequence[float], y: np.ndarray | Sequence[int], rule: ThresholdRule = "fixed"
) -> float:
    """0.5 for 'fixed'; else the cut on the calibration slice that maximises the rule's metric."""
    if rule == "fixed":
        return 0.5
    p, t = np.asarray(probabilities, dtype=float), np.asarray(y, dtype=int)
    if len(p) == 0 or len(set(t.tolist())) < 2:
        return 0.5
    candidates = np.unique(np.concatenate([[0.5], np.clip(p, 0.01, 0.99)]))

    def score(cut: float) -> float:
        pred = (p >= cut).astype(int)
        if rule == "f1":
            return f1(t, pred)
        if rule == "balanced_accuracy":
            return 0.5 * (np.mean(pred[t == 1] == 1) + np.mean(pred[t == 0] == 0))
        return accuracy(t, pred)

    scores = np.array([score(c) for c in candidates])
    best = candidates[scores >= scores.max() - 1e-12]
    return float(best[np.argmin(np.abs(best - 0.5))])  # ties: the cut closest to 0.5


def calibration_report(
    logits: np.ndarray | Sequence[float], y: np.ndarray | Sequence[int], temperature: float
) -> dict[str, float]:
    """NLL and ECE before (T = 1) and after temperature scaling, on the given rows."""
    z, t = np.asarray(logits, dtype=float), np.asarray(y, dtype=int)
    return {
        "n": int(len(z)),
        "temperature": float(temperature),
        "nll_before": nll(z, t, 1.0),
        "nll_after": nll(z, t, temperature),
        "ece_before": expected_calibration_error(t, sigmoid(z)),
        "ece_after": expected_calibration_error(t, sigmoid(z / temperature)),
    }
