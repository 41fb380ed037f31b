"""A small instrumented "application" for the OTLP tests and benchmark: the real OpenTelemetry SDK with the
OTLP/HTTP exporter (or an in-memory exporter, to post the exporter's own encoding by hand)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Tracer

RESOURCE = Resource.create({"service.name": "support-bot"})
QUESTION = "Where is my order?"
ANSWER = "Sorry for the wait! Please share your order number and I will check its status right away."


@contextmanager
def otlp_app(base: str, token: str, *, gzip: bool = False) -> Iterator[Tracer]:
    """A tracer whose spans go to `base`/v1/traces through BatchSpanProcessor + OTLPSpanExporter."""
    exporter = OTLPSpanExporter(
        endpoint=f"{base}/v1/traces",
        headers={"Authorization": f"Bearer {token}"},
        compression=Compression.Gzip if gzip else Compression.NoCompression,
        timeout=30,
    )
    provider = TracerProvider(resource=RESOURCE)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    try:
        yield provider.get_tracer("support-bot")
        assert provider.force_flush(30_000)
    finally:
        provider.shutdown()


def recorded(emit: Callable[[Tracer], None]) -> tuple[list[Any], bytes]:
    """Run `emit` on an in-memory exporter: (finished spans, the OTLP protobuf body the exporter sends)."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=RESOURCE)
    provider.add_span_processor(SimpleSpanProcessor(memory))
    emit(provider.get_tracer("support-bot"))
    spans = list(memory.get_finished_spans())
    provider.shutdown()
    return spans, encode_spans(spans).SerializeToString()


# --- one function per convention: what an instrumented app's spans look like --------------------


def genai_message_attributes(tracer: Tracer, n: int = 1) -> None:
    """Current GenAI conventions: gen_ai.input.messages / gen_ai.output.messages as JSON attributes."""
    with tracer.start_as_current_span("handle_request"):  # an application span: no LLM call
        for i in range(n):
            with tracer.start_as_current_span("chat gpt-4o-mini") as span:
                span.set_attributes(
                    {
                        "gen_ai.operation.name": "chat",
                        "gen_ai.provider.name": "openai",
                        "gen_ai.request.model": "gpt-4o-mini",
                        "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
                        "gen_ai.usage.input_tokens": 21 + i,
                        "gen_ai.usage.output_tokens": 17,
                        "gen_ai.system_instructions": json.dumps([{"type": "text", "content": "Be kind."}]),
                        "gen_ai.input.messages": json.dumps(
                            [{"role": "user", "parts": [{"type": "text", "content": f"{QUESTION} #{i}"}]}]
                        ),
                        "gen_ai.output.messages": json.dumps(
                            [
                                {
                                    "role": "assistant",
                                    "parts": [{"type": "text", "content": ANSWER}],
                                    "finish_reason": "stop",
                                }
                            ]
                        ),
                    }
                )


def genai_events(tracer: Tracer) -> None:
    """GenAI conventions with the prompt and completion as span events."""
    with tracer.start_as_current_span("chat claude") as span:
        span.set_attributes(
            {
                "gen_ai.operation.name": "chat",
                "gen_ai.system": "anthropic",
                "gen_ai.request.model": "claude-3-5-haiku",
                "gen_ai.usage.input_tokens": 30,
                "gen_ai.usage.output_tokens": 12,
            }
        )
        span.add_event("gen_ai.system.message", {"content": "You are a support agent."})
        span.add_event("gen_ai.user.message", {"content": QUESTION})
        span.add_event(
            "gen_ai.choice",
            {
                "index": 0,
                "finish_reason": "stop",
                "message": json.dumps({"role": "assistant", "content": ANSWER}),
            },
        )


def genai_indexed_attributes(tracer: Tracer) -> None:
    """The older indexed form (OpenLLMetry): gen_ai.prompt.N.* / gen_ai.completion.N.*."""
    with tracer.start_as_current_span("openai.chat") as span:
        span.set_attributes(
            {
                "llm.request.type": "chat",
                "gen_ai.system": "OpenAI",
                "gen_ai.request.model": "gpt-3.5-turbo",
                "gen_ai.response.model": "gpt-3.5-turbo-0125",
                "gen_ai.usage.prompt_tokens": 40,
                "gen_ai.usage.completion_tokens": 9,
                "gen_ai.prompt.0.role": "system",
                "gen_ai.prompt.0.content": "You are a support agent.",
                "gen_ai.prompt.1.role": "user",
                "gen_ai.prompt.1.content": QUESTION,
                "gen_ai.completion.0.role": "assistant",
                "gen_ai.completion.0.content": ANSWER,
                "gen_ai.completion.0.finish_reason": "stop",
            }
        )


def openinference(tracer: Tracer) -> None:
    """OpenInference (Phoenix): an agent CHAIN span around an LLM span with flattened messages."""
    with tracer.start_as_current_span("agent") as chain:
        chain.set_attributes(
            {"openinference.span.kind": "CHAIN", "input.value": QUESTION, "output.value": ANSWER}
        )
        with tracer.start_as_current_span("ChatCompletion") as span:
            span.set_attributes(
                {
                    "openinference.span.kind": "LLM",
                    "llm.model_name": "gpt-4o",
                    "llm.provider": "openai",
                    "llm.input_messages.0.message.role": "system",
                    "llm.input_messages.0.message.content": "You are a support agent.",
                    "llm.input_messages.1.message.role": "user",
                    "llm.input_messages.1.message.content": QUESTION,
                    "llm.output_messages.0.message.role": "assistant",
                    "llm.output_messages.0.message.content": ANSWER,
                    "llm.token_count.prompt": 25,
                    "llm.token_count.completion": 18,
                    "llm.token_count.total": 43,
                    "input.value": json.dumps({"messages": [{"role": "user", "content": QUESTION}]}),
                    "input.mime_type": "application/json",
                }
            )


def openinference_values(tracer: Tracer) -> None:
    """An OpenInference LLM span with only input.value / output.value (a text completion)."""
    with tracer.start_as_current_span("Completion") as span:
        span.set_attributes(
            {
                "openinference.span.kind": "LLM",
                "llm.model_name": "llama-3-8b",
                "input.value": QUESTION,
                "output.value": ANSWER,
            }
        )
