"""Hearing about changes made by other servers (replicas) or the CLI on the same PostgreSQL database.

A thread LISTENs on `judgeloop_changes` (judgeloop.store.changes) and calls `on_change(kind)` for every
notification; every `poll_s` seconds it also reads the change counter and calls `on_change("poll")` when
it moved, so a change is seen even when a notification was missed (a dropped connection). The server
then forgets its cached champions, settings and token lookups. Only for PostgreSQL: a SQLite workspace
has one server, whose caches expire on their own (`JUDGELOOP_CHAMPION_REFRESH_S`, `JUDGELOOP_AUTH_CACHE_S`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from judgeloop.store import Workspace
from judgeloop.store.changes import Listener, listening

log = logging.getLogger("judgeloop.server")


class ChangeWatcher:
    def __init__(self, ws: Workspace, on_change: Callable[[str], None], *, poll_s: float = 1.0) -> None:
        self.ws, self.on_change, self.poll_s = ws, on_change, poll_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._serial: int | None = None
        self.listening = threading.Event()  # set while LISTEN is active and the counter read

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="judgeloop-changes", daemon=True)
            self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._listen()
            except Exception as exc:  # the database went away: poll again after a pause, then re-listen
                self.listening.clear()
                log.warning("change listener: %s; retrying in %.0f s", exc, self.poll_s)
                self._stop.wait(self.poll_s)

    def _listen(self) -> None:
        with listening(self.ws.url) as listener:
            self._poll(listener)  # anything missed while not listening (the first time: the baseline)
            self.listening.set()
            next_poll = time.monotonic() + self.poll_s
            while not self._stop.is_set():  # short waits, so that close() returns quickly
                for kind in listener.notices(timeout=min(0.25, self.poll_s)):
                    self._tell(kind)
                    if self._stop.is_set():
                        return
                if time.monotonic() >= next_poll:
                    self._poll(listener)
                    next_poll = time.monotonic() + self.poll_s

    def _poll(self, listener: Listener) -> None:
        serial = listener.serial()
        if self._serial is not None and serial != self._serial:
            self._tell("poll")
        self._serial = serial

    def _tell(self, kind: str) -> None:
        try:
            self.on_change(kind)
        except Exception:
            log.exception("handling a %s change failed", kind)


__all__ = ["ChangeWatcher"]
