"""Does int8 cost accuracy? The default encoder on ONNX fp32 vs int8, on TruthfulQA's human labels.

    .venv/bin/python benchmarks/int8_accuracy.py            # ~3 min on 2 cores; results/int8_accuracy.json

The bundled MiniLM is exported to ONNX (`EmbeddingHead.export_onnx`) and quantized the way `train`
does it (`judgeloop.training.onnx.quantize_int8`). Every distinct question and answer of
../shared/datasets/truthfulqa_judge/finetune_truth_train.jsonl is embedded with both (timed), then the
`embedding_head` logistic head is fitted on 100 ... all training rows (3 seeds below 3,000) and scored
on 2,000 fixed held-out rows:
- `fp32`: trained and scored on fp32 embeddings;
- `int8`: trained and scored on int8 embeddings;
- `fp32 -> int8`: trained on fp32, scored on int8 (a model exported after training, as `train` does).
Also the cosine between each text's int8 and fp32 embedding.
"""

from __future__ import annotations

import argparse
import json
import os
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


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", default="100,300,1000,3000,all")
    p.add_argument("--heldout", type=int, default=2000)
    p.add_argument("--out", type=Path, default=RESULTS / "int8_accuracy.json")
    args = p.parse_args(argv)

    from judgeloop.assets import default_encoder_path
    from judgeloop.training.methods.embedding_head import EmbeddingCache, EmbeddingHead, _text_key
    from judgeloop.training.onnx import INT8_FILE, quantize_int8

    questions, answers, good = read_rows()
    order = np.random.default_rng(0).permutation(len(good))
    test, pool = order[: args.heldout], order[args.heldout :]
    pairs = list(zip(questions, answers, strict=True))
    texts = sorted(set(questions) | set(answers))
    base = str(default_encoder_path())
    probe = EmbeddingHead(base_model=base)
    caches: dict[str, EmbeddingCache] = {}
    seconds: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = probe.export_onnx(Path(tmp))
        files = {"fp32": fp32, "int8": quantize_int8(fp32, Path(tmp) / INT8_FILE)}
        for name, path in files.items():
            probe.attach_onnx(path)
            started = time.perf_counter()
            probe.embed(texts)
            seconds[name] = time.perf_counter() - started
            caches[name] = probe.cache_
            console.print(f"embedded {len(texts)} texts on {name} in {seconds[name]:.0f} s")
    sample = texts[:3000]
    e32 = np.stack([caches["fp32"].get(_text_key(t)) for t in sample])
    e8 = np.stack([caches["int8"].get(_text_key(t)) for t in sample])
    cos = (e32 * e8).sum(1) / np.linalg.norm(e32, axis=1) / np.linalg.norm(e8, axis=1)

    def accuracy(train_on: str, score_on: str, idx: np.ndarray) -> float:
        model = EmbeddingHead(base_model=base)
        model._ensure_encoder()
        model.cache_ = caches[train_on]
        model.fit([pairs[i] for i in idx], good[idx])
        model.cache_ = caches[score_on]
        predicted = (model.decision_function([pairs[i] for i in test]) >= 0).astype(int)
        return float(np.mean(predicted == good[test]))

    rows = []
    for size in args.sizes.split(","):
        n = len(pool) if size == "all" else int(size)
        seeds = range(3) if n < 3000 else range(1)
        runs = {"fp32": [], "int8": [], "fp32 -> int8": []}
        for seed in seeds:
            idx = np.random.default_rng(seed).choice(pool, n, replace=False)
            runs["fp32"].append(accuracy("fp32", "fp32", idx))
            runs["int8"].append(accuracy("int8", "int8", idx))
            runs["fp32 -> int8"].append(accuracy("fp32", "int8", idx))
        row = {"labels": n, "seeds": len(seeds), **{k: float(np.mean(v)) for k, v in runs.items()}}
        rows.append(row)
        console.print(row)
    report = {
        "command": "python benchmarks/int8_accuracy.py " + " ".join(argv or []),
        "heldout": args.heldout,
        "texts": len(texts),
        "embed_seconds": seconds,
        "cosine_int8_vs_fp32": {"mean": float(cos.mean()), "min": float(cos.min())},
        "accuracy": rows,
        "load_avg": os.getloadavg(),
    }
    args.out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    console.print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
