"""issue 17: revocable browser sessions, login throttling, idempotency keys, import staging

Revision ID: i17a
Revises: 0001
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "i17a"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("session_epoch", sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "login_throttle",
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=100), nullable=False),
        sa.Column("route", sa.String(length=100), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("response", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("scope", "route", "key", name="uq_idempotency_scope_route_key"),
    )
    op.create_index("ix_idempotency_created", "idempotency_keys", ["created_at"])
    op.create_table(
        "import_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("import_id", sa.String(length=36), nullable=False),
        sa.Column("row", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=200), nullable=False),
        sa.Column("model_input", sa.JSON(), nullable=False),
        sa.Column("model_output", sa.Text(), nullable=False),
        sa.Column("output_b", sa.Text(), nullable=True),
        sa.Column("reference", sa.Text(), nullable=True),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(length=500), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("staged_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_import_sessions_import_uid", "import_sessions", ["import_id", "uid"])
    op.create_table(
        "import_labels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("import_id", sa.String(length=36), nullable=False),
        sa.Column("row", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=200), nullable=False),
        sa.Column("label_key", sa.String(length=64), nullable=False),
        sa.Column("reviewer", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("good", sa.Boolean(), nullable=True),
        sa.Column("scores", sa.JSON(), nullable=True),
        sa.Column("choice", sa.String(length=10), nullable=True),
        sa.Column("failure_tags", sa.JSON(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("staged_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_import_labels_import_uid", "import_labels", ["import_id", "uid"])


def downgrade() -> None:
    op.drop_index("ix_import_labels_import_uid", table_name="import_labels")
    op.drop_table("import_labels")
    op.drop_index("ix_import_sessions_import_uid", table_name="import_sessions")
    op.drop_table("import_sessions")
    op.drop_index("ix_idempotency_created", table_name="idempotency_keys")
    op.drop_table("idempotency_keys")
    op.drop_table("login_throttle")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("session_epoch")
