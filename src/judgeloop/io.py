"""Read and write labelled datasets: CSV, JSONL, JSON, Parquet, and Hugging Face datasets.

Every reader validates the whole file before anything is written, and every problem is reported as
`InvalidInput` naming the file, the row (1-based, header excluded), the field and what was expected.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from judgeloop.errors import InvalidInput
from judgeloop.types import Label, Session, content_hash

MAX_CELL_CHARS = 1_000_000
TRUE_WORDS = {"1", "1.0", "true", "t", "yes", "y", "good", "pass", "passed", "ok", "correct"}
FALSE_WORDS = {"0", "0.0", "false", "f", "no", "n", "bad", "fail", "failed", "incorrect"}
LABEL_EXPECTED = "1/0, true/false, yes/no, good/bad, pass/fail, or a blank cell"
KNOWN_ID_COLS = ("session_id", "id")
SOURCE_INPUT_KEY = "_source_input"


@dataclass
class Columns:
    """Which source column holds which field. Extra columns become session metadata."""

    input: str = "model_input"
    output: str = "model_output"
    label: str | None = "good"
    reference: str | None = None
    id: str | None = None
    output_b: str | None = None
    tags: str = "failure_tags"
    reviewer: str = "reviewer"
    comment: str = "comment"


@dataclass
class ImportedRow:
    row: int
    session: Session
    label: Label | None = None


@dataclass
class Dataset:
    path: str
    rows: list[ImportedRow] = field(default_factory=list)

    @property
    def labelled(self) -> list[ImportedRow]:
        return [r for r in self.rows if r.label is not None]


# --- raw records ------------------------------------------------------------------------------


def _decode(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InvalidInput(
            f"invalid UTF-8 at byte {exc.start} (line {line})", file=str(path), expected="a UTF-8 text file"
        ) from None


def _csv_records(path: Path, delimiter: str) -> Iterator[dict[str, Any]]:
    text = _decode(path)
    csv.field_size_limit(sys.maxsize)
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    if not reader.fieldnames:
        raise InvalidInput("the file is empty", file=str(path), expected="a header row and data rows")
    try:
        for record in reader:
            if None in record:
                raise InvalidInput(
                    f"has {len(reader.fieldnames) + len(record[None])} cells, the header has "
                    f"{len(reader.fieldnames)}",
                    file=str(path),
                    row=reader.line_num - 1,
                    expected="one cell per header column (quote cells that contain commas)",
                )
            yield record
    except csv.Error as exc:
        raise InvalidInput(f"malformed CSV: {exc}", file=str(path), row=reader.line_num - 1) from None


def _jsonl_records(path: Path) -> Iterator[dict[str, Any]]:
    for number, line in enumerate(_decode(path).split("\n"), start=1):  # not splitlines: U+2028 is JSON
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidInput(
                f"broken JSON line: {exc.msg} at column {exc.colno}",
                file=str(path),
                row=number,
                expected="one JSON object per line",
            ) from None
        if not isinstance(record, dict):
            raise InvalidInput(
                f"a JSON {type(record).__name__} where an object was expected",
                file=str(path),
                row=number,
                expected="one JSON object per line",
            )
        yield record


def _json_records(path: Path) -> Iterator[dict[str, Any]]:
    try:
        data = json.loads(_decode(path))
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"broken JSON: {exc.msg} at line {exc.lineno}", file=str(path), expected="a JSON list of objects"
        ) from None
    if not isinstance(data, list):
        raise InvalidInput(
            "the JSON document is not a list", file=str(path), expected="a JSON list of objects"
        )
    for number, record in enumerate(data, start=1):
        if not isinstance(record, dict):
            raise InvalidInput("not an object", file=str(path), row=number, expected="a JSON object")
        yield record


def _table_records(path: Path) -> Iterator[dict[str, Any]]:
    if path.is_dir():
        from datasets import load_from_disk

        try:
            ds = load_from_disk(str(path))
        except Exception as exc:  # datasets raises several types for a folder that is not a dataset
            raise InvalidInput(
                f"not a Hugging Face dataset saved with save_to_disk ({exc})", file=str(path)
            ) from None
        if hasattr(ds, "keys"):  # a DatasetDict: take 'train' or the only split
            split = "train" if "train" in ds else next(iter(ds.keys()))
            ds = ds[split]
        yield from ds.to_list()
        return
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow's errors for a corrupt file vary by version
        raise InvalidInput(f"not a readable Parquet file ({exc})", file=str(path)) from None
    yield from table.to_pylist()


def read_records(path: str | Path) -> list[dict[str, Any]]:
    """The raw rows of a file, by its extension (.csv .tsv .jsonl .json .parquet, or a dataset folder)."""
    p = Path(path)
    if not p.exists():
        raise InvalidInput("no such file or folder", file=str(p))
    suffix = p.suffix.lower()
    if p.is_dir() or suffix in (".parquet", ".pq"):
        records = list(_table_records(p))
    elif suffix in (".csv", ".tsv"):
        records = list(_csv_records(p, "\t" if suffix == ".tsv" else ","))
    elif suffix in (".jsonl", ".ndjson"):
        records = list(_jsonl_records(p))
    elif suffix == ".json":
        records = list(_json_records(p))
    else:
        raise InvalidInput(
            f"unknown file type '{suffix}'",
            file=str(p),
            expected=".csv, .tsv, .jsonl, .json, .parquet or a saved Hugging Face dataset folder",
        )
    if not records:
        raise InvalidInput("the file has no data rows", file=str(p), expected="at least one row")
    return records


# --- fields -----------------------------------------------------------------------------------


def _blank(value: Any) -> bool:
    return (
        value is None
        or (isinstance(value, float) and math.isnan(value))
        or (isinstance(value, str) and not value.strip())
    )


def parse_label(
    value: Any, *, file: str | None = None, row: int | None = None, field: str = "good"
) -> bool | None:
    """A good/bad cell as True/False, None for a blank cell; anything else is an error."""
    if _blank(value):
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise InvalidInput(
        f"label value {str(value)[:40]!r} is not allowed",
        file=file,
        row=row,
        field=field,
        expected=LABEL_EXPECTED,
    )


def parse_input(value: Any) -> str | list[dict[str, Any]]:
    """Chat-style inputs (a JSON list of {role, content} messages) are kept as structure."""
    if isinstance(value, list) and all(isinstance(m, dict) and "content" in m for m in value):
        return value
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    stripped = text.strip()
    if stripped.startswith("[") and stripped.endswith("]"):
        try:
            parsed = json.loads(stripped)
        except json.JSONDecodeError:
            return text
        if (
            parsed
            and isinstance(parsed, list)
            and all(isinstance(m, dict) and "content" in m for m in parsed)
        ):
            return parsed
    return text


def _parse_tags(value: Any) -> list[str]:
    if _blank(value):
        return []
    if isinstance(value, list):
        return [str(t).strip() for t in value if str(t).strip()]
    sep = ";" if ";" in str(value) else ","
    return [t.strip() for t in str(value).split(sep) if t.strip()]


def _text(record: dict[str, Any], col: str, file: str, row: int, *, required: bool) -> str | None:
    value = record.get(col)
    if _blank(value):
        if required:
            raise InvalidInput("empty cell", file=file, row=row, field=col, expected="non-empty text")
        return None
    text = (
        value
        if isinstance(value, str)
        else (json.dumps(value, ensure_ascii=False) if isinstance(value, (list, dict)) else str(value))
    )
    if len(text) > MAX_CELL_CHARS:
        raise InvalidInput(
            f"cell has {len(text):,} characters",
            file=file,
            row=row,
            field=col,
            expected=f"at most {MAX_CELL_CHARS:,} characters",
        )
    return text


def _check_columns(records: list[dict[str, Any]], cols: Columns, file: str) -> None:
    present = set().union(*(r.keys() for r in records[:1000]))
    needed = [c for c in (cols.input, cols.output) if c]
    for opt in (cols.reference, cols.output_b):
        if opt:
            needed.append(opt)
    if cols.label and cols.label != "good":
        needed.append(cols.label)
    missing = [c for c in needed if c not in present]
    if missing:
        raise InvalidInput(
            f"missing column(s) {', '.join(repr(c) for c in missing)}; found "
            f"{', '.join(sorted(map(str, present)))}",
            file=file,
            field=missing[0],
            expected="use --input-col/--output-col/--label-col/--reference-col to map columns",
        )


# --- public readers ---------------------------------------------------------------------------


def read_dataset(
    path: str | Path,
    *,
    input_col: str = "model_input",
    output_col: str = "model_output",
    label_col: str | None = "good",
    reference_col: str | None = None,
    id_col: str | None = None,
    output_b_col: str | None = None,
    reviewer: str = "import",
    records: list[dict[str, Any]] | None = None,
) -> Dataset:
    """Read and validate a labelled (or unlabelled) dataset. Raises InvalidInput; never half-reads.
    `records` are the file's rows already read (and converted, see judgeloop.interop)."""
    file = str(path)
    records = read_records(path) if records is None else records
    cols = Columns(input_col, output_col, label_col, reference_col, id_col, output_b_col)
    _check_columns(records, cols, file)
    if cols.reference is None and "reference" in records[0]:
        cols.reference = "reference"
    if cols.id is None:
        cols.id = next((c for c in KNOWN_ID_COLS if c in records[0]), None)
    dataset = Dataset(path=file)
    seen_ids: dict[str, int] = {}
    for number, record in enumerate(records, start=1):
        item = _to_row(record, number, cols, file, reviewer)
        sid = item.session.id or ""
        if cols.id and sid in seen_ids:
            raise InvalidInput(
                f"duplicate id {sid!r} (first on row {seen_ids[sid]})",
                file=file,
                row=number,
                field=cols.id,
                expected="unique ids",
            )
        seen_ids.setdefault(sid, number)
        dataset.rows.append(item)
    return dataset


