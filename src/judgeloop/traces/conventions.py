"""Which spans are LLM calls, and what their input, output, model and token counts are.

Two attribute conventions are read:

- OpenTelemetry GenAI semantic conventions: `gen_ai.operation.name`, `gen_ai.request.model`,
  `gen_ai.response.model`, `gen_ai.usage.input_tokens` / `output_tokens`, and the messages in any of the
  forms the conventions have used: `gen_ai.input.messages` / `gen_ai.output.messages` (+
  `gen_ai.system_instructions`), the events `gen_ai.{system,user,assistant,tool}.message` and
  `gen_ai.choice`, the older `gen_ai.content.prompt` / `gen_ai.content.completion` events, and the
  indexed `gen_ai.prompt.N.role/content` / `gen_ai.completion.N.*` attributes.
- OpenInference (Arize Phoenix): `openinference.span.kind = LLM`, `llm.input_messages.N.message.*`,
  `llm.output_messages.N.message.*`, `input.value` / `output.value` (+ `*.mime_type`),
  `llm.model_name`, `llm.token_count.{prompt,completion,total}`.

Attribute maps are flat OTel keys; nested forms (lists of dicts, as in Phoenix's exports) work too.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from judgeloop.types import ChatMessage, ModelInput

Convention = Literal["genai", "openinference"]
LLM_OPERATIONS = {"chat", "text_completion", "generate_content", "completion"}
_EVENT_ROLES = {
    "gen_ai.system.message": "system",
    "gen_ai.user.message": "user",
    "gen_ai.assistant.message": "assistant",
    "gen_ai.tool.message": "tool",
}


class SpanRejected(Exception):
    """An LLM-call span that cannot become a session (no input or no output); the message says why."""


@dataclass
class LLMCall:
    model_input: ModelInput
    model_output: str
    convention: Convention
    model: str | None = None
    provider: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    total_tokens: int | None = None


def llm_call(attrs: dict[str, Any], events: Sequence[tuple[str, dict[str, Any]]] = ()) -> LLMCall | None:
    """The LLM call a span records, None when it records none; SpanRejected when it is one but unusable."""
    kind = str(attrs.get("openinference.span.kind") or "").upper()
    if kind == "LLM" or (not kind and _has_prefix(attrs, "llm.input_messages")):
        return _openinference(attrs)
    if kind:  # an OpenInference CHAIN / TOOL / RETRIEVER / ... span
        return None
    if _is_genai_llm(attrs, events):
        return _genai(attrs, events)
    return None


# --- GenAI semantic conventions --------------------------------------------------------------


def _is_genai_llm(attrs: dict[str, Any], events: Any) -> bool:
    op = attrs.get("gen_ai.operation.name")
    if op is not None:
        return str(op) in LLM_OPERATIONS
    if attrs.get("llm.request.type") in ("chat", "completion"):
        return True
    has_messages = (
        any(k in attrs for k in ("gen_ai.input.messages", "gen_ai.output.messages"))
        or _has_prefix(attrs, "gen_ai.prompt")
        or _has_prefix(attrs, "gen_ai.completion")
    )
    has_events = any(name.startswith("gen_ai.") for name, _ in events)
    return (has_messages or has_events) and any(k.startswith("gen_ai.") for k in attrs)


def _genai(attrs: dict[str, Any], events: Sequence[tuple[str, dict[str, Any]]]) -> LLMCall:
    messages, outputs = _genai_messages(attrs, events)
    if not messages:
        raise SpanRejected("a GenAI LLM span without input messages")
    output = _first_text(outputs)
    if not output:
        raise SpanRejected("a GenAI LLM span without an output message")
    model_input: ModelInput = messages
    if attrs.get("gen_ai.operation.name") in ("text_completion", "completion") and len(messages) == 1:
        model_input = str(messages[0].get("content") or "")
    input_tokens = _int(attrs, "gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens")
    output_tokens = _int(attrs, "gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens")
    total = _int(attrs, "gen_ai.usage.total_tokens", "llm.usage.total_tokens")
    if total is None and input_tokens is not None and output_tokens is not None:
        total = input_tokens + output_tokens
    return LLMCall(
        model_input=model_input,
        model_output=output,
        convention="genai",
        model=_str(attrs, "gen_ai.response.model", "gen_ai.request.model"),
        provider=_str(attrs, "gen_ai.provider.name", "gen_ai.system"),
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        total_tokens=total,
    )


def _genai_messages(
    attrs: dict[str, Any], events: Sequence[tuple[str, dict[str, Any]]]
) -> tuple[list[ChatMessage], list[ChatMessage]]:
    """(input messages, output messages) from whichever form the span uses, newest form first."""
    if "gen_ai.input.messages" in attrs or "gen_ai.output.messages" in attrs:
        inputs = [_from_parts(m) for m in _json_list(attrs.get("gen_ai.input.messages"))]
        system = _json_list(attrs.get("gen_ai.system_instructions"))
        if system:
            inputs.insert(0, {"role": "system", "content": _parts_text(system)})
        return inputs, [_from_parts(m) for m in _json_list(attrs.get("gen_ai.output.messages"))]
    if _has_prefix(attrs, "gen_ai.prompt") or _has_prefix(attrs, "gen_ai.completion"):
        inputs = [_message(m) for m in indexed(attrs, "gen_ai.prompt")]
        outputs = [_message(m) for m in indexed(attrs, "gen_ai.completion")]
        return inputs, outputs
    return _event_messages(events)


def _event_messages(
    events: Sequence[tuple[str, dict[str, Any]]],
) -> tuple[list[ChatMessage], list[ChatMessage]]:
    inputs: list[ChatMessage] = []
    outputs: list[ChatMessage] = []
    for name, ev in events:
        if name in _EVENT_ROLES:
            body = _json_obj(ev.get("gen_ai.event.content") or ev.get("body")) or ev
            inputs.append(
                _message({**body, "role": body.get("role") or ev.get("role") or _EVENT_ROLES[name]})
            )
        elif name == "gen_ai.choice":
            body = _json_obj(ev.get("gen_ai.event.content") or ev.get("body")) or ev
            message = _json_obj(body.get("message")) or body
            outputs.append(_message({"role": "assistant", **message}))
        elif name == "gen_ai.content.prompt":
            inputs.extend(_message(m) for m in _json_list(ev.get("gen_ai.prompt"), as_user=True))
        elif name == "gen_ai.content.completion":
            outputs.extend(_message(m) for m in _json_list(ev.get("gen_ai.completion"), as_user=False))
    return inputs, outputs


def _from_parts(message: Any) -> ChatMessage:
    """A `gen_ai.*.messages` entry ({role, parts: [{type, content}...]}) as a chat message."""
    if not isinstance(message, dict):
        return {"role": "user", "content": str(message)}
    out: ChatMessage = {"role": str(message.get("role") or "user")}
    parts = message.get("parts")
    if isinstance(parts, list):
        out["content"] = _parts_text(parts)
        if any(isinstance(p, dict) and p.get("type") not in (None, "text") for p in parts):
            out["parts"] = parts
    else:
        out["content"] = _text(message.get("content"))
    if message.get("finish_reason"):
        out["finish_reason"] = message["finish_reason"]
    return out


def _parts_text(parts: list[Any]) -> str:
    texts = []
    for part in parts:
        if isinstance(part, dict) and part.get("type") in (None, "text"):
            texts.append(_text(part.get("content")))
        elif isinstance(part, str):
            texts.append(part)
    return "\n".join(t for t in texts if t)


# --- OpenInference ------------------------------------------------------------------------------


def _openinference(attrs: dict[str, Any]) -> LLMCall:
    model_input = _oi_input(attrs)
    if not model_input:
        raise SpanRejected("an OpenInference LLM span without llm.input_messages or input.value")
    outputs = [_message(_strip(m, "message.")) for m in indexed(attrs, "llm.output_messages")]
    output = _first_text(outputs) or _oi_value_output(attrs)
    if not output:
        raise SpanRejected("an OpenInference LLM span without llm.output_messages or output.value")
    return LLMCall(
        model_input=model_input,
        model_output=output,
        convention="openinference",
        model=_str(attrs, "llm.model_name"),
        provider=_str(attrs, "llm.provider", "llm.system"),
        input_tokens=_int(attrs, "llm.token_count.prompt"),
        output_tokens=_int(attrs, "llm.token_count.completion"),
        total_tokens=_int(attrs, "llm.token_count.total"),
    )


def _oi_input(attrs: dict[str, Any]) -> ModelInput | None:
    messages = [_message(_strip(m, "message.")) for m in indexed(attrs, "llm.input_messages")]
    if messages:
        return messages
    value = attrs.get("input.value")
    if value in (None, ""):
        return None
    parsed = _json_obj(value) if str(attrs.get("input.mime_type", "")).endswith("json") else None
    if parsed and isinstance(parsed.get("messages"), list) and parsed["messages"]:
        return [_message(m) for m in parsed["messages"] if isinstance(m, dict)]
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _oi_value_output(attrs: dict[str, Any]) -> str:
    value = attrs.get("output.value")
    if value in (None, ""):
        return ""
    parsed = _json_obj(value) if str(attrs.get("output.mime_type", "")).endswith("json") else None
    if parsed and isinstance(parsed.get("choices"), list) and parsed["choices"]:
        choice = parsed["choices"][0]
        message = choice.get("message") if isinstance(choice, dict) else None
        text = _message(message).get("content") if isinstance(message, dict) else None
        return str(text or (choice.get("text") if isinstance(choice, dict) else "") or "")
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _strip(entry: dict[str, Any], prefix: str) -> dict[str, Any]:
    """OpenInference nests each message under `message.`: {"message.role": ...} -> {"role": ...}."""
    nested = entry.get(prefix.rstrip("."))
    if isinstance(nested, dict):
        return nested
    out: dict[str, Any] = {}
    for key, value in entry.items():
        out[key.removeprefix(prefix)] = value
    if "contents" in out and not out.get("content"):
        texts = [_text(_strip(c, "message_content.").get("text")) for c in _as_list(out["contents"])]
        out["content"] = "\n".join(t for t in texts if t)
    return out


# --- shared helpers ----------------------------------------------------------------------------


def indexed(attrs: dict[str, Any], prefix: str) -> list[dict[str, Any]]:
    """`prefix.0.role`, `prefix.0.content`, `prefix.1.role` ... -> [{role, content}, {role}] in index order
    (a nested list under `prefix` itself, as in exports, is returned as it is)."""
    nested = attrs.get(prefix)
    if isinstance(nested, list):
        return [x if isinstance(x, dict) else {"content": x} for x in nested]
    if isinstance(nested, str) and nested.lstrip().startswith("["):
        return [x if isinstance(x, dict) else {"content": x} for x in _json_list(nested)]
    found: dict[int, dict[str, Any]] = {}
    head = prefix + "."
    for key, value in attrs.items():
        if not key.startswith(head):
            continue
        index, _, rest = key[len(head) :].partition(".")
        if index.isdigit() and rest:
            found.setdefault(int(index), {})[rest] = value
    return [_nest(found[i]) for i in sorted(found)]


def _nest(flat: dict[str, Any]) -> dict[str, Any]:
    """Nested indexed keys inside one entry (`tool_calls.0.name`) become lists of dicts."""
    groups: set[str] = set()
    for key in flat:
        parts = key.split(".")
        for i in range(1, len(parts) - 1):
            if parts[i].isdigit():
                groups.add(".".join(parts[:i]))
                break
    out = {k: v for k, v in flat.items() if not any(k.startswith(g + ".") for g in groups)}
    for group in groups:
        out[group] = indexed(flat, group)
    return out


def _message(raw: Any) -> ChatMessage:
    if not isinstance(raw, dict):
        return {"role": "user", "content": _text(raw)}
    message: ChatMessage = {"role": str(raw.get("role") or "user"), "content": _text(raw.get("content"))}
    calls = raw.get("tool_calls") or raw.get("message.tool_calls")
    if calls:
        message["tool_calls"] = calls
    for key in ("name", "tool_call_id", "finish_reason"):
        if raw.get(key):
            message[key] = raw[key]
    return message


def _first_text(messages: list[ChatMessage]) -> str:
    """The first output message's text, or its tool calls as JSON when it has no text."""
    for m in messages:
        if m.get("content"):
            return str(m["content"])
        if m.get("tool_calls"):
            return json.dumps({"tool_calls": m["tool_calls"]}, ensure_ascii=False, default=str)
    return ""


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return _parts_text(value)
    return json.dumps(value, ensure_ascii=False, default=str)


