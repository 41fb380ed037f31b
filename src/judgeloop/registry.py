"""The evaluator registry: versions of named evaluators, a gated promotion, rollback.

A trained model directory (see judgeloop.training) becomes version N of a named evaluator. Exactly one
version of a name is the champion. A candidate replaces the champion only when, on the same held-out
human labels that neither model trained on, it is not worse (paired comparison: accuracy difference
with a bootstrap CI and an exact McNemar test). `force=True` overrides and the override is recorded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from judgeloop.artifact import MODEL_CONFIG as MODEL_CONFIG
from judgeloop.artifact import read_model_config
from judgeloop.errors import Conflict, InvalidInput, NotFound
from judgeloop.gate import MAX_DROP as MAX_DROP
from judgeloop.gate import MIN_GATE_ROWS as MIN_GATE_ROWS
from judgeloop.gate import P_WORSE as P_WORSE
from judgeloop.gate import compare_predictions, gate_decision
from judgeloop.store import Workspace, changes
from judgeloop.store.db import missing_sqlite_file
from judgeloop.store.tables import EvaluatorVersionRow, PromotionRow
from judgeloop.types import EvaluatorRef, utcnow

if TYPE_CHECKING:
    from judgeloop.evaluators.learned import LearnedEvaluator


@dataclass
class VersionInfo:
    name: str
    version: int
    status: str
    artifact_path: str | None
    base_model: str | None
    method: str | None
    metrics: dict[str, Any]
    threshold: float | None
    temperature: float | None
    project: str | None = None
    created_at: str | None = None
    note: str | None = None
    heldout_ids: list[Any] = field(default_factory=list)

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"


def _info(row: EvaluatorVersionRow, project: str | None = None) -> VersionInfo:
    return VersionInfo(
        row.name,
        row.version,
        row.status,
        row.artifact_path,
        row.base_model,
        row.method,
        dict(row.metrics or {}),
        row.threshold,
        row.temperature,
        project,
        row.created_at.isoformat() if row.created_at else None,
        row.note,
        list(row.heldout_ids or []),
    )


def register(
    ws: Workspace, name: str, model_dir: str | Path, *, project: str | None = None, note: str | None = None
) -> VersionInfo:
    """Add a trained model directory as the next version of `name` (status: candidate)."""
    if not name or "@" in name:
        raise InvalidInput(
            f"evaluator name {name!r} is not allowed", field="name", expected="a name without '@'"
        )
    cfg = read_model_config(model_dir)
    with ws.db() as db:
        pid = ws.project_id(db, project, create=True) if project else None
        latest = db.scalar(
            select(func.max(EvaluatorVersionRow.version)).where(EvaluatorVersionRow.name == name)
        )
        row = EvaluatorVersionRow(
            project_id=pid,
            name=name,
            version=(latest or 0) + 1,
            kind="cascade" if cfg.get("method") == "cascade" else "learned",
            base_model=cfg.get("base_model"),
            method=cfg.get("method"),
            artifact_path=str(Path(model_dir).resolve()),
            data_hash=cfg.get("data_hash"),
            label_ids=list(cfg.get("train_ids") or []),
            heldout_ids=list(cfg.get("heldout_ids") or []),
            metrics=dict(cfg.get("metrics") or {}),
            temperature=cfg.get("temperature"),
            threshold=cfg.get("threshold"),
            status="candidate",
            params=dict(cfg.get("params") or {}),
            note=note,
        )
        db.add(row)
        db.flush()
        return _info(row, project)


@dataclass
class Registration:
    """What `register_trained` did: the new version, whether it became champion, and why (not)."""

    info: VersionInfo
    status: str  # "champion" or "candidate"
    reason: str | None = None  # the promotion's reason, when promoted
    refused: Conflict | None = None  # the gate's refusal, when promotion was tried and refused
    champion: VersionInfo | None = None  # the champion it stays behind, when not promoted


def register_trained(
    ws: Workspace, name: str, model_dir: str | Path, *, project: str, promote_now: bool = False
) -> Registration:
    """Register a freshly trained folder, and apply the auto-promotion policy: the first version of a
    name becomes champion; a later one only when `promote_now`, through the gate (a refusal is
    returned, not raised, and the version stays a candidate)."""
    info = register(ws, name, model_dir, project=project)
    champion = next((v for v in list_versions(ws, name) if v.status == "champion"), None)
    if champion is not None and not promote_now:
        return Registration(info, "candidate", champion=champion)
    try:
        decision = promote(ws, info.ref, project=project)
    except Conflict as exc:
        return Registration(info, "candidate", refused=exc, champion=champion)
    return Registration(info, "champion", reason=str(decision.get("reason", "first version")))


def _row(db: Any, name: str, version: int | None) -> EvaluatorVersionRow:
    q = select(EvaluatorVersionRow).where(EvaluatorVersionRow.name == name)
    q = (
        q.where(EvaluatorVersionRow.version == version)
        if version is not None
        else q.where(EvaluatorVersionRow.status == "champion")
    )
    row = db.scalar(q)
    if row is None:
        known = db.scalars(
            select(EvaluatorVersionRow.version)
            .where(EvaluatorVersionRow.name == name)
            .order_by(EvaluatorVersionRow.version)
        ).all()
        if not known:
            names = db.scalars(
                select(EvaluatorVersionRow.name).distinct().order_by(EvaluatorVersionRow.name)
            ).all()
            raise NotFound(f"no evaluator named {name!r}; evaluators: {', '.join(names) or 'none yet'}")
        what = f"version {version}" if version is not None else "champion"
        raise NotFound(f"evaluator {name!r} has no {what}; versions: {', '.join(map(str, known))}")
    return row


def parse_ref(ref: str) -> tuple[str, int | None]:
    parsed = EvaluatorRef.parse(ref)
    return parsed.name, parsed.number


def get_version(ws: Workspace, ref: str) -> VersionInfo:
    """`name` (the champion) or `name@version`."""
    name, version = parse_ref(ref)
    with ws.db() as db:
        return _info(_row(db, name, version))


def list_versions(ws: Workspace, name: str | None = None) -> list[VersionInfo]:
    with ws.db() as db:
        q = select(EvaluatorVersionRow).order_by(EvaluatorVersionRow.name, EvaluatorVersionRow.version)
        if name:
            q = q.where(EvaluatorVersionRow.name == name)
        return [_info(r) for r in db.scalars(q)]


def training_ids(ws: Workspace, info: VersionInfo) -> list[str]:
    """Ids of the sessions a version was trained on."""
    with ws.db() as db:
        return list(_row(db, info.name, info.version).label_ids or [])


def history(ws: Workspace, name: str) -> list[dict[str, Any]]:
    with ws.db() as db:
        rows = db.scalars(select(PromotionRow).where(PromotionRow.name == name).order_by(PromotionRow.id))
        return [
            {
                "action": r.action,
                "from": r.from_version,
                "to": r.to_version,
                "forced": r.forced,
                "decision": r.decision,
                "at": r.created_at.isoformat(),
            }
            for r in rows
        ]


# --- the promotion gate ----------------------------------------------------------------------


def compare_on_heldout(
    ws: Workspace, project: str, candidate: VersionInfo, champion: VersionInfo
) -> dict[str, Any]:
    """Both models on the candidate's held-out human labels that the champion did not train on."""
    if candidate.method == "pairwise_bt":  # a learned comparator: its held-out pairwise choices
        from judgeloop.evaluators.pairwise_learned import compare_pairwise_on_heldout

        return compare_pairwise_on_heldout(ws, project, candidate, champion)
    with ws.db() as db:
        champ_train = set(_row(db, champion.name, champion.version).label_ids or [])
    labelled = {s.id: (s, good) for s, good, _ in ws.labelled_sessions(project)}
    ids = [i for i in candidate.heldout_ids if i in labelled and i not in champ_train]
    if len(ids) < MIN_GATE_ROWS:
        raise Conflict(
            f"only {len(ids)} held-out human labels are shared by {candidate.ref} and {champion.ref} "
            f"(need {MIN_GATE_ROWS}); label more sessions or force the promotion",
            overridable=True,
        )
    pairs = [(labelled[i][0].model_input, labelled[i][0].model_output) for i in ids]
    truth = [int(labelled[i][1]) for i in ids]
    new, old = load_version(candidate), load_version(champion)
    return compare_predictions(truth, _labels(new, pairs), _labels(old, pairs))


