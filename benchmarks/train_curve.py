"""Learning curve of custom evaluators on TruthfulQA truthfulness labels (issue 3).

    .venv/bin/python -m benchmarks.train_curve                    # the full run (see --help for the budget)
    .venv/bin/python -m benchmarks.train_curve --quick            # a smoke run: small sizes, one seed
    .venv/bin/python -m benchmarks.train_curve --sizes 30,100 --methods embedding_head,tfidf --augment
    .venv/bin/python -m benchmarks.train_curve --data bundled --sizes 30,100 --heldout 80 --out X.json

Data: ../shared/datasets/truthfulqa_judge/finetune_truth_train.jsonl (19,880 rows; the question is the
session input, the answer its output, "yes" = truthful = good). A fixed held-out part of --heldout rows
is set aside two ways: `random` (stratified random rows; the same question, and often the same answer
text, also appears in training) and `question` (whole questions held out: no held-out question is seen
in training). Training sets of 30 ... all labels are drawn from the rest (nested per seed, stratified).

Methods, all trained on the same rows and scored on the same held-out rows:
- `default`: what `train_evaluator(method="auto")` fits (embedding_head below 1,000 training rows,
  finetune from 1,000), through the same fitting code (`judgeloop.training.api.fit_estimator`), so the wall
  time is TrainResult.train_seconds. Below 1,000 it is the embedding_head run itself (not re-run).
- `embedding_head`: method="embedding_head" at every size.
- `seed`: the seed recipe as written: AutoModelForSequenceClassification on the same MiniLM-L6,
  input + " " + output glued, padded to 128, AdamW lr 2e-5, batch 8, 3 epochs, weight decay 0.01 (not
  on biases/LayerNorm), linear decay without warmup, gradient clipping 1.0: HF Trainer's defaults, as a
  plain torch loop. Its held-out logits are computed with dynamic padding (the attention mask makes them
  equal to padding to 128; only the scoring is faster, its training is untouched).
- `tfidf`: TF-IDF (word 1-2 grams, sublinear tf) of "question [SEP] answer" + logistic regression (C=10).
- `embedding_head+augment` (with --augment): embedding_head with augment=True (synthetic negatives).

Predictions are logit >= 0 (train_evaluator's default threshold 0.5; temperature scaling does not move
it). Torch runs with --threads intra-op threads (1 by default: on this shared 2-core machine 2 threads
ran 2-4x slower than 1 while other jobs held the cores). Results are written after every run to
benchmarks/results/train_curve.json (--resume skips runs already there) and plotted to train_curve.png.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if not __package__:  # run as `python benchmarks/NAME.py`; `python -m benchmarks.NAME` needs nothing
    sys.path[0] = str(Path(__file__).resolve().parents[1])

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402
from tqdm.auto import tqdm  # noqa: E402

from benchmarks.loop_data import DATA, RESULTS, read_rows  # noqa: E402
from judgeloop.stats import accuracy, bootstrap, cohen_kappa  # noqa: E402
from judgeloop.training import Example  # noqa: E402

console = Console(highlight=False, soft_wrap=True, stderr=False)
SIZES = "30,100,300,1000,3000,all"
SMALL = (30, 100)  # sizes that get several seeds
METHODS = ("default", "embedding_head", "seed", "tfidf")
SEED_RECIPE = {"max_length": 128, "lr": 2e-5, "batch_size": 8, "epochs": 3, "weight_decay": 0.01}


# --- data -------------------------------------------------------------------------------------


@dataclass
class Split:
    name: str
    train_pool: np.ndarray  # row indices training sets are drawn from
    heldout: np.ndarray  # fixed held-out row indices


def read_bundled() -> tuple[list[str], list[str], np.ndarray]:
    """The bundled e-commerce sessions; a chat input becomes its messages' text, one per line."""
    import csv

    from judgeloop.assets import EXAMPLE_DATASET

    questions, answers, good = [], [], []
    with EXAMPLE_DATASET.open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            text = row["model_input"]
            if text.startswith("["):
                text = "\n".join(f"{m['role']}: {m['content']}" for m in json.loads(text))
            questions.append(text)
            answers.append(row["model_output"])
            good.append(int(row["good"]))
    return questions, answers, np.asarray(good, dtype=np.int64)


