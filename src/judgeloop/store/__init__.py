"""The store: SQLAlchemy schema, alembic migrations and the Workspace service."""

from judgeloop.store.db import make_engine, migrate, resolve_url
from judgeloop.store.workspace import ImportReport, Workspace, consensus

__all__ = ["ImportReport", "Workspace", "consensus", "make_engine", "migrate", "resolve_url"]
