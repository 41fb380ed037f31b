"""AlpacaEval-style annotations judged by a learned pairwise comparator (no LLM, no API).

The baseline is output_1 (A), the model output_2 (B). The preference is the comparator's expected
score of output_2, 1 + P(B better) + P(tie) / 2, as AlpacaEval's weighted GPT-4 annotator uses its
judge's probability; swapping the two outputs gives exactly 3 - preference.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from judgeloop.bench.winrate import (
    MODEL_OUTPUT_FIELDS,
    _annotation,
    _check_records,
    _pair_by_instruction,
)


def comparator_annotations(
    baseline_outputs: Sequence[Mapping[str, Any]],
    model_outputs: Sequence[Mapping[str, Any]],
    comparator: Any,
    *,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Annotations of `model_outputs` against `baseline_outputs` by a `PairwiseEvaluator` (batched)."""
    baseline = _check_records(list(baseline_outputs), MODEL_OUTPUT_FIELDS, "baseline outputs")
    model = _check_records(list(model_outputs), MODEL_OUTPUT_FIELDS, "model outputs")
    pairs = _pair_by_instruction(baseline, model)[:limit]
    probs = comparator.compare([(b["instruction"], b["output"], m["output"]) for b, m in pairs])
    out = []
    for (base, cand), p in zip(pairs, probs, strict=True):
        preference = float(1.0 + p[1] + 0.5 * p[2])
        extra = {"p_baseline": float(p[0]), "p_model": float(p[1]), "p_tie": float(p[2]), "error": None}
        out.append(_annotation(base, cand, comparator.ref, preference, **extra))
    return out
