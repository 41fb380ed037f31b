"""API latency and errors while a large `judgeloop import` runs on the same SQLite workspace (issue 17 §3).

    .venv/bin/python -m benchmarks.import_contention                       # 100,000 rows, 8 clients
    .venv/bin/python -m benchmarks.import_contention --rows 40000 --clients 8 --out results.json

It trains a small evaluator (MiniLM, 50 synthetic support rows), makes it the champion of a fresh
SQLite workspace, serves it with `judgeloop serve` in a subprocess, and runs closed-loop clients (half
POST /v1/labels, half POST /v1/evaluate). The baseline phase runs the clients alone for as long as the
import phase takes; the import phase runs `judgeloop import` of --rows sessions in another process at
the same time. It reports requests, errors (any status but 200/201), p50/p99 latency per phase and
their ratio.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(REPO / "src")}


def cli(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "judgeloop", *args], env=ENV, capture_output=True, text=True, check=True
    )
    return done.stdout


def setup(work: Path) -> tuple[str, str]:
    from judgeloop import registry
    from judgeloop.server.auth import create_token
    from judgeloop.store import Workspace
    from judgeloop.training import train_evaluator
    from judgeloop.types import Session

    good, bad = "It ships tomorrow; here is the tracking link.", "Not my problem."
    rows = [("Where is my order?", good if i % 2 else bad, i % 2 == 1) for i in range(50)]
    train_evaluator(rows, work / "model")
    db = f"sqlite:///{work / 'w.db'}"
    ws = Workspace(db)
    registry.register(ws, "support", work / "model", project="shop")
    registry.promote(ws, "support@1", project="shop")
    ws.add_sessions("shop", [Session(id="s1", model_input="q", model_output="a")])
    token = create_token(ws, "shop", "service")
    ws.close()
    return db, token


def big_csv(path: Path, n: int) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["session_id", "model_input", "model_output", "good"])
        for i in range(n):
            w.writerow([f"imp{i}", f"Where is order {i}?", f"It ships on day {i % 30}.", i % 2])


def phase(base: str, token: str, clients: int, until: Any) -> dict[str, Any]:
    latencies: list[float] = []
    errors: list[str] = []
    stop = threading.Event()
    headers = {"Authorization": f"Bearer {token}"}

    def client(i: int) -> None:
        with httpx.Client(base_url=base, timeout=120) as http:
            while not stop.is_set():
                start = time.perf_counter()
                if i % 2:
                    r = http.post("/v1/labels", json={"session_id": "s1", "good": True}, headers=headers)
                else:
                    body = {"model_input": "Where is my order?", "model_output": "It ships tomorrow."}
                    r = http.post("/v1/evaluate", json=body, headers=headers)
                latencies.append(time.perf_counter() - start)
                if r.status_code not in (200, 201):
                    errors.append(f"{r.status_code} {r.text[:120]}")

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    until()
    stop.set()
    for t in threads:
        t.join(120)
    seconds = time.perf_counter() - started
    cuts = statistics.quantiles(latencies, n=100)
    return {
        "seconds": seconds,
        "requests": len(latencies),
        "errors": len(errors),
        "error_samples": errors[:5],
        "p50_ms": cuts[49] * 1000,
        "p99_ms": cuts[98] * 1000,
        "max_ms": max(latencies) * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--out", type=Path, default=REPO / "benchmarks" / "results" / "import_contention.json"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="jl-contention-") as tmp:
        work = Path(tmp)
        db, token = setup(work)
        data = work / "big.csv"
        big_csv(data, args.rows)
        server = subprocess.Popen(
            [sys.executable, "-m", "judgeloop", "serve", "--db", db, "--port", str(args.port)], env=ENV
        )
        base = f"http://127.0.0.1:{args.port}"
        try:
            for _ in range(600):
                try:
                    if httpx.get(f"{base}/healthz").status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.2)
            importing: dict[str, Any] = {}

            def run_import() -> None:
                start = time.perf_counter()
                cli("import", str(data), "-p", "shop", "--db", db)
                importing["import_seconds"] = time.perf_counter() - start

            during = phase(base, token, args.clients, run_import)
            alone = phase(base, token, args.clients, lambda: time.sleep(during["seconds"]))
        finally:
            server.terminate()
            server.wait(30)
    result = {
        "rows": args.rows,
        "clients": args.clients,
        "cpu_count": os.cpu_count(),
        **importing,
        "during_import": during,
        "baseline_no_import": alone,
        "p99_ratio": during["p99_ms"] / alone["p99_ms"],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))  # noqa: T201


if __name__ == "__main__":
    main()
