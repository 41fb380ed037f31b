"""One vocabulary across the /v1 API: session_id everywhere (id kept as an alias), request schemas in
openapi.json, the settings in effect, and a 409 that speaks the API's terms."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from _server_support import Env, fake_model_dir, make_env
from judgeloop.server import create_app

ITEM = {"model_input": "Where is my order?", "model_output": "It ships tomorrow."}


@pytest.fixture
def env(tmp_path) -> Env:
    return make_env(tmp_path, [fake_model_dir(tmp_path / "m1")])


@pytest.fixture
def client(env: Env):
    with TestClient(create_app(workspace=env.ws)) as c:
        yield c


def test_sessions_take_session_id_and_keep_id_as_an_alias(client, env) -> None:
    r = client.post("/v1/sessions", json={**ITEM, "session_id": "req-1"}, headers=env.auth())
    assert r.status_code == 201, r.text
    assert r.json()["sessions"] == [{"session_id": "req-1", "id": "req-1", "sampled": False}]
    r = client.post("/v1/sessions", json=[{**ITEM, "id": "req-2"}], headers=env.auth())
    assert r.status_code == 201 and r.json()["sessions"][0]["session_id"] == "req-2"
    for sid in ("req-1", "req-2"):
        assert client.get(f"/v1/sessions/{sid}", headers=env.auth()).json()["id"] == sid
    both = {**ITEM, "session_id": "a", "id": "b"}
    r = client.post("/v1/sessions", json=both, headers=env.auth())
    assert r.status_code == 422 and "differ" in r.json()["detail"]
    same = {**ITEM, "session_id": "req-3", "id": "req-3"}
    assert client.post("/v1/sessions", json=same, headers=env.auth()).status_code == 201


def test_openapi_describes_every_request_body(client) -> None:
    spec = client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    assert {"session_id", "id", "model_input", "model_output"} <= set(schemas["SessionIn"]["properties"])
    assert {"session_id", "evaluator", "record"} <= set(schemas["EvaluateIn"]["properties"])
    for path, model in (("/v1/sessions", "SessionIn"), ("/v1/evaluate", "EvaluateIn")):
        body = spec["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
        refs = [body["anyOf"][0]["$ref"], body["anyOf"][1]["items"]["$ref"]]
        assert refs == [f"#/components/schemas/{model}"] * 2
    for path, method in (("/v1/labels", "post"), ("/v1/projects/{project}/settings", "put")):
        assert "$ref" in spec["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
    missing = [
        name
        for name, s in schemas.items()
        for ref in _refs(s)
        if ref.removeprefix("#/components/schemas/") not in schemas
    ]
    assert not missing


def _refs(node: object) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def test_settings_are_the_ones_in_effect(client, env) -> None:
    r = client.get("/v1/projects/shop/settings", headers=env.auth("reviewer"))
    assert r.status_code == 200
    got = r.json()
    assert got["sample_rate"] == 0.0 and got["default_evaluator"] is None
    assert got["evaluator_in_effect"] == "support" and got["failure_tags"] == []
    r = client.put("/v1/projects/shop/settings", json={"sample_rate": 0.25}, headers=env.auth("admin"))
    assert r.status_code == 200 and r.json()["sample_rate"] == 0.25 and r.json()["default_evaluator"] is None
    assert client.get("/v1/projects/shop/settings", headers=env.auth()).json()["sample_rate"] == 0.25
