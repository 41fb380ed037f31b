"""Held-out metrics of a trained evaluator, and its model card (README.md)."""

from __future__ import annotations

import platform
from collections.abc import Sequence
from importlib import metadata
from typing import Any

import numpy as np

from judgeloop.stats import binary_agreement, expected_calibration_error, fmt
from judgeloop.training.calibration import nll, sigmoid


def heldout_metrics(
    y: Sequence[int], logits: np.ndarray, temperature: float, threshold: float, n_resamples: int = 1000
) -> dict[str, Any]:
    """Agreement with the held-out human labels (bootstrap CIs), confusion, ECE/NLL before and after."""
    t = np.asarray(y, dtype=int)
    z = np.asarray(logits, dtype=float)
    prob = sigmoid(z / temperature)
    pred = (prob >= threshold).astype(int)
    out = binary_agreement(t, pred, prob, n_resamples=n_resamples)
    out.update(
        threshold=float(threshold),
        temperature=float(temperature),
        ece_before=expected_calibration_error(t, sigmoid(z)),
        ece_after=expected_calibration_error(t, prob),
        nll_before=nll(z, t, 1.0),
        nll_after=nll(z, t, temperature),
        base_rate_good=float(t.mean()) if len(t) else float("nan"),
    )
    return out


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in ("judgeloop", "torch", "transformers", "tokenizers", "scikit-learn", "numpy", "onnxruntime"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def _row(name: str, est: Any) -> str:
    if isinstance(est, dict):
        return f"| {name} | {fmt(est['value'])} | [{fmt(est['low'])}, {fmt(est['high'])}] |"
    return f"| {name} | {fmt(est)} | |"


def _runtime_lines(config: dict[str, Any]) -> list[str]:
    lines = []
    runtime = config.get("runtime")
    if runtime:
        lines.append(
            f"- runs on ONNX Runtime from `{runtime['onnx']}`"
            + (f"; {runtime['gate']}" if runtime.get("gate") else "")
        )
        if runtime.get("metrics_from"):
            lines.append(
                f"- the held-out metrics were measured on {runtime['metrics_from']}, before `export-onnx`"
                " switched the runtime (`judgeloop export-onnx DIR --data FILE` measures them again)"
            )
        elif runtime.get("measured_on"):
            lines.append(f"- held-out metrics measured again on this runtime ({runtime['measured_on']})")
    memory = config.get("memory")
    if memory:
        lines.append(
            f"- label memory: {memory['sessions']} labelled sessions by digest; an identical session leans"
            " to its human label"
        )
    return lines


def _measured_how(m: dict[str, Any]) -> str:
    if m.get("estimate"):
        return f"human labels, by {m['estimate']} (too few labels to hold some out)"
    return "held-out human labels"


def _baseline_lines(m: dict[str, Any]) -> list[str]:
    from judgeloop.training.small_data import describe_baseline

    if not m.get("baseline"):
        return []
    lines = [f"**Against the majority-class baseline:** this model is {describe_baseline(m['baseline'])}."]
    if m["n"] < 100:
        lines.append(f"These figures rest on {m['n']} labelled rows: read them as rough, not settled.")
    return [*lines, ""]


def model_card(config: dict[str, Any]) -> str:
    """README.md for a model directory: what it is, how well it agrees with humans, and its limits."""
    m = config["metrics"]["heldout"]
    c = m["confusion"]
    lines = [
        f"# {config.get('name') or 'judgeloop evaluator'}",
        "",
        "A judgeloop custom evaluator: it reads a model input and a model output and gives P(good),",
        "learned from human good/bad labels. Load it with `judgeloop.load_evaluator(PATH)`.",
        "",
        f"- method: `{config['method']}`; base model: `{config['base_model']}`",
        f"- trained on {config['n_train']} labelled rows; data snapshot sha256 `{config['data_hash'][:16]}…`",
        f"- decision threshold {config['threshold']:.3f} on P(good), temperature {config['temperature']:.3f}",
        f"- created {config['created_at']}",
        *_runtime_lines(config),
        "",
        f"## Agreement with {m['n']} {_measured_how(m)}",
        "",
        *_baseline_lines(m),
        "| metric | value | 95% CI (bootstrap) |",
        "|---|---|---|",
        _row("accuracy", m["accuracy"]),
        _row("F1 (good)", m["f1"]),
        _row("Cohen's kappa", m["kappa"]),
        _row("ROC-AUC", m.get("roc_auc", float("nan"))),
        _row("ECE before calibration", m["ece_before"]),
        _row("ECE after calibration", m["ece_after"]),
        "",
        f"Confusion (good = positive): TP {c['tp']}, FP {c['fp']}, TN {c['tn']}, FN {c['fn']}.",
        "",
        "## Intended use",
        "",
        "Scoring sessions like the ones it was trained on (same task, prompts and output style), as a",
        "guardrail or to triage outputs for human review. The held-out rows it was measured on are listed",
        "in `judgeloop.json` (`heldout_ids`) so that a challenger can be compared on the same rows.",
        "",
        "## Limits",
        "",
        "- It learns what the labelled rows show, nothing more: outputs unlike the training data, new",
        "  tasks or a shifted label policy need new labels and a new measurement.",
        "- The figures above come from one held-out split (or, for small label sets, from cross-validation",
        "  over all labels); the CIs show their sampling noise only.",
        "- Inputs longer than the encoder's window are truncated (the output is kept; chat inputs keep",
        "  their last turns).",
        "",
    ]
    if config.get("automation_report"):  # written by `judgeloop train --target-error`
        from judgeloop.loop.risk_cascade import automation_section

        lines += automation_section(config["automation_report"])
    return "\n".join(lines)
