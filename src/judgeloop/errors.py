"""judgeloop's exception tree.

    JudgeloopError
     ├── InvalidInput     bad data or arguments: names the file, row, field and what was expected
     ├── NotFound         a project, session, evaluator or version that does not exist
     ├── Conflict         a write that would break an invariant (duplicate, refused promotion)
     ├── Unauthorized     missing/bad token or password
     └── Forbidden        authenticated, but not allowed to do this

Services raise these; the CLI turns them into messages and exit codes, the HTTP app into statuses.
"""

from __future__ import annotations


class JudgeloopError(Exception):
    """Base class of every error judgeloop raises on purpose."""


class InvalidInput(JudgeloopError):
    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        field: str | None = None,
        expected: str | None = None,
    ) -> None:
        self.file, self.row, self.field, self.expected = file, row, field, expected
        self.message = message
        super().__init__(self._render())

    def _render(self) -> str:
        where = []
        if self.file:
            where.append(str(self.file))
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.field:
            where.append(f"field '{self.field}'")
        text = ": ".join([", ".join(where), self.message]) if where else self.message
        if self.expected:
            text += f" (expected {self.expected})"
        return text


class NotFound(JudgeloopError):
    pass


class Conflict(JudgeloopError):
    """`overridable`: the caller may force the write anyway; each boundary says how in its own terms
    (the CLI `--force`, the API `"force": true`), so the message itself names neither."""

    def __init__(self, message: str, *, overridable: bool = False) -> None:
        self.overridable = overridable
        super().__init__(message)

    def with_override_hint(self, how: str) -> str:
        return f"{self} ({how} to override)" if self.overridable else str(self)


class Unauthorized(JudgeloopError):
    pass


class Forbidden(JudgeloopError):
    pass


class NotFittedError(JudgeloopError, ValueError):
    """A trainable evaluator was used before fit()."""
