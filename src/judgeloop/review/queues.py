"""Review queues: which sessions go in (strategies), the queue records, and their progress.

Assignment (claim, complete, skip, undo) lives in judgeloop.review.assignments and is re-exported here.
Strategies: `random` (uniform over every session the mode can show) and `unlabelled-first` are here;
`uncertainty`, `disagreement`, `failure-type` and `mixed` (active learning) are delegated to
`judgeloop.loop.selection.select_sessions`, which looks only at sessions nobody labelled or queued yet
(a clear error says so when that module is missing). Either way the queue keeps the sessions that its
mode can show: pairwise needs `output_b`, evaluator mode a verdict.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import func, select
from sqlalchemy.orm import Session as DB

from judgeloop.errors import Conflict, InvalidInput, NotFound
from judgeloop.review.assignments import (
    STALE_MINUTES,
    as_utc,
    assignment_states,
    claim_next,
    complete_assignment,
    skip,
    stale_cutoff,
    summary,
    undo_last,
)
from judgeloop.review.schemas import (
    STRATEGIES,
    ItemProgress,
    Progress,
    Queue,
    QueueIn,
    QueueMode,
    ReviewerProgress,
    Selection,
)
from judgeloop.store import Workspace
from judgeloop.store.labels import live_labels
from judgeloop.store.tables import (
    AssignmentRow,
    ProjectRow,
    QueueItemRow,
    QueueRow,
    SessionRow,
    VerdictRow,
)
from judgeloop.types import EvaluatorRef

Strategy = Callable[[Workspace, str, list[str], int, random.Random], list[Selection]]


# --- choosing sessions -----------------------------------------------------------------------


def _eligible(ws: Workspace, project: str, mode: str, evaluator: str | None) -> list[str]:
    """Session ids a queue of this mode can show: pairwise needs output_b, evaluator mode a verdict."""
    with ws.db() as db:
        pid = ws.project_id(db, project)
        q = select(SessionRow.uid).where(SessionRow.project_id == pid).order_by(SessionRow.pk)
        if mode == "pairwise":
            q = q.where(SessionRow.output_b.is_not(None))
        if mode == "evaluator":
            judged = select(VerdictRow.session_pk).where(
                VerdictRow.project_id == pid, VerdictRow.status == "ok", VerdictRow.label.is_not(None)
            )
            if evaluator:
                judged = judged.where(VerdictRow.evaluator == EvaluatorRef.parse(evaluator).name)
            q = q.where(SessionRow.pk.in_(judged))
        return list(db.scalars(q))


def _random(ws: Workspace, project: str, eligible: list[str], n: int, rng: random.Random) -> list[Selection]:
    chosen = rng.sample(eligible, min(n, len(eligible)))
    return [Selection(session_id=uid, reason="random") for uid in chosen]


def _unlabelled_first(
    ws: Workspace, project: str, eligible: list[str], n: int, rng: random.Random
) -> list[Selection]:
    """Sessions nobody labelled yet (in random order), then those with the fewest live labels."""
    counts = Counter(lab.session_id for lab in live_labels(ws.labels(project)))
    order = list(eligible)
    rng.shuffle(order)
    order.sort(key=lambda uid: counts[uid])  # stable: random within equal counts
    return [
        Selection(session_id=uid, reason="unlabelled" if counts[uid] == 0 else "fewest-labels")
        for uid in order[:n]
    ]


STRATEGY_FUNCTIONS: dict[str, Strategy] = {"random": _random, "unlabelled-first": _unlabelled_first}


def _active(
    ws: Workspace, project: str, strategy: str, n: int, evaluator: str | None, seed: int | None
) -> list[Selection]:
    """Active-learning strategies, from judgeloop.loop.selection."""
    try:
        from judgeloop.loop.selection import select_sessions
    except ImportError:  # pragma: no cover - the module ships with judgeloop
        raise InvalidInput(
            f"strategy {strategy!r} is not implemented yet (it comes with active learning)",
            field="strategy",
            expected=" or ".join(STRATEGY_FUNCTIONS),
        ) from None
    picks = select_sessions(ws, project, strategy, n, evaluator=evaluator, seed=seed or 0)
    return [
        Selection(session_id=uid, reason=reason, priority=float(priority)) for uid, reason, priority in picks
    ]


def select_items(
    ws: Workspace,
    project: str,
    strategy: str,
    n: int,
    *,
    mode: str = "binary",
    evaluator: str | None = None,
    seed: int | None = None,
) -> list[Selection]:
    """Up to `n` sessions of `project` for a new queue, best first, chosen by `strategy`."""
    if strategy not in STRATEGIES:
        raise InvalidInput(
            f"unknown strategy {strategy!r}", field="strategy", expected=" | ".join(STRATEGIES)
        )
    fn = STRATEGY_FUNCTIONS.get(strategy)
    eligible = _eligible(ws, project, mode, evaluator)
    if fn is not None:
        return fn(ws, project, eligible, n, random.Random(seed))
    allowed = set(eligible)
    return [sel for sel in _active(ws, project, strategy, n, evaluator, seed) if sel.session_id in allowed]


# --- queue records ---------------------------------------------------------------------------


def _queue(row: QueueRow, project: str, items: int) -> Queue:
    return Queue(
        id=row.id,
        project=project,
        name=row.name,
        mode=cast(QueueMode, row.mode),
        overlap=row.overlap,
        strategy=row.strategy,
        items=items,
        settings=dict(row.settings or {}),
        created_at=row.created_at,
    )


def create_queue(ws: Workspace, spec: QueueIn, created_by: str | None = None) -> Queue:
    """Choose the sessions and store the queue with its items in one transaction."""
    chosen = select_items(
        ws, spec.project, spec.strategy, spec.size, mode=spec.mode, evaluator=spec.evaluator, seed=spec.seed
    )
    if not chosen:
        need = {"pairwise": " with output_b", "evaluator": " with an evaluator verdict"}.get(spec.mode, "")
        raise InvalidInput(f"project {spec.project!r} has no sessions{need} to review", field="project")
    settings = {"size": spec.size, "seed": spec.seed, "evaluator": spec.evaluator, "created_by": created_by}
    with ws.db() as db:
        pid = ws.project_id(db, spec.project)
        taken = select(QueueRow.id).where(QueueRow.project_id == pid, QueueRow.name == spec.name)
        if db.scalar(taken) is not None:
            raise Conflict(f"project {spec.project!r} already has a queue named {spec.name!r}")
        row = QueueRow(
            project_id=pid, name=spec.name, mode=spec.mode, overlap=spec.overlap, strategy=spec.strategy
        )
        row.settings = settings
        db.add(row)
        db.flush()
        pks = dict(
            db.execute(select(SessionRow.uid, SessionRow.pk).where(SessionRow.project_id == pid))
            .tuples()
            .all()
        )
        for sel in chosen:
            priority = sel.priority  # ties keep the chosen order (items are claimed by priority, then id)
            db.add(
                QueueItemRow(
                    queue_id=row.id, session_pk=pks[sel.session_id], reason=sel.reason, priority=priority
                )
            )
        return _queue(row, spec.project, len(chosen))


def _item_count(db: DB, queue_id: int) -> int:
    return int(
        db.scalar(select(func.count()).select_from(QueueItemRow).where(QueueItemRow.queue_id == queue_id))
        or 0
    )


def get_queue(ws: Workspace, queue_id: int, project: str | None = None) -> Queue:
    """The queue; NotFound when it does not exist or belongs to another project than `project`."""
    with ws.db() as db:
        found = db.execute(
            select(QueueRow, ProjectRow.name)
            .join(ProjectRow, ProjectRow.id == QueueRow.project_id)
            .where(QueueRow.id == queue_id)
        ).first()
        if found is None or (project is not None and found[1] != project):
            raise NotFound(f"no queue {queue_id}" + (f" in project {project!r}" if project else ""))
        return _queue(found[0], found[1], _item_count(db, queue_id))


def list_queues(ws: Workspace, project: str) -> list[tuple[Queue, int]]:
    """The project's queues, newest first, each with its number of done labels."""
    with ws.db() as db:
        pid = ws.project_id(db, project)
        rows = db.scalars(
            select(QueueRow).where(QueueRow.project_id == pid).order_by(QueueRow.id.desc())
        ).all()
        done = dict(
            db.execute(
                select(QueueItemRow.queue_id, func.count(AssignmentRow.id))
                .join(AssignmentRow, AssignmentRow.item_id == QueueItemRow.id)
                .where(QueueItemRow.queue_id.in_([r.id for r in rows]), AssignmentRow.state == "done")
                .group_by(QueueItemRow.queue_id)
            )
            .tuples()
            .all()
        )
        return [(_queue(r, project, _item_count(db, r.id)), int(done.get(r.id, 0))) for r in rows]


