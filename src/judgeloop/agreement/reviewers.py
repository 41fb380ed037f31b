"""How much reviewers agree with each other, and evaluators with reviewers.

Inter-annotator agreement uses each reviewer's latest live label per item (undo rows, withdrawn labels
and adjudications left out): Cohen's kappa and raw agreement per reviewer pair, Krippendorff's alpha
over everyone (nominal for good/bad and A/B/tie, ordinal per Likert criterion), and percent agreement
(the share of agreeing reviewer pairs within items). Evaluators are compared with the human consensus
(judgeloop.store.labels.human_label): accuracy and kappa with bootstrap 95% CIs; error verdicts
are counted, never dropped.
"""

from __future__ import annotations

import itertools
import statistics
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from judgeloop import stats
from judgeloop.agreement.heldout import (
    HELD_OUT,
    INCLUDING_TRAIN,
    TrainingSets,
    held_out,
    load_training_sets,
    rows_note,
)
from judgeloop.store import Workspace
from judgeloop.store.labels import (
    human_labels,
    is_adjudication,
    label_value,
    latest_by_reviewer,
    live_labels,
)
from judgeloop.types import Label, Verdict, input_text

Units = dict[str, dict[str, Any]]  # item -> reviewer -> value


def _clean(value: float) -> float | None:
    return None if value != value else round(float(value), 4)  # NaN -> None (JSON has no NaN)


def _estimate(est: stats.Estimate) -> dict[str, Any]:
    return {"value": _clean(est.value), "low": _clean(est.low), "high": _clean(est.high), "n": est.n}


def rater_agreement(units: Units, level: str = "nominal", weights: str | None = None) -> dict[str, Any]:
    """Agreement among reviewers over items rated by two or more of them."""
    multi = {item: votes for item, votes in units.items() if len(votes) >= 2}
    agree = total = 0
    for votes in multi.values():
        for a, b in itertools.combinations(list(votes.values()), 2):
            agree, total = agree + int(a == b), total + 1
    reviewers = sorted({r for votes in multi.values() for r in votes})
    pairs = []
    for a, b in itertools.combinations(reviewers, 2):
        shared = [(v[a], v[b]) for v in multi.values() if a in v and b in v]
        if not shared:
            continue
        xs, ys = [x for x, _ in shared], [y for _, y in shared]
        pairs.append(
            {
                "a": a,
                "b": b,
                "n": len(shared),
                "kappa": _clean(stats.cohen_kappa(xs, ys, weights=weights)),
                "agreement": _clean(stats.accuracy(xs, ys)),
            }
        )
    return {
        "items": len(multi),
        "reviewers": reviewers,
        "percent_agreement": _clean(agree / total) if total else None,
        "alpha": _clean(stats.krippendorff_alpha([list(v.values()) for v in multi.values()], level)),
        "pairs": pairs,
    }


def _units(by_session: dict[str, list[Label]], kind: str) -> Units:
    out: Units = {}
    for sid, labels in by_session.items():
        votes = {
            r: label_value(lab)
            for r, lab in latest_by_reviewer([x for x in labels if x.kind == kind]).items()
        }
        if votes:
            out[sid] = votes
    return out


def _likert(by_session: dict[str, list[Label]]) -> dict[str, Any]:
    per_criterion: dict[str, Units] = defaultdict(dict)
    for sid, votes in _units(by_session, "likert").items():
        for reviewer, scores in votes.items():
            for criterion, score in (scores or {}).items():
                per_criterion[criterion].setdefault(sid, {})[reviewer] = float(score)
    return {c: rater_agreement(u, "ordinal", "quadratic") for c, u in sorted(per_criterion.items())}


def reviewer_stats(labels: Sequence[Label]) -> list[dict[str, Any]]:
    """Per reviewer: live labels (adjudications apart), by kind, and the median seconds per label."""
    rows: dict[str, dict[str, Any]] = defaultdict(lambda: {"labels": 0, "adjudications": 0, "durations": []})
    for lab in live_labels(labels):
        row = rows[lab.reviewer]
        row["adjudications" if is_adjudication(lab) else "labels"] += 1
        if lab.duration_ms is not None and not is_adjudication(lab):
            row["durations"].append(lab.duration_ms / 1000)
    out = []
    for name, row in sorted(rows.items(), key=lambda kv: (-kv[1]["labels"], kv[0])):
        durations = row.pop("durations")
        out.append(
            {
                "reviewer": name,
                **row,
                "median_seconds": _clean(statistics.median(durations)) if durations else None,
            }
        )
    return out


