"""What `@judgeloop.observe` adds to the wrapped call: median per-call time, observed vs bare, same process.

    PYTHONPATH=src .venv/bin/python -m benchmarks.observe_overhead --calls 20000 --rounds 5 \\
        --out benchmarks/results/observe_overhead.json

The function stands in for an LLM call (it builds a chat-completion-shaped dict, ~1 µs), so the figure is
the decorator's own cost. Each round times `--calls` calls one by one (perf_counter_ns around each) of
the bare function and of the decorated one, alternating. `--server live` (default) runs a real judgeloop
app (uvicorn in a thread of this process, SQLite) that the background thread sends to during the
measurement, so its work competes for the GIL as it would in an application; `--server none` points the
client at a closed port (every call goes to the queue, oldest dropped when full).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

if not __package__:  # run as `python benchmarks/NAME.py`; `python -m benchmarks.NAME` needs nothing
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from benchmarks._support import use_test_helpers  # noqa: E402

use_test_helpers()

HERE = Path(__file__).resolve().parent


def answer(messages: list[dict[str, str]], temperature: float = 0.0) -> dict:
    return {"choices": [{"message": {"role": "assistant", "content": f"Sure: {messages[-1]['content']}"}}]}


def per_call_ns(fn, calls: int) -> list[int]:
    msgs = [{"role": "user", "content": "Where is my order?"}]
    clock = time.perf_counter_ns
    out = []
    for _ in range(calls):
        started = clock()
        fn(msgs, temperature=0.2)
        out.append(clock() - started)
    return out


def main() -> None:
    fmt = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=fmt)
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--server", choices=["live", "none"], default="live")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    from _server_support import ThreadServer, make_env
    from judgeloop import Client, observe
    from judgeloop.server import create_app

    env = make_env(Path(tempfile.mkdtemp(prefix="jl-observe-bench-")), [])
    server = ThreadServer(create_app(workspace=env.ws)) if args.server == "live" else None
    base = server.base if server else "http://127.0.0.1:9"
    if server:
        server.__enter__()
    client = Client(base, env.tokens["service"], queue_size=args.calls * args.rounds + 1, batch_size=256)
    observed = observe(project="shop", client=client)(answer)
    observed([{"role": "user", "content": "warm-up"}])  # starts the background thread
    bare_medians, observed_medians = [], []
    try:
        for r in range(args.rounds):
            bare = statistics.median(per_call_ns(answer, args.calls))
            wrapped = statistics.median(per_call_ns(observed, args.calls))
            bare_medians.append(bare / 1000)
            observed_medians.append(wrapped / 1000)
            print(f"round {r + 1}: bare {bare / 1000:.2f} µs, observed {wrapped / 1000:.2f} µs", flush=True)
        flushed = client.flush(120) if server else None
    finally:
        if server:
            server.__exit__()
    overhead = [o - b for o, b in zip(observed_medians, bare_medians, strict=True)]
    report = {
        "args": {k: str(v) for k, v in vars(args).items()},
        "bare_median_us": bare_medians,
        "observed_median_us": observed_medians,
        "overhead_median_us": overhead,
        "overhead_us_median_of_rounds": statistics.median(overhead),
        "ratio_observed_vs_bare": statistics.median(observed_medians) / statistics.median(bare_medians),
        "sent": client.recorder.sent,
        "dropped": client.recorder.dropped,
        "flushed": flushed,
    }
    print(json.dumps(report, indent=2))
    if args.out:
        args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
