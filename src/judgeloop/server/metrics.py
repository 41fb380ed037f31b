"""Prometheus metrics of one app, in its own CollectorRegistry (never the process-global one)."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class ServerMetrics:
    """Request counts and latency by route, evaluation latency and verdicts by evaluator version."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "judgeloop_http_requests",
            "HTTP requests by route and status",
            ["method", "route", "status"],
            registry=r,
        )
        self.request_seconds = Histogram(
            "judgeloop_http_request_duration_seconds",
            "HTTP request latency by route",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.evaluation_seconds = Histogram(
            "judgeloop_evaluation_duration_seconds",
            "Time from queueing a session to its verdict, by evaluator version",
            ["evaluator", "version"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.verdicts = Counter(
            "judgeloop_verdicts",
            "Verdicts by evaluator version, label (good|bad|error) and source (guardrail|sampled)",
            ["evaluator", "version", "label", "source"],
            registry=r,
        )
        self.needs_review = Counter(
            "judgeloop_needs_review", "Verdicts in the model's send-to-humans band", ["evaluator"], registry=r
        )
        self.batch_size = Histogram(
            "judgeloop_inference_batch_size",
            "Sessions per forward pass",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128),
            registry=r,
        )
        self.scoring = Counter(
            "judgeloop_sampled_sessions",
            "Production sessions chosen for background scoring, by outcome (queued|scored|dropped|failed)",
            ["outcome"],
            registry=r,
        )
        self.scoring_queue = Gauge(
            "judgeloop_scoring_queue", "Sampled sessions waiting to be scored", registry=r
        )
        self.model_swaps = Counter(
            "judgeloop_model_swaps", "Champion changes picked up while running", ["evaluator"], registry=r
        )

    def observe_verdict(
        self, evaluator: str, version: str, label: int | None, seconds: float | None, source: str
    ) -> None:
        name = "error" if label is None else ("good" if label else "bad")
        self.verdicts.labels(evaluator, version, name, source).inc()
        if seconds is not None:
            self.evaluation_seconds.labels(evaluator, version).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Counts every HTTP request by its route template (not the raw path) and status."""

    def __init__(self, app: ASGIApp, metrics: ServerMetrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 500}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = _route_name(scope)
            method = scope.get("method", "GET")
            self.metrics.requests.labels(method, route, str(status["code"])).inc()
            self.metrics.request_seconds.labels(method, route).observe(time.perf_counter() - started)


def _route_name(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return str(path) if path else "unmatched"


__all__ = ["MetricsMiddleware", "ServerMetrics"]
