"""Options shared by many commands."""

from __future__ import annotations

from typing import Annotated

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
