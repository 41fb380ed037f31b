"""How well any evaluator agrees with the humans: one report for learned models, judges, metrics, checks.

The evaluator's verdicts come from the store; the human side is each session's consensus binary label,
the mean of its Likert scores per criterion, or its pairwise choice. Error verdicts are counted and
reported, never dropped: `accuracy` covers the sessions the evaluator scored, and
`accuracy_errors_as_wrong` counts every error as a wrong answer.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from judgeloop import stats
from judgeloop.store import Workspace
from judgeloop.types import Label, Verdict


def _latest_per_session(verdicts: list[Verdict]) -> dict[str, Verdict]:
    latest: dict[str, Verdict] = {}
    for v in verdicts:
        if v.session_id:
            latest[v.session_id] = v  # verdicts come ordered by id: the last one wins
    return latest


def _likert_means(labels: list[Label]) -> dict[str, dict[str, float]]:
    sums: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for lab in labels:
        if lab.kind == "likert" and lab.scores:
            for criterion, value in lab.scores.items():
                sums[lab.session_id][criterion].append(float(value))
    return {sid: {c: float(np.mean(v)) for c, v in crit.items()} for sid, crit in sums.items()}


def evaluator_agreement(
    ws: Workspace, project: str, evaluator: str, n_resamples: int = 1000
) -> dict[str, Any]:
    """Agreement of `evaluator` (name or name@version) with the project's human labels."""
    verdicts = _latest_per_session(ws.verdicts(project, evaluator))
    labelled = {s.id: good for s, good, _ in ws.labelled_sessions(project)}
    report: dict[str, Any] = {
        "evaluator": evaluator,
        "project": project,
        "verdicts": len(verdicts),
        "human_labelled": len(labelled),
    }
    shared = [sid for sid in verdicts if sid in labelled]
    errors = [sid for sid in shared if verdicts[sid].status != "ok"]
    ok = [sid for sid in shared if verdicts[sid].status == "ok"]
    report.update(compared=len(shared), errors=len(errors))
    binary = [sid for sid in ok if verdicts[sid].label is not None]
    if binary:
        human = [int(labelled[sid]) for sid in binary]
        pred = [int(verdicts[sid].label or 0) for sid in binary]
        probs = [verdicts[sid].probability for sid in binary]
        prob = [float(p) for p in probs if p is not None] if all(p is not None for p in probs) else None
        report["binary"] = stats.binary_agreement(human, pred, prob, n_resamples=n_resamples)
        right = sum(h == p for h, p in zip(human, pred, strict=True))
        report["binary"]["accuracy_errors_as_wrong"] = right / len(shared) if shared else float("nan")
    scored = [sid for sid in ok if verdicts[sid].score is not None]
    if len(scored) >= 3:
        report["score_vs_good"] = stats.scale_agreement(
            [int(labelled[s]) for s in scored],
            [float(verdicts[s].score or 0) for s in scored],
            n_resamples=n_resamples,
        )
    report.update(_criteria_agreement(ws, project, verdicts, n_resamples))
    report.update(_pairwise_agreement(ws, project, verdicts))
    return report


def _criteria_agreement(ws: Workspace, project: str, verdicts: dict[str, Verdict], n: int) -> dict[str, Any]:
    means = _likert_means(ws.labels(project, kind="likert"))
    per: dict[str, Any] = {}
    criteria = {c for m in means.values() for c in m}
    for c in sorted(criteria):
        pairs = [
            (means[s][c], float(v.scores[c]))
            for s, v in verdicts.items()
            if s in means and c in means[s] and v.status == "ok" and _is_number(v.scores.get(c))
        ]
        if len(pairs) >= 3:
            h, p = zip(*pairs, strict=True)
            per[c] = stats.scale_agreement(list(h), list(p), n_resamples=n)
            per[c]["weighted_kappa"] = stats.cohen_kappa(np.rint(h), np.rint(p), weights="quadratic")
    return {"criteria": per} if per else {}


def _pairwise_agreement(ws: Workspace, project: str, verdicts: dict[str, Verdict]) -> dict[str, Any]:
    choice: dict[str, list[str]] = defaultdict(list)
    for lab in ws.labels(project, kind="pairwise"):
        if lab.choice:
            choice[lab.session_id].append(lab.choice)
    rows = []
    for sid, picks in choice.items():
        v = verdicts.get(sid)
        if v is None or v.status != "ok":
            continue
        human = max(set(picks), key=picks.count)
        judged = "tie" if v.label is None else ("A" if v.label == 1 else "B")
        rows.append((human, judged))
    if not rows:
        return {}
    h, p = zip(*rows, strict=True)
    return {
        "pairwise": {
            "n": len(rows),
            "accuracy": stats.bootstrap(stats.accuracy, list(h), list(p)).as_dict(),
            "kappa": stats.cohen_kappa(list(h), list(p)),
        }
    }


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
