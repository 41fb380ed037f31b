"""Options shared by many commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import typer

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Database URL (default: $JUDGELOOP_DB, else sqlite:///./judgeloop.db).",
        show_default=False,
    ),
]
ProjectOption = Annotated[str, typer.Option("--project", "-p", help="Project name.")]
OnErrorOption = Annotated[
    Literal["raise", "skip"],
    typer.Option(
        "--on-error",
        help="raise: refuse the whole file at the first bad row (default); "
        "skip: use the valid rows and write the bad ones to --rejects.",
    ),
]
RejectsOption = Annotated[
    Path | None,
    typer.Option(help="--on-error skip: where to write rejected rows (default: ./<file>.rejects.jsonl)."),
]


def rejects_path(data: Path, rejects: Path | None) -> Path:
    return rejects or Path.cwd() / f"{data.name}.rejects.jsonl"


def report_rows(dataset: Any, data: Path, rejects: Path | None) -> str:
    """One line on empty outputs and rejected rows (written to the rejects file first), or ''."""
    from judgeloop.io import write_rejects

    parts = []
    if dataset.empty_outputs:
        parts.append(f"{dataset.empty_outputs} rows with an empty model output (kept: real sessions)")
    if dataset.rejects:
        target = rejects_path(data, rejects)
        write_rejects(dataset.rejects, target)
        parts.append(f"{len(dataset.rejects)} invalid rows skipped (written to {target})")
    return "; ".join(parts)


RayAddressOption = Annotated[
    str | None,
    typer.Option(help="--engine ray: a running Ray cluster (default: start a local Ray runtime)."),
]
RayWorkersOption = Annotated[
    int | None, typer.Option(min=1, help="--engine ray: Ray actors (default: one per core).")
]
