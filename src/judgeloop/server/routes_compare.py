"""`POST /v1/compare`: which of two outputs is better, by the project's learned pairwise comparator."""

from __future__ import annotations

import threading
import time
from typing import Annotated, Any

from fastapi import APIRouter, Body, FastAPI, Request
from pydantic import Field, field_validator
from starlette.concurrency import run_in_threadpool

from judgeloop.server.deps import CurrentPrincipal, WorkspaceDep, require_role
from judgeloop.server.schemas import _check_length, _Text, parse_items

router = APIRouter(prefix="/v1", tags=["compare"])
MAX_ITEMS = 256
MAX_CHARS = 100_000
_EXAMPLE = {
    "model_input": "Name a prime number.",
    "model_output": "7 is a prime number.",
    "output_b": "Bananas.",
    "evaluator": "support-pairwise",
}


class CompareIn(_Text):
    """Two outputs for one input: `model_output` is A, `output_b` is B."""

    output_b: str
    evaluator: str | None = Field(default=None, description="name or name@version; default PROJECT-pairwise")

    @field_validator("output_b")
    @classmethod
    def _b(cls, value: str, info: Any) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return _check_length(value, info)


def setup(app: FastAPI) -> None:
    app.state.comparators = {}
    app.state.comparators_lock = threading.Lock()


def _comparator(request: Request, ws: Any, principal: Any, ref: str) -> Any:
    """The comparator a project may use (`name` = its champion), loaded once per version."""
    from judgeloop.evaluators.pairwise_learned import load_comparator_version
    from judgeloop.registry import parse_ref
    from judgeloop.server import catalog

    name, version = parse_ref(ref)
    info = catalog.lookup(ws, principal, name, version).info
    cache: dict[tuple[str, int], Any] = request.app.state.comparators
    with request.app.state.comparators_lock:
        found = cache.get((info.name, info.version))
        if found is None:
            found = cache[(info.name, info.version)] = load_comparator_version(info)
    return found


def _compare(request: Request, ws: Any, principal: Any, items: list[CompareIn]) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = [{} for _ in items]
    refs = dict.fromkeys(item.evaluator or f"{principal.project}-pairwise" for item in items)
    for ref in refs:
        model = _comparator(request, ws, principal, ref)
        index = [
            i for i, item in enumerate(items) if (item.evaluator or f"{principal.project}-pairwise") == ref
        ]
        started = time.perf_counter()
        verdicts = model.verdicts(
            [(items[i].model_input, items[i].model_output, items[i].output_b) for i in index]
        )
        ms = round((time.perf_counter() - started) * 1000, 3)
        for i, v in zip(index, verdicts, strict=True):
            results[i] = {
                "choice": v.scores["winner"],
                "probability": v.probability,
                "p_a": v.scores["p_a"],
                "p_b": v.scores["p_b"],
                "p_tie": v.scores["p_tie"],
                "evaluator": model.name,
                "version": model.version,
                "latency_ms": ms,
            }
    return results


@router.post("/compare", response_model=None)
async def compare(
    request: Request,
    payload: Annotated[Any, Body(examples=[_EXAMPLE, [_EXAMPLE]])],
    principal: CurrentPrincipal,
    ws: WorkspaceDep,
) -> dict[str, Any] | list[dict[str, Any]]:
    """`{model_input, model_output (A), output_b (B), evaluator?}` or a list of them -> `{choice (A|B|tie),
    probability (P(A better)), p_a, p_b, p_tie, evaluator, version, latency_ms}` (or a list)."""
    require_role(principal, "service")
    items, many = parse_items(payload, CompareIn, max_items=MAX_ITEMS, max_chars=MAX_CHARS)
    results = await run_in_threadpool(_compare, request, ws, principal, items)
    return results if many else results[0]
