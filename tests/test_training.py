"""Training custom evaluators: methods, split, calibration, saving, loading, the CLI and bad input."""

from __future__ import annotations

import itertools
import json
import math
import os
import subprocess
import sys
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
from judgeloop.training.encoding import PairEncoder, sorted_batches
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
    card = (trained / "README.md").read_text()
    assert "Agreement with" in card
    assert f"from `{cfg['onnx']}`" in card and f"label memory: {cfg['memory']['sessions']} " in card


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


def test_folder_tokenizer_matches_the_hf_tokenizer(trained: Path, shop_examples: list[Example]) -> None:
    """An ONNX evaluator tokenises with tokenizer.json alone: the same ids and segments as transformers."""
    from transformers import AutoTokenizer

    light = PairEncoder.from_folder(trained, max_length=64)
    full = PairEncoder(AutoTokenizer.from_pretrained(trained), max_length=64)
    assert light is not None and light.max_length == full.max_length and light.pad_id == full.pad_id
    inputs = [ex.model_input for ex in shop_examples] + ["please help " * 200]
    outputs = [ex.model_output for ex in shop_examples] + ["Refunds take 5 to 7 business days. " * 20]
    assert light.encode_pairs(inputs, outputs) == full.encode_pairs(inputs, outputs)
    assert light.encode_texts(outputs) == full.encode_texts(outputs)
    assert PairEncoder.from_folder(trained / "missing") is None


SESSION = ("Where is my order #4411?", "It shipped yesterday and arrives Friday.")


def test_onnx_evaluator_loads_without_torch(trained: Path) -> None:
    """A guardrail on ONNX Runtime imports neither transformers nor torch, and scores as before."""
    script = (
        "import json, sys, judgeloop\n"
        "ev = judgeloop.load_evaluator(sys.argv[1])\n"
        "v = ev.evaluate_llm_session(sys.argv[2], sys.argv[3])\n"
        "loaded = [name in sys.modules for name in ('torch', 'transformers')]\n"
        "print(json.dumps([v.probability, ev.runtime, *loaded]))\n"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, "-c", script, str(trained), *SESSION]
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0, done.stderr
    probability, runtime, torch_loaded, transformers_loaded = json.loads(done.stdout.splitlines()[-1])
    assert runtime == "onnx" and not torch_loaded and not transformers_loaded
    from judgeloop.evaluators.learned import LearnedEvaluator

    here = LearnedEvaluator.load(trained, runtime="torch").evaluate_llm_session(*SESSION)
    assert probability == pytest.approx(here.probability, abs=0.05)  # int8 ONNX vs torch fp32


def _cost(lengths: list[int], batches: list[list[int]], call_cost: float) -> float:
    return sum(call_cost + len(b) * max(lengths[i] for i in b) for b in batches)


def test_inference_batches_cover_every_row_once_and_cost_least(monkeypatch) -> None:
    lengths = [5, 40, 6, 7, 41, 5, 120, 8, 6, 39]
    batches = sorted_batches(lengths, batch_size=4, call_cost=8)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    assert all(len(b) <= 4 for b in batches)
    # the cheapest of every cut of the sorted rows into runs of at most 4 (brute force)
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    best = math.inf
    for cuts in itertools.product([0, 1], repeat=len(order) - 1):
        runs, run = [], [order[0]]
        for i, cut in zip(order[1:], cuts, strict=True):
            if cut:
                runs.append(run)
                run = []
            run.append(i)
        runs.append(run)
        if all(len(r) <= 4 for r in runs):
            best = min(best, _cost(lengths, runs, 8))
    assert _cost(lengths, batches, 8) == best
    fixed = [order[i : i + 4] for i in range(0, len(order), 4)]
    assert _cost(lengths, batches, 8) < _cost(lengths, fixed, 8)  # short rows are not padded to 120
    # a per-call cost larger than any padding gives as few calls as the batch size allows
    assert len(sorted_batches(lengths, batch_size=4, call_cost=10_000)) == 3
    monkeypatch.setenv("JUDGELOOP_CALL_COST_TOKENS", "10000")  # the server's knob, same effect
    assert len(sorted_batches(lengths, batch_size=4)) == 3
    monkeypatch.delenv("JUDGELOOP_CALL_COST_TOKENS")
    assert len(sorted_batches(lengths, batch_size=4)) > 3
    assert sorted_batches([], batch_size=4) == []


