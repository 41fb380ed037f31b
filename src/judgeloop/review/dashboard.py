"""What the monitoring pages show, without HTTP: the project overview (traffic, scored share, pass rate
with its interval and alerts, automated and needs-review shares), one alert's sessions, the evaluators
(agreement with humans, calibration, certified automation, promotions) and the outliers.

Every figure comes from the module that owns it: series, tests and alerts from `judgeloop.monitor`,
agreement from `judgeloop.agreement.reviewers`, calibration data and automation rules from
`judgeloop.loop.risk`, ECE and reliability bins from `judgeloop.stats`.
This module only lines them up per window and per version.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from judgeloop import registry, stats
from judgeloop.agreement.reviewers import evaluator_vs_human
from judgeloop.errors import Forbidden, InvalidInput
from judgeloop.loop import risk
from judgeloop.loop.queue_fill import FillReport, append_picks
from judgeloop.monitor import SpikeConfig, alert_sessions, derived, find_outliers, get_alert, list_alerts
from judgeloop.monitor.aggregate import WindowCounts, overview_counts, session_counts
from judgeloop.monitor.alerts import window_tests
from judgeloop.monitor.queries import TimeAxis, as_utc, champion_of_project, project_labels
from judgeloop.monitor.series import BUCKETS, Series, floor_time, totals
from judgeloop.monitor.sql import evaluator_names
from judgeloop.review import users
from judgeloop.review.users import Membership, User
from judgeloop.store import Workspace, human_labels
from judgeloop.store.tables import SessionRow
from judgeloop.types import EvaluatorRef, utcnow

DEFAULT_WINDOWS = {"hour": 48, "day": 30}


def monitor_access(ws: Workspace, user: User, project: str) -> Membership | None:
    """Leads and the project's admins see the monitoring pages; reviewers get Forbidden."""
    member = next((m for m in users.memberships(ws, user) if m.project == project), None)
    if user.is_lead or (member is not None and member.role == "admin"):
        return member
    raise Forbidden(f"the monitoring pages of {project!r} are for its admins and leads")


def evaluators_of(ws: Workspace, project: str) -> list[str]:
    """Evaluator names with verdicts in the project, the champion first."""
    with ws.reader() as db:
        names = evaluator_names(db, ws.project_id(db, project))
    champion = champion_of_project(ws, project)
    first = [champion[0]] if champion else []
    return first + sorted(n for n in names if n not in first)


def _period(bucket: str, since: datetime | None, now: datetime | None) -> tuple[datetime, datetime]:
    if bucket not in BUCKETS:
        raise InvalidInput(f"unknown bucket {bucket!r}", field="by", expected="'hour' or 'day'")
    step = BUCKETS[bucket]
    end = floor_time(as_utc(now or utcnow()), bucket) + step
    start = floor_time(as_utc(since), bucket) if since else end - step * DEFAULT_WINDOWS[bucket]
    return start, end


def overview(
    ws: Workspace,
    project: str,
    evaluator: str | None = None,
    *,
    bucket: str = "day",
    since: datetime | None = None,
    now: datetime | None = None,
    time_axis: TimeAxis = "session",
) -> dict[str, Any]:
    """The overview page's windows and alerts for one evaluator (default: the champion), from counts
    aggregated in SQL (`monitor.aggregate`: each session's latest verdict of the evaluator; by session
    time from the hourly rollup, `monitor.rollup`)."""
    start, end = _period(bucket, since, now)
    names = evaluators_of(ws, project)
    evaluator = evaluator or (names[0] if names else None)
    rule = risk.load_rule(ws, project, evaluator) if evaluator else None
    sessions, counts = overview_counts(ws, project, evaluator, bucket, start, end, time_axis=time_axis,
                                       tau=rule.tau if rule else None, rule=rule is not None)  # fmt: skip
    series = counts.series
    tests = window_tests([series], SpikeConfig())[series.key] if series else []
    windows = _windows(start, end, bucket, sessions, series, tests, counts)
    overall = totals(series.windows) if series and series.windows else None
    alerts = [a for a in list_alerts(ws, project, evaluator) if a.window_end > start and a.window_start < end]
    step = BUCKETS[bucket]
    last = timedelta(microseconds=1)
    marks = [
        (
            _index(a.window_start, start, step, len(windows)),
            _index(a.window_end - last, start, step, len(windows)),
            a,
        )
        for a in alerts
    ]
    return {
        "project": project,
        "evaluator": evaluator,
        "evaluators": names,
        "bucket": bucket,
        "start": start,
        "end": end,
        "windows": windows,
        "alerts": alerts,
        "marks": marks,
        "rule": rule,
        "totals": {
            "sessions": sum(w["sessions"] for w in windows),
            "scored": sum(w["scored"] for w in windows),
            "verdicts": overall.n if overall else 0,
            "pass_rate": overall.pass_rate if overall and overall.n else None,
            "interval": overall.interval if overall and overall.n else None,
        },
    }


