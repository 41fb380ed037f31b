"""Programmatic checks: a pass and a fail for each, their reasons, and clear errors on bad parameters."""

from __future__ import annotations

from typing import Any

import pytest

from judgeloop.errors import InvalidInput
from judgeloop.evaluators.checks import Check, available_checks, make_check, register_check
from judgeloop.types import Session

FACTORIAL = """Here is the function:

```python
def factorial(n):
    if n <= 1:
        return 1
    return n * factorial(n - 1)
```
"""


def run(name: str, output: str, **params: Any) -> tuple[int | None, str]:
    verdict = make_check(name, **params).evaluate([Session(id="s", model_input="q", model_output=output)])[0]
    assert verdict.evaluator == name and verdict.status == "ok" and verdict.session_id == "s"
    assert verdict.score == float(verdict.label or 0)
    return verdict.label, verdict.rationale or ""


@pytest.mark.parametrize(
    ("name", "params", "output", "label", "why"),
    [
        ("contains", {"values": ["refund", "order"]}, "Your REFUND for the order is on its way.", 1, "all 2"),
        ("contains", {"values": ["refund", "order"]}, "Your refund is on its way.", 0, "missing ['order']"),
        ("contains", {"values": "Refund", "case_sensitive": True}, "your refund", 0, "missing"),
        ("contains", {"values": ["x", "way"], "mode": "any"}, "on its way", 1, "contains 'way'"),
        ("contains", {"values": ["cat", "dog"], "mode": "any"}, "on its way", 0, "none of"),
        ("regex", {"pattern": r"order #\d+"}, "See order #123.", 1, "'order #123'"),
        ("regex", {"pattern": r"order #\d+"}, "See your order.", 0, "no match"),
        ("regex", {"pattern": r"sorry", "ignore_case": True, "must_match": False}, "Sorry!", 0, "matches"),
        ("regex", {"pattern": r"\d+", "fullmatch": True}, "42 apples", 0, "no match"),
        ("json_valid", {}, '{"a": [1, 2]}', 1, "valid JSON (dict)"),
        ("json_valid", {}, "Sure:\n```json\n[1, 2]\n```", 1, "valid JSON (list)"),
        ("json_valid", {"allow_fence": False}, "Sure:\n```json\n[1, 2]\n```", 0, "not valid JSON"),
        ("json_valid", {}, '{"a": 1,}', 0, "line 1 column 9"),
        ("word_count", {"min_words": 3, "max_words": 5}, "one two three four", 1, "4 words"),
        ("word_count", {"max_words": 3}, "one two three four", 0, "more than the maximum 3"),
        ("word_count", {"min_words": 5}, "one two three four", 0, "fewer than the minimum 5"),
        ("bullet_count", {"min_bullets": 3}, "Steps:\n- a\n* b\n• c\n1. d\n  2) e\n", 1, "5 bullet lines"),
        ("bullet_count", {"min_bullets": 1}, "**Bold** text\n-5 degrees\n1.5 litres\n", 0, "0 bullet lines"),
        ("bullet_count", {"max_bullets": 1}, "- a\n- b\n", 0, "2 bullet lines"),
        ("code_parses", {}, FACTORIAL, 1, "parses"),
        ("code_parses", {}, "x = (1,\ny = 2", 0, "SyntaxError at line 1"),
        ("code_parses", {}, "```python\ndef f(:\n    pass\n```", 0, "SyntaxError"),
        ("code_parses", {}, "```\nprint('untagged')\n```", 1, "parses"),
        ("code_parses", {}, "", 0, "no Python code"),
        ("python_defines", {"function": "factorial"}, FACTORIAL, 1, "with a return statement"),
        ("python_defines", {"function": "fact"}, FACTORIAL, 0, "no function named 'fact'"),
        ("python_defines", {"function": "f"}, "def f(n):\n    print(n)\n", 0, "never returns a value"),
        (
            "python_defines",
            {"function": "f"},
            "def f(n):\n    def g():\n        return 1\n    g()\n",
            0,
            "never returns",
        ),
        ("python_defines", {"function": "f"}, "def f(n):\n    if n:\n        return\n", 0, "never returns"),
        ("python_defines", {"function": "f", "require_return": False}, "def f(): pass", 1, "defines f()"),
        ("python_defines", {"function": "f"}, "def f(:", 0, "SyntaxError"),
    ],
)
def test_check(name: str, params: dict[str, Any], output: str, label: int, why: str) -> None:
    got, rationale = run(name, output, **params)
    assert got == label, rationale
    assert why in rationale


