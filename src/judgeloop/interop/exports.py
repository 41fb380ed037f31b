"""The labelled set as a Hugging Face `datasets` folder (with a dataset card) or as Argilla records.

Both take the rows of `judgeloop export` (`interop.labelled.export_records`: one per session, the consensus
human label in `good`) and write a folder atomically (a temporary folder beside it, then a rename).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from judgeloop.errors import InvalidInput
from judgeloop.types import input_text

ARGILLA_LABELS = ("good", "bad")
TEXT_COLUMNS = ("session_id", "model_input", "model_output", "reference", "output_b", "comment")


def _folder(out: Path) -> Path:
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InvalidInput(
            "the output folder exists and is not empty", file=str(out), expected="a new folder"
        )
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    return tmp


def _commit(tmp: Path, out: Path) -> None:
    if out.exists():
        out.rmdir()  # empty, checked in _folder
    tmp.replace(out)


def _columns(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> dict[str, list[Any]]:
    """Column lists Arrow can hold: dicts and mixed lists as JSON text, a column of mixed types as text."""
    out: dict[str, list[Any]] = {}
    for col in columns:
        values = [r.get(col) for r in rows]
        values = [json.dumps(v, ensure_ascii=False) if isinstance(v, dict) else v for v in values]
        values = [
            json.dumps(v, ensure_ascii=False)
            if isinstance(v, list) and not all(isinstance(x, str) for x in v)
            else v
            for v in values
        ]
        kinds = {type(v) for v in values if v is not None}
        if len(kinds) > 1 and not kinds <= {int, float}:
            values = [
                None if v is None else (v if isinstance(v, str) else json.dumps(v, ensure_ascii=False))
                for v in values
            ]
        out[col] = values
    return out


def write_hf(rows: Sequence[dict[str, Any]], columns: Sequence[str], out: str | Path, project: str) -> Path:
    """A `datasets.Dataset.save_to_disk` folder with a README.md dataset card; `load_from_disk` reads it."""
    import datasets

    target = Path(out)
    tmp = _folder(target)
    try:
        data = datasets.Dataset.from_dict(_columns(rows, columns))
        data.save_to_disk(str(tmp))
        (tmp / "README.md").write_text(dataset_card(rows, list(columns), project, data), encoding="utf-8")
        _commit(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def dataset_card(rows: Sequence[dict[str, Any]], columns: list[str], project: str, data: Any) -> str:
    labelled = [r for r in rows if r.get("good") is not None]
    good = sum(1 for r in labelled if r["good"])
    features = "\n".join(
        f"  - name: {name}\n    dtype: {_dtype(feature)}" for name, feature in data.features.items()
    )
    described = {
        "session_id": "the session's id in judgeloop",
        "model_input": "the model input: text, or the chat messages as JSON",
        "model_output": "the model output that was judged",
        "good": "the human label: 1 good, 0 bad (consensus of the reviewers' latest labels)",
        "reference": "a reference answer, when there is one",
        "output_b": "the second output of a pairwise item",
        "failure_tags": "the failure tags reviewers gave",
        "reviewers": "who labelled the session",
        "n_labels": "how many labels the session has",
        "comment": "reviewers' comments",
    }
    lines = "\n".join(f"| `{c}` | {described.get(c, 'session metadata')} |" for c in columns)
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return f"""---
pretty_name: {project} (judgeloop)
tags:
- judgeloop
- llm-evaluation
- human-feedback
size_categories:
- {_size_category(len(rows))}
dataset_info:
  features:
{features}
  splits:
  - name: train
    num_examples: {len(rows)}
---

# {project}: human judgments of LLM outputs

Exported from the judgeloop project `{project}` on {stamp} with
`judgeloop export --format hf`. {len(rows)} sessions, {len(labelled)} with a human label
({good} good, {len(labelled) - good} bad).

## Load

```python
from datasets import load_from_disk
ds = load_from_disk("path/to/this/folder")
```

## Columns

| column | what |
|---|---|
{lines}

## How the labels were made

