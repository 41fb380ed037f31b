"""`POST /v1/tokens/revoke`: an admin revokes one of the project's API tokens. It stops working at once
on this server and, on PostgreSQL, within about a second on every other server of the workspace."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from judgeloop.server import services
from judgeloop.server.deps import CurrentPrincipal, WorkspaceDep, require_role
from judgeloop.server.schemas import RevokeIn

router = APIRouter(prefix="/v1", tags=["tokens"])


@router.post("/tokens/revoke", status_code=204)
def revoke(body: RevokeIn, principal: CurrentPrincipal, ws: WorkspaceDep, request: Request) -> Response:
    """Revoke a token of the caller's project (404 for any other); admins only."""
    require_role(principal, "admin")
    services.revoke_token(ws, body.token, project_id=principal.project_id)
    cache = getattr(request.app.state, "token_cache", None)
    if cache is not None:
        cache.forget()
    return Response(status_code=204)
