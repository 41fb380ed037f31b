"""Time series of pass rate and mean score, bucketed by hour or day and grouped by evaluator, app
version or tag.

The pass rate of a window is the share of label 1 (good) among its `ok` verdicts that carry a label;
error and abstain verdicts are counted in `errors`/`abstains`, never silently dropped. Different
evaluators are never mixed in one series: without a grouping each evaluator has its own series.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from judgeloop.errors import InvalidInput
from judgeloop.monitor.queries import TimeAxis, VerdictRecord, load_records
from judgeloop.store import Workspace

Bucket = Literal["hour", "day"]
GroupBy = Literal["evaluator", "app_version", "tag"]
BUCKETS: dict[str, timedelta] = {"hour": timedelta(hours=1), "day": timedelta(days=1)}
GROUPS = ("evaluator", "app_version", "tag")
UNSET = "(none)"


@dataclass
class Window:
    """One time bucket of one series."""

    start: datetime
    end: datetime
    n: int = 0  # ok verdicts with a label
    passes: int = 0
    errors: int = 0
    abstains: int = 0
    score_sum: float = 0.0
    n_scored: int = 0
    prob_sum: float = 0.0
    n_prob: int = 0

    @property
    def fails(self) -> int:
        return self.n - self.passes

    @property
    def pass_rate(self) -> float:
        return self.passes / self.n if self.n else math.nan

    @property
    def interval(self) -> tuple[float, float]:
        """The pass rate's 95% Wilson score interval ((nan, nan) for an empty window)."""
        return wilson_interval(self.passes, self.n)

    @property
    def mean_score(self) -> float:
        return self.score_sum / self.n_scored if self.n_scored else math.nan

    @property
    def mean_probability(self) -> float:
        return self.prob_sum / self.n_prob if self.n_prob else math.nan

    def add(self, r: VerdictRecord) -> None:
        if r.status == "error":
            self.errors += 1
            return
        if r.status != "ok":
            self.abstains += 1
            return
        if r.label is not None:
            self.n += 1
            self.passes += int(r.label == 1)
        if r.score is not None:
            self.score_sum += r.score
            self.n_scored += 1
        if r.probability is not None:
            self.prob_sum += r.probability
            self.n_prob += 1

    def as_dict(self) -> dict[str, object]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "n": self.n,
            "passes": self.passes,
            "pass_rate": _finite(self.pass_rate),
            "mean_score": _finite(self.mean_score),
            "mean_probability": _finite(self.mean_probability),
            "errors": self.errors,
            "abstains": self.abstains,
        }


@dataclass
class Series:
    """The windows of one (evaluator, group) pair, oldest first, gaps filled with empty windows."""

    evaluator: str
    group_by: str | None
    group: str | None
    bucket: str
    windows: list[Window] = field(default_factory=list)

    @property
    def key(self) -> str:
        if self.group_by is None or self.group_by == "evaluator":
            return self.group or self.evaluator
        return f"{self.evaluator} {self.group_by}={self.group}"

    def as_dict(self) -> dict[str, object]:
        return {
            "key": self.key,
            "evaluator": self.evaluator,
            "group_by": self.group_by,
            "group": self.group,
            "bucket": self.bucket,
            "windows": [w.as_dict() for w in self.windows],
        }


