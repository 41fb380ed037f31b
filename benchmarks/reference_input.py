"""Tried for issue 22: does the fine-tune do better when it reads labelled answers to the same input?

    .venv/bin/python -m benchmarks.reference_input --epochs 2 --out benchmarks/results/reference_input.json
    .venv/bin/python -m benchmarks.reference_input --analyse    # neighbours and ensembles, no training

TruthfulQA truth, the `random` split of benchmarks/train_curve.py (17,880 training rows, 2,000 held
out; every held-out question also has labelled answers in training, as in TruthfulQA's own dev split).
Each session's input becomes

    <question>
    Correct: <the most similar other training answer to this question labelled good>
    Incorrect: <the most similar one labelled bad>

("(none)" when the question has no such answer; answers identical to the session's own are skipped,
the label memory covers those). Similarity is the cosine of frozen MiniLM embeddings of the answers.
The fine-tune (`finetune`, all 6 layers trained, the default recipe with `--epochs`) is fitted through
`fit_estimator` as `train` fits it, and scored with the label memory as `train` applies it. Compare with
the same recipe on the plain question: the epoch table of `finetune_epochs.py` (BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

if not __package__:
    sys.path[0] = str(Path(__file__).resolve().parents[1])

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402

from benchmarks.strong_encoder import read, resolve, score  # noqa: E402
from benchmarks.train_curve import make_splits  # noqa: E402
from judgeloop.training import Example, fit_estimator  # noqa: E402
from judgeloop.training.methods import make_method  # noqa: E402
from judgeloop.training.methods.embedding_head import EmbeddingHead  # noqa: E402


def neighbours(qs: list[str], ans: list[str], pool: np.ndarray) -> tuple[np.ndarray, dict[str, list[int]]]:
    """Frozen MiniLM embeddings of every answer (each distinct text once), and the `pool` rows by question."""
    distinct = sorted(set(ans))
    vectors = EmbeddingHead(base_model=resolve("minilm")).embed(distinct)
    where = {a: i for i, a in enumerate(distinct)}
    by_question: dict[str, list[int]] = defaultdict(list)
    for i in pool:
        by_question[qs[i]].append(int(i))
    return vectors[[where[a] for a in ans]], by_question


def with_references(
    qs: list[str],
    ans: list[str],
    y: np.ndarray,
    near: tuple[np.ndarray, dict[str, list[int]]],
    rows: np.ndarray,
) -> list[Example]:
    """`rows` as Examples whose input carries the most similar good and bad answers of `near`'s pool."""
    v, by_question = near
    out = []
    for i in rows:
        own = ans[i].strip().casefold()
        others = [j for j in by_question[qs[i]] if j != i and ans[j].strip().casefold() != own]
        best = {}
        for label in (1, 0):
            same = [j for j in others if y[j] == label]
            best[label] = ans[max(same, key=lambda j: float(v[j] @ v[i]))] if same else "(none)"
        text = f"{qs[i]}\nCorrect: {best[1]}\nIncorrect: {best[0]}"
        out.append(Example(text, ans[i], int(y[i]), None, str(i)))
    return out


