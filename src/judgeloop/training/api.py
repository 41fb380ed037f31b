"""`train_evaluator`: labelled examples in, a calibrated, measured, saved evaluator out.

Phases: check the rows → split off held-out rows → pick the method → fit (with a calibration slice
that the model does not train on) → temperature and threshold → measure on the held-out human labels
→ save atomically (a normal HF model folder + judgeloop.json + README.md).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from judgeloop.artifact import FORMAT, ModelArtifact
from judgeloop.errors import InvalidInput
from judgeloop.stats import binary_agreement
from judgeloop.training.base_encoder import check_encoder, quiet_transformers, resolve_base_model
from judgeloop.training.calibration import (
    ThresholdRule,
    calibration_report,
    choose_threshold,
    fit_temperature,
    sigmoid,
)
from judgeloop.training.examples import Example, as_example, data_hash, labels_of, pairs_of, validate_examples
from judgeloop.training.export import check_quantize, export_runtime
from judgeloop.training.memory import MEMORY_FILE, LabelMemory
from judgeloop.training.methods import METHOD_NAMES, PairClassifier, make_method, method_class
from judgeloop.training.methods.finetune import TRAIN_TOP_LAYERS as TRAIN_TOP_LAYERS
from judgeloop.training.methods.finetune import default_freeze_layers as default_freeze_layers
from judgeloop.training.report import heldout_metrics, library_versions, model_card
from judgeloop.training.saving import atomic_directory
from judgeloop.training.small_data import (
    REPEATS,
    SMALL_DATA_BELOW,
    CrossValidation,
    baseline_comparison,
    cross_validate,
    repeat_summary,
)
from judgeloop.training.splits import heldout_split, subset
from judgeloop.types import Quantize, utcnow

AUTO_FINETUNE_FROM = 1000  # training rows; below it embedding_head wins (BENCHMARKS.md, issue 3)


@dataclass
class TrainResult:
    """What `train_evaluator` produced: where it is saved and how well it agrees with humans."""

    out_dir: Path
    method: str
    metrics: dict[str, Any]
    calibration: dict[str, Any]
    temperature: float
    threshold: float
    data_hash: str
    train_ids: list[str]
    heldout_ids: list[str]
    train_seconds: float
    config: dict[str, Any] = field(repr=False)
    target_error: dict[str, Any] | None = None  # the certified rule, with target_error=...
    automation_report: list[dict[str, Any]] | None = None

    @property
    def accuracy(self) -> float:
        return float(self.metrics["accuracy"]["value"])


def choose_method(method: str, n_train: int) -> str:
    """`auto` → embedding_head below AUTO_FINETUNE_FROM training rows, else finetune."""
    if method == "auto":
        return "finetune" if n_train >= AUTO_FINETUNE_FROM else "embedding_head"
    if method not in METHOD_NAMES:
        raise InvalidInput(
            f"unknown method {method!r}", field="method", expected=", ".join(("auto",) + METHOD_NAMES)
        )
    return method


def train_evaluator(
    examples: Iterable[Example | tuple[Any, str, Any] | dict[str, Any]],
    out_dir: str | Path,
    base_model: str | Path | None = None,
    method: str = "auto",
    test_size: float = 0.2,
    seed: int = 0,
    *,
    params: dict[str, Any] | None = None,
    threshold: ThresholdRule | float = "fixed",
    augment: bool = False,
    progress: bool = True,
    name: str | None = None,
    stable_split: bool = False,
    onnx: bool = True,
    quantize: Quantize = "auto",
    memory: bool = True,
    small_data: bool | None = None,
    target_error: float | None = None,
    delta: float = 0.1,
) -> TrainResult:
    """Train, calibrate, measure on held-out human labels and save an evaluator to `out_dir`.

    `params` are the method's hyperparameters (see EmbeddingHead / FineTune); `threshold` is 'fixed'
    (0.5), a metric to maximise on the calibration slice ('accuracy', 'f1', 'balanced_accuracy') or a
    number. `stable_split` holds rows out by a hash of their group or id (see `heldout_split`), so
    models retrained on a growing label set share held-out rows. Raises InvalidInput for unusable
    rows or a base model that is not an encoder. `onnx` also writes the encoder pass as model.onnx,
    which `LearnedEvaluator.load` then runs on ONNX Runtime (faster on CPU: BENCHMARKS.md);
    `quantize` ('auto', 'int8', 'none') ships model.int8.onnx instead ('auto': when it passes the
    promotion gate against fp32 on the held-out rows; the reported metrics are the shipped runtime's).
    `memory` keeps the training labels by session digest (memory.npz), so a session identical to a labelled
    one gets the humans' label (see judgeloop.training.memory); held-out metrics include it.
    `small_data` (default: fewer than SMALL_DATA_BELOW labels) fits on every label and measures by
    repeated cross-validation instead of a held-out slice (judgeloop.training.small_data); every
    evaluation is compared with the majority-class baseline (`metrics["baseline"]`).
    `target_error` certifies a review band on the held-out rows so that the sessions decided outside
    it are wrong at most that often, with probability 1 - `delta` (judgeloop.training.certify); the
    rule is saved in judgeloop.json, and the evaluator flags sessions inside it `needs_review`."""
    check_quantize(quantize)
    if target_error is not None and not 0.0 < float(target_error) < 1.0:
        raise InvalidInput(
            f"target error {target_error!r} is not in (0, 1)", field="target_error", expected="e.g. 0.05"
        )
    rows = [as_example(item, number) for number, item in enumerate(examples, start=1)]
    validate_examples(rows)
    base = resolve_base_model(base_model)
    check_encoder(base)
    small = len(rows) < SMALL_DATA_BELOW if small_data is None else small_data
    if small:  # fit on every label; measure by repeated cross-validation (training/small_data.py)
        train, test = rows, []
    else:
        train_idx, test_idx = heldout_split(rows, test_size, seed, stable=stable_split)
        train, test = subset(rows, train_idx), subset(rows, test_idx)
    chosen = choose_method(method, len(train))
    estimator = make_estimator(chosen, base, seed, params, progress)
    cv = _cross_validate(estimator, rows, seed, augment, threshold) if small else None
    started = time.perf_counter()
    cal_logits, cal_labels = fit_estimator(estimator, train, seed, augment)
    seconds = time.perf_counter() - started
    temperature = fit_temperature(cal_logits, cal_labels)
    cut = _threshold(threshold, sigmoid(cal_logits / temperature), cal_labels)
    recall = LabelMemory.build(pairs_of(train), labels_of(train)) if memory else None
    if cv is not None:
        metrics = _cv_metrics(rows, cv, temperature, cut)
        gate_rows, gate_recall = rows, None  # int8 vs fp32 on the training rows, without the memory
        gate_logits = estimator.decision_function(pairs_of(rows))  # (which knows them): quantization only
        gate_metrics = heldout_metrics(labels_of(rows), gate_logits, temperature, cut)
    else:
        test_logits = _with_memory(recall, test, estimator.decision_function(pairs_of(test)), temperature)
        metrics = heldout_metrics(labels_of(test), test_logits, temperature, cut)
        majority = int(np.mean(labels_of(train)) >= 0.5)
        predicted = (sigmoid(test_logits / temperature) >= cut).astype(int)
        metrics["baseline"] = baseline_comparison(labels_of(test), predicted, [majority] * len(test))
        gate_rows, gate_recall, gate_logits, gate_metrics = test, recall, test_logits, metrics
    calibration = calibration_report(cal_logits, cal_labels, temperature)
    extra = {
        "augment": augment,
        "threshold_rule": threshold,
        "test_size": test_size,
        "seed": seed,
        "name": name,
        "stable": stable_split,
        "evaluation": "cross-validation" if cv is not None else "held-out",
    }
    with tempfile.TemporaryDirectory(prefix="judgeloop-onnx-") as staging:
        runtime = None
        if onnx:
            runtime = export_runtime(
                estimator,
                Path(staging),
                quantize,
                gate_rows,
                temperature,
                cut,
                gate_logits,
                gate_metrics,
                lambda logits: _with_memory(gate_recall, gate_rows, logits, temperature),
            )
            if cv is None:
                metrics = {**runtime.metrics, "baseline": metrics["baseline"]}
            else:
                runtime.summary["gate"] = str(runtime.summary.get("gate", "")).replace(
                    "held-out human labels", "training rows (too few labels to hold some out)"
                )
        config = _config(
            rows, train, test, chosen, base, estimator, temperature, cut, metrics, calibration, seconds, extra
        )
        if runtime is not None:
            config.update(runtime=runtime.summary, onnx=runtime.file.name)
        if recall is not None:
            config["memory"] = {"file": MEMORY_FILE, "sessions": len(recall)}
        out = save_model(estimator, out_dir, config, runtime.file if runtime else None, recall)
    rule, report = None, None
    if target_error is not None:
        from judgeloop.training.certify import certify_target_error

        held = set(config["heldout_ids"])
        rule, report = certify_target_error(out, target_error, delta, [ex for ex in rows if ex.key in held])
        config = ModelArtifact.load(out).to_dict()
    return TrainResult(
        out,
        chosen,
        metrics,
        calibration,
        temperature,
        cut,
        config["data_hash"],
        config["train_ids"],
        config["heldout_ids"],
        seconds,
        config,
        rule,
        report,
    )


def _cross_validate(
    estimator: PairClassifier, rows: list[Example], seed: int, augment: bool, rule: ThresholdRule | float
) -> CrossValidation:
    """The whole fitting procedure (fit, temperature, threshold) scored out of fold; raw logits are
    kept (the final model's temperature is applied to them afterwards)."""
    from judgeloop.training.augment import augment_examples

    labels = np.asarray(labels_of(rows))

    def fold(train_idx: list[int], test_idx: list[int]) -> tuple[np.ndarray, np.ndarray]:
        train, test = subset(rows, train_idx), subset(rows, test_idx)
        if rule == "fixed":  # the verdict is logit >= 0 whatever the temperature: skip calibration
            fit_rows = augment_examples(train, seed) if augment else train
            estimator.fit(pairs_of(fit_rows), labels_of(fit_rows))
            logits = estimator.decision_function(pairs_of(test))
            return logits, (logits >= 0).astype(int)
        cal_logits, cal_labels = fit_estimator(estimator, train, seed, augment)
        temperature = fit_temperature(cal_logits, cal_labels)
        cut = _threshold(rule, sigmoid(cal_logits / temperature), cal_labels)
        logits = estimator.decision_function(pairs_of(test))
        return logits, (sigmoid(logits / temperature) >= cut).astype(int)

    repeats = REPEATS if estimator.cheap_refits else 1  # a fine-tune per fold is costly
    searched = getattr(estimator, "C", None) == "auto"
    if searched:  # choose C once on every label (one of 5 values: a small leak), not in every fold
        estimator.fit(pairs_of(rows), labels_of(rows))
        estimator.set_params(C=estimator.C_)  # type: ignore[attr-defined]
    groups = [ex.group if ex.group is not None else f"\x00row{i}" for i, ex in enumerate(rows)]
    grouped = any(ex.group is not None for ex in rows) and len(set(groups)) >= 2
    try:
        return cross_validate(labels, fold, seed, repeats=repeats, groups=groups if grouped else None)
    finally:
        if searched:
            estimator.set_params(C="auto")


def _cv_metrics(rows: list[Example], cv: CrossValidation, temperature: float, cut: float) -> dict[str, Any]:
    """Agreement of the first repeat's out-of-fold verdicts (bootstrap CIs), the repeats' spread, and
    the majority-class baseline on the same folds."""
    labels = np.asarray(labels_of(rows))
    metrics = heldout_metrics(labels_of(rows), cv.logits[0], temperature, cut)
    predicted = cv.predictions[0]
    metrics.update(
        binary_agreement(labels, predicted, sigmoid(cv.logits[0] / temperature)),
        estimate=f"{cv.folds}-fold cross-validation, {cv.repeats} repeat(s), over all {len(rows)} labels",
        cross_validation=repeat_summary(labels, cv),
        baseline=baseline_comparison(labels, predicted, cv.baseline[0]),
    )
    return metrics


def _with_memory(
    recall: LabelMemory | None, rows: list[Example], logits: np.ndarray, temperature: float
) -> np.ndarray:
    if recall is None or not rows:
        return logits
    return recall.adjust_logits(pairs_of(rows), logits, temperature)


def make_estimator(
    method: str, base: str, seed: int, params: dict[str, Any] | None, progress: bool
) -> PairClassifier:
    """The method's estimator, with the defaults the method asks for (`default_settings`) under `params`."""
    settings: dict[str, Any] = {"base_model": base, **(params or {})}
    for key, value in method_class(method).default_settings(base, seed, progress).items():
        settings.setdefault(key, value)
    return make_method(method, **settings)


def fit_estimator(
    estimator: PairClassifier, train: list[Example], seed: int, augment: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Fit, and return logits and labels of calibration rows the fitted model did not train on (each
    method decides how: `PairClassifier.fit_calibrated`)."""
    return estimator.fit_calibrated(train, seed, augment)


def _threshold(rule: ThresholdRule | float, probabilities: np.ndarray, labels: np.ndarray) -> float:
    if isinstance(rule, int | float) and not isinstance(rule, bool):
        if not 0.0 < float(rule) < 1.0:
            raise InvalidInput(f"threshold {rule!r} is not in (0, 1)", field="threshold", expected="e.g. 0.5")
        return float(rule)
    if rule not in ("fixed", "accuracy", "f1", "balanced_accuracy"):
        raise InvalidInput(
            f"unknown threshold rule {rule!r}",
            field="threshold",
            expected="fixed, accuracy, f1, balanced_accuracy or a number in (0, 1)",
        )
    return choose_threshold(probabilities, labels, rule)


def _config(
    rows: list[Example],
    train: list[Example],
    test: list[Example],
    method: str,
    base: str,
    estimator: PairClassifier,
    temperature: float,
    threshold: float,
    metrics: dict[str, Any],
    calibration: dict[str, Any],
    seconds: float,
    extra: dict[str, Any],
) -> dict[str, Any]:
    history = getattr(estimator, "history_", None)
    return {
        "format": FORMAT,
        "name": extra["name"],
        "method": method,
        "base_model": base,
        "params": {k: v for k, v in estimator.saved_params().items() if k != "progress"},
        "labels": {"0": "bad", "1": "good"},
        "temperature": temperature,
        "threshold": threshold,
        "threshold_rule": extra["threshold_rule"],
        "augment": extra["augment"],
        "split": {
            "test_size": extra["test_size"],
            "seed": extra["seed"],
            "stable": extra["stable"],
            "grouped": any(r.group for r in rows),
            "evaluation": extra["evaluation"],
        },
        "data_hash": data_hash(rows),
        "n_train": len(train),
        "n_heldout": len(test),
        "train_ids": [ex.key for ex in train],
        "heldout_ids": [ex.key for ex in test],
        "metrics": {
            "heldout": metrics,
            "calibration": calibration,
            "train": {"seconds": round(seconds, 3), "history": history or []},
        },
        "created_at": utcnow().isoformat(),
        "versions": library_versions(),
    }


def save_model(
    estimator: PairClassifier,
    out_dir: str | Path,
    config: dict[str, Any],
    onnx_file: Path | None = None,
    memory: LabelMemory | None = None,
) -> Path:
    """Write the model folder atomically: weights + tokenizer, judgeloop.json, README.md, and the
    exported ONNX encoder `onnx_file` when there is one (config["onnx"] names it), and the label memory."""
    target = Path(out_dir)
    config = {**config, "name": config.get("name") or target.resolve().name}
    with atomic_directory(target) as tmp, quiet_transformers():
        estimator.save(tmp)
        if onnx_file is not None:
            shutil.copy2(onnx_file, tmp / onnx_file.name)
        if memory is not None:
            memory.save(tmp)
        (tmp / "README.md").write_text(model_card(config), encoding="utf-8")
        ModelArtifact.from_dict(config).save(tmp)
    return target.resolve()
