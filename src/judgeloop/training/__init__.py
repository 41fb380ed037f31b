"""Training custom evaluators from human good/bad labels.

    train_evaluator(examples, out_dir)   split → fit → calibrate → measure → save (atomically)
    Example                              one labelled (input, output) pair, with optional group and id
    EmbeddingHead, FineTune              the methods: scikit-learn-style estimators over pairs
    heldout_split                        stratified, grouped when rows carry a group

Heavy modules (torch, transformers) load only when a method is built or trained.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from judgeloop.artifact import MODEL_CONFIG
from judgeloop.training.api import (
    AUTO_FINETUNE_FROM,
    TrainResult,
    choose_method,
    fit_estimator,
    make_estimator,
    train_evaluator,
)
from judgeloop.training.calibration import choose_threshold, fit_temperature
from judgeloop.training.examples import Example, data_hash, examples_from_rows, validate_examples
from judgeloop.training.splits import heldout_split

if TYPE_CHECKING:
    from judgeloop.training.methods.embedding_head import EmbeddingHead
    from judgeloop.training.methods.finetune import FineTune


def __getattr__(name: str) -> Any:
    if name in ("EmbeddingHead", "FineTune"):
        from judgeloop.training.methods import method_class

        return method_class("embedding_head" if name == "EmbeddingHead" else "finetune")
    raise AttributeError(f"module 'judgeloop.training' has no attribute {name!r}")


__all__ = [
    "AUTO_FINETUNE_FROM",
    "MODEL_CONFIG",
    "EmbeddingHead",
    "Example",
    "FineTune",
    "TrainResult",
    "choose_method",
    "fit_estimator",
    "make_estimator",
    "choose_threshold",
    "data_hash",
    "examples_from_rows",
    "fit_temperature",
    "heldout_split",
    "train_evaluator",
    "validate_examples",
]
