from __future__ import annotations

import json

import pytest

from judgeloop.errors import InvalidInput
from judgeloop.generation import GenerationConfig, generate_batch, generate_responses, read_prompts


@pytest.fixture(scope="module")
def lm():
    from judgeloop.causal_lm import load_causal_lm

    return load_causal_lm("local")


def test_read_prompts_formats_and_errors(tmp_path):
    p = tmp_path / "p.jsonl"
    p.write_text(
        '{"question_id": 81, "turns": ["a", "b"]}\n{"instruction": "Sum", "input": "1 2"}\n', "utf-8"
    )
    items = read_prompts(p)
    assert [(i.id, i.turns) for i in items] == [("81", ["a", "b"]), ("2", ["Sum\n\n1 2"])]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1, "text": "no prompt field"}\n', "utf-8")
    with pytest.raises(InvalidInput, match="row 1, field 'prompt'"):
        read_prompts(bad)
    with pytest.raises(InvalidInput, match="max_new_tokens"):
        GenerationConfig(max_new_tokens=0)


@pytest.mark.slow
def test_left_padding_batch_matches_single_prompt(lm):
    cfg = GenerationConfig(max_new_tokens=8)
    short, long = "What is 2+2?", "Write one sentence about the history of the city of Paris and its river."
    alone = generate_batch(
        lm,
        [
            lm.tokenizer.apply_chat_template(
                [{"role": "user", "content": short}], tokenize=False, add_generation_prompt=True
            )
        ],
        cfg,
    )
    batched = generate_batch(
        lm,
        [
            lm.tokenizer.apply_chat_template(
                [{"role": "user", "content": t}], tokenize=False, add_generation_prompt=True
            )
            for t in (long, short)
        ],
        cfg,
    )
    assert batched[1] == alone[0]
    assert alone[0] and "assistant" not in alone[0]  # only the new tokens are decoded


@pytest.mark.slow
def test_generate_is_resumable_and_multi_turn(lm, tmp_path):
    prompts = tmp_path / "p.jsonl"
    prompts.write_text(
        '{"id": "a", "prompt": "Say hi."}\n{"id": "b", "turns": ["Name a fruit.", "Another?"]}\n', "utf-8"
    )
    out = tmp_path / "r.jsonl"
    out.write_text(json.dumps({"id": "a", "response": "kept"}) + "\n", "utf-8")  # as if a run stopped here
    result = generate_responses("local", read_prompts(prompts), out, GenerationConfig(max_new_tokens=6))
    assert (result["generated"], result["skipped"]) == (1, 1)
    rows = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    assert [r["id"] for r in rows] == ["a", "b"] and rows[0]["response"] == "kept"
    assert len(rows[1]["responses"]) == 2 and all(rows[1]["responses"])
