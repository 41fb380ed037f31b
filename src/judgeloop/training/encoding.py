"""Tokenising sessions for the encoder: (input, output) as a PAIR, with dynamic padding.

The output is what is judged, so it is kept whole when it fits and the input is truncated instead
(`only_first`). A chat input is rendered to `role: content` lines and truncated from the left, so the
last turns survive; a plain-text input keeps its beginning. Truncation and padding are done here on the
fast (Rust) tokenizer, not by padding every row to a fixed length.
"""

from __future__ import annotations

import math
import os
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from judgeloop.types import ModelInput, input_text

DEFAULT_MAX_LENGTH = 256
MIN_INPUT_TOKENS = 32  # an output longer than the budget is cut so the input keeps at least this much
CALL_COST_TOKENS = 32.0  # one more encoder call costs about as much as 32 padded tokens (BENCHMARKS.md)


@dataclass(frozen=True)
class Encoded:
    """One tokenised row: token ids and segment ids (no padding)."""

    ids: list[int]
    type_ids: list[int]

    def __len__(self) -> int:
        return len(self.ids)


def render_input(model_input: ModelInput) -> tuple[str, str]:
    """The input as text, and which end to keep when it must be cut ('end' for chats, else 'start')."""
    if isinstance(model_input, str):
        return model_input, "start"
    return input_text(model_input), "end"


