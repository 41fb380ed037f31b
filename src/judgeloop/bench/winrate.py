"""AlpacaEval-style pairwise win rate of a model against a baseline.

Input is AlpacaEval's annotation format: a JSON list of records with `instruction`, `output_1` (the
baseline), `output_2` (the model) and `preference`, a float in [1, 2] where 2 means `output_2` wins and
1.5 is a tie. The figures follow `alpaca_eval.metrics` (AbsoluteScoringRule / ZeroOneScoringRule):

- `win_rate` = mean(preference - 1) x 100; `standard_error` = its standard error of the mean (ddof=1,
  as pandas' `.sem()`), x 100.
- A preference of 0 is AlpacaEval's legacy encoding of a draw and counts as 1.5. A missing preference
  (None, NaN, or no `preference` key) is dropped from every count, as AlpacaEval drops it.
- `n_draws` counts preferences equal to exactly 1.5; `n_wins` / `n_wins_base` those above / below it.
- `discrete_win_rate` rounds every preference to a win, loss or draw first.
- `avg_length` is the mean character length of the model's outputs (`output_2`), truncated to an int.

AlpacaEval 2's length-controlled win rate is not computed here: its GLM needs AlpacaEval's per-instruction
difficulty estimates and the annotations of its "gamed" (verbose/concise) baselines, both published only
on the Hugging Face hub, so judgeloop cannot reproduce the published figures offline.
"""

from __future__ import annotations

import json
import math
import numbers
from collections import defaultdict, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from judgeloop.errors import InvalidInput

PairwiseJudge = Callable[[str, str, str], float | None]
"""A pairwise judge: (instruction, output_1 = baseline, output_2 = model) -> preference in [1, 2] or None."""

ANNOTATION_FIELDS = ("instruction", "output_1", "output_2")
MODEL_OUTPUT_FIELDS = ("instruction", "output")
DRAW = 1.5


@dataclass(frozen=True)
class WinRateResult:
    """Head-to-head figures of a model (output_2) against a baseline (output_1)."""

    win_rate: float
    standard_error: float
    n_wins: int
    n_wins_base: int
    n_draws: int
    n_total: int
    n_missing: int
    discrete_win_rate: float
    avg_length: int | None

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe dict: a NaN (e.g. the standard error of one annotation) becomes None."""
        return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in asdict(self).items()}


# --- preferences ---------------------------------------------------------------------------------


def normalize_preference(value: Any, *, row: int | None = None, file: str | None = None) -> float | None:
    """One AlpacaEval preference as a float in [1, 2], or None when it is missing.

    None and NaN are missing; 0 is AlpacaEval's legacy draw and becomes 1.5; anything else must be a
    number in [1, 2].
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidInput(
            f"a preference must be a number in [1, 2], 0 or null. Got {value!r} instead.",
            file=file,
            row=row,
            field="preference",
        )
    number = float(value)
    if math.isnan(number):
        return None
    if number == 0.0:
        return DRAW
    if not 1.0 <= number <= 2.0:
        raise InvalidInput(
            f"a preference must be in [1, 2] (2 = output_2 wins, 1.5 = tie). Got {value!r} instead.",
            file=file,
            row=row,
            field="preference",
        )
    return number


def _discrete(preference: float) -> float:
    """A preference rounded to 1 (baseline wins), 1.5 (draw) or 2 (model wins)."""
    return DRAW if preference == DRAW else float(round(preference))


def winrate_from_preferences(
    preferences: Sequence[float | None], lengths: Sequence[int] | None = None
) -> WinRateResult:
    """Win-rate figures from preferences already normalised (see `normalize_preference`)."""
    present = np.asarray([p for p in preferences if p is not None], dtype=float)
    if len(present) == 0:
        raise InvalidInput(
            f"none of the {len(preferences)} annotations has a preference",
            expected="at least one preference in [1, 2]",
        )
    centred = present - 1.0
    sem = float(np.std(centred, ddof=1) / math.sqrt(len(centred))) if len(centred) > 1 else float("nan")
    discrete = np.asarray([_discrete(p) for p in present]) - 1.0
    return WinRateResult(
        win_rate=float(centred.mean() * 100),
        standard_error=sem * 100,
        n_wins=int(np.sum(centred > 0.5)),
        n_wins_base=int(np.sum(centred < 0.5)),
        n_draws=int(np.sum(present == DRAW)),
        n_total=len(present),
        n_missing=len(preferences) - len(present),
        discrete_win_rate=float(discrete.mean() * 100),
        avg_length=int(np.mean(lengths)) if lengths else None,
    )