def wilson_interval(successes: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion (95% by default)."""
    if n <= 0:
        return (math.nan, math.nan)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def _finite(x: float) -> float | None:
    return None if math.isnan(x) else round(x, 6)


def floor_time(t: datetime, bucket: str) -> datetime:
    """The start of the hour or day (UTC) that holds `t`."""
    t = t.replace(minute=0, second=0, microsecond=0)
    return t.replace(hour=0) if bucket == "day" else t


def check_choices(bucket: str, group_by: str | None) -> None:
    if bucket not in BUCKETS:
        raise InvalidInput(f"unknown bucket {bucket!r}", field="by", expected="'hour' or 'day'")
    if group_by is not None and group_by not in GROUPS:
        raise InvalidInput(
            f"unknown grouping {group_by!r}", field="group_by", expected="'evaluator', 'app_version' or 'tag'"
        )


def group_keys(r: VerdictRecord, group_by: str | None) -> list[tuple[str, str | None]]:
    """The (evaluator, group) series a verdict belongs to (several for a session with several tags)."""
    if group_by == "evaluator":
        return [(r.evaluator, r.ref)]
    if group_by == "app_version":
        return [(r.evaluator, r.app_version or UNSET)]
    if group_by == "tag":
        return [(r.evaluator, t) for t in r.tags] or [(r.evaluator, UNSET)]
    return [(r.evaluator, None)]


def build_series(
    records: Iterable[VerdictRecord],
    bucket: str = "day",
    group_by: str | None = None,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
) -> list[Series]:
    """Bucket verdict records into series; every series covers the same windows, from the first to the
    last bucket seen (or [start, end) when given), so the series line up and gaps read as n=0."""
    check_choices(bucket, group_by)
    step = BUCKETS[bucket]
    cells: dict[tuple[str, str | None], dict[datetime, Window]] = defaultdict(dict)
    times: list[datetime] = []
    for r in records:
        t0 = floor_time(r.at, bucket)
        times.append(t0)
        for key in group_keys(r, group_by):
            cell = cells[key].get(t0)
            if cell is None:
                cell = cells[key][t0] = Window(t0, t0 + step)
            cell.add(r)
    return assemble(cells, times, bucket, group_by, start=start, end=end)


def assemble(
    cells: dict[tuple[str, str | None], dict[datetime, Window]],
    times: Sequence[datetime],
    bucket: str,
    group_by: str | None,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
) -> list[Series]:
    """Series from their windows ({(evaluator, group): {window start: Window}}), each over the same grid:
    from the first to the last of `times` (window starts seen), or [start, end) when given."""
    step = BUCKETS[bucket]
    if not times and (start is None or end is None):
        return []
    first = floor_time(start, bucket) if start else min(times)
    last = floor_time(end - timedelta(microseconds=1), bucket) if end else max(times)
    grid = _grid(first, last, step)
    out = []
    for (evaluator, group), cells_of in sorted(cells.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
        windows = [cells_of.get(t) or Window(t, t + step) for t in grid]
        out.append(Series(evaluator, group_by, group, bucket, windows))
    return out


def _grid(first: datetime, last: datetime, step: timedelta) -> list[datetime]:
    grid, t = [], first
    while t <= last:
        grid.append(t)
        t += step
    return grid


def time_series(
    ws: Workspace,
    project: str,
    evaluator: str | None = None,
    *,
    bucket: str = "day",
    group_by: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    time_axis: TimeAxis = "session",
    records: list[VerdictRecord] | None = None,
) -> list[Series]:
    """Pass-rate and mean-score series of the project's stored verdicts (see the module docstring);
    `records` are those verdicts when the caller has loaded them already (same filters)."""
    check_choices(bucket, group_by)
    if records is None and group_by in (None, "evaluator"):  # counted in SQL, one row per window
        from judgeloop.monitor.series_sql import series_sql

        return series_sql(
            ws, project, evaluator, bucket, group_by, since=since, until=until, time_axis=time_axis
        )
    if records is None:
        records = load_records(ws, project, evaluator, since=since, until=until, time_axis=time_axis)
    return build_series(records, bucket, group_by, start=since, end=until)


def totals(windows: Sequence[Window]) -> Window:
    """All windows summed into one (start of the first, end of the last)."""
    if not windows:
        raise InvalidInput("no windows to sum")
    out = Window(windows[0].start, windows[-1].end)
    for w in windows:
        out.n += w.n
        out.passes += w.passes
        out.errors += w.errors
        out.abstains += w.abstains
        out.score_sum += w.score_sum
        out.n_scored += w.n_scored
        out.prob_sum += w.prob_sum
        out.n_prob += w.n_prob
    return out
