"""Training methods, each a scikit-learn-style estimator over (input, output) pairs."""

from __future__ import annotations

from typing import Any

from judgeloop.errors import InvalidInput
from judgeloop.training.methods.base import PairClassifier

METHOD_NAMES = ("embedding_head", "finetune")


def method_class(name: str) -> type[PairClassifier]:
    """The estimator class of a method name (imported on demand: torch is heavy)."""
    if name == "embedding_head":
        from judgeloop.training.methods.embedding_head import EmbeddingHead

        return EmbeddingHead
    if name == "finetune":
        from judgeloop.training.methods.finetune import FineTune

        return FineTune
    raise InvalidInput(
        f"unknown method {name!r}", field="method", expected=", ".join(("auto",) + METHOD_NAMES)
    )


def make_method(name: str, **params: Any) -> PairClassifier:
    cls = method_class(name)
    known = set(cls._param_names())
    unknown = sorted(set(params) - known)
    if unknown:
        raise InvalidInput(
            f"{cls.__name__} has no parameter(s) {', '.join(unknown)}",
            field="params",
            expected=", ".join(sorted(known)),
        )
    return cls(**params)


__all__ = ["METHOD_NAMES", "PairClassifier", "make_method", "method_class"]
