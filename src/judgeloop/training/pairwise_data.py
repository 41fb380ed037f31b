"""Pairwise preference examples: (input, output A, output B, choice A/B/tie) from files and projects.

A file row is either `model_input, model_output, output_b, choice` (choice `A`, `B` or `tie`; `A` means
`model_output` is better), or a chosen/rejected pair (HH-RLHF style): `chosen` and `rejected`, each a
whole transcript (`\\n\\nHuman: ... \\n\\nAssistant: ...`) or, with a `prompt`/`model_input` column, the
two replies alone. A transcript pair is split at the last Assistant turn they share: the common part is
the input, the two last replies are the outputs (the chosen one as A).
A project's pairwise sessions (`output_b`) with a human choice (`judgeloop.store.labels.human_choice`)
are examples too.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from judgeloop.errors import InvalidInput
from judgeloop.types import ModelInput, content_hash

Choice = Literal["A", "B", "tie"]
CHOICES: dict[str, Choice] = {"a": "A", "b": "B", "tie": "tie"}
CHOICE_EXPECTED = "A (model_output is better), B (output_b is better) or tie"
ASSISTANT = "\n\nAssistant:"
MIN_DECISIVE = 10


@dataclass(frozen=True)
class PairExample:
    """One human preference between two outputs for the same input."""

    model_input: ModelInput
    output_a: str
    output_b: str
    choice: Choice
    id: str | None = None
    group: str | None = None

    @property
    def key(self) -> str:
        return (
            self.id if self.id is not None else content_hash(self.model_input, self.output_a, self.output_b)
        )

    def swapped(self) -> PairExample:
        flip: dict[Choice, Choice] = {"A": "B", "B": "A", "tie": "tie"}
        return PairExample(
            self.model_input, self.output_b, self.output_a, flip[self.choice], self.id, self.group
        )


def parse_choice(
    value: Any, *, row: int | None = None, file: str | None = None, field: str = "choice"
) -> Choice:
    """`A`, `B` or `tie` (any case); anything else is InvalidInput naming the row and field."""
    text = str(value).strip().lower() if isinstance(value, str) else None
    if text is None or text not in CHOICES:
        raise InvalidInput(
            f"choice {value!r} is not A, B or tie", file=file, row=row, field=field, expected=CHOICE_EXPECTED
        )
    return CHOICES[text]


def split_transcripts(chosen: str, rejected: str) -> tuple[str, str, str] | None:
    """(shared input, chosen reply, rejected reply) of two transcripts that differ only in their last
    Assistant turn; None when they share no Assistant turn."""
    cut = min(chosen.rfind(ASSISTANT), rejected.rfind(ASSISTANT))
    while cut >= 0 and chosen[:cut] != rejected[:cut]:
        cut = chosen.rfind(ASSISTANT, 0, cut)
    if cut < 0 or not chosen.startswith(ASSISTANT, cut) or not rejected.startswith(ASSISTANT, cut):
        return None
    start = cut + len(ASSISTANT)
    return chosen[:cut].strip(), chosen[start:].strip(), rejected[start:].strip()


def _text(record: dict[str, Any], col: str, row: int, file: str) -> str:
    value = record.get(col)
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput("missing or empty", file=file, row=row, field=col, expected="a non-empty text")
    return value


def _input(record: dict[str, Any], col: str, row: int, file: str) -> ModelInput:
    from judgeloop.io import parse_input

    raw = record.get(col)
    if isinstance(raw, list):
        return parse_input(raw)
    return parse_input(_text(record, col, row, file))


def _chosen_rejected(record: dict[str, Any], row: int, file: str, input_col: str) -> PairExample:
    chosen, rejected = _text(record, "chosen", row, file), _text(record, "rejected", row, file)
    prompt_col = next((c for c in (input_col, "prompt") if record.get(c) not in (None, "")), None)
    if prompt_col is not None:
        return PairExample(_input(record, prompt_col, row, file), chosen, rejected, "A", record.get("id"))
    parts = split_transcripts(chosen, rejected)
    if parts is None or not parts[1] or not parts[2]:
        raise InvalidInput(
            "chosen and rejected share no conversation up to a last Assistant turn",
            file=file,
            row=row,
            field="chosen",
            expected="two transcripts differing only in their last Assistant reply, or a prompt column",
        )
    shared, good, bad = parts
    return PairExample(shared or "(no prompt)", good, bad, "A", record.get("id"))


def read_pairwise_file(
    path: str | Path,
    *,
    input_col: str = "model_input",
    output_col: str = "model_output",
    output_b_col: str = "output_b",
    choice_col: str = "choice",
    id_col: str | None = None,
    group_col: str | None = None,
) -> list[PairExample]:
    """Every row of a pairwise file (any format `judgeloop import` reads), validated before returning."""
    from judgeloop.io import read_records

    file = str(path)
    records = read_records(path)
    first = records[0]
    hh = "chosen" in first and "rejected" in first and output_b_col not in first
    if not hh:
        missing = [c for c in (input_col, output_col, output_b_col, choice_col) if c not in first]
        if missing:
            raise InvalidInput(
                f"missing column(s) {', '.join(map(repr, missing))}; "
                f"found {', '.join(sorted(map(str, first)))}",
                file=file,
                field=missing[0],
                expected=f"{input_col}, {output_col}, {output_b_col}, {choice_col} (or chosen and rejected)",
            )
    out: list[PairExample] = []
    seen: dict[str, int] = {}
    for row, record in enumerate(records, start=1):
        if hh:
            ex = _chosen_rejected(record, row, file, input_col)
        else:
            ex = PairExample(
                _input(record, input_col, row, file),
                _text(record, output_col, row, file),
                _text(record, output_b_col, row, file),
                parse_choice(record.get(choice_col), row=row, file=file, field=choice_col),
            )
        rid = record.get(id_col or "id")
        group = record.get(group_col) if group_col else None
        ex = PairExample(
            ex.model_input,
            ex.output_a,
            ex.output_b,
            ex.choice,
            None if rid in (None, "") else str(rid),
            None if group in (None, "") else str(group),
        )
        if ex.key in seen:
            raise InvalidInput(
                f"duplicate pair {ex.key!r} (first on row {seen[ex.key]})",
                file=file,
                row=row,
                field=id_col or "id",
                expected="each pair once",
            )
        seen[ex.key] = row
        out.append(ex)
    return out


def pairs_from_project(ws: Any, project: str) -> list[PairExample]:
    """A project's pairwise sessions that have a human choice (the one rule: `human_choice`)."""
    from judgeloop.store.labels import by_session, human_choice

    grouped = by_session(ws.labels(project, kind="pairwise"))
    picks = {sid: c for sid, labs in grouped.items() if (c := human_choice(labs)) is not None}
    if not picks:
        raise InvalidInput(
            f"project {project!r} has no pairwise human labels",
            field="project",
            expected="sessions with output_b labelled A, B or tie in the review UI",
        )
    out = []
    for s in ws.sessions(project, ids=list(picks)):
        if s.output_b:
            group = s.metadata.get("group") or s.metadata.get("prompt_id")
            choice = parse_choice(picks[s.id], field="choice")
            out.append(PairExample(s.model_input, s.model_output, s.output_b, choice, s.id, _str(group)))
    return out


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def validate_pairs(pairs: Sequence[PairExample], min_decisive: int = MIN_DECISIVE) -> None:
    """Raise InvalidInput unless the pairs can train a comparator (enough decisive choices)."""
    for number, ex in enumerate(pairs, start=1):
        for field, text in (("model_output", ex.output_a), ("output_b", ex.output_b)):
            if not isinstance(text, str) or not text.strip():
                raise InvalidInput(f"empty {field} (id {ex.key})", row=number, field=field, expected="a text")
        if ex.choice not in ("A", "B", "tie"):
            raise InvalidInput(
                f"choice {ex.choice!r} is not A, B or tie",
                row=number,
                field="choice",
                expected=CHOICE_EXPECTED,
            )
    decisive = sum(ex.choice != "tie" for ex in pairs)
    if decisive < min_decisive:
        raise InvalidInput(
            f"only {decisive} of {len(pairs)} pairs have a winner (A or B)",
            field="choice",
            expected=f"at least {min_decisive} decisive pairs",
        )


def as_pair_example(item: Any, number: int = 0) -> PairExample:
    """A PairExample from itself, an (input, a, b, choice) tuple or a dict with the file's columns."""
    if isinstance(item, PairExample):
        return item
    if isinstance(item, dict):
        missing = [k for k in ("model_input", "model_output", "output_b", "choice") if k not in item]
        if missing:
            raise InvalidInput(f"row has no {', '.join(missing)}", row=number, field=missing[0])
        return PairExample(
            item["model_input"],
            item["model_output"],
            item["output_b"],
            parse_choice(item["choice"], row=number),
            _str(item.get("id")),
            _str(item.get("group")),
        )
    if isinstance(item, tuple | list) and len(item) == 4:
        return PairExample(item[0], item[1], item[2], parse_choice(item[3], row=number))
    raise InvalidInput(
        f"cannot read a pairwise example from {type(item).__name__}",
        row=number,
        expected="a PairExample, an (input, a, b, choice) tuple or a dict",
    )


def choices_of(pairs: Iterable[PairExample]) -> list[Choice]:
    return [ex.choice for ex in pairs]
