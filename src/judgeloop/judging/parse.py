"""Read scores out of what a judge model actually wrote.

    parse_scores(text, rubric)  -> (scores, error)          rubric judges (JSON, or prose as a fallback)
    parse_judgment(text, rubric) -> Parsed                   the same, with the rationale
    parse_rating(text)          -> (rating, error)           MT-Bench single answer: "Rating: [[7]]"
    parse_pairwise(text)        -> (choice, error)           MT-Bench pairwise: [[A]] / [[B]] / [[C]] (tie)

`error` is None when every criterion was read and is on its scale; otherwise it says why (no JSON,
a missing criterion, a value out of range, a word that is not yes/no), and `scores` is empty.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from judgeloop.judging.jsonish import Found, extract_objects
from judgeloop.judging.rubric import Criterion, Rubric

YES = {"yes", "y", "true", "pass", "passed", "compliant", "correct", "1"}
NO = {"no", "n", "false", "fail", "failed", "non-compliant", "noncompliant", "incorrect", "0"}
RATIONALE_KEYS = ("rationale", "justification", "explanation", "reasoning", "reason", "feedback", "comment")
NESTED_KEYS = ("scores", "score", "ratings", "evaluation", "criteria", "result", "results", "grades")
NUMBER_RE = re.compile(r"^\s*\[*\s*(-?\d+(?:\.\d+)?)\s*\]*\s*(?:(?:/|out of)\s*(\d+))?")
RATING_RE = re.compile(r"\[\[\s*(\d+(?:\.\d+)?)\s*\]\]")
RATING_BACKUP_RE = re.compile(r"\[\s*(\d+(?:\.\d+)?)\s*\]")
RATING_WORD_RE = re.compile(r"\brating\W{0,6}(\d+(?:\.\d+)?)(?:\s*(?:/|out of)\s*10)?", re.IGNORECASE)
SCALE_NOTE_RE = re.compile(r"\(\s*(?:\d+\s*-\s*\d+|yes\s*/\s*no)\s*\)", re.IGNORECASE)
PAIR_RE = re.compile(r"\[\[\s*(A|B|C|tie)\s*\]\]", re.IGNORECASE)
PAIR_KEYS = ("verdict", "winner", "choice", "better", "preferred", "final_verdict")
PAIR_VALUE_RE = re.compile(
    r"^\W*(?:(?:assistant|output|answer|response)\s+)?\b(A|B|C|tie)\b\W*$", re.IGNORECASE
)
PAIR_WORD_RE = re.compile(
    r"final verdict\W{0,6}(?:is\W{0,4})?(?:assistant\s+)?\b(A|B|C|tie)\b", re.IGNORECASE
)


@dataclass
class Parsed:
    scores: dict[str, float] = field(default_factory=dict)
    rationale: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def _norm_key(key: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(key).lower()).strip("_")


def _flatten(obj: dict[str, Any]) -> dict[str, Any]:
    """Merge nested score containers ({"scores": {...}}) and {"score": 4, "reason": ...} values."""
    flat: dict[str, Any] = {}
    for key, value in obj.items():
        if isinstance(value, dict) and _norm_key(key) in NESTED_KEYS:
            flat.update(_flatten(value))
        elif isinstance(value, dict):
            inner = {_norm_key(k): v for k, v in value.items()}
            picked = next((inner[k] for k in ("score", "rating", "value", "answer") if k in inner), value)
            flat[_norm_key(key)] = picked
        else:
            flat[_norm_key(key)] = value
    return flat


def read_value(criterion: Criterion, value: Any) -> tuple[float | None, str | None]:
    """(value on the criterion's scale, error)."""
    if criterion.binary:
        return _read_binary(criterion, value)
    low, high = criterion.bounds
    number, denominator = _read_number(value)
    if number is None:
        return None, f"{criterion.name}={value!r} is not a number"
    if denominator is not None and denominator != high:
        return None, f"{criterion.name}={value!r} is not on the {criterion.scale} scale"
    if not low <= number <= high:
        return None, f"{criterion.name}={_show(number)} is outside {criterion.scale}"
    return (int(number) if float(number).is_integer() else number), None


def _show(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


def _read_number(value: Any) -> tuple[float | None, int | None]:
    if isinstance(value, bool):
        return None, None
    if isinstance(value, int | float):
        return float(value), None
    if isinstance(value, str):
        m = NUMBER_RE.match(value)
        if m:
            return float(m.group(1)), int(m.group(2)) if m.group(2) else None
    return None, None


def _read_binary(criterion: Criterion, value: Any) -> tuple[float | None, str | None]:
    if isinstance(value, bool):
        return (1 if value else 0), None
    if isinstance(value, int | float) and value in (0, 1):
        return int(value), None
    if isinstance(value, str):
        words = re.findall(r"[a-z][a-z\-]*|\d+", value.lower())
        if words and words[0] in YES:
            return 1, None
        if words and words[0] in NO:
            return 0, None
    return None, f"{criterion.name}={value!r} is not yes/no"


def _name_pattern(criterion: Criterion) -> str:
    return r"[ _\-]?".join(re.escape(part) for part in criterion.name.split("_"))


def _from_prose(criterion: Criterion, text: str) -> Any:
    """The last `name ... value` on one line of prose (markdown, scale notes, short words tolerated)."""
    text = SCALE_NOTE_RE.sub("", text)
    name = _name_pattern(criterion)
    if criterion.binary:
        pattern = rf"{name}[^\n]{{0,30}}?\b(yes|no|true|false|pass|passed|fail|failed)\b"
    else:
        pattern = rf"{name}[^\d\n]{{0,30}}?(\[?\[?\s*-?\d+(?:\.\d+)?\s*\]?\]?(?:\s*(?:/|out of)\s*\d+)?)"
    matches = re.findall(pattern, text, flags=re.IGNORECASE)
    return matches[-1] if matches else None


def _best_object(found: list[Found], rubric: Rubric) -> Found | None:
    names = {c.name for c in rubric.criteria}

    def hits(f: Found) -> int:
        return len(names & set(_flatten(f.value)))

    scored = [f for f in found if hits(f) > 0]
    if not scored:
        return found[-1] if found else None  # an object without criteria: reported as missing them
    best = max(hits(f) for f in scored)
    return [f for f in scored if hits(f) == best][-1]  # the last, most complete object: the final answer


def _rationale(rubric: Rubric, flat: dict[str, Any], prose: str) -> str | None:
    for key in (rubric.rationale_field, *RATIONALE_KEYS):
        if isinstance(flat.get(key), str) and flat[key].strip():
            return str(flat[key]).strip()
    prose = re.sub(r"```[a-zA-Z]*", "", prose).strip()
    return prose[:2000] or None


def parse_judgment(text: str, rubric: Rubric) -> Parsed:
    """Scores per criterion (see the module docstring)."""
    if not text or not text.strip():
        return Parsed(error="empty response")
    obj = _best_object(extract_objects(text), rubric)
    flat = _flatten(obj.value) if obj else {}
    prose = (text[: obj.start] + " " + text[obj.end :]) if obj else text
    scores: dict[str, float] = {}
    errors: list[str] = []
    missing: list[str] = []
    for criterion in rubric.criteria:
        raw = flat.get(criterion.name)
        if raw is None:
            raw = _from_prose(criterion, prose)
        if raw is None:
            raw = _lone_answer(rubric, criterion, text)
        if raw is None:
            missing.append(criterion.name)
            continue
        value, error = read_value(criterion, raw)
        if value is None:
            errors.append(error or f"{criterion.name}: unreadable value")
        else:
            scores[criterion.name] = value
    rationale = _rationale(rubric, flat, prose)
    if missing and not obj and len(missing) == len(rubric.criteria):
        return Parsed(rationale=rationale, error="no JSON object or scores found")
    if missing:
        errors.insert(0, f"missing criteria: {', '.join(missing)}")
    if errors:
        return Parsed(rationale=rationale, error="; ".join(errors))
    return Parsed(scores=scores, rationale=rationale)


def _lone_answer(rubric: Rubric, criterion: Criterion, text: str) -> Any:
    """A one-criterion rubric answered with a bare yes/no or an MT-Bench [[rating]]."""
    if len(rubric.criteria) != 1:
        return None
    if criterion.binary:
        first = re.match(r"\W*([A-Za-z]+)", text)
        return first.group(1) if first and first.group(1).lower() in YES | NO else None
    ratings = RATING_RE.findall(text)
    return ratings[-1] if ratings else None


def parse_scores(text: str, rubric: Rubric) -> tuple[dict[str, float], str | None]:
    parsed = parse_judgment(text, rubric)
    return parsed.scores, parsed.error


def parse_rating(text: str, low: float = 1, high: float = 10) -> tuple[float | None, str | None]:
    """MT-Bench's single-answer rating: the last [[N]], else the last [N], else 'Rating: N'."""
    for pattern in (RATING_RE, RATING_BACKUP_RE, RATING_WORD_RE):
        found = pattern.findall(text or "")
        if found:
            rating = float(found[-1])
            if not low <= rating <= high:
                return None, f"rating {_show(rating)} is outside {_show(low)}-{_show(high)}"
            return rating, None
    return None, "no [[rating]] found"


def _json_verdicts(text: str) -> list[str]:
    """Verdicts in JSON objects: {"verdict": "A"} (or winner / choice / better / preferred)."""
    found = []
    for obj in extract_objects(text):
        for key, value in _flatten(obj.value).items():
            if key in PAIR_KEYS and isinstance(value, str):
                m = PAIR_VALUE_RE.match(value)
                if m:
                    found.append(m.group(1))
    return found


def parse_pairwise(text: str) -> tuple[str | None, str | None]:
    """'A', 'B' or 'tie' from MT-Bench's [[A]] / [[B]] / [[C]] (the last one is the final verdict), else
    from a JSON {"verdict": "A"}, a "final verdict: B", or a reply that is only the letter or "tie"."""
    text = text or ""
    found = (
        PAIR_RE.findall(text)
        or _json_verdicts(text)
        or PAIR_WORD_RE.findall(text)
        or PAIR_VALUE_RE.findall(text.strip())
    )
    if not found:
        return None, "no [[A]] / [[B]] / [[C]] verdict found"
    choice = found[-1].upper()
    return ("tie" if choice in ("C", "TIE") else choice), None