def _labels(model: Any, pairs: list[Any]) -> Any:
    """Good/bad per pair: a cascade labels each session by its deciding stage's threshold."""
    if hasattr(model, "predict_labels"):
        return model.predict_labels(pairs)
    return (model.predict_proba(pairs) >= model.threshold).astype(int)


def promote(
    ws: Workspace, ref: str, *, project: str | None = None, force: bool = False, require: str = "not_worse"
) -> dict[str, Any]:
    """Make `name@version` the champion if it passes the gate (or `force`). Raises Conflict if refused."""
    cand = get_version(ws, ref)
    if cand.version is None or "@" not in ref:
        raise InvalidInput("promote needs name@version", field="evaluator", expected="name@version")
    champ = _current_champion(ws, cand.name)
    decision: dict[str, Any] = {"require": require}
    if champ is not None and champ.version == cand.version:
        raise Conflict(f"{cand.ref} is already the champion")
    if champ is not None and not force:
        comparison = compare_on_heldout(ws, project or _project_of(ws, cand), cand, champ)
        ok, why = gate_decision(comparison, require)
        decision.update(comparison=comparison, reason=why)
        if not ok:
            _record(ws, cand.name, champ.version, cand.version, "refused", False, decision)
            raise Conflict(f"refused to promote {cand.ref} over {champ.ref}: {why}", overridable=True)
    elif champ is not None:
        decision["reason"] = "forced: the gate was skipped"
    else:
        decision["reason"] = "no champion yet"
    _set_champion(ws, cand.name, cand.version, champ.version if champ else None, "promote", force, decision)
    return decision


