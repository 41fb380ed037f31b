"""Telling every server on this database that something it caches changed.

A writer calls `announce(db, kind)` inside the transaction that makes the change (a promotion or
rollback, a token revocation, a settings change): the `changes` row's serial goes up and, on PostgreSQL,
`pg_notify('judgeloop_changes', kind)` is sent, which PostgreSQL delivers to listeners when (and only
if) the transaction commits. Servers listen (judgeloop.server.changes) and poll `serial` as the fallback.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session as DB

from judgeloop.store.tables import ChangeRow
from judgeloop.types import utcnow

CHANNEL = "judgeloop_changes"
APPLICATION = "judgeloop-changes"  # the listening connections, as pg_stat_activity names them
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


def libpq_url(url: str) -> str:
    """A workspace URL as psycopg.connect takes it (no `+psycopg` driver, the password kept)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class Listener:
    """A PostgreSQL connection LISTENing on CHANNEL (from `listening`)."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    def notices(self, timeout: float) -> Iterator[str]:
        """The kinds announced (and committed) in the next `timeout` seconds, as they arrive."""
        for note in self._conn.notifies(timeout=timeout):
            yield note.payload

    def serial(self) -> int:
        row = self._conn.execute("SELECT serial FROM changes WHERE id = 1").fetchone()
        return int(row[0]) if row else 0


@contextmanager
def listening(url: str) -> Iterator[Listener]:
    """A connection of its own to the PostgreSQL workspace at `url`, listening for change notices."""
    import psycopg

    with psycopg.connect(libpq_url(url), autocommit=True, application_name=APPLICATION) as conn:
        conn.execute(f"LISTEN {CHANNEL}")
        yield Listener(conn)


__all__ = ["CHANNEL", "KINDS", "Listener", "announce", "is_postgres", "libpq_url", "listening", "serial"]
