"""Rubrics: typed judge configuration loaded from YAML.

    name: seed
    version: "1"
    criteria:
      - {name: accuracy, scale: "1-5", description: "..."}
      - {name: format_compliance, scale: "yes/no", description: "..."}
    rationale_field: justification
    template: |            # placeholders: {input} {output} {reference} {criteria} (and optionally {format})
      ...
    pass_when:             # all must hold; `criterion` is a criterion name or "mean"
      - {criterion: accuracy, at_least: 4}
      - {criterion: format_compliance, at_least: 1}   # yes/no criteria score 1 (yes) or 0 (no)

Scores: integer criteria keep their scale's value; yes/no criteria score 1 (yes) or 0 (no). The
verdict's `score` is the mean normalised score in [0, 1] ((v - low) / (high - low); yes = 1, no = 0);
`mean` in `pass_when` compares that mean.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from judgeloop.errors import InvalidInput

Scale = Literal["1-5", "1-10", "yes/no"]
PLACEHOLDERS = ("input", "output", "reference", "criteria", "format")
PLACEHOLDER_RE = re.compile(r"\{(" + "|".join(PLACEHOLDERS) + r")\}")
RUBRICS_DIR = Path(__file__).resolve().parent.parent / "rubrics"
MEAN = "mean"


class Criterion(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    description: str
    scale: Scale

    @property
    def binary(self) -> bool:
        return self.scale == "yes/no"

    @property
    def bounds(self) -> tuple[int, int]:
        return {"1-5": (1, 5), "1-10": (1, 10), "yes/no": (0, 1)}[self.scale]

    def normalise(self, value: float) -> float:
        low, high = self.bounds
        return (float(value) - low) / (high - low)

    def value_schema(self) -> dict[str, Any]:
        if self.binary:
            return {"type": "string", "enum": ["yes", "no"]}
        low, high = self.bounds
        return {"type": "integer", "minimum": low, "maximum": high}

    def format_hint(self) -> str:
        return '"yes" or "no"' if self.binary else f"<integer {self.scale}>"


class PassCondition(BaseModel):
    model_config = ConfigDict(extra="forbid")

    criterion: str
    at_least: float

    @field_validator("at_least", mode="before")
    @classmethod
    def _yes_no(cls, value: Any) -> Any:
        words = {"yes": 1, "no": 0, True: 1, False: 0}
        return words.get(value.lower() if isinstance(value, str) else value, value)


DEFAULT_TEMPLATE = """Grade the assistant's output for the user's input below.

Criteria:
{criteria}

User input:
{input}

Assistant output to grade:
{output}

Reference answer:
{reference}
"""


class Rubric(BaseModel):
    """Criteria, the judge prompt, and which scores make a pass."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    version: str = "1"
    description: str = ""
    criteria: list[Criterion] = Field(min_length=1)
    template: str = DEFAULT_TEMPLATE
    rationale_field: str = Field(default="rationale", pattern=r"^[a-z][a-z0-9_]*$")
    pass_when: list[PassCondition] = Field(
        default_factory=lambda: [PassCondition(criterion=MEAN, at_least=0.5)]
    )

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int | float) else value

    @model_validator(mode="after")
    def _consistent(self) -> Rubric:
        names = [c.name for c in self.criteria]
        if len(set(names)) != len(names):
            raise ValueError(f"criterion names must be unique, got {names}")
        if self.rationale_field in names:
            raise ValueError(f"rationale_field {self.rationale_field!r} is also a criterion name")
        if "{output}" not in self.template:
            raise ValueError("the template has no {output} placeholder")
        for cond in self.pass_when:
            if cond.criterion != MEAN and cond.criterion not in names:
                raise ValueError(f"pass_when names an unknown criterion {cond.criterion!r}")
        return self

    def criterion(self, name: str) -> Criterion:
        return next(c for c in self.criteria if c.name == name)

    def json_schema(self, rationale: bool = True) -> dict[str, Any]:
        """The JSON object a judge must return: the rationale first (unless `rationale=False`), then one
        key per criterion."""
        props: dict[str, Any] = {self.rationale_field: {"type": "string"}} if rationale else {}
        props.update({c.name: c.value_schema() for c in self.criteria})
        return {"type": "object", "properties": props, "required": list(props), "additionalProperties": False}

    def format_instruction(self, rationale: bool = True) -> str:
        keys = [f'"{self.rationale_field}": "<one or two sentences>"'] if rationale else []
        keys += [f'"{c.name}": {c.format_hint()}' for c in self.criteria]
        return "Reply with only this JSON object and no other text:\n{" + ", ".join(keys) + "}"

    def criteria_text(self) -> str:
        return "\n".join(f"- {c.name} ({c.scale}): {c.description.strip()}" for c in self.criteria)

    def render(self, values: dict[str, str], rationale: bool = True) -> str:
        """The template with the placeholders filled (other braces are left alone)."""
        fmt = self.format_instruction(rationale)
        values = {"criteria": self.criteria_text(), "format": fmt, **values}
        text = PLACEHOLDER_RE.sub(lambda m: values.get(m.group(1), ""), self.template)
        if "{format}" not in self.template:
            text = text.rstrip() + "\n\n" + values["format"]
        return text

    def score(self, scores: dict[str, float]) -> float:
        """Mean normalised score in [0, 1]."""
        return sum(c.normalise(scores[c.name]) for c in self.criteria) / len(self.criteria)

    def passes(self, scores: dict[str, float]) -> bool:
        for cond in self.pass_when:
            value = self.score(scores) if cond.criterion == MEAN else scores[cond.criterion]
            if value < cond.at_least:
                return False
        return True


def builtin_rubrics() -> list[str]:
    return sorted(p.stem for p in RUBRICS_DIR.glob("*.yaml"))


def load_rubric(name_or_path: str | Path) -> Rubric:
    """A built-in rubric by name (`seed`, `helpfulness`, ...) or a YAML file."""
    path = Path(name_or_path)
    if not path.suffix and not path.exists():
        path = RUBRICS_DIR / f"{name_or_path}.yaml"
        if not path.is_file():
            raise InvalidInput(
                f"no built-in rubric {str(name_or_path)!r}",
                field="rubric",
                expected=f"one of {', '.join(builtin_rubrics())} or a YAML file",
            )
    if not path.is_file():
        raise InvalidInput("no such rubric file", file=str(path), field="rubric", expected="a YAML file")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise InvalidInput(f"not valid YAML: {exc}", file=str(path)) from None
    return rubric_from_dict(data, source=str(path))


def rubric_from_dict(data: Any, source: str | None = None) -> Rubric:
    if not isinstance(data, dict):
        raise InvalidInput("a rubric must be a mapping", file=source, expected="name, criteria, template")
    try:
        return Rubric.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or None
        raise InvalidInput(first["msg"], file=source, field=where, expected="a valid rubric") from None
