"""Browser sessions of the review UI: signed cookies, CSRF tokens, and the cookie principal.

The session cookie (`jl_session`) holds the user id, a fingerprint of the password hash, the user's
session epoch and the session's CSRF token, signed and timestamped with
itsdangerous; it is HttpOnly, SameSite=Lax, and Secure when the request came over https (or when
`JUDGELOOP_COOKIE_SECURE=true`). Forms carry the CSRF token in a hidden `csrf_token` field, scripts in
the `X-CSRF-Token` header; every unsafe request made with the cookie must carry it. The sign-in form,
which has no session yet, uses a double-submit token (`jl_login` cookie = form field).

The signing key is `JUDGELOOP_SECRET_KEY`; without it each server process makes a random one (browser
sessions then end when the server restarts and do not cross processes).

Sessions are revocable on the server: every request compares the cookie's epoch with the user's
`session_epoch`, which sign-out, a password change and removal from a project bump, so a captured
cookie stops working at once (sign-out ends the user's sessions in every browser).

Sign-in is throttled per account and per client address (judgeloop.review.throttle); failures are
logged on the `judgeloop.server.review` logger.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from judgeloop.errors import Forbidden
from judgeloop.review import users
from judgeloop.review.users import User
from judgeloop.server.auth import Principal
from judgeloop.store import Workspace

log = logging.getLogger("judgeloop.server.review")

SESSION_COOKIE = "jl_session"
LOGIN_COOKIE = "jl_login"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
PROJECT_HEADER = "x-judgeloop-project"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class ReviewSettings(BaseSettings):
    """Settings of the review UI (env vars prefixed `JUDGELOOP_`)."""

    model_config = SettingsConfigDict(env_prefix="JUDGELOOP_", extra="ignore")

    secret_key: SecretStr | None = Field(default=None, description="Signs browser-session cookies.")
    session_max_age_s: int = Field(default=12 * 3600, gt=0, description="How long a sign-in lasts.")
    cookie_secure: bool | None = Field(default=None, description="Force the Secure flag (default: on https).")
    login_max_failures: int = Field(
        default=10, gt=0, le=20, description="Failed sign-ins in a row that lock an account (429)."
    )
    login_max_failures_per_address: int = Field(
        default=20, gt=0, le=20, description="Failed sign-ins in a row from one address that lock it."
    )
    login_lockout_s: float = Field(
        default=900.0, gt=0, description="How long a lock lasts unless an admin clears it sooner."
    )
    review_stale_minutes: float = Field(
        default=30.0, gt=0, description="An item assigned but not labelled for this long is offered again."
    )


@dataclass(frozen=True)
class WebSession:
    user: User
    csrf: str


class WebAuth:
    """Issues and reads session cookies for one app."""

    def __init__(self, ws: Workspace, settings: ReviewSettings) -> None:
        self.ws, self.settings = ws, settings
        key = settings.secret_key.get_secret_value() if settings.secret_key else None
        if not key:
            log.warning("JUDGELOOP_SECRET_KEY is not set: browser sessions end when this server stops")
            key = secrets.token_urlsafe(32)
        self._signer = URLSafeTimedSerializer(key, salt="judgeloop.review.session")
        self._login_signer = URLSafeTimedSerializer(key, salt="judgeloop.review.login")

    # --- cookies ---------------------------------------------------------------------------------

    def _secure(self, request: Request) -> bool:
        forced = self.settings.cookie_secure
        return forced if forced is not None else request.url.scheme == "https"

    def _set(self, response: Response, request: Request, name: str, value: str, max_age: int) -> None:
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            httponly=True,
            samesite="lax",
            secure=self._secure(request),
            path="/",
        )

    def sign_in(self, response: Response, request: Request, user: User) -> WebSession:
        """A new session (and a new CSRF token) for `user`, set as the session cookie."""
        session = WebSession(user, secrets.token_urlsafe(24))
        payload = {"u": user.id, "f": user.fingerprint, "e": user.epoch, "c": session.csrf}
        self._set(
            response, request, SESSION_COOKIE, self._signer.dumps(payload), self.settings.session_max_age_s
        )
        response.delete_cookie(LOGIN_COOKIE, path="/")
        return session

    def sign_out(self, response: Response, session: WebSession | None = None) -> None:
        """Delete the cookie and, for a signed-in user, end their sessions on the server too."""
        if session is not None:
            users.end_sessions(self.ws, session.user.id)
        response.delete_cookie(SESSION_COOKIE, path="/")

    def read(self, request: Request) -> WebSession | None:
        """The request's valid session, or None (no cookie, bad signature, expired, user changed)."""
        if hasattr(request.state, "web_session"):
            return request.state.web_session  # type: ignore[no-any-return]
        session = self._decode(request.cookies.get(SESSION_COOKIE))
        request.state.web_session = session
        return session

    def _decode(self, raw: str | None) -> WebSession | None:
        if not raw:
            return None
        try:
            data: dict[str, Any] = self._signer.loads(raw, max_age=self.settings.session_max_age_s)
        except BadSignature:
            return None
        user = users.get_user(self.ws, int(data.get("u", 0)))
        if user is None or not hmac.compare_digest(user.fingerprint, str(data.get("f", ""))):
            return None
        if data.get("e") != user.epoch:  # signed out, password changed or removed since
            return None
        return WebSession(user, str(data.get("c", "")))

    # --- CSRF ------------------------------------------------------------------------------------

    @staticmethod
    def check_csrf(session: WebSession, token: str | None) -> None:
        if not token or not hmac.compare_digest(session.csrf, token):
            raise HTTPException(status_code=403, detail="CSRF token missing or wrong: reload the page")

    @staticmethod
    def new_login_token() -> str:
        return secrets.token_urlsafe(24)

    def set_login_token(self, request: Request, response: Response, token: str) -> None:
        """Keep the sign-in form's double-submit token in its own short-lived cookie."""
        self._set(response, request, LOGIN_COOKIE, self._login_signer.dumps(token), 3600)

    def check_login_token(self, request: Request, token: str | None) -> None:
        try:
            expected = self._login_signer.loads(request.cookies.get(LOGIN_COOKIE, ""), max_age=3600)
        except BadSignature:
            expected = None
        if not token or not expected or not hmac.compare_digest(str(expected), token):
            raise HTTPException(status_code=403, detail="the sign-in form expired: reload the page")

    # --- the principal of API calls made by the pages --------------------------------------------

    def principal(self, request: Request) -> Principal | None:
        """`app.state.cookie_principal`: the signed-in user acting in the project named by the
        `X-Judgeloop-Project` header (or their only project). Unsafe methods need the CSRF header."""
        session = self.read(request)
        if session is None:
            return None
        if request.method not in SAFE_METHODS:
            self.check_csrf(session, request.headers.get(CSRF_HEADER))
        mine = users.memberships(self.ws, session.user)
        wanted = request.headers.get(PROJECT_HEADER)
        if wanted is None and len(mine) == 1:
            wanted = mine[0].project
        found = next((m for m in mine if m.project == wanted), None)
        if found is None:
            raise Forbidden(f"user {session.user.name!r} is not a member of project {wanted!r}")
        return Principal(
            project=found.project, project_id=found.project_id, role=found.role, user=session.user.name
        )


def install(app: FastAPI) -> WebAuth:
    """Create the app's WebAuth once and hook it in as the cookie principal."""
    existing = getattr(app.state, "web_auth", None)
    if existing is not None:
        return existing  # type: ignore[no-any-return]
    auth = WebAuth(app.state.workspace, ReviewSettings())
    app.state.web_auth = auth
    app.state.cookie_principal = auth.principal
    return auth


def get_web_auth(request: Request) -> WebAuth:
    return request.app.state.web_auth  # type: ignore[no-any-return]


WebAuthDep = Annotated[WebAuth, Depends(get_web_auth)]

__all__ = [
    "CSRF_FIELD",
    "CSRF_HEADER",
    "PROJECT_HEADER",
    "SESSION_COOKIE",
    "ReviewSettings",
    "WebAuth",
    "WebAuthDep",
    "WebSession",
    "get_web_auth",
    "install",
]