def test_finetune_method_trains_saves_and_reloads(tmp_path: Path) -> None:
    from _server_support import tiny_examples

    out = tmp_path / "ft"
    result = train_evaluator(
        tiny_examples() * 2,
        out,
        method="finetune",
        params={"epochs": 3, "num_layers": 2, "max_length": 64, "batch_size": 8, "lr": 2e-4},
        progress=False,
    )
    assert result.method == "finetune" and len(result.config["metrics"]["train"]["history"]) >= 1
    ev = load_evaluator(str(out))
    pairs = [
        ("Where is my order?", "Please share your order number and I will check."),
        ("Where is my order?", "Figure it out yourself."),
    ]
    # it learned: over the 50 sessions (label memory off) the good ones score higher on average. At
    # lr 2e-4 the margin was 0.09-0.47 over three seeds; 2 epochs at the default lr learned nothing
    # (margin 0.0002), and one pair's order after a tiny fine-tune is a coin toss (0.4947 vs 0.4952)
    ev.memory = None
    rows = tiny_examples()
    p = ev.predict_proba([(q, a) for q, a, _ in rows])
    good_rows = np.array([g for *_, g in rows])
    assert p[good_rows].mean() - p[~good_rows].mean() > 0.03
    # served on ONNX Runtime, the torch weights stay on disk until something needs them
    assert ev.runtime == "onnx" and getattr(ev.model, "model_", None) is None
    from judgeloop.evaluators.learned import LearnedEvaluator

    on_torch = LearnedEvaluator.load(out, runtime="torch")
    np.testing.assert_allclose(ev.predict_proba(pairs), on_torch.predict_proba(pairs), atol=0.05)
    ev.model.save(tmp_path / "copy")  # loads them lazily
    assert ev.model.model_ is not None and (tmp_path / "copy" / "model.safetensors").is_file()
    ev.model.detach_onnx()  # and back on torch, it gives torch's probabilities
    np.testing.assert_allclose(ev.predict_proba(pairs), on_torch.predict_proba(pairs), atol=1e-6)


def test_finetune_keeps_the_most_accurate_epoch_not_the_lowest_loss() -> None:
    from judgeloop.training.methods.finetune import _score, _stalled

    # TruthfulQA, all labels: the loss turned up at epoch 3 while accuracy still rose
    history = [
        {"epoch": 1, "val_loss": 0.40, "val_accuracy": 0.816},
        {"epoch": 2, "val_loss": 0.33, "val_accuracy": 0.857},
        {"epoch": 3, "val_loss": 0.36, "val_accuracy": 0.875},
    ]
    assert max(history, key=_score)["epoch"] == 3
    assert not _stalled(history, patience=1)
    worse = [*history, {"epoch": 4, "val_loss": 0.30, "val_accuracy": 0.870}]
    assert _stalled(worse, patience=1) and not _stalled(worse, patience=2)
    tie = [{"val_loss": 0.5, "val_accuracy": 0.8}, {"val_loss": 0.4, "val_accuracy": 0.8}]
    assert max(range(2), key=lambda i: _score(tie[i])) == 1  # equal accuracy: the lower loss


def test_label_memory_keys_ignore_case_and_spacing_and_round_trip(tmp_path: Path) -> None:
    from judgeloop.training.memory import LabelMemory, session_key

    chat = [{"role": "user", "content": "Where is my order?"}]
    assert session_key(("Where is  my order?", "It shipped.")) == session_key(
        ("where is my order?", "It shipped. ")
    )
    assert session_key(("Where is my order?", "It shipped.")) != session_key(
        ("Where is my order?", "It left.")
    )
    assert session_key((chat, "It shipped.")) != session_key(("Where is my order?", "It shipped."))
    memory = LabelMemory.build([("q", "a"), ("Q", "a"), ("q", "b"), (chat, "a")], [1, 0, 1, 0])
    good, n = memory.lookup([("q", "a"), ("q", "b"), ("q", "c"), (chat, "a")])
    assert good.tolist() == [1, 1, 0, 0] and n.tolist() == [2, 1, 0, 1]
    p = memory.adjust([("q", "a"), ("q", "b"), ("q", "c"), (chat, "a")], np.array([0.2, 0.2, 0.2, 0.9]))
    np.testing.assert_allclose(p, [(1 + 0.2) / 3, (1 + 0.2) / 2, 0.2, 0.9 / 2])
    logits = np.array([-1.0, 2.0])
    adjusted = memory.adjust_logits([("q", "b"), ("q", "c")], logits, temperature=2.0)
    assert adjusted[1] == pytest.approx(2.0) and adjusted[0] > logits[0]
    memory.save(tmp_path)
    assert LabelMemory.load(tmp_path).counts == memory.counts
    assert LabelMemory.load(tmp_path / "missing") is None


