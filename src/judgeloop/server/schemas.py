"""Request and response bodies of the /v1 API (Create / Public split; `extra="forbid"` everywhere).

Text fields are checked against the server's `max_field_chars`, passed in the validation context.
"""

from __future__ import annotations

import functools
import json
from typing import Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from judgeloop.errors import InvalidInput
from judgeloop.types import REVIEWER_NAME_PATTERN, LabelKind, ModelInput, PairChoice, input_text

DEFAULT_MAX_CHARS = 100_000


def _limit(info: ValidationInfo) -> int:
    return int((info.context or {}).get("max_chars", DEFAULT_MAX_CHARS))


def _check_length(value: str, info: ValidationInfo) -> str:
    limit = _limit(info)
    if len(value) > limit:
        raise ValueError(f"is {len(value)} characters long; the limit is {limit}")
    return value


class _Text(BaseModel):
    """Shared checks of model_input / model_output."""

    model_config = ConfigDict(extra="forbid")

    model_input: ModelInput
    model_output: str

    @field_validator("model_output")
    @classmethod
    def _output(cls, value: str, info: ValidationInfo) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return _check_length(value, info)

    @field_validator("model_input")
    @classmethod
    def _input(cls, value: ModelInput, info: ValidationInfo) -> ModelInput:
        if isinstance(value, list) and not value:
            raise ValueError("must not be an empty list of messages")
        _check_length(input_text(value), info)
        return value

    @field_validator("metadata", check_fields=False)
    @classmethod
    def _metadata(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        _check_length(json.dumps(value, ensure_ascii=False, default=str), info)
        return value


class EvaluateIn(_Text):
    """One guardrail request: score this output now."""

    evaluator: str | None = Field(default=None, description="name or name@version; default: the project's")
    record: bool = Field(default=False, description="store the session and the verdict")
    session_id: str | None = Field(default=None, max_length=200, description="id to store the session under")
    metadata: dict[str, Any] = Field(default_factory=dict)


class EvaluateOut(BaseModel):
    model_config = ConfigDict(protected_namespaces=())

    label: int
    probability: float
    threshold: float
    evaluator: str
    version: str
    latency_ms: float
    session_id: str | None = None
    needs_review: bool = False
    stage: str | None = None  # cascade evaluators: the stage that decided


class SessionIn(_Text):
    """A production session to log (its project is the token's)."""

    id: str | None = Field(default=None, max_length=200)
    output_b: str | None = None
    reference: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    source: str | None = Field(default=None, max_length=500)

    @field_validator("output_b", "reference")
    @classmethod
    def _optional_text(cls, value: str | None, info: ValidationInfo) -> str | None:
        return None if value is None else _check_length(value, info)


class SessionLogged(BaseModel):
    id: str
    sampled: bool


class SessionsLogged(BaseModel):
    stored: int
    sampled: int
    queued: int
    sessions: list[SessionLogged]


class LabelIn(BaseModel):
    """A human label from another tool. The reviewer defaults to the caller's user or token name."""

    model_config = ConfigDict(extra="forbid")

    session_id: str = Field(min_length=1, max_length=200)
    reviewer: str | None = Field(
        default=None,
        pattern=REVIEWER_NAME_PATTERN,
        description="another reviewer's name: service tokens only (an import from another tool)",
    )
    kind: LabelKind = "binary"
    good: bool | None = None
    scores: dict[str, float] | None = None
    choice: PairChoice | None = None
    failure_tags: list[str] = Field(default_factory=list, max_length=100)
    comment: str | None = Field(default=None, max_length=DEFAULT_MAX_CHARS)
    duration_ms: int | None = Field(default=None, ge=0)
    metadata: dict[str, Any] = Field(default_factory=dict)


class SettingsIn(BaseModel):
    """Project settings an admin may change; omitted fields stay as they are, null clears one."""

    model_config = ConfigDict(extra="forbid")

    sample_rate: float | None = Field(
        default=None, ge=0.0, le=1.0, description="share of logged sessions to score"
    )
    default_evaluator: str | None = Field(
        default=None, min_length=1, max_length=250, description="name or name@version"
    )


class PromoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = Field(ge=1)
    force: bool = False
    require: Literal["not_worse", "better"] = "not_worse"


M = TypeVar("M", bound=BaseModel)


def parse_items(payload: Any, model: type[M], *, max_items: int, max_chars: int) -> tuple[list[M], bool]:
    """One object or a list of them -> (items, was_list); the first problem raises InvalidInput."""
    many = isinstance(payload, list)
    if many and not payload:
        raise InvalidInput("the list is empty", field="body", expected="at least one item")
    if many and len(payload) > max_items:
        raise InvalidInput(
            f"{len(payload)} items in one request", field="body", expected=f"at most {max_items}"
        )
    try:
        parsed = _adapter(model, many).validate_python(payload, context={"max_chars": max_chars})
    except ValidationError as exc:
        raise _invalid(exc, many) from None
    return (list(parsed) if many else [parsed]), many


@functools.lru_cache(maxsize=32)
def _adapter(model: type[BaseModel], many: bool) -> TypeAdapter[Any]:
    return TypeAdapter(list[model] if many else model)  # type: ignore[valid-type]


def _invalid(exc: ValidationError, many: bool) -> InvalidInput:
    error = exc.errors()[0]
    loc = list(error.get("loc", ()))
    row = loc.pop(0) if many and loc and isinstance(loc[0], int) else None
    names = [str(p) for p in loc if not isinstance(p, int)]
    field = names[0] if names else "body"
    message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
    return InvalidInput(message, row=row if isinstance(row, int) else None, field=field)


__all__ = [
    "EvaluateIn",
    "EvaluateOut",
    "LabelIn",
    "PromoteIn",
    "SessionIn",
    "SessionsLogged",
    "SettingsIn",
    "parse_items",
]
