"""Factories for the close-the-loop tests: stores with timed verdicts, and a real local webhook server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
from sqlalchemy import select

from judgeloop.store import Workspace
from judgeloop.store.tables import LabelRow, ProjectRow, SessionRow, VerdictRow
from judgeloop.types import Session, content_hash

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


@dataclass
class Timed:
    """A verdict to store at a given time (the public add_verdicts stamps 'now')."""

    session: str
    at: datetime
    label: int | None
    evaluator: str = "judge"
    version: str | None = "1"
    probability: float | None = None
    score: float | None = None
    status: str = "ok"
    threshold: float | None = None
    rationale: str | None = None


def bulk_sessions(ws: Workspace, project: str, sessions: Sequence[Session]) -> None:
    """Insert many new sessions in one transaction (the public add_sessions checks each one)."""
    with ws.db() as db:
        pid = ws.project_id(db, project, create=True)
        db.add_all(
            SessionRow(
                project_id=pid,
                uid=s.id,
                model_input=s.model_input,
                model_output=s.model_output,
                meta=s.metadata,
                content_hash=content_hash(s.model_input, s.model_output),
            )
            for s in sessions
        )


def bulk_labels(ws: Workspace, project: str, labels: Sequence[tuple[str, bool, list[str]]]) -> None:
    """Insert binary labels (session id, good, failure tags) in one transaction."""
    with ws.db() as db:
        pid = ws.project_id(db, project)
        pks = dict(
            db.execute(select(SessionRow.uid, SessionRow.pk).where(SessionRow.project_id == pid))
            .tuples()
            .all()
        )
        db.add_all(
            LabelRow(
                project_id=pid,
                session_pk=pks[uid],
                reviewer="ana",
                kind="binary",
                good=good,
                failure_tags=tags,
            )
            for uid, good, tags in labels
        )


def add_timed(ws: Workspace, project: str, verdicts: Sequence[Timed], session_times: bool = True) -> None:
    """Store the verdicts at their times; with `session_times`, each session happened at its earliest
    verdict's time (as production traffic scored on arrival), since monitoring windows go by it."""
    with ws.db() as db:
        pid = db.scalar(select(ProjectRow.id).where(ProjectRow.name == project))
        pks = dict(
            db.execute(select(SessionRow.uid, SessionRow.pk).where(SessionRow.project_id == pid))
            .tuples()
            .all()
        )
        for v in verdicts:
            db.add(
                VerdictRow(
                    project_id=pid,
                    session_pk=pks[v.session],
                    evaluator=v.evaluator,
                    version=v.version,
                    label=v.label,
                    probability=v.probability,
                    score=v.score,
                    status=v.status,
                    threshold=v.threshold,
                    rationale=v.rationale,
                    created_at=v.at,
                )
            )
        if session_times:
            first: dict[str, datetime] = {}
            for v in verdicts:
                first[v.session] = min(first.get(v.session, v.at), v.at)
            for uid, at in first.items():
                db.get_one(SessionRow, pks[uid]).created_at = at


def stream_store(
    ws: Workspace,
    project: str = "p",
    hours: int = 60,
    per_hour: int = 60,
    pass_rate: float = 0.9,
    drop: tuple[int, int, float] | None = None,
    seed: int = 0,
    app_version: str | None = None,
) -> list[str]:
    """Hourly traffic judged by `judge`; `drop` = (first hour, last hour, new pass rate)."""
    rng = np.random.default_rng(seed)
    sessions, verdicts = [], []
    for h in range(hours):
        rate = drop[2] if drop and drop[0] <= h <= drop[1] else pass_rate
        for i in range(per_hour):
            uid = f"h{h}-{i}"
            meta: dict[str, Any] = {"tags": ["billing"] if i % 2 else ["shipping"]}
            if app_version:
                meta["app_version"] = app_version
            sessions.append(
                Session(id=uid, model_input=f"question {uid}", model_output=f"answer {uid}", metadata=meta)
            )
            good = int(rng.random() < rate)
            prob = float(np.clip(rng.normal(0.8 if good else 0.2, 0.1), 0.01, 0.99))
            at = T0 + timedelta(hours=h, minutes=int(rng.integers(0, 60)))
            verdicts.append(Timed(uid, at, good, probability=prob, score=prob))
    bulk_sessions(ws, project, sessions)
    add_timed(ws, project, verdicts)
    return [s.id or "" for s in sessions]


@dataclass
class Hook:
    url: str
    bodies: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200


@contextmanager
def webhook_server(status: int = 200) -> Iterator[Hook]:
    """A real HTTP server on 127.0.0.1 that records each JSON body POSTed to it."""
    hook = Hook(url="", status=status)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            length = int(self.headers.get("Content-Length", 0))
            hook.bodies.append(json.loads(self.rfile.read(length)))
            self.send_response(hook.status)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"ok" if hook.status < 400 else b"nope")

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    hook.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hook
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
