"""`train_pairwise`: human pairwise preferences in, a calibrated, measured, saved comparator out.

Phases, as `train_evaluator`: check the pairs → hold out pairs (grouped by prompt when groups exist)
→ fit the Bradley-Terry scorer → fit temperature and the Davidson tie term on out-of-fold margins
→ measure on the held-out human choices (accuracy on decisive pairs, agreement including ties,
Cohen's kappa, bootstrap CIs) → save atomically (HF encoder folder + bt_head.npz + judgeloop.json +
README.md). The model directory loads with `judgeloop.load_evaluator` like any other evaluator.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from judgeloop.artifact import FORMAT, ModelArtifact
from judgeloop.training.pairwise_data import Choice, PairExample, as_pair_example, validate_pairs
from judgeloop.training.pairwise_model import METHOD, BTComparator, choose, davidson, fit_davidson


@dataclass
class PairwiseTrainResult:
    """Where the comparator is saved and how well it agrees with the held-out human choices."""

    out_dir: Path
    method: str
    metrics: dict[str, Any]
    temperature: float
    nu: float
    data_hash: str
    train_ids: list[str]
    heldout_ids: list[str]
    train_seconds: float
    config: dict[str, Any] = field(repr=False)

    @property
    def accuracy(self) -> float:
        return float(self.metrics["accuracy"]["value"])


def pairwise_metrics(
    human: Sequence[Choice], margins: np.ndarray, temperature: float, nu: float, n_resamples: int = 1000
) -> dict[str, Any]:
    """Agreement with human A/B/tie choices: `accuracy` on the humans' decisive pairs (the sign of the
    margin), `agreement` including ties (the most probable of A, B, tie), kappa, NLL, bootstrap CIs."""
    from judgeloop import stats

    h = np.asarray(list(human), dtype=object)
    d = np.asarray(margins, dtype=float)
    probs = davidson(d, temperature, nu)
    picked = np.asarray(choose(probs), dtype=object)
    winner = np.where(d >= 0, "A", "B").astype(object)
    decisive = h != "tie"
    idx = np.asarray([{"A": 0, "B": 1, "tie": 2}[c] for c in h], dtype=int)
    nll = float(-np.mean(np.log(np.clip(probs[np.arange(len(h)), idx], 1e-12, None)))) if len(h) else np.nan

    def est(fn: Any, *arrays: Any) -> dict[str, float]:
        return stats.bootstrap(fn, *arrays, n_resamples=n_resamples).as_dict()

    p_win = probs[:, 0] / np.clip(probs[:, 0] + probs[:, 1], 1e-12, None)
    return {
        "n": int(len(h)),
        "n_decisive": int(decisive.sum()),
        "human_ties": int((~decisive).sum()),
        "predicted_ties": int(np.sum(picked == "tie")),
        "accuracy": est(stats.accuracy, h[decisive], winner[decisive]),
        "agreement": est(stats.accuracy, h, picked),
        "kappa": est(stats.cohen_kappa, h, picked),
        "ece_decisive": stats.expected_calibration_error((h[decisive] == "A").astype(int), p_win[decisive])
        if decisive.any()
        else float("nan"),
        "nll": nll,
        "temperature": float(temperature),
        "nu": float(nu),
    }


def pair_data_hash(pairs: Sequence[PairExample]) -> str:
    import hashlib

    blob = json.dumps(
        [[p.model_input, p.output_a, p.output_b, p.choice] for p in pairs], ensure_ascii=False, sort_keys=True
    )
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def split_pairs(
    pairs: Sequence[PairExample], test_size: float, seed: int, stable: bool
) -> tuple[list[int], list[int]]:
    """Held-out split of pairs (grouped by prompt when pairs carry a group), as `heldout_split`."""
    from judgeloop.training.examples import Example
    from judgeloop.training.splits import heldout_split

    proxies = [Example(p.model_input, p.output_a, int(p.choice == "A"), p.group, p.key) for p in pairs]
    return heldout_split(proxies, test_size, seed, stable=stable)


def train_pairwise(
    examples: Iterable[PairExample | dict[str, Any] | tuple[Any, ...]],
    out_dir: str | Path,
    base_model: str | Path | None = None,
    test_size: float = 0.2,
    seed: int = 0,
    *,
    params: dict[str, Any] | None = None,
    name: str | None = None,
    stable_split: bool = False,
    heldout: Sequence[PairExample] | None = None,
    onnx: bool = True,
    comparator: BTComparator | None = None,
    quantize: str = "auto",
) -> PairwiseTrainResult:
    """Train, calibrate, measure on held-out human choices and save a comparator to `out_dir`.

    `heldout`: measure on these pairs instead of splitting `examples` (all of them train). `onnx` also
    writes the encoder as model.onnx, which `PairwiseEvaluator.load` runs on ONNX Runtime. `quantize`
    (with `onnx`): "auto" also writes model.int8.onnx and serves on it when it passes the promotion
    gate against fp32 on the held-out choices, "int8" always, "none" never (as `train_evaluator`).
    `comparator`: an unfitted BTComparator to fit instead of a new one (`params` then do not apply)."""
    from judgeloop.training.base_encoder import check_encoder, resolve_base_model
    from judgeloop.training.export import check_quantize

    check_quantize(quantize)

    rows = [as_pair_example(item, number) for number, item in enumerate(examples, start=1)]
    validate_pairs(rows)
    base = resolve_base_model(base_model)
    check_encoder(base)
    if heldout is None:
        train_idx, test_idx = split_pairs(rows, test_size, seed, stable_split)
        train, test = [rows[i] for i in train_idx], [rows[i] for i in test_idx]
    else:
        train, test = rows, list(heldout)
    validate_pairs(train)
    model = comparator if comparator is not None else BTComparator(base_model=base, **(params or {}))
    started = time.perf_counter()
    fa, fb = model.pair_features(train)
    choices = [p.choice for p in train]
    groups = [p.group or p.key for p in train]
    model.fit_features(fa, fb, choices, groups)
    oof = model.oof_margins(fa, fb, choices, groups, seed)
    temperature, nu = fit_davidson(oof, choices)
    seconds = time.perf_counter() - started
    test_margins = model.margins(test) if test else np.zeros(0)
    metrics = pairwise_metrics([p.choice for p in test], test_margins, temperature, nu) if test else {}
    calibration = pairwise_metrics(choices, oof, temperature, nu, n_resamples=200)
    config = _config(rows, train, test, model, base, temperature, nu, metrics, calibration, seconds, name)
    config["split"] = {
        "test_size": test_size,
        "seed": seed,
        "stable": stable_split,
        "given": heldout is not None,
    }
    heldout_run = HeldoutRun(test, test_margins, temperature, nu)
    out = save_comparator(model, out_dir, config, onnx, quantize, heldout_run)
    config = ModelArtifact.load(out).to_dict()
    return PairwiseTrainResult(
        out,
        METHOD,
        config["metrics"]["heldout"],
        temperature,
        nu,
        config["data_hash"],
        config["train_ids"],
        config["heldout_ids"],
        seconds,
        config,
    )


def _config(
    rows: list[PairExample],
    train: list[PairExample],
    test: list[PairExample],
    model: BTComparator,
    base: str,
    temperature: float,
    nu: float,
    metrics: dict[str, Any],
    calibration: dict[str, Any],
    seconds: float,
    name: str | None,
) -> dict[str, Any]:
    from judgeloop.training.report import library_versions
    from judgeloop.types import utcnow

    return {
        "format": FORMAT,
        "kind": "pairwise",
        "name": name,
        "method": METHOD,
        "base_model": base,
        "params": model.params(),
        "labels": {"1": "A", "0": "B", "null": "tie"},
        "temperature": temperature,
        "nu": nu,
        "threshold": 0.5,
        "data_hash": pair_data_hash(rows),
        "n_train": len(train),
        "n_heldout": len(test),
        "train_ids": [p.key for p in train],
        "heldout_ids": [p.key for p in test],
        "metrics": {
            "heldout": metrics,
            "calibration": calibration,
            "train": {"seconds": round(seconds, 3)},
        },
        "created_at": utcnow().isoformat(),
        "versions": library_versions(),
    }


@dataclass
class HeldoutRun:
    """The held-out pairs and their fp32 (torch) margins, for choosing the runtime to serve on."""

    pairs: list[PairExample]
    margins: np.ndarray
    temperature: float
    nu: float


def choose_runtime(
    model: BTComparator, staging: Path, quantize: str, heldout: HeldoutRun | None
) -> tuple[Path, dict[str, Any], dict[str, Any] | None]:
    """Export the encoder to staging/model.onnx and (unless `quantize` is "none") model.int8.onnx;
    serve on int8 when it passes the promotion gate against fp32 on the held-out choices ("auto": not
    worse) or always ("int8"). Returns the file to serve, the summary for judgeloop.json["runtime"],
    and the held-out metrics on int8 when it is served (else None: the fp32 metrics stand)."""
    from judgeloop.evaluators.pairwise_learned import CODES
    from judgeloop.gate import compare_predictions, gate_decision
    from judgeloop.training.onnx import INT8_FILE, quantize_int8

    fp32 = model.export_onnx(staging)
    if quantize == "none":
        return (
            fp32,
            {"onnx": fp32.name, "quantized": None, "metrics_from": "torch (fp32 ONNX agrees to ~1e-5)"},
            None,
        )
    int8 = quantize_int8(fp32, staging / INT8_FILE, key=model.onnx_key())
    summary: dict[str, Any] = {"rule": quantize, "fp32_file": fp32.name}
    int8_metrics: dict[str, Any] | None = None
    passed, reason = True, "no held-out pairs"
    if heldout is not None and heldout.pairs:
        embedder = model.embedder
        embedder.onnx_spinning = False
        embedder.attach_onnx(int8)
        try:
            int8_margins = model.margins(heldout.pairs)
        finally:
            embedder.detach_onnx()  # the caller's comparator keeps encoding on torch
        choices = [p.choice for p in heldout.pairs]
        int8_metrics = pairwise_metrics(choices, int8_margins, heldout.temperature, heldout.nu)
        fp32_probs = davidson(heldout.margins, heldout.temperature, heldout.nu)
        int8_probs = davidson(int8_margins, heldout.temperature, heldout.nu)
        fp32_says = [CODES[c] for c in choose(fp32_probs)]
        int8_says = [CODES[c] for c in choose(int8_probs)]
        truth = [CODES[c] for c in choices]
        passed, reason = gate_decision(
            compare_predictions(truth, int8_says, fp32_says), names=("int8", "fp32 model")
        )
        fp32_metrics = pairwise_metrics(
            choices, heldout.margins, heldout.temperature, heldout.nu, n_resamples=200
        )
        summary.update(
            heldout_accuracy={
                "fp32": fp32_metrics["accuracy"]["value"],
                "int8": int8_metrics["accuracy"]["value"],
            },
            heldout_agreement={
                "fp32": fp32_metrics["agreement"]["value"],
                "int8": int8_metrics["agreement"]["value"],
            },
            int8_same_choice=float(np.mean(np.asarray(fp32_says) == np.asarray(int8_says))),
            max_abs_probability_change=float(np.max(np.abs(fp32_probs - int8_probs))),
        )
    keep = quantize == "int8" or passed
    summary.update(onnx=(int8 if keep else fp32).name, quantized="int8" if keep else None, gate=reason)
    summary["metrics_from"] = "ONNX int8" if keep else "torch (fp32 ONNX agrees to ~1e-5)"
    return (int8 if keep else fp32), summary, int8_metrics if keep else None


def save_comparator(
    model: BTComparator,
    out_dir: str | Path,
    config: dict[str, Any],
    onnx: bool = True,
    quantize: str = "auto",
    heldout: HeldoutRun | None = None,
) -> Path:
    """Write the model folder atomically (weights, bt_head.npz, judgeloop.json, README.md, and the
    encoder as model.onnx, plus model.int8.onnx unless `quantize` is "none", when `onnx` and
    onnxruntime is installed; see `choose_runtime`)."""
    from judgeloop.training import onnx as onnx_runtime
    from judgeloop.training.base_encoder import quiet_transformers
    from judgeloop.training.pairwise_card import pairwise_model_card
    from judgeloop.training.saving import atomic_directory

    target = Path(out_dir)
    config = {**config, "name": config.get("name") or target.resolve().name}
    onnx = onnx and onnx_runtime.available()
    with atomic_directory(target) as tmp, quiet_transformers():
        model.save(tmp)
        if onnx:
            served, config["runtime"], int8_metrics = choose_runtime(model, tmp, quantize, heldout)
            config["onnx"] = served.name
            if int8_metrics is not None:
                config["metrics"] = {**config["metrics"], "heldout": int8_metrics}
        (tmp / "README.md").write_text(pairwise_model_card(config), encoding="utf-8")
        ModelArtifact.from_dict(config).save(tmp)
    return target.resolve()
