"""`PairwiseJudge`: which of two outputs is better, asked in both orders (as FastChat's MT-Bench does).

Each pair is judged as (A, B) and again as (B, A). When the two games agree the pair gets that winner;
when they disagree the pair is a tie ("inconsistent" in FastChat, counted as a tie). A verdict's label
is 1 (A, the session's `model_output`), 0 (B, its `output_b`) or None (tie); `scores` holds each
order's winner in A/B terms and whether they agreed.

`short=True` asks for the verdict alone, as `{"verdict": "A" | "B" | "tie"}` (enforced by a JSON schema
when the client supports one, as the local model does): a few tokens per game instead of an explanation,
for small or slow models.

The judge's own biases, from its verdicts (`bias_report`):

    position_consistency      share of pairs whose two orders agree
    first_position_rate       share of decisive games won by whichever answer was shown first (0.5 = none)
    position_bias             the same, among inconsistent pairs only (where position decided the game)
    a_win_rate_consistent     share of consistent, decided pairs won by A (the stored `model_output`)
    longer_preferred          share of decided pairs (of unequal lengths) won by the longer answer
    length_bias               Pearson correlation of "A won" with len(A) - len(B)
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from judgeloop import stats
from judgeloop.judging.calls import (
    DATA_NOTICE,
    Outcome,
    as_runner,
    ask,
    fence,
    fill,
    params_hash,
    require_pairs,
    version_tag,
)
from judgeloop.judging.parse import parse_pairwise
from judgeloop.llm.base import LLMClient, Message
from judgeloop.llm.runner import Runner
from judgeloop.types import Session, Verdict

PAIR_SYSTEM = (
    "Please act as an impartial judge and evaluate the quality of the responses provided by two AI "
    "assistants to the user question below. Choose the assistant that follows the user's instructions and "
    "answers the question better, considering helpfulness, relevance, accuracy, depth and level of detail. "
    "Begin with a short comparison. Avoid position bias: the order of the responses must not influence you. "
    "Do not let response length influence you. Be as objective as possible. After your explanation, output "
    'your final verdict strictly in this format: "[[A]]" if assistant A is better, "[[B]]" if assistant B '
    'is better, and "[[C]]" for a tie.\n' + DATA_NOTICE
)
PAIR_TEMPLATE = (
    "User question:\n{question}\n\nAssistant A's answer:\n{answer_a}\n\nAssistant B's answer:\n{answer_b}"
)
SHORT_SYSTEM = (
    "You are an impartial judge. Two AI assistants answered the user question below. Decide which answer "
    "follows the user's instructions and answers the question better (helpful, relevant, accurate). The "
    "order and the length of the answers must not influence you. Reply with only your verdict as JSON: "
    '{"verdict": "A"} if assistant A is better, {"verdict": "B"} if assistant B is better, '
    '{"verdict": "tie"} if they are equally good.\n' + DATA_NOTICE
)
VERDICT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"verdict": {"enum": ["A", "B", "tie"]}},
    "required": ["verdict"],
    "additionalProperties": False,
}
LABELS: dict[str, int | None] = {"A": 1, "B": 0, "tie": None}
SCORES = {"A": 1.0, "B": 0.0, "tie": 0.5}
SWAP = {"A": "B", "B": "A", "tie": "tie"}


def _repair(error: str) -> str:
    verdicts = '"[[A]]", "[[B]]" or "[[C]]"'
    return f"Your reply could not be read ({error}). Reply with only your final verdict: {verdicts}."


class PairwiseJudge:
    """An evaluator over sessions with `model_output` (A) and `output_b` (B)."""

    def __init__(
        self,
        client: LLMClient,
        *,
        system: str | None = None,
        template: str = PAIR_TEMPLATE,
        delimit: bool = True,
        short: bool = False,
        max_tokens: int = 512,
        temperature: float = 0.0,
        seed: int | None = None,
        repair: bool = True,
        name: str = "judge:pairwise",
    ) -> None:
        self.client = client
        self.system = system if system is not None else (SHORT_SYSTEM if short else PAIR_SYSTEM)
        self.template = template
        self.delimit = delimit
        self.short = short
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.seed = seed
        self.repair = repair
        self.name = name
        self._runner: Runner | None = None

    @classmethod
    def from_mt_bench(cls, client: LLMClient, templates_path: str | Path, name: str = "pair-v2", **kw: Any):
        """The judge with one of MT-Bench's pairwise prompts (`pair-v2`, `pair-math-v1`) from its JSONL."""
        from judgeloop.bench.mtbench_judge import load_judge_prompts

        prompt = load_judge_prompts(templates_path)[name]
        kw.setdefault("name", f"judge:mt-bench:{name}")
        return cls(client, system=prompt.system_prompt, template=prompt.prompt_template, delimit=False, **kw)

    @property
    def runner(self) -> Runner:
        if self._runner is None:
            self._runner = as_runner(self.client)
        return self._runner

    @property
    def version(self) -> str:
        return version_tag("1", self.runner.model)

    def params(self) -> dict[str, Any]:
        keys = ("system", "template", "delimit", "short", "max_tokens", "temperature", "seed", "repair")
        return {"model": self.runner.model, **{k: getattr(self, k) for k in keys}}

    def messages(self, question: str, first: str, second: str) -> list[Message]:
        if self.delimit:
            first, second = fence("OUTPUT_A", first), fence("OUTPUT_B", second)
            question = fence("INPUT", question)
        values = {"question": question, "answer_a": first, "answer_b": second, "ref_answer_1": ""}
        return [
            {"role": "system", "content": self.system},
            {"role": "user", "content": fill(self.template, values)},
        ]

    def evaluate(self, sessions: Sequence[Session]) -> list[Verdict]:
        require_pairs(sessions)
        return self.runner.map(self.evaluate_one, list(sessions))

    def _game(self, question: str, first: str, second: str) -> Outcome[str]:
        schema = VERDICT_SCHEMA if self.short and self.runner.supports_json_schema else None
        return ask(
            self.runner,
            self.messages(question, first, second),
            parse_pairwise,
            _repair if self.repair else None,
            max_tokens=self.max_tokens,
            temperature=self.temperature,
            json_schema=schema,
            seed=self.seed,
        )

    def evaluate_one(self, session: Session) -> Verdict:
        a, b = session.model_output, session.output_b or ""
        g1 = self._game(session.input_text, a, b)
        g2 = self._game(session.input_text, b, a)
        common: dict[str, Any] = {
            "session_id": session.id,
            "evaluator": self.name,
            "version": self.version,
            "params_hash": params_hash(self.params()),
            "raw": json.dumps({"order1": g1.raw, "order2": g2.raw}, ensure_ascii=False),
            "latency_ms": g1.latency_ms + g2.latency_ms,
            "tokens": g1.tokens + g2.tokens,
            "cost": None if g1.cost is None or g2.cost is None else g1.cost + g2.cost,
        }
        if g1.value is None or g2.value is None:
            errors = [f"order{i}: {g.error}" for i, g in ((1, g1), (2, g2)) if g.value is None]
            return Verdict(status="error", error="; ".join(errors), **common)
        return Verdict(status="ok", **combine(g1.value, SWAP[g2.value]), **common)


