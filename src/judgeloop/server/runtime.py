"""What the API routes share in one app: settings, metrics, the model cache, the inference thread, the
background scorer and (on PostgreSQL) the change listener. Built once per app by `install(app)`
(idempotent); its threads start with the app (startup hooks) and stop with it (shutdown hooks).
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from judgeloop.server.auth_cache import TokenCache
from judgeloop.server.batcher import Batcher
from judgeloop.server.changes import ChangeWatcher
from judgeloop.server.limits import BodySizeLimit
from judgeloop.server.metrics import MetricsMiddleware, ServerMetrics
from judgeloop.server.model_cache import LoadedModel, ModelCache, ModelUnavailable
from judgeloop.server.scoring import BackgroundScorer
from judgeloop.server.settings import ServeSettings
from judgeloop.store import Workspace


@dataclass
class Runtime:
    settings: ServeSettings
    metrics: ServerMetrics
    cache: ModelCache
    batcher: Batcher
    scorer: BackgroundScorer
    watcher: ChangeWatcher | None = None

    def start(self) -> None:
        self.scorer.start()
        if self.watcher is not None:
            self.watcher.start()

    def close(self) -> None:
        if self.watcher is not None:
            self.watcher.close()
        self.scorer.close()
        self.batcher.close()
        self.cache.close()


def build_runtime(ws: Workspace, settings: ServeSettings) -> Runtime:
    metrics = ServerMetrics()

    def swapped(old: LoadedModel, new: LoadedModel) -> None:
        metrics.model_swaps.labels(new.name).inc()

    cache = ModelCache(
        ws, refresh_s=settings.champion_refresh_s, max_models=settings.model_cache_size, on_swap=swapped
    )
    batcher = Batcher(
        window_s=settings.batch_window_ms / 1000,
        max_size=settings.max_batch_size,
        on_batch=metrics.batch_size.observe,
    )
    scorer = BackgroundScorer(
        ws,
        cache,
        batcher,
        metrics,
        max_pending=settings.scoring_queue_size,
        claim_timeout_s=settings.scoring_claim_timeout_s,
        poll_s=settings.scoring_poll_s,
    )
    return Runtime(settings, metrics, cache, batcher, scorer)


def install(app: FastAPI) -> Runtime:
    """Create the app's runtime, middleware and error mapping once; later calls return the same one."""
    existing = getattr(app.state, "serve", None)
    if existing is not None:
        return existing  # type: ignore[no-any-return]
    settings = getattr(app.state, "serve_settings", None) or ServeSettings()
    app.state.serve_settings = settings
    runtime = build_runtime(app.state.workspace, settings)
    app.state.serve = runtime
    tokens = app.state.token_cache = TokenCache(app.state.workspace, ttl_s=settings.auth_cache_s)
    if app.state.workspace.engine.dialect.name == "postgresql":

        def changed(kind: str) -> None:  # made by another server or the CLI (or this one)
            tokens.forget()
            runtime.cache.invalidate()
            runtime.cache.recheck()

        runtime.watcher = ChangeWatcher(app.state.workspace, changed, poll_s=settings.changes_poll_s)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(MetricsMiddleware, metrics=runtime.metrics)  # outermost: counts 413s too

    @app.exception_handler(ModelUnavailable)
    async def _unavailable(_: Request, exc: ModelUnavailable) -> JSONResponse:
        return JSONResponse(status_code=503, content={"detail": str(exc)}, headers={"Retry-After": "1"})

    app.state.startup_hooks.append(runtime.start)
    app.state.shutdown_hooks.append(runtime.close)
    return runtime


__all__ = ["Runtime", "build_runtime", "install"]
