"""`StoreCache`: the `ResponseCache` kept in a workspace's `llm_cache` table.

    runner = make_client("gpt-4o-mini", cache=StoreCache(Workspace(url)))

A judge run that is repeated (the same model, messages and parameters, at temperature 0 or a fixed
seed) is answered from the database and costs nothing; the verdicts it writes are new rows all the same.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from judgeloop.store import Workspace


class StoreCache:
    """A thread-safe `ResponseCache` over the workspace database (each call is its own transaction)."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace

    def __repr__(self) -> str:
        return f"StoreCache({self.workspace.url!r})"

    def get(self, key: str) -> dict[str, Any] | None:
        from judgeloop.store.tables import LLMCacheRow

        with self.workspace.db() as db:
            row = db.get(LLMCacheRow, key)
            return dict(row.value) if row is not None else None

    def put(self, key: str, value: dict[str, Any]) -> None:
        from sqlalchemy.exc import IntegrityError

        from judgeloop.store.tables import LLMCacheRow

        try:
            with self.workspace.db() as db:
                db.merge(LLMCacheRow(key=key, value=value))
        except IntegrityError:  # another thread stored the same answer first: keep that one
            pass
