"""issue 19: hourly rollups of sessions and latest verdicts for the monitoring pages, refreshed by readers
from a verdict-id watermark; on PostgreSQL every insert into sessions or verdicts takes a shared advisory
lock that the refresh takes exclusively, so that no id below the watermark can still be uncommitted

Revision ID: i19b
Revises: i18a
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "i19b"
down_revision = "i18a"
branch_labels = None
depends_on = None

LOCK_KEY = 191919  # judgeloop.monitor.rollup.LOCK_KEY


def _project() -> sa.Column:
    return sa.Column("project_id", sa.Integer(), nullable=False)


def _fk() -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "rollup_marks",
        _project(),
        sa.Column("verdict_id", sa.Integer(), nullable=False),
        sa.Column("session_pk", sa.Integer(), nullable=False),
        _fk(),
        sa.PrimaryKeyConstraint("project_id"),
    )
    op.create_table(
        "rollup_sessions",
        _project(),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sessions", sa.Integer(), nullable=False),
        _fk(),
        sa.PrimaryKeyConstraint("project_id", "hour"),
    )
    counts = ["verdicts", "n", "passes", "errors", "abstains", "n_scored", "n_prob", "scored"]
    op.create_table(
        "rollup_verdicts",
        _project(),
        sa.Column("evaluator", sa.String(length=200), nullable=False),
        sa.Column("version", sa.String(length=50), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        *[sa.Column(c, sa.Integer(), nullable=False) for c in counts],
        sa.Column("score_sum", sa.Float(), nullable=False),
        sa.Column("prob_sum", sa.Float(), nullable=False),
        sa.Column("confidence", sa.JSON(), nullable=False),
        _fk(),
        sa.PrimaryKeyConstraint("project_id", "evaluator", "version", "hour"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION judgeloop_rollup_share() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"PERFORM pg_advisory_xact_lock_shared({LOCK_KEY}); RETURN NULL; END $$"
        )
        for table in ("sessions", "verdicts"):
            op.execute(
                f"CREATE TRIGGER {table}_rollup_share BEFORE INSERT ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION judgeloop_rollup_share()"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in ("sessions", "verdicts"):
            op.execute(f"DROP TRIGGER {table}_rollup_share ON {table}")
        op.execute("DROP FUNCTION judgeloop_rollup_share()")
    op.drop_table("rollup_verdicts")
    op.drop_table("rollup_sessions")
    op.drop_table("rollup_marks")
