"""A trained custom evaluator, loaded from its model directory, ready to score sessions.

    ev = judgeloop.load_evaluator("models/support")          # or "support@3" from the registry
    ev.evaluate_llm_session("Where is my order?", "It ships Monday.")   -> Verdict(label, probability…)
    ev.predict_proba([(input, output), ...])                  -> calibrated P(good), one per pair

Probabilities are temperature-scaled (the temperature fitted at training time); the label is
`P(good) >= threshold`. When the model was trained with `--target-error`, sessions whose probability
falls in the certified review band get `needs_review=True`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from judgeloop.artifact import MODEL_CONFIG as MODEL_CONFIG
from judgeloop.artifact import ModelArtifact
from judgeloop.errors import InvalidInput
from judgeloop.types import EncoderRuntime, ModelInput, Session, Verdict

if TYPE_CHECKING:
    from judgeloop.training.memory import LabelMemory

DEFAULT_BATCH = 64


class LearnedEvaluator:
    """A fitted pair classifier plus its calibration (temperature, threshold, review band)."""

    kind = "learned"

    def __init__(
        self, model: Any, config: dict[str, Any], path: Path | None = None, memory: LabelMemory | None = None
    ) -> None:
        self.model = model
        self.memory = memory  # labels of identical training sessions (judgeloop.training.memory)
        self.config = config
        self.path = path
        self.name: str = str(config.get("name") or (path.name if path else "learned"))
        self.version: str | None = None
        self.temperature = float(config.get("temperature") or 1.0)
        threshold = config.get("threshold")
        self.threshold = 0.5 if threshold is None else float(threshold)
        self.review_band = review_band(config)

    # --- loading ------------------------------------------------------------------------------

    @classmethod
    def load(cls, directory: str | Path, runtime: EncoderRuntime | str | None = None) -> LearnedEvaluator:
        """Load a model directory written by `judgeloop train` (judgeloop.json + HF weights).

        `runtime`: "auto" (default, or $JUDGELOOP_RUNTIME) runs the encoder on ONNX Runtime when the
        folder has a model.onnx, "torch" never does, "onnx" requires it."""
        from judgeloop.training import onnx as onnx_runtime
        from judgeloop.training.methods import method_class

        path = Path(directory)
        cfg_path = ModelArtifact.path_of(path)
        config = ModelArtifact.load(path).to_dict()
        method = config.get("method")
        if not isinstance(method, str):
            raise InvalidInput(f"{cfg_path} names no method", file=str(cfg_path), field="method")
        runtime = runtime or os.environ.get("JUDGELOOP_RUNTIME", "auto")
        if runtime not in ("auto", "torch", "onnx"):
            raise InvalidInput(
                f"unknown runtime {runtime!r}", field="runtime", expected="auto, torch or onnx"
            )
        onnx_file = path / str(config.get("onnx") or onnx_runtime.ONNX_FILE)
        if runtime == "onnx" and not (onnx_file.is_file() and onnx_runtime.available()):
            raise InvalidInput(
                f"{path} has no ONNX model (or onnxruntime is missing)",
                file=str(onnx_file),
                expected="a folder trained with --onnx, or `judgeloop export-onnx`",
            )
        has_onnx = bool(config.get("onnx")) and onnx_file.is_file() and onnx_runtime.available()
        on_onnx = runtime != "torch" and has_onnx
        model = method_class(method).load(path, config.get("params") or {}, onnx_file if on_onnx else None)
        from judgeloop.training.memory import LabelMemory

        return cls(model, config, path, LabelMemory.load(path) if config.get("memory") else None)

    @property
    def runtime(self) -> str:
        return "onnx" if getattr(self.model, "onnx_", None) is not None else "torch"

    # --- scoring ------------------------------------------------------------------------------

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}" if self.version else self.name

    def predict_proba(
        self, pairs: Sequence[tuple[ModelInput, str]], batch_size: int = DEFAULT_BATCH, progress: bool = False
    ) -> np.ndarray:
        """Calibrated P(good) for each (model_input, model_output) pair (a session identical to a
        labelled training session leans to the humans' label: judgeloop.training.memory)."""
        from judgeloop.training.calibration import sigmoid

        pairs = list(pairs)
        if not pairs:
            return np.zeros(0)
        if len(pairs) <= batch_size or not progress:
            logits = self.model.decision_function(pairs)
        else:  # batch by batch, so that the progress (judgeloop.progress) moves as rows are scored
            from judgeloop.progress import track

            parts = []
            with track("scoring", len(pairs), unit="rows") as bar:
                for start in range(0, len(pairs), batch_size):
                    parts.append(self.model.decision_function(pairs[start : start + batch_size]))
                    bar.advance(len(parts[-1]))
            logits = np.concatenate(parts)
        probability = sigmoid(np.asarray(logits, dtype=float) / self.temperature)
        if self.memory is not None:
            probability = self.memory.adjust(pairs, probability)
        return np.asarray(probability)

    def needs_review(self, probability: float) -> bool:
        if self.review_band is None:
            return False
        low, high = self.review_band
        return low <= probability <= high

    def verdict(
        self, probability: float, latency_ms: float | None = None, session_id: str | None = None
    ) -> Verdict:
        return Verdict(
            session_id=session_id,
            evaluator=self.name,
            version=self.version,
            label=int(probability >= self.threshold),
            probability=float(probability),
            threshold=self.threshold,
            needs_review=self.needs_review(probability),
            latency_ms=latency_ms,
        )

    def evaluate_llm_session(
        self, model_input: ModelInput, model_output: str, session_id: str | None = None
    ) -> Verdict:
        """The seed's `evaluate_llm_session`, with a probability: one session → one Verdict."""
        started = time.perf_counter()
        p = float(self.predict_proba([(model_input, model_output)])[0])
        return self.verdict(p, round((time.perf_counter() - started) * 1000, 3), session_id)

    def evaluate(
        self,
        rows: Sequence[Session] | Iterable[tuple[ModelInput, str]],
        session_ids: Sequence[str | None] | None = None,
        batch_size: int = DEFAULT_BATCH,
        progress: bool = False,
    ) -> list[Verdict]:
        """Verdicts for many sessions (the Evaluator protocol), or (model_input, model_output) pairs
        with optional `session_ids` (latency is the batch time per row)."""
        from judgeloop.evaluators.base import split_rows

        pairs, ids = split_rows(list(rows), session_ids)
        started = time.perf_counter()
        probs = self.predict_proba(pairs, batch_size=batch_size, progress=progress)
        per_row = (time.perf_counter() - started) * 1000 / max(1, len(pairs))
        return [self.verdict(float(p), round(per_row, 3), sid) for p, sid in zip(probs, ids, strict=True)]

    def __repr__(self) -> str:
        return f"LearnedEvaluator({self.ref!r}, method={self.config.get('method')!r})"


def review_band(config: dict[str, Any]) -> tuple[float, float] | None:
    """The "send to humans" probability band of a model config: `review_band: [lo, hi]` (also accepted
    inside a `target_error` object, or as its `low`/`high` pair)."""
    for source in (config, config.get("target_error")):
        if not isinstance(source, dict):
            continue
        band = source.get("review_band")
        if band is None and "low" in source and "high" in source:
            band = (source["low"], source["high"])
        if isinstance(band, list | tuple) and len(band) == 2:
            low, high = float(band[0]), float(band[1])
            if low <= high:
                return (low, high)
    return None
