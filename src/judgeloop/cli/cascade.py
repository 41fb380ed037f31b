"""CLI command: `cascade build` (a cascade evaluator from trained model folders or registry versions)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich.console import Console

from judgeloop.cli.options import DbOption
from judgeloop.cli.train import IdCol, InputCol, LabelCol, OutputCol, _examples_from_file, _register, _stamp
from judgeloop.errors import InvalidInput

out = Console()
cascade_app = typer.Typer(help="Cascade evaluators: a fast stage first, stronger stages for the rest.")


def _stage_dir(ref: str, ws: Any) -> Path:
    """A model folder, or the folder of a registry version (name@version, or name: its champion)."""
    if Path(ref).is_dir():
        return Path(ref)
    if ws is None:
        from judgeloop.store import Workspace

        ws = Workspace()
    from judgeloop.registry import get_version

    info = get_version(ws, ref)
    if not info.artifact_path:
        raise InvalidInput(f"{info.ref} has no model directory", field="stage")
    return Path(info.artifact_path)


@cascade_app.command("build")
def build_command(
    stage: Annotated[
        list[str],
        typer.Option("--stage", help="A model folder or registry name[@version]; repeat, fastest first."),
    ],
    data: Annotated[
        Path | None, typer.Option("--data", help="Labelled file: its rows no stage trained on certify.")
    ] = None,
    project: Annotated[
        str | None, typer.Option("--project", "-p", help="Certify on the project's labels; register it.")
    ] = None,
    target_error: Annotated[
        float, typer.Option("--target-error", help="Highest error rate among auto-decided sessions.")
    ] = 0.05,
    delta: Annotated[float, typer.Option(help="Allowed probability that the bound fails.")] = 0.1,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Cascade model folder to write.")] = None,
    name: Annotated[str | None, typer.Option(help="Registry name (default: the project's name).")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the random halves of the automation report.")] = 0,
    combine: Annotated[
        Literal["own", "mean_logit"],
        typer.Option(
            help="A later stage's score: its own P(good), or mean_logit, the mean of its logit and the "
            "earlier stages' (an ensemble at the cost of the new stage's pass; for a second cheap model)."
        ),
    ] = "own",
    promote: Annotated[
        bool, typer.Option("--promote", help="--project: promote through the gate after building.")
    ] = False,
    input_col: InputCol = "model_input",
    output_col: OutputCol = "model_output",
    label_col: LabelCol = "good",
    id_col: IdCol = None,
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Certify each stage's review band on held-out labels and write one cascade model folder."""
    from judgeloop.training.cascade import build_cascade

    if (data is None) == (project is None):
        raise InvalidInput("give either --data or --project", field="data", expected="one of them")
    ws = None
    if project is not None:
        from judgeloop.store import Workspace
        from judgeloop.training.examples import examples_from_project

        ws = Workspace(db)
        examples, _ = examples_from_project(ws, project, None)
        name = name or project
        out_dir = out_dir or Path("judgeloop-models") / name / f"cascade-{_stamp()}"
    else:
        assert data is not None
        if out_dir is None:
            raise InvalidInput("--out is required with --data", field="out", expected="a model directory")
        examples, _ = _examples_from_file(data, (input_col, output_col, label_col, id_col), None)
    dirs = [_stage_dir(ref, ws if ws is not None else (None if db is None else _ws(db))) for ref in stage]
    result = build_cascade(
        dirs,
        examples,
        out_dir,
        target_error=target_error,
        delta=delta,
        seed=seed,
        name=name or "cascade",
        combine=combine,
    )
    report: dict[str, Any] = {"out": str(result.out_dir), **result.config["automation"]}
    if ws is not None and project is not None and name is not None:
        report.update(_register(ws, project, name, result.out_dir, promote))
    if as_json:
        typer.echo(json.dumps(report, indent=2, default=str))
        return
    _print(result, report)


def _ws(db: str) -> Any:
    from judgeloop.store import Workspace

    return Workspace(db)


def _print(result: Any, report: dict[str, Any]) -> None:
    from judgeloop.loop.risk_cascade import report_lines

    config = result.config
    names = [s["name"] for s in config["stages"]]
    out.print(
        f"wrote cascade [bold]{result.out_dir}[/] ({len(names)} stages, {config['n_calibration']} labels)"
    )
    for k, s in enumerate(config["stages"], start=1):
        out.print(f"  stage {k} ({s['name']}): {s['rule']['describe']}")
    shares = ", ".join(f"stage {n} {s:.1%}" for n, s in zip(names, report["stage_shares"], strict=True))
    out.print(
        f"target error {report['target']:.1%}: the cascade decides {report['share']:.1%} alone ({shares})"
    )
    for line in report_lines(report["report"], names):
        out.print(line, highlight=False)
    for line in report.get("registry", []):
        out.print(line)


def register(app: typer.Typer) -> None:
    app.add_typer(cascade_app, name="cascade")
