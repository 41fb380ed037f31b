"""Tables derived from the raw rows for the pages that compare evaluators with humans and with each
other, stored in the database and refreshed by readers (as the hourly rollup is, `monitor.rollup`).

- `labelled_sessions`: every session with a label, with its binary human consensus
  (`store.labels.human_label`, the one rule) or None;
- `labelled_verdicts`: a copy of those sessions' verdicts that agreement, calibration and the outliers
  use (each evaluator version's latest verdict on the session and its latest ok one), with the columns
  they read (not the rationale, raw output or error);
- `verdict_hours` (`monitor.verdict_hours`): every verdict counted per evaluator version and hour;
- `disagreements`: the sessions whose evaluators' latest ok labels differ, with the vote-split strength
  of `outliers.evaluator_disagreements` (rounded to 6 decimals), one row with evaluator '' and one per
  evaluator with such a label on the session.

`refresh` catches a project up from its watermark (`derived_marks`: the highest verdict id and label id
read). Verdicts newer than the mark are copied when their session is labelled, and their sessions'
disagreements are recomputed (a new verdict can only change its own session's); labels newer than the
mark recompute their sessions' consensus, and a session labelled for the first time gets its older
verdicts copied. Labels are append-only (an undo is a new row), so nothing else can change. The locks
are the rollup's (`rollup.refresh_locked`): on PostgreSQL inserts into labels take the same shared
advisory lock as sessions and verdicts (migration i19c), so no id under the mark is still uncommitted.
When the lock cannot be had in time the callers read the raw rows.
"""

from __future__ import annotations

import threading
from collections import Counter, OrderedDict, defaultdict
from collections.abc import Sequence
from typing import Any, NamedTuple

from sqlalchemy import Text, and_, cast, delete, func, insert, literal, or_, select
from sqlalchemy.orm import Session as DB
from sqlalchemy.orm import aliased

from judgeloop.monitor import verdict_hours
from judgeloop.monitor.queries import VerdictRecord, load_records
from judgeloop.monitor.sql import evaluator_names, latest_ok, top_id
from judgeloop.store import Workspace, human_label, human_labels
from judgeloop.store.tables import (
    DerivedMarkRow,
    DisagreementRow,
    LabelledSessionRow,
    LabelledVerdictRow,
    LabelRow,
    ProjectRow,
    SessionRow,
    VerdictRow,
)
from judgeloop.store.workspace import LABEL_COLUMNS, label_from_row

REFRESH_KEY = 191921  # taken by refreshes of these tables only
CHUNK = 5000  # sessions per IN list


def _tops(db: DB, pid: int) -> tuple[int, int, int]:
    v = top_id(db, VerdictRow.id, VerdictRow.project_id, pid)
    lab = db.scalar(select(func.max(LabelRow.id)).where(LabelRow.project_id == pid)) or 0
    return v, int(lab), top_id(db, SessionRow.pk, SessionRow.project_id, pid)


def refresh(ws: Workspace, project: str) -> bool:
    """Catch the project's derived tables up with its verdicts, labels and sessions; False when the lock
    could not be had in time (the caller then reads the raw rows)."""
    from judgeloop.monitor.rollup import refresh_locked

    with ws.reader() as db:
        pid = ws.project_id(db, project)
        mark = db.get(DerivedMarkRow, pid)
        if mark is not None and (mark.verdict_id, mark.label_id, mark.session_pk) == _tops(db, pid):
            return True
    return refresh_locked(ws, pid, _tops, catch_up, REFRESH_KEY)


