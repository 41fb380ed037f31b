"""CLI commands: `judgeloop run` (generate from the SFT model, evaluate with every method, compare with
the humans) and `judgeloop report` (one HTML or JSON comparison of a run's methods)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from judgeloop.cli.options import DbOption
from judgeloop.errors import InvalidInput

out = Console()
err = Console(stderr=True)


@contextmanager
def _tracker() -> Iterator[Callable[[str, int], Callable[[int], None]]]:
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err) as bar:

        def track(label: str, total: int) -> Callable[[int], None]:
            task = bar.add_task(label, total=total)
            return lambda n: bar.advance(task, n)

        yield track


def results_table(results: dict[str, Any]) -> Table:
    from judgeloop.stats import fmt_ci

    table = Table(title=f"{results['run']['model']}: {results['run']['n']} prompts")
    for name in ("method", "mean score [95% CI]", "pass rate", "ok/err", "agreement with humans"):
        table.add_column(name)
    for m in results["methods"]:
        agreement = m.get("agreement") or {}
        headline = agreement.get("headline")
        agree = "-"
        if headline:
            agree = f"{headline['metric']} {fmt_ci(headline)} (n={agreement['n']}{_rows(agreement)})"
        table.add_row(
            m["name"], fmt_ci(m["score"]), fmt_ci(m.get("pass_rate")), f"{m['n_ok']}/{m['n_errors']}", agree
        )
    human = results["human"]
    if human["n_labelled"]:
        table.caption = f"{human['n_labelled']} human labels, pass rate {fmt_ci(human['pass_rate'])}"
    return table


def _rows(agreement: dict[str, Any]) -> str:
    if agreement.get("rows") == "including training rows":
        return f", incl. {agreement.get('training_rows_included', 0)} training rows"
    k = agreement.get("training_rows_excluded") or 0
    return f", held-out: {k} training rows left out" if k else ""


def run_command(
    model: Annotated[
        str, typer.Option(help="The model under test: 'local', a folder, a .gguf file, a hub id.")
    ],
    prompts: Annotated[
        Path,
        typer.Option(
            help="JSONL/JSON/CSV of prompts (prompt/instruction/turns), optional reference, "
            "good, instruction_id_list+kwargs, response."
        ),
    ],
    out_dir: Annotated[Path, typer.Option("--out", help="Run folder: responses.jsonl, results.json.")],
    references_col: Annotated[
        str, typer.Option("--references-col", help="The prompts column with the reference answer.")
    ] = "reference",
    reference: Annotated[
        Path | None, typer.Option("--reference", help="A file of reference answers by prompt id.")
    ] = None,
    label_col: Annotated[str, typer.Option(help="The prompts column with human good/bad labels.")] = "good",
    checks: Annotated[Path | None, typer.Option(help="A YAML file of programmatic checks.")] = None,
    judge_model: Annotated[
        str | None, typer.Option(help="An LLM judge: an OpenAI-compatible model, 'anthropic:NAME', 'local'.")
    ] = None,
    rubric: Annotated[str, typer.Option(help="The judge's rubric: a built-in name or a YAML file.")] = "seed",
    base_url: Annotated[str | None, typer.Option(help="The judge's OpenAI-compatible URL (…/v1).")] = None,
    evaluator: Annotated[
        str | None, typer.Option(help="A learned evaluator: a model folder or name[@version].")
    ] = None,
    project: Annotated[
        str | None, typer.Option("--project", "-p", help="Store sessions and verdicts; use its human labels.")
    ] = None,
    db: DbOption = None,
    limit: Annotated[int | None, typer.Option(help="Only the first N prompts.")] = None,
    max_new_tokens: Annotated[int, typer.Option(help="Tokens to generate per turn.")] = 256,
    temperature: Annotated[float, typer.Option(help="0 = greedy.")] = 0.0,
    seed: Annotated[int, typer.Option(help="Sampling seed.")] = 0,
    batch_size: Annotated[int, typer.Option(help="Prompts per generate() call.")] = 8,
    concurrency: Annotated[int, typer.Option(help="Parallel calls to the judge.")] = 4,
    include_train: Annotated[
        bool,
        typer.Option(
            "--include-train", help="Count the rows the learned evaluator trained on in its agreement."
        ),
    ] = False,
) -> None:
    """Generate responses from the model under test (resumable), evaluate them with every method that
    applies, side by side, and measure each method against the human labels where there are some."""
    from judgeloop.generation import GenerationConfig
    from judgeloop.sfteval.run import RunOptions, run_evaluation

    opts = RunOptions(
        model=model,
        prompts=prompts,
        out_dir=out_dir,
        generation=GenerationConfig(
            max_new_tokens=max_new_tokens, temperature=temperature, seed=seed, batch_size=batch_size
        ),
        limit=limit,
        references_col=references_col,
        reference_file=reference,
        label_col=label_col,
        checks=checks,
        judge_model=judge_model,
        rubric=rubric,
        base_url=base_url,
        concurrency=concurrency,
        evaluator=evaluator,
        project=project,
        db=db,
        include_train=include_train,
    )
    with _tracker() as track:
        results = run_evaluation(opts, track)
    out.print(results_table(results))
    out.print(
        f"wrote {out_dir / 'results.json'}; `judgeloop report {out_dir} --out report.html` compares them"
    )


def report_command(
    run_dir: Annotated[
        Path, typer.Argument(help="A folder written by `judgeloop run` (or its results.json).")
    ],
    out_path: Annotated[Path | None, typer.Option("--out", help="The report file (default: print).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="html or json.")] = "html",
    worst: Annotated[int, typer.Option(help="Lowest-scored rows shown per method.")] = 3,
) -> None:
    """Compare a run's methods: scores with CIs, agreement with humans, a chart, the worst cases."""
    from judgeloop.io import atomic_write_text
    from judgeloop.sfteval.report import build_report, load_results

    if fmt not in ("html", "json"):
        raise InvalidInput(f"unknown format {fmt!r}", field="format", expected="html or json")
    report = build_report(load_results(run_dir), worst=worst)
    if fmt == "json":
        text = json.dumps(report, indent=1, ensure_ascii=False) + "\n"
    else:
        from judgeloop.sfteval.report_html import render_html

        text = render_html(report)
    if out_path is None:
        typer.echo(text, nl=False)
        return
    atomic_write_text(out_path, text)
    out.print(f"wrote {out_path}")


def register(app: typer.Typer) -> None:
    app.command("run")(run_command)
    app.command("report")(report_command)
