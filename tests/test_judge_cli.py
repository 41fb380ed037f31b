"""`judgeloop judge` through the entry point: a file to JSONL, a project into the store (cached calls,
then `judgeloop agreement`), pairwise games, and the argument errors. The judge is a scripted model
behind a real OpenAI-compatible HTTP server on 127.0.0.1."""

from __future__ import annotations

import csv
import json
import re
from typing import Any

import pytest

from _llm_support import FakeOpenAI, ThreadServer, chat_body

OUTPUT = re.compile(r"<<<OUTPUT\n(.*?)\nOUTPUT>>>", re.S)
ROWS = [  # model_input, model_output, human label (RIGHT answers are good)
    ("Capital of France?", "RIGHT: Paris.", 1),
    ("Capital of Spain?", "Lisbon.", 0),
    ("2 + 2?", "RIGHT: 4.", 1),
    ("Largest ocean?", "The Atlantic.", 0),
]


def grader(body: dict[str, Any], n: int) -> tuple[int, dict[str, Any], dict[str, str]]:
    """The seed rubric: accuracy 5 for an output that says RIGHT, else 1; pairwise: the RIGHT one."""
    user = body["messages"][-1]["content"]
    if "<<<OUTPUT_A" in user:
        a, b = user.split("<<<OUTPUT_B")
        verdict = "A" if "RIGHT" in a.split("<<<OUTPUT_A")[1] else "B" if "RIGHT" in b else "tie"
        return 200, chat_body(json.dumps({"verdict": verdict})), {}
    right = "RIGHT" in OUTPUT.search(user).group(1)
    scores = {"accuracy": 5 if right else 1, "conciseness": 4, "format_compliance": "yes"}
    return 200, chat_body(json.dumps({**scores, "justification": "scripted"})), {}


@pytest.fixture
def server():
    fake = FakeOpenAI(grader)
    with ThreadServer(fake.app) as running:
        yield fake, running.base_url


def test_judge_a_file_writes_one_verdict_per_row(tmp_path, server, cli):
    fake, url = server
    rows = tmp_path / "sessions.jsonl"
    rows.write_text("".join(json.dumps({"model_input": i, "model_output": o}) + "\n" for i, o, _ in ROWS))
    out = tmp_path / "verdicts.jsonl"
    code, output = cli(["judge", rows, "--model", "fake", "--base-url", url, "--out", out])
    assert code == 0, output
    verdicts = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    assert [v["label"] for v in verdicts] == [good for _, _, good in ROWS]
    assert all(v["status"] == "ok" for v in verdicts) and len(fake.requests) == len(ROWS)
    assert "pass rate 50.0%" in output
    from judgeloop.types import content_hash

    # no id column: the content hash that import and evaluate give the session, and the row number
    assert [(v["row"], v["id"]) for v in verdicts] == [
        (n, content_hash(i, o)) for n, (i, o, _) in enumerate(ROWS, start=1)
    ]


@pytest.mark.parametrize("column", ["id", "session_id", "ticket"])
def test_judge_output_ids_are_the_files_id_column(tmp_path, server, cli, column):
    _, url = server
    rows = tmp_path / "sessions.csv"
    with rows.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow([column, "model_input", "model_output"])
        w.writerows([f"t-{n}", i, o] for n, (i, o, _) in enumerate(ROWS))
    out = tmp_path / "verdicts.jsonl"
    args = ["judge", rows, "--model", "fake", "--base-url", url, "--out", out, "--limit", "3"]
    code, output = cli(args + (["--id-col", column] if column == "ticket" else []))
    assert code == 0, output
    verdicts = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    assert [(v["row"], v["id"]) for v in verdicts] == [(1, "t-0"), (2, "t-1"), (3, "t-2")]


def test_judge_a_project_stores_verdicts_caches_calls_and_agrees_with_humans(tmp_path, server, cli):
    fake, url = server
    db = f"sqlite:///{tmp_path}/ws.db"
    data = tmp_path / "seed.csv"
    with data.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["model_input", "model_output", "good"])
        writer.writerows(ROWS)
    assert cli(["import", data, "--project", "p", "--db", db])[0] == 0
    judge = ["judge", "--project", "p", "--db", db, "--model", "fake", "--base-url", url]
    code, output = cli(judge)
    assert code == 0, output
    assert "judgeloop agreement --evaluator judge:seed --project p" in " ".join(output.split())
    code, output = cli(judge)  # the same calls again: answered from the workspace's cache
    assert code == 0, output
    assert len(fake.requests) == len(ROWS)
    code, output = cli(["agreement", "--evaluator", "judge:seed", "--project", "p", "--db", db, "--json"])
    assert code == 0, output
    report = json.loads(output[output.index("{") :])
    assert report["binary"]["accuracy"]["value"] == 1.0 and report["binary"]["n"] == len(ROWS)


def test_judge_pairwise_plays_both_orders(tmp_path, server, cli):
    fake, url = server
    rows = tmp_path / "pairs.jsonl"
    pairs = [("q1", "RIGHT one", "wrong one"), ("q2", "wrong two", "RIGHT two"), ("q3", "RIGHT x", "RIGHT y")]
    rows.write_text(
        "".join(json.dumps({"model_input": q, "model_output": a, "output_b": b}) + "\n" for q, a, b in pairs)
    )
    out = tmp_path / "verdicts.jsonl"
    code, output = cli(
        ["judge", rows, "--pairwise", "--short", "--model", "fake", "--base-url", url, "--out", out]
    )
    assert code == 0, output
    verdicts = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    # A wins, B wins, and a pair where each order picks the first answer shown: a tie (label None)
    assert [v["label"] for v in verdicts] == [1, 0, None]
    assert len(fake.requests) == 2 * len(pairs)
    assert "ties" in output


def test_judge_needs_exactly_one_of_file_and_project(tmp_path, cli):
    code, output = cli(["judge", "--model", "fake"])
    assert code == 1 and "--project" in output
    rows = tmp_path / "s.jsonl"
    rows.write_text(json.dumps({"model_input": "q", "model_output": "a"}) + "\n")
    code, output = cli(["judge", rows, "--model", "fake"])
    assert code == 1 and "--out" in output
