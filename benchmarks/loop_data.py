"""Data for the close-the-loop benchmarks: TruthfulQA truthfulness labels as frozen MiniLM pair features.

    .venv/bin/python -m benchmarks.loop_data      # embeds once, caches to benchmarks/results/

Rows of ../shared/datasets/truthfulqa_judge/finetune_truth_train.jsonl are
{"prompt": "Q: ...\\nA: ...\\nTrue:", "completion": " yes"|" no"}: the question is the session input, the
answer its output and "yes" (truthful) means good. Questions and answers are embedded separately with
the bundled MiniLM-L6 (sentence-transformers, normalised) and cached as float16; the pair features are
[q, a, q - a, q * a, cos(q, a)] (see ../shared/FINDINGS.md: pairs beat glued text).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "datasets" / "truthfulqa_judge" / "finetune_truth_train.jsonl"
RESULTS = ROOT / "benchmarks" / "results"
CACHE = RESULTS / "truthfulqa_minilm.npz"


@dataclass
class TruthData:
    questions: list[str]
    answers: list[str]
    good: np.ndarray  # 1 = truthful
    question_id: np.ndarray  # index of the question, for splits by question
    features: np.ndarray  # pair features, float32


def read_rows(path: Path = DATA) -> tuple[list[str], list[str], np.ndarray]:
    questions, answers, good = [], [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        head = row["prompt"].rsplit("\nTrue:", 1)[0]
        q, _, a = head.partition("\nA:")
        questions.append(q.removeprefix("Q:").strip())
        answers.append(a.strip())
        good.append(1 if row["completion"].strip() == "yes" else 0)
    return questions, answers, np.asarray(good, dtype=np.int64)


def _embed(texts: list[str]) -> np.ndarray:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from judgeloop.evaluators.reference import load_encoder

    encoder = load_encoder()
    return np.asarray(encoder.encode(texts, batch_size=64, normalize_embeddings=True), dtype=np.float32)


def pair_features(q: np.ndarray, a: np.ndarray) -> np.ndarray:
    cos = np.sum(q * a, axis=1, keepdims=True)
    return np.hstack([q, a, q - a, q * a, cos]).astype(np.float32)


def load(path: Path = DATA) -> TruthData:
    """The rows and their pair features, embedding once and caching to benchmarks/results/."""
    questions, answers, good = read_rows(path)
    uq = sorted(set(questions))
    qid = _ids(questions, uq)
    if CACHE.is_file():
        cached = np.load(CACHE)
        q_emb, a_emb = cached["q"].astype(np.float32), cached["a"].astype(np.float32)
    else:
        ua = sorted(set(answers))
        start = time.perf_counter()
        q_emb_u, a_emb_u = _embed(uq), _embed(ua)
        print(f"embedded {len(uq)} questions + {len(ua)} answers in {time.perf_counter() - start:.0f} s")
        a_index = {a: i for i, a in enumerate(ua)}
        q_emb = q_emb_u[qid]
        a_emb = a_emb_u[[a_index[a] for a in answers]]
        RESULTS.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(CACHE, q=q_emb.astype(np.float16), a=a_emb.astype(np.float16))
    return TruthData(questions, answers, good, qid, pair_features(q_emb, a_emb))


def _ids(values: list[str], unique: list[str]) -> np.ndarray:
    index = {v: i for i, v in enumerate(unique)}
    return np.asarray([index[v] for v in values])


if __name__ == "__main__":
    d = load()
    print(
        f"{len(d.good)} rows, {d.good.mean():.3f} good, {len(set(d.question_id.tolist()))} questions, "
        f"features {d.features.shape}"
    )
