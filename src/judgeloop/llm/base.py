"""The one protocol every LLM backend implements, and the record a call returns.

    LLMClient.complete(messages, *, max_tokens, temperature, json_schema=None, seed=None) -> Completion

Capabilities are class (or instance) attributes, as in simonw/llm:

    supports_json_schema   the backend can constrain its output to a JSON schema; when False, callers
                           ask for JSON in the prompt and parse the free text.

Errors: a backend raises `LLMError` (a `JudgeloopError`) for failures it understands; SDK errors of
the OpenAI / Anthropic SDKs pass through unchanged so that `judgeloop.llm.runner` can tell a
retryable failure (429, 5xx, timeout, connection) from a permanent one.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, get_args, runtime_checkable

from judgeloop.errors import JudgeloopError
from judgeloop.types import Role

ROLES: tuple[str, ...] = get_args(Role)

Message = dict[str, Any]


class LLMError(JudgeloopError):
    """An LLM call failed in a way the caller should see (bad response, missing SDK, bad config)."""


@dataclass
class Completion:
    """One model response and what it cost."""

    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    model: str = ""
    latency_ms: float = 0.0
    raw: dict[str, Any] = field(default_factory=dict)
    cached: bool = False

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Completion:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)


@runtime_checkable
class LLMClient(Protocol):
    """A chat model. One required method; capabilities as attributes."""

    @property
    def model(self) -> str:
        """The model's name, as a price table or a cache key knows it."""
        ...

    @property
    def supports_json_schema(self) -> bool:
        """Whether `complete(json_schema=...)` constrains the output (else: free text to parse)."""
        ...

    def complete(
        self,
        messages: list[Message],
        *,
        max_tokens: int = 512,
        temperature: float = 0.0,
        json_schema: dict[str, Any] | None = None,
        seed: int | None = None,
    ) -> Completion:
        """The model's reply to `messages` (OpenAI-style role/content dicts)."""
        ...


def check_messages(messages: list[Message]) -> None:
    """Reject malformed chat messages early, with a clear reason."""
    from judgeloop.errors import InvalidInput

    if not messages:
        raise InvalidInput("no messages to send", field="messages", expected="a non-empty list")
    for i, msg in enumerate(messages):
        if not isinstance(msg, dict) or msg.get("role") not in ROLES:
            raise InvalidInput(
                f"message {i} has no valid role",
                field="messages",
                expected="dicts with role system/user/assistant and a string content",
            )
        if not isinstance(msg.get("content"), str):
            raise InvalidInput(f"message {i} has no string content", field="messages", expected="a string")
