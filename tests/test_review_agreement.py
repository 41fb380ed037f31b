"""Agreement numbers of the review pages against values computed by hand."""

from __future__ import annotations

import pytest

from judgeloop.agreement.reviewers import (
    agreement_report,
    evaluator_vs_human,
    rater_agreement,
    reviewer_stats,
)
from judgeloop.store import Workspace
from judgeloop.store.labels import human_label
from judgeloop.types import Label, Session, Verdict


def test_two_raters_kappa_alpha_and_percent_agreement_by_hand():
    # 4 x (1,1), 1 x (1,0), 1 x (0,1), 4 x (0,0): po = 0.8, pe = 0.5 -> kappa 0.6.
    # Coincidences o11 = o00 = 8, o10 = o01 = 2, n = 20: alpha = 1 - (4/20) / (2*10*10/(20*19)) = 0.62.
    pairs = [(1, 1)] * 4 + [(1, 0), (0, 1)] + [(0, 0)] * 4
    units = {f"s{i}": {"ann": a, "bob": b} for i, (a, b) in enumerate(pairs)}
    out = rater_agreement(units)
    assert out["items"] == 10 and out["reviewers"] == ["ann", "bob"]
    assert out["percent_agreement"] == pytest.approx(0.8)
    assert out["alpha"] == pytest.approx(0.62)
    assert out["pairs"] == [{"a": "ann", "b": "bob", "n": 10, "kappa": pytest.approx(0.6), "agreement": 0.8}]


def test_three_raters_with_a_missing_value_by_hand():
    # Units (1,1,1), (0,0,1), (1,0): o11 = 3, o00 = 1, o01 = o10 = 2, n = 8, n1 = 5, n0 = 3.
    # alpha = 1 - (4/8) / (2*5*3/(8*7)) = 1 - 0.5/0.5357 = 1/15. Percent: (3 + 1 + 0) / (3 + 3 + 1) = 4/7.
    # ann-bob share all three: (1,1), (0,0), (1,0): po = 2/3, pe = 2/3*1/3 + 1/3*2/3 = 4/9 -> kappa 0.4.
    units = {
        "u1": {"ann": 1, "bob": 1, "cat": 1},
        "u2": {"ann": 0, "bob": 0, "cat": 1},
        "u3": {"ann": 1, "bob": 0},
    }
    out = rater_agreement(units)
    assert out["alpha"] == pytest.approx(1 / 15, abs=1e-4)
    assert out["percent_agreement"] == pytest.approx(4 / 7, abs=1e-4)
    ab = next(p for p in out["pairs"] if (p["a"], p["b"]) == ("ann", "bob"))
    assert (ab["n"], ab["kappa"]) == (3, pytest.approx(0.4))
    assert rater_agreement({"only": {"ann": 1}})["alpha"] is None  # nothing to compare is not 'perfect'


def test_evaluator_vs_human_counts_errors_and_gives_cis():
    # human 1,1,0,0 vs evaluator 1,0,0,0: accuracy 0.75; pe = 0.5*0.25 + 0.5*0.75 = 0.5 -> kappa 0.5.
    humans = {"a": True, "b": True, "c": False, "d": False, "e": True}
    verdicts = [Verdict(session_id="a", evaluator="m", version="1", label=0)]  # superseded below
    verdicts += [
        Verdict(session_id=s, evaluator="m", version="1", label=lab)
        for s, lab in zip("abcd", (1, 0, 0, 0), strict=True)
    ]
    verdicts.append(Verdict(session_id="e", evaluator="m", version="1", status="error", error="timeout"))
    verdicts.append(Verdict(session_id="zz", evaluator="m", version="1", label=1))  # no human label
    (row,) = evaluator_vs_human(verdicts, humans, n_resamples=200)
    assert (row["evaluator"], row["compared"], row["errors"], row["n"]) == ("m@1", 5, 1, 4)
    assert row["accuracy"]["value"] == 0.75 and row["kappa"]["value"] == pytest.approx(0.5)
    assert row["accuracy"]["low"] <= 0.75 <= row["accuracy"]["high"]
    assert row["confusion"] == {"tp": 1, "fp": 0, "tn": 2, "fn": 1}


