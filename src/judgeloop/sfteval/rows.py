"""The rows of a run: each prompt with its response, reference, human label and IFEval instructions.

A prompts file may already carry a response (`response`/`model_output`, or `responses` for several
turns): such rows are evaluated as given, never regenerated, so that human labels on them stay valid.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from judgeloop.bench.ifeval import _check_instructions
from judgeloop.errors import InvalidInput
from judgeloop.generation import ID_FIELDS, PromptItem, done_ids
from judgeloop.io import parse_label, read_records
from judgeloop.types import ModelInput, Session, content_hash

GIVEN = "given"  # the `model` of a response that came with the prompts file
RESPONSE_FIELDS = ("response", "model_output")


@dataclass
class RunRow:
    id: str
    turns: list[str]
    responses: list[str]
    source: str  # the model that answered, or "given"
    reference: str | None = None
    human: int | None = None
    instructions: dict[str, Any] | None = None  # {instruction_id_list, kwargs} when the prompt has them
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def model_input(self) -> ModelInput:
        if len(self.turns) == 1:
            return self.turns[0]
        history: list[dict[str, Any]] = []
        for question, answer in zip(self.turns[:-1], self.responses[:-1], strict=False):
            history += [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]
        return [*history, {"role": "user", "content": self.turns[-1]}]

    @property
    def response(self) -> str:
        return self.responses[-1] if self.responses else ""

    @property
    def session_id(self) -> str:
        """The content hash the store keys a session by when it has no id of its own."""
        return content_hash(self.model_input, self.response)

    def session(self) -> Session:
        return Session(
            id=self.session_id,
            model_input=self.model_input,
            model_output=self.response,
            reference=self.reference,
        )


def given_responses(item: PromptItem, file: str, row: int) -> list[str] | None:
    """The response(s) a prompts-file row already carries, or None."""
    if "responses" in item.meta and item.meta["responses"] not in (None, ""):
        value = item.meta["responses"]
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value) or not value:
            raise InvalidInput("not a list of texts", file=file, row=row, field="responses")
        return list(value)
    for key in RESPONSE_FIELDS:
        value = item.meta.get(key)
        if isinstance(value, str) and value.strip():
            return [value]
    return None


def seed_given(items: list[PromptItem], file: str, out_path: Path) -> int:
    """Append the prompts file's own responses to the run's responses file (once); returns how many."""
    done = done_ids(out_path)
    lines = []
    for row, item in enumerate(items, start=1):
        given = given_responses(item, file, row)
        if given is None or item.id in done:
            continue
        record = {"id": item.id, "prompt": item.turns[0], "response": given[-1], "turns": item.turns}
        extra = {
            k: v for k, v in item.meta.items() if k not in ("id", "model", "responses", *RESPONSE_FIELDS)
        }
        lines.append(json.dumps({**record, "responses": given, "model": GIVEN, **extra}, ensure_ascii=False))
    if lines:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        with out_path.open("a", encoding="utf-8") as fh:
            fh.write("".join(line + "\n" for line in lines))
    return len(lines)


def read_responses(path: Path) -> dict[str, dict[str, Any]]:
    """The run's responses by prompt id (a torn last line, from a killed run, is skipped)."""
    out: dict[str, dict[str, Any]] = {}
    if not path.exists():
        return out
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
            out[str(record["id"])] = record
        except (json.JSONDecodeError, KeyError, TypeError):
            continue
    return out


def check_model(responses: dict[str, dict[str, Any]], model: str, path: Path) -> None:
    """Refuse to mix two models' responses in one run folder."""
    others = sorted({str(r.get("model")) for r in responses.values()} - {model, GIVEN})
    if others:
        raise InvalidInput(
            f"it holds responses of model {others[0]!r}, not {model!r}",
            file=str(path),
            field="model",
            expected="a new --out folder for another model",
        )


def read_reference_file(path: str | Path) -> dict[str, list[str]]:
    """Reference answers by prompt id: {id, reference} rows, or FastChat's {question_id, choices} rows."""
    file = str(path)
    refs: dict[str, list[str]] = {}
    for row, record in enumerate(read_records(path), start=1):
        rid = next((str(record[k]) for k in ID_FIELDS if record.get(k) not in (None, "")), None)
        if rid is None:
            raise InvalidInput(
                "no id", file=file, row=row, field="id", expected="one of " + ", ".join(ID_FIELDS)
            )
        refs[rid] = _reference_turns(record, file, row)
    return refs


def _reference_turns(record: dict[str, Any], file: str, row: int) -> list[str]:
    value = record.get("reference")
    choices = record.get("choices")
    if value is None and isinstance(choices, list) and choices and isinstance(choices[0], dict):
        value = choices[0].get("turns")
    if isinstance(value, str) and value.strip():
        return [value]
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return list(value)
    raise InvalidInput(
        "no reference text", file=file, row=row, field="reference", expected="a text or a list of texts"
    )


def _pick_reference(value: Any, n_turns: int, file: str, row: int, col: str) -> str | None:
    """The reference for the last turn of a prompt with `n_turns` turns."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value[n_turns - 1] if len(value) >= n_turns else None
    raise InvalidInput("not a reference text", file=file, row=row, field=col, expected="a text")


def prompt_annotations(
    items: list[PromptItem],
    file: str,
    *,
    references_col: str = "reference",
    reference_file: dict[str, list[str]] | None = None,
    label_col: str = "good",
) -> dict[str, dict[str, Any]]:
    """Per prompt id: its reference, human label and IFEval instructions, validated (file, row, field)."""
    out: dict[str, dict[str, Any]] = {}
    for row, item in enumerate(items, start=1):
        ref_value = (reference_file or {}).get(item.id, item.meta.get(references_col))
        good = parse_label(item.meta.get(label_col), file=file, row=row, field=label_col)
        instructions = None
        if item.meta.get("instruction_id_list") not in (None, "", []):
            record = {k: item.meta.get(k) for k in ("instruction_id_list", "kwargs")}
            if not isinstance(record["instruction_id_list"], list) or not isinstance(record["kwargs"], list):
                raise InvalidInput(
                    "IFEval instructions must be lists",
                    file=file,
                    row=row,
                    field="kwargs",
                    expected="instruction_id_list and kwargs lists of the same length",
                )
            _check_instructions(record, file=file, row=row)
            instructions = record
        out[item.id] = {
            "reference": _pick_reference(ref_value, len(item.turns), file, row, references_col),
            "human": None if good is None else int(good),
            "instructions": instructions,
        }
    return out


def build_rows(
    items: list[PromptItem], annotations: dict[str, dict[str, Any]], responses: dict[str, dict[str, Any]]
) -> list[RunRow]:
    """One row per prompt, in the prompts file's order."""
    rows = []
    for item in items:
        record = responses.get(item.id)
        if record is None:
            raise InvalidInput(
                f"prompt {item.id!r} has no response", field="id", expected="a generated response"
            )
        answers = record.get("responses") or [record.get("response", "")]
        rows.append(
            RunRow(
                id=item.id,
                turns=item.turns,
                responses=[str(a) for a in answers],
                source=str(record.get("model")),
                meta=item.meta,
                **annotations[item.id],
            )
        )
    return rows
