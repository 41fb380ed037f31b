"""What does padding cost? The default encoder (ONNX int8) timed by batch shape, and inference batches
cut by length (`sorted_batches`) against fixed chunks of sorted rows, in the same process.

    .venv/bin/python -m benchmarks.encoder_batching    # ~4 min on 2 cores; results/encoder_batching.json

1. Cost model: one forward pass at B rows x L tokens for B in 1..16 and L in 8..64 (median of --repeats
   runs each), fitted as `a + b x B x L`. `a / b` is what one more call costs in padded tokens: the
   `call_cost` that `sorted_batches` trades against padding (`CALL_COST_TOKENS`).
2. Guardrail batches: sessions of ../shared/datasets/truthfulqa_judge drawn 4 and 16 at a time (the
   question and the answer are each one text, as `embedding_head` encodes them). Each batch is run with
   fixed chunks of 16 sorted rows (the old rule) and with the cost-aware cut, alternating, and the
   median time per batch, the padded tokens and the ratio are reported.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

if not __package__:  # run as `python benchmarks/NAME.py`; `python -m benchmarks.NAME` needs nothing
    sys.path[0] = str(Path(__file__).resolve().parents[1])

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
from rich.console import Console  # noqa: E402

from benchmarks.loop_data import read_rows  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
console = Console(highlight=False)


def fixed_chunks(lengths: list[int], batch_size: int) -> list[list[int]]:
    """The old rule: sorted rows in consecutive chunks of batch_size."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def time_call(forward, arrays: dict[str, np.ndarray], repeats: int) -> float:
    for _ in range(3):
        forward(arrays)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        forward(arrays)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def cost_model(forward, repeats: int) -> dict:
    rng = np.random.default_rng(0)
    grid = []
    for rows in (1, 2, 4, 8, 16):
        for tokens in (8, 16, 32, 64):
            ids = rng.integers(1000, 20000, size=(rows, tokens)).astype(np.int64)
            arrays = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": 0 * ids}
            grid.append({"rows": rows, "tokens": tokens, "ms": round(time_call(forward, arrays, repeats), 3)})
    x = np.array([g["rows"] * g["tokens"] for g in grid], dtype=float)
    y = np.array([g["ms"] for g in grid])
    slope, intercept = np.polyfit(x, y, 1)
    return {
        "grid": grid,
        "ms_per_call": round(float(intercept), 3),
        "ms_per_token": round(float(slope), 4),
        "call_cost_tokens": round(float(intercept / slope), 1),
    }


def guardrail_batches(encoder, forward, sessions, per_batch: int, n: int, repeats: int, call_cost: float):
    from judgeloop.training.encoding import sorted_batches

    rng = random.Random(per_batch)
    rows_fixed, rows_cut = [], []
    padded = {"fixed": 0, "cut": 0, "real": 0}
    calls = {"fixed": 0, "cut": 0}
    for _ in range(n):
        chosen = rng.sample(sessions, per_batch)
        texts = [q for q, _ in chosen] + [a for _, a in chosen]
        rows = encoder.encode_texts(texts)
        lengths = [len(r) for r in rows]
        plans = {"fixed": fixed_chunks(lengths, 16), "cut": sorted_batches(lengths, 16, call_cost)}
        padded["real"] += sum(lengths)
        for name, plan in plans.items():
            padded[name] += sum(len(b) * max(lengths[i] for i in b) for b in plan)
            calls[name] += len(plan)
        batches = {
            name: [encoder.collate([rows[i] for i in b]) for b in plan] for name, plan in plans.items()
        }
        for _ in range(2):  # warm
            for arrays in batches["fixed"] + batches["cut"]:
                forward(arrays)
        for r in range(repeats):  # alternate, so drift hits both alike
            for name in ("fixed", "cut") if r % 2 == 0 else ("cut", "fixed"):
                started = time.perf_counter()
                for arrays in batches[name]:
                    forward(arrays)
                (rows_fixed if name == "fixed" else rows_cut).append(time.perf_counter() - started)
    fixed_ms, cut_ms = statistics.median(rows_fixed) * 1000, statistics.median(rows_cut) * 1000
    return {
        "sessions_per_batch": per_batch,
        "batches": n,
        "median_ms_fixed": round(fixed_ms, 3),
        "median_ms_cut": round(cut_ms, 3),
        "ratio_cut_to_fixed": round(cut_ms / fixed_ms, 3),
        "token_efficiency_fixed": round(padded["real"] / padded["fixed"], 3),
        "token_efficiency_cut": round(padded["real"] / padded["cut"], 3),
        "calls_per_batch_fixed": round(calls["fixed"] / n, 2),
        "calls_per_batch_cut": round(calls["cut"] / n, 2),
    }


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--repeats", type=int, default=40)
    p.add_argument("--batches", type=int, default=150, help="guardrail batches drawn per size")
    p.add_argument("--out", type=Path, default=RESULTS / "encoder_batching.json")
    args = p.parse_args(argv)

    from judgeloop.assets import default_encoder_path
    from judgeloop.training.encoding import CALL_COST_TOKENS
    from judgeloop.training.methods.embedding_head import EmbeddingHead
    from judgeloop.training.onnx import INT8_FILE, OnnxForward, quantize_int8

    questions, answers, _ = read_rows()
    sessions = list(zip(questions, answers, strict=True))
    probe = EmbeddingHead(base_model=str(default_encoder_path()))
    probe._ensure_encoder()
    encoder = probe.pair_encoder_
    started = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        forward = OnnxForward(quantize_int8(probe.export_onnx(Path(tmp)), Path(tmp) / INT8_FILE))
        console.print("timing the cost grid ...")
        model = cost_model(forward, args.repeats)
        console.print(
            f"one call {model['ms_per_call']} ms + {model['ms_per_token']} ms per padded token: "
            f"a call costs {model['call_cost_tokens']} tokens (CALL_COST_TOKENS = {CALL_COST_TOKENS:g})"
        )
        call_cost = float(os.environ.get("JUDGELOOP_CALL_COST_TOKENS") or CALL_COST_TOKENS)
        results = []
        for per_batch in (4, 16):
            console.print(f"guardrail batches of {per_batch} sessions ...")
            r = guardrail_batches(encoder, forward, sessions, per_batch, args.batches, 6, call_cost)
            console.print(r)
            results.append(r)
    report = {
        "command": "benchmarks/encoder_batching.py",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "load_avg_1m": os.getloadavg()[0],
        "seconds": round(time.time() - started, 1),
        "call_cost_tokens_used": call_cost,
        "cost_model": model,
        "guardrail_batches": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    console.print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
