"""The Anthropic client (the real `anthropic` SDK) against a local server speaking the Messages API on
127.0.0.1: system text apart from the turns, JSON through a forced tool call, usage, retries on 529,
and a rubric judge end to end. No paid API is reached."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from _llm_support import ThreadServer
from judgeloop.judging import RubricJudge
from judgeloop.llm import make_client
from judgeloop.types import Session


def message(content: list[dict[str, Any]], model: str = "claude-test") -> dict[str, Any]:
    return {
        "id": "msg_test",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 31, "output_tokens": 7},
    }


class FakeAnthropic:
    """POST /v1/messages: the first `overloaded` calls get 529, then a tool call when tools are offered
    (its input says whether the graded output mentions Paris), else a text reply."""

    def __init__(self, overloaded: int = 0) -> None:
        self.requests: list[dict[str, Any]] = []
        self.overloaded = overloaded
        self.app = FastAPI()
        self.app.post("/v1/messages")(self._handle)

    async def _handle(self, request: Request) -> JSONResponse:
        body = await request.json()
        self.requests.append(body)
        if len(self.requests) <= self.overloaded:
            error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
            return JSONResponse(error, status_code=529)
        if "tools" in body:
            right = "Paris" in body["messages"][-1]["content"]
            verdict = {"accuracy": 5 if right else 1, "conciseness": 4, "format_compliance": "yes"}
            tool = {"type": "tool_use", "id": "toolu_1", "name": body["tools"][0]["name"], "input": verdict}
            return JSONResponse(message([{"type": "text", "text": "Grading."}, tool]))
        return JSONResponse(message([{"type": "text", "text": "Hello"}, {"type": "text", "text": " there"}]))


@pytest.fixture
def anthropic_server(monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
    fake = FakeAnthropic()
    with ThreadServer(fake.app) as server:
        yield fake, server.base_url.removesuffix("/v1")


def test_text_reply_system_apart_and_usage(anthropic_server):
    fake, url = anthropic_server
    runner = make_client("anthropic:claude-test", url)
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    completion = runner.complete(messages, max_tokens=20)
    assert completion.text == "Hello there"
    assert (completion.prompt_tokens, completion.completion_tokens) == (31, 7)
    sent = fake.requests[0]
    assert sent["system"] == "Be brief." and sent["messages"] == [{"role": "user", "content": "Hi"}]
    assert sent["model"] == "claude-test" and sent["max_tokens"] == 20 and "tools" not in sent


def test_rubric_judge_gets_json_through_a_forced_tool_call(anthropic_server):
    fake, url = anthropic_server
    judge = RubricJudge(make_client("anthropic:claude-test", url), "seed")
    sessions = [
        Session(id="a", model_input="Capital of France?", model_output="Paris."),
        Session(id="b", model_input="Capital of France?", model_output="Lyon."),
    ]
    verdicts = judge.evaluate(sessions)
    assert [v.status for v in verdicts] == ["ok", "ok"], [v.error for v in verdicts]
    assert [v.label for v in verdicts] == [1, 0]
    assert verdicts[0].scores["accuracy"] == 5 and json.loads(verdicts[0].raw)["accuracy"] == 5
    forced = fake.requests[0]
    assert forced["tool_choice"] == {"type": "tool", "name": forced["tools"][0]["name"]}
    assert set(forced["tools"][0]["input_schema"]["properties"]) >= {"accuracy", "conciseness"}


def test_overloaded_529_is_retried(monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
    fake = FakeAnthropic(overloaded=2)
    with ThreadServer(fake.app) as server:
        runner = make_client("anthropic:claude-test", server.base_url.removesuffix("/v1"), max_retries=3)
        completion = runner.complete([{"role": "user", "content": "Hi"}])
    assert completion.text == "Hello there" and len(fake.requests) == 3
    assert runner.usage.retries == 2


def test_temperature_is_sent_only_to_an_sdk_that_takes_it(anthropic_server):
    from judgeloop.llm.anthropic_client import AnthropicClient, anthropic_client

    fake, url = anthropic_server
    installed = anthropic_client("claude-test", base_url=url)
    installed.complete([{"role": "user", "content": "Hi"}], temperature=0.3)
    assert "temperature" not in fake.requests[-1]  # the installed SDK (2.x) has no such parameter

    class OldMessages:  # the 0.x signature, forwarding to the real SDK with the value in the body
        def create(self, *, model, messages, max_tokens, temperature, **kw):
            return installed._sdk.messages.create(
                model=model, messages=messages, max_tokens=max_tokens, extra_body={"temperature": temperature}
            )

    old = AnthropicClient("claude-test", type("OldSDK", (), {"messages": OldMessages()})())
    old.complete([{"role": "user", "content": "Hi"}], temperature=0.3)
    assert fake.requests[-1]["temperature"] == 0.3
