"""judgeloop: turn human review of LLM outputs into automated evaluators, and keep them honest."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from judgeloop.errors import Conflict, InvalidInput, JudgeloopError, NotFound
from judgeloop.store import Workspace
from judgeloop.types import Label, Session, Verdict

__version__ = "0.1.0"

if TYPE_CHECKING:  # heavy imports stay lazy at run time
    from judgeloop.client import AsyncClient, Client, observe
    from judgeloop.evaluators.learned import LearnedEvaluator

_CLIENT_NAMES = ("AsyncClient", "Client", "observe")


def __getattr__(name: str) -> Any:
    """The HTTP client (`Client`, `AsyncClient`, `observe`) is imported on first use (httpx)."""
    if name in _CLIENT_NAMES:
        import judgeloop.client

        return getattr(judgeloop.client, name)
    raise AttributeError(f"module 'judgeloop' has no attribute {name!r}")


def load_evaluator(ref: str, *, db: str | None = None) -> LearnedEvaluator:
    """A trained evaluator from a model directory or a registry reference `name[@version]`."""
    from judgeloop.registry import load_evaluator as _load

    return _load(ref, db=db)


def train_evaluator(*args: Any, **kwargs: Any) -> Any:
    """Train a custom evaluator from human labels (see judgeloop.training.train_evaluator)."""
    from judgeloop.training import train_evaluator as _train

    return _train(*args, **kwargs)


__all__ = [
    "AsyncClient",
    "Client",
    "Conflict",
    "InvalidInput",
    "JudgeloopError",
    "Label",
    "NotFound",
    "Session",
    "Verdict",
    "Workspace",
    "load_evaluator",
    "observe",
    "train_evaluator",
]
