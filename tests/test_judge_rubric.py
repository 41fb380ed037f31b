"""Rubrics: the built-in YAML files, the JSON schema they ask for, rendering, and pass/fail rules."""

from __future__ import annotations

import pytest

from judgeloop.errors import InvalidInput
from judgeloop.judging.rubric import Rubric, builtin_rubrics, load_rubric
from judgeloop.llm.constrained import plan_schema


def test_builtin_rubrics_load_and_their_schemas_can_be_enforced():
    names = builtin_rubrics()
    assert {"seed", "helpfulness", "instruction_following", "harmlessness", "truthfulness"} <= set(names)
    for name in names:
        rubric = load_rubric(name)
        schema = rubric.json_schema()
        assert list(schema["properties"])[0] == rubric.rationale_field
        assert schema["required"] == list(schema["properties"])
        assert len(plan_schema(schema)) == len(rubric.criteria) + 1  # the local decoder supports it


def test_seed_rubric_is_the_seed_projects():
    rubric = load_rubric("seed")
    assert [(c.name, c.scale) for c in rubric.criteria] == [
        ("accuracy", "1-5"),
        ("conciseness", "1-5"),
        ("format_compliance", "yes/no"),
    ]
    assert rubric.rationale_field == "justification"
    assert rubric.passes({"accuracy": 4, "conciseness": 1, "format_compliance": 1})
    assert not rubric.passes({"accuracy": 5, "conciseness": 5, "format_compliance": 0})
    assert not rubric.passes({"accuracy": 3, "conciseness": 5, "format_compliance": 1})
    assert rubric.score({"accuracy": 5, "conciseness": 3, "format_compliance": 0}) == pytest.approx(0.5)


def test_render_fills_only_known_placeholders():
    rubric = load_rubric("seed")
    text = rubric.render({"input": "Q {output}", "output": "A {criteria}", "reference": "R"})
    assert "Q {output}" in text and "A {criteria}" in text  # values are not re-expanded
    assert "- accuracy (1-5):" in text
    assert text.rstrip().endswith('"format_compliance": "yes" or "no"}')


def test_rubric_from_a_yaml_file_with_a_mean_rule(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text(
        "name: custom\nversion: 2\ncriteria:\n  - {name: clarity, scale: '1-10', description: clear}\n"
        "template: 'Grade {output} for {input}. {format}'\npass_when: [{criterion: mean, at_least: 0.8}]\n"
    )
    rubric = load_rubric(path)
    assert rubric.version == "2"
    assert rubric.passes({"clarity": 9}) and not rubric.passes({"clarity": 7})
    assert rubric.render({"input": "i", "output": "o", "reference": ""}).startswith("Grade o for i. Reply")


@pytest.mark.parametrize(
    ("yaml_text", "field"),
    [
        ("name: x\ncriteria: []\n", "criteria"),
        ("name: x\ncriteria: [{name: a, scale: '1-7', description: d}]\n", "criteria.0.scale"),
        ("name: x\ncriteria: [{name: a, scale: '1-5', description: d}]\ntemplate: 'no output'\n", None),
        (
            "name: x\ncriteria: [{name: a, scale: '1-5', description: d}]\n"
            "pass_when: [{criterion: b, at_least: 1}]\n",
            None,
        ),
    ],
)
def test_bad_rubrics_are_reported_with_file_and_field(tmp_path, yaml_text, field):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml_text)
    with pytest.raises(InvalidInput) as info:
        load_rubric(path)
    assert str(path) in str(info.value)
    if field:
        assert info.value.field == field


def test_unknown_rubric_name_lists_the_builtins():
    with pytest.raises(InvalidInput, match="seed"):
        load_rubric("no-such-rubric")


def test_rubric_is_typed_config():
    with pytest.raises(ValueError):
        Rubric.model_validate(
            {"name": "x", "criteria": [{"name": "a", "scale": "1-5", "description": "d"}], "x": 1}
        )
