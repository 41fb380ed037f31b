"""judgeloop.Client, AsyncClient and @observe against a real server (uvicorn in a thread), including the
server going away mid-stream and coming back."""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time

import httpx
import pytest

import judgeloop
from _server_support import BAD, GOOD, Env, ThreadServer, make_env, trained_model_dir
from judgeloop import AsyncClient, Client, observe
from judgeloop.client import EvaluateResult, ServerUnavailable
from judgeloop.errors import Forbidden, InvalidInput, NotFound, Unauthorized
from judgeloop.server import create_app
from judgeloop.server.schemas import SessionDetail

QUESTION = "Where is my order?"


@pytest.fixture(scope="module")
def model():
    return trained_model_dir()


@pytest.fixture
def env(tmp_path, model) -> Env:
    return make_env(tmp_path, [model])


@pytest.fixture
def server(env):
    with ThreadServer(create_app(workspace=env.ws)) as srv:
        yield srv


def test_public_api_exports_the_client():
    assert {"AsyncClient", "Client", "observe"} <= set(judgeloop.__all__)
    assert judgeloop.__all__ == sorted(judgeloop.__all__)


def test_client_path_does_not_import_fastapi():
    import subprocess
    import sys

    code = "import sys, judgeloop; judgeloop.Client; import judgeloop.client; print('fastapi' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_client_round_trip(server, env):
    with Client(server.base, env.tokens["service"]) as client:
        verdict = client.evaluate(QUESTION, GOOD[0])
        assert isinstance(verdict, EvaluateResult) and verdict.ok and verdict.version == "1"
        assert verdict.label in (0, 1) and 0 <= verdict.probability <= 1
        bad = client.evaluate(QUESTION, BAD[0])
        assert bad.probability < verdict.probability

        one = client.log_session(
            [{"role": "user", "content": QUESTION}], GOOD[1], id="s-1", metadata={"v": 2}
        )
        assert one.id == "s-1"
        many = client.log_sessions(
            [{"id": f"m-{i}", "model_input": QUESTION, "model_output": GOOD[i % 5]} for i in range(300)]
        )
        assert many.stored == 300 and len(many.sessions) == 300  # sent as two requests (256 + 44)

    with Client(server.base, env.tokens["reviewer"]) as reviewer:
        label = reviewer.label("s-1", good=True, failure_tags=["tone"], comment="fine")
        assert label.id and label.good is True and label.reviewer.startswith("token-")
        detail = reviewer.get_session("s-1")
        assert isinstance(detail, SessionDetail)
        assert detail.model_input == [{"role": "user", "content": QUESTION}] and detail.metadata == {"v": 2}
        assert [x.id for x in detail.labels] == [label.id]
        with pytest.raises(NotFound):
            reviewer.get_session("nope")
        with pytest.raises(Forbidden):
            reviewer.log_session(QUESTION, GOOD[0])
        with pytest.raises(InvalidInput, match="model_output"):
            Client(server.base, env.tokens["service"]).log_session(QUESTION, "   ")
    with pytest.raises(Unauthorized), Client(server.base, "jl_wrong") as nobody:
        nobody.evaluate(QUESTION, GOOD[0])


def test_idempotency_key_on_labels_and_sessions(server, env):
    seen: list[tuple[str, str | None]] = []

    def hook(request: httpx.Request) -> None:
        seen.append((request.url.path, request.headers.get("idempotency-key")))

    with Client(server.base, env.tokens["admin"]) as client:
        client._http.event_hooks["request"].append(hook)
        client.log_session(QUESTION, GOOD[0], id="k-1")
        client.log_sessions([{"id": "k-2", "model_input": QUESTION, "model_output": GOOD[1]}])
        client.label("k-1", good=False)
        client.evaluate(QUESTION, GOOD[0])
    keys = dict(seen)
    assert keys["/v1/evaluate"] is None
    posted = [k for p, k in seen if p in ("/v1/sessions", "/v1/labels")]
    assert len(posted) == 3 and len(set(posted)) == 3
    assert all(len(k or "") == 36 for k in posted)  # uuid4


