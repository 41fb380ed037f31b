"""Bad files get one clear line naming the file, the row or line, and what to do: a deeply nested JSON
line, an unbalanced quote in a CSV, and an empty or truncated model.onnx."""

from __future__ import annotations

import json
import shutil

import pytest

from _server_support import trained_model_dir
from judgeloop.errors import InvalidInput
from judgeloop.io import read_dataset


def test_a_deeply_nested_jsonl_line_names_the_row(tmp_path, cli):
    p = tmp_path / "deep.jsonl"
    deep = "[" * 100_000 + "]" * 100_000
    p.write_text(
        '{"model_input": "q", "model_output": "a"}\n'
        + f'{{"model_input": "q", "model_output": "a", "x": {deep}}}\n'
    )
    with pytest.raises(InvalidInput, match=r"deep.jsonl, row 2: JSON nested more than 100 levels"):
        read_dataset(p)
    code, out = cli(["import", p, "-p", "x", "--db", tmp_path / "w.db"])
    assert code == 1 and "row 2" in out and "Traceback" not in out
    whole = tmp_path / "deep.json"
    whole.write_text(deep)
    with pytest.raises(InvalidInput, match="deep.json: JSON nested more than 100 levels"):
        read_dataset(whole)


def test_moderate_nesting_and_brackets_in_strings_still_import(tmp_path):
    p = tmp_path / "ok.jsonl"
    nested = "[" * 50 + "1" + "]" * 50
    p.write_text(json.dumps({"model_input": "[" * 500, "model_output": "a", "x": json.loads(nested)}) + "\n")
    row = read_dataset(p).rows[0]
    assert row.session.model_input == "[" * 500 and row.session.metadata["x"] == json.loads(nested)


def test_an_unbalanced_quote_names_the_line_where_it_opens(tmp_path, cli):
    p = tmp_path / "quote.csv"
    p.write_text('model_input,model_output,good\nq1,a1,1\nq2,"a2 oops,0\nq3,a3,1\nq4,a4,0\n')
    with pytest.raises(InvalidInput, match=r"line 3: a quoted cell opened on line 3 is never closed"):
        read_dataset(p)
    code, out = cli(["import", p, "-p", "x", "--db", tmp_path / "w.db"])
    assert code == 1 and "line 3" in out and "row 0" not in out


@pytest.mark.parametrize("damage", ["empty", "truncated"])
def test_a_broken_model_onnx_names_the_file_and_export_onnx(tmp_path, cli, damage):
    model = tmp_path / "model"
    shutil.copytree(trained_model_dir(), model)
    onnx_name = json.loads((model / "judgeloop.json").read_text())["onnx"]
    onnx = model / onnx_name
    data = onnx.read_bytes()
    onnx.write_bytes(b"" if damage == "empty" else data[: len(data) // 3])
    sessions = tmp_path / "s.csv"
    sessions.write_text("model_input,model_output\nWhere is my order?,It ships tomorrow.\n")
    code, out = cli(["evaluate", sessions, "-m", model])
    assert code == 1 and "Traceback" not in out
    flat = " ".join(out.split())
    assert onnx_name in flat and "judgeloop export-onnx" in flat
    assert ("empty" if damage == "empty" else "truncated or corrupt") in flat
