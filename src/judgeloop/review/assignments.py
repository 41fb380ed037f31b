"""Who labels what: race-free claims of queue items, completion, skip and undo.

An item of a queue with overlap k takes at most k *live* assignments (done, or assigned less than
`stale_minutes` ago); the unique (item, reviewer) constraint means nobody gets the same item twice.
A claim runs in one transaction: on SQLite every transaction begins IMMEDIATE, so claims serialize;
on PostgreSQL the candidate item is locked with `SELECT ... FOR UPDATE SKIP LOCKED` and its live
assignments are counted again under the lock before one is added. A unique-constraint race (the same
reviewer claiming from two tabs) rolls back and retries.

An assignment is done when the reviewer's label arrives: `complete_assignment` marks it (call it where
labels are stored), and every claim first marks the caller's own assignments whose label is already
there, so a label posted anywhere (`POST /v1/labels`) completes it. Undo never deletes: it appends a
withdrawal label (see judgeloop.store.labels) and hands the item back to the same reviewer.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as DB
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from judgeloop.errors import Conflict, NotFound
from judgeloop.review.schemas import Claim, Queue, Summary, Undone
from judgeloop.store import Workspace
from judgeloop.store.labels import UNDO_OF
from judgeloop.store.tables import AssignmentRow, LabelRow, QueueItemRow, SessionRow
from judgeloop.types import utcnow

STALE_MINUTES = 30.0
CLAIM_RETRIES = 5
LOCK_TRIES = 50

A = AssignmentRow
Item = QueueItemRow


def as_utc(value: datetime) -> datetime:
    """SQLite hands datetimes back naive (they are stored in UTC); PostgreSQL hands them back aware."""
    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)


def stale_cutoff(stale_minutes: float) -> datetime:
    return utcnow() - timedelta(minutes=stale_minutes)


def live_filter(row: Any, cutoff: datetime) -> ColumnElement[bool]:
    """Assignments that hold a slot of their item: done, or assigned and not yet stale."""
    return or_(row.state == "done", and_(row.state == "assigned", row.assigned_at >= cutoff))


# --- completion ------------------------------------------------------------------------------


def _live_label_times(rows: Sequence[Any]) -> dict[tuple[int, str], list[datetime]]:
    """(session_pk, reviewer) -> when live labels were made, from (id, session_pk, reviewer, created_at,
    metadata) rows: undo rows and the labels they withdraw are left out."""
    owner = {lid: reviewer for lid, _, reviewer, _, _ in rows}
    withdrawn = {
        ref for _, _, reviewer, _, meta in rows if owner.get(ref := (meta or {}).get(UNDO_OF)) == reviewer
    }
    out: dict[tuple[int, str], list[datetime]] = {}
    for lid, pk, reviewer, created, meta in rows:
        if UNDO_OF not in (meta or {}) and lid not in withdrawn:
            out.setdefault((pk, reviewer), []).append(as_utc(created))
    return out


def _label_rows(db: DB, session_pks: Any, reviewer: str | None = None) -> Sequence[Any]:
    q = select(LabelRow.id, LabelRow.session_pk, LabelRow.reviewer, LabelRow.created_at, LabelRow.meta).where(
        LabelRow.session_pk.in_(session_pks)
    )
    return db.execute(q if reviewer is None else q.where(LabelRow.reviewer == reviewer)).all()


def _labelled_since(
    times: dict[tuple[int, str], list[datetime]], pk: int, reviewer: str, since: datetime
) -> bool:
    return any(t >= as_utc(since) for t in times.get((pk, reviewer), []))


def _reconcile(db: DB, queue_id: int, reviewer: str) -> None:
    """Mark done the reviewer's open assignments whose label has arrived since they were assigned."""
    rows = db.execute(
        select(A, Item.session_pk)
        .join(Item, Item.id == A.item_id)
        .where(Item.queue_id == queue_id, A.reviewer == reviewer, A.state.in_(("assigned", "expired")))
    ).all()
    if not rows:
        return
    times = _live_label_times(_label_rows(db, [pk for _, pk in rows], reviewer))
    for assignment, pk in rows:
        if _labelled_since(times, pk, reviewer, assignment.assigned_at):
            assignment.state, assignment.done_at = "done", utcnow()


