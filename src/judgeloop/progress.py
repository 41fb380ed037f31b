"""Progress of long work (training, judging, generating, scoring), shown by the CLI.

Library code reports with `track(label, total)` and `advance(n)`; nothing is shown unless the caller
turned reporting on (`with reporting():`, as the CLI commands do) or passed `enabled=True`. On a
terminal it is a rich progress bar on stderr; otherwise (a log file, CI) one line every few seconds
(`JUDGELOOP_PROGRESS_EVERY_S`, 5) with done/total, rate and ETA, from a background thread, so that a
slow step still says it is alive, and a last line when the work ends (only for work that took longer
than one interval, so quick steps stay quiet).
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import IO

_REPORTING: ContextVar[bool] = ContextVar("judgeloop_progress", default=False)
DEFAULT_EVERY_S = 5.0


@contextmanager
def reporting(on: bool = True) -> Iterator[None]:
    """Show the progress of work tracked inside this block (the CLI's commands turn it on)."""
    token = _REPORTING.set(on)
    try:
        yield
    finally:
        _REPORTING.reset(token)


def _every_s() -> float:
    try:
        return max(0.05, float(os.environ.get("JUDGELOOP_PROGRESS_EVERY_S", DEFAULT_EVERY_S)))
    except ValueError:
        return DEFAULT_EVERY_S


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class Tracker:
    """Counts done units; `line()` says where the work stands."""

    def __init__(self, label: str, total: int, unit: str) -> None:
        self.label, self.total, self.unit = label, max(0, int(total)), unit
        self.done = 0
        self.started = time.monotonic()
        self._lock = threading.Lock()

    def advance(self, n: int = 1) -> None:
        with self._lock:
            self.done = min(self.total, self.done + int(n)) if self.total else self.done + int(n)

    def line(self) -> str:
        elapsed = time.monotonic() - self.started
        rate = self.done / elapsed if elapsed > 0 else 0.0
        share = f" ({self.done / self.total:.0%})" if self.total else ""
        left = self.total - self.done
        eta = _duration(left / rate) if rate > 0 and left > 0 else ("0:00" if not left else "?")
        return (
            f"{self.label}: {self.done}/{self.total} {self.unit}{share}, "
            f"{rate * 60:.1f} {self.unit}/min, elapsed {_duration(elapsed)}, ETA {eta}"
        )


class _Silent(Tracker):
    pass


class _LogLines(Tracker):
    """A line every `every_s` seconds on `stream`, from a daemon thread."""

    def __init__(self, label: str, total: int, unit: str, stream: IO[str], every_s: float) -> None:
        super().__init__(label, total, unit)
        self.stream, self.every_s = stream, every_s
        self.lines = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="judgeloop-progress", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            self._write(self.line())

    def _write(self, text: str) -> None:
        self.lines += 1
        try:
            self.stream.write(text + "\n")
            self.stream.flush()
        except (OSError, ValueError):  # a closed stream must not break the work
            pass

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=1)
        if self.lines:
            self._write(self.line() + " (done)")


class _Bar(Tracker):
    """A rich progress bar on stderr."""

    def __init__(self, label: str, total: int, unit: str) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        super().__init__(label, total, unit)
        columns = (
            TextColumn(label),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn(unit),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
        )
        self._bar = Progress(*columns, console=Console(stderr=True))
        self._task = self._bar.add_task(label, total=total or None)
        self._bar.start()

    def advance(self, n: int = 1) -> None:
        super().advance(n)
        self._bar.update(self._task, completed=self.done)

    def close(self) -> None:
        self._bar.stop()


@contextmanager
def track(
    label: str,
    total: int,
    *,
    unit: str = "rows",
    enabled: bool | None = None,
    stream: IO[str] | None = None,
    every_s: float | None = None,
) -> Iterator[Tracker]:
    """A tracker for `total` units of work: `with track("judging", n) as p: ... p.advance(k)`.

    `enabled`: None follows `reporting()`; True or False decides here. On a terminal a bar, else a
    line every `every_s` seconds on `stream` (stderr)."""
    show = _REPORTING.get() if enabled is None else enabled
    out = stream if stream is not None else sys.stderr
    tracker: Tracker
    if not show:
        tracker = _Silent(label, total, unit)
    elif stream is None and out.isatty():
        tracker = _Bar(label, total, unit)
    else:
        tracker = _LogLines(label, total, unit, out, every_s if every_s is not None else _every_s())
    try:
        yield tracker
    finally:
        close = getattr(tracker, "close", None)
        if close is not None:
            close()


__all__ = ["Tracker", "reporting", "track"]
