"""issue 18 §3: an index for the active selection's SQL ranking

Revision ID: i18b
Revises: i19b
Create Date: 2026-12-07

- ix_queue_items_session (session_pk): "is this session in a review queue of the project" is one index
  probe per candidate (`loop.selection_sql.candidate`), instead of a read of every queue item; the
  unique (queue_id, session_pk) key cannot answer it without the queue.
"""

from __future__ import annotations

from alembic import op

revision = "i18b"
down_revision = "i19b"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_queue_items_session", "queue_items", ["session_pk"])


def downgrade() -> None:
    op.drop_index("ix_queue_items_session", table_name="queue_items")
