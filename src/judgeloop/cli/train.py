"""CLI commands: `train` (a custom evaluator from human labels) and `evaluate` (score sessions with it)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich.console import Console
from rich.table import Table

from judgeloop.cli.options import (
    DbOption,
    OnErrorOption,
    RayAddressOption,
    RayWorkersOption,
    RejectsOption,
    report_rows,
)
from judgeloop.errors import InvalidInput

out = Console()

InputCol = Annotated[str, typer.Option(help="Column with the model input (files only).")]
OutputCol = Annotated[str, typer.Option(help="Column with the model output (files only).")]
LabelCol = Annotated[str, typer.Option(help="Column with the good/bad label (files only).")]
IdCol = Annotated[str | None, typer.Option(help="Column with a stable row id (files only).")]


def _read(
    path: Path,
    input_col: str,
    output_col: str,
    label_col: str | None,
    id_col: str | None,
    on_error: str = "raise",
    rejects: Path | None = None,
) -> Any:
    """The file's rows; with on_error="skip", the rejected ones are written to the rejects file and
    counted (with empty outputs) on one line."""
    from judgeloop.io import read_dataset

    dataset = read_dataset(
        path,
        input_col=input_col,
        output_col=output_col,
        label_col=label_col,
        id_col=id_col,
        on_error=on_error,  # type: ignore[arg-type]
    )
    notes = report_rows(dataset, path, rejects)
    if notes:
        out.print(notes, highlight=False)
    return dataset


def _examples_from_file(
    path: Path,
    cols: tuple[str, str, str, str | None],
    group_col: str | None,
    on_error: str = "raise",
    rejects: Path | None = None,
) -> tuple[list[Any], str | None]:
    from judgeloop.training import examples_from_rows
    from judgeloop.training.examples import group_column

    dataset = _read(path, *cols, on_error, rejects)
    keys = {k for r in dataset.rows for k in r.session.metadata if not k.startswith("_")}
    group = group_column(group_col, keys)
    return examples_from_rows(dataset.rows, group), group


def _params(
    method: str,
    epochs: int | None,
    lr: float | None,
    batch_size: int | None,
    freeze_layers: int | None = None,
) -> dict[str, Any]:
    params: dict[str, Any] = {}
    settings = (("epochs", epochs), ("lr", lr), ("batch_size", batch_size), ("freeze_layers", freeze_layers))
    for key, value in settings:
        if value is not None:
            if method == "embedding_head":
                raise InvalidInput(
                    f"--{key.replace('_', '-')} applies to fine-tuning only",
                    field=key,
                    expected="--method finetune, or leave it out",
                )
            params[key] = value
    return params


def print_metrics(result: Any) -> None:
    """The held-out report of a TrainResult as a table."""
    from judgeloop.stats import fmt

    m = result.metrics
    how = m.get("estimate") or "held out"
    table = Table(title=f"human labels (n={m['n']}, {how}) — {result.method}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("95% CI", justify="right")
    for key, title in (
        ("accuracy", "accuracy"),
        ("f1", "F1 (good)"),
        ("roc_auc", "ROC-AUC"),
        ("kappa", "Cohen's kappa"),
    ):
        est = m.get(key)
        if isinstance(est, dict):
            table.add_row(title, fmt(est["value"]), f"[{fmt(est['low'])}, {fmt(est['high'])}]")
    table.add_row("ECE before → after", f"{fmt(m['ece_before'])} → {fmt(m['ece_after'])}", "")
    table.add_row("temperature / threshold", f"{result.temperature:.3f} / {result.threshold:.3f}", "")
    out.print(table)
    c = m["confusion"]
    out.print(f"confusion (good = positive): TP {c['tp']}  FP {c['fp']}  TN {c['tn']}  FN {c['fn']}")
    if m.get("baseline"):
        from judgeloop.training.small_data import describe_baseline

        style = "green" if m["baseline"]["better"] else "bold yellow"
        out.print(f"[{style}]against the majority-class baseline: {describe_baseline(m['baseline'])}[/]")
    runtime = result.config.get("runtime")
    if runtime:
        out.print(f"runtime: {runtime_line(runtime)}")


def runtime_line(runtime: dict[str, Any]) -> str:
    """'ONNX int8 (held-out accuracy 0.750; fp32 0.738)' from judgeloop.json's "runtime"."""
    kind = "ONNX int8" if runtime.get("quantized") == "int8" else "ONNX fp32"
    acc = runtime.get("heldout_accuracy") or {}
    if "int8" not in acc:
        return f"{kind} ({runtime.get('onnx')})"
    rule = runtime.get("rule")
    return f"{kind}, held-out accuracy int8 {acc['int8']:.3f} vs fp32 {acc['fp32']:.3f} (rule: {rule})"


