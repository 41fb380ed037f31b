"""One `judgeloop serve` per SQLite database: several replicas need PostgreSQL.

A server on a SQLite workspace holds an exclusive lock on `<database>.serve.lock` (beside the database
file) for as long as it runs; a second server on the same file is refused with a message saying so.
The operating system drops the lock when the process ends, however it ends. (POSIX only: elsewhere no
lock is taken.)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO

from judgeloop.errors import Conflict
from judgeloop.store.db import resolve_url


def sqlite_file(url: str | None) -> Path | None:
    """The SQLite database file of `url` (resolved as a workspace resolves it); None for PostgreSQL or
    an in-memory database."""
    resolved = resolve_url(url)
    if not resolved.startswith("sqlite") or resolved in ("sqlite://", "sqlite:///:memory:"):
        return None
    return Path(resolved.split(":///", 1)[1].split("?", 1)[0])


def hold(url: str | None) -> IO[str] | None:
    """Take the lock for a server on `url`'s SQLite database (keep the returned file open while
    serving); None for PostgreSQL. Raises Conflict when another server holds it."""
    path = sqlite_file(url)
    if path is None:
        return None
    try:
        import fcntl
    except ImportError:  # not POSIX
        return None
    lock_path = path.with_name(path.name + ".serve.lock")
    handle = open(lock_path, "a+", encoding="utf-8")  # held open while serving
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.seek(0)
        holder = handle.read().strip() or "unknown"
        handle.close()
        raise Conflict(
            f"another judgeloop server (pid {holder}) is already serving the SQLite database {path} "
            f"(it holds {lock_path}). A SQLite workspace has one server; to run several replicas, put "
            "the workspace on PostgreSQL (--db postgresql://...)"
        ) from None
    handle.truncate(0)
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle


__all__ = ["hold", "sqlite_file"]
