"""`ModelArtifact`: the one reader and writer of a model folder's judgeloop.json.

Every model folder judgeloop writes (a learned evaluator, a pairwise comparator, a cascade) carries a
judgeloop.json. This module owns its name, its schema version and its I/O:

    art = ModelArtifact.load("models/support")     # InvalidInput when missing, not JSON, or too new
    art.threshold, art.method, art.train_ids        # the typed fields
    art.extra_field("runtime")                      # any other key, kept as written
    art.model_copy(update={"target_error": rule}).save("models/support")   # atomic

The schema version is the number after the slash in `format` ("judgeloop-evaluator/1"). A file
without `format` (cascade folders and early models) reads as version 1. A newer version, or a
format that is not judgeloop's, is refused with a message naming the file. Keys this model does not
declare are kept (extra="allow") and written back unchanged, so a load/save round trip loses nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from judgeloop.errors import InvalidInput

MODEL_CONFIG = "judgeloop.json"
FORMAT_NAME = "judgeloop-evaluator"
SCHEMA_VERSION = 1
FORMAT = f"{FORMAT_NAME}/{SCHEMA_VERSION}"


def schema_version(fmt: str | None, where: str = MODEL_CONFIG) -> int:
    """The schema version of a `format` string; InvalidInput for a foreign or newer one."""
    if fmt is None:
        return 1  # written before judgeloop.json carried a format (cascade folders, early models)
    name, _, number = str(fmt).rpartition("/")
    if name != FORMAT_NAME or not number.isdigit():
        raise InvalidInput(
            f"{where} has format {fmt!r}, which is not a judgeloop model",
            file=where,
            field="format",
            expected=f"{FORMAT_NAME}/N",
        )
    version = int(number)
    if version > SCHEMA_VERSION:
        raise InvalidInput(
            f"{where} was written by a newer judgeloop (format {fmt!r}; this one reads up to "
            f"{FORMAT}): upgrade judgeloop to load it",
            file=where,
            field="format",
            expected=f"version {SCHEMA_VERSION} or older",
        )
    return version


class ModelArtifact(BaseModel):
    """The contents of judgeloop.json. Declared fields are typed; every other key is kept as is."""

    model_config = ConfigDict(extra="allow", protected_namespaces=())

    format: str | None = None
    name: str | None = None
    method: str | None = None
    base_model: str | None = None
    params: dict[str, Any] | None = None
    temperature: float | None = None
    threshold: float | None = None
    data_hash: str | None = None
    train_ids: list[Any] | None = None
    heldout_ids: list[Any] | None = None
    metrics: dict[str, Any] | None = None
    onnx: str | None = None
    runtime: dict[str, Any] | None = None
    memory: dict[str, Any] | None = None
    target_error: dict[str, Any] | None = None

    # --- reading and writing ------------------------------------------------------------------

    @classmethod
    def path_of(cls, directory: str | Path) -> Path:
        return Path(directory) / MODEL_CONFIG

    @classmethod
    def exists(cls, directory: str | Path) -> bool:
        return cls.path_of(directory).is_file()

    @classmethod
    def load(
        cls, directory: str | Path, *, expected: str = "a folder written by `judgeloop train`"
    ) -> ModelArtifact:
        """Read `directory/judgeloop.json`; InvalidInput (naming the file) when it is missing, not a
        JSON object, of a newer or foreign schema, or has a field of the wrong type."""
        path = cls.path_of(directory)
        if not path.is_file():
            raise InvalidInput(
                f"{directory} is not a judgeloop model directory (no {MODEL_CONFIG})",
                file=str(path),
                expected=expected,
            )
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"{path} is not valid JSON: {exc.msg}", file=str(path)) from None
        return cls.from_dict(data, where=str(path))

    @classmethod
    def from_dict(cls, data: Any, where: str = MODEL_CONFIG) -> ModelArtifact:
        if not isinstance(data, dict):
            raise InvalidInput(f"{where} is not a JSON object", file=where, expected="a JSON object")
        schema_version(data.get("format"), where)
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"])
            raise InvalidInput(
                f"{where}: field {field!r} {first['msg'].lower()}", file=where, field=field
            ) from None

    def save(self, directory: str | Path) -> Path:
        """Write judgeloop.json into `directory` atomically (temp file, then rename)."""
        from judgeloop.io import atomic_write_text

        path = self.path_of(directory)
        atomic_write_text(path, self.to_json())
        return path

    # --- views --------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The keys as written (only the fields that were set, extra keys included), with `format`."""
        data = self.model_dump(exclude_unset=True)
        return {"format": self.format or FORMAT, **{k: v for k, v in data.items() if k != "format"}}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, default=_json_default) + "\n"

    def extra_field(self, key: str, default: Any = None) -> Any:
        return (self.model_extra or {}).get(key, default)

    @property
    def version(self) -> int:
        return schema_version(self.format)

    def updated(self, **changes: Any) -> ModelArtifact:
        """A copy with these keys set (declared or extra), validated again."""
        return ModelArtifact.from_dict({**self.to_dict(), **changes})


def _json_default(value: Any) -> Any:
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def read_model_config(directory: str | Path) -> dict[str, Any]:
    """judgeloop.json of `directory` as a plain dict (validated through ModelArtifact)."""
    return ModelArtifact.load(directory).to_dict()
