"""The HTTP app: guardrail/evaluation API, review UI and its JSON API (FastAPI)."""

from judgeloop.server.app import create_app

__all__ = ["create_app"]
