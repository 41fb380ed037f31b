"""The guardrail service: score sessions now with the project's evaluator.

It runs on the event loop: when the token and the model are cached (the steady state) a request needs
no thread of the pool, only the shared inference thread (see batcher.py). Registry look-ups, model
loads and `record: true` writes go to the thread pool.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import Future
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool

from judgeloop.server.catalog import ProjectScope
from judgeloop.server.model_cache import LoadedModel, ModelUnavailable
from judgeloop.server.runtime import Runtime
from judgeloop.server.schemas import EvaluateIn, EvaluateOut
from judgeloop.store import Workspace
from judgeloop.types import Session, Verdict


@dataclass
class _Group:
    model: LoadedModel
    indices: list[int]
    future: Future[list[float]]
    started: float


async def evaluate(
    rt: Runtime, ws: Workspace, scope: ProjectScope, items: list[EvaluateIn]
) -> list[EvaluateOut]:
    """Score each item now (items naming the same evaluator share one queued job); record if asked."""
    models = {ref: await _model(rt, scope, ref) for ref in dict.fromkeys(i.evaluator for i in items)}
    groups = [_submit(rt, models[ref], items, ref) for ref in models]  # every ref resolved before any work
    verdicts: list[Verdict | None] = [None] * len(items)
    for group in groups:
        probabilities = await _wait(rt, group)
        seconds = time.perf_counter() - group.started
        for i, p in zip(group.indices, probabilities, strict=True):
            verdicts[i] = _observe(rt, group.model.verdict(p, seconds, items[i].session_id), seconds)
    done = [v for v in verdicts if v is not None]
    if any(item.record for item in items):
        await run_in_threadpool(record, ws, scope, items, done)
    return [_public(v) for v in done]


async def _model(rt: Runtime, scope: ProjectScope, ref: str | None) -> LoadedModel:
    found = rt.cache.peek(scope, ref)
    if found is None:
        found = await run_in_threadpool(rt.cache.resolve, scope, ref)
    return found


def _submit(rt: Runtime, model: LoadedModel, items: list[EvaluateIn], ref: str | None) -> _Group:
    indices = [i for i, item in enumerate(items) if item.evaluator == ref]
    future = rt.batcher.submit(model, [(items[i].model_input, items[i].model_output) for i in indices])
    return _Group(model, indices, future, time.perf_counter())


async def _wait(rt: Runtime, group: _Group) -> list[float]:
    ref = f"{group.model.name}@{group.model.version}"
    timeout = rt.settings.request_timeout_s
    try:
        return await asyncio.wait_for(asyncio.wrap_future(group.future), timeout)
    except asyncio.TimeoutError:
        raise ModelUnavailable(f"no verdict from {ref} within {timeout:g} s (server overloaded)") from None
    except Exception as exc:
        raise ModelUnavailable(f"{ref} failed to score ({type(exc).__name__})") from exc


def _observe(rt: Runtime, verdict: Verdict, seconds: float) -> Verdict:
    rt.metrics.observe_verdict(verdict.evaluator, verdict.version or "", verdict.label, seconds, "guardrail")
    if verdict.needs_review:
        rt.metrics.needs_review.labels(verdict.evaluator).inc()
    return verdict


def record(ws: Workspace, scope: ProjectScope, items: list[EvaluateIn], verdicts: list[Verdict]) -> None:
    """Store the sessions and verdicts of items sent with `record: true`."""
    chosen = [i for i, item in enumerate(items) if item.record]
    sessions = ws.add_sessions(
        scope.project,
        [
            Session(
                id=items[i].session_id,
                model_input=items[i].model_input,
                model_output=items[i].model_output,
                metadata=items[i].metadata,
                source="api:evaluate",
            )
            for i in chosen
        ],
    )
    for i, stored in zip(chosen, sessions, strict=True):
        verdicts[i].session_id = stored.id
    ws.add_verdicts(scope.project, [verdicts[i] for i in chosen])


def _public(v: Verdict) -> EvaluateOut:
    return EvaluateOut(
        label=int(v.label or 0),
        probability=float(v.probability or 0.0),
        threshold=float(v.threshold or 0.0),
        evaluator=v.evaluator,
        version=v.version or "",
        latency_ms=float(v.latency_ms or 0.0),
        session_id=v.session_id,
        needs_review=bool(v.needs_review),
        stage=v.stage,
    )


__all__ = ["evaluate", "record"]
