"""Anthropic's Messages API via the optional `anthropic` SDK (`pip install 'judgeloop[anthropic]'`).

The SDK is imported inside `anthropic_client()`, so judgeloop works without it until an
`anthropic:...` model is asked for. System messages become the `system` parameter. `temperature` is
sent only to SDK versions whose `messages.create` still takes it (2.x dropped it). A JSON schema is
honoured through a forced tool call (`tool_choice={"type": "tool", ...}`), whose input is the JSON.
The key comes from the argument or `ANTHROPIC_API_KEY` (the SDK reads it).
"""

from __future__ import annotations

import inspect
import json
import time
from typing import Any

from judgeloop.llm.base import Completion, LLMError, Message, check_messages

TOOL_NAME = "record_verdict"
INSTALL_HINT = "pip install 'judgeloop[anthropic]'"


def anthropic_client(
    model: str, *, api_key: str | None = None, base_url: str | None = None, timeout: float = 120.0
) -> AnthropicClient:
    """An `LLMClient` for an Anthropic model; raises `LLMError` naming the extra when the SDK is missing."""
    try:
        import anthropic
    except ImportError:
        raise LLMError(f"the Anthropic provider needs the anthropic SDK: {INSTALL_HINT}") from None
    sdk = anthropic.Anthropic(api_key=api_key, base_url=base_url, timeout=timeout, max_retries=0)
    return AnthropicClient(model, sdk)


def split_system(messages: list[Message]) -> tuple[str | None, list[Message]]:
    """Anthropic takes system text apart from the turns."""
    system = "\n\n".join(m["content"] for m in messages if m["role"] == "system") or None
    return system, [{"role": m["role"], "content": m["content"]} for m in messages if m["role"] != "system"]


class AnthropicClient:
    supports_json_schema: bool = True  # via a forced tool call

    def __init__(self, model: str, sdk: Any) -> None:
        self.model = model
        self._sdk = sdk
        # anthropic SDK 2.x dropped `temperature` from Messages.create (the API fixes sampling per model)
        self._takes_temperature = "temperature" in inspect.signature(sdk.messages.create).parameters

    def __repr__(self) -> str:
        return f"AnthropicClient(model={self.model!r})"

    def complete(
        self,
        messages: list[Message],
        *,
        max_tokens: int = 512,
        temperature: float = 0.0,
        json_schema: dict[str, Any] | None = None,
        seed: int | None = None,  # the Messages API has no seed
    ) -> Completion:
        check_messages(messages)
        system, turns = split_system(messages)
        params: dict[str, Any] = {"model": self.model, "messages": turns, "max_tokens": max_tokens}
        if self._takes_temperature:
            params["temperature"] = temperature
        if system:
            params["system"] = system
        if json_schema is not None:
            params["tools"] = [
                {"name": TOOL_NAME, "description": "Record the evaluation.", "input_schema": json_schema}
            ]
            params["tool_choice"] = {"type": "tool", "name": TOOL_NAME}
        start = time.perf_counter()
        resp = self._sdk.messages.create(**params)
        latency = (time.perf_counter() - start) * 1000
        return Completion(
            text=_response_text(resp),
            prompt_tokens=resp.usage.input_tokens,
            completion_tokens=resp.usage.output_tokens,
            model=resp.model,
            latency_ms=latency,
            raw=resp.model_dump(mode="json"),
        )


def _response_text(resp: Any) -> str:
    """The tool input as JSON when the model called the tool, else the concatenated text blocks."""
    for block in resp.content:
        if block.type == "tool_use":
            return json.dumps(block.input, ensure_ascii=False)
    texts = [block.text for block in resp.content if block.type == "text"]
    if not texts:
        raise LLMError(f"Anthropic model {resp.model} returned no text")
    return "".join(texts)