def test_evaluate_fail_open_and_closed(env):
    slow_app = create_app(workspace=env.ws)

    @slow_app.middleware("http")
    async def _slow(request, call_next):  # a server that answers too late
        await asyncio.sleep(1.0)
        return await call_next(request)

    with ThreadServer(slow_app) as srv, Client(srv.base, env.tokens["service"]) as client:
        opened = client.evaluate(QUESTION, BAD[0], timeout=0.2, fail="open")
        closed = client.evaluate(QUESTION, BAD[0], timeout=0.2, fail="closed")
        assert (opened.ok, opened.label, closed.ok, closed.label) == (False, 1, False, 0)
        assert math.isnan(opened.probability) and "Timeout" in (opened.error or "")
        with pytest.raises(ServerUnavailable):
            client.evaluate(QUESTION, BAD[0], timeout=0.2)
        assert client.evaluate(QUESTION, BAD[0], timeout=30, fail="open").ok  # in time: the real verdict
    with Client("http://127.0.0.1:9", env.tokens["service"]) as down:  # nothing listens on port 9
        assert down.evaluate(QUESTION, GOOD[0], fail="closed").label == 0


def test_async_client(server, env):
    async def run() -> tuple:
        async with AsyncClient(server.base, env.tokens["service"]) as client:
            verdicts = await asyncio.gather(*[client.evaluate(QUESTION, GOOD[i % 5]) for i in range(8)])
            logged = await client.log_sessions(
                [{"id": "a-1", "model_input": QUESTION, "model_output": GOOD[0]}]
            )
            one = await client.log_session(QUESTION, GOOD[2], id="a-2")
            detail = await client.get_session("a-1")
        return verdicts, logged, one, detail

    verdicts, logged, one, detail = asyncio.run(run())
    assert all(v.ok and v.version == "1" for v in verdicts)
    assert logged.stored == 1 and one.id == "a-2" and detail.model_output == GOOD[0]


def test_observe_with_an_async_client(server, env):
    client = AsyncClient(server.base, env.tokens["service"])

    @observe(project="shop", client=client)
    async def answer(prompt: str) -> str:
        return GOOD[3]

    assert asyncio.run(answer("async question")) == GOOD[3]
    from judgeloop.client.observe import _sync

    assert _sync(client).flush(30)
    assert [s.model_input for s in env.ws.sessions("shop") if s.source == "observe"] == ["async question"]


def test_observe_records_calls_in_the_background(server, env):
    client = Client(server.base, env.tokens["service"], flush_interval_s=0.05)

    @observe(project="shop", client=client, metadata={"app": "bot"})
    def answer(messages: list[dict], temperature: float = 0.0) -> dict:
        return {"choices": [{"message": {"role": "assistant", "content": GOOD[len(messages) % 5]}}]}

    @observe(project="shop", client=client)
    async def answer_async(prompt: str) -> str:
        return GOOD[0] + " " + prompt

    @observe(project="shop", client=client)
    def broken(prompt: str) -> str:
        raise ValueError("the model failed")

    msgs = [{"role": "user", "content": QUESTION}]
    results = [answer(msgs, temperature=0.2) for _ in range(5)]
    assert results[0]["choices"][0]["message"]["content"] == GOOD[1]  # the caller gets its result untouched
    assert asyncio.run(answer_async("thanks")) == GOOD[0] + " thanks"
    with pytest.raises(
        ValueError, match="the model failed"
    ):  # the function's own errors still reach the caller
        broken("x")
    assert client.flush(30)
    sessions = [s for s in env.ws.sessions("shop") if s.source == "observe"]
    assert len(sessions) == 6
    chat = [s for s in sessions if s.metadata["function"].endswith("answer")]
    assert len(chat) == 5 and chat[0].model_input == msgs and chat[0].model_output == GOOD[1]
    assert chat[0].metadata["app"] == "bot" and chat[0].metadata["project"] == "shop"
    assert chat[0].metadata["latency_ms"] >= 0
    text = next(s for s in sessions if s.metadata["function"].endswith("answer_async"))
    assert text.model_input == "thanks"
    assert client.recorder.sent == 6 and client.recorder.dropped == 0
    client.close()


