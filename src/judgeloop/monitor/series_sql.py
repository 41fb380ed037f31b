"""The monitor's series (`series.time_series`: every stored verdict, per evaluator or per evaluator
version) counted in SQL: one row per (evaluator, version, window) comes back instead of each verdict.

The same windows as `series.build_series` over `queries.load_records`: by session time a verdict falls in
its session's window (a verdict without a session in its own, unless a period is given: then it is left
out, as the period bounds the session time); by verdict time in its own. Series grouped by app version
or tag need the sessions' metadata and stay on the Python path.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from judgeloop.monitor.aggregate import count_columns
from judgeloop.monitor.queries import TimeAxis, as_utc, split_ref
from judgeloop.monitor.series import BUCKETS, Series, Window, assemble
from judgeloop.monitor.sql import as_time, window_start
from judgeloop.store import Workspace
from judgeloop.store.tables import SessionRow, VerdictRow

FIELDS = ("n", "passes", "errors", "abstains", "score_sum", "n_scored", "prob_sum", "n_prob")


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
    """`series.time_series` for `group_by` None or 'evaluator', aggregated in SQL."""
    v, s = VerdictRow, SessionRow
    at = v.created_at if time_axis == "verdict" else func.coalesce(s.created_at, v.created_at)
    bounded = v.created_at if time_axis == "verdict" else s.created_at
    t0 = window_start(at, bucket).label("t0")
    with ws.reader() as db:
        pid = ws.project_id(db, project)
        q = select(v.evaluator, v.version, t0, *count_columns(v)).where(v.project_id == pid)
        if time_axis == "session":
            q = q.outerjoin(s, s.pk == v.session_pk)
        if evaluator:
            name, version = split_ref(evaluator)
            q = q.where(v.evaluator == name)
            if version:
                q = q.where(v.version == version)
        if since is not None:
            q = q.where(bounded >= as_utc(since))
        if until is not None:
            q = q.where(bounded < as_utc(until))
        rows = db.execute(q.group_by(v.evaluator, v.version, t0)).all()
    step = BUCKETS[bucket]
    cells: dict[tuple[str, str | None], dict[datetime, Window]] = {}
    times = []
    for r in rows:
        start = as_time(r.t0)
        times.append(start)
        group = (
            (f"{r.evaluator}@{r.version}" if r.version else r.evaluator) if group_by == "evaluator" else None
        )
        cell = cells.setdefault((r.evaluator, group), {}).setdefault(start, Window(start, start + step))
        for f in FIELDS:
            setattr(
                cell,
                f,
                getattr(cell, f) + (float(getattr(r, f)) if f.endswith("_sum") else int(getattr(r, f))),
            )
    return assemble(cells, times, bucket, group_by, start=since, end=until)


__all__ = ["series_sql"]
