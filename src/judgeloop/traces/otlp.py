"""OTLP/HTTP trace payloads -> `SpanRecord`s, through the generated `opentelemetry-proto` classes.

Protobuf bodies are parsed with `ExportTraceServiceRequest.FromString`; JSON bodies with
`google.protobuf.json_format.Parse` after the one OTLP-specific rewrite the spec asks for (trace and
span ids are hex in OTLP/JSON, where protobuf's JSON mapping expects base64). Unknown fields are ignored,
as the OTLP spec requires of receivers.
"""

from __future__ import annotations

import base64
import gzip
import json
import re
import zlib
from dataclasses import dataclass, field
from typing import Any, Literal

from judgeloop.errors import InvalidInput

Encoding = Literal["protobuf", "json"]
PROTOBUF_TYPES = ("application/x-protobuf", "application/protobuf")
JSON_TYPES = ("application/json",)
_HEX = re.compile(r"^[0-9a-fA-F]*$")
_ID_KEYS = {"traceId": 32, "spanId": 16, "parentSpanId": 16}


@dataclass
class SpanRecord:
    """One span, with attribute values as plain Python (str, int, float, bool, list, dict)."""

    trace_id: str
    span_id: str
    name: str
    start_ns: int = 0
    end_ns: int = 0
    parent_span_id: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    resource: dict[str, Any] = field(default_factory=dict)
    status_code: int = 0
    status_message: str = ""

    @property
    def latency_ms(self) -> float | None:
        if not self.start_ns or not self.end_ns or self.end_ns < self.start_ns:
            return None
        return (self.end_ns - self.start_ns) / 1e6


def encoding_of(content_type: str | None) -> Encoding:
    """The payload encoding named by a Content-Type header; anything else is refused."""
    base = (content_type or "").split(";")[0].strip().lower()
    if base in PROTOBUF_TYPES:
        return "protobuf"
    if base in JSON_TYPES:
        return "json"
    raise InvalidInput(
        f"unsupported Content-Type {content_type or '(none)'!r}",
        field="Content-Type",
        expected="application/x-protobuf or application/json (OTLP/HTTP)",
    )


def decompress(body: bytes, content_encoding: str | None, *, max_bytes: int) -> bytes:
    """The body after `Content-Encoding` (gzip, deflate or none), refusing more than `max_bytes`."""
    name = (content_encoding or "identity").strip().lower()
    if name in ("", "identity"):
        return body
    if name not in ("gzip", "deflate"):
        raise InvalidInput(
            f"unsupported Content-Encoding {content_encoding!r}",
            field="Content-Encoding",
            expected="gzip, deflate or none",
        )
    wbits = 16 + zlib.MAX_WBITS if name == "gzip" else zlib.MAX_WBITS
    inflater = zlib.decompressobj(wbits)
    try:
        out = inflater.decompress(body, max_bytes + 1)
    except (zlib.error, gzip.BadGzipFile) as exc:
        raise InvalidInput(f"the body is not valid {name} data: {exc}", field="body") from None
    if len(out) > max_bytes:
        raise InvalidInput(
            f"the decompressed body is larger than {max_bytes} bytes",
            field="body",
            expected="a smaller batch",
        )
    return out


def decode_request(body: bytes, encoding: Encoding) -> list[SpanRecord]:
    """Every span of an OTLP `ExportTraceServiceRequest`; a malformed payload raises InvalidInput."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    if encoding == "protobuf":
        try:
            request = ExportTraceServiceRequest.FromString(body)
        except Exception as exc:  # google.protobuf.message.DecodeError and friends
            raise InvalidInput(
                f"the body is not an OTLP ExportTraceServiceRequest: {exc}", field="body"
            ) from None
    else:
        request = _parse_json(body, ExportTraceServiceRequest)
    return list(_spans(request))


def _parse_json(body: bytes, message_type: Any) -> Any:
    from google.protobuf import json_format

    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"the body is not JSON: {exc}", field="body") from None
    if not isinstance(data, dict):
        raise InvalidInput("the body is not a JSON object", field="body", expected='{"resourceSpans": [...]}')
    _hex_ids_to_base64(data)
    try:
        return json_format.ParseDict(data, message_type(), ignore_unknown_fields=True)
    except json_format.ParseError as exc:
        raise InvalidInput(f"not an OTLP/JSON trace request: {exc}", field="body") from None


def _hex_ids_to_base64(node: Any) -> None:
    """OTLP/JSON writes trace/span ids as hex; protobuf's JSON mapping reads bytes as base64."""
    if isinstance(node, dict):
        for key, value in node.items():
            size = _ID_KEYS.get(key)
            if size and isinstance(value, str) and len(value) == size and _HEX.match(value):
                node[key] = base64.b64encode(bytes.fromhex(value)).decode("ascii")
            else:
                _hex_ids_to_base64(value)
    elif isinstance(node, list):
        for item in node:
            _hex_ids_to_base64(item)


def _spans(request: Any) -> Any:
    for resource_spans in request.resource_spans:
        resource = attributes(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                yield SpanRecord(
                    trace_id=span.trace_id.hex(),
                    span_id=span.span_id.hex(),
                    parent_span_id=span.parent_span_id.hex(),
                    name=span.name,
                    start_ns=span.start_time_unix_nano,
                    end_ns=span.end_time_unix_nano,
                    attributes=attributes(span.attributes),
                    events=[(e.name, attributes(e.attributes)) for e in span.events],
                    resource=resource,
                    status_code=span.status.code,
                    status_message=span.status.message,
                )


def attributes(pairs: Any) -> dict[str, Any]:
    """OTLP `KeyValue`s as a dict of plain values."""
    return {kv.key: any_value(kv.value) for kv in pairs}


def any_value(value: Any) -> Any:
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [any_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return attributes(value.kvlist_value.values)
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode("ascii")
    return getattr(value, kind)


__all__ = ["Encoding", "SpanRecord", "any_value", "attributes", "decode_request", "decompress", "encoding_of"]
