"""Production traffic and labels from other tools: `POST /v1/sessions`, `GET /v1/sessions/{id}`,
`POST /v1/labels`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, FastAPI

from judgeloop.server import runtime, services
from judgeloop.server.app import CurrentPrincipal, WorkspaceDep, require_role
from judgeloop.server.runtime import RuntimeDep
from judgeloop.server.schemas import LabelIn, SessionIn, SessionsLogged, one_or_many, parse_items
from judgeloop.types import Label

router = APIRouter(prefix="/v1", tags=["traffic"])

_EXAMPLE = {
    "session_id": "req-123",
    "model_input": "Where is my order?",
    "model_output": "It ships tomorrow.",
}


def setup(app: FastAPI) -> None:
    runtime.install(app)


@router.post("/sessions", status_code=201, openapi_extra=one_or_many(SessionIn))
def log_sessions(
    payload: Annotated[Any, Body(examples=[_EXAMPLE, [_EXAMPLE]])],
    principal: CurrentPrincipal,
    ws: WorkspaceDep,
    rt: RuntimeDep,
) -> SessionsLogged:
    """Store sessions (one or a list); the project's `sample_rate` share is scored in the background."""
    require_role(principal, "service")
    items, _ = parse_items(
        payload, SessionIn, max_items=rt.settings.max_batch_items, max_chars=rt.settings.max_field_chars
    )
    return services.log_sessions(rt, ws, principal, items)


@router.get("/sessions/{session_id:path}")
def session_detail(session_id: str, principal: CurrentPrincipal, ws: WorkspaceDep) -> dict[str, Any]:
    """The session with its labels and verdicts (404 outside the token's project)."""
    return services.session_detail(ws, principal, session_id)


@router.post("/labels", status_code=201)
def add_label(body: LabelIn, principal: CurrentPrincipal, ws: WorkspaceDep) -> Label:
    """A human label (binary, likert or pairwise); returns it with its id."""
    require_role(principal, "reviewer", "service")
    return services.add_label(ws, principal, body)
