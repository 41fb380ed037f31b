"""Hourly rollups of the overview's counts, stored in the database and refreshed by readers.

`rollup_sessions` holds sessions per hour; `rollup_verdicts` holds, per (evaluator, version, hour of
session time), the counts `aggregate.window_counts` computes from each session's latest verdict, and a
histogram of the ok probabilities' confidence max(p, 1 - p) in `BINS` even bins over [0.5, 1].

`refresh` catches a project up from its watermark (`rollup_marks`: the highest verdict id and session pk
counted): the hours of the sessions newer than the mark are recounted, and for each evaluator the hours
of the sessions that verdicts newer than the mark belong to are recomputed from the raw rows (a new
verdict replaces its session's older latest one in the same hour, since a session's time never
changes). On PostgreSQL the refresh reads the top ids under an exclusive advisory lock that every insert
into sessions or verdicts takes shared (triggers of migration i19b), so every id up to them is committed,
and recounts under a second lock of its own, so inserts wait only for the reading; on SQLite
the refresh is a write transaction (BEGIN IMMEDIATE), which writers already queue behind. Several
`judgeloop serve` replicas share the tables. When the lock cannot be had in `LOCK_TIMEOUT` the caller
falls back to the direct SQL path.

The needs-review count under a rule's tau is the histogram's bins below tau's bin plus, from the raw
rows, the verdicts in tau's own bin with confidence < tau (a short probability range of the index), so
the counts are exact for any tau.
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, delete, func, insert, or_, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session as DB
from sqlalchemy.orm import aliased
from sqlalchemy.sql.functions import FunctionElement

from judgeloop.monitor.queries import as_utc
from judgeloop.monitor.sql import as_time, is_latest, session_pk_range, thresholds_of, top_id, window_start
from judgeloop.store import Workspace
from judgeloop.store.tables import (
    RollupMarkRow,
    RollupSessionRow,
    RollupVerdictRow,
    SessionRow,
    VerdictRow,
)

BINS = 200
LOCK_KEY = 191919  # the advisory lock of migration i19b's triggers
REFRESH_KEY = 191920  # taken by refreshes only, so that two never recount at once
LOCK_TIMEOUT = "5s"
HOUR = timedelta(hours=1)
MERGE_GAP = 6  # touched hours this close are recomputed in one query


class _ConfBin(FunctionElement[Any]):
    """The bin (0..BINS-1) of confidence max(p, 1 - p) of a probability p, on both backends."""

    inherit_cache = True
    name = "conf_bin"


@compiles(_ConfBin)
def _bin_pg(element: Any, compiler: Any, **kw: Any) -> str:
    p = compiler.process(element.clauses, **kw)
    x = f"(GREATEST({p}, 1 - {p}) - CAST(0.5 AS DOUBLE PRECISION)) * CAST({2 * BINS} AS DOUBLE PRECISION)"
    return f"LEAST(CAST(floor({x}) AS INTEGER), {BINS - 1})"


@compiles(_ConfBin, "sqlite")
def _bin_sqlite(element: Any, compiler: Any, **kw: Any) -> str:
    p = compiler.process(element.clauses, **kw)
    return f"min(CAST((max({p}, 1 - {p}) - 0.5) * {2 * BINS} AS INTEGER), {BINS - 1})"


def tau_bin(tau: float) -> int:
    """The bin a confidence equal to `tau` falls in (0.5 < tau <= 1), as `_ConfBin` computes it."""
    return min(math.floor((tau - 0.5) * (2 * BINS)), BINS - 1)


def _postgres(db: DB) -> bool:
    return db.get_bind().dialect.name == "postgresql"


def _tops(db: DB, pid: int) -> tuple[int, int]:
    return top_id(db, VerdictRow.id, VerdictRow.project_id, pid), top_id(
        db, SessionRow.pk, SessionRow.project_id, pid
    )


def refresh(ws: Workspace, project: str) -> bool:
    """Catch the project's rollups up with its sessions and verdicts; False when the lock could not be
    had in time (the caller then reads the raw rows)."""
    with ws.reader() as db:
        pid = ws.project_id(db, project)
        mark = db.get(RollupMarkRow, pid)
        if mark is not None and (mark.verdict_id, mark.session_pk) == _tops(db, pid):
            return True
    return refresh_locked(ws, pid, _tops, catch_up, REFRESH_KEY)


def refresh_locked(ws: Workspace, pid: int, tops: Any, catch_up: Any, key: int) -> bool:
    """Run `catch_up(db, pid, tops(db, pid))` with the top ids read under `LOCK_KEY` (PostgreSQL), in a
    transaction holding the refresh lock `key`; False when a lock could not be had in `LOCK_TIMEOUT`.

    `LOCK_KEY` is held only to read the top ids: once it is had, every insert that took an id has
    committed (the insert triggers take it shared), and later ones take higher ids. Inserts wait for
    this instant, not for the recount, which runs under `key`, a lock that only refreshes take."""
    try:
        top = None
        with ws.db() as db:
            if _postgres(db):
                db.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
                db.execute(select(func.pg_advisory_xact_lock(LOCK_KEY)))
                top = tops(db, pid)
        with ws.db() as db:
            if _postgres(db):
                db.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
                db.execute(select(func.pg_advisory_xact_lock(key)))
            catch_up(db, pid, top)
    except OperationalError:
        return False
    return True


def catch_up(db: DB, pid: int, tops: tuple[int, int] | None = None) -> None:
    """Recompute the hours touched since the project's mark, up to `tops` (the highest verdict id and
    session pk known committed; else the highest now), and move the mark (inside the refresh lock)."""
    mark = db.get(RollupMarkRow, pid)
    if mark is None:
        mark = RollupMarkRow(project_id=pid, verdict_id=0, session_pk=0)
        db.add(mark)
    top_v, top_s = tops if tops is not None else _tops(db, pid)
    if top_v <= mark.verdict_id and top_s <= mark.session_pk:
        return  # another refresh got here first
    top_v, top_s = max(top_v, mark.verdict_id), max(top_s, mark.session_pk)
    s, v = SessionRow, VerdictRow
    if top_s > mark.session_pk:
        t0 = window_start(s.created_at, "hour")
        new = select(t0).where(s.project_id == pid, s.pk > mark.session_pk, s.pk <= top_s).distinct()
        for a, b in _runs(as_time(h) for h in db.scalars(new)):
            _count_sessions(db, pid, a, b)
    if top_v > mark.verdict_id:
        t0 = window_start(s.created_at, "hour")
        new = (
            select(v.evaluator, t0)
            .select_from(v)
            .join(s, s.pk == v.session_pk)
            .where(v.project_id == pid, v.id > mark.verdict_id, v.id <= top_v)
            .distinct()
        )
        touched: dict[str, list[datetime]] = {}
        for name, hour in db.execute(new):
            touched.setdefault(name, []).append(as_time(hour))
        for name, hours in sorted(touched.items()):
            for a, b in _runs(hours):
                _count_verdicts(db, pid, name, a, b)
    mark.verdict_id, mark.session_pk = top_v, top_s
    db.flush()


def _runs(hours: Any) -> list[tuple[datetime, datetime]]:
    """Sorted hours merged into [start, end) spans (gaps under MERGE_GAP hours are closed)."""
    out: list[tuple[datetime, datetime]] = []
    for h in sorted(set(hours)):
        if out and h - out[-1][1] < HOUR * MERGE_GAP:
            out[-1] = (out[-1][0], h + HOUR)
        else:
            out.append((h, h + HOUR))
    return out


def _count_sessions(db: DB, pid: int, a: datetime, b: datetime) -> None:
    s = SessionRow
    t0 = window_start(s.created_at, "hour")
    period = (s.project_id == pid, s.created_at >= as_utc(a), s.created_at < as_utc(b))
    rows = db.execute(select(t0, func.count()).where(*period).group_by(t0)).all()
    r = RollupSessionRow
    db.execute(delete(r).where(r.project_id == pid, r.hour >= as_utc(a), r.hour < as_utc(b)))
    if rows:
        db.execute(insert(r), [{"project_id": pid, "hour": as_time(h), "sessions": int(n)} for h, n in rows])


def _count_verdicts(db: DB, pid: int, name: str, a: datetime, b: datetime) -> None:
    """Recompute evaluator `name`'s rows of the hours in [a, b), of any version and of each version."""
    r = RollupVerdictRow
    cells: dict[tuple[datetime, str], dict[str, Any]] = {}
    bounds = session_pk_range(db, pid, a, b)
    if bounds is not None:
        for by_version in (False, True):
            for row in db.execute(_cell_query(pid, name, a, b, bounds, by_version)):
                key = (as_time(row.t0), row.version if by_version else "")
                _fold(cells.setdefault(key, _empty(pid, name, *key)), row)
    db.execute(
        delete(r).where(r.project_id == pid, r.evaluator == name, r.hour >= as_utc(a), r.hour < as_utc(b))
    )
    if cells:
        db.execute(insert(r), list(cells.values()))


