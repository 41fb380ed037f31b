"""Outliers worth a human look: sessions where evaluators disagree with each other or with the humans,
and the verdicts an evaluator was least sure of.

Strengths are in [0, 1] so that they can be compared and used as queue priorities:
- evaluators vs evaluators: the vote split 2 min(k, m - k) / m of m evaluators' labels (1 = an even
  split), ties broken by the spread of their probabilities;
- evaluator vs humans: how confidently the evaluator was wrong, |2p - 1| (1 when it gave no
  probability);
- low confidence: 1 - |p - t| / max(t, 1 - t) for threshold t (1 = exactly on the threshold).

Evaluator-vs-human disagreements leave out the sessions each evaluator version trained on, unless
`include_train` (judgeloop.agreement.heldout); the result says which rows it used.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from judgeloop.agreement.heldout import held_out, load_training_sets, rows_note
from judgeloop.monitor.queries import R, VerdictFacts, latest_of, latest_verdicts
from judgeloop.store import Workspace
from judgeloop.types import EvaluatorRef

Kind = Literal["evaluators", "human", "low-confidence"]


@dataclass
class Outlier:
    session_id: str
    kind: Kind
    strength: float
    detail: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"session_id": self.session_id, "kind": self.kind, "strength": self.strength, **self.detail}


def _by_session(latest: Mapping[str, Mapping[str, R]]) -> dict[str, dict[str, R]]:
    out: dict[str, dict[str, R]] = {}
    for name, per in latest.items():
        for uid, r in per.items():
            if r.label is not None:
                out.setdefault(uid, {})[name] = r
    return out


def evaluator_disagreements(
    latest: Mapping[str, Mapping[str, VerdictFacts]], focus: str | None = None
) -> dict[str, Outlier]:
    """Sessions whose evaluators' latest labels differ (involving `focus` when given)."""
    out = {}
    for uid, per in _by_session(latest).items():
        if len(per) < 2 or (focus is not None and focus not in per):
            continue
        labels = [int(r.label or 0) for r in per.values()]
        k, m = sum(labels), len(labels)
        if k in (0, m):
            continue
        if focus is not None and all(r.label == per[focus].label for r in per.values()):
            continue
        probs = [r.probability for r in per.values() if r.probability is not None]
        spread = (max(probs) - min(probs)) if len(probs) >= 2 else 0.0
        out[uid] = Outlier(
            uid,
            "evaluators",
            round(2 * min(k, m - k) / m * (0.9 + 0.1 * spread), 6),
            {
                "labels": {n: r.label for n, r in per.items()},
                "probabilities": {n: r.probability for n, r in per.items()},
            },
        )
    return out


def human_disagreements(
    latest: Mapping[str, Mapping[str, VerdictFacts]], human: dict[str, bool], focus: str | None = None
) -> dict[str, Outlier]:
    """Sessions where an evaluator's latest label differs from the humans' consensus."""
    out: dict[str, Outlier] = {}
    for uid, per in _by_session(latest).items():
        if uid not in human:
            continue
        truth = int(human[uid])
        wrong = {n: r for n, r in per.items() if (focus is None or n == focus) and r.label != truth}
        if not wrong:
            continue
        strength = max(1.0 if r.probability is None else abs(2 * r.probability - 1) for r in wrong.values())
        out[uid] = Outlier(
            uid,
            "human",
            round(strength, 6),
            {"human": truth, "labels": {n: r.label for n, r in wrong.items()}},
        )
    return out


def confidence_margin(r: VerdictFacts) -> float | None:
    """1 - |p - t| / max(t, 1 - t): 1 on the threshold, 0 at full confidence; None without p."""
    if r.probability is None:
        return None
    t = 0.5 if r.threshold is None else float(r.threshold)
    return 1 - abs(r.probability - t) / max(t, 1 - t)


def low_confidence(per_session: Mapping[str, VerdictFacts], limit: int | None = None) -> list[Outlier]:
    """The verdicts closest to their threshold, closest first."""
    rows = []
    for uid, r in per_session.items():
        c = confidence_margin(r)
        if c is not None:
            rows.append(
                Outlier(
                    uid,
                    "low-confidence",
                    round(c, 6),
                    {"probability": r.probability, "threshold": r.threshold},
                )
            )
    rows.sort(key=lambda o: (-o.strength, o.session_id))
    return rows[:limit] if limit else rows


def find_outliers(
    ws: Workspace, project: str, evaluator: str | None = None, limit: int = 20, *, include_train: bool = False
) -> dict[str, Any]:
    """Both kinds of disagreement and the lowest-confidence verdicts of `evaluator` (or of each one).
    Disagreements with the humans are sought on the sessions each evaluator did not train on, unless
    `include_train`. Only the labelled sessions' verdicts are read for those (`monitor.derived`); the
    disagreements between evaluators and the low-confidence verdicts come from SQL with a LIMIT
    (`monitor.outliers_sql`)."""
    from judgeloop.monitor import derived
    from judgeloop.monitor.outliers_sql import (
        evaluator_disagreements_sql,
        low_confidence_sql,
        most_recent_evaluator,
        scored_names,
    )
    from judgeloop.monitor.queries import champion_of_project
    from judgeloop.monitor.sql import evaluator_names

    focus = EvaluatorRef.parse(evaluator).name if evaluator else None
    human, records = derived.labelled(ws, project)
    latest = latest_of(records)
    if limit > 0:
        champion = champion_of_project(ws, project)
        common = champion[0] if champion else most_recent_evaluator(ws, project)
        with ws.reader() as db:
            known = evaluator_names(db, ws.project_id(db, project))
        others = [n for n in known if n != common]
        between_rows = evaluator_disagreements_sql(ws, project, others, focus, limit)
        names = [focus] if focus else scored_names(ws, project, known)
        unsure = {n: low_confidence_sql(ws, project, n, limit) for n in names}
    else:  # everything: the Python path over every latest verdict
        latest_all = latest_verdicts(ws, project)
        between_rows = sorted(evaluator_disagreements(latest_all, focus).values(), key=lambda o: -o.strength)
        names = [focus] if focus else sorted(latest_all)
        unsure = {n: low_confidence(latest_all.get(n, {}), limit) for n in names}
    sets = load_training_sets(ws)
    vs_human: dict[str, Mapping[str, VerdictFacts]] = {}
    trained: set[tuple[str, str]] = set()
    for name, per in latest.items():
        vs_human[name], ids = held_out(per, sets, include_train)
        trained |= {(name, sid) for sid in ids if sid in human and (focus is None or name == focus)}
    with_humans = sorted(human_disagreements(vs_human, human, focus).values(), key=lambda o: -o.strength)
    compared = {
        (n, sid)
        for n, per in vs_human.items()
        for sid in per
        if sid in human and (focus is None or n == focus)
    }
    cut = limit if limit > 0 else None
    return {
        "evaluators": [o.as_dict() for o in between_rows[:cut]],
        "human": [o.as_dict() for o in with_humans[:cut]],
        "human_rows": rows_note(len(compared), len(trained), include_train),
        "low_confidence": {n: [o.as_dict() for o in rows] for n, rows in unsure.items()},
    }