Reviewers labelled sessions in judgeloop's review UI or imported labels; `good` is the consensus of
each reviewer's latest label, an adjudication decides ties, and withdrawn labels are left out.
"""


def _dtype(feature: Any) -> str:
    return str(getattr(feature, "dtype", None) or type(feature).__name__)


def _size_category(n: int) -> str:
    for bound, name in (
        (1_000, "n<1K"),
        (10_000, "1K<n<10K"),
        (100_000, "10K<n<100K"),
        (1_000_000, "100K<n<1M"),
    ):
        if n < bound:
            return name
    return "n>1M"


# --- Argilla ------------------------------------------------------------------------------------


def write_argilla(
    rows: Sequence[dict[str, Any]], columns: Sequence[str], out: str | Path, project: str
) -> Path:
    """`records.jsonl` (one flat dict per session, keys named as in the settings, so
    `dataset.records.log(records)` maps them by default: the human label becomes a suggestion of the
    `good` question, or a response with `mapping={"good": "good.response"}`) and `settings.json`
    (`rg.Settings.from_json`). Needs no Argilla package here."""
    target = Path(out)
    tmp = _folder(target)
    try:
        meta_cols = [c for c in columns if c not in TEXT_COLUMNS and c not in ("good",)]
        kinds = _metadata_kinds(rows, meta_cols)
        with (tmp / "records.jsonl").open("w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(_argilla_record(row, kinds), ensure_ascii=False) + "\n")
        settings = argilla_settings(project, kinds, has_reference=any(r.get("reference") for r in rows))
        (tmp / "settings.json").write_text(json.dumps(settings, indent=1), encoding="utf-8")
        _commit(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _metadata_kinds(rows: Sequence[dict[str, Any]], cols: Sequence[str]) -> dict[str, str]:
    """Argilla metadata property types: integer, float or terms (lists of strings and text)."""
    kinds = {}
    for col in cols:
        values = [r.get(col) for r in rows if r.get(col) is not None]
        if not values:
            continue
        if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            kinds[col] = "integer"
        elif all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            kinds[col] = "float"
        elif all(
            isinstance(v, (str, bool)) or (isinstance(v, list) and all(isinstance(x, str) for x in v))
            for v in values
        ):
            kinds[col] = "terms"
    return kinds


def _argilla_record(row: dict[str, Any], kinds: dict[str, str]) -> dict[str, Any]:
    model_input = row.get("model_input")
    try:
        parsed = (
            json.loads(model_input)
            if isinstance(model_input, str) and model_input.startswith("[")
            else model_input
        )
    except json.JSONDecodeError:
        parsed = model_input
    text = input_text(parsed) if isinstance(parsed, list) else str(model_input or "")
    record: dict[str, Any] = {"id": row["session_id"], "input": text, "output": row.get("model_output") or ""}
    if row.get("reference"):
        record["reference"] = row["reference"]
    if row.get("good") is not None:
        record["good"] = ARGILLA_LABELS[0] if row["good"] else ARGILLA_LABELS[1]
    for col, kind in kinds.items():
        value = row.get(col)
        if value is None:
            continue
        record[col] = [str(value)] if kind == "terms" and isinstance(value, (str, bool)) else value
    return record


def argilla_settings(project: str, kinds: dict[str, str], has_reference: bool) -> dict[str, Any]:
    """An `rg.Settings` in the form `Settings.serialize()` writes and `Settings.from_json` reads."""
    fields = [
        {
            "name": "input",
            "title": "Input",
            "required": True,
            "settings": {"type": "text", "use_markdown": False},
        },
        {
            "name": "output",
            "title": "Output",
            "required": True,
            "settings": {"type": "text", "use_markdown": False},
        },
    ]
    if has_reference:
        fields.append(
            {
                "name": "reference",
                "title": "Reference",
                "required": False,
                "settings": {"type": "text", "use_markdown": False},
            }
        )
    question = {
        "name": "good",
        "title": "Is the output good?",
        "description": "judgeloop's human label (consensus of the reviewers' latest labels)",
        "required": True,
        "settings": {
            "type": "label_selection",
            "options": [{"value": v, "text": v} for v in ARGILLA_LABELS],
            "visible_options": None,
        },
    }
    metadata = [
        {
            "name": name,
            "title": name,
            "visible_for_annotators": True,
            "settings": {
                "type": kind,
                "visible_for_annotators": True,
                **({"values": None} if kind == "terms" else {"min": None, "max": None}),
            },
        }
        for name, kind in kinds.items()
    ]
    return {
        "guidelines": f"Judge the outputs of the judgeloop project {project}: is each output good?",
        "questions": [question],
        "fields": fields,
        "vectors": [],
        "metadata": metadata,
        "allow_extra_metadata": False,
        "distribution": {"strategy": "overlap", "min_submitted": 1},
        "mapping": None,
    }


__all__ = ["argilla_settings", "dataset_card", "write_argilla", "write_hf"]
