"""Inference speed of a custom evaluator vs the seed's function, in one process (issue 3).

    .venv/bin/python -m benchmarks.inference_speed                 # 240 bundled sessions, 3 rounds
    .venv/bin/python -m benchmarks.inference_speed --rounds 1 --out /tmp/speed.json

Sessions: the bundled e-commerce support set (240 sessions; chat-style inputs with an order lookup,
support answers of 1-4 sentences). The evaluator is what `judgeloop train` writes for it by default
(`auto` → embedding_head on the MiniLM encoder, model.onnx exported), trained once into a temp folder,
then loaded twice: on ONNX Runtime (the default when model.onnx is there) and on torch.

Measured, each in the same process and on the same sessions:
- `single`: one `evaluate_llm_session(model_input, model_output)` call per session, one after another,
  with the embedding cache emptied before every call (cold: nothing of the session was seen before).
- `single, input cached`: the same with the input's embedding already cached (a conversation whose
  context was scored before and gets a new answer: only the output is encoded).
- `batch`: `evaluate(all sessions)` in one call, as `judgeloop evaluate` and the batch API do (it
  sorts by length and embeds each distinct text once), cache emptied first → sessions/s; and
  `predict_proba` on consecutive chunks of 64 sessions (`batch of 64`).
- `seed`: the seed's `evaluate_llm_session`: AutoModelForSequenceClassification on the same MiniLM,
  `tokenizer(model_input + " " + model_output, padding="max_length", max_length=128, truncation=True)`,
  eager torch, argmax; single calls, and (generously) batches of 64 padded to 128 (its `batch`).
Latencies are wall-clock per call; p50/p99 over every call of every round. torch uses its default
thread count (2 on the 2-core reference machine).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402
from tqdm.auto import tqdm  # noqa: E402

from judgeloop.assets import EXAMPLE_DATASET, default_encoder_path  # noqa: E402

console = Console(highlight=False)
RESULTS = Path(__file__).resolve().parent / "results"
BATCH = 64


def load_sessions(data: str, limit: int) -> list[tuple[Any, str, int]]:
    if data == "truthfulqa":
        from benchmarks.loop_data import DATA, read_rows

        questions, answers, good = read_rows(DATA)
        order = np.random.default_rng(0).permutation(len(good))[:limit]
        return [(questions[i], answers[i], int(good[i])) for i in order if answers[i].strip()]
    rows = []
    with EXAMPLE_DATASET.open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            text = row["model_input"]
            model_input: Any = json.loads(text) if text.startswith("[") else text
            rows.append((model_input, row["model_output"], int(row["good"])))
    return rows


def flat(model_input: Any) -> str:
    """The seed glued strings: a chat input becomes its messages' text, in order."""
    if isinstance(model_input, str):
        return model_input
    return "\n".join(f"{m['role']}: {m['content']}" for m in model_input)


class SeedFunction:
    """The seed's evaluate_llm_session on the default MiniLM (a classification head on top)."""

    def __init__(self) -> None:
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        from judgeloop.training.base_encoder import quiet_transformers

        path = str(default_encoder_path())
        with quiet_transformers():
            self.tokenizer = AutoTokenizer.from_pretrained(path)
            self.model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=2).eval()

    def evaluate_llm_session(self, model_input: Any, model_output: str) -> int:
        return int(self.batch([(model_input, model_output)])[0])

    def batch(self, pairs: list[tuple[Any, str]]) -> np.ndarray:
        import torch

        texts = [flat(i) + " " + o for i, o in pairs]
        enc = self.tokenizer(
            texts, padding="max_length", max_length=128, truncation=True, return_tensors="pt"
        )
        with torch.no_grad():
            return self.model(**enc).logits.argmax(-1).numpy()


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def time_calls(
    fn: Callable[[Any, str], Any],
    pairs: list[tuple[Any, str]],
    before: Callable[[], None],
    rounds: int,
    label: str,
) -> list[float]:
    for i, o in pairs[:5]:  # warm-up: first calls allocate
        before()
        fn(i, o)
    times = []
    for _ in tqdm(range(rounds), desc=label, leave=False):
        for i, o in pairs:
            before()
            started = time.perf_counter()
            fn(i, o)
            times.append((time.perf_counter() - started) * 1000)
    return times


