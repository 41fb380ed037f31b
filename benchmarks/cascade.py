"""A two-stage cascade on TruthfulQA truth: certified automated share, realised error, serving latency.

    PYTHONPATH=src:benchmarks .venv/bin/python -m benchmarks.cascade --work /tmp/cascade-bench
    PYTHONPATH=src:benchmarks .venv/bin/python -m benchmarks.cascade --train2 2000 --calibration 3000

Data: ../shared/datasets/truthfulqa_judge/finetune_truth_train.jsonl (question = session input, answer
= output, "yes" = good). `--latency` questions are set aside whole (never trained or calibrated on);
from the other questions' rows, `--train` rows train stage 1 (its first `--train2` rows stage 2) and
`--calibration` other rows certify the cascade (rows of a question may sit on both sides, as in
train_curve's `random` split).

Stages: 1 = MiniLM-L6 embedding head on ONNX int8 (what `judgeloop train` ships), 2 = an MPNet
(all-mpnet-base-v2, `judgeloop models install mpnet`) embedding head on torch, both with
`train_evaluator`. Reported:
- per target error (1/5/10%): the certified share on all calibration labels, and over --repeats random
  halves (certified on one, applied to the other) the automated share, the realised error and how often
  it stayed within the target; for the cascade and for each stage alone; with the share each stage decides.
- latency on sessions never seen before (one row of each set-aside question, fresh evaluators, so no
  embedding cache or label memory hit): `evaluate_llm_session` one session at a time, stage 1 alone and
  the cascade (certified at 5%) alternating per session; p50/p99 of the sessions stage 1 decides, the
  mean over all; then batch throughput (`evaluate` on all of them at once) of both.
Writes benchmarks/results/cascade.json.

`--stages DIR1 DIR2` skips training and uses saved model folders (e.g. the fine-tunes written by
`strong_encoder.py fit --split question --save DIR`): the rows are then strong_encoder's `--split`
(`question`, the default: held-out questions none of the stages trained on; `random`: held-out rows of
questions that were trained on, as in TruthfulQA's own dev split). With `question`, `--latency` of those
questions are set aside whole for the latency runs (every row of them: sessions never seen, so no label
memory hit); with `random`, `--latency` held-out rows that repeat no training session. The other
held-out rows certify. Both certification methods are reported
(`risk_cascade.certify_cascade`: "joint", the default, and "folds"), and an offline "stage 2 sees stage
1" variant (the mean of the two stages' logits as stage 2's score) for comparison. `--combine mean_logit`
builds and serves the cascade with that rule (`cascade build --combine mean_logit`), so the latency runs
measure it. Writes `--out` (default benchmarks/results/cascade_question.json in this mode).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if not __package__:  # run as `python benchmarks/NAME.py`; `python -m benchmarks.NAME` needs nothing
    sys.path[0] = str(Path(__file__).resolve().parents[1])

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402

from benchmarks.loop_data import RESULTS, read_rows  # noqa: E402
from judgeloop.training import Example  # noqa: E402


def split(questions: list[str], answers: list[str], args: argparse.Namespace) -> dict[str, np.ndarray]:
    """Row indices: train, calibration (seen questions) and one row per set-aside question (57 rows with
    an empty answer are left out: train_evaluator refuses them)."""
    rng = np.random.default_rng(args.seed)
    usable = np.array([bool(q.strip()) and bool(a.strip()) for q, a in zip(questions, answers, strict=True)])
    unique = sorted(set(questions))
    aside = set(rng.choice(len(unique), args.latency, replace=False).tolist())
    qid = {q: i for i, q in enumerate(unique)}
    seen = np.array([qid[q] not in aside for q in questions])
    pool = rng.permutation(np.flatnonzero(seen & usable))
    latency, first = [], set()
    for i in rng.permutation(np.flatnonzero(~seen & usable)):  # one row per set-aside question
        if questions[i] not in first:
            first.add(questions[i])
            latency.append(i)
    return {
        "train": np.sort(pool[: args.train]),
        "calibration": np.sort(pool[args.train : args.train + args.calibration]),
        "latency": np.array(latency),
    }


def train_stages(rows: list[Example], train2: int, work: Path) -> dict[str, Any]:
    """Stage 1 on all the training rows, stage 2 on the first `train2` of them (MPNet embeds ~5x slower)."""
    from judgeloop.training import train_evaluator

    timings = {}
    for name, base, subset, kw in (
        ("s1-minilm-int8", None, rows, {"onnx": True, "quantize": "int8"}),
        ("s2-mpnet", "mpnet", rows[:train2], {"onnx": False}),
    ):
        from judgeloop.artifact import ModelArtifact

        if ModelArtifact.exists(work / name):
            continue
        started = time.perf_counter()
        train_evaluator(
            subset, work / name, base_model=base, method="embedding_head", test_size=0.1, progress=False, **kw
        )
        timings[name] = round(time.perf_counter() - started, 1)
    return timings


def report(
    probs: list[np.ndarray], thresholds: list[float], y: np.ndarray, repeats: int, method: str = "joint"
) -> list[dict]:
    from judgeloop.loop.risk_cascade import automation_report

    return automation_report(probs, thresholds, y, repeats=repeats, method=method)


def saved_stages(args: argparse.Namespace) -> None:
    """The `--stages` mode (see the module docstring)."""
    from benchmarks.strong_encoder import read
    from benchmarks.train_curve import make_splits
    from judgeloop.evaluators.learned import LearnedEvaluator
    from judgeloop.training.cascade import build_cascade

    started = time.perf_counter()
    qs, ans, y_all = read("truth")
    split = make_splits(qs, y_all, 2000)[args.split]
    lat_rows, cal_rows = latency_and_calibration_rows(qs, ans, split, args)
    cal = [Example(qs[i], ans[i], int(y_all[i]), None, str(i)) for i in cal_rows]
    y = y_all[cal_rows]
    stage_dirs = [Path(d) for d in args.stages]
    stages = [LearnedEvaluator.load(d) for d in stage_dirs]
    probs = [np.asarray(s.predict_proba([ex.pair for ex in cal])) for s in stages]
    thresholds = [s.threshold for s in stages]
    logit = [np.log(np.clip(p, 1e-6, 1 - 1e-6) / np.clip(1 - p, 1e-6, 1)) for p in probs]
    mixed = 1 / (1 + np.exp(-(logit[0] + logit[1]) / 2))
    accuracy = [float(((p >= t).astype(int) == y).mean()) for p, t in zip(probs, thresholds, strict=True)]
    result: dict[str, Any] = {
        "command": "python benchmarks/cascade.py " + " ".join(sys.argv[1:]),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f} at start",
        "stages": [str(d) for d in stage_dirs],
        "n_calibration": len(cal_rows),
        "split": args.split,
        "n_latency_sessions": len(lat_rows),
        "latency_questions": len({qs[i] for i in lat_rows}),
        "base_rate_good": float(y.mean()),
        "stage_accuracy": accuracy,
        "mean_logit_accuracy": float(((mixed >= 0.5).astype(int) == y).mean()),
        "stage1_alone": report(probs[:1], thresholds[:1], y, args.repeats),
        "stage2_alone": report(probs[1:], thresholds[1:], y, args.repeats),
        "combine": args.combine,
        "cascade_joint": report(*served(probs, thresholds, args.combine), y, args.repeats, "joint"),
        "cascade_folds": report(*served(probs, thresholds, args.combine), y, args.repeats, "folds"),
        "cascade_joint_stage2_mean_logit": report([probs[0], mixed], [0.5, 0.5], y, args.repeats, "joint"),
    }
    for key in ("stage1_alone", "stage2_alone", "cascade_joint", "cascade_folds"):
        print(key, [(r["target"], round(r["certified_share"], 3), r["heldout_share"]) for r in result[key]])
    pairs = [(qs[i], ans[i]) for i in lat_rows]
    result["latency"] = {}
    for target in args.latency_targets:
        cascade_dir = Path(tempfile.mkdtemp(prefix="jl-cascade-")) / "cascade"
        build_cascade(
            stage_dirs, cal, cascade_dir, target_error=target, name="truth-cascade", combine=args.combine
        )
        result["latency"][f"{target:.0%}"] = latency(cascade_dir, stage_dirs[0], pairs)
        shutil.rmtree(cascade_dir.parent, ignore_errors=True)
        print(target, json.dumps(result["latency"][f"{target:.0%}"]), flush=True)
    result["seconds"] = round(time.perf_counter() - started, 1)
    result["load_at_end"] = os.getloadavg()[0]
    out = args.out if args.out != RESULTS / "cascade.json" else RESULTS / f"cascade_{args.split}.json"
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


def served(
    probs: list[np.ndarray], thresholds: list[float], combine: str
) -> tuple[list[np.ndarray], list[float]]:
    """The stage scores and thresholds the cascade serves under `combine`."""
    from judgeloop.loop.risk_cascade import stage_scores, stage_thresholds

    return stage_scores(probs, combine), stage_thresholds(thresholds, combine)


def latency_and_calibration_rows(
    qs: list[str], ans: list[str], split: Any, args: argparse.Namespace
) -> tuple[list[int], list[int]]:
    """Held-out rows for the latency runs and for certification, disjoint. `question`: every row of
    `--latency` held-out questions is set aside (questions no stage trained on). `random`: every question
    was trained on, so `--latency` held-out rows are set aside whose session repeats no training row
    (no label-memory hit; each is a session the stages never saw)."""
    held = [int(i) for i in split.heldout]
    rng = np.random.default_rng(args.seed)
    if args.split == "question":
        held_questions = sorted({qs[i] for i in held})
        aside = set(rng.choice(held_questions, args.latency, replace=False).tolist())
        return [i for i in held if qs[i] in aside], [i for i in held if qs[i] not in aside]
    seen = {(qs[i], ans[i]) for i in split.train_pool}
    fresh = [i for i in held if (qs[i], ans[i]) not in seen]
    lat = set(rng.choice(fresh, args.latency, replace=False).tolist())
    return sorted(lat), [i for i in held if i not in lat]


def latency(cascade_dir: Path, stage1_dir: Path, pairs: list[tuple[str, str]]) -> dict[str, Any]:
    from judgeloop.evaluators.cascade import CascadeEvaluator
    from judgeloop.evaluators.learned import LearnedEvaluator

    alone, cascade = LearnedEvaluator.load(stage1_dir), CascadeEvaluator.load(cascade_dir)
    warm = [("warm-up question " + str(i), "warm-up answer " + str(i)) for i in range(3)]
    for q, a in warm:  # load the encoders; these texts are not in the measured set
        alone.evaluate_llm_session(q, a)
        cascade.evaluate_llm_session(q, a)
    t_alone, t_cascade, stages = [], [], []
    for q, a in pairs:
        t_alone.append(alone.evaluate_llm_session(q, a).latency_ms)
        v = cascade.evaluate_llm_session(q, a)
        t_cascade.append(v.latency_ms)
        stages.append(v.stage)
    ta, tc = np.array(t_alone), np.array(t_cascade)
    by1 = np.array([s is not None and s.startswith("1:") for s in stages])
    out: dict[str, Any] = {
        "n": len(pairs),
        "stage_counts": {str(s): stages.count(s) for s in dict.fromkeys(stages)},
        "stage1_alone_ms": _summary(ta),
        "cascade_ms": _summary(tc),
        "cascade_stage1_decided_ms": _summary(tc[by1]) if by1.any() else None,
        "cascade_escalated_ms": _summary(tc[~by1]) if (~by1).any() else None,
        "mean_ratio_cascade_vs_stage1": float(tc.mean() / ta.mean()),
    }
    alone_b, cascade_b = LearnedEvaluator.load(stage1_dir), CascadeEvaluator.load(cascade_dir)
    alone_b.evaluate(warm)
    cascade_b.evaluate(warm)
    started = time.perf_counter()
    alone_b.evaluate(pairs)
    s1 = time.perf_counter() - started
    started = time.perf_counter()
    cascade_b.evaluate(pairs)
    sc = time.perf_counter() - started
    out["batch"] = {
        "stage1_sessions_per_s": len(pairs) / s1,
        "cascade_sessions_per_s": len(pairs) / sc,
        "ratio": s1 / sc,
    }
    return out


def _summary(ms: np.ndarray) -> dict[str, float]:
    return {
        "n": int(len(ms)),
        "p50": float(np.percentile(ms, 50)),
        "p99": float(np.percentile(ms, 99)),
        "mean": float(ms.mean()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--train", type=int, default=2000)
    parser.add_argument("--train2", type=int, default=500, help="stage 2's share of the training rows")
    parser.add_argument("--calibration", type=int, default=1000)
    parser.add_argument("--latency", type=int, default=100, help="questions set aside for latency")
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", type=Path, default=None, help="keep the trained stages here (reused)")
    parser.add_argument("--out", type=Path, default=RESULTS / "cascade.json")
    parser.add_argument("--stages", nargs="+", default=None, help="saved stage folders (skips training)")
    parser.add_argument("--latency-targets", type=float, nargs="+", default=[0.05, 0.10])
    parser.add_argument("--combine", choices=("own", "mean_logit"), default="own", help="with --stages")
    parser.add_argument(
        "--split",
        choices=("question", "random"),
        default="question",
        help="with --stages: strong_encoder's split the stages were fitted on (held-out questions, or rows)",
    )
    args = parser.parse_args()
    if args.stages:
        saved_stages(args)
        return
    from judgeloop.evaluators.learned import LearnedEvaluator
    from judgeloop.training.cascade import build_cascade

    started = time.perf_counter()
    questions, answers, good = read_rows()
    parts = split(questions, answers, args)
    work = args.work or Path(tempfile.mkdtemp(prefix="jl-cascade-bench-"))
    examples = [Example(questions[i], answers[i], int(good[i]), None, str(i)) for i in range(len(good))]
    timings = train_stages([examples[i] for i in parts["train"]], args.train2, work)
    print("stages trained", timings, flush=True)
    cal = [examples[i] for i in parts["calibration"]]
    stage_dirs = [work / "s1-minilm-int8", work / "s2-mpnet"]
    stages = [LearnedEvaluator.load(d) for d in stage_dirs]
    t0 = time.perf_counter()
    probs = [np.asarray(s.predict_proba([ex.pair for ex in cal])) for s in stages]
    scoring_s = time.perf_counter() - t0
    y = good[parts["calibration"]]
    thresholds = [s.threshold for s in stages]
    np.savez(work / "calibration_probs.npz", p1=probs[0], p2=probs[1], y=y)
    result: dict[str, Any] = {
        "args": {k: str(v) for k, v in vars(args).items()},
        "machine": f"{platform.machine()}, {os.cpu_count()} cores shared with other engineers' jobs (loaded)",
        "train_seconds": timings,
        "calibration_scoring_seconds": round(scoring_s, 1),
        "stage_accuracy": [
            float(((p >= t).astype(int) == y).mean()) for p, t in zip(probs, thresholds, strict=True)
        ],
        "cascade": report(probs, thresholds, y, args.repeats),
        "stage1_alone": report(probs[:1], thresholds[:1], y, args.repeats),
        "stage2_alone": report(probs[1:], thresholds[1:], y, args.repeats),
    }
    print(json.dumps({k: result[k] for k in ("stage_accuracy", "cascade")}, indent=1), flush=True)
    cascade_dir = work / "cascade-5"
    build_cascade(stage_dirs, cal, cascade_dir, target_error=0.05, name="truth-cascade")
    pairs = [(questions[i], answers[i]) for i in parts["latency"]]
    result["latency"] = latency(cascade_dir, stage_dirs[0], pairs)
    result["seconds"] = round(time.perf_counter() - started, 1)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result["latency"], indent=1))
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
