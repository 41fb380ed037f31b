"""`@judgeloop.observe`: record what a function that calls an LLM got and returned, as sessions.

The wrapped call only appends (function, arguments, result, times) to a bounded deque; a background
thread turns entries into sessions, sends them in batches with `POST /v1/sessions` (Idempotency-Key,
ids fixed before the first try so a retry stores nothing twice), and backs off exponentially while
the server is away. When the queue is full the oldest entry goes, counted in `dropped`, with one
warning. Nothing here raises into, or waits in, the caller's code; `flush()` runs at exit.
"""

from __future__ import annotations

import atexit
import functools
import inspect
import json
import logging
import os
import random
import threading
import time
import uuid
import weakref
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, TypeVar

from judgeloop.errors import InvalidInput, JudgeloopError

if TYPE_CHECKING:
    from judgeloop.client.async_client import AsyncClient
    from judgeloop.client.sync import Client

log = logging.getLogger("judgeloop.observe")
F = TypeVar("F", bound=Callable[..., Any])
_INPUT_NAMES = ("messages", "prompt", "input", "question", "query", "text")


@dataclass
class _Entry:
    function: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    result: Any
    wall: float
    seconds: float
    to_input: Callable[..., Any] | None
    to_output: Callable[[Any], Any] | None
    metadata: dict[str, Any] | None
    session: dict[str, Any] | None = None  # built once, so a retry sends the same id


