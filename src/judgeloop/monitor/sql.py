"""SQL building blocks the monitoring pages aggregate with, one code path for SQLite and PostgreSQL.

- `window_start(column, bucket)`: the start of the hour or day (UTC) that holds a stored time, as a SQL
  expression (PostgreSQL `date_trunc` on the UTC time, SQLite `strftime` on the stored UTC text);
  `as_time` reads it back as an aware datetime whatever the backend returned.
- `is_latest(v)`: no later verdict of the same evaluator on the same session (verdicts are append-only,
  so the highest id is the latest); one probe of the index (project_id, evaluator, session_pk, id).
- `evaluator_names`, `thresholds_of`: the distinct evaluator names of a project, or thresholds of an
  evaluator, by a loose index scan (a recursive query that jumps from one value to the next), instead
  of reading every verdict.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, literal, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session as DB
from sqlalchemy.orm import aliased
from sqlalchemy.sql.functions import FunctionElement

from judgeloop.errors import InvalidInput
from judgeloop.monitor.queries import as_utc
from judgeloop.store.tables import SessionRow, VerdictRow


class _HourStart(FunctionElement[Any]):
    inherit_cache = True
    name = "hour_start"


class _DayStart(FunctionElement[Any]):
    inherit_cache = True
    name = "day_start"


@compiles(_HourStart)
def _hour_pg(element: Any, compiler: Any, **kw: Any) -> str:
    return f"date_trunc('hour', ({compiler.process(element.clauses, **kw)}) AT TIME ZONE 'UTC')"


@compiles(_DayStart)
def _day_pg(element: Any, compiler: Any, **kw: Any) -> str:
    return f"date_trunc('day', ({compiler.process(element.clauses, **kw)}) AT TIME ZONE 'UTC')"


@compiles(_HourStart, "sqlite")
def _hour_sqlite(element: Any, compiler: Any, **kw: Any) -> str:
    return f"strftime('%Y-%m-%d %H:00:00', {compiler.process(element.clauses, **kw)})"


@compiles(_DayStart, "sqlite")
def _day_sqlite(element: Any, compiler: Any, **kw: Any) -> str:
    return f"strftime('%Y-%m-%d 00:00:00', {compiler.process(element.clauses, **kw)})"


def window_start(column: Any, bucket: str) -> ColumnElement[Any]:
    """SQL: the start of the `bucket` ('hour' or 'day', UTC) that holds the stored time `column`."""
    if bucket == "hour":
        return _HourStart(column)
    if bucket == "day":
        return _DayStart(column)
    raise InvalidInput(f"unknown bucket {bucket!r}", field="by", expected="'hour' or 'day'")


def as_time(value: Any) -> datetime:
    """A `window_start` value as an aware UTC datetime (SQLite gives text, PostgreSQL a naive UTC time)."""
    if isinstance(value, str):
        return datetime.fromisoformat(value).replace(tzinfo=timezone.utc)
    return as_utc(value)


def is_latest(
    v: Any,
    *,
    ok_only: bool = False,
    version: str | None = None,
    made_in: tuple[datetime, datetime] | None = None,
    same_version: bool = False,
) -> ColumnElement[bool]:
    """SQL: verdict `v` (an alias of VerdictRow) has no later verdict of its evaluator on its session
    (`ok_only`: no later ok verdict; `version`: among that version's verdicts only; `made_in`: among the
    verdicts created in [start, end) only; `same_version`: among the verdicts of `v`'s own version).
    Always true for a verdict without a session."""
    w = aliased(VerdictRow)
    cond = [w.project_id == v.project_id, w.evaluator == v.evaluator, w.session_pk == v.session_pk]
    cond.append(w.id > v.id)
    if ok_only:
        cond.append(w.status == "ok")
    if version is not None:
        cond.append(w.version == version)
    if same_version:
        cond.append(w.version == v.version)
    if made_in is not None:
        cond += [w.created_at >= as_utc(made_in[0]), w.created_at < as_utc(made_in[1])]
    return ~exists().where(*cond)


def latest_ok(v: Any, pid: int) -> ColumnElement[bool]:
    """SQL: verdict `v` of project `pid` is ok, on a session, and its evaluator's latest ok one there."""
    return and_(v.project_id == pid, v.status == "ok", v.session_pk.is_not(None), is_latest(v, ok_only=True))


def latest_ok_on(v: Any, pks: Any) -> ColumnElement[bool]:
    """SQL: `latest_ok` for the verdicts of the sessions `pks` (of one project), driven by the sessions'
    index: without the project condition, which SQLite would otherwise scan all the project's verdicts
    by (1.7 s at 1M sessions)."""
    return and_(v.session_pk.in_(pks), v.status == "ok", is_latest(v, ok_only=True))


def top_id(db: DB, column: Any, project: Any, pid: int) -> int:
    """The highest `column` (a primary key) of project `pid`'s rows (`project`: their project column),
    walking the primary key down from its end: coalesce() keeps either backend from choosing a
    composite project index and reading all the project's entries (SQLite: ~85 ms at 1M rows)."""
    q = select(column).where(func.coalesce(project, 0) == pid).order_by(column.desc()).limit(1)
    return int(db.scalar(q) or 0)


def evaluator_names(db: DB, pid: int) -> list[str]:
    """The project's evaluator names, sorted, one index probe per name."""
    v = VerdictRow
    first = select(func.min(v.evaluator).label("name")).where(v.project_id == pid)
    names = first.cte("evaluator_names", recursive=True)
    following = select(
        select(func.min(v.evaluator)).where(v.project_id == pid, v.evaluator > names.c.name).scalar_subquery()
    ).where(names.c.name.is_not(None))
    names = names.union_all(following)
    return [n for n in db.scalars(select(names.c.name).where(names.c.name.is_not(None))) if n is not None]


def thresholds_of(db: DB, pid: int, name: str) -> list[float | None]:
    """The distinct thresholds of evaluator `name`'s verdicts (None when some have none), by a loose
    scan of the index (project_id, evaluator, threshold, probability)."""
    v = VerdictRow
    mine = (v.project_id == pid, v.evaluator == name)
    first = select(func.min(v.threshold).label("t")).where(*mine)
    found = first.cte("thresholds", recursive=True)
    following = select(
        select(func.min(v.threshold)).where(*mine, v.threshold > found.c.t).scalar_subquery()
    ).where(found.c.t.is_not(None))
    found = found.union_all(following)
    out: list[float | None] = [t for t in db.scalars(select(found.c.t).where(found.c.t.is_not(None)))]
    # ordered by the index's columns with a LIMIT: PostgreSQL estimates "threshold IS NULL" over the
    # whole table (another evaluator's NULLs) and would scan every verdict for an evaluator with none
    order = (v.project_id, v.evaluator, v.threshold, v.probability)
    if db.scalar(select(literal(1)).where(*mine, v.threshold.is_(None)).order_by(*order).limit(1)):
        out.append(None)
    return out


def session_pk_range(db: DB, pid: int, start: datetime, end: datetime) -> tuple[int, int] | None:
    """The lowest and highest pk of the project's sessions created in [start, end), from the index
    (project_id, created_at, pk); None when there are none. A redundant bound on verdicts.session_pk
    that lets PostgreSQL read only the verdicts of a short period's sessions (pks grow with arrival)
    instead of hash-joining all of an evaluator's verdicts."""
    s = SessionRow
    period = (
        select(s.pk)
        .where(s.project_id == pid, s.created_at >= as_utc(start), s.created_at < as_utc(end))
        .offset(0)  # a fence: min(pk) over the period's index range, not a walk of the pk index
        .subquery()
    )
    lo, hi = db.execute(select(func.min(period.c.pk), func.max(period.c.pk))).one()
    return None if lo is None else (int(lo), int(hi))
