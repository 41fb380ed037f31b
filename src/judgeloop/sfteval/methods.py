"""Every evaluation method a run applies, each as one `Method`: a verdict per row, in row order.

Methods: programmatic checks (`--checks`), IFEval's checkers (prompts with `instruction_id_list`),
reference metrics (rows with a reference), the LLM judge (`--judge-model`), a learned evaluator
(`--evaluator`). A row a method cannot score gets a verdict with status "error" or "abstain" and the
reason; it is never dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from judgeloop.sfteval.checkspec import NamedCheck
from judgeloop.sfteval.rows import RunRow
from judgeloop.types import Session, Verdict

Advance = Callable[[int], None]


@dataclass
class Method:
    name: str
    kind: str  # check | ifeval | reference | judge | learned
    verdicts: list[Verdict]
    bounds: tuple[float, float]  # the range of Verdict.score
    binary: bool  # the verdict's label (pass/fail) is what the method decides
    scored: bool  # the score carries more than the label (a rank that Spearman can compare)
    description: str
    caution: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _renamed(verdicts: Sequence[Verdict], name: str) -> list[Verdict]:
    return [v.model_copy(update={"evaluator": name}) for v in verdicts]


# --- programmatic checks ---------------------------------------------------------------------------


def check_methods(checks: Sequence[NamedCheck], sessions: Sequence[Session]) -> list[Method]:
    methods = []
    for named in checks:
        verdicts = _renamed(named.check.evaluate(sessions), f"check:{named.name}")
        params = ", ".join(f"{k}={v!r}" for k, v in named.check.params.items())
        methods.append(
            Method(
                f"check:{named.name}",
                "check",
                verdicts,
                (0, 1),
                True,
                False,
                f"programmatic check {named.check.name}({params})",
            )
        )
    if len(methods) > 1:
        methods.append(_all_checks(methods, sessions))
    return methods


def _all_checks(methods: list[Method], sessions: Sequence[Session]) -> Method:
    verdicts = []
    for i, session in enumerate(sessions):
        failed = [(m.name, m.verdicts[i].rationale) for m in methods if m.verdicts[i].label != 1]
        why = "passes every check" if not failed else f"{failed[0][0]}: {failed[0][1]}"
        verdicts.append(
            Verdict(
                session_id=session.id,
                evaluator="check:all",
                version="1",
                label=int(not failed),
                score=float(not failed),
                rationale=why,
            )
        )
    return Method("check:all", "check", verdicts, (0, 1), True, False, "every programmatic check passes")


# --- IFEval ----------------------------------------------------------------------------------------


def ifeval_methods(rows: Sequence[RunRow]) -> list[Method]:
    """Prompt-level strict and loose IFEval verdicts for the rows whose prompt has instructions."""
    from judgeloop.bench.ifeval import IFEvalInput, score_row, summarize

    if not any(r.instructions for r in rows):
        return []
    results = {}
    for n, row in enumerate(rows, start=1):
        if row.instructions:
            item = IFEvalInput(
                n,
                row.turns[-1],
                list(row.instructions["instruction_id_list"]),
                [dict(k) for k in row.instructions["kwargs"]],
            )
            results[row.id] = score_row(item, row.response)
    figures = summarize(list(results.values())).as_dict()
    figures.pop("breakdown")
    methods = []
    for mode in ("strict", "loose"):
        verdicts = []
        for row in rows:
            common: dict[str, Any] = {
                "session_id": row.session_id,
                "evaluator": f"ifeval:{mode}",
                "version": "1",
            }
            result = results.get(row.id)
            if result is None:
                verdicts.append(Verdict(status="abstain", error="no IFEval instructions", **common))
                continue
            followed = result.followed_strict if mode == "strict" else result.followed_loose
            missed = [iid for iid, ok in zip(result.instruction_id_list, followed, strict=True) if not ok]
            verdicts.append(
                Verdict(
                    label=int(not missed),
                    score=float(not missed),
                    scores={"instructions_followed": sum(followed) / len(followed)},
                    rationale="follows every instruction" if not missed else "misses " + ", ".join(missed),
                    **common,
                )
            )
        methods.append(
            Method(
                f"ifeval:{mode}",
                "ifeval",
                verdicts,
                (0, 1),
                True,
                False,
                f"IFEval verifiable instructions, prompt-level {mode}",
                extra=figures,
            )
        )
    return methods


# --- reference metrics -----------------------------------------------------------------------------


def reference_methods(sessions: Sequence[Session], advance: Advance | None = None) -> list[Method]:
    from judgeloop.evaluators import reference as ref

    if not any(ref.has_reference(s) for s in sessions):
        return []
    specs: list[tuple[ref.ReferenceEvaluator, tuple[float, float], str]] = [
        (ref.RougeEvaluator(), (0, 1), "ROUGE-L F-measure against the reference"),
        (ref.BleuEvaluator(), (0, 100), "sentence BLEU against the reference"),
        (ref.ChrfEvaluator(), (0, 100), "sentence chrF against the reference"),
        (ref.EmbeddingSimilarityEvaluator(), (-1, 1), "MiniLM cosine similarity to the reference"),
    ]
    methods = []
    for evaluator, bounds, text in specs:
        verdicts = evaluator.evaluate(sessions)
        methods.append(
            Method(
                evaluator.name, "reference", verdicts, bounds, False, True, text, caution=evaluator.caution
            )
        )
        if advance:
            advance(1)
    return methods


# --- LLM judge and learned evaluator ---------------------------------------------------------------


def judge_method(
    judge: Any, sessions: Sequence[Session], chunk: int, advance: Advance | None = None
) -> Method:
    """A `RubricJudge` over every session; the score is the rubric's mean normalised score (0-1)."""
    verdicts: list[Verdict] = []
    for start in range(0, len(sessions), chunk):
        part = judge.evaluate(list(sessions[start : start + chunk]))
        verdicts += part
        if advance:
            advance(len(part))
    text = f"LLM judge {judge.runner.model} with the {judge.rubric.name!r} rubric"
    return Method(judge.name, "judge", verdicts, (0, 1), True, True, text)


def learned_method(evaluator: Any, sessions: Sequence[Session], advance: Advance | None = None) -> Method:
    """A trained evaluator; the score is its calibrated P(good)."""
    verdicts = evaluator.evaluate(sessions)
    verdicts = [v.model_copy(update={"score": v.probability}) for v in verdicts]
    if advance:
        advance(len(sessions))
    text = f"learned evaluator {evaluator.ref} (calibrated P(good), threshold {evaluator.threshold:.2f})"
    return Method(f"learned:{evaluator.ref}", "learned", verdicts, (0, 1), True, True, text)
