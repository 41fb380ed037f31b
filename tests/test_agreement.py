from __future__ import annotations

import pytest

from judgeloop.agreement.evaluators import evaluator_agreement
from judgeloop.cli import main
from judgeloop.store import Workspace
from judgeloop.types import Label, Session, Verdict


@pytest.fixture
def ws(tmp_path):
    ws = Workspace(f"sqlite:///{tmp_path / 'a.db'}")
    sessions = ws.add_sessions("p", [Session(model_input=f"q{i}", model_output=f"a{i}") for i in range(20)])
    for i, s in enumerate(sessions):
        ws.add_label("p", Label(session_id=s.id or "", reviewer="ana", good=i < 10))
        ws.add_label(
            "p",
            Label(
                session_id=s.id or "",
                reviewer="ben",
                kind="likert",
                scores={"accuracy": 5 if i < 10 else 1 + i % 3},
            ),
        )
    return ws, sessions


def test_binary_agreement_counts_errors_instead_of_dropping(ws):
    ws, sessions = ws
    verdicts = [
        Verdict(
            session_id=s.id,
            evaluator="judge",
            label=int(i < 10) if i != 3 else 0,
            scores={"accuracy": 5 if i < 10 else 2},
            score=1.0 if i < 10 else 0.2,
        )
        for i, s in enumerate(sessions)
    ]
    verdicts[19] = Verdict(session_id=sessions[19].id, evaluator="judge", status="error", error="bad json")
    ws.add_verdicts("p", verdicts)
    r = evaluator_agreement(ws, "p", "judge", n_resamples=200)
    assert (r["compared"], r["errors"]) == (20, 1)
    assert r["binary"]["accuracy"]["value"] == pytest.approx(18 / 19)
    assert r["binary"]["accuracy_errors_as_wrong"] == pytest.approx(18 / 20)
    assert r["criteria"]["accuracy"]["spearman"]["value"] > 0.8
    assert r["score_vs_good"]["spearman"]["value"] > 0.8


def test_latest_verdict_per_session_wins(ws):
    ws, sessions = ws
    ws.add_verdicts("p", [Verdict(session_id=s.id, evaluator="m", label=0) for s in sessions])
    ws.add_verdicts(
        "p", [Verdict(session_id=s.id, evaluator="m", label=int(i < 10)) for i, s in enumerate(sessions)]
    )
    r = evaluator_agreement(ws, "p", "m", n_resamples=100)
    assert r["binary"]["accuracy"]["value"] == 1.0 and r["binary"]["kappa"]["value"] == 1.0


def test_cli_agreement_json(ws, capsys):
    import json

    ws_, sessions = ws
    ws_.add_verdicts("p", [Verdict(session_id=s.id, evaluator="m", label=1) for s in sessions])
    try:
        main(["agreement", "--evaluator", "m", "--project", "p", "--db", ws_.url, "--json"])
    except SystemExit as exc:
        assert exc.code in (0, None)
    report = json.loads(capsys.readouterr().out)
    assert report["binary"]["accuracy"]["value"] == pytest.approx(0.5)
    assert report["binary"]["kappa"]["value"] == pytest.approx(0.0)
