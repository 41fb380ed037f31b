"""Imports of any size: rows stream through in bounded batches, all or nothing for the user.

1. **Stage.** Rows arrive one at a time (judgeloop.io.stream_dataset) and are checked and written in
   batches of `batch` rows, each batch its own short transaction, into the staging tables
   `import_sessions` / `import_labels` under a fresh import id. No reader looks at those tables, so a
   half-staged import is invisible; on SQLite the write lock is free between batches, so the API keeps
   labelling. Each batch checks its ids against the project (a known id with other content is a
   Conflict), against what is already staged (a repeated declared id is an error naming both rows)
   and drops labels that are already stored. Every query binds at most `batch` parameters.
2. **Publish.** One transaction moves the staged rows into `sessions` and `labels` with
   `INSERT ... SELECT` (no parameters per row) and deletes them from staging.

Any error (or an interrupt) deletes the import's staged rows; a process killed outright leaves rows
that the next import deletes once they are a day old. Memory and parameter counts stay constant
whatever the file size.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Table, delete, exists, func, insert, literal, select
from sqlalchemy.orm import Session as DB

from judgeloop.errors import Conflict, InvalidInput
from judgeloop.io import ImportedRow, Reject
from judgeloop.store.tables import ImportLabelRow, ImportSessionRow, LabelRow, ProjectRow, SessionRow
from judgeloop.types import content_hash, utcnow

if TYPE_CHECKING:
    from judgeloop.store.workspace import ImportReport, Workspace

BATCH = 1000
STALE = timedelta(days=1)


def label_key(label: Any) -> str:
    """What makes two labels the same (re-importing a file adds nothing)."""
    parts = (
        label.reviewer,
        label.kind,
        label.good,
        repr(label.scores),
        label.choice,
        tuple(label.failure_tags),
        label.comment,
    )
    return hashlib.sha256(repr(parts).encode("utf-8")).hexdigest()


class _Import:
    def __init__(
        self,
        ws: Workspace,
        project: str,
        file: str,
        id_field: str | None,
        report: ImportReport,
        on_reject: Callable[[Reject], None] | None,
    ):
        self.ws, self.project, self.file, self.id_field = ws, project, file, id_field
        self.report, self.on_reject = report, on_reject
        self.id = uuid.uuid4().hex
        with ws.reader() as db:
            self.pid: int | None = db.scalar(select(ProjectRow.id).where(ProjectRow.name == project))

    # --- stage ---------------------------------------------------------------------------------

    def stage(self, batch: list[ImportedRow]) -> None:
        uids = list(dict.fromkeys(_uid(r) for r in batch))
        with self.ws.db() as db:
            staged = self._staged(db, uids)
            stored = self._stored(db, uids)
            have = self._label_keys(db, uids, stored)
            sessions, labels = [], []
            for item in batch:
                uid, digest = _uid(item), _digest(item)
                try:
                    new = self._is_new(item, uid, digest, staged, stored)
                except InvalidInput as exc:  # a repeated declared id
                    if self.on_reject is None:
                        raise
                    self.on_reject(Reject(item.row, exc.field, exc.message, item.record or {}))
                    self.report.rows -= 1
                    continue
                if new:
                    staged[uid] = (item.row, digest)
                    sessions.append(self._session(item, uid, digest))
                if item.label is not None:
                    key = label_key(item.label)
                    if (uid, key) in have:
                        self.report.skipped_labels += 1
                        continue
                    have.add((uid, key))
                    labels.append(self._label(item, uid, key))
            if sessions:
                db.execute(insert(ImportSessionRow), sessions)
            if labels:
                db.execute(insert(ImportLabelRow), labels)
        self.report.rows += len(batch)

    def _staged(self, db: DB, uids: list[str]) -> dict[str, tuple[int, str]]:
        q = select(ImportSessionRow.uid, ImportSessionRow.row, ImportSessionRow.content_hash).where(
            ImportSessionRow.import_id == self.id, ImportSessionRow.uid.in_(uids)
        )
        return {uid: (row, digest) for uid, row, digest in db.execute(q)}

    def _stored(self, db: DB, uids: list[str]) -> dict[str, tuple[int, str]]:
        if self.pid is None:
            return {}
        q = select(SessionRow.uid, SessionRow.pk, SessionRow.content_hash).where(
            SessionRow.project_id == self.pid, SessionRow.uid.in_(uids)
        )
        return {uid: (pk, digest) for uid, pk, digest in db.execute(q)}

    def _label_keys(
        self, db: DB, uids: list[str], stored: dict[str, tuple[int, str]]
    ) -> set[tuple[str, str]]:
        from judgeloop.store.workspace import label_from_row

        have = {
            (uid, key)
            for uid, key in db.execute(
                select(ImportLabelRow.uid, ImportLabelRow.label_key).where(
                    ImportLabelRow.import_id == self.id, ImportLabelRow.uid.in_(uids)
                )
            )
        }
        if stored:
            uid_of = {pk: uid for uid, (pk, _) in stored.items()}
            for row in db.scalars(select(LabelRow).where(LabelRow.session_pk.in_(list(uid_of)))):
                uid = uid_of[row.session_pk]
                have.add((uid, label_key(label_from_row(row, uid))))
        return have

    def _is_new(
        self,
        item: ImportedRow,
        uid: str,
        digest: str,
        staged: dict[str, tuple[int, str]],
        stored: dict[str, tuple[int, str]],
    ) -> bool:
        if uid in stored:
            if stored[uid][1] != digest:
                raise Conflict(
                    f"{self.file}: row {item.row}: session id {uid!r} already exists in this project with "
                    "different input/output (ids must identify one session)"
                )
            self.report.existing_sessions += 1
            return False
        if uid in staged:
            first, first_digest = staged[uid]
            if self.id_field:
                raise InvalidInput(
                    f"duplicate id {uid!r} (first on row {first})",
                    file=self.file,
                    row=item.row,
                    field=self.id_field,
                    expected="unique ids",
                )
            if first_digest != digest:
                raise Conflict(
                    f"{self.file}: row {item.row}: session id {uid!r} repeats row {first} with other content"
                )
            self.report.existing_sessions += 1
            return False
        return True

    def _session(self, item: ImportedRow, uid: str, digest: str) -> dict[str, Any]:
        s = item.session
        now = utcnow()
        return {
            "import_id": self.id,
            "row": item.row,
            "uid": uid,
            "model_input": s.model_input,
            "model_output": s.model_output,
            "output_b": s.output_b,
            "reference": s.reference,
            "meta": s.metadata,
            "source": s.source,
            "content_hash": digest,
            "created_at": s.created_at or now,
            "staged_at": now,
        }

    def _label(self, item: ImportedRow, uid: str, key: str) -> dict[str, Any]:
        label = item.label
        assert label is not None
        now = utcnow()
        return {
            "import_id": self.id,
            "row": item.row,
            "uid": uid,
            "label_key": key,
            "reviewer": label.reviewer,
            "kind": label.kind,
            "good": label.good,
            "scores": label.scores,
            "choice": label.choice,
            "failure_tags": list(label.failure_tags),
            "comment": label.comment,
            "meta": label.metadata,
            "created_at": label.created_at or now,
            "staged_at": now,
        }

    # --- publish -------------------------------------------------------------------------------

    def publish(self) -> None:
        with self.ws.db() as db:
            pid = self.ws.project_id(db, self.project, create=True)
            self.report.new_sessions = self._publish_sessions(db, pid)
            self.report.new_labels = self._publish_labels(db, pid)
            self._drop(db)

    def _publish_sessions(self, db: DB, pid: int) -> int:
        st, t = ImportSessionRow.__table__, cast(Table, SessionRow.__table__)
        names = ["uid", "model_input", "model_output", "output_b", "reference", "metadata", "source"]
        names += ["content_hash", "created_at"]
        query = (
            select(literal(pid), *[st.c[n] for n in names])
            .where(st.c.import_id == self.id)
            .where(~exists().where(t.c.project_id == pid, t.c.uid == st.c.uid))
            .order_by(st.c.row)
        )
        count = _rows(db, query)  # (rowcount of INSERT ... SELECT is -1 on some drivers)
        db.execute(insert(t).from_select([t.c.project_id, *[t.c[n] for n in names]], query))
        return count

    def _publish_labels(self, db: DB, pid: int) -> int:
        il, t, s = ImportLabelRow.__table__, cast(Table, LabelRow.__table__), SessionRow.__table__
        names = ["reviewer", "kind", "good", "scores", "choice", "failure_tags", "comment", "metadata"]
        names += ["created_at"]
        query = (
            select(literal(pid), s.c.pk, *[il.c[n] for n in names])
            .join(s, (s.c.project_id == pid) & (s.c.uid == il.c.uid))
            .where(il.c.import_id == self.id)
            .order_by(il.c.row, il.c.id)
        )
        cols = [t.c.project_id, t.c.session_pk, *[t.c[n] for n in names]]
        count = _rows(db, query)
        db.execute(insert(t).from_select(cols, query))
        return count

    def _drop(self, db: DB) -> None:
        db.execute(delete(ImportSessionRow).where(ImportSessionRow.import_id == self.id))
        db.execute(delete(ImportLabelRow).where(ImportLabelRow.import_id == self.id))

    def abandon(self) -> None:
        with self.ws.db() as db:
            self._drop(db)


def _rows(db: DB, query: Any) -> int:
    return int(db.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0)


def _uid(item: ImportedRow) -> str:
    s = item.session
    return s.id or _digest(item)


def _digest(item: ImportedRow) -> str:
    s = item.session
    return content_hash(s.model_input, s.model_output, s.output_b)


def _clear_stale(ws: Workspace) -> None:
    cutoff = utcnow() - STALE
    with ws.db() as db:
        db.execute(delete(ImportSessionRow).where(ImportSessionRow.staged_at < cutoff))
        db.execute(delete(ImportLabelRow).where(ImportLabelRow.staged_at < cutoff))


def import_rows(
    ws: Workspace,
    project: str,
    rows: Iterable[ImportedRow | Reject],
    *,
    file: str,
    id_field: str | None = None,
    on_reject: Callable[[Reject], None] | None = None,
    batch: int = BATCH,
) -> ImportReport:
    """Stage `rows` in batches, then publish them in one transaction (module docstring). With
    `on_reject`, rejected rows (and repeated declared ids) go there instead of failing the import."""
    from judgeloop.store.workspace import ImportReport

    _clear_stale(ws)
    job = _Import(ws, project, file, id_field, ImportReport(project, 0, 0, 0, 0, 0), on_reject)
    pending: list[ImportedRow] = []
    try:
        for item in rows:
            if isinstance(item, Reject):
                if on_reject is None:
                    raise InvalidInput(item.reason, file=file, row=item.row, field=item.field)
                on_reject(item)
                continue
            pending.append(item)
            if len(pending) >= batch:
                job.stage(pending)
                pending = []
        if pending:
            job.stage(pending)
        if job.report.rows == 0:
            raise InvalidInput("no valid rows to import", file=file, expected="at least one valid row")
        job.publish()
    except BaseException:
        job.abandon()
        raise
    return job.report


__all__ = ["BATCH", "import_rows", "label_key"]
