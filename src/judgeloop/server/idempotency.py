"""`Idempotency-Key` on `POST /v1/labels` and `POST /v1/sessions`: a retried request with the same key
gets the first response again (header `Idempotent-Replayed: true`) and stores nothing new.

The key is remembered in the same database transaction as the write it belongs to, so a server killed
mid-request leaves either both (a retry replays) or neither (a retry writes). Keys are scoped to the
caller (its token, or the signed-in user) within the project, and to the route; the same key with a
different body gets 409. Keys are kept `JUDGELOOP_IDEMPOTENCY_TTL_S` seconds (24 h), then forgotten.
Two identical requests racing each other: the unique (scope, route, key) constraint lets one commit;
the other's write rolls back and it replays the winner's response.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as DB

from judgeloop.errors import Conflict, InvalidInput
from judgeloop.server.auth import Principal
from judgeloop.store import Workspace
from judgeloop.store.tables import IdempotencyRow
from judgeloop.types import utcnow

HEADER = "idempotency-key"
REPLAYED = "Idempotent-Replayed"
_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")


@dataclass(frozen=True)
class Claim:
    """One request's key: where it is remembered and what the request was."""

    scope: str
    route: str
    key: str
    request_hash: str
    ttl_s: float

    def remember(self, db: DB, status: int, response: Any) -> None:
        """Inside the write's transaction: store the response under the key (and drop expired keys)."""
        now = utcnow()
        db.execute(
            delete(IdempotencyRow).where(IdempotencyRow.created_at < now - timedelta(seconds=self.ttl_s))
        )
        db.add(
            IdempotencyRow(
                scope=self.scope,
                route=self.route,
                key=self.key,
                request_hash=self.request_hash,
                status=status,
                response=response,
                created_at=now,
            )
        )
        db.flush()

    def update(self, ws: Workspace, response: Any) -> None:
        """Replace the remembered response (once work after the commit has finished)."""
        with ws.db() as db:
            row = db.scalar(self._query())
            if row is not None:
                row.response = response

    def _query(self) -> Any:
        return select(IdempotencyRow).where(
            IdempotencyRow.scope == self.scope,
            IdempotencyRow.route == self.route,
            IdempotencyRow.key == self.key,
        )

    def replay(self, ws: Workspace) -> JSONResponse | None:
        """The remembered response of this key, or None; 409 when it was used for another request."""
        with ws.reader() as db:
            row = db.scalar(self._query())
            found = None if row is None else (row.request_hash, row.status, row.response, row.created_at)
        if found is None:
            return None
        request_hash, status, response, created = found
        created = created if created.tzinfo else created.replace(tzinfo=utcnow().tzinfo)
        if utcnow() - created > timedelta(seconds=self.ttl_s):
            return None
        if request_hash != self.request_hash:
            raise Conflict(
                f"Idempotency-Key {self.key!r} was already used for a different request; "
                "use a new key for a new request"
            )
        return JSONResponse(status_code=status, content=response, headers={REPLAYED: "true"})


def claim(request: Request, principal: Principal, route: str, body: Any, ttl_s: float) -> Claim | None:
    """The request's claim when it sent an Idempotency-Key, else None."""
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if not _KEY.match(key):
        raise InvalidInput(
            "bad Idempotency-Key", field="Idempotency-Key", expected="1-200 visible ASCII characters"
        )
    who = f"t{principal.token_id}" if principal.token_id is not None else f"u:{principal.user}"
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, default=str)
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return Claim(f"p{principal.project_id}:{who}"[:100], route, key, digest, ttl_s)


def run(ws: Workspace, found: Claim | None, write: Callable[[Claim | None], Any], status: int = 201) -> Any:
    """Replay `found`'s first response, or do `write(found)` (which must call `found.remember` inside
    its transaction). A concurrent twin that committed first is replayed too."""
    if found is None:
        return write(None)
    earlier = found.replay(ws)
    if earlier is not None:
        return earlier
    try:
        return write(found)
    except IntegrityError:
        earlier = found.replay(ws)
        if earlier is None:
            raise
        return earlier


__all__ = ["HEADER", "REPLAYED", "Claim", "claim", "run"]
