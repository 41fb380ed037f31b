"""`judgeloop bench winrate` (golden figures) and `judgeloop bench mtbench` (two turns, references for math,
reasoning and coding) through the entry point, the judge behind a real OpenAI-compatible HTTP server."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from _llm_support import FakeOpenAI, ThreadServer, chat_body
from judgeloop.bench.mtbench import load_questions

ANNOTATIONS = "alpaca_eval/results/alpaca-7b/weighted_alpaca_eval_gpt4_turbo/annotations.json"


def test_winrate_cli_reproduces_alpaca_7b(shared_datasets, tmp_path, cli):
    out = tmp_path / "winrate.json"
    code, output = cli(["bench", "winrate", "--annotations", shared_datasets / ANNOTATIONS, "--out", out])
    assert code == 0, output
    figures = json.loads(out.read_text("utf-8"))
    assert math.isclose(figures["win_rate"], 2.591450540223603, rel_tol=1e-12)
    assert math.isclose(figures["standard_error"], 0.4870855382635108, rel_tol=1e-12)
    assert "win rate" in output


def test_winrate_cli_bad_file(tmp_path, cli):
    bad = tmp_path / "a.json"
    bad.write_text('[{"instruction": "x"}]', encoding="utf-8")
    code, output = cli(["bench", "winrate", "--annotations", bad])
    assert code == 1 and "a.json" in output


MULTI_TURN = "<|The Start of Assistant A's Conversation with User|>"
REFERENCE = "[The Start of Reference Answer]"


def rate(body: dict[str, Any], n: int) -> tuple[int, dict[str, Any], dict[str, str]]:
    """Turn 2 gets 4, turn 1 with a reference 9, turn 1 without 7; one answer is never rated."""
    user = body["messages"][1]["content"]  # the grading prompt (a repair request comes after it)
    if "UNRATEABLE" in user and MULTI_TURN not in user:
        return 200, chat_body("I cannot rate this."), {}
    if MULTI_TURN in user:
        return 200, chat_body("Weaker follow-up. Rating: [[4]]"), {}
    return 200, chat_body("Rating: [[9]]" if REFERENCE in user else "Good answer.\nRating: [[7]]"), {}


@pytest.fixture
def judge():
    fake = FakeOpenAI(rate)
    with ThreadServer(fake.app) as server:
        yield fake, server


def test_mtbench_cli_two_turns_and_references(shared_datasets, tmp_path, judge, cli):
    fake, server = judge
    folder = shared_datasets / "mt_bench"
    questions = load_questions(folder / "question.jsonl")
    answers = tmp_path / "answers.jsonl"

    def row(qid: str, category: str, responses: list[str]) -> dict[str, Any]:  # judgeloop generate's output
        turns = questions[qid].turns
        return {"id": qid, "question_id": int(qid), "category": category, "turns": turns,
                "responses": responses, "response": responses[0]}  # fmt: skip

    rows = [
        row("81", "writing", ["Aloha from Hawaii!", "A trip. Always amazing."]),
        row("111", "math", ["The area is 3.", "The circle's area is 5 pi."]),
        row("141", "stem", ["UNRATEABLE", "Entanglement links states."]),
    ]
    answers.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    out = tmp_path / "mtbench.json"
    args = ["bench", "mtbench", "--answers", answers, "--judge-model", "fake-judge"]
    args += ["--base-url", server.base_url, "--questions", folder / "question.jsonl", "--out", out]
    code, output = cli(args)
    assert code == 0, output
    result = json.loads(out.read_text("utf-8"))
    assert result["n_questions"] == 3 and result["n_turns"] == 6
    assert (result["n_graded"], result["n_errors"]) == (5, 1)
    assert result["turn_1"] == pytest.approx(8.0) and result["turn_2"] == pytest.approx(4.0)
    assert result["score"] == pytest.approx((7 + 9 + 4 + 4 + 4) / 5)
    assert result["by_category"] == {"math": 6.5, "stem": 4.0, "writing": 5.5}
    assert len(result["missing_answers"]) == 77 and result["missing_references"] == []
    assert "overall" in output and "turn 2" in output
    # the math question was graded against GPT-4's reference answers (both turns), the others without
    math_prompts = [r["messages"][-1]["content"] for r in fake.requests if "(0, 0), (-1, 1)" in str(r)]
    assert len(math_prompts) == 2 and all("Reference answer" in p or REFERENCE in p for p in math_prompts)
    writing = [r for r in fake.requests if "Hawaii" in r["messages"][-1]["content"]]
    assert writing and not any(REFERENCE in r["messages"][-1]["content"] for r in writing)
    error = next(r for r in result["rows"] if r["status"] == "error")
    assert (error["question_id"], error["turn"]) == ("141", 1) and "rating" in error["error"]


def test_mtbench_cli_bad_answers(shared_datasets, tmp_path, cli):
    answers = tmp_path / "answers.jsonl"
    answers.write_text('{"question_id": 81, "choices": [{"turns": "not a list"}]}\n', encoding="utf-8")
    folder = shared_datasets / "mt_bench"
    args = [
        "bench",
        "mtbench",
        "--answers",
        answers,
        "--judge-model",
        "m",
        "--base-url",
        "http://127.0.0.1:9/v1",
    ]
    code, output = cli([*args, "--questions", folder / "question.jsonl"])
    assert code == 1 and "answers.jsonl, row 1, field 'choices[0].turns'" in " ".join(output.split())
    answers.write_text('{"question_id": 9999, "choices": [{"turns": ["a"]}]}\n', encoding="utf-8")
    code, output = cli([*args, "--questions", folder / "question.jsonl"])
    assert code == 1 and "9999" in output


def prefer_winner(body: dict[str, Any], n: int) -> tuple[int, dict[str, Any], dict[str, str]]:
    """Picks the answer that says WINNER (the first one when both do); ERR makes a reply unreadable."""
    user = body["messages"][1]["content"]
    if "ERR" in user:
        return 200, chat_body("no idea"), {}
    a, b = user.split("<<<OUTPUT_B")
    verdict = "A" if "WINNER" in a.split("<<<OUTPUT_A")[1] else "B" if "WINNER" in b else "tie"
    return 200, chat_body(json.dumps({"verdict": verdict})), {}


def test_winrate_cli_judges_model_outputs_against_a_baseline(tmp_path, cli):
    items = ["q1", "q2", "q3", "q4", "q5"]
    model = ["WINNER a", "WINNER b", "plain c", "WINNER d", "ERR e"]
    base = ["plain a", "plain b", "WINNER c", "WINNER d", "plain e"]
    (tmp_path / "model.json").write_text(
        json.dumps(
            [{"instruction": i, "output": o, "generator": "sft"} for i, o in zip(items, model, strict=True)]
        ),
        "utf-8",
    )
    (tmp_path / "base.json").write_text(
        json.dumps(
            [{"instruction": i, "output": o} for i, o in zip(reversed(items), reversed(base), strict=True)]
        ),
        "utf-8",
    )
    fake = FakeOpenAI(prefer_winner)
    with ThreadServer(fake.app) as server:
        code, output = cli(
            ["bench", "winrate", "--model-outputs", tmp_path / "model.json",
             "--baseline", tmp_path / "base.json", "--judge-model", "fake-judge",
             "--base-url", server.base_url, "--concurrency", "2",
             "--annotations-out", tmp_path / "ann.json", "--out", tmp_path / "wr.json"]
        )  # fmt: skip
    assert code == 0, output
    figures = json.loads((tmp_path / "wr.json").read_text("utf-8"))
    # q1, q2 model wins (2); q3 baseline wins (1); q4 both say WINNER: each order picks the first, so the
    # orders disagree -> draw (1.5); q5 unreadable (with the repair retry): missing, not counted
    assert figures["win_rate"] == pytest.approx(100 * (1 + 1 + 0 + 0.5) / 4)
    assert (figures["n_wins"], figures["n_wins_base"], figures["n_draws"], figures["n_missing"]) == (
        2,
        1,
        1,
        1,
    )
    assert figures["n_judge_errors"] == 1
    annotations = json.loads((tmp_path / "ann.json").read_text("utf-8"))
    by_q = {a["instruction"]: a for a in annotations}
    assert by_q["q1"]["output_1"] == "plain a" and by_q["q1"]["output_2"] == "WINNER a"
    assert by_q["q1"]["generator_2"] == "sft" and by_q["q5"]["preference"] is None
    # the judged annotations are AlpacaEval's format: scoring them again gives the same figures
    code, output = cli(
        ["bench", "winrate", "--annotations", tmp_path / "ann.json", "--out", tmp_path / "wr2.json"]
    )
    assert code == 0, output
    assert json.loads((tmp_path / "wr2.json").read_text("utf-8"))["win_rate"] == figures["win_rate"]


def test_winrate_cli_needs_annotations_or_outputs(tmp_path, cli):
    code, output = cli(["bench", "winrate"])
    assert code == 1 and "--model-outputs" in output
    (tmp_path / "model.json").write_text(json.dumps([{"instruction": "q", "output": "o"}]), "utf-8")
    (tmp_path / "base.json").write_text(json.dumps([{"instruction": "other", "output": "o"}]), "utf-8")
    code, output = cli(
        ["bench", "winrate", "--model-outputs", tmp_path / "model.json", "--baseline", tmp_path / "base.json"]
    )
    assert code == 1 and "no model output" in output
