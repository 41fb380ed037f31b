"""The relational schema (SQLAlchemy 2). Migrations in store/migrations mirror it.

One schema for SQLite (the embedded default) and PostgreSQL. JSON columns use the portable JSON type.
Labels and verdicts are append-only: a correction is a new row.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from judgeloop.types import utcnow


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON, datetime: DateTime(timezone=True)}


class ProjectRow(Base):
    __tablename__ = "projects"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SessionRow(Base):
    __tablename__ = "sessions"
    __table_args__ = (
        UniqueConstraint("project_id", "uid", name="uq_sessions_project_uid"),
        Index("ix_sessions_project_hash", "project_id", "content_hash"),
        Index("ix_sessions_project_created_pk", "project_id", "created_at", "pk"),
    )
    pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    uid: Mapped[str] = mapped_column(String(200))
    model_input: Mapped[Any] = mapped_column(JSON)
    model_output: Mapped[str] = mapped_column(Text)
    output_b: Mapped[str | None] = mapped_column(Text, nullable=True)
    reference: Mapped[str | None] = mapped_column(Text, nullable=True)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)
    source: Mapped[str | None] = mapped_column(String(500), nullable=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LabelRow(Base):
    __tablename__ = "labels"
    __table_args__ = (
        Index("ix_labels_session", "session_pk"),
        Index("ix_labels_project", "project_id"),
        Index("ix_labels_project_session", "project_id", "session_pk"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    session_pk: Mapped[int] = mapped_column(ForeignKey("sessions.pk", ondelete="CASCADE"))
    reviewer: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    good: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    scores: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    choice: Mapped[str | None] = mapped_column(String(10), nullable=True)
    failure_tags: Mapped[list[Any]] = mapped_column(default=list)
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    queue_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    duration_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class VerdictRow(Base):
    __tablename__ = "verdicts"
    __table_args__ = (
        Index("ix_verdicts_session", "session_pk"),
        Index("ix_verdicts_project_eval", "project_id", "evaluator", "created_at"),
        Index("ix_verdicts_latest", "project_id", "evaluator", "session_pk", "id"),
        Index("ix_verdicts_confidence", "project_id", "evaluator", "threshold", "probability"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    session_pk: Mapped[int | None] = mapped_column(
        ForeignKey("sessions.pk", ondelete="CASCADE"), nullable=True
    )
    evaluator: Mapped[str] = mapped_column(String(200))
    version: Mapped[str | None] = mapped_column(String(50), nullable=True)
    params_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    label: Mapped[int | None] = mapped_column(Integer, nullable=True)
    probability: Mapped[float | None] = mapped_column(Float, nullable=True)
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    scores: Mapped[dict[str, Any]] = mapped_column(default=dict)
    threshold: Mapped[float | None] = mapped_column(Float, nullable=True)
    needs_review: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    rationale: Mapped[str | None] = mapped_column(Text, nullable=True)
    raw: Mapped[str | None] = mapped_column(Text, nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="ok")
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    latency_ms: Mapped[float | None] = mapped_column(Float, nullable=True)
    cost: Mapped[float | None] = mapped_column(Float, nullable=True)
    tokens: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class EvaluatorVersionRow(Base):
    __tablename__ = "evaluator_versions"
    __table_args__ = (UniqueConstraint("name", "version", name="uq_evaluator_name_version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("projects.id", ondelete="SET NULL"), nullable=True
    )
    name: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(30), default="learned")
    base_model: Mapped[str | None] = mapped_column(String(500), nullable=True)
    method: Mapped[str | None] = mapped_column(String(50), nullable=True)
    artifact_path: Mapped[str | None] = mapped_column(Text, nullable=True)
    data_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    label_ids: Mapped[list[Any]] = mapped_column(default=list)
    heldout_ids: Mapped[list[Any]] = mapped_column(default=list)
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    temperature: Mapped[float | None] = mapped_column(Float, nullable=True)
    threshold: Mapped[float | None] = mapped_column(Float, nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="candidate")
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    promoted_at: Mapped[datetime | None] = mapped_column(nullable=True)


class PromotionRow(Base):
    """Audit trail of every promotion and rollback, forced or not."""

    __tablename__ = "promotions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    from_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    to_version: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(20))  # promote | rollback | refused
    forced: Mapped[bool] = mapped_column(Boolean, default=False)
    decision: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RubricRow(Base):
    __tablename__ = "rubrics"
    __table_args__ = (UniqueConstraint("project_id", "name", name="uq_rubric_project_name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), nullable=True
    )
    name: Mapped[str] = mapped_column(String(200))
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LLMCacheRow(Base):
    __tablename__ = "llm_cache"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class UserRow(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(500), nullable=True)
    role: Mapped[str] = mapped_column(String(20), default="reviewer")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Bumped by sign-out, password change and removal from a project: ends every browser session.
    session_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class LoginThrottleRow(Base):
    """Consecutive failed sign-ins per account (`account:NAME`) and per address (`address:IP`)."""

    __tablename__ = "login_throttle"
    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(nullable=True)
    last_failure_at: Mapped[datetime] = mapped_column(default=utcnow)


class IdempotencyRow(Base):
    """The first response to a write sent with an `Idempotency-Key`, replayed to retries."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        UniqueConstraint("scope", "route", "key", name="uq_idempotency_scope_route_key"),
        Index("ix_idempotency_created", "created_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope: Mapped[str] = mapped_column(String(100))
    route: Mapped[str] = mapped_column(String(100))
    key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer)
    response: Mapped[Any] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ImportSessionRow(Base):
    """A session staged by an import in progress (judgeloop.store.importing); no reader looks here.
    The import's last transaction moves its rows into `sessions` and deletes them."""

    __tablename__ = "import_sessions"
    __table_args__ = (Index("ix_import_sessions_import_uid", "import_id", "uid"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    import_id: Mapped[str] = mapped_column(String(36))
    row: Mapped[int] = mapped_column(Integer)
    uid: Mapped[str] = mapped_column(String(200))
    model_input: Mapped[Any] = mapped_column(JSON)
    model_output: Mapped[str] = mapped_column(Text)
    output_b: Mapped[str | None] = mapped_column(Text, nullable=True)
    reference: Mapped[str | None] = mapped_column(Text, nullable=True)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)
    source: Mapped[str | None] = mapped_column(String(500), nullable=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    staged_at: Mapped[datetime] = mapped_column(default=utcnow)


class ImportLabelRow(Base):
    """A label staged by an import in progress, keyed by its session's uid."""

    __tablename__ = "import_labels"
    __table_args__ = (Index("ix_import_labels_import_uid", "import_id", "uid"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    import_id: Mapped[str] = mapped_column(String(36))
    row: Mapped[int] = mapped_column(Integer)
    uid: Mapped[str] = mapped_column(String(200))
    label_key: Mapped[str] = mapped_column(String(64))
    reviewer: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    good: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    scores: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    choice: Mapped[str | None] = mapped_column(String(10), nullable=True)
    failure_tags: Mapped[list[Any]] = mapped_column(default=list)
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    staged_at: Mapped[datetime] = mapped_column(default=utcnow)


class MembershipRow(Base):
    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("user_id", "project_id", name="uq_membership"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(20), default="reviewer")


class TokenRow(Base):
    __tablename__ = "tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=True)
    role: Mapped[str] = mapped_column(String(20))
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class QueueRow(Base):
    __tablename__ = "queues"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    mode: Mapped[str] = mapped_column(String(30), default="binary")
    overlap: Mapped[int] = mapped_column(Integer, default=1)
    strategy: Mapped[str] = mapped_column(String(30), default="random")
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class QueueItemRow(Base):
    __tablename__ = "queue_items"
    __table_args__ = (
        UniqueConstraint("queue_id", "session_pk", name="uq_queue_item"),
        Index("ix_queue_items_session", "session_pk"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    queue_id: Mapped[int] = mapped_column(ForeignKey("queues.id", ondelete="CASCADE"))
    session_pk: Mapped[int] = mapped_column(ForeignKey("sessions.pk", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(50), default="random")
    priority: Mapped[float] = mapped_column(Float, default=0.0)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AssignmentRow(Base):
    __tablename__ = "assignments"
    __table_args__ = (UniqueConstraint("item_id", "reviewer", name="uq_assignment_item_reviewer"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("queue_items.id", ondelete="CASCADE"))
    reviewer: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(20), default="assigned")  # assigned | done | skipped
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)
    assigned_at: Mapped[datetime] = mapped_column(default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(nullable=True)


class AlertRow(Base):
    __tablename__ = "alerts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    evaluator: Mapped[str | None] = mapped_column(String(200), nullable=True)
    window_start: Mapped[datetime] = mapped_column()
    window_end: Mapped[datetime] = mapped_column()
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ChangeRow(Base):
    """One row (id 1): `serial` goes up with every change that servers cache (a promotion or rollback,
    a token revocation, a settings change), so that replicas polling it see that something changed."""

    __tablename__ = "changes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    serial: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[str | None] = mapped_column(String(50), nullable=True)
    changed_at: Mapped[datetime | None] = mapped_column(nullable=True)


class ScoringItemRow(Base):
    """A sampled session waiting for (or done with) background scoring. A server claims it
    (`claimed_by`, `claimed_at`); a claim older than the timeout may be taken over; `done_at` is set in
    the transaction that stores its verdict. One row per session: it is scored in the background once."""

    __tablename__ = "scoring_queue"
    __table_args__ = (
        UniqueConstraint("session_pk", name="uq_scoring_queue_session"),
        Index("ix_scoring_queue_pending", "done_at", "id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    session_pk: Mapped[int] = mapped_column(ForeignKey("sessions.pk", ondelete="CASCADE"))
    queued_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    claimed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    done_at: Mapped[datetime | None] = mapped_column(nullable=True)


class RollupMarkRow(Base):
    """How far a project's rollups have read: the highest verdict id and session pk counted
    (`judgeloop.monitor.rollup`)."""

    __tablename__ = "rollup_marks"
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    verdict_id: Mapped[int] = mapped_column(Integer, default=0)
    session_pk: Mapped[int] = mapped_column(Integer, default=0)


class RollupSessionRow(Base):
    """Sessions created per hour (UTC) of a project."""

    __tablename__ = "rollup_sessions"
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    hour: Mapped[datetime] = mapped_column(primary_key=True)
    sessions: Mapped[int] = mapped_column(Integer, default=0)


class WindowSums:
    """The columns of a `monitor.series.Window`'s counts and sums (`monitor.aggregate.SUMS`)."""

    n: Mapped[int] = mapped_column(Integer, default=0)
    passes: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)
    abstains: Mapped[int] = mapped_column(Integer, default=0)
    score_sum: Mapped[float] = mapped_column(Float, default=0.0)
    n_scored: Mapped[int] = mapped_column(Integer, default=0)
    prob_sum: Mapped[float] = mapped_column(Float, default=0.0)
    n_prob: Mapped[int] = mapped_column(Integer, default=0)


class RollupVerdictRow(WindowSums, Base):
    """Per hour of session time: the counts of each session's latest verdict of `evaluator` (version
    '': of any version; otherwise latest among that version's verdicts), and the ok probabilities'
    confidences max(p, 1 - p) counted in `rollup.BINS` even bins over [0.5, 1]."""

    __tablename__ = "rollup_verdicts"
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    evaluator: Mapped[str] = mapped_column(String(200), primary_key=True)
    version: Mapped[str] = mapped_column(String(50), primary_key=True)
    hour: Mapped[datetime] = mapped_column(primary_key=True)
    verdicts: Mapped[int] = mapped_column(Integer, default=0)
    scored: Mapped[int] = mapped_column(Integer, default=0)
    confidence: Mapped[list[Any]] = mapped_column(default=list)


class DerivedMarkRow(Base):
    """How far a project's derived tables have read (the highest verdict id, label id and session pk),
    and how many sessions and verdicts the project had up to there (`judgeloop.monitor.derived`)."""

    __tablename__ = "derived_marks"
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    verdict_id: Mapped[int] = mapped_column(Integer, default=0)
    label_id: Mapped[int] = mapped_column(Integer, default=0)
    session_pk: Mapped[int] = mapped_column(Integer, default=0)
    sessions: Mapped[int] = mapped_column(Integer, default=0)
    verdicts: Mapped[int] = mapped_column(Integer, default=0)


class LabelledSessionRow(Base):
    """A session with a label, and its binary human consensus (`store.labels.human_label`) or None."""

    __tablename__ = "labelled_sessions"
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    session_pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(200))
    human: Mapped[bool | None] = mapped_column(Boolean, nullable=True)


class LabelledVerdictRow(Base):
    """A verdict of a labelled session, copied with the columns the agreement pages read (the latest of
    each evaluator version on the session, and its latest ok one)."""

    __tablename__ = "labelled_verdicts"
    __table_args__ = (
        Index("ix_labelled_verdicts_project", "project_id", "verdict_id"),
        Index("ix_labelled_verdicts_session", "project_id", "session_pk", "evaluator", "verdict_id"),
    )
    verdict_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    session_pk: Mapped[int] = mapped_column(Integer)
    uid: Mapped[str] = mapped_column(String(200))
    evaluator: Mapped[str] = mapped_column(String(200))
    version: Mapped[str | None] = mapped_column(String(50), nullable=True)
    label: Mapped[int | None] = mapped_column(Integer, nullable=True)
    probability: Mapped[float | None] = mapped_column(Float, nullable=True)
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    threshold: Mapped[float | None] = mapped_column(Float, nullable=True)
    status: Mapped[str] = mapped_column(String(20))


class VerdictHourRow(WindowSums, Base):
    """Every stored verdict of an evaluator version counted per hour (`series.Window`'s sums): by its
    session's hour (axis 'session'), by its own hour (axis 'verdict'), and the verdicts without a session
    by their own hour (axis 'loose'); version '' for none (`judgeloop.monitor.verdict_hours`)."""

    __tablename__ = "verdict_hours"
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    axis: Mapped[str] = mapped_column(String(10), primary_key=True)
    evaluator: Mapped[str] = mapped_column(String(200), primary_key=True)
    version: Mapped[str] = mapped_column(String(50), primary_key=True)
    hour: Mapped[datetime] = mapped_column(primary_key=True)


class DisagreementRow(Base):
    """A session whose evaluators' latest ok labels differ: one row with evaluator '' and one per
    evaluator with such a label on it, each with the session's vote-split strength."""

    __tablename__ = "disagreements"
    __table_args__ = (
        Index("ix_disagreements_strength", "project_id", "evaluator", text("strength DESC"), "session_pk"),
        # on PostgreSQL uid is COLLATE "C" in this index (migration i19c): session ids in code-point order
        Index("ix_disagreements_uid", "project_id", "evaluator", text("strength DESC"), "uid"),
        Index("ix_disagreements_session", "project_id", "session_pk"),
    )
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    evaluator: Mapped[str] = mapped_column(String(200), primary_key=True)
    session_pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(200))
    strength: Mapped[float] = mapped_column(Float)
