"""Does another choice of the frozen-embedding head's regularisation help with few labels?

    .venv/bin/python -m benchmarks.head_regularisation     # ~4 min; results/head_regularisation.json

The embedding_head method fits a logistic regression on frozen MiniLM pair features, with C chosen by
5-fold log-loss from (0.3, 1, 3, 10, 30). Compared here on the same draws: that rule, C chosen by
5-fold accuracy, and C fixed at 1. Data: TruthfulQA's random and question splits (train_curve.py's, at
30, 100 and 300 labels) and the bundled support set at 30 labels (80 random sessions held out per
seed). Median held-out accuracy over 10 seeds.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

if not __package__:  # run as `python benchmarks/NAME.py`; `python -m benchmarks.NAME` needs nothing
    sys.path[0] = str(Path(__file__).resolve().parents[1])

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
from rich.console import Console  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import StratifiedKFold, cross_val_score  # noqa: E402

from benchmarks.loop_data import load  # noqa: E402
from benchmarks.train_curve import draw, make_splits  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
GRID = (0.3, 1.0, 3.0, 10.0, 30.0)  # judgeloop.training.methods.embedding_head.C_GRID
RULES = {"log-loss CV (default)": "neg_log_loss", "accuracy CV": "accuracy", "C = 1": None}
SEEDS = 10
console = Console(highlight=False)


def choose_c(F: np.ndarray, y: np.ndarray, scoring: str | None) -> float:
    if scoring is None:
        return 1.0
    folds = int(min(5, np.bincount(y, minlength=2).min()))
    cv = StratifiedKFold(folds, shuffle=True, random_state=0)
    scores = {
        c: cross_val_score(LogisticRegression(C=c, max_iter=5000), F, y, cv=cv, scoring=scoring).mean()
        for c in GRID
    }
    return max(scores, key=lambda c: scores[c])


def accuracies(F: np.ndarray, y: np.ndarray, train: np.ndarray, test: np.ndarray) -> dict[str, float]:
    out = {}
    for name, scoring in RULES.items():
        model = LogisticRegression(C=choose_c(F[train], y[train], scoring), max_iter=5000)
        model.fit(F[train], y[train])
        out[name] = float((model.predict(F[test]) == y[test]).mean())
    return out


def median_over_seeds(per_seed: list[dict[str, float]]) -> dict[str, float]:
    return {name: round(float(np.median([r[name] for r in per_seed])), 4) for name in RULES}


def main() -> None:
    results = []
    data = load()
    for split_name, split in make_splits(data.questions, data.good, 2000).items():
        for n in (30, 100, 300):
            runs = [
                accuracies(
                    data.features, data.good, draw(split.train_pool, data.good, n, seed), split.heldout
                )
                for seed in range(SEEDS)
            ]
            results.append({"data": f"truthfulqa/{split_name}", "labels": n, **median_over_seeds(runs)})
            console.print(results[-1])

    from judgeloop.assets import EXAMPLE_DATASET
    from judgeloop.io import read_dataset
    from judgeloop.training import examples_from_rows
    from judgeloop.training.methods.embedding_head import EmbeddingHead

    examples = examples_from_rows(read_dataset(EXAMPLE_DATASET).rows, group_col="prompt_id")
    F = EmbeddingHead().features([ex.pair for ex in examples])
    y = np.array([ex.label for ex in examples])
    runs = []
    for seed in range(SEEDS):
        order = np.random.default_rng(seed).permutation(len(examples))
        test, pool = order[:80], np.sort(order[80:])
        runs.append(accuracies(F, y, draw(pool, y, 30, seed), test))
    results.append({"data": "bundled support", "labels": 30, **median_over_seeds(runs)})
    console.print(results[-1])
    out = RESULTS / "head_regularisation.json"
    out.write_text(
        json.dumps(
            {"command": "benchmarks/head_regularisation.py", "seeds": SEEDS, "results": results}, indent=2
        )
        + "\n"
    )
    console.print(f"wrote {out}")


if __name__ == "__main__":
    main()