def _lab(sid: str, reviewer: str, good: bool | None = None, **kw) -> Label:
    return Label(session_id=sid, reviewer=reviewer, good=good, **kw)


def test_consensus_ignores_withdrawn_labels_and_follows_adjudication():
    first = _lab("s", "ann", True, id=1)
    undo = Label(id=2, session_id="s", reviewer="ann", metadata={"undo_of": 1})
    assert human_label([first, undo]) is None
    spoof = Label(id=7, session_id="s", reviewer="bob", metadata={"undo_of": 1})
    assert human_label([first, spoof]) is True  # only ann can withdraw ann's label
    votes = [_lab("s", "ann", True, id=3), _lab("s", "bob", False, id=4), _lab("s", "cat", False, id=5)]
    assert human_label(votes) is False
    lead = _lab("s", "lead", True, id=6, metadata={"adjudication": True})
    assert human_label([*votes, lead]) is True


def test_reviewer_stats_median_seconds():
    labels = [_lab("a", "ann", True, duration_ms=d) for d in (1000, 3000, 8000)] + [_lab("a", "bob", False)]
    labels.append(_lab("a", "lead", True, metadata={"adjudication": True}))
    assert reviewer_stats(labels) == [
        {"reviewer": "ann", "labels": 3, "adjudications": 0, "median_seconds": 3.0},
        {"reviewer": "bob", "labels": 1, "adjudications": 0, "median_seconds": None},
        {"reviewer": "lead", "labels": 0, "adjudications": 1, "median_seconds": None},
    ]


def test_agreement_report_from_the_store(tmp_path):
    ws = Workspace(f"sqlite:///{tmp_path / 'a.db'}")
    ws.add_sessions(
        "p", [Session(id=f"s{i}", model_input="q", model_output="a", output_b="b") for i in range(4)]
    )
    for sid, ann, bob in [("s0", True, True), ("s1", True, False), ("s2", False, False)]:
        ws.add_label("p", _lab(sid, "ann", ann, duration_ms=2000))
        ws.add_label("p", _lab(sid, "bob", bob, duration_ms=4000))
    ws.add_label("p", Label(session_id="s3", reviewer="ann", kind="pairwise", choice="A"))
    ws.add_label("p", Label(session_id="s3", reviewer="bob", kind="pairwise", choice="tie"))
    ws.add_label("p", Label(session_id="s3", reviewer="ann", kind="likert", scores={"helpful": 4}))
    ws.add_label("p", Label(session_id="s3", reviewer="bob", kind="likert", scores={"helpful": 5}))
    ws.add_verdicts("p", [Verdict(session_id=s, evaluator="m", label=1) for s in ("s0", "s1", "s2")])
    report = agreement_report(ws, "p", n_resamples=100)
    assert report["binary"]["percent_agreement"] == pytest.approx(2 / 3, abs=1e-4)
    assert report["pairwise"]["items"] == 1 and report["pairwise"]["percent_agreement"] == 0.0
    assert report["likert"]["helpful"]["items"] == 1
    assert [r["median_seconds"] for r in report["reviewers"]] == [2.0, 4.0]
    assert {(d["session_id"], d["kind"]) for d in report["disagreements"]} == {
        ("s1", "binary"),
        ("s3", "pairwise"),
    }
    # s1 is a tie that the store resolves to the latest label (bob: bad); the evaluator says good everywhere
    (ev,) = report["evaluators"]
    assert (ev["n"], ev["accuracy"]["value"]) == (3, pytest.approx(1 / 3, abs=1e-4))
    ws.add_label("p", _lab("s1", "lead", True, metadata={"adjudication": True}))
    after = agreement_report(ws, "p", n_resamples=100)
    assert {d["session_id"] for d in after["disagreements"]} == {"s3"}
    assert after["evaluators"][0]["accuracy"]["value"] == pytest.approx(2 / 3, abs=1e-4)
    ws.close()
