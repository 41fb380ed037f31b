"""The review UI at /review: sign in and out, the queue list, the labelling page, agreement with
adjudication, and export. Lead pages (projects, queues, invitations) are in routes_review_admin.py.
The pages label through the JSON API (routes_queues.py and `POST /v1/labels`)."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, BackgroundTasks, FastAPI, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from markupsafe import Markup

from judgeloop.agreement import reviewers as agreement
from judgeloop.errors import Forbidden, Unauthorized
from judgeloop.monitor.derived import project_stats
from judgeloop.review import adjudication, charts, exporting, items, queues, throttle, users
from judgeloop.server import pages
from judgeloop.server.deps import WorkspaceDep
from judgeloop.server.pages import PageSession, redirect, render, safe_next
from judgeloop.server.web_auth import WebAuth, WebAuthDep, WebSession

router = APIRouter(prefix="/review", include_in_schema=False)
log = logging.getLogger("judgeloop.server.review")


def setup(app: FastAPI) -> None:
    pages.install(app)


def _member(request: Request, session: WebSession, project: str) -> users.Membership:
    return users.membership(request.app.state.workspace, session.user, project)


def _admin(request: Request, session: WebSession, project: str) -> users.Membership:
    m = _member(request, session, project)
    if m.role != "admin":
        raise Forbidden(f"only admins of {project!r} may do this")
    return m


# --- sign in -----------------------------------------------------------------------------------


def _login_form(
    request: Request,
    auth: WebAuth,
    next: str | None,
    error: str | None = None,
    retry_after: int | None = None,
) -> Response:
    token = auth.new_login_token()
    status = 429 if retry_after else 401 if error else 200
    response = render(
        request, "login.html", None, status, next=safe_next(next), error=error, login_token=token
    )
    if retry_after:
        response.headers["Retry-After"] = str(retry_after)
    auth.set_login_token(request, response, token)
    return response


def _policy(auth: WebAuth) -> throttle.ThrottlePolicy:
    s = auth.settings
    return throttle.ThrottlePolicy(s.login_max_failures, s.login_max_failures_per_address, s.login_lockout_s)


def _locked(request: Request, auth: WebAuth, next: str, wait: int) -> Response:
    minutes = max(1, round(wait / 60))
    text = f"too many failed sign-ins: try again in about {minutes} minute(s), or ask an admin to unlock"
    return _login_form(request, auth, next, text, retry_after=wait)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, auth: WebAuthDep, next: str | None = None) -> Response:
    return _login_form(request, auth, next)


@router.post("/login")
def login(
    request: Request,
    auth: WebAuthDep,
    ws: WorkspaceDep,
    name: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=1000)],
    login_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/review",
) -> Response:
    auth.check_login_token(request, login_token)
    policy, address = _policy(auth), request.client.host if request.client else None
    keys = {
        throttle.account_key(name): policy.account_limit,
        throttle.address_key(address): policy.address_limit,
    }
    wait = throttle.retry_after(ws, list(keys))
    if wait is not None:  # locked: the password is not even checked
        log.warning("sign-in refused (locked) for %r from %s", name[:200], address)
        return _locked(request, auth, next, wait)
    try:
        user = users.authenticate(ws, name, password)
    except Unauthorized as exc:
        count, wait = throttle.record_failure(ws, keys, policy)
        log.warning("failed sign-in for %r from %s (%d in a row)", name[:200], address, count)
        if wait is not None:
            return _locked(request, auth, next, wait)
        return _login_form(request, auth, next, str(exc))
    throttle.record_success(ws, user.name)
    response = redirect(safe_next(next))
    auth.sign_in(response, request, user)
    return response


@router.post("/logout")
async def logout(request: Request, session: PageSession, auth: WebAuthDep) -> Response:
    pages.check_form(auth, session, await request.form())
    response = redirect("/review/login")
    auth.sign_out(response, session)
    return response


# --- queues and labelling ----------------------------------------------------------------------


@router.get("", response_class=HTMLResponse)
def home(request: Request, session: PageSession, ws: WorkspaceDep) -> Response:
    """Every project of the user with its queues and their progress."""
    listing = []
    for m in users.memberships(ws, session.user):
        rows = [(q, done, q.items * q.overlap) for q, done in queues.list_queues(ws, m.project)]
        listing.append(
            {"project": m.project, "role": m.role, "queues": rows, "stats": project_stats(ws, m.project)}
        )
    return render(request, "home.html", session, listing=listing)


@router.get("/queues/{queue_id}", response_class=HTMLResponse)
def label_page(queue_id: int, request: Request, session: PageSession, ws: WorkspaceDep) -> Response:
    """The labelling page: one session at a time, keyboard first."""
    queue = queues.get_queue(ws, queue_id)
    member = _member(request, session, queue.project)
    boot = {
        "queueId": queue.id,
        "project": queue.project,
        "mode": queue.mode,
        "csrf": session.csrf,
        "tags": items.taxonomy(ws, queue.project),
        "criteria": items.rubric_criteria(ws, queue.project) if queue.mode == "likert" else [],
    }
    return render(request, "queue.html", session, queue=queue, member=member, boot=boot)


# --- agreement, adjudication, export -----------------------------------------------------------


def _charts(report: dict[str, Any]) -> dict[str, Markup]:
    counts = [(r["reviewer"], float(r["labels"])) for r in report["reviewers"] if r["labels"]]
    speed = [
        (r["reviewer"], r["median_seconds"]) for r in report["reviewers"] if r["median_seconds"] is not None
    ]
    kappa = [(e["evaluator"], *_triple(e.get("kappa"))) for e in report["evaluators"]]
    acc = [(e["evaluator"], *_triple(e.get("accuracy"))) for e in report["evaluators"]]
    binary = report["binary"]
    return {
        "counts": Markup(charts.bars(counts, "Labels per reviewer")),
        "speed": Markup(charts.bars(speed, "Median seconds per label", unit=" s")),
        "heatmap": Markup(
            charts.heatmap(binary["reviewers"], binary["pairs"], "Cohen's kappa per reviewer pair")
        ),
        "kappa": Markup(charts.intervals(kappa, "Evaluator kappa vs humans (95% CI)")),
        "accuracy": Markup(charts.intervals(acc, "Evaluator accuracy vs humans (95% CI)")),
    }


def _triple(est: dict[str, Any] | None) -> tuple[float | None, float | None, float | None]:
    return (None, None, None) if not est else (est["value"], est["low"], est["high"])


@router.get("/projects/{project}/agreement", response_class=HTMLResponse)
def agreement_page(
    project: str,
    request: Request,
    session: PageSession,
    ws: WorkspaceDep,
    queue_id: int | None = None,
    include_train: bool = False,
) -> Response:
    member = _member(request, session, project)
    report = agreement.agreement_report(ws, project, queue_id=queue_id, include_train=include_train)
    project_queues = [q for q, _ in queues.list_queues(ws, project)]
    return render(
        request,
        "agreement.html",
        session,
        project=project,
        member=member,
        report=report,
        charts=_charts(report),
        queues=project_queues,
        queue_id=queue_id,
        include_train=include_train,
    )


@router.post("/projects/{project}/adjudicate")
async def adjudicate(
    project: str, request: Request, session: PageSession, auth: WebAuthDep, ws: WorkspaceDep
) -> Response:
    form = await request.form()
    pages.check_form(auth, session, form)
    _admin(request, session, project)
    value = str(form.get("value", ""))
    good = {"good": True, "bad": False}.get(value)
    choice = value if value in ("A", "B", "tie") else None
    adjudication.adjudicate(
        ws,
        project,
        session.user.name,
        str(form.get("session_id", "")),
        good=good,
        choice=choice,
        comment=str(form.get("comment") or "") or None,
    )
    return redirect(f"/review/projects/{project}/agreement#disagreements")


@router.get("/projects/{project}/export")
def export(
    project: str,
    request: Request,
    session: PageSession,
    ws: WorkspaceDep,
    tasks: BackgroundTasks,
    format: Literal["full", "seed"] = "full",
    type: Literal["csv", "jsonl", "json", "parquet"] = "csv",
) -> Response:
    """The labelled set as a file, as `judgeloop export` writes it (undone labels left out)."""
    _admin(request, session, project)
    folder = Path(tempfile.mkdtemp(prefix="jl-export-"))
    path = exporting.export_labelled(ws, project, format, folder / f"{project}-{format}.{type}")
    tasks.add_task(_cleanup, folder)
    return FileResponse(path, media_type=exporting.FILE_TYPES[type], filename=path.name)


def _cleanup(folder: Path) -> None:
    for p in folder.iterdir():
        p.unlink(missing_ok=True)
    folder.rmdir()


__all__ = ["router", "setup"]
