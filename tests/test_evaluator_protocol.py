"""One conformance test over every evaluator kind: `evaluate(sessions) -> list[Verdict]` (the
Evaluator protocol of judgeloop.evaluators.base), one verdict per session, in order, named after the
evaluator; learned models also keep `predict_proba(pairs)` and agree with their own verdicts."""

from __future__ import annotations

import json

import numpy as np
import pytest

from _server_support import trained_model_dir
from judgeloop.evaluators import checks, reference
from judgeloop.evaluators.base import Evaluator, ProbabilisticEvaluator
from judgeloop.types import Session, Verdict

CHECK_PARAMS = {
    "contains": {"values": ["order"]},
    "regex": {"pattern": r"\d"},
    "word_count": {"min_words": 2},
    "bullet_count": {"max_bullets": 3},
    "json_valid": {},
    "json_schema": {"schema": {"type": "object"}},
    "code_parses": {},
    "python_defines": {"function": "f"},
}
GOOD = json.dumps({"justification": "Correct.", "accuracy": 5, "conciseness": 4, "format_compliance": "yes"})


def _sessions() -> list[Session]:
    return [
        Session(
            id="s1", model_input="Where is my order?", model_output="It ships Monday.", reference="Monday."
        ),
        Session(
            id="s2", model_input="Can I return shoes?", model_output="No.", reference="Yes, within 30 days."
        ),
        Session(
            id="s3",
            model_input="Which is better?",
            model_output="Happy to help: it ships today.",
            output_b="Whatever.",
            reference="It ships today.",
        ),
    ]


def _learned():
    from judgeloop.evaluators.learned import LearnedEvaluator

    return LearnedEvaluator.load(trained_model_dir())


def _cascade():
    from judgeloop.evaluators.cascade import CascadeEvaluator
    from judgeloop.loop.risk import AutomationRule

    rule = AutomationRule(0.9, 0.05, 0.1, 0.5, 0.0, 0.05, 20, 10, 0)
    return CascadeEvaluator([_learned()], [rule], {"name": "cascade", "stages": [{"name": "minilm"}]}, None)


def _kinds():
    from judgeloop.evaluators.pairwise_learned import PointwiseComparator
    from judgeloop.judging import PairwiseJudge, RubricJudge
    from judgeloop.llm.scripted import ScriptedClient

    assert sorted(CHECK_PARAMS) == checks.available_checks()  # a new check joins this test
    kinds = {f"check:{n}": (lambda n=n: checks.make_check(n, **CHECK_PARAMS[n])) for n in CHECK_PARAMS}
    kinds |= {
        "reference:rouge": reference.RougeEvaluator,
        "reference:bleu": reference.BleuEvaluator,
        "reference:chrf": reference.ChrfEvaluator,
        "reference:embedding_similarity": reference.EmbeddingSimilarityEvaluator,
        "judge:rubric": lambda: RubricJudge(ScriptedClient([GOOD] * 3), "seed"),
        "judge:pairwise": lambda: PairwiseJudge(ScriptedClient(["[[A]]"] * 6)),
        "learned": _learned,
        "cascade": _cascade,
        "pairwise:pointwise": lambda: PointwiseComparator(_learned()),
    }
    return kinds


KINDS = _kinds()


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_evaluator_kind_takes_sessions_and_gives_one_verdict_each(kind):
    evaluator = KINDS[kind]()
    assert isinstance(evaluator, Evaluator)
    sessions = _sessions()
    if kind.startswith(("judge:pairwise", "pairwise")):
        sessions = [s for s in sessions if s.output_b is not None]
    verdicts = evaluator.evaluate(sessions)
    assert isinstance(verdicts, list) and all(isinstance(v, Verdict) for v in verdicts)
    assert [v.session_id for v in verdicts] == [s.id for s in sessions]
    assert all(v.evaluator and v.status in ("ok", "error", "abstain") for v in verdicts)
    assert {v.evaluator for v in verdicts} == {evaluator.name} or kind.startswith("check:")


@pytest.mark.parametrize("kind", ["learned", "cascade"])
def test_learned_models_keep_predict_proba_as_the_fast_path(kind):
    evaluator = KINDS[kind]()
    assert isinstance(evaluator, ProbabilisticEvaluator)
    sessions = _sessions()
    probs = evaluator.predict_proba([(s.model_input, s.model_output) for s in sessions])
    verdicts = evaluator.evaluate(sessions)
    assert np.allclose(probs, [v.probability for v in verdicts])
    same = evaluator.evaluate([(s.model_input, s.model_output) for s in sessions], [s.id for s in sessions])
    assert [(v.session_id, v.label) for v in same] == [(v.session_id, v.label) for v in verdicts]
