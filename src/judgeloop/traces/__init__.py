"""Traces from other tools into sessions: OTLP/HTTP payloads (protobuf or JSON) decoded with
`opentelemetry-proto`, and LLM-call spans read under the OpenTelemetry GenAI semantic conventions or
OpenInference. `POST /v1/traces` and `judgeloop import` (Phoenix / Langfuse exports) both end here."""

from judgeloop.traces.conventions import LLMCall, SpanRejected, llm_call
from judgeloop.traces.otlp import SpanRecord, decode_request
from judgeloop.traces.sessions import SpanSessions, session_id, span_sessions

__all__ = [
    "LLMCall",
    "SpanRecord",
    "SpanRejected",
    "SpanSessions",
    "decode_request",
    "llm_call",
    "session_id",
    "span_sessions",
]
