"""Background scoring of sampled production sessions, off the request path.

`POST /v1/sessions` stores sessions and hands the sampled ones to this worker, which scores them with
the project's default evaluator on the shared inference thread (after any waiting guardrail request)
and stores the verdicts. A model that fails gives `status="error"` verdicts, never silence; when the
queue is full, sessions are dropped from scoring (still stored) and counted in /metrics.
"""

from __future__ import annotations

import hashlib
import logging
import queue
import threading
import time
from dataclasses import dataclass

from judgeloop.errors import JudgeloopError
from judgeloop.server.batcher import Batcher
from judgeloop.server.catalog import Scope
from judgeloop.server.metrics import ServerMetrics
from judgeloop.server.model_cache import LoadedModel, ModelCache
from judgeloop.store import Workspace
from judgeloop.types import Session, Verdict

log = logging.getLogger("judgeloop.server")
_SPAN = float(2**256)


def is_sampled(session_id: str, rate: float) -> bool:
    """Deterministic by id: sha256(id) / 2^256 < rate, so a re-sent session gets the same answer."""
    if rate <= 0:
        return False
    if rate >= 1:
        return True
    return int(hashlib.sha256(session_id.encode("utf-8")).hexdigest(), 16) / _SPAN < rate


@dataclass
class _Job:
    scope: Scope
    sessions: list[Session]


class BackgroundScorer:
    """A worker thread scoring queued sessions; at most `max_pending` sessions wait."""

    def __init__(
        self,
        ws: Workspace,
        cache: ModelCache,
        batcher: Batcher,
        metrics: ServerMetrics,
        *,
        max_pending: int = 10_000,
        timeout_s: float = 300.0,
    ) -> None:
        self.ws, self.cache, self.batcher, self.metrics = ws, cache, batcher, metrics
        self.max_pending, self.timeout_s = max_pending, timeout_s
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._pending = 0
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def enqueue(self, scope: Scope, sessions: list[Session]) -> int:
        """Queue sessions for scoring; returns how many were queued (the rest are dropped, counted)."""
        if not sessions:
            return 0
        with self._lock:
            room = max(0, self.max_pending - self._pending)
            taken = sessions[:room]
            self._pending += len(taken)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="judgeloop-scoring", daemon=True)
                self._thread.start()
        if len(taken) < len(sessions):
            self.metrics.scoring.labels("dropped").inc(len(sessions) - len(taken))
            log.warning("scoring queue full: %d sessions not scored", len(sessions) - len(taken))
        if taken:
            self.metrics.scoring.labels("queued").inc(len(taken))
            self.metrics.scoring_queue.set(self._pending)
            self._queue.put(_Job(scope, taken))
        return len(taken)

    def pending(self) -> int:
        return self._pending

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until every queued session is scored (tests, shutdown); False on timeout."""
        deadline = time.monotonic() + timeout
        while self._pending and time.monotonic() < deadline:
            time.sleep(0.01)
        return not self._pending

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(5.0)

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            try:
                self._score(job)
            except Exception:
                log.exception("background scoring failed for project %s", job.scope.project)
                self.metrics.scoring.labels("failed").inc(len(job.sessions))
            finally:
                with self._lock:
                    self._pending -= len(job.sessions)
                self.metrics.scoring_queue.set(self._pending)

    def _score(self, job: _Job) -> None:
        try:
            model = self.cache.resolve(job.scope)
        except JudgeloopError as exc:
            log.warning("not scoring %d sessions of %s: %s", len(job.sessions), job.scope.project, exc)
            self.metrics.scoring.labels("failed").inc(len(job.sessions))
            return
        size = self.batcher.max_size
        for start in range(0, len(job.sessions), size):
            chunk = job.sessions[start : start + size]
            verdicts = self._verdicts(model, chunk)
            self.ws.add_verdicts(job.scope.project, verdicts)
            ok = sum(v.status == "ok" for v in verdicts)
            self.metrics.scoring.labels("scored").inc(ok)
            if ok < len(verdicts):
                self.metrics.scoring.labels("failed").inc(len(verdicts) - ok)

    def _verdicts(self, model: LoadedModel, sessions: list[Session]) -> list[Verdict]:
        started = time.perf_counter()
        pairs = [(s.model_input, s.model_output) for s in sessions]
        try:
            probabilities = self.batcher.submit(model, pairs, background=True).result(self.timeout_s)
        except Exception as exc:
            reason = f"{type(exc).__name__}: {exc}"[:500]
            for _ in sessions:
                self.metrics.observe_verdict(model.name, str(model.version), None, None, "sampled")
            return [model.error_verdict(reason, s.id) for s in sessions]
        seconds = time.perf_counter() - started
        out = []
        for s, p in zip(sessions, probabilities, strict=True):
            verdict = model.verdict(p, seconds, s.id)
            self.metrics.observe_verdict(model.name, str(model.version), verdict.label, seconds, "sampled")
            out.append(verdict)
        return out


__all__ = ["BackgroundScorer", "is_sampled"]