def rollback(ws: Workspace, name: str) -> VersionInfo:
    """Make the previous champion the champion again."""
    champ = _current_champion(ws, name)
    if champ is None:
        raise NotFound(f"evaluator {name!r} has no champion to roll back")
    previous = [
        h for h in history(ws, name) if h["action"] in ("promote", "rollback") and h["to"] != champ.version
    ]
    if not previous:
        raise Conflict(f"{champ.ref} has no earlier champion to roll back to")
    target = previous[-1]["to"]
    _set_champion(
        ws, name, target, champ.version, "rollback", False, {"reason": f"rollback from v{champ.version}"}
    )
    return get_version(ws, f"{name}@{target}")


def _current_champion(ws: Workspace, name: str) -> VersionInfo | None:
    with ws.db() as db:
        row = db.scalar(
            select(EvaluatorVersionRow).where(
                EvaluatorVersionRow.name == name, EvaluatorVersionRow.status == "champion"
            )
        )
        return _info(row) if row else None


def _project_of(ws: Workspace, info: VersionInfo) -> str:
    from judgeloop.store.tables import ProjectRow

    with ws.db() as db:
        row = _row(db, info.name, info.version)
        name = (
            db.scalar(select(ProjectRow.name).where(ProjectRow.id == row.project_id))
            if row.project_id
            else None
        )
    if not name:
        raise InvalidInput(
            f"{info.ref} is not tied to a project; pass --project to compare on its labels", field="project"
        )
    return name


def _set_champion(
    ws: Workspace,
    name: str,
    version: int,
    previous: int | None,
    action: str,
    forced: bool,
    decision: dict[str, Any],
) -> None:
    with ws.db() as db:  # one transaction: never zero or two champions
        for row in db.scalars(select(EvaluatorVersionRow).where(EvaluatorVersionRow.name == name)):
            if row.version == version:
                row.status, row.promoted_at = "champion", utcnow()
            elif row.status == "champion":
                row.status = "retired"
        db.add(
            PromotionRow(
                name=name,
                from_version=previous,
                to_version=version,
                action=action,
                forced=forced,
                decision=decision,
            )
        )
        changes.announce(db, "champion")  # every server on this database re-reads its champion


def _record(
    ws: Workspace, name: str, old: int | None, new: int, action: str, forced: bool, decision: dict[str, Any]
) -> None:
    with ws.db() as db:
        db.add(
            PromotionRow(
                name=name, from_version=old, to_version=new, action=action, forced=forced, decision=decision
            )
        )


# --- loading ---------------------------------------------------------------------------------


def load_model_dir(path: str | Path) -> LearnedEvaluator:
    """A model folder: a trained evaluator, or a cascade of them (judgeloop.evaluators.cascade)."""
    from judgeloop.evaluators.cascade import CascadeEvaluator, is_cascade
    from judgeloop.evaluators.learned import LearnedEvaluator

    if is_cascade(path):
        return CascadeEvaluator.load(path)  # type: ignore[return-value]  # same scoring surface
    return LearnedEvaluator.load(path)


def load_version(info: VersionInfo) -> LearnedEvaluator:
    if not info.artifact_path:
        raise NotFound(f"{info.ref} has no model directory")
    model = load_model_dir(info.artifact_path)
    model.name, model.version = info.name, str(info.version)
    return model


def load_evaluator(ref: str, *, db: str | None = None) -> LearnedEvaluator:
    """A model directory, or `name[@version]` from the registry (the champion when no version)."""
    if Path(ref).is_dir():
        return load_model_dir(ref)
    path_like = any(sep in ref for sep in ("/", "\\")) or ref.startswith((".", "~"))
    missing_db = missing_sqlite_file(db)
    if Path(ref).exists():
        return load_model_dir(ref)  # says what is wrong with that path
    if path_like and missing_db is not None:
        raise NotFound(f"no model directory at {ref}")
    if missing_db is not None:  # a read creates nothing: no empty workspace for a lookup
        raise NotFound(
            f"no evaluator named {ref!r}: there is no model directory of that name and no workspace "
            f"database at {missing_db} (give a model directory, or --db / $JUDGELOOP_DB)"
        )
    try:
        return load_version(get_version(Workspace(db), ref))
    except NotFound as exc:
        if path_like:
            raise NotFound(f"no model directory at {ref} (nor an evaluator of that name: {exc})") from None
        raise
