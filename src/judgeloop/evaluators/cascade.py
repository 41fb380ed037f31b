"""A cascade evaluator: stages tried in order, each deciding the sessions it is certified to decide.

    ev = judgeloop.load_evaluator("models/cascade")      # a folder written by `judgeloop cascade build`
    v = ev.evaluate_llm_session("Where is my order?", "It ships Monday.")
    v.stage, v.latency_ms, v.needs_review                # "1:support-head", 4.1, False

The folder holds the stages' model folders (`stages/1`, `stages/2`, ...) and a judgeloop.json whose
`stages` list gives each stage's certified rule (judgeloop.loop.risk_cascade). A session goes to stage 1;
it leaves at the first stage whose confidence max(p, 1 - p) reaches that stage's tau; a session no
stage decides gets the last stage's label and `needs_review: true`. Later stages run only on the
sessions still open. With `"combine": "mean_logit"` in judgeloop.json a later stage's score is the mean
of its logit and the earlier stages' (`risk_cascade.stage_scores`): a cheap second model then makes an
ensemble for the sessions stage 1 is unsure of, at the cost of its own pass only.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from judgeloop.artifact import ModelArtifact
from judgeloop.errors import InvalidInput
from judgeloop.loop.risk import AutomationRule
from judgeloop.loop.risk_cascade import REVIEW, check_combine, decides, stage_scores, stage_thresholds
from judgeloop.types import EncoderRuntime, ModelInput, Session, Verdict

METHOD = "cascade"
Pair = tuple[ModelInput, str]


class StagedProbability(float):
    """P(good) of a cascade verdict, carrying the stage that decided (for the server's batcher)."""

    stage: str | None
    threshold: float
    needs_review: bool
    stage_ms: float

    def __new__(
        cls, value: float, stage: str | None, threshold: float, needs_review: bool, stage_ms: float
    ) -> StagedProbability:
        obj = super().__new__(cls, value)
        obj.stage, obj.threshold, obj.needs_review, obj.stage_ms = stage, threshold, needs_review, stage_ms
        return obj


def is_cascade(directory: str | Path) -> bool:
    if not ModelArtifact.exists(directory):
        return False
    try:
        return ModelArtifact.load(directory).method == METHOD
    except InvalidInput:
        return False


class CascadeEvaluator:
    """Stages (LearnedEvaluator-like: predict_proba, threshold) with one certified rule each."""

    kind = "cascade"

    def __init__(
        self,
        stages: Sequence[Any],
        rules: Sequence[AutomationRule],
        config: dict[str, Any],
        path: Path | None,
    ) -> None:
        if not stages or len(stages) != len(rules):
            raise InvalidInput("a cascade needs one rule per stage", field="stages")
        self.stages, self.rules, self.config, self.path = list(stages), list(rules), config, path
        self.name: str = str(config.get("name") or (path.name if path else "cascade"))
        self.version: str | None = None
        names = [s.get("name") for s in config.get("stages") or []]
        self.stage_names = [
            f"{k + 1}:{names[k] if k < len(names) and names[k] else getattr(stage, 'name', 'stage')}"
            for k, stage in enumerate(self.stages)
        ]
        self.combine = check_combine(str(config.get("combine") or "own"))
        own = [float(getattr(s, "threshold", 0.5)) for s in self.stages]
        self.thresholds = stage_thresholds(own, self.combine)
        self.threshold = self.thresholds[0]

    @classmethod
    def load(cls, directory: str | Path, runtime: EncoderRuntime | str | None = None) -> CascadeEvaluator:
        from judgeloop.evaluators.learned import LearnedEvaluator

        path = Path(directory)
        config = ModelArtifact.load(path).to_dict()
        entries = config.get("stages")
        if config.get("method") != METHOD or not isinstance(entries, list) or not entries:
            raise InvalidInput(f"{path} is not a cascade model folder", file=str(path), field="stages")
        stages, rules = [], []
        for k, entry in enumerate(entries, start=1):
            stage_dir = path / str(entry.get("dir") or f"stages/{k}")
            stages.append(LearnedEvaluator.load(stage_dir, runtime=runtime))
            rules.append(AutomationRule.from_dict(dict(entry.get("rule") or {})))
        return cls(stages, rules, config, path)

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}" if self.version else self.name

    # --- scoring ------------------------------------------------------------------------------

    def stage_probs(self, pairs: Sequence[Pair], batch_size: int = 64) -> list[np.ndarray]:
        """Every stage's score on every pair (under the cascade's `combine` rule), for certification
        and reports; serving runs a stage only on the sessions still open."""
        own = [np.asarray(m.predict_proba(list(pairs), batch_size=batch_size)) for m in self.stages]
        return stage_scores(own, self.combine)

    def predict_staged(self, pairs: Sequence[Pair], batch_size: int = 64) -> list[StagedProbability]:
        """Each pair's P(good) from the stage that decided it, with that stage and its latency."""
        pairs = list(pairs)
        n = len(pairs)
        stage = np.full(n, REVIEW, dtype=int)
        final = np.zeros(n)
        elapsed = np.zeros(n)  # per-session milliseconds spent up to its deciding stage
        own = np.full((len(self.stages), n), np.nan)  # each stage's own P(good), where it ran
        open_idx = np.arange(n)
        for k, (model, rule) in enumerate(zip(self.stages, self.rules, strict=True)):
            if len(open_idx) == 0:
                break
            started = time.perf_counter()
            own[k, open_idx] = model.predict_proba([pairs[i] for i in open_idx], batch_size=batch_size)
            probs = stage_scores(list(own[: k + 1, open_idx]), self.combine)[k]
            elapsed[open_idx] += (time.perf_counter() - started) * 1000 / len(open_idx)
            final[open_idx] = probs
            last = k == len(self.stages) - 1
            take = decides(probs, rule)
            stage[open_idx[take]] = k
            if last:
                break
            open_idx = open_idx[~take]
        out = []
        for i in range(n):
            k = int(stage[i])
            cut = self.thresholds[k if k != REVIEW else -1]
            name = self.stage_names[k] if k != REVIEW else None
            out.append(
                StagedProbability(float(final[i]), name, cut, k == REVIEW, round(float(elapsed[i]), 3))
            )
        return out

    def predict_proba(
        self, pairs: Sequence[Pair], batch_size: int = 64, progress: bool = False
    ) -> np.ndarray:
        """P(good) of the deciding stage (the last stage's for sessions that need review)."""
        return np.array([float(p) for p in self.predict_staged(pairs, batch_size)], dtype=float)

    def predict_labels(self, pairs: Sequence[Pair]) -> np.ndarray:
        """Each pair's label under its deciding stage's threshold (for the promotion gate)."""
        return np.array([int(p >= p.threshold) for p in self.predict_staged(pairs)], dtype=int)

    def needs_review(self, p: float) -> bool:
        """A staged probability says whether no stage decided it; a bare number is not certified."""
        return bool(getattr(p, "needs_review", True))

    def verdict(
        self, p: StagedProbability, latency_ms: float | None, session_id: str | None = None
    ) -> Verdict:
        return Verdict(
            session_id=session_id,
            evaluator=self.name,
            version=self.version,
            label=int(p >= p.threshold),
            probability=float(p),
            threshold=p.threshold,
            needs_review=p.needs_review,
            stage=p.stage,
            latency_ms=latency_ms,
        )

    def evaluate_llm_session(
        self, model_input: ModelInput, model_output: str, session_id: str | None = None
    ) -> Verdict:
        started = time.perf_counter()
        p = self.predict_staged([(model_input, model_output)])[0]
        return self.verdict(p, round((time.perf_counter() - started) * 1000, 3), session_id)

    def evaluate(
        self,
        rows: Sequence[Session] | Iterable[Pair],
        session_ids: Sequence[str | None] | None = None,
        batch_size: int = 64,
        progress: bool = False,
    ) -> list[Verdict]:
        """Verdicts for many sessions, or (model_input, model_output) pairs (latency: each session's
        share of the stages it went through)."""
        from judgeloop.evaluators.base import split_rows

        pairs, ids = split_rows(list(rows), session_ids)
        staged = self.predict_staged(pairs, batch_size)
        return [self.verdict(p, p.stage_ms, sid) for p, sid in zip(staged, ids, strict=True)]

    def __repr__(self) -> str:
        return f"CascadeEvaluator({self.ref!r}, stages={self.stage_names!r})"
