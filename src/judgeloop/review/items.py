"""What a reviewer sees for an item: the session, the pairwise order, the verdict to check, the rubric,
and the project's failure-tag taxonomy."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from sqlalchemy import select

from judgeloop.errors import InvalidInput, NotFound
from judgeloop.review import assignments
from judgeloop.review.schemas import LABEL_KIND, NextItem, Queue
from judgeloop.store import Workspace
from judgeloop.store.labels import live_labels
from judgeloop.store.tables import RubricRow, SessionRow, VerdictRow
from judgeloop.store.workspace import session_from_row
from judgeloop.types import EvaluatorRef

DEFAULT_CRITERIA = [{"name": "overall", "scale": "1-5", "min": 1, "max": 5, "description": "Overall quality"}]
_SCALE = re.compile(r"^\s*(\d+)\s*-\s*(\d+)\s*$")


def parse_scale(scale: Any) -> tuple[int, int]:
    """`"1-5"` -> (1, 5); `"yes/no"` -> (0, 1)."""
    text = str(scale or "1-5").strip().lower()
    if text in ("yes/no", "no/yes", "binary"):
        return 0, 1
    m = _SCALE.match(text)
    if not m or int(m.group(1)) >= int(m.group(2)):
        raise InvalidInput(
            f"bad rubric scale {scale!r}", field="rubric.scale", expected="like '1-5' or 'yes/no'"
        )
    return int(m.group(1)), int(m.group(2))


def _criteria(config: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for c in config.get("criteria") or []:
        c = {"name": c} if isinstance(c, str) else dict(c)
        low, high = parse_scale(c.get("scale"))
        out.append(
            {**c, "name": str(c["name"]), "min": low, "max": high, "description": c.get("description")}
        )
    return out


def rubric_criteria(ws: Workspace, project: str) -> list[dict[str, Any]]:
    """Likert criteria: project settings `rubric`, else the project's latest rubric row, else 'overall'."""
    found = _criteria(ws.project_settings(project).get("rubric") or {})
    if found:
        return found
    with ws.db() as db:
        pid = ws.project_id(db, project)
        row = db.scalar(select(RubricRow).where(RubricRow.project_id == pid).order_by(RubricRow.id.desc()))
        found = _criteria(dict(row.config or {})) if row is not None else []
    return found or [dict(c) for c in DEFAULT_CRITERIA]


def taxonomy(ws: Workspace, project: str) -> list[str]:
    """Failure tags to offer: project settings `failure_tags`, then tags seen in labels (most used first)."""
    declared = [str(t) for t in ws.project_settings(project).get("failure_tags") or []]
    seen = Counter(t for lab in live_labels(ws.labels(project)) for t in lab.failure_tags)
    return list(dict.fromkeys(declared + [t for t, _ in seen.most_common()]))


def set_taxonomy(ws: Workspace, project: str, tags: list[str]) -> list[str]:
    """Replace the project's declared failure tags (trimmed, de-duplicated, order kept)."""
    clean = list(dict.fromkeys(t.strip() for t in tags if t.strip()))
    if any(len(t) > 100 for t in clean):
        raise InvalidInput("a failure tag is too long", field="failure_tags", expected="<= 100 characters")
    ws.update_project_settings(project, failure_tags=clean)
    return clean


def parse_rubric_lines(text: str) -> list[dict[str, Any]]:
    """`name | 1-5 | description` per line (scale and description optional) -> rubric criteria."""
    out = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split("|")]
        if not parts[0]:
            raise InvalidInput("a criterion needs a name", row=number, field="rubric", expected="name | 1-5")
        scale = parts[1] if len(parts) > 1 and parts[1] else "1-5"
        parse_scale(scale)
        out.append({"name": parts[0], "scale": scale, "description": parts[2] if len(parts) > 2 else None})
    return out


def set_rubric(ws: Workspace, project: str, criteria: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Replace the project's Likert rubric (settings `rubric.criteria`)."""
    _criteria({"criteria": criteria})  # validates every scale
    ws.update_project_settings(project, rubric={"criteria": criteria})
    return criteria


def latest_verdict(ws: Workspace, session_pk: int, evaluator: str | None) -> dict[str, Any] | None:
    """The newest usable verdict of the session (of `evaluator` when given), for mode=evaluator."""
    with ws.db() as db:
        q = select(VerdictRow).where(
            VerdictRow.session_pk == session_pk, VerdictRow.status == "ok", VerdictRow.label.is_not(None)
        )
        if evaluator:
            parsed = EvaluatorRef.parse(evaluator)
            name, version = parsed.name, parsed.version
            q = q.where(VerdictRow.evaluator == name)
            if version:
                q = q.where(VerdictRow.version == version)
        row = db.scalar(q.order_by(VerdictRow.id.desc()).limit(1))
        if row is None:
            return None
        return {
            "evaluator": row.evaluator,
            "version": row.version,
            "label": row.label,
            "probability": row.probability,
            "score": row.score,
            "threshold": row.threshold,
            "rationale": row.rationale,
        }


def session_payload(ws: Workspace, session_pk: int) -> dict[str, Any]:
    with ws.db() as db:
        row = db.get(SessionRow, session_pk)
        if row is None:
            raise NotFound(f"session {session_pk} is gone")
        return session_from_row(row).model_dump(mode="json", exclude={"project"})


def next_item(
    ws: Workspace, queue: Queue, reviewer: str, *, stale_minutes: float = assignments.STALE_MINUTES
) -> NextItem:
    """Assign the caller their next item of the queue and describe it; `done=True` when none is left."""
    claim = assignments.claim_next(ws, queue, reviewer, stale_minutes=stale_minutes)
    base: dict[str, Any] = {"queue_id": queue.id, "mode": queue.mode, "label_kind": LABEL_KIND[queue.mode]}
    if claim is None:
        return NextItem(done=True, progress=assignments.summary(ws, queue, reviewer), **base)
    session = session_payload(ws, claim.session_pk)
    if queue.mode == "pairwise":
        base["pair"] = {"left": "B", "right": "A"} if claim.swap else {"left": "A", "right": "B"}
        session["metadata"] = {}  # blind: metadata often names the models
    if queue.mode == "evaluator":
        base["verdict"] = latest_verdict(ws, claim.session_pk, queue.settings.get("evaluator"))
    if queue.mode == "likert":
        base["criteria"] = rubric_criteria(ws, queue.project)
    return NextItem(
        assignment_id=claim.assignment_id,
        item_id=claim.item_id,
        resumed=claim.resumed,
        session=session,
        progress=assignments.summary(ws, queue, reviewer),
        **base,
    )


__all__ = [
    "latest_verdict",
    "next_item",
    "parse_rubric_lines",
    "parse_scale",
    "rubric_criteria",
    "session_payload",
    "set_rubric",
    "set_taxonomy",
    "taxonomy",
]