def throughput(
    fn: Callable[[list[tuple[Any, str]]], Any],
    pairs: list[tuple[Any, str]],
    before: Callable[[], None],
    rounds: int,
    chunk: int,
) -> float:
    """Median sessions/s over `rounds` passes over all pairs, `chunk` pairs per call."""
    rates = []
    fn(pairs[:chunk])
    for _ in range(rounds):
        before()
        started = time.perf_counter()
        for start in range(0, len(pairs), chunk):
            fn(pairs[start : start + chunk])
        rates.append(len(pairs) / (time.perf_counter() - started))
    return float(statistics.median(rates))


def measure(
    workdir: Path, variants: dict[str, tuple[str, str]], pairs: list, seed: SeedFunction, args: Any
) -> dict[str, dict[str, Any]]:
    """One run: every runtime and the seed's function, on the same sessions."""
    from judgeloop.evaluators.learned import LearnedEvaluator
    from judgeloop.training.methods.embedding_head import EmbeddingCache, _text_key

    results: dict[str, dict[str, Any]] = {}
    for runtime, (folder, kind) in variants.items():
        ev = LearnedEvaluator.load(workdir / folder, runtime=kind)
        head = ev.model
        if args.encoder_batch:
            head.batch_size = args.encoder_batch

        def cold(head: Any = head) -> None:
            head.cache_ = EmbeddingCache(head.cache_size)

        ev.predict_proba(pairs[:2])  # loads the encoder
        single = time_calls(ev.evaluate_llm_session, pairs, cold, args.rounds, f"{runtime} single")
        cold()
        ev.predict_proba(pairs)  # every input and output embedded; keep the inputs' embeddings only
        input_keys = {_text_key(i) for i, _ in pairs}
        snapshot = {k: v for k, v in head.cache_._data.items() if k in input_keys}

        def inputs_cached(head: Any = head, snapshot: dict = snapshot) -> None:
            head.cache_ = EmbeddingCache(head.cache_size)
            for k, v in snapshot.items():
                head.cache_.put(k, v)

        warm_inputs = time_calls(
            ev.evaluate_llm_session, pairs, inputs_cached, args.rounds, f"{runtime} cached"
        )
        batch = throughput(ev.evaluate, pairs, cold, args.rounds, len(pairs))
        batch64 = throughput(ev.predict_proba, pairs, cold, args.rounds, BATCH)
        results[f"judgeloop ({runtime})"] = {
            "single_p50_ms": percentile(single, 50),
            "single_p99_ms": percentile(single, 99),
            "input_cached_p50_ms": percentile(warm_inputs, 50),
            "input_cached_p99_ms": percentile(warm_inputs, 99),
            "batch_sessions_per_s": batch,
            "batch_of_64_sessions_per_s": batch64,
            "single_sessions_per_s": 1000 / statistics.mean(single),
        }
    seed_single = time_calls(seed.evaluate_llm_session, pairs, lambda: None, args.rounds, "seed single")
    results["seed (torch, pad 128)"] = {
        "single_p50_ms": percentile(seed_single, 50),
        "single_p99_ms": percentile(seed_single, 99),
        "batch_sessions_per_s": throughput(seed.batch, pairs, lambda: None, args.rounds, BATCH),
        "single_sessions_per_s": 1000 / statistics.mean(seed_single),
    }
    base = results["seed (torch, pad 128)"]
    for r in results.values():
        r["single_speedup_vs_seed"] = r["single_sessions_per_s"] / base["single_sessions_per_s"]
        r["batch_speedup_vs_seed"] = r["batch_sessions_per_s"] / base["batch_sessions_per_s"]

    return results


