"""Spans -> session records (the fields of `POST /v1/sessions` items), shared by `POST /v1/traces` and
`judgeloop import` of trace exports."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from judgeloop.traces.conventions import SpanRejected, llm_call
from judgeloop.traces.otlp import SpanRecord

SOURCE = "otlp"


def session_id(trace_id: str, span_id: str) -> str:
    """The session id of a span: the same span sent twice is the same session."""
    return f"otel-{trace_id}-{span_id}"


@dataclass
class SpanSessions:
    """What a batch of spans holds: one session record per LLM-call span, and the rest counted."""

    sessions: list[dict[str, Any]] = field(default_factory=list)
    ignored: int = 0  # spans without an LLM call
    rejected: list[str] = field(default_factory=list)  # LLM-call spans that cannot be sessions: why


def span_sessions(spans: Iterable[SpanRecord], *, source: str = SOURCE) -> SpanSessions:
    out = SpanSessions()
    seen: set[str] = set()
    for span in spans:
        try:
            call = llm_call(span.attributes, span.events)
        except SpanRejected as exc:
            out.rejected.append(f"span {span.span_id} of trace {span.trace_id}: {exc}")
            continue
        if call is None:
            out.ignored += 1
            continue
        uid = session_id(span.trace_id, span.span_id)
        if uid in seen:
            continue
        seen.add(uid)
        meta = {
            "model": call.model,
            "provider": call.provider,
            "trace_id": span.trace_id,
            "span_id": span.span_id,
            "parent_span_id": span.parent_span_id or None,
            "span_name": span.name or None,
            "latency_ms": span.latency_ms,
            "input_tokens": call.input_tokens,
            "output_tokens": call.output_tokens,
            "total_tokens": call.total_tokens,
            "convention": call.convention,
            "service_name": span.resource.get("service.name"),
        }
        record: dict[str, Any] = {
            "id": uid,
            "model_input": call.model_input,
            "model_output": call.model_output,
            "metadata": {k: v for k, v in meta.items() if v is not None},
            "source": source,
        }
        if span.start_ns:
            record["created_at"] = datetime.fromtimestamp(span.start_ns / 1e9, tz=timezone.utc)
        out.sessions.append(record)
    return out


__all__ = ["SOURCE", "SpanSessions", "session_id", "span_sessions"]