def test_a_session_the_humans_labelled_gets_their_label(tmp_path: Path) -> None:
    from _server_support import tiny_examples

    # a polite, helpful-looking answer that the reviewers marked bad three times
    surprising = ("Where is my order?", "Please share your order number and I will check.")
    rows = tiny_examples() + [(*surprising, False)] * 3
    with_memory = train_evaluator(rows, tmp_path / "m", progress=False, test_size=0.1, quantize="none")
    without = train_evaluator(
        rows, tmp_path / "n", progress=False, test_size=0.1, quantize="none", memory=False
    )
    assert with_memory.config["memory"]["sessions"] > 0 and (tmp_path / "m" / "memory.npz").is_file()
    assert "memory" not in without.config and not (tmp_path / "n" / "memory.npz").exists()
    from judgeloop.training.examples import as_example

    in_training = with_memory.train_ids.count(as_example((*surprising, False)).key)
    assert in_training >= 1  # the split (seed 0) kept at least one copy for training
    variant = ("where is my order?", "Please share your order number and  I will check.")
    remembered = load_evaluator(str(tmp_path / "m")).evaluate_llm_session(*variant)
    model_only = load_evaluator(str(tmp_path / "n")).evaluate_llm_session(*variant)
    assert remembered.label == 0 and remembered.probability <= 0.5
    # (0 good + p) / (n labels + 1): the same model with the memory folded in
    assert remembered.probability == pytest.approx(model_only.probability / (in_training + 1), rel=1e-4)
    unseen = ("Where is my order?", "It is on its way; tracking is in your email.")
    assert load_evaluator(str(tmp_path / "m")).predict_proba([unseen])[0] == pytest.approx(
        load_evaluator(str(tmp_path / "n")).predict_proba([unseen])[0], rel=1e-6
    )


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


def test_trained_model_reports_the_heldout_metrics_of_the_runtime_it_ships(
    trained: Path, shop_examples: list[Example]
) -> None:
    from judgeloop.evaluators.learned import LearnedEvaluator

    cfg = json.loads((trained / "judgeloop.json").read_text())
    runtime = cfg["runtime"]
    assert (trained / cfg["onnx"]).is_file() and runtime["onnx"] == cfg["onnx"]
    shipped = LearnedEvaluator.load(trained)
    assert shipped.runtime == "onnx"
    acc = runtime["heldout_accuracy"]
    if runtime["quantized"] == "int8":  # auto ships int8 only when the gate finds it not worse
        assert cfg["onnx"] == "model.int8.onnx" and acc["int8"] >= acc["fp32"] - 0.02
        assert "worse" not in runtime["gate"]
    else:
        assert cfg["onnx"] == "model.onnx" and "worse than the fp32 model" in runtime["gate"]
    # the reported held-out accuracy is what the shipped runtime scores on those rows
    by_key = {ex.key: ex for ex in shop_examples}
    heldout = [by_key[k] for k in cfg["heldout_ids"]]
    proba = shipped.predict_proba([(ex.model_input, ex.model_output) for ex in heldout])
    predicted = (proba >= cfg["threshold"]).astype(int)
    accuracy = float(np.mean(predicted == np.array([ex.label for ex in heldout])))
    assert accuracy == pytest.approx(cfg["metrics"]["heldout"]["accuracy"]["value"])
    assert accuracy == pytest.approx(acc["int8" if runtime["quantized"] else "fp32"])


