"""Agreement with the humans is measured on rows the evaluator did not train on, and says so.

A registered version's training ids come from its model folder (judgeloop.json `train_ids`). The
evaluator below is right on all 30 training rows and on half of the 10 held-out rows, so its
held-out accuracy (0.5) and its accuracy with the training rows (35/40) cannot be confused.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from judgeloop import registry
from judgeloop.agreement.reviewers import agreement_report
from judgeloop.store import Workspace
from judgeloop.types import Label, Session, Verdict


@pytest.fixture
def trained_ws(db_url: str, tmp_path: Path) -> tuple[str, list[str]]:
    ws = Workspace(db_url)
    sessions = ws.add_sessions("p", [Session(model_input=f"q{i}", model_output=f"a{i}") for i in range(40)])
    ids = [s.id or "" for s in sessions]
    for i, sid in enumerate(ids):
        ws.add_label("p", Label(session_id=sid, reviewer="ana", good=i % 2 == 0))
    folder = tmp_path / "m-model"
    folder.mkdir()
    (folder / registry.MODEL_CONFIG).write_text(
        json.dumps({"method": "embedding_head", "train_ids": ids[:30], "heldout_ids": ids[30:]})
    )
    info = registry.register(ws, "m", folder, project="p")
    verdicts = []
    for i, sid in enumerate(ids):
        truth = int(i % 2 == 0)
        label = truth if i < 35 else 1 - truth  # held-out rows 35..39 are wrong
        verdicts.append(Verdict(session_id=sid, evaluator="m", version=str(info.version), label=label))
        verdicts.append(Verdict(session_id=sid, evaluator="judge", label=truth))
    ws.add_verdicts("p", verdicts)
    ws.close()
    return db_url, ids


def _json(cli, args: list[str]) -> dict:
    code, output = cli(args)
    assert code == 0, output
    return json.loads(output)


def test_agreement_cli_defaults_to_held_out_rows_and_labels_the_other_number(trained_ws, cli) -> None:
    db, _ = trained_ws
    base = ["agreement", "--project", "p", "--evaluator", "m", "--db", db, "--json"]
    held = _json(cli, base)
    assert (held["rows"], held["n"], held["training_rows_excluded"]) == ("held-out", 10, 30)
    assert held["binary"]["accuracy"]["value"] == pytest.approx(0.5)
    both = _json(cli, [*base, "--include-train"])
    assert (both["rows"], both["n"], both["training_rows_included"]) == ("including training rows", 40, 30)
    assert both["binary"]["accuracy"]["value"] == pytest.approx(35 / 40)
    # a judge trained on nothing: every row is held out
    judge = _json(cli, ["agreement", "--project", "p", "--evaluator", "judge", "--db", db, "--json"])
    assert (judge["rows"], judge["n"], judge["training_rows_excluded"]) == ("held-out", 40, 0)
    code, text = cli(["agreement", "--project", "p", "--evaluator", "m", "--db", db])
    assert code == 0 and "10 held-out sessions (30 training sessions left out" in " ".join(text.split())


def test_outliers_leave_out_training_rows_unless_asked(trained_ws, cli) -> None:
    db, ids = trained_ws
    base = ["outliers", "--project", "p", "--evaluator", "m", "--db", db, "--json", "--limit", "50"]
    held = _json(cli, base)
    assert held["human_rows"] == {"rows": "held-out", "n": 10, "training_rows_excluded": 30}
    assert {o["session_id"] for o in held["human"]} == set(ids[35:])
    both = _json(cli, [*base, "--include-train"])
    assert both["human_rows"]["rows"] == "including training rows" and both["human_rows"]["n"] == 40


def test_agreement_page_and_api_say_which_rows(trained_ws) -> None:
    db, _ = trained_ws
    ws = Workspace(db)
    rows = {r["evaluator"]: r for r in agreement_report(ws, "p", n_resamples=50)["evaluators"]}
    m = rows["m@1"]
    assert (m["n"], m["rows"], m["training_rows_excluded"]) == (10, "held-out", 30)
    assert rows["m@1"]["accuracy"]["value"] == pytest.approx(0.5)
    report = agreement_report(ws, "p", n_resamples=50, include_train=True)
    assert report["evaluator_rows"] == "including training rows"
    rows = {r["evaluator"]: r for r in report["evaluators"]}
    assert rows["m@1"]["n"] == 40 and rows["m@1"]["accuracy"]["value"] == pytest.approx(35 / 40)
    assert rows["judge"]["n"] == 40 and rows["judge"]["training_rows_included"] == 0
    ws.close()


def test_evaluators_list_shows_n_and_ci(trained_ws, cli, tmp_path: Path) -> None:
    db, _ = trained_ws
    folder = tmp_path / "n8"
    folder.mkdir()
    acc = {"value": 0.875, "low": 0.625, "high": 1.0, "n": 8}
    (folder / registry.MODEL_CONFIG).write_text(json.dumps({"metrics": {"heldout": {"accuracy": acc}}}))
    registry.register(Workspace(db), "small", folder)
    code, output = cli(["evaluators", "list", "small", "--db", db])
    assert code == 0, output
    line = next(x for x in output.splitlines() if "small@1" in x)
    assert "0.875 [0.625, 1.000]" in line and " 8 " in line


def test_run_and_report_leave_out_the_learned_evaluators_training_rows(tmp_path: Path, cli) -> None:
    from _server_support import BAD, GOOD, QUESTIONS, model_copy
    from judgeloop.types import content_hash

    rows = []
    for i in range(10):
        good = i % 2 == 0
        response = (GOOD if good else BAD)[i % 5]
        rows.append({"id": f"s{i}", "prompt": QUESTIONS[i], "response": response, "good": int(good)})
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    trained = [content_hash(r["prompt"], r["response"]) for r in rows[:6]]
    model = model_copy(tmp_path / "model", train_ids=trained)
    base = ["run", "--model", "local", "--prompts", prompts, "--evaluator", model]
    for flag, out, expected in (
        ([], "held", ("held-out", 4, "training_rows_excluded")),
        (["--include-train"], "both", ("including training rows", 10, "training_rows_included")),
    ):
        code, output = cli([*base, "--out", tmp_path / out, *flag])
        assert code == 0, output
        results = json.loads((tmp_path / out / "results.json").read_text("utf-8"))
        learned = next(m for m in results["methods"] if m["kind"] == "learned")["agreement"]
        assert (learned["rows"], learned["n"], learned[expected[2]]) == (expected[0], expected[1], 6)
    code, output = cli(["report", tmp_path / "held", "--out", tmp_path / "r.html"])
    assert code == 0, output
    assert "held-out (6 training rows left out)" in (tmp_path / "r.html").read_text("utf-8")


def test_agreement_page_names_its_rows_and_links_the_other_number(trained_ws, monkeypatch) -> None:
    from fastapi.testclient import TestClient

    from _review_support import PASSWORD, sign_in
    from judgeloop.review import users
    from judgeloop.server import create_app

    db, _ = trained_ws
    ws = Workspace(db)
    users.add_reviewer(ws, "lead", "p", "admin", PASSWORD)
    monkeypatch.setenv("JUDGELOOP_SECRET_KEY", "test-secret-key-for-heldout")
    with TestClient(create_app(workspace=ws)) as client:
        sign_in(client, "lead")
        held = client.get("/review/projects/p/agreement")
        assert held.status_code == 200
        assert "held-out rows: sessions each evaluator version did not train on" in held.text
        assert "include_train=true" in held.text
        both = client.get("/review/projects/p/agreement?include_train=true")
        assert both.status_code == 200 and "including training rows: every session" in both.text
    ws.close()
