"""One human-label rule for every reader, and labels that only their author can write.

The rule (judgeloop.store.labels.human_label) is checked through the store on SQLite and PostgreSQL:
what training and the gate read (`labelled_sessions`), what `judgeloop agreement` reports and what the
agreement page shows must agree after undo, re-labelling, adjudication and ties. The API refuses the
forgeries a reviewer token could once make: another reviewer's name, and undo/adjudication flags.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from _server_support import Env, fake_model_dir, make_env
from judgeloop.agreement.reviewers import agreement_report
from judgeloop.review.adjudication import adjudicate
from judgeloop.server import create_app
from judgeloop.store import Workspace
from judgeloop.store.labels import human_label, live_labels
from judgeloop.types import Label, Session, Verdict

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def _label(sid: str, reviewer: str, good: bool | None, minute: int, **kw) -> Label:
    return Label(
        session_id=sid, reviewer=reviewer, good=good, created_at=T0 + timedelta(minutes=minute), **kw
    )


def _undo(ws: Workspace, label: Label, minute: int) -> None:
    """The row the review UI's `u` appends (judgeloop.review.assignments._withdraw): no value, undo_of."""
    from judgeloop.store.tables import LabelRow, SessionRow

    with ws.db() as db:
        row = db.scalars(select(LabelRow).where(LabelRow.id == label.id)).one()
        db.add(
            LabelRow(
                project_id=row.project_id,
                session_pk=row.session_pk,
                reviewer=row.reviewer,
                kind=row.kind,
                failure_tags=[],
                meta={"undo_of": label.id},
                created_at=T0 + timedelta(minutes=minute),
            )
        )
        assert db.scalar(select(SessionRow.uid).where(SessionRow.pk == row.session_pk)) == label.session_id


def _seed(ws: Workspace) -> None:
    ws.add_sessions("p", [Session(id=f"s{i}", model_input=f"q{i}", model_output=f"a{i}") for i in range(6)])
    # s0: ann labels bad, then undoes it -> no label at all.
    first = ws.add_label("p", _label("s0", "ann", False, 0))
    _undo(ws, first, 1)
    # s1: ann labels bad, undoes, then labels good -> good.
    first = ws.add_label("p", _label("s1", "ann", False, 0))
    _undo(ws, first, 1)
    ws.add_label("p", _label("s1", "ann", True, 2))
    # s2: a 1-1 split that a lead's adjudication settles as bad.
    ws.add_label("p", _label("s2", "ann", True, 0))
    ws.add_label("p", _label("s2", "bob", False, 1))
    ws.add_label("p", _label("s2", "ann", True, 2))  # ann again: still one vote
    adjudicate(ws, "p", "lead", "s2", good=False)
    # s3: a 1-1 tie with no adjudication goes to the most recent label (bob's good).
    ws.add_label("p", _label("s3", "ann", False, 0))
    ws.add_label("p", _label("s3", "bob", True, 5))
    # s4: 2-1 majority good, whatever comes last.
    ws.add_label("p", _label("s4", "ann", True, 0))
    ws.add_label("p", _label("s4", "bob", True, 1))
    ws.add_label("p", _label("s4", "cat", False, 2))
    # s5: an undo row that names someone else's label withdraws nothing.
    theirs = ws.add_label("p", _label("s5", "ann", False, 0))
    bobs = ws.add_label("p", _label("s5", "bob", False, 1))
    with ws.db() as db:  # bob's undo row pointing at ann's label
        from judgeloop.store.tables import LabelRow

        db.scalars(select(LabelRow).where(LabelRow.id == bobs.id)).one().meta = {"undo_of": theirs.id}
        db.scalars(select(LabelRow).where(LabelRow.id == bobs.id)).one().good = None


EXPECTED = {"s1": True, "s2": False, "s3": True, "s4": True, "s5": False}


def test_one_label_rule_through_the_store(db_url):
    ws = Workspace(db_url)
    _seed(ws)
    got = {s.id: good for s, good, _ in ws.labelled_sessions("p")}
    assert got == EXPECTED
    by_session: dict[str, list[Label]] = {}
    for lab in ws.labels("p"):
        by_session.setdefault(lab.session_id, []).append(lab)
    assert {sid: human_label(labs) for sid, labs in by_session.items()} == {"s0": None, **EXPECTED}
    stats = ws.stats("p")
    assert (stats["good"], stats["bad"]) == (3, 2)
    assert len(live_labels(by_session["s0"])) == 0


