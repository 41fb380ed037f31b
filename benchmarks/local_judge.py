"""How fast is the bundled local judge? `judge --rubric seed --model local` on N rows of the bundled
data: model load, then each row timed, with the prompt-prefix KV cache (the default) and without it
(the baseline), alternating row by row in the same process.

    .venv/bin/python -m benchmarks.local_judge --rows 10    # results/local_judge.json

Each row is one RubricJudge call (constrained JSON: three scores and a justification of at most
`--string-tokens` tokens). Reports the load time, per-row medians, rows per minute and the ratio, and
the machine's load average before and after (a busy machine inflates every figure).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import statistics
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from rich.console import Console  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
console = Console(highlight=False)


def sessions(n: int) -> list:  # type: ignore[type-arg]
    from judgeloop.assets import EXAMPLE_DATASET
    from judgeloop.types import Session

    with open(EXAMPLE_DATASET, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))[:n]
    keys = ("model_input", "model_output")
    return [Session(id=r["session_id"], **{k: r[k] for k in keys}) for r in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10)
    parser.add_argument("--string-tokens", type=int, default=160, help="LocalClient max_string_tokens")
    parser.add_argument("--no-baseline", action="store_true", help="skip the run without the prefix cache")
    parser.add_argument("--out", type=Path, default=RESULTS / "local_judge.json")
    args = parser.parse_args()

    from judgeloop.causal_lm import load_causal_lm
    from judgeloop.judging import RubricJudge, load_rubric
    from judgeloop.llm.local import LocalClient

    load_before = os.getloadavg()
    started, started_cpu = time.perf_counter(), time.process_time()
    load_causal_lm("local")
    load_s, load_cpu_s = time.perf_counter() - started, time.process_time() - started_cpu
    console.print(f"model load {load_s:.1f} s (load average {load_before[0]:.1f})")
    rubric = load_rubric("seed")
    variants = {"prefix_cache": True} if args.no_baseline else {"prefix_cache": True, "baseline": False}
    judges = {
        name: RubricJudge(LocalClient("local", max_string_tokens=args.string_tokens, prefix_cache=on), rubric)
        for name, on in variants.items()
    }
    times: dict[str, list[float]] = {name: [] for name in judges}
    cpu: dict[str, list[float]] = {name: [] for name in judges}  # on a busy machine: closer to idle wall time
    statuses: dict[str, list[str]] = {name: [] for name in judges}
    for i, session in enumerate(sessions(args.rows)):
        for name, judge in judges.items():
            t, c = time.perf_counter(), time.process_time()
            (verdict,) = judge.evaluate([session])
            times[name].append(time.perf_counter() - t)
            cpu[name].append(time.process_time() - c)
            statuses[name].append(verdict.status)
            console.print(f"row {i + 1} {name}: {times[name][-1]:.1f} s wall, {cpu[name][-1]:.1f} s CPU")
    load_after = os.getloadavg()
    summary = {
        name: {
            "rows": len(ts),
            "median_s_per_row": statistics.median(ts),
            "median_cpu_s_per_row": statistics.median(cpu[name]),
            "total_s": sum(ts),
            "rows_per_minute": 60 * len(ts) / sum(ts),
            "ok": statuses[name].count("ok"),
        }
        for name, ts in times.items()
    }
    if "baseline" in summary:
        summary["ratio_median"] = (
            summary["prefix_cache"]["median_s_per_row"] / summary["baseline"]["median_s_per_row"]
        )
        summary["ratio_median_cpu"] = (
            summary["prefix_cache"]["median_cpu_s_per_row"] / summary["baseline"]["median_cpu_s_per_row"]
        )
    result = {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "load_average_before_after": [load_before[0], load_after[0]],
        "model_load_s": load_s,
        "model_load_cpu_s": load_cpu_s,
        "string_tokens": args.string_tokens,
        "seconds_per_row": times,
        "cpu_seconds_per_row": cpu,
        "summary": summary,
        "command": f"benchmarks/local_judge.py --rows {args.rows} --string-tokens {args.string_tokens}",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    console.print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