def make_splits(questions: list[str], good: np.ndarray, heldout: int) -> dict[str, Split]:
    from sklearn.model_selection import train_test_split

    index = np.arange(len(good))
    pool, test = train_test_split(index, test_size=heldout, random_state=0, stratify=good)
    qids = np.unique(questions, return_inverse=True)[1]
    order = np.random.default_rng(0).permutation(qids.max() + 1)
    counts = np.bincount(qids)
    take = order[: int(np.searchsorted(np.cumsum(counts[order]), heldout)) + 1]
    held = np.isin(qids, take)
    return {
        "random": Split("random", np.sort(pool), np.sort(test)),
        "question": Split("question", np.flatnonzero(~held), np.flatnonzero(held)),
    }


def random_split_rows() -> tuple[list[Example], list[tuple[str, str]], np.ndarray]:
    """The TruthfulQA `random` split as training Examples, held-out (input, output) pairs and labels."""
    q, a, y = read_rows()
    split = make_splits(q, y, 2000)["random"]
    rows = [Example(q[i], a[i], int(y[i]), None, str(i)) for i in split.train_pool]
    return rows, [(q[i], a[i]) for i in split.heldout], y[split.heldout]


def draw(pool: np.ndarray, good: np.ndarray, n: int, seed: int) -> np.ndarray:
    """n rows of the pool, stratified, nested across n for a given seed."""
    if n >= len(pool):
        return pool
    rng = np.random.default_rng(seed)
    perm = pool[rng.permutation(len(pool))]
    pos, neg = perm[good[perm] == 1], perm[good[perm] == 0]
    n_pos = int(round(n * len(pos) / len(pool)))
    return np.sort(np.concatenate([pos[:n_pos], neg[: n - n_pos]]))


# --- methods ----------------------------------------------------------------------------------


def fit_judgeloop(
    method: str, rows: list[Example], seed: int, augment: bool, progress: bool
) -> tuple[Any, float, dict[str, Any]]:
    """Fit through train_evaluator's own fitting code; returns (estimator, seconds, info)."""
    from judgeloop.training import fit_estimator, make_estimator
    from judgeloop.training.base_encoder import resolve_base_model

    estimator = make_estimator(method, resolve_base_model(None), seed, None, progress)
    started = time.perf_counter()
    fit_estimator(estimator, rows, seed, augment)
    seconds = time.perf_counter() - started
    info: dict[str, Any] = {"method_used": method}
    history = getattr(estimator, "history_", None)
    if history:
        info["epochs_run"] = len(history)
        info["history"] = history
    if getattr(estimator, "C_", None) is not None:
        info["C"] = estimator.C_
    return estimator, seconds, info


def with_label_memory(
    rows: list[Example], pairs: list[tuple[str, str]], logits: np.ndarray, truth: np.ndarray
) -> tuple[np.ndarray, dict[str, Any]]:
    """The default's label memory (train_evaluator's `memory=True`) on uncalibrated logits, and the
    accuracy without it, for the record."""
    from judgeloop.training.memory import LabelMemory

    memory = LabelMemory.build([r.pair for r in rows], [r.label for r in rows])
    adjusted = memory.adjust_logits(pairs, logits, 1.0)
    hits = memory.lookup(pairs)[1] > 0
    right_raw, right = (logits >= 0).astype(int) == truth, (adjusted >= 0).astype(int) == truth
    return adjusted, {
        "accuracy_no_memory": float(right_raw.mean()),
        "memory_hits": int(hits.sum()),
        "accuracy_on_hits": {"no_memory": float(right_raw[hits].mean()), "memory": float(right[hits].mean())}
        if hits.any()
        else None,
    }


def int8_scores(estimator: Any, pairs: list[tuple[str, str]], truth: np.ndarray) -> dict[str, Any]:
    """Accuracy of the fine-tuned model on ONNX int8 (what `train` ships when the gate passes it)."""
    from judgeloop.training.onnx import INT8_FILE, quantize_int8

    with tempfile.TemporaryDirectory() as tmp:
        int8 = quantize_int8(estimator.export_onnx(Path(tmp)), Path(tmp) / INT8_FILE)
        estimator.attach_onnx(int8)
        z = estimator.decision_function(pairs)
        estimator.onnx_ = None
    return {"accuracy_int8_no_memory": float(np.mean((np.asarray(z) >= 0).astype(int) == truth))}


