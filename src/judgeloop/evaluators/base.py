"""The one evaluator protocol: sessions in, verdicts out.

Every kind satisfies it: programmatic checks (`checks.Check`), reference metrics
(`reference.ReferenceEvaluator`), LLM judges (`judging.RubricJudge`, `judging.PairwiseJudge`),
learned models (`learned.LearnedEvaluator`, `cascade.CascadeEvaluator`) and learned comparators
(`pairwise_learned.PairwiseEvaluator`). Learned models also keep `predict_proba(pairs)`, the fast
path the server's batcher uses (`ProbabilisticEvaluator`). tests/test_evaluator_protocol.py runs one
conformance test over every kind.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from judgeloop.types import ModelInput, Session, Verdict

Pair = tuple[ModelInput, str]


@runtime_checkable
class Evaluator(Protocol):
    """`evaluate(sessions)` returns one Verdict per session, in order, named after the evaluator."""

    name: str

    def evaluate(self, sessions: Sequence[Session]) -> list[Verdict]: ...


@runtime_checkable
class ProbabilisticEvaluator(Evaluator, Protocol):
    """A learned evaluator: calibrated P(good) per (model_input, model_output) pair, and its threshold."""

    threshold: float

    def predict_proba(self, pairs: Sequence[Pair]) -> np.ndarray: ...


def split_rows(
    rows: Sequence[Any], session_ids: Sequence[str | None] | None
) -> tuple[list[Pair], list[str | None]]:
    """Sessions (the protocol) or bare pairs (the fast path) as pairs and session ids."""
    items: list[Any] = list(rows)
    if items and isinstance(items[0], Session):
        if session_ids is not None:
            raise TypeError("session_ids are taken from the sessions; pass pairs to give them apart")
        return [(s.model_input, s.model_output) for s in items], [s.id for s in items]
    ids: list[str | None] = list(session_ids) if session_ids is not None else [None] * len(items)
    return [tuple(p) for p in items], ids  # type: ignore[misc]
