"""`judgeloop run` and `judgeloop report`: every method side by side, agreement with human labels, the store,
the HTML/JSON report; end to end on the bundled SmolLM2."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import pytest

from _llm_support import ThreadServer
from _server_support import BAD, GOOD, QUESTIONS, trained_model_dir
from judgeloop.errors import InvalidInput
from judgeloop.llm import ScriptedClient
from judgeloop.llm.server import create_llm_app
from judgeloop.sfteval import RunOptions, run_evaluation
from judgeloop.sfteval.checkspec import load_checks
from judgeloop.store import Workspace
from judgeloop.types import Label

CHECKS = """
checks:
  - check: word_count
    name: short
    max_words: 12
  - check: contains
    values: ["sorry", "yes", "click"]
    mode: any
"""


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _output_of(messages: list[dict[str, str]]) -> str:
    match = re.search(r"<<<OUTPUT\n(.*?)\nOUTPUT>>>", messages[-1]["content"], re.DOTALL)
    assert match, "the judge prompt fences the output"
    return match.group(1)


def seed_judge(messages: list[dict[str, str]], params: dict[str, Any]) -> str:
    """A judge that passes the helpful answers (the GOOD list) and fails the rest."""
    good = _output_of(messages) in GOOD
    return json.dumps(
        {
            "accuracy": 5 if good else 1,
            "conciseness": 4,
            "format_compliance": "yes",
            "justification": "helpful" if good else "dismissive",
        }
    )


@pytest.fixture
def judge_server():
    with ThreadServer(create_llm_app(ScriptedClient(seed_judge, model="scripted-judge"))) as server:
        yield server


def support_rows(n: int = 10) -> list[dict[str, Any]]:
    """Support prompts with given responses (half helpful), references and human labels."""
    rows = []
    for i in range(n):
        good = i % 2 == 0
        rows.append(
            {
                "id": f"s{i}",
                "prompt": QUESTIONS[i],
                "response": (GOOD if good else BAD)[i % 5],
                "reference": GOOD[i % 5],
                "good": "good" if good else "bad",
            }
        )
    return rows


def test_run_with_given_responses_every_method_and_agreement(tmp_path, judge_server, cli):
    prompts = write_jsonl(tmp_path / "prompts.jsonl", support_rows())
    checks = tmp_path / "checks.yaml"
    checks.write_text(CHECKS, encoding="utf-8")
    run_dir = tmp_path / "run"
    args = ["run", "--model", "local", "--prompts", prompts, "--out", run_dir, "--checks", checks]
    args += ["--judge-model", "scripted-judge", "--base-url", judge_server.base_url]
    code, output = cli([*args, "--evaluator", trained_model_dir()])
    assert code == 0, output
    results = json.loads((run_dir / "results.json").read_text("utf-8"))
    assert results["run"]["given"] == 10 and results["run"]["generated"] == 0  # no model was loaded
    methods = {m["name"]: m for m in results["methods"]}
    expected = {"check:short", "check:contains", "check:all", "rouge", "bleu", "chrf", "embedding_similarity"}
    assert expected | {"judge:seed", "learned:model"} == set(methods)
    assert results["human"]["n_labelled"] == 10 and results["human"]["pass_rate"]["value"] == 0.5
    judge = methods["judge:seed"]
    assert judge["pass_rate"]["value"] == 0.5 and judge["n_errors"] == 0
    assert judge["agreement"]["binary"]["accuracy"]["value"] == 1.0
    assert (
        judge["agreement"]["headline"]["metric"] == "kappa" and judge["agreement"]["headline"]["value"] == 1.0
    )
    learned = methods["learned:model"]["agreement"]
    assert learned["binary"]["accuracy"]["value"] >= 0.8 and "roc_auc" in learned["binary"]
    rouge = methods["rouge"]
    assert rouge["agreement"]["headline"]["metric"] == "spearman" and "binary" not in rouge["agreement"]
    assert rouge["caution"] and "wording" in rouge["caution"]
    assert rouge["agreement"]["scale"]["spearman"]["value"] > 0.5  # the good answers are the references
    low, high = rouge["score"]["low"], rouge["score"]["high"]
    assert low <= rouge["score"]["value"] <= high and rouge["score"]["n"] == 10
    # the per-row verdicts line up with the rows and agree with what the check would say
    short = methods["check:short"]["rows"]
    assert [r["id"] for r in short] == [f"s{i}" for i in range(10)]
    for row, verdict in zip(results["rows"], short, strict=True):
        assert verdict["label"] == int(len(row["response"].split()) <= 12)


def test_report_html_and_json(tmp_path, judge_server, cli):
    prompts = write_jsonl(tmp_path / "prompts.jsonl", support_rows(6))
    run_dir = tmp_path / "run"
    args = ["run", "--model", "local", "--prompts", prompts, "--out", run_dir]
    code, output = cli([*args, "--judge-model", "scripted-judge", "--base-url", judge_server.base_url])
    assert code == 0, output
    code, output = cli(["report", run_dir, "--out", tmp_path / "report.html", "--worst", "2"])
    assert code == 0, output
    html = (tmp_path / "report.html").read_text("utf-8")
    for name in ("judge:seed", "rouge", "bleu", "chrf", "embedding_similarity", "human labels"):
        assert name in html
    assert "reference metrics reward wording, not helpfulness" in html
    assert "kappa 1.000" in html  # the judge's agreement with the humans
    png = re.search(r"src='data:image/png;base64,([A-Za-z0-9+/=]+)'", html)
    assert png and base64.b64decode(png.group(1)).startswith(b"\x89PNG\r\n\x1a\n")
    assert not re.search(r"(src|href)=['\"]?(https?:)?//", html)  # no external assets
    assert "Not my problem." in html  # a worst case to read
    code, output = cli(
        ["report", run_dir, "--format", "json", "--worst", "2", "--out", tmp_path / "report.json"]
    )
    assert code == 0, output
    report = json.loads((tmp_path / "report.json").read_text("utf-8"))
    judge = next(m for m in report["methods"] if m["name"] == "judge:seed")
    assert judge["agreement"]["kappa"]["value"] == 1.0 and judge["score"]["n"] == 6
    assert len(judge["worst"]) == 2 and all(w["label"] == 0 and w["human"] == 0 for w in judge["worst"])
    rouge = next(m for m in report["methods"] if m["name"] == "rouge")
    assert rouge["caution"] == "reference metrics reward wording, not helpfulness"
    assert report["cautions"] and 0 <= rouge["normalised_score"]["value"] <= 1
    code, output = cli(["report", run_dir, "--format", "pdf"])
    assert code == 1 and "html or json" in output


def test_bad_inputs_name_file_row_and_field(tmp_path, cli):
    rows = support_rows(3)
    rows[1]["good"] = "maybe"
    prompts = write_jsonl(tmp_path / "p.jsonl", rows)
    code, output = cli(["run", "--model", "local", "--prompts", prompts, "--out", tmp_path / "r"])
    assert code == 1 and "p.jsonl, row 2, field 'good'" in " ".join(output.split())
    rows = support_rows(3)
    rows[2].update(instruction_id_list=["no:such_instruction"], kwargs=[{}])
    with pytest.raises(InvalidInput, match="row 3, field 'instruction_id_list'"):
        run_evaluation(RunOptions("local", write_jsonl(tmp_path / "i.jsonl", rows), tmp_path / "r"))
    bare = write_jsonl(tmp_path / "bare.jsonl", [{"prompt": "hi"}])
    with pytest.raises(InvalidInput, match="no evaluation method applies"):
        run_evaluation(RunOptions("local", bare, tmp_path / "r"))
    bad_checks = tmp_path / "c.yaml"
    bad_checks.write_text("- check: word_count\n  max_words: -1\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match=r"c.yaml, row 1, field 'check': The 'max_words' parameter"):
        load_checks(bad_checks)
    assert not (tmp_path / "r" / "responses.jsonl").exists()  # validated before any generation


@pytest.mark.slow
def test_run_end_to_end_on_smollm2_with_project_labels(tmp_path, cli):
    """Generate with the bundled SmolLM2, evaluate, store; then reviewers label the stored sessions and a
    second run (nothing regenerated) measures every method against those project labels."""
    rows = [
        {"id": "capital", "prompt": "What is the capital of France?", "reference": "Paris is the capital."},
        {"id": "fruits", "prompt": "Name three fruits.", "reference": "Apples, bananas and oranges."},
        {
            "id": "lower",
            "prompt": "Write a short greeting in all lowercase letters.",
            "instruction_id_list": ["change_case:english_lowercase"],
            "kwargs": [{}],
        },
        {
            "id": "json",
            "prompt": "Give your name as JSON.",
            "instruction_id_list": ["detectable_format:json_format"],
            "kwargs": [{}],
        },
    ]
    prompts = write_jsonl(tmp_path / "prompts.jsonl", rows)
    checks = tmp_path / "checks.yaml"
    checks.write_text("- check: word_count\n  max_words: 8\n", encoding="utf-8")
    db, run_dir = f"sqlite:///{tmp_path / 'jl.db'}", tmp_path / "run"
    args = ["run", "--model", "local", "--prompts", prompts, "--out", run_dir, "--checks", checks]
    args += ["--max-new-tokens", "16", "--project", "sft", "--db", db]
    code, output = cli(args)
    assert code == 0, output
    responses = [json.loads(line) for line in (run_dir / "responses.jsonl").read_text("utf-8").splitlines()]
    assert sorted(r["id"] for r in responses) == ["capital", "fruits", "json", "lower"]
    assert all(r["response"] and r["model"] == "local" for r in responses)
    first = json.loads((run_dir / "results.json").read_text("utf-8"))
    assert first["run"]["generated"] == 4 and first["human"]["n_labelled"] == 0
    names = {m["name"] for m in first["methods"]}
    assert {"check:word_count", "ifeval:strict", "ifeval:loose", "rouge", "embedding_similarity"} <= names
    ifeval = next(m for m in first["methods"] if m["name"] == "ifeval:strict")
    assert ifeval["n_ok"] == 2 and ifeval["n_abstain"] == 2 and ifeval["extra"]["n_instructions"] == 2
    assert all(m["agreement"] is None for m in first["methods"])

    ws = Workspace(db)
    try:
        sessions = ws.sessions("sft")
        assert len(sessions) == 4
        stored = ws.verdicts("sft")
        assert {v.evaluator for v in stored} >= {"check:word_count", "ifeval:strict", "rouge"}
        assert len([v for v in stored if v.evaluator == "ifeval:strict"]) == 2  # only where it applies
        by_prompt = {s.metadata["prompt_id"]: s for s in sessions}
        for pid, good in (("capital", True), ("fruits", True), ("lower", False), ("json", False)):
            ws.add_label("sft", Label(session_id=by_prompt[pid].id or "", reviewer="ann", good=good))
    finally:
        ws.close()

    code, output = cli([*args, "--out", run_dir])
    assert code == 0, output
    second = json.loads((run_dir / "results.json").read_text("utf-8"))
    assert second["run"]["generated"] == 0 and second["run"]["already_answered"] == 4
    assert second["human"]["sources"] == {"prompts_file": 0, "project": 4}
    check = next(m for m in second["methods"] if m["name"] == "check:word_count")
    assert check["agreement"]["n"] == 4 and "kappa" in check["agreement"]["binary"]
    code, output = cli(["report", run_dir, "--out", tmp_path / "report.html"])
    assert code == 0 and "data:image/png;base64," in (tmp_path / "report.html").read_text("utf-8")
