"""Reference metrics against hand-computed values; sessions without a reference are kept as errors."""

from __future__ import annotations

import pytest

from judgeloop.errors import InvalidInput
from judgeloop.evaluators.reference import (
    REFERENCE_CAUTION,
    REFERENCE_EVALUATORS,
    BleuEvaluator,
    ChrfEvaluator,
    EmbeddingSimilarityEvaluator,
    RougeEvaluator,
    corpus_bleu,
    corpus_chrf,
    embedding_similarity,
    rouge_scores,
    sentence_bleu,
    sentence_chrf,
)
from judgeloop.types import Session

SENTENCE = "The quick brown fox jumps over the lazy dog near the river bank."


def _session(sid: str, output: str, reference: str | None) -> Session:
    return Session(id=sid, model_input="q", model_output=output, reference=reference)


def test_identical_text_scores_perfectly() -> None:
    assert rouge_scores(SENTENCE, SENTENCE) == {"rouge1": 1.0, "rouge2": 1.0, "rougeL": 1.0}
    assert sentence_bleu(SENTENCE, SENTENCE) == pytest.approx(100.0)
    assert sentence_chrf(SENTENCE, SENTENCE) == pytest.approx(100.0)
    assert corpus_bleu([SENTENCE, SENTENCE], [SENTENCE, SENTENCE]) == pytest.approx(100.0)
    assert corpus_chrf([SENTENCE], [SENTENCE]) == pytest.approx(100.0)


def test_rouge_by_hand() -> None:
    # reference: the cat is on the mat / output: the cat sat on the mat (6 tokens each)
    scores = rouge_scores("the cat sat on the mat", "the cat is on the mat")
    assert scores["rouge1"] == pytest.approx(5 / 6)  # the x2, cat, on, mat
    assert scores["rouge2"] == pytest.approx(3 / 5)  # the-cat, on-the, the-mat of 5 bigrams
    assert scores["rougeL"] == pytest.approx(5 / 6)  # LCS: the cat on the mat
    # unequal lengths: P = 2/2, R = 2/4, F = 2PR/(P+R) = 2/3
    assert rouge_scores("cat mat", "the cat the mat")["rouge1"] == pytest.approx(2 / 3)


def test_rouge_stemming() -> None:
    assert rouge_scores("cats running", "cat run")["rouge1"] == pytest.approx(1.0)
    assert rouge_scores("cats running", "cat run", use_stemmer=False)["rouge1"] == 0.0


def test_disjoint_text_scores_zero() -> None:
    assert sentence_bleu("alpha beta gamma delta", "one two three four") == 0.0
    assert rouge_scores("alpha beta gamma delta", "one two three four")["rougeL"] == 0.0
    assert sentence_chrf("xyz", "abc") == 0.0


def test_bleu_and_chrf_order_partial_overlap() -> None:
    reference = "the cat sat on the mat today"
    close, far = "the cat sat on the mat", "a dog lay on a rug"
    assert 0 < sentence_bleu(far, reference) < sentence_bleu(close, reference) < 100
    assert sentence_chrf(far, reference) < sentence_chrf(close, reference) < 100


def test_corpus_helpers_check_lengths() -> None:
    with pytest.raises(InvalidInput, match="2 outputs and 1 references"):
        corpus_bleu(["a", "b"], ["a"])
    with pytest.raises(InvalidInput, match="no outputs"):
        corpus_chrf([], [])


@pytest.mark.parametrize("cls", [RougeEvaluator, BleuEvaluator, ChrfEvaluator])
def test_evaluators_keep_sessions_without_reference(cls: type) -> None:
    sessions = [
        _session("a", SENTENCE, SENTENCE),
        _session("b", SENTENCE, None),
        _session("c", "alpha beta gamma delta", "one two three four"),
        _session("d", SENTENCE, "   "),
    ]
    verdicts = cls().evaluate(sessions)
    assert [v.session_id for v in verdicts] == ["a", "b", "c", "d"]
    assert [v.status for v in verdicts] == ["ok", "abstain", "ok", "abstain"]  # not applicable, as IFEval
    assert verdicts[1].error == "no reference" and verdicts[1].score is None
    top = 1.0 if cls is RougeEvaluator else 100.0
    assert verdicts[0].score == pytest.approx(top)
    # no shared word: ROUGE and BLEU are 0; chrF still finds shared characters ('e', 't', 'o', ...)
    if cls is ChrfEvaluator:
        assert 0 < (verdicts[2].score or 0) < 10
    else:
        assert verdicts[2].score == pytest.approx(0.0)
    assert verdicts[0].evaluator == cls.name and verdicts[0].version and verdicts[0].params_hash


def test_rouge_evaluator_sub_metrics_and_choice() -> None:
    session = _session("a", "the cat sat on the mat", "the cat is on the mat")
    verdict = RougeEvaluator(metric="rouge2").evaluate([session])[0]
    assert verdict.score == pytest.approx(0.6)
    assert set(verdict.scores) == {"rouge1", "rouge2", "rougeL"}
    assert verdict.params_hash != RougeEvaluator().evaluate([session])[0].params_hash
    with pytest.raises(InvalidInput, match="'metric' parameter of rouge"):
        RougeEvaluator(metric="rouge3")


def test_no_sessions_or_no_references() -> None:
    assert BleuEvaluator().evaluate([]) == []
    assert [v.status for v in ChrfEvaluator().evaluate([_session("x", "a", None)])] == ["abstain"]


def test_embedding_similarity() -> None:
    sims = embedding_similarity(
        [SENTENCE, "A fast brown fox leaps over a sleepy dog.", "Quarterly revenue rose 4% on cloud sales."],
        [SENTENCE, SENTENCE, SENTENCE],
    )
    assert sims[0] == pytest.approx(1.0, abs=1e-4)
    assert sims[2] < 0.3 < sims[1] < sims[0]


def test_embedding_evaluator() -> None:
    sessions = [_session("a", SENTENCE, SENTENCE), _session("b", SENTENCE, None)]
    verdicts = EmbeddingSimilarityEvaluator().evaluate(sessions)
    assert verdicts[0].score == pytest.approx(1.0, abs=1e-4) and verdicts[0].scores["cosine"]
    assert verdicts[1].status == "abstain" and verdicts[1].error == "no reference"


def test_registry_and_caution() -> None:
    assert set(REFERENCE_EVALUATORS) == {"rouge", "bleu", "chrf", "embedding_similarity"}
    assert "overlap" in REFERENCE_CAUTION and "helpfulness" in REFERENCE_CAUTION
    assert all(cls.caution == REFERENCE_CAUTION for cls in REFERENCE_EVALUATORS.values())
