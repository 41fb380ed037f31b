"""MT-Bench single-answer grading (1-10), with FastChat's judge prompts read from their JSONL file.

    judge = mt_bench_judge(client, "/path/to/mt_bench/judge_prompts.jsonl")
    judge.evaluate(sessions)   # `single-math-v1` (with the reference) when a session has a reference,
                               # else `single-v1`; the verdict's score is the 1-10 rating

The prompts are used verbatim (no extra delimiters) so that ratings stay comparable with MT-Bench's.
Multi-turn templates are loaded but not used: sessions here are single-turn.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from judgeloop.errors import InvalidInput
from judgeloop.judging.calls import Outcome, as_runner, ask, fill, params_hash, version_tag
from judgeloop.judging.parse import parse_rating
from judgeloop.llm.base import LLMClient, Message
from judgeloop.llm.runner import Runner
from judgeloop.types import Session, Verdict

REQUIRED_FIELDS = ("name", "system_prompt", "prompt_template")


@dataclass(frozen=True)
class JudgePrompt:
    name: str
    type: str
    system_prompt: str
    prompt_template: str
    category: str = "general"
    output_format: str = ""


def load_judge_prompts(path: str | Path) -> dict[str, JudgePrompt]:
    """FastChat's `judge_prompts.jsonl`: one prompt per line, by name."""
    path = Path(path)
    if not path.is_file():
        raise InvalidInput("no such judge prompts file", file=str(path), expected="judge_prompts.jsonl")
    prompts = {}
    for row, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"not JSON: {exc.msg}", file=str(path), row=row) from None
        missing = [k for k in REQUIRED_FIELDS if not isinstance(data.get(k), str)]
        if missing:
            raise InvalidInput("missing prompt fields", file=str(path), row=row, field=missing[0])
        fields = {k: data[k] for k in ("category", "output_format") if isinstance(data.get(k), str)}
        prompts[data["name"]] = JudgePrompt(
            data["name"], data.get("type", "single"), data["system_prompt"], data["prompt_template"], **fields
        )
    return prompts


def _repair(error: str) -> str:
    return (
        f'Your reply could not be read ({error}). Reply with only your rating in the format "Rating: [[5]]".'
    )


class MTBenchJudge:
    """Single-answer 1-10 grading with MT-Bench's prompts; `pass_at` (optional) sets label = rating >= it."""

    def __init__(
        self,
        client: LLMClient,
        prompts: dict[str, JudgePrompt],
        *,
        general: str = "single-v1",
        math: str = "single-math-v1",
        max_tokens: int = 1024,
        temperature: float = 0.0,
        repair: bool = True,
        pass_at: float | None = None,
        name: str = "judge:mt-bench",
    ) -> None:
        for key in (general, math):
            if key not in prompts:
                raise InvalidInput(f"no judge prompt {key!r}", field="prompts", expected=", ".join(prompts))
        self.client = client
        self.prompts = prompts
        self.general, self.math = general, math
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.repair = repair
        self.pass_at = pass_at
        self.name = name
        self._runner: Runner | None = None

    @property
    def runner(self) -> Runner:
        if self._runner is None:
            self._runner = as_runner(self.client)
        return self._runner

    @property
    def version(self) -> str:
        return version_tag("mt-bench", self.runner.model)

    def params(self) -> dict[str, Any]:
        keys = ("general", "math", "max_tokens", "temperature", "repair", "pass_at")
        return {"model": self.runner.model, **{k: getattr(self, k) for k in keys}}

    def messages(self, session: Session) -> list[Message]:
        prompt = self.prompts[self.math if session.reference else self.general]
        values = {"question": session.input_text, "answer": session.model_output}
        if session.reference:
            values["ref_answer_1"] = session.reference
        user = fill(prompt.prompt_template, values)
        return [{"role": "system", "content": prompt.system_prompt}, {"role": "user", "content": user}]

    def evaluate(self, sessions: Sequence[Session]) -> list[Verdict]:
        return self.runner.map(self.evaluate_one, list(sessions))

    def evaluate_one(self, session: Session) -> Verdict:
        outcome: Outcome[float] = ask(
            self.runner,
            self.messages(session),
            parse_rating,
            _repair if self.repair else None,
            max_tokens=self.max_tokens,
            temperature=self.temperature,
        )
        common: dict[str, Any] = {
            "session_id": session.id,
            "evaluator": self.name,
            "version": self.version,
            "params_hash": params_hash(self.params()),
            "raw": outcome.raw,
            "latency_ms": outcome.latency_ms,
            "tokens": outcome.tokens,
            "cost": outcome.cost,
        }
        if outcome.value is None:
            return Verdict(status="error", error=outcome.error, **common)
        label = None if self.pass_at is None else int(outcome.value >= self.pass_at)
        return Verdict(
            status="ok", score=outcome.value, scores={"rating": outcome.value}, label=label, **common
        )


def mt_bench_judge(client: LLMClient, templates_path: str | Path, **options: Any) -> MTBenchJudge:
    """An `MTBenchJudge` with the prompts of FastChat's `judge_prompts.jsonl` at `templates_path`."""
    return MTBenchJudge(client, load_judge_prompts(templates_path), **options)
