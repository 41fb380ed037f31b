"""Request and response bodies of the /v1 API (Create / Public split; `extra="forbid"` everywhere).

Text fields are checked against the server's `max_field_chars`, passed in the validation context.
"""

from __future__ import annotations

import functools
import json
from datetime import datetime
from typing import Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from judgeloop.errors import InvalidInput
from judgeloop.types import (
    REVIEWER_NAME_PATTERN,
    Label,
    LabelKind,
    ModelInput,
    PairChoice,
    Session,
    Verdict,
    input_text,
)
from judgeloop.values import MAX_TAG_CHARS, MAX_TAGS, find_bad_value

DEFAULT_MAX_CHARS = 100_000


def _limit(info: ValidationInfo) -> int:
    return int((info.context or {}).get("max_chars", DEFAULT_MAX_CHARS))


def _check_length(value: str, info: ValidationInfo) -> str:
    limit = _limit(info)
    if len(value) > limit:
        raise ValueError(f"is {len(value)} characters long; the limit is {limit}")
    return value


class _Checked(BaseModel):
    """Every field: no NUL characters in text, no NaN/Infinity (judgeloop.values), unknown fields refused."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        problem = find_bad_value(value)
        if problem is not None:
            raise ValueError(problem)
        return value


class _Text(_Checked):
    """Shared checks of model_input / model_output."""

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
    """A production session to log (its project is the token's). Its id is `session_id`, as in
    /v1/evaluate and /v1/labels; `id` is accepted as an alias."""

    session_id: str | None = Field(default=None, max_length=200, description="id to store the session under")
    id: str | None = Field(default=None, max_length=200, description="alias of session_id")
    output_b: str | None = None
    reference: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    source: str | None = Field(default=None, max_length=500)
    created_at: datetime | None = Field(
        default=None,
        description="when the session happened (default: now): ISO 8601 or epoch seconds/milliseconds; "
        "a time without a timezone is UTC",
    )

    @field_validator("created_at", mode="before")
    @classmethod
    def _created_at(cls, value: Any) -> datetime | None:
        from judgeloop.timestamps import EXPECTED, parse_timestamp

        try:
            return None if value is None else parse_timestamp(value)
        except InvalidInput as exc:  # a ValueError, so that the item's row is named
            raise ValueError(f"{exc.message} (expected {EXPECTED})") from None

    @field_validator("output_b", "reference")
    @classmethod
    def _optional_text(cls, value: str | None, info: ValidationInfo) -> str | None:
        return None if value is None else _check_length(value, info)

    @model_validator(mode="after")
    def _one_id(self) -> SessionIn:
        if self.id is not None and self.session_id is not None and self.id != self.session_id:
            raise ValueError("session_id and its alias id differ; send one of them")
        self.session_id = self.session_id if self.session_id is not None else self.id
        self.id = self.session_id
        return self


class SessionLogged(BaseModel):
    session_id: str
    id: str = Field(description="the same as session_id (kept for older clients)")
    sampled: bool


class SessionsLogged(BaseModel):
    stored: int
    sampled: int
    queued: int
    sessions: list[SessionLogged]


class SessionDetail(Session):
    """`GET /v1/sessions/{id}`: the session with its human labels and evaluator verdicts."""

    labels: list[Label] = Field(default_factory=list)
    verdicts: list[Verdict] = Field(default_factory=list)


class LabelIn(_Checked):
    """A human label from another tool. The reviewer defaults to the caller's user or token name.
    Tags, comment and metadata are bounded like session fields (metadata as JSON)."""

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
    failure_tags: list[str] = Field(default_factory=list, max_length=MAX_TAGS)
    comment: str | None = Field(default=None, max_length=DEFAULT_MAX_CHARS)
    duration_ms: int | None = Field(default=None, ge=0)
    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("failure_tags")
    @classmethod
    def _tags(cls, value: list[str]) -> list[str]:
        long = next((t for t in value if len(t) > MAX_TAG_CHARS), None)
        if long is not None:
            raise ValueError(f"a tag has {len(long):,} characters; the limit is {MAX_TAG_CHARS}")
        return value

    @field_validator("metadata")
    @classmethod
    def _metadata(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        _check_length(json.dumps(value, ensure_ascii=False, default=str), info)
        return value

    @field_validator("scores")
    @classmethod
    def _scores(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        if value is not None and len(value) > 100:
            raise ValueError(f"{len(value)} criteria; the limit is 100")
        return value


class SettingsIn(_Checked):
    """Project settings an admin may change; omitted fields stay as they are, null clears one."""

    sample_rate: float | None = Field(
        default=None, ge=0.0, le=1.0, description="share of logged sessions to score"
    )
    default_evaluator: str | None = Field(
        default=None, min_length=1, max_length=250, description="name or name@version"
    )


class PromoteIn(_Checked):
    version: int = Field(ge=1)
    force: bool = False
    require: Literal["not_worse", "better"] = "not_worse"


class RevokeIn(_Checked):
    token: str = Field(min_length=1, max_length=500, description="the token to revoke, in plain text")


M = TypeVar("M", bound=BaseModel)

# Bodies that take one object or a list are parsed by `parse_items` (for row-numbered errors and the
# server's length limits), so FastAPI cannot see their models: `one_or_many` documents them and
# `add_request_schemas` puts the models in openapi.json's components.
_REF = "#/components/schemas/{model}"


def one_or_many(model: type[BaseModel]) -> dict[str, Any]:
    """`openapi_extra` for a route whose body is `model` or a list of them."""
    ref = {"$ref": _REF.format(model=model.__name__)}
    schema = {"anyOf": [ref, {"type": "array", "items": ref}]}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def add_request_schemas(openapi: dict[str, Any], models: tuple[type[BaseModel], ...]) -> dict[str, Any]:
    """Add `models` (and the models they use) to `openapi["components"]["schemas"]`."""
    components = openapi.setdefault("components", {}).setdefault("schemas", {})
    for model in models:
        schema = model.model_json_schema(ref_template=_REF)
        for name, definition in schema.pop("$defs", {}).items():
            components.setdefault(name, definition)
        components.setdefault(model.__name__, schema)
    return openapi


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


REQUEST_MODELS: tuple[type[BaseModel], ...] = (EvaluateIn, SessionIn)

__all__ = [
    "REQUEST_MODELS",
    "EvaluateIn",
    "EvaluateOut",
    "LabelIn",
    "PromoteIn",
    "RevokeIn",
    "SessionDetail",
    "SessionIn",
    "SessionLogged",
    "SessionsLogged",
    "SettingsIn",
    "add_request_schemas",
    "one_or_many",
    "parse_items",
]
