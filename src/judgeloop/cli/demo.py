"""`judgeloop demo`: the end-to-end loop on the bundled e-commerce support data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.rule import Rule

out = Console()


def demo_command(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the demo's database and models.")] = Path(
        "demo-out"
    ),
    db: Annotated[
        str | None, typer.Option("--db", help="Database URL (default: a SQLite file in --out).")
    ] = None,
) -> None:
    """Run the loop on bundled data: import the labelled sessions and summarise them."""
    from judgeloop.assets import EXAMPLE_DATASET
    from judgeloop.cli.data import stats_command
    from judgeloop.io import read_dataset
    from judgeloop.store import Workspace

    out_dir.mkdir(parents=True, exist_ok=True)
    url = db or f"sqlite:///{(out_dir / 'judgeloop.db').resolve()}"
    ws = Workspace(url)
    out.print(Rule("1. import the bundled, human-labelled support-chatbot sessions"))
    report = ws.import_dataset("shop", read_dataset(EXAMPLE_DATASET))
    out.print(
        f"{EXAMPLE_DATASET.name}: {report.rows} rows, {report.new_sessions} new sessions, "
        f"{report.new_labels} new labels (database: {url})"
    )
    stats_command("shop", url)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo_command)
