"""CLI command: `judgeloop bench mtbench` (MT-Bench 1-10 single-answer grading of two-turn answers)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from judgeloop.errors import InvalidInput

console = Console()
err = Console(stderr=True)


def _beside(questions: Path | None, answers: Path, name: Path | str) -> Path | None:
    for folder in ([questions.parent] if questions else []) + [answers.parent]:
        if (folder / name).is_file():
            return folder / name
    return None


def _table(figures: dict[str, Any], source: str) -> Table:
    table = Table(title=f"MT-Bench: {source}")
    table.add_column("")
    table.add_column("mean rating (1-10)", justify="right")

    def cell(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.2f}"

    ci = figures["score_ci"]
    overall = cell(figures["score"]) + (
        f"  [{ci['low']:.2f}, {ci['high']:.2f}]" if ci and ci["n"] > 1 else ""
    )
    table.add_row("overall", overall)
    table.add_row("turn 1", cell(figures["turn_1"]))
    table.add_row("turn 2", cell(figures["turn_2"]))
    for category, value in figures["by_category"].items():
        table.add_row(f"  {category}", cell(value))
    table.caption = (
        f"{figures['n_questions']} questions, {figures['n_graded']} turns graded, "
        f"{figures['n_errors']} errors; judge {figures['judge']}"
    )
    return table


def mtbench_command(
    answers: Annotated[
        Path,
        typer.Option(
            "--answers", help="`judgeloop generate` output or FastChat model_answer JSONL (both turns)."
        ),
    ],
    judge_model: Annotated[
        str,
        typer.Option(
            "--judge-model", help="The judge: an OpenAI-compatible model, 'anthropic:NAME', 'local'."
        ),
    ],
    base_url: Annotated[str | None, typer.Option(help="OpenAI-compatible server URL (…/v1).")] = None,
    questions: Annotated[
        Path | None,
        typer.Option(help="MT-Bench question.jsonl (default: the turns and categories in --answers)."),
    ] = None,
    reference: Annotated[
        Path | None,
        typer.Option(
            help="Reference answers for math/reasoning/coding (default: reference_answer/gpt-4.jsonl "
            "beside --questions)."
        ),
    ] = None,
    judge_prompts: Annotated[
        Path | None, typer.Option(help="FastChat judge_prompts.jsonl (default: beside --questions).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the figures and every rating as JSON.")
    ] = None,
    max_tokens: Annotated[int, typer.Option(help="Tokens per judge reply.")] = 1024,
    concurrency: Annotated[int, typer.Option(help="Parallel calls to the judge.")] = 4,
    limit: Annotated[int | None, typer.Option(help="Only the first N answered questions.")] = None,
) -> None:
    """Grade each answer turn 1-10 with an LLM judge, as MT-Bench does (reference answers for math,
    reasoning and coding); prints the overall, per-turn and per-category mean ratings."""
    from judgeloop.bench import mtbench as mt
    from judgeloop.bench.mtbench_judge import load_judge_prompts
    from judgeloop.llm import make_client

    answer_turns, embedded = mt.load_answers(answers)
    qs = mt.load_questions(questions) if questions else embedded
    if not qs:
        raise InvalidInput(
            "no questions",
            file=str(answers),
            field="turns",
            expected="--questions question.jsonl, or answers that carry 'turns' and 'category'",
        )
    if limit:
        keep = [qid for qid in qs if qid in answer_turns][:limit]
        answer_turns = {qid: answer_turns[qid] for qid in keep}
        qs = {qid: qs[qid] for qid in keep}
    prompts_path = judge_prompts or _beside(questions, answers, mt.JUDGE_PROMPTS_FILE)
    if prompts_path is None:
        raise InvalidInput(
            "no judge prompts", field="judge_prompts", expected="--judge-prompts judge_prompts.jsonl"
        )
    reference_path = reference or _beside(questions, answers, mt.REFERENCE_FILE)
    references = mt.load_references(reference_path) if reference_path else {}
    client = make_client(judge_model, base_url, concurrency=concurrency)
    n_items = sum(
        min(len(q.turns), len(answer_turns[qid]), 2) for qid, q in qs.items() if qid in answer_turns
    )
    columns = (TextColumn("grading"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err) as bar:
        task = bar.add_task("grade", total=n_items)
        result = mt.grade_mt_bench(
            client,
            load_judge_prompts(prompts_path),
            qs,
            answer_turns,
            references,
            max_tokens=max_tokens,
            chunk=max(1, concurrency) * 2,
            on_progress=lambda n: bar.advance(task, n),
        )
    figures = result.as_dict()
    console.print(_table(figures, answers.name))
    if figures["missing_answers"]:
        err.print(f"{len(figures['missing_answers'])} questions have no answer and were not graded")
    if figures["missing_references"]:
        err.print(
            f"{len(figures['missing_references'])} math/reasoning/coding questions had no reference answer "
            "and were graded with the general template"
        )
    if out is not None:
        from judgeloop.io import atomic_write_text

        atomic_write_text(out, json.dumps(figures, indent=2, ensure_ascii=False) + "\n")
        console.print(f"wrote {out}")
