"""Reading judge outputs: a corpus of realistic, messy answers (tests/data/judge_outputs.jsonl)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from judgeloop.judging.jsonish import extract_objects, loads_lenient
from judgeloop.judging.parse import parse_judgment, parse_pairwise, parse_rating, parse_scores, read_value
from judgeloop.judging.rubric import Criterion, load_rubric

CORPUS = Path(__file__).parent / "data" / "judge_outputs.jsonl"
CASES = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]


def _parse(case: dict) -> tuple[object, str | None]:
    if case["kind"] == "rubric":
        return parse_scores(case["text"], load_rubric(case["rubric"]))
    if case["kind"] == "rating":
        return parse_rating(case["text"])
    return parse_pairwise(case["text"])


def test_corpus_is_big_and_varied():
    assert len(CASES) >= 30
    assert {c["kind"] for c in CASES} == {"rubric", "rating", "pairwise"}
    assert sum(c["error"] is not None for c in CASES) >= 8  # the invalid ones are part of the corpus


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_corpus_case(case):
    got, error = _parse(case)
    if case["error"] is None:
        assert error is None, error
        assert got == case["expected"]
    else:
        assert error is not None and case["error"] in error
        assert not got


def test_rationale_comes_from_the_json_or_the_prose():
    rubric = load_rubric("seed")
    fenced = next(c for c in CASES if c["id"] == "gpt_fenced_json_then_prose")
    assert parse_judgment(fenced["text"], rubric).rationale.startswith(
        "The answer correctly identifies Paris"
    )
    inline = next(c for c in CASES if c["id"] == "inline_json_in_sentence")
    assert "ignores the word limit" in parse_judgment(inline["text"], rubric).rationale


def test_lenient_json_reading():
    assert loads_lenient("{'a': 1, 'b': [1, 2,],}") == {"a": 1, "b": [1, 2]}
    assert loads_lenient('{"a": "cut off') == {"a": "cut off"}
    assert loads_lenient("{a: 1, b: true}") == {"a": 1, "b": True}
    with pytest.raises(ValueError):
        loads_lenient("not json at all")


def test_extract_objects_skips_placeholders_and_keeps_order():
    text = 'format {"x": <1-5>} then {"x": 2} and ```json\n{"x": 3}\n```'
    assert [f.value for f in extract_objects(text)] == [{"x": 2}, {"x": 3}]


@pytest.mark.parametrize(
    ("value", "expected"),
    [(5, 5), ("5", 5), ("5/5", 5), ("5 out of 5", 5), (4.0, 4), (6, None), ("4/10", None), (True, None)],
)
def test_read_value_on_a_1_to_5_scale(value, expected):
    got, error = read_value(Criterion(name="c", description="d", scale="1-5"), value)
    assert got == expected and (error is None) == (expected is not None)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("yes", 1), ("No.", 0), (True, 1), (0, 0), ("Pass", 1), ("maybe", None), (2, None)],
)
def test_read_value_yes_no(value, expected):
    got, _ = read_value(Criterion(name="c", description="d", scale="yes/no"), value)
    assert got == expected


def test_one_criterion_rubric_accepts_mt_bench_rating_and_bare_yes(tmp_path):
    one = tmp_path / "one.yaml"
    one.write_text("name: one\ncriteria: [{name: quality, scale: '1-10', description: q}]\n")
    assert parse_scores("Good answer. Rating: [[8]]", load_rubric(one)) == ({"quality": 8}, None)
    yn = tmp_path / "yn.yaml"
    yn.write_text("name: yn\ncriteria: [{name: ok, scale: 'yes/no', description: q}]\n")
    assert parse_scores("Yes. The answer is fine.", load_rubric(yn)) == ({"ok": 1}, None)