def test_onnx_export_fp32_matches_torch_and_int8_stays_close(tmp_path: Path, cli) -> None:
    from judgeloop.evaluators.learned import LearnedEvaluator

    pairs = [
        ("Where is my order #4411?", "It shipped yesterday and arrives Friday."),
        ("Do you ship to Canada?", "No idea."),
        (
            [{"role": "user", "content": "refund?"}],
            "Refunds take 5 to 7 business days after we receive the item.",
        ),
    ]
    plain = tmp_path / "plain"
    code, output = cli(["train", EXAMPLE_DATASET, "--out", plain, "--no-onnx"])
    assert code == 0, output
    assert not list(plain.glob("*.onnx")) and "runtime" not in json.loads(
        (plain / "judgeloop.json").read_text()
    )
    with pytest.raises(InvalidInput, match="no ONNX model"):
        LearnedEvaluator.load(plain, runtime="onnx")
    torch_p = LearnedEvaluator.load(plain, runtime="torch").predict_proba(pairs)
    # fp32 ONNX gives torch's probabilities
    code, output = cli(["export-onnx", plain])
    assert code == 0 and "max probability difference" in output, output
    fp32 = LearnedEvaluator.load(plain)
    assert fp32.runtime == "onnx" and fp32.config["onnx"] == "model.onnx"
    np.testing.assert_allclose(fp32.predict_proba(pairs), torch_p, atol=1e-4)
    # without the data, the held-out metrics stay torch's, and the config and the card say so
    assert fp32.config["runtime"]["metrics_from"] == "torch" and "still those of torch" in output
    assert "measured on torch, before `export-onnx`" in (plain / "README.md").read_text()
    # re-measuring needs the rows the model held out: a file without them is refused, nothing written
    other = tmp_path / "other.csv"
    other.write_text("model_input,model_output,good\nhi,hello,1\nhi,go away,0\n")
    before = (plain / "judgeloop.json").read_text()
    code, output = cli(["export-onnx", plain, "--int8", "--data", other])
    n_heldout = len(fp32.config["heldout_ids"])
    assert code != 0 and f"lacks {n_heldout} of the model's {n_heldout} held-out rows" in output, output
    assert (plain / "judgeloop.json").read_text() == before and not (plain / "model.int8.onnx").exists()
    # int8 is an approximation: close, not equal; the fp32 file it replaces is gone and the card says so
    fp32_size = (plain / "model.onnx").stat().st_size
    code, output = cli(["export-onnx", plain, "--int8", "--data", EXAMPLE_DATASET])
    assert code == 0, output
    int8 = LearnedEvaluator.load(plain)
    assert int8.config["onnx"] == "model.int8.onnx" and int8.config["runtime"]["quantized"] == "int8"
    # --data scored the held-out rows again on int8: the metrics are int8's own
    keys = set(int8.config["heldout_ids"])
    heldout = [ex for ex in examples_from_rows(read_dataset(EXAMPLE_DATASET).rows) if ex.key in keys]
    said = (int8.predict_proba([ex.pair for ex in heldout]) >= int8.threshold).astype(int)
    accuracy = float(np.mean(said == np.array([ex.label for ex in heldout])))
    assert int8.config["metrics"]["heldout"]["accuracy"]["value"] == pytest.approx(accuracy)
    assert int8.config["runtime"]["heldout_accuracy"] == {"int8": pytest.approx(accuracy)}
    assert "measured again on this runtime" in (plain / "README.md").read_text()
    assert (plain / "model.int8.onnx").stat().st_size < 0.75 * fp32_size
    assert not (plain / "model.onnx").exists()
    assert "`model.int8.onnx`" in (plain / "README.md").read_text()
    diff = np.abs(int8.predict_proba(pairs) - torch_p)
    assert diff.max() < 0.05 and diff.max() > 1e-6  # the int8 weights really are used
    # an int8 score does not depend on the batch: dynamic quantization takes one activation scale
    # per tensor, so the graph runs one session at a time (fresh evaluators: no embedding cache hit)
    assert int8.model.onnx_.per_session
    together = LearnedEvaluator.load(plain).predict_proba(pairs)
    alone = [LearnedEvaluator.load(plain).predict_proba([pair])[0] for pair in pairs]
    np.testing.assert_allclose(together, alone, atol=1e-7)
    whole = LearnedEvaluator.load(plain)
    whole.model.onnx_.per_session = False  # the whole padded batch in one run: scores move with it
    assert np.abs(whole.predict_proba(pairs) - np.array(alone)).max() > 1e-6
    assert not fp32.model.onnx_.per_session  # fp32 graphs run batched (their scores are batch-free)


