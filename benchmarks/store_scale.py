"""How the store's everyday commands grow with the project (issue 18 §3).

    eval "$(bash scripts/start-postgres.sh)"
    PYTHONPATH=src .venv/bin/python -m benchmarks.store_scale --sessions 100000 1000000 --db postgresql \\
        --out benchmarks/results/store_scale_pg.json
    PYTHONPATH=src .venv/bin/python -m benchmarks.store_scale --sessions 1000000 --db sqlite \\
        --out benchmarks/results/store_scale_sqlite.json

For each size, one project is seeded in the shape `benchmarks/dashboard_render.py` seeds it (sessions
over 30 days; a verdict of the champion `support@1` with a probability on 5 of 6 sessions, a second
evaluator on a tenth, human labels on 1%): on PostgreSQL inside the database (`store_seed_sql`: INSERT
... SELECT FROM generate_series, then VACUUM ANALYZE), on SQLite by executemany. Then each command runs
through the real entry point (`judgeloop.cli.main`, in this process, output discarded), the median of
`--rounds` runs (`--only queue,stats` measures only those parts):
- `monitor --by hour --since 7d` (the champion's series, its tests and alerts; not stored);
- `queue fill --strategy mixed --n 100` (a new queue each round);
- `stats`;
- `export --project shop --format full` to JSONL (the labelled sessions, the command's default);
- ingest: `POST /v1/sessions` in batches of 100 to a `judgeloop serve` on the same database (sampling
  off, so no scoring), 50 batches per round -> sessions/s.
The load average is recorded before and after each size.

    PYTHONPATH=src .venv/bin/python -m benchmarks.store_scale --sessions 10000000 --db postgresql \\
        --only queue,stats,export,ingest --keep-prefix jl_scale \\
        --out benchmarks/results/store_scale_pg_10m.json
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if not __package__:  # run as `python benchmarks/NAME.py`; `python -m benchmarks.NAME` needs nothing
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from benchmarks._support import use_test_helpers  # noqa: E402

use_test_helpers()

from benchmarks.dashboard_render import PROJECT, database, drop, prepare, seed  # noqa: E402
from benchmarks.store_seed_sql import seed_sql  # noqa: E402

INGEST_BATCH = 100
PARTS = ("monitor", "queue", "stats", "export", "ingest")


def parts_of(text: str) -> tuple[str, ...]:
    """`--only monitor,queue`: the parts named, each one of PARTS."""
    names = tuple(p.strip() for p in text.split(",") if p.strip())
    unknown = [p for p in names if p not in PARTS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"--only takes a comma-separated subset of {', '.join(PARTS)}; got {text!r}"
        )
    return names


def run_cli(args: list[str]) -> float:
    """Seconds one `judgeloop ...` takes in this process (its output discarded; a failure raises)."""
    from judgeloop.cli import main

    sink = io.StringIO()
    started = time.perf_counter()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        try:
            main(args)
        except SystemExit as exc:
            if exc.code not in (0, None):
                raise RuntimeError(f"judgeloop {' '.join(args)} failed: {sink.getvalue()[-2000:]}") from None
    return time.perf_counter() - started


def ingest_rate(url: str, batches: int, tag: str) -> float:
    """Sessions/s through POST /v1/sessions, `batches` requests of INGEST_BATCH sessions."""
    import httpx

    from _server_support import free_port
    from benchmarks.serve_load import start_server
    from judgeloop.server.auth import create_token
    from judgeloop.store import Workspace

    ws = Workspace(url)
    ws.update_project_settings(PROJECT, sample_rate=0.0)
    token = create_token(ws, PROJECT, "service")
    ws.close()
    port = free_port()
    server = start_server(url, port, access_log=False, constant=False)
    try:
        items = [
            {
                "session_id": f"ingest-{tag}-{i}",
                "model_input": f"new question {i}",
                "model_output": f"answer {i}",
            }
            for i in range(batches * INGEST_BATCH)
        ]
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=120) as client:
            started = time.perf_counter()
            for i in range(0, len(items), INGEST_BATCH):
                r = client.post("/v1/sessions", json=items[i : i + INGEST_BATCH])
                r.raise_for_status()
            return len(items) / (time.perf_counter() - started)
    finally:
        server.terminate()
        server.wait(30)


MONITOR = ["monitor", "--project", PROJECT, "--evaluator", "support", "--by", "hour", "--since", "7d",
           "--no-store", "--json"]  # fmt: skip
QUEUE = ["queue", "fill", "--project", PROJECT, "--strategy", "mixed", "--n", "100", "--evaluator", "support"]


def measure(
    url: str, rounds: int, export_rounds: int, work: Path, ingest_batches: int, only: tuple[str, ...] = PARTS
) -> dict[str, Any]:
    times: dict[str, list[float]] = {
        "monitor_7d_hourly": [],
        "queue_fill_mixed_100": [],
        "stats": [],
        "export": [],
    }
    for r in range(rounds):
        if "monitor" in only:
            times["monitor_7d_hourly"].append(run_cli([*MONITOR, "--db", url]))
        if "queue" in only:
            times["queue_fill_mixed_100"].append(run_cli([*QUEUE, "--queue", f"bench-{r}", "--db", url]))
        if "stats" in only:
            times["stats"].append(run_cli(["stats", "--project", PROJECT, "--db", url, "--json"]))
        if "export" in only and r < export_rounds:
            out = work / f"export-{r}.jsonl"
            times["export"].append(run_cli(["export", "--project", PROJECT, "--out", str(out), "--db", url]))
            out.unlink(missing_ok=True)
        print(f"round {r + 1}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in times.items() if v), flush=True)
    result: dict[str, Any] = {
        "seconds": {k: v for k, v in times.items() if v},
        "median_s": {k: statistics.median(v) for k, v in times.items() if v},
    }
    if "ingest" in only:
        rates = [ingest_rate(url, ingest_batches, f"r{r}-{time.time_ns()}") for r in range(rounds)]
        result.update(ingest_sessions_per_s=rates, median_ingest_sessions_per_s=statistics.median(rates))
    return result


def main() -> None:
    fmt = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=fmt)
    parser.add_argument("--sessions", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--db", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--export-rounds", type=int, default=1, help="export runs per size (the slowest)")
    parser.add_argument("--ingest-batches", type=int, default=50)
    parser.add_argument(
        "--keep-prefix", help="PostgreSQL: keep the seeded databases as PREFIX_N and reuse them"
    )
    parser.add_argument("--only", type=parts_of, default=PARTS, help=f"comma-separated: {','.join(PARTS)}")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    report: dict[str, Any] = {"command": "python -m benchmarks.store_scale " + " ".join(sys.argv[1:]),
                              "db": args.db, "cpus": os.cpu_count(), "sizes": {}}  # fmt: skip
    for n in args.sessions:
        work = Path(tempfile.mkdtemp(prefix="jl-scale-"))
        keep = f"{args.keep_prefix}_{n}" if args.keep_prefix and args.db == "postgresql" else None
        url, there = database(args.db, work, keep)
        now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        try:
            load_before = os.getloadavg()[0]
            seed_s = None
            if not there:
                seed_s = seed_sql(url, n, now, PROJECT) if args.db == "postgresql" else seed(url, n, now)
                prepare(url, now)
            print(f"{n:,} sessions seeded ({seed_s or 0:.0f} s)", flush=True)
            result = measure(url, args.rounds, args.export_rounds, work, args.ingest_batches, args.only)
            result.update(seed_s=seed_s, load_before=load_before, load_after=os.getloadavg()[0])
            report["sizes"][str(n)] = result
            print(json.dumps({n: result["median_s"], "ingest": result.get("median_ingest_sessions_per_s")}))
        finally:
            if keep is None:
                drop(url, args.db)
    sizes = sorted(report["sizes"], key=int)
    if len(sizes) > 1:
        lo, hi = report["sizes"][sizes[0]], report["sizes"][sizes[-1]]
        report["growth"] = {
            "from_to": [int(sizes[0]), int(sizes[-1])],
            **{k: hi["median_s"][k] / lo["median_s"][k] for k in lo["median_s"]},
        }
        if "median_ingest_sessions_per_s" in lo:
            report["growth"]["ingest"] = (
                hi["median_ingest_sessions_per_s"] / lo["median_ingest_sessions_per_s"]
            )
    print(json.dumps(report.get("growth", {}), indent=2))
    if args.out:
        tmp = args.out.with_name(args.out.name + ".tmp")
        tmp.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        tmp.replace(args.out)  # atomic: a reader never sees half a report


if __name__ == "__main__":
    main()
