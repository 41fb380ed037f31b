"""A session's own time, from a file column or an API field.

Accepted: ISO 8601 (`2026-01-31T12:00:00Z`, `2026-01-31 12:00:00+02:00`, `2026-01-31`) and epoch
seconds or milliseconds (a number above 10^11 is taken as milliseconds). A time without a timezone is
UTC. Everything comes back as an aware UTC datetime; anything else is an InvalidInput naming the row.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from datetime import date, datetime, timezone
from typing import Any, Protocol

from judgeloop.errors import InvalidInput

TIME_COLUMNS = ("created_at", "timestamp")  # used on import when no --time-col is given
EXPECTED = "an ISO 8601 time (2026-01-31T12:00:00Z) or epoch seconds / milliseconds"
MS_ABOVE = 1e11  # epoch seconds reach 10^11 in the year 5138
LIMIT_S = 253402300799  # 9999-12-31T23:59:59Z


def parse_timestamp(
    value: Any, *, file: str | None = None, row: int | None = None, field: str = "created_at"
) -> datetime:
    """`value` as an aware UTC datetime; InvalidInput (file, row, field) when it is not a time."""
    try:
        parsed = _parse(value)
    except (ValueError, OverflowError, OSError, TypeError):
        parsed = None
    if parsed is None:
        raise InvalidInput(
            f"{str(value)[:60]!r} is not a time", file=file, row=row, field=field, expected=EXPECTED
        )
    return parsed


def _parse(value: Any) -> datetime | None:
    if isinstance(value, bool) or value is None:
        return None
    if hasattr(value, "to_pydatetime"):  # a pandas Timestamp (Parquet)
        value = value.to_pydatetime()
    if isinstance(value, datetime):
        return _utc(value)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
    if isinstance(value, int | float):
        return _epoch(float(value))
    text = str(value).strip()
    if not text:
        return None
    try:
        return _epoch(float(text))
    except ValueError:
        pass
    return _utc(datetime.fromisoformat(text.replace("z", "Z")))


def _epoch(seconds: float) -> datetime | None:
    if not math.isfinite(seconds):
        return None
    if abs(seconds) >= MS_ABOVE:
        seconds /= 1000.0
    if not 0 <= seconds <= LIMIT_S:
        return None
    return datetime.fromtimestamp(seconds, tz=timezone.utc)


def _utc(t: datetime) -> datetime:
    return t.replace(tzinfo=timezone.utc) if t.tzinfo is None else t.astimezone(timezone.utc)


class _Row(Protocol):
    row: int
    session: Any


class TimedRows:
    """`apply_time_column` for a stream: rows pass through with their session's time set; `used` names
    the column taken (after the stream is consumed). An explicit `column` missing from a row is an
    error naming the row; without one, a row's first `created_at` / `timestamp` value is used."""

    def __init__(self, rows: Iterable[Any], column: str | None, file: str) -> None:
        self.rows, self.column, self.file = rows, column, file
        self.used: str | None = None

    def __iter__(self) -> Iterator[Any]:
        for r in self.rows:
            session = getattr(r, "session", None)
            if session is not None:
                self._time(r, session.metadata)
            yield r

    def _time(self, r: Any, meta: dict[str, Any]) -> None:
        column = self.column or next((c for c in TIME_COLUMNS if c in meta), None)
        if column is None:
            return
        if column not in meta:
            raise InvalidInput("no time", file=self.file, row=r.row, field=column, expected=EXPECTED)
        r.session.created_at = parse_timestamp(meta.pop(column), file=self.file, row=r.row, field=column)
        self.used = column


def apply_time_column(rows: Iterable[_Row], column: str | None, file: str) -> str | None:
    """Give each imported row's session its own time from `column` (which `judgeloop.io` kept in the
    session's metadata) and take the column out of the metadata. Without `column`, the first of
    `created_at` / `timestamp` is used when the file has one (blank cells then keep the import time).
    Returns the column used, if any."""
    rows = list(rows)
    explicit = column is not None
    if column is None:
        column = next((c for c in TIME_COLUMNS if any(c in r.session.metadata for r in rows)), None)
        if column is None:
            return None
    elif rows and not any(column in r.session.metadata for r in rows):
        raise InvalidInput(
            "no such column, or no value in it", file=file, field=column, expected="a column of times"
        )
    for r in rows:
        meta = r.session.metadata
        if column not in meta:
            if explicit:
                raise InvalidInput("no time", file=file, row=r.row, field=column, expected=EXPECTED)
            continue
        r.session.created_at = parse_timestamp(meta.pop(column), file=file, row=r.row, field=column)
    return column