def test_cli_agreement_and_the_agreement_page_give_the_same_kappa(db_url, cli):
    ws = Workspace(db_url)
    _seed(ws)
    # The evaluator says good everywhere but s2 and s5 (both bad by the rule), and s4: 4 of 5 right.
    labels = {"s0": 1, "s1": 1, "s2": 0, "s3": 1, "s4": 0, "s5": 0}
    ws.add_verdicts(
        "p", [Verdict(session_id=s, evaluator="m", version="1", label=v) for s, v in labels.items()]
    )
    code, out = cli(["agreement", "--project", "p", "--evaluator", "m@1", "--json", "--db", db_url])
    assert code == 0, out
    from_cli = json.loads(out)["binary"]
    (from_page,) = agreement_report(ws, "p", n_resamples=100)["evaluators"]
    assert from_page["n"] == from_cli["accuracy"]["n"] == 5
    assert from_page["accuracy"]["value"] == pytest.approx(from_cli["accuracy"]["value"]) == 0.8
    assert from_page["kappa"]["value"] == pytest.approx(from_cli["kappa"]["value"], abs=1e-4)


# --- forgery through POST /v1/labels ---------------------------------------------------------------


@pytest.fixture
def api(tmp_path, db_url) -> tuple[Env, TestClient]:
    from judgeloop.review import users

    env = make_env(tmp_path, [fake_model_dir(tmp_path / "m1")], url=db_url)
    env.ws.add_sessions("shop", [Session(id=f"ns-{i}", model_input="q", model_output="a") for i in range(3)])
    maya = users.add_reviewer(env.ws, "maya", "shop", "admin", "pw-maya-123", lead=True)
    ann = users.add_reviewer(env.ws, "ann", "shop", "reviewer", "pw-ann-1234")
    from judgeloop.server.auth import create_token

    env.tokens["maya"] = create_token(env.ws, "shop", "admin", maya.id)
    env.tokens["ann"] = create_token(env.ws, "shop", "reviewer", ann.id)
    return env, TestClient(create_app(workspace=env.ws), raise_server_exceptions=False)


def _labels(env: Env) -> list[tuple[str, str, bool | None, dict]]:
    return [(x.session_id, x.reviewer, x.good, x.metadata) for x in env.ws.labels("shop")]


def test_a_reviewer_cannot_forge_an_adjudication_or_an_undo(api):
    env, client = api
    real = client.post("/v1/labels", json={"session_id": "ns-0", "good": True}, headers=env.auth("maya"))
    assert real.status_code == 201 and real.json()["reviewer"] == "maya"
    before = _labels(env)
    forged = [
        {"session_id": "ns-1", "good": False, "reviewer": "maya", "metadata": {"adjudication": True}},
        {"session_id": "ns-1", "good": False, "metadata": {"adjudication": True}},
        {"session_id": "ns-0", "good": False, "reviewer": "maya", "metadata": {"undo_of": real.json()["id"]}},
        {"session_id": "ns-0", "metadata": {"undo_of": real.json()["id"]}},
        {"session_id": "ns-1", "good": True, "metadata": {"imported": True}},
    ]
    for body in forged:
        for who in ("ann", "reviewer", "maya", "service"):
            r = client.post("/v1/labels", json=body, headers=env.auth(who))
            assert r.status_code in (403, 422), (who, body, r.text)
    assert _labels(env) == before  # nothing stored


def test_only_an_integration_may_name_another_reviewer(api):
    env, client = api
    for who in ("ann", "reviewer", "maya"):  # user tokens and a plain reviewer token
        r = client.post(
            "/v1/labels", json={"session_id": "ns-2", "good": False, "reviewer": "bob"}, headers=env.auth(who)
        )
        assert r.status_code == 403, (who, r.text)
        assert "caller's name" in r.json()["detail"]
    assert env.ws.labels("shop") == []
    own = client.post("/v1/labels", json={"session_id": "ns-2", "good": True}, headers=env.auth("ann"))
    assert own.status_code == 201 and own.json()["reviewer"] == "ann"
    assert "imported" not in own.json()["metadata"]
    same = client.post(
        "/v1/labels", json={"session_id": "ns-2", "good": True, "reviewer": "ann"}, headers=env.auth("ann")
    )
    assert same.status_code == 201  # naming oneself is fine
    imported = client.post(
        "/v1/labels",
        json={"session_id": "ns-2", "good": False, "reviewer": "Maya Smith"},
        headers=env.auth("service"),
    )
    assert imported.status_code == 201, imported.text
    body = imported.json()
    assert body["reviewer"] == "Maya Smith" and body["metadata"]["imported"] is True
    assert body["metadata"]["imported_by"].startswith("token-")


@pytest.mark.parametrize("name", ["<script>x</script>", "a" * 101, " maya", "maya\n", "o'neil", ""])
def test_reviewer_names_are_validated(api, name):
    env, client = api
    r = client.post(
        "/v1/labels", json={"session_id": "ns-2", "good": True, "reviewer": name}, headers=env.auth("service")
    )
    assert r.status_code == 422, r.text
    assert r.json()["field"] == "reviewer"
    assert env.ws.labels("shop") == []
