"""`PairwiseJudge`: which of two outputs is better, asked in both orders (as FastChat's MT-Bench does).

Each pair is judged as (A, B) and again as (B, A). When the two games agree the pair gets that winner;
when they disagree the pair is a tie ("inconsistent" in FastChat, counted as a tie). A verdict's label
is 1 (A, the session's `model_output`), 0 (B, its `output_b`) or None (tie); `scores` holds each
order's winner in A/B terms and whether they agreed. `position_consistency`, `position_bias` and
`length_bias` measure the judge itself.
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
        system: str = PAIR_SYSTEM,
        template: str = PAIR_TEMPLATE,
        delimit: bool = True,
        max_tokens: int = 512,
        temperature: float = 0.0,
        seed: int | None = None,
        repair: bool = True,
        name: str = "judge:pairwise",
    ) -> None:
        self.client = client
        self.system = system
        self.template = template
        self.delimit = delimit
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.seed = seed
        self.repair = repair
        self.name = name
        self._runner: Runner | None = None

    @classmethod
    def from_mt_bench(cls, client: LLMClient, templates_path: str | Path, name: str = "pair-v2", **kw: Any):
        """The judge with one of MT-Bench's pairwise prompts (`pair-v2`, `pair-math-v1`) from its JSONL."""
        from judgeloop.judging.mtbench import load_judge_prompts

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
        return f"1+{self.runner.model}"

    def params(self) -> dict[str, Any]:
        keys = ("system", "template", "delimit", "max_tokens", "temperature", "seed", "repair")
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
        return ask(
            self.runner,
            self.messages(question, first, second),
            parse_pairwise,
            _repair if self.repair else None,
            max_tokens=self.max_tokens,
            temperature=self.temperature,
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


def _ok(verdicts: Sequence[Verdict]) -> list[Verdict]:
    return [v for v in verdicts if v.status == "ok" and "order1" in v.scores]


def position_consistency(verdicts: Sequence[Verdict]) -> float:
    """Share of judged pairs whose two orders agree (NaN when none was judged)."""
    ok = _ok(verdicts)
    return float(np.mean([bool(v.scores["consistent"]) for v in ok])) if ok else float("nan")


def position_bias(verdicts: Sequence[Verdict]) -> float:
    """Among inconsistent pairs, the share of decisive games won by the first position (0.5 = none)."""
    first = decisive = 0
    for v in _ok(verdicts):
        if v.scores["consistent"]:
            continue
        for winner, first_is in ((v.scores["order1"], "A"), (v.scores["order2"], "B")):
            if winner != "tie":
                decisive += 1
                first += winner == first_is
    return first / decisive if decisive else float("nan")


def length_bias(verdicts: Sequence[Verdict], sessions: Sequence[Session]) -> float:
    """Pearson correlation of 'A won' with len(A) - len(B) over decided pairs (NaN if undefined)."""
    by_id = {s.id: s for s in sessions}
    xs, ys = [], []
    for i, v in enumerate(verdicts):
        session = by_id.get(v.session_id) if v.session_id is not None else sessions[i]
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
        "position_bias": position_bias(verdicts),
        "length_bias": length_bias(verdicts, sessions),
    }
