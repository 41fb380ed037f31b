"""Programmatic checks of a model output, as evaluators: each gives label 1 (pass) or 0 (fail) and says why.

Checks register by decorator and are built by name with validated parameters:

    check = make_check("regex", pattern=r"order #\\d+")
    verdicts = check.evaluate(sessions)

Available: contains, regex, json_valid, json_schema, word_count, bullet_count, code_parses,
python_defines. A bad parameter raises InvalidInput naming the check, the parameter and the value.
"""

from __future__ import annotations

import ast
import hashlib
import inspect
import json
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, TypeVar

from judgeloop.errors import InvalidInput
from judgeloop.types import ContainsMode, Session, Verdict

CheckResult = tuple[bool, str]
C = TypeVar("C", bound="Check")

_CHECKS: dict[str, type[Check]] = {}


def register_check(name: str) -> Callable[[type[C]], type[C]]:
    """Class decorator: make a Check subclass available to `make_check(name, ...)`."""

    def decorator(cls: type[C]) -> type[C]:
        if name in _CHECKS:
            raise ValueError(f"a check named {name!r} is already registered")
        cls.name = name
        _CHECKS[name] = cls
        return cls

    return decorator


def available_checks() -> list[str]:
    return sorted(_CHECKS)


def make_check(name: str, **params: Any) -> Check:
    """Build the check registered as `name` with `params`, with a clear error on bad ones."""
    if name not in _CHECKS:
        raise InvalidInput(f"There is no check named {name!r}. Available: {', '.join(available_checks())}.")
    cls = _CHECKS[name]
    accepted = {p.name: p for p in inspect.signature(cls.__init__).parameters.values() if p.name != "self"}
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise InvalidInput(
            f"The {name} check has no parameter {unknown[0]!r}. Its parameters are: "
            f"{', '.join(accepted) or '(none)'}."
        )
    missing = [k for k, p in accepted.items() if p.default is inspect.Parameter.empty and k not in params]
    if missing:
        raise InvalidInput(f"The {name} check needs the parameter {missing[0]!r}.")
    return cls(**params)


def _bad(check: str, param: str, what: str, value: Any) -> InvalidInput:
    return InvalidInput(f"The '{param}' parameter of {check} must be {what}. Got {value!r} instead.")


