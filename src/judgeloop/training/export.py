"""Choose the runtime a trained evaluator is served on: ONNX fp32, or ONNX int8 when it is as good.

`export_runtime` writes model.onnx, and (unless `quantize="none"`) model.int8.onnx, into a staging
folder, scores the held-out rows with the int8 model and keeps it when it passes the registry's promotion
gate against fp32 on those rows (`quantize="auto"`: not worse, i.e. accuracy down by at most 2 points
and no significant drop by McNemar's test) or always (`"int8"`). A single flipped row on a small
held-out set therefore does not cost the 2x speed-up, and a broken quantization does not ship. The
held-out metrics the model folder reports are those of the runtime it will serve on; both runtimes'
headline figures and the gate's reason are kept in judgeloop.json under "runtime".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from judgeloop.errors import InvalidInput
from judgeloop.training.calibration import sigmoid
from judgeloop.training.examples import Example, labels_of, pairs_of
from judgeloop.training.methods import PairClassifier
from judgeloop.training.onnx import INT8_FILE, quantize_int8
from judgeloop.training.report import heldout_metrics

QUANTIZE_CHOICES = ("auto", "int8", "none")


@dataclass
class ExportedRuntime:
    """The ONNX runtime a trained evaluator will be served on (server.runtime.Runtime is the API server's)."""

    file: Path  # the ONNX file to ship (in the staging folder)
    metrics: dict[str, Any]  # held-out metrics on that runtime
    summary: dict[str, Any] = field(default_factory=dict)  # for judgeloop.json["runtime"]


def check_quantize(quantize: str) -> str:
    if quantize not in QUANTIZE_CHOICES:
        raise InvalidInput(
            f"unknown quantize setting {quantize!r}", field="quantize", expected=", ".join(QUANTIZE_CHOICES)
        )
    return quantize


def export_runtime(
    estimator: PairClassifier,
    staging: Path,
    quantize: str,
    test: list[Example],
    temperature: float,
    threshold: float,
    fp32_logits: np.ndarray,
    fp32_metrics: dict[str, Any],
    finish: Callable[[np.ndarray], np.ndarray] = lambda logits: logits,
) -> ExportedRuntime:
    """Export to `staging`, measure int8 on the held-out rows, and pick the file to ship. `finish` is
    applied to int8's held-out logits as it was to fp32's (the label memory)."""
    fp32 = estimator.export_onnx(staging)
    if check_quantize(quantize) == "none":
        return ExportedRuntime(fp32, fp32_metrics, {"onnx": fp32.name, "quantized": None})
    int8 = quantize_int8(fp32, staging / INT8_FILE, key=estimator.onnx_key())
    estimator.attach_onnx(int8)
    int8_logits = finish(estimator.decision_function(pairs_of(test))) if test else np.zeros(0)
    int8_metrics = heldout_metrics(labels_of(test), int8_logits, temperature, threshold)
    fp32_acc, int8_acc = _accuracy(fp32_metrics), _accuracy(int8_metrics)
    fp32_says = sigmoid(np.asarray(fp32_logits, dtype=float) / temperature) >= threshold
    int8_says = sigmoid(np.asarray(int8_logits, dtype=float) / temperature) >= threshold
    same = float((fp32_says == int8_says).mean()) if len(test) else 1.0
    passed, reason = _gate(labels_of(test), int8_says, fp32_says)
    keep = quantize == "int8" or passed
    summary = {
        "onnx": int8.name if keep else fp32.name,
        "quantized": "int8" if keep else None,
        "rule": quantize,
        "heldout_accuracy": {"fp32": fp32_acc, "int8": int8_acc},
        "heldout_roc_auc": {"fp32": _value(fp32_metrics, "roc_auc"), "int8": _value(int8_metrics, "roc_auc")},
        "int8_same_verdict": same,
        "gate": reason,
    }
    return (
        ExportedRuntime(int8, int8_metrics, summary) if keep else ExportedRuntime(fp32, fp32_metrics, summary)
    )


def _gate(truth: list[int], int8: np.ndarray, fp32: np.ndarray) -> tuple[bool, str]:
    """The registry's promotion gate ('not worse') with int8 as the candidate and fp32 as the champion."""
    from judgeloop.gate import compare_predictions, gate_decision

    if not truth:
        return True, "no held-out rows"
    return gate_decision(compare_predictions(truth, int8, fp32), names=("int8", "fp32 model"))


def _value(metrics: dict[str, Any], name: str) -> float | None:
    entry = metrics.get(name)
    value = entry.get("value") if isinstance(entry, dict) else entry
    return None if value is None or (isinstance(value, float) and np.isnan(value)) else float(value)


def _accuracy(metrics: dict[str, Any]) -> float:
    return _value(metrics, "accuracy") or 0.0


@dataclass
class Reexport:
    """What `reexport_onnx` wrote: the ONNX file, the held-out metrics on it (when re-measured), the
    config's new "runtime" entry, and the largest probability difference from torch on two samples."""

    path: Path
    metrics: dict[str, Any] | None
    runtime: dict[str, Any]
    max_difference: float


def reexport_onnx(
    model_dir: str | Path, *, int8: bool = False, heldout: list[Example] | None = None, measured_on: str = ""
) -> Reexport:
    """Add model.onnx (or model.int8.onnx, `int8`) to a trained model folder. With `heldout` (the
    model's held-out examples) the held-out rows are scored again on the new runtime and the folder's
    held-out metrics replaced (`measured_on` says from where); without, they stay those of the runtime
    they were measured on, and judgeloop.json's "runtime" says which. The other ONNX file, if any, is
    removed and the model card rewritten."""
    import shutil
    import tempfile

    from judgeloop.artifact import ModelArtifact
    from judgeloop.evaluators.learned import LearnedEvaluator
    from judgeloop.io import atomic_write_text
    from judgeloop.training.onnx import ONNX_FILE
    from judgeloop.training.report import model_card

    model_dir = Path(model_dir)
    ev = LearnedEvaluator.load(model_dir, runtime="torch")
    with tempfile.TemporaryDirectory(prefix="judgeloop-onnx-") as staging:
        exported = ev.model.export_onnx(Path(staging))
        if int8:
            exported = quantize_int8(exported, Path(staging) / INT8_FILE, key=ev.model.onnx_key())
        metrics = _measure_on(ev, exported, heldout) if heldout is not None else None
        path = Path(shutil.copy2(exported, model_dir / exported.name))
    config = dict(ev.config, onnx=path.name)
    runtime: dict[str, Any] = {
        "onnx": path.name,
        "quantized": "int8" if int8 else None,
        "rule": "export-onnx",
    }
    if metrics is not None:
        config["metrics"] = dict(config.get("metrics") or {}, heldout=metrics)
        runtime["heldout_accuracy"] = {"int8" if int8 else "fp32": metrics["accuracy"]["value"]}
        runtime["measured_on"] = measured_on
    elif "metrics" in config:
        runtime["metrics_from"] = measured_runtime(ev.config)
    config["runtime"] = runtime
    ModelArtifact.from_dict(config).save(model_dir)
    if "metrics" in config:
        atomic_write_text(model_dir / "README.md", model_card(config))  # the card names the runtime
    (model_dir / (ONNX_FILE if path.name == INT8_FILE else INT8_FILE)).unlink(missing_ok=True)  # not used
    sample = [("Where is my order?", "It shipped on Monday."), ("Can I return shoes?", "No.")]
    fast = LearnedEvaluator.load(model_dir, runtime="onnx")
    diff = float(abs(fast.predict_proba(sample) - ev.predict_proba(sample)).max())
    return Reexport(path, metrics, runtime, diff)


def measured_runtime(config: dict[str, Any]) -> str:
    """The runtime a model's held-out metrics were measured on."""
    runtime = config.get("runtime")
    if not runtime:
        return "torch"
    return str(
        runtime.get("metrics_from") or ("ONNX int8" if runtime.get("quantized") == "int8" else "ONNX fp32")
    )


def _measure_on(ev: Any, onnx_file: Path, heldout: list[Example]) -> dict[str, Any]:
    """Held-out metrics of `ev` with its encoder pass on `onnx_file` (label memory included)."""
    ev.model.attach_onnx(onnx_file)
    pairs = pairs_of(heldout)
    logits = ev.model.decision_function(pairs)
    if ev.memory is not None:
        logits = ev.memory.adjust_logits(pairs, logits, ev.temperature)
    metrics = heldout_metrics(labels_of(heldout), logits, ev.temperature, ev.threshold)
    ev.model.detach_onnx()  # back to torch for the comparison after
    return metrics
