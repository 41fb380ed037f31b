"""Several `judgeloop serve` replicas on one PostgreSQL database, as real processes: a promotion, a
token revocation and a settings change made through one, and a rollback by the CLI, reach the other
within 2 s (measured, with the replicas' own cache expiry set to a minute, so only the change notice
can explain it); a replica killed with SIGKILL while both score a backlog leaves every sampled session
with exactly one verdict; eight reviewers spread over both share no queue item and lose no label. On
SQLite a second server on the same file is refused."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from _server_support import GOOD, Env, free_port, make_env, trained_model_dir
from judgeloop import registry
from judgeloop.server.auth import create_token
from judgeloop.server.scoring import is_sampled
from judgeloop.store.tables import ScoringItemRow, SessionRow, VerdictRow

ITEM = {"model_input": "Where is my order?", "model_output": GOOD[0]}
SLOW_CACHES = {"JUDGELOOP_CHAMPION_REFRESH_S": "60", "JUDGELOOP_AUTH_CACHE_S": "60"}


@dataclass
class Replica:
    proc: subprocess.Popen[str]
    base: str
    log: Path

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(30)
        return self.log.read_text(encoding="utf-8", errors="replace")


def start(url: str, log: Path, **env: str) -> Replica:
    port = free_port()
    handle = log.open("w", encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, "-m", "judgeloop", "serve", "--db", url, "--port", str(port), "--no-access-log"],
        env={**os.environ, **env},
        stdout=handle,
        stderr=subprocess.STDOUT,
        text=True,
    )
    handle.close()
    return Replica(proc, f"http://127.0.0.1:{port}", log)


def wait_healthy(*replicas: Replica, wait_s: float = 180) -> None:
    deadline = time.monotonic() + wait_s
    for r in replicas:
        while True:
            if r.proc.poll() is not None:
                raise AssertionError(f"replica exited:\n{r.log.read_text()}")
            try:
                if httpx.get(f"{r.base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"replica not healthy in {wait_s} s:\n{r.log.read_text()}")
            time.sleep(0.1)


def seen_at(check, wait_s: float = 60) -> float:  # type: ignore[no-untyped-def]
    """The time.monotonic() at which `check()` first holds, polling every ~50 ms; a hang fails after
    wait_s (the caller asserts the measured time, not this guard)."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > wait_s:
            raise AssertionError(f"not seen in {wait_s} s")
        time.sleep(0.05)
    return time.monotonic()


@pytest.fixture(scope="module")
def pair(tmp_path_factory) -> Iterator[tuple[Env, Replica, Replica]]:
    from conftest import _fresh_pg_database

    databases = _fresh_pg_database()  # skipped without JUDGELOOP_TEST_PG (replicas need PostgreSQL)
    url = next(databases)
    tmp = tmp_path_factory.mktemp("replicas")
    model = trained_model_dir()
    env = make_env(tmp, [model, model], url=url)
    a, b = start(url, tmp / "a.log", **SLOW_CACHES), start(url, tmp / "b.log", **SLOW_CACHES)
    try:
        wait_healthy(a, b)
        yield env, a, b
    finally:
        logs = a.stop() + b.stop()
        env.ws.close()
        next(databases, None)
        assert "Traceback" not in logs, logs


def evaluate(replica: Replica, env: Env, **extra: str) -> httpx.Response:
    return httpx.post(f"{replica.base}/v1/evaluate", json={**ITEM, **extra}, headers=env.auth(), timeout=60)


def test_a_promotion_on_one_replica_is_served_by_the_other_within_2_s(pair):
    env, a, b = pair
    for r in (a, b):  # both have both versions loaded: what is measured is the news, not a model load
        assert evaluate(r, env).json()["version"] == "1"
        assert evaluate(r, env, evaluator="support@2").json()["version"] == "2"
    sent = time.monotonic()
    promoted = httpx.post(
        f"{a.base}/v1/evaluators/support/promote",
        json={"version": 2, "force": True},
        headers=env.auth("admin"),
        timeout=60,
    )
    assert promoted.status_code == 200, promoted.text
    seconds = seen_at(lambda: evaluate(b, env).json()["version"] == "2") - sent
    print(f"\npromotion on A -> served by B: {seconds:.3f} s")
    assert seconds <= 2.0


