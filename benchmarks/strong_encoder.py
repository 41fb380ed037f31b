"""A stronger encoder on 2 CPU cores (issue 22): MPNet with frozen lower layers vs the MiniLM default.

    # one fit on the TruthfulQA train pool, scored on a fixed held-out part (2,000 rows):
    .venv/bin/python -m benchmarks.strong_encoder fit --data truth --split random --size all \\
        --base mpnet --method finetune --freeze 9 --epochs 3 \\
        --out benchmarks/results/strong_truth_mpnet_f9.json
    # small label sets: mean of --draws stratified draws, frozen-embedding head:
    .venv/bin/python -m benchmarks.strong_encoder small --data truth --sizes 30 --draws 3 --base mpnet \\
        --out benchmarks/results/strong_small_truth_mpnet.json
    # the certified automated share of saved fits, over repeated calibration/test splits of the held-out rows:
    .venv/bin/python -m benchmarks.strong_encoder automation benchmarks/results/strong_truth_*.json

Data: ../shared/datasets/truthfulqa_judge/finetune_{truth,info}_train.jsonl (19,880 rows each; the
question is the session input, the answer its output; "yes" = good). The held-out part and the
training pool are benchmarks/train_curve.py's `random` and `question` splits (2,000 held-out rows),
so figures compare with BENCHMARKS.md's learning curve. Fits go through train_evaluator's own fitting
code (`judgeloop.training.api.fit_estimator`: a 10% calibration slice for the temperature, best validation
epoch kept), and the label memory is applied as `train` applies it. `--base mpnet` is the encoder that
`judgeloop models install mpnet` installs (or a folder path).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

if not __package__:  # run as `python benchmarks/NAME.py`; `python -m benchmarks.NAME` needs nothing
    sys.path[0] = str(Path(__file__).resolve().parents[1])

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402

from benchmarks.train_curve import draw, make_splits  # noqa: E402
from judgeloop.training import Example  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "truthfulqa_judge"
MPNET_DIRS = (
    Path(os.environ.get("JUDGELOOP_HOME", Path.home() / ".cache" / "judgeloop"))
    / "models"
    / "all-mpnet-base-v2",
    Path.home() / ".cache" / "judgeloop" / "exp" / "all-mpnet-base-v2",
)


def read(kind: str) -> tuple[list[str], list[str], np.ndarray]:
    """Questions, answers and 0/1 labels of finetune_{kind}_train.jsonl (kind: truth or info)."""
    qs, ans, good = [], [], []
    for line in (SHARED / f"finetune_{kind}_train.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        head = row["prompt"].rsplit("\n", 1)[0]  # drop the trailing "True:" / "Helpful:"
        q, _, a = head.partition("\nA:")
        qs.append(q.removeprefix("Q:").strip())
        ans.append(a.strip())
        good.append(1 if row["completion"].strip() == "yes" else 0)
    return qs, ans, np.asarray(good, dtype=np.int64)


def resolve(base: str) -> str:
    if base == "mpnet":
        for folder in MPNET_DIRS:
            if (folder / "model.safetensors").is_file():
                return str(folder)
        sys.exit("MPNet is not installed: run `judgeloop models install mpnet`")
    if base == "minilm":
        from judgeloop.training.base_encoder import resolve_base_model

        return resolve_base_model(None)
    return base


def rows_of(qs: list[str], ans: list[str], y: np.ndarray, index: np.ndarray) -> list[Example]:
    return [Example(qs[i], ans[i], int(y[i]), None, str(i)) for i in index]


def score(
    rows: list[Example], held: list[Example], estimator: Any, cal: tuple[np.ndarray, np.ndarray]
) -> dict:
    """Held-out agreement (label memory applied, as `train` ships it) and the calibrated probabilities."""
    from judgeloop.stats import accuracy, bootstrap, cohen_kappa
    from judgeloop.training.calibration import fit_temperature, sigmoid
    from judgeloop.training.memory import LabelMemory

    temperature = fit_temperature(*cal)
    pairs = [r.pair for r in held]
    truth = np.asarray([r.label for r in held])
    raw = estimator.decision_function(pairs)
    memory = LabelMemory.build([r.pair for r in rows], [r.label for r in rows])
    logits = memory.adjust_logits(pairs, raw, temperature)
    pred = (logits >= 0).astype(int)
    return {
        "n_heldout": len(held),
        "accuracy": bootstrap(accuracy, truth, pred).as_dict(),
        "kappa": bootstrap(cohen_kappa, truth, pred).as_dict(),
        "accuracy_no_memory": float(((raw >= 0).astype(int) == truth).mean()),
        "majority_baseline": float(max(truth.mean(), 1 - truth.mean())),
        "temperature": temperature,
        "probabilities": [round(float(p), 6) for p in sigmoid(logits / temperature)],
        "labels": truth.tolist(),
    }


def cmd_fit(args: argparse.Namespace) -> None:
    import torch

    from judgeloop.training import fit_estimator
    from judgeloop.training.methods import make_method

    torch.set_num_threads(args.threads)
    qs, ans, y = read(args.data)
    split = make_splits(qs, y, args.heldout)[args.split]
    index = split.train_pool if args.size == "all" else draw(split.train_pool, y, int(args.size), args.seed)
    rows, held = rows_of(qs, ans, y, index), rows_of(qs, ans, y, split.heldout)
    params: dict[str, Any] = {"base_model": resolve(args.base)}
    if args.method == "finetune":
        params.update(epochs=args.epochs, freeze_layers=args.freeze, seed=args.seed, lr=args.lr)
        params.update(batch_size=args.batch_size, num_threads=args.threads)
    estimator = make_method(args.method, **params)
    started = time.perf_counter()
    cal = fit_estimator(estimator, rows, args.seed, False)
    seconds = time.perf_counter() - started
    result = {
        "command": " ".join(sys.argv),
        "data": args.data,
        "split": args.split,
        "size": len(rows),
        "base": args.base,
        "method": args.method,
        "params": {k: v for k, v in params.items() if k != "base_model"},
        "train_seconds": round(seconds, 1),
        "history": getattr(estimator, "history_", None),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f} at the end",
        **score(rows, held, estimator, cal),
    }
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(f"{args.out}: accuracy {result['accuracy']['value']:.4f} in {seconds:.0f} s")
    if args.save:
        result["int8"] = save_fitted(estimator, rows, held, cal, args, seconds)
        Path(args.out).write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
        print(f"{args.save}: int8 accuracy {result['int8']['accuracy']:.4f}")


def save_fitted(
    estimator: Any,
    rows: list[Example],
    held: list[Example],
    cal: tuple[np.ndarray, np.ndarray],
    args: argparse.Namespace,
    seconds: float,
) -> dict[str, Any]:
    """Save the fit as a judgeloop model folder served on ONNX int8 (as `train` ships it), and return
    the int8 runtime's held-out accuracy and calibrated probabilities (what a cascade stage serves)."""
    import tempfile

    from judgeloop.training.api import _config, save_model
    from judgeloop.training.calibration import calibration_report, fit_temperature, sigmoid
    from judgeloop.training.export import export_runtime
    from judgeloop.training.memory import LabelMemory
    from judgeloop.training.report import heldout_metrics

    temperature = fit_temperature(*cal)
    memory = LabelMemory.build([r.pair for r in rows], [r.label for r in rows])
    pairs, truth = [r.pair for r in held], [r.label for r in held]

    def finish(logits: np.ndarray) -> np.ndarray:
        return memory.adjust_logits(pairs, logits, temperature)

    fp32 = finish(estimator.decision_function(pairs))
    metrics = heldout_metrics(truth, fp32, temperature, 0.5)
    extra = {
        "augment": False,
        "threshold_rule": "fixed",
        "test_size": len(held),
        "seed": args.seed,
        "name": Path(args.save).name,
        "stable": False,
        "evaluation": "held-out",
    }
    with tempfile.TemporaryDirectory(prefix="judgeloop-onnx-") as staging:
        runtime = export_runtime(
            estimator, Path(staging), "int8", held, temperature, 0.5, fp32, metrics, finish
        )
        config = _config(
            rows + held,
            rows,
            held,
            args.method,
            resolve(args.base),
            estimator,
            temperature,
            0.5,
            runtime.metrics,
            calibration_report(*cal, temperature),
            seconds,
            extra,
        )
        config.update(
            runtime=runtime.summary,
            onnx=runtime.file.name,
            memory={"file": "memory.npz", "sessions": len(memory)},
        )
        save_model(estimator, args.save, config, runtime.file, memory)
    int8 = finish(estimator.decision_function(pairs))
    return {
        "folder": str(Path(args.save).resolve()),
        "accuracy": float(((int8 >= 0).astype(int) == np.asarray(truth)).mean()),
        "summary": runtime.summary,
        "probabilities": [round(float(p), 6) for p in sigmoid(int8 / temperature)],
    }


