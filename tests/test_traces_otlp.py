"""POST /v1/traces against a real server: spans from the OpenTelemetry SDK (OTLP/HTTP exporter) become
sessions under the GenAI semantic conventions and OpenInference; re-sent batches, sampling, JSON and
malformed payloads."""

from __future__ import annotations

import gzip
import json

import httpx
import pytest

from _otel_support import (
    ANSWER,
    QUESTION,
    genai_events,
    genai_indexed_attributes,
    genai_message_attributes,
    openinference,
    openinference_values,
    otlp_app,
    recorded,
)
from _server_support import Env, ThreadServer, make_env
from judgeloop.server import create_app
from judgeloop.server.scoring import is_sampled

PROTOBUF = {"Content-Type": "application/x-protobuf"}


@pytest.fixture
def env(tmp_path) -> Env:
    return make_env(tmp_path, [])


@pytest.fixture
def server(env):
    with ThreadServer(create_app(workspace=env.ws)) as srv:
        yield srv


def stored(env: Env) -> dict[str, dict]:
    return {s.id or "": s.model_dump() for s in env.ws.sessions("shop")}


def llm_span(spans, name: str):
    return next(s for s in spans if s.name == name)


def sid(span) -> str:
    ctx = span.get_span_context()
    return f"otel-{ctx.trace_id:032x}-{ctx.span_id:016x}"


def post(server, env: Env, body: bytes, headers=PROTOBUF, role: str = "service") -> httpx.Response:
    return httpx.post(
        f"{server.base}/v1/traces", content=body, headers={**headers, **env.auth(role)}, timeout=30
    )


def test_genai_message_attributes_through_the_otlp_exporter(server, env):
    with otlp_app(server.base, env.tokens["service"]) as tracer:
        genai_message_attributes(tracer, n=3)
    sessions = stored(env)
    assert len(sessions) == 3  # the application span around them is not a session
    one = next(s for s in sessions.values() if s["model_input"][1]["content"].endswith("#1"))
    assert one["model_input"] == [
        {"role": "system", "content": "Be kind."},
        {"role": "user", "content": f"{QUESTION} #1"},
    ]
    assert one["model_output"] == ANSWER and one["source"] == "otlp"
    meta = one["metadata"]
    assert meta["model"] == "gpt-4o-mini-2024-07-18" and meta["provider"] == "openai"
    assert (meta["input_tokens"], meta["output_tokens"], meta["total_tokens"]) == (22, 17, 39)
    assert one["id"] == f"otel-{meta['trace_id']}-{meta['span_id']}"
    assert len(meta["trace_id"]) == 32 and len(meta["span_id"]) == 16 and meta["parent_span_id"]
    assert meta["latency_ms"] >= 0 and meta["service_name"] == "support-bot"
    assert meta["convention"] == "genai" and one["created_at"] is not None


def test_genai_events_with_gzip(server, env):
    with otlp_app(server.base, env.tokens["service"], gzip=True) as tracer:
        genai_events(tracer)
    [session] = stored(env).values()
    assert session["model_input"] == [
        {"role": "system", "content": "You are a support agent."},
        {"role": "user", "content": QUESTION},
    ]
    assert session["model_output"] == ANSWER
    assert session["metadata"]["model"] == "claude-3-5-haiku"
    assert session["metadata"]["provider"] == "anthropic"
    assert session["metadata"]["total_tokens"] == 42


def test_genai_indexed_attributes(server, env):
    spans, body = recorded(genai_indexed_attributes)
    r = post(server, env, body)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/x-protobuf"
    session = stored(env)[sid(spans[0])]
    assert [m["role"] for m in session["model_input"]] == ["system", "user"]
    assert session["model_input"][1]["content"] == QUESTION and session["model_output"] == ANSWER
    assert session["metadata"]["model"] == "gpt-3.5-turbo-0125"
    assert (session["metadata"]["input_tokens"], session["metadata"]["output_tokens"]) == (40, 9)


def test_openinference_llm_spans_and_chain_spans_ignored(server, env):
    with otlp_app(server.base, env.tokens["service"]) as tracer:
        openinference(tracer)
        openinference_values(tracer)
    sessions = stored(env)
    assert len(sessions) == 2  # the CHAIN span has input/output values too, but no LLM call
    chat = next(s for s in sessions.values() if s["metadata"]["model"] == "gpt-4o")
    assert chat["model_input"] == [
        {"role": "system", "content": "You are a support agent."},
        {"role": "user", "content": QUESTION},
    ]
    assert chat["model_output"] == ANSWER and chat["metadata"]["convention"] == "openinference"
    assert (chat["metadata"]["input_tokens"], chat["metadata"]["total_tokens"]) == (25, 43)
    text = next(s for s in sessions.values() if s["metadata"]["model"] == "llama-3-8b")
    assert text["model_input"] == QUESTION and text["model_output"] == ANSWER


def test_counts_and_a_resent_batch_adds_nothing(server, env):
    spans, body = recorded(lambda t: genai_message_attributes(t, n=4))
    first = post(server, env, body)
    assert first.status_code == 200
    assert first.headers["x-judgeloop-spans"] == "5" and first.headers["x-judgeloop-ignored"] == "1"
    assert first.headers["x-judgeloop-stored"] == "4" and first.headers["x-judgeloop-duplicates"] == "0"
    again = post(server, env, body)
    assert again.status_code == 200
    assert again.headers["x-judgeloop-stored"] == "0" and again.headers["x-judgeloop-duplicates"] == "4"
    assert again.headers["x-judgeloop-sampled"] == "0"
    assert len(stored(env)) == 4


