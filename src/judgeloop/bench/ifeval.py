"""IFEval: verifiable-instruction following (Zhou et al. 2023, "Instruction-Following Evaluation for
Large Language Models", arXiv 2311.07911).

Each of the 541 prompts carries one or more verifiable instructions ("answer in fewer than 40 words",
"wrap the whole answer in double quotes"); `judgeloop.bench.ifeval_checks` holds one checker per
instruction id. Four figures, as the paper defines them:

* prompt-level strict: share of prompts whose response follows *all* their instructions;
* instruction-level strict: share of all instructions followed;
* the loose variants count an instruction as followed when any of eight variants of the response
  follows it: the response itself, without its first line, without its last line, without both, and
  each of those four with every `*` removed (markdown emphasis). A blank variant never counts.

Inputs are IFEval's input_data.jsonl ({key, prompt, instruction_id_list, kwargs}) and a responses JSONL
of {prompt, response}, matched on the exact prompt text.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from judgeloop.bench.ifeval_checks import CHECKERS, Checker, build_checker
from judgeloop.errors import InvalidInput

__all__ = [
    "IFEvalInput",
    "IFEvalResult",
    "RowResult",
    "load_ifeval_inputs",
    "load_responses",
    "loose_variants",
    "score_ifeval",
    "score_ifeval_files",
    "score_row",
    "summarize",
]

INPUT_FIELDS: dict[str, type | tuple[type, ...]] = {
    "key": int,
    "prompt": str,
    "instruction_id_list": list,
    "kwargs": list,
}
RESPONSE_FIELDS: dict[str, type | tuple[type, ...]] = {"prompt": str, "response": str}


@dataclass(frozen=True)
class IFEvalInput:
    """One IFEval prompt with its instructions (ids and their arguments, in the same order)."""

    key: int
    prompt: str
    instruction_id_list: list[str]
    kwargs: list[dict[str, Any]]


@dataclass(frozen=True)
class RowResult:
    """Which of one prompt's instructions its response follows, strictly and loosely."""

    key: int
    prompt: str
    instruction_id_list: list[str]
    followed_strict: list[bool]
    followed_loose: list[bool]

    @property
    def all_strict(self) -> bool:
        return all(self.followed_strict)

    @property
    def all_loose(self) -> bool:
        return all(self.followed_loose)


@dataclass(frozen=True)
class IFEvalResult:
    """The four IFEval figures (fractions in [0, 1]) and the per-prompt results behind them."""

    prompt_strict: float
    inst_strict: float
    prompt_loose: float
    inst_loose: float
    rows: list[RowResult] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.rows)

    @property
    def n_instructions(self) -> int:
        return sum(len(row.instruction_id_list) for row in self.rows)

    def breakdown(self) -> dict[str, dict[str, float | int]]:
        """Per instruction id: how many instructions, and the strict and loose share followed."""
        counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
        for row in self.rows:
            for iid, strict, loose in zip(
                row.instruction_id_list, row.followed_strict, row.followed_loose, strict=True
            ):
                counts[iid][0] += 1
                counts[iid][1] += strict
                counts[iid][2] += loose
        return {
            iid: {"n": n, "strict": strict / n, "loose": loose / n}
            for iid, (n, strict, loose) in sorted(counts.items())
        }

    def failures(self, *, loose: bool = False) -> list[RowResult]:
        """The prompts whose response misses at least one instruction."""
        return [row for row in self.rows if not (row.all_loose if loose else row.all_strict)]

    def failures_as_dicts(self) -> list[dict[str, Any]]:
        """The prompts missing an instruction (strictly), as JSON-ready dicts."""
        return [
            {
                "key": row.key,
                "instruction_id_list": row.instruction_id_list,
                "followed_strict": row.followed_strict,
                "followed_loose": row.followed_loose,
            }
            for row in self.failures()
        ]

    def as_dict(self) -> dict[str, Any]:
        """The four figures, n, the instruction count and the per-instruction-id breakdown."""
        return {
            "prompt_strict": self.prompt_strict,
            "inst_strict": self.inst_strict,
            "prompt_loose": self.prompt_loose,
            "inst_loose": self.inst_loose,
            "n": self.n,
            "n_instructions": self.n_instructions,
            "breakdown": self.breakdown(),
        }


# --- reading --------------------------------------------------------------------------------------


