"""The outliers that need the whole traffic, found in SQL with a LIMIT (see `outliers` for the
strengths; these give the same rows as its Python functions over every session's latest ok verdicts):

- `evaluator_disagreements_sql`: sessions whose evaluators' latest ok labels differ. Only sessions that
  have a verdict of an evaluator other than the champion (or the evaluator of most recent verdicts)
  can have two evaluators, so those are the ones grouped; the vote split and the probability spread
  are computed per session in SQL and the strongest `limit` come back.
- `low_confidence_sql`: the latest ok verdicts closest to their threshold, from two short ranges of the
  index (project_id, evaluator, threshold, probability) per threshold, upwards and downwards from it,
  instead of a scan; ties at the cut are fetched so that the order (strength, then session id) is exact.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Float, case, cast, exists, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.functions import FunctionElement

from judgeloop.monitor.outliers import Outlier, confidence_margin
from judgeloop.monitor.queries import RECORD_COLUMNS, VerdictRecord, as_utc, record
from judgeloop.monitor.sql import latest_ok, latest_ok_on, thresholds_of
from judgeloop.store import Workspace
from judgeloop.store.tables import SessionRow, VerdictRow


class Round6(FunctionElement[Any]):
    """A float rounded to 6 decimals (the outliers' strengths are), on both backends."""

    inherit_cache = True
    name = "round6"


@compiles(Round6)
def _round6_pg(element: Any, compiler: Any, **kw: Any) -> str:
    return f"round(CAST(({compiler.process(element.clauses, **kw)}) AS NUMERIC), 6)"


@compiles(Round6, "sqlite")
def _round6_sqlite(element: Any, compiler: Any, **kw: Any) -> str:
    return f"round(({compiler.process(element.clauses, **kw)}), 6)"


def split_strength(v: Any) -> Any:
    """SQL, over a group of one session's latest ok labels of verdict alias `v`: the vote split
    2 min(k, m - k) / m times 0.9 + 0.1 x the spread of their probabilities, rounded to 6 decimals (the
    strength `outliers.evaluator_disagreements` gives)."""
    k, m = func.sum(v.label), func.count()
    split = case((k < m - k, k), else_=m - k)
    n_prob = func.count(v.probability)
    spread = case((n_prob >= 2, func.max(v.probability) - func.min(v.probability)), else_=0.0)
    return Round6(cast(2 * split, Float) / m * (0.9 + 0.1 * spread))


def disagreeing(v: Any, pid: int, others: list[str]) -> Any:
    """SQL: (session_pk, strength) of the sessions whose latest ok labels differ, grouped over the
    sessions with a verdict of one of `others` (every evaluator name but one: a session judged by two
    evaluators has a verdict of one of these)."""
    other = aliased(VerdictRow)
    k, m = func.sum(v.label), func.count()
    shared = select(other.session_pk).where(other.project_id == pid, other.evaluator.in_(others))
    return (
        select(v.session_pk, split_strength(v).label("strength"))
        .where(latest_ok(v, pid), v.label.is_not(None), v.session_pk.in_(shared))
        .group_by(v.session_pk)
        .having(m >= 2, k > 0, k < m)
    )


def evaluator_disagreements_sql(
    ws: Workspace, project: str, others: list[str], focus: str | None = None, limit: int = 20
) -> list[Outlier]:
    """`outliers.evaluator_disagreements` over the project's latest ok verdicts, strongest first
    (ties: oldest session first), at most `limit`: from the derived table (`monitor.derived`), or when it
    cannot be refreshed, grouped here over the sessions with a verdict of one of `others` (every
    evaluator name but one; leaving out the one that scores most of the traffic leaves the fewest)."""
    from judgeloop.monitor import derived

    v = aliased(VerdictRow)
    fresh = derived.refresh(ws, project)
    with ws.reader() as db:
        pid = ws.project_id(db, project)
        if fresh:
            found = derived.disagreements_of(pid, focus).subquery()
        else:
            grouped = disagreeing(v, pid, others)
            if focus is not None:
                grouped = grouped.having(func.sum(case((v.evaluator == focus, 1), else_=0)) > 0)
            found = grouped.subquery()
        q = select(found.c.session_pk).order_by(found.c.strength.desc(), found.c.session_pk).limit(limit)
        pks = list(db.scalars(q))
        if not pks:
            return []
        rows = db.execute(
            select(v.session_pk, SessionRow.uid, v.evaluator, v.label, v.probability)
            .join(SessionRow, SessionRow.pk == v.session_pk)
            .where(latest_ok_on(v, pks), v.label.is_not(None))
            .order_by(v.evaluator)
        ).all()
    per: dict[int | None, list[Any]] = {}
    for r in rows:
        per.setdefault(r.session_pk, []).append(r)
    out = [_disagreement(per[pk]) for pk in pks]
    return sorted(out, key=lambda o: -o.strength)  # stable: the SQL order breaks ties


def _disagreement(rows: list[Any]) -> Outlier:
    labels = [int(r.label or 0) for r in rows]
    k, m = sum(labels), len(labels)
    probs = [r.probability for r in rows if r.probability is not None]
    spread = (max(probs) - min(probs)) if len(probs) >= 2 else 0.0
    return Outlier(
        rows[0].uid,
        "evaluators",
        round(2 * min(k, m - k) / m * (0.9 + 0.1 * spread), 6),
        {
            "labels": {r.evaluator: r.label for r in rows},
            "probabilities": {r.evaluator: r.probability for r in rows},
        },
    )


def most_recent_evaluator(ws: Workspace, project: str, sample: int = 1000) -> str | None:
    """The evaluator with the most of the project's last `sample` verdicts: without a champion, the
    likeliest to score most of the traffic (any choice gives the same outliers, this one the fewest rows
    to group)."""
    with ws.reader() as db:
        return most_recent_in(db, ws.project_id(db, project), sample)


def most_recent_in(db: Any, pid: int, sample: int = 1000) -> str | None:
    """`most_recent_evaluator` of project `pid`, in an open session."""
    v = VerdictRow
    names = list(
        db.scalars(select(v.evaluator).where(v.project_id == pid).order_by(v.id.desc()).limit(sample))
    )
    return max(sorted(set(names)), key=names.count) if names else None


def scored_names(ws: Workspace, project: str, names: list[str]) -> list[str]:
    """Those of `names` with an ok verdict on a session (one index probe each)."""
    v = VerdictRow
    with ws.reader() as db:
        pid = ws.project_id(db, project)
        return [
            n
            for n in names
            if db.scalar(
                select(
                    exists().where(
                        v.project_id == pid, v.evaluator == n, v.status == "ok", v.session_pk.is_not(None)
                    )
                )
            )
        ]


def low_confidence_sql(ws: Workspace, project: str, name: str, limit: int) -> list[Outlier]:
    """`outliers.low_confidence` of evaluator `name`'s latest ok verdicts, closest to the threshold first
    (ties by session id), at most `limit`."""
    v = VerdictRow
    with ws.reader() as db:
        pid = ws.project_id(db, project)
        base = (
            select(*RECORD_COLUMNS, SessionRow.uid, SessionRow.meta.label("session_meta"))
            .join(SessionRow, SessionRow.pk == v.session_pk)
            .where(latest_ok(v, pid), v.evaluator == name, v.probability.is_not(None))
        )
        thresholds = thresholds_of(db, pid, name)

        def side(t: float | None, up: bool, bound: float | None = None) -> Any:
            at = 0.5 if t is None else t
            q = base.where(v.threshold.is_(None) if t is None else v.threshold == t)
            if up:
                q = q.where(v.probability >= at).order_by(v.probability)
                return q if bound is None else q.where(v.probability <= bound)
            q = q.where(v.probability < at).order_by(v.probability.desc())
            return q if bound is None else q.where(v.probability >= bound)

        pool: dict[tuple[Any, bool], list[VerdictRecord]] = {}
        for t in thresholds:
            for up in (True, False):
                pool[(t, up)] = _records(db.execute(side(t, up).limit(limit)))
        found = _ranked(r for rows in pool.values() for r in rows)
        if len(found) >= limit:
            cut = found[limit - 1].strength - 1e-6  # rows that may round to the cut's strength
            for (t, up), rows in pool.items():
                if len(rows) == limit and (confidence_margin(rows[-1]) or 0.0) >= cut:
                    at = 0.5 if t is None else t
                    reach = (1 - cut) * max(at, 1 - at)
                    pool[(t, up)] = _records(db.execute(side(t, up, at + reach if up else at - reach)))
            found = _ranked(r for rows in pool.values() for r in rows)
    return found[:limit]


def _records(rows: Any) -> list[VerdictRecord]:
    return [record(r, r.uid, r.session_meta or {}, as_utc(r.created_at)) for r in rows]


def _ranked(records: Any) -> list[Outlier]:
    out = {}
    for r in records:
        c = confidence_margin(r)
        if c is not None and r.session_id:
            out[r.session_id] = Outlier(
                r.session_id,
                "low-confidence",
                round(c, 6),
                {"probability": r.probability, "threshold": r.threshold},
            )
    return sorted(out.values(), key=lambda o: (-o.strength, o.session_id))


__all__ = [
    "Round6",
    "disagreeing",
    "evaluator_disagreements_sql",
    "most_recent_in",
    "split_strength",
    "low_confidence_sql",
    "most_recent_evaluator",
    "scored_names",
]