def catch_up(db: DB, pid: int, tops: tuple[int, int, int] | None = None) -> None:
    """Bring the tables up to `tops` (the highest verdict id, label id and session pk known committed;
    else the highest now) and move the mark, inside the refresh lock."""
    mark = db.get(DerivedMarkRow, pid)
    if mark is None:
        mark = DerivedMarkRow(project_id=pid, verdict_id=0, label_id=0, session_pk=0, sessions=0, verdicts=0)
        db.add(mark)
    top_v, top_l, top_s = tops if tops is not None else _tops(db, pid)
    if top_v <= mark.verdict_id and top_l <= mark.label_id and top_s <= mark.session_pk:
        return  # another refresh got here first
    top_v, top_l, top_s = max(top_v, mark.verdict_id), max(top_l, mark.label_id), max(top_s, mark.session_pk)
    if top_s > mark.session_pk:
        s = SessionRow
        mark.sessions += _count(db, s.project_id == pid, s.pk.between(mark.session_pk + 1, top_s))
    if top_v > mark.verdict_id:
        v = VerdictRow
        mark.verdicts += _count(db, v.project_id == pid, v.id.between(mark.verdict_id + 1, top_v))
        _copy_verdicts(db, pid, mark.verdict_id, top_v)  # of the sessions labelled before this refresh
        _recount_disagreements(db, pid, mark.verdict_id, top_v)
        verdict_hours.add(db, pid, mark.verdict_id, top_v)
    if top_l > mark.label_id:
        _relabel(db, pid, mark.label_id, top_l, top_v)
    mark.verdict_id, mark.label_id, mark.session_pk = top_v, top_l, top_s
    db.flush()


def _count(db: DB, *where: Any) -> int:
    return int(db.scalar(select(func.count()).where(*where)) or 0)


# --- labelled sessions and their verdicts ---------------------------------------------------------

_COPIED = ("verdict_id", "project_id", "session_pk", "uid", "evaluator", "version", "label", "probability",
           "score", "threshold", "status")  # fmt: skip


def _copy(pid: int, where: Any) -> Any:
    v, ls = VerdictRow, LabelledSessionRow
    source = (
        select(
            v.id,
            literal(pid),
            v.session_pk,
            ls.uid,
            v.evaluator,
            v.version,
            v.label,
            v.probability,
            v.score,
            v.threshold,
            v.status,
        )  # fmt: skip
        .join(ls, and_(ls.project_id == pid, ls.session_pk == v.session_pk))
        .where(v.project_id == pid, where)
    )
    return insert(LabelledVerdictRow).from_select(list(_COPIED), source)


def _copy_verdicts(db: DB, pid: int, after: int, upto: int) -> None:
    db.execute(_copy(pid, VerdictRow.id.between(after + 1, upto)))
    new = aliased(LabelledVerdictRow)
    _prune(db, pid, select(new.session_pk).where(new.project_id == pid, new.verdict_id > after))


def _prune(db: DB, pid: int, sessions: Any) -> None:
    """Drop the copies no reader can use, on `sessions` (session pks, a list or a subquery): a
    verdict with a later one of the same evaluator version that is ok, or that is not ok itself and has
    any later one. What is kept holds each (evaluator, version, session)'s latest verdict and its latest
    ok one, so the latest ok of each evaluator name too (what agreement, calibration and the outliers
    read); the table stays at about labelled sessions x versions however often they are re-scored."""
    r, w = LabelledVerdictRow, aliased(LabelledVerdictRow)
    later = (
        select(w.verdict_id)
        .where(w.project_id == pid, w.session_pk == r.session_pk, w.evaluator == r.evaluator)
        .where(w.version.is_not_distinct_from(r.version), w.verdict_id > r.verdict_id)
        .where(or_(w.status == "ok", r.status != "ok"))
    )
    db.execute(delete(r).where(r.project_id == pid, r.session_pk.in_(sessions), later.exists()))