# --- annotations ---------------------------------------------------------------------------------


def _check_record(record: Any, fields: Sequence[str], row: int, file: str | None) -> Mapping[str, Any]:
    if not isinstance(record, Mapping):
        raise InvalidInput(
            f"each record must be a JSON object. Got {type(record).__name__} instead.", file=file, row=row
        )
    for name in fields:
        if name not in record:
            raise InvalidInput("the field is missing", file=file, row=row, field=name, expected="a string")
        if not isinstance(record[name], str):
            raise InvalidInput(
                f"the field must be a string. Got {type(record[name]).__name__} instead.",
                file=file,
                row=row,
                field=name,
            )
    return record


def _check_records(records: Any, fields: Sequence[str], file: str | None) -> list[dict[str, Any]]:
    if not isinstance(records, list):
        raise InvalidInput(
            f"expected a JSON list of records. Got {type(records).__name__} instead.",
            file=file,
            expected=f"a list of objects with {', '.join(fields)}",
        )
    return [dict(_check_record(r, fields, i, file)) for i, r in enumerate(records)]


def compute_winrate(annotations: Sequence[Mapping[str, Any]], *, file: str | None = None) -> WinRateResult:
    """Win-rate figures of AlpacaEval annotations (records with output_1, output_2, preference)."""
    records = _check_records(list(annotations), ANNOTATION_FIELDS, file)
    preferences = [normalize_preference(r.get("preference"), row=i, file=file) for i, r in enumerate(records)]
    lengths = [len(r["output_2"]) for r in records]
    return winrate_from_preferences(preferences, lengths)


def _read_json(path: str | Path) -> Any:
    path = Path(path)
    if not path.is_file():
        raise InvalidInput("no such file", file=str(path))
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"not valid JSON ({exc.msg} at line {exc.lineno})", file=str(path)) from exc


def load_annotations(path: str | Path) -> list[dict[str, Any]]:
    """An AlpacaEval annotations.json: a list of {instruction, output_1, output_2, preference, ...}."""
    return _check_records(_read_json(path), ANNOTATION_FIELDS, str(path))


def winrate_from_file(path: str | Path) -> WinRateResult:
    return compute_winrate(load_annotations(path), file=str(path))


def load_model_outputs(path: str | Path) -> list[dict[str, Any]]:
    """An AlpacaEval model_outputs.json: a list of {instruction, output, generator?, dataset?}."""
    return _check_records(_read_json(path), MODEL_OUTPUT_FIELDS, str(path))


# --- building annotations with a judge -------------------------------------------------------------


def _pair_by_instruction(
    baseline: Sequence[Mapping[str, Any]], model: Sequence[Mapping[str, Any]]
) -> list[tuple[Mapping[str, Any], Mapping[str, Any]]]:
    """Pair each baseline record with the model record of the same instruction (in order of occurrence)."""
    by_instruction: dict[str, deque[Mapping[str, Any]]] = defaultdict(deque)
    for record in model:
        by_instruction[record["instruction"]].append(record)
    pairs, missing = [], []
    for record in baseline:
        queue = by_instruction.get(record["instruction"])
        if queue:
            pairs.append((record, queue.popleft()))
        else:
            missing.append(record["instruction"])
    if missing:
        first = missing[0][:80]
        raise InvalidInput(
            f"{len(missing)} baseline instruction(s) have no model output, e.g. {first!r}",
            expected="the model outputs to cover every baseline instruction",
        )
    return pairs


