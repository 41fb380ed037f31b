"""The background-scoring queue and the change notices, in one process against a real database:
claims never overlap (many threads at once), a stale claim is taken over and its first owner can then
store nothing, and a change made in a transaction reaches a listener (NOTIFY) or a poller (the counter)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select, text, update

from judgeloop.server.changes import ChangeWatcher
from judgeloop.store import Workspace, changes, scoring_queue
from judgeloop.store.tables import ScoringItemRow, VerdictRow
from judgeloop.types import Session, Verdict, utcnow


def _queued(ws: Workspace, n: int) -> list[str]:
    ids = [f"s{i}" for i in range(n)]
    ws.add_sessions("shop", [Session(id=i, model_input="q", model_output=f"answer {i}") for i in ids])
    with ws.db() as db:
        assert scoring_queue.add(db, ws.project_id(db, "shop"), ids, max_pending=10_000) == (n, 0)
    return ids


def _verdict(item: scoring_queue.Claimed, who: str) -> Verdict:
    return Verdict(session_id=item.session.id, evaluator="support", version="1", label=1, rationale=who)


def _verdicts_per_session(ws: Workspace) -> Counter[int | None]:
    with ws.reader() as db:
        return Counter(db.scalars(select(VerdictRow.session_pk)))


def test_a_session_is_queued_once_and_the_bound_drops_the_rest(db_url):
    ws = Workspace(db_url)
    ids = _queued(ws, 5)
    with ws.db() as db:
        pid = ws.project_id(db, "shop")
        assert scoring_queue.add(db, pid, ids, max_pending=10_000) == (0, 0)  # already queued
    more = [f"t{i}" for i in range(4)]
    ws.add_sessions("shop", [Session(id=i, model_input="q", model_output=i) for i in more])
    with ws.db() as db:
        assert scoring_queue.add(db, pid, more, max_pending=7) == (2, 2)
    assert scoring_queue.pending(ws) == 7


def test_concurrent_claimers_never_share_an_item(db_url):
    ws = Workspace(db_url)
    ids = _queued(ws, 240)
    taken: list[int] = []
    errors: list[BaseException] = []

    def work(me: str) -> None:
        try:
            while batch := scoring_queue.claim(ws, me, 7, timeout_s=600):
                assert scoring_queue.finish(ws, me, [(c, _verdict(c, me)) for c in batch]) == len(batch)
                taken.extend(c.id for c in batch)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert not errors, errors
    assert len(taken) == len(set(taken)) == len(ids)
    per_session = _verdicts_per_session(ws)
    assert len(per_session) == len(ids) and set(per_session.values()) == {1}
    assert scoring_queue.pending(ws) == 0


def test_a_stale_claim_is_taken_over_and_its_first_owner_stores_nothing(db_url):
    ws = Workspace(db_url)
    _queued(ws, 6)
    first = scoring_queue.claim(ws, "a", 4, timeout_s=60)
    assert [c.session.id for c in first] == ["s0", "s1", "s2", "s3"]
    assert [c.session.id for c in scoring_queue.claim(ws, "b", 10, timeout_s=60)] == ["s4", "s5"]
    assert scoring_queue.claim(ws, "b", 10, timeout_s=60) == []  # all claimed, none stale
    with ws.db() as db:  # "a" went silent two minutes ago
        db.execute(
            update(ScoringItemRow)
            .where(ScoringItemRow.claimed_by == "a")
            .values(claimed_at=utcnow() - timedelta(minutes=2))
        )
    taken = scoring_queue.claim(ws, "c", 10, timeout_s=60)
    assert sorted(c.session.id for c in taken) == ["s0", "s1", "s2", "s3"]
    assert scoring_queue.finish(ws, "a", [(c, _verdict(c, "a")) for c in first]) == 0  # too late
    assert scoring_queue.finish(ws, "c", [(c, _verdict(c, "c")) for c in taken]) == 4
    assert set(_verdicts_per_session(ws).values()) == {1}
    with ws.reader() as db:
        assert set(db.scalars(select(VerdictRow.rationale))) == {"c"}
    assert scoring_queue.pending(ws) == 2  # "b" still holds s4, s5


def _watch(ws: Workspace, poll_s: float) -> tuple[ChangeWatcher, list[tuple[str, float]]]:
    heard: list[tuple[str, float]] = []
    watcher = ChangeWatcher(ws, lambda kind: heard.append((kind, time.monotonic())), poll_s=poll_s)
    watcher.start()
    assert watcher.listening.wait(30), "the listener did not connect"
    return watcher, heard


def _first(heard: list[tuple[str, float]], kind: str, since: float, wait_s: float = 30) -> float:
    deadline = time.monotonic() + wait_s  # a hang guard; the caller asserts the measured time
    while time.monotonic() < deadline:
        for k, at in list(heard):
            if k == kind and at >= since:
                return at - since
        time.sleep(0.01)
    raise AssertionError(f"no {kind!r} change heard in {wait_s} s: {heard}")


def test_a_committed_change_is_heard_at_once_and_a_rolled_back_one_never(pg_url):
    ws = Workspace(pg_url)
    watcher, heard = _watch(ws, poll_s=30)  # a long poll: only NOTIFY can explain a fast answer
    try:
        with pytest.raises(RuntimeError), ws.db() as db:
            changes.announce(db, "tokens")
            raise RuntimeError("rolled back")
        started = time.monotonic()
        with ws.db() as db:
            changes.announce(db, "champion")
        assert _first(heard, "champion", started) <= 0.5
        assert [k for k, _ in heard] == ["champion"]
    finally:
        watcher.close()


def test_a_change_without_a_notice_is_found_by_polling(pg_url):
    ws = Workspace(pg_url)
    watcher, heard = _watch(ws, poll_s=0.2)
    try:
        started = time.monotonic()
        with ws.db() as db:  # as if the NOTIFY were lost: only the counter moves
            db.execute(text("UPDATE changes SET serial = serial + 1 WHERE id = 1"))
        assert _first(heard, "poll", started) <= 2.0
    finally:
        watcher.close()


def test_finishing_part_of_a_claim_renews_the_rest(db_url):
    ws = Workspace(db_url)
    _queued(ws, 6)
    mine = scoring_queue.claim(ws, "a", 4, timeout_s=60)
    with ws.db() as db:  # a slow batch: claimed two minutes ago, still working
        db.execute(update(ScoringItemRow).values(claimed_at=utcnow() - timedelta(minutes=2)))
    assert scoring_queue.finish(ws, "a", [(mine[0], _verdict(mine[0], "a"))]) == 1
    others = scoring_queue.claim(ws, "b", 10, timeout_s=60)
    assert [c.session.id for c in others] == ["s4", "s5"]  # not a's three: their claim was renewed


def test_every_cached_change_announces_itself(pg_url, tmp_path):
    from _server_support import fake_model_dir
    from judgeloop import registry
    from judgeloop.server.auth import create_token
    from judgeloop.server.services import revoke_token

    ws = Workspace(pg_url)
    for n in (1, 2):
        registry.register(ws, "support", fake_model_dir(tmp_path / f"m{n}"), project="shop")
    token = create_token(ws, "shop", "service")
    watcher, heard = _watch(ws, poll_s=30)
    try:
        registry.promote(ws, "support@1", project="shop")
        registry.promote(ws, "support@2", project="shop", force=True)
        registry.rollback(ws, "support")
        ws.update_project_settings("shop", sample_rate=0.5)
        revoke_token(ws, token)
        deadline = time.monotonic() + 30
        while len(heard) < 5 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert [k for k, _ in heard] == ["champion", "champion", "champion", "settings", "tokens"]
    finally:
        watcher.close()


def test_a_change_made_while_the_listener_was_cut_off_is_found_after_it_reconnects(pg_url):
    from judgeloop.store.changes import APPLICATION

    ws = Workspace(pg_url)
    watcher, heard = _watch(ws, poll_s=0.2)
    try:
        with ws.db() as db:
            cut = db.scalar(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE application_name = :app AND datname = current_database()"
                ),
                {"app": APPLICATION},
            )
        assert cut == 1
        started = time.monotonic()
        with ws.db() as db:  # its NOTIFY reaches nobody: the listener is gone
            changes.announce(db, "tokens")
        assert _first(heard, "poll", started) <= 2.0  # re-listened, then found the counter moved
    finally:
        watcher.close()


def test_a_backlog_left_by_a_stopped_server_is_scored_when_a_server_starts(tmp_path, db_url):
    from fastapi.testclient import TestClient

    from _server_support import make_env, trained_model_dir
    from judgeloop.server import create_app

    env = make_env(tmp_path, [trained_model_dir()], url=db_url)
    ids = _queued(env.ws, 20)  # queued with no server running (as if it had stopped)
    scoring_queue.claim(env.ws, "dead-server", 5, timeout_s=60)  # and a claim it never finished
    with env.ws.db() as db:
        db.execute(update(ScoringItemRow).values(claimed_at=utcnow() - timedelta(minutes=5)))
    with TestClient(create_app(workspace=env.ws)) as client:  # starting the app starts its scorer
        assert client.app.state.serve.scorer.wait_idle(120)
    scored = env.ws.verdicts("shop", "support@1")
    assert sorted(v.session_id or "" for v in scored) == sorted(ids)