def _to_row(record: dict[str, Any], row: int, cols: Columns, file: str, reviewer: str) -> ImportedRow:
    raw_input = record.get(cols.input)
    if isinstance(raw_input, list):
        model_input: str | list[dict[str, Any]] = parse_input(raw_input)
    else:
        model_input = parse_input(_text(record, cols.input, file, row, required=True))
    output = _text(record, cols.output, file, row, required=True) or ""
    output_b = _text(record, cols.output_b, file, row, required=True) if cols.output_b else None
    reference = _text(record, cols.reference, file, row, required=False) if cols.reference else None
    sid = _text(record, cols.id, file, row, required=True) if cols.id else None
    used = {
        cols.input,
        cols.output,
        cols.label,
        cols.reference,
        cols.id,
        cols.output_b,
        cols.tags,
        cols.reviewer,
        cols.comment,
    }
    meta = {k: v for k, v in record.items() if k not in used and not _blank(v)}
    if (
        isinstance(raw_input, str)
        and not isinstance(model_input, str)
        and input_cell(model_input) != raw_input
    ):
        meta[SOURCE_INPUT_KEY] = raw_input  # the chat JSON exactly as written, so exports round-trip
    session = Session(
        id=sid or content_hash(model_input, output, output_b),
        model_input=model_input,
        model_output=output,
        output_b=output_b,
        reference=reference,
        metadata=meta,
        source=file,
    )
    good = parse_label(record.get(cols.label), file=file, row=row, field=cols.label) if cols.label else None
    label = None
    if good is not None:
        who = record.get(cols.reviewer)
        label = Label(
            session_id=session.id or "",
            reviewer=str(who).strip() if not _blank(who) else reviewer,
            kind="binary",
            good=good,
            failure_tags=_parse_tags(record.get(cols.tags)),
            comment=None if _blank(record.get(cols.comment)) else str(record.get(cols.comment)),
        )
    return ImportedRow(row=row, session=session, label=label)


