"""The one rule for which labels count and what a session's human label is.

Labels are append-only. `undo` appends a row with metadata `{"undo_of": ID}` and no value (its `good`,
`scores` and `choice` are empty); both it and label ID are then left out of agreement, consensus and
progress. Only a reviewer's own labels can be withdrawn that way (an undo row naming someone else's
label withdraws nothing). A lead's adjudicating label carries `{"adjudication": true}` and settles
the item. Neither flag is ever taken from a client: the API refuses them in label metadata, and only
the undo and adjudication routes (with their role checks) write them.

`human_label` is the binary human label of a session, used by everything that reads one: training,
the promotion gate, agreement, monitoring, risk control, export and stats.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from judgeloop.types import Label

UNDO_OF = "undo_of"
ADJUDICATION = "adjudication"
IMPORTED = "imported"
RESERVED_METADATA = (UNDO_OF, ADJUDICATION, IMPORTED)


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


def human_label(labels: Sequence[Label]) -> bool | None:
    """The binary human label of one session's labels, or None when it has none.

    Over live labels only: the latest adjudication decides; otherwise the majority of each reviewer's
    latest binary label, a tie going to the most recent of those labels."""
    live = [lab for lab in live_labels(labels) if lab.kind == "binary" and lab.good is not None]
    decided = sorted((lab for lab in live if is_adjudication(lab)), key=_order)
    if decided:
        return bool(decided[-1].good)
    latest: dict[str, Label] = {}
    for lab in sorted(live, key=_order):
        latest[lab.reviewer] = lab
    if not latest:
        return None
    votes = Counter(bool(lab.good) for lab in latest.values())
    if votes[True] != votes[False]:
        return votes[True] > votes[False]
    return bool(max(latest.values(), key=_order).good)


def human_choice(labels: Sequence[Label]) -> str | None:
    """The pairwise human label (A, B or tie) of one session's labels, or None when it has none.

    The latest live adjudication decides; otherwise the most common of each reviewer's latest choice,
    and a tie between the most common choices is a tie."""
    live = [lab for lab in live_labels(labels) if lab.kind == "pairwise" and lab.choice]
    decided = sorted((lab for lab in live if is_adjudication(lab)), key=_order)
    if decided:
        return decided[-1].choice
    latest = {r: lab.choice for r, lab in latest_by_reviewer(live).items()}
    if not latest:
        return None
    counts = Counter(latest.values()).most_common()
    return counts[0][0] if len(counts) == 1 or counts[0][1] > counts[1][1] else "tie"


def human_scores(labels: Sequence[Label]) -> dict[str, float]:
    """The mean Likert score per criterion over each reviewer's latest live Likert label."""
    live = [lab for lab in live_labels(labels) if lab.kind == "likert" and lab.scores]
    sums: dict[str, list[float]] = defaultdict(list)
    for lab in latest_by_reviewer(live).values():
        for criterion, value in (lab.scores or {}).items():
            sums[criterion].append(float(value))
    return {c: sum(v) / len(v) for c, v in sums.items()}


def by_session(labels: Iterable[Label]) -> dict[str, list[Label]]:
    out: dict[str, list[Label]] = defaultdict(list)
    for lab in labels:
        out[lab.session_id].append(lab)
    return dict(out)


def human_labels(labels: Iterable[Label]) -> dict[str, bool]:
    """{session id: human label} for every session of `labels` that has one (see `human_label`)."""
    return {sid: good for sid, labs in by_session(labels).items() if (good := human_label(labs)) is not None}


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
    "IMPORTED",
    "RESERVED_METADATA",
    "UNDO_OF",
    "by_session",
    "human_choice",
    "human_label",
    "human_labels",
    "human_scores",
    "is_adjudication",
    "is_undo",
    "label_value",
    "latest_by_reviewer",
    "live_labels",
    "withdrawn_ids",
]