def _windows(
    start: datetime,
    end: datetime,
    bucket: str,
    traffic: Counter,
    series: Series | None,
    tests: list[Any],
    counts: WindowCounts,
) -> list[dict[str, Any]]:
    """One row per window of [start, end): the series' windows line up with it (same start and end)."""
    rows: list[dict[str, Any]] = []
    t = start
    while t < end:
        i = len(rows)
        w = series.windows[i] if series and i < len(series.windows) else None
        low, high = w.interval if w is not None and w.n else (math.nan, math.nan)
        with_p = counts.probabilities.get(t, 0)
        share = counts.review.get(t, 0) / with_p if with_p else None
        scored = counts.scored.get(t, 0)
        rows.append(
            {
                "start": t,
                "label": t.strftime("%m-%d %H:00" if bucket == "hour" else "%m-%d"),
                "sessions": traffic.get(t, 0),
                "scored": scored,
                "scored_share": scored / traffic[t] if traffic.get(t) else None,
                "n": w.n if w else 0,
                "pass_rate": w.pass_rate if w and w.n else None,
                "low": None if math.isnan(low) else low,
                "high": None if math.isnan(high) else high,
                "flagged": bool(i < len(tests) and tests[i].flagged),
                "errors": w.errors if w else 0,
                "needs_review_share": share,
                "automated_share": None if share is None else 1 - share,
            }
        )
        t += BUCKETS[bucket]
    return rows


def _index(t: datetime, start: datetime, step: timedelta, n: int) -> int:
    return min(max(int((as_utc(t) - start) / step), 0), n - 1)


# --- one alert ----------------------------------------------------------------------------------


def alert_page(ws: Workspace, project: str, alert_id: int, limit: int = 200) -> dict[str, Any]:
    """The alert, its window's sessions (most surprising first) and their human labels."""
    alert = get_alert(ws, project, alert_id)
    rows = alert_sessions(ws, project, alert, limit=limit)
    labels = project_labels(ws, project, [r.session_id for r in rows])
    consensus = human_labels([x for sid in (r.session_id for r in rows) for x in labels.get(sid, [])])
    return {
        "alert": alert,
        "sessions": [
            {
                **r.as_dict(),
                "labels": [x for x in labels.get(r.session_id, []) if x.kind == "binary"],
                "human": consensus.get(r.session_id),
            }
            for r in rows
        ],
    }


def queue_alert(ws: Workspace, project: str, alert_id: int, limit: int = 200) -> FillReport:
    """Put the alert's sessions in the review queue `alert-<id>` (created if needed; no duplicates)."""
    rows = alert_sessions(ws, project, alert_id, limit=limit)
    picks = [(r.session_id, f"alert {alert_id}", r.surprise) for r in rows]
    return append_picks(ws, project, f"alert-{alert_id}", "alert", picks, {"alert": alert_id})


# --- evaluators ---------------------------------------------------------------------------------


def evaluators_page(ws: Workspace, project: str, n_resamples: int = 500) -> dict[str, Any]:
    """Every version seen in the project: agreement with humans (with CIs), calibration (ECE and
    reliability bins on held-out labelled sessions), the saved automation rule, promotion history.
    Only the verdicts of human-labelled sessions are read (from `monitor.derived`), once for all versions."""
    humans, labelled = derived.labelled(ws, project)  # only these verdicts can be compared with humans
    agreement = {row["evaluator"]: row for row in evaluator_vs_human(labelled, humans, n_resamples)}
    names = evaluators_of(ws, project)
    versions = {v.ref: v for v in registry.list_versions(ws) if v.name in names}
    refs = sorted(set(agreement) | set(versions))
    rows = []
    for ref in refs:
        name = EvaluatorRef.parse(ref).name
        info = versions.get(ref)
        rows.append(
            {
                "ref": ref,
                "name": name,
                "status": info.status if info else "not registered",
                "agreement": agreement.get(ref),
                "calibration": _calibration(ws, project, ref, humans, labelled),
            }
        )
    rules = {n: risk.load_rule(ws, project, n) for n in names}
    history = {n: registry.history(ws, n) for n in names}
    return {"project": project, "versions": rows, "rules": rules, "history": history, "labelled": len(humans)}


def _calibration(
    ws: Workspace, project: str, ref: str, humans: dict[str, bool], labelled: Sequence[Any]
) -> dict[str, Any] | None:
    try:
        data = risk.calibration_data(ws, project, ref, humans=humans, labelled=labelled, count_verdicts=False)
    except InvalidInput:
        return None
    good, probs = data["good"], data["probs"]
    return {
        "n": len(good),
        "ece": stats.expected_calibration_error(good, probs),
        "bins": stats.reliability_bins(good, probs),
        "excluded_training": data["excluded_training"],
    }


# --- outliers -----------------------------------------------------------------------------------


def outliers_page(
    ws: Workspace, project: str, evaluator: str | None = None, limit: int = 50
) -> dict[str, Any]:
    return {"project": project, "evaluator": evaluator, **find_outliers(ws, project, evaluator, limit)}


def session_count(ws: Workspace, project: str) -> int:
    with ws.db() as db:
        pid = ws.project_id(db, project)
        return int(db.scalar(select(func.count()).where(SessionRow.project_id == pid)) or 0)


__all__ = [
    "alert_page",
    "evaluators_of",
    "evaluators_page",
    "monitor_access",
    "outliers_page",
    "overview",
    "queue_alert",
    "session_counts",
]
