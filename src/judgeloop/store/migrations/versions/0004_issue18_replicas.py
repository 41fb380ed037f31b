"""issue 18: several servers on one database: a change counter (what replicas poll) and a durable
background-scoring queue (claimed with FOR UPDATE SKIP LOCKED on PostgreSQL)

Revision ID: i18a
Revises: i19a
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "i18a"
down_revision = "i19a"
branch_labels = None
depends_on = None


def upgrade() -> None:
    changes = op.create_table(
        "changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("serial", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=50), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.bulk_insert(changes, [{"id": 1, "serial": 0}])
    op.create_table(
        "scoring_queue",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("session_pk", sa.Integer(), nullable=False),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.String(length=200), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["session_pk"], ["sessions.pk"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("session_pk", name="uq_scoring_queue_session"),
    )
    op.create_index("ix_scoring_queue_pending", "scoring_queue", ["done_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_scoring_queue_pending", table_name="scoring_queue")
    op.drop_table("scoring_queue")
    op.drop_table("changes")
