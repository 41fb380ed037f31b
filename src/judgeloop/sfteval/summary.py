"""Per-method figures of a run: the mean score and pass rate with bootstrap 95% CIs, the rows, and the
agreement with human labels (accuracy, F1 and Cohen's kappa for a pass/fail decision, Spearman, Kendall
and Pearson for a score), on the rows that have both a human label and an ok verdict."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from judgeloop import stats
from judgeloop.sfteval.methods import Method
from judgeloop.types import Verdict

RATIONALE_CHARS = 500


def clean(value: Any) -> Any:
    """JSON-safe: NaN and infinities become None, numpy scalars become Python numbers."""
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _row(row_id: str, v: Verdict) -> dict[str, Any]:
    rationale = v.rationale if v.rationale is None else v.rationale[:RATIONALE_CHARS]
    return {
        "id": row_id,
        "session_id": v.session_id,
        "score": v.score,
        "label": v.label,
        "status": v.status,
        "error": v.error,
        "rationale": rationale,
        **({"scores": v.scores} if v.scores else {}),
    }


def _row_corr(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation of each row of `a` with the same row of `b` (NaN where a row is constant)."""
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    denom = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, (a * b).sum(axis=1) / np.where(denom > 0, denom, 1), np.nan)


def _percentile(value: float, resampled: np.ndarray, n: int, confidence: float = 0.95) -> dict[str, Any]:
    kept = resampled[~np.isnan(resampled)]
    if n < 2 or len(kept) == 0:
        return stats.Estimate(value, float("nan"), float("nan"), n).as_dict()
    alpha = (1 - confidence) / 2
    return stats.Estimate(
        value, float(np.quantile(kept, alpha)), float(np.quantile(kept, 1 - alpha)), n
    ).as_dict()


def scale_agreement(
    human: Sequence[float], predicted: Sequence[float], n_resamples: int = 1000, seed: int = 0
) -> dict[str, Any]:
    """Spearman and Pearson with paired percentile-bootstrap CIs (vectorised: a run has many methods),
    and Kendall's tau as a point value."""
    from scipy.stats import rankdata

    h, p = np.asarray(human, float), np.asarray(predicted, float)
    n = len(h)
    idx = np.random.default_rng(seed).integers(0, n, (n_resamples, n))
    hs, ps = h[idx], p[idx]
    return {
        "n": n,
        "spearman": _percentile(
            stats.spearman(h, p), _row_corr(rankdata(hs, axis=1), rankdata(ps, axis=1)), n
        ),
        "pearson": _percentile(stats.pearson(h, p), _row_corr(hs, ps), n),
        "kendall": {"value": stats.kendall(h, p), "n": n},
    }


def agreement(method: Method, human: Sequence[int | None], n_resamples: int = 1000) -> dict[str, Any] | None:
    """The method against the humans on the rows both judged; None when no row has a human label."""
    labelled = [i for i, h in enumerate(human) if h is not None]
    if not labelled:
        return None
    ok = [i for i in labelled if method.verdicts[i].status == "ok"]
    out: dict[str, Any] = {"n_labelled": len(labelled), "n": len(ok), "n_unscored": len(labelled) - len(ok)}
    h = [int(human[i] or 0) for i in ok]
    with_label = [i for i in ok if method.verdicts[i].label is not None]
    if method.binary and with_label:
        probs = [method.verdicts[i].probability for i in with_label]
        prob = [float(p) for p in probs if p is not None] if all(p is not None for p in probs) else None
        out["binary"] = stats.binary_agreement(
            [int(human[i] or 0) for i in with_label],
            [int(method.verdicts[i].label or 0) for i in with_label],
            prob,
            n_resamples=n_resamples,
        )
        out["headline"] = {"metric": "kappa", **out["binary"]["kappa"]}
    raw = [method.verdicts[i].score for i in ok]
    scores = [float(s) for s in raw if s is not None]
    if method.scored and len(scores) >= 3 and len(scores) == len(ok):
        out["scale"] = scale_agreement(h, scores, n_resamples=n_resamples)
        if "headline" not in out:
            out["headline"] = {"metric": "spearman", **out["scale"]["spearman"]}
    return out


def summarize_method(
    method: Method, row_ids: Sequence[str], human: Sequence[int | None], n_resamples: int = 1000
) -> dict[str, Any]:
    ok = [v for v in method.verdicts if v.status == "ok"]
    scores = [float(v.score) for v in ok if v.score is not None]
    labels = [int(v.label) for v in ok if v.label is not None]
    return clean(
        {
            "name": method.name,
            "kind": method.kind,
            "description": method.description,
            "caution": method.caution,
            "bounds": list(method.bounds),
            "binary": method.binary,
            "n": len(method.verdicts),
            "n_ok": len(ok),
            "n_errors": sum(v.status == "error" for v in method.verdicts),
            "n_abstain": sum(v.status == "abstain" for v in method.verdicts),
            "score": stats.bootstrap(np.mean, scores, n_resamples=n_resamples).as_dict() if scores else None,
            "pass_rate": (
                stats.bootstrap(np.mean, labels, n_resamples=n_resamples).as_dict()
                if method.binary and labels
                else None
            ),
            "agreement": agreement(method, human, n_resamples),
            "extra": method.extra,
            "rows": [_row(rid, v) for rid, v in zip(row_ids, method.verdicts, strict=True)],
        }
    )


def human_summary(
    human: Sequence[int | None], sources: dict[str, int], n_resamples: int = 1000
) -> dict[str, Any]:
    labels = [h for h in human if h is not None]
    return clean(
        {
            "n_labelled": len(labels),
            "sources": sources,
            "pass_rate": stats.bootstrap(np.mean, labels, n_resamples=n_resamples).as_dict()
            if labels
            else None,
        }
    )
