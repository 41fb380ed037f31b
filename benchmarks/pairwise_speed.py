"""Scoring speed of the learned pairwise comparator: pairs/s in one batch call, today's path against the old.

    PYTHONPATH=src .venv/bin/python -m benchmarks.pairwise_speed [--model DIR] [--pairs 500] [--runs 3]
                                                              # results/pairwise_speed.json

Without `--model` it first trains the comparator of BENCHMARKS.md's best mix (LLMBar's processed
MT-Bench human votes, FairEval and LLMEval2; `train_pairwise` with PandaLM as the held-out set and
`quantize="int8"`, so PandaLM decides nothing) and reports its PandaLM accuracy and agreement on
torch/fp32 and on ONNX int8 (from the folder's judgeloop.json["runtime"]).

Then, in this one process, one batch call `compare(pairs)` over the first `--pairs` PandaLM pairs from
an empty embedding cache (the encoder loaded and warmed outside the timing), rounds alternating over:
- `before`: the path before issue 20's speed work, ONNX fp32 (model.onnx), ONNX Runtime's default
  threads with spinning on;
- `shipped`: the folder as `PairwiseEvaluator.load` serves it (ONNX int8, spinning off, default threads);
- `shipped_1_thread`: the same on one intra-op thread (JUDGELOOP_ONNX_THREADS=1);
- `fp32_no_spin`: fp32 with spinning off (what the int8 part of the gain is).
Each figure is the median over `--runs` rounds, with the 1-minute load average at each run.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402

from judgeloop.bench import preference_sets as ps  # noqa: E402

ROOT = Path(__file__).resolve().parents[2] / "shared" / "datasets"
RESULTS = Path(__file__).resolve().parent / "results"
BEST_MIX = ("mtbench_human", "faireval", "llmeval2")
# name -> (ONNX file: None = the one the folder serves, threads, spinning: None = as loaded)
CONFIGS: dict[str, tuple[str | None, int | None, bool | None]] = {
    "before": ("model.onnx", None, True),
    "shipped": (None, None, None),
    "shipped_1_thread": (None, 1, False),
    "fp32_no_spin": ("model.onnx", None, False),
}


def train_best_mix(out: Path) -> dict[str, Any]:
    from judgeloop.training.pairwise import train_pairwise

    train = [
        p for n in BEST_MIX for p in ps.load_llmbar(ROOT, n) if p.output_a.strip() and p.output_b.strip()
    ]
    started = time.perf_counter()
    result = train_pairwise(
        train,
        out,
        heldout=ps.load_pandalm(ROOT),
        name="bt-best-mix",
        quantize="int8",
        params={"num_threads": 1},
    )
    runtime = result.config["runtime"]
    print(f"trained on {len(train)} pairs in {time.perf_counter() - started:.0f} s: {runtime}", flush=True)
    return {"n_train": len(train), "mix": list(BEST_MIX), "runtime": runtime}


def evaluator(model_dir: Path, config: tuple[str | None, int | None, bool | None]) -> Any:
    from judgeloop.evaluators.pairwise_learned import PairwiseEvaluator
    from judgeloop.training.onnx import OnnxForward

    ev = PairwiseEvaluator.load(model_dir)
    file, threads, spinning = config
    if file is not None or threads is not None or spinning is not None:
        current = ev.model.embedder.onnx_
        path = model_dir / file if file else current.path
        ev.model.embedder.onnx_ = OnnxForward(
            path, threads, current.spinning if spinning is None else spinning
        )
    return ev


def time_once(ev: Any, triples: list[Any]) -> tuple[float, np.ndarray, int]:
    from judgeloop.training.methods.embedding_head import EmbeddingCache

    ev.compare(triples[:4])  # the encoder is loaded and warm
    embedder = ev.model.embedder
    embedder.cache_ = EmbeddingCache(embedder.cache_size)  # nothing cached: every distinct text encoded
    started = time.perf_counter()
    probs = ev.compare(triples)
    rate = len(triples) / (time.perf_counter() - started)
    return rate, probs, len(embedder.cache_)


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, help="a comparator folder (default: train the best mix)")
    parser.add_argument("--pairs", type=int, default=500, help="PandaLM pairs per batch call")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS / "pairwise_speed.json")
    args = parser.parse_args()
    pairs = ps.load_pandalm(ROOT)[: args.pairs]
    triples = [(p.model_input, p.output_a, p.output_b) for p in pairs]
    results: dict[str, Any] = {"pairs": len(triples), "runs": args.runs}
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = args.model
        if model_dir is None:
            model_dir = Path(tmp) / "model"
            results["model"] = train_best_mix(model_dir)
        else:
            results["model"] = {
                "dir": str(model_dir),
                "runtime": json.loads((model_dir / "judgeloop.json").read_text())["runtime"],
            }
        evs = {name: evaluator(model_dir, cfg) for name, cfg in CONFIGS.items()}
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in CONFIGS}
        probs: dict[str, np.ndarray] = {}
        for round_ in range(args.runs):
            for name, ev in evs.items():
                rate, probs[name], texts = time_once(ev, triples)
                load = os.getloadavg()[0]
                runs[name].append({"pairs_per_s": rate, "load_1min": load, "texts_encoded": texts})
                print(
                    f"round {round_ + 1} {name}: {rate:.1f} pairs/s ({texts} texts), load {load:.2f}",
                    flush=True,
                )
        swapped = evs["shipped"].compare([(x, b, a) for x, a, b in triples])
        shipped = probs["shipped"]
        results["position_consistency_shipped"] = float(
            np.mean(
                (shipped[:, 0] == swapped[:, 1])
                & (shipped[:, 1] == swapped[:, 0])
                & (shipped[:, 2] == swapped[:, 2])
            )
        )
        base = probs["before"]
        for name in CONFIGS:
            rates = [r["pairs_per_s"] for r in runs[name]]
            results[name] = {
                "runtime": evs[name].runtime,
                "threads": evs[name].model.embedder.onnx_.num_threads,
                "spinning": evs[name].model.embedder.onnx_.spinning,
                "median_pairs_per_s": float(np.median(rates)),
                "runs": runs[name],
                "x_before": float(np.median(rates) / np.median([r["pairs_per_s"] for r in runs["before"]])),
                "max_abs_dp_vs_before": float(np.max(np.abs(probs[name] - base))),
                "same_choice_as_before": float(np.mean(np.argmax(probs[name], 1) == np.argmax(base, 1))),
            }
            print(name, {k: v for k, v in results[name].items() if k != "runs"}, flush=True)
    results["machine"] = f"{os.cpu_count()} cores, shared with other jobs; python {sys.version.split()[0]}"
    args.out.parent.mkdir(exist_ok=True)
    tmp_out = args.out.with_suffix(".tmp")
    tmp_out.write_text(json.dumps(results, indent=2) + "\n")
    tmp_out.replace(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
