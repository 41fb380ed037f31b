"""An OpenAI-compatible HTTP server over any `LLMClient` (by default the local transformers model).

    POST /v1/chat/completions   non-streaming; messages, max_tokens (or max_completion_tokens),
                                temperature, seed, response_format (text | json_schema) accepted;
                                answers OpenAI's response shape with usage
    GET  /v1/models             the one model served

`response_format={"type": "json_schema", ...}` is enforced when the client supports it (the local
client forces the JSON skeleton and decodes only the values); a schema it cannot enforce, or
`json_object`, gets a 400 in OpenAI's error shape, which makes `OpenAICompatClient` fall back to
free text. Run it with `judgeloop llm serve`.
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from judgeloop.errors import InvalidInput
from judgeloop.llm.base import LLMClient, LLMError
from judgeloop.llm.constrained import UnsupportedSchema


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str
    text: str | None = None


class ChatMessageIn(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "user", "assistant", "developer"]
    content: str | list[ContentPart]

    def as_message(self) -> dict[str, str]:
        if isinstance(self.content, str):
            text = self.content
        else:
            text = "".join(p.text or "" for p in self.content if p.type == "text")
        return {"role": "system" if self.role == "developer" else self.role, "content": text}


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="allow")  # OpenAI parameters we do not use are accepted and ignored
    model: str | None = None
    messages: list[ChatMessageIn] = Field(min_length=1)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    temperature: float = Field(default=1.0, ge=0.0, le=2.0)
    seed: int | None = None
    response_format: dict[str, Any] | None = None
    stream: bool = False
    n: int = 1


class RequestRejected(Exception):
    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.message, self.param = message, param


def _schema_of(request: ChatRequest, client: LLMClient) -> dict[str, Any] | None:
    fmt = request.response_format
    if fmt is None or fmt.get("type") == "text":
        return None
    if fmt.get("type") != "json_schema":
        raise RequestRejected(f"response_format type {fmt.get('type')!r} is not supported", "response_format")
    if not client.supports_json_schema:
        raise RequestRejected("this model does not support json_schema output", "response_format")
    schema = (fmt.get("json_schema") or {}).get("schema")
    if not isinstance(schema, dict):
        raise RequestRejected("response_format.json_schema.schema must be an object", "response_format")
    return schema


def _check(request: ChatRequest) -> None:
    if request.stream:
        raise RequestRejected("streaming is not supported", "stream")
    if request.n != 1:
        raise RequestRejected("only n=1 is supported", "n")


def _error(
    status: int, message: str, param: str | None = None, kind: str = "invalid_request_error"
) -> JSONResponse:
    body = {"error": {"message": message, "type": kind, "param": param, "code": None}}
    return JSONResponse(body, status_code=status)


def _response(request: ChatRequest, client: LLMClient, schema: dict[str, Any] | None) -> dict[str, Any]:
    max_tokens = request.max_completion_tokens or request.max_tokens or 512
    completion = client.complete(
        [m.as_message() for m in request.messages],
        max_tokens=max_tokens,
        temperature=request.temperature,
        json_schema=schema,
        seed=request.seed,
    )
    finish = "length" if completion.completion_tokens >= max_tokens else "stop"
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request.model or client.model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": completion.text},
                "finish_reason": finish,
                "logprobs": None,
            }
        ],
        "usage": {
            "prompt_tokens": completion.prompt_tokens,
            "completion_tokens": completion.completion_tokens,
            "total_tokens": completion.total_tokens,
        },
        "system_fingerprint": None,
    }


def create_llm_app(client: LLMClient) -> FastAPI:
    """The FastAPI app serving `client` (its `model` is the one model listed)."""
    app = FastAPI(title="judgeloop LLM server", version="1")
    started = int(time.time())

    @app.exception_handler(RequestRejected)
    async def _rejected(_: Request, exc: RequestRejected) -> JSONResponse:
        return _error(400, exc.message, exc.param)

    @app.exception_handler(UnsupportedSchema)
    async def _unsupported(_: Request, exc: UnsupportedSchema) -> JSONResponse:
        return _error(400, str(exc), "response_format")

    @app.exception_handler(InvalidInput)
    async def _invalid(_: Request, exc: InvalidInput) -> JSONResponse:
        return _error(400, str(exc), exc.field)

    @app.exception_handler(LLMError)
    async def _failed(_: Request, exc: LLMError) -> JSONResponse:
        return _error(500, str(exc), kind="server_error")

    @app.get("/v1/models")
    def list_models() -> dict[str, Any]:
        model = {"id": client.model, "object": "model", "created": started, "owned_by": "judgeloop"}
        return {"object": "list", "data": [model]}

    @app.post("/v1/chat/completions")
    def chat_completions(request: ChatRequest) -> dict[str, Any]:
        _check(request)
        return _response(request, client, _schema_of(request, client))

    return app
