"""The Python client of a judgeloop server: `Client`, `AsyncClient` and the `@observe` decorator.

It imports httpx and pydantic models (judgeloop.server.schemas), never FastAPI."""

from judgeloop.client._base import EvaluateResult, FailMode, ServerUnavailable
from judgeloop.client.async_client import AsyncClient
from judgeloop.client.observe import Recorder, observe
from judgeloop.client.sync import Client

__all__ = ["AsyncClient", "Client", "EvaluateResult", "FailMode", "Recorder", "ServerUnavailable", "observe"]
