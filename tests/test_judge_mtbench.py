"""MT-Bench single-answer grading with FastChat's prompts loaded from the templates file."""

from __future__ import annotations

import pytest

from judgeloop.bench.mtbench_judge import load_judge_prompts, mt_bench_judge
from judgeloop.errors import InvalidInput
from judgeloop.llm import ScriptedClient
from judgeloop.types import Session


@pytest.fixture
def templates(shared_datasets):
    return shared_datasets / "mt_bench" / "judge_prompts.jsonl"


def test_prompts_load_by_name(templates):
    prompts = load_judge_prompts(templates)
    assert {"single-v1", "single-math-v1", "pair-v2"} <= set(prompts)
    assert prompts["single-v1"].output_format == "[[rating]]"


def test_general_and_math_templates_and_ratings(templates):
    client = ScriptedClient(["Helpful and correct.\n\nRating: [[8]]", "Wrong result. Rating: [[2]]"])
    judge = mt_bench_judge(client, templates, pass_at=6)
    plain = Session(id="q1", model_input="Write a haiku.", model_output="Autumn moonlight...")
    math = Session(id="q2", model_input="What is 3*4?", model_output="14", reference="12")
    v1, v2 = judge.evaluate([plain, math])
    assert (v1.score, v1.scores, v1.label) == (8.0, {"rating": 8.0}, 1)
    assert (v2.score, v2.label) == (2.0, 0)
    first, second = (c["messages"][-1]["content"] for c in client.calls)
    assert "[Question]\nWrite a haiku." in first and "Reference Answer" not in first
    assert "[The Start of Reference Answer]\n12\n[The End of Reference Answer]" in second
    assert client.calls[0]["messages"][0]["content"] == "You are a helpful assistant."


def test_missing_rating_is_repaired_once_then_an_error(templates):
    client = ScriptedClient(["Pretty good.", "Still no rating, sorry."])
    [v] = mt_bench_judge(client, templates).evaluate([Session(model_input="q", model_output="a")])
    assert v.status == "error" and v.error == "after one repair: no [[rating]] found"


def test_bad_templates_file(tmp_path):
    with pytest.raises(InvalidInput, match="no such judge prompts file"):
        load_judge_prompts(tmp_path / "missing.jsonl")
    bad = tmp_path / "p.jsonl"
    bad.write_text('{"name": "x"}\n')
    with pytest.raises(InvalidInput, match="row 1"):
        load_judge_prompts(bad)
