"""Retraining: a candidate on all of a project's labels, promoted only when it beats the champion.

`retrain(ws, project)` trains on every binary human label (held-out rows chosen by a stable hash, so the
candidate and the champion share held-out sessions), registers the candidate, and runs the promotion
gate with `require="better"`: the candidate must be more accurate than the champion on the shared
held-out human labels. The outcome (promoted or refused, with the comparison) is kept in the
registry's promotion history either way. With `min_new_labels`, nothing is trained until that many
labels have arrived since the champion was trained (a threshold for scheduled runs, e.g. from cron).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from judgeloop import registry
from judgeloop.errors import Conflict, NotFound
from judgeloop.store import Workspace


@dataclass
class RetrainResult:
    project: str
    name: str
    status: str  # "skipped" | "promoted" | "refused" | "first"
    reason: str
    new_labels: int
    candidate: str | None = None
    champion_before: str | None = None
    champion_after: str | None = None
    comparison: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)


def new_label_count(ws: Workspace, project: str, champion: registry.VersionInfo | None) -> int:
    """Labelled sessions the champion neither trained nor was measured on."""
    labelled = {s.id for s, _, _ in ws.labelled_sessions(project)}
    if champion is None:
        return len(labelled)
    seen = set(registry.training_ids(ws, champion)) | set(champion.heldout_ids)
    return len(labelled - seen)


def champion_of(ws: Workspace, name: str) -> registry.VersionInfo | None:
    try:
        return registry.get_version(ws, name)
    except NotFound:
        return None


def retrain(
    ws: Workspace,
    project: str,
    *,
    name: str | None = None,
    out_dir: str | Path | None = None,
    min_new_labels: int = 0,
    base_model: str | None = None,
    method: str = "auto",
    progress: bool = True,
) -> RetrainResult:
    """Train a candidate on all labels and promote it if it is better (see the module docstring)."""
    from judgeloop.training import train_evaluator
    from judgeloop.training.examples import examples_from_project
    from judgeloop.types import utcnow

    name = name or project
    before = champion_of(ws, name)
    fresh = new_label_count(ws, project, before)
    if before is not None and fresh < min_new_labels:
        return RetrainResult(
            project,
            name,
            "skipped",
            f"{fresh} new labels since {before.ref} was trained (retraining starts at {min_new_labels})",
            fresh,
            champion_before=before.ref,
            champion_after=before.ref,
        )
    examples, _ = examples_from_project(ws, project, None)
    target = (
        Path(out_dir) if out_dir else Path("judgeloop-models") / name / utcnow().strftime("%Y%m%d-%H%M%S")
    )
    trained = train_evaluator(
        examples,
        target,
        base_model=base_model,
        method=method,
        name=name,
        stable_split=True,
        progress=progress,
    )
    info = registry.register(ws, name, trained.out_dir, project=project, note="retrain")
    result = RetrainResult(
        project,
        name,
        "first",
        "",
        fresh,
        candidate=info.ref,
        champion_before=before.ref if before else None,
        metrics=trained.metrics,
    )
    try:
        decision = registry.promote(ws, info.ref, project=project, require="better")
        result.status = "promoted" if before else "first"
        result.reason = str(decision.get("reason", ""))
        result.comparison = dict(decision.get("comparison") or {})
    except Conflict as exc:
        result.status, result.reason = "refused", str(exc)
        history = registry.history(ws, name)
        if history and history[-1]["action"] == "refused":
            result.comparison = dict(history[-1]["decision"].get("comparison") or {})
    after = champion_of(ws, name)
    result.champion_after = after.ref if after else None
    return result
