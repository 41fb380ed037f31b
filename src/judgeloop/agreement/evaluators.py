"""How well any evaluator agrees with the humans: one report for learned models, judges, metrics, checks.

The evaluator's verdicts come from the store; the human side is each session's human label
(judgeloop.store.labels: binary, the mean of its reviewers' Likert scores per criterion, or its
pairwise choice). Error verdicts are counted and
reported, never dropped: `accuracy` covers the sessions the evaluator scored, and
`accuracy_errors_as_wrong` counts every error as a wrong answer.

Pointwise verdicts (a rubric judge's pass/fail label and scores) are compared with the binary labels
(`binary`, `score_vs_good`) and the Likert means (`criteria`: Spearman, Kendall, Pearson, weighted
kappa). Pairwise verdicts (`judgeloop.judging.PairwiseJudge`, both orders) are compared with the
pairwise labels (`pairwise`: accuracy, kappa) and carry the judge's position and length biases, with
the humans' own preference for the longer answer beside it (see `judgeloop.judging.pairwise`).
Every rate has a bootstrap 95% CI.

Rows the evaluator version trained on are left out unless `include_train=True`
(judgeloop.agreement.heldout); the report says which rows it used (`rows`, `n`, and the training rows left out
or counted).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from judgeloop import stats
from judgeloop.agreement.heldout import held_out, load_training_sets, rows_note
from judgeloop.judging.pairwise import (
    a_win_rate_consistent,
    first_position_wins,
    is_pairwise,
    length_bias,
    longer_wins,
    winner_of,
)
from judgeloop.store import Workspace
from judgeloop.store.labels import by_session, human_choice, human_scores
from judgeloop.types import Verdict


def _latest_per_session(verdicts: list[Verdict]) -> dict[str, Verdict]:
    latest: dict[str, Verdict] = {}
    for v in verdicts:
        if v.session_id:
            latest[v.session_id] = v  # verdicts come ordered by id: the last one wins
    return latest


def evaluator_agreement(
    ws: Workspace, project: str, evaluator: str, n_resamples: int = 1000, *, include_train: bool = False
) -> dict[str, Any]:
    """Agreement of `evaluator` (name or name@version) with the project's human labels, on the sessions
    it did not train on (all of them with `include_train`)."""
    every = _latest_per_session(ws.verdicts(project, evaluator))
    latest, trained = held_out(every, load_training_sets(ws), include_train)
    verdicts = {sid: v for sid, v in latest.items() if not is_pairwise(v)}
    pairs = {sid: v for sid, v in latest.items() if is_pairwise(v)}
    labelled = {s.id: good for s, good, _ in ws.labelled_sessions(project)}
    report: dict[str, Any] = {
        "evaluator": evaluator,
        "project": project,
        "verdicts": len(latest),
        "human_labelled": len(labelled),
    }
    shared = [sid for sid in verdicts if sid in labelled]
    errors = [sid for sid in shared if verdicts[sid].status != "ok"]
    ok = [sid for sid in shared if verdicts[sid].status == "ok"]
    report.update(compared=len(shared), errors=len(errors))
    report.update(rows_note(len(shared), len(trained & labelled.keys()), include_train))
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
    report.update(_pairwise_agreement(ws, project, pairs, n_resamples))
    return report


def _criteria_agreement(ws: Workspace, project: str, verdicts: dict[str, Verdict], n: int) -> dict[str, Any]:
    grouped = by_session(ws.labels(project, kind="likert"))
    means = {sid: m for sid, labs in grouped.items() if (m := human_scores(labs))}
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


def _rate(hits: list[bool], n: int) -> dict[str, Any]:
    """Share of True with a bootstrap CI (NaN when there are no hits to count)."""
    return stats.bootstrap(np.mean, np.asarray(hits, dtype=float), n_resamples=n).as_dict()


def _pairwise_agreement(ws: Workspace, project: str, verdicts: dict[str, Verdict], n: int) -> dict[str, Any]:
    """A pairwise judge (both orders) against the humans' A / B / tie choices, and the judge's biases."""
    grouped = by_session(ws.labels(project, kind="pairwise"))
    picks = {sid: c for sid, labs in grouped.items() if (c := human_choice(labs)) is not None}
    shared = [sid for sid in verdicts if sid in picks]
    if not shared:
        return {}
    ok = [sid for sid in shared if verdicts[sid].status == "ok"]
    human = np.asarray([picks[sid] for sid in ok], dtype=object)
    judged = np.asarray([winner_of(verdicts[sid]) or "tie" for sid in ok], dtype=object)
    decisive = human != "tie"
    oks = [verdicts[sid] for sid in ok]
    by_id = {s.id: s for s in ws.sessions(project, ids=ok)}
    sessions = [by_id.get(sid) for sid in ok]
    right = int(np.sum(human == judged))
    report: dict[str, Any] = {
        "n": len(ok),
        "errors": len(shared) - len(ok),
        "human_ties": int(np.sum(~decisive)),
        "judge_ties": int(np.sum(judged == "tie")),
        "accuracy": stats.bootstrap(stats.accuracy, human, judged, n_resamples=n).as_dict(),
        "accuracy_errors_as_wrong": right / len(shared),
        "accuracy_human_decisive": stats.bootstrap(
            stats.accuracy, human[decisive], judged[decisive], n_resamples=n
        ).as_dict(),
        "kappa": stats.bootstrap(stats.cohen_kappa, human, judged, n_resamples=n).as_dict(),
        "position_consistency": _rate([bool(v.scores["consistent"]) for v in oks], n),
        "first_position_rate": _rate(first_position_wins(oks), n),
        "position_bias": _rate(first_position_wins(oks, consistent=False), n),
        "a_win_rate_consistent": a_win_rate_consistent(oks),
        "longer_preferred": _rate(longer_wins(list(judged), sessions), n),
        "human_longer_preferred": _rate(longer_wins(list(human), sessions), n),
        "length_bias": length_bias(oks, [s for s in sessions if s is not None]),
    }
    return {"pairwise": report}


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
