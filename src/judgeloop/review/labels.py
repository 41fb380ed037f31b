"""Which labels count: undo rows and the labels they withdraw do not; an adjudication decides.

Labels are append-only. `undo` appends a row with metadata `{"undo_of": ID}` and no value (its `good`,
`scores` and `choice` are empty); both it and label ID are then left out of agreement, consensus and
progress. Only a reviewer's own labels can be withdrawn that way (an undo row naming someone else's
label withdraws nothing). A lead's adjudicating label carries `{"adjudication": true}` and settles
the item (judgeloop.review.agreement drops the flag from anyone who is not a lead).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from judgeloop.store import consensus
from judgeloop.types import Label

UNDO_OF = "undo_of"
ADJUDICATION = "adjudication"


def is_undo(label: Label) -> bool:
    return UNDO_OF in label.metadata


def is_adjudication(label: Label) -> bool:
    return bool(label.metadata.get(ADJUDICATION))


def withdrawn_ids(labels: Iterable[Label]) -> set[int]:
    """Ids of labels withdrawn by an undo row of the same reviewer."""
    labels = list(labels)
    owner = {lab.id: lab.reviewer for lab in labels if lab.id is not None}
    out = set()
    for lab in labels:
        ref = lab.metadata.get(UNDO_OF)
        if isinstance(ref, int) and owner.get(ref) == lab.reviewer:
            out.add(ref)
    return out


def live_labels(labels: Sequence[Label]) -> list[Label]:
    """The labels that count: neither undo rows nor withdrawn by one."""
    gone = withdrawn_ids(labels)
    return [lab for lab in labels if not is_undo(lab) and lab.id not in gone]


def _order(label: Label) -> tuple[Any, ...]:
    return (label.created_at is None, label.created_at, label.id or 0)


def human_consensus(labels: Sequence[Label]) -> bool | None:
    """The binary human label of a session: the latest adjudication, else the store's consensus
    (majority of each reviewer's latest label, a tie going to the latest) over live labels."""
    live = [lab for lab in live_labels(labels) if lab.kind == "binary" and lab.good is not None]
    decided = sorted((lab for lab in live if is_adjudication(lab)), key=_order)
    if decided:
        return bool(decided[-1].good)
    return consensus(live)


def label_value(label: Label) -> Any:
    """The comparable value of a label: good (1/0), the pairwise choice, or the scores dict."""
    if label.kind == "binary":
        return None if label.good is None else int(label.good)
    if label.kind == "pairwise":
        return label.choice
    return label.scores


def latest_by_reviewer(labels: Sequence[Label]) -> dict[str, Label]:
    """Each reviewer's latest live, non-adjudicating label of one session (one kind)."""
    out: dict[str, Label] = {}
    for lab in sorted(live_labels(labels), key=_order):
        if not is_adjudication(lab) and label_value(lab) is not None:
            out[lab.reviewer] = lab
    return out


__all__ = [
    "ADJUDICATION",
    "UNDO_OF",
    "human_consensus",
    "is_adjudication",
    "is_undo",
    "label_value",
    "latest_by_reviewer",
    "live_labels",
    "withdrawn_ids",
]
