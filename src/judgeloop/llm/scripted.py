"""`ScriptedClient`: a named, scriptable fake LLM for unit tests of parsing, retry and judge logic.

Give it the replies in order (strings, `Completion`s, or exceptions to raise), or a function of the
request. Every request is recorded in `.calls` so tests can check what was sent. Real paths are tested
against real servers and weights; this fake stands in only where no real model can run.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from judgeloop.llm.base import Completion, LLMError, Message, check_messages

Reply = str | Completion | BaseException
Script = Sequence[Reply] | Callable[[list[Message], dict[str, Any]], Reply]


class ScriptedClient:
    """Replays `script`; with `supports_json_schema=True` it claims structured output (it does not check)."""

    def __init__(
        self,
        script: Script,
        *,
        model: str = "scripted",
        supports_json_schema: bool = False,
        tokens_per_char: float = 0.25,
    ) -> None:
        self.model = model
        self.supports_json_schema = supports_json_schema
        self.calls: list[dict[str, Any]] = []
        self._script = script
        self._next = 0
        self._tokens_per_char = tokens_per_char
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"ScriptedClient(model={self.model!r}, calls={len(self.calls)})"

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
        params = {
            "max_tokens": max_tokens,
            "temperature": temperature,
            "json_schema": json_schema,
            "seed": seed,
        }
        with self._lock:
            self.calls.append({"messages": [dict(m) for m in messages], **params})
            reply = self._reply(messages, params)
        if isinstance(reply, BaseException):
            raise reply
        if isinstance(reply, Completion):
            return reply
        prompt_chars = sum(len(m["content"]) for m in messages)
        return Completion(
            text=reply,
            prompt_tokens=int(prompt_chars * self._tokens_per_char),
            completion_tokens=int(len(reply) * self._tokens_per_char),
            model=self.model,
            latency_ms=0.0,
            raw={"scripted": True},
        )

    def _reply(self, messages: list[Message], params: dict[str, Any]) -> Reply:
        if callable(self._script):
            return self._script(messages, params)
        if self._next >= len(self._script):
            raise LLMError(f"ScriptedClient ran out of replies after {len(self._script)} calls")
        reply = self._script[self._next]
        self._next += 1
        return reply
