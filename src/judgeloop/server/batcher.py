"""One inference thread per server: requests queue their sessions, the thread runs them in small batches.

Running every forward pass on one thread keeps concurrent requests from fighting over the CPU cores
(eight torch calls at once on two cores are slower than one after another), and sessions that arrive
while a batch runs go together into the next one. Guardrail requests go first; sampled production
traffic (background scoring) runs only when no guardrail request waits, one small chunk at a time.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

from judgeloop.server.model_cache import LoadedModel
from judgeloop.types import ModelInput

Pair = tuple[ModelInput, str]
BatchHook = Callable[[int], None]


@dataclass
class _Job:
    model: LoadedModel
    pairs: Sequence[Pair]
    future: Future[list[float]] = field(default_factory=Future)


class Batcher:
    """Collects jobs for up to `window_s` (or until `max_size` sessions) and runs them on one thread."""

    def __init__(
        self, *, window_s: float = 0.0, max_size: int = 16, on_batch: BatchHook | None = None
    ) -> None:
        self.window_s, self.max_size = window_s, max_size
        self._on_batch = on_batch
        self._urgent: deque[_Job] = deque()
        self._background: deque[_Job] = deque()
        self._cond = threading.Condition()
        self._closed = False
        self._thread: threading.Thread | None = None

    def submit(
        self, model: LoadedModel, pairs: Sequence[Pair], *, background: bool = False
    ) -> Future[list[float]]:
        """P(good) for each pair, as a future. Background jobs wait until no urgent job is queued."""
        job = _Job(model, pairs)
        if not pairs:
            job.future.set_result([])
            return job.future
        with self._cond:
            if self._closed:
                raise RuntimeError("the inference thread is stopped")
            self._start()
            (self._background if background else self._urgent).append(job)
            self._cond.notify()
        return job.future

    def pending(self) -> int:
        return len(self._urgent) + len(self._background)

    def close(self, timeout: float = 5.0) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)

    def _start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="judgeloop-inference", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            jobs = self._take()
            if not jobs:
                return
            self._execute(jobs)

    def _take(self) -> list[_Job]:
        with self._cond:
            while not self._urgent and not self._background and not self._closed:
                self._cond.wait()
            if not self._urgent and not self._background:
                return []
            if not self._urgent:
                return [self._background.popleft()]
            jobs = [self._urgent.popleft()]
            size = len(jobs[0].pairs)
            deadline = time.monotonic() + self.window_s
            while size < self.max_size:
                if self._urgent:
                    if size + len(self._urgent[0].pairs) > self.max_size:
                        break
                    jobs.append(self._urgent.popleft())
                    size += len(jobs[-1].pairs)
                    continue
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._closed:
                    break
                self._cond.wait(remaining)
            return jobs

    def _execute(self, jobs: list[_Job]) -> None:
        groups: dict[int, list[_Job]] = {}
        for job in jobs:
            groups.setdefault(id(job.model.evaluator), []).append(job)
        for group in groups.values():
            pairs = [p for job in group for p in job.pairs]
            try:
                probabilities = self._predict(group[0].model, pairs)
            except Exception as exc:  # each waiting request gets the error; the thread lives on
                for job in group:
                    job.future.set_exception(exc)
                continue
            start = 0
            for job in group:
                job.future.set_result(probabilities[start : start + len(job.pairs)])
                start += len(job.pairs)

    def _predict(self, model: LoadedModel, pairs: list[Pair]) -> list[float]:
        out: list[float] = []
        for i in range(0, len(pairs), self.max_size):
            chunk = pairs[i : i + self.max_size]
            if self._on_batch is not None:
                self._on_batch(len(chunk))
            staged = getattr(model.evaluator, "predict_staged", None)  # a cascade keeps its stage per score
            out.extend(staged(chunk) if staged else (float(p) for p in model.evaluator.predict_proba(chunk)))
        if len(out) != len(pairs):
            raise RuntimeError(f"{model.name}@{model.version} returned {len(out)} scores for {len(pairs)}")
        return out


__all__ = ["Batcher", "Pair"]