def _latest_verdicts(verdicts: Sequence[Any]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = defaultdict(dict)
    for v in verdicts:  # ordered by id: the last one per session wins
        if v.session_id:
            out[f"{v.evaluator}@{v.version}" if v.version else v.evaluator][v.session_id] = v
    return out


def evaluator_vs_human(
    verdicts: Sequence[Verdict] | Sequence[Any],
    humans: dict[str, bool],
    n_resamples: int = 500,
    *,
    training: TrainingSets | None = None,
    include_train: bool = False,
) -> list[dict[str, Any]]:
    """Each evaluator version's verdicts against the human consensus of the sessions both judged and the
    version did not train on (`training`; all of them with `include_train`). `verdicts` are Verdicts or
    `monitor.queries.VerdictRecord`s (anything with session_id, evaluator, version, status and label),
    by id."""
    out = []
    for name, every in sorted(_latest_verdicts(verdicts).items()):
        latest, trained = held_out(every, training or TrainingSets(), include_train)
        shared = [sid for sid in latest if sid in humans]
        errors = sum(1 for sid in shared if latest[sid].status != "ok")
        usable = [sid for sid in shared if latest[sid].status == "ok" and latest[sid].label is not None]
        human = [int(humans[sid]) for sid in usable]
        pred = [int(latest[sid].label or 0) for sid in usable]
        row: dict[str, Any] = {
            **rows_note(len(usable), len(trained & humans.keys()), include_train),
            "evaluator": name,
            "compared": len(shared),
            "errors": errors,
        }
        if usable:
            accuracy, kappa = stats.bootstrap_agreement(human, pred, n_resamples=n_resamples)
            row["accuracy"], row["kappa"] = _estimate(accuracy), _estimate(kappa)
            row["confusion"] = stats.confusion(human, pred)
        out.append(row)
    return out


def _disagreements(by_session: dict[str, list[Label]], kinds: Sequence[str]) -> list[dict[str, Any]]:
    out = []
    for sid, labels in by_session.items():
        live = live_labels(labels)
        for kind in kinds:
            of_kind = [x for x in live if x.kind == kind]
            votes = {r: label_value(lab) for r, lab in latest_by_reviewer(of_kind).items()}
            if len(set(map(repr, votes.values()))) > 1 and not any(is_adjudication(x) for x in of_kind):
                out.append({"session_id": sid, "kind": kind, "votes": votes})
    return out


def _previews(ws: Workspace, project: str, rows: list[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    shown = rows[:limit]
    sessions = {s.id: s for s in ws.sessions(project, ids=[r["session_id"] for r in shown])}
    for row in shown:
        s = sessions.get(row["session_id"])
        row["input"] = input_text(s.model_input)[:240] if s else ""
        row["output"] = s.model_output[:400] if s else ""
    return shown


def agreement_report(
    ws: Workspace,
    project: str,
    *,
    queue_id: int | None = None,
    n_resamples: int = 500,
    limit: int = 200,
    include_train: bool = False,
) -> dict[str, Any]:
    """The agreement page: reviewers, inter-annotator agreement by kind, evaluators vs humans,
    and the disagreements that wait for adjudication (at most `limit` of them, with previews)."""
    labels = ws.labels(project)
    if queue_id is not None:
        labels = [x for x in labels if x.queue_id == queue_id or x.metadata.get("queue_id") == queue_id]
    by_session: dict[str, list[Label]] = defaultdict(list)
    for lab in labels:
        by_session[lab.session_id].append(lab)
    humans = human_labels(labels)
    disagreements = _disagreements(by_session, ("binary", "pairwise"))
    return {
        "project": project,
        "queue_id": queue_id,
        "labels": len(live_labels(labels)),
        "sessions": len(by_session),
        "reviewers": reviewer_stats(labels),
        "binary": rater_agreement(_units(by_session, "binary")),
        "pairwise": rater_agreement(_units(by_session, "pairwise")),
        "likert": _likert(by_session),
        "evaluators": evaluator_vs_human(
            ws.verdicts(project),
            humans,
            n_resamples,
            training=load_training_sets(ws),
            include_train=include_train,
        ),
        "evaluator_rows": INCLUDING_TRAIN if include_train else HELD_OUT,
        "disagreement_count": len(disagreements),
        "disagreements": _previews(ws, project, disagreements, limit),
    }


__all__ = ["agreement_report", "evaluator_vs_human", "rater_agreement", "reviewer_stats"]
