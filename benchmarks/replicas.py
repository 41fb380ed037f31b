"""Two `judgeloop serve` replicas on one PostgreSQL database (issue 18 §1): how long a change made
through replica A takes to reach replica B, and how fast the pair scores a backlog of sampled sessions.

    eval "$(bash scripts/start-postgres.sh)"
    PYTHONPATH=src .venv/bin/python -m benchmarks.replicas --rounds 10 --backlog 2000 \
        --out benchmarks/results/replicas.json

A fresh database on the server at $JUDGELOOP_TEST_PG (or --pg) gets the tests' tiny trained evaluator
registered twice (support@1, @2). Both replicas run with their own cache expiry at 60 s
(JUDGELOOP_CHAMPION_REFRESH_S, JUDGELOOP_AUTH_CACHE_S), so only the change notice explains a faster
answer. Each promotion round promotes the other version through A (forced) and measures from sending
the request to B's first /v1/evaluate reply with the new version (both versions are loaded on both
replicas first, so no model load is timed); each revocation round revokes a fresh token (which B has
just accepted) through A and measures until B answers 401. B is polled every 20 ms. The backlog is
`--backlog` sessions at sample_rate 1, sent in lists of 200, timed from the first post until no queued
session is left; then again with A alone (B stopped), as the baseline on the same machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

if not __package__:  # run as `python benchmarks/NAME.py`; `python -m benchmarks.NAME` needs nothing
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from benchmarks._support import use_test_helpers  # noqa: E402

use_test_helpers()

SLOW_CACHES = {"JUDGELOOP_CHAMPION_REFRESH_S": "60", "JUDGELOOP_AUTH_CACHE_S": "60"}
ITEM = {"model_input": "Where is my order?", "model_output": "It ships tomorrow."}


def fresh_database(base: str) -> str:
    import psycopg

    name = f"jl_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(base.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return base.rsplit("/", 1)[0] + "/" + name


def drop_database(base: str, url: str) -> None:
    import psycopg

    with psycopg.connect(base.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def start(url: str, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    from _server_support import free_port

    port = free_port()
    cmd = [sys.executable, "-m", "judgeloop", "serve", "--db", url, "--port", str(port), "--no-access-log"]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **SLOW_CACHES})
    return proc, f"http://127.0.0.1:{port}"


def wait_healthy(base: str, wait_s: float = 300) -> None:
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{base} did not start")


def seen(check: Any, wait_s: float = 120) -> float:
    deadline = time.monotonic() + wait_s
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit("a change was not seen in time")
        time.sleep(0.02)
    return time.monotonic()


def summary(xs: list[float]) -> dict[str, float]:
    return {
        "median_s": round(statistics.median(xs), 3),
        "min_s": round(min(xs), 3),
        "max_s": round(max(xs), 3),
    }


def backlog(env: Any, bases: list[str], n: int, tag: str) -> dict[str, float]:
    from judgeloop.store import scoring_queue

    started = time.monotonic()
    for k, first in enumerate(range(0, n, 200)):
        items = [
            {"session_id": f"{tag}-{i}", "model_input": f"question {i}", "model_output": f"answer {i}"}
            for i in range(first, min(n, first + 200))
        ]
        r = httpx.post(f"{bases[k % len(bases)]}/v1/sessions", json=items, headers=env.auth(), timeout=120)
        r.raise_for_status()
    posted = time.monotonic() - started
    done = seen(lambda: scoring_queue.pending(env.ws) == 0, wait_s=1800) - started
    return {"sessions": n, "post_s": round(posted, 2), "done_s": round(done, 2), "per_s": round(n / done, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pg", default=os.environ.get("JUDGELOOP_TEST_PG"), help="a PostgreSQL server URL")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--backlog", type=int, default=2000)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if not args.pg:
        raise SystemExit("needs PostgreSQL: --pg URL or $JUDGELOOP_TEST_PG (scripts/start-postgres.sh)")
    from _server_support import make_env, trained_model_dir
    from judgeloop.server.auth import create_token

    tmp = Path(tempfile.mkdtemp(prefix="jl-replicas-"))
    url = fresh_database(args.pg)
    model = trained_model_dir()
    env = make_env(tmp, [model, model], url=url)
    (a, a_base), (b, b_base) = start(url, tmp / "a.log"), start(url, tmp / "b.log")
    try:
        wait_healthy(a_base)
        wait_healthy(b_base)
        for base in (a_base, b_base):
            for ref in ("support@1", "support@2"):
                httpx.post(
                    f"{base}/v1/evaluate", json={**ITEM, "evaluator": ref}, headers=env.auth(), timeout=120
                )
        promotions, revocations, load = [], [], [os.getloadavg()[0]]
        champion = 1
        for _ in range(args.rounds):
            target = 3 - champion
            sent = time.monotonic()
            r = httpx.post(
                f"{a_base}/v1/evaluators/support/promote",
                json={"version": target, "force": True},
                headers=env.auth("admin"),
                timeout=60,
            )
            r.raise_for_status()

            def served(target: int = target) -> bool:
                reply = httpx.post(f"{b_base}/v1/evaluate", json=ITEM, headers=env.auth(), timeout=60)
                return bool(reply.json()["version"] == str(target))

            promotions.append(seen(served) - sent)
            champion = target
            token = create_token(env.ws, "shop", "service")
            headers = {"Authorization": f"Bearer {token}"}
            httpx.get(f"{b_base}/v1/evaluators", headers=headers).raise_for_status()
            sent = time.monotonic()
            httpx.post(
                f"{a_base}/v1/tokens/revoke", json={"token": token}, headers=env.auth("admin"), timeout=60
            ).raise_for_status()
            revocations.append(
                seen(lambda h=headers: httpx.get(f"{b_base}/v1/evaluators", headers=h).status_code == 401)
                - sent
            )
        load.append(os.getloadavg()[0])
        env.ws.update_project_settings("shop", sample_rate=1.0)
        two = backlog(env, [a_base, b_base], args.backlog, "two")
        load.append(os.getloadavg()[0])
        b.terminate()
        b.wait(60)
        one = backlog(env, [a_base], args.backlog, "one")
        load.append(os.getloadavg()[0])
    finally:
        for proc in (a, b):
            if proc.poll() is None:
                proc.terminate()
                proc.wait(60)
        env.ws.close()
        drop_database(args.pg, url)
    result = {
        "promotion_a_to_b": summary(promotions),
        "revocation_a_to_b": summary(revocations),
        "rounds": args.rounds,
        "backlog_two_replicas": two,
        "backlog_one_replica": one,
        "cpus": os.cpu_count(),
        "load_average_1m": [round(x, 1) for x in load],
    }
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
