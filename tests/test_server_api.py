"""The /v1 API against a real trained evaluator (TestClient): guardrail, traffic logging, promotion."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from _server_support import GOOD, Env, make_env, model_copy, trained_model_dir
from judgeloop import registry
from judgeloop.server import create_app
from judgeloop.server.scoring import is_sampled
from judgeloop.server.settings import ServeSettings

RESULT_KEYS = {
    "label",
    "probability",
    "threshold",
    "evaluator",
    "version",
    "latency_ms",
    "session_id",
    "needs_review",
    "stage",
}
GOOD_ITEM = {"model_input": "Where is my order?", "model_output": GOOD[0]}
BAD_ITEM = {"model_input": "Where is my order?", "model_output": "Not my problem."}


@pytest.fixture
def env(tmp_path) -> Env:
    model = trained_model_dir()
    return make_env(tmp_path, [model, model, model_copy(tmp_path / "banded", review_band=[0.0, 1.0])])


@pytest.fixture
def client(env: Env):
    app = create_app(workspace=env.ws, settings=ServeSettings(champion_refresh_s=0.2))
    with TestClient(app) as c:
        yield c


def test_evaluate_one_and_a_batch_with_the_champion(client, env):
    r = client.post("/v1/evaluate", json=GOOD_ITEM, headers=env.auth())
    assert r.status_code == 200, r.text
    one = r.json()
    assert set(one) == RESULT_KEYS
    assert (one["evaluator"], one["version"], one["session_id"], one["needs_review"]) == (
        "support",
        "1",
        None,
        False,
    )
    assert 0 <= one["probability"] <= 1 and one["label"] == int(one["probability"] >= one["threshold"])
    assert one["latency_ms"] > 0
    r = client.post("/v1/evaluate", json=[GOOD_ITEM, BAD_ITEM, GOOD_ITEM], headers=env.auth())
    many = r.json()
    assert [set(x) for x in many] == [RESULT_KEYS] * 3
    assert many[0]["probability"] == pytest.approx(one["probability"], abs=1e-5)
    assert many[0]["probability"] > many[1]["probability"]  # trained on these: helpful beats rude
    chat = {"model_input": [{"role": "user", "content": "Where is my order?"}], "model_output": GOOD[0]}
    assert client.post("/v1/evaluate", json=chat, headers=env.auth()).status_code == 200


def test_pinned_versions_recording_and_review_band(client, env):
    r = client.post(
        "/v1/evaluate",
        json={
            **BAD_ITEM,
            "evaluator": "support@2",
            "record": True,
            "session_id": "req-1",
            "metadata": {"app": "x"},
        },
        headers=env.auth(),
    )
    body = r.json()
    assert (body["version"], body["session_id"]) == ("2", "req-1")
    detail = client.get("/v1/sessions/req-1", headers=env.auth()).json()
    assert detail["metadata"] == {"app": "x"} and detail["source"] == "api:evaluate"
    [verdict] = detail["verdicts"]
    assert verdict["probability"] == pytest.approx(body["probability"]) and verdict["version"] == "2"
    banded = client.post(
        "/v1/evaluate", json={**GOOD_ITEM, "evaluator": "support@3"}, headers=env.auth()
    ).json()
    assert banded["needs_review"] is True
    metrics = client.get("/metrics").text
    assert 'judgeloop_needs_review_total{evaluator="support"} 1.0' in metrics


def test_the_default_evaluator_setting_picks_among_champions(client, env, tmp_path):
    registry.register(env.ws, "strict", trained_model_dir(), project="shop")
    registry.promote(env.ws, "strict@1", project="shop")
    r = client.post("/v1/evaluate", json=GOOD_ITEM, headers=env.auth())
    assert r.status_code == 409 and "strict, support" in r.json()["detail"]
    admin = env.auth("admin")
    assert (
        client.put(
            "/v1/projects/shop/settings", json={"default_evaluator": "strict"}, headers=admin
        ).status_code
        == 200
    )
    assert client.post("/v1/evaluate", json=GOOD_ITEM, headers=env.auth()).json()["evaluator"] == "strict"
    client.put("/v1/projects/shop/settings", json={"default_evaluator": "support@2"}, headers=admin)
    assert client.post("/v1/evaluate", json=GOOD_ITEM, headers=env.auth()).json()["version"] == "2"
    defaults = [v["ref"] for v in client.get("/v1/evaluators", headers=admin).json() if v["default"]]
    assert defaults == ["support@2"]


@pytest.fixture
def any_client(tmp_path, db_url):
    """A client on SQLite and on PostgreSQL (skipped when JUDGELOOP_TEST_PG is not set)."""
    env = make_env(tmp_path, [trained_model_dir()], url=db_url)
    with TestClient(create_app(workspace=env.ws)) as c:
        yield c, env


def test_logged_sessions_are_stored_and_a_sampled_share_scored_in_the_background(any_client):
    client, env = any_client
    admin = env.auth("admin")
    assert (
        client.put("/v1/projects/shop/settings", json={"sample_rate": 0.5}, headers=admin).status_code == 200
    )
    items = [{"id": f"prod-{i}", **(GOOD_ITEM if i % 2 else BAD_ITEM)} for i in range(20)]
    r = client.post("/v1/sessions", json=items, headers=env.auth())
    assert r.status_code == 201
    body = r.json()
    expected = {f"prod-{i}" for i in range(20) if is_sampled(f"prod-{i}", 0.5)}
    assert body["stored"] == 20 and {s["id"] for s in body["sessions"] if s["sampled"]} == expected
    assert body["sampled"] == body["queued"] == len(expected) > 0
    assert client.app.state.serve.scorer.wait_idle(30)
    scored = {v.session_id for v in env.ws.verdicts("shop", "support@1")}
    assert scored == expected
    one = client.post(
        "/v1/sessions", json={"model_input": "q", "model_output": "a"}, headers=env.auth()
    ).json()
    assert one["stored"] == 1
    metrics = client.get("/metrics").text
    assert f'judgeloop_sampled_sessions_total{{outcome="scored"}} {float(len(expected))}' in metrics
    assert (
        'judgeloop_verdicts_total{evaluator="support",label="good",source="sampled",version="1"}' in metrics
    )


def test_promotion_through_the_api_serves_the_new_champion_at_once(client, env):
    assert client.post("/v1/evaluate", json=GOOD_ITEM, headers=env.auth()).json()["version"] == "1"
    r = client.post("/v1/evaluators/support/promote", json={"version": 2}, headers=env.auth("admin"))
    detail = r.json()["detail"]
    assert r.status_code == 409 and "label more sessions or force the promotion" in detail
    assert 'send "force": true to override' in detail and "--force" not in detail
    r = client.post(
        "/v1/evaluators/support/promote", json={"version": 2, "force": True}, headers=env.auth("admin")
    )
    assert r.status_code == 200 and r.json()["champion"] == "support@2"
    assert client.post("/v1/evaluate", json=GOOD_ITEM, headers=env.auth()).json()["version"] == "2"
    statuses = {v["ref"]: v["status"] for v in client.get("/v1/evaluators", headers=env.auth()).json()}
    assert statuses == {"support@1": "retired", "support@2": "champion", "support@3": "candidate"}
    metrics = client.get("/metrics").text
    assert 'judgeloop_model_swaps_total{evaluator="support"} 1.0' in metrics
    assert 'judgeloop_evaluation_duration_seconds_count{evaluator="support",version="2"} 1.0' in metrics
    assert 'judgeloop_http_requests_total{method="POST",route="/v1/evaluate",status="200"} 2.0' in metrics
