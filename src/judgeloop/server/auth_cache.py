"""Bearer-token lookups remembered for a few seconds, so the guardrail path does not open a database
transaction per request (on SQLite each one takes the write lock). A revoked token stops working
within `ttl_s` seconds (`JUDGELOOP_AUTH_CACHE_S`; 0 turns the cache off); on PostgreSQL a change
notice (judgeloop.server.changes) empties the cache at once. Failed lookups are never remembered."""

from __future__ import annotations

import threading
import time

from judgeloop.server.auth import Principal, hash_token, principal_for_token
from judgeloop.store import Workspace


class TokenCache:
    def __init__(self, ws: Workspace, *, ttl_s: float = 2.0, max_entries: int = 10_000) -> None:
        self.ws, self.ttl_s, self.max_entries = ws, ttl_s, max_entries
        self._entries: dict[str, tuple[Principal, float]] = {}
        self._lock = threading.Lock()
        self._generation = 0  # goes up at every forget(): a lookup begun before it is not kept

    def peek(self, token: str) -> Principal | None:
        """The cached principal of a token looked up less than `ttl_s` ago, else None (no database)."""
        found = self._entries.get(hash_token(token))
        return found[0] if found is not None and time.monotonic() - found[1] < self.ttl_s else None

    def principal(self, token: str) -> Principal:
        """The token's principal; raises Unauthorized for an unknown or revoked token."""
        if self.ttl_s <= 0:
            return principal_for_token(self.ws, token)
        found = self.peek(token)
        if found is not None:
            return found
        generation = self._generation
        principal = principal_for_token(self.ws, token)
        key, now = hash_token(token), time.monotonic()
        with self._lock:
            if generation != self._generation:
                return principal  # answered for this request, not remembered: it may predate a revocation
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[key] = (principal, now)
        return principal

    def forget(self) -> None:
        with self._lock:
            self._generation += 1
            self._entries.clear()


__all__ = ["TokenCache"]