def input_lengths(qs: list[str], ans: list[str], y: np.ndarray, near: tuple, rows: np.ndarray) -> dict:
    """Mean encoder tokens of (input, output) for `rows`: the question alone, and with the references."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(resolve("minilm"))
    plain = [len(tok(qs[i], ans[i])["input_ids"]) for i in rows]
    refs = [
        len(tok(r.model_input, r.model_output)["input_ids"]) for r in with_references(qs, ans, y, near, rows)
    ]
    return {"question": float(np.mean(plain)), "with_references": float(np.mean(refs))}


def analyse() -> dict:
    """Without training: how well the labelled answers to the same question predict a held-out label
    (nearest neighbour by frozen MiniLM cosine; the most similar answer by character ratio, against the
    0.8795 fine-tune on the same rows), and the accuracy of averaged held-out logits of the saved fits."""
    import itertools
    from difflib import SequenceMatcher

    results = Path(__file__).resolve().parent / "results"
    qs, ans, y = read("truth")
    split = make_splits(qs, y, 2000)["random"]
    pool, held = np.asarray(split.train_pool), np.asarray(split.heldout)
    v, by_question = neighbours(qs, ans, pool)
    model = np.asarray(json.loads((results / "finetune_epochs.json").read_text())["heldout_logits_final"])
    truth = y[held]
    cosine_label, ratio, ratio_label, exact = [], [], [], []
    for i in held:
        others = by_question[qs[i]]
        cosine_label.append(y[max(others, key=lambda j: float(v[j] @ v[i]))])
        own = ans[i].strip().casefold()
        scored = [(SequenceMatcher(None, own, ans[j].strip().casefold()).ratio(), j) for j in others]
        r, j = max(scored)
        ratio.append(r)
        ratio_label.append(y[j])
        exact.append(ans[j].strip().casefold() == own)
    r_, rl, ex = np.asarray(ratio), np.asarray(ratio_label), np.asarray(exact)
    predicted = (model >= 0).astype(int)
    by_ratio = []
    for cut in (0.95, 0.9, 0.85, 0.8):
        m = (r_ >= cut) & ~ex
        by_ratio.append(
            {
                "min_ratio": cut,
                "rows": int(m.sum()),
                "neighbour_label_accuracy": float((rl[m] == truth[m]).mean()),
                "model_accuracy": float((predicted[m] == truth[m]).mean()),
            }
        )
    wrong = predicted != truth
    near_other = int(np.sum(wrong & (r_ > 0.8) & (rl != truth)))

    def logit(p: list[float]) -> np.ndarray:
        q = np.clip(np.asarray(p, dtype=float), 1e-6, 1 - 1e-6)
        return np.asarray(np.log(q / (1 - q)))

    fits = {
        "minilm_3ep_s26": logit(
            json.loads((results / "strong_truth_minilm_full_s26.json").read_text())["probabilities"]
        ),
        "mpnet_f9_3ep": logit(
            json.loads((results / "strong_truth_mpnet_f9_e3_s26.json").read_text())["probabilities"]
        ),
        "mpnet_f9_2ep": logit(
            json.loads((results / "strong_truth_mpnet_f9.json").read_text())["probabilities"]
        ),
        "minilm_epoch5": model,
        "minilm_seed1": np.asarray(
            json.loads((results / "finetune_seed1.json").read_text())["heldout_logits_final"]
        ),
    }
    ensembles = {}
    for k in (2, 3, 4, 5):
        for names in itertools.combinations(fits, k):
            z = sum(fits[n] / np.std(fits[n]) for n in names)
            ensembles["+".join(names)] = float(((z >= 0).astype(int) == truth).mean())
    return {
        "command": " ".join(sys.argv),
        "heldout": len(held),
        "model_accuracy_no_memory": float((predicted == truth).mean()),
        "nearest_by_cosine_accuracy": float((np.asarray(cosine_label) == truth).mean()),
        "most_similar_by_character_ratio": by_ratio,
        "answers_per_question": len(pool) / len(by_question),
        "mean_tokens_first_3000_training_rows": input_lengths(qs, ans, y, (v, by_question), pool[:3000]),
        "model_errors": int(wrong.sum()),
        "median_abs_logit_of_errors": float(np.median(np.abs(model[wrong]))),
        "errors_near_copy_of_other_label": near_other,
        "single_fits": {n: float(((f >= 0).astype(int) == truth).mean()) for n, f in fits.items()},
        "ensembles": ensembles,
        "ensemble_range": [min(ensembles.values()), max(ensembles.values())],
    }


def main() -> None:
    import torch

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default="benchmarks/results/reference_input.json")
    parser.add_argument("--analyse", action="store_true", help="neighbours and ensembles only (no fit)")
    args = parser.parse_args()
    if args.analyse:
        found = analyse()
        path = Path(__file__).resolve().parent / "results" / "reference_neighbours.json"
        path.write_text(json.dumps(found, indent=1) + "\n", encoding="utf-8")
        print(json.dumps({k: v for k, v in found.items() if k != "ensembles"}, indent=1))
        return
    torch.set_num_threads(args.threads)
    qs, ans, y = read("truth")
    split = make_splits(qs, y, 2000)["random"]
    pool, held_idx = np.asarray(split.train_pool), np.asarray(split.heldout)
    near = neighbours(qs, ans, pool)
    rows = with_references(qs, ans, y, near, pool)
    held = with_references(qs, ans, y, near, held_idx)
    params = {"base_model": resolve("minilm"), "epochs": args.epochs, "freeze_layers": 0, "seed": 0}
    estimator = make_method("finetune", lr=5e-5, num_threads=args.threads, **params)
    started = time.perf_counter()
    cal = fit_estimator(estimator, rows, 0, False)
    seconds = time.perf_counter() - started
    result = {
        "command": " ".join(sys.argv),
        "example_input": rows[0].model_input,
        "train_seconds": round(seconds, 1),
        "load_avg_1m": os.getloadavg()[0],
        "history": getattr(estimator, "history_", None),
        **score(rows, held, estimator, cal),
    }
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(
        f"{args.out}: accuracy {result['accuracy']['value']:.4f} "
        f"(without the memory {result['accuracy_no_memory']:.4f}) in {seconds:.0f} s"
    )


if __name__ == "__main__":
    main()
