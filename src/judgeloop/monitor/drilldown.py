"""From an alert to the sessions behind it, most surprising first.

Surprise is measured against the baseline the alert was tested against: a session whose verdict
carries P(good) = p scores ln(baseline pass rate / p), i.e. how many nats less likely it is to be good
than a typical baseline session; a verdict with a label only scores -ln P(label | baseline). Error
verdicts count as failures (they are data, not noise) and are marked as such.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from judgeloop.monitor.alerts import Alert, get_alert
from judgeloop.monitor.queries import TimeAxis, VerdictRecord, load_records, session_texts
from judgeloop.monitor.series import group_keys
from judgeloop.store import Workspace

EPS = 1e-6
SNIPPET = 160


@dataclass
class SurprisingSession:
    session_id: str
    surprise: float
    label: int | None
    probability: float | None
    status: str
    evaluator: str
    at: str
    app_version: str | None
    tags: list[str]
    snippet: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def surprise(r: VerdictRecord, baseline_pass_rate: float) -> float:
    """Nats by which this verdict is less likely to be good than a baseline session (see module doc)."""
    base = min(max(baseline_pass_rate, EPS), 1 - EPS)
    if r.status == "ok" and r.probability is not None:
        return math.log(base / max(r.probability, EPS))
    if r.status == "ok" and r.label == 1:
        return -math.log(base)
    return -math.log(1 - base)  # a failing label, or an error verdict


def alert_sessions(
    ws: Workspace, project: str, alert: int | Alert, limit: int = 20
) -> list[SurprisingSession]:
    """The sessions in an alert's period and series, sorted by surprise (highest first)."""
    a = get_alert(ws, project, alert) if isinstance(alert, int) else alert
    axis: TimeAxis = "session" if a.time_axis == "session" else "verdict"
    records = load_records(ws, project, a.evaluator, since=a.window_start, until=a.window_end, time_axis=axis)
    key = (a.evaluator, a.group)
    mine = [r for r in records if r.session_id and key in group_keys(r, a.group_by)]
    base = a.baseline_pass_rate if not math.isnan(a.baseline_pass_rate) else 0.5
    ranked = sorted(mine, key=lambda r: (-surprise(r, base), r.verdict_id))[:limit]
    texts = session_texts(ws, project, [r.session_id for r in ranked if r.session_id])
    return [
        SurprisingSession(
            session_id=r.session_id or "",
            surprise=round(surprise(r, base), 4),
            label=r.label,
            probability=r.probability,
            status=r.status,
            evaluator=r.ref,
            at=r.at.isoformat(),
            app_version=r.app_version,
            tags=list(r.tags),
            snippet=_snippet(texts.get(r.session_id or "", "")),
        )
        for r in ranked
    ]


def _snippet(text: str) -> str:
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= SNIPPET else one_line[: SNIPPET - 1] + "…"
