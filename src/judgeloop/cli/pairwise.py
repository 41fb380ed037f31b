"""The pairwise side of `train` and `evaluate`: learned comparators (`judgeloop train --pairwise`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from judgeloop.errors import InvalidInput

out = Console()


def train_pairwise_cli(
    data: Path | None,
    out_dir: Path | None,
    project: str | None,
    name: str | None,
    base_model: str | None,
    test_size: float,
    seed: int,
    cols: dict[str, Any],
    db: str | None,
    as_json: bool,
    promote: bool,
    onnx: bool = True,
    quantize: str = "auto",
) -> dict[str, Any]:
    """Train a comparator on a pairwise file or a project's pairwise labels; register it (--project)."""
    from judgeloop.training.pairwise import train_pairwise
    from judgeloop.training.pairwise_data import pairs_from_project, read_pairwise_file

    if (data is None) == (project is None):
        raise InvalidInput("give either DATA or --project", field="data", expected="one of DATA, --project")
    ws = None
    if data is not None:
        if out_dir is None:
            raise InvalidInput("--out is required with DATA", field="out", expected="a model directory")
        pairs = read_pairwise_file(data, **cols)
    else:
        from judgeloop.store import Workspace
        from judgeloop.types import utcnow

        ws = Workspace(db)
        pairs = pairs_from_project(ws, str(project))
        name = name or f"{project}-pairwise"
        out_dir = out_dir or Path("judgeloop-models") / name / utcnow().strftime("%Y%m%d-%H%M%S")
    result = train_pairwise(
        pairs,
        out_dir,
        base_model,
        test_size,
        seed,
        name=name,
        stable_split=ws is not None,
        onnx=onnx,
        quantize=quantize,
    )
    report: dict[str, Any] = {
        "out": str(result.out_dir),
        "method": result.method,
        "n_train": len(result.train_ids),
        "n_heldout": len(result.heldout_ids),
        "train_seconds": round(result.train_seconds, 2),
        "temperature": result.temperature,
        "nu": result.nu,
        "metrics": result.metrics,
        "runtime": result.config.get("runtime"),
    }
    if ws is not None:
        from judgeloop.cli.train import _register

        report.update(_register(ws, str(project), str(name), result.out_dir, promote))
    if as_json:
        return report
    out.print(
        f"trained [bold]{result.method}[/] on {report['n_train']} pairs ({report['n_heldout']} held out) "
        f"in {result.train_seconds:.1f}s → [bold]{result.out_dir}[/]"
    )
    print_pairwise_metrics(result.metrics)
    for line in report.get("registry", []):
        out.print(line)
    return report


def print_pairwise_metrics(m: dict[str, Any]) -> None:
    from judgeloop.stats import fmt

    if not m:
        out.print("no held-out pairs: nothing measured")
        return
    table = Table(title=f"held-out human choices (n={m['n']}, {m['human_ties']} ties)")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("95% CI", justify="right")
    for key, title in (
        ("accuracy", f"accuracy on decisive pairs (n={m['n_decisive']})"),
        ("agreement", "agreement including ties"),
        ("kappa", "Cohen's kappa (A/B/tie)"),
    ):
        est = m[key]
        table.add_row(title, fmt(est["value"]), f"[{fmt(est['low'])}, {fmt(est['high'])}]")
    table.add_row("temperature / tie nu", f"{m['temperature']:.3f} / {m['nu']:.3f}", "")
    out.print(table)


def evaluate_pairwise_file(
    evaluator: Any, path: Path, out_path: Path, input_col: str, output_col: str, id_col: str | None
) -> None:
    """Predictions JSONL: per row `choice` (A|B|tie) and `probability` (P(A better)), with the id
    fields, `p_tie`, and `human` when the file has a `choice` column."""
    from judgeloop.io import atomic_write_text, read_dataset, read_records
    from judgeloop.training.pairwise_data import parse_choice

    dataset = read_dataset(
        path,
        input_col=input_col,
        output_col=output_col,
        label_col=None,
        id_col=id_col,
        output_b_col="output_b",
    )
    records = read_records(path)
    sessions = [r.session for r in dataset.rows]
    verdicts = evaluator.evaluate(sessions)
    lines, right, n_human = [], 0, 0
    for r, record, v in zip(dataset.rows, records, verdicts, strict=True):
        row: dict[str, Any] = {
            "row": r.row,
            "id": r.session.id,
            "choice": v.scores["winner"],
            "probability": round(float(v.probability), 6),
            "p_tie": round(float(v.scores["p_tie"]), 6),
            "evaluator": evaluator.ref,
        }
        if record.get("choice") not in (None, ""):
            human = parse_choice(record["choice"], row=r.row, file=str(path))
            row["human"] = human
            n_human += 1
            right += human == row["choice"]
        lines.append(json.dumps(row, ensure_ascii=False))
    atomic_write_text(out_path, "\n".join(lines) + ("\n" if lines else ""))
    out.print(f"compared {len(verdicts)} pairs with {evaluator.ref} → [bold]{out_path}[/]")
    if n_human:
        out.print(f"agreement with the file's {n_human} human choices (ties included): {right / n_human:.3f}")


def evaluate_pairwise_project(evaluator: Any, project: str, db: str | None) -> None:
    """Verdicts for a project's pairwise sessions, stored (then: judgeloop agreement --evaluator …)."""
    from judgeloop.store import Workspace

    ws = Workspace(db)
    sessions = [s for s in ws.sessions(project) if s.output_b]
    if not sessions:
        raise InvalidInput(
            f"project {project!r} has no pairwise sessions",
            field="output_b",
            expected="sessions with output_b",
        )
    verdicts = evaluator.evaluate(sessions)
    ws.add_verdicts(project, verdicts)
    wins = sum(v.label == 1 for v in verdicts)
    out.print(
        f"stored {len(verdicts)} pairwise verdicts of {evaluator.ref} in project [bold]{project}[/]: "
        f"A preferred in {wins / len(verdicts):.1%}"
    )
    out.print(f"next: judgeloop agreement --evaluator {evaluator.ref} --project {project}")
