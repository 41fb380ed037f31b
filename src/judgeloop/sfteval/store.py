"""A run in the workspace (`judgeloop run --project P`): its sessions, its verdicts, and the human labels
that reviewers gave the same sessions.

A run's session is matched to a stored one by content (the same input and output), so the labels of a
session imported under its own id count too; a new session is stored under its content hash.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from judgeloop.sfteval.rows import RunRow
from judgeloop.store import Workspace, human_label
from judgeloop.store.tables import SessionRow
from judgeloop.types import Label, Verdict


def store_sessions(
    ws: Workspace, project: str, rows: Sequence[RunRow], meta: dict[str, Any]
) -> dict[str, str]:
    """Store the run's sessions (existing ones are reused); returns content hash -> stored session uid."""
    hashes = sorted({r.session_id for r in rows})
    with ws.db() as db:
        pid = ws.project_id(db, project, create=True)
        found = db.execute(
            select(SessionRow.content_hash, SessionRow.uid)
            .where(SessionRow.project_id == pid, SessionRow.content_hash.in_(hashes))
            .order_by(SessionRow.pk)
        ).tuples()
        uids: dict[str, str] = {}
        for digest, uid in found:
            uids.setdefault(digest, uid)
    new = {r.session_id: r for r in rows if r.session_id not in uids}
    sessions = []
    for digest, row in new.items():
        session = row.session().model_copy(update={"id": digest, "metadata": {**meta, "prompt_id": row.id}})
        sessions.append(session.model_copy(update={"source": "judgeloop run"}))
    ws.add_sessions(project, sessions)
    uids.update({digest: digest for digest in new})
    return uids


def store_verdicts(ws: Workspace, project: str, verdicts: Sequence[Verdict], uids: dict[str, str]) -> int:
    stored = [v.model_copy(update={"session_id": uids[v.session_id or ""]}) for v in verdicts]
    return ws.add_verdicts(project, stored)


def project_labels(ws: Workspace, project: str, uids: dict[str, str]) -> dict[str, int]:
    """Content hash -> the consensus human label (1 good, 0 bad) of the stored session, where it has one."""
    wanted = {uid: digest for digest, uid in uids.items()}
    by_session: dict[str, list[Label]] = defaultdict(list)
    for label in ws.labels(project, kind="binary"):
        if label.session_id in wanted:
            by_session[label.session_id].append(label)
    out = {}
    for uid, labels in by_session.items():
        good = human_label(labels)
        if good is not None:
            out[wanted[uid]] = int(good)
    return out
