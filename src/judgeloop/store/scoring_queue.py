"""The background-scoring queue: sampled sessions wait here until a server scores them.

Any number of servers may work on it at once. `claim` takes a batch of unclaimed items, or items whose
claim is older than `timeout_s` (the server that took them died or hung), with
`SELECT ... FOR UPDATE SKIP LOCKED` on PostgreSQL, so two servers never take the same items at once; on
SQLite (one server) the claim is a plain write transaction. `finish` stores the verdicts and marks the
items done in one transaction, and only for items still claimed by the caller: an item taken over by
another server gets its verdict from that server alone. Each `finish` also renews the caller's other
claims, so the timeout measures a server's silence, not the length of its batch. A session is queued
once (a unique row per session), so it gets one background verdict.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session as DB

from judgeloop.store.changes import is_postgres
from judgeloop.store.tables import ProjectRow, ScoringItemRow, SessionRow
from judgeloop.store.workspace import Workspace, session_from_row, verdict_row
from judgeloop.types import Session, Verdict, utcnow


@dataclass(frozen=True)
class Claimed:
    id: int
    project: str
    project_id: int
    session_pk: int
    session: Session


def add(db: DB, project_id: int, session_ids: Sequence[str], *, max_pending: int) -> tuple[int, int]:
    """Queue the project's sessions (by id) in the caller's transaction, while fewer than `max_pending`
    items wait. Returns (queued, dropped); a session queued before (waiting or done) counts as neither."""
    if not session_ids:
        return 0, 0
    waiting = db.scalar(
        select(func.count()).select_from(ScoringItemRow).where(ScoringItemRow.done_at.is_(None))
    )
    room = max(0, max_pending - int(waiting or 0))
    pks: dict[str, int] = {}
    ids = list(dict.fromkeys(session_ids))
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        found = select(SessionRow.uid, SessionRow.pk).where(
            SessionRow.project_id == project_id, SessionRow.uid.in_(chunk)
        )
        pks.update(db.execute(found).tuples().all())
    wanted = [pks[i] for i in ids if i in pks]
    taken, now, queued = wanted[:room], utcnow(), 0
    insert = postgresql.insert if is_postgres(db) else sqlite.insert
    for start in range(0, len(taken), 1000):
        part = taken[start : start + 1000]
        rows = [{"project_id": project_id, "session_pk": pk, "queued_at": now} for pk in part]
        stmt = insert(ScoringItemRow).values(rows).on_conflict_do_nothing(index_elements=["session_pk"])
        queued += len(db.execute(stmt.returning(ScoringItemRow.id)).all())  # only the rows it inserted
    dropped = len(wanted) - len(taken)
    if dropped:  # a dropped session that was queued before is not dropped
        earlier = db.scalar(
            select(func.count())
            .select_from(ScoringItemRow)
            .where(ScoringItemRow.session_pk.in_(wanted[room:]))
        )
        dropped -= int(earlier or 0)
    return queued, dropped


def _claimable(now: datetime, timeout_s: float):  # type: ignore[no-untyped-def]
    stale = now - timedelta(seconds=timeout_s)
    return (
        ScoringItemRow.done_at.is_(None),
        or_(ScoringItemRow.claimed_at.is_(None), ScoringItemRow.claimed_at < stale),
    )


def claim(ws: Workspace, owner: str, limit: int, timeout_s: float) -> list[Claimed]:
    """Take up to `limit` items for `owner` (oldest first); [] when none is free."""
    now = utcnow()
    with ws.reader() as db:  # a look first: an idle server takes no write lock
        if db.scalar(select(ScoringItemRow.id).where(*_claimable(now, timeout_s)).limit(1)) is None:
            return []
    with ws.db() as db:
        ids = list(
            db.scalars(
                select(ScoringItemRow.id)
                .where(*_claimable(now, timeout_s))
                .order_by(ScoringItemRow.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )
        if not ids:
            return []
        db.execute(
            update(ScoringItemRow)
            .where(ScoringItemRow.id.in_(ids))
            .values(claimed_by=owner, claimed_at=now)
            .execution_options(synchronize_session=False)
        )
        rows = db.execute(
            select(ScoringItemRow.id, ProjectRow.name, SessionRow)
            .join(SessionRow, SessionRow.pk == ScoringItemRow.session_pk)
            .join(ProjectRow, ProjectRow.id == ScoringItemRow.project_id)
            .where(ScoringItemRow.id.in_(ids))
            .order_by(ScoringItemRow.id)
        ).all()
        return [Claimed(i, name, r.project_id, r.pk, session_from_row(r, name)) for i, name, r in rows]


def finish(ws: Workspace, owner: str, done: Sequence[tuple[Claimed, Verdict]]) -> int:
    """Store the verdicts of items `owner` still holds and mark those done, in one transaction.
    Returns how many were stored (items taken over by another server are skipped)."""
    if not done:
        return 0
    with ws.db() as db:
        held = set(
            db.scalars(
                update(ScoringItemRow)
                .where(
                    ScoringItemRow.id.in_([c.id for c, _ in done]),
                    ScoringItemRow.claimed_by == owner,
                    ScoringItemRow.done_at.is_(None),
                )
                .values(done_at=utcnow())
                .returning(ScoringItemRow.id)
                .execution_options(synchronize_session=False)
            )
        )
        for item, verdict in done:
            if item.id in held:
                db.add(verdict_row(item.project_id, item.session_pk, verdict))
        db.execute(  # the caller is alive: the rest of its claims count from now
            update(ScoringItemRow)
            .where(ScoringItemRow.claimed_by == owner, ScoringItemRow.done_at.is_(None))
            .values(claimed_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        return len(held)


def pending(ws: Workspace) -> int:
    """Items not done yet (waiting or claimed), over every project."""
    with ws.reader() as db:
        return int(
            db.scalar(
                select(func.count()).select_from(ScoringItemRow).where(ScoringItemRow.done_at.is_(None))
            )
            or 0
        )


__all__ = ["Claimed", "add", "claim", "finish", "pending"]
