"""What the ONNX cache saves a training: the default recipe on the bundled set, cold vs warm cache.

    PYTHONPATH=src .venv/bin/python -m benchmarks.train_onnx_cache --rounds 3

Each round trains the default evaluator (embedding head on the bundled MiniLM, int8 gate) on the bundled
support set twice in this process, in alternating order: with an empty `$JUDGELOOP_HOME` (cold: the
encoder is traced to ONNX and quantized, and both files are kept) and with a home whose cache a warm-up
training filled (warm: both files are copied from the cache). The encoder's weights and the embedding of
the texts are loaded and computed in both runs (a fresh estimator each time). Reported: the medians and
their ratio. Writes benchmarks/results/train_onnx_cache.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

if not __package__:
    sys.path[0] = str(Path(__file__).resolve().parents[1])

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

RESULTS = Path(__file__).resolve().parent / "results"


def train_once(out: Path) -> float:
    from judgeloop.assets import EXAMPLE_DATASET
    from judgeloop.io import read_dataset
    from judgeloop.training import examples_from_rows, train_evaluator

    examples = examples_from_rows(read_dataset(EXAMPLE_DATASET).rows, group_col="prompt_id")
    started = time.perf_counter()
    train_evaluator(examples, out, progress=False)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS / "train_onnx_cache.json")
    args = parser.parse_args()
    warm_home = Path(tempfile.mkdtemp()) / "home"
    os.environ["JUDGELOOP_HOME"] = str(warm_home)
    train_once(Path(tempfile.mkdtemp()) / "warmup")  # imports, first loads and the warm cache's files
    cold, warm = [], []
    for r in range(args.rounds):
        with tempfile.TemporaryDirectory() as tmp:
            order = ["cold", "warm"] if r % 2 == 0 else ["warm", "cold"]  # alternate, against drift
            for kind in order:
                os.environ["JUDGELOOP_HOME"] = str(Path(tmp) / "home" if kind == "cold" else warm_home)
                (cold if kind == "cold" else warm).append(train_once(Path(tmp) / kind))
        print(f"round {r + 1}: cold {cold[-1]:.2f} s, warm {warm[-1]:.2f} s, load {os.getloadavg()[0]:.1f}")
    result = {
        "cold_s": cold,
        "warm_s": warm,
        "median_cold_s": statistics.median(cold),
        "median_warm_s": statistics.median(warm),
        "ratio": statistics.median(warm) / statistics.median(cold),
        "load_average_end": os.getloadavg(),
    }
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k.startswith(("median", "ratio"))}))


if __name__ == "__main__":
    main()
