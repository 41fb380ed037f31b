"""`embedding_head`: frozen sentence embeddings of input and output + logistic regression.

Input and output are embedded separately (mean-pooled, L2-normalised, as sentence-transformers does
for MiniLM) and combined as [u, v, |u - v|, u * v, cos(u, v)]. Embeddings are cached by text, so a
prompt shared by many outputs is embedded once, in training and at inference. Best for small label
sets: it trains in seconds and does not overfit 30 labels the way fine-tuning does.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from judgeloop.training.base_encoder import check_encoder, quiet_transformers, resolve_base_model, set_threads
from judgeloop.training.encoding import DEFAULT_MAX_LENGTH, PairEncoder, render_input, sorted_batches
from judgeloop.training.examples import Pair
from judgeloop.training.methods.base import PairClassifier, check_xy
from judgeloop.types import ModelInput

HEAD_FILE = "head.npz"
C_GRID = (0.3, 1.0, 3.0, 10.0, 30.0)  # C="auto" picks one by 5-fold log-loss


class EmbeddingCache:
    """A bounded LRU map from rendered text to its embedding."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._data: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()  # one loaded evaluator may serve several threads (a web app's pool)

    def get(self, key: str) -> np.ndarray | None:
        with self._lock:
            found = self._data.get(key)
            if found is not None:
                self._data.move_to_end(key)
            return found

    def put(self, key: str, value: np.ndarray) -> None:
        if self.size <= 0:
            return
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)

    def __len__(self) -> int:
        return len(self._data)


def _text_key(text: ModelInput) -> str:
    rendered, keep = render_input(text)
    return keep[0] + rendered


def _hidden_size(folder: Path) -> int | None:
    """The encoder's width from its config.json (None when the file does not say)."""
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    size = config.get("hidden_size") or config.get("dim")  # BERT-style, DistilBERT
    return int(size) if isinstance(size, int) else None