def cmd_small(args: argparse.Namespace) -> None:
    """Frozen-embedding head on small draws: mean accuracy over draws, beside the majority baseline."""
    import torch

    from judgeloop.training import fit_estimator
    from judgeloop.training.methods import make_method

    torch.set_num_threads(args.threads)
    qs, ans, y = read(args.data)
    split = make_splits(qs, y, args.heldout)[args.split]
    held = rows_of(qs, ans, y, split.heldout)
    estimator = make_method("embedding_head", base_model=resolve(args.base), num_threads=args.threads)
    out: dict[str, Any] = {"command": " ".join(sys.argv), "data": args.data, "split": args.split, "runs": []}
    for size in [int(s) for s in args.sizes.split(",")]:
        for seed in range(args.draws):
            rows = rows_of(qs, ans, y, draw(split.train_pool, y, size, seed))
            started = time.perf_counter()
            cal = fit_estimator(estimator, rows, seed, False)
            run = {"size": size, "seed": seed, "seconds": round(time.perf_counter() - started, 1)}
            run.update(score(rows, held, estimator, cal))
            run.pop("probabilities"), run.pop("labels")
            out["runs"].append(run)
            print(f"size {size} seed {seed}: {run['accuracy']['value']:.4f}")
            Path(args.out).write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    for size in sorted({r["size"] for r in out["runs"]}):
        accs = [r["accuracy"]["value"] for r in out["runs"] if r["size"] == size]
        out.setdefault("mean", {})[str(size)] = float(np.mean(accs))
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    print(out["mean"])