def test_observe_when_the_server_stops_mid_stream(env, caplog):
    app = create_app(workspace=env.ws)
    first = ThreadServer(app)
    port = first.port
    client = Client(first.base, env.tokens["service"], queue_size=50, batch_size=10, flush_interval_s=0.05,
                    max_backoff_s=0.2, timeout=2)  # fmt: skip

    @observe(project="shop", client=client)
    def answer(prompt: str) -> str:
        return f"{GOOD[0]} [{prompt}]"

    with first:
        for i in range(20):
            answer(f"q{i}")
        assert client.flush(30)
    assert client.recorder.sent == 20

    caplog.set_level(logging.WARNING, logger="judgeloop.observe")
    worst = 0.0
    for i in range(20, 220):  # the server is down: calls neither raise nor wait
        started = time.perf_counter()
        assert answer(f"q{i}") == f"{GOOD[0]} [q{i}]"
        worst = max(worst, time.perf_counter() - started)
    assert worst < 0.05  # a connection attempt would take far longer than a deque append
    assert not client.flush(0.5)  # nothing can be sent now
    dropped = client.recorder.dropped
    assert dropped >= 150  # 200 calls into a queue of 50 (+ at most one batch in flight)
    warnings = [r for r in caplog.records if "dropping the oldest" in r.getMessage()]
    assert len(warnings) == 1

    with ThreadServer(create_app(workspace=env.ws), port=port):  # back on the same port
        assert client.flush(30)
    stored = {s.input_text for s in env.ws.sessions("shop") if s.source == "observe"}
    assert {f"q{i}" for i in range(20)} <= stored  # before the outage
    assert {f"q{i}" for i in range(200, 220)} <= stored  # the newest were kept, the oldest dropped
    assert len(stored) == 20 + 200 - dropped
    assert "q25" not in stored
    client.close()


def test_observe_never_raises_on_odd_results(server, env):
    client = Client(server.base, env.tokens["service"], flush_interval_s=0.05)

    @observe(project="shop", client=client, capture_output=lambda r: 1 / 0)  # a broken capture function
    def bad_capture(prompt: str) -> str:
        return "ok"

    @observe(project="shop", client=client)
    def empty(prompt: str) -> str:
        return ""  # nothing to record: skipped, not a refused batch

    assert bad_capture("x") == "ok" and empty("y") == ""
    assert client.flush(30)
    assert client.recorder.skipped == 1 and client.recorder.failed == 1
    client.close()


def test_observe_from_many_threads(server, env):
    client = Client(server.base, env.tokens["service"], flush_interval_s=0.05)

    @observe(project="shop", client=client)
    def answer(prompt: str) -> str:
        return GOOD[0]

    threads = [
        threading.Thread(target=lambda k=k: [answer(f"t{k}-{i}") for i in range(50)]) for k in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert client.flush(30)
    assert len([s for s in env.ws.sessions("shop") if s.source == "observe"]) == 200
    client.close()


EXIT_SCRIPT = """
import sys, judgeloop
client = judgeloop.Client(sys.argv[1], sys.argv[2], flush_interval_s=60)  # nothing is sent before exit

@judgeloop.observe(project="shop", client=client)
def answer(prompt):
    return "It ships tomorrow."

for i in range(5):
    answer(f"exit-{i}")
"""


def test_observe_flushes_at_exit_and_never_hangs_it(server, env, tmp_path):
    import os
    import subprocess
    import sys

    script = tmp_path / "app.py"
    script.write_text(EXIT_SCRIPT, encoding="utf-8")
    run_env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "JUDGELOOP_OBSERVE_EXIT_FLUSH_S": "2"}
    done = subprocess.run([sys.executable, script, server.base, env.tokens["service"]], env=run_env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert sorted(s.model_input for s in env.ws.sessions("shop") if s.source == "observe") == [
        f"exit-{i}" for i in range(5)
    ]
    started = time.monotonic()
    down = subprocess.run([sys.executable, script, "http://127.0.0.1:9", env.tokens["service"]], env=run_env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert down.returncode == 0 and "Traceback" not in down.stderr
    assert time.monotonic() - started < 60  # the exit flush gives up after 2 s (plus start-up)
