"""Tried for issue 20: fine-tune the encoder of the Bradley-Terry comparator, and surface features alone.

    .venv/bin/python -m benchmarks.pairwise_finetune --epochs 3 --lr 2e-5   # results/pairwise_finetune.json

Training: the best mix of benchmarks/pairwise.py (LLMBar's processed MT-Bench human votes, FairEval,
LLMEval2: 465 decisive pairs with both outputs non-empty). Test: the PandaLM test set (999 pairs, human
majority, 105 ties), never trained on. Two comparators, both on the score difference s(A) - s(B) through
a logistic link, so swapping A and B mirrors the probability:
- `surface`: a linear score over the comparator's 9 surface features (judgeloop.training.pairwise_model:
  length, repetition, copying the input, ...), logistic regression on the feature differences (C = 1,
  features scaled by their spread on the training pairs);
- `finetune`: s = a linear head on the mean-pooled MiniLM-L6 encoding of (input, output), all 6
  layers trained with AdamW (batch 8, `--lr`, `--epochs`), plus the `surface` score as a fixed offset.
Neither has a tie term (nu = 0): a tie is called only where the two scores are exactly equal, which
the surface-only score gives on pairs whose surface features are equal (its agreement including ties is
above 0.895 x its decisive accuracy for that reason).
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
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402
from tqdm.auto import tqdm  # noqa: E402

from judgeloop.bench import preference_sets as ps  # noqa: E402
from judgeloop.training.base_encoder import resolve_base_model  # noqa: E402
from judgeloop.training.encoding import render_input  # noqa: E402
from judgeloop.training.pairwise import pairwise_metrics  # noqa: E402
from judgeloop.training.pairwise_data import PairExample  # noqa: E402
from judgeloop.training.pairwise_model import surface_features  # noqa: E402

ROOT = Path(__file__).resolve().parents[2] / "shared" / "datasets"
MIX = ("mtbench_human", "faireval", "llmeval2")


def surface_diff(pairs: list[PairExample]) -> np.ndarray:
    a = surface_features([(p.model_input, p.output_a) for p in pairs])
    b = surface_features([(p.model_input, p.output_b) for p in pairs])
    return np.asarray(a - b, dtype=float)


def fit_surface(train: list[PairExample]) -> np.ndarray:
    """Weights w of the linear surface score (the difference's logit is w . (f(A) - f(B)))."""
    from sklearn.linear_model import LogisticRegression

    d = surface_diff(train)
    y = np.asarray([p.choice == "A" for p in train], dtype=int)
    spread = d.std(axis=0) + 1e-6
    both = np.vstack([d / spread, -d / spread])  # each pair in both orders: no position term
    fit = LogisticRegression(C=1.0, fit_intercept=False, max_iter=1000).fit(both, np.r_[y, 1 - y])
    return np.asarray(fit.coef_[0] / spread)


def finetune(train: list[PairExample], test: list[PairExample], w: np.ndarray, lr: float, epochs: int):
    import torch
    from transformers import AutoModel, AutoTokenizer

    torch.manual_seed(0)
    path = resolve_base_model(None)
    tok, enc = AutoTokenizer.from_pretrained(path), AutoModel.from_pretrained(path)
    head = torch.nn.Linear(enc.config.hidden_size, 1)
    torch.nn.init.zeros_(head.weight)
    torch.nn.init.zeros_(head.bias)

    def text(x):
        return x if isinstance(x, str) else render_input(x)[0]

    def score(batch: list[PairExample], side: str):
        outputs = [p.output_a if side == "a" else p.output_b for p in batch]
        enc_in = tok(
            [text(p.model_input) for p in batch],
            outputs,
            truncation="longest_first",
            max_length=256,
            padding=True,
            return_tensors="pt",
        )
        hidden = enc(**enc_in).last_hidden_state
        mask = enc_in["attention_mask"].unsqueeze(-1).float()
        return head((hidden * mask).sum(1) / mask.sum(1)).squeeze(-1)

    def margin(batch: list[PairExample]):
        offset = torch.tensor(surface_diff(batch) @ w, dtype=torch.float32)
        return score(batch, "a") - score(batch, "b") + offset

    opt = torch.optim.AdamW(list(enc.parameters()) + list(head.parameters()), lr=lr, weight_decay=0.01)
    losses = []
    for epoch in range(epochs):
        enc.train()
        order = np.random.default_rng(epoch).permutation(len(train))
        total = 0.0
        for start in tqdm(range(0, len(order), 8), desc=f"epoch {epoch + 1}", leave=False):
            batch = [train[i] for i in order[start : start + 8]]
            y = torch.tensor([1.0 if p.choice == "A" else 0.0 for p in batch])
            loss = torch.nn.functional.binary_cross_entropy_with_logits(margin(batch), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(batch)
        losses.append(total / len(train))
    enc.eval()
    with torch.no_grad():
        d = np.concatenate([margin(test[s : s + 32]).numpy() for s in range(0, len(test), 32)])
    return d, losses


def summary(test: list[PairExample], d: np.ndarray) -> dict:
    m = pairwise_metrics([p.choice for p in test], d, 1.0, 0.0, 1000)
    return {k: m[k] for k in ("accuracy", "agreement") if k in m}


def main() -> None:
    import torch

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--lr", type=float, default=2e-5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default="benchmarks/results/pairwise_finetune.json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    train = [p for n in MIX for p in ps.load_llmbar(ROOT, n)]
    train = [p for p in train if p.output_a.strip() and p.output_b.strip() and p.choice != "tie"]
    test = ps.load_pandalm(ROOT)
    w = fit_surface(train)
    out: dict = {"command": " ".join(sys.argv), "n_train": len(train), "n_test": len(test)}
    out["surface"] = summary(test, surface_diff(test) @ w)
    started = time.perf_counter()
    d, losses = finetune(train, test, w, args.lr, args.epochs)
    out["finetune"] = {
        **summary(test, d),
        "train_loss": losses,
        "seconds": round(time.perf_counter() - started, 1),
    }
    out["load_avg_1m"] = os.getloadavg()[0]
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    for name in ("surface", "finetune"):
        print(name, {k: round(v["value"], 4) for k, v in out[name].items() if isinstance(v, dict)})


if __name__ == "__main__":
    main()
