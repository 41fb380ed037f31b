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
        Path | None,
        typer.Option(
            "--annotations",
            help="AlpacaEval annotations.json: a list of {instruction, output_1, output_2, preference}.",
        ),
    ] = None,
    model_outputs: Annotated[
        Path | None,
        typer.Option(
            "--model-outputs",
            help="The model's model_outputs.json (a list of {instruction, output}) to judge.",
        ),
    ] = None,
    baseline: Annotated[
        Path | None,
        typer.Option("--baseline", help="The reference model_outputs.json the model is compared with."),
    ] = None,
    judge_model: Annotated[
        str, typer.Option(help="The pairwise judge: 'local', 'anthropic:NAME' or an OpenAI-compatible model.")
    ] = "local",
    base_url: Annotated[str | None, typer.Option(help="The judge's OpenAI-compatible URL (…/v1).")] = None,
    short: Annotated[
        bool, typer.Option("--short/--rationale", help="Ask the judge for the verdict only (small models).")
    ] = True,
    save_annotations_to: Annotated[
        Path | None, typer.Option("--annotations-out", help="Write the judged annotations here.")
    ] = None,
    limit: Annotated[int | None, typer.Option(help="Only the first N baseline instructions.")] = None,
    concurrency: Annotated[int, typer.Option(help="Parallel calls to the judge.")] = 4,
    out: Annotated[Path | None, typer.Option("--out", help="Write the figures as JSON to this file.")] = None,
    evaluator: Annotated[
        str | None,
        typer.Option(
            "--evaluator",
            help="A learned pairwise comparator (model directory or registry name[@version]) instead of "
            "an LLM judge; a pointwise evaluator compares the two P(good).",
        ),
    ] = None,
    db: Annotated[str | None, typer.Option("--db", help="Database URL for --evaluator NAME.")] = None,
) -> None:
    """Win rate of output_2 (the model) against output_1 (the baseline), as AlpacaEval computes it:
    from existing annotations (--annotations), or by judging --model-outputs against --baseline with a
    pairwise LLM judge in both orders."""
    from judgeloop.bench.winrate import compute_winrate, save_annotations, winrate_from_file
    from judgeloop.errors import InvalidInput
    from judgeloop.io import atomic_write_text

    if evaluator is not None and annotations is not None:
        raise InvalidInput("--evaluator judges --model-outputs against --baseline", field="evaluator")
    judging = model_outputs is not None or baseline is not None
    if annotations is not None and judging:
        raise InvalidInput(
            "give either --annotations or --model-outputs with --baseline, not both", field="annotations"
        )
    if annotations is not None:
        figures = winrate_from_file(annotations).as_dict()
        title = annotations.name
    elif model_outputs is not None and baseline is not None:
        judged = (
            _compare(model_outputs, baseline, evaluator, db, limit)
            if evaluator is not None
            else _judge(model_outputs, baseline, judge_model, base_url, short, limit, concurrency)
        )
        if save_annotations_to is not None:
            save_annotations(judged, save_annotations_to)
            console.print(f"wrote {save_annotations_to}")
        figures = compute_winrate(judged).as_dict()
        figures["judge"] = judged[0]["annotator"] if judged else judge_model
        figures["n_judge_errors"] = sum(1 for a in judged if a["error"])
        title = f"{model_outputs.name} vs {baseline.name}, judged by {figures['judge']}"
    else:
        raise InvalidInput(
            "nothing to score",
            field="annotations",
            expected="--annotations FILE, or --model-outputs FILE with --baseline FILE",
        )
    table = Table(title=f"Win rate: {title}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, name in _ROWS:
        table.add_row(name, _cell(figures[key]))
    console.print(table)
    if out is not None:
        atomic_write_text(out, json.dumps(figures, indent=2) + "\n")
        console.print(f"wrote {out}")


def _compare(
    model_outputs: Path, baseline: Path, evaluator: str, db: str | None, limit: int | None
) -> list[dict]:
    from judgeloop.bench.winrate import load_model_outputs
    from judgeloop.bench.winrate_learned import comparator_annotations
    from judgeloop.evaluators.pairwise_learned import load_comparator

    comparator = load_comparator(evaluator, db=db, pointwise=True)
    return comparator_annotations(
        load_model_outputs(baseline), load_model_outputs(model_outputs), comparator, limit=limit
    )


def _judge(
    model_outputs: Path,
    baseline: Path,
    judge_model: str,
    base_url: str | None,
    short: bool,
    limit: int | None,
    concurrency: int,
) -> list[dict]:
    from judgeloop.bench.winrate import judge_annotations, load_model_outputs
    from judgeloop.judging import PairwiseJudge
    from judgeloop.llm import make_client

    base = load_model_outputs(baseline)
    model = load_model_outputs(model_outputs)
    runner = make_client(judge_model, base_url, concurrency=concurrency)
    judge = PairwiseJudge(runner, short=short, max_tokens=16 if short else 512)
    return judge_annotations(base, model, judge, limit=limit)
