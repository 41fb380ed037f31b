"""CLI commands: `judgeloop judge` (an LLM grades a file of sessions against a rubric) and
`judgeloop llm serve` (the local model behind an OpenAI-compatible HTTP API)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer
from rich.console import Console

from judgeloop.cli.options import DbOption, RayAddressOption, RayWorkersOption
from judgeloop.errors import InvalidInput

if TYPE_CHECKING:
    from judgeloop.llm.runner import Usage
    from judgeloop.types import Session, Verdict

out = Console()
err = Console(stderr=True)
INPUT_FIELD, OUTPUT_FIELD = "model_input", "model_output"

llm_app = typer.Typer(
    name="llm", help="LLM clients and the local OpenAI-compatible server.", no_args_is_help=True
)


# --- input: one small function, to be swapped for judgeloop.io -----------------------------------


ID_COLUMNS = ("session_id", "id")  # as judgeloop.io.KNOWN_ID_COLS: import and evaluate use the same


def read_sessions(path: Path, id_col: str | None = None) -> list[Session]:
    """Sessions from a CSV or JSONL file with model_input, model_output and optional reference / output_b.

    A session's id is its `id_col` (default: a `session_id` or `id` column) when the file has one, else
    the content hash that `judgeloop import` and `evaluate` give it, so that verdicts join with them."""
    from judgeloop.types import Session, content_hash

    if not path.is_file():
        raise InvalidInput("no such file", file=str(path), expected="a CSV or JSONL file")
    if path.suffix.lower() == ".csv":
        with path.open(newline="", encoding="utf-8-sig") as fh:
            rows: list[Any] = list(csv.DictReader(fh))
    elif path.suffix.lower() in (".jsonl", ".ndjson"):
        rows = []
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise InvalidInput(f"not JSON: {exc.msg}", file=str(path), row=n) from None
    else:
        raise InvalidInput("unknown file type", file=str(path), expected="a .csv or .jsonl file")
    sessions = []
    first = rows[0] if rows and isinstance(rows[0], dict) else {}
    if id_col is not None and id_col not in first:
        raise InvalidInput("no such column", file=str(path), field=id_col, expected="the file's id column")
    id_col = id_col or next((c for c in ID_COLUMNS if c in first), None)
    for n, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            raise InvalidInput("not an object", file=str(path), row=n, expected="a JSON object per line")
        for key in (INPUT_FIELD, OUTPUT_FIELD):
            if not isinstance(row.get(key), str | list) or not row.get(key):
                raise InvalidInput("missing or empty", file=str(path), row=n, field=key, expected="a text")
        given = row.get(id_col) if id_col else None
        sid = str(given) if given not in (None, "") else content_hash(row[INPUT_FIELD], row[OUTPUT_FIELD])
        reference, output_b = (_text_or_none(row.get(k)) for k in ("reference", "output_b"))
        sessions.append(
            Session(
                id=sid,
                model_input=row[INPUT_FIELD],
                model_output=row[OUTPUT_FIELD],
                reference=reference,
                output_b=output_b,
            )
        )
    return sessions


def _text_or_none(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


# --- judge ------------------------------------------------------------------------------------------


def verdict_line(verdict: Verdict, row: int | None = None) -> dict[str, Any]:
    return {
        **({"row": row} if row is not None else {}),
        "id": verdict.session_id,
        **verdict.model_dump(
            include={
                "scores",
                "score",
                "label",
                "rationale",
                "status",
                "error",
                "raw",
                "latency_ms",
                "tokens",
                "cost",
            }
        ),
        "evaluator": verdict.evaluator,
        "version": verdict.version,
    }


def _local_chunks(judge: Any, sessions: list[Session], chunk: int) -> Iterator[list[Verdict]]:
    for start in range(0, len(sessions), chunk):
        yield judge.evaluate(sessions[start : start + chunk])


def _run(
    chunks: Iterator[list[Verdict]],
    total: int,
    out_path: Path | None,
    store: tuple[Any, str] | None = None,
) -> list[Verdict]:
    """Write each chunk's verdicts (file and/or store) as it comes, in session order."""
    from judgeloop.progress import reporting, track

    verdicts: list[Verdict] = []
    if out_path is not None:
        out_path.parent.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        fh = stack.enter_context(out_path.open("w", encoding="utf-8")) if out_path is not None else None
        stack.enter_context(reporting())
        bar = stack.enter_context(track("judging", total, unit="rows"))
        for batch in chunks:
            start = len(verdicts)
            if fh is not None:
                lines = (verdict_line(v, start + i + 1) for i, v in enumerate(batch))
                fh.writelines(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)
                fh.flush()
            if store is not None:
                store[0].add_verdicts(store[1], batch)
            verdicts += batch
            bar.advance(len(batch))
    return verdicts


