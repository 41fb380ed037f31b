"""Reviewer accounts: users with argon2id password hashes, and their per-project memberships.

A user's own `role` is global (`admin` users are leads: they may create projects and act as admin in
every project); a membership gives a `reviewer` or `admin` role in one project.
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass
from typing import Literal, cast

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session as DB

from judgeloop.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized
from judgeloop.store import Workspace, changes
from judgeloop.store.tables import MembershipRow, ProjectRow, TokenRow, UserRow
from judgeloop.types import REVIEWER_NAME_PATTERN

MemberRole = Literal["reviewer", "admin"]
MEMBER_ROLES: tuple[MemberRole, ...] = ("reviewer", "admin")
MIN_PASSWORD = 8

_hasher = PasswordHasher()  # argon2id with the library's recommended cost


@functools.cache
def _dummy_hash() -> str:
    """Checked against when the user does not exist, so both mistakes take the same time."""
    return _hasher.hash("judgeloop-timing-equaliser")


@dataclass(frozen=True)
class User:
    id: int
    name: str
    role: MemberRole
    fingerprint: str  # changes when the password changes: signs out every browser session
    epoch: int = 0  # bumped by sign-out, password change and removal: ends every browser session

    @property
    def is_lead(self) -> bool:
        return self.role == "admin"


@dataclass(frozen=True)
class Membership:
    project: str
    project_id: int
    role: MemberRole


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(
            "password is too short", field="password", expected=f"at least {MIN_PASSWORD} characters"
        )
    return _hasher.hash(password)


def _fingerprint(password_hash: str | None) -> str:
    return hashlib.sha256((password_hash or "").encode()).hexdigest()[:16]


def _user(row: UserRow) -> User:
    return User(
        row.id, row.name, cast(MemberRole, row.role), _fingerprint(row.password_hash), row.session_epoch or 0
    )


def check_role(role: str) -> MemberRole:
    if role not in MEMBER_ROLES:
        raise InvalidInput(f"unknown role {role!r}", field="role", expected="reviewer or admin")
    return cast(MemberRole, role)


def check_name(name: str) -> str:
    name = name.strip()
    if not re.match(REVIEWER_NAME_PATTERN, name) or any(c.isspace() for c in name):
        raise InvalidInput(
            "bad user name",
            field="name",
            expected="1-100 characters without spaces, <>&\"'` or control characters",
        )
    return name


def add_reviewer(
    ws: Workspace,
    name: str,
    project: str,
    role: str = "reviewer",
    password: str | None = None,
    *,
    lead: bool = False,
) -> User:
    """Create the user (a password is required then) or update it, and give it `role` in `project`.

    An existing user keeps its password unless a new one is given. `lead=True` also makes the user a
    lead (admin of every project, may create projects); nothing else ever does.
    """
    name, member_role = check_name(name), check_role(role)
    new_hash = hash_password(password) if password else None
    with ws.db() as db:
        pid = ws.project_id(db, project, create=True)
        row = db.scalar(select(UserRow).where(UserRow.name == name))
        if row is None:
            if new_hash is None:
                raise InvalidInput("a new user needs a password", field="password")
            row = UserRow(name=name, password_hash=new_hash, role="reviewer")
            db.add(row)
            db.flush()
        elif new_hash is not None:
            row.password_hash = new_hash
            row.session_epoch = (row.session_epoch or 0) + 1  # a new password signs every browser out
        if lead:
            row.role = "admin"
        _set_membership(db, row.id, pid, member_role)
        return _user(row)


def _set_membership(db: DB, user_id: int, project_id: int, role: MemberRole) -> None:
    found = db.scalar(
        select(MembershipRow).where(MembershipRow.user_id == user_id, MembershipRow.project_id == project_id)
    )
    if found is None:
        db.add(MembershipRow(user_id=user_id, project_id=project_id, role=role))
    else:
        found.role = role


def end_sessions(ws: Workspace, user_id: int) -> None:
    """Sign the user out of every browser (their cookies stop working on the next request)."""
    with ws.db() as db:
        db.execute(
            update(UserRow).where(UserRow.id == user_id).values(session_epoch=UserRow.session_epoch + 1)
        )


def remove_member(ws: Workspace, name: str, project: str) -> None:
    """Take the user out of `project`: the membership goes, their API tokens of that project are revoked
    and their browser sessions end. The user and their labels stay."""
    with ws.db() as db:
        pid = ws.project_id(db, project)
        row = db.scalar(select(UserRow).where(UserRow.name == name))
        if row is None:
            raise NotFound(f"no user named {name!r}")
        gone = db.execute(
            delete(MembershipRow).where(MembershipRow.user_id == row.id, MembershipRow.project_id == pid)
        )
        if not getattr(gone, "rowcount", 0):
            raise NotFound(f"{name!r} is not a member of project {project!r}")
        db.execute(
            update(TokenRow)
            .where(TokenRow.user_id == row.id, TokenRow.project_id == pid)
            .values(revoked=True)
        )
        row.session_epoch = (row.session_epoch or 0) + 1
        changes.announce(db, "tokens")


def authenticate(ws: Workspace, name: str, password: str) -> User:
    """The user with this name and password; Unauthorized otherwise (same answer for both mistakes)."""
    with ws.db() as db:
        row = db.scalar(select(UserRow).where(UserRow.name == name.strip()))
        stored = row.password_hash if row is not None and row.password_hash else _dummy_hash()
        try:
            _hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            raise Unauthorized("wrong user name or password") from None
        if row is None or not row.password_hash:
            raise Unauthorized("wrong user name or password")
        if _hasher.check_needs_rehash(row.password_hash):
            row.password_hash = _hasher.hash(password)
        return _user(row)


def get_user(ws: Workspace, user_id: int) -> User | None:
    with ws.reader() as db:
        row = db.get(UserRow, user_id)
        return _user(row) if row is not None else None


def user_id(ws: Workspace, name: str) -> int:
    with ws.db() as db:
        uid = db.scalar(select(UserRow.id).where(UserRow.name == name))
    if uid is None:
        raise NotFound(f"no user named {name!r}")
    return uid


def memberships(ws: Workspace, user: User) -> list[Membership]:
    """The projects a user may open; leads see every project, as admin."""
    with ws.reader() as db:
        if user.is_lead:
            rows = db.execute(select(ProjectRow.name, ProjectRow.id).order_by(ProjectRow.name))
            return [Membership(name, pid, "admin") for name, pid in rows]
        q = (
            select(ProjectRow.name, ProjectRow.id, MembershipRow.role)
            .join(MembershipRow, MembershipRow.project_id == ProjectRow.id)
            .where(MembershipRow.user_id == user.id)
            .order_by(ProjectRow.name)
        )
        return [Membership(name, pid, cast(MemberRole, role)) for name, pid, role in db.execute(q)]


def membership(ws: Workspace, user: User, project: str) -> Membership:
    """The user's role in `project`; NotFound when the project is not theirs (or does not exist)."""
    for m in memberships(ws, user):
        if m.project == project:
            return m
    raise NotFound(f"no project {project!r} for user {user.name!r}")


