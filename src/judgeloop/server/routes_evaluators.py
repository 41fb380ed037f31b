"""The evaluator catalog, promotion and project settings: `GET /v1/evaluators`,
`POST /v1/evaluators/{name}/promote`, `GET|PUT /v1/projects/{project}/settings`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI

from judgeloop.server import runtime, services
from judgeloop.server.deps import CurrentPrincipal, RuntimeDep, WorkspaceDep, require_role
from judgeloop.server.schemas import PromoteIn, SettingsIn

router = APIRouter(prefix="/v1", tags=["evaluators"])


def setup(app: FastAPI) -> None:
    runtime.install(app)


@router.get("/evaluators")
def list_evaluators(principal: CurrentPrincipal, ws: WorkspaceDep, rt: RuntimeDep) -> list[dict[str, Any]]:
    """Every evaluator version the project may use, with status and held-out metrics."""
    return services.list_evaluators(rt, ws, principal)


@router.post("/evaluators/{name}/promote")
def promote(
    name: str, body: PromoteIn, principal: CurrentPrincipal, ws: WorkspaceDep, rt: RuntimeDep
) -> dict[str, Any]:
    """Make `name@version` the champion if the gate passes (or `force`); admins only. 409 if refused."""
    require_role(principal, "admin")
    return services.promote(rt, ws, principal, name, body)


@router.get("/projects/{project}/settings")
def get_settings(project: str, principal: CurrentPrincipal, ws: WorkspaceDep) -> dict[str, Any]:
    return services.project_settings(ws, principal, project)


@router.put("/projects/{project}/settings")
def put_settings(
    project: str, body: SettingsIn, principal: CurrentPrincipal, ws: WorkspaceDep, rt: RuntimeDep
) -> dict[str, Any]:
    """Change `sample_rate` (0-1) and `default_evaluator` (name or name@version); admins only."""
    require_role(principal, "admin")
    return services.update_settings(rt, ws, principal, project, body)
