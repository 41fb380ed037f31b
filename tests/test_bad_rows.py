"""Bad rows (issue 16 §5): an empty model output is a real session (imported, trained on, evaluated,
counted in a warning); `--on-error skip` uses the valid rows and writes the invalid ones to a rejects
file, while the default still refuses the whole file; IFEval reads JSONL through io.read_records."""

from __future__ import annotations

import csv
import json

from _server_support import tiny_examples, trained_model_dir
from judgeloop.bench.ifeval import load_responses
from judgeloop.io import read_dataset
from judgeloop.store import Workspace


def _write_csv(path, rows, header=("session_id", "model_input", "model_output", "good")):
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_empty_outputs_are_imported_as_real_sessions(tmp_path, cli):
    data = _write_csv(
        tmp_path / "empty.csv", [("a", "q1", "fine", 1), ("b", "q2", "", 0), ("c", "q3", "   ", 0)]
    )
    code, out = cli(["import", data, "-p", "shop", "--db", tmp_path / "w.db"])
    assert code == 0, out
    assert "2 rows with an empty model output" in " ".join(out.split())
    stored = {s.id: s.model_output for s in Workspace(str(tmp_path / "w.db")).sessions("shop")}
    assert stored == {"a": "fine", "b": "", "c": "   "}


BAD_ROWS = [
    ("r1", "q1", "fine", "1"),
    ("r2", "q2", "ok", "maybe"),  # a label that is not good/bad
    ("r3", "q3", "", "0"),  # empty output: valid
    ("r1", "q4", "dup", "1"),  # a duplicate id
    ("r5", "q5", "nul\x00here", "0"),  # a NUL character
    ("r6", "q6", "fine too", "0"),
]


def test_on_error_skip_imports_valid_rows_and_writes_rejects(tmp_path, cli, db_url):
    data = _write_csv(tmp_path / "bad.csv", BAD_ROWS)
    code, out = cli(["import", data, "-p", "shop", "--db", db_url])
    assert code == 1 and "row 2" in out and "maybe" in out
    assert Workspace(db_url).projects() == []  # the default stays all-or-nothing

    rejects = tmp_path / "rejects.jsonl"
    code, out = cli(
        ["import", data, "-p", "shop", "--db", db_url, "--on-error", "skip", "--rejects", rejects]
    )
    assert code == 0, out
    flat = " ".join(out.split())
    assert "3 invalid rows skipped" in flat and "1 rows with an empty model output" in flat
    assert sorted(s.id for s in Workspace(db_url).sessions("shop")) == ["r1", "r3", "r6"]
    lines = sorted((json.loads(line) for line in rejects.read_text().splitlines()), key=lambda r: r["row"])
    assert [(r["row"], r["field"]) for r in lines] == [(2, "good"), (4, "session_id"), (5, "model_output")]
    assert "duplicate id 'r1'" in lines[1]["reason"] and "NUL" in lines[2]["reason"]
    assert lines[0]["record"] == {
        "session_id": "r2",
        "model_input": "q2",
        "model_output": "ok",
        "good": "maybe",
    }


def test_every_row_rejected_is_an_error_not_an_empty_import(tmp_path):
    data = _write_csv(tmp_path / "all-bad.csv", [("x", "q", "a", "perhaps")])
    try:
        read_dataset(data, on_error="skip")
    except Exception as exc:
        assert "every row was rejected" in str(exc) and "row 1" in str(exc)
    else:
        raise AssertionError("expected an error")


def test_train_and_evaluate_use_empty_outputs_and_skip_bad_rows(tmp_path, cli):
    rows = [(f"t{i}", q, a, int(g)) for i, (q, a, g) in enumerate(tiny_examples())]
    rows += [("e1", "Where is my order?", "", 0), ("e2", "Can I return these shoes?", "", 0)]
    rows += [("x1", "Anything?", "whatever", "unsure")]
    data = _write_csv(tmp_path / "train.csv", rows)
    rejects = tmp_path / "train-rejects.jsonl"
    code, out = cli(
        [
            "train",
            data,
            "--out",
            tmp_path / "m",
            "--method",
            "embedding_head",
            "--on-error",
            "skip",
            "--rejects",
            rejects,
        ]
    )
    assert code == 0, out
    flat = " ".join(out.split())
    assert "2 rows with an empty model output" in flat and "1 invalid rows skipped" in flat
    assert json.loads(rejects.read_text())["row"] == len(rows)

    code, out = cli(["evaluate", data, "-m", trained_model_dir(), "--out", tmp_path / "p.jsonl"])
    assert code == 1 and "unsure" in out  # the default refuses the file
    code, out = cli(
        [
            "evaluate",
            data,
            "-m",
            trained_model_dir(),
            "--out",
            tmp_path / "p.jsonl",
            "--on-error",
            "skip",
            "--rejects",
            tmp_path / "ev-rejects.jsonl",
        ]
    )
    assert code == 0, out
    predictions = {p["id"]: p for p in map(json.loads, (tmp_path / "p.jsonl").read_text().splitlines())}
    assert len(predictions) == len(rows) - 1 and {"e1", "e2"} <= set(predictions)
    assert 0.0 <= predictions["e1"]["probability"] <= 1.0
    assert (tmp_path / "ev-rejects.jsonl").read_text().count("\n") == 1


def test_ifeval_reads_jsonl_through_the_one_reader(tmp_path):
    p = tmp_path / "responses.jsonl"
    p.write_text(json.dumps({"prompt": "say hi", "response": "hi\u2028there"}, ensure_ascii=False) + "\n")
    assert load_responses(p) == {"say hi": "hi\u2028there"}
