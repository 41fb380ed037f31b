"""One rule for the values the store keeps, the same on SQLite and PostgreSQL.

- Text may not contain NUL characters (U+0000): PostgreSQL cannot store them in text or JSON, SQLite
  can; rather than differ, both refuse them with an error naming the field.
- Numbers must be finite: NaN, Infinity and numbers too large for a double (`1e400`, which JSON
  parsing turns into Infinity) are refused; they are not JSON and PostgreSQL's JSON type rejects them.
- Labels are bounded like session fields: at most `MAX_TAGS` failure tags of `MAX_TAG_CHARS` each, a
  comment and metadata of at most `MAX_LABEL_CHARS` characters (metadata measured as JSON).

The API (422), imports (the row and field named) and the store itself (for library callers) all check
through `check_value` / `check_label`.
"""

from __future__ import annotations

import json
import math
from typing import Any

from judgeloop.errors import InvalidInput

MAX_TAGS = 100
MAX_TAG_CHARS = 100
MAX_LABEL_CHARS = 100_000
MAX_SCORES = 100


def _where(path: str) -> str:
    return f" at {path}" if path else ""


def find_bad_value(value: Any) -> str | None:
    """What is wrong with a JSON-like value (NUL text, non-finite number), or None. Iterative, so a
    deeply nested value cannot exhaust the stack."""
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return f"contains a NUL character (\\u0000){_where(path)}"
        elif isinstance(item, float):
            if not math.isfinite(item):
                return f"non-finite number {item!r}{_where(path)}"
        elif isinstance(item, dict):
            for key, sub in item.items():
                if isinstance(key, str) and "\x00" in key:
                    return f"contains a NUL character (\\u0000) in a key{_where(path)}"
                stack.append((sub, f"{path}.{key}" if path else str(key)))
        elif isinstance(item, (list, tuple)):
            stack.extend((sub, f"{path}[{i}]") for i, sub in enumerate(item))
    return None


EXPECTED = "text without NUL characters and finite numbers (no NaN or Infinity)"


def check_value(value: Any, field: str, *, file: str | None = None, row: int | None = None) -> None:
    """Raise InvalidInput naming `field` (and the file/row) when `value` breaks the rule above."""
    problem = find_bad_value(value)
    if problem is not None:
        raise InvalidInput(problem, file=file, row=row, field=field, expected=EXPECTED)


def check_label(
    label: Any, *, file: str | None = None, row: int | None = None, max_chars: int = MAX_LABEL_CHARS
) -> None:
    """Bounds and the value rule for a Label (judgeloop.types.Label)."""
    where: dict[str, Any] = {"file": file, "row": row}
    tags = list(label.failure_tags or [])
    if len(tags) > MAX_TAGS:
        raise InvalidInput(
            f"{len(tags)} failure tags", field="failure_tags", expected=f"at most {MAX_TAGS}", **where
        )
    for tag in tags:
        if len(str(tag)) > MAX_TAG_CHARS:
            raise InvalidInput(
                f"a failure tag of {len(str(tag)):,} characters",
                field="failure_tags",
                expected=f"tags of at most {MAX_TAG_CHARS} characters",
                **where,
            )
    if label.comment is not None and len(label.comment) > max_chars:
        raise InvalidInput(
            f"the comment has {len(label.comment):,} characters",
            field="comment",
            expected=f"at most {max_chars:,}",
            **where,
        )
    if label.scores is not None and len(label.scores) > MAX_SCORES:
        raise InvalidInput(
            f"{len(label.scores)} scores", field="scores", expected=f"at most {MAX_SCORES}", **where
        )
    size = len(json.dumps(label.metadata or {}, ensure_ascii=False, default=str))
    if size > max_chars:
        raise InvalidInput(
            f"metadata is {size:,} characters as JSON",
            field="metadata",
            expected=f"at most {max_chars:,}",
            **where,
        )
    for name in ("session_id", "reviewer", "scores", "failure_tags", "comment", "metadata"):
        check_value(getattr(label, name, None), name, **where)


def check_session(session: Any, *, file: str | None = None, row: int | None = None) -> None:
    """The value rule for a Session (judgeloop.types.Session)."""
    for name in ("id", "model_input", "model_output", "output_b", "reference", "metadata", "source"):
        check_value(getattr(session, name, None), name, file=file, row=row)


__all__ = [
    "MAX_LABEL_CHARS",
    "MAX_TAGS",
    "MAX_TAG_CHARS",
    "check_label",
    "check_session",
    "check_value",
    "find_bad_value",
]
