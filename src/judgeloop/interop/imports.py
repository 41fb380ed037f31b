"""Trace exports and API logs as judgeloop's import rows (model_input, model_output, id + metadata
columns), so `judgeloop import` validates and stores them like any table.

- `openai`: chat-completions logs, one call per record: `messages` (+ `model`) and the response's
  `choices` (+ `id`, `usage`, `created`), flat or under `request`/`response` (`body` as in the Batch API);
  a record with only `messages` ending in an assistant message (the fine-tuning format) works too.
- `langfuse`: Langfuse exports of traces (`input`, `output`, `timestamp`, `latency`, ...) or of
  observations (only `type: GENERATION` rows are calls; `model`, `usage`, `startTime`, `endTime`).
  `scores` become `score.<name>` columns (use one with `--label-col`).
- `phoenix`: Phoenix span exports (`px.Client().get_spans_dataframe()` saved as JSONL/Parquet, columns
  `context.span_id`, `attributes.llm.input_messages`, ...; or nested `attributes`); LLM spans are read
  by the OpenInference rules of `judgeloop.traces` and get the same session ids as `POST /v1/traces`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, Literal

from judgeloop.errors import InvalidInput
from judgeloop.traces.conventions import SpanRejected, llm_call
from judgeloop.traces.sessions import session_id
from judgeloop.types import content_hash

ImportFormat = Literal["auto", "table", "langfuse", "phoenix", "openai"]
IMPORT_FORMATS: tuple[str, ...] = ("auto", "table", "langfuse", "phoenix", "openai")
Normaliser = Callable[[dict[str, Any], int, str], dict[str, Any] | None]


def detect_format(records: list[dict[str, Any]]) -> str:
    """The format of a file's records, from the keys of its first record."""
    keys = set(records[0])
    if keys & {"context.span_id", "context.trace_id", "span_kind"} or (
        isinstance(records[0].get("context"), dict) and "span_id" in records[0]["context"]
    ):
        return "phoenix"
    nested = [records[0].get(k) for k in ("request", "response", "body")]
    if "choices" in keys or any(isinstance(x, dict) for x in nested) or _is_finetune(records[0]):
        return "openai"
    if {"input", "output"} <= keys and keys & {
        "traceId",
        "timestamp",
        "startTime",
        "sessionId",
        "observations",
    }:
        return "langfuse"
    return "table"


def normalise_records(
    records: list[dict[str, Any]], fmt: str, file: str
) -> tuple[list[dict[str, Any]], str, int]:
    """(import rows, the format used, records skipped as not an LLM call)."""
    used = detect_format(records) if fmt == "auto" else fmt
    if used == "table":
        return records, used, 0
    convert: Normaliser = {"openai": _openai, "langfuse": _langfuse, "phoenix": _phoenix}[used]
    rows = []
    for number, record in enumerate(records, start=1):
        row = convert(record, number, file)
        if row is not None:
            rows.append({**_passed_through(record), **row})
    if not rows:
        raise InvalidInput(
            f"no LLM calls among {len(records)} {used} records", file=file, expected=f"a {used} export"
        )
    return rows, used, len(records) - len(rows)


def _passed_through(record: dict[str, Any]) -> dict[str, Any]:
    """The record's other plain top-level values (a label column, app version ...), so the column flags
    (`--label-col` ...) and metadata work as for tables."""
    return {
        k: v
        for k, v in record.items()
        if isinstance(v, (str, int, float, bool)) and not k.startswith(("attributes.", "context."))
    }


def _row(uid: Any, model_input: Any, output: Any, number: int, file: str, **meta: Any) -> dict[str, Any]:
    text = _output_text(output)
    if model_input in (None, "", []):
        raise InvalidInput(
            "no input in this call", file=file, row=number, field="input", expected="the prompt or messages"
        )
    if not text:
        raise InvalidInput(
            "no output in this call", file=file, row=number, field="output", expected="the completion"
        )
    sid = str(uid) if uid not in (None, "") else content_hash(model_input, text)  # the importer's default
    row: dict[str, Any] = {"id": sid, "model_input": model_input, "model_output": text}
    row.update({k: v for k, v in meta.items() if v not in (None, "", [], {})})
    return row


