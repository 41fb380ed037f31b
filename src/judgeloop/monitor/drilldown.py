"""From an alert to the sessions behind it, most surprising first.

Surprise is measured against the baseline the alert was tested against: a session whose verdict
carries P(good) = p scores ln(baseline pass rate / p), i.e. how many nats less likely it is to be good
than a typical baseline session; a verdict with a label only scores -ln P(label | baseline). Error
verdicts count as failures (they are data, not noise) and are marked as such.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import and_, case, select

from judgeloop.monitor.alerts import Alert, get_alert
from judgeloop.monitor.queries import (
    RECORD_COLUMNS,
    TimeAxis,
    VerdictRecord,
    as_utc,
    load_records,
    record,
    session_texts,
    split_ref,
)
from judgeloop.monitor.series import group_keys
from judgeloop.monitor.sql import session_pk_range
from judgeloop.store import Workspace
from judgeloop.store.tables import SessionRow, VerdictRow

EPS = 1e-6
SNIPPET = 160


@dataclass
class SurprisingSession:
    session_id: str
    surprise: float
    label: int | None
    probability: float | None
    status: str
    evaluator: str
    at: str
    app_version: str | None
    tags: list[str]
    snippet: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def surprise(r: VerdictRecord, baseline_pass_rate: float) -> float:
    """Nats by which this verdict is less likely to be good than a baseline session (see module doc)."""
    base = min(max(baseline_pass_rate, EPS), 1 - EPS)
    if r.status == "ok" and r.probability is not None:
        return math.log(base / max(r.probability, EPS))
    if r.status == "ok" and r.label == 1:
        return -math.log(base)
    return -math.log(1 - base)  # a failing label, or an error verdict


def alert_sessions(
    ws: Workspace, project: str, alert: int | Alert, limit: int = 20
) -> list[SurprisingSession]:
    """The sessions in an alert's period and series, sorted by surprise (highest first). The period's
    verdicts are ranked and cut to `limit` in SQL (`_ranked_records`) unless the alert's series groups by
    session metadata (app version, tag), which is matched in Python."""
    a = get_alert(ws, project, alert) if isinstance(alert, int) else alert
    base = a.baseline_pass_rate if not math.isnan(a.baseline_pass_rate) else 0.5
    if a.group_by in (None, "evaluator"):
        mine = _ranked_records(ws, project, a, base, limit)
    else:
        axis: TimeAxis = "session" if a.time_axis == "session" else "verdict"
        records = load_records(
            ws, project, a.evaluator, since=a.window_start, until=a.window_end, time_axis=axis
        )
        key = (a.evaluator, a.group)
        mine = [r for r in records if r.session_id and key in group_keys(r, a.group_by)]
    ranked = sorted(mine, key=lambda r: (-surprise(r, base), r.verdict_id))[:limit]
    texts = session_texts(ws, project, [r.session_id for r in ranked if r.session_id])
    return [
        SurprisingSession(
            session_id=r.session_id or "",
            surprise=round(surprise(r, base), 4),
            label=r.label,
            probability=r.probability,
            status=r.status,
            evaluator=r.ref,
            at=r.at.isoformat(),
            app_version=r.app_version,
            tags=list(r.tags),
            snippet=_snippet(texts.get(r.session_id or "", "")),
        )
        for r in ranked
    ]


def _ranked_records(ws: Workspace, project: str, a: Alert, base: float, limit: int) -> list[VerdictRecord]:
    """The alert's verdicts with a session, most surprising first, at most `limit` of them: surprise is
    ln(b / q) for baseline b, so ranking by q ascending is ranking by surprise descending, with
    q = max(p, EPS) for an ok verdict with a probability, b^2 for a passing label, b(1 - b) otherwise."""
    b = min(max(base, EPS), 1 - EPS)
    v = VerdictRow
    ok = v.status == "ok"
    q = case(
        (and_(ok, v.probability.is_not(None)), case((v.probability < EPS, EPS), else_=v.probability)),
        (and_(ok, v.label == 1), b * b),
        else_=b * (1 - b),
    )
    at = SessionRow.created_at if a.time_axis == "session" else v.created_at
    name, version = split_ref(a.evaluator)
    with ws.reader() as db:
        pid = ws.project_id(db, project)
        stmt = (
            select(*RECORD_COLUMNS, SessionRow.uid, SessionRow.meta.label("session_meta"),
                   SessionRow.created_at.label("session_at"))
            .join(SessionRow, SessionRow.pk == v.session_pk)
            .where(v.project_id == pid, v.evaluator == name, at >= as_utc(a.window_start),
                   at < as_utc(a.window_end))
            .order_by(q, v.id)
            .limit(limit)
        )  # fmt: skip
        if a.time_axis == "session":
            bounds = session_pk_range(db, pid, a.window_start, a.window_end)
            if bounds is None:
                return []
            stmt = stmt.where(SessionRow.project_id == pid, v.session_pk.between(*bounds))
        if version:
            stmt = stmt.where(v.version == version)
        if a.group_by == "evaluator":
            _, group_version = split_ref(a.group or a.evaluator)
            stmt = stmt.where(v.version == group_version if group_version else v.version.is_(None))
        rows = db.execute(stmt).all()
    by_session = a.time_axis == "session"
    return [
        record(r, r.uid, r.session_meta or {}, as_utc(r.session_at if by_session else r.created_at))
        for r in rows
    ]


def _snippet(text: str) -> str:
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= SNIPPET else one_line[: SNIPPET - 1] + "…"
