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
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from judgeloop import registry, stats
from judgeloop.agreement.reviewers import evaluator_vs_human
from judgeloop.errors import Forbidden, InvalidInput
from judgeloop.loop import risk
from judgeloop.loop.queue_fill import FillReport, append_picks
from judgeloop.monitor import alert_sessions, find_outliers, get_alert, list_alerts, run_monitor
from judgeloop.monitor.queries import (
    TimeAxis,
    VerdictRecord,
    as_utc,
    champion_of_project,
    load_records,
    project_labels,
)
from judgeloop.monitor.series import BUCKETS, Series, floor_time, totals
from judgeloop.review import users
from judgeloop.review.users import Membership, User
from judgeloop.store import Workspace, human_labels
from judgeloop.store.tables import SessionRow, VerdictRow
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
    with ws.db() as db:
        pid = ws.project_id(db, project)
        names = list(db.scalars(select(VerdictRow.evaluator).where(VerdictRow.project_id == pid).distinct()))
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


def session_counts(ws: Workspace, project: str, bucket: str, start: datetime, end: datetime) -> Counter:
    """{window start: sessions created in it}."""
    with ws.db() as db:
        pid = ws.project_id(db, project)
        q = select(SessionRow.created_at).where(
            SessionRow.project_id == pid, SessionRow.created_at >= start, SessionRow.created_at < end
        )
        return Counter(floor_time(as_utc(t), bucket) for t in db.scalars(q))


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
    """The overview page's windows and alerts for one evaluator (default: the champion)."""
    start, end = _period(bucket, since, now)
    names = evaluators_of(ws, project)
    evaluator = evaluator or (names[0] if names else None)
    records = (
        load_records(ws, project, evaluator, since=start, until=end, time_axis=time_axis) if evaluator else []
    )
    report = run_monitor(
        ws, project, evaluator, bucket=bucket, since=start, until=end, time_axis=time_axis, store=False,
        records=records,
    )  # fmt: skip
    series: Series | None = report.series[0] if report.series else None
    rule = risk.load_rule(ws, project, evaluator) if evaluator else None
    windows = _windows(
        start, end, bucket, session_counts(ws, project, bucket, start, end), series,
        report.tests.get(series.key, []) if series else [], *_window_facts(records, bucket, rule),
    )  # fmt: skip
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


def _window_facts(
    records: list[VerdictRecord], bucket: str, rule: risk.AutomationRule | None
) -> tuple[dict[datetime, set[str]], dict[datetime, list[bool]]]:
    """Per window: the sessions with an ok verdict, and for each probability whether the saved
    automation rule sends it to review (`risk.needs_review`)."""
    scored: dict[datetime, set[str]] = defaultdict(set)
    review: dict[datetime, list[bool]] = defaultdict(list)
    for r in records:
        t0 = floor_time(r.at, bucket)
        if r.status == "ok" and r.session_id:
            scored[t0].add(r.session_id)
        if rule is not None and r.status == "ok" and r.probability is not None:
            review[t0].append(risk.needs_review(r.probability, rule))
    return scored, review


def _windows(
    start: datetime,
    end: datetime,
    bucket: str,
    traffic: Counter,
    series: Series | None,
    tests: list[Any],
    scored: dict[datetime, set[str]],
    review: dict[datetime, list[bool]],
) -> list[dict[str, Any]]:
    """One row per window of [start, end): the series' windows line up with it (same start and end)."""
    rows: list[dict[str, Any]] = []
    t = start
    while t < end:
        i = len(rows)
        w = series.windows[i] if series and i < len(series.windows) else None
        low, high = w.interval if w is not None and w.n else (math.nan, math.nan)
        flags = review.get(t, [])
        share = sum(flags) / len(flags) if flags else None
        rows.append(
            {
                "start": t,
                "label": t.strftime("%m-%d %H:00" if bucket == "hour" else "%m-%d"),
                "sessions": traffic.get(t, 0),
                "scored": len(scored.get(t, ())),
                "scored_share": len(scored.get(t, ())) / traffic[t] if traffic.get(t) else None,
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
    labels = project_labels(ws, project)
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
    reliability bins on held-out labelled sessions), the saved automation rule, promotion history."""
    humans = human_labels(ws.labels(project))
    labelled = ws.verdicts(project, session_ids=list(humans))  # only these can be compared with humans
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
                "calibration": _calibration(ws, project, ref),
            }
        )
    rules = {n: risk.load_rule(ws, project, n) for n in names}
    history = {n: registry.history(ws, n) for n in names}
    return {"project": project, "versions": rows, "rules": rules, "history": history, "labelled": len(humans)}


def _calibration(ws: Workspace, project: str, ref: str) -> dict[str, Any] | None:
    try:
        data = risk.calibration_data(ws, project, ref)
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
