"""API tokens and the principal a request acts as.

Tokens are random strings shown once; the store keeps only their SHA-256. A token belongs to one
project and has a role: `reviewer` (label), `service` (evaluate, log sessions), `admin` (everything
in its project, including promotion and queues). Browser sessions (review UI) resolve to the same
Principal through a signed cookie (see judgeloop.server.web_auth).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select

from judgeloop.errors import InvalidInput, Unauthorized
from judgeloop.store import Workspace
from judgeloop.store.tables import ProjectRow, TokenRow

Role = Literal["reviewer", "service", "admin"]
ROLES: tuple[Role, ...] = ("reviewer", "service", "admin")
TOKEN_PREFIX = "jl_"


@dataclass(frozen=True)
class Principal:
    project: str
    project_id: int
    role: Role
    user: str | None = None  # reviewer name for user tokens and browser sessions
    token_id: int | None = None

    @property
    def name(self) -> str:
        return self.user or f"token-{self.token_id}"

    def can(self, *roles: Role) -> bool:
        return self.role == "admin" or self.role in roles


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(ws: Workspace, project: str, role: str, user_id: int | None = None) -> str:
    """A new token for `project` with `role`; returns the plaintext (shown once, stored hashed)."""
    if role not in ROLES:
        raise InvalidInput(f"unknown role {role!r}", field="role", expected=" | ".join(ROLES))
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with ws.db() as db:
        pid = ws.project_id(db, project, create=True)
        db.add(TokenRow(token_hash=hash_token(token), project_id=pid, user_id=user_id, role=role))
    return token


def principal_for_token(ws: Workspace, token: str) -> Principal:
    from judgeloop.store.tables import UserRow

    with ws.reader() as db:  # read-only: takes no write lock on SQLite (imports may hold it)
        row = db.scalar(select(TokenRow).where(TokenRow.token_hash == hash_token(token)))
        if row is None or row.revoked:
            raise Unauthorized("invalid or revoked token")
        project = db.scalar(select(ProjectRow.name).where(ProjectRow.id == row.project_id)) or ""
        user = db.scalar(select(UserRow.name).where(UserRow.id == row.user_id)) if row.user_id else None
        return Principal(
            project=project,
            project_id=row.project_id,
            role=row.role,  # type: ignore[arg-type]
            user=user,
            token_id=row.id,
        )
