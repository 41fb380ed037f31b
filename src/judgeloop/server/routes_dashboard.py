"""Monitoring pages of the review UI (project admins and leads): overview, one alert, evaluators,
outliers, and a session. Server-rendered HTML with inline SVG charts written by `review.charts`."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from judgeloop.monitor.queries import TimeAxis
from judgeloop.review import charts, dashboard
from judgeloop.server import pages
from judgeloop.server.deps import WorkspaceDep
from judgeloop.server.pages import PageSession, redirect, render
from judgeloop.server.web_auth import WebAuthDep

router = APIRouter(prefix="/review/projects/{project}", include_in_schema=False)


def setup(app: FastAPI) -> None:
    pages.install(app)


def _base(project: str) -> str:
    return f"/review/projects/{quote(project, safe='')}"


@router.get("/monitor", response_class=HTMLResponse)
def overview_page(
    project: str,
    request: Request,
    session: PageSession,
    ws: WorkspaceDep,
    evaluator: str | None = None,
    by: str = "day",
    since: datetime | None = None,
    axis: TimeAxis = "session",
) -> Response:
    """Traffic, scored share, pass rate with its 95% interval and alerts, automation shares."""
    dashboard.monitor_access(ws, session.user, project)
    data = dashboard.overview(ws, project, evaluator or None, bucket=by, since=since, time_axis=axis)
    labels = [w["label"] for w in data["windows"]]
    marks = [
        (first, last, f"{_base(project)}/monitor/alerts/{a.id}", f"alert {a.id}: {a.describe()}")
        for first, last, a in data["marks"]
    ]
    points = [(w["pass_rate"], w["low"], w["high"], w["flagged"]) for w in data["windows"]]
    shares = {
        "scored": [w["scored_share"] for w in data["windows"]],
        "automated": [w["automated_share"] for w in data["windows"]],
        "needs review": [w["needs_review_share"] for w in data["windows"]],
    }
    figures = {
        "traffic": Markup(
            charts.columns(labels, [w["sessions"] for w in data["windows"]], "Sessions per window")
        ),
        "pass_rate": Markup(charts.rate_line(labels, points, "Pass rate with 95% interval", marks)),
        "shares": Markup(charts.share_lines(labels, shares, "Scored, automated and needs-review shares")),
    }
    return render(
        request,
        "dashboard_overview.html",
        session,
        tab="overview",
        base=_base(project),
        d=data,
        charts=figures,
    )


@router.get("/monitor/alerts/{alert_id}", response_class=HTMLResponse)
def alert_page(
    project: str, alert_id: int, request: Request, session: PageSession, ws: WorkspaceDep
) -> Response:
    """The alert's window: its sessions with the evaluator's probability and the human labels."""
    dashboard.monitor_access(ws, session.user, project)
    data = dashboard.alert_page(ws, project, alert_id)
    message = request.query_params.get("msg")
    return render(
        request, "dashboard_alert.html", session, tab="alerts", base=_base(project), d=data, message=message
    )


@router.post("/monitor/alerts/{alert_id}/queue")
async def queue_alert(
    project: str, alert_id: int, request: Request, session: PageSession, ws: WorkspaceDep, auth: WebAuthDep
) -> Response:
    """Queue the alert's sessions for review (queue `alert-<id>`)."""
    dashboard.monitor_access(ws, session.user, project)
    pages.check_form(auth, session, await request.form())
    report = dashboard.queue_alert(ws, project, alert_id)
    msg = f"{report.added} sessions added to queue {report.queue} ({report.skipped} already there)"
    return redirect(f"{_base(project)}/monitor/alerts/{alert_id}?msg={quote(msg)}")


@router.get("/monitor/evaluators", response_class=HTMLResponse)
def evaluators_page(project: str, request: Request, session: PageSession, ws: WorkspaceDep) -> Response:
    """Every version: accuracy and kappa against humans with CIs, calibration, automation, promotions."""
    dashboard.monitor_access(ws, session.user, project)
    data = dashboard.evaluators_page(ws, project)
    figures: dict[str, Any] = {}
    for row in data["versions"]:
        cal = row["calibration"]
        if cal:
            figures[row["ref"]] = Markup(charts.reliability(cal["bins"], f"Reliability of {row['ref']}"))
    est = [
        (r["ref"], r["agreement"]) for r in data["versions"] if r["agreement"] and r["agreement"].get("kappa")
    ]
    figures["kappa"] = Markup(
        charts.intervals([(ref, *_triple(a["kappa"])) for ref, a in est], "Kappa vs humans (95% CI)")
    )
    figures["accuracy"] = Markup(
        charts.intervals([(ref, *_triple(a["accuracy"])) for ref, a in est], "Accuracy vs humans (95% CI)")
    )
    return render(
        request,
        "dashboard_evaluators.html",
        session,
        tab="evaluators",
        base=_base(project),
        d=data,
        charts=figures,
    )


def _triple(est: dict[str, Any] | None) -> tuple[float | None, float | None, float | None]:
    return (None, None, None) if not est else (est["value"], est["low"], est["high"])


@router.get("/monitor/outliers", response_class=HTMLResponse)
def outliers_page(
    project: str, request: Request, session: PageSession, ws: WorkspaceDep, evaluator: str | None = None
) -> Response:
    """Sessions where evaluators disagree with each other or with the humans, and the least sure verdicts."""
    dashboard.monitor_access(ws, session.user, project)
    data = dashboard.outliers_page(ws, project, evaluator or None)
    return render(request, "dashboard_outliers.html", session, tab="outliers", base=_base(project), d=data)


@router.get("/sessions/{session_id:path}", response_class=HTMLResponse)
def session_page(
    project: str, session_id: str, request: Request, session: PageSession, ws: WorkspaceDep
) -> Response:
    """One session: input (chat messages kept), output, metadata, human labels and verdicts."""
    dashboard.monitor_access(ws, session.user, project)
    item, labels, verdicts = ws.session_detail(project, session_id)
    return render(
        request, "dashboard_session.html", session, tab="", base=_base(project), project=project,
        item=item, labels=labels, verdicts=verdicts,
    )  # fmt: skip
