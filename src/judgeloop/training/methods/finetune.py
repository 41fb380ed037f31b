"""`finetune`: full fine-tuning of a cross-encoder (AutoModelForSequenceClassification) on the pairs.

A plain torch loop: dynamic padding, length-grouped batches, AdamW with linear warmup and decay, a
validation slice checked after every epoch (the best epoch is kept; training stops after `patience`
epochs without improvement). `num_layers=k` keeps only the encoder's first k layers before training: a
smaller, faster student for the inference path.

`freeze_layers=k` trains only the layers above the first k (and the head): the embeddings and the first
k layers run once over every training and validation row, their outputs are cached (float16), and each
epoch runs just the top layers on the cache: on a 12-layer encoder with k = 9, each epoch runs 3 of 12
layers forward and backward instead of all 12, after one forward pass of 9 layers. The saved model is
the whole encoder, as with a full fine-tune.
"""

from __future__ import annotations

import copy
import math
import random
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from judgeloop.training.base_encoder import check_encoder, quiet_transformers, resolve_base_model, set_threads
from judgeloop.training.encoding import (
    DEFAULT_MAX_LENGTH,
    Encoded,
    PairEncoder,
    length_grouped_batches,
    sorted_batches,
)
from judgeloop.training.examples import Pair
from judgeloop.training.methods.base import PairClassifier, check_xy

LABELS = {0: "bad", 1: "good"}


TRAIN_TOP_LAYERS = 3  # of a 12+ layer encoder, by default (default_freeze_layers)


