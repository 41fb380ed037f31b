"""Label memory: a session identical to one the humans labelled in training gets their label.

A reviewer who marked an answer bad expects the evaluator to call the same answer to the same input bad
the next time, however the model generalises. Templated bots repeat sessions, and so do benchmark sets:
a quarter of TruthfulQA's random held-out rows repeat a training row, with the same label in 99.4% of
cases (BENCHMARKS.md).

Keys are SHA-256 digests of the normalised session (input rendered as the encoder sees it, output;
case folded, whitespace collapsed); the model folder stores digests and good/bad counts only
(`memory.npz`), never text. On a hit, the model's calibrated probability p becomes
(n_good + p) / (n + 1): one earlier label decides the verdict, agreeing labels dominate, conflicting
labels pull toward the middle. A miss leaves p as it is.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from judgeloop.training.calibration import sigmoid
from judgeloop.training.encoding import render_input
from judgeloop.training.examples import Pair

MEMORY_FILE = "memory.npz"
_SPACE = re.compile(r"\s+")


def session_key(pair: Pair) -> bytes:
    """The digest of one (input, output) pair, insensitive to case and whitespace."""
    model_input, model_output = pair
    text = render_input(model_input)[0] + "\x1f" + model_output
    return hashlib.sha256(_SPACE.sub(" ", text).strip().casefold().encode("utf-8")).digest()


class LabelMemory:
    """Good/bad counts of the labelled training sessions, by session digest."""

    def __init__(self, counts: dict[bytes, tuple[int, int]]) -> None:
        self.counts = counts  # digest -> (n_good, n_labels)

    @classmethod
    def build(cls, pairs: Sequence[Pair], labels: Sequence[int]) -> LabelMemory:
        counts: dict[bytes, tuple[int, int]] = {}
        for pair, label in zip(pairs, labels, strict=True):
            key = session_key(pair)
            good, n = counts.get(key, (0, 0))
            counts[key] = (good + int(label), n + 1)
        return cls(counts)

    def __len__(self) -> int:
        return len(self.counts)

    def lookup(self, pairs: Sequence[Pair]) -> tuple[np.ndarray, np.ndarray]:
        """(n_good, n_labels) per pair; (0, 0) for sessions never labelled."""
        found = [self.counts.get(session_key(p), (0, 0)) for p in pairs]
        arr = np.asarray(found, dtype=float).reshape(len(pairs), 2)
        return arr[:, 0], arr[:, 1]

    def adjust(self, pairs: Sequence[Pair], probability: np.ndarray) -> np.ndarray:
        """Calibrated P(good) with the humans' labels of identical sessions folded in."""
        good, n = self.lookup(pairs)
        return (good + np.asarray(probability, dtype=float)) / (n + 1)

    def adjust_logits(self, pairs: Sequence[Pair], logits: np.ndarray, temperature: float) -> np.ndarray:
        """`adjust` on logits (for metrics computed from logits and a temperature)."""
        p = np.clip(
            self.adjust(pairs, sigmoid(np.asarray(logits, dtype=float) / temperature)), 1e-7, 1 - 1e-7
        )
        return np.asarray(temperature * np.log(p / (1 - p)))

    def save(self, directory: Path) -> Path:
        keys = np.frombuffer(b"".join(self.counts), dtype=np.uint8).reshape(len(self.counts), 32)
        values = np.asarray(list(self.counts.values()), dtype=np.int64).reshape(len(self.counts), 2)
        path = directory / MEMORY_FILE
        np.savez_compressed(path, keys=keys, counts=values)
        return path

    @classmethod
    def load(cls, directory: Path) -> LabelMemory | None:
        path = directory / MEMORY_FILE
        if not path.is_file():
            return None
        with np.load(path) as data:
            keys, values = data["keys"], data["counts"]
        return cls({bytes(k): (int(v[0]), int(v[1])) for k, v in zip(keys, values, strict=True)})
