"""Read and write labelled datasets: CSV, JSONL, JSON, Parquet, and Hugging Face datasets.

Every reader validates the whole file before anything is written, and every problem is reported as
`InvalidInput` naming the file, the row (1-based, header excluded), the field and what was expected.
"""

from __future__ import annotations

import csv
import itertools
import json
import math
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from judgeloop.errors import InvalidInput
from judgeloop.types import Label, Session, content_hash
from judgeloop.values import check_label, check_session

MAX_CELL_CHARS = 1_000_000
OnError = Literal["raise", "skip"]
TRUE_WORDS = {"1", "1.0", "true", "t", "yes", "y", "good", "pass", "passed", "ok", "correct"}
FALSE_WORDS = {"0", "0.0", "false", "f", "no", "n", "bad", "fail", "failed", "incorrect"}
LABEL_EXPECTED = "1/0, true/false, yes/no, good/bad, pass/fail, or a blank cell"
KNOWN_ID_COLS = ("session_id", "id")
# OWASP CSV injection: a cell starting with one of these runs as a formula in a spreadsheet.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
MAX_JSON_DEPTH = 100  # deeper values are refused (a 100,000-deep line would exhaust the stack)
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
    record: dict[str, Any] | None = None  # the row as read (stream_dataset), for a rejects file


@dataclass
class Reject:
    """A row left out by `on_error="skip"`: where, which field, why, and the row as read."""

    row: int
    field: str | None
    reason: str
    record: dict[str, Any]


@dataclass
class Dataset:
    path: str
    rows: list[ImportedRow] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)

    @property
    def labelled(self) -> list[ImportedRow]:
        return [r for r in self.rows if r.label is not None]

    @property
    def empty_outputs(self) -> int:
        """Rows whose model said nothing (an empty output is a real session, imported like any other)."""
        return sum(1 for r in self.rows if not r.session.model_output.strip())


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
    """Rows read one at a time (constant memory); invalid UTF-8 is reported with its line."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            yield from _csv_rows(fh, path, delimiter)
    except UnicodeDecodeError:
        _decode(path)  # raises InvalidInput naming the byte and line
        raise


def _csv_rows(fh: Any, path: Path, delimiter: str) -> Iterator[dict[str, Any]]:
    csv.field_size_limit(sys.maxsize)
    reader = csv.DictReader(fh, delimiter=delimiter, strict=True)
    if not reader.fieldnames:
        raise InvalidInput("the file is empty", file=str(path), expected="a header row and data rows")
    reader.fieldnames = [restore_cell(name) for name in reader.fieldnames]
    start = reader.line_num + 1  # the physical line where the next record begins
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
            yield {k: restore_cell(v) if isinstance(v, str) else v for k, v in record.items()}
            start = reader.line_num + 1
    except csv.Error as exc:
        hint = ""
        if "unexpected end of data" in str(exc) or "EOF" in str(exc):
            hint = f"a quoted cell opened on line {start} is never closed"
        raise InvalidInput(
            f"malformed CSV at line {start}: {hint or exc}",
            file=str(path),
            row=start - 1,
            expected='quotes in pairs: a cell with a comma, quote or line break in "..." and "" for a quote',
        ) from None


def _jsonl_records(path: Path) -> Iterator[dict[str, Any]]:
    """One object per line, read one line at a time (constant memory)."""
    try:
        with path.open(encoding="utf-8-sig", newline="\n") as fh:  # lines end at \n only: U+2028 is JSON
            yield from _jsonl_lines(fh, path)
    except UnicodeDecodeError:
        _decode(path)  # raises InvalidInput naming the byte and line
        raise


def _jsonl_lines(fh: Any, path: Path) -> Iterator[dict[str, Any]]:
    for number, line in enumerate(fh, start=1):
        if not line.strip():
            continue
        try:
            record = _loads_bounded(line)
        except json.JSONDecodeError as exc:
            raise InvalidInput(
                f"broken JSON line: {exc.msg} at column {exc.colno}",
                file=str(path),
                row=number,
                expected="one JSON object per line",
            ) from None
        except _TooDeep:
            raise InvalidInput(
                f"JSON nested more than {MAX_JSON_DEPTH} levels deep",
                file=str(path),
                row=number,
                expected=f"objects and lists nested at most {MAX_JSON_DEPTH} levels",
            ) from None
        if not isinstance(record, dict):
            raise InvalidInput(
                f"a JSON {type(record).__name__} where an object was expected",
                file=str(path),
                row=number,
                expected="one JSON object per line",
            )
        yield record


class _TooDeep(ValueError):
    pass


def _max_depth(text: str) -> int:
    """How deeply brackets nest in a JSON text, ignoring those inside strings (no recursion)."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def _loads_bounded(text: str) -> Any:
    """json.loads, but values nested deeper than MAX_JSON_DEPTH raise _TooDeep (never RecursionError)."""
    brackets = text.count("[") + text.count("{")  # fewer brackets than the limit cannot nest deeper
    if brackets > MAX_JSON_DEPTH and _max_depth(text) > MAX_JSON_DEPTH:
        raise _TooDeep
    try:
        return json.loads(text)
    except RecursionError:
        raise _TooDeep from None


