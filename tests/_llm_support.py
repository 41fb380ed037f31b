"""Real HTTP servers on 127.0.0.1 for the LLM tests: uvicorn in a thread, and a small programmable
OpenAI-compatible app (it answers 429 / 500 / 400 or a chat completion, as a test scripts it)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from _http_support import ThreadServer as ThreadServer  # the one copy, re-exported
from _http_support import free_port as free_port


def chat_body(
    text: str, model: str = "fake-judge", prompt_tokens: int = 20, completion_tokens: int = 10
) -> dict:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def error_body(message: str, kind: str = "invalid_request_error") -> dict:
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


Responder = Callable[[dict[str, Any], int], tuple[int, dict[str, Any], dict[str, str]]]


class FakeOpenAI:
    """A programmable /v1/chat/completions.

    `responder(body, n)` -> (status, json, headers); n counts calls."""

    def __init__(self, responder: Responder) -> None:
        self.responder = responder
        self.requests: list[dict[str, Any]] = []
        self.app = FastAPI()
        self.app.post("/v1/chat/completions")(self._handle)

    async def _handle(self, request: Request) -> JSONResponse:
        body = await request.json()
        self.requests.append(body)
        status, payload, headers = self.responder(body, len(self.requests))
        return JSONResponse(payload, status_code=status, headers=headers)


def sequence(*steps: tuple[int, dict[str, Any]] | tuple[int, dict[str, Any], dict[str, str]]) -> Responder:
    """Answer the n-th call with steps[n] (the last step repeats)."""

    def respond(body: dict[str, Any], n: int) -> tuple[int, dict[str, Any], dict[str, str]]:
        step = steps[min(n, len(steps)) - 1]
        return step[0], step[1], (step[2] if len(step) > 2 else {})  # type: ignore[misc]

    return respond
