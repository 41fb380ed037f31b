from __future__ import annotations

import json

import pytest

from judgeloop.cli import main

SEED = (
    "model_input,model_output,good\n"
    'What\'s your return window?,"You can return items within 30 days, free of charge.",1\n'
    '"Line one\nline two, with comma","He said ""no""",0\n'
    '"[{""role"":""user"",""content"":""hey""}]",Hello!,1\n'
)


def run(args: list[str]) -> int:
    try:
        main(args)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def test_seed_format_round_trips_exactly(db_url, tmp_path, capsys):
    src = tmp_path / "seed.csv"
    src.write_text(SEED, encoding="utf-8")
    assert run(["import", str(src), "--project", "shop", "--db", db_url]) == 0
    out = tmp_path / "back.csv"
    assert run(["export", "--project", "shop", "--db", db_url, "--out", str(out), "--format", "seed"]) == 0
    assert out.read_text(encoding="utf-8") == SEED


def test_seed_export_keeps_google_sheets_true_false(db_url, tmp_path):
    sheets = SEED.replace(",1\n", ",TRUE\n").replace(",0\n", ",FALSE\n")
    assert sheets.count("TRUE") == 2 and sheets.count("FALSE") == 1
    src = tmp_path / "sheet.csv"
    src.write_text(sheets, encoding="utf-8")
    assert run(["import", str(src), "--project", "sheet", "--db", db_url]) == 0
    out = tmp_path / "back.csv"
    assert run(["export", "--project", "sheet", "--db", db_url, "--out", str(out), "--format", "seed"]) == 0
    assert out.read_text(encoding="utf-8") == sheets
    full = tmp_path / "full.jsonl"  # the full export keeps numbers
    assert run(["export", "--project", "sheet", "--db", db_url, "--out", str(full)]) == 0
    assert {json.loads(line)["good"] for line in full.read_text("utf-8").splitlines()} == {0, 1}


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet", ".csv"])
def test_full_export_reimports_into_another_project(db_url, tmp_path, suffix):
    src = tmp_path / "seed.csv"
    src.write_text(SEED, encoding="utf-8")
    run(["import", str(src), "-p", "shop", "--db", db_url])
    out = tmp_path / f"full{suffix}"
    assert run(["export", "-p", "shop", "--db", db_url, "--out", str(out)]) == 0
    assert run(["import", str(out), "-p", "copy", "--db", db_url]) == 0
    back = tmp_path / "copy.csv"
    run(["export", "-p", "copy", "--db", db_url, "--out", str(back), "--format", "seed"])
    assert back.read_text(encoding="utf-8") == SEED


def test_bad_import_exits_non_zero_and_writes_nothing(tmp_path, capsys):
    db = f"sqlite:///{tmp_path / 'x.db'}"
    bad = tmp_path / "bad.csv"
    bad.write_text("model_input,model_output,good\nq,a,1\nq2,a2,perhaps\n", encoding="utf-8")
    assert run(["import", str(bad), "-p", "shop", "--db", db]) == 1
    err = capsys.readouterr().err
    assert "bad.csv" in err and "row 2" in err and "'good'" in err
    assert run(["stats", "-p", "shop", "--db", db]) == 1
    assert "no project named 'shop'" in capsys.readouterr().err


def test_stats_json_and_env_db(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("JUDGELOOP_DB", str(tmp_path / "env.db"))
    src = tmp_path / "seed.csv"
    src.write_text(SEED, encoding="utf-8")
    assert run(["import", str(src), "-p", "shop"]) == 0
    capsys.readouterr()
    assert run(["stats", "-p", "shop", "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert (stats["sessions"], stats["good"], stats["bad"]) == (3, 2, 1)
    assert (tmp_path / "env.db").exists()