def _relabel(db: DB, pid: int, after: int, upto: int, top_v: int) -> None:
    """Recompute the consensus of the sessions with labels in (after, upto]; copy the verdicts (up to
    `top_v`) of those labelled for the first time."""
    lab, ls = LabelRow, LabelledSessionRow
    touched = list(
        db.scalars(
            select(lab.session_pk).where(lab.project_id == pid, lab.id.between(after + 1, upto)).distinct()
        )
    )
    for i in range(0, len(touched), CHUNK):
        pks = touched[i : i + CHUNK]
        known = set(db.scalars(select(ls.session_pk).where(ls.project_id == pid, ls.session_pk.in_(pks))))
        uid = select(SessionRow.uid).where(SessionRow.pk == lab.session_pk).scalar_subquery()
        rows = db.execute(
            select(*LABEL_COLUMNS, lab.session_pk, uid.label("uid"))
            .where(lab.project_id == pid, lab.session_pk.in_(pks), lab.id <= upto)
            .order_by(lab.id)
        ).all()
        per: dict[int, list[Any]] = defaultdict(list)
        uids: dict[int, str] = {}
        for r in rows:
            per[r.session_pk].append(label_from_row(r, r.uid))
            uids[r.session_pk] = r.uid
        db.execute(delete(ls).where(ls.project_id == pid, ls.session_pk.in_(pks)))
        db.execute(
            insert(ls),
            [
                {"project_id": pid, "session_pk": pk, "uid": uids[pk], "human": human_label(labs)}
                for pk, labs in per.items()
            ],  # fmt: skip
        )
        fresh = [pk for pk in pks if pk not in known]
        if fresh:
            db.execute(_copy(pid, and_(VerdictRow.session_pk.in_(fresh), VerdictRow.id <= top_v)))
            _prune(db, pid, fresh)


# --- disagreements between evaluators -------------------------------------------------------------


def _recount_disagreements(db: DB, pid: int, after: int, upto: int) -> None:
    """Recompute the rows of the sessions with verdicts in (after, upto] (of every session on the first
    build). Only sessions with a verdict of an evaluator other than the one scoring most of the traffic
    can have two evaluators, so only those are grouped."""
    from judgeloop.monitor.outliers_sql import disagreeing, most_recent_in

    d = DisagreementRow
    v, new = aliased(VerdictRow), aliased(VerdictRow)
    common = most_recent_in(db, pid)
    others = [n for n in evaluator_names(db, pid) if n != common]
    touched = select(new.session_pk).where(new.project_id == pid, new.id.between(after + 1, upto))
    if after > 0:
        db.execute(delete(d).where(d.project_id == pid, d.session_pk.in_(touched)))
    if not others:
        return
    grouped = disagreeing(v, pid, others)
    if after > 0:
        grouped = grouped.where(v.session_pk.in_(touched))
    g = grouped.subquery()
    columns = ["project_id", "evaluator", "session_pk", "uid", "strength"]
    s = SessionRow
    found = select(literal(pid), literal(""), g.c.session_pk, s.uid, g.c.strength).join(
        s, s.pk == g.c.session_pk
    )
    db.execute(insert(d).from_select(columns, found))
    any_ = aliased(DisagreementRow)
    each = (
        select(literal(pid), v.evaluator, any_.session_pk, any_.uid, any_.strength)
        .join(v, v.session_pk == any_.session_pk)
        .where(any_.project_id == pid, any_.evaluator == "", latest_ok(v, pid), v.label.is_not(None))
    )
    if after > 0:
        each = each.where(any_.session_pk.in_(touched))
    db.execute(insert(d).from_select(columns, each))


# --- reading --------------------------------------------------------------------------------------


class LabelledVerdict(NamedTuple):
    """A verdict of a labelled session as the agreement pages read it (duck-typed like
    `queries.VerdictRecord`: no time, rationale or session metadata)."""

    verdict_id: int
    session_id: str
    evaluator: str
    version: str | None
    label: int | None
    probability: float | None
    score: float | None
    threshold: float | None
    status: str


_read: OrderedDict[tuple[str, str], tuple[tuple[Any, ...], dict[str, bool], tuple[LabelledVerdict, ...]]]
_read = OrderedDict()  # (database, project) -> what `labelled` last read there, with its key
_read_lock = threading.Lock()
KEEP_READ = 8  # projects kept per process


