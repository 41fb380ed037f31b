"""Server time of the monitoring pages on a large project.

    source /tmp/env.sh   # JUDGELOOP_TEST_PG: a PostgreSQL server to create a fresh database on
    PYTHONPATH=src .venv/bin/python -m benchmarks.dashboard_render --sessions 100000 --db postgresql \\
        --out benchmarks/results/dashboard_render_100k.json

Seeds one project with `--sessions` sessions over 30 days (bulk inserts), a champion verdict with a
probability for 5 of 6 sessions (the pass rate drops on the last two days), a second evaluator on a
tenth of them, and human labels on 1%; stores the monitor's alerts and an automation rule. Then it
times each page through the real app (uvicorn in a thread, httpx over loopback, signed in as a lead):
the median of `--rounds` requests after one warm-up.
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


def database(kind: str, work: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{work / 'dash.db'}"
    import uuid

    import psycopg

    base = os.environ["JUDGELOOP_TEST_PG"]
    name = f"jl_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(base.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return base.rsplit("/", 1)[0] + "/" + name


def drop(url: str, kind: str) -> None:
    if kind != "postgresql":
        return
    import psycopg

    base = os.environ["JUDGELOOP_TEST_PG"].replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def seed(url: str, n: int, now: datetime) -> float:
    """Bulk-insert the project; returns the seconds it took."""
    from sqlalchemy import insert, select

    from judgeloop.store import Workspace
    from judgeloop.store.tables import LabelRow, SessionRow, VerdictRow

    started = time.perf_counter()
    ws = Workspace(url)
    rng = random.Random(0)
    start = now - timedelta(days=30)
    with ws.db() as db:
        pid = ws.project_id(db, PROJECT, create=True)
    chunk = 20_000
    for lo in range(0, n, chunk):
        rows = []
        for i in range(lo, min(n, lo + chunk)):
            at = start + timedelta(seconds=30 * 86400 * i / n)
            rows.append({"project_id": pid, "uid": f"s{i}", "model_input": f"question {i}",
                         "model_output": f"answer {i}", "meta": {}, "source": "bench",
                         "content_hash": f"h{i}", "created_at": at})  # fmt: skip
        with ws.db() as db:
            db.execute(insert(SessionRow), rows)
            uids = [r["uid"] for r in rows]
            found = select(SessionRow.uid, SessionRow.pk).where(
                SessionRow.project_id == pid, SessionRow.uid.in_(uids)
            )
            pks = {uid: pk for uid, pk in db.execute(found)}
            verdicts, labels = [], []
            for r in rows:
                i = int(r["uid"][1:])
                if i % 6 == 5:
                    continue
                late = r["created_at"] > now - timedelta(days=2)
                good = rng.random() < (0.6 if late else 0.88)
                p = min(0.99, max(0.01, rng.gauss(0.8 if good else 0.2, 0.12)))
                verdicts.append({"project_id": pid, "session_pk": pks[r["uid"]], "evaluator": "support",
                                 "version": "1", "label": int(p >= 0.5), "probability": p, "threshold": 0.5,
                                 "status": "ok", "scores": {}, "created_at": r["created_at"]})  # fmt: skip
                if i % 10 == 0:
                    verdicts.append({"project_id": pid, "session_pk": pks[r["uid"]], "evaluator": "judge",
                                     "label": int(good if rng.random() < 0.8 else not good), "status": "ok",
                                     "scores": {}, "created_at": r["created_at"]})  # fmt: skip
                if i % 100 == 0:
                    labels.append({"project_id": pid, "session_pk": pks[r["uid"]], "reviewer": "r0",
                                   "kind": "binary", "good": good, "failure_tags": [], "meta": {},
                                   "created_at": r["created_at"]})  # fmt: skip
            db.execute(insert(VerdictRow), verdicts)
            if labels:
                db.execute(insert(LabelRow), labels)
        print(f"seeded {min(n, lo + chunk):,} sessions", flush=True)
    return time.perf_counter() - started


def prepare(url: str, now: datetime) -> int:
    """Users, an automation rule, stored alerts; returns an alert id."""
    from _review_support import PASSWORD
    from judgeloop.loop import risk
    from judgeloop.monitor import run_monitor
    from judgeloop.review import users
    from judgeloop.store import Workspace

    ws = Workspace(url)
    users.add_reviewer(ws, "lead", PROJECT, "admin", PASSWORD, lead=True)
    rule = risk.AutomationRule(tau=0.85, target=0.05, delta=0.1, coverage=0.6, empirical_error=0.03,
                               upper_bound=0.05, n_calibration=1000, n_auto=600, n_errors=18,
                               evaluator="support@1")  # fmt: skip
    risk.save_rule(ws, PROJECT, rule)
    report = run_monitor(ws, PROJECT, "support", bucket="day", time_axis="session",
                         since=now - timedelta(days=31), until=now)  # fmt: skip
    return report.alerts[0].id or 0 if report.alerts else 0


def time_pages(url: str, alert_id: int, rounds: int) -> dict[str, Any]:
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
        "session": f"{base}/sessions/s12345",
    }
    out: dict[str, Any] = {}
    with ThreadServer(create_app(workspace=Workspace(url))) as server:
        client = httpx.Client(base_url=server.base, timeout=600)
        sign_in(client, "lead")
        for name, path in pages.items():
            assert client.get(path).status_code == 200, path  # warm-up
            times = []
            for _ in range(rounds):
                started = time.perf_counter()
                r = client.get(path)
                times.append((time.perf_counter() - started) * 1000)
                assert r.status_code == 200
            out[name] = {
                "median_ms": round(statistics.median(times), 1),
                "all_ms": [round(t, 1) for t in times],
            }
            print(f"{name}: median {out[name]['median_ms']} ms", flush=True)
    return out


def main() -> None:
    fmt = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=fmt)
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    now = datetime.now(timezone.utc)
    url = database(args.db, Path(tempfile.mkdtemp(prefix="jl-dash-bench-")))
    try:
        seconds = seed(url, args.sessions, now)
        alert_id = prepare(url, now)
        report = {"args": {k: str(v) for k, v in vars(args).items()}, "seed_s": round(seconds, 1),
                  "alert_id": alert_id, "pages": time_pages(url, alert_id, args.rounds)}  # fmt: skip
    finally:
        drop(url, args.db)
    print(json.dumps(report, indent=2))
    if args.out:
        args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
