"""`GET /metrics`: Prometheus text. No token needed unless `JUDGELOOP_METRICS_REQUIRE_TOKEN=true`
(scrapers rarely send tokens; the figures name evaluators and routes, never sessions or projects)."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST

from judgeloop.server import runtime
from judgeloop.server.deps import RuntimeDep, get_principal

router = APIRouter(tags=["metrics"])


def setup(app: FastAPI) -> None:
    runtime.install(app)


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request, rt: RuntimeDep) -> Response:
    if rt.settings.metrics_require_token:
        get_principal(request)
    return Response(rt.metrics.render(), media_type=CONTENT_TYPE_LATEST)
