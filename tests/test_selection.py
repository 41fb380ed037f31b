from __future__ import annotations

import pytest
from sqlalchemy import select

from _loop_support import T0, Timed, add_timed, bulk_labels, bulk_sessions
from judgeloop.errors import InvalidInput
from judgeloop.loop.queue_fill import fill_queue
from judgeloop.loop.selection import (
    blend,
    neighbour_tag_scores,
    select_sessions,
    tag_weights,
    uncertainty_priority,
)
from judgeloop.store import Workspace
from judgeloop.store.tables import QueueItemRow, QueueRow, SessionRow
from judgeloop.types import Session

PROBS = {
    "s0": 0.5,
    "s1": 0.5,
    "s2": 0.51,
    "s3": 0.9,
    "s4": 0.45,
    "s5": 0.1,
    "s6": 0.6,
    "s7": 0.35,
    "s8": 0.99,
}


@pytest.fixture
def ws(tmp_path):
    ws = Workspace(f"sqlite:///{tmp_path / 's.db'}")
    bulk_sessions(
        ws, "p", [Session(id=f"s{i}", model_input=f"q{i}", model_output=f"a{i}") for i in range(10)]
    )
    bulk_labels(ws, "p", [("s0", False, []), ("s1", True, [])])
    add_timed(
        ws, "p", [Timed(uid, T0, int(p >= 0.5), evaluator="m", probability=p) for uid, p in PROBS.items()]
    )
    add_timed(ws, "p", [Timed("s3", T0, 0, evaluator="j"), Timed("s5", T0, 0, evaluator="j")])
    with ws.db() as db:  # s2 is already waiting in another queue
        pid = ws.project_id(db, "p")
        q = QueueRow(project_id=pid, name="old")
        db.add(q)
        db.flush()
        pk = db.scalar(select(SessionRow.pk).where(SessionRow.uid == "s2"))
        db.add(QueueItemRow(queue_id=q.id, session_pk=pk))
    return ws


def test_uncertainty_picks_the_closest_to_the_threshold_among_unlabelled_unqueued(ws):
    picks = select_sessions(ws, "p", "uncertainty", 3)
    assert [p[0] for p in picks] == ["s4", "s6", "s7"]
    assert [p[2] for p in picks] == pytest.approx([0.9, 0.8, 0.7])
    assert {p[1] for p in picks} == {"uncertainty"}


def test_uncertainty_without_probabilities_says_what_is_missing(ws):
    with pytest.raises(InvalidInput, match="probability verdicts"):
        select_sessions(ws, "p", "uncertainty", 3, evaluator="j")


def test_disagreement_between_evaluators_and_with_humans(ws):
    picks = {p[0]: p for p in select_sessions(ws, "p", "disagreement", 10, evaluator="m")}
    assert picks["s3"][1] == "disagreement"  # m says good, j says bad; s5 both say bad
    assert picks["s0"][1] == "human-disagreement"  # humans said bad, m said good (p = 0.5)
    assert "s5" not in picks and "s1" not in picks


def test_random_is_seeded_and_only_draws_candidates(ws):
    a = select_sessions(ws, "p", "random", 4, seed=1)
    assert a == select_sessions(ws, "p", "random", 4, seed=1)
    assert {p[0] for p in a} <= {"s3", "s4", "s5", "s6", "s7", "s8", "s9"} and len(a) == 4
    many = {tuple(p[0] for p in select_sessions(ws, "p", "random", 4, seed=s)) for s in range(5)}
    assert len(many) > 1


def test_mixed_blends_strategies_without_duplicates(ws):
    picks = select_sessions(ws, "p", "mixed", 6)
    ids = [p[0] for p in picks]
    assert len(ids) == len(set(ids)) == 6
    reasons = {p[1] for p in picks}
    assert "uncertainty" in reasons and "random" in reasons and "disagreement" in reasons