def _json_lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(row number, object) for every object of a JSONL file, read by judgeloop.io.read_records (the
    one reader: lines split on \\n only, so U+2028 inside a string stays part of its line)."""
    from judgeloop.io import read_records

    yield from enumerate(read_records(path), start=1)


def _require_fields(
    record: dict[str, Any], fields: Mapping[str, type | tuple[type, ...]], *, file: str, row: int
) -> None:
    for name, kind in fields.items():
        if name not in record:
            raise InvalidInput("missing field", file=file, row=row, field=name)
        value = record[name]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            expected = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            raise InvalidInput(
                f"wrong type {type(value).__name__}", file=file, row=row, field=name, expected=expected
            )


def _check_instructions(record: dict[str, Any], *, file: str, row: int) -> None:
    ids, kwargs = record["instruction_id_list"], record["kwargs"]
    if len(ids) != len(kwargs):
        raise InvalidInput(
            f"{len(ids)} instruction ids but {len(kwargs)} kwargs",
            file=file,
            row=row,
            field="kwargs",
            expected="one kwargs object per instruction id",
        )
    for iid, args in zip(ids, kwargs, strict=True):
        if iid not in CHECKERS:
            raise InvalidInput(
                f"unknown instruction id {iid!r}",
                file=file,
                row=row,
                field="instruction_id_list",
                expected="one of the 25 IFEval instruction ids",
            )
        if not isinstance(args, dict):
            raise InvalidInput(
                "an instruction's kwargs is not an object",
                file=file,
                row=row,
                field="kwargs",
                expected="a JSON object per instruction",
            )
        try:
            build_checker(iid, args)
        except (TypeError, ValueError) as exc:
            raise InvalidInput(
                f"bad arguments for {iid}: {exc}", file=file, row=row, field="kwargs"
            ) from None


def load_ifeval_inputs(path: str | Path) -> list[IFEvalInput]:
    """Read IFEval's input_data.jsonl, checking every field and every instruction's arguments."""
    inputs = []
    for row, record in _json_lines(Path(path)):
        _require_fields(record, INPUT_FIELDS, file=str(path), row=row)
        _check_instructions(record, file=str(path), row=row)
        inputs.append(
            IFEvalInput(
                key=record["key"],
                prompt=record["prompt"],
                instruction_id_list=list(record["instruction_id_list"]),
                kwargs=[dict(k) for k in record["kwargs"]],
            )
        )
    return inputs


def load_responses(path: str | Path) -> dict[str, str]:
    """Read a JSONL of {prompt, response} into prompt -> response (a repeated prompt: the last wins)."""
    responses = {}
    for row, record in _json_lines(Path(path)):
        _require_fields(record, RESPONSE_FIELDS, file=str(path), row=row)
        responses[record["prompt"]] = record["response"]
    return responses


# --- scoring --------------------------------------------------------------------------------------


def loose_variants(response: str) -> list[str]:
    """The eight versions of a response the loose score tries (first/last line dropped, `*` removed)."""
    lines = response.split("\n")
    trimmed = [
        response,
        "\n".join(lines[1:]).strip(),
        "\n".join(lines[:-1]).strip(),
        "\n".join(lines[1:-1]).strip(),
    ]
    return trimmed + [text.replace("*", "") for text in trimmed]


def _follows(checker: Checker, variants: Sequence[str]) -> bool:
    return any(text.strip() and checker.check(text) for text in variants)


def _checker_for(key: int, instruction_id: str, args: dict[str, Any]) -> Checker:
    try:
        return build_checker(instruction_id, args)
    except KeyError:
        raise InvalidInput(
            f"prompt key {key}: unknown instruction id {instruction_id!r}", field="instruction_id_list"
        ) from None
    except (TypeError, ValueError) as exc:
        raise InvalidInput(
            f"prompt key {key}: bad arguments for {instruction_id}: {exc}", field="kwargs"
        ) from None


def score_row(item: IFEvalInput, response: str) -> RowResult:
    """Strict and loose verdicts for every instruction of one prompt."""
    variants = loose_variants(response)
    strict, loose = [], []
    for iid, args in zip(item.instruction_id_list, item.kwargs, strict=True):
        checker = _checker_for(item.key, iid, args)
        followed = _follows(checker, [response])
        strict.append(followed)
        loose.append(followed or _follows(checker, variants[1:]))
    return RowResult(item.key, item.prompt, list(item.instruction_id_list), strict, loose)


def _share(hits: int, total: int) -> float:
    return hits / total if total else 0.0


def summarize(rows: Sequence[RowResult]) -> IFEvalResult:
    """The four figures of a list of per-prompt results."""
    n_inst = sum(len(r.followed_strict) for r in rows)
    return IFEvalResult(
        prompt_strict=_share(sum(r.all_strict for r in rows), len(rows)),
        inst_strict=_share(sum(sum(r.followed_strict) for r in rows), n_inst),
        prompt_loose=_share(sum(r.all_loose for r in rows), len(rows)),
        inst_loose=_share(sum(sum(r.followed_loose) for r in rows), n_inst),
        rows=list(rows),
    )


def score_ifeval(inputs: Sequence[IFEvalInput], responses: Mapping[str, str]) -> IFEvalResult:
    """Score every input prompt's response; a prompt without a response is an error naming its key."""
    missing = [item.key for item in inputs if item.prompt not in responses]
    if missing:
        shown = ", ".join(str(k) for k in missing[:10]) + (" ..." if len(missing) > 10 else "")
        raise InvalidInput(
            f"no response for {len(missing)} prompt(s), key(s) {shown}",
            field="prompt",
            expected="a {prompt, response} line whose prompt is the exact prompt text",
        )
    return summarize([score_row(item, responses[item.prompt]) for item in inputs])


def score_ifeval_files(input_path: str | Path, responses_path: str | Path) -> IFEvalResult:
    """`score_ifeval` on an input_data.jsonl and a responses JSONL."""
    inputs = load_ifeval_inputs(input_path)
    responses = load_responses(responses_path)
    try:
        return score_ifeval(inputs, responses)
    except InvalidInput as exc:
        raise InvalidInput(
            exc.message, file=str(responses_path), field=exc.field, expected=exc.expected
        ) from None
