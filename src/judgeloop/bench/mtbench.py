"""MT-Bench (Zheng et al. 2023, arXiv 2306.05685): two-turn questions, 1-10 single-answer grading.

    judgeloop generate --model M --prompts mt_bench/question.jsonl --out answers.jsonl   # both turns
    judgeloop bench mtbench --answers answers.jsonl --judge-model gpt-4o --questions mt_bench/question.jsonl

As FastChat grades it (`gen_judgment.py --mode single`): turn 1 with `single-v1`, turn 2 with
`single-v1-multi-turn` (the whole conversation, the judge rates the second answer); questions of the
math, reasoning and coding categories are graded against the reference answers with the `-math-`
templates. The score is the mean rating over every graded turn; turn 1 and turn 2 are also reported
alone, and per category. A turn whose rating cannot be read (after one repair) is an error: counted,
listed, and left out of the means, as FastChat leaves out its -1 ratings.

Answers are read from `judgeloop generate`'s output ({id, turns, responses, category, ...}) or from
FastChat's model_answer JSONL ({question_id, choices: [{turns: [...]}]}).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from judgeloop import stats
from judgeloop.bench.mtbench_judge import JudgePrompt, MTBenchJudge
from judgeloop.errors import InvalidInput
from judgeloop.io import read_records
from judgeloop.judging.calls import fill
from judgeloop.llm.base import LLMClient, Message
from judgeloop.types import Session, Verdict

REFERENCE_CATEGORIES = ("math", "reasoning", "coding", "arena-hard-200")  # FastChat's NEED_REF_CATS
JUDGE_PROMPTS_FILE = "judge_prompts.jsonl"
REFERENCE_FILE = Path("reference_answer") / "gpt-4.jsonl"


@dataclass(frozen=True)
class Question:
    id: str
    category: str
    turns: list[str]


# --- reading ---------------------------------------------------------------------------------------


def _qid(record: dict[str, Any], file: str, row: int, keys: Sequence[str] = ("question_id", "id")) -> str:
    for key in keys:
        if record.get(key) not in (None, ""):
            return str(record[key])
    raise InvalidInput("no question id", file=file, row=row, field=keys[0], expected="a question id")


def _texts(value: Any, file: str, row: int, name: str) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(t, str) for t in value):
        raise InvalidInput(
            "not a list of texts", file=file, row=row, field=name, expected="a list of strings"
        )
    return list(value)


def load_questions(path: str | Path) -> dict[str, Question]:
    """MT-Bench's question.jsonl: {question_id, category, turns}."""
    file = str(path)
    out: dict[str, Question] = {}
    for row, record in enumerate(read_records(path), start=1):
        qid = _qid(record, file, row)
        if qid in out:
            raise InvalidInput(f"duplicate question id {qid}", file=file, row=row, field="question_id")
        category = record.get("category")
        if not isinstance(category, str) or not category:
            raise InvalidInput(
                "no category", file=file, row=row, field="category", expected="a category name"
            )
        out[qid] = Question(qid, category, _texts(record.get("turns"), file, row, "turns"))
    return out


def _answer_turns(record: dict[str, Any], file: str, row: int) -> list[str]:
    choices = record.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        return _texts(choices[0].get("turns"), file, row, "choices[0].turns")
    if "responses" in record:
        return _texts(record["responses"], file, row, "responses")
    if isinstance(record.get("response"), str):
        return [record["response"]]
    raise InvalidInput(
        "no answer", file=file, row=row, field="responses", expected="'responses', 'response' or 'choices'"
    )


def load_answers(path: str | Path) -> tuple[dict[str, list[str]], dict[str, Question]]:
    """(question id -> answer turns, the questions embedded in the file when it carries them)."""
    file = str(path)
    answers: dict[str, list[str]] = {}
    embedded: dict[str, Question] = {}
    for row, record in enumerate(read_records(path), start=1):
        qid = _qid(record, file, row)
        answers[qid] = _answer_turns(record, file, row)  # a repeated id: the last answer wins
        turns, category = record.get("turns"), record.get("category")
        if isinstance(turns, list) and turns and isinstance(category, str) and category:
            embedded[qid] = Question(qid, category, _texts(turns, file, row, "turns"))
    return answers, embedded


def load_references(path: str | Path) -> dict[str, list[str]]:
    """Reference answers in FastChat's model_answer format (reference_answer/gpt-4.jsonl)."""
    answers, _ = load_answers(path)
    return answers


# --- grading ---------------------------------------------------------------------------------------


class SecondTurnJudge(MTBenchJudge):
    """The turn-2 judge: the whole two-turn conversation in FastChat's `-multi-turn` templates."""

    def messages(self, session: Session) -> list[Message]:
        values: dict[str, str] = session.metadata["conversation"]
        prompt = self.prompts[self.math if "ref_answer_2" in values else self.general]
        user = fill(prompt.prompt_template, values)
        return [{"role": "system", "content": prompt.system_prompt}, {"role": "user", "content": user}]