# --- OpenAI -----------------------------------------------------------------------------------


def _is_finetune(record: dict[str, Any]) -> bool:
    messages = record.get("messages")
    return (
        isinstance(messages, list)
        and bool(messages)
        and isinstance(messages[-1], dict)
        and (messages[-1].get("role") == "assistant")
    )


def _part(record: dict[str, Any], name: str) -> dict[str, Any]:
    part = record.get(name)
    if not isinstance(part, dict):
        return {}
    body = part.get("body")
    return body if isinstance(body, dict) else part


def _openai(record: dict[str, Any], number: int, file: str) -> dict[str, Any]:
    request = _part(record, "request") or _part(record, "body") or record
    response = _part(record, "response") or record
    messages = (
        request.get("messages") if isinstance(request.get("messages"), list) else record.get("messages")
    )
    choices = response.get("choices")
    if not isinstance(messages, list) or not messages:
        raise InvalidInput(
            "no 'messages' list",
            file=file,
            row=number,
            field="messages",
            expected="the request's chat messages",
        )
    output: Any = None
    if isinstance(choices, list) and choices:
        output = choices[0]
    elif isinstance(messages[-1], dict) and messages[-1].get("role") == "assistant":
        messages, output = messages[:-1], messages[-1]
    found = response.get("usage")
    usage: dict[str, Any] = found if isinstance(found, dict) else {}
    created = response.get("created")
    return _row(
        record.get("custom_id") or response.get("id") or record.get("id"),
        [_message(m) for m in messages],
        output,
        number,
        file,
        model=response.get("model") or request.get("model"),
        input_tokens=usage.get("prompt_tokens"),
        output_tokens=usage.get("completion_tokens"),
        total_tokens=usage.get("total_tokens"),
        timestamp=_iso(created),
        source_format="openai",
    )


# --- Langfuse ---------------------------------------------------------------------------------


def _langfuse(record: dict[str, Any], number: int, file: str) -> dict[str, Any] | None:
    kind = record.get("type")
    if kind is not None and str(kind).upper() != "GENERATION":
        return None  # spans and events of a trace: not LLM calls
    found = record.get("usage") or record.get("usageDetails")
    usage: dict[str, Any] = found if isinstance(found, dict) else {}
    scores = {}
    for score in record.get("scores") or []:
        if isinstance(score, dict) and score.get("name"):
            scores[f"score.{score['name']}"] = score.get("value", score.get("stringValue"))
    return _row(
        record.get("id"),
        _langfuse_input(record.get("input")),
        record.get("output"),
        number,
        file,
        model=record.get("model") or _get(record, "metadata", "model"),
        trace_id=record.get("traceId") or (record.get("id") if kind is None else None),
        trace_name=record.get("name"),
        session=record.get("sessionId"),
        user=record.get("userId"),
        tags=record.get("tags"),
        release=record.get("release"),
        version=record.get("version"),
        latency_ms=_latency_ms(record),
        input_tokens=usage.get("input", usage.get("promptTokens")),
        output_tokens=usage.get("output", usage.get("completionTokens")),
        total_tokens=usage.get("total", usage.get("totalTokens")),
        cost=record.get("totalCost") or record.get("calculatedTotalCost"),
        timestamp=record.get("startTime") or record.get("timestamp"),
        source_format="langfuse",
        **scores,
    )


def _langfuse_input(value: Any) -> Any:
    if isinstance(value, dict) and isinstance(value.get("messages"), list):
        value = value["messages"]
    if isinstance(value, list) and all(isinstance(m, dict) and "role" in m for m in value):
        return [_message(m) for m in value]
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return value


def _latency_ms(record: dict[str, Any]) -> float | None:
    if isinstance(record.get("latency"), (int, float)):
        return float(record["latency"]) * 1000  # Langfuse exports latency in seconds
    start, end = _parse_time(record.get("startTime")), _parse_time(record.get("endTime"))
    return (end - start).total_seconds() * 1000 if start and end else None


# --- Phoenix -----------------------------------------------------------------------------------


