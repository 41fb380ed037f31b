"""Production traffic and labels from other tools: `POST /v1/sessions`, `GET /v1/sessions/{id}`,
`POST /v1/labels`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, FastAPI, Header, Request

from judgeloop.server import idempotency, runtime, services
from judgeloop.server.deps import CurrentPrincipal, RuntimeDep, WorkspaceDep, require_role
from judgeloop.server.schemas import LabelIn, SessionIn, SessionsLogged, one_or_many, parse_items
from judgeloop.types import Label

router = APIRouter(prefix="/v1", tags=["traffic"])

_IDEM = "Any unique string (e.g. a UUID) per logical request; a retry with it replays the first response."
_EXAMPLE = {
    "session_id": "req-123",
    "model_input": "Where is my order?",
    "model_output": "It ships tomorrow.",
}


def setup(app: FastAPI) -> None:
    runtime.install(app)


@router.post(
    "/sessions", status_code=201, response_model=SessionsLogged, openapi_extra=one_or_many(SessionIn)
)
def log_sessions(
    payload: Annotated[Any, Body(examples=[_EXAMPLE, [_EXAMPLE]])],
    principal: CurrentPrincipal,
    ws: WorkspaceDep,
    rt: RuntimeDep,
    request: Request,
    idempotency_key: Annotated[str | None, Header(description=_IDEM)] = None,
) -> Any:
    """Store sessions (one or a list); the project's `sample_rate` share is scored in the background.
    A retry with the same `Idempotency-Key` gets the first response and stores nothing new."""
    require_role(principal, "service")
    items, _ = parse_items(
        payload, SessionIn, max_items=rt.settings.max_batch_items, max_chars=rt.settings.max_field_chars
    )
    found = idempotency.claim(request, principal, "sessions", payload, rt.settings.idempotency_ttl_s)
    return idempotency.run(ws, found, lambda c: services.log_sessions(rt, ws, principal, items, c))


@router.get("/sessions/{session_id:path}")
def session_detail(session_id: str, principal: CurrentPrincipal, ws: WorkspaceDep) -> dict[str, Any]:
    """The session with its labels and verdicts (404 outside the token's project)."""
    return services.session_detail(ws, principal, session_id)


@router.post("/labels", status_code=201, response_model=Label)
def add_label(
    body: LabelIn,
    principal: CurrentPrincipal,
    ws: WorkspaceDep,
    request: Request,
    idempotency_key: Annotated[str | None, Header(description=_IDEM)] = None,
) -> Any:
    """A human label (binary, likert or pairwise); returns it with its id. A retry with the same
    `Idempotency-Key` gets the first response and stores nothing new."""
    require_role(principal, "reviewer", "service")
    ttl = request.app.state.serve_settings.idempotency_ttl_s
    found = idempotency.claim(request, principal, "labels", body.model_dump(mode="json"), ttl)
    return idempotency.run(ws, found, lambda c: services.add_label(ws, principal, body, c))