COUNTS = ("verdicts", "n", "passes", "errors", "abstains", "n_scored", "n_prob", "scored")


def _empty(pid: int, name: str, hour: datetime, version: str) -> dict[str, Any]:
    cell: dict[str, Any] = {"project_id": pid, "evaluator": name, "version": version, "hour": hour}
    cell.update(dict.fromkeys(COUNTS, 0), score_sum=0.0, prob_sum=0.0, confidence=[0] * BINS)
    return cell


def _fold(cell: dict[str, Any], row: Any) -> None:
    for c in COUNTS:
        cell[c] += int(getattr(row, c))
    cell["score_sum"] += float(row.score_sum)
    cell["prob_sum"] += float(row.prob_sum)
    if row.bin is not None:
        cell["confidence"][int(row.bin)] += int(row.n_prob)


def _cell_query(
    pid: int, name: str, a: datetime, b: datetime, bounds: tuple[int, int], by_version: bool
) -> Any:
    """Counts of the latest verdicts (of any version, or per version) per (hour, version, bin)."""
    from judgeloop.monitor.aggregate import count_columns

    v, s = aliased(VerdictRow), aliased(SessionRow)
    t0 = window_start(s.created_at, "hour")
    with_p = and_(v.status == "ok", v.probability.is_not(None))
    conf = case((with_p, _ConfBin(v.probability)), else_=None)
    keys = [t0.label("t0"), conf.label("bin")] + ([v.version.label("version")] if by_version else [])
    q = (
        select(*keys, func.count().label("verdicts"), *count_columns(v))
        .select_from(v)
        .join(s, s.pk == v.session_pk)
        .where(v.project_id == pid, v.evaluator == name, s.project_id == pid)
        .where(s.created_at >= as_utc(a), s.created_at < as_utc(b), v.session_pk.between(*bounds))
        .where(is_latest(v, same_version=by_version))
    )
    if by_version:
        q = q.where(v.version.is_not(None))
    return q.group_by(*keys)


