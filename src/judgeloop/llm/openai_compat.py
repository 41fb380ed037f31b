"""OpenAI-compatible chat servers (OpenAI, vLLM, Ollama, llama.cpp, judgeloop's own) via the `openai` SDK.

Configuration comes from the arguments, else the environment:

    JUDGELOOP_LLM_BASE_URL    the server's /v1 URL (default: OpenAI's)
    JUDGELOOP_LLM_API_KEY     the key (else OPENAI_API_KEY; a local server needs none)
    JUDGELOOP_LLM_MODEL       the model name

Structured output: with a JSON schema the request carries
`response_format={"type": "json_schema", ...}`. A server that rejects it (HTTP 400/422) gets the same
request again without it, and the client remembers: `supports_json_schema` turns False for the rest of
its life, so callers fall back to free text + parsing.

The SDK's own retries are off (`max_retries=0`): `judgeloop.llm.runner` owns retries and backoff.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from judgeloop.errors import InvalidInput
from judgeloop.llm.base import Completion, LLMError, Message, check_messages

log = logging.getLogger(__name__)

ENV_BASE_URL = "JUDGELOOP_LLM_BASE_URL"
ENV_API_KEY = "JUDGELOOP_LLM_API_KEY"
ENV_MODEL = "JUDGELOOP_LLM_MODEL"
LOCAL_PLACEHOLDER_KEY = "not-needed"  # the SDK insists on a key; local servers ignore it
SCHEMA_NAME = "judgeloop_verdict"


def _resolve(model: str | None, base_url: str | None, api_key: str | None) -> tuple[str, str | None, str]:
    model = model or os.environ.get(ENV_MODEL)
    if not model:
        raise InvalidInput("no model name", field="model", expected=f"a model argument or ${ENV_MODEL}")
    base_url = base_url or os.environ.get(ENV_BASE_URL) or None
    api_key = api_key or os.environ.get(ENV_API_KEY) or os.environ.get("OPENAI_API_KEY")
    if not api_key:
        if base_url is None:
            raise InvalidInput(
                "no API key for the OpenAI API",
                field="api_key",
                expected=f"${ENV_API_KEY} or $OPENAI_API_KEY, or a --base-url of a local server",
            )
        api_key = LOCAL_PLACEHOLDER_KEY
    return model, base_url, api_key


def response_format(json_schema: dict[str, Any]) -> dict[str, Any]:
    """The OpenAI `response_format` that asks for output matching `json_schema`."""
    return {
        "type": "json_schema",
        "json_schema": {"name": SCHEMA_NAME, "schema": json_schema, "strict": True},
    }


class OpenAICompatClient:
    """An `LLMClient` for any server that speaks OpenAI's /v1/chat/completions."""

    supports_json_schema: bool = True  # until the server says otherwise

    def __init__(
        self,
        model: str | None = None,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = 120.0,
    ) -> None:
        import openai

        self.model, self.base_url, api_key = _resolve(model, base_url, api_key)
        self.timeout = timeout
        self._sdk = openai.OpenAI(base_url=self.base_url, api_key=api_key, timeout=timeout, max_retries=0)

    def __repr__(self) -> str:
        return f"OpenAICompatClient(model={self.model!r}, base_url={self.base_url!r})"

    def complete(
        self,
        messages: list[Message],
        *,
        max_tokens: int = 512,
        temperature: float = 0.0,
        json_schema: dict[str, Any] | None = None,
        seed: int | None = None,
    ) -> Completion:
        check_messages(messages)
        params: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "max_tokens": max_tokens,
            "temperature": temperature,
        }
        if seed is not None:
            params["seed"] = seed
        if json_schema is not None and self.supports_json_schema:
            try:
                return self._create({**params, "response_format": response_format(json_schema)})
            except Exception as exc:
                if not _rejects_response_format(exc):
                    raise
                log.info("%s rejected response_format (%s); falling back to free text", self.base_url, exc)
                self.supports_json_schema = False
        return self._create(params)

    def _create(self, params: dict[str, Any]) -> Completion:
        start = time.perf_counter()
        resp = self._sdk.chat.completions.create(**params)
        latency = (time.perf_counter() - start) * 1000
        if not resp.choices:
            raise LLMError(f"{self.base_url or 'OpenAI'} returned no choices for model {self.model}")
        usage = resp.usage
        return Completion(
            text=resp.choices[0].message.content or "",
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
            model=resp.model or self.model,
            latency_ms=latency,
            raw=resp.model_dump(mode="json"),
        )


def _rejects_response_format(exc: Exception) -> bool:
    """A 400/422 answer to a request with response_format: the server does not do structured output."""
    import openai

    return isinstance(exc, openai.APIStatusError) and exc.status_code in (400, 422)