class Recorder:
    """The background sender of one client's observed sessions."""

    def __init__(
        self,
        client: Client,
        *,
        queue_size: int = 10_000,
        batch_size: int = 100,
        flush_interval_s: float = 0.5,
        max_backoff_s: float = 30.0,
    ) -> None:
        self.client, self.batch_size = client, batch_size
        self.flush_interval_s, self.max_backoff_s = flush_interval_s, max_backoff_s
        self.queue: deque[_Entry] = deque(maxlen=queue_size)
        self.sent = self.dropped = self.failed = self.skipped = 0
        self._inflight = 0
        self._wake = threading.Event()
        self._idle = threading.Condition()
        self._closed = False
        self._warned = False
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        _live.add(self)

    # --- the caller's side: cheap and never blocking ---------------------------------------

    def record(self, entry: _Entry) -> None:
        queue = self.queue
        if len(queue) == queue.maxlen:
            self.dropped += 1
            if not self._warned:
                self._warned = True
                log.warning(
                    "judgeloop observe: the queue is full (%d sessions; is %s reachable?); dropping the "
                    "oldest sessions (count in Recorder.dropped)",
                    queue.maxlen,
                    self.client.base_url,
                )
        queue.append(entry)
        if self._thread is None:
            self._start()
        elif len(queue) >= self.batch_size:
            self._wake.set()

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="judgeloop-observe", daemon=True)
                self._thread.start()

    # --- the background thread ----------------------------------------------------------------

    def _run(self) -> None:
        backoff = 0.0
        while True:
            if backoff:
                self._wake.wait(backoff)
            else:
                self._wake.wait(self.flush_interval_s)
            self._wake.clear()
            while self.queue:
                ok = self._send_batch()
                if not ok:
                    backoff = min(self.max_backoff_s, max(0.05, backoff * 2 or 0.1)) * random.uniform(
                        0.8, 1.2
                    )
                    break
                backoff = 0.0
            with self._idle:
                self._idle.notify_all()
            if self._closed and not self.queue:
                return

    def _send_batch(self) -> bool:
        """Send up to batch_size entries; False when the server did not take them (they go back)."""
        batch: list[_Entry] = []
        while self.queue and len(batch) < self.batch_size:
            try:
                batch.append(self.queue.popleft())
            except IndexError:
                break
        self._inflight = len(batch)
        try:
            items = []
            for entry in batch:
                try:
                    item = _session(entry)
                except Exception as exc:  # a user's capture function failed on this call
                    self.failed += 1
                    log.warning("judgeloop observe: could not build a session of %s: %r", entry.function, exc)
                    continue
                if item is None:
                    self.skipped += 1
                else:
                    items.append(item)
            if items:
                self._deliver(items)
            return True
        except InvalidInput as exc:
            self.failed += 1
            log.warning("judgeloop observe: a session was refused by the server: %s", exc)
            return True
        except JudgeloopError:  # unreachable, 5xx, 401/403 (a token fixed later): keep and retry
            self._requeue(batch)
            return False
        except Exception:  # a bug in a user's capture function or ours: never kill the thread
            log.exception("judgeloop observe: could not send %d sessions", len(batch))
            self.failed += len(batch)
            return True
        finally:
            self._inflight = 0

    def _deliver(self, items: list[dict[str, Any]]) -> None:
        """Send a batch; if the server refuses it (one bad session: 4xx), send its sessions one by one."""
        try:
            self.client.log_sessions(items)
            self.sent += len(items)
            return
        except InvalidInput:
            if len(items) == 1:
                raise
        for item in items:
            try:
                self.client.log_sessions([item])
                self.sent += 1
            except InvalidInput as exc:  # retrying will not help
                self.failed += 1
                log.warning("judgeloop observe: a session was refused by the server: %s", exc)

    def _requeue(self, batch: list[_Entry]) -> None:
        """Put a batch back at the front, keeping only what fits (newer entries win; the rest dropped)."""
        room = (self.queue.maxlen or 0) - len(self.queue)
        keep = batch[-room:] if room > 0 else []
        self.dropped += len(batch) - len(keep)
        for entry in reversed(keep):  # each keeps its session id (fixed in _session) across tries
            self.queue.appendleft(entry)

    # --- flush and close ------------------------------------------------------------------------

    def pending(self) -> int:
        return len(self.queue) + self._inflight

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every recorded session is sent (or given up); False on timeout."""
        deadline = time.monotonic() + timeout
        while self.pending() and time.monotonic() < deadline:
            if self._thread is None:
                self._start()
            self._wake.set()
            with self._idle:
                self._idle.wait(min(0.05, max(0.0, deadline - time.monotonic())))
        return not self.pending()

    def close(self, timeout: float = 5.0) -> None:
        self.flush(timeout)
        self._closed = True
        self._wake.set()


def _session(entry: _Entry) -> dict[str, Any] | None:
    """The session of one observed call; None when there is no usable input or output."""
    if entry.session is not None:
        return entry.session
    model_input = entry.to_input(*entry.args, **entry.kwargs) if entry.to_input else _input(entry)
    output = entry.to_output(entry.result) if entry.to_output else _output(entry.result)
    if not output or not str(output).strip() or not model_input:
        return None
    entry.session = {
        "id": f"obs-{uuid.uuid4().hex}",
        "model_input": model_input,
        "model_output": str(output),
        "metadata": {
            **(entry.metadata or {}),
            "function": entry.function,
            "latency_ms": round(entry.seconds * 1000, 3),
        },
        "source": "observe",
        "created_at": datetime.fromtimestamp(entry.wall, tz=timezone.utc),
    }
    return entry.session


def _input(entry: _Entry) -> Any:
    for name in _INPUT_NAMES:
        if name in entry.kwargs:
            return _as_model_input(entry.kwargs[name])
    texts = [a for a in entry.args if isinstance(a, (str, list))]
    if len(texts) == 1:
        return _as_model_input(texts[0])
    return json.dumps({"args": entry.args, "kwargs": entry.kwargs}, default=str, ensure_ascii=False)


def _as_model_input(value: Any) -> Any:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value and all(isinstance(m, dict) and "role" in m for m in value):
        return value
    return json.dumps(value, default=str, ensure_ascii=False)


def _output(result: Any) -> str:
    """The text of an LLM result: a string, an OpenAI-style completion (object or dict), an
    Anthropic-style message, or anything else as JSON."""
    if isinstance(result, str):
        return result
    choices = result.get("choices") if isinstance(result, dict) else getattr(result, "choices", None)
    if isinstance(choices, list) and choices:
        first = choices[0]
        message = first.get("message") if isinstance(first, dict) else getattr(first, "message", None)
        content = message.get("content") if isinstance(message, dict) else getattr(message, "content", None)
        if content:
            return str(content)
    blocks = getattr(result, "content", None)
    if isinstance(blocks, list) and blocks and getattr(blocks[0], "text", None):
        return "".join(getattr(b, "text", "") for b in blocks)
    return json.dumps(result, default=str, ensure_ascii=False)


# --- the decorator --------------------------------------------------------------------------------

_live: weakref.WeakSet[Recorder] = weakref.WeakSet()
_default: Client | None = None


def default_client() -> Client:
    """A client from JUDGELOOP_URL and JUDGELOOP_TOKEN, for `@observe` without `client=`."""
    global _default
    if _default is None:
        from judgeloop.client.sync import Client

        url, token = os.environ.get("JUDGELOOP_URL"), os.environ.get("JUDGELOOP_TOKEN")
        if not url or not token:
            raise InvalidInput(
                "observe() has no client",
                field="client",
                expected="client=Client(...) or JUDGELOOP_URL and JUDGELOOP_TOKEN",
            )
        _default = Client(url, token)
    return _default


_senders: dict[int, Client] = {}


def _sync(client: Any) -> Client:
    """The sync client whose background thread sends: the client itself, or one for an AsyncClient's
    server and token (an event loop's client cannot be used from the sender thread)."""
    from judgeloop.client.sync import Client

    if isinstance(client, Client):
        return client
    sender = _senders.get(id(client))
    if sender is None:
        sender = _senders[id(client)] = Client(client.base_url, client.token, timeout=client.timeout)
    return sender


def observe(
    project: str | None = None,
    client: Client | AsyncClient | None = None,
    *,
    name: str | None = None,
    metadata: dict[str, Any] | None = None,
    capture_input: Callable[..., Any] | None = None,
    capture_output: Callable[[Any], Any] | None = None,
) -> Callable[[F], F]:
    """Record each call of the decorated function (sync or async) as a session of `project`.

    The input is the `messages` / `prompt` / `input` / `question` / `query` / `text` argument, else the
    one string or message-list argument, else all arguments as JSON (`capture_input(*args, **kwargs)`
    overrides); the output is the returned text or the first choice's message of an OpenAI-style
    completion (`capture_output(result)` overrides). Calls that raise are not recorded. `project` must
    be the token's project (the server decides by the token); it is kept in the session's metadata.
    """
    if client is None:
        client = default_client()
    meta = {**(metadata or {}), **({"project": project} if project else {})}
    recorder = _sync(client).recorder

    def decorate(fn: F) -> F:
        label = str(name or getattr(fn, "__qualname__", repr(fn)))
        perf, wall = time.perf_counter, time.time

        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def awrapper(*args: Any, **kwargs: Any) -> Any:
                started = perf()
                result = await fn(*args, **kwargs)
                try:
                    recorder.record(
                        _Entry(label, args, kwargs, result, wall(), perf() - started, capture_input,
                               capture_output, meta)
                    )  # fmt: skip
                except Exception:  # pragma: no cover - recording must never break the call
                    pass
                return result

            return awrapper  # type: ignore[return-value]

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = perf()
            result = fn(*args, **kwargs)
            try:
                recorder.record(
                    _Entry(label, args, kwargs, result, wall(), perf() - started, capture_input,
                           capture_output, meta)
                )  # fmt: skip
            except Exception:  # pragma: no cover - recording must never break the call
                pass
            return result

        return wrapper  # type: ignore[return-value]

    return decorate


@atexit.register
def _flush_at_exit() -> None:
    for recorder in list(_live):
        try:
            recorder.flush(timeout=float(os.environ.get("JUDGELOOP_OBSERVE_EXIT_FLUSH_S", "5")))
        except Exception:  # pragma: no cover
            pass


__all__ = ["Recorder", "default_client", "observe"]
