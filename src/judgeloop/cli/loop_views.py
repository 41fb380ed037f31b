"""Terminal views for the close-the-loop commands: series tables with sparkline bars, alert lists."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from rich.table import Table

from judgeloop.errors import InvalidInput

if TYPE_CHECKING:
    from judgeloop.monitor import Alert, MonitorReport, Series, WindowTest

BARS = "▁▂▃▄▅▆▇█"


def parse_since(value: str | None, now: datetime | None = None) -> datetime | None:
    """`7d`, `48h`, `90m` back from now, or an ISO date/time (UTC when no zone is given)."""
    if not value:
        return None
    now = now or datetime.now(timezone.utc)
    m = re.fullmatch(r"(\d+)([dhm])", value.strip())
    if m:
        unit = {"d": "days", "h": "hours", "m": "minutes"}[m.group(2)]
        return now - timedelta(**{unit: int(m.group(1))})
    try:
        t = datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInput(f"bad time {value!r}", field="since", expected="7d, 48h or an ISO date") from exc
    return t.replace(tzinfo=timezone.utc) if t.tzinfo is None else t


def sparkline(values: Sequence[float], flagged: Sequence[bool] | None = None) -> str:
    """One block character per window, scaled between the series' min and max; red where flagged;
    a middle dot where the window is empty."""
    finite = [v for v in values if not math.isnan(v)]
    lo, hi = (min(finite), max(finite)) if finite else (0.0, 1.0)
    span = hi - lo or 1.0
    out = []
    for i, v in enumerate(values):
        if math.isnan(v):
            out.append("[dim]·[/]")
            continue
        ch = BARS[min(len(BARS) - 1, int((v - lo) / span * (len(BARS) - 1) + 0.5))]
        out.append(f"[red]{ch}[/]" if flagged and flagged[i] else ch)
    return "".join(out)


def pct(v: float | None) -> str:
    return "–" if v is None or math.isnan(v) else f"{v:.1%}"


def num(v: float | None, digits: int = 3) -> str:
    return "–" if v is None or math.isnan(v) else f"{v:.{digits}f}"


def series_table(report: MonitorReport, last: int) -> Table:
    table = Table(title=f"{report.project}: pass rate by {report.bucket}", title_justify="left")
    for col in (
        "series",
        "verdicts",
        "pass rate",
        "latest",
        "mean score",
        "errors",
        f"last {last} windows",
        "alerts",
    ):
        table.add_column(col, justify="left" if col in ("series", f"last {last} windows") else "right")
    for s in report.series:
        tests = report.tests[s.key]
        tail, tail_tests = s.windows[-last:], tests[-last:]
        n = sum(w.n for w in s.windows)
        passes = sum(w.passes for w in s.windows)
        latest = next((w for w in reversed(s.windows) if w.n), None)
        scored = [w for w in s.windows if w.n_scored]
        mean_score = (
            sum(w.score_sum for w in scored) / sum(w.n_scored for w in scored) if scored else math.nan
        )
        alerts = sum(1 for a in report.alerts if a.series == s.key)
        table.add_row(
            s.key,
            str(n),
            pct(passes / n if n else math.nan),
            pct(latest.pass_rate if latest else math.nan),
            num(mean_score),
            str(sum(w.errors for w in s.windows)),
            sparkline([w.pass_rate for w in tail], [t.flagged for t in tail_tests]),
            f"[red]{alerts}[/]" if alerts else "0",
        )
    return table


def windows_table(series: Series, tests: list[WindowTest], last: int) -> Table:
    table = Table(title=f"{series.key}: last {last} windows", title_justify="left")
    for col in ("window (UTC)", "n", "pass rate", "baseline", "mean score", "p", "adjusted", "stat", "flag"):
        table.add_column(col, justify="left" if col == "window (UTC)" else "right")
    fmt = "%Y-%m-%d %H:%M" if series.bucket == "hour" else "%Y-%m-%d"
    for w, t in list(zip(series.windows, tests, strict=True))[-last:]:
        table.add_row(
            w.start.strftime(fmt),
            str(w.n),
            pct(w.pass_rate),
            pct(t.baseline_pass_rate),
            num(w.mean_score),
            "–" if t.p_value is None else f"{t.p_value:.2g}",
            "–" if t.adjusted is None else f"{t.adjusted:.2g}",
            num(t.statistic, 2),
            "[bold red]ALERT[/]" if t.flagged else "",
        )
    return table


def alerts_table(alerts: Sequence[Alert], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for col in (
        "id",
        "series",
        "from (UTC)",
        "to (UTC)",
        "n",
        "pass rate",
        "baseline",
        "drop",
        "significance",
        "sent",
    ):
        table.add_column(
            col, justify="right" if col in ("id", "n", "pass rate", "baseline", "drop") else "left"
        )
    for a in alerts:
        sig = (
            f"CUSUM {num(a.statistic, 1)}, p={_p(a.p_value)}"
            if a.test == "cusum"
            else f"p={_p(a.p_value)} adj={_p(a.adjusted_p)} ({a.test})"
        )
        table.add_row(
            str(a.id or "–"),
            a.series,
            f"{a.window_start:%Y-%m-%d %H:%M}",
            f"{a.window_end:%Y-%m-%d %H:%M}",
            str(a.n),
            pct(a.pass_rate),
            pct(a.baseline_pass_rate),
            f"[red]{-100 * a.drop:+.1f} pts[/]" if not math.isnan(a.drop) else "–",
            sig,
            "yes" if a.sent_at else "",
        )
    return table


def _p(p: float | None) -> str:
    return "–" if p is None else f"{p:.2g}"


def sessions_table(rows: Sequence[Any], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for col in ("session", "surprise", "label", "P(good)", "app", "tags", "input / output"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(
            r.session_id,
            f"{r.surprise:.2f}",
            r.status if r.status != "ok" else str(r.label),
            num(r.probability),
            r.app_version or "",
            ", ".join(r.tags),
            r.snippet,
        )
    return table
