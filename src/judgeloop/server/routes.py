"""Which routers the app serves. Each `routes_*.py` module exposes `router` (and optional `setup(app)`)."""

from __future__ import annotations

import importlib

from fastapi import FastAPI

ROUTE_MODULES: tuple[str, ...] = (
    "health",
    "guardrail",
    "traffic",
    "traces",
    "evaluators",
    "tokens",
    "metrics",
    "queues",
    "review",
    "review_admin",
    "dashboard",
    "compare",
)


def include_all(app: FastAPI) -> None:
    for name in ROUTE_MODULES:
        module = importlib.import_module(f"judgeloop.server.routes_{name}")
        setup = getattr(module, "setup", None)
        if setup is not None:
            setup(app)
        app.include_router(module.router)
