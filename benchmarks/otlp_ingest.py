"""Ingest speed of `POST /v1/traces`: spans/s from the real OTLP/HTTP exporter into `judgeloop serve`.

    PYTHONPATH=src .venv/bin/python -m benchmarks.otlp_ingest --batches 10 --rounds 3 \
        --out benchmarks/results/otlp_ingest.json

A fresh `judgeloop serve` (SQLite workspace, a tiny trained evaluator as champion) runs in a subprocess on
127.0.0.1. The client is the OpenTelemetry SDK's `OTLPSpanExporter` (protobuf), called the way its
`BatchSpanProcessor` calls it: one export of the default batch size (512 spans) after another, from one
thread. Every span is a GenAI chat span (the expensive case: each becomes a session); with
`--app-spans N` each LLM span gets N plain application spans beside it. Each round measures, alternating
in the same process: the project's `sample_rate` at 0 (sampling off) and at `--sample-rate` (on: that
share is queued for background scoring by the evaluator), and as a baseline the same sessions sent to
`POST /v1/sessions` as JSON lists of 256 items (the route's default `max_batch_items`).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

if not __package__:  # run as `python benchmarks/NAME.py`; `python -m benchmarks.NAME` needs nothing
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from benchmarks._support import use_test_helpers  # noqa: E402

use_test_helpers()

HERE = Path(__file__).resolve().parent

from benchmarks.serve_load import start_server  # noqa: E402

BATCH = 512  # BatchSpanProcessor's default max_export_batch_size (OTEL_BSP_MAX_EXPORT_BATCH_SIZE)


def make_batches(n_batches: int, app_spans: int) -> list[list[Any]]:
    """`n_batches` lists of 512 finished SDK spans with fresh trace/span ids."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from _otel_support import genai_message_attributes

    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("bench")
    total = n_batches * BATCH
    while len(memory.get_finished_spans()) < total:
        for _ in range(app_spans):
            with tracer.start_as_current_span("db.query"):
                pass
        genai_message_attributes(tracer, n=1)  # one LLM span (and its parent application span)
    spans = list(memory.get_finished_spans())[:total]
    return [spans[i : i + BATCH] for i in range(0, total, BATCH)]


def export_all(base: str, token: str, batches: list[list[Any]]) -> float:
    """Seconds for the real exporter to send every batch, one after another; every export must succeed."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace.export import SpanExportResult

    exporter = OTLPSpanExporter(
        endpoint=f"{base}/v1/traces", headers={"Authorization": f"Bearer {token}"}, timeout=60
    )
    started = time.perf_counter()
    for batch in batches:
        if exporter.export(batch) != SpanExportResult.SUCCESS:
            raise SystemExit("an export failed")
    seconds = time.perf_counter() - started
    exporter.shutdown()
    return seconds


def sessions_all(base: str, token: str, batches: list[list[Any]]) -> float:
    """The baseline: the same LLM spans as POST /v1/sessions JSON lists of 256."""
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

    from judgeloop.traces import decode_request, span_sessions

    items = []
    for batch in batches:
        spans = decode_request(encode_spans(batch).SerializeToString(), "protobuf")
        for rec in span_sessions(spans).sessions:
            rec["id"] = "base-" + rec["id"]
            rec["created_at"] = rec["created_at"].isoformat()
            items.append(rec)
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
        started = time.perf_counter()
        for i in range(0, len(items), 256):
            r = client.post("/v1/sessions", json=items[i : i + 256])
            r.raise_for_status()
        return time.perf_counter() - started


def set_rate(url: str, rate: float) -> None:
    from judgeloop.store import Workspace

    Workspace(url).update_project_settings("bench", sample_rate=rate)


def main() -> None:
    fmt = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=fmt)
    parser.add_argument("--batches", type=int, default=20, help="exports of 512 spans per measurement")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sample-rate", type=float, default=0.1)
    parser.add_argument("--app-spans", type=int, default=0, help="plain spans beside each LLM span")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    from _server_support import free_port, trained_model_dir
    from judgeloop import registry
    from judgeloop.server.auth import create_token
    from judgeloop.store import Workspace

    work = Path(tempfile.mkdtemp(prefix="jl-otlp-bench-"))
    url = f"sqlite:///{work / 'bench.db'}"
    ws = Workspace(url)
    registry.register(ws, "guard", trained_model_dir(), project="bench")
    registry.promote(ws, "guard@1", project="bench")
    token = create_token(ws, "bench", "service")
    port = free_port()
    server = start_server(url, port, access_log=False, constant=False)
    base = f"http://127.0.0.1:{port}"
    results: dict[str, list[float]] = {"sampling_off": [], "sampling_on": [], "sessions_baseline": []}
    try:
        for r in range(args.rounds):
            for name in results:
                batches = make_batches(args.batches, args.app_spans)
                set_rate(url, args.sample_rate if name == "sampling_on" else 0.0)
                seconds = (sessions_all if name == "sessions_baseline" else export_all)(base, token, batches)
                rate = args.batches * BATCH / seconds
                results[name].append(rate)
                print(f"round {r + 1} {name}: {rate:,.0f} spans/s ({seconds:.2f} s)", flush=True)
    finally:
        server.terminate()
        server.wait(30)
        shutil.rmtree(work, ignore_errors=True)
    medians = {k: statistics.median(v) for k, v in results.items()}
    report = {
        "args": {k: str(v) for k, v in vars(args).items()},
        "spans_per_export": BATCH,
        "spans_per_s": results,
        "median_spans_per_s": medians,
        "ratio_traces_vs_sessions_baseline": medians["sampling_off"] / medians["sessions_baseline"],
    }
    print(json.dumps(report, indent=2))
    if args.out:
        args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