def combine(order1: str, order2: str) -> dict[str, Any]:
    """Label, score and scores of a pair from each order's winner (both in A/B terms)."""
    consistent = order1 == order2
    final = order1 if consistent else "tie"
    return {
        "label": LABELS[final],
        "score": SCORES[final],
        "scores": {"order1": order1, "order2": order2, "consistent": consistent, "winner": final},
        "rationale": None if consistent else "the two orders disagree: counted as a tie",
    }


def is_pairwise(verdict: Verdict) -> bool:
    """A verdict written by `PairwiseJudge` (its scores hold both orders)."""
    return "order1" in verdict.scores and "order2" in verdict.scores


def _ok(verdicts: Sequence[Verdict]) -> list[Verdict]:
    return [v for v in verdicts if v.status == "ok" and is_pairwise(v)]


def _rate(hits: Sequence[bool]) -> float:
    return float(np.mean(hits)) if len(hits) else float("nan")


def position_consistency(verdicts: Sequence[Verdict]) -> float:
    """Share of judged pairs whose two orders agree (NaN when none was judged)."""
    return _rate([bool(v.scores["consistent"]) for v in _ok(verdicts)])


def first_position_wins(verdicts: Sequence[Verdict], consistent: bool | None = None) -> list[bool]:
    """For each decisive game (a winner, not a tie): did the answer shown first win? `consistent`
    keeps only consistent (True) or inconsistent (False) pairs."""
    wins = []
    for v in _ok(verdicts):
        if consistent is not None and bool(v.scores["consistent"]) != consistent:
            continue
        # order1 shows A first; order2 shows B first (both winners are stored in A/B terms)
        for winner, first_is in ((v.scores["order1"], "A"), (v.scores["order2"], "B")):
            if winner != "tie":
                wins.append(winner == first_is)
    return wins


