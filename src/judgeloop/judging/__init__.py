"""LLM-as-judge: rubric judges, pairwise judges (both orders). MT-Bench single-answer grading lives with
the MT-Bench benchmark, in `judgeloop.bench.mtbench_judge` (its names are still importable from here).

from judgeloop.judging import judge
verdicts = judge(sessions, "seed", model="local")          # one Verdict per session, errors included
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from judgeloop.errors import InvalidInput
from judgeloop.judging.judge import RubricJudge, judge_messages
from judgeloop.judging.pairwise import (
    PairwiseJudge,
    bias_report,
    length_bias,
    position_bias,
    position_consistency,
)
from judgeloop.judging.parse import parse_judgment, parse_pairwise, parse_rating, parse_scores
from judgeloop.judging.rubric import Criterion, Rubric, builtin_rubrics, load_rubric
from judgeloop.llm.base import LLMClient
from judgeloop.types import Session, Verdict


def make_judge(
    runner: Any,
    rubric: Rubric | str,
    pairwise: bool = False,
    short: bool = False,
    name: str | None = None,
    **options: Any,
) -> RubricJudge | PairwiseJudge:
    """The judge `judgeloop judge` runs: pairwise (both orders) or by rubric; `short` asks for the scores
    or the verdict without a rationale."""
    if pairwise:
        return PairwiseJudge(runner, short=short, name=name or "judge:pairwise", **options)
    return RubricJudge(runner, rubric, rationale=not short, name=name, **options)


def as_sessions(items: Iterable[Session | dict[str, Any]]) -> list[Session]:
    sessions = []
    for row, item in enumerate(items, start=1):
        if isinstance(item, Session):
            sessions.append(item)
            continue
        try:
            sessions.append(Session.model_validate(item))
        except Exception as exc:
            raise InvalidInput(
                f"not a session: {exc}", row=row, expected="model_input and model_output"
            ) from None
    return sessions


def judge(
    sessions: Iterable[Session | dict[str, Any]],
    rubric: Rubric | str | Path = "seed",
    model: str = "local",
    base_url: str | None = None,
    *,
    client: LLMClient | None = None,
    max_tokens: int = 512,
    temperature: float = 0.0,
    seed: int | None = None,
    **client_options: Any,
) -> list[Verdict]:
    """Grade `sessions` with `rubric` using `model` (see `judgeloop.llm.make_client`), or a given `client`."""
    from judgeloop.llm import make_client

    llm = client if client is not None else make_client(model, base_url, **client_options)
    judge_ = RubricJudge(llm, rubric, max_tokens=max_tokens, temperature=temperature, seed=seed)
    return judge_.evaluate(as_sessions(sessions))


_MT_BENCH = ("MTBenchJudge", "load_judge_prompts", "mt_bench_judge")


def __getattr__(name: str) -> Any:
    """The MT-Bench grader's names, from their home (imported lazily: judgeloop.bench imports judging)."""
    if name in _MT_BENCH:
        from judgeloop.bench import mtbench_judge

        return getattr(mtbench_judge, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Criterion",
    "PairwiseJudge",
    "Rubric",
    "RubricJudge",
    "as_sessions",
    "make_judge",
    "bias_report",
    "builtin_rubrics",
    "judge",
    "judge_messages",
    "length_bias",
    "load_rubric",
    "parse_judgment",
    "parse_pairwise",
    "parse_rating",
    "parse_scores",
    "position_bias",
    "position_consistency",
]