def train_command(
    data: Annotated[Path | None, typer.Argument(help="A labelled file (any format `import` reads).")] = None,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Model directory to write.")] = None,
    project: Annotated[
        str | None, typer.Option("--project", "-p", help="Train on a project's labels.")
    ] = None,
    name: Annotated[
        str | None, typer.Option(help="Registry name (default: the project's name); --project only.")
    ] = None,
    base_model: Annotated[
        str | None, typer.Option(help="Encoder: local folder or hub id (default: bundled MiniLM-L6).")
    ] = None,
    method: Annotated[
        Literal["auto", "embedding_head", "finetune"], typer.Option(help="auto picks by data size.")
    ] = "auto",
    test_size: Annotated[float, typer.Option(help="Share of labels held out for measurement.")] = 0.2,
    seed: Annotated[int, typer.Option(help="Split and training seed.")] = 0,
    group_col: Annotated[
        str | None,
        typer.Option(help="Column grouping rows in the split (default: group/prompt_id when present)."),
    ] = None,
    threshold: Annotated[
        str, typer.Option(help="fixed (0.5), accuracy, f1, balanced_accuracy, or a number.")
    ] = "fixed",
    target_error: Annotated[
        float | None,
        typer.Option("--target-error", help="Certify a review band so auto-decided error ≤ this."),
    ] = None,
    delta: Annotated[float, typer.Option(help="With --target-error: allowed failure probability.")] = 0.1,
    epochs: Annotated[int | None, typer.Option(help="Fine-tuning epochs.")] = None,
    lr: Annotated[float | None, typer.Option(help="Fine-tuning learning rate.")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Fine-tuning batch size.")] = None,
    freeze_layers: Annotated[
        int | None,
        typer.Option(
            help="Fine-tuning: train only the layers above the first N (their outputs are cached once). "
            "Default: 0, or all but the top 3 for encoders of 12+ layers (MPNet) under --method auto."
        ),
    ] = None,
    augment: Annotated[bool, typer.Option(help="Add synthetic negatives (off-topic, cut short).")] = False,
    onnx: Annotated[
        bool, typer.Option("--onnx/--no-onnx", help="Also export the encoder to ONNX (faster CPU inference).")
    ] = True,
    quantize: Annotated[
        Literal["auto", "int8", "none"],
        typer.Option(
            help="With --onnx: auto (ship int8 when it passes the promotion gate against fp32 on the "
            "held-out labels), int8, or none."
        ),
    ] = "auto",
    memory: Annotated[
        bool,
        typer.Option(
            "--memory/--no-memory",
            help="A session identical to a labelled training session gets the humans' label.",
        ),
    ] = True,
    promote: Annotated[
        bool, typer.Option("--promote", help="--project: promote through the gate after training.")
    ] = False,
    input_col: InputCol = "model_input",
    output_col: OutputCol = "model_output",
    label_col: LabelCol = "good",
    id_col: IdCol = None,
    on_error: OnErrorOption = "raise",
    rejects: RejectsOption = None,
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    pairwise: Annotated[
        bool,
        typer.Option(
            "--pairwise",
            help="Learn a pairwise comparator from A/B/tie choices (model_input, model_output, output_b, "
            "choice; or chosen/rejected pairs; or a project's pairwise labels).",
        ),
    ] = False,
    choice_col: Annotated[str, typer.Option(help="--pairwise: column with A, B or tie.")] = "choice",
) -> None:
    """Train a custom evaluator on human good/bad labels (or, with --pairwise, a comparator on A/B/tie
    choices), measure it on held-out labels, save it."""
    from judgeloop.training import train_evaluator

    if pairwise:
        from judgeloop.cli.pairwise import train_pairwise_cli

        cols = {"input_col": input_col, "output_col": output_col, "choice_col": choice_col, "id_col": id_col}
        args = (data, out_dir, project, name, base_model, test_size, seed, cols, db, as_json, promote, onnx)
        pair_report = train_pairwise_cli(*args, quantize=quantize)
        if as_json:
            typer.echo(json.dumps(pair_report, indent=2, default=str))
        return
    if (data is None) == (project is None):
        raise InvalidInput("give either DATA or --project", field="data", expected="one of DATA, --project")
    ws = None
    if data is not None:
        if out_dir is None:
            raise InvalidInput("--out is required with DATA", field="out", expected="a model directory")
        examples, group = _examples_from_file(
            data, (input_col, output_col, label_col, id_col), group_col, on_error, rejects
        )
    else:
        from judgeloop.store import Workspace

        ws = Workspace(db)
        from judgeloop.training.examples import examples_from_project

        examples, group = examples_from_project(ws, str(project), group_col)
        name = name or str(project)
        out_dir = out_dir or Path("judgeloop-models") / name / _stamp()
    rule: float | str = float(threshold) if _is_number(threshold) else threshold
    from judgeloop.progress import reporting

    with reporting(not as_json):  # encoding / fine-tuning progress on stderr
        result = train_evaluator(
            examples,
            out_dir,
            base_model=base_model,
            method=method,
            test_size=test_size,
            seed=seed,
            params=_params(method, epochs, lr, batch_size, freeze_layers),
            threshold=rule,  # type: ignore[arg-type]
            augment=augment,
            progress=not as_json,
            name=name,
            stable_split=ws is not None,  # project models share held-out rows across retrains
            onnx=onnx,
            quantize=quantize,
            memory=memory,
            target_error=target_error,
            delta=delta,
        )
    report: dict[str, Any] = {
        "out": str(result.out_dir),
        "method": result.method,
        "group_col": group,
        "n_train": len(result.train_ids),
        "n_heldout": len(result.heldout_ids),
        "train_seconds": round(result.train_seconds, 2),
        "metrics": result.metrics,
    }
    if target_error is not None:
        report["target_error"], report["automation_report"] = result.target_error, result.automation_report
    if ws is not None:
        report.update(_register(ws, str(project), str(name), result.out_dir, promote))
    if as_json:
        typer.echo(json.dumps(report, indent=2, default=str))
        return
    how = f"{report['n_heldout']} held out" if report["n_heldout"] else "too few to hold out: cross-validated"
    out.print(
        f"trained [bold]{result.method}[/] on {report['n_train']} labels "
        f"({how}{f', grouped by {group}' if group else ''}) "
        f"in {result.train_seconds:.1f}s → [bold]{result.out_dir}[/]"
    )
    print_metrics(result)
    if target_error is not None:
        from judgeloop.loop.risk_cascade import report_lines

        out.print(f"target error {target_error:.1%}: {report['target_error']['describe']}")
        for line in report_lines(report["automation_report"]):
            out.print(line, highlight=False)
    for line in report.get("registry", []):
        out.print(line)


def _register(ws: Any, project: str, name: str, model_dir: Path, promote: bool) -> dict[str, Any]:
    """Register the folder (registry.register_trained applies the promotion policy) and describe it."""
    from judgeloop import registry

    done = registry.register_trained(ws, name, model_dir, project=project, promote_now=promote)
    ref = done.info.ref
    lines = [f"registered [bold]{ref}[/] (candidate)"]
    if done.status == "champion":
        lines.append(f"promoted {ref} to champion: {done.reason}")
    elif done.refused is not None:
        lines.append(
            f"not promoted: {done.refused.with_override_hint('judgeloop evaluators promote --force')}"
        )
    elif done.champion is not None:
        lines.append(f"champion is {done.champion.ref}; promote with: judgeloop evaluators promote {ref}")
    return {"evaluator": ref, "status": done.status, "registry": lines}


def _stamp() -> str:
    from judgeloop.types import utcnow

    return utcnow().strftime("%Y%m%d-%H%M%S")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def evaluate_command(
    data: Annotated[
        Path | None, typer.Argument(help="Sessions to score (any format `import` reads).")
    ] = None,
    model: Annotated[
        str | None, typer.Option("--model", "-m", help="Model directory or registry name[@version].")
    ] = None,
    out_path: Annotated[Path | None, typer.Option("--out", help="Predictions file (.jsonl).")] = None,
    project: Annotated[
        str | None,
        typer.Option("--project", "-p", help="Score a project's sessions; verdicts go to the store."),
    ] = None,
    only_new: Annotated[
        bool, typer.Option("--only-new", help="--project: skip sessions this version already scored.")
    ] = False,
    batch_size: Annotated[int, typer.Option(help="Rows per forward pass.")] = 64,
    input_col: InputCol = "model_input",
    output_col: OutputCol = "model_output",
    label_col: LabelCol = "good",
    id_col: IdCol = None,
    on_error: OnErrorOption = "raise",
    rejects: RejectsOption = None,
    engine: Annotated[
        Literal["local", "ray"],
        typer.Option(
            help="DATA: score in this process, or on Ray Data (the ray extra; judgeloop.ray_engine)."
        ),
    ] = "local",
    ray_address: RayAddressOption = None,
    workers: RayWorkersOption = None,
    staging: Annotated[
        Path | None,
        typer.Option(help="--engine ray: where rows are staged as Parquet (shared storage on a cluster)."),
    ] = None,
    db: DbOption = None,
) -> None:
    """Score sessions with a custom evaluator: a file → predictions JSONL, or a project → verdicts."""
    from judgeloop.registry import load_evaluator

    if (data is None) == (project is None):
        raise InvalidInput("give either DATA or --project", field="data", expected="one of DATA, --project")
    if engine != "local" and data is None:
        raise InvalidInput(
            "--engine ray scores a file (DATA)", field="engine", expected="local with --project"
        )
    if project is not None and model is None:
        model = project  # the project's evaluator of the same name (its champion)
    if model is None:
        raise InvalidInput(
            "--model is required with DATA", field="model", expected="a model directory or name"
        )
    from judgeloop.evaluators.pairwise_learned import is_pairwise_ref, load_comparator

    if is_pairwise_ref(model, db=db):
        from judgeloop.cli.pairwise import evaluate_pairwise_file, evaluate_pairwise_project

        comparator = load_comparator(model, db=db)
        if data is None:
            return evaluate_pairwise_project(comparator, str(project), db)
        if out_path is None:
            raise InvalidInput("--out is required with DATA", field="out", expected="a .jsonl path")
        return evaluate_pairwise_file(comparator, data, out_path, input_col, output_col, id_col)
    evaluator = load_evaluator(model, db=db)
    if data is not None:
        if out_path is None:
            raise InvalidInput("--out is required with DATA", field="out", expected="a .jsonl path")
        cols = (input_col, output_col, label_col, id_col)
        if engine == "ray":
            from judgeloop.ray_engine import RayOptions

            ray = RayOptions(address=ray_address, workers=workers, batch_size=batch_size, staging=staging)
            _evaluate_file(evaluator, data, out_path, batch_size, cols, on_error, rejects, ray)
        else:
            _evaluate_file(evaluator, data, out_path, batch_size, cols, on_error, rejects)
    else:
        _evaluate_project(evaluator, str(project), db, batch_size, only_new)


def _has_column(path: Path, column: str) -> bool:
    from judgeloop.io import read_records

    records = read_records(path)
    return any(column in r for r in records[:1])


def _evaluate_file(
    evaluator: Any,
    path: Path,
    out_path: Path,
    batch_size: int,
    cols: tuple[str, str, str, str | None],
    on_error: str = "raise",
    rejects: Path | None = None,
    ray: Any = None,
) -> None:
    """Predictions JSONL for a file: scored here, or on Ray (`ray`: judgeloop.ray_engine.RayOptions),
    with the same rows and fields either way."""
    from judgeloop.io import AtomicLines
    from judgeloop.progress import reporting
    from judgeloop.stats import binary_agreement

    input_col, output_col, label_col, id_col = cols
    label = label_col if _has_column(path, label_col) else None
    with reporting():
        if ray is None:
            scored = _score_here(
                evaluator, _read(path, input_col, output_col, label, id_col, on_error, rejects), batch_size
            )
        else:
            scored = _score_on_ray(
                evaluator, path, (input_col, output_col, label, id_col), on_error, rejects, ray
            )
        truth, pred, review, n = [], [], 0, 0
        with AtomicLines(out_path) as lines:
            for r in scored:
                row = {
                    "row": r.row,
                    "id": r.id,
                    "label": r.label,
                    "probability": round(float(r.probability), 6),
                    "needs_review": r.needs_review,
                    "evaluator": evaluator.ref,
                }
                if r.stage is not None:
                    row["stage"] = r.stage
                if r.human is not None:
                    row["human"] = r.human
                    truth.append(r.human)
                    pred.append(r.label)
                lines.write(json.dumps(row, ensure_ascii=False))
                review += bool(r.needs_review)
                n += 1
    out.print(f"scored {n} rows with {evaluator.ref} → [bold]{out_path}[/]")
    if review:
        out.print(f"{review} rows ({review / n:.1%}) need human review (outside the certified band)")
    if truth and len(set(truth)) > 1:
        agree = binary_agreement(truth, pred, n_resamples=1000)
        acc, kappa = agree["accuracy"], agree["kappa"]
        out.print(
            f"agreement with the file's {len(truth)} human labels: accuracy {acc['value']:.3f} "
            f"[{acc['low']:.3f}, {acc['high']:.3f}], kappa {kappa['value']:.3f}"
        )


def _score_here(evaluator: Any, dataset: Any, batch_size: int) -> list[Any]:
    from judgeloop.ray_engine import ScoredRow

    pairs = [(r.session.model_input, r.session.model_output) for r in dataset.rows]
    verdicts = evaluator.evaluate(pairs, batch_size=batch_size, progress=True)
    return [
        ScoredRow(
            row=r.row,
            id=r.session.id,
            human=int(r.label.good) if r.label is not None and r.label.good is not None else None,
            label=int(v.label),
            probability=float(v.probability),
            needs_review=bool(v.needs_review),
            stage=v.stage,
        )
        for r, v in zip(dataset.rows, verdicts, strict=True)
    ]


def _score_on_ray(
    evaluator: Any,
    path: Path,
    cols: tuple[str, str, str | None, str | None],
    on_error: str,
    rejects: Path | None,
    options: Any,
) -> Any:
    """The rows scored on Ray (judgeloop.ray_engine), then the note on empty outputs and rejects."""
    from judgeloop.ray_engine import StreamSummary, score_rows, validated_rows

    input_col, output_col, label_col, id_col = cols
    columns = {"input_col": input_col, "output_col": output_col, "label_col": label_col, "id_col": id_col}
    summary = StreamSummary()
    yield from score_rows(evaluator, validated_rows(path, columns, on_error, summary), options)
    notes = report_rows(summary, path, rejects)
    if notes:
        out.print(notes, highlight=False)


def _evaluate_project(evaluator: Any, project: str, db: str | None, batch_size: int, only_new: bool) -> None:
    from judgeloop.store import Workspace

    ws = Workspace(db)
    sessions = ws.sessions(project)
    if only_new:
        done = {
            v.session_id
            for v in ws.verdicts(project, evaluator.ref if evaluator.version else evaluator.name)
            if v.version == evaluator.version
        }
        sessions = [s for s in sessions if s.id not in done]
    from judgeloop.progress import reporting

    with reporting():
        verdicts = evaluator.evaluate(
            [(s.model_input, s.model_output) for s in sessions],
            session_ids=[s.id for s in sessions],
            batch_size=batch_size,
            progress=True,
        )
    ws.add_verdicts(project, verdicts)
    good = sum(v.label == 1 for v in verdicts)
    out.print(
        f"stored {len(verdicts)} verdicts of {evaluator.ref} in project [bold]{project}[/]"
        + (f": pass rate {good / len(verdicts):.1%}" if verdicts else "")
    )


def retrain_command(
    project: Annotated[str, typer.Option("--project", "-p", help="Project whose labels to train on.")],
    name: Annotated[str | None, typer.Option(help="Evaluator name (default: the project's name).")] = None,
    min_new_labels: Annotated[
        int,
        typer.Option(
            "--min-new-labels",
            help="Train only once this many labels arrived since the champion was trained.",
        ),
    ] = 0,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Model directory to write.")] = None,
    base_model: Annotated[str | None, typer.Option(help="Encoder: local folder or hub id.")] = None,
    method: Annotated[
        Literal["auto", "embedding_head", "finetune"], typer.Option(help="auto picks by data size.")
    ] = "auto",
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Train a candidate on all labels; promote it only if it beats the champion on shared held-out labels."""
    from dataclasses import asdict

    from judgeloop.loop.retrain import retrain
    from judgeloop.store import Workspace

    result = retrain(
        Workspace(db),
        project,
        name=name,
        out_dir=out_dir,
        min_new_labels=min_new_labels,
        base_model=base_model,
        method=method,
        progress=not as_json,
    )
    if as_json:
        typer.echo(json.dumps(asdict(result), indent=2, default=str))
        return
    colour = {"promoted": "green", "first": "green", "refused": "yellow", "skipped": "dim"}[result.status]
    out.print(f"[{colour}]{result.status}[/]: {result.reason}")
    out.print(
        f"champion before: {result.champion_before or 'none'}; candidate: {result.candidate or '-'}; "
        f"champion now: {result.champion_after or 'none'} ({result.new_labels} new labels)"
    )


def export_onnx_command(
    model_dir: Annotated[Path, typer.Argument(help="A model directory written by `judgeloop train`.")],
    int8: Annotated[
        bool, typer.Option("--int8", help="Ship an int8-quantized encoder (about 2x faster).")
    ] = False,
    data: Annotated[
        Path | None,
        typer.Option(help="The labelled file the model was trained on: re-measure its held-out rows."),
    ] = None,
    project: Annotated[
        str | None, typer.Option("--project", "-p", help="Re-measure on the project's held-out labels.")
    ] = None,
    input_col: InputCol = "model_input",
    output_col: OutputCol = "model_output",
    label_col: LabelCol = "good",
    id_col: IdCol = None,
    db: DbOption = None,
) -> None:
    """Add model.onnx (or model.int8.onnx) to a trained model so it runs on ONNX Runtime, and show how
    far its probabilities are from torch's. The other ONNX file, if any, is removed and the model card
    rewritten. With --data (or --project) the held-out rows are scored again on the new runtime and the
    model's held-out metrics replaced; without, they stay those of the runtime it was measured on, and
    judgeloop.json says which."""
    from judgeloop.artifact import ModelArtifact
    from judgeloop.training.export import reexport_onnx

    if data is not None and project is not None:
        raise InvalidInput("give DATA or --project, not both", field="data", expected="one of them")
    config = ModelArtifact.load(model_dir).to_dict()
    heldout = _heldout_rows(config, data, project, (input_col, output_col, label_col, id_col), db)
    measured_on = str(data) if data is not None else f"project {project}"
    done = reexport_onnx(model_dir, int8=int8, heldout=heldout, measured_on=measured_on)
    path, metrics, runtime = done.path, done.metrics, done.runtime
    out.print(
        f"wrote {path} ({path.stat().st_size / 1e6:.0f} MB); max probability difference vs torch "
        f"{done.max_difference:.1e}"
    )
    if metrics is not None:
        from judgeloop.stats import fmt_ci

        rows = len(heldout or [])
        out.print(f"held-out accuracy on {path.name}: {fmt_ci(metrics['accuracy'])} ({rows} rows)")
    elif "metrics_from" in runtime:
        out.print(
            f"held-out metrics are still those of {runtime['metrics_from']} (--data or --project redoes them)"
        )


def _heldout_rows(
    config: dict[str, Any],
    data: Path | None,
    project: str | None,
    cols: tuple[str, str, str, str | None],
    db: str | None,
) -> list[Any] | None:
    """The model's held-out examples, found by id in the file or project it was trained on."""
    if data is None and project is None:
        return None
    if data is not None:
        examples, _ = _examples_from_file(data, cols, None)
        source = str(data)
    else:
        from judgeloop.store import Workspace
        from judgeloop.training.examples import examples_from_project

        examples, _ = examples_from_project(Workspace(db), str(project), None)
        source = f"project {project!r}"
    wanted = list(config.get("heldout_ids") or [])
    found = {ex.key: ex for ex in examples}
    missing = [key for key in wanted if key not in found]
    if not wanted or missing:
        raise InvalidInput(
            f"{source} lacks {len(missing)} of the model's {len(wanted)} held-out rows"
            + (f" (first: {missing[0]!r})" if missing else ""),
            field="heldout_ids",
            expected="the file or project the model was trained on",
        )
    return [found[key] for key in wanted]


def register(app: typer.Typer) -> None:
    app.command("export-onnx")(export_onnx_command)
    app.command("train")(train_command)
    app.command("retrain")(retrain_command)
    app.command("evaluate")(evaluate_command)
