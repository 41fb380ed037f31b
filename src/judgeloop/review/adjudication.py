"""A lead's deciding label for a disputed session (it overrides the reviewers' split, see
judgeloop.store.labels.human_label)."""

from __future__ import annotations

from judgeloop.errors import InvalidInput
from judgeloop.store import Workspace
from judgeloop.store.labels import ADJUDICATION
from judgeloop.types import Label


def adjudicate(
    ws: Workspace,
    project: str,
    lead: str,
    session_id: str,
    *,
    good: bool | None = None,
    choice: str | None = None,
    comment: str | None = None,
) -> Label:
    """A lead's deciding label for a disputed session: binary (`good`) or pairwise (`choice`)."""
    if (good is None) == (choice is None):
        raise InvalidInput(
            "give either good or choice", field="good", expected="good true/false or choice A/B/tie"
        )
    if choice is not None and choice not in ("A", "B", "tie"):
        raise InvalidInput(f"bad choice {choice!r}", field="choice", expected="A, B or tie")
    label = Label(
        session_id=session_id,
        reviewer=lead,
        kind="binary" if good is not None else "pairwise",
        good=good,
        choice=choice,  # type: ignore[arg-type]
        comment=comment or None,
        metadata={ADJUDICATION: True},
    )
    return ws.add_label(project, label)


__all__ = ["adjudicate"]
