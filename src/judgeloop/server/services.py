"""What the /v1 routes do, without HTTP (the guardrail itself is in guardrail.py): logging traffic,
labels, the evaluator catalog, project settings and promotion. Everything acts within the caller's project.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from judgeloop import registry
from judgeloop.errors import Conflict, Forbidden, InvalidInput, NotFound
from judgeloop.server import catalog
from judgeloop.server.auth import Principal, hash_token
from judgeloop.server.catalog import DEFAULT_EVALUATOR, ProjectScope
from judgeloop.server.idempotency import Claim
from judgeloop.server.runtime import Runtime
from judgeloop.server.schemas import (
    LabelIn,
    PromoteIn,
    SessionIn,
    SessionLogged,
    SessionsLogged,
    SettingsIn,
)
from judgeloop.server.scoring import is_sampled
from judgeloop.store import Workspace, changes
from judgeloop.store.labels import IMPORTED, RESERVED_METADATA
from judgeloop.store.tables import TokenRow
from judgeloop.types import Label, Session

SAMPLE_RATE = "sample_rate"


# --- production traffic and labels -----------------------------------------------------------


def log_sessions(
    rt: Runtime, ws: Workspace, scope: ProjectScope, items: list[SessionIn], claim: Claim | None = None
) -> SessionsLogged:
    """Store every session and, in the same transaction, queue the sampled share (by project
    `sample_rate`) for background scoring. With an idempotency `claim`, the response is remembered in
    that transaction too."""
    rate = float(ws.project_settings(scope.project).get(SAMPLE_RATE) or 0.0)
    counts = (0, 0)
    result: SessionsLogged | None = None

    def also(db: Any, stored: list[Session]) -> None:
        nonlocal counts, result
        flags = [is_sampled(s.id or "", rate) for s in stored]
        chosen = [s for s, flag in zip(stored, flags, strict=True) if flag]
        counts = rt.scorer.queue(db, ws.project_id(db, scope.project), chosen) if chosen else (0, 0)
        result = _logged(stored, flags, counts[0])
        if claim is not None:
            claim.remember(db, 201, result.model_dump(mode="json"))

    ws.add_sessions(
        scope.project,
        [
            Session(
                id=s.session_id,
                model_input=s.model_input,
                model_output=s.model_output,
                output_b=s.output_b,
                reference=s.reference,
                metadata=s.metadata,
                source=s.source or "api:sessions",
                created_at=s.created_at,
            )
            for s in items
        ],
        also=also,
    )
    rt.scorer.queued(*counts)
    assert result is not None
    return result


def _logged(stored: list[Session], flags: list[bool], queued: int) -> SessionsLogged:
    return SessionsLogged(
        stored=len(stored),
        sampled=sum(flags),
        queued=queued,
        sessions=[
            SessionLogged(session_id=s.id or "", id=s.id or "", sampled=f)
            for s, f in zip(stored, flags, strict=True)
        ],
    )


def add_label(ws: Workspace, principal: Principal, body: LabelIn, claim: Claim | None = None) -> Label:
    """Store a label in the caller's name. Only an integration (a service token with no user behind
    it) may name another reviewer; such labels are marked `imported` with the token that sent them.
    Undo and adjudication have their own routes: their metadata flags are refused here."""
    for key in RESERVED_METADATA:
        if key in body.metadata:
            raise InvalidInput(
                f"'{key}' cannot be set by a client",
                field=f"metadata.{key}",
                expected="POST /v1/queues/{id}/undo to withdraw a label, "
                "POST /v1/projects/{p}/adjudications to adjudicate",
            )
    data = body.model_dump()
    reviewer = body.reviewer or principal.name
    if reviewer != principal.name:
        if principal.user is not None or not principal.can("service"):
            raise Forbidden(
                f"a label is stored in the caller's name ({principal.name!r}); only a service token "
                "may import labels in another reviewer's name"
            )
        data["metadata"] = {**body.metadata, IMPORTED: True, "imported_by": principal.name}
    data["reviewer"] = reviewer

    def remember(db: Any, stored: Label) -> None:
        if claim is not None:
            claim.remember(db, 201, stored.model_dump(mode="json"))

    return ws.add_label(principal.project, Label(**data), also=remember)


def session_detail(ws: Workspace, scope: ProjectScope, uid: str) -> dict[str, Any]:
    session, labels, verdicts = ws.session_detail(scope.project, uid)
    return {
        **session.model_dump(mode="json"),
        "labels": [x.model_dump(mode="json") for x in labels],
        "verdicts": [v.model_dump(mode="json") for v in verdicts],
    }


# --- evaluators and settings -----------------------------------------------------------------


def list_evaluators(rt: Runtime, ws: Workspace, scope: ProjectScope) -> list[dict[str, Any]]:
    """Every version the project may use, with its status and held-out metrics."""
    try:
        default: str | None = catalog.default_ref(ws, scope)
    except Exception:
        default = None
    loaded = set(rt.cache.loaded())
    out = []
    for rec in catalog.visible_versions(ws, scope):
        info = rec.info
        is_default = default in (info.name, info.ref) and (info.status == "champion" or default == info.ref)
        out.append(
            {
                "name": info.name,
                "version": info.version,
                "ref": info.ref,
                "status": info.status,
                "default": is_default,
                "method": info.method,
                "base_model": info.base_model,
                "threshold": info.threshold,
                "metrics": info.metrics.get("heldout", info.metrics),
                "project": info.project,
                "created_at": info.created_at,
                "loaded": (info.name, info.version) in loaded,
            }
        )
    return out


def _own_project(scope: ProjectScope, project: str) -> None:
    if project != scope.project:
        raise NotFound(f"no project {project!r} for this token")


SETTING_DEFAULTS: dict[str, Any] = {SAMPLE_RATE: 0.0, DEFAULT_EVALUATOR: None, "failure_tags": []}


def settings_in_effect(ws: Workspace, scope: ProjectScope, project: str) -> dict[str, Any]:
    """The stored settings over their defaults, plus `evaluator_in_effect`: the evaluator a request that
    names none gets (the default setting, else the only champion; null when there is none to pick)."""
    settings = {**SETTING_DEFAULTS, **ws.project_settings(project)}
    try:
        settings["evaluator_in_effect"] = catalog.default_ref(ws, scope)
    except (NotFound, Conflict):
        settings["evaluator_in_effect"] = None
    return settings


def project_settings(ws: Workspace, scope: ProjectScope, project: str) -> dict[str, Any]:
    _own_project(scope, project)
    return settings_in_effect(ws, scope, project)


def update_settings(
    rt: Runtime, ws: Workspace, scope: ProjectScope, project: str, body: SettingsIn
) -> dict[str, Any]:
    _own_project(scope, project)
    changes = {k: getattr(body, k) for k in body.model_fields_set}
    if changes.get(DEFAULT_EVALUATOR):
        catalog.check_ref(ws, scope, changes[DEFAULT_EVALUATOR])
    ws.update_project_settings(project, **changes)
    rt.cache.invalidate()
    return settings_in_effect(ws, scope, project)


def promote(rt: Runtime, ws: Workspace, scope: ProjectScope, name: str, body: PromoteIn) -> dict[str, Any]:
    """The gated registry promotion; this server then serves the new champion at once."""
    record = catalog.lookup(ws, scope, name, body.version)
    decision = registry.promote(
        ws, record.info.ref, project=scope.project, force=body.force, require=body.require
    )
    model = rt.cache.refresh(scope, name)
    return {"champion": f"{model.name}@{model.version}", "decision": decision}


# --- tokens ------------------------------------------------------------------------------------


def revoke_token(ws: Workspace, token: str, *, project_id: int | None = None) -> None:
    """Revoke a token (given in plain text; of `project_id` only, when given); it stops working at once
    on this server and, through the change notice, within about a second on every other one."""
    with ws.db() as db:
        row = db.scalar(select(TokenRow).where(TokenRow.token_hash == hash_token(token)))
        if row is None or (project_id is not None and row.project_id != project_id):
            raise NotFound("no such token")
        row.revoked = True
        changes.announce(db, "tokens")


__all__ = [
    "add_label",
    "list_evaluators",
    "log_sessions",
    "project_settings",
    "promote",
    "revoke_token",
    "session_detail",
    "update_settings",
]
