"""Reference metrics: how close a session's output is to its reference answer (`Session.reference`).

One evaluator class per metric family, each with `name`, `version` and `evaluate(sessions)`:

- `RougeEvaluator`: ROUGE-1/2/L F-measure (rouge-score, Porter stemmer), 0-1. Its tokenizer keeps only
  ASCII letters and digits, so text in other scripts scores 0.
- `BleuEvaluator`: sentence BLEU (sacrebleu, exp smoothing, effective order), 0-100.
- `ChrfEvaluator`: sentence chrF (sacrebleu), 0-100.
- `EmbeddingSimilarityEvaluator`: cosine similarity of MiniLM sentence embeddings, -1-1.

A session without a reference gets a verdict with status "abstain" (not applicable, the rule IFEval
follows for a prompt without instructions) and error "no reference"; it is never dropped, so verdicts
line up one to one with the sessions, and it is not counted as an error.
"""

from __future__ import annotations

import functools
import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from judgeloop.errors import InvalidInput
from judgeloop.types import Session, Verdict

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

REFERENCE_CAUTION = (
    "Reference metrics reward wording overlap with the reference answer, not helpfulness or correctness: "
    "a correct answer in other words can score low, and a wrong one that copies the reference's wording "
    "can score high. Use them as a cheap signal next to human labels, not instead of them."
)
NO_REFERENCE = "no reference"
ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")


def params_hash(params: dict[str, Any]) -> str:
    """A short stable hash of an evaluator's parameters."""
    return hashlib.sha256(json.dumps(params, sort_keys=True).encode("utf-8")).hexdigest()[:16]


def has_reference(session: Session) -> bool:
    return session.reference is not None and session.reference.strip() != ""


# --- sentence- and corpus-level metric functions ----------------------------------------------------


@functools.lru_cache(maxsize=2)
def _rouge_scorer(use_stemmer: bool) -> Any:
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(list(ROUGE_TYPES), use_stemmer=use_stemmer)


def rouge_scores(output: str, reference: str, use_stemmer: bool = True) -> dict[str, float]:
    """ROUGE-1, ROUGE-2 and ROUGE-L F-measure of `output` against `reference` (0-1)."""
    scores = _rouge_scorer(use_stemmer).score(reference, output)
    return {name: float(scores[name].fmeasure) for name in ROUGE_TYPES}


def sentence_bleu(output: str, reference: str) -> float:
    """Sentence-level BLEU (sacrebleu defaults: 13a tokenizer, exp smoothing), 0-100."""
    import sacrebleu

    return float(sacrebleu.sentence_bleu(output, [reference]).score)


def sentence_chrf(output: str, reference: str) -> float:
    """Sentence-level chrF (sacrebleu defaults: character 6-grams, beta 2), 0-100."""
    import sacrebleu

    return float(sacrebleu.sentence_chrf(output, [reference]).score)


def _check_parallel(outputs: Sequence[str], references: Sequence[str]) -> None:
    if len(outputs) != len(references):
        raise InvalidInput(
            f"got {len(outputs)} outputs and {len(references)} references",
            expected="one reference per output",
        )
    if not outputs:
        raise InvalidInput("no outputs to score", expected="at least one output")


def corpus_bleu(outputs: Sequence[str], references: Sequence[str]) -> float:
    """Corpus-level BLEU of outputs against one reference each, 0-100."""
    import sacrebleu

    _check_parallel(outputs, references)
    return float(sacrebleu.corpus_bleu(list(outputs), [list(references)]).score)


def corpus_chrf(outputs: Sequence[str], references: Sequence[str]) -> float:
    """Corpus-level chrF of outputs against one reference each, 0-100."""
    import sacrebleu

    _check_parallel(outputs, references)
    return float(sacrebleu.corpus_chrf(list(outputs), [list(references)]).score)


@functools.lru_cache(maxsize=2)
def load_encoder(path: str | None = None) -> SentenceTransformer:
    """The sentence encoder (default: the bundled MiniLM-L6), loaded on CPU once per process."""
    from sentence_transformers import SentenceTransformer

    from judgeloop.assets import default_encoder_path

    model_path = Path(path) if path else default_encoder_path()
    if not model_path.exists():
        raise InvalidInput("no sentence-transformers model at this path", file=str(model_path))
    return SentenceTransformer(str(model_path), device="cpu")


def embedding_similarity(
    outputs: Sequence[str], references: Sequence[str], encoder_path: str | None = None, batch_size: int = 32
) -> list[float]:
    """Cosine similarity of each output's embedding with its reference's embedding."""
    import numpy as np

    _check_parallel(outputs, references)
    encoder = load_encoder(encoder_path)
    texts = list(outputs) + list(references)
    vectors = np.asarray(encoder.encode(texts, batch_size=batch_size, normalize_embeddings=True))
    out_vecs, ref_vecs = vectors[: len(outputs)], vectors[len(outputs) :]
    return [float(v) for v in np.sum(out_vecs * ref_vecs, axis=1)]


