"""Reviewer accounts and browser sessions: argon2 passwords, signed cookies, CSRF, roles and projects,
the `judgeloop reviewer add` CLI, and the queue API's permissions."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from _review_support import PASSWORD, PROJECT, ReviewEnv, make_review_env, sign_in
from judgeloop.cli import app as cli_app
from judgeloop.errors import InvalidInput, Unauthorized
from judgeloop.review import queues, users
from judgeloop.review.schemas import QueueIn
from judgeloop.server import create_app
from judgeloop.store.tables import UserRow


@pytest.fixture
def env(tmp_path) -> ReviewEnv:
    e = make_review_env(f"sqlite:///{tmp_path / 'auth.db'}", reviewers=1, n=6)
    users.add_reviewer(e.ws, "stranger", "elsewhere", "admin", PASSWORD)
    return e


@pytest.fixture
def client(env, monkeypatch):
    monkeypatch.setenv("JUDGELOOP_SECRET_KEY", "test-secret-key-for-review")
    with TestClient(create_app(workspace=env.ws)) as c:
        yield c


def test_passwords_are_argon2_and_checked(env):
    with env.ws.db() as db:
        stored = db.query(UserRow).filter_by(name="r0").one().password_hash
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert users.authenticate(env.ws, "r0", PASSWORD).name == "r0"
    for name, password in (("r0", "nope-nope-nope"), ("ghost", PASSWORD)):
        with pytest.raises(Unauthorized, match="wrong user name or password"):
            users.authenticate(env.ws, name, password)
    with pytest.raises(InvalidInput, match="too short"):
        users.add_reviewer(env.ws, "shorty", PROJECT, "reviewer", "abc")
    with pytest.raises(InvalidInput, match="needs a password"):
        users.add_reviewer(env.ws, "nopass", PROJECT)


def test_session_cookie_flags_and_sign_out(client):
    csrf = sign_in(client, "r0")
    cookie = next(c for c in client.cookies.jar if c.name == "jl_session")
    raw = client.get("/review/login").headers  # any response; flags are on the sign-in response
    assert cookie.has_nonstandard_attr("HttpOnly") and not cookie.secure
    assert "jl_session" not in raw.get("set-cookie", "")
    assert client.post("/review/logout", data={"csrf_token": "wrong"}).status_code == 403
    r = client.post("/review/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303 and client.get("/review", follow_redirects=False).status_code == 303


def test_sign_in_response_sets_httponly_samesite_and_secure_on_https(env, monkeypatch):
    monkeypatch.setenv("JUDGELOOP_SECRET_KEY", "k" * 32)
    with TestClient(create_app(workspace=env.ws), base_url="https://review.example") as c:
        page = c.get("/review/login")
        token = re.search(r'name="login_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        r = c.post(
            "/review/login",
            data={"name": "r0", "password": PASSWORD, "login_token": token},
            follow_redirects=False,
        )
    header = r.headers["set-cookie"].lower()
    assert (
        "jl_session=" in header and "httponly" in header and "samesite=lax" in header and "secure" in header
    )


def test_sign_in_needs_the_form_token_and_redirects_only_within_review(client):
    r = client.post("/review/login", data={"name": "r0", "password": PASSWORD, "login_token": "forged"})
    assert r.status_code == 403
    page = client.get("/review/login?next=//evil.example/x")
    assert 'value="/review"' in page.text and "evil" not in page.text
    bad = client.post(
        "/review/login",
        data={"name": "r0", "password": "wrong-wrong", "login_token": _login_token(page.text)},
    )
    assert bad.status_code == 401 and "wrong user name or password" in bad.text


def _login_token(html: str) -> str:
    return re.search(r'name="login_token" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]


def test_api_calls_with_the_cookie_need_the_csrf_header(client, env):
    queue = queues.create_queue(env.ws, QueueIn(project=PROJECT, name="q", size=3))
    csrf = sign_in(client, "r0")
    project = {"X-Judgeloop-Project": PROJECT}
    item = client.get(f"/v1/queues/{queue.id}/next", headers=project).json()
    body = {"session_id": item["session"]["id"], "good": True, "metadata": {"queue_id": queue.id}}
    assert client.post("/v1/labels", json=body, headers=project).status_code == 403
    assert (
        client.post("/v1/labels", json=body, headers={**project, "X-CSRF-Token": "nope"}).status_code == 403
    )
    r = client.post("/v1/labels", json=body, headers={**project, "X-CSRF-Token": csrf})
    assert r.status_code == 201 and r.json()["reviewer"] == "r0"
    other = client.get(f"/v1/queues/{queue.id}/next", headers={"X-Judgeloop-Project": "elsewhere"})
    assert other.status_code == 403  # r0 is signed in, but no member of that project


def test_tampered_cookie_and_password_change_end_the_session(client, env):
    sign_in(client, "r0")
    assert client.get("/review").status_code == 200
    good = client.cookies["jl_session"]
    client.cookies.clear()
    client.cookies.set("jl_session", good[:-2] + ("AA" if not good.endswith("AA") else "BB"))
    assert client.get("/review", follow_redirects=False).status_code == 303
    client.cookies.clear()
    client.cookies.set("jl_session", good)
    assert client.get("/review").status_code == 200
    users.add_reviewer(env.ws, "r0", PROJECT, "reviewer", "a-brand-new-password")
    assert client.get("/review", follow_redirects=False).headers["location"].startswith("/review/login")


def test_roles_projects_and_the_admin_forms(client, env):
    csrf = sign_in(client, "r0")
    assert client.get("/review/admin").status_code == 403  # signed in, but reviewers have no admin page
    form = {"csrf_token": csrf, "name": "x", "mode": "binary", "size": "2"}
    assert client.post(f"/review/admin/{PROJECT}/queues", data=form).status_code == 403
    assert client.get("/review/projects/elsewhere/agreement").status_code == 404
    assert client.get(f"/review/projects/{PROJECT}/export").status_code == 403
    client.cookies.clear()
    csrf = sign_in(client, "lead")
    assert (
        client.post(f"/review/admin/{PROJECT}/queues", data={**form, "csrf_token": "bad"}).status_code == 403
    )
    made = client.post(
        f"/review/admin/{PROJECT}/members", data={"csrf_token": csrf, "name": "newbie", "role": "reviewer"}
    )
    shown = re.search(r'<code class="secret">([^<]+)</code>', made.text)
    assert made.status_code == 200 and shown is not None
    assert users.authenticate(env.ws, "newbie", shown.group(1)).name == "newbie"
    first = client.post(
        f"/review/admin/{PROJECT}/queues", data={**form, "csrf_token": csrf, "strategy": "uncertainty"}
    )
    assert first.status_code == 200 and "Queue x opened with 2 items" in first.text
    bad = client.post(f"/review/admin/{PROJECT}/queues", data={**form, "csrf_token": csrf})
    assert bad.status_code == 400 and "already has a queue named" in bad.text
    ok = client.post(
        f"/review/admin/{PROJECT}/settings", data={"csrf_token": csrf, "rubric": "clarity | 1-7 | clear?"}
    )
    assert ok.status_code == 200
    assert env.ws.project_settings(PROJECT)["rubric"]["criteria"][0]["scale"] == "1-7"
    project = client.post("/review/admin/projects", data={"csrf_token": csrf, "name": "support-bot"})
    assert project.status_code == 200 and "support-bot" in env.ws.projects()


def test_queue_api_permissions_with_tokens(client, env):
    reviewer = {"Authorization": f"Bearer {env.tokens['r0']}"}
    lead = {"Authorization": f"Bearer {env.tokens['lead']}"}
    spec = {
        "project": PROJECT,
        "name": "api",
        "mode": "binary",
        "size": 4,
        "overlap": 1,
        "strategy": "random",
    }
    assert client.post("/v1/queues", json=spec, headers=reviewer).status_code == 403
    assert client.post("/v1/queues", json={**spec, "project": "elsewhere"}, headers=lead).status_code == 404
    assert client.post("/v1/queues", json={**spec, "strategy": "psychic"}, headers=lead).status_code == 422
    created = client.post("/v1/queues", json=spec, headers=lead)
    assert created.status_code == 201 and created.json()["items"] == 4
    qid = created.json()["id"]
    item = client.get(f"/v1/queues/{qid}/next", headers=reviewer).json()
    assert item["assignment_id"] and item["progress"] == {"items": 4, "needed": 4, "done": 0, "mine": 0}
    assert (
        client.post(
            f"/v1/queues/{qid}/skip", json={"assignment_id": item["assignment_id"]}, headers=reviewer
        ).status_code
        == 204
    )
    assert client.post(f"/v1/queues/{qid}/undo", headers=reviewer).json()["withdrawn_label_id"] is None
    service = {"Authorization": f"Bearer {_token(env, 'service')}"}
    assert client.get(f"/v1/queues/{qid}/next", headers=service).status_code == 403
    stranger = {"Authorization": f"Bearer {_token(env, 'admin', 'elsewhere')}"}
    assert client.get(f"/v1/queues/{qid}", headers=stranger).status_code == 404
    report = client.get(f"/v1/projects/{PROJECT}/agreement", headers=reviewer)
    assert report.status_code == 200 and "binary" in report.json()
    adj = {"session_id": item["session"]["id"], "good": True}
    assert client.post(f"/v1/projects/{PROJECT}/adjudications", json=adj, headers=reviewer).status_code == 403
    made = client.post(f"/v1/projects/{PROJECT}/adjudications", json=adj, headers=lead)
    assert made.status_code == 201 and made.json()["metadata"] == {"adjudication": True}


def _token(env: ReviewEnv, role: str, project: str = PROJECT) -> str:
    from judgeloop.server.auth import create_token

    return create_token(env.ws, project, role)


def test_cli_reviewer_add_prints_a_user_token_last(tmp_path):
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    runner = CliRunner()
    r = runner.invoke(
        cli_app,
        ["reviewer", "add", "maya", "--project", "shop", "--role", "admin", "--db", db],
        input="s3cret-pass\n",
    )
    assert r.exit_code == 0, r.output
    token = r.output.split()[-1]
    assert token.startswith("jl_")
    from judgeloop.server.auth import principal_for_token
    from judgeloop.store import Workspace

    ws = Workspace(db)
    principal = principal_for_token(ws, token)
    assert (principal.user, principal.role, principal.project) == ("maya", "admin", "shop")
    assert users.authenticate(ws, "maya", "s3cret-pass").is_lead
    listed = runner.invoke(cli_app, ["reviewer", "list", "--project", "shop", "--db", db])
    assert listed.output.strip() == "maya\tadmin"
    short = runner.invoke(cli_app, ["reviewer", "add", "bo", "--project", "shop", "--db", db], input="abc\n")
    assert short.exit_code != 0


def test_cli_queue_create_list_and_status(tmp_path):
    from _review_support import support_sessions
    from judgeloop.store import Workspace

    db = f"sqlite:///{tmp_path / 'cli.db'}"
    Workspace(db).add_sessions("shop", support_sessions(5))
    runner = CliRunner()
    r = runner.invoke(
        cli_app,
        ["queue", "create", "-p", "shop", "--name", "first", "--size", "3", "--overlap", "2", "--db", db],
    )
    assert r.exit_code == 0 and "3 items" in r.output, r.output
    assert (
        runner.invoke(cli_app, ["queue", "list", "-p", "shop", "--db", db]).output.split("\t")[-1].strip()
        == "0/6"
    )
    status = runner.invoke(cli_app, ["queue", "status", "1", "--db", db])
    assert '"needed": 6' in status.output
    bad = runner.invoke(
        cli_app, ["queue", "create", "-p", "shop", "--name", "x", "--mode", "weird", "--db", db]
    )
    assert bad.exit_code != 0 and isinstance(bad.exception, InvalidInput)


def test_project_admins_cannot_make_leads_or_reset_passwords(client, env):
    users.add_reviewer(env.ws, "padmin", PROJECT, "admin", PASSWORD)
    csrf = sign_in(client, "padmin")
    reset = client.post(
        f"/review/admin/{PROJECT}/members",
        data={"csrf_token": csrf, "name": "lead", "role": "reviewer", "password": "taken-over-now"},
    )
    assert reset.status_code == 400 and "only leads" in reset.text
    assert users.authenticate(env.ws, "lead", PASSWORD).is_lead
    made = client.post(
        f"/review/admin/{PROJECT}/members",
        data={"csrf_token": csrf, "name": "helper", "role": "admin", "password": "helper-pass-1"},
        follow_redirects=False,
    )
    assert made.status_code == 303
    helper = users.authenticate(env.ws, "helper", "helper-pass-1")
    assert not helper.is_lead and users.membership(env.ws, helper, PROJECT).role == "admin"
    assert client.post("/review/admin/projects", data={"csrf_token": csrf, "name": "mine"}).status_code == 400
