"""Telling every server on this database that something it caches changed.

A writer calls `announce(db, kind)` inside the transaction that makes the change (a promotion or
rollback, a token revocation, a settings change): the `changes` row's serial goes up and, on PostgreSQL,
`pg_notify('judgeloop_changes', kind)` is sent, which PostgreSQL delivers to listeners when (and only
if) the transaction commits. Servers listen (judgeloop.server.changes) and poll `serial` as the fallback.
"""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session as DB

from judgeloop.store.tables import ChangeRow
from judgeloop.types import utcnow

CHANNEL = "judgeloop_changes"
KINDS = ("champion", "tokens", "settings")


def is_postgres(db: DB) -> bool:
    return db.get_bind().dialect.name == "postgresql"


def announce(db: DB, kind: str) -> None:
    """Record a change of `kind` (one of KINDS) in the caller's transaction."""
    db.execute(
        update(ChangeRow)
        .where(ChangeRow.id == 1)
        .values(serial=ChangeRow.serial + 1, kind=kind, changed_at=utcnow())
    )
    if is_postgres(db):
        db.execute(select(func.pg_notify(CHANNEL, kind)))


def serial(db: DB) -> int:
    """The change counter now (0 before any change)."""
    return int(db.scalar(select(ChangeRow.serial).where(ChangeRow.id == 1)) or 0)


__all__ = ["CHANNEL", "KINDS", "announce", "is_postgres", "serial"]
