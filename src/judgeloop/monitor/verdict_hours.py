"""Every stored verdict counted per (evaluator, version, hour), for the `monitor` command's series
(`monitor.series_sql`), kept with the derived tables' watermark (`monitor.derived.catch_up`).

Unlike the hourly rollup (each session's latest verdict), these counts only grow: a new verdict adds
to its cells, so a catch-up groups the verdicts newer than the mark and adds them. Three axes:
'session' (verdicts with a session, by the session's hour), 'verdict' (every verdict, by its own hour)
and 'loose' (verdicts without a session, by their own hour: the session axis counts them only when no
period bounds the session time, as `queries.load_records` does).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, insert, select
from sqlalchemy.orm import Session as DB

from judgeloop.monitor.aggregate import SUMS, count_columns
from judgeloop.monitor.queries import as_utc
from judgeloop.monitor.sql import as_time, window_start
from judgeloop.store.tables import SessionRow, VerdictHourRow, VerdictRow


def add(db: DB, pid: int, after: int, upto: int) -> None:
    """Add the verdicts with ids in (after, upto] to the project's cells."""
    v, s = VerdictRow, SessionRow
    new = and_(v.project_id == pid, v.id.between(after + 1, upto))
    queries = {
        "session": (s.created_at, select().select_from(v).join(s, s.pk == v.session_pk).where(new)),
        "verdict": (v.created_at, select().select_from(v).where(new)),
        "loose": (v.created_at, select().select_from(v).where(new, v.session_pk.is_(None))),
    }
    found: dict[tuple[str, str, str, datetime], dict[str, Any]] = {}
    for axis, (at, base) in queries.items():
        hour = window_start(at, "hour").label("hour")
        version = func.coalesce(v.version, "").label("version")
        q = base.add_columns(v.evaluator, version, hour, *count_columns(v)).group_by(
            v.evaluator, version, hour
        )
        for r in db.execute(q):
            found[(axis, r.evaluator, r.version, as_time(r.hour))] = {f: getattr(r, f) for f in SUMS}
    if not found:
        return
    h = VerdictHourRow
    hours = sorted({as_utc(t) for _, _, _, t in found})
    for i in range(0, len(hours), 500):  # the cells of those hours: the ones added to are summed, rewritten
        part = and_(h.project_id == pid, h.hour.in_(hours[i : i + 500]))
        for old in db.scalars(select(h).where(part)):
            cell = found.get((old.axis, old.evaluator, old.version, as_utc(old.hour)))
            if cell is not None:
                for f in SUMS:
                    cell[f] += getattr(old, f)
                db.delete(old)
    db.flush()
    rows = [{"project_id": pid, "axis": a, "evaluator": e, "version": ver, "hour": t, **counts}
            for (a, e, ver, t), counts in found.items()]  # fmt: skip
    db.execute(insert(h), rows)


def cells(
    db: DB,
    pid: int,
    axes: tuple[str, ...],
    start: datetime | None,
    end: datetime | None,
    evaluator: Any = None,
) -> list[Any]:
    """The cells of `axes` with hours in [start, end) (either open), optionally where `evaluator` (a
    condition on the row class) holds."""
    h = VerdictHourRow
    q = select(h).where(h.project_id == pid, h.axis.in_(axes))
    if start is not None:
        q = q.where(h.hour >= as_utc(start))
    if end is not None:
        q = q.where(h.hour < as_utc(end))
    if evaluator is not None:
        q = q.where(evaluator(h))
    return list(db.scalars(q))


__all__ = ["add", "cells"]