def median_results(runs: list[dict[str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Per runtime and figure, the median over runs (and, with several runs, the range)."""
    out: dict[str, dict[str, Any]] = {}
    for name in runs[0]:
        out[name] = {}
        for key in runs[0][name]:
            values = [r[name][key] for r in runs]
            out[name][key] = float(statistics.median(values))
            if len(runs) > 1:
                out[name][key + "_range"] = [float(min(values)), float(max(values))]
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rounds", type=int, default=3, help="passes over the sessions per run")
    p.add_argument("--runs", type=int, default=1, help="repeat the measurement; report medians and ranges")
    p.add_argument("--data", choices=["bundled", "truthfulqa"], default="bundled")
    p.add_argument("--limit", type=int, default=400, help="truthfulqa: sessions to use")
    p.add_argument("--out", type=Path, help="default: results/inference_speed_DATA.json")
    p.add_argument("--encoder-batch", type=int, help="texts per encoder pass (default: the model's, 16)")
    args = p.parse_args(argv)
    args.out = args.out or RESULTS / f"inference_speed_{args.data}.json"

    import torch

    from judgeloop.training import train_evaluator

    sessions = load_sessions(args.data, args.limit)
    pairs = [(i, o) for i, o, _ in sessions]
    workdir = Path(tempfile.mkdtemp(prefix="judgeloop-speed-"))
    console.print(f"training the default evaluator on {len(sessions)} {args.data} sessions ...")
    trained = train_evaluator(sessions, workdir / "model", progress=False)  # ships int8 if as accurate
    console.print(f"  method {trained.method}, trained in {trained.train_seconds:.1f} s")
    console.print(f"  runtime: {trained.config['runtime']}")
    train_evaluator(sessions, workdir / "fp32", progress=False, quantize="none")  # the same model, fp32

    seed = SeedFunction()
    variants = {"onnx int8": ("model", "onnx"), "onnx fp32": ("fp32", "onnx"), "torch": ("model", "torch")}
    if trained.config["runtime"]["quantized"] != "int8":
        variants.pop("onnx int8")
    runs = []
    for run in range(args.runs):
        console.print(f"run {run + 1} of {args.runs}")
        runs.append(measure(workdir, variants, pairs, seed, args))
    results = median_results(runs)

    table = Table(
        title=f"{len(pairs)} sessions x {args.rounds} rounds, torch threads {torch.get_num_threads()}"
    )
    for col in (
        "",
        "p50 ms",
        "p99 ms",
        "p50/p99 ms, input cached",
        "single/s",
        "batch/s",
        "64/call /s",
        "x seed (1 / batch)",
    ):
        table.add_column(col)
    for name, r in results.items():
        cached = (
            f"{r['input_cached_p50_ms']:.1f} / {r['input_cached_p99_ms']:.1f}"
            if "input_cached_p50_ms" in r
            else "-"
        )
        table.add_row(
            name,
            f"{r['single_p50_ms']:.1f}",
            f"{r['single_p99_ms']:.1f}",
            cached,
            f"{r['single_sessions_per_s']:.0f}",
            f"{r['batch_sessions_per_s']:.0f}",
            f"{r['batch_of_64_sessions_per_s']:.0f}" if "batch_of_64_sessions_per_s" in r else "-",
            f"{r['single_speedup_vs_seed']:.1f} / {r['batch_speedup_vs_seed']:.1f}",
        )
    console.print(table)
    meta = {
        "command": "python benchmarks/" + Path(__file__).name + " " + " ".join(argv or sys.argv[1:]),
        "data": args.data,
        "sessions": len(pairs),
        "rounds": args.rounds,
        "runs": args.runs,
        "encoder_batch": args.encoder_batch or 16,
        "torch_threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "load_avg": os.getloadavg(),
        "runtime_choice": trained.config["runtime"],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps({"meta": meta, "results": results, "runs": runs}, indent=1) + "\n", encoding="utf-8"
    )
    console.print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
