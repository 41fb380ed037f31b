"""The review queue API (what the review pages use, open to any client with a user token):
`POST /v1/queues`, `GET /v1/queues`, `GET /v1/queues/{id}`, `GET /v1/queues/{id}/next`,
`POST /v1/queues/{id}/skip`, `POST /v1/queues/{id}/undo`, `GET /v1/projects/{p}/agreement`,
`POST /v1/projects/{p}/adjudications`. Labels themselves go to `POST /v1/labels`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field

from judgeloop.agreement import reviewers as agreement
from judgeloop.errors import NotFound
from judgeloop.review import adjudication, items, queues
from judgeloop.review.schemas import NextItem, Progress, Queue, QueueIn, Undone
from judgeloop.server import web_auth
from judgeloop.server.auth import Principal
from judgeloop.server.deps import CurrentPrincipal, WorkspaceDep, require_role
from judgeloop.types import Label, PairChoice

router = APIRouter(prefix="/v1", tags=["review"])


def setup(app: FastAPI) -> None:
    web_auth.install(app)


def stale_minutes(request: Request) -> float:
    return float(request.app.state.web_auth.settings.review_stale_minutes)


StaleMinutes = Annotated[float, Depends(stale_minutes)]


class SkipIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    assignment_id: int


class AdjudicationIn(BaseModel):
    """A lead's deciding label: `good` for good/bad items, `choice` for pairwise ones."""

    model_config = ConfigDict(extra="forbid")
    session_id: str = Field(min_length=1, max_length=200)
    good: bool | None = None
    choice: PairChoice | None = None
    comment: str | None = Field(default=None, max_length=10_000)


class QueueListing(BaseModel):
    queue: Queue
    done: int
    needed: int


def _own_project(principal: Principal, project: str) -> None:
    if project != principal.project:
        raise NotFound(f"no project {project!r} for this caller")


def _queue(ws: Any, principal: Principal, queue_id: int) -> Queue:
    return queues.get_queue(ws, queue_id, principal.project)


@router.post("/queues", status_code=201)
def create_queue(body: QueueIn, principal: CurrentPrincipal, ws: WorkspaceDep) -> Queue:
    """Choose `size` sessions by `strategy` and open a queue (admins). Strategies `uncertainty`,
    `disagreement`, `failure-type` and `mixed` are reserved for active learning (422 until then)."""
    require_role(principal, "admin")
    _own_project(principal, body.project)
    return queues.create_queue(ws, body, created_by=principal.name)


@router.get("/queues")
def list_queues(principal: CurrentPrincipal, ws: WorkspaceDep) -> list[QueueListing]:
    """The project's queues, newest first, with labels done and needed."""
    return [
        QueueListing(queue=q, done=done, needed=q.items * q.overlap)
        for q, done in queues.list_queues(ws, principal.project)
    ]


@router.get("/queues/{queue_id}")
def queue_progress(
    queue_id: int, principal: CurrentPrincipal, ws: WorkspaceDep, stale: StaleMinutes
) -> Progress:
    """Progress: items, labels done against needed (items x overlap), per reviewer and per item."""
    return queues.progress(ws, _queue(ws, principal, queue_id), stale_minutes=stale)


@router.get("/queues/{queue_id}/next")
def next_item(queue_id: int, principal: CurrentPrincipal, ws: WorkspaceDep, stale: StaleMinutes) -> NextItem:
    """Assign the caller their next item (their unfinished one first) and return it with the
    assignment id; `{"done": true, ...}` when nothing is left for them. Post the label to
    `POST /v1/labels` (metadata `queue_id`); the assignment then counts as done."""
    require_role(principal, "reviewer")
    return items.next_item(ws, _queue(ws, principal, queue_id), principal.name, stale_minutes=stale)


@router.post("/queues/{queue_id}/skip", status_code=204)
def skip(queue_id: int, body: SkipIn, principal: CurrentPrincipal, ws: WorkspaceDep) -> None:
    """Hand an assigned item back unlabelled; others may take it, the caller will not see it again."""
    require_role(principal, "reviewer")
    queues.skip(ws, _queue(ws, principal, queue_id).id, principal.name, body.assignment_id)


@router.post("/queues/{queue_id}/undo")
def undo(queue_id: int, principal: CurrentPrincipal, ws: WorkspaceDep) -> Undone:
    """Revert the caller's latest label (appending a withdrawal, never deleting) or skip in the queue;
    the item comes back as their next one. 404 when there is nothing to undo."""
    require_role(principal, "reviewer")
    return queues.undo_last(ws, _queue(ws, principal, queue_id).id, principal.name)


@router.get("/projects/{project}/agreement")
def project_agreement(
    project: str,
    principal: CurrentPrincipal,
    ws: WorkspaceDep,
    queue_id: int | None = None,
    include_train: bool = False,
) -> dict[str, Any]:
    """Inter-annotator agreement (kappa per pair, Krippendorff's alpha, percent agreement), reviewer
    counts and speed, evaluators vs the human consensus (bootstrap 95% CIs) on the sessions each
    evaluator did not train on (`?include_train=true` counts those too), and disagreements."""
    _own_project(principal, project)
    return agreement.agreement_report(ws, project, queue_id=queue_id, include_train=include_train)


@router.post("/projects/{project}/adjudications", status_code=201)
def adjudicate(project: str, body: AdjudicationIn, principal: CurrentPrincipal, ws: WorkspaceDep) -> Label:
    """Settle a disagreement (admins): a label marked `adjudication` that decides the consensus."""
    require_role(principal, "admin")
    _own_project(principal, project)
    if principal.user is None:
        raise HTTPException(403, "adjudications are made by people: use a user's token or the review UI")
    return adjudication.adjudicate(
        ws, project, principal.name, body.session_id, good=body.good, choice=body.choice, comment=body.comment
    )
