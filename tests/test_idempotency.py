"""`Idempotency-Key` on POST /v1/labels and POST /v1/sessions: a retry gets the first response and
stores nothing new, on SQLite and PostgreSQL, also when the retries race each other."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from fastapi.testclient import TestClient

from _server_support import Env, ThreadServer, make_env
from judgeloop.server import create_app
from judgeloop.server.settings import ServeSettings
from judgeloop.types import Session

LABEL = {"session_id": "s1", "good": False, "comment": "rude"}


@pytest.fixture
def env(tmp_path, db_url) -> Env:
    e = make_env(tmp_path, [], url=db_url)
    e.ws.add_sessions("shop", [Session(id="s1", model_input="q", model_output="a")])
    return e


def _client(env: Env, **settings) -> TestClient:
    return TestClient(create_app(workspace=env.ws, settings=ServeSettings(**settings)))


def test_a_retried_label_is_stored_once_and_gets_the_first_response(env):
    with _client(env) as client:
        headers = {**env.auth("reviewer"), "Idempotency-Key": "label-1"}
        first = client.post("/v1/labels", json=LABEL, headers=headers)
        again = client.post("/v1/labels", json=LABEL, headers=headers)
        assert first.status_code == again.status_code == 201
        assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
        assert "Idempotent-Replayed" not in first.headers
        assert len(env.ws.labels("shop")) == 1

        other = client.post("/v1/labels", json={**LABEL, "good": True}, headers=headers)
        assert other.status_code == 409 and "different request" in other.json()["detail"]
        scoped = client.post(  # another caller's key space
            "/v1/labels", json=LABEL, headers={**env.auth("admin"), "Idempotency-Key": "label-1"}
        )
        assert scoped.status_code == 201 and scoped.json()["id"] != first.json()["id"]
        plain = [client.post("/v1/labels", json=LABEL, headers=env.auth("reviewer")) for _ in range(2)]
        assert {r.status_code for r in plain} == {201}  # without a key labels stay append-only
        assert len(env.ws.labels("shop")) == 4
        bad = client.post("/v1/labels", json=LABEL, headers={**env.auth(), "Idempotency-Key": "a b"})
        assert bad.status_code == 422 and bad.json()["field"] == "Idempotency-Key"


def test_a_retried_session_log_replays_and_queues_nothing_new(env):
    env.ws.update_project_settings("shop", sample_rate=1.0)
    with _client(env) as client:
        body = [{"id": "t1", "model_input": "q", "model_output": "b"}]
        headers = {**env.auth(), "Idempotency-Key": "batch-7"}
        first = client.post("/v1/sessions", json=body, headers=headers)
        queue = client.app.state.serve.scorer.queue
        calls: list[int] = []
        client.app.state.serve.scorer.queue = lambda *a, **k: calls.append(1) or (0, 0)  # type: ignore[method-assign]
        again = client.post("/v1/sessions", json=body, headers=headers)
        client.app.state.serve.scorer.queue = queue  # type: ignore[method-assign]
        assert first.status_code == again.status_code == 201 and again.json() == first.json()
        assert first.json()["sampled"] == 1 and calls == []
        changed = client.post("/v1/sessions", json=[{**body[0], "model_output": "c"}], headers=headers)
        assert changed.status_code == 409
    assert sorted(s.id for s in env.ws.sessions("shop")) == ["s1", "t1"]


def test_racing_retries_store_one_label(env):
    with ThreadServer(create_app(workspace=env.ws)) as server:
        headers = {**env.auth("reviewer"), "Idempotency-Key": "race-1"}

        def send(_: int) -> httpx.Response:
            return httpx.post(f"{server.base}/v1/labels", json=LABEL, headers=headers, timeout=60)

        with ThreadPoolExecutor(8) as pool:
            responses = list(pool.map(send, range(16)))
    assert {r.status_code for r in responses} == {201}, [r.text for r in responses if r.status_code != 201]
    assert len({r.json()["id"] for r in responses}) == 1
    assert len(env.ws.labels("shop")) == 1


def test_the_key_is_written_with_the_label_or_not_at_all(env, monkeypatch):
    from judgeloop.server import idempotency

    def fail(self, db, status, response):
        raise RuntimeError("crash between the label and its key")

    with TestClient(create_app(workspace=env.ws), raise_server_exceptions=False) as client:
        headers = {**env.auth("reviewer"), "Idempotency-Key": "atomic-1"}
        monkeypatch.setattr(idempotency.Claim, "remember", fail)
        assert client.post("/v1/labels", json=LABEL, headers=headers).status_code == 500
        assert env.ws.labels("shop") == []  # the label rolled back with its key
        monkeypatch.undo()
        assert client.post("/v1/labels", json=LABEL, headers=headers).status_code == 201
        assert len(env.ws.labels("shop")) == 1


def test_keys_are_forgotten_after_their_time(env):
    with _client(env, idempotency_ttl_s=0.3) as client:
        headers = {**env.auth("reviewer"), "Idempotency-Key": "short"}
        first = client.post("/v1/labels", json=LABEL, headers=headers)
        time.sleep(0.6)
        later = client.post("/v1/labels", json=LABEL, headers=headers)
        assert later.status_code == 201 and later.json()["id"] != first.json()["id"]
