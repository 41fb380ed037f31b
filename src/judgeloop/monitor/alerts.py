"""Alerts: run the spike test over the stored series, keep the alerts in the `alerts` table, drill down
from an alert to its most surprising sessions, and send alerts to a webhook.

An alert is one episode: a run of consecutive flagged windows of one series. Re-running the monitor
over an overlapping period updates the stored alert (its end, its figures) instead of adding another.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from judgeloop.monitor.queries import TimeAxis, VerdictRecord, as_utc
from judgeloop.monitor.series import Series, Window, time_series, totals
from judgeloop.monitor.spikes import SpikeConfig, WindowTest, adjust_and_flag, episodes, scan
from judgeloop.store import Workspace
from judgeloop.store.tables import AlertRow
from judgeloop.types import EvaluatorRef, utcnow


@dataclass
class Alert:
    """One stored (or about to be stored) quality drop."""

    project: str
    evaluator: str
    series: str
    group_by: str | None
    group: str | None
    window_start: datetime
    window_end: datetime
    windows: int
    n: int
    fails: int
    pass_rate: float
    baseline_pass_rate: float
    drop: float
    p_value: float | None
    adjusted_p: float | None
    statistic: float | None
    test: str
    correction: str
    alpha: float
    bucket: str
    time_axis: str
    id: int | None = None
    created_at: datetime | None = None
    sent_at: str | None = None

    def detail(self) -> dict[str, Any]:
        keep = set(self.__dataclass_fields__) - {"id", "project", "evaluator", "window_start", "window_end"}
        return {k: _json_float(v) for k, v in asdict(self).items() if k in keep and k != "created_at"}

    def as_dict(self) -> dict[str, Any]:
        out = {k: _json_float(v) for k, v in asdict(self).items()}
        for k in ("window_start", "window_end", "created_at"):
            out[k] = out[k].isoformat() if out[k] is not None else None
        return out

    def describe(self) -> str:
        sig = (
            f"CUSUM {self.statistic:.1f}"
            if self.test == "cusum" and self.statistic is not None
            else f"p={_fmt_p(self.p_value)}, adjusted {_fmt_p(self.adjusted_p)}"
        )
        return (
            f"{self.series}: pass rate {self.pass_rate:.1%} vs baseline {self.baseline_pass_rate:.1%} "
            f"({-100 * self.drop:+.1f} points) on n={self.n} from {self.window_start:%Y-%m-%d %H:%M} to "
            f"{self.window_end:%Y-%m-%d %H:%M} UTC; {self.test}, {sig}"
        )


def _fmt_p(p: float | None) -> str:
    return "n/a" if p is None else f"{p:.2g}"


def _json_float(v: Any) -> Any:
    return None if isinstance(v, float) and math.isnan(v) else v


@dataclass
class MonitorReport:
    project: str
    evaluator: str | None
    bucket: str
    group_by: str | None
    config: SpikeConfig
    series: list[Series]
    tests: dict[str, list[WindowTest]]
    alerts: list[Alert] = field(default_factory=list)
    new_alerts: list[Alert] = field(default_factory=list)


def run_monitor(
    ws: Workspace,
    project: str,
    evaluator: str | None = None,
    *,
    bucket: str = "day",
    group_by: str | None = None,
    config: SpikeConfig | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    time_axis: TimeAxis = "session",
    store: bool = True,
    records: list[VerdictRecord] | None = None,
) -> MonitorReport:
    """Series → per-window tests → one correction over every series in view → alerts (stored)."""
    cfg = config or SpikeConfig()
    series = time_series(
        ws,
        project,
        evaluator,
        bucket=bucket,
        group_by=group_by,
        since=since,
        until=until,
        time_axis=time_axis,
        records=records,
    )
    tests = window_tests(series, cfg)
    alerts = [
        _alert(project, s, tests[s.key], first, last, cfg, time_axis)
        for s in series
        for first, last in episodes(tests[s.key])
    ]
    report = MonitorReport(project, evaluator, bucket, group_by, cfg, series, tests, alerts)
    if store:
        report.new_alerts = store_alerts(ws, project, alerts)
    return report


def window_tests(series: list[Series], cfg: SpikeConfig) -> dict[str, list[WindowTest]]:
    """Each series' per-window tests, with one correction over all of them (they only need the counts)."""
    tests = {s.key: scan([w.n for w in s.windows], [w.fails for w in s.windows], cfg) for s in series}
    adjust_and_flag([t for ts in tests.values() for t in ts], cfg)
    return tests