# --- evaluators -------------------------------------------------------------------------------------


class ReferenceEvaluator(ABC):
    """Scores each session's output against its reference; subclasses give the metric family."""

    name: ClassVar[str]
    version: ClassVar[str] = "1"
    caution: ClassVar[str] = REFERENCE_CAUTION

    @property
    @abstractmethod
    def primary(self) -> str:
        """The sub-metric reported as Verdict.score."""

    @property
    def params(self) -> dict[str, Any]:
        return {"primary": self.primary}

    @abstractmethod
    def score_pairs(self, outputs: Sequence[str], references: Sequence[str]) -> list[dict[str, float]]:
        """Sub-metric values for each (output, reference) pair."""

    def evaluate(self, sessions: Sequence[Session]) -> list[Verdict]:
        """One verdict per session, in order; a session without a reference gets status 'abstain' (the
        metric does not apply to it, as IFEval does not apply to a prompt without instructions)."""
        scored = [s for s in sessions if has_reference(s)]
        outputs, references = [s.model_output for s in scored], [str(s.reference) for s in scored]
        values = iter(self.score_pairs(outputs, references) if scored else [])
        return [self._verdict(s, next(values) if has_reference(s) else None) for s in sessions]

    def _verdict(self, session: Session, scores: dict[str, float] | None) -> Verdict:
        common: dict[str, Any] = {
            "session_id": session.id,
            "evaluator": self.name,
            "version": self.version,
            "params_hash": params_hash(self.params),
        }
        if scores is None:
            return Verdict(**common, status="abstain", error=NO_REFERENCE)
        return Verdict(**common, score=scores[self.primary], scores=scores)


class RougeEvaluator(ReferenceEvaluator):
    """ROUGE-1/2/L F-measure; Verdict.score is `metric` (default ROUGE-L)."""

    name = "rouge"

    def __init__(self, metric: str = "rougeL", use_stemmer: bool = True) -> None:
        if metric not in ROUGE_TYPES:
            raise InvalidInput(
                f"The 'metric' parameter of rouge must be one of {', '.join(ROUGE_TYPES)}. "
                f"Got {metric!r} instead."
            )
        self.metric, self.use_stemmer = metric, use_stemmer

    @property
    def primary(self) -> str:
        return self.metric

    @property
    def params(self) -> dict[str, Any]:
        return {"primary": self.metric, "use_stemmer": self.use_stemmer}

    def score_pairs(self, outputs: Sequence[str], references: Sequence[str]) -> list[dict[str, float]]:
        return [rouge_scores(o, r, self.use_stemmer) for o, r in zip(outputs, references, strict=True)]


class BleuEvaluator(ReferenceEvaluator):
    """Sentence BLEU, 0-100."""

    name = "bleu"
    primary = "bleu"

    def score_pairs(self, outputs: Sequence[str], references: Sequence[str]) -> list[dict[str, float]]:
        return [{"bleu": sentence_bleu(o, r)} for o, r in zip(outputs, references, strict=True)]


class ChrfEvaluator(ReferenceEvaluator):
    """Sentence chrF, 0-100."""

    name = "chrf"
    primary = "chrf"

    def score_pairs(self, outputs: Sequence[str], references: Sequence[str]) -> list[dict[str, float]]:
        return [{"chrf": sentence_chrf(o, r)} for o, r in zip(outputs, references, strict=True)]


class EmbeddingSimilarityEvaluator(ReferenceEvaluator):
    """Cosine similarity of sentence embeddings (bundled MiniLM-L6 unless `encoder_path` is given)."""

    name = "embedding_similarity"
    primary = "cosine"

    def __init__(self, encoder_path: str | Path | None = None, batch_size: int = 32) -> None:
        self.encoder_path = str(encoder_path) if encoder_path else None
        self.batch_size = batch_size

    @property
    def params(self) -> dict[str, Any]:
        return {"primary": self.primary, "encoder": self.encoder_path or "bundled-minilm-l6"}

    def score_pairs(self, outputs: Sequence[str], references: Sequence[str]) -> list[dict[str, float]]:
        sims = embedding_similarity(outputs, references, self.encoder_path, self.batch_size)
        return [{"cosine": s} for s in sims]


REFERENCE_EVALUATORS: dict[str, type[ReferenceEvaluator]] = {
    cls.name: cls for cls in (RougeEvaluator, BleuEvaluator, ChrfEvaluator, EmbeddingSimilarityEvaluator)
}
