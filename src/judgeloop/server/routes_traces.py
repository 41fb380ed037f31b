"""OpenTelemetry in: `POST /v1/traces` takes OTLP/HTTP (protobuf or JSON) and logs the LLM-call spans as
sessions through the same path as `POST /v1/sessions` (project `sample_rate`, background scoring)."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from judgeloop.errors import InvalidInput
from judgeloop.server import runtime, services
from judgeloop.server.auth import Principal
from judgeloop.server.deps import AsyncPrincipal, AsyncWorkspaceDep, RuntimeDep, require_role
from judgeloop.server.runtime import Runtime
from judgeloop.server.schemas import SessionIn, parse_items
from judgeloop.store import Workspace
from judgeloop.traces import decode_request, span_sessions
from judgeloop.traces.otlp import Encoding, decompress, encoding_of

router = APIRouter(prefix="/v1", tags=["traffic"])


def setup(app: FastAPI) -> None:
    runtime.install(app)


@dataclass
class TracesLogged:
    spans: int
    stored: int  # new sessions
    duplicates: int  # LLM spans already stored (a re-sent batch)
    sampled: int
    ignored: int  # spans without an LLM call
    rejected: list[str]


def log_spans(
    rt: Runtime, ws: Workspace, principal: Principal, body: bytes, encoding: Encoding
) -> TracesLogged:
    """Decode a batch, keep the LLM-call spans not stored yet, and log them as sessions."""
    spans = decode_request(body, encoding)
    found = span_sessions(spans)
    rejected = list(found.rejected)
    valid: list[SessionIn] = []
    for record in found.sessions:
        try:
            valid.extend(
                parse_items(record, SessionIn, max_items=1, max_chars=rt.settings.max_field_chars)[0]
            )
        except InvalidInput as exc:
            rejected.append(f"span {record['metadata']['span_id']}: {exc}")
    known = (
        {s.id for s in ws.sessions(principal.project, ids=[s.id or "" for s in valid])} if valid else set()
    )
    new = [s for s in valid if s.id not in known]
    logged = services.log_sessions(rt, ws, principal, new) if new else None
    return TracesLogged(
        spans=len(spans),
        stored=logged.stored if logged else 0,
        duplicates=len(valid) - len(new),
        sampled=logged.sampled if logged else 0,
        ignored=found.ignored,
        rejected=rejected,
    )


@router.post("/traces", responses={400: {"description": "not an OTLP trace request"}})
async def ingest_traces(
    request: Request, principal: AsyncPrincipal, ws: AsyncWorkspaceDep, rt: RuntimeDep
) -> Response:
    """OTLP/HTTP trace export (`application/x-protobuf` or `application/json`, optionally gzip). Spans
    carrying an LLM call (GenAI semantic conventions or OpenInference) become sessions with id
    `otel-<trace_id>-<span_id>`; other spans are counted and ignored. Counts come back in
    `X-Judgeloop-*` headers; LLM spans that cannot be sessions are reported as OTLP partial success."""
    require_role(principal, "service")
    try:
        encoding = encoding_of(request.headers.get("content-type"))
    except InvalidInput as exc:
        return JSONResponse(status_code=415, content={"detail": str(exc)})
    raw = await request.body()
    try:
        body = decompress(raw, request.headers.get("content-encoding"), max_bytes=rt.settings.max_body_bytes)
        result = await run_in_threadpool(log_spans, rt, ws, principal, body, encoding)
    except InvalidInput as exc:
        return JSONResponse(status_code=400, content={"detail": str(exc)})
    return _otlp_response(result, encoding)


def _otlp_response(result: TracesLogged, encoding: Encoding) -> Response:
    from google.protobuf import json_format
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

    reply = ExportTraceServiceResponse()
    if result.rejected:
        reply.partial_success.rejected_spans = len(result.rejected)
        more = f" (and {len(result.rejected) - 5} more)" if len(result.rejected) > 5 else ""
        reply.partial_success.error_message = "; ".join(result.rejected[:5]) + more
    headers = {
        "X-Judgeloop-Spans": str(result.spans),
        "X-Judgeloop-Stored": str(result.stored),
        "X-Judgeloop-Duplicates": str(result.duplicates),
        "X-Judgeloop-Sampled": str(result.sampled),
        "X-Judgeloop-Ignored": str(result.ignored),
        "X-Judgeloop-Rejected": str(len(result.rejected)),
    }
    if encoding == "json":
        return Response(json_format.MessageToJson(reply), media_type="application/json", headers=headers)
    return Response(reply.SerializeToString(), media_type="application/x-protobuf", headers=headers)
