"""The monitoring pages in real headless Chromium against uvicorn and a SQLite file: overview charts with
the expected points, an alert's sessions and the queue button, evaluators with calibration, outliers,
drill-down links, and 403 for reviewers. Screenshots go to docs/screenshots/."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from _dashboard_support import BAD_DAYS, DAYS, PROJECT, DashEnv, make_dashboard_env
from _review_support import PASSWORD
from _server_support import ThreadServer
from judgeloop import stats
from judgeloop.loop import risk
from judgeloop.monitor import alert_sessions, find_outliers
from judgeloop.monitor.queries import queued_session_ids
from judgeloop.review.dashboard import DEFAULT_WINDOWS
from judgeloop.server import create_app

CHROMIUM = "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]  # fmt: skip
BASE = f"/review/projects/{PROJECT}"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists() and os.environ.get("CI") != "true", reason="no /usr/bin/chromium"
    ),
]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DashEnv]:
    tmp = tmp_path_factory.mktemp("dash")
    e = make_dashboard_env(f"sqlite:///{tmp / 'dash.db'}", tmp)
    yield e
    e.ws.close()


@pytest.fixture(scope="module")
def server(env: DashEnv) -> Iterator[ThreadServer]:
    with ThreadServer(create_app(workspace=env.ws)) as s:
        yield s


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def signed_in(browser: Any, server: ThreadServer, user: str) -> Any:
    page = browser.new_context(viewport={"width": 1360, "height": 900}, base_url=server.base).new_page()
    page.console_errors = []
    page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
    page.on("pageerror", lambda e: page.console_errors.append(str(e)))
    page.goto("/review/login")
    page.fill("input[name=name]", user)
    page.fill("input[name=password]", PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/review")
    return page


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


@pytest.fixture(scope="module")
def lead(browser, server) -> Any:
    return signed_in(browser, server, "lead")


def test_overview_charts_and_alert_drilldown(env, lead):
    lead.goto("/review")
    lead.click("a.monitor-link")  # the home page links to the dashboard for leads
    lead.wait_for_url(f"**{BASE}/monitor")
    windows = DEFAULT_WINDOWS["day"]
    assert lead.locator("svg.traffic rect.col").count() == windows
    assert lead.locator("svg.pass-rate circle.pt").count() == DAYS  # one point per day with verdicts
    assert lead.locator("svg.pass-rate circle.pt.flagged").count() >= 1
    assert lead.locator("svg.pass-rate polygon.ci-band").count() == 1
    assert lead.locator("svg.shares path.line").count() == 3  # scored, automated, needs review
    assert lead.locator("#kpi-sessions").text_content() == str(DAYS * 24)
    assert lead.locator("#windows tbody tr").count() == windows
    shot(lead, "dashboard-overview")
    assert lead.locator("svg.pass-rate a.mark-link").count() == 1  # the stored alert, clickable
    lead.locator("#alerts a").first.click()
    lead.wait_for_url(f"**{BASE}/monitor/alerts/{env.alert_id}")
    assert not lead.console_errors


def test_alert_page_lists_the_windows_sessions_and_queues_them(env, lead):
    lead.goto(f"{BASE}/monitor/alerts/{env.alert_id}")
    expected = [s.session_id for s in alert_sessions(env.ws, PROJECT, env.alert_id, limit=200)]
    shown = lead.locator("#alert-sessions a.session-link").all_text_contents()
    assert shown == expected and shown
    assert {s.split("-")[0] for s in shown} <= {f"d{d}" for d in BAD_DAYS}  # only the bad days' sessions
    assert "r0: " in lead.locator("#alert-sessions").text_content()  # human labels shown
    shot(lead, "dashboard-alert")
    lead.click("#queue-alert")
    lead.wait_for_url("**msg=*")
    assert f"{len(expected)} sessions added to queue alert-{env.alert_id}" in lead.content()
    assert queued_session_ids(env.ws, PROJECT, f"alert-{env.alert_id}") == set(expected)
    lead.locator("#alert-sessions a.session-link").first.click()
    lead.wait_for_url(f"**{BASE}/sessions/{expected[0]}")
    assert lead.locator("#session-id").text_content() == expected[0]
    assert lead.locator("#session-output").text_content() == f"answer {expected[0]}"
    shot(lead, "dashboard-session")
    assert not lead.console_errors


def test_evaluators_page(env, lead):
    lead.goto(f"{BASE}/monitor/evaluators")
    versions = lead.locator("#versions tbody tr td:first-child").all_text_contents()
    assert {"support@1", "support@2", "judge"} <= set(versions)
    data = risk.calibration_data(env.ws, PROJECT, "support@1")
    bins = stats.reliability_bins(data["good"], data["probs"])
    ece = stats.expected_calibration_error(data["good"], data["probs"])
    assert lead.locator("svg.reliability circle.rel").count() == len(bins)
    row = lead.locator("#versions tbody tr").nth(versions.index("support@1"))
    assert f"{ece:.3f}" in row.text_content() and "55.0%" in row.text_content()  # ECE, certified share
    assert (
        "rule is for support@1"
        in lead.locator("#versions tbody tr").nth(versions.index("support@2")).text_content()
    )
    assert lead.locator("#promotions tbody tr").count() == 1
    shot(lead, "dashboard-evaluators")
    assert not lead.console_errors


def test_outliers_page_links_to_the_sessions(env, lead):
    lead.goto(f"{BASE}/monitor/outliers")
    expected = [o["session_id"] for o in find_outliers(env.ws, PROJECT, None, 50)["human"]]
    shown = lead.locator("#outliers-human a.session-link").all_text_contents()
    assert shown == expected and shown
    between = lead.locator("#outliers-evaluators a.session-link").all_text_contents()
    assert between and all(int(s.split("-")[1]) % 5 == 0 for s in between)  # the judge disagrees on every 5th
    shot(lead, "dashboard-outliers")
    lead.locator("#outliers-human a.session-link").first.click()
    lead.wait_for_url(f"**{BASE}/sessions/{expected[0]}")
    assert lead.locator("#session-id").text_content() == expected[0]
    assert not lead.console_errors


def test_reviewer_gets_403(env, browser, server):
    page = signed_in(browser, server, "r0")
    assert page.locator("a.monitor-link").count() == 0
    for path in ["/monitor", f"/monitor/alerts/{env.alert_id}", "/monitor/evaluators", "/monitor/outliers",
                 "/sessions/d8-01"]:  # fmt: skip
        response = page.goto(BASE + path)
        assert response.status == 403, path
    r = page.request.post(f"{BASE}/monitor/alerts/{env.alert_id}/queue", form={"csrf_token": "x"})
    assert r.status == 403
