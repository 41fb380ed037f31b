"""Server time of the monitoring pages on a large project.

    source /tmp/env.sh   # JUDGELOOP_TEST_PG: a PostgreSQL server to create a fresh database on
    PYTHONPATH=src .venv/bin/python -m benchmarks.dashboard_render --sessions 100000 --db postgresql \\
        --out benchmarks/results/dashboard_render_100k.json

Seeds one project with `--sessions` sessions over 30 days (COPY on PostgreSQL, then VACUUM ANALYZE, the
state autovacuum reaches; executemany on SQLite), a verdict of the registered champion `support@1`
with a probability for 5 of 6 sessions (the pass rate drops on the last two days), a second evaluator
on a tenth of them, and human labels on 1%; stores the monitor's alerts and an automation rule. Then it
times each page through the real app (uvicorn in a thread, httpx over loopback, signed in as a lead):
the median of `--rounds` requests after one warm-up (`first_ms`: the warm-up's time; on a fresh
database the overview's warm-up catches the hourly rollup up with every verdict). The load average is
recorded before and after.
`--keep NAME` seeds a named database once and reuses it on later runs (never dropped). Once signed in,
the process calls `gc.freeze()` as `judgeloop serve` does after startup (`--no-gc-freeze`: not).
`--new-verdicts N` then adds N verdicts (half on labelled sessions) and times each page's first request,
which catches the derived tables and the rollup up, and a second one.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

if not __package__:  # run as `python benchmarks/NAME.py`; `python -m benchmarks.NAME` needs nothing
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from benchmarks._support import use_test_helpers  # noqa: E402

use_test_helpers()

HERE = Path(__file__).resolve().parent

PROJECT = "shop"


def database(kind: str, work: Path, keep: str | None = None) -> tuple[str, bool]:
    """The database URL, and whether it exists already (`keep`: a named PostgreSQL database that is
    reused when it is there and never dropped)."""
    if kind == "sqlite":
        return f"sqlite:///{work / 'dash.db'}", False
    import uuid

    import psycopg

    base = os.environ["JUDGELOOP_TEST_PG"]
    name = keep or f"jl_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(base.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        there = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None
        if not there:
            conn.execute(f'CREATE DATABASE "{name}"')
    return base.rsplit("/", 1)[0] + "/" + name, there


def drop(url: str, kind: str) -> None:
    if kind != "postgresql":
        return
    import psycopg

    base = os.environ["JUDGELOOP_TEST_PG"].replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def rows_of(pid: int, lo: int, hi: int, n: int, now: datetime, rng: random.Random) -> tuple[list, list, list]:
    """Sessions lo..hi-1 (pk = index + 1), their verdicts and labels, as column dicts. The same random
    sequence whichever way they are inserted."""
    start = now - timedelta(days=30)
    sessions, verdicts, labels = [], [], []
    for i in range(lo, hi):
        at = start + timedelta(seconds=30 * 86400 * i / n)
        sessions.append({"pk": i + 1, "project_id": pid, "uid": f"s{i}", "model_input": f"question {i}",
                         "model_output": f"answer {i}", "meta": {}, "source": "bench",
                         "content_hash": f"h{i}", "created_at": at})  # fmt: skip
        if i % 6 == 5:
            continue
        late = at > now - timedelta(days=2)
        good = rng.random() < (0.6 if late else 0.88)
        p = min(0.99, max(0.01, rng.gauss(0.8 if good else 0.2, 0.12)))
        verdicts.append({"project_id": pid, "session_pk": i + 1, "evaluator": "support", "version": "1",
                         "label": int(p >= 0.5), "probability": p, "threshold": 0.5, "status": "ok",
                         "scores": {}, "created_at": at})  # fmt: skip
        if i % 10 == 0:
            verdicts.append({"project_id": pid, "session_pk": i + 1, "evaluator": "judge", "version": None,
                             "label": int(good if rng.random() < 0.8 else not good), "probability": None,
                             "threshold": None, "status": "ok", "scores": {}, "created_at": at})  # fmt: skip
        if i % 100 == 0:
            labels.append({"project_id": pid, "session_pk": i + 1, "reviewer": "r0", "kind": "binary",
                           "good": good, "failure_tags": [], "meta": {}, "created_at": at})  # fmt: skip
    return sessions, verdicts, labels


def seed(url: str, n: int, now: datetime) -> float:
    """Bulk-insert the project (COPY on PostgreSQL, executemany on SQLite); returns the seconds it took."""
    from sqlalchemy import insert

    from judgeloop.store import Workspace
    from judgeloop.store.tables import LabelRow, SessionRow, VerdictRow

    started = time.perf_counter()
    ws = Workspace(url)  # runs the migrations: the tables and their indexes exist before the rows
    rng = random.Random(0)
    with ws.db() as db:
        pid = ws.project_id(db, PROJECT, create=True)
    chunk = 100_000
    for lo in range(0, n, chunk):
        sessions, verdicts, labels = rows_of(pid, lo, min(n, lo + chunk), n, now, rng)
        if url.startswith("postgresql"):
            copy_rows(ws, sessions, verdicts, labels)
        else:
            with ws.db() as db:
                db.execute(insert(SessionRow), sessions)
                db.execute(insert(VerdictRow), verdicts)
                if labels:
                    db.execute(insert(LabelRow), labels)
        print(f"seeded {min(n, lo + chunk):,} sessions", flush=True)
    if url.startswith("postgresql"):
        with ws.engine.begin() as conn:
            conn.exec_driver_sql("SELECT setval('sessions_pk_seq', (SELECT max(pk) FROM sessions))")
        with ws.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")  # the steady state autovacuum reaches (visibility map set)
    ws.close()
    return time.perf_counter() - started


COPY_COLUMNS = {
    "sessions": ("pk", "project_id", "uid", "model_input", "model_output", "metadata", "source",
                 "content_hash", "created_at"),
    "verdicts": ("project_id", "session_pk", "evaluator", "version", "label", "probability", "threshold",
                 "status", "scores", "created_at"),
    "labels": ("project_id", "session_pk", "reviewer", "kind", "good", "failure_tags", "metadata",
               "created_at"),
}  # fmt: skip
KEYS = {"metadata": "meta"}
JSON_COLUMNS = {"model_input", "metadata", "scores", "failure_tags"}


def _copy_value(row: dict[str, Any], column: str) -> Any:
    value = row[KEYS.get(column, column)]
    return json.dumps(value) if column in JSON_COLUMNS else value


def copy_rows(ws: Any, sessions: list, verdicts: list, labels: list) -> None:
    """PostgreSQL COPY of one chunk, in one transaction (JSON columns as their text)."""
    raw = ws.engine.raw_connection()
    try:
        cur = raw.cursor()
        for table, rows in (("sessions", sessions), ("verdicts", verdicts), ("labels", labels)):
            cols = COPY_COLUMNS[table]
            with cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
                for r in rows:
                    copy.write_row([_copy_value(r, c) for c in cols])
        raw.commit()
    finally:
        raw.close()


def prepare(url: str, now: datetime) -> int:
    """Users, the champion, an automation rule, stored alerts; returns an alert id."""
    from _review_support import PASSWORD
    from _server_support import fake_model_dir
    from judgeloop import registry
    from judgeloop.loop import risk
    from judgeloop.monitor import run_monitor
    from judgeloop.review import users
    from judgeloop.store import Workspace

    ws = Workspace(url)
    users.add_reviewer(ws, "lead", PROJECT, "admin", PASSWORD, lead=True)
    # support@1 is the registered champion: the overview shows it by default (833k verdicts at 1M)
    registry.register(ws, "support", fake_model_dir(Path(tempfile.mkdtemp(prefix="jl-dash-model-"))),
                      project=PROJECT)  # fmt: skip
    registry.promote(ws, "support@1", project=PROJECT, force=True)
    rule = risk.AutomationRule(tau=0.85, target=0.05, delta=0.1, coverage=0.6, empirical_error=0.03,
                               upper_bound=0.05, n_calibration=1000, n_auto=600, n_errors=18,
                               evaluator="support@1")  # fmt: skip
    risk.save_rule(ws, PROJECT, rule)
    report = run_monitor(ws, PROJECT, "support", bucket="day", time_axis="session",
                         since=now - timedelta(days=31), until=now)  # fmt: skip
    return report.alerts[0].id or 0 if report.alerts else 0


def first_alert(url: str) -> int:
    from sqlalchemy import func, select

    from judgeloop.store import Workspace
    from judgeloop.store.tables import AlertRow

    with Workspace(url).db() as db:
        return int(db.scalar(select(func.min(AlertRow.id))) or 0)


def time_pages(
    url: str, alert_id: int, rounds: int, session: str = "s12345", freeze: bool = True, new_verdicts: int = 0
) -> dict[str, Any]:
    import gc

    import httpx

    from _review_support import sign_in
    from _server_support import ThreadServer
    from judgeloop.server import create_app
    from judgeloop.store import Workspace

    base = f"/review/projects/{PROJECT}"
    pages = {
        "overview (day)": f"{base}/monitor",
        "overview (hour, 48 windows)": f"{base}/monitor?by=hour",
        "alert": f"{base}/monitor/alerts/{alert_id}",
        "evaluators": f"{base}/monitor/evaluators",
        "outliers": f"{base}/monitor/outliers",
        "session": f"{base}/sessions/{session}",
    }
    out: dict[str, Any] = {}
    with ThreadServer(create_app(workspace=Workspace(url))) as server:
        client = httpx.Client(base_url=server.base, timeout=600)
        sign_in(client, "lead")
        if freeze:
            gc.freeze()  # as `judgeloop serve` does once started
        for name, path in pages.items():
            started = time.perf_counter()
            assert client.get(path).status_code == 200, path  # warm-up (the first builds the rollup)
            first = round((time.perf_counter() - started) * 1000, 1)
            times = []
            for _ in range(rounds):
                started = time.perf_counter()
                r = client.get(path)
                times.append((time.perf_counter() - started) * 1000)
                assert r.status_code == 200
            out[name] = {
                "median_ms": round(statistics.median(times), 1),
                "all_ms": [round(t, 1) for t in times],
                "first_ms": first,
            }
            print(f"{name}: median {out[name]['median_ms']} ms", flush=True)
        if new_verdicts:
            out["after new verdicts"] = _after_new(url, client, pages, new_verdicts)
    return out


def _after_new(url: str, client: Any, pages: dict[str, str], n: int) -> dict[str, Any]:
    """Add `n` judge verdicts (every 50th session from the start: half of them labelled), then time each
    page's first request (it catches the derived tables and the rollup up) and a second one."""
    from judgeloop.store import Workspace
    from judgeloop.types import Verdict

    rng = random.Random(7)
    verdicts = [Verdict(session_id=f"s{50 * i}", evaluator="judge", label=int(rng.random() < 0.7))
                for i in range(n)]  # fmt: skip
    started = time.perf_counter()
    Workspace(url).add_verdicts(PROJECT, verdicts)
    report: dict[str, Any] = {"verdicts": n, "insert_s": round(time.perf_counter() - started, 2)}
    for name in ("evaluators", "outliers", "overview (day)"):
        times = []
        for _ in range(2):
            started = time.perf_counter()
            assert client.get(pages[name]).status_code == 200
            times.append(round((time.perf_counter() - started) * 1000, 1))
        report[name] = {"first_ms": times[0], "then_ms": times[1]}
        print(f"after {n:,} new verdicts, {name}: first {times[0]} ms, then {times[1]} ms", flush=True)
    return report