def _json_records(path: Path) -> Iterator[dict[str, Any]]:
    try:
        data = _loads_bounded(_decode(path))
    except _TooDeep:
        raise InvalidInput(
            f"JSON nested more than {MAX_JSON_DEPTH} levels deep",
            file=str(path),
            expected=f"objects and lists nested at most {MAX_JSON_DEPTH} levels",
        ) from None
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
        batches = pq.ParquetFile(path).iter_batches(batch_size=1000)
        first = next(batches, None)
    except Exception as exc:  # pyarrow's errors for a corrupt file vary by version
        raise InvalidInput(f"not a readable Parquet file ({exc})", file=str(path)) from None
    if first is not None:
        yield from first.to_pylist()
    for batch in batches:  # one row group slice at a time (constant memory)
        yield from batch.to_pylist()


def iter_records(path: str | Path) -> Iterator[dict[str, Any]]:
    """The raw rows of a file one at a time, by its extension (.csv .tsv .jsonl .json .parquet, or a
    dataset folder). CSV, JSONL and Parquet are streamed; a .json document is one value, read whole."""
    p = Path(path)
    if not p.exists():
        raise InvalidInput("no such file or folder", file=str(p))
    suffix = p.suffix.lower()
    if p.is_dir() or suffix in (".parquet", ".pq"):
        return _table_records(p)
    if suffix in (".csv", ".tsv"):
        return _csv_records(p, "\t" if suffix == ".tsv" else ",")
    if suffix in (".jsonl", ".ndjson"):
        return _jsonl_records(p)
    if suffix == ".json":
        return _json_records(p)
    raise InvalidInput(
        f"unknown file type '{suffix}'",
        file=str(p),
        expected=".csv, .tsv, .jsonl, .json, .parquet or a saved Hugging Face dataset folder",
    )


def read_records(path: str | Path) -> list[dict[str, Any]]:
    """The raw rows of a file, by its extension (.csv .tsv .jsonl .json .parquet, or a dataset folder)."""
    records = list(iter_records(path))
    if not records:
        raise InvalidInput("the file has no data rows", file=str(path), expected="at least one row")
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


@dataclass
class RowStream:
    """A file's rows validated one at a time (`stream_dataset`): ImportedRow or, with
    on_error="skip", Reject items. `id_field` names the id column when ids are declared (then a
    repeated id is an error); without one, ids are content hashes (a repeat is the same session)."""

    path: str
    id_field: str | None  # the id column, when ids are declared
    items: Iterator[ImportedRow | Reject]

    def __iter__(self) -> Iterator[ImportedRow | Reject]:
        return self.items


