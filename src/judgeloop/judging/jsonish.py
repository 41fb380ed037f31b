"""Find and read the JSON object in a judge's free text: fenced blocks, JSON among prose, single quotes,
trailing commas, unquoted keys, smart quotes and JSON cut off by the token limit.

`extract_objects(text)` returns every object it could read, in text order, with the span it came from.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass
from typing import Any

FENCE_RE = re.compile(r"```[ \t]*(?:json|JSON|js|javascript|python)?[ \t]*\n?(.*?)(?:```|$)", re.DOTALL)
TRAILING_COMMA_RE = re.compile(r",\s*([}\]])")
UNQUOTED_KEY_RE = re.compile(r"([{,]\s*)([A-Za-z_][A-Za-z0-9_ \-]*?)\s*:(?!//)")
SMART_QUOTES = str.maketrans({"\u201c": '"', "\u201d": '"', "\u2018": "'", "\u2019": "'"})
PY_WORDS = {"true": "True", "false": "False", "null": "None"}


@dataclass
class Found:
    value: dict[str, Any]
    start: int
    end: int


def loads_lenient(text: str) -> Any:
    """JSON, or the nearest reading of almost-JSON; raises ValueError when nothing reads."""
    text = text.strip().translate(SMART_QUOTES)
    attempts = [text, TRAILING_COMMA_RE.sub(r"\1", text)]
    attempts.append(UNQUOTED_KEY_RE.sub(r'\1"\2":', attempts[-1]))
    attempts += _truncation_repairs(attempts[1])
    for attempt in attempts:
        try:
            return json.loads(attempt)
        except ValueError:
            pass
        value = _python_literal(attempt)
        if value is not None:
            return value
    raise ValueError("no JSON could be read")


def _python_literal(text: str) -> Any:
    """Single-quoted, Python-style dicts ({'a': 1, 'ok': True}); JSON words mapped to Python."""
    if "'" not in text and not re.search(r"\b(True|False|None)\b", text):
        return None
    for candidate in (text, re.sub(r"\b(true|false|null)\b", lambda m: PY_WORDS[m.group(1)], text)):
        try:
            return ast.literal_eval(candidate)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
    return None


def _truncation_repairs(text: str) -> list[str]:
    """Close what a cut-off object left open; also try cutting back to the last complete member."""
    stack, in_string, escape, last_comma = [], False, False, -1
    for i, ch in enumerate(text):
        if escape:
            escape = False
        elif ch == "\\" and in_string:
            escape = True
        elif ch == '"':
            in_string = not in_string
        elif not in_string and ch in "{[":
            stack.append("}" if ch == "{" else "]")
        elif not in_string and ch in "}]" and stack:
            stack.pop()
        elif not in_string and ch == ",":
            last_comma = i
    if not stack and not in_string:
        return []
    closed = text + ('"' if in_string else "")
    closed = closed.rstrip().rstrip(",")
    if closed.endswith(":"):
        closed += " null"
    repairs = [closed + "".join(reversed(stack))]
    if last_comma > 0:
        cut = text[:last_comma]
        repairs.append(cut + "".join(reversed(_open_brackets(cut))))
    return repairs


def _open_brackets(text: str) -> list[str]:
    stack, in_string, escape = [], False, False
    for ch in text:
        if escape:
            escape = False
        elif ch == "\\" and in_string:
            escape = True
        elif ch == '"':
            in_string = not in_string
        elif not in_string and ch in "{[":
            stack.append("}" if ch == "{" else "]")
        elif not in_string and ch in "}]" and stack:
            stack.pop()
    return stack


def _balanced_end(text: str, start: int) -> int:
    """Index after the brace matching text[start] ('{'), or len(text) when it never closes."""
    depth, quote, escape = 0, "", False
    for i in range(start, len(text)):
        ch = text[i]
        if escape:
            escape = False
        elif quote:
            if ch == "\\":
                escape = True
            elif ch == quote:
                quote = ""
        elif ch in "\"'" and _opens_string(text, i):
            quote = ch
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return i + 1
    return len(text)


def _opens_string(text: str, i: int) -> bool:
    """A quote opens a string unless it is an apostrophe inside a word (don't, it's)."""
    if text[i] == '"':
        return True
    return not (i > 0 and text[i - 1].isalnum() and i + 1 < len(text) and text[i + 1].isalnum())


def extract_objects(text: str) -> list[Found]:
    """Every JSON-ish object in `text`: fenced blocks first, then top-level braces in the prose."""
    found: list[Found] = []
    for m in FENCE_RE.finditer(text):
        found += _objects_in(m.group(1), m.start(1))
    covered = [(f.start, f.end) for f in found]
    i = text.find("{")
    while i != -1:
        nxt = i + 1
        if not any(s <= i < e for s, e in covered):
            end = _balanced_end(text, i)
            value = _read(text[i:end])
            if value is not None:
                found.append(Found(value, i, end))
                covered.append((i, end))
                nxt = end
        i = text.find("{", nxt)
    return sorted(found, key=lambda f: f.start)


def _objects_in(block: str, offset: int) -> list[Found]:
    start = block.find("{")
    if start == -1:
        return []
    end = _balanced_end(block, start)
    value = _read(block[start:end])
    return [Found(value, offset + start, offset + end)] if value is not None else []


def _read(candidate: str) -> dict[str, Any] | None:
    try:
        value = loads_lenient(candidate)
    except ValueError:
        return None
    return value if isinstance(value, dict) and value else None
