"""CLI command: `judgeloop bench winrate` (AlpacaEval-style win rate of an annotations.json)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

console = Console()

_ROWS = (
    ("win_rate", "win rate (%)"),
    ("standard_error", "standard error"),
    ("discrete_win_rate", "discrete win rate (%)"),
    ("n_wins", "model wins"),
    ("n_wins_base", "baseline wins"),
    ("n_draws", "draws"),
    ("n_total", "annotations counted"),
    ("n_missing", "missing preferences"),
    ("avg_length", "avg model output length (chars)"),
)


def _cell(value: object) -> str:
    if value is None:
        return "n/a"
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def winrate_command(
    annotations: Annotated[
        Path,
        typer.Option(
            "--annotations",
            help="AlpacaEval annotations.json: a list of {instruction, output_1, output_2, preference}.",
        ),
    ],
    out: Annotated[Path | None, typer.Option("--out", help="Write the figures as JSON to this file.")] = None,
) -> None:
    """Win rate of output_2 (the model) against output_1 (the baseline), as AlpacaEval computes it."""
    from judgeloop.benchmarks.winrate import winrate_from_file

    figures = winrate_from_file(annotations).as_dict()
    table = Table(title=f"Win rate: {annotations.name}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, title in _ROWS:
        table.add_row(title, _cell(figures[key]))
    console.print(table)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
        console.print(f"wrote {out}")
