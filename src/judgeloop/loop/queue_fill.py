"""Fill a review queue from an active-selection strategy: rows in `queues` / `queue_items`.

The review pages read the same tables. A queue is found by (project, name) and created when missing
(its `strategy` column records the strategy that created it); sessions already in the queue are
skipped, so filling twice extends the queue instead of duplicating items.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from judgeloop.errors import InvalidInput
from judgeloop.loop.selection import select_sessions
from judgeloop.store import Workspace
from judgeloop.store.tables import QueueItemRow, QueueRow, SessionRow
from judgeloop.types import utcnow


@dataclass
class FillReport:
    project: str
    queue: str
    queue_id: int
    strategy: str
    created: bool
    added: int
    skipped: int
    items: list[tuple[str, str, float]] = field(default_factory=list)


def fill_queue(
    ws: Workspace,
    project: str,
    strategy: str,
    n: int,
    *,
    queue: str = "active",
    evaluator: str | None = None,
    seed: int = 0,
) -> FillReport:
    """Select `n` sessions by `strategy` and append them to queue `queue` (created if needed)."""
    if not queue.strip():
        raise InvalidInput("queue name is empty", field="queue", expected="a name")
    picks = select_sessions(ws, project, strategy, n, evaluator=evaluator, seed=seed)
    meta = {"strategy": strategy, "evaluator": evaluator, "seed": seed}
    return append_picks(ws, project, queue, strategy, picks, meta)


def append_picks(
    ws: Workspace,
    project: str,
    queue: str,
    strategy: str,
    picks: list[tuple[str, str, float]],
    meta: dict[str, Any] | None = None,
) -> FillReport:
    """Append (session id, reason, priority) picks to queue `queue` (created if needed), skipping
    sessions already in it; the queue and its items land in one transaction."""
    if not queue.strip():
        raise InvalidInput("queue name is empty", field="queue", expected="a name")
    with ws.db() as db:
        pid = ws.project_id(db, project)
        row = db.scalar(select(QueueRow).where(QueueRow.project_id == pid, QueueRow.name == queue))
        created = row is None
        if row is None:
            row = QueueRow(project_id=pid, name=queue, strategy=strategy, settings={"filled_by": "selection"})
            db.add(row)
            db.flush()
        pks = dict(
            db.execute(
                select(SessionRow.uid, SessionRow.pk).where(
                    SessionRow.project_id == pid, SessionRow.uid.in_([p[0] for p in picks])
                )
            )
            .tuples()
            .all()
        )
        present = set(db.scalars(select(QueueItemRow.session_pk).where(QueueItemRow.queue_id == row.id)))
        added = []
        stamp = utcnow().isoformat()
        for uid, reason, priority in picks:
            pk = pks[uid]
            if pk in present:
                continue
            item_meta = {**(meta or {}), "selected_at": stamp}
            db.add(
                QueueItemRow(queue_id=row.id, session_pk=pk, reason=reason, priority=priority, meta=item_meta)
            )
            present.add(pk)
            added.append((uid, reason, priority))
        return FillReport(
            project, queue, row.id, strategy, created, len(added), len(picks) - len(added), added
        )
