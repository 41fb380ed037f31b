"""Per-window counts for the overview, aggregated in SQL: one row per window comes back, never a verdict.

Each session counts once per evaluator: its latest verdict (highest id) of that evaluator name (of
that version for `name@version`), whatever its status, so re-scoring a session replaces its verdict
instead of counting it twice. By session time (the default) that is the session's latest verdict; by
verdict time, its latest verdict made in the period. A window's figures are those of `series.Window`
(n, passes, errors, abstains, score and probability sums) plus the sessions whose latest verdict is ok
(`scored`) and, under a saved automation rule, how many ok probabilities it sends to review (`review`).
The spike tests and the Wilson interval only need these counts.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, select, true
from sqlalchemy.orm import aliased

from judgeloop.monitor import rollup
from judgeloop.monitor.queries import TimeAxis, as_utc, split_ref
from judgeloop.monitor.series import BUCKETS, Series, Window, floor_time
from judgeloop.monitor.sql import as_time, is_latest, session_pk_range, window_start
from judgeloop.store import Workspace
from judgeloop.store.tables import SessionRow, VerdictRow


@dataclass
class WindowCounts:
    """The SQL aggregate of one evaluator over [start, end)."""

    series: Series | None  # None when the evaluator has no verdict in the period
    scored: dict[datetime, int] = field(default_factory=dict)
    review: dict[datetime, int] = field(default_factory=dict)  # ok probabilities that need review
    probabilities: dict[datetime, int] = field(default_factory=dict)  # ok verdicts with a probability


def _count(cond: Any) -> Any:
    return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)


def count_columns(v: Any) -> list[Any]:
    """The per-window sums of verdict alias `v`'s rows (a `series.Window`'s fields and `scored`)."""
    ok = v.status == "ok"
    return [
        _count(and_(ok, v.label.is_not(None))).label("n"),
        _count(and_(ok, v.label == 1)).label("passes"),
        _count(v.status == "error").label("errors"),
        _count(and_(v.status != "ok", v.status != "error")).label("abstains"),
        func.coalesce(func.sum(case((ok, v.score), else_=None)), 0.0).label("score_sum"),
        _count(and_(ok, v.score.is_not(None))).label("n_scored"),
        func.coalesce(func.sum(case((ok, v.probability), else_=None)), 0.0).label("prob_sum"),
        _count(and_(ok, v.probability.is_not(None))).label("n_prob"),
        _count(and_(ok, v.session_pk.is_not(None))).label("scored"),
    ]


def _on_hours(start: datetime, end: datetime) -> bool:
    return all(as_utc(t) == floor_time(as_utc(t), "hour") for t in (start, end))


def window_counts(
    ws: Workspace,
    project: str,
    evaluator: str,
    bucket: str,
    start: datetime,
    end: datetime,
    *,
    time_axis: TimeAxis = "session",
    tau: float | None = None,
    rule: bool = False,
    session_bounds: tuple[int, int] | None | bool = True,
    use_rollup: bool = True,
) -> WindowCounts:
    """Counts per window of `bucket` for `evaluator` (name or name@version); with `rule`, a probability
    needs review when max(p, 1 - p) < tau (everything when tau is None), as `risk.needs_review`.
    `session_bounds`: the period's session pk range when the caller has it (`traffic`; None: no
    sessions), True to look it up. By session time over whole hours the counts come from the hourly
    rollup (`monitor.rollup`, caught up first) unless `use_rollup` is False."""
    name, version = split_ref(evaluator)
    if use_rollup and time_axis == "session" and _on_hours(start, end) and rollup.refresh(ws, project):
        return rollup_counts(ws, project, evaluator, bucket, start, end, tau=tau, rule=rule)
    v, s = aliased(VerdictRow), aliased(SessionRow)
    at = s.created_at if time_axis == "session" else v.created_at
    t0 = window_start(at, bucket)
    doubtful = true() if tau is None else and_(v.probability < tau, (1 - v.probability) < tau)
    with_p = and_(v.status == "ok", v.probability.is_not(None))
    q = select(t0.label("t0"), *count_columns(v), _count(and_(with_p, doubtful)).label("review")).select_from(
        v
    )
    q = q.join(s, s.pk == v.session_pk) if time_axis == "session" else q.outerjoin(s, s.pk == v.session_pk)
    with ws.reader() as db:
        pid = ws.project_id(db, project)
        q = q.where(v.project_id == pid, v.evaluator == name, at >= as_utc(start), at < as_utc(end))
        if time_axis == "session":
            bounds = session_pk_range(db, pid, start, end) if session_bounds is True else session_bounds
            if not isinstance(bounds, tuple):
                return WindowCounts(series=None)
            q = q.where(s.project_id == pid, v.session_pk.between(*bounds))
        if version:
            q = q.where(v.version == version)
        made_in = (start, end) if time_axis == "verdict" else None  # by verdict time: latest of the period
        rows = db.execute(q.where(is_latest(v, version=version, made_in=made_in)).group_by(t0)).all()
    out = WindowCounts(series=None)
    if not rows:
        return out
    cells: dict[datetime, Window] = {}
    for r in rows:
        t = as_time(r.t0)
        add_counts(cells.setdefault(t, Window(t, t + BUCKETS[bucket])), r)
        out.scored[t] = int(r.scored)
        if rule:
            out.review[t], out.probabilities[t] = int(r.review), int(r.n_prob)
    out.series = _series(name, bucket, start, end, cells)
    return out


SUMS = ("n", "passes", "errors", "abstains", "score_sum", "n_scored", "prob_sum", "n_prob")  # a Window's


def add_counts(w: Window, r: Any) -> None:
    """Add a row's counts and sums (a SQL aggregate or a rollup row) to window `w`."""
    for k in SUMS:
        mine = getattr(w, k)
        setattr(w, k, mine + type(mine)(getattr(r, k)))  # SQL sums may come back as Decimal


