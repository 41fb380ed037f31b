"""The registry: train --project registers versions; promotion is gated on shared held-out labels."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from judgeloop import registry
from judgeloop.assets import EXAMPLE_DATASET
from judgeloop.store import Workspace
from judgeloop.training import Example, train_evaluator


@pytest.fixture
def shop(db_url: str, cli) -> str:
    code, output = cli(["import", EXAMPLE_DATASET, "--project", "shop", "--db", db_url])
    assert code == 0, output
    return db_url


def _project_examples(ws: Workspace) -> list[Example]:
    return [
        Example(s.model_input, s.model_output, int(good), str(s.metadata["prompt_id"]), s.id)
        for s, good, _ in ws.labelled_sessions("shop")
    ]


def test_train_project_registers_and_the_gate_refuses_a_worse_candidate(
    shop: str, cli, tmp_path: Path
) -> None:
    db = shop
    code, output = cli(["train", "--project", "shop", "--db", db, "--out", tmp_path / "v1"])
    assert code == 0, output
    assert "shop@1" in output and "promoted shop@1" in output
    ws = Workspace(db)
    champion = registry.get_version(ws, "shop")
    assert champion.version == 1 and champion.status == "champion"

    # a candidate that cannot learn (tiny C: it predicts one class), held out on the same rows
    weak = train_evaluator(
        _project_examples(ws), tmp_path / "weak", params={"C": 1e-6}, stable_split=True, progress=False
    )
    assert set(weak.heldout_ids) == set(champion.heldout_ids)
    registry.register(ws, "shop", weak.out_dir, project="shop")
    code, output = cli(["evaluators", "promote", "shop@2", "--db", db])
    assert code == 1
    assert "refused to promote shop@2 over shop@1" in output and "worse" in output
    assert "(--force to override)" in output and '"force"' not in output
    assert registry.get_version(ws, "shop").version == 1
    assert registry.history(ws, "shop")[-1]["action"] == "refused"

    code, output = cli(["evaluators", "promote", "shop@2", "--force", "--db", db])
    assert code == 0, output
    assert registry.get_version(ws, "shop").version == 2
    assert registry.history(ws, "shop")[-1]["forced"] is True

    code, output = cli(["evaluators", "rollback", "shop", "--db", db])
    assert code == 0, output
    assert registry.get_version(ws, "shop").version == 1

    code, output = cli(["evaluate", "--project", "shop", "--db", db])
    assert code == 0, output
    verdicts = ws.verdicts("shop", "shop")
    assert len(verdicts) == 240 and {v.version for v in verdicts} == {"1"}
    assert all(v.probability is not None and v.label == int(v.probability >= v.threshold) for v in verdicts)
    code, output = cli(["evaluate", "--project", "shop", "--db", db, "--only-new"])
    assert code == 0 and "stored 0 verdicts" in output


def test_load_by_registry_reference_and_unknown_names(shop: str, cli, tmp_path: Path) -> None:
    from judgeloop import NotFound, load_evaluator

    code, output = cli(
        ["train", "--project", "shop", "--db", shop, "--out", tmp_path / "m", "--name", "support"]
    )
    assert code == 0, output
    ev = load_evaluator("support@1", db=shop)
    assert ev.ref == "support@1"
    assert ev.evaluate_llm_session("Where is my parcel?", "It is on its way.").version == "1"
    with pytest.raises(NotFound, match="versions: 1"):
        load_evaluator("support@9", db=shop)
    with pytest.raises(NotFound, match="evaluators: support"):
        load_evaluator("nope", db=shop)
    # a new runtime for a project's model is measured again on the project's held-out labels
    code, output = cli(["export-onnx", tmp_path / "m", "--project", "shop", "--db", shop])
    assert code == 0 and "held-out accuracy on model.onnx" in output, output
    config = json.loads((tmp_path / "m" / "judgeloop.json").read_text())
    assert config["runtime"]["measured_on"] == "project shop" and config["onnx"] == "model.onnx"
    assert config["metrics"]["heldout"]["accuracy"]["n"] == len(config["heldout_ids"])


def test_target_error_sets_a_review_band_and_evaluate_marks_rows(tmp_path: Path, cli) -> None:
    import json

    out = tmp_path / "m"
    code, output = cli(["train", EXAMPLE_DATASET, "--out", out, "--target-error", "0.3", "--delta", "0.2"])
    assert code == 0, output
    rule = json.loads((out / "judgeloop.json").read_text())["target_error"]
    assert rule["target"] == 0.3 and rule["n_calibration"] > 0
    report = json.loads((out / "judgeloop.json").read_text())["automation_report"]
    assert [r["target"] for r in report] == [0.01, 0.05, 0.10]
    assert all(r["n"] == rule["n_calibration"] and r["repeats"] == 20 for r in report)
    assert "## Automation report" in (out / "README.md").read_text()
    assert "| 10% |" in output  # the report is printed too
    preds = tmp_path / "p.jsonl"
    code, output = cli(["evaluate", EXAMPLE_DATASET, "--model", out, "--out", preds])
    assert code == 0, output
    rows = [json.loads(line) for line in preds.read_text().splitlines()]
    if rule["tau"] is None:
        assert all(r["needs_review"] for r in rows)
    else:
        tau = rule["tau"]
        assert all(r["needs_review"] == (max(r["probability"], 1 - r["probability"]) < tau) for r in rows)


def test_retrain_waits_for_new_labels_and_needs_to_be_better(shop: str, cli, tmp_path: Path) -> None:
    code, output = cli(["train", "--project", "shop", "--db", shop, "--out", tmp_path / "v1"])
    assert code == 0, output
    code, output = cli(["retrain", "--project", "shop", "--db", shop, "--min-new-labels", "1"])
    assert code == 0 and "skipped" in output and "0 new labels" in output
    ws = Workspace(shop)
    assert [v.version for v in registry.list_versions(ws, "shop")] == [1]
    # the same labels again: an identical candidate is not better, so the champion stays
    code, output = cli(["retrain", "--project", "shop", "--db", shop, "--out", tmp_path / "v2", "--json"])
    assert code == 0, output
    import json

    result = json.loads(output[output.index("{") :])
    assert result["status"] == "refused" and result["candidate"] == "shop@2"
    assert result["comparison"]["diff"] == 0.0 and result["champion_after"] == "shop@1"
    assert registry.history(ws, "shop")[-1]["action"] == "refused"
