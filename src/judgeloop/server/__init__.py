"""The HTTP app: guardrail/evaluation API, review UI and its JSON API (FastAPI).

`create_app` is imported on first use, so `judgeloop.server.schemas` (the API's request and response
models, which the Python client shares) loads without FastAPI."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from judgeloop.server.app import create_app


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from judgeloop.server.app import create_app

        return create_app
    raise AttributeError(f"module 'judgeloop.server' has no attribute {name!r}")


__all__ = ["create_app"]