def _json_list(value: Any, *, as_user: bool | None = None) -> list[Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            role = "user" if as_user else "assistant"
            return [{"role": role, "content": value}] if value and as_user is not None else []
    if isinstance(value, dict):
        return [value]
    return list(value) if isinstance(value, list) else []


def _json_obj(value: Any) -> dict[str, Any] | None:
    if isinstance(value, dict):
        return value
    if isinstance(value, str) and value.lstrip().startswith("{"):
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            return None
        return parsed if isinstance(parsed, dict) else None
    return None


def _as_list(value: Any) -> list[dict[str, Any]]:
    return [x for x in value if isinstance(x, dict)] if isinstance(value, list) else []


def _has_prefix(attrs: dict[str, Any], prefix: str) -> bool:
    head = prefix + "."
    return prefix in attrs or any(k.startswith(head) for k in attrs)


def _str(attrs: dict[str, Any], *keys: str) -> str | None:
    for key in keys:
        if attrs.get(key) not in (None, ""):
            return str(attrs[key])
    return None


def _int(attrs: dict[str, Any], *keys: str) -> int | None:
    for key in keys:
        value = attrs.get(key)
        if value is None or isinstance(value, bool):
            continue
        try:
            return int(value)
        except (TypeError, ValueError):
            continue
    return None


__all__ = ["LLMCall", "SpanRejected", "indexed", "llm_call"]
