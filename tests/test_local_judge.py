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


@pytest.mark.timeout(1800)
def test_the_converted_gguf_is_kept_whole_and_loads_to_the_same_model(tmp_path, monkeypatch) -> None:
    import torch

    from judgeloop.causal_lm import (
        CONVERTED_MARKER,
        _from_pretrained,
        _keep_converted,
        converted_dir,
        load_causal_lm,
        split_spec,
    )

    lm = load_causal_lm("local")  # de-quantized from the GGUF, or the copy kept in the user's home
    monkeypatch.setenv("JUDGELOOP_HOME", str(tmp_path / "home"))
    target = converted_dir(*split_spec("local"))
    assert target.is_relative_to(tmp_path / "home" / "llm") and not target.exists()
    _keep_converted(lm.model, lm.tokenizer, target)
    assert (target / CONVERTED_MARKER).is_file() and (target / "model.safetensors").is_file()
    assert [p.name for p in target.parent.iterdir()] == [target.name]  # no temporary folder left
    tokenizer, model = _from_pretrained("kept", str(target), None)
    messages = [{"role": "user", "content": "Where is my order?"}]
    ids = lm.tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt")
    ids = ids["input_ids"] if not torch.is_tensor(ids) else ids
    again = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt")
    again = again["input_ids"] if not torch.is_tensor(again) else again
    assert ids.tolist() == again.tolist()  # the same chat template and vocabulary
    with torch.inference_mode():
        assert torch.equal(lm.model(input_ids=ids).logits, model.eval()(input_ids=ids).logits)


def test_a_free_string_stops_when_it_starts_to_repeat_itself() -> None:
    from judgeloop.llm.constrained import REPEAT_SPAN, _loops

    loop = list(range(10)) * 2  # ten tokens, then the same ten again
    assert not any(_loops(loop[:n]) for n in range(10 + REPEAT_SPAN))
    assert _loops(loop[: 10 + REPEAT_SPAN])
    assert not _loops(list(range(40)))
