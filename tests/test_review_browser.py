"""The review UI end to end in real headless Chromium against uvicorn on 127.0.0.1 and a SQLite file:
sign in, label 20 items with the keyboard only, tags and a comment, skip, undo, a pairwise item, a Likert
item, the evaluator check with a 20,000-character output, agreement with adjudication, the admin page.
Screenshots of every page go to test-artifacts/screenshots/."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from _review_support import PASSWORD, PROJECT, ReviewEnv, make_review_env
from _server_support import ThreadServer
from judgeloop.review import items, queues
from judgeloop.review.schemas import QueueIn
from judgeloop.server import create_app
from judgeloop.store.labels import live_labels
from judgeloop.store.tables import AssignmentRow

CHROMIUM = "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "screenshots"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists() and os.environ.get("CI") != "true", reason="no /usr/bin/chromium"
    ),
]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReviewEnv]:
    e = make_review_env(f"sqlite:///{tmp_path_factory.mktemp('review') / 'review.db'}", reviewers=2, n=30)
    yield e
    e.ws.close()


@pytest.fixture(scope="module")
def server(env: ReviewEnv) -> Iterator[ThreadServer]:
    with ThreadServer(create_app(workspace=env.ws)) as s:
        yield s


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def _page(browser: Any, server: ThreadServer, user: str) -> Any:
    """A new browser context signed in as `user`, typing only."""
    page = browser.new_context(viewport={"width": 1360, "height": 860}, base_url=server.base).new_page()
    page.console_errors = []  # CSP violations and script errors end up here
    page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
    page.on("pageerror", lambda e: page.console_errors.append(str(e)))
    page.goto("/review/login")
    page.wait_for_function("() => document.activeElement && document.activeElement.name === 'name'")
    page.keyboard.type(user)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/review")
    return page


def _shot(page: Any, name: str, full: bool = False) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full)


def _current(page: Any) -> str:
    return str(page.locator("#session-id").text_content())


def _press_and_wait(page: Any, key: str, before: str) -> float:
    """Press a key, wait for the next item (or the done card); seconds it took."""
    start = time.perf_counter()
    page.keyboard.press(key)
    page.wait_for_function(
        "b => document.querySelector('#session-id').textContent !== b"
        " || !document.querySelector('#done').hidden",
        arg=before,
    )
    return time.perf_counter() - start


def test_sign_in_page_and_wrong_password(browser, server):
    page = browser.new_context(base_url=server.base).new_page()
    page.goto("/review/queues/1")  # signed out: sent to the sign-in page, then back
    assert "/review/login" in page.url
    _shot(page, "01-login")
    page.fill("input[name=name]", "r0")
    page.fill("input[name=password]", "wrong-password")
    page.keyboard.press("Enter")
    page.locator(".alert-error").wait_for()
    cookie = {c["name"]: c for c in page.context.cookies()}
    assert "jl_session" not in cookie


def test_keyboard_only_labelling_of_twenty_items(env, browser, server):
    queue = queues.create_queue(env.ws, QueueIn(project=PROJECT, name="weekly sample", size=40, seed=7))
    page = _page(browser, server, "r0")
    cookie = next(c for c in page.context.cookies() if c["name"] == "jl_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    _shot(page, "02-home")
    page.goto(f"/review/queues/{queue.id}")
    page.wait_for_selector("#stage:not([hidden])")
    page.wait_for_function("() => document.querySelector('#session-id').textContent !== ''")
    seen, slowest = [], 0.0
    for i in range(20):
        sid = _current(page)
        seen.append(sid)
        if i == 2:  # tags and a comment, keyboard only
            page.keyboard.press("t")
            page.keyboard.type("hallu")
            _shot(page, "03-tag-suggestions")
            page.keyboard.press("Enter")  # completes to the taxonomy's "hallucination"
            page.keyboard.type("tone-deaf")
            page.keyboard.press("Shift+Enter")  # a new tag
            page.keyboard.press("Escape")
            page.keyboard.press("c")
            page.keyboard.type("Invents a refund policy.")
            _shot(page, "03-tags-and-comment")
            page.keyboard.press("Escape")
        if i == 4:
            _press_and_wait(page, "n", sid)  # skip: someone else gets it
            sid = _current(page)
            seen[-1] = sid
        slowest = max(slowest, _press_and_wait(page, "1" if i % 2 else "0", sid))
        if i == 6:  # undo the label just given: the same item comes back
            page.keyboard.press("u")
            page.wait_for_function("s => document.querySelector('#session-id').textContent === s", arg=sid)
            _press_and_wait(page, "1", sid)
    assert slowest < 3.0
    assert page.locator("#progress-text").text_content().endswith("you 20")
    mine = [x for x in live_labels(env.ws.labels(PROJECT)) if x.reviewer == "r0"]
    assert sorted(x.session_id for x in mine) == sorted(seen) and len(set(seen)) == 20
    tagged = next(x for x in mine if x.session_id == seen[2])
    assert (tagged.failure_tags, tagged.comment, tagged.good) == (
        ["hallucination", "tone-deaf"],
        "Invents a refund policy.",
        False,
    )
    assert all(x.duration_ms and x.duration_ms > 0 and x.metadata["queue_id"] == queue.id for x in mine)
    redone = [x for x in mine if x.session_id == seen[6]]
    assert len(redone) == 1 and redone[0].good is True  # the undone "bad" is withdrawn, not deleted
    undo_rows = [x for x in env.ws.labels(PROJECT) if x.reviewer == "r0" and "undo_of" in x.metadata]
    assert len(undo_rows) == 1
    progress = queues.progress(env.ws, queue)
    assert (progress.per_reviewer["r0"].done, progress.per_reviewer["r0"].skipped) == (20, 1)
    assert page.console_errors == []


def test_pairwise_item_is_blind_and_stored_in_a_b_terms(env, browser, server):
    queue = queues.create_queue(
        env.ws, QueueIn(project=PROJECT, name="A/B new SFT", mode="pairwise", overlap=2)
    )
    page = _page(browser, server, "r1")
    page.goto(f"/review/queues/{queue.id}")
    page.wait_for_function("() => document.querySelector('#session-id').textContent !== ''")
    sid = _current(page)
    left_text = page.locator("#left").text_content()
    assert "sft-3" not in page.locator("#stage").inner_text()  # metadata naming the models is hidden
    _shot(page, "04-pairwise")
    _press_and_wait(page, "1", sid)  # left is better
    with env.ws.db() as db:
        swap = db.scalar(select(AssignmentRow.meta).where(AssignmentRow.reviewer == "r1"))["swap"]
    label = next(x for x in env.ws.labels(PROJECT, "pairwise") if x.reviewer == "r1")
    assert label.choice == ("B" if swap else "A") and label.metadata["left"] == label.choice
    assert left_text.startswith("Model B" if swap else "Model A")
    page.set_viewport_size({"width": 420, "height": 900})  # a phone: one column, the bar wraps
    page.wait_for_function("() => document.querySelector('#session-id').textContent !== ''")
    _shot(page, "04-pairwise-phone")
    assert page.console_errors == []


def test_likert_and_evaluator_modes_and_a_long_output(env, browser, server):
    items.set_rubric(
        env.ws, PROJECT, [{"name": "helpfulness", "scale": "1-5"}, {"name": "tone", "scale": "1-5"}]
    )
    likert = queues.create_queue(env.ws, QueueIn(project=PROJECT, name="rubric pass", mode="likert", size=3))
    page = _page(browser, server, "lead")
    page.goto(f"/review/queues/{likert.id}")
    page.wait_for_function("() => document.querySelector('#session-id').textContent !== ''")
    sid = _current(page)
    page.keyboard.press("4")
    page.keyboard.press("2")
    _shot(page, "05-likert")
    _press_and_wait(page, "Enter", sid)
    scored = next(x for x in env.ws.labels(PROJECT, "likert") if x.session_id == sid)
    assert scored.scores == {"helpfulness": 4.0, "tone": 2.0}

    check = queues.create_queue(env.ws, QueueIn(project=PROJECT, name="check support@1", mode="evaluator"))
    page.goto(f"/review/queues/{check.id}")
    page.wait_for_function("() => document.querySelector('#session-id').textContent !== ''")
    for _ in range(6):
        sid = _current(page)
        if sid == "s001":  # the 20,000-character output: shown as plain scrollable text
            assert len(page.locator("#output").text_content()) == 20_000
            assert page.evaluate(
                "() => { const o = document.querySelector('#output');"
                " return o.scrollHeight > o.clientHeight; }"
            )
            _shot(page, "06-evaluator-long-output")
        assert _press_and_wait(page, "y", sid) < 3.0  # confirm the evaluator's verdict
    assert page.locator("#done").is_visible()
    _shot(page, "07-queue-done")
    confirmed = [x for x in env.ws.labels(PROJECT) if x.metadata.get("evaluator") == "support"]
    assert len(confirmed) == 6 and all(x.metadata["agrees_with_evaluator"] for x in confirmed)


def test_agreement_page_adjudication_and_admin(env, browser, server):
    disputed = queues.create_queue(env.ws, QueueIn(project=PROJECT, name="double", size=4, overlap=2, seed=2))
    for reviewer, good in (("r0", True), ("r1", False)):
        while not (nxt := items.next_item(env.ws, disputed, reviewer)).done:
            assert nxt.session is not None
            from judgeloop.types import Label

            env.ws.add_label(
                PROJECT, Label(session_id=nxt.session["id"], reviewer=reviewer, good=good, duration_ms=3000)
            )
    page = _page(browser, server, "lead")
    page.goto(f"/review/projects/{PROJECT}/agreement")
    _shot(page, "08-agreement", full=True)
    assert page.locator(".dis").count() == 4
    page.locator(".dis-form").first.locator("button[value=good]").click()
    page.wait_for_url("**/agreement#disagreements")
    assert page.locator(".dis").count() == 3
    with page.expect_download() as download:
        page.get_by_role("link", name="csv").click()
    assert "session_id" in Path(download.value.path()).read_text()
    page.goto("/review/admin")
    page.fill("form[action$='/queues'] input[name=name]", "from the admin page")
    page.fill("form[action$='/queues'] input[name=size]", "5")
    page.click("form[action$='/queues'] button")
    assert "Queue from the admin page opened with 5 items" in page.locator(".alert-ok").text_content()
    _shot(page, "09-admin", full=True)