def main() -> None:
    fmt = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=fmt)
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--new-verdicts", type=int, default=0,
                        help="then add this many verdicts and time the pages' catch-up")  # fmt: skip
    parser.add_argument("--no-gc-freeze", action="store_true", help="time without gc.freeze() at startup")
    parser.add_argument("--keep", metavar="NAME", help="PostgreSQL: seed (or reuse) database NAME, keep it")
    args = parser.parse_args()
    now = datetime.now(timezone.utc)
    url, there = database(args.db, Path(tempfile.mkdtemp(prefix="jl-dash-bench-")), args.keep)
    try:
        seconds = 0.0 if there else seed(url, args.sessions, now)
        alert_id = first_alert(url) if there else prepare(url, now)
        session = f"s{min(12345, args.sessions - 1)}"
        report = {"args": {k: str(v) for k, v in vars(args).items()}, "seed_s": round(seconds, 1),
                  "alert_id": alert_id, "load_average": [round(x, 2) for x in os.getloadavg()],
                  "pages": time_pages(url, alert_id, args.rounds, session, not args.no_gc_freeze,
                                       args.new_verdicts)}  # fmt: skip
        report["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    finally:
        if not args.keep:
            drop(url, args.db)
    print(json.dumps(report, indent=2))
    if args.out:
        args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
