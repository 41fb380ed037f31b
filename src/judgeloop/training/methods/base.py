"""The contract every training method follows (scikit-learn's estimator contract, on session pairs).

`__init__` stores hyperparameters only; `fit(X, y)` learns (state in attributes ending in `_`) and
returns self; X is a sequence of (model_input, model_output) pairs and y the 0/1 labels (1 = good).
`decision_function` gives the logit of "good", `predict_proba` the (n, 2) probabilities [bad, good],
`predict` the labels. Each method saves to and loads from a model directory.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from judgeloop.errors import InvalidInput, NotFittedError
from judgeloop.training.examples import Pair


class PairClassifier:
    """Base class: parameter plumbing, the fitted check, and predict/predict_proba from the logit."""

    method: ClassVar[str] = "base"
    fitted_attribute: ClassVar[str] = "model_"
    classes_ = np.array([0, 1])

    # --- hyperparameters ----------------------------------------------------------------------

    @classmethod
    def _param_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        return [p for p in signature.parameters if p != "self"]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> PairClassifier:
        valid = set(self._param_names())
        for key, value in params.items():
            if key not in valid:
                raise InvalidInput(
                    f"{type(self).__name__} has no parameter {key!r}",
                    field=key,
                    expected=", ".join(sorted(valid)),
                )
            setattr(self, key, value)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    def _check_param(self, name: str, ok: bool, expected: str) -> None:
        if not ok:
            raise InvalidInput(
                f"The {name!r} parameter of {type(self).__name__} must be {expected}. "
                f"Got {getattr(self, name)!r} instead.",
                field=name,
                expected=expected,
            )

    # --- fitted state -------------------------------------------------------------------------

    def check_is_fitted(self) -> None:
        if getattr(self, self.fitted_attribute, None) is None:
            raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet: call 'fit' first.")

    # --- prediction ---------------------------------------------------------------------------

    cheap_refits: ClassVar[bool] = False  # True: small-data cross-validation may repeat (a refit per fold)
    calibration_fraction: ClassVar[float] = 0.1  # of the training rows, held out for calibration

    @classmethod
    def default_settings(cls, base_model: str, seed: int, progress: bool) -> dict[str, Any]:
        """Hyperparameters the training API fills in when the caller leaves them out."""
        return {}

    def fit_calibrated(self, train: list[Any], seed: int, augment: bool) -> tuple[np.ndarray, np.ndarray]:
        """Fit on `train` (Examples), and return the logits and labels of calibration rows the fitted
        model did not train on: by default a `calibration_fraction` slice held out of the fit."""
        from judgeloop.training.augment import augment_examples
        from judgeloop.training.examples import labels_of, pairs_of
        from judgeloop.training.splits import heldout_split, subset

        fit_idx, cal_idx = heldout_split(train, self.calibration_fraction, seed + 1)
        fit_rows, cal_rows = subset(train, fit_idx), subset(train, cal_idx)
        if augment:
            fit_rows = augment_examples(fit_rows, seed)
        self._fit_with_eval(
            pairs_of(fit_rows), labels_of(fit_rows), (pairs_of(cal_rows), labels_of(cal_rows))
        )
        return self.decision_function(pairs_of(cal_rows)), np.asarray(labels_of(cal_rows))

    def _fit_with_eval(self, X: Sequence[Pair], y: Sequence[int], eval_set: tuple[Any, Any]) -> None:
        """Fit with a validation set the method may use (FineTune keeps its best epoch on it)."""
        self.fit(X, y)

    def fit(self, X: Sequence[Pair], y: Sequence[int]) -> PairClassifier:
        raise NotImplementedError

    def decision_function(self, X: Sequence[Pair]) -> np.ndarray:
        raise NotImplementedError

    def predict_proba(self, X: Sequence[Pair]) -> np.ndarray:
        """(n, 2): P(bad), P(good) (uncalibrated: temperature scaling is applied by the evaluator)."""
        from judgeloop.training.calibration import sigmoid

        p = sigmoid(self.decision_function(X))
        return np.stack([1.0 - p, p], axis=1)

    def predict(self, X: Sequence[Pair]) -> np.ndarray:
        return (self.decision_function(X) >= 0.0).astype(int)

    # --- runtime ------------------------------------------------------------------------------

    onnx_: Any = None  # an OnnxForward once attached: the encoder pass runs on ONNX Runtime

    def export_onnx(self, directory: Path) -> Path:
        """Write the encoder pass to directory/model.onnx; returns its path."""
        raise NotImplementedError

    def onnx_key(self) -> str | None:
        """The `onnx_cache` key of the exported encoder when training left it unchanged, else None."""
        return None

    def attach_onnx(self, path: Path) -> None:
        from judgeloop.training.onnx import OnnxForward

        self.onnx_ = OnnxForward(
            path, getattr(self, "num_threads", None), getattr(self, "onnx_spinning", None)
        )

    def detach_onnx(self) -> None:
        """Run the encoder pass on torch again."""
        self.onnx_ = None

    # --- persistence --------------------------------------------------------------------------

    def save(self, directory: Path) -> None:
        raise NotImplementedError

    @classmethod
    def load(
        cls, directory: Path, params: dict[str, Any] | None = None, onnx: Path | None = None
    ) -> PairClassifier:
        """The model saved in `directory`; with `onnx` (an exported encoder pass) it runs on ONNX
        Runtime and the torch weights load only if something needs them (save, export)."""
        raise NotImplementedError

    def saved_params(self) -> dict[str, Any]:
        """Hyperparameters as JSON-able values, for judgeloop.json."""
        out = {}
        for key, value in self.get_params().items():
            out[key] = str(value) if isinstance(value, Path) else value
        return out


def check_xy(X: Sequence[Pair], y: Sequence[int]) -> np.ndarray:
    labels = np.asarray(y, dtype=int)
    if len(X) != len(labels):
        raise InvalidInput(
            f"{len(X)} pairs but {len(labels)} labels", field="y", expected="one label per pair"
        )
    if len(labels) == 0 or set(np.unique(labels).tolist()) - {0, 1}:
        raise InvalidInput("labels must be 0/1 and not empty", field="y", expected="1 (good) or 0 (bad)")
    return labels
