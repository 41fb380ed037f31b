"""The FastAPI application factory. One app serves the API, the review UI and /metrics.

Routers live in `routes_*.py` modules (one concept each) and are included here; what they depend on
(workspace, caller, runtime) comes from `server/deps.py`. Domain errors map to HTTP statuses in one place;
responses never carry stack traces.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError

from judgeloop.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized
from judgeloop.server.settings import ServeSettings
from judgeloop.store import Workspace

log = logging.getLogger("judgeloop.server")


def _error(status: int, message: str, **extra: object) -> JSONResponse:
    return JSONResponse(status_code=status, content={"detail": message, **extra})


def is_busy(exc: OperationalError) -> bool:
    """SQLite's busy timeout ran out ("database is locked"), or PostgreSQL gave up waiting for a lock."""
    text = str(exc.orig).lower()
    return any(s in text for s in ("database is locked", "database is busy", "lock timeout", "lock_timeout"))


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(InvalidInput)
    async def _invalid(_: Request, exc: InvalidInput) -> JSONResponse:
        return _error(422, str(exc), field=exc.field)

    @app.exception_handler(NotFound)
    async def _not_found(_: Request, exc: NotFound) -> JSONResponse:
        return _error(404, str(exc))

    @app.exception_handler(Conflict)
    async def _conflict(_: Request, exc: Conflict) -> JSONResponse:
        return _error(409, exc.with_override_hint('send "force": true'))

    @app.exception_handler(Unauthorized)
    async def _unauthorized(_: Request, exc: Unauthorized) -> JSONResponse:
        return JSONResponse(
            status_code=401, content={"detail": str(exc)}, headers={"WWW-Authenticate": "Bearer"}
        )

    @app.exception_handler(Forbidden)
    async def _forbidden(_: Request, exc: Forbidden) -> JSONResponse:
        return _error(403, str(exc))

    @app.exception_handler(OperationalError)
    async def _busy(_: Request, exc: OperationalError) -> JSONResponse:
        if not is_busy(exc):
            log.exception("database error", exc_info=exc)
            return _error(500, "internal error")
        log.warning("database busy: %s", str(exc.orig)[:200])
        return JSONResponse(
            status_code=503,
            content={"detail": "the database is busy (another write holds it): retry shortly"},
            headers={"Retry-After": "2"},
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": ".".join(str(p) for p in e.get("loc", ()) if p != "body"), "message": e.get("msg")}
            for e in exc.errors()
        ]
        first = errors[0] if errors else {"field": None, "message": "invalid request"}
        return _error(422, f"{first['field']}: {first['message']}", field=first["field"], errors=errors)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return _error(500, "internal error")


class CatchUnexpected:
    """Turns an unexpected exception into a plain 500 response *inside* the app, so it never reaches
    the server: uvicorn closes the keep-alive connection of a request whose app raised, and a client
    reusing it then fails its next request. Registered after the routes' own handlers."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Any) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if started:  # too late to answer; let the server end the response
                raise
            log.exception("unhandled error", exc_info=exc)
            await _error(500, "internal error")(scope, receive, send)


def create_app(
    db: str | None = None, *, workspace: Workspace | None = None, settings: ServeSettings | None = None
) -> FastAPI:
    """The judgeloop HTTP app on the workspace at `db` (default: $JUDGELOOP_DB or ./judgeloop.db).

    `settings` (limits, model refresh, batching) default to `ServeSettings()` read from JUDGELOOP_* env vars.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        for start in getattr(app.state, "startup_hooks", []):
            start()
        yield
        for hook in getattr(app.state, "shutdown_hooks", []):
            hook()

    settings = settings or ServeSettings()
    docs = settings.docs_enabled  # JUDGELOOP_API_DOCS, off by default when JUDGELOOP_ENV=production
    app = FastAPI(
        title="judgeloop",
        version="0.1.0",
        lifespan=lifespan,
        description="Guardrail and evaluation API, human review, and monitoring for LLM outputs.",
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        openapi_url="/openapi.json" if docs else None,
    )
    app.state.workspace = workspace or Workspace(db)
    app.state.startup_hooks, app.state.shutdown_hooks = [], []
    app.state.serve_settings = settings
    install_error_handlers(app)
    app.add_middleware(CatchUnexpected)
    from judgeloop.server import routes

    routes.include_all(app)
    _document_request_bodies(app)
    return app


def _document_request_bodies(app: FastAPI) -> None:
    """openapi.json also describes the bodies that routes parse themselves (one object or a list)."""
    from judgeloop.server.schemas import REQUEST_MODELS, add_request_schemas

    build = app.openapi

    def openapi() -> dict[str, Any]:
        return add_request_schemas(build(), REQUEST_MODELS)

    app.openapi = openapi  # type: ignore[method-assign]
