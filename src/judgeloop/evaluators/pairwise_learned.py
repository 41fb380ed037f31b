"""A trained pairwise comparator, loaded from its model directory, ready to compare two outputs.

    ev = judgeloop.evaluators.pairwise_learned.load_comparator("models/pairs")   # or "pairs@2"
    ev.compare([(input, output_a, output_b), ...])  -> (n, 3) [P(A better), P(B better), P(tie)]
    ev.evaluate(sessions)                           -> pairwise Verdicts (label 1 = A, 0 = B, None = tie)

Its verdicts have the shape of `judgeloop.judging.PairwiseJudge`'s (both "orders", always consistent),
so `judgeloop agreement` and the win-rate code treat it as one more pairwise judge.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from judgeloop.artifact import MODEL_CONFIG, ModelArtifact
from judgeloop.errors import InvalidInput
from judgeloop.training.pairwise_data import Choice, PairExample
from judgeloop.training.pairwise_model import METHOD, BTComparator, choose, davidson
from judgeloop.types import ModelInput, Session, Verdict

LABELS: dict[Choice, int | None] = {"A": 1, "B": 0, "tie": None}
Triple = tuple[ModelInput, str, str]


class PairwiseEvaluator:
    """A fitted `BTComparator` plus its calibration (temperature, Davidson tie term)."""

    kind = "pairwise"

    def __init__(self, model: BTComparator, config: dict[str, Any], path: Path | None = None) -> None:
        self.model = model
        self.config = config
        self.path = path
        self.name: str = str(config.get("name") or (path.name if path else "pairwise"))
        self.version: str | None = None
        self.temperature = float(config.get("temperature") or 1.0)
        self.nu = float(config.get("nu") or 0.0)

    @classmethod
    def load(cls, directory: str | Path, runtime: str | None = None) -> PairwiseEvaluator:
        """`runtime`: "auto" (default, or $JUDGELOOP_RUNTIME) runs the encoder on ONNX Runtime when the
        folder has its model.onnx, "torch" never does."""
        import os

        from judgeloop.training import onnx as onnx_runtime

        path = Path(directory)
        config = read_config(path)
        runtime = runtime or os.environ.get("JUDGELOOP_RUNTIME", "auto")
        if config.get("method") != METHOD:
            raise InvalidInput(
                f"{path} is not a pairwise model (method {config.get('method')!r})",
                file=str(path),
                expected="a folder written by `judgeloop train --pairwise`",
            )
        onnx_file = path / str(config.get("onnx") or onnx_runtime.ONNX_FILE)
        on_onnx = runtime != "torch" and bool(config.get("onnx")) and onnx_file.is_file()
        on_onnx = on_onnx and onnx_runtime.available()
        model = BTComparator.load(path, config.get("params") or {}, onnx_file if on_onnx else None)
        return cls(model, config, path)

    @property
    def runtime(self) -> str:
        """What the encoder runs on: "onnx-int8", "onnx" (fp32) or "torch"."""
        forward = getattr(self.model.embedder, "onnx_", None)
        if forward is None:
            return "torch"
        return "onnx-int8" if "int8" in forward.path.name else "onnx"

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}" if self.version else self.name

    # --- scoring ------------------------------------------------------------------------------

    def compare(self, triples: Sequence[Triple]) -> np.ndarray:
        """(n, 3) calibrated [P(A better), P(B better), P(tie)] per (input, output A, output B)."""
        if not triples:
            return np.zeros((0, 3))
        pairs = [PairExample(x, a, b, "tie") for x, a, b in triples]
        return davidson(self.model.margins(pairs), self.temperature, self.nu)

    def compare_one(self, model_input: ModelInput, output_a: str, output_b: str) -> dict[str, Any]:
        p = self.compare([(model_input, output_a, output_b)])[0]
        return {
            "p_a": float(p[0]),
            "p_b": float(p[1]),
            "p_tie": float(p[2]),
            "choice": choose(p[None, :])[0],
        }

    def verdicts(
        self, triples: Sequence[Triple], session_ids: Sequence[str | None] | None = None
    ) -> list[Verdict]:
        """Pairwise verdicts: label 1 (A) / 0 (B) / None (tie), probability P(A better)."""
        ids = list(session_ids) if session_ids is not None else [None] * len(triples)
        started = time.perf_counter()
        probs = self.compare(triples)
        per_row = round((time.perf_counter() - started) * 1000 / max(1, len(triples)), 3)
        return [self.verdict(p, sid, per_row) for p, sid in zip(probs, ids, strict=True)]

    def verdict(
        self, p: np.ndarray, session_id: str | None = None, latency_ms: float | None = None
    ) -> Verdict:
        winner = choose(np.asarray(p)[None, :])[0]
        return Verdict(
            session_id=session_id,
            evaluator=self.name,
            version=self.version,
            label=LABELS[winner],
            probability=float(p[0]),
            score=float(p[0] + 0.5 * p[2]),
            scores={
                "order1": winner,
                "order2": winner,
                "consistent": True,
                "winner": winner,
                "p_a": float(p[0]),
                "p_b": float(p[1]),
                "p_tie": float(p[2]),
            },
            latency_ms=latency_ms,
        )

    def evaluate(self, sessions: Sequence[Session]) -> list[Verdict]:
        """Verdicts for pairwise sessions (`model_output` is A, `output_b` is B)."""
        missing = [i for i, s in enumerate(sessions) if not s.output_b]
        if missing:
            raise InvalidInput(
                f"{len(missing)} session(s) have no output_b (first: row {missing[0] + 1})",
                field="output_b",
                expected="pairwise sessions with model_output (A) and output_b (B)",
            )
        return self.verdicts(
            [(s.model_input, s.model_output, s.output_b or "") for s in sessions], [s.id for s in sessions]
        )

    def preference(self, instruction: str, output_1: str, output_2: str) -> float:
        """AlpacaEval preference in [1, 2] of output_2 over output_1: 1 + P(2 better) + P(tie) / 2."""
        p = self.compare([(instruction, output_1, output_2)])[0]
        return float(1.0 + p[1] + 0.5 * p[2])

    def __repr__(self) -> str:
        return f"PairwiseEvaluator({self.ref!r})"


class PointwiseComparator(PairwiseEvaluator):
    """A pointwise evaluator used as a comparator: the two calibrated P(good) compared through the same
    link, P(A better) = sigmoid(logit P(good | A) - logit P(good | B)) (no ties)."""

    def __init__(self, evaluator: Any) -> None:
        self.pointwise = evaluator
        self.config = dict(evaluator.config)
        self.path = evaluator.path
        self.name = evaluator.name
        self.version = evaluator.version
        self.temperature, self.nu = 1.0, 0.0

    def compare(self, triples: Sequence[Triple]) -> np.ndarray:
        if not triples:
            return np.zeros((0, 3))
        items = [(x, a) for x, a, _ in triples] + [(x, b) for x, _, b in triples]
        p = np.clip(np.asarray(self.pointwise.predict_proba(items), dtype=float), 1e-6, 1 - 1e-6)
        logit = np.log(p) - np.log1p(-p)
        return davidson(logit[: len(triples)] - logit[len(triples) :], 1.0, 0.0)


def read_config(path: Path) -> dict[str, Any]:
    return ModelArtifact.load(path).to_dict()


def is_pairwise_dir(path: str | Path) -> bool:
    p = Path(path)
    return p.is_dir() and (p / MODEL_CONFIG).is_file() and read_config(p).get("method") == METHOD


def load_comparator(ref: str, *, db: str | None = None, pointwise: bool = False) -> PairwiseEvaluator:
    """A pairwise model directory, or `name[@version]` from the registry (the champion). `pointwise`:
    a pointwise evaluator is accepted too, used as a comparator (`PointwiseComparator`)."""
    if pointwise and not is_pairwise_ref(ref, db=db):
        from judgeloop.registry import load_evaluator

        return PointwiseComparator(load_evaluator(ref, db=db))
    if Path(ref).is_dir():
        return PairwiseEvaluator.load(ref)
    from judgeloop.registry import get_version
    from judgeloop.store import Workspace

    return load_comparator_version(get_version(Workspace(db), ref))


def load_comparator_version(info: Any) -> PairwiseEvaluator:
    """The comparator of a registry version (`judgeloop.registry.VersionInfo`)."""
    if info.method != METHOD or not info.artifact_path:
        raise InvalidInput(
            f"{info.ref} is not a pairwise evaluator (method {info.method!r})",
            field="evaluator",
            expected="a model trained with `judgeloop train --pairwise`",
        )
    ev = PairwiseEvaluator.load(info.artifact_path)
    ev.name, ev.version = info.name, str(info.version)
    return ev


def is_pairwise_ref(ref: str, *, db: str | None = None) -> bool:
    """Whether a model directory or registry reference names a pairwise comparator."""
    if Path(ref).is_dir():
        return is_pairwise_dir(ref)
    from judgeloop.errors import NotFound
    from judgeloop.registry import get_version
    from judgeloop.store import Workspace
    from judgeloop.store.db import missing_sqlite_file

    if Path(ref).exists() or missing_sqlite_file(db) is not None:
        return False  # not a registry reference (a read creates no workspace): the loader says why
    try:
        return get_version(Workspace(db), ref).method == METHOD
    except NotFound:
        return False


CODES: dict[str, int] = {"A": 1, "B": 0, "tie": 2}


def compare_pairwise_on_heldout(ws: Any, project: str, candidate: Any, champion: Any) -> dict[str, Any]:
    """The promotion gate for comparators: both on the candidate's held-out pairwise human choices that
    the champion did not train on; a choice (A, B or tie) is right when it equals the humans'."""
    from judgeloop.errors import Conflict
    from judgeloop.gate import MIN_GATE_ROWS, compare_predictions
    from judgeloop.registry import training_ids
    from judgeloop.training.pairwise_data import pairs_from_project

    champ_train = set(training_ids(ws, champion))
    pairs = {p.key: p for p in pairs_from_project(ws, project)}
    ids = [i for i in candidate.heldout_ids if i in pairs and i not in champ_train]
    if len(ids) < MIN_GATE_ROWS:
        raise Conflict(
            f"only {len(ids)} held-out pairwise human choices are shared by {candidate.ref} and "
            f"{champion.ref} (need {MIN_GATE_ROWS}); label more pairs or use --force"
        )
    triples = [(pairs[i].model_input, pairs[i].output_a, pairs[i].output_b) for i in ids]
    truth = [CODES[pairs[i].choice] for i in ids]
    new, old = load_comparator_version(candidate), load_comparator_version(champion)
    pred_new = [CODES[c] for c in choose(new.compare(triples))]
    pred_old = [CODES[c] for c in choose(old.compare(triples))]
    return compare_predictions(truth, pred_new, pred_old)
