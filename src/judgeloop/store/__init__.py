"""The store: SQLAlchemy schema, alembic migrations and the Workspace service."""

from judgeloop.store.db import make_engine, migrate, resolve_url
from judgeloop.store.labels import human_label, human_labels
from judgeloop.store.workspace import ImportReport, Workspace

__all__ = [
    "ImportReport",
    "Workspace",
    "human_label",
    "human_labels",
    "make_engine",
    "migrate",
    "resolve_url",
]
