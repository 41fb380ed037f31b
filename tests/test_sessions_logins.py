"""Browser sessions end on the server (sign-out, password change, removal), sign-in is throttled per
account and per address with a lock an admin can lift, admin pages answer 403 to signed-in reviewers,
and the API docs follow the production switch."""

from __future__ import annotations

import logging
import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from _review_support import PASSWORD, PROJECT, ReviewEnv, make_review_env, sign_in
from judgeloop.review import throttle, users
from judgeloop.server import create_app
from judgeloop.server.settings import ServeSettings


@pytest.fixture
def env(db_url) -> ReviewEnv:
    return make_review_env(db_url, reviewers=2, n=6)


@pytest.fixture
def client(env, monkeypatch):
    monkeypatch.setenv("JUDGELOOP_SECRET_KEY", "test-secret-key-for-sessions")
    with TestClient(create_app(workspace=env.ws)) as c:
        yield c


def _login_token(client: TestClient) -> str:
    found = re.search(r'name="login_token" value="([^"]+)"', client.get("/review/login").text)
    assert found
    return found.group(1)


def _try(client: TestClient, name: str, password: str, headers: dict[str, str] | None = None):
    data = {"name": name, "password": password, "login_token": _login_token(client), "next": "/review"}
    return client.post("/review/login", data=data, follow_redirects=False, headers=headers)


def _signed_in(client: TestClient) -> bool:
    return client.get("/review", follow_redirects=False).status_code == 200


def test_a_captured_cookie_stops_working_after_sign_out(client):
    csrf = sign_in(client, "r0")
    captured = client.cookies["jl_session"]
    assert client.post("/review/logout", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
    client.cookies.clear()
    client.cookies.set("jl_session", captured)  # the attacker replays the old cookie
    assert not _signed_in(client)
    api = client.get("/v1/queues", headers={"X-Judgeloop-Project": PROJECT})
    assert api.status_code == 401


def test_password_change_and_removal_end_sessions_and_tokens(client, env):
    sign_in(client, "r0")
    assert _signed_in(client)
    users.add_reviewer(env.ws, "r0", PROJECT, "reviewer", "another-password-1")
    assert not _signed_in(client)

    other = TestClient(client.app)
    sign_in(other, "r1")
    token = {"Authorization": f"Bearer {env.tokens['r1']}"}
    assert client.get("/v1/queues", headers=token).status_code == 200
    users.remove_member(env.ws, "r1", PROJECT)
    client.app.state.token_cache.forget()  # the cache keeps a token for up to JUDGELOOP_AUTH_CACHE_S
    assert not _signed_in(other)
    assert client.get("/v1/queues", headers=token).status_code == 401
    assert all(name != "r1" for name, _ in users.members(env.ws, PROJECT))


def test_account_lock_answers_429_with_retry_after_and_an_admin_clears_it(client, env, caplog, cli):
    caplog.set_level(logging.WARNING, logger="judgeloop.server.review")
    statuses = [_try(client, "r0", f"wrong-password-{i}").status_code for i in range(20)]
    first = statuses.index(429)
    assert first < 20 and set(statuses[:first]) == {401} and set(statuses[first:]) == {429}
    locked = _try(client, "r0", PASSWORD)  # the right password does not get in while locked
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0
    assert "too many failed sign-ins" in locked.text
    assert sum("failed sign-in for 'r0'" in r.getMessage() for r in caplog.records) == first + 1
    assert "refused (locked)" in caplog.text
    other = _try(client, "r1", PASSWORD, headers=None)  # another account from the same address...
    assert other.status_code == 303  # ...is not locked by r0's count (10 of the address's 20)

    code, out = cli(["reviewer", "unlock", "--db", env.ws.url])
    assert code == 0 and "account:r0" in out
    throttle.clear(env.ws, address="testclient")
    code, out = cli(["reviewer", "unlock", "r0", "--db", env.ws.url])
    assert code == 0 and "cleared 1 lock" in out
    assert _try(client, "r0", PASSWORD).status_code == 303


def test_address_lock_catches_spraying_many_names(client, env):
    statuses = [_try(client, f"ghost{i}", "wrong-password").status_code for i in range(20)]
    assert statuses[-1] == 429 and statuses.count(429) >= 1
    assert _try(client, "r0", PASSWORD).status_code == 429  # the address is locked for everyone
    assert any(s.key == "address:testclient" for s in throttle.locks(env.ws))


def test_parallel_guessing_is_locked_by_the_20th_failure(client):
    def guess(i: int) -> int:
        with TestClient(client.app) as c:
            return _try(c, "r1", f"bad-guess-{i}").status_code

    with ThreadPoolExecutor(4) as pool:
        statuses = list(pool.map(guess, range(24)))
    assert statuses.count(401) < 20 and statuses.count(429) >= 4


def test_the_admin_page_unlocks_and_removes_members(client, env):
    for i in range(10):
        _try(client, "r1", f"nope-{i}")
    assert any(s.key == "account:r1" for s in throttle.locks(env.ws))
    throttle.clear(env.ws, address="testclient")
    csrf = sign_in(client, "lead")
    page = client.get(f"/review/admin?project={PROJECT}")
    assert page.status_code == 200 and "Unlock" in page.text
    r = client.post(f"/review/admin/{PROJECT}/unlock", data={"csrf_token": csrf, "name": "r1"})
    assert r.status_code == 200 and "r1 may sign in again" in r.text
    assert not throttle.locks(env.ws)
    r = client.post(f"/review/admin/{PROJECT}/remove", data={"csrf_token": csrf, "name": "r1"})
    assert r.status_code == 200 and "removed" in r.text
    assert all(name != "r1" for name, _ in users.members(env.ws, PROJECT))


def test_reviewer_cookie_on_admin_pages_is_403(client):
    csrf = sign_in(client, "r0")
    assert client.get("/review/admin").status_code == 403
    assert client.get(f"/review/projects/{PROJECT}/export").status_code == 403
    r = client.post(f"/review/admin/{PROJECT}/unlock", data={"csrf_token": csrf, "name": "r1"})
    assert r.status_code == 403


@pytest.mark.parametrize(
    ("settings", "open_"),
    [
        (ServeSettings(), True),
        (ServeSettings(env="production"), False),
        (ServeSettings(env="production", api_docs=True), True),
        (ServeSettings(api_docs=False), False),
    ],
)
def test_api_docs_follow_the_production_switch(env, settings, open_):
    with TestClient(create_app(workspace=env.ws, settings=settings)) as c:
        for path in ("/docs", "/openapi.json"):
            assert (c.get(path).status_code == 200) is open_, path


def test_production_mode_is_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("JUDGELOOP_ENV", "production")
    assert not ServeSettings().docs_enabled
    monkeypatch.setenv("JUDGELOOP_API_DOCS", "true")
    assert ServeSettings().docs_enabled
