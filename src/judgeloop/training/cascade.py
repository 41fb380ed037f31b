"""Build a cascade evaluator from trained model folders: certify each stage on held-out labels.

    build_cascade(["models/minilm-head", "models/mpnet"], examples, "models/cascade", target_error=0.05)

Only labelled sessions that no stage trained on are used (by row id / content hash, the stages'
`train_ids`). Each stage scores them all; `risk_cascade.certify_cascade` certifies one rule per stage
(disjoint folds, delta split across stages); the automation report covers 1%, 5% and 10%. The stages'
folders are copied into the cascade's folder (`stages/1`, ...) so that the version is self-contained,
and the whole folder is written beside the target and renamed into place.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from judgeloop.artifact import MODEL_CONFIG, ModelArtifact
from judgeloop.errors import InvalidInput
from judgeloop.evaluators.cascade import METHOD, CascadeEvaluator
from judgeloop.loop.risk_cascade import (
    automation_report,
    automation_section,
    certify_cascade,
    check_combine,
    route,
    stage_scores,
    stage_thresholds,
)
from judgeloop.training.examples import Example, data_hash

MIN_CALIBRATION = 20


@dataclass
class CascadeResult:
    out_dir: Path
    config: dict[str, Any]
    evaluator: CascadeEvaluator


def _stage_configs(stage_dirs: Sequence[Path]) -> list[dict[str, Any]]:
    configs = []
    for path in stage_dirs:
        if not ModelArtifact.exists(path):
            raise InvalidInput(
                f"stage {path} is not a judgeloop model directory (no {MODEL_CONFIG})",
                field="stage",
                expected="a folder written by `judgeloop train` or a registry name@version",
            )
        config = ModelArtifact.load(path).to_dict()
        if config.get("method") == METHOD:
            raise InvalidInput(f"stage {path} is itself a cascade", field="stage", expected="a single model")
        configs.append(config)
    return configs


def calibration_rows(examples: Sequence[Example], configs: Sequence[dict[str, Any]]) -> list[Example]:
    """The labelled examples that no stage trained on (unique by key)."""
    trained = {str(key) for c in configs for key in c.get("train_ids") or []}
    seen: set[str] = set()
    rows = []
    for ex in examples:
        if ex.key in trained or ex.key in seen:
            continue
        seen.add(ex.key)
        rows.append(ex)
    return rows


def build_cascade(
    stage_dirs: Sequence[str | Path],
    examples: Sequence[Example],
    out_dir: str | Path,
    *,
    target_error: float = 0.05,
    delta: float = 0.1,
    seed: int = 0,
    name: str | None = None,
    stage_names: Sequence[str] | None = None,
    combine: str = "own",
) -> CascadeResult:
    """Certify the stages in order on labels none of them trained on and write the cascade folder.
    `combine="mean_logit"`: a later stage's score is the mean logit of it and the stages before it."""
    from judgeloop.evaluators.learned import LearnedEvaluator
    from judgeloop.types import utcnow

    check_combine(combine)
    dirs = [Path(d) for d in stage_dirs]
    if not dirs:
        raise InvalidInput("give at least one --stage", field="stage", expected="model folders, in order")
    configs = _stage_configs(dirs)
    rows = calibration_rows(examples, configs)
    if len(rows) < MIN_CALIBRATION:
        raise InvalidInput(
            f"only {len(rows)} labelled sessions are not in any stage's training data "
            f"(need {MIN_CALIBRATION}) to certify the cascade",
            field="data",
            expected="held-out human labels: the file or project the stages were trained on, or new labels",
        )
    stages = [LearnedEvaluator.load(d) for d in dirs]
    pairs = [ex.pair for ex in rows]
    good = np.array([ex.label for ex in rows], dtype=int)
    probs = stage_scores([np.asarray(s.predict_proba(pairs)) for s in stages], combine)
    thresholds = stage_thresholds([s.threshold for s in stages], combine)
    rules = certify_cascade(probs, thresholds, good, target=target_error, delta=delta, seed=seed)
    names = list(stage_names or [str(c.get("name") or d.name) for c, d in zip(configs, dirs, strict=True)])
    report = automation_report(probs, thresholds, good, delta=delta, seed=seed)
    stage, _, label = route(probs, thresholds, rules)
    auto = stage >= 0
    config: dict[str, Any] = {
        "name": name or "cascade",
        "method": METHOD,
        "base_model": " → ".join(str(c.get("base_model")) for c in configs),
        "stages": [
            {
                "name": names[k],
                "dir": f"stages/{k + 1}",
                "source": str(d.resolve()),
                "method": configs[k].get("method"),
                "base_model": configs[k].get("base_model"),
                "rule": rules[k].as_dict() | {"describe": rules[k].describe()},
            }
            for k, d in enumerate(dirs)
        ],
        "threshold": thresholds[0],
        "temperature": None,
        "combine": combine,
        "automation": {
            "target": target_error,
            "delta": delta,
            "method": "per-stage Learn-then-Test on disjoint folds, delta split across stages (Bonferroni)",
            "share": float(auto.mean()),
            "stage_shares": [float((stage == k).mean()) for k in range(len(dirs))],
            "calibration_error": float((label[auto] != good[auto]).mean()) if auto.any() else None,
            "report": report,
        },
        "metrics": {"heldout": _accuracy(good, label)},
        "n_calibration": len(rows),
        "train_ids": sorted({str(k) for c in configs for k in c.get("train_ids") or []}),
        "heldout_ids": [ex.key for ex in rows],
        "data_hash": data_hash(rows),
        "created_at": utcnow().isoformat(),
    }
    final = _write(Path(out_dir), dirs, config)
    return CascadeResult(final, config, CascadeEvaluator.load(final))


