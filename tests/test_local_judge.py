"""The bundled local judge (SmolLM2-135M, real weights): constrained JSON, and the prompt-prefix KV
cache that spares the next row's shared system prompt and rubric gives the same verdict as a cold run."""

from __future__ import annotations

import json

import pytest

from judgeloop.judging import load_rubric
from judgeloop.judging.judge import judge_messages
from judgeloop.llm.local import LocalClient
from judgeloop.types import Session

ROWS = [
    Session(
        id="a", model_input="Where is my order?", model_output="It shipped Monday; tracking is in your email."
    ),
    Session(id="b", model_input="Can I return worn jeans?", model_output="Not my problem. Read the website."),
]


@pytest.mark.timeout(1800)  # model load and three calls: minutes on a busy 2-core machine, not a hang
def test_prefix_cache_reuses_the_shared_prompt_and_changes_nothing() -> None:
    rubric = load_rubric("seed")
    schema = rubric.json_schema(True)
    warm = LocalClient("local", max_string_tokens=6)
    first = warm.complete(judge_messages(rubric, ROWS[0]), max_tokens=64, json_schema=schema)
    lm = warm.load()
    second_ids = warm._prompt_ids(lm.tokenizer, judge_messages(rubric, ROWS[1]))
    cache, shared = warm._prefix.lookup(second_ids)
    assert cache is not None and 100 < shared < len(second_ids)  # the system prompt and rubric
    hit = warm.complete(judge_messages(rubric, ROWS[1]), max_tokens=64, json_schema=schema)
    cold = LocalClient("local", max_string_tokens=6, prefix_cache=False)
    miss = cold.complete(judge_messages(rubric, ROWS[1]), max_tokens=64, json_schema=schema)
    assert hit.text == miss.text  # greedy: the same tokens with or without the cached prefix
    for completion in (first, hit):
        verdict = json.loads(completion.text)
        assert set(verdict) == set(schema["properties"])
    assert cold._prefix.cache is None and warm._prefix.ids == second_ids