def members(ws: Workspace, project: str) -> list[tuple[str, MemberRole]]:
    with ws.db() as db:
        pid = ws.project_id(db, project)
        q = (
            select(UserRow.name, MembershipRow.role)
            .join(MembershipRow, MembershipRow.user_id == UserRow.id)
            .where(MembershipRow.project_id == pid)
            .order_by(UserRow.name)
        )
        return [(name, cast(MemberRole, role)) for name, role in db.execute(q)]


def create_project(ws: Workspace, name: str, lead: User) -> str:
    """A new, empty project (leads only); the lead becomes its admin."""
    if not lead.is_lead:
        raise Forbidden("only leads (admin users) create projects")
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidInput("bad project name", field="project", expected="1-200 characters")
    with ws.db() as db:
        if db.scalar(select(ProjectRow.id).where(ProjectRow.name == name)) is not None:
            raise Conflict(f"project {name!r} exists already")
        pid = ws.project_id(db, name, create=True)
        _set_membership(db, lead.id, pid, "admin")
    return name


__all__ = [
    "MEMBER_ROLES",
    "Membership",
    "User",
    "add_reviewer",
    "authenticate",
    "create_project",
    "end_sessions",
    "get_user",
    "hash_password",
    "members",
    "membership",
    "memberships",
    "remove_member",
    "user_id",
]
