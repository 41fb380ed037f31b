"""Training custom evaluators: methods, split, calibration, saving, loading, the CLI and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from judgeloop import load_evaluator
from judgeloop.assets import EXAMPLE_DATASET, default_encoder_path
from judgeloop.errors import InvalidInput
from judgeloop.io import read_dataset
from judgeloop.training import (
    Example,
    examples_from_rows,
    fit_temperature,
    heldout_split,
    train_evaluator,
)
from judgeloop.training.calibration import nll
from judgeloop.training.encoding import PairEncoder
from judgeloop.types import Verdict


@pytest.fixture(scope="module")
def shop_examples() -> list[Example]:
    return examples_from_rows(read_dataset(EXAMPLE_DATASET).rows, group_col="prompt_id")


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled support dataset trained through the CLI (default method and encoder)."""
    from judgeloop.cli import main

    out = tmp_path_factory.mktemp("train") / "model"
    main(["train", str(EXAMPLE_DATASET), "--out", str(out)])
    return out


def test_saved_model_is_an_hf_folder_with_config_and_card(trained: Path) -> None:
    from transformers import AutoConfig

    cfg = json.loads((trained / "judgeloop.json").read_text())
    assert AutoConfig.from_pretrained(trained).model_type == "bert"
    assert (trained / "model.safetensors").is_file() and (trained / "README.md").is_file()
    assert cfg["method"] == "embedding_head"  # 190 rows: below the fine-tuning cut-off
    assert cfg["labels"] == {"0": "bad", "1": "good"}
    assert len(cfg["data_hash"]) == 64
    assert set(cfg["train_ids"]).isdisjoint(cfg["heldout_ids"])
    assert len(cfg["train_ids"]) + len(cfg["heldout_ids"]) == 240
    heldout = cfg["metrics"]["heldout"]
    for key in ("accuracy", "f1", "roc_auc", "kappa"):
        est = heldout[key]
        assert est["low"] <= est["value"] <= est["high"]
    # a useful evaluator on this data: well above the 55% majority class
    assert heldout["accuracy"]["value"] > 0.7
    assert cfg["temperature"] > 0 and 0 < cfg["threshold"] < 1
    assert "Agreement with" in (trained / "README.md").read_text()


def test_grouped_split_keeps_each_prompt_on_one_side(trained: Path, shop_examples: list[Example]) -> None:
    cfg = json.loads((trained / "judgeloop.json").read_text())
    group_of = {ex.key: ex.group for ex in shop_examples}
    train_groups = {group_of[i] for i in cfg["train_ids"]}
    test_groups = {group_of[i] for i in cfg["heldout_ids"]}
    assert train_groups and test_groups and train_groups.isdisjoint(test_groups)
    assert cfg["split"]["grouped"] is True