SCHEMA = {
    "type": "object",
    "required": ["intent", "items"],
    "properties": {
        "intent": {"type": "string", "enum": ["refund", "exchange"]},
        "items": {"type": "array", "items": {"type": "integer"}},
        "note": {"type": ["string", "null"]},
    },
    "additionalProperties": False,
}


@pytest.mark.parametrize(
    ("output", "label", "why"),
    [
        ('{"intent": "refund", "items": [1, 2], "note": null}', 1, "matching the schema"),
        ('```json\n{"intent": "exchange", "items": []}\n```', 1, "matching the schema"),
        ('{"intent": "refund"}', 0, "missing required key 'items'"),
        ('{"intent": "cancel", "items": [1]}', 0, "$.intent: 'cancel' is not one of"),
        ('{"intent": "refund", "items": [1, "2"]}', 0, "$.items[1]: expected integer, got str"),
        ('{"intent": "refund", "items": [true]}', 0, "expected integer, got bool"),
        ('{"intent": "refund", "items": [], "extra": 1}', 0, "unexpected key 'extra'"),
        ('[{"intent": "refund"}]', 0, "$: expected object, got list"),
        ("intent: refund", 0, "not valid JSON"),
        ('{"items": 3}', 0, "(and 1 more)"),
    ],
)
def test_json_schema(output: str, label: int, why: str) -> None:
    got, rationale = run("json_schema", output, schema=SCHEMA)
    assert got == label, rationale
    assert why in rationale


# --- parameters -----------------------------------------------------------------------------------------


def test_bad_regex_message() -> None:
    with pytest.raises(InvalidInput) as info:
        make_check("regex", pattern="(")
    assert str(info.value) == (
        "The 'pattern' parameter of regex must be a valid regular expression. Got '(' instead."
    )


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("nope", {}, "There is no check named 'nope'. Available: bullet_count, code_parses"),
        ("regex", {"patern": "x"}, "The regex check has no parameter 'patern'. Its parameters are: pattern"),
        ("regex", {}, "The regex check needs the parameter 'pattern'."),
        ("regex", {"pattern": "x", "ignore_case": "yes"}, "'ignore_case' parameter of regex must be true"),
        ("contains", {"values": []}, "'values' parameter of contains must be a non-empty string"),
        (
            "contains",
            {"values": ["a"], "mode": "some"},
            "'mode' parameter of contains must be 'all' or 'any'",
        ),
        ("word_count", {}, "The word_count check needs 'min_words', 'max_words' or both."),
        ("word_count", {"min_words": -1}, "must be a non-negative integer. Got -1"),
        ("word_count", {"min_words": 10, "max_words": 5}, "must be at most max_words (5). Got 10"),
        ("bullet_count", {"max_bullets": 2.5}, "'max_bullets' parameter of bullet_count"),
        ("json_schema", {"schema": "object"}, "must be a JSON schema object"),
        ("json_schema", {"schema": {"type": "text"}}, "JSON types only"),
        ("json_schema", {"schema": {"properties": {"a": {"minLength": 2}}}}, "'minLength' at schema.prop"),
        ("python_defines", {"function": "my func"}, "must be a Python identifier. Got 'my func'"),
        ("code_parses", {"language": "rust"}, "Its parameters are: (none)"),
    ],
)
def test_bad_parameters(name: str, params: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInput) as info:
        make_check(name, **params)
    assert message in str(info.value)


def test_registry() -> None:
    assert available_checks() == [
        "bullet_count",
        "code_parses",
        "contains",
        "json_schema",
        "json_valid",
        "python_defines",
        "regex",
        "word_count",
    ]

    @register_check("test_always_passes")
    class AlwaysPasses(Check):
        def check(self, output: str) -> tuple[bool, str]:
            return True, "always"

    try:
        assert run("test_always_passes", "x") == (1, "always")
        with pytest.raises(ValueError, match="already registered"):
            register_check("test_always_passes")(AlwaysPasses)
    finally:
        from judgeloop.evaluators import checks

        checks._CHECKS.pop("test_always_passes")


def test_params_hash_depends_on_parameters() -> None:
    a, b = make_check("regex", pattern="a"), make_check("regex", pattern="b")
    assert a.params == {"pattern": "a", "ignore_case": False, "fullmatch": False, "must_match": True}
    assert a.params_hash != b.params_hash
    assert a.params_hash == make_check("regex", pattern="a").params_hash
