"""The SQL rankers (`select_sessions`) pick what the reference path (`select_sessions_python`, every row
read into Python) picks, on a randomised store, on SQLite and PostgreSQL."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import select

from _loop_support import T0, Timed, add_timed, bulk_labels, bulk_sessions
from judgeloop.loop.selection import STRATEGIES, sample_pks, select_sessions, select_sessions_python
from judgeloop.store import Workspace
from judgeloop.store.tables import LabelRow, QueueItemRow, QueueRow, SessionRow
from judgeloop.types import Session

TAGS = ["tone", "wrong-fact", "refusal"]


def random_store(ws: Workspace, seed: int, n: int = 160) -> None:
    """Two projects interleaved (gaps in each one's pks); evaluator m with probabilities on two
    thresholds (ties included), j without; repeated verdicts (the latest counts, an error after an ok
    one does not); labels by two reviewers, some tagged; a few sessions queued."""
    rng = random.Random(seed)
    for i in range(n):
        text = f"q {rng.choice(TAGS)} {i}"
        session = Session(id=f"s{i:03d}", model_input=text, model_output=f"a{i % 7}")
        bulk_sessions(ws, "p" if i % 4 else "other", [session])
    ids = [f"s{i:03d}" for i in range(n) if i % 4]
    verdicts = []
    for uid in ids:
        if rng.random() < 0.9:
            p = rng.choice([0.5, 0.3, round(rng.random(), 3), round(rng.random(), 2)])
            t = rng.choice([0.5, 0.5, 0.3, None])
            verdicts.append(Timed(uid, T0, int(p >= (t or 0.5)), evaluator="m", probability=p, threshold=t))
            if rng.random() < 0.1:  # a newer verdict replaces it; an error after it does not
                verdicts.append(Timed(uid, T0, 1, evaluator="m", probability=0.49, threshold=0.5))
            if rng.random() < 0.05:
                verdicts.append(Timed(uid, T0, None, evaluator="m", status="error"))
        if rng.random() < 0.4:
            why = f"sounds like {rng.choice(TAGS)}" if rng.random() < 0.3 else None
            verdicts.append(Timed(uid, T0, rng.randint(0, 1), evaluator="j", rationale=why))
    add_timed(ws, "p", verdicts)
    labelled = rng.sample(ids, len(ids) // 4)
    bulk_labels(ws, "p", [(u, rng.random() < 0.6, rng.sample(TAGS, rng.randint(0, 2))) for u in labelled])
    with ws.db() as db:
        pid = ws.project_id(db, "p")
        q = select(SessionRow.uid, SessionRow.pk).where(SessionRow.project_id == pid)
        pks = dict(db.execute(q).tuples().all())
        for u in rng.sample(labelled, 5):  # a second reviewer: ties and majorities
            db.add(
                LabelRow(
                    project_id=pid, session_pk=pks[u], reviewer="bo", kind="binary", good=rng.random() < 0.5
                )
            )
        queue = QueueRow(project_id=pid, name="old")
        db.add(queue)
        db.flush()
        for u in rng.sample(ids, 8):
            db.add(QueueItemRow(queue_id=queue.id, session_pk=pks[u]))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sql_rankers_pick_what_the_python_path_picks(db_url, seed):
    ws = Workspace(db_url)
    random_store(ws, seed)
    for strategy in STRATEGIES:
        for n in (1, 7, 40):
            for evaluator in (None, "m"):
                want = select_sessions_python(ws, "p", strategy, n, evaluator=evaluator, seed=seed)
                got = select_sessions(ws, "p", strategy, n, evaluator=evaluator, seed=seed)
                assert got == want, (strategy, n, evaluator)
    assert select_sessions(ws, "p", "disagreement", 40, seed=seed)  # the store has some to find
    ws.close()


def test_a_sample_is_uniform_and_falls_back_when_candidates_are_sparse():
    pool = {pk for pk in range(10, 1000) if pk % 10}
    calls = []

    def accept(pks):
        calls.append(len(pks))
        return set(pks) & pool

    got = sample_pks(0, 10, 999, 50, accept, lambda: sorted(pool))
    assert len(got) == len(set(got)) == 50 and set(got) <= pool
    assert len(calls) == 1  # 90% of the range are candidates: one batch of 100 draws is enough
    sparse = sample_pks(0, 0, 10**9, 5, lambda pks: set(pks) & {7, 8}, lambda: [7, 8])
    assert sorted(sparse) == [7, 8]  # not there by drawing: read whole
    counts = {pk: 0 for pk in range(20)}
    for s in range(400):
        for pk in sample_pks(s, 0, 19, 5, lambda pks: set(pks), lambda: list(range(20))):
            counts[pk] += 1
    assert min(counts.values()) > 60 and max(counts.values()) < 140  # 100 expected each
