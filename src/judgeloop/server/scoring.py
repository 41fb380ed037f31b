"""Background scoring of sampled production sessions, off the request path.

`POST /v1/sessions` stores sessions and, in the same transaction, queues the sampled ones in the
database (judgeloop.store.scoring_queue). A worker thread claims queued sessions in batches, scores them
with the project's default evaluator on the shared inference thread (after any waiting guardrail
request) and stores each verdict in the transaction that marks its item done. Several servers on one
PostgreSQL database share the queue: a batch is claimed by one of them, and a claim older than
`claim_timeout_s` (its server died) is taken over, so every sampled session gets exactly one verdict.
A model that fails gives `status="error"` verdicts, never silence; a project with no evaluator to use
keeps its items, tried again after the claim timeout. When `max_pending` sessions wait, new ones are not
queued (still stored), counted as dropped in /metrics.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy.orm import Session as DB

from judgeloop.errors import JudgeloopError
from judgeloop.server.batcher import Batcher
from judgeloop.server.catalog import Scope
from judgeloop.server.metrics import ServerMetrics
from judgeloop.server.model_cache import LoadedModel, ModelCache
from judgeloop.store import Workspace, scoring_queue
from judgeloop.store.scoring_queue import Claimed
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


class BackgroundScorer:
    """The worker thread of one server (see the module docstring); `owner` names its claims."""

    def __init__(
        self,
        ws: Workspace,
        cache: ModelCache,
        batcher: Batcher,
        metrics: ServerMetrics,
        *,
        max_pending: int = 10_000,
        timeout_s: float = 300.0,
        claim_timeout_s: float = 60.0,
        poll_s: float = 1.0,
        claim_size: int = 64,
    ) -> None:
        self.ws, self.cache, self.batcher, self.metrics = ws, cache, batcher, metrics
        self.max_pending, self.timeout_s = max_pending, timeout_s
        self.claim_timeout_s, self.poll_s, self.claim_size = claim_timeout_s, poll_s, claim_size
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    # --- queueing (request path) ------------------------------------------------------------------

    def queue(self, db: DB, project_id: int, sessions: Sequence[Session]) -> tuple[int, int]:
        """Queue sessions in the caller's transaction; returns (queued, dropped). Call `queued` after
        the commit."""
        return scoring_queue.add(db, project_id, [s.id or "" for s in sessions], max_pending=self.max_pending)

    def queued(self, queued: int, dropped: int) -> None:
        """Count a committed `queue` call and wake the worker."""
        if dropped:
            self.metrics.scoring.labels("dropped").inc(dropped)
            log.warning("scoring queue full: %d sessions not scored", dropped)
        if queued:
            self.metrics.scoring.labels("queued").inc(queued)
            self.start()
            self._wake.set()

    def pending(self) -> int:
        """Sessions queued and not scored yet, by any server on this database."""
        return scoring_queue.pending(self.ws)

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until no queued session is left unscored (tests, shutdown); False on timeout."""
        deadline = time.monotonic() + timeout
        while self.pending() and time.monotonic() < deadline:
            time.sleep(0.05)
        return not self.pending()

    # --- the worker ------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the worker (at server start, so a backlog left by a stopped server is scored)."""
        with self._lock:
            if self._thread is None and not self._stop.is_set():
                self._thread = threading.Thread(target=self._run, name="judgeloop-scoring", daemon=True)
                self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(5.0)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                items = scoring_queue.claim(self.ws, self.owner, self.claim_size, self.claim_timeout_s)
                if items:
                    self._score(items)
                    self.metrics.scoring_queue.set(self.pending())
            except Exception:
                log.exception("background scoring failed; its claims are taken over after the timeout")
                items = []
            if not items:
                self._wake.wait(self.poll_s)

    def _score(self, items: list[Claimed]) -> None:
        by_project: dict[tuple[str, int], list[Claimed]] = defaultdict(list)
        for item in items:
            by_project[(item.project, item.project_id)].append(item)
        for (project, project_id), group in by_project.items():
            try:
                model = self.cache.resolve(Scope(project, project_id))
            except JudgeloopError as exc:
                log.warning(
                    "not scoring %d sessions of %s now (again in %.0f s): %s",
                    len(group),
                    project,
                    self.claim_timeout_s,
                    exc,
                )
                continue
            size = self.batcher.max_size
            for start in range(0, len(group), size):
                if self._stop.is_set():
                    return  # the rest is taken over after the claim timeout
                chunk = group[start : start + size]
                verdicts = self._verdicts(model, [c.session for c in chunk])
                stored = scoring_queue.finish(self.ws, self.owner, list(zip(chunk, verdicts, strict=True)))
                ok = sum(v.status == "ok" for v in verdicts)
                self.metrics.scoring.labels("scored").inc(min(ok, stored))
                if stored > ok:
                    self.metrics.scoring.labels("failed").inc(stored - ok)
                if stored < len(chunk):
                    log.info("%d sessions were taken over by another server", len(chunk) - stored)

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
