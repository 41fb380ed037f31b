"""Loaded evaluator versions, and which one is each name's champion right now.

Models are cached by (name, version). A champion pointer per name is checked against the registry at
most every `refresh_s` seconds; when another version became the champion (a `judgeloop evaluators
promote` in another process, or the API), the new model loads in the background while the old one
keeps serving, then the pointer is replaced in one assignment. A request takes the pointer once and
finishes on that model, so a swap never fails an in-flight request. On PostgreSQL a change notice
(judgeloop.server.changes) makes the check happen at once (`invalidate`, `recheck`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from judgeloop.errors import JudgeloopError
from judgeloop.evaluators.learned import review_band
from judgeloop.registry import VersionInfo, load_version, parse_ref
from judgeloop.server import catalog
from judgeloop.server.catalog import ProjectScope, VersionRecord
from judgeloop.store import Workspace
from judgeloop.types import EvaluatorRef, Verdict

log = logging.getLogger("judgeloop.server")
Loader = Callable[[VersionInfo], Any]


class ModelUnavailable(JudgeloopError):
    """No verdict can be given now: the model could not be loaded or run, or the server is overloaded."""


@dataclass(frozen=True)
class LoadedModel:
    """One evaluator version in memory. Verdicts, thresholds and review flags are the evaluator's own
    (LearnedEvaluator or CascadeEvaluator: `predict_proba`, `verdict`, `needs_review`); this only adds
    the registry's name and version."""

    name: str
    version: int
    project_id: int | None
    evaluator: Any  # LearnedEvaluator / CascadeEvaluator

    @property
    def key(self) -> tuple[str, int]:
        return (self.name, self.version)

    @property
    def threshold(self) -> float:
        return float(self.evaluator.threshold)

    def needs_review(self, probability: float) -> bool:
        return bool(self.evaluator.needs_review(probability))

    def verdict(self, probability: float, seconds: float, session_id: str | None = None) -> Verdict:
        verdict: Verdict = self.evaluator.verdict(probability, round(seconds * 1000, 3), session_id)
        verdict.evaluator, verdict.version = self.name, str(self.version)
        return verdict

    def error_verdict(self, error: str, session_id: str | None = None) -> Verdict:
        return Verdict(
            session_id=session_id, evaluator=self.name, version=str(self.version), status="error", error=error
        )


@dataclass
class _Pointer:
    model: LoadedModel
    checked: float


