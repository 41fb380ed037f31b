"""issue 19: indexes for the monitoring pages' SQL aggregation

Revision ID: i19a
Revises: i17a
Create Date: 2026-12-07

- ix_verdicts_latest (project_id, evaluator, session_pk, id): "is there a later verdict of this
  evaluator on this session" is one index probe (the latest verdict per session), and the sessions an
  evaluator scored are an index range.
- ix_verdicts_confidence (project_id, evaluator, threshold, probability): the verdicts closest to their
  threshold are two short index ranges per threshold instead of a scan (outliers, low confidence).
- ix_labels_project_session (project_id, session_pk): the labelled sessions of a project (about 1% of
  traffic) without reading the labels' rows, to join verdicts on.
- ix_sessions_project_created_pk (project_id, created_at, pk) replaces 0001's (project_id, created_at):
  the lowest and highest session pk of a period come from the index alone, and bound the verdicts read
  for a short period (PostgreSQL; SQLite indexes carry the rowid anyway).
"""

from __future__ import annotations

from alembic import op

revision = "i19a"
down_revision = "i17a"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_verdicts_latest", "verdicts", ["project_id", "evaluator", "session_pk", "id"])
    op.create_index(
        "ix_verdicts_confidence", "verdicts", ["project_id", "evaluator", "threshold", "probability"]
    )
    op.create_index("ix_labels_project_session", "labels", ["project_id", "session_pk"])
    op.create_index("ix_sessions_project_created_pk", "sessions", ["project_id", "created_at", "pk"])
    op.drop_index("ix_sessions_project_created", table_name="sessions")


def downgrade() -> None:
    op.create_index("ix_sessions_project_created", "sessions", ["project_id", "created_at"])
    op.drop_index("ix_sessions_project_created_pk", table_name="sessions")
    op.drop_index("ix_labels_project_session", table_name="labels")
    op.drop_index("ix_verdicts_confidence", table_name="verdicts")
    op.drop_index("ix_verdicts_latest", table_name="verdicts")
