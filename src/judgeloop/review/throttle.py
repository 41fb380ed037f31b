"""Sign-in throttling: consecutive failed sign-ins per account and per address, kept in the database so
that every server process and the CLI see the same counts.

After `account_limit` failures in a row for one user name (or `address_limit` from one client
address) the sign-in form answers 429 with `Retry-After` until `lockout_s` has passed or an admin
clears the lock (`judgeloop reviewer unlock NAME`). A successful sign-in resets the account's count;
an address's count resets once `lockout_s` passes without a failure. Lock checks come before the
password is verified, so a locked account cannot be probed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from judgeloop.store import Workspace
from judgeloop.store.tables import LoginThrottleRow
from judgeloop.types import utcnow


@dataclass(frozen=True)
class ThrottlePolicy:
    account_limit: int = 10
    address_limit: int = 20
    lockout_s: float = 900.0


@dataclass(frozen=True)
class LockState:
    key: str
    failures: int
    locked_until: datetime | None


def account_key(name: str) -> str:
    return "account:" + name.strip()[:200]


def address_key(address: str | None) -> str:
    return "address:" + (address or "unknown")[:200]


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)


def retry_after(ws: Workspace, keys: list[str], now: datetime | None = None) -> int | None:
    """Seconds until the longest lock among `keys` ends, or None when none is locked. Reads only."""
    now = now or utcnow()
    with ws.reader() as db:
        ends = [
            _aware(until)
            for until in db.scalars(
                select(LoginThrottleRow.locked_until).where(LoginThrottleRow.key.in_(keys))
            )
        ]
    waits = [(end - now).total_seconds() for end in ends if end is not None and end > now]
    return max(1, math.ceil(max(waits))) if waits else None


def record_failure(
    ws: Workspace, keys: dict[str, int], policy: ThrottlePolicy, now: datetime | None = None
) -> tuple[int, int | None]:
    """Count one failure against each key (key -> its limit). Returns (the highest count in a row,
    seconds to wait when a limit was reached now, else None)."""
    for attempt in range(3):
        try:
            return _record(ws, keys, policy, now or utcnow())
        except IntegrityError:  # two first failures raced to insert the same key (PostgreSQL)
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _record(
    ws: Workspace, keys: dict[str, int], policy: ThrottlePolicy, now: datetime
) -> tuple[int, int | None]:
    window = timedelta(seconds=policy.lockout_s)
    highest, locked = 0, False
    with ws.db() as db:
        for key, limit in keys.items():
            row = db.get(LoginThrottleRow, key, with_for_update=True)
            if row is None:
                row = LoginThrottleRow(key=key, failures=0, last_failure_at=now)
                db.add(row)
            last, until = _aware(row.last_failure_at), _aware(row.locked_until)
            expired = until is not None and until <= now
            if expired or (until is None and last is not None and now - last > window):
                row.failures, row.locked_until = 0, None  # a served lock or a quiet spell starts afresh
            row.failures += 1
            row.last_failure_at = now
            if row.failures >= limit:
                row.locked_until = now + window
                locked = True
            highest = max(highest, row.failures)
    return highest, (max(1, math.ceil(policy.lockout_s)) if locked else None)


def record_success(ws: Workspace, name: str) -> None:
    """A correct password resets the account's count (not the address's)."""
    with ws.db() as db:
        db.execute(delete(LoginThrottleRow).where(LoginThrottleRow.key == account_key(name)))


def clear(ws: Workspace, name: str | None = None, address: str | None = None) -> int:
    """Lift the lock and count of an account and/or an address; returns how many were cleared."""
    keys = ([account_key(name)] if name else []) + ([address_key(address)] if address else [])
    with ws.db() as db:
        result = db.execute(delete(LoginThrottleRow).where(LoginThrottleRow.key.in_(keys)))
    return int(getattr(result, "rowcount", 0) or 0)


def locks(ws: Workspace, now: datetime | None = None) -> list[LockState]:
    """Accounts and addresses locked now."""
    now = now or utcnow()
    with ws.reader() as db:
        rows = db.scalars(select(LoginThrottleRow).order_by(LoginThrottleRow.key)).all()
        states = [LockState(r.key, r.failures, _aware(r.locked_until)) for r in rows]
    return [s for s in states if s.locked_until is not None and s.locked_until > now]


__all__ = [
    "LockState",
    "ThrottlePolicy",
    "account_key",
    "address_key",
    "clear",
    "locks",
    "record_failure",
    "record_success",
    "retry_after",
]
