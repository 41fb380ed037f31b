"""Eight reviewers work one queue at the same time through a real uvicorn server on 127.0.0.1 and a real
database (a SQLite file; PostgreSQL when JUDGELOOP_TEST_PG is set): no label is lost, no item is assigned
twice to anyone, and every item gets exactly `overlap` reviewers."""

from __future__ import annotations

import threading
from collections import Counter, defaultdict

import httpx

from _review_support import PROJECT, make_review_env
from _server_support import ThreadServer
from judgeloop.review import queues
from judgeloop.review.schemas import QueueIn
from judgeloop.server import create_app
from judgeloop.store.labels import live_labels

REVIEWERS = 8


def _work(
    base: str, token: str, queue_id: int, out: dict[str, list[str]], errors: list[str], name: str
) -> None:
    """One reviewer: next, label, next ... until the queue has nothing left for them."""
    done: list[str] = []
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
        for step in range(200):
            r = client.get(f"/v1/queues/{queue_id}/next")
            if r.status_code != 200:
                errors.append(f"{name} next: {r.status_code} {r.text}")
                return
            item = r.json()
            if item["done"]:
                break
            sid = item["session"]["id"]
            if sid in done:
                errors.append(f"{name} got {sid} twice")
                return
            body = {
                "session_id": sid,
                "good": (step + len(name)) % 3 != 0,
                "duration_ms": 1200,
                "metadata": {"queue_id": queue_id, "assignment_id": item["assignment_id"]},
            }
            r = client.post("/v1/labels", json=body)
            if r.status_code != 201:
                errors.append(f"{name} label: {r.status_code} {r.text}")
                return
            done.append(sid)
    out[name] = done


def test_eight_reviewers_at_once_lose_nothing_and_share_nothing(db_url):
    env = make_review_env(db_url, reviewers=REVIEWERS, n=30)
    queue = queues.create_queue(env.ws, QueueIn(project=PROJECT, name="race", size=30, overlap=2, seed=5))
    out: dict[str, list[str]] = {}
    errors: list[str] = []
    with ThreadServer(create_app(workspace=env.ws)) as server:
        threads = [
            threading.Thread(
                target=_work, args=(server.base, env.tokens[f"r{i}"], queue.id, out, errors, f"r{i}")
            )
            for i in range(REVIEWERS)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        with httpx.Client(
            base_url=server.base, headers={"Authorization": f"Bearer {env.tokens['lead']}"}
        ) as c:
            progress = c.get(f"/v1/queues/{queue.id}").json()
    assert not errors, errors
    assert len(out) == REVIEWERS and sum(len(v) for v in out.values()) == 60
    per_item = Counter(s for got in out.values() for s in got)
    assert len(per_item) == 30 and set(per_item.values()) == {2}
    stored = live_labels(env.ws.labels(PROJECT))
    by_session: dict[str, set[str]] = defaultdict(set)
    for lab in stored:
        by_session[lab.session_id].add(lab.reviewer)
    assert len(stored) == 60 and all(len(v) == 2 for v in by_session.values())  # nothing lost or doubled
    assert progress["done"] == 60 and progress["complete_items"] == 30 and progress["in_progress"] == 0
    assert sum(1 for name in out if out[name]) >= 4  # the work really was shared
    env.ws.close()
