"""What the review pages share: templates, static files, the signed-in user, and safe redirects."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from judgeloop.review import users
from judgeloop.review.users import Membership
from judgeloop.server import web_auth
from judgeloop.server.web_auth import CSRF_FIELD, WebAuthDep, WebSession

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
STATIC_PATH = "/review/static"


class LoginRequired(Exception):
    def __init__(self, next_url: str) -> None:
        self.next_url = next_url


def install(app: FastAPI) -> None:
    """Session handling, static files and the sign-in redirect; once per app."""
    if getattr(app.state, "review_pages", False):
        return
    app.state.review_pages = True
    web_auth.install(app)
    app.mount(STATIC_PATH, StaticFiles(directory=str(HERE / "static")), name="review-static")

    @app.exception_handler(LoginRequired)
    async def _login(_: Request, exc: LoginRequired) -> Response:
        return RedirectResponse(f"/review/login?next={quote(exc.next_url)}", status_code=303)


def page_session(request: Request, auth: WebAuthDep) -> WebSession:
    """The signed-in user of a page request; others are sent to the sign-in page."""
    session = auth.read(request)
    if session is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target)
    return session


PageSession = Annotated[WebSession, Depends(page_session)]


def safe_next(target: str | None) -> str:
    """Only same-site paths under /review (no `//host` tricks) are redirect targets."""
    if target and target.startswith("/review") and not target.startswith("//") and "\\" not in target:
        return target
    return "/review"


def check_form(auth: web_auth.WebAuth, session: WebSession, form: Any) -> None:
    auth.check_csrf(session, form.get(CSRF_FIELD))


def render(
    request: Request, name: str, session: WebSession | None, status: int = 200, **context: Any
) -> HTMLResponse:
    ws = request.app.state.workspace
    projects: list[Membership] = users.memberships(ws, session.user) if session else []
    base = {
        "user": session.user if session else None,
        "csrf": session.csrf if session else "",
        "projects": projects,
    }
    response = templates.TemplateResponse(request, name, {**base, **context}, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'"
    )
    return response


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


__all__ = [
    "LoginRequired",
    "PageSession",
    "check_form",
    "install",
    "page_session",
    "redirect",
    "render",
    "safe_next",
    "templates",
]
