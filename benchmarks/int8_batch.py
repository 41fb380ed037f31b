"""Does an int8 model's score depend on the other sessions in its batch? Before and after per-session runs.

    PYTHONPATH=src:. .venv/bin/python -m benchmarks.int8_batch --model /work/runs/stage_minilm --rows 1000

The model folder is an int8 ONNX evaluator (`model.int8.onnx`, e.g. the TruthfulQA MiniLM fine-tune of
"The cascade with strong stages"); the rows are its held-out rows of TruthfulQA truth (`--split random`
of strong_encoder, 57 rows with an empty answer left out). Each held-out session is scored three ways
with fresh evaluators (no embedding cache or label memory): in batches of 64 with the whole padded
batch in one ONNX run (the old path: `per_session = False`), in batches of 64 on the shipped path (one
ONNX run per session, cut to its length), and one session per call. Reported: max and median |ΔP|
against one-per-call, verdicts that change, accuracy, and batch throughput of both paths (medians of
`--repeats`, alternating, in one process). Writes benchmarks/results/int8_batch.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

if not __package__:
    sys.path[0] = str(Path(__file__).resolve().parents[1])

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402

from benchmarks.loop_data import RESULTS  # noqa: E402


def fresh(model: Path, per_session: bool):  # type: ignore[no-untyped-def]
    from judgeloop.evaluators.learned import LearnedEvaluator

    ev = LearnedEvaluator.load(model)
    ev.memory = None  # the model's own scores, not the training labels of repeated sessions
    ev.model.onnx_.per_session = per_session
    return ev


def main() -> None:
    from benchmarks.strong_encoder import read
    from benchmarks.train_curve import make_splits

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS / "int8_batch.json")
    args = parser.parse_args()
    qs, ans, y = read("truth")
    held = [int(i) for i in make_splits(qs, y, 2000)["random"].heldout][: args.rows]
    pairs, good = [(qs[i], ans[i]) for i in held], y[held]
    load = [os.getloadavg()[0]]
    single = fresh(args.model, True)
    alone = np.array([single.predict_proba([p], batch_size=1)[0] for p in pairs])
    threshold = single.threshold
    scores, rates = {}, {"whole_batch": [], "per_session": []}
    for _ in range(args.repeats):
        for name, per_session in (("whole_batch", False), ("per_session", True)):
            ev = fresh(args.model, per_session)
            started = time.perf_counter()
            scores[name] = np.asarray(ev.predict_proba(pairs, batch_size=64))
            rates[name].append(len(pairs) / (time.perf_counter() - started))
    load.append(os.getloadavg()[0])
    result = {
        "command": "python -m benchmarks.int8_batch " + " ".join(sys.argv[1:]),
        "model": str(args.model),
        "rows": len(pairs),
        "load": load,
        "accuracy_one_per_call": float(((alone >= threshold) == good).mean()),
    }
    for name, p in scores.items():
        diff = np.abs(p - alone)
        result[name] = {
            "max_abs_dp_vs_alone": float(diff.max()),
            "median_abs_dp_vs_alone": float(np.median(diff)),
            "rows_moved_over_0.01": int((diff > 0.01).sum()),
            "verdicts_changed": int(((p >= threshold) != (alone >= threshold)).sum()),
            "accuracy": float(((p >= threshold) == good).mean()),
            "sessions_per_s_median": float(np.median(rates[name])),
        }
    result["throughput_ratio_per_session_vs_whole"] = (
        result["per_session"]["sessions_per_s_median"] / result["whole_batch"]["sessions_per_s_median"]
    )
    print(json.dumps(result, indent=1))
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