def first_position_rate(verdicts: Sequence[Verdict]) -> float:
    """Share of all decisive games won by the first-shown answer (0.5 = no position preference)."""
    return _rate(first_position_wins(verdicts))


def position_bias(verdicts: Sequence[Verdict]) -> float:
    """Among inconsistent pairs, the share of decisive games won by the first position (0.5 = none)."""
    return _rate(first_position_wins(verdicts, consistent=False))


def a_win_rate_consistent(verdicts: Sequence[Verdict]) -> float:
    """Among consistent pairs with a winner, the share won by A (the stored `model_output`)."""
    return _rate([v.label == 1 for v in _ok(verdicts) if v.scores["consistent"] and v.label is not None])


def _sessions_for(verdicts: Sequence[Verdict], sessions: Sequence[Session]) -> list[Session | None]:
    by_id = {s.id: s for s in sessions if s.id is not None}
    return [
        by_id.get(v.session_id) if v.session_id is not None else (sessions[i] if i < len(sessions) else None)
        for i, v in enumerate(verdicts)
    ]


def longer_wins(winners: Sequence[str | None], sessions: Sequence[Session | None]) -> list[bool]:
    """For each decided pair ('A' or 'B') of unequal lengths: did the longer answer win?"""
    hits = []
    for winner, session in zip(winners, sessions, strict=True):
        if winner not in ("A", "B") or session is None:
            continue
        len_a, len_b = len(session.model_output), len(session.output_b or "")
        if len_a != len_b:
            hits.append((winner == "A") == (len_a > len_b))
    return hits


def winner_of(verdict: Verdict) -> str | None:
    """'A', 'B' or None (tie, error, not pairwise)."""
    if verdict.status != "ok" or verdict.label is None:
        return None
    return "A" if verdict.label == 1 else "B"


def longer_preferred(verdicts: Sequence[Verdict], sessions: Sequence[Session]) -> float:
    """Share of decided pairs (unequal lengths) where the judge picked the longer answer (0.5 = none)."""
    return _rate(longer_wins([winner_of(v) for v in verdicts], _sessions_for(verdicts, sessions)))


def length_bias(verdicts: Sequence[Verdict], sessions: Sequence[Session]) -> float:
    """Pearson correlation of 'A won' with len(A) - len(B) over decided pairs (NaN if undefined)."""
    xs, ys = [], []
    for v, session in zip(verdicts, _sessions_for(verdicts, sessions), strict=True):
        if v.status != "ok" or v.label is None or session is None:
            continue
        xs.append(len(session.model_output) - len(session.output_b or ""))
        ys.append(v.label)
    return stats.pearson(xs, ys)


def bias_report(verdicts: Sequence[Verdict], sessions: Sequence[Session]) -> dict[str, Any]:
    ok = _ok(verdicts)
    return {
        "n": len(verdicts),
        "n_error": sum(v.status == "error" for v in verdicts),
        "n_tie": sum(v.label is None for v in ok),
        "position_consistency": position_consistency(verdicts),
        "first_position_rate": first_position_rate(verdicts),
        "position_bias": position_bias(verdicts),
        "a_win_rate_consistent": a_win_rate_consistent(verdicts),
        "longer_preferred": longer_preferred(verdicts, sessions),
        "length_bias": length_bias(verdicts, sessions),
    }
