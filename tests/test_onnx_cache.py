"""The ONNX files of an unchanged base encoder are made once per machine (training/onnx_cache.py)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from judgeloop import load_evaluator
from judgeloop.assets import EXAMPLE_DATASET, default_encoder_path
from judgeloop.io import read_dataset
from judgeloop.training import examples_from_rows, train_evaluator
from judgeloop.training.onnx import INT8_FILE, ONNX_FILE
from judgeloop.training.onnx_cache import cache_root, cached, encoder_key


def test_the_key_names_the_folder_and_changes_with_its_files(tmp_path: Path) -> None:
    folder = tmp_path / "encoder"
    shutil.copytree(default_encoder_path(), folder)
    key = encoder_key(folder, "last_hidden_state")
    assert key is not None and key == encoder_key(folder, "last_hidden_state")
    assert encoder_key(folder, "logits") != key
    assert encoder_key(default_encoder_path(), "last_hidden_state") != key  # another folder
    config = folder / "config.json"
    config.write_text(config.read_text() + "\n")  # the weights or config changed: a new key
    assert encoder_key(folder, "last_hidden_state") not in (None, key)
    assert encoder_key("sentence-transformers/all-MiniLM-L6-v2", "last_hidden_state") is None  # a hub id


def test_a_second_training_copies_the_encoders_files_and_scores_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUDGELOOP_HOME", str(tmp_path / "home"))
    examples = examples_from_rows(read_dataset(EXAMPLE_DATASET).rows, group_col="prompt_id")
    first = train_evaluator(examples, tmp_path / "first", progress=False)
    kept = [p for p in cache_root().glob("*/*") if p.suffix == ".onnx"]
    assert sorted(p.name for p in kept) == sorted([INT8_FILE, ONNX_FILE])

    def no_export(*args: object, **kwargs: object) -> None:
        raise AssertionError("the encoder was traced again")

    monkeypatch.setattr("judgeloop.training.onnx.export", no_export)
    monkeypatch.setattr("judgeloop.training.onnx._quantize", no_export)
    second = train_evaluator(examples, tmp_path / "second", progress=False)

    shipped = json.loads((second.out_dir / "judgeloop.json").read_text())["runtime"]["onnx"]
    assert (second.out_dir / shipped).read_bytes() == (kept[0].parent / shipped).read_bytes()
    texts = [(e.model_input, e.model_output) for e in examples[:40]]
    a = load_evaluator(first.out_dir).predict_proba(texts)
    b = load_evaluator(second.out_dir).predict_proba(texts)
    np.testing.assert_allclose(a, b, atol=1e-6)


def test_without_a_key_or_a_writable_cache_the_file_is_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[Path] = []

    def make(out: Path) -> Path:
        calls.append(out)
        out.write_text("onnx")
        return out

    assert cached(None, tmp_path / "a.onnx", make).read_text() == "onnx" and len(calls) == 1
    blocked = tmp_path / "home"
    blocked.write_text("a file where the cache folder would go")
    monkeypatch.setenv("JUDGELOOP_HOME", str(blocked))
    assert cached("k", tmp_path / "b.onnx", make).read_text() == "onnx" and len(calls) == 2
    assert cached("k", tmp_path / "c.onnx", make).read_text() == "onnx" and len(calls) == 3  # nothing kept
