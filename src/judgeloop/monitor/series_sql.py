"""The monitor's series (`series.time_series`: every stored verdict, per evaluator or per evaluator
version) counted in SQL: the period's whole hours come from `monitor.verdict_hours`, its partial end
hours from the raw rows grouped per (evaluator, version, window), instead of every verdict loaded.

The same windows as `series.build_series` over `queries.load_records`: by session time a verdict falls in
its session's window (a verdict without a session in its own, unless a period is given: then it is left
out, as the period bounds the session time); by verdict time in its own. Series grouped by app version
or tag need the sessions' metadata and stay on the Python path.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, select

from judgeloop.monitor import verdict_hours
from judgeloop.monitor.aggregate import add_counts, count_columns
from judgeloop.monitor.queries import TimeAxis, as_utc, split_ref
from judgeloop.monitor.series import BUCKETS, Series, Window, assemble, floor_time
from judgeloop.monitor.sql import as_time, session_pk_range, window_start
from judgeloop.store import Workspace
from judgeloop.store.tables import SessionRow, VerdictRow


def series_sql(
    ws: Workspace,
    project: str,
    evaluator: str | None,
    bucket: str,
    group_by: str | None,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    time_axis: TimeAxis = "session",
) -> list[Series]:
    """`series.time_series` for `group_by` None or 'evaluator', aggregated in SQL: the whole hours of the
    period from the hourly counts of every verdict (`monitor.verdict_hours`, caught up first), the
    partial hours at its ends from the raw rows (all of it from the raw rows when the counts cannot be
    caught up)."""
    from judgeloop.monitor import derived

    name, version = split_ref(evaluator) if evaluator else (None, None)
    hours = derived.refresh(ws, project)
    first = _hour_up(since) if since is not None else None
    last = floor_time(as_utc(until), "hour") if until is not None else None
    with ws.reader() as db:
        pid = ws.project_id(db, project)
        if not hours or (first is not None and last is not None and first >= last):
            rows = _raw(db, pid, name, version, bucket, since, until, time_axis)
        else:
            rows = _from_hours(db, pid, name, version, bucket, first, last, time_axis, bounded=since or until)
            if since is not None and first is not None and since < first:
                rows += _raw(db, pid, name, version, bucket, since, first, time_axis)
            if until is not None and last is not None and last < until:
                rows += _raw(db, pid, name, version, bucket, last, until, time_axis)
    step = BUCKETS[bucket]
    cells: dict[tuple[str, str | None], dict[datetime, Window]] = {}
    times = []
    for evaluator_name, ver, start, counts in rows:
        times.append(start)
        group = (f"{evaluator_name}@{ver}" if ver else evaluator_name) if group_by == "evaluator" else None
        add_counts(
            cells.setdefault((evaluator_name, group), {}).setdefault(start, Window(start, start + step)),
            counts,
        )
    return assemble(cells, times, bucket, group_by, start=since, end=until)


Row = tuple[str, str | None, datetime, Any]  # evaluator, version, window start, a row with the SUMS


def _hour_up(t: datetime) -> datetime:
    h = floor_time(as_utc(t), "hour")
    return h if h == as_utc(t) else h + timedelta(hours=1)


def _raw(
    db: Any,
    pid: int,
    name: str | None,
    version: str | None,
    bucket: str,
    since: datetime | None,
    until: datetime | None,
    time_axis: TimeAxis,
) -> list[Row]:
    v, s = VerdictRow, SessionRow
    at = v.created_at if time_axis == "verdict" else func.coalesce(s.created_at, v.created_at)
    bounded = v.created_at if time_axis == "verdict" else s.created_at
    t0 = window_start(at, bucket).label("t0")
    q = select(v.evaluator, v.version, t0, *count_columns(v)).where(v.project_id == pid)
    if time_axis == "session" and (since is not None or until is not None):
        q = q.join(s, s.pk == v.session_pk)  # the period bounds the session time: sessions drive
    elif time_axis == "session":
        q = q.outerjoin(s, s.pk == v.session_pk)
    if name:
        q = q.where(v.evaluator == name)
        if version:
            q = q.where(v.version == version)
    if since is not None:
        q = q.where(bounded >= as_utc(since))
    if until is not None:
        q = q.where(bounded < as_utc(until))
    if time_axis == "session" and since is not None and until is not None:
        pks = session_pk_range(db, pid, since, until)  # a redundant bound: the period's sessions drive
        if pks is None:
            return []
        q = q.where(v.session_pk.between(*pks))
    rows = db.execute(q.group_by(v.evaluator, v.version, t0))
    return [(r.evaluator, r.version, as_time(r.t0), r) for r in rows]


def _from_hours(
    db: Any,
    pid: int,
    name: str | None,
    version: str | None,
    bucket: str,
    start: datetime | None,
    end: datetime | None,
    time_axis: TimeAxis,
    bounded: datetime | None,
) -> list[Row]:
    """The cells of [start, end) summed into `bucket` windows (the session axis counts the verdicts
    without a session only when no period bounds it)."""
    axes = ("verdict",) if time_axis == "verdict" else ("session",) if bounded else ("session", "loose")

    def mine(h: Any) -> Any:
        return and_(h.evaluator == name, h.version == version) if version else h.evaluator == name

    found = verdict_hours.cells(db, pid, axes, start, end, mine if name else None)
    return [(c.evaluator, c.version or None, floor_time(as_utc(c.hour), bucket), c) for c in found]


__all__ = ["series_sql"]
