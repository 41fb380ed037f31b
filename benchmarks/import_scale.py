"""Import throughput and peak memory of `judgeloop import` for large files (issue 17 §4).

    .venv/bin/python -m benchmarks.import_scale                          # 1,000,000 rows (the ask)
    .venv/bin/python -m benchmarks.import_scale --rows 200000 --pg postgresql://... --out results.json

For each format (CSV, Parquet) and database (SQLite; PostgreSQL when --pg or $JUDGELOOP_TEST_PG is
set) it writes a synthetic labelled file of --rows sessions (short support-style texts, a metadata
column) and imports it with the real CLI in a fresh child process into a fresh database, reporting
wall time, rows/s and the child's peak RSS. The baseline, run in the same invocation, is the same
import of a quarter of the rows: a streaming import should keep the same peak memory (ratio near 1)
and about the same rows/s whatever the size.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def write_csv(path: Path, n: int) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["session_id", "model_input", "model_output", "good", "app"])
        for i in range(n):
            w.writerow([f"s{i}", f"Where is my order {i}?", f"It ships on day {i % 30}.", i % 2, f"v{i % 5}"])


def write_parquet(path: Path, n: int) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    writer = None
    step = 100_000
    for start in range(0, n, step):
        ids = range(start, min(n, start + step))
        table = pa.table(
            {
                "session_id": [f"s{i}" for i in ids],
                "model_input": [f"Where is my order {i}?" for i in ids],
                "model_output": [f"It ships on day {i % 30}." for i in ids],
                "good": [i % 2 for i in ids],
                "app": [f"v{i % 5}" for i in ids],
            }
        )
        writer = writer or pq.ParquetWriter(path, table.schema)
        writer.write_table(table)
    assert writer is not None
    writer.close()


def child(path: str, db: str) -> None:
    """Run in a fresh process: the CLI import, then its peak RSS as JSON on the last line."""
    from judgeloop.cli import main

    start = time.perf_counter()
    try:
        main(["import", path, "-p", "bench", "--db", db])
    except SystemExit as exc:
        if exc.code:
            raise
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mb": peak_mb}))  # noqa: T201


def fresh_pg(base: str) -> tuple[str, str]:
    import psycopg

    name = f"jl_bench_{uuid.uuid4().hex[:10]}"
    admin = base.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return base.rsplit("/", 1)[0] + "/" + name, name


def drop_pg(base: str, name: str) -> None:
    import psycopg

    admin = base.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run_one(path: Path, backend: str, pg: str | None, work: Path) -> dict[str, Any]:
    name = None
    if backend == "sqlite":
        db = f"sqlite:///{work / f'{uuid.uuid4().hex}.db'}"
    else:
        assert pg is not None
        db, name = fresh_pg(pg)
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    try:
        done = subprocess.run(
            [sys.executable, __file__, "--child", str(path), db],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
    finally:
        if name and pg:
            drop_pg(pg, name)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--pg", default=os.environ.get("JUDGELOOP_TEST_PG"))
    parser.add_argument("--formats", default="csv,parquet")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "import_scale.json")
    parser.add_argument("--child", nargs=2, metavar=("PATH", "DB"))
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    backends = ["sqlite"] + (["postgresql"] if args.pg else [])
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="jl-import-scale-") as tmp:
        work = Path(tmp)
        for fmt in args.formats.split(","):
            for n in (args.rows // 4, args.rows):
                path = work / f"rows-{n}.{fmt}"
                (write_csv if fmt == "csv" else write_parquet)(path, n)
                for backend in backends:
                    got = run_one(path, backend, args.pg, work)
                    row = {
                        "format": fmt,
                        "backend": backend,
                        "rows": n,
                        **got,
                        "rows_per_s": n / got["seconds"],
                    }
                    results.append(row)
                    print(json.dumps(row), flush=True)  # noqa: T201
                path.unlink()
    for r in results:
        base = next(
            b
            for b in results
            if (b["format"], b["backend"], b["rows"]) == (r["format"], r["backend"], args.rows // 4)
        )
        r["peak_ratio_vs_quarter"] = r["peak_mb"] / base["peak_mb"]
        r["rate_ratio_vs_quarter"] = r["rows_per_s"] / base["rows_per_s"]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps({"rows": args.rows, "cpu_count": os.cpu_count(), "results": results}, indent=1)
    )


if __name__ == "__main__":
    main()
