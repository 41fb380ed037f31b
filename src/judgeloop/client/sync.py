"""`judgeloop.Client`: the HTTP API from Python, on httpx, with typed results."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

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
from judgeloop.server.schemas import SessionDetail, SessionIn, SessionLogged, SessionsLogged
from judgeloop.types import Label, ModelInput

if TYPE_CHECKING:
    from judgeloop.client.observe import Recorder


class Client:
    """A judgeloop server at `base_url`, called with an API `token` (its project and role decide what
    the calls may do). Thread-safe; close it (or use `with`) to release its connections.

    Errors come back as judgeloop's: InvalidInput (400/422), Unauthorized, Forbidden, NotFound, Conflict,
    and ServerUnavailable (no answer, timeout or 5xx)."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
        queue_size: int = 10_000,
        batch_size: int = 100,
        flush_interval_s: float = 0.5,
        max_backoff_s: float = 30.0,
    ) -> None:
        self.base_url, self.token, self.timeout = base_url.rstrip("/"), token, timeout
        self._http = httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
            transport=transport,
        )
        self._recorder_options = {
            "queue_size": queue_size,
            "batch_size": batch_size,
            "flush_interval_s": flush_interval_s,
            "max_backoff_s": max_backoff_s,
        }
        self._recorder: Recorder | None = None

    # --- transport -------------------------------------------------------------------------

    def send(self, call: Call, *, timeout: float | None = None) -> httpx.Response:
        try:
            return self._http.request(
                call.method,
                call.path,
                json=call.body,
                headers=call.headers,
                timeout=self.timeout if timeout is None else timeout,
            )
        except httpx.TransportError as exc:  # connection refused, timeouts, broken connections
            raise ServerUnavailable(f"{call.method} {call.path}: {type(exc).__name__}: {exc}") from exc

    # --- the API -----------------------------------------------------------------------------

    def evaluate(
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
        """A guardrail verdict now. With `fail="open"` (pass) or `"closed"` (block), a server that does not
        answer within `timeout` seconds, cannot be reached or answers 5xx gives that verdict with
        `ok=False` instead of raising; errors in the request itself (4xx) always raise."""
        call = evaluate_call(
            model_input, model_output, evaluator=evaluator, record=record, session_id=session_id,
            metadata=metadata,
        )  # fmt: skip
        started = time.perf_counter()
        try:
            return parsed(EvaluateResult, self.send(call, timeout=timeout))  # type: ignore[no-any-return]
        except ServerUnavailable as exc:
            if fail == "raise":
                raise
            return fallback(fail, str(exc), started, time.perf_counter())

    def log_session(
        self,
        model_input: ModelInput,
        model_output: str,
        *,
        id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        **fields: Any,
    ) -> SessionLogged:
        """Store one production session (the project's sample_rate share is scored)."""
        call = session_call(model_input, model_output, id=id, metadata=metadata, **fields)
        return parsed(SessionsLogged, self.send(call)).sessions[0]  # type: ignore[no-any-return]

    def log_sessions(self, sessions: Iterable[SessionIn | Mapping[str, Any]]) -> SessionsLogged:
        """Store many sessions (sent in lists of 256); the counts of every request added up."""
        return merge([parsed(SessionsLogged, self.send(call)) for call in sessions_calls(sessions)])

    def label(self, session_id: str, *, good: bool | None = None, **fields: Any) -> Label:
        """A human label (binary `good`, or `kind="likert"` with `scores`, or pairwise `choice`),
        stored in the token's name."""
        call = label_call({"session_id": session_id, "good": good, **fields})
        return parsed(Label, self.send(call))  # type: ignore[no-any-return]

    def get_session(self, session_id: str) -> SessionDetail:
        """The session with its labels and verdicts."""
        response = self.send(Call("GET", f"/v1/sessions/{session_id}"))
        return parsed(SessionDetail, response)  # type: ignore[no-any-return]

    # --- observe -----------------------------------------------------------------------------

    @property
    def recorder(self) -> Recorder:
        """The background sender of `@observe` sessions (created on first use)."""
        if self._recorder is None:
            from judgeloop.client.observe import Recorder

            self._recorder = Recorder(self, **self._recorder_options)  # type: ignore[arg-type]
        return self._recorder

    def flush(self, timeout: float = 10.0) -> bool:
        """Send every observed session now; False if some are still pending after `timeout` seconds."""
        return self._recorder.flush(timeout) if self._recorder is not None else True

    def close(self) -> None:
        if self._recorder is not None:
            self._recorder.close()
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def merge(parts: Sequence[SessionsLogged]) -> SessionsLogged:
    return SessionsLogged(
        stored=sum(p.stored for p in parts),
        sampled=sum(p.sampled for p in parts),
        queued=sum(p.queued for p in parts),
        sessions=[s for p in parts for s in p.sessions],
    )


__all__ = ["Client", "merge"]
