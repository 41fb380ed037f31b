"""The records of human review: queue settings in and out, the next item to label, progress."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

QueueMode = Literal["binary", "likert", "pairwise", "evaluator"]
Strategy = Literal["random", "unlabelled-first", "uncertainty", "disagreement", "failure-type", "mixed"]
QUEUE_MODES: tuple[str, ...] = ("binary", "likert", "pairwise", "evaluator")
STRATEGIES: tuple[str, ...] = (
    "random",
    "unlabelled-first",
    "uncertainty",
    "disagreement",
    "failure-type",
    "mixed",
)
IMPLEMENTED_STRATEGIES: tuple[str, ...] = STRATEGIES  # the active ones come from judgeloop.loop.selection
LABEL_KIND = {"binary": "binary", "likert": "likert", "pairwise": "pairwise", "evaluator": "binary"}


class QueueIn(BaseModel):
    """A new review queue: which sessions (strategy, size), how they are judged (mode), by how many."""

    model_config = ConfigDict(extra="forbid")

    project: str = Field(min_length=1, max_length=200)
    name: str = Field(min_length=1, max_length=200)
    mode: QueueMode = "binary"
    size: int = Field(
        default=50, ge=1, le=100_000, description="How many sessions the queue holds (at most)."
    )
    overlap: int = Field(default=1, ge=1, le=20, description="How many reviewers label each item.")
    strategy: Strategy = Field(default="random", description="How sessions are chosen.")
    evaluator: str | None = Field(
        default=None, max_length=250, description="mode=evaluator: whose verdicts to review (default: any)."
    )
    seed: int | None = Field(default=None, description="Seed of the random choice and order.")


class Queue(BaseModel):
    id: int
    project: str
    name: str
    mode: QueueMode
    overlap: int
    strategy: str
    items: int
    settings: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime | None = None


class Selection(BaseModel):
    """One session chosen for a queue, with why (`random`, `unlabelled`, ...) and its priority."""

    session_id: str
    reason: str
    priority: float = 0.0


class Claim(BaseModel):
    """An item assigned to a reviewer (new, or their own unfinished one)."""

    assignment_id: int
    item_id: int
    session_pk: int
    swap: bool = False  # pairwise: B is shown on the left
    resumed: bool = False


class ReviewerProgress(BaseModel):
    done: int = 0
    assigned: int = 0
    skipped: int = 0
    expired: int = 0


class ItemProgress(BaseModel):
    item_id: int
    session_id: str
    done: int
    assigned: int
    reviewers: list[str]


class Progress(BaseModel):
    """How far a queue is: items, labels needed (items x overlap), labels done, per reviewer and item."""

    queue: Queue
    items: int
    needed: int
    done: int
    in_progress: int
    complete_items: int
    per_reviewer: dict[str, ReviewerProgress]
    per_item: list[ItemProgress] = Field(default_factory=list)


class Summary(BaseModel):
    """The short progress line the labelling page shows."""

    items: int
    needed: int
    done: int
    mine: int


class NextItem(BaseModel):
    """The item assigned to the caller, or `done: true` when nothing is left for them."""

    done: bool = False
    queue_id: int
    mode: QueueMode
    assignment_id: int | None = None
    item_id: int | None = None
    resumed: bool = False
    session: dict[str, Any] | None = None
    pair: dict[str, str] | None = Field(
        default=None, description="pairwise: which stored output ('A' or 'B') is shown left and right"
    )
    verdict: dict[str, Any] | None = Field(default=None, description="mode=evaluator: the verdict to check")
    criteria: list[dict[str, Any]] | None = Field(default=None, description="mode=likert: rubric criteria")
    label_kind: str
    progress: Summary


class Undone(BaseModel):
    """What `undo` reverted: the withdrawn label (if any) and the item offered again."""

    assignment_id: int
    session_id: str
    withdrawn_label_id: int | None
    undo_label_id: int | None


__all__ = [
    "IMPLEMENTED_STRATEGIES",
    "LABEL_KIND",
    "QUEUE_MODES",
    "STRATEGIES",
    "Claim",
    "ItemProgress",
    "NextItem",
    "Progress",
    "Queue",
    "QueueIn",
    "QueueMode",
    "ReviewerProgress",
    "Selection",
    "Strategy",
    "Summary",
    "Undone",
]
