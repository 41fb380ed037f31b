"""Load test of the guardrail API: `judgeloop serve` in a subprocess, driven over loopback by httpx.

    .venv/bin/python -m benchmarks.serve_load                       # 1, 8, 50 clients for 20, 20, 60 s
    .venv/bin/python -m benchmarks.serve_load --levels 8:10 --model-dir DIR --out results.json
    .venv/bin/python -m benchmarks.serve_load --baseline-env JUDGELOOP_CALL_COST_TOKENS=1e9  # A/B, same run

It trains a default evaluator (MiniLM encoder) on TruthfulQA truthfulness labels from
../shared/datasets (or uses --model-dir), registers it as the champion of a fresh workspace, starts the
server on 127.0.0.1, then runs closed-loop clients (each sends its next request when the last one
returns) with sessions drawn from the same data. It reports throughput, p50/p90/p99 latency as the
client sees it, and error counts, per concurrency level. The clients share the machine's cores with
the server, so the figures include their cost too.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

if not __package__:  # run as `python benchmarks/NAME.py`; `python -m benchmarks.NAME` needs nothing
    sys.path[0] = str(Path(__file__).resolve().parents[1])

REPO = Path(__file__).resolve().parents[1]
TRUTHFULQA = REPO.parent / "shared" / "datasets" / "truthfulqa_judge" / "finetune_truth_train.jsonl"


def load_sessions(limit: int, seed: int = 0) -> list[tuple[str, str, bool]]:
    """(question, answer, truthful) rows of TruthfulQA's human truthfulness labels."""
    if not TRUTHFULQA.is_file():
        from benchmarks._support import use_test_helpers

        use_test_helpers()
        from _server_support import tiny_examples

        return tiny_examples()
    rows = []
    with TRUTHFULQA.open(encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            qa = row["prompt"].removesuffix("\nTrue:")
            question, _, answer = qa.partition("\nA: ")
            if answer.strip():
                rows.append((question.removeprefix("Q: "), answer, row["completion"].strip() == "yes"))
    random.Random(seed).shuffle(rows)
    return rows[:limit]


def train_model(out: Path, rows: list[tuple[str, str, bool]]) -> Path:
    from judgeloop.training import train_evaluator

    started = time.perf_counter()
    train_evaluator(rows, out, onnx=True, progress=False)  # what `judgeloop train` writes by default
    print(f"trained on {len(rows)} rows in {time.perf_counter() - started:.0f} s -> {out}")
    return out


def prepare_workspace(workdir: Path, model_dir: Path) -> tuple[str, str]:
    from judgeloop import registry
    from judgeloop.server.auth import create_token
    from judgeloop.store import Workspace

    url = f"sqlite:///{workdir / 'bench.db'}"
    ws = Workspace(url)
    registry.register(ws, "guard", model_dir, project="bench")
    registry.promote(ws, "guard@1", project="bench")
    return url, create_token(ws, "bench", "service")


def start_server(
    url: str, port: int, access_log: bool, constant: bool, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    if constant:
        cmd = [sys.executable, __file__, "--serve-constant", url, str(port)]
    else:
        cmd = [sys.executable, "-m", "judgeloop", "serve", "--db", url, "--port", str(port)]
        cmd += ["--log-level", "warning", "--access-log" if access_log else "--no-access-log"]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, env={**os.environ, "TOKENIZERS_PARALLELISM": "false", **(env or {})}
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the server did not start")


async def client_loop(
    base: str,
    headers: dict[str, str],
    items: Iterator[dict[str, Any]],
    deadline: float,
    out: dict[str, list],
) -> None:
    """One client with its own connection (one shared httpx pool is itself the bottleneck at 50 clients)."""
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:
        await _loop(client, items, deadline, out)


async def _loop(
    client: httpx.AsyncClient, items: Iterator[dict[str, Any]], deadline: float, out: dict[str, list]
) -> None:
    while time.perf_counter() < deadline:
        body = next(items)
        started = time.perf_counter()
        try:
            r = await client.post("/v1/evaluate", json=body)
            ok = r.status_code == 200
            if not ok:
                out["errors"].append(f"HTTP {r.status_code}")
        except httpx.HTTPError as exc:
            ok = False
            out["errors"].append(type(exc).__name__)
        if ok:
            out["latencies"].append(time.perf_counter() - started)


async def raw_client_loop(
    base: str, token: str, items: Iterator[dict[str, Any]], deadline: float, out: dict[str, list]
) -> None:
    """One client on one keep-alive connection, speaking HTTP/1.1 over asyncio streams: what wrk or a
    service's pooled client costs, where httpx spends about 1 ms of CPU per request on the shared cores."""
    host, port = base.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    head = f"POST /v1/evaluate HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
    try:
        while time.perf_counter() < deadline:
            body = json.dumps(next(items)).encode()
            request = f"{head}Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
            started = time.perf_counter()
            try:
                writer.write(request.encode() + body)
                status, length = _response_head(await reader.readuntil(b"\r\n\r\n"))
                await reader.readexactly(length)
            except (OSError, asyncio.IncompleteReadError) as exc:
                out["errors"].append(type(exc).__name__)
                return
            if status == 200:
                out["latencies"].append(time.perf_counter() - started)
            else:
                out["errors"].append(f"HTTP {status}")
    finally:
        writer.close()


def _response_head(head: bytes) -> tuple[int, int]:
    lines = head.decode("latin-1").split("\r\n")
    length = next(
        int(v) for k, _, v in (ln.partition(":") for ln in lines[1:]) if k.lower() == "content-length"
    )
    return int(lines[0].split(" ", 2)[1]), length


async def run_level(
    base: str, token: str, items: Iterator[dict[str, Any]], clients: int, seconds: float, client: str = "raw"
) -> dict:
    out: dict[str, list] = {"latencies": [], "errors": []}
    started = time.perf_counter()
    deadline = started + seconds
    if client == "raw":
        loops = [raw_client_loop(base, token, items, deadline, out) for _ in range(clients)]
    else:
        headers = {"Authorization": f"Bearer {token}"}
        loops = [client_loop(base, headers, items, deadline, out) for _ in range(clients)]
    await asyncio.gather(*loops)
    elapsed = time.perf_counter() - started
    return summarize(clients, elapsed, out)


def _quantile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def summarize(clients: int, elapsed: float, out: dict[str, list]) -> dict[str, Any]:
    lat = sorted(out["latencies"])
    errors: dict[str, int] = {}
    for e in out["errors"]:
        errors[e] = errors.get(e, 0) + 1
    return {
        "clients": clients,
        "seconds": round(elapsed, 1),
        "requests": len(lat),
        "throughput_rps": round(len(lat) / elapsed, 1),
        "p50_ms": round(1000 * _quantile(lat, 0.50), 1),
        "p90_ms": round(1000 * _quantile(lat, 0.90), 1),
        "p99_ms": round(1000 * _quantile(lat, 0.99), 1),
        "mean_ms": round(1000 * statistics.fmean(lat), 1) if lat else None,
        "errors": sum(errors.values()),
        "error_kinds": errors,
    }


def server_batch_stats(base: str) -> dict[str, float]:
    text = httpx.get(f"{base}/metrics").text
    values = {}
    for line in text.splitlines():
        if line.startswith("judgeloop_inference_batch_size_sum") or line.startswith(
            "judgeloop_inference_batch_size_count"
        ):
            name, value = line.split()
            values[name.removeprefix("judgeloop_inference_batch_size_")] = float(value)
    return values


class Cycle:
    """The sessions in order, then again; counts how many were sent, to tell repeats apart."""

    def __init__(self, sessions: list[dict[str, Any]]) -> None:
        self.sessions, self.sent = sessions, 0

    def __iter__(self) -> Cycle:
        return self

    def __next__(self) -> dict[str, Any]:
        item = self.sessions[self.sent % len(self.sessions)]
        self.sent += 1
        return item

    def repeats(self) -> int:
        return max(0, self.sent - len(self.sessions))


def parse_levels(text: str) -> list[tuple[int, float]]:
    return [(int(c), float(s)) for c, s in (part.split(":") for part in text.split(","))]


class ConstantModel:
    """--constant-model: P(good) = 0.7 at no cost, to measure the server without the model."""

    threshold = 0.5

    def predict_proba(self, pairs: list[Any]) -> Any:
        import numpy as np

        return np.full(len(pairs), 0.7)


def serve_constant(url: str, port: int) -> None:
    """The server process of --constant-model: the app of `judgeloop serve` with ConstantModel loaded."""
    import uvicorn

    from judgeloop.server import create_app

    app = create_app(url)
    app.state.serve.cache._loader = lambda info: ConstantModel()
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def constant_model_dir(workdir: Path) -> Path:
    out = workdir / "constant"
    out.mkdir()
    from judgeloop.artifact import ModelArtifact

    ModelArtifact(threshold=0.5, method="constant").save(out)
    return out


def run_levels(base: str, token: str, items: Cycle, levels: list[tuple[int, float]], client: str) -> list:
    results = []
    for clients, seconds in levels:
        before, repeats = server_batch_stats(base), items.repeats()
        result = asyncio.run(run_level(base, token, items, clients, seconds, client))
        result["repeated_sessions"] = items.repeats() - repeats
        after = server_batch_stats(base)
        n = after.get("count", 0) - before.get("count", 0)
        result["mean_batch"] = round((after.get("sum", 0) - before.get("sum", 0)) / n, 2) if n else None
        results.append(result)
        print(json.dumps(result), flush=True)
    return results


def medians(rounds: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Per level, the median of each figure over the rounds (errors: the total)."""
    out = []
    for level in zip(*rounds, strict=True):
        row: dict[str, Any] = {"clients": level[0]["clients"], "rounds": len(level)}
        for key in ("throughput_rps", "p50_ms", "p90_ms", "p99_ms", "mean_batch"):
            values = [r[key] for r in level if r[key] is not None]
            row[key] = round(statistics.median(values), 1) if values else None
        row["errors"] = sum(r["errors"] for r in level)
        row["repeated_sessions"] = sum(r.get("repeated_sessions", 0) for r in level)
        row["requests"] = sum(r["requests"] for r in level)
        out.append(row)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--levels", default="1:20,8:20,50:60", help="clients:seconds, comma-separated")
    p.add_argument("--rounds", type=int, default=1, help="repeat every level this many times (medians)")
    p.add_argument("--model-dir", type=Path, help="a trained model directory (default: train one)")
    p.add_argument("--constant-model", action="store_true", help="no model: measure the server alone")
    p.add_argument("--train-rows", type=int, default=400)
    p.add_argument("--port", type=int, default=8765)
    p.add_argument(
        "--client",
        choices=["raw", "httpx"],
        default="raw",
        help="raw: HTTP/1.1 on asyncio streams (light); httpx: httpx.AsyncClient per simulated client",
    )
    p.add_argument("--access-log", action="store_true", help="run the server with its access log")
    p.add_argument("--out", type=Path, help="write the results as JSON here")
    p.add_argument("--keep", action="store_true", help="keep the work directory (trained model, database)")
    p.add_argument(
        "--baseline-env",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        help="also run a baseline server with this environment in every round (the two alternate, "
        "which goes first swaps each round) and report its medians and the ratios",
    )
    p.add_argument("--serve-constant", nargs=2, metavar=("DB", "PORT"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.serve_constant:
        serve_constant(args.serve_constant[0], int(args.serve_constant[1]))
        return

    rows = load_sessions(10**6)  # every session is sent once before any repeats
    workdir = Path(tempfile.mkdtemp(prefix="jl-serve-bench-"))
    if args.constant_model:
        model_dir = constant_model_dir(workdir)
    else:
        model_dir = args.model_dir or train_model(workdir / "model", rows[: args.train_rows])
    from judgeloop.artifact import ModelArtifact

    runtime = ModelArtifact.load(model_dir).runtime  # int8 or fp32, and why
    url, token = prepare_workspace(workdir, model_dir)
    sessions = [{"model_input": q, "model_output": a} for q, a, _ in rows[args.train_rows :]]
    base = f"http://127.0.0.1:{args.port}"
    load_before = os.getloadavg()[0]
    baseline_env = dict(item.split("=", 1) for item in args.baseline_env)
    variants = {"default": {}, "baseline": baseline_env} if baseline_env else {"default": {}}
    rounds: dict[str, list] = {name: [] for name in variants}
    try:
        for r in range(args.rounds):  # a fresh server per round: no embedding cached from the last one
            for name in list(variants)[:: 1 if r % 2 == 0 else -1]:
                if baseline_env:
                    print(f"round {r + 1}: {name} server {variants[name] or ''}", flush=True)
                server = start_server(url, args.port, args.access_log, args.constant_model, variants[name])
                try:
                    items = Cycle(sessions)
                    asyncio.run(run_level(base, token, items, 1, 3.0, args.client))  # warm-up
                    rounds[name].append(
                        run_levels(base, token, items, parse_levels(args.levels), args.client)
                    )
                finally:
                    server.terminate()
                    server.wait(30)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    report = {
        "command": " ".join(["python", *sys.argv]),
        "cpus": os.cpu_count(),
        "client": args.client,
        "load_avg_before": round(load_before, 2),
        "load_avg_after": round(os.getloadavg()[0], 2),
        "model": "constant" if args.constant_model else str(model_dir),
        "runtime": runtime,
        "medians": medians(rounds["default"]),
        "rounds": rounds["default"],
    }
    if baseline_env:
        base_medians = medians(rounds["baseline"])
        report["baseline"] = {"env": baseline_env, "medians": base_medians, "rounds": rounds["baseline"]}
        report["ratios_to_baseline"] = [
            {
                "clients": new["clients"],
                "throughput": round(new["throughput_rps"] / old["throughput_rps"], 3),
                "p99": round(new["p99_ms"] / old["p99_ms"], 3),
            }
            for new, old in zip(report["medians"], base_medians, strict=True)
        ]
    print(json.dumps({k: v for k, v in report.items() if k not in ("rounds", "baseline")}, indent=2))
    if baseline_env:
        print(json.dumps({"baseline": report["baseline"]["medians"]}, indent=2))
    if args.out:
        args.out.write_text(json.dumps(report, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