def test_sample_rate_applies_as_for_sessions(server, env):
    env.ws.update_project_settings("shop", sample_rate=0.5)
    spans, body = recorded(lambda t: genai_message_attributes(t, n=40))
    r = post(server, env, body)
    ids = [sid(s) for s in spans if s.name.startswith("chat")]
    expected = sum(is_sampled(i, 0.5) for i in ids)
    assert 0 < expected < 40
    assert r.headers["x-judgeloop-sampled"] == str(expected)


def test_otlp_json_with_hex_ids(server, env):
    trace_id, span_id = "5b8efff798038103d269b633813fc60c", "eee19b7ec3c1b174"
    payload = {
        "resourceSpans": [
            {
                "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "bot"}}]},
                "scopeSpans": [
                    {
                        "spans": [
                            {
                                "traceId": trace_id,
                                "spanId": span_id,
                                "name": "chat",
                                "kind": 3,
                                "startTimeUnixNano": "1700000000000000000",
                                "endTimeUnixNano": "1700000000250000000",
                                "attributes": [
                                    {"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
                                    {"key": "gen_ai.request.model", "value": {"stringValue": "m"}},
                                    {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "7"}},
                                    {"key": "gen_ai.prompt.0.role", "value": {"stringValue": "user"}},
                                    {"key": "gen_ai.prompt.0.content", "value": {"stringValue": QUESTION}},
                                    {"key": "gen_ai.completion.0.content", "value": {"stringValue": ANSWER}},
                                ],
                                "futureField": {"ignored": True},
                            }
                        ]
                    }
                ],
            }
        ]
    }
    r = post(server, env, json.dumps(payload).encode(), headers={"Content-Type": "application/json"})
    assert r.status_code == 200, r.text
    assert r.json() == {}  # an OTLP ExportTraceServiceResponse with nothing rejected
    session = stored(env)[f"otel-{trace_id}-{span_id}"]
    assert session["metadata"]["latency_ms"] == pytest.approx(250.0)
    assert session["metadata"]["input_tokens"] == 7
    assert session["created_at"].year == 2023


def test_llm_span_without_output_is_a_partial_success(server, env):
    def emit(tracer):
        with tracer.start_as_current_span("chat") as span:
            span.set_attributes({"gen_ai.operation.name": "chat", "gen_ai.input.messages": "[]"})
        genai_message_attributes(tracer)

    _, body = recorded(emit)
    from google.protobuf import json_format
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    as_json = json_format.MessageToJson(ExportTraceServiceRequest.FromString(body))
    r = post(server, env, as_json.encode(), headers={"Content-Type": "application/json"})
    assert r.status_code == 200
    assert r.json()["partialSuccess"]["rejectedSpans"] == "1"
    assert "without input messages" in r.json()["partialSuccess"]["errorMessage"]
    assert len(stored(env)) == 1


@pytest.mark.parametrize(
    "body,headers,status,message",
    [
        (b"not a protobuf", PROTOBUF, 400, "not an OTLP ExportTraceServiceRequest"),
        (b"{not json", {"Content-Type": "application/json"}, 400, "not JSON"),
        (b"[1, 2]", {"Content-Type": "application/json"}, 400, "not a JSON object"),
        (b'{"resourceSpans": "x"}', {"Content-Type": "application/json"}, 400, "resourceSpans"),
        (b"\x1f\x8b garbage", {**PROTOBUF, "Content-Encoding": "gzip"}, 400, "not valid gzip"),
        (b"{}", {"Content-Type": "text/plain"}, 415, "unsupported Content-Type"),
    ],
)
def test_malformed_payloads_store_nothing(server, env, body, headers, status, message):
    r = post(server, env, body, headers=headers)
    assert r.status_code == status, r.text
    assert message in r.json()["detail"]
    assert stored(env) == {}


def test_auth_like_the_other_routes(server, env):
    _, body = recorded(genai_message_attributes)
    assert httpx.post(f"{server.base}/v1/traces", content=body, headers=PROTOBUF).status_code == 401
    assert post(server, env, body, role="reviewer").status_code == 403
    assert (
        post(server, env, gzip.compress(body), headers={**PROTOBUF, "Content-Encoding": "gzip"}).status_code
        == 200
    )
    assert len(stored(env)) == 1


def test_ingest_on_both_databases(db_url, tmp_path):
    env = make_env(tmp_path, [], url=db_url)
    spans, body = recorded(lambda t: genai_message_attributes(t, n=3))
    with ThreadServer(create_app(workspace=env.ws)) as srv:
        assert post(srv, env, body).headers["x-judgeloop-stored"] == "3"
        assert post(srv, env, body).headers["x-judgeloop-duplicates"] == "3"
    stored_ids = set(stored(env))
    assert stored_ids == {sid(s) for s in spans if s.name.startswith("chat")}
    assert all(s["created_at"] is not None for s in stored(env).values())