@dataclass
class TurnItem:
    question: Question
    turn: int  # 1 or 2
    session: Session


@dataclass
class MTBenchResult:
    judge: str
    rows: list[dict[str, Any]]
    missing_answers: list[str] = field(default_factory=list)
    missing_references: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        ok = [r for r in self.rows if r["status"] == "ok"]

        def mean(rows: list[dict[str, Any]]) -> float | None:
            return float(np.mean([r["score"] for r in rows])) if rows else None

        by_category: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for r in ok:
            by_category[r["category"]].append(r)
        ci = stats.bootstrap(np.mean, [r["score"] for r in ok]).as_dict() if ok else None
        return {
            "score": mean(ok),
            "score_ci": ci,
            "turn_1": mean([r for r in ok if r["turn"] == 1]),
            "turn_2": mean([r for r in ok if r["turn"] == 2]),
            "by_category": {c: mean(rows) for c, rows in sorted(by_category.items())},
            "n_questions": len({r["question_id"] for r in self.rows}),
            "n_turns": len(self.rows),
            "n_graded": len(ok),
            "n_errors": len(self.rows) - len(ok),
            "judge": self.judge,
            "missing_answers": self.missing_answers,
            "missing_references": self.missing_references,
            "rows": self.rows,
        }


def build_items(
    questions: dict[str, Question],
    answers: dict[str, list[str]],
    references: dict[str, list[str]],
) -> tuple[list[TurnItem], list[str]]:
    """One item per (question, turn) that has an answer; and the reference-category questions graded
    without a reference because none was given for them."""
    items: list[TurnItem] = []
    no_reference: list[str] = []
    for qid, q in questions.items():
        if qid not in answers:
            continue
        ans = answers[qid]
        ref = references.get(qid) if q.category in REFERENCE_CATEGORIES else None
        if q.category in REFERENCE_CATEGORIES and not ref:
            no_reference.append(qid)
        items.append(
            TurnItem(
                q,
                1,
                Session(
                    id=f"{qid}/1",
                    model_input=q.turns[0],
                    model_output=ans[0],
                    reference=ref[0] if ref else None,
                ),
            )
        )
        if len(q.turns) >= 2 and len(ans) >= 2:
            conv = {
                "question_1": q.turns[0],
                "answer_1": ans[0],
                "question_2": q.turns[1],
                "answer_2": ans[1],
            }
            if ref and len(ref) >= 2:
                conv.update(ref_answer_1=ref[0], ref_answer_2=ref[1])
            session = Session(
                id=f"{qid}/2", model_input=q.turns[1], model_output=ans[1], metadata={"conversation": conv}
            )
            items.append(TurnItem(q, 2, session))
    return items, no_reference


def _row(item: TurnItem, verdict: Verdict) -> dict[str, Any]:
    return {
        "question_id": item.question.id,
        "category": item.question.category,
        "turn": item.turn,
        "score": verdict.score,
        "status": verdict.status,
        "error": verdict.error,
        "judgment": verdict.raw,
    }


def grade_mt_bench(
    client: LLMClient,
    prompts: dict[str, JudgePrompt],
    questions: dict[str, Question],
    answers: dict[str, list[str]],
    references: dict[str, list[str]],
    *,
    max_tokens: int = 1024,
    chunk: int = 8,
    on_progress: Callable[[int], None] | None = None,
) -> MTBenchResult:
    """Grade every answered turn of `questions` 1-10 with the judge behind `client`."""
    unknown = sorted(set(answers) - set(questions))
    if unknown:
        raise InvalidInput(
            f"answers for question ids not in the questions: {', '.join(unknown[:10])}",
            field="question_id",
            expected="answers to MT-Bench questions (pass the right --questions)",
        )
    first = MTBenchJudge(client, prompts, max_tokens=max_tokens, name="judge:mt-bench")
    second = SecondTurnJudge(
        client,
        prompts,
        general="single-v1-multi-turn",
        math="single-math-v1-multi-turn",
        max_tokens=max_tokens,
        name="judge:mt-bench",
    )
    items, no_reference = build_items(questions, answers, references)
    rows: list[dict[str, Any]] = []
    for start in range(0, len(items), chunk):
        batch = items[start : start + chunk]
        for turn, judge in ((1, first), (2, second)):
            part = [i for i in batch if i.turn == turn]
            if part:
                verdicts = judge.evaluate([i.session for i in part])
                rows += [_row(i, v) for i, v in zip(part, verdicts, strict=True)]
        if on_progress:
            on_progress(len(batch))
    rows.sort(key=lambda r: (_sort_key(r["question_id"]), r["turn"]))
    missing = [qid for qid in questions if qid not in answers]
    return MTBenchResult(first.version, rows, missing, no_reference)


def _sort_key(qid: str) -> tuple[int, str]:
    return (int(qid), "") if qid.isdigit() else (1 << 62, qid)
