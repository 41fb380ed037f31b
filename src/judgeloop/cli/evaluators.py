"""CLI commands: `judgeloop evaluators list|show|promote|rollback` (the registry)."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from judgeloop.cli.options import DbOption

out = Console()
evaluators_app = typer.Typer(
    help="Versions of trained evaluators: list, show, promote (gated), rollback.", no_args_is_help=True
)


def _metric(metrics: dict, key: str) -> str:  # type: ignore[type-arg]
    """'0.875 [0.625, 1.000]': the held-out value with its bootstrap 95% CI, '-' when missing."""
    from judgeloop.stats import fmt_ci

    value = metrics.get(key)
    if isinstance(value, dict):
        return fmt_ci(value) if value.get("value") is not None else "-"
    return "-" if value is None else f"{value:.3f}"


def _n(metrics: dict) -> str:  # type: ignore[type-arg]
    """How many held-out rows the metrics were measured on."""
    for key in ("accuracy", "kappa", "roc_auc"):
        value = metrics.get(key)
        if isinstance(value, dict) and value.get("n") is not None:
            return str(int(value["n"]))
    return "-"


@evaluators_app.command("list")
def list_command(
    name: Annotated[str | None, typer.Argument(help="Only this evaluator.")] = None, db: DbOption = None
) -> None:
    """Every version with its status and held-out metrics (n rows, value [95% CI])."""
    from judgeloop.registry import list_versions
    from judgeloop.store import Workspace

    table = Table(title="evaluators (held-out metrics: value [95% CI] on n rows)")
    table.add_column("evaluator", no_wrap=True)
    for col in ("status", "method"):
        table.add_column(col)
    for col in ("n", "accuracy [95% CI]", "kappa [95% CI]", "roc_auc"):
        table.add_column(col, no_wrap=True)  # a figure is never split from its interval
    table.add_column("created")
    for v in list_versions(Workspace(db), name):
        m = v.metrics.get("heldout", v.metrics)
        style = "bold green" if v.status == "champion" else None
        table.add_row(
            v.ref,
            v.status,
            v.method or "-",
            _n(m),
            _metric(m, "accuracy"),
            _metric(m, "kappa"),
            _metric(m, "roc_auc").split(" [")[0],
            (v.created_at or "")[:10],
            style=style,
        )
    # piped output is not cut to 80 columns: every row keeps its figures with their intervals
    (out if out.is_terminal else Console(width=160)).print(table)


@evaluators_app.command("show")
def show_command(
    ref: Annotated[str, typer.Argument(help="name (the champion) or name@version")], db: DbOption = None
) -> None:
    """A version's details, metrics and promotion history as JSON."""
    from dataclasses import asdict

    from judgeloop.registry import get_version, history
    from judgeloop.store import Workspace

    ws = Workspace(db)
    info = get_version(ws, ref)
    data = asdict(info)
    data.pop("heldout_ids")
    data["history"] = history(ws, info.name)
    typer.echo(json.dumps(data, indent=2, default=str))


@evaluators_app.command("promote")
def promote_command(
    ref: Annotated[str, typer.Argument(help="name@version to make the champion")],
    db: DbOption = None,
    project: Annotated[
        str | None, typer.Option("--project", "-p", help="Project whose labels to compare on.")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Skip the gate (recorded).")] = False,
    require: Annotated[str, typer.Option(help="'not_worse' (default) or 'better'.")] = "not_worse",
) -> None:
    """Make a version the champion if it is not worse than the current one on held-out human labels."""
    from judgeloop.registry import promote
    from judgeloop.store import Workspace

    decision = promote(Workspace(db), ref, project=project, force=force, require=require)
    out.print(f"[bold green]promoted[/] {ref}: {decision.get('reason', '')}")


@evaluators_app.command("rollback")
def rollback_command(
    name: Annotated[str, typer.Argument(help="evaluator name")], db: DbOption = None
) -> None:
    """Make the previous champion the champion again."""
    from judgeloop.registry import rollback
    from judgeloop.store import Workspace

    info = rollback(Workspace(db), name)
    out.print(f"rolled back: {info.ref} is the champion again")


def register(app: typer.Typer) -> None:
    app.add_typer(evaluators_app, name="evaluators")