def test_failure_type_oversamples_neighbours_of_tagged_errors(tmp_path):
    ws = Workspace(f"sqlite:///{tmp_path / 'f.db'}")
    labelled = [
        (
            "r1",
            "How do I get a refund for a damaged order?",
            "Refunds are not possible.",
            False,
            ["refund-policy"],
        ),
        ("r2", "Can I get my money back, refund please", "No refunds ever.", False, ["refund-policy"]),
        ("t1", "Where is my parcel tracking number?", "Check your email for tracking.", True, []),
        ("t2", "Do you ship to Canada?", "Yes, we ship to Canada.", False, ["tone"]),
    ]
    unlabelled = [
        ("u1", "I want a refund for my damaged order", "Refunds take 5 days."),
        ("u2", "What is the tracking number of my parcel?", "It is in your email."),
        ("u3", "Do you sell gift cards?", "Yes."),
    ]
    bulk_sessions(
        ws,
        "p",
        [Session(id=u, model_input=q, model_output=a) for u, q, a, *_ in labelled]
        + [Session(id=u, model_input=q, model_output=a) for u, q, a in unlabelled],
    )
    bulk_labels(ws, "p", [(u, good, tags) for u, _, _, good, tags in labelled])
    # the evaluator passed both refund answers (wrong) and got the shipping one right
    add_timed(ws, "p", [Timed(u, T0, 1, evaluator="m", probability=0.8) for u in ("r1", "r2", "t1")])
    add_timed(ws, "p", [Timed("t2", T0, 0, evaluator="m", probability=0.3)])
    picks = select_sessions(ws, "p", "failure-type", 3, evaluator="m")
    assert picks[0][0] == "u1" and picks[0][1] == "failure-type:refund-policy" and picks[0][2] == 1.0
    assert all(p[2] < 0.5 for p in picks[1:])


def test_fill_queue_creates_then_extends_without_duplicates(ws):
    first = fill_queue(ws, "p", "uncertainty", 2, queue="next")
    assert first.created and first.added == 2 and [i[0] for i in first.items] == ["s4", "s6"]
    second = fill_queue(ws, "p", "uncertainty", 2, queue="next")
    assert not second.created and [i[0] for i in second.items] == ["s7", "s3"]  # queued ones are skipped
    with ws.db() as db:
        rows = db.execute(
            select(SessionRow.uid, QueueItemRow.reason, QueueItemRow.priority, QueueRow.strategy)
            .join(QueueItemRow, QueueItemRow.session_pk == SessionRow.pk)
            .join(QueueRow, QueueRow.id == QueueItemRow.queue_id)
            .where(QueueRow.name == "next")
            .order_by(QueueItemRow.priority.desc())
        ).all()
    assert [r[0] for r in rows] == ["s4", "s6", "s7", "s3"]
    assert {r[1] for r in rows} == {"uncertainty"} and {r[3] for r in rows} == {"uncertainty"}


def test_bad_strategy_and_n_are_refused(ws):
    with pytest.raises(InvalidInput, match="unknown strategy"):
        select_sessions(ws, "p", "smart", 3)
    with pytest.raises(InvalidInput, match="n must be"):
        select_sessions(ws, "p", "random", 0)


def test_pure_rankers():
    assert list(uncertainty_priority([0.5, 0.75, 1.0])) == pytest.approx([1.0, 0.5, 0.0])
    assert tag_weights([["a", "b"], ["a"], ["a", "a"]]) == {"a": 1.0, "b": pytest.approx(1 / 3)}
    import numpy as np

    scores, top = neighbour_tag_scores(np.array([[0.9, 0.1], [0.0, 0.0]]), [["a"], ["b"]], {"a": 1.0}, k=1)
    assert list(scores) == pytest.approx([0.9, 0.0]) and top == ["a", None]
    ranked = {
        "uncertainty": [("x", "uncertainty", 0.9), ("y", "uncertainty", 0.8)],
        "random": [("x", "random", 0.5), ("z", "random", 0.4), ("w", "random", 0.3)],
    }
    picks = blend(ranked, 3, {"uncertainty": 0.5, "random": 0.5})
    assert sorted(p[0] for p in picks) == ["x", "y", "z"]
