"""Labelled examples: what a trainable evaluator learns from, with the checks that guard training."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from judgeloop.errors import InvalidInput
from judgeloop.types import ModelInput, content_hash

MIN_PER_CLASS = 10
GROUP_COLUMNS = ("group", "prompt_id", "conversation_id", "thread_id")
Pair = tuple[ModelInput, str]


@dataclass(frozen=True)
class Example:
    """One human-labelled session: 1 = good, 0 = bad. `group` keeps related rows on one side of a split."""

    model_input: ModelInput
    model_output: str
    label: int
    group: str | None = None
    id: str | None = None

    @property
    def key(self) -> str:
        """The row's id, or the session content hash that `judgeloop import` gives it."""
        return self.id if self.id is not None else content_hash(self.model_input, self.model_output)

    @property
    def pair(self) -> Pair:
        return (self.model_input, self.model_output)


def examples_from_rows(rows: Iterable[Any], group_col: str | None = None) -> list[Example]:
    """Examples from `judgeloop.io` rows (`.session`, `.label.good`); unlabelled rows are skipped."""
    out = []
    for row in rows:
        label = getattr(row, "label", None)
        if label is None or label.good is None:
            continue
        session = row.session
        group = session.metadata.get(group_col) if group_col else None
        out.append(
            Example(
                model_input=session.model_input,
                model_output=session.model_output,
                label=int(bool(label.good)),
                group=None if group is None else str(group),
                id=session.id,
            )
        )
    return out


def as_example(item: Any, number: int = 0) -> Example:
    """An Example from an Example, an (input, output, good) tuple, or a dict with model_input,
    model_output and good (1/0 or True/False)."""
    if isinstance(item, Example):
        return item
    if isinstance(item, dict):
        missing = [k for k in ("model_input", "model_output", "good") if k not in item]
        if missing:
            raise InvalidInput(
                f"row has no {', '.join(missing)}", row=number, field=missing[0], expected="a value"
            )
        group = item.get("group")
        return Example(
            item["model_input"],
            item["model_output"],
            _binary(item["good"], number),
            None if group is None else str(group),
            item.get("id"),
        )
    if isinstance(item, tuple | list) and len(item) == 3:
        return Example(item[0], item[1], _binary(item[2], number))
    raise InvalidInput(
        f"cannot read a labelled example from {type(item).__name__}",
        row=number,
        expected="an Example, an (input, output, good) tuple or a dict",
    )


def _binary(value: Any, number: int) -> int:
    if isinstance(value, bool) or value in (0, 1):
        return int(value)
    raise InvalidInput(
        f"label {value!r} is not binary", row=number, field="good", expected="1/0 or True/False"
    )


def validate_examples(examples: Sequence[Example], min_per_class: int = MIN_PER_CLASS) -> None:
    """Raise InvalidInput unless the rows can train a binary evaluator."""
    for number, ex in enumerate(examples, start=1):
        if ex.label not in (0, 1) or isinstance(ex.label, float) and ex.label != int(ex.label):
            raise InvalidInput(
                f"label {ex.label!r} is not binary", row=number, field="label", expected="1 (good) or 0 (bad)"
            )
        if not isinstance(ex.model_output, str):  # an empty output is a real session: the model said nothing
            raise InvalidInput(
                f"model_output is {type(ex.model_output).__name__}, not text (id {ex.key})",
                row=number,
                field="model_output",
                expected="text (may be empty)",
            )
        if isinstance(ex.model_input, str) and not ex.model_input.strip():
            raise InvalidInput(
                f"empty model_input (id {ex.key})", row=number, field="model_input", expected="non-empty text"
            )
    counts = Counter(int(ex.label) for ex in examples)
    if len(counts) < 2:
        only = "good" if counts.get(1) else "bad"
        raise InvalidInput(
            f"all {len(examples)} labels are {only}: a classifier needs both classes",
            field="label",
            expected=f"at least {min_per_class} good and {min_per_class} bad labels",
        )
    for value, name in ((1, "good"), (0, "bad")):
        if counts[value] < min_per_class:
            raise InvalidInput(
                f"only {counts[value]} {name} labels",
                field="label",
                expected=f"at least {min_per_class} good and {min_per_class} bad labels",
            )


def data_hash(examples: Sequence[Example]) -> str:
    """sha256 of the sorted (id or input, output, label) rows: the snapshot a model was trained on."""
    rows = sorted(
        json.dumps(
            [ex.id if ex.id is not None else ex.model_input, ex.model_output, int(ex.label)],
            ensure_ascii=False,
            sort_keys=True,
        )
        for ex in examples
    )
    digest = hashlib.sha256()
    for row in rows:
        digest.update(row.encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()


def labels_of(examples: Sequence[Example]) -> list[int]:
    return [int(ex.label) for ex in examples]


def pairs_of(examples: Sequence[Example]) -> list[Pair]:
    return [ex.pair for ex in examples]


def group_column(requested: str | None, metadata_keys: set[str]) -> str | None:
    """The column to group a split by: the requested one (checked), else a known one when present."""
    if requested is not None:
        if requested in ("", "none"):
            return None
        if requested not in metadata_keys:
            raise InvalidInput(
                f"no column {requested!r} to group the split by",
                field="group-col",
                expected=", ".join(sorted(metadata_keys)) or "a column of the data",
            )
        return requested
    return next((c for c in GROUP_COLUMNS if c in metadata_keys), None)


def examples_from_project(ws: Any, project: str, group_col: str | None) -> tuple[list[Example], str | None]:
    """Examples from a project's binary consensus labels, grouped by `group_col` (or a known column)."""
    labelled = ws.labelled_sessions(project)
    if not labelled:
        raise InvalidInput(
            f"project {project!r} has no sessions with a good/bad label",
            field="project",
            expected="a project with binary human labels (judgeloop import, or the review UI)",
        )
    keys = {k for s, _, _ in labelled for k in s.metadata if not k.startswith("_")}
    group = group_column(group_col, keys)
    examples = [
        Example(
            s.model_input,
            s.model_output,
            int(good),
            None if not group or s.metadata.get(group) is None else str(s.metadata[group]),
            s.id,
        )
        for s, good, _ in labelled
    ]
    return examples, group
