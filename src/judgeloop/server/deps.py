"""What the routes depend on, in one place: the workspace, the authenticated caller and the runtime
(`Annotated` aliases for FastAPI's `Depends`). Route modules import these, never `server/app.py`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from starlette.concurrency import run_in_threadpool

from judgeloop.errors import Unauthorized
from judgeloop.server.auth import Principal, principal_for_token
from judgeloop.server.auth_cache import TokenCache
from judgeloop.server.runtime import Runtime
from judgeloop.store import Workspace


def get_workspace(request: Request) -> Workspace:
    return request.app.state.workspace  # type: ignore[no-any-return]


WorkspaceDep = Annotated[Workspace, Depends(get_workspace)]


def get_principal(request: Request) -> Principal:
    """The caller: a Bearer token, or a signed browser-session cookie (review UI)."""
    header = request.headers.get("authorization", "")
    ws = get_workspace(request)
    if header.lower().startswith("bearer "):
        cached = getattr(request.app.state, "token_cache", None)  # see server/auth_cache.py
        token = header[7:].strip()
        return cached.principal(token) if cached is not None else principal_for_token(ws, token)
    resolver = getattr(request.app.state, "cookie_principal", None)
    if resolver is not None:
        principal = resolver(request)
        if principal is not None:
            return principal  # type: ignore[no-any-return]
    raise Unauthorized("missing credentials: send 'Authorization: Bearer TOKEN'")


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def require_role(principal: Principal, *roles: str) -> None:
    if not principal.can(*roles):  # type: ignore[arg-type]
        raise HTTPException(
            status_code=403,
            detail=f"this needs the role {' or '.join(roles)}; the token has {principal.role}",
        )


async def get_runtime(request: Request) -> Runtime:  # async: no thread-pool hop to resolve it
    return request.app.state.serve  # type: ignore[no-any-return]


async def get_workspace_async(request: Request) -> Workspace:
    return request.app.state.workspace  # type: ignore[no-any-return]


async def get_principal_async(request: Request) -> Principal:
    """`CurrentPrincipal` for async routes: a cached token answers on the event loop, anything else
    (first use, cookies, errors) goes through `get_principal` on the thread pool."""
    header = request.headers.get("authorization", "")
    cache: TokenCache | None = getattr(request.app.state, "token_cache", None)
    if cache is not None and header.lower().startswith("bearer "):
        found = cache.peek(header[7:].strip())
        if found is not None:
            return found
    return await run_in_threadpool(get_principal, request)


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
AsyncWorkspaceDep = Annotated[Workspace, Depends(get_workspace_async)]
AsyncPrincipal = Annotated[Principal, Depends(get_principal_async)]

__all__ = [
    "AsyncPrincipal",
    "AsyncWorkspaceDep",
    "CurrentPrincipal",
    "RuntimeDep",
    "WorkspaceDep",
    "get_principal",
    "get_principal_async",
    "get_runtime",
    "get_workspace",
    "require_role",
]