def _count_param(check: str, param: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _bad(check, param, "a non-negative integer", value)
    return value


def _flag(check: str, param: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise _bad(check, param, "true or false", value)
    return value


def _range_params(check: str, low: tuple[str, Any], high: tuple[str, Any]) -> tuple[int | None, int | None]:
    lo, hi = _count_param(check, *low), _count_param(check, *high)
    if lo is None and hi is None:
        raise InvalidInput(f"The {check} check needs '{low[0]}', '{high[0]}' or both.")
    if lo is not None and hi is not None and lo > hi:
        raise _bad(check, low[0], f"at most {high[0]} ({hi})", lo)
    return lo, hi


def _in_range(count: int, lo: int | None, hi: int | None, unit: str) -> CheckResult:
    if lo is not None and count < lo:
        return False, f"{count} {unit}, fewer than the minimum {lo}"
    if hi is not None and count > hi:
        return False, f"{count} {unit}, more than the maximum {hi}"
    bounds = [f">= {lo}"] if lo is not None else []
    bounds += [f"<= {hi}"] if hi is not None else []
    return True, f"{count} {unit}, {' and '.join(bounds)}"


def _clip(text: str, n: int = 40) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


class Check(ABC):
    """A deterministic pass/fail test of one output. Subclasses validate their parameters in __init__."""

    name: ClassVar[str] = "check"
    version: ClassVar[str] = "1"

    def __init__(self) -> None:
        """A check without parameters; subclasses with parameters define their own."""
        super().__init__()

    @property
    def params(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if not k.startswith("_")}

    @property
    def params_hash(self) -> str:
        blob = json.dumps(self.params, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]

    @abstractmethod
    def check(self, output: str) -> CheckResult:
        """(passed, a short reason)."""

    def verdict(self, session: Session) -> Verdict:
        passed, why = self.check(session.model_output)
        return Verdict(
            session_id=session.id,
            evaluator=self.name,
            version=self.version,
            params_hash=self.params_hash,
            label=int(passed),
            score=float(passed),
            rationale=why,
        )

    def evaluate(self, sessions: Sequence[Session]) -> list[Verdict]:
        return [self.verdict(s) for s in sessions]


# --- text checks -------------------------------------------------------------------------------------


@register_check("contains")
class Contains(Check):
    """The output contains all (or any) of `values`; case-insensitive unless `case_sensitive`."""

    def __init__(
        self, values: str | Sequence[str], mode: ContainsMode = "all", case_sensitive: bool = False
    ) -> None:
        items = [values] if isinstance(values, str) else values
        if not isinstance(items, Sequence) or not items or not all(isinstance(v, str) and v for v in items):
            raise _bad("contains", "values", "a non-empty string or list of non-empty strings", values)
        if mode not in ("all", "any"):
            raise _bad("contains", "mode", "'all' or 'any'", mode)
        self.values, self.mode = list(items), mode
        self.case_sensitive = _flag("contains", "case_sensitive", case_sensitive)

    def _fold(self, text: str) -> str:
        return text if self.case_sensitive else text.casefold()

    def check(self, output: str) -> CheckResult:
        text = self._fold(output)
        found = [v for v in self.values if self._fold(v) in text]
        missing = [v for v in self.values if v not in found]
        if self.mode == "any":
            if found:
                return True, f"contains {found[0]!r}"
            return False, f"contains none of {[_clip(v) for v in self.values]}"
        if missing:
            return False, f"missing {[_clip(v) for v in missing]}"
        return True, f"contains all {len(self.values)} of the required strings"


@register_check("regex")
class Regex(Check):
    """The output matches `pattern` (re.search, or the whole output with `fullmatch`)."""

    def __init__(
        self, pattern: str, ignore_case: bool = False, fullmatch: bool = False, must_match: bool = True
    ) -> None:
        if not isinstance(pattern, str):
            raise _bad("regex", "pattern", "a valid regular expression", pattern)
        for flag, value in (
            ("ignore_case", ignore_case),
            ("fullmatch", fullmatch),
            ("must_match", must_match),
        ):
            _flag("regex", flag, value)
        try:
            self._compiled = re.compile(pattern, re.IGNORECASE if ignore_case else 0)
        except re.error as exc:
            raise _bad("regex", "pattern", "a valid regular expression", pattern) from exc
        self.pattern, self.ignore_case, self.fullmatch, self.must_match = (
            pattern,
            ignore_case,
            fullmatch,
            must_match,
        )

    def check(self, output: str) -> CheckResult:
        match = (self._compiled.fullmatch if self.fullmatch else self._compiled.search)(output)
        shown = _clip(self.pattern)
        if match is None:
            return (not self.must_match), f"no match for /{shown}/"
        return self.must_match, f"matches /{shown}/ at {match.start()}: {_clip(match.group(0))!r}"


_WORD = re.compile(r"\S+")
_BULLET = re.compile(r"^[ \t]*(?:[-*•]|\d+[.)])[ \t]+\S", re.MULTILINE)


@register_check("word_count")
class WordCount(Check):
    """The number of whitespace-separated words is within [min_words, max_words]."""

    def __init__(self, min_words: int | None = None, max_words: int | None = None) -> None:
        self.min_words, self.max_words = _range_params(
            "word_count", ("min_words", min_words), ("max_words", max_words)
        )

    def check(self, output: str) -> CheckResult:
        return _in_range(len(_WORD.findall(output)), self.min_words, self.max_words, "words")


@register_check("bullet_count")
class BulletCount(Check):
    """The number of bullet lines (starting with -, *, •, or a number and '.' or ')') is within range."""

    def __init__(self, min_bullets: int | None = None, max_bullets: int | None = None) -> None:
        self.min_bullets, self.max_bullets = _range_params(
            "bullet_count", ("min_bullets", min_bullets), ("max_bullets", max_bullets)
        )

    def check(self, output: str) -> CheckResult:
        return _in_range(len(_BULLET.findall(output)), self.min_bullets, self.max_bullets, "bullet lines")


# --- JSON checks -------------------------------------------------------------------------------------

_FENCE = re.compile(r"```[ \t]*([\w+-]*)[^\n]*\n(.*?)```", re.DOTALL)


def fenced_blocks(text: str, languages: Sequence[str]) -> list[str]:
    """Fenced code blocks tagged with one of `languages`; else the untagged ones; else none."""
    blocks = [(lang.lower(), body) for lang, body in _FENCE.findall(text)]
    tagged = [body for lang, body in blocks if lang in languages]
    return tagged or [body for lang, body in blocks if not lang]


def parse_json_output(output: str, allow_fence: bool = True) -> tuple[Any, str | None]:
    """(value, None) when the output (or its ```json block) is JSON, else (None, why not)."""
    try:
        return json.loads(output), None
    except json.JSONDecodeError as exc:
        error = f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
    if allow_fence:
        for block in fenced_blocks(output, ("json",)):
            try:
                return json.loads(block), None
            except json.JSONDecodeError:
                continue
    return None, error


@register_check("json_valid")
class JsonValid(Check):
    """The output is valid JSON (or, with `allow_fence`, contains a valid ```json block)."""

    def __init__(self, allow_fence: bool = True) -> None:
        self.allow_fence = _flag("json_valid", "allow_fence", allow_fence)

    def check(self, output: str) -> CheckResult:
        value, error = parse_json_output(output, self.allow_fence)
        return (True, f"valid JSON ({type(value).__name__})") if error is None else (False, error)


_JSON_TYPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}
_SCHEMA_KEYWORDS = {"type", "required", "properties", "additionalProperties", "items", "enum"}
_ANNOTATIONS = {"$schema", "$id", "$comment", "title", "description", "default", "examples"}


def _check_schema(schema: Any, where: str = "schema") -> None:
    """Refuse a schema that uses keywords beyond the supported subset (rather than ignore them)."""
    if not isinstance(schema, dict):
        raise _bad("json_schema", "schema", "a JSON schema object", schema)
    unsupported = sorted(set(schema) - _SCHEMA_KEYWORDS - _ANNOTATIONS)
    if unsupported:
        raise InvalidInput(
            f"The 'schema' parameter of json_schema uses {unsupported[0]!r} at {where}; supported keywords "
            f"are {', '.join(sorted(_SCHEMA_KEYWORDS))}."
        )
    types = schema.get("type", [])
    for t in [types] if isinstance(types, str) else types:
        if t not in _JSON_TYPES:
            raise _bad("json_schema", "schema", f"a schema with JSON types only (at {where}.type)", t)
    for key, sub in schema.get("properties", {}).items():
        _check_schema(sub, f"{where}.properties.{key}")
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            _check_schema(schema[key], f"{where}.{key}")


def schema_errors(value: Any, schema: dict[str, Any], path: str = "$") -> list[str]:
    """Violations of the supported JSON Schema subset (type, required, properties,
    additionalProperties, items, enum), each prefixed with where in the value it occurs."""
    types = schema.get("type")
    if types is not None:
        names = [types] if isinstance(types, str) else list(types)
        if not any(_JSON_TYPES[t](value) for t in names):
            return [f"{path}: expected {' or '.join(names)}, got {type(value).__name__}"]
    errors: list[str] = []
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{path}: {_clip(repr(value))} is not one of {schema['enum']}")
    if isinstance(value, dict):
        errors += _object_errors(value, schema, path)
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            errors += schema_errors(item, schema["items"], f"{path}[{i}]")
    return errors


def _object_errors(value: dict[str, Any], schema: dict[str, Any], path: str) -> list[str]:
    errors = [f"{path}: missing required key {k!r}" for k in schema.get("required", []) if k not in value]
    properties = schema.get("properties", {})
    extra = schema.get("additionalProperties", True)
    for key, item in value.items():
        if key in properties:
            errors += schema_errors(item, properties[key], f"{path}.{key}")
        elif extra is False:
            errors.append(f"{path}: unexpected key {key!r}")
        elif isinstance(extra, dict):
            errors += schema_errors(item, extra, f"{path}.{key}")
    return errors


@register_check("json_schema")
class JsonSchema(Check):
    """The output is JSON that satisfies `schema` (a subset of JSON Schema: type, required, properties,
    additionalProperties, items, enum; other validation keywords are refused, not ignored)."""

    def __init__(self, schema: dict[str, Any], allow_fence: bool = True) -> None:
        _check_schema(schema)
        self.schema, self.allow_fence = schema, _flag("json_schema", "allow_fence", allow_fence)

    def check(self, output: str) -> CheckResult:
        value, error = parse_json_output(output, self.allow_fence)
        if error is not None:
            return False, error
        errors = schema_errors(value, self.schema)
        if errors:
            more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
            return False, f"schema violation: {errors[0]}{more}"
        return True, "valid JSON matching the schema"


# --- Python code checks ------------------------------------------------------------------------------

_PYTHON_TAGS = ("python", "py", "python3")


def python_code(output: str) -> str:
    """The output's ```python blocks (else its untagged fenced blocks, else the whole output)."""
    blocks = fenced_blocks(output, _PYTHON_TAGS)
    return "\n\n".join(blocks) if blocks else output


def parse_python(output: str) -> tuple[ast.Module | None, str]:
    """(tree, '') when the output's Python code parses, else (None, why not)."""
    code = python_code(output)
    if not code.strip():
        return None, "no Python code found"
    try:
        return ast.parse(code), ""
    except SyntaxError as exc:
        return None, f"SyntaxError at line {exc.lineno}: {exc.msg}"
    except ValueError as exc:  # e.g. null bytes
        return None, f"cannot parse: {exc}"


@register_check("code_parses")
class CodeParses(Check):
    """The fenced ```python code (or the whole output) parses with ast.parse."""

    def check(self, output: str) -> CheckResult:
        tree, error = parse_python(output)
        if tree is None:
            return False, error
        return True, f"Python code parses ({len(tree.body)} top-level statements)"


def _own_returns(func: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.Return]:
    """The return statements of `func` itself, not of functions or classes nested in it."""
    found: list[ast.Return] = []
    stack: list[ast.AST] = list(func.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Return):
            found.append(node)
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            stack.extend(ast.iter_child_nodes(node))
    return found


@register_check("python_defines")
class PythonDefines(Check):
    """The code defines a function named `function` that returns a value (`require_return`)."""

    def __init__(self, function: str, require_return: bool = True) -> None:
        if not isinstance(function, str) or not function.isidentifier():
            raise _bad("python_defines", "function", "a Python identifier", function)
        self.function = function
        self.require_return = _flag("python_defines", "require_return", require_return)

    def check(self, output: str) -> CheckResult:
        tree, error = parse_python(output)
        if tree is None:
            return False, error
        funcs = [
            n
            for n in ast.walk(tree)
            if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.name == self.function
        ]
        if not funcs:
            return False, f"no function named {self.function!r} is defined"
        if not self.require_return:
            return True, f"defines {self.function}()"
        if any(r.value is not None for f in funcs for r in _own_returns(f)):
            return True, f"defines {self.function}() with a return statement"
        return False, f"{self.function}() is defined but never returns a value"