def progress(
    ws: Workspace, queue: Queue, *, per_item: bool = True, stale_minutes: float = STALE_MINUTES
) -> Progress:
    """Labels done against needed (items x overlap), per reviewer and per item."""
    with ws.db() as db:
        items = db.execute(
            select(QueueItemRow.id, SessionRow.uid)
            .join(SessionRow, SessionRow.pk == QueueItemRow.session_pk)
            .where(QueueItemRow.queue_id == queue.id)
            .order_by(QueueItemRow.priority.desc(), QueueItemRow.id)
        ).all()
        rows = assignment_states(db, queue.id)
    return _tally(queue, items, rows, per_item, stale_minutes)


def _tally(
    queue: Queue, items: Sequence[Any], rows: Sequence[Any], per_item: bool, stale_minutes: float
) -> Progress:
    cutoff = as_utc(stale_cutoff(stale_minutes))
    people: dict[str, ReviewerProgress] = defaultdict(ReviewerProgress)
    by_item: dict[int, list[tuple[str, str, datetime]]] = defaultdict(list)
    for item_id, reviewer, state, at in rows:
        by_item[item_id].append((reviewer, state, at))
        stats = people[reviewer]
        setattr(stats, state, getattr(stats, state, 0) + 1)
    out_items = []
    for item_id, uid in items:
        marks = by_item.get(item_id, [])
        done = [r for r, s, _ in marks if s == "done"]
        open_ = [r for r, s, t in marks if s == "assigned" and as_utc(t) >= cutoff]
        out_items.append(
            ItemProgress(item_id=item_id, session_id=uid, done=len(done), assigned=len(open_), reviewers=done)
        )
    done_total = sum(p.done for p in people.values())
    return Progress(
        queue=queue,
        items=len(items),
        needed=len(items) * queue.overlap,
        done=done_total,
        in_progress=sum(i.assigned for i in out_items),
        complete_items=sum(1 for i in out_items if i.done >= queue.overlap),
        per_reviewer=dict(sorted(people.items())),
        per_item=out_items if per_item else [],
    )


__all__ = [
    "STRATEGY_FUNCTIONS",
    "claim_next",
    "complete_assignment",
    "create_queue",
    "get_queue",
    "list_queues",
    "progress",
    "select_items",
    "skip",
    "summary",
    "undo_last",
]
