"""issue 19: tables derived from the raw rows for the evaluators and outliers pages (and the active
selection's disagreement ranking), refreshed by readers from a verdict-id and label-id watermark

Revision ID: i19c
Revises: i18b
Create Date: 2026-12-07

- derived_marks: how far each project's derived tables have read (highest verdict id, label id, session
  pk), with the project's session and verdict counts up to there (for `stats`);
- labelled_sessions: every session with a label, its binary human consensus (`human_label`) or NULL;
- labelled_verdicts: a copy of the verdicts of those sessions that readers use (each evaluator version's
  latest and latest ok one; without rationale, raw output or error);
- disagreements: sessions whose evaluators' latest ok labels differ, with the vote-split strength, one
  row with evaluator '' and one per evaluator taking part (for a focus evaluator);
- verdict_hours: every verdict counted per evaluator version and hour, by session and by verdict time
  (the `monitor` command's series).
On PostgreSQL an insert into labels now also takes the shared advisory lock of i19b's triggers, so that
no label id below the watermark can still be uncommitted when the refresh reads it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "i19c"
down_revision = "i18b"
branch_labels = None
depends_on = None


def _project() -> sa.Column:
    return sa.Column("project_id", sa.Integer(), nullable=False)


def _fk() -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "derived_marks",
        _project(),
        sa.Column("verdict_id", sa.Integer(), nullable=False),
        sa.Column("label_id", sa.Integer(), nullable=False),
        sa.Column("session_pk", sa.Integer(), nullable=False),
        sa.Column("sessions", sa.Integer(), nullable=False),
        sa.Column("verdicts", sa.Integer(), nullable=False),
        _fk(),
        sa.PrimaryKeyConstraint("project_id"),
    )
    op.create_table(
        "labelled_sessions",
        _project(),
        sa.Column("session_pk", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=200), nullable=False),
        sa.Column("human", sa.Boolean(), nullable=True),
        _fk(),
        sa.PrimaryKeyConstraint("project_id", "session_pk"),
    )
    op.create_table(
        "labelled_verdicts",
        sa.Column("verdict_id", sa.Integer(), nullable=False),
        _project(),
        sa.Column("session_pk", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=200), nullable=False),
        sa.Column("evaluator", sa.String(length=200), nullable=False),
        sa.Column("version", sa.String(length=50), nullable=True),
        sa.Column("label", sa.Integer(), nullable=True),
        sa.Column("probability", sa.Float(), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("threshold", sa.Float(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        _fk(),
        sa.PrimaryKeyConstraint("verdict_id"),
    )
    op.create_index("ix_labelled_verdicts_project", "labelled_verdicts", ["project_id", "verdict_id"])
    op.create_index(
        "ix_labelled_verdicts_session",
        "labelled_verdicts",
        ["project_id", "session_pk", "evaluator", "verdict_id"],
    )
    op.create_table(
        "disagreements",
        _project(),
        sa.Column("evaluator", sa.String(length=200), nullable=False),
        sa.Column("session_pk", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=200), nullable=False),
        sa.Column("strength", sa.Float(), nullable=False),
        _fk(),
        sa.PrimaryKeyConstraint("project_id", "evaluator", "session_pk"),
    )
    op.create_index(
        "ix_disagreements_strength",
        "disagreements",
        ["project_id", "evaluator", sa.text("strength DESC"), "session_pk"],  # strongest first, ties by pk
    )
    # queue fill's order: strongest first, ties by session id in code-point order (as Python sorts)
    uid = 'uid COLLATE "C"' if op.get_bind().dialect.name == "postgresql" else "uid"
    op.create_index(
        "ix_disagreements_uid",
        "disagreements",
        ["project_id", "evaluator", sa.text("strength DESC"), sa.text(uid)],
    )
    op.create_index("ix_disagreements_session", "disagreements", ["project_id", "session_pk"])
    op.create_table(
        "verdict_hours",
        _project(),
        sa.Column("axis", sa.String(length=10), nullable=False),
        sa.Column("evaluator", sa.String(length=200), nullable=False),
        sa.Column("version", sa.String(length=50), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        *[sa.Column(c, sa.Integer(), nullable=False) for c in ("n", "passes", "errors", "abstains")],
        sa.Column("score_sum", sa.Float(), nullable=False),
        sa.Column("n_scored", sa.Integer(), nullable=False),
        sa.Column("prob_sum", sa.Float(), nullable=False),
        sa.Column("n_prob", sa.Integer(), nullable=False),
        _fk(),
        sa.PrimaryKeyConstraint("project_id", "axis", "evaluator", "version", "hour"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE TRIGGER labels_rollup_share BEFORE INSERT ON labels "
            "FOR EACH STATEMENT EXECUTE FUNCTION judgeloop_rollup_share()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER labels_rollup_share ON labels")
    op.drop_table("verdict_hours")
    op.drop_index("ix_disagreements_session", table_name="disagreements")
    op.drop_index("ix_disagreements_uid", table_name="disagreements")
    op.drop_index("ix_disagreements_strength", table_name="disagreements")
    op.drop_table("disagreements")
    op.drop_index("ix_labelled_verdicts_session", table_name="labelled_verdicts")
    op.drop_index("ix_labelled_verdicts_project", table_name="labelled_verdicts")
    op.drop_table("labelled_verdicts")
    op.drop_table("labelled_sessions")
    op.drop_table("derived_marks")
