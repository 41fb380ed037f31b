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
) -> PairwiseTrainResult:
    """Train, calibrate, measure on held-out human choices and save a comparator to `out_dir`.

    `heldout`: measure on these pairs instead of splitting `examples` (all of them train). `onnx` also
    writes the encoder as model.onnx, which `PairwiseEvaluator.load` runs on ONNX Runtime. `comparator`:
    an unfitted BTComparator to fit instead of a new one (`params` then do not apply)."""
    from judgeloop.training.base_encoder import check_encoder, resolve_base_model

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
    metrics = pairwise_metrics([p.choice for p in test], model.margins(test), temperature, nu) if test else {}
    calibration = pairwise_metrics(choices, oof, temperature, nu, n_resamples=200)
    config = _config(rows, train, test, model, base, temperature, nu, metrics, calibration, seconds, name)
    config["split"] = {
        "test_size": test_size,
        "seed": seed,
        "stable": stable_split,
        "given": heldout is not None,
    }
    out = save_comparator(model, out_dir, config, onnx)
    config = ModelArtifact.load(out).to_dict()
    return PairwiseTrainResult(
        out,
        METHOD,
        metrics,
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


def save_comparator(
    model: BTComparator, out_dir: str | Path, config: dict[str, Any], onnx: bool = True
) -> Path:
    """Write the model folder atomically (weights, bt_head.npz, judgeloop.json, README.md, and the
    encoder as model.onnx when `onnx` and onnxruntime is installed)."""
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
            config["onnx"] = model.export_onnx(tmp).name
            config["runtime"] = {"onnx": config["onnx"], "metrics_from": "torch (fp32 ONNX agrees to ~1e-5)"}
        (tmp / "README.md").write_text(pairwise_model_card(config), encoding="utf-8")
        ModelArtifact.from_dict(config).save(tmp)
    return target.resolve()