def default_freeze_layers(base: str) -> int:
    """Lower layers to freeze by default: all but the top TRAIN_TOP_LAYERS of an encoder with 12 or
    more layers (MPNet-base computes about 8x MiniLM-L6 per token; trained this way it fitted all
    17,880 TruthfulQA labels in 851 s on 2 cores: BENCHMARKS.md), none for smaller encoders."""
    import json

    try:
        config = json.loads((Path(base) / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return 0
    layers = int(config.get("num_hidden_layers") or config.get("n_layers") or 0)
    return layers - TRAIN_TOP_LAYERS if layers >= 12 else 0


class FineTune(PairClassifier):
    """Fine-tuned cross-encoder over (input, output) pairs (see the module docstring)."""

    method = "finetune"
    weights_: Path | None = None  # the saved folder of a loaded model (its torch weights load lazily)

    def __init__(
        self,
        base_model: str | Path | None = None,
        num_layers: int | None = None,
        lr: float = 5e-5,
        epochs: int = 3,
        batch_size: int = 16,
        warmup_ratio: float = 0.1,
        weight_decay: float = 0.01,
        max_length: int = DEFAULT_MAX_LENGTH,
        early_stopping: bool = True,
        validation_fraction: float = 0.1,
        patience: int = 1,
        seed: int = 0,
        progress: bool = True,
        num_threads: int | None = None,
        freeze_layers: int = 0,
    ) -> None:
        self.base_model = base_model
        self.num_layers = num_layers
        self.freeze_layers = freeze_layers
        self.lr = lr
        self.epochs = epochs
        self.batch_size = batch_size
        self.warmup_ratio = warmup_ratio
        self.weight_decay = weight_decay
        self.max_length = max_length
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.seed = seed
        self.progress = progress
        self.num_threads = num_threads

    def _check_params(self) -> None:
        self._check_param("lr", isinstance(self.lr, int | float) and 0 < self.lr <= 1, "a float in (0, 1]")
        self._check_param("epochs", isinstance(self.epochs, int) and self.epochs >= 1, "an int >= 1")
        self._check_param(
            "batch_size", isinstance(self.batch_size, int) and self.batch_size >= 1, "an int >= 1"
        )
        self._check_param(
            "num_layers",
            self.num_layers is None or isinstance(self.num_layers, int) and self.num_layers >= 1,
            "None or an int >= 1",
        )
        self._check_param("validation_fraction", 0 <= self.validation_fraction < 1, "a float in [0, 1)")
        self._check_param(
            "freeze_layers",
            isinstance(self.freeze_layers, int) and self.freeze_layers >= 0,
            "an int >= 0 (0 trains every layer)",
        )

    # --- model --------------------------------------------------------------------------------

    def _build(self) -> None:
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        path = resolve_base_model(self.base_model)
        config = check_encoder(path)
        set_threads(self.num_threads)
        torch.manual_seed(self.seed)
        extra: dict[str, Any] = {}
        layers = getattr(config, "num_hidden_layers", None)
        if self.num_layers is not None and layers is not None and self.num_layers < layers:
            extra["num_hidden_layers"] = self.num_layers
        with quiet_transformers():
            self.tokenizer_ = AutoTokenizer.from_pretrained(path)
            self.model_ = AutoModelForSequenceClassification.from_pretrained(
                path, num_labels=2, id2label=LABELS, label2id={v: k for k, v in LABELS.items()}, **extra
            )
        self.encoder_ = PairEncoder(self.tokenizer_, self.max_length)

    # --- learning -----------------------------------------------------------------------------

    @classmethod
    def default_settings(cls, base_model: str, seed: int, progress: bool) -> dict[str, Any]:
        return {"seed": seed, "progress": progress, "freeze_layers": default_freeze_layers(base_model)}

    def _fit_with_eval(self, X: Sequence[Pair], y: Sequence[int], eval_set: tuple[Any, Any]) -> None:
        self.fit(X, y, eval_set=eval_set)

    def fit(
        self,
        X: Sequence[Pair],
        y: Sequence[int],
        eval_set: tuple[Sequence[Pair], Sequence[int]] | None = None,
    ) -> FineTune:
        """Train; `eval_set` (pairs, labels) is the validation slice, else one is carved from X."""
        self._check_params()
        labels = check_xy(X, y)
        self._build()
        self._freeze()
        rows = self._encode(X)
        if eval_set is None and self.early_stopping and self.validation_fraction > 0:
            train_idx, val_idx = _carve(labels, self.validation_fraction, self.seed)
            val_rows, val_labels = [rows[i] for i in val_idx], labels[val_idx]
            rows, labels = [rows[i] for i in train_idx], labels[train_idx]
        elif eval_set is not None:
            val_rows, val_labels = self._encode(eval_set[0]), check_xy(eval_set[0], eval_set[1])
        else:
            val_rows, val_labels = [], np.zeros(0, dtype=int)
        if self.frozen_:
            rows, val_rows = self._cache_lower(rows), self._cache_lower(val_rows)  # type: ignore[assignment]
        try:
            self.history_ = self._train(rows, labels, val_rows, val_labels)
        finally:
            for p in self.model_.parameters():
                p.requires_grad_(True)
        self.model_.eval()
        return self

    # --- frozen lower layers ------------------------------------------------------------------

    frozen_: int = 0  # lower layers whose outputs are cached during fit

    def _freeze(self) -> None:
        """Stop gradients below layer `freeze_layers` (capped to leave at least one layer trainable)."""
        base = getattr(self.model_, self.model_.base_model_prefix)
        self.frozen_ = min(self.freeze_layers, len(base.encoder.layer) - 1)
        if self.frozen_ <= 0:
            self.frozen_ = 0
            return
        for p in base.embeddings.parameters():
            p.requires_grad_(False)
        for layer in list(base.encoder.layer)[: self.frozen_]:
            for p in layer.parameters():
                p.requires_grad_(False)

    def _cache_lower(self, rows: list[Encoded]) -> list[Any]:
        """The output of the frozen layers for each row (float16, unpadded), computed once."""
        import torch
        from tqdm.auto import tqdm

        out: list[Any] = [None] * len(rows)
        self.model_.eval()
        batches = sorted_batches([len(r) for r in rows], 32)
        bar = tqdm(total=len(rows), desc="caching frozen layers", disable=not self.progress, unit="row")
        with torch.inference_mode(), _only_layers(self.model_, 0, self.frozen_, passthrough=False) as base:
            for batch in batches:
                arrays = self.encoder_.collate([rows[i] for i in batch])
                hidden = base(**{k: torch.from_numpy(v) for k, v in arrays.items()}).last_hidden_state
                for j, i in enumerate(batch):
                    out[i] = hidden[j, : len(rows[i])].to(torch.float16).clone()
                bar.update(len(batch))
        bar.close()
        return out

    def _top_logits(self, cached: list[Any]) -> Any:
        """Logits of the layers above the frozen ones (and the head) on a batch of cached outputs."""
        import torch

        width = max(int(h.shape[0]) for h in cached)
        hidden = torch.zeros(len(cached), width, int(cached[0].shape[1]))
        mask = torch.zeros(len(cached), width, dtype=torch.long)
        for i, h in enumerate(cached):
            hidden[i, : h.shape[0]] = h.float()
            mask[i, : h.shape[0]] = 1
        n = len(getattr(self.model_, self.model_.base_model_prefix).encoder.layer)
        with _only_layers(self.model_, self.frozen_, n, passthrough=True):
            return self.model_(inputs_embeds=hidden, attention_mask=mask).logits

    def _train(
        self, rows: list[Encoded], labels: np.ndarray, val_rows: list[Encoded], val_labels: np.ndarray
    ) -> list[dict[str, float]]:
        from judgeloop.progress import track

        steps_per_epoch = math.ceil(len(rows) / self.batch_size)
        optimizer, scheduler = self._optimizer(steps_per_epoch * self.epochs)
        shown = None if self.progress else False  # None: as the caller's judgeloop.progress.reporting says
        with track("fine-tuning", steps_per_epoch * self.epochs, unit="steps", enabled=shown) as bar:
            return self._epochs(
                rows, labels, val_rows, val_labels, bar, steps_per_epoch, optimizer, scheduler
            )

    def _epochs(
        self,
        rows: list[Encoded],
        labels: np.ndarray,
        val_rows: list[Encoded],
        val_labels: np.ndarray,
        bar: Any,
        steps_per_epoch: int,
        optimizer: Any,
        scheduler: Any,
    ) -> list[dict[str, float]]:
        import torch

        rng = random.Random(self.seed)
        lengths = [len(r) for r in rows]
        target = torch.as_tensor(labels, dtype=torch.long)
        history: list[dict[str, float]] = []
        best: tuple[tuple[float, float], dict[str, Any]] | None = None
        for epoch in range(self.epochs):
            self.model_.train()
            total = 0.0
            for batch in length_grouped_batches(lengths, self.batch_size, rng):
                loss = self._step(rows, batch, target, optimizer, scheduler)
                total += loss
                bar.advance(1)
            record = {"epoch": epoch + 1, "train_loss": total / steps_per_epoch}
            if len(val_rows):
                record.update(self._validate(val_rows, val_labels))
                if best is None or _score(record) > best[0]:
                    best = (_score(record), copy.deepcopy(self.model_.state_dict()))
            history.append(record)
            if best is not None and _stalled(history, self.patience):
                break
        if best is not None:
            self.model_.load_state_dict(best[1])
        return history

    def _optimizer(self, total_steps: int) -> tuple[Any, Any]:
        import torch

        trainable = [(n, p) for n, p in self.model_.named_parameters() if p.requires_grad]
        decay = [p for n, p in trainable if not n.endswith("bias") and "LayerNorm" not in n]
        no_decay = [p for n, p in trainable if n.endswith("bias") or "LayerNorm" in n]
        optimizer = torch.optim.AdamW(
            [{"params": decay, "weight_decay": self.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
            lr=self.lr,
        )
        warmup = max(1, int(self.warmup_ratio * total_steps))

        def schedule(step: int) -> float:
            if step < warmup:
                return (step + 1) / warmup
            return max(0.0, (total_steps - step) / max(1, total_steps - warmup))

        return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)

    def _step(
        self, rows: list[Encoded], batch: list[int], target: Any, optimizer: Any, scheduler: Any
    ) -> float:
        import torch

        if self.frozen_:
            logits = self._top_logits([rows[i] for i in batch])
        else:
            arrays = self.encoder_.collate([rows[i] for i in batch])
            logits = self.model_(**{k: torch.from_numpy(v) for k, v in arrays.items()}).logits
        loss = torch.nn.functional.cross_entropy(logits, target[batch])
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model_.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        return float(loss.detach())

    def _validate(self, rows: list[Encoded], labels: np.ndarray) -> dict[str, float]:
        from judgeloop.training.calibration import nll

        z = self._cached_logits(rows) if self.frozen_ else self._logits(rows)
        return {"val_loss": nll(z, labels), "val_accuracy": float(np.mean((z >= 0).astype(int) == labels))}

    def _cached_logits(self, cached: list[Any], batch_size: int = 32) -> np.ndarray:
        import torch

        self.model_.eval()
        out = np.zeros(len(cached))
        with torch.inference_mode():
            for batch in sorted_batches([int(h.shape[0]) for h in cached], batch_size):
                logits = self._top_logits([cached[i] for i in batch]).float().numpy()
                out[batch] = logits[:, 1] - logits[:, 0]
        return out

    # --- prediction ---------------------------------------------------------------------------

    def _encode(self, X: Sequence[Pair]) -> list[Encoded]:
        return self.encoder_.encode_pairs([x for x, _ in X], [o for _, o in X])

    def _logits(self, rows: list[Encoded], batch_size: int = 16) -> np.ndarray:
        net = self._net().eval() if self.onnx_ is None else None
        out = np.zeros(len(rows))
        for batch in sorted_batches([len(r) for r in rows], batch_size):
            arrays = self.encoder_.collate([rows[i] for i in batch])
            if net is None:
                logits = self.onnx_(arrays)
            else:
                import torch

                with torch.inference_mode():
                    tensors = {k: torch.from_numpy(v) for k, v in arrays.items()}
                    logits = net(**tensors).logits.float().numpy()
            out[batch] = logits[:, 1] - logits[:, 0]
        return out

    def export_onnx(self, directory: Path) -> Path:
        from judgeloop.training.onnx import ONNX_FILE, export

        self.check_is_fitted()
        net = self._net()
        encoder = PairEncoder(self.tokenizer_, self.max_length)  # the inputs this model takes
        sample = encoder.collate(encoder.encode_pairs(["a question"], ["an answer to it"]))
        return export(net, sample, directory / ONNX_FILE, "logits")

    def decision_function(self, X: Sequence[Pair]) -> np.ndarray:
        self.check_is_fitted()
        return self._logits(self._encode(X)) if len(X) else np.zeros(0)

    # --- persistence --------------------------------------------------------------------------

    def save(self, directory: Path) -> None:
        self.check_is_fitted()
        directory.mkdir(parents=True, exist_ok=True)
        self._net().save_pretrained(directory)
        self.tokenizer_.save_pretrained(directory)

    @classmethod
    def load(
        cls, directory: Path, params: dict[str, Any] | None = None, onnx: Path | None = None
    ) -> FineTune:
        known = set(cls._param_names())
        model = cls(**{k: v for k, v in (params or {}).items() if k in known})
        model.weights_ = Path(directory)
        light = PairEncoder.from_folder(directory, model.max_length) if onnx is not None else None
        if onnx is not None and light is not None:
            model.attach_onnx(onnx)
            model.encoder_ = light
            return model
        model._net()
        if onnx is not None:
            model.attach_onnx(onnx)
        return model

    def _net(self) -> Any:
        """The torch model; loaded from the saved folder on first use when the model was loaded to
        run on ONNX Runtime (neither transformers nor torch is imported until then)."""
        if getattr(self, "model_", None) is None and self.weights_ is not None:
            from transformers import AutoModelForSequenceClassification, AutoTokenizer

            set_threads(self.num_threads)
            with quiet_transformers():
                self.tokenizer_ = AutoTokenizer.from_pretrained(str(self.weights_))
                self.model_ = AutoModelForSequenceClassification.from_pretrained(str(self.weights_)).eval()
            if getattr(self, "encoder_", None) is None:
                self.encoder_ = PairEncoder(self.tokenizer_, self.max_length)
        return self.model_

    def detach_onnx(self) -> None:
        super().detach_onnx()
        self._net()
        self.encoder_ = PairEncoder(self.tokenizer_, self.max_length)  # the inputs torch takes

    def check_is_fitted(self) -> None:
        if self.weights_ is None:  # a loaded model is fitted before its torch weights are loaded
            super().check_is_fitted()


def _passthrough() -> Any:
    """A module that stands in for the embeddings when the top layers run on cached hidden states."""
    import torch

    class Passthrough(torch.nn.Module):
        def forward(self, input_ids: Any = None, inputs_embeds: Any = None, **_: Any) -> Any:
            return inputs_embeds

    return Passthrough()


@contextmanager
def _only_layers(model: Any, low: int, high: int, *, passthrough: bool) -> Iterator[Any]:
    """Run the encoder's layers [low, high) only; with `passthrough` the input is already hidden states
    (the embeddings are skipped). The model is restored afterwards; parameters are shared, not copied."""
    import torch

    base = getattr(model, model.base_model_prefix)
    layers, embeddings = base.encoder.layer, base.embeddings
    base.encoder.layer = torch.nn.ModuleList(list(layers)[low:high])
    if passthrough:
        base.embeddings = _passthrough()
    try:
        yield base
    finally:
        base.encoder.layer, base.embeddings = layers, embeddings


def _carve(labels: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A stratified validation slice (at least one row of each class when possible)."""
    rng = np.random.default_rng(seed)
    train, val = [], []
    for value in (0, 1):
        idx = np.flatnonzero(labels == value)
        rng.shuffle(idx)
        k = min(max(1, int(round(fraction * len(idx)))), len(idx) - 1) if len(idx) > 1 else 0
        val.extend(idx[:k].tolist())
        train.extend(idx[k:].tolist())
    return np.array(sorted(train)), np.array(sorted(val))


def _score(record: dict[str, float]) -> tuple[float, float]:
    """How good an epoch is on the validation slice: accuracy first, then lower loss. Not loss alone:
    the loss turns up as the model grows confident while accuracy still rises (on TruthfulQA, all
    labels: epoch 3 had the best accuracy, 0.875, and a higher loss than epoch 2), and temperature
    scaling fixes the confidence afterwards."""
    return (record["val_accuracy"], -record["val_loss"])


def _stalled(history: list[dict[str, float]], patience: int) -> bool:
    scores = [_score(h) for h in history if "val_loss" in h]
    if len(scores) <= patience:
        return False
    best_at = max(range(len(scores)), key=lambda i: scores[i])
    return len(scores) - 1 - best_at >= patience
