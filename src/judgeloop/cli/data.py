"""CLI commands: import, export, stats, projects."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich.console import Console
from rich.table import Table

from judgeloop.cli.options import DbOption, OnErrorOption, ProjectOption, RejectsOption, rejects_path

out = Console()


def open_workspace(db: str | None):  # type: ignore[no-untyped-def]
    from judgeloop.store import Workspace

    return Workspace(db)


def import_command(
    path: Annotated[
        Path, typer.Argument(help="CSV, TSV, JSONL, JSON, Parquet file or a saved HF dataset folder.")
    ],
    project: ProjectOption,
    db: DbOption = None,
    input_col: Annotated[str, typer.Option(help="Column with the model input.")] = "model_input",
    output_col: Annotated[str, typer.Option(help="Column with the model output.")] = "model_output",
    label_col: Annotated[str, typer.Option(help="Column with the good/bad label.")] = "good",
    reference_col: Annotated[str | None, typer.Option(help="Column with a reference answer.")] = None,
    id_col: Annotated[str | None, typer.Option(help="Column with a stable session id.")] = None,
    output_b_col: Annotated[str | None, typer.Option(help="Second output, for pairwise items.")] = None,
    reviewer: Annotated[
        str, typer.Option(help="Reviewer name for labels without a reviewer column.")
    ] = "import",
    time_col: Annotated[
        str | None,
        typer.Option(
            help="Column with each session's time: ISO 8601 or epoch s/ms, UTC unless it says otherwise "
            "(default: a created_at or timestamp column; else the import time)."
        ),
    ] = None,
    on_error: OnErrorOption = "raise",
    rejects: RejectsOption = None,
    source_format: Annotated[
        Literal["auto", "table", "langfuse", "phoenix", "openai"],
        typer.Option(
            "--format",
            help="What the file is: a table of columns, or a Langfuse / Phoenix trace "
            "export or OpenAI chat-completions log (auto: by its keys).",
        ),
    ] = "auto",  # fmt: skip
) -> None:
    """Import sessions and their human labels into a project (all or nothing; with --on-error skip,
    all the valid rows or nothing, and the invalid ones listed in a rejects file). Files of any size
    stream through in bounded batches."""
    from judgeloop.io import RejectsWriter, stream_dataset
    from judgeloop.timestamps import TimedRows

    records = _trace_records(path, source_format)  # None for a table: it streams from the file
    stream = stream_dataset(
        path,
        input_col=input_col,
        output_col=output_col,
        label_col=label_col,
        reference_col=reference_col,
        id_col=id_col,
        output_b_col=output_b_col,
        reviewer=reviewer,
        on_error=on_error,
        records=records,
    )
    empty = [0]

    timed = TimedRows(stream, time_col, str(path))

    def counted() -> Any:
        for item in timed:
            if getattr(item, "session", None) is not None and not item.session.model_output.strip():  # type: ignore[union-attr]
                empty[0] += 1
            yield item

    writer = RejectsWriter(rejects_path(path, rejects))
    try:
        report = open_workspace(db).import_stream(
            project,
            counted(),
            file=stream.path,
            id_field=stream.id_field,
            on_reject=writer if on_error == "skip" else None,
        )
    finally:
        writer.close()
    out.print(
        f"imported [bold]{path}[/] into project [bold]{project}[/]: {report.rows} rows, "
        f"{report.new_sessions} new sessions ({report.existing_sessions} already there), "
        f"{report.new_labels} new labels ({report.skipped_labels} already there)"
        + (f"; session times from column '{timed.used}'" if timed.used else "")
    )
    notes = []
    if empty[0]:
        notes.append(f"{empty[0]} rows with an empty model output (kept: real sessions)")
    if writer.count:
        notes.append(f"{writer.count} invalid rows skipped (written to {writer.path})")
    if notes:
        out.print("; ".join(notes), highlight=False)


def _trace_records(path: Path, source_format: str) -> list[dict[str, Any]] | None:
    """The rows of a trace export or chat log, converted for import (see judgeloop.interop); None when
    the file is a plain table (`auto` decides by the keys of its first record)."""
    import itertools

    from judgeloop.interop import detect_format, normalise_records
    from judgeloop.io import iter_records, read_records

    fmt = source_format
    if fmt == "auto":
        head = list(itertools.islice(iter_records(path), 1))
        fmt = detect_format(head) if head else "table"
    if fmt == "table":
        return None
    records, used, skipped = normalise_records(read_records(path), fmt, str(path))
    out.print(f"read {path} ({used} export): {len(records)} LLM calls, {skipped} other records skipped")
    return records


def export_command(
    project: ProjectOption,
    out_path: Annotated[
        Path,
        typer.Option(
            "--out", help="Output file: .csv, .jsonl, .json or .parquet; a new folder for hf/argilla."
        ),
    ],
    db: DbOption = None,
    format: Annotated[
        Literal["full", "seed", "hf", "argilla"],
        typer.Option(  # noqa: A002
            help="'seed' writes exactly model_input, model_output, good (1/0, or TRUE/FALSE as imported); "
            "'hf' a Hugging Face datasets folder (save_to_disk) with a dataset card; 'argilla' "
            "records.jsonl + settings.json for rg.Dataset."
        ),
    ] = "full",
    include_unlabelled: Annotated[
        bool, typer.Option("--all", help="Include sessions without labels.")
    ] = False,
) -> None:
    """Write the labelled dataset of a project (consensus of each reviewer's latest label)."""
    from judgeloop.interop.labelled import export_records
    from judgeloop.io import write_records

    ws = open_workspace(db)
    rows, columns = export_records(
        ws, project, "full" if format in ("hf", "argilla") else format, include_unlabelled
    )
    if format in ("hf", "argilla"):
        from judgeloop.interop import write_argilla, write_hf

        (write_hf if format == "hf" else write_argilla)(rows, columns, out_path, project)
        out.print(f"wrote {len(rows)} rows to [bold]{out_path}[/] ({format})")
        return
    write_records(rows, out_path, columns)
    out.print(f"wrote {len(rows)} rows to [bold]{out_path}[/]")


def stats_command(
    project: ProjectOption,
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Counts, label balance, reviewers and failure tags of a project."""
    import json

    from judgeloop.monitor.derived import project_stats

    s = project_stats(open_workspace(db), project)
    if as_json:
        typer.echo(json.dumps(s, indent=2))
        return
    table = Table(title=f"project {project}", show_header=False)
    labelled = s["good"] + s["bad"]
    share = f" ({s['good'] / labelled:.0%} good)" if labelled else ""
    for key, value in [
        ("sessions", s["sessions"]),
        ("labelled sessions", s["labelled_sessions"]),
        ("unlabelled sessions", s["unlabelled_sessions"]),
        ("labels", s["labels"]),
        ("good / bad", f"{s['good']} / {s['bad']}{share}"),
        ("verdicts", s["verdicts"]),
    ]:
        table.add_row(key, str(value))
    out.print(table)
    _counter_table("reviewers", "labels", s["reviewers"])
    _counter_table("failure tags", "labels", s["failure_tags"])


def _counter_table(title: str, what: str, counts: dict[str, int]) -> None:
    if not counts:
        return
    table = Table(title=title)
    table.add_column(title.rstrip("s") if title != "failure tags" else "tag")
    table.add_column(what, justify="right")
    for key, n in counts.items():
        table.add_row(key, str(n))
    out.print(table)


def projects_command(db: DbOption = None) -> None:
    """List the projects in the workspace."""
    for name in open_workspace(db).projects():
        typer.echo(name)


def register(app: typer.Typer) -> None:
    app.command("import")(import_command)
    app.command("export")(export_command)
    app.command("stats")(stats_command)
    app.command("projects")(projects_command)