def _summary(verdicts: list[Verdict], usage: Usage, where: Path | str) -> None:
    n_ok = sum(v.status == "ok" for v in verdicts)
    cost = f"${usage.cost_usd:.4f}" + (
        f" (+{usage.unpriced_calls} unpriced calls)" if usage.unpriced_calls else ""
    )
    out.print(
        f"{len(verdicts)} judged: {n_ok} ok, {len(verdicts) - n_ok} error; "
        f"{usage.calls} calls ({usage.cached} cached, {usage.retries} retries), "
        f"{usage.prompt_tokens} prompt + {usage.completion_tokens} completion tokens, cost {cost}"
    )
    passed = [v.label for v in verdicts if v.status == "ok"]
    if passed:
        out.print(f"pass rate {sum(1 for p in passed if p) / len(passed):.1%} of ok verdicts; wrote {where}")
    else:
        out.print(f"wrote {where}")


def _project_sessions(ws: Any, project: str, pairwise: bool, limit: int | None) -> list[Session]:
    sessions = ws.sessions(project)
    if pairwise:
        sessions = [s for s in sessions if s.output_b]
        if not sessions:
            raise InvalidInput(
                f"project {project!r} has no pairwise sessions",
                field="output_b",
                expected="sessions with output_b",
            )
    if not sessions:
        raise InvalidInput(
            f"project {project!r} has no sessions", field="project", expected="imported sessions"
        )
    return sessions[:limit] if limit else sessions


def _bias_summary(verdicts: list[Verdict], sessions: list[Session]) -> None:
    from judgeloop.judging import bias_report

    report = bias_report(verdicts, sessions)
    parts = [f"{k} {v:.3f}" for k, v in report.items() if isinstance(v, float)]
    out.print(f"{report['n_tie']} ties; " + ", ".join(parts))