class HeldoutFeatures:
    """Pair features of each split's held-out rows, embedded once (the trained heads are linear)."""

    def __init__(self) -> None:
        self.cache: dict[str, np.ndarray] = {}
        self.scorer: Any = None

    def get(self, split: str, pairs: list[tuple[str, str]]) -> np.ndarray:
        if split not in self.cache:
            from judgeloop.training.methods.embedding_head import EmbeddingHead

            self.scorer = self.scorer or EmbeddingHead()
            self.cache[split] = self.scorer.features(pairs)
        return self.cache[split]


def seed_recipe(
    train_q: list[str], train_a: list[str], train_y: np.ndarray, seed: int, progress: bool
) -> tuple[Any, Any, float, dict[str, Any]]:
    """The seed recipe (see the module docstring): returns (model, tokenizer, seconds, info)."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from judgeloop.assets import default_encoder_path
    from judgeloop.training.base_encoder import quiet_transformers

    r = SEED_RECIPE
    started = time.perf_counter()
    torch.manual_seed(seed)
    with quiet_transformers():
        tok = AutoTokenizer.from_pretrained(str(default_encoder_path()))
        model = AutoModelForSequenceClassification.from_pretrained(str(default_encoder_path()), num_labels=2)
    texts = [q + " " + a for q, a in zip(train_q, train_a, strict=True)]
    enc = tok(texts, padding="max_length", max_length=r["max_length"], truncation=True, return_tensors="pt")
    labels = torch.as_tensor(train_y, dtype=torch.long)
    decay = [p for n, p in model.named_parameters() if not n.endswith("bias") and "LayerNorm" not in n]
    no_decay = [p for n, p in model.named_parameters() if n.endswith("bias") or "LayerNorm" in n]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": r["weight_decay"]}, {"params": no_decay, "weight_decay": 0.0}],
        lr=r["lr"],
        betas=(0.9, 0.999),
        eps=1e-8,
    )
    steps = math.ceil(len(texts) / r["batch_size"]) * r["epochs"]
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: max(0.0, (steps - s) / steps))
    generator = torch.Generator().manual_seed(seed)
    losses = []
    bar = tqdm(total=steps, desc="seed recipe", unit="step", disable=not progress, leave=False)
    model.train()
    for _ in range(r["epochs"]):
        total = 0.0
        order = torch.randperm(len(texts), generator=generator)
        for start in range(0, len(texts), r["batch_size"]):
            b = order[start : start + r["batch_size"]]
            out = model(
                input_ids=enc["input_ids"][b],
                attention_mask=enc["attention_mask"][b],
                token_type_ids=enc["token_type_ids"][b],
                labels=labels[b],
            )
            out.loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            total += float(out.loss.detach()) * len(b)
            bar.update(1)
        losses.append(round(total / len(texts), 4))
    bar.close()
    model.eval()
    return model, tok, time.perf_counter() - started, {"train_loss_per_epoch": losses}


def seed_logits(model: Any, tok: Any, qs: list[str], ans: list[str], batch: int = 64) -> np.ndarray:
    import torch

    texts = [q + " " + a for q, a in zip(qs, ans, strict=True)]
    order = np.argsort([len(t) for t in texts])
    out = np.zeros(len(texts))
    with torch.inference_mode():
        for start in range(0, len(texts), batch):
            idx = order[start : start + batch]
            enc = tok(
                [texts[i] for i in idx], padding=True, max_length=128, truncation=True, return_tensors="pt"
            )
            logits = model(**enc).logits.float().numpy()
            out[idx] = logits[:, 1] - logits[:, 0]
    return out


def tfidf(
    train_q: list[str], train_a: list[str], train_y: np.ndarray, test_q: list[str], test_a: list[str]
) -> tuple[np.ndarray, float]:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    started = time.perf_counter()
    vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
    X = vec.fit_transform([q + " [SEP] " + a for q, a in zip(train_q, train_a, strict=True)])
    clf = LogisticRegression(C=10.0, max_iter=5000).fit(X, train_y)
    seconds = time.perf_counter() - started
    return clf.decision_function(
        vec.transform([q + " [SEP] " + a for q, a in zip(test_q, test_a, strict=True)])
    ), seconds


# --- runner -----------------------------------------------------------------------------------


@dataclass
class Job:
    split: str
    method: str
    size: int | str
    seed: int

    @property
    def key(self) -> str:
        return f"{self.split}/{self.method}/{self.size}/{self.seed}"


def plan(args: argparse.Namespace) -> list[Job]:
    sizes: list[int | str] = [s if s == "all" else int(s) for s in args.sizes.split(",")]
    methods = [m for m in args.methods.split(",") if m]
    if args.augment:
        methods.append("embedding_head+augment")
    jobs: list[Job] = []
    for split in args.splits.split(","):
        for method in methods:
            for size in sizes:
                if method == "seed" and (size == "all" or int(size) > args.seed_cap):
                    continue
                if method == "embedding_head+augment" and size not in SMALL:
                    continue
                is_ft = method == "default" and (size == "all" or int(size) >= 1000)
                if is_ft and (not args.finetune_all if size == "all" else int(size) > args.finetune_cap):
                    continue
                if split == "question" and method == "seed" and size not in args.question_seed_sizes:
                    continue
                n_seeds = args.seeds if size in SMALL else 1
                if method == "seed" and size in SMALL:
                    n_seeds = min(n_seeds, args.seed_seeds)
                jobs.extend(Job(split, method, size, s) for s in range(n_seeds))
    cost = {"tfidf": 0, "embedding_head": 1, "embedding_head+augment": 1, "default": 2, "seed": 3}

    def priority(job: Job) -> tuple[int, int, int]:  # cheap first; then the target runs; then the rest
        n = 10**6 if job.size == "all" else int(job.size)
        target = (job.size in (30, 1000) and job.seed == 0) or job.method != "seed" and n < 1000
        return (0 if cost[job.method] < 2 else 1 if target else 2, job.split != "random", n)

    return sorted(jobs, key=priority)


def run_job(
    job: Job, data: dict[str, Any], splits: dict[str, Split], held: HeldoutFeatures, progress: bool
) -> dict:
    q, a, y = data["q"], data["a"], data["y"]
    split = splits[job.split]
    n = len(split.train_pool) if job.size == "all" else int(job.size)
    idx = draw(split.train_pool, y, n, job.seed)
    test = split.heldout
    tq, ta, ty = [q[i] for i in idx], [a[i] for i in idx], y[idx]
    hq, ha = [q[i] for i in test], [a[i] for i in test]
    info: dict[str, Any] = {}
    if job.method == "tfidf":
        logits, seconds = tfidf(tq, ta, ty, hq, ha)
    elif job.method == "seed":
        model, tok, seconds, info = seed_recipe(tq, ta, ty, job.seed, progress)
        logits = seed_logits(model, tok, hq, ha)
    else:
        chosen = "embedding_head"
        if job.method == "default" and n >= 1000:
            chosen = "finetune"
        rows = [
            Example(q[i], a[i], int(y[i]), str(data["qid"][i]) if job.split == "question" else None, str(i))
            for i in idx
        ]
        est, seconds, info = fit_judgeloop(chosen, rows, job.seed, job.method.endswith("augment"), progress)
        pairs = list(zip(hq, ha, strict=True))
        if chosen == "embedding_head":
            F = held.get(job.split, pairs)
            logits = F @ est.coef_ + est.intercept_
        else:
            logits = est.decision_function(pairs)
            if job.size == "all":
                info.update(int8_scores(est, pairs, y[test]))
        logits, memory_info = with_label_memory(rows, pairs, np.asarray(logits), y[test])
        info.update(memory_info)
    pred = (np.asarray(logits) >= 0).astype(int)
    truth = y[test]
    acc = bootstrap(accuracy, truth, pred, n_resamples=1000, seed=job.seed)
    return {
        "split": job.split,
        "method": job.method,
        "size": job.size,
        "n_train": int(len(idx)),
        "seed": job.seed,
        "accuracy": acc.value,
        "accuracy_ci": [acc.low, acc.high],
        "kappa": cohen_kappa(truth, pred),
        "train_seconds": round(float(seconds), 3),
        "share_predicted_good": float(pred.mean()),
        "load_avg_1m": os.getloadavg()[0],
        **info,
    }


def summarise(runs: list[dict]) -> list[dict]:
    groups: dict[tuple, list[dict]] = {}
    for r in runs:
        groups.setdefault((r["split"], r["method"], r["size"]), []).append(r)
    out = []
    for (split, method, size), rs in groups.items():
        out.append(
            {
                "split": split,
                "method": method,
                "size": size,
                "n_train": rs[0]["n_train"],
                "seeds": len(rs),
                "accuracy_median": float(np.median([r["accuracy"] for r in rs])),
                "accuracy_min": float(min(r["accuracy"] for r in rs)),
                "accuracy_max": float(max(r["accuracy"] for r in rs)),
                "kappa_median": float(np.median([r["kappa"] for r in rs])),
                "train_seconds_median": float(np.median([r["train_seconds"] for r in rs])),
            }
        )
    return sorted(out, key=lambda s: (s["split"], s["method"], s["n_train"]))


def with_default_below_finetune(summary: list[dict]) -> list[dict]:
    """`default` below 1,000 rows is the embedding_head run (auto picks it): list it under both names."""
    have = {(s["split"], s["method"], s["size"]) for s in summary}
    extra = [
        {**s, "method": "default", "same_run_as": "embedding_head"}
        for s in summary
        if s["method"] == "embedding_head"
        and s["n_train"] < 1000
        and (s["split"], "default", s["size"]) not in have
    ]
    return sorted(summary + extra, key=lambda s: (s["split"], s["method"], s["n_train"]))


def targets(summary: list[dict]) -> dict[str, Any]:
    def get(split: str, method: str, size: Any) -> dict | None:
        return next(
            (s for s in summary if (s["split"], s["method"], s["size"]) == (split, method, size)), None
        )

    out: dict[str, Any] = {}
    rand_default = [s for s in summary if s["split"] == "random" and s["method"] == "default"]
    if rand_default:
        best = max(rand_default, key=lambda s: s["n_train"])
        out["all_labels_accuracy_ge_0.90"] = {
            "largest_default_run": best["size"],
            "n_train": best["n_train"],
            "accuracy": best["accuracy_median"],
            "met": best["accuracy_median"] >= 0.90 and best["size"] == "all",
        }
    for split in ("random", "question"):
        d, s = get(split, "default", 30), get(split, "seed", 30)
        if d and s:
            gap = d["accuracy_median"] - s["accuracy_median"]
            out[f"30_labels_10_points_over_seed_{split}"] = {"gap": gap, "met": gap >= 0.10}
        d, s = get(split, "default", 1000), get(split, "seed", 1000)
        if d and s:
            ratio = d["train_seconds_median"] / s["train_seconds_median"]
            out[f"1000_labels_time_le_third_of_seed_{split}"] = {
                "default_s": d["train_seconds_median"],
                "seed_s": s["train_seconds_median"],
                "ratio": ratio,
                "met": ratio <= 1 / 3,
            }
    return out


def plot(summary: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    splits = sorted({s["split"] for s in summary}, key=lambda x: x != "random")
    fig, axes = plt.subplots(1, len(splits), figsize=(6 * len(splits), 4.5), squeeze=False)
    for ax, split in zip(axes[0], splits, strict=True):
        for method in sorted({s["method"] for s in summary if s["split"] == split}):
            pts = sorted(
                (s["n_train"], s["accuracy_median"])
                for s in summary
                if (s["split"], s["method"]) == (split, method)
            )
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=method)
        ax.set_xscale("log")
        ax.set_xlabel("training labels")
        ax.set_ylabel("held-out accuracy (median over seeds)")
        ax.set_title(f"TruthfulQA, {split} held-out split")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def show(summary: list[dict]) -> None:
    table = Table(title="held-out accuracy (median over seeds)")
    for col in ("split", "method", "labels", "seeds", "accuracy", "range", "kappa", "train s"):
        table.add_column(col)
    for s in summary:
        table.add_row(
            s["split"],
            s["method"],
            str(s["n_train"]),
            str(s["seeds"]),
            f"{s['accuracy_median']:.3f}",
            f"{s['accuracy_min']:.3f}-{s['accuracy_max']:.3f}",
            f"{s['kappa_median']:.3f}",
            f"{s['train_seconds_median']:.1f}",
        )
    console.print(table)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", default=SIZES, help=f"training-set sizes (default {SIZES})")
    p.add_argument("--methods", default=",".join(METHODS), help="default,embedding_head,seed,tfidf")
    p.add_argument("--splits", default="random,question")
    p.add_argument("--seeds", type=int, default=5, help="seeds at 30 and 100 labels (1 at larger sizes)")
    p.add_argument("--seed-seeds", type=int, default=3, help="seeds of the slow seed recipe at 30 and 100")
    p.add_argument("--seed-cap", type=int, default=1000, help="largest size the seed recipe is run at")
    p.add_argument("--finetune-cap", type=int, default=3000, help="largest size `default` fine-tunes at")
    p.add_argument(
        "--finetune-all", action="store_true", help="also fine-tune `default` on all labels (slow: ~30 min)"
    )
    p.add_argument("--question-seed-sizes", default="30", help="seed-recipe sizes on the question split")
    p.add_argument("--heldout", type=int, default=2000)
    p.add_argument(
        "--data", default=str(DATA), help="a TruthfulQA-judge JSONL, or 'bundled' (e-commerce support)"
    )
    p.add_argument("--augment", action="store_true", help="also embedding_head+augment at 30 and 100")
    p.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    p.add_argument("--quick", action="store_true", help="smoke run: 30,100,300 labels, 1 seed, 500 held out")
    p.add_argument("--resume", action="store_true", help="keep the runs already in --out and skip them")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--out", type=Path, default=RESULTS / "train_curve.json")
    args = p.parse_args(argv)
    if args.quick:
        args.sizes, args.seeds, args.seed_seeds, args.heldout = "30,100,300", 1, 1, 500
        args.seed_cap = 100
    args.question_seed_sizes = [s if s == "all" else int(s) for s in args.question_seed_sizes.split(",") if s]
    import torch

    torch.set_num_threads(args.threads)
    if args.data == "bundled":
        q, a, y = read_bundled()
        data_name = "src/judgeloop/data/ecommerce_support.csv"
    else:
        q, a, y = read_rows(Path(args.data))
        data_name = str(Path(args.data).resolve().relative_to(DATA.parents[3]))
    qid = np.unique(q, return_inverse=True)[1]
    data = {"q": q, "a": a, "y": y, "qid": qid}
    splits = make_splits(q, y, args.heldout)
    runs: list[dict] = []
    command = "python -m benchmarks.train_curve " + " ".join(sys.argv[1:] if argv is None else argv)
    commands = [command]
    if args.resume and args.out.is_file():
        previous = json.loads(args.out.read_text())
        runs = previous["runs"]
        commands = [*previous["meta"].get("commands", [previous["meta"]["command"]]), command]
    done = {f"{r['split']}/{r['method']}/{r['size']}/{r['seed']}" for r in runs}
    jobs = [j for j in plan(args) if j.key not in done]
    meta = {
        "command": command,
        "commands": commands,
        "data": data_name,
        "rows": len(y),
        "share_good": float(y.mean()),
        "splits": {
            k: {
                "train_pool": len(s.train_pool),
                "heldout": len(s.heldout),
                "heldout_share_good": float(y[s.heldout].mean()),
                "heldout_majority_accuracy": float(max(y[s.heldout].mean(), 1 - y[s.heldout].mean())),
            }
            for k, s in splits.items()
        },
        "threads": args.threads,
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "torch": torch.__version__,
        "load_avg_start": os.getloadavg(),
        "seed_recipe": SEED_RECIPE,
        "finetune_cap": args.finetune_cap,
        "seed_cap": args.seed_cap,
    }
    console.print(f"{len(jobs)} runs to do; splits: {meta['splits']}")
    held = HeldoutFeatures()
    started = time.perf_counter()
    for job in tqdm(jobs, desc="runs", unit="run", disable=args.no_progress):
        result = {**run_job(job, data, splits, held, not args.no_progress), "threads": args.threads}
        runs.append(result)
        tqdm.write(
            f"{job.key}: accuracy {result['accuracy']:.3f} kappa {result['kappa']:.3f} "
            f"train {result['train_seconds']:.1f} s (load {result['load_avg_1m']:.1f})"
        )
        write(args.out, meta, runs, started)
    summary = write(args.out, meta, runs, started)
    show(summary)
    console.print(json.dumps(targets(summary), indent=1))


def write(path: Path, meta: dict, runs: list[dict], started: float) -> list[dict]:
    summary = with_default_below_finetune(summarise(runs))
    meta = {
        **meta,
        "load_avg_end": os.getloadavg(),
        "wall_seconds_this_invocation": time.perf_counter() - started,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(
        json.dumps({"meta": meta, "summary": summary, "targets": targets(summary), "runs": runs}, indent=1)
        + "\n"
    )
    tmp.replace(path)
    plot(summary, path.with_suffix(".png"))
    return summary


if __name__ == "__main__":
    main()
