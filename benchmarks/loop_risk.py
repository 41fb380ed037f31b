"""Risk control: does the certified threshold keep the error of auto-decided sessions under the target?

    .venv/bin/python -m benchmarks.loop_risk            # under a minute once the embeddings are cached

Evaluator probabilities are real: out-of-fold P(truthful) of a logistic regression on frozen MiniLM
pair embeddings of TruthfulQA (../shared/datasets/truthfulqa_judge/finetune_truth_train.jsonl, 19,880
human labels; 5 folds grouped by question, so every probability comes from a model that never saw
that question). For each repetition the rows are split at random into a calibration set (n_cal human
labels, the only data judgeloop.loop.risk.calibrate sees) and a test set (all the other rows). We report
the coverage (share auto-decided) and the realised error among auto-decided test sessions, and how
often that realised error stays within the target (it should in >= 1 - delta of the splits).
Writes benchmarks/results/loop_risk.json and loop_risk.png.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

if not __package__:  # run as `python benchmarks/NAME.py`; `python -m benchmarks.NAME` needs nothing
    sys.path[0] = str(Path(__file__).resolve().parents[1])

import numpy as np
from rich.console import Console
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold

from benchmarks.loop_data import RESULTS, load
from judgeloop.loop.risk import calibrate, confidence, evaluate_rule

SPLITS = 100
DELTA = 0.1
console = Console(highlight=False, markup=False, soft_wrap=True)


def out_of_fold(features: np.ndarray, good: np.ndarray, groups: np.ndarray) -> np.ndarray:
    path = RESULTS / "truthfulqa_oof_logreg.npy"
    if path.is_file():
        return np.load(path)
    oof = np.zeros(len(good))
    for train, test in GroupKFold(5).split(features, good, groups):
        model = LogisticRegression(C=0.1, max_iter=2000).fit(features[train], good[train])
        oof[test] = model.predict_proba(features[test])[:, 1]
    np.save(path, oof)
    return oof


def oracle_coverage(p: np.ndarray, y: np.ndarray, target: float) -> float:
    """The largest share of the data whose most confident rows have error <= target (hindsight)."""
    order = np.argsort(-confidence(p))
    wrong = ((p >= 0.5).astype(int) != y)[order]
    running = np.cumsum(wrong) / np.arange(1, len(y) + 1)
    ok = np.nonzero(running <= target)[0]
    return float((ok.max() + 1) / len(y)) if len(ok) else 0.0


def repeat(
    p: np.ndarray, y: np.ndarray, target: float, n_cal: int, starts: int, seed: int
) -> dict[str, object]:
    rng = np.random.default_rng(seed)
    cov, err, within, certified = [], [], 0, 0
    for _ in range(SPLITS):
        perm = rng.permutation(len(y))
        cal, test = perm[:n_cal], perm[n_cal:]
        rule = calibrate(p[cal], y[cal], target=target, delta=DELTA, starts=starts)
        result = evaluate_rule(rule, p[test], y[test])
        cov.append(result["coverage"])
        if rule.certified:
            certified += 1
            err.append(result["error"])
        within += (not rule.certified) or result["error"] <= target
    return {
        "target": target,
        "n_cal": n_cal,
        "starts": starts,
        "coverage_mean": float(np.mean(cov)),
        "coverage_sd": float(np.std(cov)),
        "test_error_mean": float(np.mean(err)) if err else float("nan"),
        "test_error_median": float(np.median(err)) if err else float("nan"),
        "test_error_p90": float(np.quantile(err, 0.9)) if err else float("nan"),
        "test_error_max": float(np.max(err)) if err else float("nan"),
        "within_target": within / SPLITS,
        "violation_rate": 1 - within / SPLITS,
        "certified": certified / SPLITS,
        "test_errors": [round(float(e), 5) for e in err],
    }


def plot(rows: list[dict[str, Any]], oracle: dict[float, float], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(16, 4))
    main = [r for r in rows if r["starts"] == 3]
    for n_cal in sorted({r["n_cal"] for r in main}):
        mine = [r for r in main if r["n_cal"] == n_cal]
        targets = [100 * r["target"] for r in mine]
        axes[0].plot(targets, [100 * r["coverage_mean"] for r in mine], marker="o", label=f"{n_cal} labels")
        axes[1].plot(targets, [100 * r["test_error_mean"] for r in mine], marker="o", label=f"{n_cal} labels")
    axes[0].plot([100 * t for t in oracle], [100 * v for v in oracle.values()], "k--", label="hindsight best")
    axes[1].plot([0, 22], [0, 22], "k:", label="target")
    at5 = [r for r in main if r["target"] == 0.05]
    axes[2].boxplot([[100 * e for e in r["test_errors"]] for r in at5], whis=(0, 100))
    ticks = [f"{r['n_cal']} labels\n(certified in {100 * r['certified']:.0f}%)" for r in at5]
    axes[2].set_xticks(range(1, len(at5) + 1), ticks)
    axes[2].axhline(5, color="k", ls=":", label="target 5%")
    axes[2].set(
        ylabel="realised error on test (%)",
        title=f"target 5%: certified splits of {SPLITS} (whiskers: min-max)",
    )
    axes[0].set(xlabel="target error (%)", ylabel="coverage: auto-decided (%)", title="coverage")
    axes[1].set(xlabel="target error (%)", ylabel="realised error on test (%)", title="error of auto-decided")
    for ax in axes:
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    t0 = time.perf_counter()
    data = load()
    p = out_of_fold(data.features, data.good, data.question_id)
    y = data.good
    console.print(
        f"out-of-fold accuracy {np.mean((p >= 0.5) == y):.3f} on {len(y)} rows "
        f"({time.perf_counter() - t0:.0f} s)"
    )
    rows = []
    for target in (0.05, 0.10, 0.20):
        for n_cal in (1000, 2000, 5000):
            rows.append(repeat(p, y, target, n_cal, starts=3, seed=0))
            console.print(json.dumps({k: v for k, v in rows[-1].items() if k != "test_errors"}))
    for starts in (1, 5):
        rows.append(repeat(p, y, 0.05, 2000, starts=starts, seed=0))
        console.print(json.dumps({k: v for k, v in rows[-1].items() if k != "test_errors"}))
    oracle = {t: oracle_coverage(p, y, t) for t in (0.05, 0.10, 0.20)}
    console.print("hindsight best coverage", oracle)
    out = {"oof_accuracy": float(np.mean((p >= 0.5) == y)), "splits": SPLITS, "delta": DELTA, "rows": rows}
    out["oracle_coverage"] = {str(k): v for k, v in oracle.items()}
    (RESULTS / "loop_risk.json").write_text(json.dumps(out, indent=1))
    plot(rows, oracle, RESULTS / "loop_risk.png")
    console.print(f"done in {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