def _judge_name(judge: PairwiseJudge) -> str:
    name = getattr(judge, "name", None) or getattr(judge, "__name__", None) or type(judge).__name__
    return str(name)


def _annotation(
    base: Mapping[str, Any], cand: Mapping[str, Any], annotator: str, preference: float | None, **extra: Any
) -> dict[str, Any]:
    """One AlpacaEval annotation: the baseline as output_1, the model as output_2."""
    return {
        "instruction": base["instruction"],
        "output_1": base["output"],
        "generator_1": base.get("generator", "baseline"),
        "dataset": base.get("dataset"),
        "output_2": cand["output"],
        "generator_2": cand.get("generator", "model"),
        "annotator": annotator,
        "preference": preference,
        **extra,
    }


def build_annotations(
    baseline_outputs: Sequence[Mapping[str, Any]],
    model_outputs: Sequence[Mapping[str, Any]],
    judge: PairwiseJudge,
    *,
    annotator: str | None = None,
) -> list[dict[str, Any]]:
    """AlpacaEval annotations of `model_outputs` against `baseline_outputs`, judged pair by pair.

    Records pair on `instruction`. `judge(instruction, output_1, output_2)` sees the baseline as
    output_1 and the model as output_2 and returns a preference in [1, 2] (2 = model wins) or None
    when it could not decide; None is kept as a missing preference. Position de-biasing (judging both
    orders) is the judge's business.
    """
    baseline = _check_records(list(baseline_outputs), MODEL_OUTPUT_FIELDS, "baseline outputs")
    model = _check_records(list(model_outputs), MODEL_OUTPUT_FIELDS, "model outputs")
    name = annotator or _judge_name(judge)
    annotations = []
    for row, (base, cand) in enumerate(_pair_by_instruction(baseline, model)):
        raw = judge(base["instruction"], base["output"], cand["output"])
        preference = normalize_preference(raw, row=row, file=f"judge {name}")
        annotations.append(_annotation(base, cand, name, preference))
    return annotations


def save_annotations(annotations: Sequence[Mapping[str, Any]], path: str | Path) -> None:
    """Write annotations as AlpacaEval's annotations.json (missing preferences as null), atomically."""
    from judgeloop.io import atomic_write_text

    atomic_write_text(Path(path), json.dumps(list(annotations), ensure_ascii=False, indent=2))


# --- judging model outputs against reference outputs ------------------------------------------------

PREFERENCE = {"A": 1.0, "B": 2.0, "tie": DRAW}  # A = output_1 (baseline), B = output_2 (the model)


def judge_annotations(
    baseline_outputs: Sequence[Mapping[str, Any]],
    model_outputs: Sequence[Mapping[str, Any]],
    judge: Any,
    *,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """AlpacaEval annotations judged by a `judgeloop.judging.PairwiseJudge` (both orders, concurrent).

    Each baseline record is paired with the model's output for the same instruction; the baseline is
    shown as A (output_1), the model as B (output_2). A pair whose two orders disagree is a draw (1.5);
    a pair the judge could not answer keeps preference None (dropped from the win rate, counted in
    `n_missing`)."""
    from judgeloop.types import Session

    baseline = _check_records(list(baseline_outputs), MODEL_OUTPUT_FIELDS, "baseline outputs")
    model = _check_records(list(model_outputs), MODEL_OUTPUT_FIELDS, "model outputs")
    pairs = _pair_by_instruction(baseline, model)[:limit]
    sessions = [
        Session(id=str(i), model_input=b["instruction"], model_output=b["output"], output_b=m["output"])
        for i, (b, m) in enumerate(pairs)
    ]
    verdicts = judge.evaluate(sessions)
    annotations = []
    for (base, cand), verdict in zip(pairs, verdicts, strict=True):
        ok = verdict.status == "ok"
        preference = PREFERENCE[verdict.scores["winner"]] if ok else None
        extra = {"raw_completion": verdict.raw, "error": None if ok else verdict.error}
        annotations.append(_annotation(base, cand, judge.name, preference, **extra))
    return annotations
