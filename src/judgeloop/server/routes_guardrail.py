"""The guardrail: `POST /v1/evaluate` scores one session (or a list) now, with the project's evaluator."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, FastAPI

from judgeloop.server import guardrail, runtime
from judgeloop.server.deps import AsyncPrincipal, AsyncWorkspaceDep, RuntimeDep, require_role
from judgeloop.server.schemas import EvaluateIn, EvaluateOut, one_or_many, parse_items

router = APIRouter(prefix="/v1", tags=["guardrail"])

_EXAMPLE = {"model_input": "Where is my order?", "model_output": "It ships tomorrow.", "evaluator": "support"}


def setup(app: FastAPI) -> None:
    runtime.install(app)


@router.post("/evaluate", response_model=None, openapi_extra=one_or_many(EvaluateIn))
async def evaluate(
    payload: Annotated[Any, Body(examples=[_EXAMPLE, [_EXAMPLE]])],
    principal: AsyncPrincipal,
    ws: AsyncWorkspaceDep,
    rt: RuntimeDep,
) -> EvaluateOut | list[EvaluateOut]:
    """`{model_input, model_output, evaluator?, record?, session_id?, metadata?}` or a list of them ->
    `{label, probability, threshold, evaluator, version, latency_ms, session_id, needs_review}` (or a list).
    """
    require_role(principal, "service")
    items, many = parse_items(
        payload, EvaluateIn, max_items=rt.settings.max_batch_items, max_chars=rt.settings.max_field_chars
    )
    results = await guardrail.evaluate(rt, ws, principal, items)
    return results if many else results[0]
