"""A checks file for `judgeloop run --checks`: the programmatic checks every response must pass.

    checks:
      - check: word_count        # a registered check (see judgeloop.evaluators.checks)
        name: short              # optional; how the method is called in the results (default: the check)
        max_words: 120           # the check's parameters
      - check: json_valid
      - code_parses              # a check without parameters can be just its name

A top-level list works too. Every problem names the file, the item (1-based) and the field.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from judgeloop.errors import InvalidInput
from judgeloop.evaluators.checks import Check, available_checks, make_check

RESERVED = ("check", "name")


@dataclass
class NamedCheck:
    name: str
    check: Check


def _item(entry: Any, file: str, row: int) -> NamedCheck:
    if isinstance(entry, str):
        entry = {"check": entry}
    if not isinstance(entry, dict):
        raise InvalidInput("not a check", file=file, row=row, expected="a mapping with a 'check' key")
    kind = entry.get("check")
    if not isinstance(kind, str) or not kind:
        raise InvalidInput(
            "no check type", file=file, row=row, field="check", expected=", ".join(available_checks())
        )
    name = entry.get("name", kind)
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("empty name", file=file, row=row, field="name", expected="a non-empty text")
    params = {k: v for k, v in entry.items() if k not in RESERVED}
    try:
        return NamedCheck(name.strip(), make_check(kind, **params))
    except InvalidInput as exc:
        raise InvalidInput(exc.message, file=file, row=row, field="check", expected=exc.expected) from None


def load_checks(path: str | Path) -> list[NamedCheck]:
    """The checks listed in a YAML (or JSON) file, validated."""
    p = Path(path)
    if not p.is_file():
        raise InvalidInput("no such checks file", file=str(p), expected="a YAML file listing checks")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise InvalidInput(f"not valid YAML: {exc}", file=str(p)) from None
    entries = data.get("checks") if isinstance(data, dict) else data
    if not isinstance(entries, list) or not entries:
        raise InvalidInput("no checks", file=str(p), field="checks", expected="a non-empty list of checks")
    checks = [_item(entry, str(p), row) for row, entry in enumerate(entries, start=1)]
    names = [c.name for c in checks]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InvalidInput(
            f"two checks are named {dupes[0]!r}", file=str(p), field="name", expected="a unique 'name' each"
        )
    return checks