def test_a_token_revoked_on_one_replica_is_refused_by_the_other_within_2_s(pair):
    env, a, b = pair
    token = create_token(env.ws, "shop", "service")
    headers = {"Authorization": f"Bearer {token}"}
    assert httpx.get(f"{b.base}/v1/evaluators", headers=headers).status_code == 200  # B caches it (60 s)
    sent = time.monotonic()
    revoked = httpx.post(
        f"{a.base}/v1/tokens/revoke", json={"token": token}, headers=env.auth("admin"), timeout=60
    )
    assert revoked.status_code == 204, revoked.text
    seconds = (
        seen_at(lambda: httpx.get(f"{b.base}/v1/evaluators", headers=headers, timeout=30).status_code == 401)
        - sent
    )
    print(f"\ntoken revoked on A -> refused by B: {seconds:.3f} s")
    assert seconds <= 2.0
    assert httpx.get(f"{a.base}/v1/evaluators", headers=headers).status_code == 401
    other = httpx.post(  # an admin of another project cannot revoke this project's tokens
        f"{a.base}/v1/tokens/revoke", json={"token": env.tokens["service"]}, headers=env.auth("other")
    )
    assert other.status_code == 404


def test_a_settings_change_on_one_replica_and_a_cli_rollback_reach_the_other_within_2_s(pair):
    env, a, b = pair
    champion = evaluate(b, env).json()["version"]
    other = "1" if champion == "2" else "2"
    for r in (a, b):  # the other version loaded too (see the promotion test)
        assert evaluate(r, env, evaluator=f"support@{other}").status_code == 200
    settings, admin = f"{a.base}/v1/projects/shop/settings", env.auth("admin")
    sent = time.monotonic()
    changed = httpx.put(settings, json={"default_evaluator": f"support@{other}"}, headers=admin)
    assert changed.status_code == 200
    seconds = seen_at(lambda: evaluate(b, env).json()["version"] == other) - sent
    print(f"\ndefault evaluator changed on A -> used by B: {seconds:.3f} s")
    assert seconds <= 2.0
    assert httpx.put(settings, json={"default_evaluator": None}, headers=admin).status_code == 200
    seen_at(lambda: evaluate(b, env).json()["version"] == champion)

    registry.promote(env.ws, f"support@{other}", project="shop", force=True)  # the library, this process
    seen_at(lambda: evaluate(b, env).json()["version"] == other)
    done = subprocess.run(
        [sys.executable, "-m", "judgeloop", "evaluators", "rollback", "support", "--db", env.ws.url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    returned = time.monotonic()
    assert done.returncode == 0, done.stderr
    seconds = seen_at(lambda: evaluate(b, env).json()["version"] == champion) - returned
    print(f"rollback by the CLI -> served by B: {seconds:.3f} s after the CLI returned")
    assert seconds <= 2.0


def _count(env: Env, query) -> int:  # type: ignore[no-untyped-def]
    with env.ws.reader() as db:
        return int(db.scalar(query) or 0)


def test_a_replica_killed_while_scoring_a_backlog_loses_and_repeats_nothing(tmp_path, pg_url):
    env = make_env(tmp_path, [trained_model_dir()], url=pg_url)
    env.ws.update_project_settings("shop", sample_rate=0.5)
    fast = {"JUDGELOOP_SCORING_CLAIM_TIMEOUT_S": "5", "JUDGELOOP_SCORING_POLL_S": "0.2"}
    a, b = start(pg_url, tmp_path / "a.log", **fast), start(pg_url, tmp_path / "b.log", **fast)
    try:
        wait_healthy(a, b)
        started, sampled = time.monotonic(), 0
        for n, start_at in enumerate(range(0, 2000, 200)):  # the backlog, sent to both replicas
            batch = [
                {"session_id": f"bk-{i}", "model_input": f"question {i}", "model_output": f"answer {i}"}
                for i in range(start_at, start_at + 200)
            ]
            r = httpx.post(f"{(a, b)[n % 2].base}/v1/sessions", json=batch, headers=env.auth(), timeout=120)
            assert r.status_code == 201, r.text
            assert r.json()["queued"] == r.json()["sampled"]
            sampled += r.json()["sampled"]
        assert 800 < sampled < 1200
        mine = ScoringItemRow.claimed_by.like(f"%:{a.proc.pid}:%")
        busy = select(func.count()).where(mine, ScoringItemRow.done_at.is_(None))
        done = select(func.count()).where(mine, ScoringItemRow.done_at.is_not(None))
        seen_at(lambda: _count(env, done) > 0 and _count(env, busy) > 0, wait_s=300)  # A mid-batch
        a.proc.send_signal(signal.SIGKILL)
        a.proc.wait(30)
        orphaned = _count(env, busy)
        assert orphaned > 0  # claims A took and never finished: B must take them over
        pending = select(func.count()).where(ScoringItemRow.done_at.is_(None))
        finished = seen_at(lambda: _count(env, pending) == 0, wait_s=600)
        took = finished - started
        by_a = _count(env, done)
        print(f"\n{sampled} sampled sessions scored in {took:.1f} s by two replicas ({by_a} by A before")
        print(f"it was killed holding {orphaned} unfinished claims, taken over by B)")
        assert _count(env, busy) == 0 and _count(env, done) > 0
        with env.ws.reader() as db:
            per_session = dict(
                db.execute(
                    select(SessionRow.uid, func.count(VerdictRow.id))
                    .outerjoin(VerdictRow, VerdictRow.session_pk == SessionRow.pk)
                    .group_by(SessionRow.uid)
                )
                .tuples()
                .all()
            )
        assert len(per_session) == 2000
        wrong = {uid: n for uid, n in per_session.items() if n != (1 if is_sampled(uid, 0.5) else 0)}
        assert not wrong, (
            f"{len(wrong)} sessions with a wrong number of verdicts, e.g. {list(wrong.items())[:5]}"
        )
    finally:
        a.stop()
        assert "Traceback" not in b.stop()
        env.ws.close()


def test_a_second_server_on_one_sqlite_file_is_refused(tmp_path):
    env = make_env(tmp_path, [])  # no model: the servers start fast
    first = start(env.url, tmp_path / "first.log")
    try:
        wait_healthy(first)
        second = subprocess.run(
            [sys.executable, "-m", "judgeloop", "serve", "--db", env.url, "--port", str(free_port())],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert second.returncode == 1
        message = " ".join(second.stderr.split())
        assert f"pid {first.proc.pid}" in message and "is already serving the SQLite database" in message
        assert "PostgreSQL" in message
        first.proc.send_signal(signal.SIGKILL)  # the lock goes with the process, however it ends
        first.proc.wait(30)
        again = start(env.url, tmp_path / "again.log")
        try:
            wait_healthy(again)
        finally:
            again.stop()
    finally:
        first.stop()


def _review(bases: list[str], token: str, queue_id: int, name: str) -> list[str]:
    """One reviewer: next, label, next ... until done, each request to the next replica in turn."""
    done: list[str] = []
    clients = [
        httpx.Client(base_url=b, headers={"Authorization": f"Bearer {token}"}, timeout=60) for b in bases
    ]
    try:
        for step in range(200):
            r = clients[(2 * step) % len(clients)].get(f"/v1/queues/{queue_id}/next")
            assert r.status_code == 200, r.text
            item = r.json()
            if item["done"]:
                return done
            sid = item["session"]["id"]
            assert sid not in done, f"{name} got {sid} twice"
            body = {
                "session_id": sid,
                "good": (step + len(name)) % 3 != 0,
                "metadata": {"queue_id": queue_id, "assignment_id": item["assignment_id"]},
            }
            r = clients[(2 * step + 1) % len(clients)].post("/v1/labels", json=body)
            assert r.status_code == 201, r.text
            done.append(sid)
        raise AssertionError(f"{name} never finished")
    finally:
        for c in clients:
            c.close()


def test_eight_reviewers_on_two_replicas_share_no_item_and_lose_no_label(tmp_path, pg_url):
    from concurrent.futures import ThreadPoolExecutor

    from _review_support import PROJECT, make_review_env
    from judgeloop.review import queues
    from judgeloop.review.schemas import QueueIn
    from judgeloop.store.labels import live_labels

    env = make_review_env(pg_url, reviewers=8, n=30)
    queue = queues.create_queue(env.ws, QueueIn(project=PROJECT, name="race", size=30, overlap=2, seed=5))
    a, b = start(pg_url, tmp_path / "a.log"), start(pg_url, tmp_path / "b.log")
    try:
        wait_healthy(a, b)
        with ThreadPoolExecutor(8) as pool:
            futures = [
                pool.submit(
                    _review, [a.base, b.base][:: 1 if i % 2 else -1], env.tokens[f"r{i}"], queue.id, f"r{i}"
                )
                for i in range(8)
            ]
            out = {f"r{i}": f.result(timeout=300) for i, f in enumerate(futures)}
    finally:
        logs = a.stop() + b.stop()
    assert "Traceback" not in logs, logs
    per_item = Counter(s for got in out.values() for s in got)
    assert len(per_item) == 30 and set(per_item.values()) == {2}  # overlap 2, never one reviewer twice
    stored = live_labels(env.ws.labels(PROJECT))
    assert len(stored) == 60 and len({(x.session_id, x.reviewer) for x in stored}) == 60
    assert sum(1 for got in out.values() if got) >= 4  # the work really was shared
    env.ws.close()