def cmd_from_logits(args: argparse.Namespace) -> None:
    """A saved MiniLM fine-tune (benchmarks/finetune_epochs.py --save-logits) in this script's format:
    its held-out logits on the same `random` split, with the label memory applied as `train` ships it.
    The temperature is left at 1: the certified share depends only on the ranking of |logit|."""
    from judgeloop.training.calibration import sigmoid
    from judgeloop.training.memory import LabelMemory

    saved = json.loads(Path(args.source).read_text(encoding="utf-8"))
    qs, ans, y = read("truth")
    split = make_splits(qs, y, 2000)["random"]
    rows, held = rows_of(qs, ans, y, split.train_pool), rows_of(qs, ans, y, split.heldout)
    pairs = [r.pair for r in held]
    memory = LabelMemory.build([r.pair for r in rows], [r.label for r in rows])
    logits = memory.adjust_logits(pairs, np.asarray(saved["heldout_logits_final"], dtype=float), 1.0)
    truth = np.asarray([r.label for r in held])
    out = {
        "command": " ".join(sys.argv),
        "source": args.source,
        "data": "truth",
        "split": "random",
        "size": len(rows),
        "base": "minilm",
        "method": "finetune",
        "accuracy": {"value": float(((logits >= 0).astype(int) == truth).mean())},
        "probabilities": [round(float(p), 6) for p in sigmoid(logits)],
        "labels": truth.tolist(),
    }
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    print(f"{args.out}: accuracy {out['accuracy']['value']:.4f}")


def cmd_automation(args: argparse.Namespace) -> None:
    """Learn-then-Test certification on half the held-out rows, realised on the other half, repeated."""
    from judgeloop.loop.risk import calibrate, confidence

    for path in args.results:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        p, y = np.asarray(data["probabilities"]), np.asarray(data["labels"])
        report: dict[str, Any] = {}
        for target in (0.01, 0.05, 0.10):
            shares, errors, held = [], [], 0
            for rep in range(args.repeats):
                perm = np.random.default_rng(rep).permutation(len(p))
                cal, test = perm[: len(p) // 2], perm[len(p) // 2 :]
                rule = calibrate(p[cal], y[cal], target=target, delta=args.delta)
                if rule.tau is None:
                    shares.append(0.0)
                    held += 1
                    continue
                auto = confidence(p[test]) >= rule.tau
                wrong = ((p[test] >= 0.5).astype(int) != y[test]) & auto
                shares.append(float(auto.mean()))
                err = float(wrong.sum() / max(auto.sum(), 1))
                errors.append(err)
                held += int(err <= target)
            report[f"{target:.0%}"] = {
                "certified_share_median": float(np.median(shares)),
                "realised_error_median": float(np.median(errors)) if errors else None,
                "within_target": held / args.repeats,
            }
        data["automation"] = {"repeats": args.repeats, "delta": args.delta, "by_target": report}
        Path(path).write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
        print(path, json.dumps(report))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("fit", "small"):
        p = sub.add_parser(name)
        p.add_argument("--data", choices=("truth", "info"), default="truth")
        p.add_argument("--split", choices=("random", "question"), default="random")
        p.add_argument("--heldout", type=int, default=2000)
        p.add_argument("--base", default="mpnet")
        p.add_argument("--threads", type=int, default=2)
        p.add_argument("--out", required=True)
    fit = sub.choices["fit"]
    fit.add_argument("--size", default="all")
    fit.add_argument("--method", default="finetune")
    fit.add_argument("--freeze", type=int, default=9)
    fit.add_argument("--epochs", type=int, default=3)
    fit.add_argument("--lr", type=float, default=5e-5)
    fit.add_argument("--batch-size", type=int, default=16)
    fit.add_argument("--seed", type=int, default=0)
    fit.add_argument("--save", default=None, help="also save the fit as a model folder served on ONNX int8")
    small = sub.choices["small"]
    small.add_argument("--sizes", default="30")
    small.add_argument("--draws", type=int, default=3)
    convert = sub.add_parser("from-logits")
    convert.add_argument("source")
    convert.add_argument("--out", required=True)
    auto = sub.add_parser("automation")
    auto.add_argument("results", nargs="+")
    auto.add_argument("--repeats", type=int, default=100)
    auto.add_argument("--delta", type=float, default=0.1)
    args = parser.parse_args()
    commands = {
        "fit": cmd_fit,
        "small": cmd_small,
        "from-logits": cmd_from_logits,
        "automation": cmd_automation,
    }
    commands[args.command](args)


if __name__ == "__main__":
    main()