def _mean_pool(hidden: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
    """Mean over real tokens, L2-normalised (sentence-transformers' MiniLM pooling)."""
    mask = attention_mask[..., None].astype(hidden.dtype)
    pooled = (hidden * mask).sum(1) / np.clip(mask.sum(1), 1.0, None)
    norm = np.linalg.norm(pooled, axis=1, keepdims=True)
    return np.asarray(pooled / np.clip(norm, 1e-12, None), dtype=np.float32)


def pair_features(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    cos = np.sum(u * v, axis=1, keepdims=True)
    return np.hstack([u, v, np.abs(u - v), u * v, cos]).astype(np.float32)


class EmbeddingHead(PairClassifier):
    """Frozen encoder + logistic regression on pair features (see the module docstring)."""

    method = "embedding_head"
    fitted_attribute = "coef_"

    def __init__(
        self,
        base_model: str | Path | None = None,
        C: float | str = "auto",
        class_weight: str | None = None,
        max_length: int = DEFAULT_MAX_LENGTH,
        batch_size: int = 16,  # encoder batch: small batches of sorted lengths pad least (BENCHMARKS.md)
        cache_size: int = 100_000,
        num_threads: int | None = None,
    ) -> None:
        self.base_model = base_model
        self.C = C
        self.class_weight = class_weight
        self.max_length = max_length
        self.batch_size = batch_size
        self.cache_size = cache_size
        self.num_threads = num_threads

    # --- encoder ------------------------------------------------------------------------------

    def _ensure_encoder(self) -> None:
        """The tokenizer side, and the torch encoder unless the encoder pass runs on ONNX Runtime (then
        neither transformers nor torch is imported: a guardrail starts in about a second)."""
        if getattr(self, "pair_encoder_", None) is None:
            path = resolve_base_model(self.base_model)
            light = PairEncoder.from_folder(path, self.max_length) if self.onnx_ is not None else None
            size = _hidden_size(Path(path)) if light is not None else None
            if light is not None and size is not None:
                self.pair_encoder_, self.hidden_size_ = light, size
            else:
                self._torch_encoder()
            self.cache_ = EmbeddingCache(self.cache_size)
        if self.onnx_ is None:
            self._torch_encoder()

    def _torch_encoder(self) -> Any:
        """The torch encoder (and its HF tokenizer), loaded on first use."""
        if getattr(self, "encoder_", None) is None:
            from transformers import AutoModel, AutoTokenizer

            path = resolve_base_model(self.base_model)
            check_encoder(path)
            set_threads(self.num_threads)
            with quiet_transformers():
                self.tokenizer_ = AutoTokenizer.from_pretrained(path)
                self.encoder_ = AutoModel.from_pretrained(path).eval()
            if getattr(self, "pair_encoder_", None) is None:
                self.pair_encoder_ = PairEncoder(self.tokenizer_, self.max_length)
                self.hidden_size_ = int(self.encoder_.config.hidden_size)
        return self.encoder_

    def embed(self, texts: Sequence[ModelInput]) -> np.ndarray:
        """Normalised embeddings, one row per text (cached texts are not re-encoded)."""
        self._ensure_encoder()
        keys = [_text_key(t) for t in texts]
        missing: dict[str, ModelInput] = {}
        for key, text in zip(keys, texts, strict=True):
            if key not in missing and self.cache_.get(key) is None:
                missing[key] = text
        fresh = self._encode(list(missing.values()))
        computed = dict(zip(missing, fresh, strict=True))
        for key, vector in computed.items():
            self.cache_.put(key, vector)
        dim = self.hidden_size_
        out = np.empty((len(texts), dim), dtype=np.float32)
        for i, key in enumerate(keys):
            found = computed.get(key)
            out[i] = found if found is not None else self.cache_.get(key)
        return out

    def _encode(self, texts: list[ModelInput]) -> list[np.ndarray]:
        if not texts:
            return []
        from judgeloop.progress import track

        rows = self.pair_encoder_.encode_texts(texts)
        result: list[np.ndarray] = [np.empty(0)] * len(rows)
        with track("encoding", len(rows), unit="texts") as bar:  # shown when the CLI reports progress
            for batch in sorted_batches([len(r) for r in rows], self.batch_size):
                arrays = self.pair_encoder_.collate([rows[i] for i in batch])
                vectors = _mean_pool(self._hidden(arrays), arrays["attention_mask"])
                for j, i in enumerate(batch):
                    result[i] = vectors[j]
                bar.advance(len(batch))
        return result

    def _hidden(self, arrays: dict[str, np.ndarray]) -> np.ndarray:
        """The encoder's last hidden state for one padded batch (ONNX Runtime when attached)."""
        if self.onnx_ is not None:
            return self.onnx_(arrays)
        import torch

        with torch.inference_mode():
            tensors = {k: torch.from_numpy(v) for k, v in arrays.items()}
            return np.asarray(self._torch_encoder()(**tensors).last_hidden_state.float().numpy())

    def attach_onnx(self, path: Path) -> None:
        """Run the encoder on ONNX Runtime from now on (embeddings from another runtime are dropped)."""
        super().attach_onnx(path)
        self._ensure_encoder()
        self.cache_ = EmbeddingCache(self.cache_size)

    def detach_onnx(self) -> None:
        super().detach_onnx()
        self._torch_encoder()
        self.pair_encoder_ = PairEncoder(self.tokenizer_, self.max_length)  # the inputs torch takes
        self.cache_ = EmbeddingCache(self.cache_size)

    def export_onnx(self, directory: Path) -> Path:
        from judgeloop.training.onnx import ONNX_FILE, export
        from judgeloop.training.onnx_cache import cached

        encoder = self._torch_encoder()
        pair_encoder = PairEncoder(self.tokenizer_, self.max_length)  # the inputs this model takes
        sample = pair_encoder.collate(pair_encoder.encode_texts(["a sample", "another sample text"]))
        return cached(
            self.onnx_key(),
            directory / ONNX_FILE,
            lambda out: export(encoder, sample, out, "last_hidden_state"),
        )

    def onnx_key(self) -> str | None:
        """The encoder is never trained here: its export is the base folder's (`onnx_cache`)."""
        from judgeloop.training.onnx_cache import encoder_key

        return encoder_key(resolve_base_model(self.base_model), "last_hidden_state")

    def features(self, X: Sequence[Pair]) -> np.ndarray:
        """Pair features; inputs and outputs are embedded in the same forward passes."""
        both = self.embed([x for x, _ in X] + [o for _, o in X])
        return pair_features(both[: len(X)], both[len(X) :])

    # --- learning -----------------------------------------------------------------------------

    cheap_refits = True  # a refit is a logistic regression on cached embeddings

    def fit_calibrated(self, train: list[Any], seed: int, augment: bool) -> tuple[np.ndarray, np.ndarray]:
        """Fit on every training row (augmented when asked); calibrate on out-of-fold logits."""
        from judgeloop.training.augment import augment_examples
        from judgeloop.training.examples import labels_of, pairs_of

        fit_rows = augment_examples(train, seed) if augment else train
        self.fit(pairs_of(fit_rows), labels_of(fit_rows))
        oof = self.oof_decision_function(pairs_of(train), labels_of(train), seed=seed)
        return oof, np.asarray(labels_of(train))

    def fit(self, X: Sequence[Pair], y: Sequence[int]) -> EmbeddingHead:
        self._check_param(
            "C", self.C == "auto" or isinstance(self.C, int | float) and self.C > 0, "'auto' or a float > 0"
        )
        labels = check_xy(X, y)
        self._fit_features(self.features(X), labels)
        return self

    def _fit_features(self, F: np.ndarray, labels: np.ndarray) -> None:
        from sklearn.linear_model import LogisticRegression

        self.C_ = self._choose_C(F, labels) if self.C == "auto" else float(self.C)
        clf = LogisticRegression(C=self.C_, class_weight=self.class_weight, max_iter=5000)
        clf.fit(F, labels)
        self.coef_ = clf.coef_[0].astype(np.float32)
        self.intercept_ = float(clf.intercept_[0])

    def _choose_C(self, F: np.ndarray, labels: np.ndarray) -> float:
        """The regularisation with the best cross-validated log-loss on the training rows."""
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import StratifiedKFold, cross_val_score

        folds = int(min(5, np.bincount(labels, minlength=2).min()))
        if folds < 2:
            return 1.0
        cv = StratifiedKFold(folds, shuffle=True, random_state=0)
        scores = {
            c: cross_val_score(
                LogisticRegression(C=c, class_weight=self.class_weight, max_iter=5000),
                F,
                labels,
                cv=cv,
                scoring="neg_log_loss",
            ).mean()
            for c in C_GRID
        }
        return float(max(scores, key=lambda c: scores[c]))

    def decision_function(self, X: Sequence[Pair]) -> np.ndarray:
        self.check_is_fitted()
        return np.asarray(self.features(X) @ self.coef_ + self.intercept_, dtype=float)

    def oof_decision_function(
        self, X: Sequence[Pair], y: Sequence[int], folds: int = 5, seed: int = 0
    ) -> np.ndarray:
        """Out-of-fold logits on the training rows (for calibration when no slice can be spared)."""
        from sklearn.model_selection import StratifiedKFold

        labels = check_xy(X, y)
        F = self.features(X)
        folds = int(max(2, min(folds, np.bincount(labels, minlength=2).min())))
        out = np.zeros(len(labels))
        probe = EmbeddingHead(C=getattr(self, "C_", None) or self.C, class_weight=self.class_weight)
        for train, test in StratifiedKFold(folds, shuffle=True, random_state=seed).split(F, labels):
            probe._fit_features(F[train], labels[train])
            out[test] = F[test] @ probe.coef_ + probe.intercept_
        return out

    def saved_params(self) -> dict[str, Any]:
        out = super().saved_params()
        if getattr(self, "C_", None) is not None:
            out["C_chosen"] = self.C_
        return out

    # --- persistence --------------------------------------------------------------------------

    def save(self, directory: Path) -> None:
        """A normal HF encoder folder (config.json, model.safetensors, tokenizer) + head.npz."""
        self.check_is_fitted()
        directory.mkdir(parents=True, exist_ok=True)
        self._torch_encoder().save_pretrained(directory)
        self.tokenizer_.save_pretrained(directory)
        np.savez(
            directory / HEAD_FILE,
            coef=self.coef_,
            intercept=np.array([self.intercept_]),
            C=np.array([getattr(self, "C_", np.nan)]),
        )
        (directory / "pooling.json").write_text(
            json.dumps({"pooling": "mean", "normalize": True, "features": "u,v,|u-v|,u*v,cos"}) + "\n",
            encoding="utf-8",
        )

    @classmethod
    def load(
        cls, directory: Path, params: dict[str, Any] | None = None, onnx: Path | None = None
    ) -> EmbeddingHead:
        known = set(cls._param_names())
        model = cls(**{k: v for k, v in (params or {}).items() if k in known})
        model.base_model = str(directory)
        if onnx is not None:
            model.attach_onnx(onnx)
        model._ensure_encoder()
        with np.load(directory / HEAD_FILE) as head:
            model.coef_ = head["coef"].astype(np.float32)
            model.intercept_ = float(head["intercept"][0])
        return model
