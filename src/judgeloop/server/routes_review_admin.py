"""The leads' page at /review/admin: create projects (leads), queues, invite reviewers, and set the
failure-tag taxonomy and the Likert rubric of a project (its admins)."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from judgeloop.errors import Forbidden, JudgeloopError
from judgeloop.monitor.derived import project_stats
from judgeloop.review import items, queues, throttle, users
from judgeloop.review.schemas import IMPLEMENTED_STRATEGIES, QUEUE_MODES, STRATEGIES, QueueIn
from judgeloop.server import pages
from judgeloop.server.deps import WorkspaceDep
from judgeloop.server.pages import PageSession, redirect, render
from judgeloop.server.web_auth import WebAuthDep, WebSession

router = APIRouter(prefix="/review/admin", include_in_schema=False)


def setup(app: FastAPI) -> None:
    pages.install(app)


def _admin_projects(ws: Any, session: WebSession) -> list[str]:
    return [m.project for m in users.memberships(ws, session.user) if m.role == "admin"]


def _page(
    request: Request, session: WebSession, project: str | None, status: int = 200, **extra: Any
) -> Response:
    ws = request.app.state.workspace
    mine = _admin_projects(ws, session)
    if not mine and not session.user.is_lead:
        raise Forbidden("the admin page is for project admins and leads")
    project = project if project in mine else (mine[0] if mine else None)
    context: dict[str, Any] = {
        "project": project,
        "admin_projects": mine,
        "modes": QUEUE_MODES,
        "strategies": STRATEGIES,
        "implemented": IMPLEMENTED_STRATEGIES,
        "message": request.query_params.get("msg"),
        "error": None,
        "new_password": None,
    }
    if project:
        settings = ws.project_settings(project)
        context.update(
            members=users.members(ws, project),
            locked={s.key.split(":", 1)[1] for s in throttle.locks(ws) if s.key.startswith("account:")},
            queues=queues.list_queues(ws, project),
            tags="\n".join(settings.get("failure_tags") or []),
            rubric="\n".join(
                f"{c['name']} | {c.get('scale') or '1-5'} | {c.get('description') or ''}".rstrip(" |")
                for c in (settings.get("rubric") or {}).get("criteria") or []
            ),
            stats=project_stats(ws, project),
        )
    context.update(extra)
    return render(request, "admin.html", session, status, **context)


@router.get("", response_class=HTMLResponse)
def admin_page(request: Request, session: PageSession, project: str | None = None) -> Response:
    return _page(request, session, project)


async def _form(request: Request, session: WebSession, auth: Any) -> dict[str, str]:
    form = await request.form()
    pages.check_form(auth, session, form)
    return {k: str(v) for k, v in form.items()}


def _done(project: str, message: str) -> Response:
    return redirect(f"/review/admin?project={quote(project)}&msg={quote(message)}")


def _failed(request: Request, session: WebSession, project: str | None, exc: Exception) -> Response:
    text = str(exc) if isinstance(exc, JudgeloopError) else _validation_text(exc)
    return _page(request, session, project, status=400, error=text)


def _validation_text(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        return f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
    return str(exc)


def _check_admin(ws: Any, session: WebSession, project: str) -> None:
    if users.membership(ws, session.user, project).role != "admin":
        raise Forbidden(f"only admins of {project!r} may do this")


@router.post("/projects")
async def create_project(
    request: Request, session: PageSession, auth: WebAuthDep, ws: WorkspaceDep
) -> Response:
    form = await _form(request, session, auth)
    try:
        name = users.create_project(ws, form.get("name", ""), session.user)
    except JudgeloopError as exc:
        return _failed(request, session, None, exc)
    return _done(name, f"Project {name} created. Import sessions with `judgeloop import`, then open a queue.")


@router.post("/{project}/queues")
async def create_queue(
    project: str, request: Request, session: PageSession, auth: WebAuthDep, ws: WorkspaceDep
) -> Response:
    form = await _form(request, session, auth)
    _check_admin(ws, session, project)
    try:
        spec = QueueIn(
            project=project,
            name=form.get("name", ""),
            mode=form.get("mode", "binary"),  # type: ignore[arg-type]
            size=int(form.get("size") or 50),
            overlap=int(form.get("overlap") or 1),
            strategy=form.get("strategy", "random"),  # type: ignore[arg-type]
            evaluator=form.get("evaluator") or None,
            seed=int(form["seed"]) if form.get("seed") else None,
        )
        queue = queues.create_queue(ws, spec, created_by=session.user.name)
    except (JudgeloopError, ValidationError, ValueError) as exc:
        return _failed(request, session, project, exc)
    return _done(project, f"Queue {queue.name} opened with {queue.items} items.")


@router.post("/{project}/members")
async def invite(
    project: str, request: Request, session: PageSession, auth: WebAuthDep, ws: WorkspaceDep
) -> Response:
    """Add a reviewer (or admin); a new user without a given password gets one made and shown once."""
    form = await _form(request, session, auth)
    _check_admin(ws, session, project)
    name, role, password = (
        form.get("name", "").strip(),
        form.get("role", "reviewer"),
        form.get("password") or None,
    )
    made = None
    try:
        exists = _exists(ws, name)
        if exists and password and not session.user.is_lead:
            raise Forbidden("only leads set the password of an existing user")
        if password is None and not exists:
            password = made = secrets.token_urlsafe(12)
        users.add_reviewer(ws, name, project, role, password)
    except JudgeloopError as exc:
        return _failed(request, session, project, exc)
    if made:
        return _page(request, session, project, new_password={"name": name, "password": made})
    return _done(project, f"{name} is now {role} of {project}.")


def _exists(ws: Any, name: str) -> bool:
    try:
        users.user_id(ws, name)
    except JudgeloopError:
        return False
    return True


@router.post("/{project}/unlock")
async def unlock(
    project: str, request: Request, session: PageSession, auth: WebAuthDep, ws: WorkspaceDep
) -> Response:
    """Lift a member's sign-in lock (too many failed sign-ins)."""
    form = await _form(request, session, auth)
    _check_admin(ws, session, project)
    name = form.get("name", "")
    if name not in {n for n, _ in users.members(ws, project)}:
        return _failed(request, session, project, Forbidden(f"{name!r} is not a member of {project!r}"))
    throttle.clear(ws, name)
    return _done(project, f"{name} may sign in again.")


@router.post("/{project}/remove")
async def remove(
    project: str, request: Request, session: PageSession, auth: WebAuthDep, ws: WorkspaceDep
) -> Response:
    """Take a member out of the project: their tokens of it are revoked and their browser sessions end."""
    form = await _form(request, session, auth)
    _check_admin(ws, session, project)
    try:
        users.remove_member(ws, form.get("name", ""), project)
    except JudgeloopError as exc:
        return _failed(request, session, project, exc)
    return _done(project, f"{form.get('name')} was removed from {project}.")


@router.post("/{project}/settings")
async def project_settings(
    project: str, request: Request, session: PageSession, auth: WebAuthDep, ws: WorkspaceDep
) -> Response:
    form = await _form(request, session, auth)
    _check_admin(ws, session, project)
    try:
        if "tags" in form:
            items.set_taxonomy(ws, project, form["tags"].replace(",", "\n").splitlines())
        if "rubric" in form:
            items.set_rubric(ws, project, items.parse_rubric_lines(form["rubric"]))
    except JudgeloopError as exc:
        return _failed(request, session, project, exc)
    return _done(project, "Settings saved.")


__all__ = ["router", "setup"]
