"""Small label sets, reported honestly: fit on all, cross-validate, compare with the majority baseline."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import numpy as np
import pytest

from judgeloop.assets import EXAMPLE_DATASET
from judgeloop.training.small_data import baseline_comparison, cross_validate, describe_baseline, fold_indices


def test_grouped_folds_keep_each_prompt_on_one_side() -> None:
    labels = np.array([0, 1] * 30)
    groups = [f"p{i // 4}" for i in range(60)]
    folds = fold_indices(labels, 5, seed=0, groups=groups)
    assert len(folds) == 5
    assert sorted(i for _, test in folds for i in test) == list(range(60))  # each row tested once
    for train, test in folds:
        assert not {groups[i] for i in train} & {groups[i] for i in test}


def test_cross_validation_predicts_every_row_out_of_fold_and_the_baseline_from_training_folds() -> None:
    labels = np.array([1] * 40 + [0] * 20)
    seen: list[tuple[list[int], list[int]]] = []

    def fit(train: list[int], test: list[int]) -> tuple[np.ndarray, np.ndarray]:
        seen.append((train, test))
        assert not set(train) & set(test)
        return np.zeros(len(test)), np.zeros(len(test), dtype=int)  # a model that always says bad

    cv = cross_validate(labels, fit, seed=3, folds=5, repeats=2)
    assert cv.predictions.shape == (2, 60) and len(seen) == 10
    assert (cv.baseline == 1).all()  # 'good' is the majority of every training side
    cmp = baseline_comparison(labels, cv.predictions[0], cv.baseline[0])
    assert cmp["model_accuracy"] == pytest.approx(1 / 3) and cmp["baseline_accuracy"] == pytest.approx(2 / 3)
    assert not cmp["better"] and "NOT better than always answering 'good'" in describe_baseline(cmp)


def _write(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def _bundled() -> list[dict[str, str]]:
    with EXAMPLE_DATASET.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_a_small_set_is_cross_validated_and_beats_the_baseline(tmp_path: Path, cli) -> None:
    data = _write(tmp_path / "small.csv", _bundled()[:150])  # below SMALL_DATA_BELOW (200) labels
    out = tmp_path / "m"
    code, text = cli(["train", str(data), "--out", str(out), "--target-error", "0.05", "--no-onnx"])
    assert code == 0, text
    assert "cross-validated" in text and "better than always answering" in text and "NOT" not in text
    config = json.loads((out / "judgeloop.json").read_text())
    assert config["split"]["evaluation"] == "cross-validation" and config["heldout_ids"] == []
    heldout = config["metrics"]["heldout"]
    assert heldout["n"] == config["n_train"] == 150
    assert heldout["baseline"]["better"] and heldout["cross_validation"]["repeats"] == 2
    assert config["target_error"]["tau"] is None  # nothing certified on zero held-out rows
    card = (out / "README.md").read_text()
    assert "by 5-fold cross-validation" in card and "better than always answering" in card


def test_an_uninformative_model_is_said_to_be_no_better_than_the_majority(tmp_path: Path, cli) -> None:
    rows = _bundled()[:80]
    shuffled = [r["good"] for r in rows]
    random.Random(7).shuffle(shuffled)  # labels that carry nothing the text could predict
    data = _write(tmp_path / "noise.csv", [{**r, "good": g} for r, g in zip(rows, shuffled, strict=True)])
    out = tmp_path / "m"
    code, text = cli(["train", str(data), "--out", str(out), "--no-onnx"])
    assert code == 0, text
    assert "NOT" in text and "always answering" in text
    heldout = json.loads((out / "judgeloop.json").read_text())["metrics"]["heldout"]
    assert not heldout["baseline"]["better"]
    assert "NOT" in (out / "README.md").read_text()
