"""Learned pairwise comparators (Bradley-Terry + Davidson ties) on slices of public preference data,
with the real MiniLM weights: training, exact position consistency, files, the CLI and the registry."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from judgeloop.bench import preference_sets as ps
from judgeloop.errors import InvalidInput
from judgeloop.evaluators.pairwise_learned import PairwiseEvaluator, load_comparator
from judgeloop.training.pairwise import train_pairwise
from judgeloop.training.pairwise_data import PairExample, read_pairwise_file, split_transcripts
from judgeloop.training.pairwise_model import davidson, fit_davidson


def _rows(pairs: list[PairExample]) -> list[dict]:
    return [
        {"model_input": p.model_input, "model_output": p.output_a, "output_b": p.output_b, "choice": p.choice}
        for p in pairs
    ]


def _shortest(pairs: list[PairExample], n: int) -> list[PairExample]:
    """The n pairs with the least text (cheap to embed on a busy machine), in their file order."""
    size = {p.key: len(str(p.model_input)) + len(p.output_a) + len(p.output_b) for p in pairs}
    keep = set(sorted(size, key=size.__getitem__)[:n])
    return [p for p in pairs if p.key in keep]


@pytest.fixture(scope="module")
def slices(shared_datasets: Path) -> dict[str, list[PairExample]]:
    return {
        "train": _shortest(ps.load_llmbar(shared_datasets, "llmeval2"), 80)
        + _shortest(ps.load_llmbar(shared_datasets, "mtbench_human"), 40),
        "natural": _shortest(ps.load_llmbar(shared_datasets, "llmbar_natural"), 30),
        "hh": _shortest(ps.load_hh(shared_datasets), 40),
    }


@pytest.fixture(scope="module")
def trained(slices, tmp_path_factory) -> PairwiseEvaluator:
    out = tmp_path_factory.mktemp("cmp") / "model"
    train_pairwise(slices["train"], out, test_size=0.25, seed=0, name="pairs")
    return PairwiseEvaluator.load(out)


def test_davidson_mirrors_and_fits_ties():
    d = np.array([-3.0, -0.5, 0.0, 0.7, 4.0])
    p, q = davidson(d, 1.3, 0.4), davidson(-d, 1.3, 0.4)
    assert np.array_equal(p[:, 0], q[:, 1]) and np.array_equal(p[:, 2], q[:, 2])
    assert np.allclose(p.sum(1), 1.0)
    assert np.allclose(davidson(d, 1.0, 0.0)[:, 0], 1 / (1 + np.exp(-d)))  # nu = 0: plain BT
    rng = np.random.default_rng(0)
    margins = rng.normal(0, 2, 3000)
    truth = davidson(margins, 1.0, 0.8)
    draws = [("A", "B", "tie")[rng.choice(3, p=row)] for row in truth]
    t, nu = fit_davidson(margins, draws)
    assert abs(t - 1.0) < 0.15 and abs(nu - 0.8) < 0.2
    assert fit_davidson(margins, [c if c != "tie" else "A" for c in draws])[1] == 0.0  # no ties: no nu


def test_trained_comparator_is_exactly_position_consistent(trained, slices):
    pairs = slices["natural"] + slices["hh"]
    forward = trained.compare([(p.model_input, p.output_a, p.output_b) for p in pairs])
    swapped = trained.compare([(p.model_input, p.output_b, p.output_a) for p in pairs])
    assert np.array_equal(forward[:, 0], swapped[:, 1]) and np.array_equal(forward[:, 2], swapped[:, 2])
    verdicts = trained.verdicts([(p.model_input, p.output_a, p.output_b) for p in pairs])
    back = trained.verdicts([(p.model_input, p.output_b, p.output_a) for p in pairs])
    flip = {"A": "B", "B": "A", "tie": "tie"}
    assert [flip[v.scores["winner"]] for v in verdicts] == [v.scores["winner"] for v in back]
    assert len({v.scores["winner"] for v in verdicts}) == 2  # it does pick both sides


def test_it_learns_the_training_preferences_and_saves_a_card(trained, slices):
    train = [p for p in slices["train"] if p.key in set(trained.config["train_ids"])]
    probs = trained.compare([(p.model_input, p.output_a, p.output_b) for p in train])
    fitted = np.mean([(row[0] > row[1]) == (p.choice == "A") for row, p in zip(probs, train, strict=True)])
    assert fitted >= 0.75  # a flipped orientation or a dead scorer would sit near or below 0.5
    m = trained.config["metrics"]["heldout"]
    assert m["n"] == len(trained.config["heldout_ids"]) > 10 and 0 <= m["accuracy"]["value"] <= 1
    assert m["accuracy"]["low"] <= m["accuracy"]["value"] <= m["accuracy"]["high"]
    assert trained.nu == 0.0  # the training pairs have no ties: a tie only for exactly equal scores
    card = (trained.path / "README.md").read_text()
    assert "accuracy on decisive pairs" in card and "agreement including ties" in card


def test_served_runtimes_agree_with_torch(trained, slices):
    """The folder serves ONNX int8 when it passes its gate (spinning off); fp32 ONNX gives torch's
    probabilities to float tolerance, int8 stays close and exactly position consistent."""
    from judgeloop.training.pairwise_model import _unique_surface, surface_features

    runtime = trained.config["runtime"]
    assert runtime["rule"] == "auto" and runtime["fp32_file"] == "model.onnx" and "gate" in runtime
    assert trained.config["onnx"] == runtime["onnx"] and (trained.path / runtime["onnx"]).is_file()
    assert set(runtime["heldout_accuracy"]) == {"fp32", "int8"}
    served = "onnx-int8" if runtime["quantized"] == "int8" else "onnx"
    assert trained.runtime == served and trained.model.embedder.onnx_.spinning is False
    pairs = slices["natural"] + slices["hh"][:10]
    triples = [(p.model_input, p.output_a, p.output_b) for p in pairs]
    torch_probs = PairwiseEvaluator.load(trained.path, runtime="torch").compare(triples)
    fp32 = PairwiseEvaluator.load(trained.path)
    fp32.model.embedder.attach_onnx(trained.path / "model.onnx")
    assert fp32.runtime == "onnx"
    assert np.allclose(fp32.compare(triples), torch_probs, atol=1e-4)
    int8 = PairwiseEvaluator.load(trained.path)
    int8.model.embedder.attach_onnx(trained.path / "model.int8.onnx")
    p8 = int8.compare(triples)
    assert np.abs(p8 - torch_probs).max() < 0.15 and np.mean(p8.argmax(1) == torch_probs.argmax(1)) >= 0.8
    back = int8.compare([(x, b, a) for x, a, b in triples])
    assert np.array_equal(p8[:, 0], back[:, 1]) and np.array_equal(p8[:, 2], back[:, 2])
    items = [(x, a) for x, a, _ in triples] * 2 + [("another input", pairs[0].output_a)]
    assert np.array_equal(_unique_surface(items), surface_features(items))


def test_quantize_choices(trained, slices, tmp_path):
    from judgeloop.training.pairwise import choose_runtime

    model = PairwiseEvaluator.load(trained.path, runtime="torch").model
    served, summary, int8_metrics = choose_runtime(model, tmp_path, "none", None)
    assert served.name == "model.onnx" and summary["quantized"] is None and int8_metrics is None
    assert not (tmp_path / "model.int8.onnx").exists()
    served, summary, int8_metrics = choose_runtime(model, tmp_path, "auto", None)
    assert served.name == "model.int8.onnx" and summary["gate"] == "no held-out pairs"
    assert model.embedder.onnx_ is None  # the comparator is handed back on torch
    with pytest.raises(InvalidInput) as err:
        train_pairwise(slices["train"], tmp_path / "never", quantize="int4")
    assert err.value.field == "quantize" and not (tmp_path / "never").exists()


def test_spinning_setting_and_its_environment_override(trained, monkeypatch):
    from judgeloop.training.onnx import OnnxForward

    path = trained.path / "model.onnx"
    monkeypatch.delenv("JUDGELOOP_ONNX_SPINNING", raising=False)
    assert OnnxForward(path).spinning is True and OnnxForward(path, spinning=False).spinning is False
    entry = "session.intra_op.allow_spinning"
    assert (
        OnnxForward(path, spinning=False).session.get_session_options().get_session_config_entry(entry) == "0"
    )
    monkeypatch.setenv("JUDGELOOP_ONNX_SPINNING", "1")  # the environment wins over the caller's default
    assert OnnxForward(path, spinning=False).spinning is True


def test_pairwise_file_formats_and_errors(tmp_path, shared_datasets):
    good = tmp_path / "pairs.jsonl"
    rows = [
        {"model_input": "q1", "model_output": "a", "output_b": "b", "choice": "A"},
        {"model_input": "q2", "model_output": "c", "output_b": "d", "choice": "tie"},
    ]
    good.write_text("\n".join(json.dumps(r) for r in rows))
    assert [p.choice for p in read_pairwise_file(good)] == ["A", "tie"]
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({**rows[0], "choice": "first"}) + "\n" + json.dumps(rows[1]))
    with pytest.raises(InvalidInput) as err:
        read_pairwise_file(bad)
    assert err.value.row == 1 and err.value.field == "choice" and "'first'" in str(err.value)
    import gzip

    with gzip.open(shared_datasets / ps.HH_HARMLESS, "rt") as fh:
        hh_rows = [json.loads(next(fh)) for _ in range(5)]
    hh = tmp_path / "hh.jsonl"
    hh.write_text("\n".join(json.dumps(r) for r in hh_rows))
    pairs = read_pairwise_file(hh)
    assert [p.choice for p in pairs] == ["A"] * 5
    for p, raw in zip(pairs, hh_rows, strict=True):
        assert raw["chosen"].endswith(p.output_a) and raw["rejected"].endswith(p.output_b)
        assert raw["chosen"].strip().startswith(p.model_input) and "Human:" in p.model_input
    assert split_transcripts("\n\nHuman: x\n\nAssistant: a", "no assistant here") is None


def test_train_and_evaluate_cli_contract(cli, tmp_path, slices):
    data = tmp_path / "train.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in _rows(slices["train"])))
    code, text = cli(["train", "--pairwise", data, "--out", tmp_path / "m", "--json"])
    assert code == 0, text
    report = json.loads(text)
    assert report["method"] == "pairwise_bt" and report["n_train"] + report["n_heldout"] == 120
    test = tmp_path / "test.jsonl"
    test.write_text("\n".join(json.dumps(r) for r in _rows(slices["natural"][:10])))
    code, text = cli(["evaluate", test, "--model", tmp_path / "m", "--out", tmp_path / "preds.jsonl"])
    assert code == 0, text
    preds = [json.loads(line) for line in (tmp_path / "preds.jsonl").read_text().splitlines()]
    assert len(preds) == 10
    for p in preds:
        assert p["choice"] in ("A", "B", "tie") and 0.0 <= p["probability"] <= 1.0
        assert {"row", "id", "evaluator", "human"} <= set(p)
        expected = "A" if p["probability"] > 0.5 else "B" if p["probability"] < 0.5 else "tie"
        assert p["choice"] == expected and p["p_tie"] == 0.0  # no ties learned
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"model_input": "q", "model_output": "a", "output_b": "b", "choice": "maybe"}))
    code, text = cli(["train", "--pairwise", bad, "--out", tmp_path / "never"])
    assert code == 1 and "choice" in text and "row 1" in text and not (tmp_path / "never").exists()


def test_project_labels_registry_agreement_and_gate(cli, tmp_path, slices):
    from judgeloop import registry
    from judgeloop.agreement.evaluators import evaluator_agreement
    from judgeloop.store import Workspace
    from judgeloop.types import Label, Session

    url = f"sqlite:///{tmp_path / 'p.db'}"
    ws = Workspace(url)
    pairs = slices["train"]
    ws.add_sessions(
        "p",
        [
            Session(id=f"s{i}", model_input=p.model_input, model_output=p.output_a, output_b=p.output_b)
            for i, p in enumerate(pairs)
        ],
    )
    for i, p in enumerate(pairs):
        ws.add_label("p", Label(session_id=f"s{i}", reviewer="ann", kind="pairwise", choice=p.choice))
    ws.add_label("p", Label(session_id="s0", reviewer="bob", kind="pairwise", choice="tie"))  # 1:1 → tie
    code, text = cli(["train", "--pairwise", "--project", "p", "--db", url, "--out", tmp_path / "v1"])
    assert code == 0, text
    info = registry.get_version(ws, "p-pairwise")
    assert info.method == "pairwise_bt" and info.status == "champion"
    code, text = cli(["evaluate", "--project", "p", "--model", "p-pairwise", "--db", url])
    assert code == 0, text
    report = evaluator_agreement(ws, "p", "p-pairwise", n_resamples=50, include_train=True)["pairwise"]
    assert report["n"] == len(pairs) and report["human_ties"] == 1
    assert report["position_consistency"]["value"] == 1.0
    assert report["accuracy"]["value"] >= 0.75  # mostly its own training pairs
    code, text = cli(["train", "--pairwise", "--project", "p", "--db", url, "--out", tmp_path / "v2"])
    assert code == 0, text
    decision = registry.promote(ws, "p-pairwise@2", project="p", force=False)
    assert decision["comparison"]["n"] >= 20 and "accuracy" in decision["reason"]
    assert isinstance(load_comparator("p-pairwise", db=url), PairwiseEvaluator)


def test_compare_route(trained, slices, tmp_path):
    from fastapi.testclient import TestClient

    from _server_support import make_env
    from judgeloop import registry
    from judgeloop.server import create_app

    env = make_env(tmp_path, [])
    registry.register(env.ws, "shop-pairwise", trained.path, project="shop")
    registry.promote(env.ws, "shop-pairwise@1", project="shop")
    p = slices["natural"][0]
    item = {"model_input": p.model_input, "model_output": p.output_a, "output_b": p.output_b}
    swapped = {**item, "model_output": p.output_b, "output_b": p.output_a}
    with TestClient(create_app(workspace=env.ws)) as client:
        r = client.post("/v1/compare", json=item, headers=env.auth())
        assert r.status_code == 200, r.text
        one = r.json()
        assert one["choice"] in ("A", "B") and one["evaluator"] == "shop-pairwise" and one["version"] == "1"
        assert one["probability"] == one["p_a"] and one["p_a"] + one["p_b"] + one["p_tie"] == pytest.approx(1)
        both = client.post("/v1/compare", json=[item, swapped], headers=env.auth()).json()
        assert (
            both[1]["p_a"] == pytest.approx(both[0]["p_b"], abs=1e-12) and both[1]["choice"] != one["choice"]
        )
        assert client.post("/v1/compare", json=item, headers=env.auth("reviewer")).status_code == 403
        bad = client.post("/v1/compare", json={**item, "output_b": " "}, headers=env.auth())
        assert bad.status_code == 422 and bad.json()["field"] == "output_b"
        other = client.post("/v1/compare", json={**item, "evaluator": "nope"}, headers=env.auth())
        assert other.status_code == 404
        guardrail = {"model_input": p.model_input, "model_output": p.output_a}
        r = client.post("/v1/evaluate", json=guardrail, headers=env.auth())  # not the guardrail's default
        assert r.status_code == 404 and "no champion" in r.json()["detail"]


def test_bench_winrate_with_a_comparator(cli, trained, tmp_path, shared_datasets):
    results = shared_datasets / "alpaca_eval" / "results"
    out = tmp_path / "figures.json"
    args = ["bench", "winrate", "--model-outputs", results / "alpaca-7b" / "model_outputs.json"]
    args += ["--baseline", results / "gpt4_1106_preview" / "model_outputs.json", "--evaluator", trained.path]
    code, text = cli([*args, "--limit", "8", "--out", out, "--annotations-out", tmp_path / "ann.json"])
    assert code == 0, text
    figures = json.loads(out.read_text())
    annotations = json.loads((tmp_path / "ann.json").read_text())
    assert figures["n_total"] == 8 and figures["judge"] == "pairs" and figures["n_judge_errors"] == 0
    prefs = [a["preference"] for a in annotations]
    assert all(1.0 <= p <= 2.0 for p in prefs)
    assert figures["win_rate"] == pytest.approx((np.mean(prefs) - 1) * 100)
    for a in annotations:  # the preference is the comparator's P(model better), ties counted half
        assert a["preference"] == pytest.approx(1 + a["p_model"] + 0.5 * a["p_tie"])