def test_quantize_auto_keeps_fp32_when_int8_loses_accuracy(tmp_path: Path, monkeypatch) -> None:
    from _server_support import tiny_examples
    from judgeloop import gate

    with pytest.raises(InvalidInput, match="quantize"):
        train_evaluator(tiny_examples(), tmp_path / "bad", quantize="fp16", progress=False)
    assert not (tmp_path / "bad").exists()
    monkeypatch.setattr(gate, "MAX_DROP", -1.0)  # the gate refuses anything not 100 points better
    result = train_evaluator(tiny_examples(), tmp_path / "m", progress=False)
    runtime = result.config["runtime"]
    assert (
        runtime["quantized"] is None
        and runtime["rule"] == "auto"
        and "worse than the fp32 model" in runtime["gate"]
    )
    assert set(runtime["heldout_accuracy"]) == {"fp32", "int8"}
    assert (tmp_path / "m" / "model.onnx").is_file() and not (tmp_path / "m" / "model.int8.onnx").exists()
    assert result.metrics["accuracy"]["value"] == runtime["heldout_accuracy"]["fp32"]
    forced = train_evaluator(tiny_examples(), tmp_path / "q", progress=False, quantize="int8")
    assert forced.config["onnx"] == "model.int8.onnx" and not (tmp_path / "q" / "model.onnx").exists()


def test_onnx_thread_settings_come_from_the_environment(trained: Path, monkeypatch) -> None:
    from judgeloop.training.onnx import OnnxForward

    cfg = json.loads((trained / "judgeloop.json").read_text())
    monkeypatch.setenv("JUDGELOOP_ONNX_THREADS", "1")
    monkeypatch.setenv("JUDGELOOP_ONNX_SPINNING", "0")
    options = OnnxForward(trained / cfg["onnx"]).session.get_session_options()
    assert options.intra_op_num_threads == 1
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    monkeypatch.delenv("JUDGELOOP_ONNX_THREADS")
    assert (
        OnnxForward(trained / cfg["onnx"], num_threads=2).session.get_session_options().intra_op_num_threads
        == 2
    )


def test_freeze_layers_trains_only_the_top_layers_from_a_cache(tmp_path: Path) -> None:
    """freeze_layers=k: the embeddings and first k layers stay as loaded, the layers above and the head
    learn, and the saved folder is the whole encoder (it reloads and scores like the fitted model)."""
    import torch

    from _server_support import tiny_examples
    from judgeloop.training.methods.finetune import FineTune

    rows = tiny_examples() * 2
    pairs, labels = [(q, a) for q, a, _ in rows], [int(g) for _, _, g in rows]
    model = FineTune(freeze_layers=4, epochs=3, lr=2e-4, batch_size=8, max_length=64, progress=False)
    model._build()
    before = {n: p.detach().clone() for n, p in model.model_.named_parameters()}
    model.fit(pairs, labels)
    after = dict(model.model_.named_parameters())
    assert model.frozen_ == 4
    for name, old in before.items():
        moved = not torch.equal(old, after[name].detach())
        lower = "embeddings" in name or any(f"layer.{i}." in name for i in range(4))
        assert moved != lower or "bias" in name and not moved, name  # frozen exactly; the rest learned
    assert all(p.requires_grad for p in model.model_.parameters())  # unfrozen again after fit
    good = model.decision_function(
        [("Where is my order?", "Please share your order number and I will check.")]
    )
    bad = model.decision_function([("Where is my order?", "Figure it out yourself.")])
    assert good[0] - bad[0] > 1.0
    model.save(tmp_path / "ft")
    again = FineTune.load(tmp_path / "ft", model.saved_params())
    np.testing.assert_allclose(
        again.decision_function(pairs[:6]), model.decision_function(pairs[:6]), atol=1e-4
    )


def test_train_evaluator_certifies_a_target_error_from_the_library(tmp_path, shop_examples):
    """`--target-error` is the library's: train_evaluator(target_error=) writes the rule and the
    automation report into judgeloop.json, and the loaded evaluator flags its review band."""
    from judgeloop.evaluators.learned import LearnedEvaluator

    with pytest.raises(InvalidInput, match="target error"):
        train_evaluator(shop_examples, tmp_path / "never", target_error=1.5)
    assert not (tmp_path / "never").exists()  # refused before any training
    result = train_evaluator(
        shop_examples, tmp_path / "m", method="embedding_head", target_error=0.2, delta=0.2, progress=False
    )
    saved = json.loads((tmp_path / "m" / "judgeloop.json").read_text())
    assert result.target_error is not None and saved["target_error"] == result.target_error
    assert saved["automation_report"] == result.automation_report and result.automation_report
    low, high = result.target_error["review_band"]
    ev = LearnedEvaluator.load(tmp_path / "m")
    assert ev.review_band == (low, high)
    assert ev.needs_review((low + high) / 2) == (low <= high)