def _alert(
    project: str, s: Series, tests: list[WindowTest], first: int, last: int, cfg: SpikeConfig, axis: str
) -> Alert:
    base = tests[first].baseline_pass_rate
    first = min(first, int(tests[first].extra.get("onset", first)))  # CUSUM: from the change point
    span: list[Window] = s.windows[first : last + 1]
    total = totals(span)
    run = tests[first : last + 1]
    pvals = [t.p_value for t in run if t.p_value is not None]
    adj = [t.adjusted for t in run if t.adjusted is not None]
    stats = [t.statistic for t in run if t.statistic is not None]
    return Alert(
        project=project,
        evaluator=s.evaluator,
        series=s.key,
        group_by=s.group_by,
        group=s.group,
        window_start=span[0].start,
        window_end=span[-1].end,
        windows=len(span),
        n=total.n,
        fails=total.fails,
        pass_rate=total.pass_rate,
        baseline_pass_rate=base,
        drop=base - total.pass_rate,
        p_value=min(pvals) if pvals else None,
        adjusted_p=min(adj) if adj else None,
        statistic=max(stats) if stats else None,
        test=cfg.test,
        correction=cfg.correction,
        alpha=cfg.alpha,
        bucket=s.bucket,
        time_axis=axis,
    )


# --- the alerts table ------------------------------------------------------------------------------


def _from_row(row: AlertRow, project: str) -> Alert:
    d = dict(row.detail or {})
    fields = set(Alert.__dataclass_fields__)
    kwargs = {k: v for k, v in d.items() if k in fields}
    for k in ("pass_rate", "baseline_pass_rate", "drop"):
        kwargs[k] = math.nan if kwargs.get(k) is None else kwargs[k]
    return Alert(
        project=project,
        evaluator=row.evaluator or "",
        window_start=as_utc(row.window_start),
        window_end=as_utc(row.window_end),
        id=row.id,
        created_at=as_utc(row.created_at),
        **kwargs,
    )


def store_alerts(ws: Workspace, project: str, alerts: list[Alert]) -> list[Alert]:
    """Insert alerts; one that overlaps a stored alert of the same series updates it. Returns the new
    ones (and the ones whose period grew), with their ids."""
    changed: list[Alert] = []
    with ws.db() as db:
        pid = ws.project_id(db, project)
        rows = list(db.scalars(select(AlertRow).where(AlertRow.project_id == pid)))
        for a in alerts:
            row = next((r for r in rows if _same_episode(r, a)), None)
            if row is None:
                row = AlertRow(project_id=pid, evaluator=a.evaluator, detail={})
                db.add(row)
                rows.append(row)
            elif as_utc(row.window_start) <= a.window_start and as_utc(row.window_end) >= a.window_end:
                a.id, a.created_at, a.sent_at = row.id, row.created_at, (row.detail or {}).get("sent_at")
                continue
            a.sent_at = (row.detail or {}).get("sent_at")
            start = min(as_utc(row.window_start), a.window_start) if row.window_start else a.window_start
            end = max(as_utc(row.window_end), a.window_end) if row.window_end else a.window_end
            row.window_start, row.window_end, row.detail = start, end, a.detail()
            db.flush()
            a.id, a.created_at = row.id, row.created_at
            changed.append(a)
    return changed


def _same_episode(row: AlertRow, a: Alert) -> bool:
    if row.evaluator != a.evaluator or (row.detail or {}).get("series") != a.series:
        return False
    if row.window_start is None or row.window_end is None:
        return False
    return as_utc(row.window_start) < a.window_end and a.window_start < as_utc(row.window_end)


def list_alerts(
    ws: Workspace,
    project: str,
    evaluator: str | None = None,
    *,
    unsent: bool = False,
    limit: int | None = None,
) -> list[Alert]:
    """Stored alerts, newest period first."""
    with ws.db() as db:
        pid = ws.project_id(db, project)
        q = select(AlertRow).where(AlertRow.project_id == pid)
        if evaluator:
            q = q.where(AlertRow.evaluator == EvaluatorRef.parse(evaluator).name)
        rows = db.scalars(q.order_by(AlertRow.window_start.desc(), AlertRow.id.desc()))
        alerts = [_from_row(r, project) for r in rows]
    if unsent:
        alerts = [a for a in alerts if not a.sent_at]
    return alerts[:limit] if limit else alerts


def get_alert(ws: Workspace, project: str, alert_id: int) -> Alert:
    from judgeloop.errors import NotFound

    with ws.db() as db:
        pid = ws.project_id(db, project)
        row = db.get(AlertRow, alert_id)
        if row is None or row.project_id != pid:
            raise NotFound(f"no alert {alert_id} in project {project!r}")
        return _from_row(row, project)


def mark_sent(ws: Workspace, ids: list[int], when: datetime | None = None) -> None:
    stamp = (when or utcnow()).isoformat()
    with ws.db() as db:
        for row in db.scalars(select(AlertRow).where(AlertRow.id.in_(ids))):
            row.detail = {**(row.detail or {}), "sent_at": stamp}
