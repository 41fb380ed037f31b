"""Engines and migrations: SQLite by default (WAL mode), PostgreSQL by URL."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.pool import NullPool

DEFAULT_URL = "sqlite:///./judgeloop.db"
_MIGRATIONS = Path(__file__).parent / "migrations"
_migrate_lock = threading.Lock()


def resolve_url(url: str | None = None) -> str:
    """`--db` value, else $JUDGELOOP_DB, else ./judgeloop.db. A bare path means a SQLite file."""
    url = url or os.environ.get("JUDGELOOP_DB") or DEFAULT_URL
    if "://" not in url:
        url = f"sqlite:///{url}"
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def missing_sqlite_file(url: str | None = None) -> Path | None:
    """The SQLite file that `url` (resolved as `resolve_url` does) names, when it does not exist: a
    read-only caller can then say so instead of creating an empty workspace. None for PostgreSQL, an
    in-memory database or a file that exists."""
    resolved = resolve_url(url)
    if not resolved.startswith("sqlite") or resolved in ("sqlite://", "sqlite:///:memory:"):
        return None
    path = Path(resolved.split(":///", 1)[1].split("?", 1)[0])
    return None if path.exists() else path


def busy_timeout_ms() -> int:
    """How long a SQLite write waits for the lock ($JUDGELOOP_SQLITE_BUSY_MS, 30,000); then the API
    answers 503 with Retry-After."""
    return int(os.environ.get("JUDGELOOP_SQLITE_BUSY_MS") or 30_000)


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={busy_timeout_ms()}")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _sqlite_begin(conn) -> None:  # type: ignore[no-untyped-def]
    readonly = conn.get_execution_options().get("judgeloop_readonly")
    conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")


def make_engine(url: str | None = None) -> Engine:
    url = resolve_url(url)
    if url.startswith("sqlite"):
        memory = url in ("sqlite://", "sqlite:///:memory:")
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": busy_timeout_ms() / 1000},
            poolclass=None if memory else NullPool,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        # SQLite: take the write lock at BEGIN so concurrent writers queue instead of failing; readers
        # (Workspace.reader, execution option `judgeloop_readonly`) begin deferred and take no lock.
        event.listen(engine, "begin", _sqlite_begin)
        engine.dialect._judgeloop_sqlite = True  # type: ignore[attr-defined]
        # let SQLAlchemy not emit its own BEGIN (pysqlite's implicit transactions are off)
        event.listen(engine, "connect", lambda c, _r: setattr(c, "isolation_level", None))
    else:
        engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
    return engine


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration (alembic `upgrade head`)."""
    from alembic import command
    from alembic.config import Config

    with _migrate_lock:
        cfg = Config()
        cfg.set_main_option("script_location", str(_MIGRATIONS))
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")


def is_current(engine: Engine) -> bool:
    return "alembic_version" in inspect(engine).get_table_names()
