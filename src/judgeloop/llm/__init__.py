"""LLM clients: one protocol (`LLMClient.complete`), several backends, and a `Runner` that adds
concurrency, retries, caching and cost accounting.

    make_client("local")                          the bundled SmolLM2-135M via transformers
    make_client("local:/models/x#model.gguf")     a local model folder / GGUF file / hub id
    make_client("anthropic:claude-3-5-haiku-latest")
    make_client("gpt-4o-mini")                    OpenAI, or any OpenAI-compatible server via base_url

Backends are imported lazily: importing this package loads neither torch nor an SDK.
"""

from __future__ import annotations

from typing import Any

from judgeloop.llm.base import Completion, LLMClient, LLMError, Message
from judgeloop.llm.runner import FREE, MemoryCache, Price, ResponseCache, Runner, Usage
from judgeloop.llm.scripted import ScriptedClient

ANTHROPIC_PREFIX = "anthropic:"
LOCAL_PREFIX = "local:"


def base_client(
    model: str, base_url: str | None = None, *, api_key: str | None = None, timeout: float = 120.0
) -> LLMClient:
    """The backend for a model spec, without the `Runner` around it."""
    if model == "local" or model.startswith(LOCAL_PREFIX):
        from judgeloop.llm.local import LocalClient

        return LocalClient(model)
    if model.startswith(ANTHROPIC_PREFIX):
        from judgeloop.llm.anthropic_client import anthropic_client

        name = model[len(ANTHROPIC_PREFIX) :]
        return anthropic_client(name, api_key=api_key, base_url=base_url, timeout=timeout)
    from judgeloop.llm.openai_compat import OpenAICompatClient

    return OpenAICompatClient(model, base_url, api_key, timeout=timeout)


def make_client(
    model: str,
    base_url: str | None = None,
    *,
    api_key: str | None = None,
    timeout: float = 120.0,
    concurrency: int = 4,
    max_retries: int = 4,
    cache: ResponseCache | None = None,
    prices: dict[str, Price] | None = None,
    **runner_options: Any,
) -> Runner:
    """A `Runner` over the backend named by `model` (see the module docstring)."""
    client = base_client(model, base_url, api_key=api_key, timeout=timeout)
    if model == "local" or model.startswith(LOCAL_PREFIX):
        prices = {client.model: FREE, **(prices or {})}
    return Runner(
        client,
        concurrency=concurrency,
        max_retries=max_retries,
        cache=cache,
        prices=prices,
        **runner_options,
    )


__all__ = [
    "Completion",
    "LLMClient",
    "LLMError",
    "MemoryCache",
    "Message",
    "Price",
    "ResponseCache",
    "Runner",
    "ScriptedClient",
    "Usage",
    "base_client",
    "make_client",
]
