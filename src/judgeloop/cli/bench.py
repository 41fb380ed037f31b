"""CLI commands: `judgeloop bench ...`, scoring public benchmarks.

`bench_app` is the `bench` sub-app; each benchmark adds one command to it below (keep one function per
command and one `bench_app.command(...)` line per benchmark so new ones merge cleanly).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from judgeloop.cli.bench_mtbench import mtbench_command
from judgeloop.cli.bench_winrate import winrate_command

console = Console()

bench_app = typer.Typer(
    name="bench",
    help="Score model outputs on public benchmarks (IFEval, AlpacaEval win rate, MT-Bench).",
    no_args_is_help=True,
)


def _write_json(path: Path, figures: dict[str, Any]) -> None:
    from judgeloop.io import atomic_write_text

    atomic_write_text(path, json.dumps(figures, indent=2) + "\n")
    console.print(f"wrote {path}")


# --- ifeval ---------------------------------------------------------------------------------------

_IFEVAL_ROWS = (
    ("prompt_strict", "prompt-level strict"),
    ("inst_strict", "instruction-level strict"),
    ("prompt_loose", "prompt-level loose"),
    ("inst_loose", "instruction-level loose"),
)


def ifeval_table(figures: dict[str, Any], source: str) -> Table:
    """The four IFEval figures as percentages."""
    table = Table(title="IFEval")
    table.add_column("metric")
    table.add_column("accuracy (%)", justify="right")
    for key, label in _IFEVAL_ROWS:
        table.add_row(label, f"{100 * figures[key]:.2f}")
    table.caption = f"{source}: {figures['n']} prompts, {figures['n_instructions']} instructions"
    return table


def ifeval_command(
    input_path: Annotated[
        Path,
        typer.Option("--input", help="IFEval input_data.jsonl: {key, prompt, instruction_id_list, kwargs}."),
    ],
    responses: Annotated[
        Path, typer.Option("--responses", help="JSONL of {prompt, response}, matched on the prompt text.")
    ],
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the figures (fractions 0-1) and breakdown as JSON.")
    ] = None,
) -> None:
    """IFEval prompt- and instruction-level accuracy, strict and loose (Zhou et al. 2023)."""
    from judgeloop.bench.ifeval import score_ifeval_files

    result = score_ifeval_files(input_path, responses)
    figures = result.as_dict()
    console.print(ifeval_table(figures, responses.name))
    if out is not None:
        _write_json(out, {**figures, "failures": result.failures_as_dicts()})


bench_app.command("ifeval")(ifeval_command)
bench_app.command("winrate")(winrate_command)
bench_app.command("mtbench")(mtbench_command)


def register(app: typer.Typer) -> None:
    """Add the `bench` sub-app to the main app."""
    app.add_typer(bench_app, name="bench")
