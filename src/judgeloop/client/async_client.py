"""`judgeloop.AsyncClient`: the same API as `Client` for asyncio code, on httpx.AsyncClient."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

import httpx

from judgeloop.client._base import (
    Call,
    EvaluateResult,
    FailMode,
    ServerUnavailable,
    evaluate_call,
    fallback,
    label_call,
    parsed,
    session_call,
    sessions_calls,
)
from judgeloop.client.sync import merge
from judgeloop.server.schemas import SessionDetail, SessionIn, SessionLogged, SessionsLogged
from judgeloop.types import Label, ModelInput


class AsyncClient:
    """`Client`'s methods as coroutines (`await client.evaluate(...)`); close with `await aclose()` or
    `async with`."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url, self.token, self.timeout = base_url.rstrip("/"), token, timeout
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
            transport=transport,
        )

    async def send(self, call: Call, *, timeout: float | None = None) -> httpx.Response:
        try:
            return await self._http.request(
                call.method,
                call.path,
                json=call.body,
                headers=call.headers,
                timeout=self.timeout if timeout is None else timeout,
            )
        except httpx.TransportError as exc:
            raise ServerUnavailable(f"{call.method} {call.path}: {type(exc).__name__}: {exc}") from exc

    async def evaluate(
        self,
        model_input: ModelInput,
        model_output: str,
        *,
        evaluator: str | None = None,
        record: bool = False,
        session_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        timeout: float | None = None,
        fail: FailMode = "raise",
    ) -> EvaluateResult:
        """See `Client.evaluate`."""
        call = evaluate_call(
            model_input, model_output, evaluator=evaluator, record=record, session_id=session_id,
            metadata=metadata,
        )  # fmt: skip
        started = time.perf_counter()
        try:
            return parsed(EvaluateResult, await self.send(call, timeout=timeout))  # type: ignore[no-any-return]
        except ServerUnavailable as exc:
            if fail == "raise":
                raise
            return fallback(fail, str(exc), started, time.perf_counter())

    async def log_session(
        self,
        model_input: ModelInput,
        model_output: str,
        *,
        id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        **fields: Any,
    ) -> SessionLogged:
        call = session_call(model_input, model_output, id=id, metadata=metadata, **fields)
        return parsed(SessionsLogged, await self.send(call)).sessions[0]  # type: ignore[no-any-return]

    async def log_sessions(self, sessions: Iterable[SessionIn | Mapping[str, Any]]) -> SessionsLogged:
        return merge([parsed(SessionsLogged, await self.send(call)) for call in sessions_calls(sessions)])

    async def label(self, session_id: str, *, good: bool | None = None, **fields: Any) -> Label:
        call = label_call({"session_id": session_id, "good": good, **fields})
        return parsed(Label, await self.send(call))  # type: ignore[no-any-return]

    async def get_session(self, session_id: str) -> SessionDetail:
        return parsed(SessionDetail, await self.send(Call("GET", f"/v1/sessions/{session_id}")))  # type: ignore[no-any-return]

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


__all__ = ["AsyncClient"]