# --- reading ------------------------------------------------------------------------------------


def session_hours(ws: Workspace, project: str, bucket: str, start: datetime, end: datetime) -> Counter:
    """{window start: sessions created in it} from the rollup (call `refresh` first)."""
    from judgeloop.monitor.series import floor_time

    r = RollupSessionRow
    with ws.reader() as db:
        pid = ws.project_id(db, project)
        rows = db.execute(
            select(r.hour, r.sessions).where(
                r.project_id == pid, r.hour >= as_utc(start), r.hour < as_utc(end)
            )
        ).all()
    out: Counter = Counter()
    for hour, n in rows:
        out[floor_time(as_utc(hour), bucket)] += int(n)
    return out


def verdict_hours(
    ws: Workspace, project: str, name: str, version: str | None, start: datetime, end: datetime
) -> list[RollupVerdictRow]:
    """The rollup rows of evaluator `name` (of `version`, or of any version) in [start, end)."""
    r = RollupVerdictRow
    with ws.reader() as db:
        pid = ws.project_id(db, project)
        q = select(r).where(r.project_id == pid, r.evaluator == name, r.version == (version or ""))
        return list(db.scalars(q.where(r.hour >= as_utc(start), r.hour < as_utc(end)).order_by(r.hour)))


def boundary_reviews(
    ws: Workspace,
    project: str,
    name: str,
    version: str | None,
    bucket: str,
    start: datetime,
    end: datetime,
    tau: float,
) -> Counter:
    """{window start: latest ok verdicts in tau's confidence bin with confidence < tau}, from the raw
    rows: a probability range on each threshold's part of the index (project_id, evaluator, threshold,
    probability)."""
    j = tau_bin(tau)
    lo, hi = 0.5 + j / (2 * BINS) - 1e-6, 0.5 + (j + 1) / (2 * BINS) + 1e-6
    v, s = aliased(VerdictRow), aliased(SessionRow)
    t0 = window_start(s.created_at, bucket)
    with ws.reader() as db:
        pid = ws.project_id(db, project)
        near = or_(v.probability.between(lo, hi), v.probability.between(1 - hi, 1 - lo))
        ts = thresholds_of(db, pid, name)
        by_threshold = [and_(v.threshold.is_(None) if t is None else v.threshold == t, near) for t in ts]
        q = (
            select(t0, func.count())
            .select_from(v)
            .join(s, s.pk == v.session_pk)
            .where(v.project_id == pid, v.evaluator == name, v.status == "ok", s.project_id == pid)
            .where(or_(*by_threshold) if by_threshold else near, _ConfBin(v.probability) == j)
            .where(v.probability < tau, (1 - v.probability) < tau)
            .where(s.created_at >= as_utc(start), s.created_at < as_utc(end))
        )
        if version:
            q = q.where(v.version == version)
        rows = db.execute(q.where(is_latest(v, version=version)).group_by(t0)).all()
    return Counter({as_time(t): int(n) for t, n in rows})


__all__ = [
    "BINS",
    "boundary_reviews",
    "catch_up",
    "refresh",
    "refresh_locked",
    "session_hours",
    "tau_bin",
    "verdict_hours",
]