def stream_dataset(
    path: str | Path,
    *,
    input_col: str = "model_input",
    output_col: str = "model_output",
    label_col: str | None = "good",
    reference_col: str | None = None,
    id_col: str | None = None,
    output_b_col: str | None = None,
    reviewer: str = "import",
    on_error: OnError = "raise",
    records: Iterable[dict[str, Any]] | None = None,
) -> RowStream:
    """Like read_dataset, but row by row in constant memory (imports of any size). Repeated ids are
    not checked here (that needs every id; the store's import checks them). `records`: the file's
    rows already read (and converted, see judgeloop.interop)."""
    file = str(path)
    records = iter_records(path) if records is None else iter(records)
    head = list(itertools.islice(records, 1000))
    if not head:
        raise InvalidInput("the file has no data rows", file=file, expected="at least one row")
    cols = _columns_for(head, file, input_col, output_col, label_col, reference_col, id_col, output_b_col)

    def items() -> Iterator[ImportedRow | Reject]:
        for number, record in enumerate(itertools.chain(head, records), start=1):
            try:
                item = _to_row(record, number, cols, file, reviewer)
            except InvalidInput as exc:
                if on_error != "skip":
                    raise
                yield _reject(number, exc, record)
                continue
            item.record = record
            yield item

    return RowStream(file, cols.id, items())


def _reject(number: int, exc: InvalidInput, record: dict[str, Any]) -> Reject:
    reason = exc.message + (f" (expected {exc.expected})" if exc.expected else "")
    return Reject(number, exc.field, reason, record)


def _columns_for(
    head: list[dict[str, Any]],
    file: str,
    input_col: str,
    output_col: str,
    label_col: str | None,
    reference_col: str | None,
    id_col: str | None,
    output_b_col: str | None,
) -> Columns:
    cols = Columns(input_col, output_col, label_col, reference_col, id_col, output_b_col)
    _check_columns(head, cols, file)
    if cols.reference is None and "reference" in head[0]:
        cols.reference = "reference"
    if cols.id is None:
        cols.id = next((c for c in KNOWN_ID_COLS if c in head[0]), None)
    return cols


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
    on_error: OnError = "raise",
    records: list[dict[str, Any]] | None = None,
) -> Dataset:
    """Read and validate a labelled (or unlabelled) dataset. Raises InvalidInput; never half-reads.

    `on_error="skip"` keeps the valid rows and lists the invalid ones in `Dataset.rejects` instead
    (problems with the whole file, such as a missing column, still raise). `records` are the file's
    rows already read (and converted, see judgeloop.interop)."""
    file = str(path)
    records = read_records(path) if records is None else records
    cols = _columns_for(records, file, input_col, output_col, label_col, reference_col, id_col, output_b_col)
    dataset = Dataset(path=file)
    seen_ids: dict[str, int] = {}
    for number, record in enumerate(records, start=1):
        try:
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
        except InvalidInput as exc:
            if on_error != "skip":
                raise
            dataset.rejects.append(_reject(number, exc, record))
            continue
        seen_ids.setdefault(sid, number)
        dataset.rows.append(item)
    if not dataset.rows:
        first = dataset.rejects[0]
        raise InvalidInput(
            f"every row was rejected; the first: {first.reason}", file=file, row=first.row, field=first.field
        )
    return dataset


