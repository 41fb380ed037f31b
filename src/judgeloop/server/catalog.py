"""The evaluators a project may use: its own registered versions and those registered without a project.

Registry names are global; a token only ever sees the evaluators of its project, and error messages
name only those, never another project's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import or_, select

from judgeloop.errors import Conflict, NotFound
from judgeloop.registry import VersionInfo, parse_ref
from judgeloop.store import Workspace
from judgeloop.store.tables import EvaluatorVersionRow

DEFAULT_EVALUATOR = "default_evaluator"


class ProjectScope(Protocol):
    """What a request acts for: a principal, or a background job on its behalf."""

    @property
    def project(self) -> str: ...

    @property
    def project_id(self) -> int: ...


@dataclass(frozen=True)
class Scope:
    project: str
    project_id: int


@dataclass(frozen=True)
class VersionRecord:
    info: VersionInfo
    project_id: int | None

    def visible_to(self, scope: ProjectScope) -> bool:
        return self.project_id is None or self.project_id == scope.project_id


def _record(row: EvaluatorVersionRow, project: str | None) -> VersionRecord:
    info = VersionInfo(
        name=row.name,
        version=row.version,
        status=row.status,
        artifact_path=row.artifact_path,
        base_model=row.base_model,
        method=row.method,
        metrics=dict(row.metrics or {}),
        threshold=row.threshold,
        temperature=row.temperature,
        project=project,
        created_at=row.created_at.isoformat() if row.created_at else None,
        note=row.note,
    )
    return VersionRecord(info, row.project_id)


def _visible(scope: ProjectScope) -> Any:
    return or_(EvaluatorVersionRow.project_id == scope.project_id, EvaluatorVersionRow.project_id.is_(None))


def visible_versions(ws: Workspace, scope: ProjectScope, name: str | None = None) -> list[VersionRecord]:
    """Every version the project may use, by name then version."""
    with ws.reader() as db:  # read-only: no write lock on SQLite
        q = (
            select(EvaluatorVersionRow)
            .where(_visible(scope))
            .order_by(EvaluatorVersionRow.name, EvaluatorVersionRow.version)
        )
        if name is not None:
            q = q.where(EvaluatorVersionRow.name == name)
        return [_record(r, scope.project if r.project_id else None) for r in db.scalars(q)]


def all_champions(ws: Workspace) -> list[VersionRecord]:
    """The champion of every evaluator name, whatever its project (for warming a server's cache)."""
    with ws.reader() as db:
        rows = db.scalars(select(EvaluatorVersionRow).where(EvaluatorVersionRow.status == "champion"))
        return [_record(r, None) for r in rows]


def _names(records: list[VersionRecord]) -> str:
    return ", ".join(sorted({r.info.name for r in records})) or "none yet"


def lookup(ws: Workspace, scope: ProjectScope, name: str, version: int | None) -> VersionRecord:
    """`name@version`, or the champion of `name` when `version` is None; NotFound names what exists."""
    versions = visible_versions(ws, scope, name)
    if not versions:
        known = _names(visible_versions(ws, scope))
        raise NotFound(f"no evaluator named {name!r} in project {scope.project!r}; evaluators: {known}")
    for rec in versions:
        if (version is None and rec.info.status == "champion") or rec.info.version == version:
            return rec
    what = f"version {version}" if version is not None else "champion"
    listing = ", ".join(f"{r.info.ref} ({r.info.status})" for r in versions)
    raise NotFound(f"evaluator {name!r} has no {what}; versions: {listing}")


def default_ref(ws: Workspace, scope: ProjectScope) -> str:
    """The project's `default_evaluator` setting, else its only champion (else a global one)."""
    configured = ws.project_settings(scope.project).get(DEFAULT_EVALUATOR)
    if configured:
        return str(configured)
    versions = visible_versions(ws, scope)
    champions = [r for r in versions if r.info.status == "champion" and r.info.method != "pairwise_bt"]
    own = [r for r in champions if r.project_id is not None] or champions  # comparators: POST /v1/compare
    if len(own) == 1:
        return own[0].info.name
    if not own:
        raise NotFound(
            f"project {scope.project!r} has no champion evaluator (evaluators: {_names(versions)}); "
            "promote one or pass 'evaluator'"
        )
    raise Conflict(
        f"project {scope.project!r} has several champion evaluators ({_names(own)}); pass 'evaluator' "
        f"or set '{DEFAULT_EVALUATOR}' with PUT /v1/projects/{scope.project}/settings"
    )


def check_ref(ws: Workspace, scope: ProjectScope, ref: str) -> VersionRecord:
    """Raises NotFound unless `ref` (`name` or `name@version`) names a usable evaluator."""
    name, version = parse_ref(ref)
    return lookup(ws, scope, name, version)


__all__ = [
    "DEFAULT_EVALUATOR",
    "all_champions",
    "ProjectScope",
    "Scope",
    "VersionRecord",
    "check_ref",
    "default_ref",
    "lookup",
    "visible_versions",
]
