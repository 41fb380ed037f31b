"""`RubricJudge`: an LLM grades each session against a rubric and returns a `Verdict`.

Phases per session: prompt (the rubric's template, the session's texts fenced as data) -> call (JSON
schema when the client supports it, else free text) -> parse -> one repair retry if unreadable ->
verdict. A session whose answer stays unreadable, or whose call fails, gets `status="error"` with the
reason and the raw text: it is never dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from judgeloop.judging.calls import DATA_NOTICE, Outcome, as_runner, ask, fence, params_hash, version_tag
from judgeloop.judging.parse import parse_judgment
from judgeloop.judging.rubric import Rubric, load_rubric
from judgeloop.llm.base import LLMClient, Message
from judgeloop.llm.runner import Runner
from judgeloop.types import Session, Verdict

SYSTEM_PROMPT = (
    "You are an impartial, strict evaluator. You grade an AI assistant's output against the given criteria "
    "and reply with a single JSON object and nothing else.\n" + DATA_NOTICE
)
NO_REFERENCE = "(none)"


def judge_messages(rubric: Rubric, session: Session, rationale: bool = True) -> list[Message]:
    """The system and user messages that ask for a rubric verdict on `session`."""
    reference = fence("REFERENCE", session.reference) if session.reference else NO_REFERENCE
    user = rubric.render(
        {
            "input": fence("INPUT", session.input_text),
            "output": fence("OUTPUT", session.model_output),
            "reference": reference,
        },
        rationale,
    )
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]


def repair_prompt(rubric: Rubric, rationale: bool = True) -> Callable[[str], str]:
    """The follow-up message that asks once more for valid JSON only."""

    def prompt(error: str) -> str:
        return f"Your reply could not be read ({error}). {rubric.format_instruction(rationale)}"

    return prompt


class RubricJudge:
    """An evaluator: `evaluate(sessions) -> list[Verdict]`, one verdict per session, in order."""

    def __init__(
        self,
        client: LLMClient,
        rubric: Rubric | str | Path,
        *,
        max_tokens: int = 512,
        temperature: float = 0.0,
        seed: int | None = None,
        use_schema: bool = True,
        repair: bool = True,
        rationale: bool = True,
        name: str | None = None,
    ) -> None:
        self.client = client
        self.rubric = rubric if isinstance(rubric, Rubric) else load_rubric(rubric)
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.seed = seed
        self.use_schema = use_schema
        self.repair = repair
        self.rationale = rationale
        self.name = name or f"judge:{self.rubric.name}"
        self._runner: Runner | None = None

    @property
    def version(self) -> str:
        return version_tag(self.rubric.version, self.runner.model)

    @property
    def runner(self) -> Runner:
        if self._runner is None:
            self._runner = as_runner(self.client)
        return self._runner

    def params(self) -> dict[str, Any]:
        return {
            "rubric": self.rubric.model_dump(),
            "model": self.runner.model,
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "seed": self.seed,
            "use_schema": self.use_schema,
            "repair": self.repair,
            "rationale": self.rationale,
        }

    def evaluate(self, sessions: Sequence[Session]) -> list[Verdict]:
        return self.runner.map(self.evaluate_one, list(sessions))

    def evaluate_one(self, session: Session) -> Verdict:
        use_schema = self.use_schema and self.runner.supports_json_schema
        schema = self.rubric.json_schema(self.rationale) if use_schema else None
        outcome = ask(
            self.runner,
            judge_messages(self.rubric, session, self.rationale),
            lambda text: _parse_or_none(text, self.rubric),
            repair_prompt(self.rubric, self.rationale) if self.repair else None,
            max_tokens=self.max_tokens,
            temperature=self.temperature,
            json_schema=schema,
            seed=self.seed,
        )
        return self._verdict(session, outcome)

    def _verdict(self, session: Session, outcome: Outcome[Any]) -> Verdict:
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
        if outcome.error is not None or outcome.value is None:
            return Verdict(status="error", error=outcome.error or "no scores", **common)
        scores, rationale = outcome.value
        return Verdict(
            status="ok",
            scores=scores,
            score=self.rubric.score(scores),
            label=int(self.rubric.passes(scores)),
            rationale=rationale,
            **common,
        )


def _parse_or_none(
    text: str, rubric: Rubric
) -> tuple[tuple[dict[str, float], str | None] | None, str | None]:
    parsed = parse_judgment(text, rubric)
    return ((parsed.scores, parsed.rationale), None) if parsed.ok else (None, parsed.error)
