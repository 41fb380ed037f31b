"""Per-method figures of a run: the mean score and pass rate with bootstrap 95% CIs, the rows, and the
agreement with human labels (accuracy, F1 and Cohen's kappa for a pass/fail decision, Spearman, Kendall
and Pearson for a score), on the rows that have both a human label and an ok verdict and that the method
did not train on (a learned evaluator's training rows count only with `include_train`)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from judgeloop import stats
from judgeloop.agreement.heldout import rows_note
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


def agreement(
    method: Method,
    human: Sequence[int | None],
    n_resamples: int = 1000,
    *,
    trained: frozenset[int] = frozenset(),
    include_train: bool = False,
) -> dict[str, Any] | None:
    """The method against the humans on the rows both judged, leaving out the rows (indexes in
    `trained`) a learned evaluator trained on unless `include_train`; None when no row has a human label."""
    labelled = [i for i, h in enumerate(human) if h is not None]
    if not labelled:
        return None
    in_train = [i for i in labelled if i in trained]
    if not include_train:
        labelled = [i for i in labelled if i not in trained]
    ok = [i for i in labelled if method.verdicts[i].status == "ok"]
    out: dict[str, Any] = {
        **rows_note(len(ok), len(in_train), include_train),
        "n_labelled": len(labelled),
        "n_unscored": len(labelled) - len(ok),
    }
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
        out["scale"] = stats.scale_agreement(h, scores, n_resamples=n_resamples)
        if "headline" not in out:
            out["headline"] = {"metric": "spearman", **out["scale"]["spearman"]}
    return out


def summarize_method(
    method: Method,
    row_ids: Sequence[str],
    human: Sequence[int | None],
    n_resamples: int = 1000,
    *,
    trained: frozenset[int] = frozenset(),
    include_train: bool = False,
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
            "agreement": agreement(method, human, n_resamples, trained=trained, include_train=include_train),
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
