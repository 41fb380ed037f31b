"""Export of the labelled set from the review UI: the same rows and formats as `judgeloop export`
(judgeloop.interop.labelled.export_records and judgeloop.io.write_records), with undone labels left out."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from judgeloop.store import Workspace
from judgeloop.store.labels import live_labels
from judgeloop.types import Label, Session

ExportFormat = Literal["full", "seed"]
FILE_TYPES = {
    "csv": "text/csv",
    "jsonl": "application/x-ndjson",
    "json": "application/json",
    "parquet": "application/octet-stream",
}


class LiveView:
    """The part of a Workspace that export_records reads, seeing only live labels."""

    def __init__(self, ws: Workspace) -> None:
        self._ws = ws

    def labels(self, project: str, kind: str | None = None) -> list[Label]:
        return live_labels(self._ws.labels(project, kind))

    def sessions(
        self,
        project: str,
        ids: Sequence[str] | None = None,
        limit: int | None = None,
        *,
        labelled: bool = False,
    ) -> list[Session]:
        return self._ws.sessions(project, ids, limit, labelled=labelled)  # `labelled`: any label, live or not


def export_labelled(ws: Workspace, project: str, fmt: ExportFormat, path: Path) -> Path:
    """Write the project's labelled sessions to `path` (.csv, .jsonl, .json or .parquet)."""
    from judgeloop.interop.labelled import export_records
    from judgeloop.io import write_records

    rows, columns = export_records(LiveView(ws), project, fmt)
    write_records(rows, path, columns)
    return path


__all__ = ["FILE_TYPES", "LiveView", "export_labelled"]