def _phoenix(record: dict[str, Any], number: int, file: str) -> dict[str, Any] | None:
    attrs = _phoenix_attributes(record)
    found = record.get("context")
    context: dict[str, Any] = found if isinstance(found, dict) else {}
    span_id = record.get("context.span_id") or context.get("span_id") or record.get("span_id")
    trace_id = record.get("context.trace_id") or context.get("trace_id") or record.get("trace_id")
    if str(record.get("span_kind") or "").upper() == "LLM":
        attrs.setdefault("openinference.span.kind", "LLM")
    try:
        call = llm_call(attrs)
    except SpanRejected as exc:
        raise InvalidInput(
            str(exc), file=file, row=number, field="attributes", expected="an LLM span with input and output"
        ) from None
    if call is None:
        return None
    start, end = _parse_time(record.get("start_time")), _parse_time(record.get("end_time"))
    return _row(
        session_id(str(trace_id), str(span_id)) if span_id and trace_id else None,
        call.model_input,
        call.model_output,
        number,
        file,
        model=call.model,
        provider=call.provider,
        trace_id=trace_id,
        span_id=span_id,
        span_name=record.get("name"),
        latency_ms=(end - start).total_seconds() * 1000 if start and end else None,
        input_tokens=call.input_tokens,
        output_tokens=call.output_tokens,
        total_tokens=call.total_tokens,
        timestamp=start.isoformat() if start else None,
        convention="openinference",
        source_format="phoenix",
    )


def _phoenix_attributes(record: dict[str, Any]) -> dict[str, Any]:
    """Span attributes as flat OTel keys: `attributes.x.y` columns, or a nested `attributes` object."""
    out: dict[str, Any] = {}
    nested = record.get("attributes")
    if isinstance(nested, str):
        try:
            nested = json.loads(nested)
        except json.JSONDecodeError:
            nested = None
    if isinstance(nested, dict):
        _flatten(nested, "", out)
    for key, value in record.items():
        if key.startswith("attributes.") and value is not None:
            out[key.removeprefix("attributes.")] = value
    return out


def _flatten(node: dict[str, Any], prefix: str, out: dict[str, Any]) -> None:
    for key, value in node.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and name not in ("llm.invocation_parameters",):
            _flatten(value, name + ".", out)
        else:
            out[name] = value


# --- shared ------------------------------------------------------------------------------------


def _message(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        return {"role": "user", "content": str(raw)}
    content = raw.get("content")
    if isinstance(content, list):  # content parts: keep the text
        content = "\n".join(str(p.get("text", "")) for p in content if isinstance(p, dict) and p.get("text"))
    message = {"role": str(raw.get("role") or "user"), "content": "" if content is None else str(content)}
    for key in ("name", "tool_calls", "tool_call_id"):
        if raw.get(key):
            message[key] = raw[key]
    return message


def _output_text(output: Any) -> str:
    """The text of a completion: a string, a message, a choice, or a list of them (the first)."""
    if output is None:
        return ""
    if isinstance(output, str):
        return output
    if isinstance(output, list):
        return _output_text(output[0]) if output else ""
    if isinstance(output, dict):
        if isinstance(output.get("choices"), list):
            return _output_text(output["choices"][0] if output["choices"] else None)
        message = output.get("message")
        if isinstance(message, dict):
            return _output_text(message)
        if output.get("content") not in (None, ""):
            return _message(output)["content"]
        if output.get("text") not in (None, ""):
            return str(output["text"])
        if output.get("tool_calls"):
            return json.dumps({"tool_calls": output["tool_calls"]}, ensure_ascii=False)
        return json.dumps(output, ensure_ascii=False) if output else ""
    return str(output)


def _get(record: dict[str, Any], *path: str) -> Any:
    node: Any = record
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    return node


def _parse_time(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value / 1e9 if value > 1e14 else value, tz=timezone.utc)
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _iso(value: Any) -> str | None:
    parsed = _parse_time(value)
    return parsed.isoformat() if parsed else None


__all__ = ["IMPORT_FORMATS", "ImportFormat", "detect_format", "normalise_records"]
