"""The API's guard rails that need no model: tokens and roles, project isolation, limits, errors."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from _server_support import Env, fake_model_dir, make_env
from judgeloop.server import create_app
from judgeloop.server.services import revoke_token
from judgeloop.server.settings import ServeSettings
from judgeloop.types import Session

OK_ITEM = {"model_input": "Where is my order?", "model_output": "It ships tomorrow."}


def _env(tmp_path, url: str | None = None) -> Env:
    env = make_env(tmp_path, [fake_model_dir(tmp_path / "m1"), fake_model_dir(tmp_path / "m2")], url=url)
    env.ws.add_sessions("shop", [Session(id="s-shop", model_input="q", model_output="a")])
    env.ws.add_sessions("elsewhere", [Session(id="s-else", model_input="q", model_output="a")])
    return env


def _client(env: Env) -> TestClient:
    settings = ServeSettings(max_body_bytes=64 * 1024, max_field_chars=1000, max_batch_items=3)
    return TestClient(create_app(workspace=env.ws, settings=settings), raise_server_exceptions=False)


@pytest.fixture
def env(tmp_path) -> Env:
    return _env(tmp_path)


@pytest.fixture
def client(env: Env) -> TestClient:
    return _client(env)


@pytest.fixture
def any_env(tmp_path, db_url) -> Env:
    """The same workspace on SQLite and on PostgreSQL (skipped when JUDGELOOP_TEST_PG is not set)."""
    return _env(tmp_path, db_url)


ROUTES = [
    ("POST", "/v1/evaluate", OK_ITEM),
    ("POST", "/v1/sessions", OK_ITEM),
    ("POST", "/v1/labels", {"session_id": "s-shop", "good": True}),
    ("GET", "/v1/sessions/s-shop", None),
    ("GET", "/v1/evaluators", None),
    ("POST", "/v1/evaluators/support/promote", {"version": 2, "force": True}),
    ("GET", "/v1/projects/shop/settings", None),
    ("PUT", "/v1/projects/shop/settings", {"sample_rate": 0.5}),
    ("POST", "/v1/tokens/revoke", {"token": "jl_x"}),
]


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_every_route_but_healthz_needs_a_valid_token(client, env, method, path, body):
    assert client.get("/healthz").status_code == 200
    revoked = env.tokens["reviewer"]
    revoke_token(env.ws, revoked)
    for headers in ({}, {"Authorization": "Bearer jl_not-a-token"}, {"Authorization": f"Bearer {revoked}"}):
        r = client.request(method, path, json=body, headers=headers)
        assert r.status_code == 401, (headers, r.text)
        assert r.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/v1/evaluators/support/promote", {"version": 2, "force": True}),
        ("PUT", "/v1/projects/shop/settings", {"sample_rate": 0.5}),
        ("POST", "/v1/evaluate", OK_ITEM),
        ("POST", "/v1/sessions", OK_ITEM),
        ("POST", "/v1/tokens/revoke", {"token": "jl_x"}),
    ],
)
def test_reviewer_tokens_cannot_call_admin_or_service_routes(client, env, method, path, body):
    r = client.request(method, path, json=body, headers=env.auth("reviewer"))
    assert r.status_code == 403
    assert "reviewer" in r.json()["detail"]


def test_service_tokens_cannot_promote_or_change_settings(client, env):
    r = client.post("/v1/evaluators/support/promote", json={"version": 2}, headers=env.auth("service"))
    assert r.status_code == 403
    assert client.put("/v1/projects/shop/settings", json={}, headers=env.auth("service")).status_code == 403
    body = {"token": env.tokens["admin"]}
    revoke = client.post("/v1/tokens/revoke", json=body, headers=env.auth("service"))
    assert revoke.status_code == 403


def test_a_token_sees_only_its_project(any_env):
    env, client = any_env, _client(any_env)
    other = env.auth("other")  # an admin of project "elsewhere"
    assert client.get("/v1/sessions/s-else", headers=other).status_code == 200
    r = client.get("/v1/sessions/s-shop", headers=other)
    assert r.status_code == 404
    assert client.get("/v1/sessions/s-else", headers=env.auth("service")).status_code == 404
    assert (
        client.post("/v1/labels", json={"session_id": "s-shop", "good": True}, headers=other).status_code
        == 404
    )
    assert client.get("/v1/evaluators", headers=other).json() == []
    r = client.post("/v1/evaluate", json={**OK_ITEM, "evaluator": "support"}, headers=other)
    assert r.status_code == 404
    assert "support" not in r.json()["detail"].split("evaluators:")[1]
    assert client.put("/v1/projects/shop/settings", json={}, headers=other).status_code == 404
    assert client.get("/v1/projects/shop/settings", headers=other).status_code == 404
    r = client.post("/v1/evaluators/support/promote", json={"version": 2, "force": True}, headers=other)
    assert r.status_code == 404


def test_a_project_without_a_champion_gets_404_saying_so(client, env):
    r = client.post("/v1/evaluate", json=OK_ITEM, headers=env.auth("other"))
    assert r.status_code == 404
    assert r.json()["detail"] == (
        "project 'elsewhere' has no champion evaluator (evaluators: none yet); "
        "promote one or pass 'evaluator'"
    )


def test_session_ids_may_contain_slashes(client, env):
    env.ws.add_sessions("shop", [Session(id="chat/42/turn/3", model_input="q", model_output="a")])
    assert client.get("/v1/sessions/chat/42/turn/3", headers=env.auth()).json()["id"] == "chat/42/turn/3"


def test_unknown_evaluators_are_404_naming_what_exists(client, env):
    r = client.post("/v1/evaluate", json={**OK_ITEM, "evaluator": "nope"}, headers=env.auth())
    assert r.status_code == 404
    assert r.json()["detail"] == "no evaluator named 'nope' in project 'shop'; evaluators: support"
    r = client.post("/v1/evaluate", json={**OK_ITEM, "evaluator": "support@7"}, headers=env.auth())
    assert r.status_code == 404
    assert "support@1 (champion), support@2 (candidate)" in r.json()["detail"]
    r = client.put(
        "/v1/projects/shop/settings", json={"default_evaluator": "nope"}, headers=env.auth("admin")
    )
    assert r.status_code == 404 and "support" in r.json()["detail"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"model_input": "q", "model_output": ""}, "model_output"),
        ({"model_input": "q", "model_output": "   "}, "model_output"),
        ({"model_input": "q"}, "model_output"),
        ({"model_input": "q" * 1001, "model_output": "a"}, "model_input"),
        ({"model_input": [{"role": "user", "content": "q" * 1001}], "model_output": "a"}, "model_input"),
        ({"model_input": [], "model_output": "a"}, "model_input"),
        ({"model_input": "q", "model_output": "a" * 1001}, "model_output"),
        ({"model_input": "q", "model_output": "a", "metadata": {"x": "y" * 1001}}, "metadata"),
        ({"model_input": "q", "model_output": "a", "surprise": 1}, "surprise"),
        ({"model_input": "q", "model_output": "a", "evaluator": "a@b"}, "evaluator"),
    ],
)
def test_bad_fields_are_422_with_the_field_named(client, env, body, field):
    for path in ("/v1/evaluate", "/v1/sessions"):
        if path == "/v1/sessions" and "evaluator" in body:
            continue
        r = client.post(path, json=body, headers=env.auth())
        assert r.status_code == 422, r.text
        assert r.json()["field"] == field
        assert field in r.json()["detail"]


def test_batch_errors_name_the_row_and_the_size_limit(client, env):
    r = client.post("/v1/evaluate", json=[OK_ITEM, {**OK_ITEM, "model_output": ""}], headers=env.auth())
    assert r.status_code == 422
    assert r.json()["field"] == "model_output" and "row 1" in r.json()["detail"]
    r = client.post("/v1/evaluate", json=[OK_ITEM] * 4, headers=env.auth())
    assert r.status_code == 422 and "at most 3" in r.json()["detail"]
    assert client.post("/v1/evaluate", json=[], headers=env.auth()).status_code == 422
    r = client.post("/v1/labels", json={"session_id": "s-shop"}, headers=env.auth())
    assert r.status_code == 422 and r.json()["field"] == "good"
    r = client.put("/v1/projects/shop/settings", json={"sample_rate": 2}, headers=env.auth("admin"))
    assert r.status_code == 422 and r.json()["field"] == "sample_rate"


def test_bodies_over_the_limit_are_413(client, env):
    big = {"model_input": "q", "model_output": "a" * 70_000}
    r = client.post("/v1/evaluate", json=big, headers=env.auth())
    assert r.status_code == 413 and "limit" in r.json()["detail"]

    def chunks():  # no Content-Length: the limit applies while reading
        for _ in range(10):
            yield b"x" * 10_000

    r = client.post(
        "/v1/sessions", content=chunks(), headers={**env.auth(), "content-type": "application/json"}
    )
    assert r.status_code == 413


def test_errors_carry_no_stack_traces(client, env, monkeypatch):
    from judgeloop.server import services

    def boom(*args, **kwargs):
        raise RuntimeError("secret /internal/path")

    r = client.post("/v1/evaluate", json=OK_ITEM, headers=env.auth())  # fake model dir: cannot load
    assert r.status_code == 503
    assert "support@1 could not be loaded" in r.json()["detail"]
    assert "Traceback" not in r.text
    monkeypatch.setattr(services, "session_detail", boom)
    r = client.get("/v1/sessions/s-shop", headers=env.auth())
    assert r.status_code == 500
    assert r.json() == {"detail": "internal error"}
    r = client.post(
        "/v1/evaluate", content=b"{not json", headers={**env.auth(), "content-type": "application/json"}
    )
    assert r.status_code == 422 and "Traceback" not in r.text


def test_labels_default_the_reviewer_and_come_back_with_ids(any_env):
    env, client = any_env, _client(any_env)
    body = {"session_id": "s-shop", "kind": "likert", "scores": {"helpful": 4}, "failure_tags": ["tone"]}
    r = client.post("/v1/labels", json=body, headers=env.auth("reviewer"))
    assert r.status_code == 201
    label = r.json()
    assert label["id"] >= 1 and label["reviewer"].startswith("token-") and label["scores"] == {"helpful": 4.0}
    r = client.post(
        "/v1/labels", json={"session_id": "s-shop", "good": False, "reviewer": "ana"}, headers=env.auth()
    )
    assert r.json()["reviewer"] == "ana"
    detail = client.get("/v1/sessions/s-shop", headers=env.auth("reviewer")).json()
    assert [x["reviewer"] for x in detail["labels"]] == [label["reviewer"], "ana"]
    assert detail["model_output"] == "a" and detail["verdicts"] == []


def test_settings_round_trip_and_evaluator_list(any_env):
    env, client = any_env, _client(any_env)
    admin = env.auth("admin")
    r = client.put(
        "/v1/projects/shop/settings",
        json={"sample_rate": 0.25, "default_evaluator": "support"},
        headers=admin,
    )
    assert r.status_code == 200
    assert {k: r.json()[k] for k in ("sample_rate", "default_evaluator", "evaluator_in_effect")} == {
        "sample_rate": 0.25,
        "default_evaluator": "support",
        "evaluator_in_effect": "support",
    }
    r = client.put("/v1/projects/shop/settings", json={"default_evaluator": None}, headers=admin)
    assert (r.json()["sample_rate"], r.json()["default_evaluator"]) == (0.25, None)
    assert (
        client.get("/v1/projects/shop/settings", headers=env.auth("reviewer")).json()["sample_rate"] == 0.25
    )
    versions = client.get("/v1/evaluators", headers=env.auth("reviewer")).json()
    assert [(v["ref"], v["status"], v["default"]) for v in versions] == [
        ("support@1", "champion", True),
        ("support@2", "candidate", False),
    ]
    assert versions[0]["metrics"] == {"accuracy": 0.8}


def test_metrics_are_open_by_default_and_can_require_a_token(env):
    open_client = TestClient(create_app(workspace=env.ws))
    r = open_client.get("/metrics")
    assert r.status_code == 200 and "judgeloop_http_requests_total" in r.text
    locked = TestClient(create_app(workspace=env.ws, settings=ServeSettings(metrics_require_token=True)))
    assert locked.get("/metrics").status_code == 401
    assert locked.get("/metrics", headers=env.auth("reviewer")).status_code == 200


def test_token_cli_prints_the_token_last_and_revoke_works(env, capsys):
    from judgeloop.cli import main
    from judgeloop.server.auth import principal_for_token

    main(["token", "create", "--project", "shop", "--role", "admin", "--db", env.url])
    token = capsys.readouterr().out.split()[-1]
    assert principal_for_token(env.ws, token).role == "admin"
    main(["token", "revoke", token, "--db", env.url])
    with pytest.raises(Exception, match="revoked"):
        principal_for_token(env.ws, token)
    with pytest.raises(SystemExit):
        main(["token", "create", "--project", "shop", "--role", "king", "--db", env.url])


def test_a_revoked_token_stops_working_within_the_auth_cache_time(env):
    import time

    client = TestClient(create_app(workspace=env.ws, settings=ServeSettings(auth_cache_s=0.2)))
    headers = env.auth("reviewer")
    assert client.get("/v1/evaluators", headers=headers).status_code == 200
    revoke_token(env.ws, env.tokens["reviewer"])
    time.sleep(0.25)
    assert client.get("/v1/evaluators", headers=headers).status_code == 401