def assignment_states(db: DB, queue_id: int) -> list[tuple[int, str, str, datetime]]:
    """(item_id, reviewer, state, assigned_at) of every assignment of the queue, read-only, with an open
    assignment whose label has arrived counted as done (whether or not anyone marked it yet)."""
    rows = db.execute(
        select(A.item_id, Item.session_pk, A.reviewer, A.state, A.assigned_at)
        .join(Item, Item.id == A.item_id)
        .where(Item.queue_id == queue_id)
    ).all()
    open_pks = select(Item.session_pk).where(Item.queue_id == queue_id)
    times = _live_label_times(_label_rows(db, open_pks)) if any(r[3] != "done" for r in rows) else {}
    out = []
    for item_id, pk, reviewer, state, at in rows:
        if state in ("assigned", "expired") and _labelled_since(times, pk, reviewer, at):
            state = "done"
        out.append((item_id, reviewer, state, at))
    return out


def complete_assignment(ws: Workspace, queue_id: int, session_id: str, reviewer: str) -> bool:
    """Mark `reviewer`'s assignment of `session_id` in the queue done (idempotent).

    Returns whether there was an open one. Call it after storing a label that carries a queue_id.
    """
    with ws.db() as db:
        row = db.scalar(
            select(A)
            .join(Item, Item.id == A.item_id)
            .join(SessionRow, SessionRow.pk == Item.session_pk)
            .where(Item.queue_id == queue_id, SessionRow.uid == session_id, A.reviewer == reviewer)
        )
        if row is None or row.state == "done":
            return False
        row.state, row.done_at = "done", utcnow()
        return True


# --- claiming --------------------------------------------------------------------------------


def _own_open(db: DB, queue_id: int, reviewer: str) -> AssignmentRow | None:
    return db.scalar(
        select(A)
        .join(Item, Item.id == A.item_id)
        .where(Item.queue_id == queue_id, A.reviewer == reviewer, A.state == "assigned")
        .order_by(A.assigned_at.desc(), A.id.desc())
        .limit(1)
    )


def _candidates(queue: Queue, reviewer: str, cutoff: datetime) -> Any:
    held = aliased(AssignmentRow)
    mine = aliased(AssignmentRow)
    live = (
        select(func.count(held.id))
        .where(held.item_id == Item.id, live_filter(held, cutoff))
        .correlate(Item)
        .scalar_subquery()
    )
    seen = select(mine.id).where(mine.item_id == Item.id, mine.reviewer == reviewer).correlate(Item).exists()
    return (
        select(Item)
        .where(Item.queue_id == queue.id, ~seen, live < queue.overlap)
        .order_by(Item.priority.desc(), Item.id)
    )


def _still_open(db: DB, item_id: int, overlap: int, reviewer: str, cutoff: datetime) -> bool:
    """Counted again once the item is locked (a new statement sees what others committed meanwhile)."""
    rows = db.execute(select(A.reviewer, A.state, A.assigned_at).where(A.item_id == item_id)).all()
    if any(r == reviewer for r, _, _ in rows):
        return False
    aware = as_utc(cutoff)
    live = sum(1 for _, s, t in rows if s == "done" or (s == "assigned" and as_utc(t) >= aware))
    return live < overlap


def _lock_next(db: DB, queue: Queue, reviewer: str, cutoff: datetime) -> QueueItemRow | None:
    base = _candidates(queue, reviewer, cutoff)
    tried: list[int] = []
    for _ in range(LOCK_TRIES):
        q = base.where(Item.id.notin_(tried)) if tried else base
        item = db.scalar(q.limit(1).with_for_update(of=Item, skip_locked=True))
        if item is None:  # whatever is left is being claimed right now: wait for it, then recount
            item = db.scalar(q.limit(1).with_for_update(of=Item))
        if item is None:
            return None
        if _still_open(db, item.id, queue.overlap, reviewer, cutoff):
            return item
        tried.append(item.id)
    return None


def _assign(db: DB, queue: Queue, item: QueueItemRow, reviewer: str, cutoff: datetime) -> Claim:
    db.execute(
        update(A)
        .where(A.item_id == item.id, A.state == "assigned", A.assigned_at < cutoff)
        .values(state="expired")
    )
    swap = queue.mode == "pairwise" and random.random() < 0.5  # display order only
    row = AssignmentRow(item_id=item.id, reviewer=reviewer, state="assigned", meta={"swap": swap})
    db.add(row)
    db.flush()
    return Claim(assignment_id=row.id, item_id=item.id, session_pk=item.session_pk, swap=swap)


def _claim(row: AssignmentRow, session_pk: int, resumed: bool) -> Claim:
    swap = bool((row.meta or {}).get("swap"))
    return Claim(assignment_id=row.id, item_id=row.item_id, session_pk=session_pk, swap=swap, resumed=resumed)


