"""EvaluatorRef: `name` / `name@version`, parsed in one place."""

from __future__ import annotations

import pytest

from judgeloop import registry
from judgeloop.errors import InvalidInput
from judgeloop.types import EvaluatorRef


def test_parse_keeps_the_version_as_written_and_numbers_it_on_demand():
    assert EvaluatorRef.parse("support@3") == EvaluatorRef("support", "3")
    assert EvaluatorRef.parse("support@3").number == 3
    assert EvaluatorRef.parse("support") == EvaluatorRef("support", None)
    assert EvaluatorRef.parse("support@").version is None
    assert str(EvaluatorRef.parse("support@3")) == "support@3" and str(EvaluatorRef("x")) == "x"
    assert EvaluatorRef.parse(EvaluatorRef("a", "1")) == EvaluatorRef("a", "1")
    assert registry.parse_ref("support@12") == ("support", 12) and registry.parse_ref("s") == ("s", None)


@pytest.mark.parametrize("bad", ["", "@3", "a@1@2"])
def test_bad_references_are_refused(bad):
    with pytest.raises(InvalidInput, match="bad evaluator reference"):
        EvaluatorRef.parse(bad)


def test_a_registry_version_must_be_a_number():
    assert EvaluatorRef.parse("support@v2").version == "v2"  # a verdict's version, as stored
    with pytest.raises(InvalidInput, match="name or name@version"):
        registry.parse_ref("support@v2")