def judge_command(
    file: Annotated[
        Path | None,
        typer.Argument(help="CSV or JSONL with model_input, model_output, optional reference / output_b."),
    ] = None,
    rubric: Annotated[
        str, typer.Option(help="A built-in rubric name (seed, helpfulness, ...) or a YAML file.")
    ] = ("seed"),
    model: Annotated[
        str,
        typer.Option(help="'local', 'local:DIR#FILE.gguf', 'anthropic:NAME', or an OpenAI-compatible model."),
    ] = "local",
    base_url: Annotated[str | None, typer.Option(help="OpenAI-compatible server URL (…/v1).")] = None,
    out_path: Annotated[Path | None, typer.Option("--out", help="Output JSONL, one verdict per row.")] = None,
    project: Annotated[
        str | None,
        typer.Option("--project", "-p", help="Judge a project's sessions; the verdicts go into the store."),
    ] = None,
    db: DbOption = None,
    pairwise: Annotated[
        bool, typer.Option("--pairwise", help="Compare model_output (A) with output_b (B), in both orders.")
    ] = False,
    short: Annotated[
        bool,
        typer.Option(
            "--short", help="Ask for the scores / verdict only, without a rationale (small models)."
        ),
    ] = False,
    name: Annotated[
        str | None,
        typer.Option(help="Evaluator name for the verdicts (default judge:RUBRIC / judge:pairwise)."),
    ] = None,
    max_tokens: Annotated[int, typer.Option(help="Tokens per judge reply.")] = 512,
    temperature: Annotated[float, typer.Option(help="0 = greedy.")] = 0.0,
    seed: Annotated[int | None, typer.Option(help="Sampling seed.")] = None,
    concurrency: Annotated[int, typer.Option(help="Parallel calls to the model.")] = 4,
    limit: Annotated[int | None, typer.Option(help="Only the first N rows.")] = None,
    id_col: Annotated[
        str | None, typer.Option(help="FILE's id column (default: session_id or id; else a content hash).")
    ] = None,
    engine: Annotated[
        Literal["local", "ray"],
        typer.Option(
            help="Judge in this process, or spread the calls over Ray actors (judgeloop.ray_judge)."
        ),
    ] = "local",
    ray_address: RayAddressOption = None,
    workers: RayWorkersOption = None,
) -> None:
    """Grade sessions with an LLM judge: every row of FILE (verdicts to --out), or a project's sessions
    (verdicts into the store, errors included). Then: judgeloop agreement --evaluator NAME --project P."""
    if (file is None) == (project is None):
        raise InvalidInput(
            "judge needs a FILE or --project (one of them)",
            field="file",
            expected="judgeloop judge FILE --out OUT, or judgeloop judge --project P",
        )
    if file is not None and out_path is None:
        raise InvalidInput(
            "judging a file needs --out", field="out", expected="judgeloop judge FILE --out OUT"
        )
    from judgeloop.judging import load_rubric, make_judge
    from judgeloop.llm import make_client
    from judgeloop.llm.runner import Usage

    options: dict[str, Any] = {"max_tokens": max_tokens, "temperature": temperature, "seed": seed}
    rubric_ = load_rubric(rubric) if not pairwise else rubric
    cache: Any = None
    store: tuple[Any, str] | None = None
    if project is not None:
        from judgeloop.llm.cache import StoreCache
        from judgeloop.store import Workspace

        ws = Workspace(db)
        sessions = _project_sessions(ws, project, pairwise, limit)
        cache, store = StoreCache(ws), (ws, project)
    else:
        assert file is not None
        sessions = read_sessions(file, id_col)
        sessions = sessions[:limit] if limit else sessions
    if engine == "ray":
        from judgeloop.ray_engine import RayOptions, require_ray
        from judgeloop.ray_judge import JudgeSpec, judge_chunks

        require_ray()
        spec = JudgeSpec(
            model=model,
            base_url=base_url,
            rubric=rubric_,
            pairwise=pairwise,
            short=short,
            name=name,
            concurrency=concurrency,
            options=options,
            cache_db=store[0].url if store is not None else None,
        )
        judge_name = make_judge(None, rubric_, pairwise, short, name, **options).name
        usage = Usage()
        ray = RayOptions(address=ray_address, workers=workers)
        # an actor judges `concurrency` sessions at once; chunks of 4 rounds keep every actor busy
        chunks = judge_chunks(spec, sessions, max(1, concurrency) * 4, ray, usage)
    else:
        runner = make_client(model, base_url, concurrency=concurrency, cache=cache)
        judge = make_judge(runner, rubric_, pairwise, short, name, **options)
        judge_name, usage = judge.name, runner.usage
        chunks = _local_chunks(judge, sessions, max(1, concurrency))  # progress per round
    verdicts = _run(chunks, len(sessions), out_path, store=store)
    _summary(verdicts, usage, out_path or f"project {project!r} as evaluator {judge_name!r}")
    if pairwise:
        _bias_summary(verdicts, sessions)
    if project is not None:
        out.print(f"next: judgeloop agreement --evaluator {judge_name} --project {project}")


# --- llm serve --------------------------------------------------------------------------------------


@llm_app.command("serve")
def serve_command(
    model: Annotated[
        str, typer.Option(help="'local' (bundled SmolLM2), a model folder, a .gguf file, or DIR#FILE.gguf.")
    ] = ("local"),
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8077,
) -> None:
    """Serve a local model through an OpenAI-compatible API (/v1/chat/completions, /v1/models)."""
    import uvicorn

    from judgeloop.llm.local import LocalClient
    from judgeloop.llm.server import create_llm_app

    client = LocalClient(model)
    err.print(f"loading {model} ...")
    client.load()
    err.print(f"serving {client.model} on http://{host}:{port}/v1")
    uvicorn.run(create_llm_app(client), host=host, port=port, log_level="info")


def register(app: typer.Typer) -> None:
    app.command("judge")(judge_command)
    app.add_typer(llm_app, name="llm")
