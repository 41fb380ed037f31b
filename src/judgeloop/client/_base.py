"""What the sync and async clients share: request bodies, the Idempotency-Key header, typed results and
the mapping of HTTP statuses back to judgeloop's error tree."""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, TypeVar

import httpx
from pydantic import BaseModel

from judgeloop.errors import Conflict, Forbidden, InvalidInput, JudgeloopError, NotFound, Unauthorized
from judgeloop.server.schemas import EvaluateOut, LabelIn, SessionIn, parse_items
from judgeloop.types import ModelInput

FailMode = Literal["open", "closed", "raise"]
M = TypeVar("M", bound=BaseModel)
MAX_BATCH = 256  # the server's default max_batch_items
IDEMPOTENT_POSTS = ("/v1/sessions", "/v1/labels")


class ServerUnavailable(JudgeloopError):
    """The server could not be reached, timed out or answered 5xx."""


class EvaluateResult(EvaluateOut):
    """A guardrail verdict. `ok` is False when the server could not answer in time and the verdict
    is the caller's fail-open (label 1) or fail-closed (label 0) choice; `error` says what happened."""

    ok: bool = True
    error: str | None = None


@dataclass(frozen=True)
class Call:
    """One HTTP request, built once and sent by either client (a retry reuses its Idempotency-Key)."""

    method: str
    path: str
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


def evaluate_call(
    model_input: ModelInput,
    model_output: str,
    *,
    evaluator: str | None = None,
    record: bool = False,
    session_id: str | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> Call:
    body: dict[str, Any] = {"model_input": model_input, "model_output": model_output, "record": record}
    if evaluator:
        body["evaluator"] = evaluator
    if session_id:
        body["session_id"] = session_id
    if metadata:
        body["metadata"] = dict(metadata)
    return Call("POST", "/v1/evaluate", body)


_NO_LIMIT = 2**62  # text lengths are the server's to check (its max_field_chars)


def checked(model: type[M], data: M | Mapping[str, Any]) -> M:
    """`data` as the server's request model; a bad field raises InvalidInput naming it, before sending."""
    if isinstance(data, model):
        return data
    return parse_items(dict(data), model, max_items=1, max_chars=_NO_LIMIT)[0][0]


def session_body(session: SessionIn | Mapping[str, Any]) -> dict[str, Any]:
    item = checked(SessionIn, session)
    return item.model_dump(mode="json", exclude_none=True)


def sessions_calls(sessions: Iterable[SessionIn | Mapping[str, Any]]) -> list[Call]:
    """POST /v1/sessions in lists of at most MAX_BATCH, each with its own Idempotency-Key."""
    items = [session_body(s) for s in sessions]
    if not items:
        raise InvalidInput("no sessions to log", field="sessions", expected="at least one session")
    return [
        Call("POST", "/v1/sessions", items[i : i + MAX_BATCH], {"Idempotency-Key": str(uuid.uuid4())})
        for i in range(0, len(items), MAX_BATCH)
    ]


def session_call(
    model_input: ModelInput,
    model_output: str,
    *,
    id: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    reference: str | None = None,
    output_b: str | None = None,
    source: str | None = None,
    created_at: datetime | None = None,
) -> Call:
    raw = {
        "id": id,
        "model_input": model_input,
        "model_output": model_output,
        "metadata": dict(metadata or {}),
        "reference": reference,
        "output_b": output_b,
        "source": source,
        "created_at": created_at,
    }
    body = session_body({k: v for k, v in raw.items() if v is not None})
    return Call("POST", "/v1/sessions", body, {"Idempotency-Key": str(uuid.uuid4())})


def label_call(label: LabelIn | Mapping[str, Any]) -> Call:
    item = checked(LabelIn, label)
    body = item.model_dump(mode="json", exclude_none=True)
    return Call("POST", "/v1/labels", body, {"Idempotency-Key": str(uuid.uuid4())})


def raise_for(response: httpx.Response) -> None:
    """A non-2xx reply as the judgeloop error the server raised (5xx: ServerUnavailable)."""
    if response.is_success:
        return
    try:
        data = response.json()
    except ValueError:
        data = {}
    detail = str(data.get("detail") or response.text or response.reason_phrase)
    status = response.status_code
    if status >= 500:
        raise ServerUnavailable(f"{status} from {response.request.url.path}: {detail}")
    if status == 401:
        raise Unauthorized(detail)
    if status == 403:
        raise Forbidden(detail)
    if status == 404:
        raise NotFound(detail)
    if status == 409:
        raise Conflict(detail)
    if status in (400, 413, 415, 422):
        raise InvalidInput(detail, field=data.get("field"))
    raise JudgeloopError(f"{status} from {response.request.url.path}: {detail}")


def fallback(mode: FailMode, reason: str, started: float, now: float) -> EvaluateResult:
    """The fail-open / fail-closed verdict for a server that did not answer."""
    return EvaluateResult(
        label=1 if mode == "open" else 0,
        probability=math.nan,
        threshold=math.nan,
        evaluator="",
        version="",
        latency_ms=(now - started) * 1000,
        ok=False,
        error=reason,
    )


def parsed(model: type[BaseModel], response: httpx.Response) -> Any:
    raise_for(response)
    return model.model_validate(response.json())


__all__ = [
    "Call",
    "EvaluateResult",
    "FailMode",
    "ServerUnavailable",
    "evaluate_call",
    "fallback",
    "label_call",
    "raise_for",
    "session_call",
    "sessions_calls",
]