def labelled(
    ws: Workspace, project: str
) -> tuple[dict[str, bool], Sequence[LabelledVerdict | VerdictRecord]]:
    """The humans' consensus {session id: good} and the labelled sessions' verdicts that agreement,
    calibration and the outliers use, by id (the same figures as `human_labels(ws.labels(project))` and
    `load_records(labelled=True, session_meta=False)` give them), from the derived tables; from the raw
    rows when they cannot be refreshed.

    The rows last read are kept in the process with the tables' state (the highest copied verdict id,
    the number of copies, the label mark and the project's creation time: a copy, a prune and a relabel
    each change one, and a database made again under the same URL changes the last), so that
    traffic on unlabelled sessions (nearly all of it) costs a page no reading of these rows."""
    if not refresh(ws, project):
        return human_labels(ws.labels(project)), load_records(ws, project, labelled=True, session_meta=False)
    ls, lv = LabelledSessionRow, LabelledVerdictRow
    with ws.reader() as db:
        pid = ws.project_id(db, project)
        mark = db.get(DerivedMarkRow, pid)
        top, n = db.execute(select(func.max(lv.verdict_id), func.count()).where(lv.project_id == pid)).one()
        born = db.scalar(select(ProjectRow.created_at).where(ProjectRow.id == pid))  # a re-made database
        key = (top, n, mark.label_id if mark else 0, born)
        with _read_lock:
            hit = _read.get((ws.url, project))
        if hit is not None and hit[0] == key:
            return dict(hit[1]), hit[2]
        humans = db.execute(select(ls.uid, ls.human).where(ls.project_id == pid, ls.human.is_not(None))).all()
        rows = db.execute(
            select(*(getattr(lv, c) for c in ("verdict_id", "uid", *LabelledVerdict._fields[2:])))
            .where(lv.project_id == pid)
            .order_by(lv.verdict_id)
        )
        records = tuple(map(LabelledVerdict._make, rows))
    consensus = {uid: bool(good) for uid, good in humans}
    with _read_lock:
        _read[(ws.url, project)] = (key, consensus, records)
        _read.move_to_end((ws.url, project))
        while len(_read) > KEEP_READ:
            _read.popitem(last=False)
    return dict(consensus), records


def project_stats(ws: Workspace, project: str) -> dict[str, Any]:
    """`Workspace.stats` from the derived tables: the session and verdict counts kept with the mark, the
    consensus of the labelled sessions, and the labels' kinds and reviewers grouped in SQL (only labels
    with failure tags are read); from the raw rows when the tables cannot be refreshed."""
    if not refresh(ws, project):
        return ws.stats(project)
    lab, ls = LabelRow, LabelledSessionRow
    with ws.reader() as db:
        pid = ws.project_id(db, project)
        mark = db.get(DerivedMarkRow, pid)
        n_sessions, n_verdicts = (mark.sessions, mark.verdicts) if mark else (0, 0)
        order = (func.count().desc(), func.min(lab.id))  # as Counter.most_common: ties by first seen
        kinds = db.execute(select(lab.kind, func.count()).where(lab.project_id == pid).group_by(lab.kind)
                           .order_by(func.min(lab.id))).all()  # fmt: skip
        reviewers = db.execute(select(lab.reviewer, func.count()).where(lab.project_id == pid)
                               .group_by(lab.reviewer).order_by(*order)).all()  # fmt: skip
        tagged = db.scalars(
            select(lab.failure_tags)
            .where(lab.project_id == pid, cast(lab.failure_tags, Text).not_in(["[]", "null"]))
            .order_by(lab.id)
        )
        tags = Counter(t for row in tagged for t in row or [])
        votes = dict(
            db.execute(select(ls.human, func.count()).where(ls.project_id == pid).group_by(ls.human)).all()
        )
    labelled_sessions = sum(votes.values())
    return {
        "project": project,
        "sessions": n_sessions,
        "labels": sum(n for _, n in kinds),
        "labelled_sessions": labelled_sessions,
        "unlabelled_sessions": n_sessions - labelled_sessions,
        "good": votes.get(True, 0),
        "bad": votes.get(False, 0),
        "verdicts": n_verdicts,
        "kinds": dict(kinds),
        "reviewers": dict(reviewers),
        "failure_tags": dict(tags.most_common()),
    }


def disagreements_of(pid: int, focus: str | None = None) -> Any:
    """SQL: (session_pk, uid, strength) of project `pid`'s disagreements between evaluators (involving
    `focus` when given); call `refresh` first."""
    d = DisagreementRow
    return select(d.session_pk, d.uid, d.strength).where(d.project_id == pid, d.evaluator == (focus or ""))


__all__ = ["catch_up", "disagreements_of", "labelled", "project_stats", "refresh"]
