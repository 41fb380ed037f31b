"""Which sessions an evaluator trained on, so that its agreement with the humans is measured on rows it
has not seen.

A registered evaluator version keeps the session ids it trained on (`train_ids` in the model folder's
judgeloop.json, copied to the registry's `label_ids`). Agreement, outliers and the agreement page leave
those rows out by default and say so; `include_train=True` counts them too, labelled as such. A verdict
whose version the registry does not know is checked against every version of its name (the cautious
side); an evaluator that never trained (a judge, a metric, a check) has no training rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from sqlalchemy import select

from judgeloop.store.tables import EvaluatorVersionRow
from judgeloop.types import EvaluatorRef

Scope = Literal["held-out", "including training rows"]
HELD_OUT: Scope = "held-out"
INCLUDING_TRAIN: Scope = "including training rows"

V = TypeVar("V")


@dataclass(frozen=True)
class TrainingSets:
    """{evaluator name: {version: session ids it trained on}}."""

    by_version: dict[str, dict[str, frozenset[str]]] = field(default_factory=dict)

    def ids(self, name: str, version: str | None) -> frozenset[str]:
        versions = self.by_version.get(name)
        if not versions:
            return frozenset()
        if version is not None and str(version) in versions:
            return versions[str(version)]
        return frozenset().union(*versions.values())

    def trained_on(self, name: str, version: str | None, session_id: str) -> bool:
        return session_id in self.ids(name, version)


def load_training_sets(ws: Any) -> TrainingSets:
    """Every registered version's training session ids, from one query."""
    out: dict[str, dict[str, frozenset[str]]] = {}
    with ws.db() as db:
        rows = db.execute(
            select(EvaluatorVersionRow.name, EvaluatorVersionRow.version, EvaluatorVersionRow.label_ids)
        )
        for name, version, ids in rows:
            out.setdefault(name, {})[str(version)] = frozenset(str(i) for i in ids or [])
    return TrainingSets(out)


def split_name(evaluator: str) -> tuple[str, str | None]:
    ref = EvaluatorRef.parse(evaluator)
    return ref.name, ref.version


def held_out(
    verdicts: Mapping[str, V], sets: TrainingSets, include_train: bool = False
) -> tuple[dict[str, V], set[str]]:
    """The verdicts ({session id: verdict with .evaluator and .version}) on rows their evaluator version
    did not train on (all of them with `include_train`), and the ids of the training rows among them."""
    kept: dict[str, V] = {}
    trained: set[str] = set()
    for sid, v in verdicts.items():
        if sets.trained_on(str(getattr(v, "evaluator", "")), getattr(v, "version", None), sid):
            trained.add(sid)
            if not include_train:
                continue
        kept[sid] = v
    return kept, trained


def rows_note(n: int, training_rows: int, include_train: bool) -> dict[str, Any]:
    """What a report says about its rows: their scope, n, and the training rows left out or counted."""
    scope = INCLUDING_TRAIN if include_train else HELD_OUT
    key = "training_rows_included" if include_train else "training_rows_excluded"
    return {"rows": scope, "n": n, key: training_rows}


def describe(note: Mapping[str, Any]) -> str:
    """One line for people: '47 held-out sessions (194 training sessions left out)'."""
    if note["rows"] == INCLUDING_TRAIN:
        k = note.get("training_rows_included", 0)
        return f"{note['n']} sessions including training rows ({k} of them training sessions)"
    k = note.get("training_rows_excluded", 0)
    left = f" ({k} training sessions left out; --include-train counts them)" if k else ""
    return f"{note['n']} held-out sessions{left}"