def claim_next(
    ws: Workspace, queue: Queue, reviewer: str, *, stale_minutes: float = STALE_MINUTES
) -> Claim | None:
    """The caller's unfinished item, else a newly assigned one, else None (nothing left for them)."""
    for _ in range(CLAIM_RETRIES):
        try:
            with ws.db() as db:
                _reconcile(db, queue.id, reviewer)
                own = _own_open(db, queue.id, reviewer)
                if own is not None:
                    pk = db.scalar(select(Item.session_pk).where(Item.id == own.item_id))
                    return _claim(own, int(pk or 0), resumed=True)
                cutoff = stale_cutoff(stale_minutes)
                item = _lock_next(db, queue, reviewer, cutoff)
                return None if item is None else _assign(db, queue, item, reviewer, cutoff)
        except IntegrityError:
            continue  # the same reviewer claimed the same item from elsewhere: look again
    raise Conflict(f"could not claim an item of queue {queue.id} after {CLAIM_RETRIES} tries; try again")


# --- skip and undo ---------------------------------------------------------------------------


def _owned(db: DB, queue_id: int, reviewer: str, assignment_id: int) -> AssignmentRow:
    row = db.scalar(
        select(A)
        .join(Item, Item.id == A.item_id)
        .where(A.id == assignment_id, Item.queue_id == queue_id, A.reviewer == reviewer)
    )
    if row is None:
        raise NotFound(f"no assignment {assignment_id} of {reviewer!r} in queue {queue_id}")
    return row


def skip(ws: Workspace, queue_id: int, reviewer: str, assignment_id: int) -> None:
    """Give an item back unlabelled: others may take it; this reviewer will not see it again."""
    with ws.db() as db:
        row = _owned(db, queue_id, reviewer, assignment_id)
        if row.state != "assigned":
            raise Conflict(f"assignment {assignment_id} is {row.state}, not open")
        row.state, row.done_at = "skipped", utcnow()


def _latest_closed(db: DB, queue_id: int, reviewer: str) -> tuple[AssignmentRow, int] | None:
    found = db.execute(
        select(A, Item.session_pk)
        .join(Item, Item.id == A.item_id)
        .where(Item.queue_id == queue_id, A.reviewer == reviewer, A.state.in_(("done", "skipped")))
        .order_by(A.done_at.desc(), A.id.desc())
        .limit(1)
    ).first()
    return None if found is None else (found[0], found[1])


def _withdraw(db: DB, queue_id: int, reviewer: str, session_pk: int) -> tuple[int | None, int | None]:
    """Append an undo row for the reviewer's latest live label of the session: (withdrawn id, undo id)."""
    rows = db.scalars(
        select(LabelRow)
        .where(LabelRow.session_pk == session_pk, LabelRow.reviewer == reviewer)
        .order_by(LabelRow.id)
    ).all()
    withdrawn = {(r.meta or {}).get(UNDO_OF) for r in rows}
    live = [r for r in rows if UNDO_OF not in (r.meta or {}) and r.id not in withdrawn]
    if not live:
        return None, None
    target = live[-1]
    undo = LabelRow(
        project_id=target.project_id,
        session_pk=session_pk,
        reviewer=reviewer,
        kind=target.kind,
        failure_tags=[],
        queue_id=queue_id,
        meta={UNDO_OF: target.id},
    )
    db.add(undo)
    db.flush()
    return target.id, undo.id


def undo_last(ws: Workspace, queue_id: int, reviewer: str) -> Undone:
    """Revert the reviewer's latest label (or skip) in the queue; the item is theirs to label again."""
    with ws.db() as db:
        _reconcile(db, queue_id, reviewer)
        found = _latest_closed(db, queue_id, reviewer)
        if found is None:
            raise NotFound("nothing to undo in this queue")
        row, pk = found
        withdrawn, undo_id = _withdraw(db, queue_id, reviewer, pk) if row.state == "done" else (None, None)
        row.state, row.assigned_at, row.done_at = "assigned", utcnow(), None
        uid = db.scalar(select(SessionRow.uid).where(SessionRow.pk == pk)) or ""
        return Undone(
            assignment_id=row.id, session_id=uid, withdrawn_label_id=withdrawn, undo_label_id=undo_id
        )


# --- progress --------------------------------------------------------------------------------


def summary(ws: Workspace, queue: Queue, reviewer: str) -> Summary:
    with ws.db() as db:
        done = Counter(r for _, r, state, _ in assignment_states(db, queue.id) if state == "done")
    return Summary(
        items=queue.items,
        needed=queue.items * queue.overlap,
        done=sum(done.values()),
        mine=done.get(reviewer, 0),
    )


__all__ = [
    "STALE_MINUTES",
    "as_utc",
    "assignment_states",
    "claim_next",
    "complete_assignment",
    "live_filter",
    "skip",
    "stale_cutoff",
    "summary",
    "undo_last",
]
