"""The records judgeloop passes around: sessions, human labels, evaluator verdicts."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from judgeloop.errors import InvalidInput

ChatMessage = dict[str, Any]
ModelInput = str | list[ChatMessage]
LabelKind = Literal["binary", "likert", "pairwise"]
PairChoice = Literal["A", "B", "tie"]
VerdictStatus = Literal["ok", "error", "abstain"]
Role = Literal["system", "user", "assistant"]  # a chat message's role (llm.base.check_messages)
Quantize = Literal["auto", "int8", "none"]  # train --quantize: ship int8 ONNX when it passes the gate
ThresholdRule = Literal["fixed", "accuracy", "f1", "balanced_accuracy"]  # how a cut is chosen (or a number)
ContainsMode = Literal["any", "all"]  # checks.Contains: any one of the phrases, or all of them
EncoderRuntime = Literal["auto", "torch", "onnx"]  # where a learned model's encoder runs

# A reviewer name: 1-100 characters, no markup or control characters, no leading/trailing space.
_NAME_CHAR = r"[^<>&\"'`\x00-\x1f\x7f]"
_NAME_END = r"[^\s<>&\"'`\x00-\x1f\x7f]"
REVIEWER_NAME_PATTERN = rf"^{_NAME_END}(?:{_NAME_CHAR}{{0,98}}{_NAME_END})?$"
REVIEWER_NAME_RULE = "1-100 characters, no <>&\"'` or control characters, no leading or trailing space"


@dataclass(frozen=True)
class EvaluatorRef:
    """`name` or `name@version`, parsed once: `EvaluatorRef.parse("support@3")`. The version is kept as
    written (a string, as verdicts store it); `number` is it as an int, for the registry."""

    name: str
    version: str | None = None

    @classmethod
    def parse(cls, ref: str | EvaluatorRef, field: str = "evaluator") -> EvaluatorRef:
        if isinstance(ref, EvaluatorRef):
            return ref
        name, _, version = str(ref).partition("@")
        if not name or "@" in version:
            raise InvalidInput(
                f"bad evaluator reference {ref!r}", field=field, expected="name or name@version"
            )
        return cls(name, version or None)

    @property
    def number(self) -> int | None:
        """The version as a registry number (None for the champion); InvalidInput when not a number."""
        if self.version is None:
            return None
        if not self.version.isdigit():
            raise InvalidInput(
                f"bad evaluator reference {str(self)!r}", field="evaluator", expected="name or name@version"
            )
        return int(self.version)

    def __str__(self) -> str:
        return f"{self.name}@{self.version}" if self.version else self.name


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def input_text(model_input: ModelInput) -> str:
    """A model input as plain text: chat messages become `role: content` lines."""
    if isinstance(model_input, str):
        return model_input
    return "\n".join(f"{m.get('role', 'user')}: {m.get('content', '')}" for m in model_input)


def content_hash(model_input: ModelInput, model_output: str, output_b: str | None = None) -> str:
    """Stable id of a session's content, used to make re-imports idempotent."""
    blob = json.dumps([model_input, model_output, output_b], ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:24]


class Session(BaseModel):
    """One model call to judge: the input (text or chat messages) and the output."""

    model_config = ConfigDict(extra="forbid")

    id: str | None = None
    project: str | None = None
    model_input: ModelInput
    model_output: str
    output_b: str | None = None  # second output, for pairwise items
    reference: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    source: str | None = None
    created_at: datetime | None = None

    @property
    def input_text(self) -> str:
        return input_text(self.model_input)


class Label(BaseModel):
    """A human judgment of a session. Never overwritten: a correction is a new Label."""

    model_config = ConfigDict(extra="forbid")

    id: int | None = None
    session_id: str
    reviewer: str = "import"
    kind: LabelKind = "binary"
    good: bool | None = None  # binary
    scores: dict[str, float] | None = None  # likert, per criterion
    choice: PairChoice | None = None  # pairwise, in terms of the stored A (model_output) / B (output_b)
    failure_tags: list[str] = Field(default_factory=list)
    comment: str | None = None
    queue_id: int | None = None
    duration_ms: int | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime | None = None


class Verdict(BaseModel):
    """Any evaluator's judgment of a session (learned model, LLM judge, metric, check)."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    session_id: str | None = None
    evaluator: str
    version: str | None = None
    params_hash: str | None = None
    label: int | None = None  # 1 good, 0 bad; for pairwise judges 1 = A, 0 = B, None = tie
    probability: float | None = None  # P(good) for learned models
    score: float | None = None  # a scalar score (metric value, mean rubric score)
    scores: dict[str, Any] = Field(default_factory=dict)  # per-criterion scores
    threshold: float | None = None
    needs_review: bool | None = None
    stage: str | None = None  # the stage of a cascade evaluator that decided (judgeloop.evaluators.cascade)
    rationale: str | None = None
    raw: str | None = None
    status: VerdictStatus = "ok"
    error: str | None = None
    latency_ms: float | None = None
    cost: float | None = None
    tokens: int | None = None
    created_at: datetime | None = None
