"""CLI command: `judgeloop agreement --evaluator X --project P`."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from judgeloop.cli.options import DbOption, ProjectOption

out = Console()


def agreement_command(
    evaluator: Annotated[str, typer.Option("--evaluator", "-e", help="Evaluator name or name@version.")],
    project: ProjectOption,
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the full report as JSON.")] = False,
    include_train: Annotated[
        bool,
        typer.Option("--include-train", help="Also count the sessions the evaluator trained on (labelled)."),
    ] = False,
) -> None:
    """Agreement of an evaluator's stored verdicts with the human labels, with bootstrap 95% CIs, on the
    sessions it did not train on (default) or on all of them (--include-train)."""
    from judgeloop.agreement.evaluators import evaluator_agreement
    from judgeloop.agreement.heldout import describe
    from judgeloop.store import Workspace

    report = evaluator_agreement(Workspace(db), project, evaluator, include_train=include_train)
    if as_json:
        typer.echo(json.dumps(report, indent=2, default=str))
        return
    out.print(
        f"[bold]{evaluator}[/] vs humans on project [bold]{project}[/]: {describe(report)}, "
        f"{report['errors']} error verdicts (counted, not dropped)"
    )
    table = Table("statistic", "value", "95% CI", "n")
    for section in ("binary", "score_vs_good", "pairwise"):
        for key, est in report.get(section, {}).items():
            _row(table, f"{section}.{key}", est)
    for criterion, block in report.get("criteria", {}).items():
        for key, est in block.items():
            _row(table, f"{criterion}.{key}", est)
    out.print(table)


def _row(table: Table, name: str, est: Any) -> None:
    if isinstance(est, dict) and "value" in est:
        table.add_row(name, f"{est['value']:.3f}", f"[{est['low']:.3f}, {est['high']:.3f}]", str(est["n"]))
    elif isinstance(est, float):
        table.add_row(name, f"{est:.3f}", "", "")


def register(app: typer.Typer) -> None:
    app.command("agreement")(agreement_command)