class PairEncoder:
    """Turns (input, output) pairs or single texts into padded id arrays for a BERT-style encoder."""

    def __init__(self, tokenizer: Any, max_length: int = DEFAULT_MAX_LENGTH) -> None:
        from tokenizers import Tokenizer

        self._setup(
            Tokenizer.from_str(tokenizer.backend_tokenizer.to_str()),
            min(max_length, getattr(tokenizer, "model_max_length", max_length) or max_length),
            int(tokenizer.pad_token_id or 0),
            "token_type_ids" in getattr(tokenizer, "model_input_names", []),
        )

    def _setup(self, backend: Any, max_length: int, pad_id: int, uses_type_ids: bool) -> None:
        backend.no_padding()  # some tokenizer.json files carry a fixed padding/truncation: drop them
        backend.no_truncation()
        self.backend = backend
        self.max_length = int(max_length)
        self.pad_id = pad_id
        self.uses_type_ids = uses_type_ids

    @classmethod
    def from_pretrained(cls, path: str | Path, max_length: int = DEFAULT_MAX_LENGTH) -> PairEncoder:
        from transformers import AutoTokenizer

        return cls(AutoTokenizer.from_pretrained(str(path)), max_length)

    @classmethod
    def from_folder(cls, path: str | Path, max_length: int = DEFAULT_MAX_LENGTH) -> PairEncoder | None:
        """The encoder of a saved fast tokenizer (tokenizer.json), read without transformers or torch:
        what an ONNX Runtime evaluator needs. Segment ids are always made (the ONNX session feeds only
        the inputs its graph has). None when the folder has no tokenizer.json."""
        import json

        from tokenizers import Tokenizer

        folder = Path(path)
        if not (folder / "tokenizer.json").is_file():
            return None
        config_file = folder / "tokenizer_config.json"
        config = json.loads(config_file.read_text(encoding="utf-8")) if config_file.is_file() else {}
        backend = Tokenizer.from_file(str(folder / "tokenizer.json"))
        pad = config.get("pad_token")
        pad = pad.get("content") if isinstance(pad, dict) else pad
        pad_id = backend.token_to_id(pad) if isinstance(pad, str) else None
        limit = config.get("model_max_length")
        limit = limit if isinstance(limit, int) and 0 < limit < 1_000_000 else max_length
        encoder = cls.__new__(cls)
        encoder._setup(backend, min(max_length, limit), int(pad_id or 0), True)
        return encoder

    def encode_pairs(self, inputs: Sequence[ModelInput], outputs: Sequence[str]) -> list[Encoded]:
        rendered = [render_input(x) for x in inputs]
        firsts = self.backend.encode_batch([text for text, _ in rendered], add_special_tokens=False)
        seconds = self.backend.encode_batch(list(outputs), add_special_tokens=False)
        budget = self.max_length - self.backend.num_special_tokens_to_add(True)
        encoded = []
        for first, second, (_, keep) in zip(firsts, seconds, rendered, strict=True):
            out_room = budget - min(len(first.ids), MIN_INPUT_TOKENS)
            if len(second.ids) > out_room:
                second.truncate(max(out_room, 1), direction="right")
            in_room = budget - len(second.ids)
            if len(first.ids) > in_room:
                first.truncate(max(in_room, 0), direction="left" if keep == "end" else "right")
            row = self.backend.post_process(first, second, add_special_tokens=True)
            encoded.append(Encoded(list(row.ids), list(row.type_ids)))
        return encoded

    def encode_texts(self, texts: Sequence[ModelInput]) -> list[Encoded]:
        rendered = [render_input(x) for x in texts]
        budget = self.max_length - self.backend.num_special_tokens_to_add(False)
        encoded = []
        for enc, (_, keep) in zip(
            self.backend.encode_batch([t for t, _ in rendered], add_special_tokens=False),
            rendered,
            strict=True,
        ):
            if len(enc.ids) > budget:
                enc.truncate(budget, direction="left" if keep == "end" else "right")
            row = self.backend.post_process(enc, None, add_special_tokens=True)
            encoded.append(Encoded(list(row.ids), list(row.type_ids)))
        return encoded

    def collate(self, rows: Sequence[Encoded]) -> dict[str, np.ndarray]:
        """Pad to the longest row of this batch (never to max_length)."""
        width = max(len(r) for r in rows)
        ids = np.full((len(rows), width), self.pad_id, dtype=np.int64)
        types = np.zeros((len(rows), width), dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for i, r in enumerate(rows):
            ids[i, : len(r)] = r.ids
            types[i, : len(r)] = r.type_ids
            mask[i, : len(r)] = 1
        batch = {"input_ids": ids, "attention_mask": mask}
        if self.uses_type_ids:
            batch["token_type_ids"] = types
        return batch


def sorted_batches(
    lengths: Sequence[int], batch_size: int, call_cost: float | None = None
) -> list[list[int]]:
    """Inference batches of sorted lengths, cut where padding costs more than another encoder call.

    Rows are sorted by length and split into runs of at most `batch_size` that minimise the modelled
    cost, the sum over batches of `call_cost + rows x longest row` (in tokens): a forward pass costs
    about its padded token count plus a fixed per-call overhead. Fixed chunks of `batch_size` pad a
    short answer to the longest one beside it (TruthfulQA guardrail batches are ~50% padding).
    `call_cost` defaults to $JUDGELOOP_CALL_COST_TOKENS, else CALL_COST_TOKENS; a huge value gives
    the fewest calls (the old fixed chunks, near enough).
    """
    if call_cost is None:
        call_cost = float(os.environ.get("JUDGELOOP_CALL_COST_TOKENS") or CALL_COST_TOKENS)
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    sizes = [lengths[i] for i in order]
    best = [0.0] + [math.inf] * len(sizes)  # best[j]: cheapest cost of the first j sorted rows
    cut = [0] * (len(sizes) + 1)
    for j in range(1, len(sizes) + 1):
        for i in range(max(0, j - batch_size), j):  # the last batch is sorted rows i..j-1
            cost = best[i] + call_cost + (j - i) * sizes[j - 1]
            if cost < best[j]:
                best[j], cut[j] = cost, i
    batches: list[list[int]] = []
    j = len(sizes)
    while j > 0:
        batches.append(order[cut[j] : j])
        j = cut[j]
    return batches[::-1]


def length_grouped_batches(
    lengths: Sequence[int], batch_size: int, rng: random.Random, group: int = 50
) -> list[list[int]]:
    """Training batches: shuffle, sort within mega-batches of `group` batches, shuffle batch order."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    span = batch_size * group
    batches: list[list[int]] = []
    for start in range(0, len(order), span):
        chunk = sorted(order[start : start + span], key=lambda i: lengths[i])
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    rng.shuffle(batches)
    return batches