class ModelCache:
    """Thread-safe cache of loaded models and champion pointers (see the module docstring)."""

    def __init__(
        self,
        ws: Workspace,
        *,
        refresh_s: float = 2.0,
        max_models: int = 4,
        loader: Loader | None = None,
        on_swap: Callable[[LoadedModel, LoadedModel], None] | None = None,
    ) -> None:
        self.ws, self.refresh_s, self.max_models = ws, refresh_s, max_models
        self._loader: Loader = loader or load_version
        self._on_swap = on_swap
        self._models: OrderedDict[tuple[str, int], LoadedModel] = OrderedDict()
        self._champions: dict[str, _Pointer] = {}
        self._defaults: dict[int, tuple[str, float]] = {}
        self._lock = threading.Lock()
        self._load_locks: dict[tuple[str, int], threading.Lock] = {}
        self._pending: set[tuple[str, int]] = set()
        self._generation = 0  # goes up at every invalidate(): a look-up begun before it points nowhere
        self._background = ThreadPoolExecutor(max_workers=1, thread_name_prefix="judgeloop-model-load")

    def close(self) -> None:
        self._background.shutdown(wait=False, cancel_futures=True)

    # --- resolution ---------------------------------------------------------------------------

    def resolve(self, scope: ProjectScope, ref: str | None = None) -> LoadedModel:
        """The model for `name`, `name@version`, or (None) the project's default evaluator."""
        name, version = parse_ref(ref or self.default_ref(scope))
        if version is None:
            return self.champion(scope, name)
        return self.version(scope, name, version)

    def peek(self, scope: ProjectScope, ref: str | None = None) -> LoadedModel | None:
        """`resolve` when it needs no registry look-up (fresh pointers only), else None. Never blocks."""
        now = time.monotonic()
        if ref is None:
            cached = self._defaults.get(scope.project_id)
            if cached is None or now - cached[1] >= self.refresh_s:
                return None
            ref = cached[0]
        parsed = EvaluatorRef.parse(ref)
        name, version = parsed.name, parsed.version
        if not version:
            pointer = self._champions.get(name)
            found = pointer.model if pointer is not None and now - pointer.checked < self.refresh_s else None
        else:
            found = self._models.get((name, int(version))) if version.isdigit() else None
        return found if found is not None and found.project_id in (None, scope.project_id) else None

    def default_ref(self, scope: ProjectScope) -> str:
        cached = self._defaults.get(scope.project_id)
        now = time.monotonic()
        if cached is not None and now - cached[1] < self.refresh_s:
            return cached[0]
        generation = self._generation
        ref = catalog.default_ref(self.ws, scope)
        if generation == self._generation:
            self._defaults[scope.project_id] = (ref, now)
        return ref

    def champion(self, scope: ProjectScope, name: str) -> LoadedModel:
        fresh = self.peek(scope, name)
        if fresh is not None:
            return fresh
        pointer = self._champions.get(name)
        now, generation = time.monotonic(), self._generation
        record = catalog.lookup(self.ws, scope, name, None)
        current = self._models.get((name, record.info.version))
        if current is None and pointer is not None and pointer.model.version == record.info.version:
            current = pointer.model  # unchanged (its cache entry may have been evicted)
        if current is None and pointer is not None and pointer.model.project_id in (None, scope.project_id):
            pointer.checked = now  # keep serving the old champion while the new one loads
            self._load_in_background(scope, record)
            return pointer.model
        current = current or self._load(record)
        if generation == self._generation:  # else a change came meanwhile: the next request looks again
            self._point(name, current, now)
        return current

    def version(self, scope: ProjectScope, name: str, version: int) -> LoadedModel:
        found = self.peek(scope, f"{name}@{version}")
        if found is not None:
            return found
        return self._load(catalog.lookup(self.ws, scope, name, version))

    def invalidate(self, name: str | None = None) -> None:
        """Check the registry again at the next request (all names, or one)."""
        self._generation += 1
        for key, pointer in list(self._champions.items()):
            if name is None or key == name:
                pointer.checked = float("-inf")
        self._defaults.clear()

    def recheck(self) -> None:
        """Look up every cached champion again now, in the background (after a change notice): a new
        one is loaded while the old one keeps serving, then pointed to, so it serves without waiting for
        a request to find it."""
        self._background.submit(self._recheck)

    def _recheck(self) -> None:
        try:
            for record in catalog.all_champions(self.ws):
                pointer = self._champions.get(record.info.name)
                if pointer is not None and pointer.model.version != record.info.version:
                    self._point(record.info.name, self._load(record), time.monotonic())
        except Exception:
            log.exception("could not re-check the champions; requests will")

    def refresh(self, scope: ProjectScope, name: str) -> LoadedModel:
        """Load the current champion of `name` now and point to it (used right after a promotion)."""
        record = catalog.lookup(self.ws, scope, name, None)
        model = self._models.get((name, record.info.version)) or self._load(record)
        self._point(name, model, time.monotonic())
        self._defaults.clear()
        return model

    def warm(self) -> list[str]:
        """Load every champion now (at server start), so no request waits for a model load.
        Returns the versions loaded; one that fails to load is logged and left for the first request."""
        done = []
        for record in catalog.all_champions(self.ws):
            if record.info.method == "pairwise_bt":
                continue  # a pairwise comparator is served by POST /v1/compare, not the guardrail
            try:
                model = self._load(record)
            except ModelUnavailable as exc:
                log.warning("not preloaded: %s", exc)
                continue
            self._point(record.info.name, model, time.monotonic())
            done.append(record.info.ref)
        return done

    def loaded(self) -> list[tuple[str, int]]:
        return list(self._models)

    # --- loading ------------------------------------------------------------------------------

    def _point(self, name: str, model: LoadedModel, now: float) -> None:
        old = self._champions.get(name)
        self._champions[name] = _Pointer(model, now)  # one assignment: the swap
        if old is not None and old.model.key != model.key:
            log.info("champion of %s is now version %s (was %s)", name, model.version, old.model.version)
            if self._on_swap is not None:
                self._on_swap(old.model, model)

    def _load_in_background(self, scope: ProjectScope, record: VersionRecord) -> None:
        key = (record.info.name, record.info.version)
        with self._lock:
            if key in self._pending:
                return
            self._pending.add(key)

        def job() -> None:
            try:
                model = self._load(record)
                still = catalog.lookup(self.ws, scope, record.info.name, None).info.version
                if still == record.info.version:
                    self._point(record.info.name, model, time.monotonic())
            except Exception:
                log.exception("could not load %s; the old champion keeps serving", record.info.ref)
            finally:
                with self._lock:
                    self._pending.discard(key)

        self._background.submit(job)

    def _load(self, record: VersionRecord) -> LoadedModel:
        key = (record.info.name, record.info.version)
        with self._lock:
            lock = self._load_locks.setdefault(key, threading.Lock())
        with lock:  # one load per version, however many requests ask at once
            found = self._models.get(key)
            if found is not None:
                return found
            model = self._build(record)
            with self._lock:
                self._models[key] = model
                while len(self._models) > self.max_models:
                    self._models.popitem(last=False)  # in-flight users keep their reference
            return model

    def _build(self, record: VersionRecord) -> LoadedModel:
        info = record.info
        started = time.perf_counter()
        try:
            evaluator = self._loader(info)
        except JudgeloopError as exc:
            raise ModelUnavailable(f"{info.ref} could not be loaded: {exc}") from exc
        except Exception as exc:
            log.exception("loading %s failed", info.ref)
            raise ModelUnavailable(f"{info.ref} could not be loaded ({type(exc).__name__})") from exc
        log.info("loaded %s in %.1f s", info.ref, time.perf_counter() - started)
        return LoadedModel(info.name, info.version, record.project_id, evaluator)


__all__ = ["LoadedModel", "ModelCache", "ModelUnavailable", "review_band"]