class RejectsWriter:
    """Rejected rows written as they come (constant memory) to a temp file, renamed into place when
    the run ends; nothing is left behind when there were none."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.count = 0
        self._tmp = self.path.with_name(f".{self.path.name}.tmp-{os.getpid()}")
        self._fh: Any = None

    def __call__(self, reject: Reject) -> None:
        if self._fh is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = self._tmp.open("w", encoding="utf-8")
        record = {"row": reject.row, "field": reject.field, "reason": reject.reason, "record": reject.record}
        self._fh.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
        self.count += 1

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._tmp.replace(self.path)
            self._fh = None


def write_rejects(rejects: Sequence[Reject], path: str | Path) -> None:
    """The rejected rows as JSONL (row, field, reason, record), written atomically."""
    lines = [
        json.dumps(
            {"row": r.row, "field": r.field, "reason": r.reason, "record": r.record},
            ensure_ascii=False,
            default=str,
        )
        for r in rejects
    ]
    atomic_write_text(path, "".join(line + "\n" for line in lines))


def _to_row(record: dict[str, Any], row: int, cols: Columns, file: str, reviewer: str) -> ImportedRow:
    raw_input = record.get(cols.input)
    if isinstance(raw_input, list):
        model_input: str | list[dict[str, Any]] = parse_input(raw_input)
    else:
        model_input = parse_input(_text(record, cols.input, file, row, required=True))
    output = _text(record, cols.output, file, row, required=False)
    if output is None:  # the model said nothing: a real session (kept as written; blank cells are "")
        raw_output = record.get(cols.output)
        output = raw_output if isinstance(raw_output, str) else ""
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
            metadata=label_spelling(record.get(cols.label or "")),
        )
    check_session(session, file=file, row=row)
    if label is not None:
        check_label(label, file=file, row=row)
    return ImportedRow(row=row, session=session, label=label)


# --- export -----------------------------------------------------------------------------------

SEED_COLUMNS = ("model_input", "model_output", "good")
SOURCE_LABEL_KEY = "source_label"  # a label cell's text as imported (TRUE/FALSE from Google Sheets)


def label_spelling(value: Any) -> dict[str, Any]:
    """Label metadata that keeps how a text cell spelt the label, so that a seed export can write it
    back the same way; nothing for numbers and booleans."""
    return {SOURCE_LABEL_KEY: value.strip()} if isinstance(value, str) and value.strip() else {}


def seed_label_style(spellings: list[str]) -> str:
    """TRUE/FALSE when the labels came in that way (every spelt label is TRUE or FALSE), else 1/0."""
    sheets = {"TRUE", "FALSE"}
    return "TRUE/FALSE" if spellings and all(x in sheets for x in spellings) else "1/0"


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
            fh.write(sep.join(_quote(neutralise_cell(c), sep) for c in cols) + "\n")
            for r in records:
                fh.write(sep.join(_quote(_csv_text(r.get(k)), sep) for k in cols) + "\n")
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


def neutralise_cell(text: str) -> str:
    """A text cell as CSV export writes it: one that a spreadsheet would run as a formula (starts with
    = + - @ tab or CR) gets a leading apostrophe (OWASP CSV-injection guidance); so does one that
    already starts with an apostrophe, so that `restore_cell` gives back the exact text."""
    return "'" + text if text.startswith((*FORMULA_START, "'")) else text


def restore_cell(text: str) -> str:
    """Undo `neutralise_cell` (CSV import): an apostrophe before = + - @ tab CR or ' is dropped."""
    return text[1:] if text.startswith("'") and text[1:2] and text[1] in "=+-@\t\r'" else text


def _quote(cell: str, sep: str) -> str:
    """RFC 4180 quoting (the csv module leaves a lone \\r unquoted when lines end in \\n)."""
    if any(ch in cell for ch in (sep, '"', "\n", "\r")):
        return '"' + cell.replace('"', '""') + '"'
    return cell


def _csv_text(value: Any) -> str:
    """Text cells are neutralised against formula injection; numbers stay numbers (-0.5 is no formula)."""
    cell = _csv_cell(value)
    return neutralise_cell(cell) if isinstance(cell, str) else str(cell)


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


class AtomicLines:
    """A text file written line by line, whole or not at all: `with AtomicLines(path) as f: f.write(line)`
    writes to a temp file beside it, renamed into place when the block ends without an error."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.tmp = self.path.with_name(f".{self.path.name}.tmp-{os.getpid()}")
        self._file: Any = None

    def __enter__(self) -> AtomicLines:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.tmp.open("w", encoding="utf-8")
        return self

    def write(self, line: str) -> None:
        self._file.write(line + "\n")

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            self._file.close()
            if exc_type is None:
                self.tmp.replace(self.path)
        finally:
            self.tmp.unlink(missing_ok=True)