def test_loaded_evaluator_gives_verdicts_and_batch_probabilities(trained: Path) -> None:
    ev = load_evaluator(str(trained))
    v = ev.evaluate_llm_session(
        "Where is my order #4411?", "Your order shipped yesterday and arrives Friday."
    )
    assert isinstance(v, Verdict) and v.evaluator == "model"
    assert 0.0 <= v.probability <= 1.0 and v.label == int(v.probability >= ev.threshold)
    assert v.latency_ms is not None and v.latency_ms > 0
    pairs = [
        ("Can I return shoes?", "Yes, within 30 days with the receipt."),
        ("Can I return shoes?", "Stop bothering me."),
        ([{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Hello!"}], "How can I help?"),
    ]
    batch = ev.predict_proba(pairs)
    single = [ev.predict_proba([p])[0] for p in pairs]
    np.testing.assert_allclose(batch, single, atol=1e-5)
    assert batch[0] > batch[1]  # the polite, on-policy answer scores higher than the rude one


def test_evaluate_file_writes_one_line_per_row(trained: Path, tmp_path: Path, cli) -> None:
    out = tmp_path / "preds.jsonl"
    code, output = cli(["evaluate", EXAMPLE_DATASET, "--model", trained, "--out", out])
    assert code == 0, output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    threshold = json.loads((trained / "judgeloop.json").read_text())["threshold"]
    assert len(rows) == 240 and rows[0]["id"] == "ns-0001"
    assert all(r["label"] == int(r["probability"] >= threshold) for r in rows)
    assert {"id", "label", "probability", "needs_review"} <= set(rows[0])
    assert "240 human labels" in output


def test_pair_encoding_keeps_the_output_and_cuts_the_input() -> None:
    from transformers import AutoTokenizer

    enc = PairEncoder(AutoTokenizer.from_pretrained(default_encoder_path()), max_length=64)
    output = "The refund was sent to your card on Monday."
    (row,) = enc.encode_pairs(["please help " * 200], [output])
    assert len(row) == 64
    assert 1 in row.type_ids  # a real pair: segment B is marked
    decoded = enc.backend.decode(row.ids)
    assert decoded.endswith(output.lower().rstrip(".") + ". [SEP]") or output.lower() in decoded
    # chat inputs keep their last turns
    chat = [{"role": "user", "content": f"message {i}"} for i in range(100)]
    (chat_row,) = enc.encode_pairs([chat], ["ok"])
    assert "message 99" in enc.backend.decode(chat_row.ids)
    assert "message 0 " not in enc.backend.decode(chat_row.ids)


def test_finetune_method_trains_saves_and_reloads(tmp_path: Path) -> None:
    from _server_support import tiny_examples

    out = tmp_path / "ft"
    result = train_evaluator(
        tiny_examples() * 2,
        out,
        method="finetune",
        params={"epochs": 2, "num_layers": 2, "max_length": 64, "batch_size": 8},
        progress=False,
    )
    assert result.method == "finetune" and len(result.config["metrics"]["train"]["history"]) >= 1
    ev = load_evaluator(str(out))
    good = ev.predict_proba([("Where is my order?", "Please share your order number and I will check.")])
    bad = ev.predict_proba([("Where is my order?", "Figure it out yourself.")])
    assert good[0] > bad[0]


def test_temperature_scaling_fixes_an_overconfident_model() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 2000)
    true_logit = np.where(y == 1, 1.0, -1.0) + rng.normal(0, 1.5, 2000)
    overconfident = true_logit * 5
    t = fit_temperature(overconfident, y)
    assert 3.0 < t < 8.0
    assert nll(overconfident, y, t) < nll(overconfident, y, 1.0)


def test_stable_split_keeps_sessions_on_their_side_as_labels_grow(shop_examples: list[Example]) -> None:
    small = shop_examples[:150]
    _, test_small = heldout_split(small, 0.2, seed=0, stable=True)
    _, test_big = heldout_split(shop_examples, 0.2, seed=7, stable=True)
    held_small = {small[i].key for i in test_small}
    held_big = {shop_examples[i].key for i in test_big}
    assert held_small <= held_big


def test_bad_training_input_names_the_problem(tmp_path: Path) -> None:
    one_class = [("q", f"answer {i}", True) for i in range(30)]
    with pytest.raises(InvalidInput, match="all 30 labels are good"):
        train_evaluator(one_class, tmp_path / "m", progress=False)
    with pytest.raises(InvalidInput, match="not binary") as info:
        train_evaluator([("q", "a", 2)], tmp_path / "m", progress=False)
    assert info.value.row == 1
    from judgeloop.assets import default_llm_gguf

    with pytest.raises(InvalidInput, match="not an encoder"):
        train_evaluator(
            [("q", f"a{i}", i % 2) for i in range(40)], tmp_path / "m", base_model=str(default_llm_gguf())
        )
    assert not (tmp_path / "m").exists()


def test_failed_training_leaves_the_previous_model_untouched(trained: Path, tmp_path: Path) -> None:
    import shutil

    from _server_support import tiny_examples

    target = tmp_path / "model"
    shutil.copytree(trained, target)
    before = (target / "judgeloop.json").read_bytes()
    with pytest.raises(InvalidInput, match="lr"):
        train_evaluator(tiny_examples(), target, method="finetune", params={"lr": -1.0}, progress=False)
    assert (target / "judgeloop.json").read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".model.tmp")]


def test_cli_train_errors_exit_nonzero_with_the_field(tmp_path: Path, cli) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("model_input,model_output,good\nq,a,1\nq,b,maybe\n")
    code, output = cli(["train", bad, "--out", tmp_path / "m"])
    assert code == 1
    assert "bad.csv" in output and "row 2" in output and "good" in output and "maybe" in output
    code, output = cli(["train", "--out", tmp_path / "m"])
    assert code == 1 and "DATA or --project" in output
    assert not (tmp_path / "m").exists()


def test_onnx_runtime_gives_the_same_probabilities_as_torch(trained: Path, tmp_path: Path, cli) -> None:
    from judgeloop.evaluators.learned import LearnedEvaluator

    assert (trained / "model.onnx").is_file()  # `train` exports it by default
    fast, slow = LearnedEvaluator.load(trained), LearnedEvaluator.load(trained, runtime="torch")
    assert (fast.runtime, slow.runtime) == ("onnx", "torch")
    pairs = [
        ("Where is my order #4411?", "It shipped yesterday and arrives Friday."),
        ("Do you ship to Canada?", "No idea."),
        (
            [{"role": "user", "content": "refund?"}],
            "Refunds take 5 to 7 business days after we receive the item.",
        ),
    ]
    np.testing.assert_allclose(fast.predict_proba(pairs), slow.predict_proba(pairs), atol=1e-4)
    # a model trained without it can be given one later; asking for onnx without one is an error
    code, output = cli(["train", EXAMPLE_DATASET, "--out", tmp_path / "plain", "--no-onnx"])
    assert code == 0, output
    assert not (tmp_path / "plain" / "model.onnx").exists()
    with pytest.raises(InvalidInput, match="no ONNX model"):
        LearnedEvaluator.load(tmp_path / "plain", runtime="onnx")
    code, output = cli(["export-onnx", tmp_path / "plain"])
    assert code == 0 and "max probability difference" in output, output
    assert LearnedEvaluator.load(tmp_path / "plain").runtime == "onnx"