# --- export -----------------------------------------------------------------------------------

SEED_COLUMNS = ("model_input", "model_output", "good")


def input_cell(model_input: str | list[dict[str, Any]], metadata: dict[str, Any] | None = None) -> str:
    """An input as one text cell: the text, or the chat messages as JSON (as imported, when known)."""
    if metadata and isinstance(metadata.get(SOURCE_INPUT_KEY), str):
        return str(metadata[SOURCE_INPUT_KEY])
    return model_input if isinstance(model_input, str) else json.dumps(model_input, ensure_ascii=False)


def write_records(
    records: Sequence[dict[str, Any]], out: str | Path, columns: Sequence[str] | None = None
) -> None:
    """Write rows as CSV, JSONL, JSON or Parquet (by extension), atomically (temp file, then rename)."""
    p = Path(out)
    suffix = p.suffix.lower()
    tmp = p.with_name(f".{p.name}.tmp")
    cols = list(columns) if columns else list(dict.fromkeys(k for r in records for k in r))
    if suffix in (".csv", ".tsv"):
        sep = "\t" if suffix == ".tsv" else ","
        with tmp.open("w", encoding="utf-8", newline="") as fh:
            fh.write(sep.join(_quote(c, sep) for c in cols) + "\n")
            for r in records:
                fh.write(sep.join(_quote(str(_csv_cell(r.get(k))), sep) for k in cols) + "\n")
    elif suffix in (".jsonl", ".ndjson"):
        with tmp.open("w", encoding="utf-8") as fh:
            for r in records:
                fh.write(json.dumps({k: r.get(k) for k in cols}, ensure_ascii=False, default=str) + "\n")
    elif suffix == ".json":
        tmp.write_text(
            json.dumps(
                [{k: r.get(k) for k in cols} for r in records], ensure_ascii=False, indent=1, default=str
            ),
            encoding="utf-8",
        )
    elif suffix in (".parquet", ".pq"):
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pylist([{k: _parquet_cell(r.get(k)) for k in cols} for r in records])
        pq.write_table(table, tmp)
    else:
        raise InvalidInput(
            f"unknown output type '{suffix}'", file=str(p), expected=".csv, .jsonl, .json or .parquet"
        )
    tmp.replace(p)


def _quote(cell: str, sep: str) -> str:
    """RFC 4180 quoting (the csv module leaves a lone \\r unquoted when lines end in \\n)."""
    if any(ch in cell for ch in (sep, '"', "\n", "\r")):
        return '"' + cell.replace('"', '""') + '"'
    return cell


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return ";".join(value)
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return value


def _parquet_cell(value: Any) -> Any:
    if isinstance(value, dict) or (isinstance(value, list) and not all(isinstance(v, str) for v in value)):
        return json.dumps(value, ensure_ascii=False)
    return value


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write a text file whole or not at all (temp file beside it, then rename)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f".{p.name}.tmp-{os.getpid()}")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(p)
    finally:
        tmp.unlink(missing_ok=True)
