"""`BTComparator`: a learned pairwise evaluator (Bradley-Terry with Davidson ties) over a pointwise scorer.

A scorer s(x, o) = w · φ(x, o) rates one output o for the input x; φ is the frozen sentence embedding
features of `embedding_head` without the input's own embedding (it cancels in a difference):
[v, |u - v|, u * v, cos(u, v)], plus a few surface features of the output (length, repetition, copying
the input, an unfinished last sentence). The margin of a pair is d = s(x, A) - s(x, B), and

    P(A) = e^(d/2T) / Z,   P(B) = e^(-d/2T) / Z,   P(tie) = nu / Z,   Z = e^(d/2T) + e^(-d/2T) + nu

(Davidson 1970; nu = 0 is plain Bradley-Terry, P(A) = sigmoid(d / T)). Swapping A and B negates d
exactly, so the probabilities mirror exactly: position consistency is 1.00 by construction.

w is a logistic regression without intercept on feature differences, each decisive pair in both
orientations (exactly the Bradley-Terry likelihood); T and nu are fitted afterwards on out-of-fold
margins (ties included), so they are calibrated on pairs the scorer did not train on.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from judgeloop.errors import InvalidInput, NotFittedError
from judgeloop.training.pairwise_data import Choice, PairExample
from judgeloop.types import ModelInput, input_text

METHOD = "pairwise_bt"
HEAD_FILE = "bt_head.npz"
C_GRID = (0.001, 0.01, 0.1)  # strong shrinkage: ~1,500 embedding features, hundreds of pairs
SURFACE_WEIGHTS = (1.0, 10.0)  # surface features' scale against the embeddings' (less shrunk)
CV_FOLDS = 3
NU_MAX = 10.0
SURFACE = (
    "log_chars",
    "log_words",
    "repeated_trigrams",
    "repeated_lines",
    "short",
    "copies_input",
    "input_overlap",
    "length_ratio",
    "unfinished",
)
_WORD = re.compile(r"\w+", re.UNICODE)


def _surface(model_input: ModelInput, output: str) -> list[float]:
    words = _WORD.findall(output.lower())
    source = input_text(model_input) if not isinstance(model_input, str) else model_input
    in_words = _WORD.findall(source.lower())
    grams = list(zip(words, words[1:], words[2:], strict=False))
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    in_set = set(in_words)
    text = output.strip()
    return [
        float(np.log1p(len(text))),
        float(np.log1p(len(words))),
        1.0 - len(set(grams)) / len(grams) if grams else 0.0,
        1.0 - len(set(lines)) / len(lines) if lines else 0.0,
        float(len(words) < 3),
        float(bool(text) and text.lower() in source.lower()),
        sum(w in in_set for w in words) / len(words) if words else 0.0,
        float(np.log1p(len(words)) - np.log1p(len(in_words))),
        float(bool(text) and text[-1] not in ".!?)]}\"'`*:;>|"),
    ]


def surface_features(items: Sequence[tuple[ModelInput, str]]) -> np.ndarray:
    return np.asarray([_surface(x, o) for x, o in items], dtype=np.float32).reshape(len(items), len(SURFACE))


def _unique_surface(items: Sequence[tuple[ModelInput, str]]) -> np.ndarray:
    """`surface_features`, computed once per distinct (input, output) (pairs share outputs and inputs)."""
    from judgeloop.training.methods.embedding_head import _text_key

    index: dict[tuple[str, str], int] = {}
    rows = [index.setdefault((_text_key(x), o), len(index)) for x, o in items]
    firsts: dict[int, tuple[ModelInput, str]] = {}
    for item, row in zip(items, rows, strict=True):
        firsts.setdefault(row, item)
    return surface_features([firsts[i] for i in range(len(index))])[rows]


def davidson(margin: np.ndarray | Sequence[float], temperature: float, nu: float) -> np.ndarray:
    """(n, 3) probabilities [P(A), P(B), P(tie)] of margins d = s(A) - s(B)."""
    z = np.asarray(margin, dtype=float) / (2.0 * temperature)
    top = np.maximum(np.abs(z), 0.0)
    ea, eb = np.exp(z - top), np.exp(-z - top)
    et = nu * np.exp(-top)
    total = ea + eb + et
    return np.stack([ea / total, eb / total, et / total], axis=1)


def choose(probabilities: np.ndarray) -> list[Choice]:
    """The most probable of A, B, tie per row; a tie when P(A) = P(B) exactly (equal scores), so the
    choice mirrors exactly too."""
    names: tuple[Choice, Choice, Choice] = ("A", "B", "tie")
    p = np.asarray(probabilities, dtype=float)
    return [
        "tie" if a == b else names[int(i)]
        for a, b, i in zip(p[:, 0], p[:, 1], np.argmax(p, axis=1), strict=True)
    ]


def fit_davidson(margins: np.ndarray, choices: Sequence[Choice]) -> tuple[float, float]:
    """(T, nu) maximising the Davidson likelihood of the choices (nu = 0 when there are no ties)."""
    from scipy.optimize import minimize

    d = np.asarray(margins, dtype=float)
    idx = np.asarray([{"A": 0, "B": 1, "tie": 2}[c] for c in choices])
    if len(d) < 2 or not np.any(d):
        return 1.0, 0.0
    has_ties = bool(np.any(idx == 2))

    def loss(theta: np.ndarray) -> float:
        t = float(np.exp(theta[0]))
        nu = float(np.exp(theta[1])) if has_ties else 0.0
        p = davidson(d, t, nu)[np.arange(len(d)), idx]
        return float(-np.mean(np.log(np.clip(p, 1e-12, None))))

    start = np.array([0.0, np.log(0.3)])
    bounds = [(np.log(0.05), np.log(20.0)), (np.log(1e-4), np.log(NU_MAX))]
    result = minimize(loss, start, method="L-BFGS-B", bounds=bounds)
    t = float(np.exp(result.x[0]))
    return t, float(np.exp(result.x[1])) if has_ties else 0.0


class BTComparator:
    """Scores (input, output) pairs and compares two outputs through a Bradley-Terry/Davidson link."""

    method = METHOD

    def __init__(
        self,
        base_model: str | None = None,
        C: float | str = "auto",
        surface: bool = True,
        surface_weight: float | str = "auto",
        max_length: int = 256,
        batch_size: int = 16,
        num_threads: int | None = None,
    ) -> None:
        self.base_model = base_model
        self.C = C
        self.surface = surface
        self.surface_weight = surface_weight
        self.max_length = max_length
        self.batch_size = batch_size
        self.num_threads = num_threads
        self.coef_: np.ndarray | None = None
        self.scale_: np.ndarray | None = None
        self._embedder: Any = None

    # --- the scorer ---------------------------------------------------------------------------

    @property
    def embedder(self) -> Any:
        if self._embedder is None:
            from judgeloop.training.methods.embedding_head import EmbeddingHead

            self._embedder = EmbeddingHead(
                base_model=self.base_model,
                max_length=self.max_length,
                batch_size=self.batch_size,
                num_threads=self.num_threads,
            )
        return self._embedder

    def features(self, items: Sequence[tuple[ModelInput, str]]) -> np.ndarray:
        """φ(x, o) per (input, output): [v, |u - v|, u * v, cos] (+ surface features)."""
        if not items:
            return np.zeros((0, 0), dtype=np.float32)
        both = self.embedder.embed([x for x, _ in items] + [o for _, o in items])
        u, v = both[: len(items)], both[len(items) :]
        parts = [v, np.abs(u - v), u * v, np.sum(u * v, axis=1, keepdims=True)]
        if self.surface:
            parts.append(_unique_surface(items))
        return np.hstack(parts).astype(np.float32)

    def pair_features(self, pairs: Sequence[PairExample]) -> tuple[np.ndarray, np.ndarray]:
        """φ(x, A) and φ(x, B) of each pair (texts shared across pairs are embedded once)."""
        items = [(p.model_input, p.output_a) for p in pairs] + [(p.model_input, p.output_b) for p in pairs]
        F = self.features(items)
        return F[: len(pairs)], F[len(pairs) :]

    def check_is_fitted(self) -> None:
        if self.coef_ is None or self.scale_ is None:
            raise NotFittedError("This BTComparator is not fitted yet: call 'fit' first.")

    def scores(self, items: Sequence[tuple[ModelInput, str]]) -> np.ndarray:
        """s(x, o) for each (input, output)."""
        self.check_is_fitted()
        return self.score_features(self.features(items))

    def score_features(self, F: np.ndarray) -> np.ndarray:
        assert self.coef_ is not None and self.scale_ is not None
        return np.asarray((F / self.scale_) @ self.coef_, dtype=float)

    def margins(self, pairs: Sequence[PairExample]) -> np.ndarray:
        """d = s(x, A) - s(x, B) per pair (exactly antisymmetric under swapping A and B)."""
        self.check_is_fitted()
        fa, fb = self.pair_features(pairs)
        return self.score_features(fa) - self.score_features(fb)

    # --- learning -----------------------------------------------------------------------------

    def fit_features(
        self, fa: np.ndarray, fb: np.ndarray, choices: Sequence[Choice], groups: Sequence[str] | None = None
    ) -> BTComparator:
        """Fit w on the decisive pairs' feature differences, in both orientations."""
        self._check_C()
        keep = np.asarray([c != "tie" for c in choices])
        sign = np.asarray([1.0 if c == "A" else -1.0 for c in choices])[keep]
        diff = (fa - fb)[keep] * sign[:, None]  # oriented so that the winner comes first
        if len(diff) < 2:
            raise InvalidInput("fewer than 2 decisive pairs to learn from", field="choice")
        scale = np.sqrt(np.mean(diff.astype(float) ** 2, axis=0))
        scale = np.where(scale > 1e-8, scale, 1.0)
        X = diff / scale
        kept_groups = None if groups is None else [g for g, k in zip(groups, keep, strict=True) if k]
        self.C_, self.surface_weight_ = self._choose(X, kept_groups)
        X[:, self._surface_columns(X)] *= self.surface_weight_
        scale[self._surface_columns(X)] /= self.surface_weight_
        self.scale_ = scale.astype(np.float32)
        self.coef_ = _bt_weights(X, self.C_)
        return self

    def _surface_columns(self, X: np.ndarray) -> slice:
        return slice(X.shape[1] - len(SURFACE), X.shape[1]) if self.surface else slice(0, 0)

    def fit(self, pairs: Sequence[PairExample]) -> BTComparator:
        fa, fb = self.pair_features(pairs)
        return self.fit_features(fa, fb, [p.choice for p in pairs], [p.group or p.key for p in pairs])

    def _check_C(self) -> None:
        ok = (
            self.C == "auto"
            or isinstance(self.C, int | float)
            and not isinstance(self.C, bool)
            and self.C > 0
        )
        if not ok:
            raise InvalidInput(
                f"The 'C' parameter of BTComparator must be 'auto' or a float > 0. Got {self.C!r} instead.",
                field="C",
                expected="'auto' or a float > 0",
            )

    def _choose(self, X: np.ndarray, groups: Sequence[str] | None) -> tuple[float, float]:
        """C and the surface features' weight: given, or (auto) the pair with the best grouped
        CV_FOLDS-fold log-likelihood of the winners."""
        cs = C_GRID if self.C == "auto" else (float(self.C),)
        weights = SURFACE_WEIGHTS if self.surface_weight == "auto" and self.surface else (1.0,)
        if self.surface_weight != "auto" and self.surface:
            weights = (float(self.surface_weight),)
        folds = _folds(len(X), groups, CV_FOLDS, 0) if len(cs) * len(weights) > 1 else None
        if folds is None:
            return cs[len(cs) // 2], weights[0]
        cols = self._surface_columns(X)
        losses: dict[tuple[float, float], float] = {}
        for weight in weights:
            Xw = X.copy()
            Xw[:, cols] *= weight
            for train, test in folds:
                w = None
                for c in sorted(cs):  # warm start along the regularisation path
                    w = _bt_weights(Xw[train], c, w)
                    loss = float(np.sum(np.logaddexp(0.0, -(Xw[test] @ w))))
                    losses[(c, weight)] = losses.get((c, weight), 0.0) + loss
        c, weight = min(losses, key=lambda key: losses[key])
        return float(c), float(weight)

    def oof_margins(
        self, fa: np.ndarray, fb: np.ndarray, choices: Sequence[Choice], groups: Sequence[str], seed: int = 0
    ) -> np.ndarray:
        """Out-of-fold margins of every pair (ties too), with this model's chosen C."""
        out = np.zeros(len(choices))
        folds = _folds(len(choices), groups, 5, seed)
        if folds is None:
            return out
        probe = BTComparator(
            C=getattr(self, "C_", None) or self.C,
            surface=self.surface,
            surface_weight=getattr(self, "surface_weight_", None) or self.surface_weight,
        )
        for train, test in folds:
            sub = [choices[i] for i in train]
            if sum(c != "tie" for c in sub) < 2:
                continue
            probe.fit_features(fa[train], fb[train], sub)
            out[test] = probe.score_features(fa[test]) - probe.score_features(fb[test])
        return out

    def params(self) -> dict[str, Any]:
        return {
            "base_model": self.base_model,
            "C": self.C,
            "C_chosen": getattr(self, "C_", None),
            "surface_weight": self.surface_weight,
            "surface_weight_chosen": getattr(self, "surface_weight_", None),
            "surface": self.surface,
            "max_length": self.max_length,
            "batch_size": self.batch_size,
        }

    # --- persistence --------------------------------------------------------------------------

    def save(self, directory: Path) -> None:
        """The encoder folder (HF weights + tokenizer) and bt_head.npz (w, feature scale)."""
        self.check_is_fitted()
        assert self.coef_ is not None and self.scale_ is not None
        embedder = self.embedder
        embedder._ensure_encoder()
        embedder._torch_encoder().save_pretrained(directory)
        embedder.tokenizer_.save_pretrained(directory)
        np.savez(directory / HEAD_FILE, coef=self.coef_, scale=self.scale_)

    def export_onnx(self, directory: Path) -> Path:
        """The sentence encoder's forward pass as directory/model.onnx (the scorer stays in numpy)."""
        return Path(self.embedder.export_onnx(directory))

    def onnx_key(self) -> str | None:
        return self.embedder.onnx_key()

    @classmethod
    def load(
        cls, directory: Path, params: dict[str, Any] | None = None, onnx: Path | None = None
    ) -> BTComparator:
        """The saved comparator; with `onnx` its encoder runs on ONNX Runtime (torch is not loaded)."""
        known = {"C", "surface", "surface_weight", "max_length", "batch_size"}
        model = cls(**{k: v for k, v in (params or {}).items() if k in known})
        model.base_model = str(directory)
        if onnx is not None:
            # One big batch call of many encoder passes: idle ONNX Runtime threads that busy-wait between
            # passes only take the cores from the threads doing the work (BENCHMARKS.md, issue 20).
            model.embedder.onnx_spinning = False
            model.embedder.attach_onnx(onnx)
        with np.load(directory / HEAD_FILE) as head:
            model.coef_ = head["coef"].astype(np.float32)
            model.scale_ = head["scale"].astype(np.float32)
        return model


def _bt_weights(X: np.ndarray, C: float, start: np.ndarray | None = None) -> np.ndarray:
    """Logistic regression without intercept on oriented differences X (winner - loser), in both
    orientations: min 1/2 |w|^2 + C * sum over the 2n rows of log(1 + e^(-y x.w)). A row and its mirror
    have the same loss, so this is 1/2 |w|^2 + 2C * sum_i log(1 + e^(-x_i.w)), solved by L-BFGS (what
    scikit-learn's LogisticRegression(fit_intercept=False) solves, at half the rows)."""
    from scipy.optimize import minimize
    from scipy.special import expit

    A = np.asarray(X, dtype=np.float64)

    def objective(w: np.ndarray) -> tuple[float, np.ndarray]:
        z = A @ w
        loss = 0.5 * float(w @ w) + 2.0 * C * float(np.sum(np.logaddexp(0.0, -z)))
        grad = w - 2.0 * C * (A.T @ expit(-z))
        return loss, grad

    w0 = np.zeros(A.shape[1]) if start is None else np.asarray(start, dtype=np.float64)
    result = minimize(objective, w0, jac=True, method="L-BFGS-B", options={"maxiter": 5000, "gtol": 1e-5})
    return np.asarray(result.x, dtype=np.float32)


def _folds(
    n: int, groups: Sequence[str] | None, k: int, seed: int
) -> list[tuple[np.ndarray, np.ndarray]] | None:
    from sklearn.model_selection import GroupKFold, KFold

    ids = list(groups) if groups is not None else [str(i) for i in range(n)]
    distinct = len(set(ids))
    if distinct < 2:
        return None
    k = min(k, distinct)
    if distinct < n:
        splitter: Any = GroupKFold(n_splits=k)
        return [(tr, te) for tr, te in splitter.split(np.zeros(n), groups=ids)]
    splitter = KFold(n_splits=k, shuffle=True, random_state=seed)
    return [(tr, te) for tr, te in splitter.split(np.zeros(n))]