def _accuracy(good: np.ndarray, label: np.ndarray) -> dict[str, Any]:
    from judgeloop.stats import binary_agreement

    out = binary_agreement(good, label, n_resamples=1000)
    out["note"] = "on the calibration labels (the rows each stage's rule was certified on)"
    return out


def _write(out_dir: Path, dirs: Sequence[Path], config: dict[str, Any]) -> Path:
    """Copy the stages and write judgeloop.json and README.md beside `out_dir`, then rename into place."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", dir=out_dir.parent))
    try:
        for k, d in enumerate(dirs, start=1):
            shutil.copytree(d, staging / "stages" / str(k))
        ModelArtifact.from_dict(config).save(staging)
        (staging / "README.md").write_text(cascade_card(config), encoding="utf-8")
        if out_dir.exists():
            if not ModelArtifact.exists(out_dir):
                raise InvalidInput(
                    f"{out_dir} exists and is not a model folder", field="out", expected="a new folder"
                )
            shutil.rmtree(out_dir)
        staging.rename(out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out_dir


def cascade_card(config: dict[str, Any]) -> str:
    """README.md of a cascade folder: its stages, their certified rules, the automation report."""
    auto = config["automation"]
    names = [s["name"] for s in config["stages"]]
    lines = [
        f"# {config['name']} (cascade)",
        "",
        "A judgeloop cascade evaluator: stage 1 decides the sessions it is certified to decide, the rest",
        "go to the next stage; what no stage decides gets `needs_review: true`. Load it with",
        "`judgeloop.load_evaluator(PATH)`; every verdict names the stage that decided (`stage`).",
        "",
        "| stage | method | base model | certified rule |",
        "|---|---|---|---|",
        *(
            f"| {k + 1}: {s['name']} | `{s['method']}` | `{s['base_model']}` | {s['rule']['describe']} |"
            for k, s in enumerate(config["stages"])
        ),
        "",
        *(
            [
                "Stage scores: from stage 2 on, a stage's score is the mean of its logit and the earlier",
                "stages' (`combine: mean_logit`), so each later stage is an ensemble of all before it.",
                "",
            ]
            if config.get("combine") == "mean_logit"
            else []
        ),
        f"Certified on {config['n_calibration']} held-out human labels that no stage trained on, at target "
        f"error {auto['target']:.1%} with confidence {1 - auto['delta']:.0%} ({auto['method']}): the cascade "
        f"decides {auto['share']:.1%} of them alone ("
        + ", ".join(f"stage {n}: {s:.1%}" for n, s in zip(names, auto["stage_shares"], strict=True))
        + ").",
        "",
        *automation_section(auto["report"], names),
    ]
    return "\n".join(lines) + "\n"