def _series(name: str, bucket: str, start: datetime, end: datetime, cells: dict[datetime, Window]) -> Series:
    """Every window of [start, end), the empty ones included."""
    step, windows, t = BUCKETS[bucket], [], as_utc(start)
    while t < as_utc(end):
        windows.append(cells.get(t) or Window(t, t + step))
        t += step
    return Series(name, None, None, bucket, windows)


def rollup_counts(
    ws: Workspace,
    project: str,
    evaluator: str,
    bucket: str,
    start: datetime,
    end: datetime,
    *,
    tau: float | None = None,
    rule: bool = False,
) -> WindowCounts:
    """`window_counts` by session time from the hourly rollup (whole hours; `rollup.refresh` first)."""
    name, version = split_ref(evaluator)
    rows = rollup.verdict_hours(ws, project, name, version, start, end)
    out = WindowCounts(series=None)
    if not rows:
        return out
    cells: dict[datetime, Window] = {}
    hist: dict[datetime, list[int]] = {}
    for r in rows:
        t = floor_time(as_utc(r.hour), bucket)
        add_counts(cells.setdefault(t, Window(t, t + BUCKETS[bucket])), r)
        out.scored[t] = out.scored.get(t, 0) + r.scored
        h = hist.setdefault(t, [0] * rollup.BINS)
        for i, c in enumerate(r.confidence):
            h[i] += c
    if rule:
        out.probabilities = {t: w.n_prob for t, w in cells.items()}
        out.review = _reviews(ws, project, name, version, bucket, start, end, tau, cells, hist)
    out.series = _series(name, bucket, start, end, cells)
    return out


def _reviews(
    ws: Workspace,
    project: str,
    name: str,
    version: str | None,
    bucket: str,
    start: datetime,
    end: datetime,
    tau: float | None,
    cells: dict[datetime, Window],
    hist: dict[datetime, list[int]],
) -> dict[datetime, int]:
    """Ok probabilities with max(p, 1 - p) < tau per window: the bins below tau's, and tau's own bin
    from the raw rows."""
    if tau is None or tau > 1:
        return {t: w.n_prob for t, w in cells.items()}
    if tau <= 0.5:
        return dict.fromkeys(cells, 0)
    j = rollup.tau_bin(tau)
    out = {t: sum(h[:j]) for t, h in hist.items()}
    if any(h[j] for h in hist.values()):
        for t, k in rollup.boundary_reviews(ws, project, name, version, bucket, start, end, tau).items():
            out[t] = out.get(t, 0) + k
    return out


def overview_counts(
    ws: Workspace,
    project: str,
    evaluator: str | None,
    bucket: str,
    start: datetime,
    end: datetime,
    *,
    time_axis: TimeAxis = "session",
    tau: float | None = None,
    rule: bool = False,
) -> tuple[Counter, WindowCounts]:
    """Sessions per window and the evaluator's `window_counts`: from the rollup by session time over
    whole hours, from the raw rows otherwise."""
    if time_axis == "session" and _on_hours(start, end) and rollup.refresh(ws, project):
        sessions = rollup.session_hours(ws, project, bucket, start, end)
        if evaluator is None:
            return sessions, WindowCounts(series=None)
        return sessions, rollup_counts(ws, project, evaluator, bucket, start, end, tau=tau, rule=rule)
    sessions, bounds = traffic(ws, project, bucket, start, end)
    if evaluator is None:
        return sessions, WindowCounts(series=None)
    counts = window_counts(ws, project, evaluator, bucket, start, end, time_axis=time_axis, tau=tau,
                           rule=rule, session_bounds=bounds, use_rollup=False)  # fmt: skip
    return sessions, counts


def session_counts(ws: Workspace, project: str, bucket: str, start: datetime, end: datetime) -> Counter:
    """{window start: sessions created in it}, grouped in SQL."""
    return traffic(ws, project, bucket, start, end)[0]


def traffic(
    ws: Workspace, project: str, bucket: str, start: datetime, end: datetime
) -> tuple[Counter, tuple[int, int] | None]:
    """`session_counts`, and the lowest and highest session pk of the period (`sql.session_pk_range`,
    from the same scan)."""
    t0 = window_start(SessionRow.created_at, bucket)
    with ws.reader() as db:
        pid = ws.project_id(db, project)
        q = (
            select(t0, func.count(), func.min(SessionRow.pk), func.max(SessionRow.pk))
            .where(
                SessionRow.project_id == pid,
                SessionRow.created_at >= as_utc(start),
                SessionRow.created_at < as_utc(end),
            )
            .group_by(t0)
        )
        rows = db.execute(q).all()
    counts = Counter({as_time(t): int(n) for t, n, _, _ in rows})
    bounds = (min(int(r[2]) for r in rows), max(int(r[3]) for r in rows)) if rows else None
    return counts, bounds
