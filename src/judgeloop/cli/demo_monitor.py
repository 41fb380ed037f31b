"""The demo's monitoring scenario: two weeks of historical traffic with a planted drop in quality.

Sessions drawn from the bundled data (good and bad answers, by their human labels) are written to a
CSV with a `timestamp` column, 40 a day for 14 days; from day 10 a "release" (app_version 1.5) makes
bad answers far more common. The file goes through the same import as `judgeloop import` (each
session keeps its own time), the demo's champion evaluator scores it, and `judgeloop monitor` (daily
windows, CUSUM) is run on it. The alert should start on the day of the drop, and none before it.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.rule import Rule

out = Console()

PROJECT = "shop-traffic"
EVALUATOR = "shop"
START = datetime(2026, 3, 1, tzinfo=timezone.utc)
DAYS, PER_DAY, DROP_DAY = 14, 40, 10
GOOD_SHARE = (0.8, 0.45)  # share of good answers before / from the drop
SEED = 7


def monitor_scenario(ws: Any, out_dir: Path) -> dict[str, Any]:
    """Import timed traffic with a planted drop, score it with the champion, run the monitor; the
    alert summary (and where the drop was planted) for summary.json."""
    out.print(Rule(f"8. monitor: {DAYS} days of timed traffic, quality drops on day {DROP_DAY + 1}"))
    path = _write_traffic(Path(out_dir) / "traffic.csv")
    n = _import(ws, path)
    pass_rate = _score(ws)
    return _monitor(ws, path, n, pass_rate)


def _write_traffic(path: Path) -> Path:
    from judgeloop.assets import EXAMPLE_DATASET
    from judgeloop.io import input_cell, read_dataset, write_records

    rows = [r for r in read_dataset(EXAMPLE_DATASET).rows if r.label is not None]
    pools = {g: [r.session for r in rows if r.label and r.label.good is g] for g in (True, False)}
    rng = np.random.default_rng(SEED)
    records = []
    for day in range(DAYS):
        share = GOOD_SHARE[day >= DROP_DAY]
        for i in range(PER_DAY):
            pool = pools[bool(rng.random() < share)]
            s = pool[int(rng.integers(len(pool)))]
            at = START + timedelta(days=day, seconds=int(rng.integers(86_400)))
            records.append(
                {
                    "id": f"d{day:02d}-{i:02d}",
                    "model_input": input_cell(s.model_input),
                    "model_output": s.model_output,
                    "app_version": "1.5" if day >= DROP_DAY else "1.4",
                    "timestamp": at.isoformat().replace("+00:00", "Z"),
                }
            )
    write_records(records, path, list(records[0]))
    return path


def _import(ws: Any, path: Path) -> int:
    from judgeloop.io import read_dataset
    from judgeloop.timestamps import apply_time_column

    dataset = read_dataset(path, label_col=None)
    column = apply_time_column(dataset.rows, None, str(path))  # as `judgeloop import` does
    report = ws.import_dataset(PROJECT, dataset)
    out.print(f"imported {report.new_sessions} sessions from {path}, each at its own time ({column!r})")
    return int(report.rows)


def _score(ws: Any) -> float:
    from judgeloop.registry import load_evaluator

    ev = load_evaluator(EVALUATOR, db=ws.url)
    sessions = ws.sessions(PROJECT)
    verdicts = ev.evaluate([(s.model_input, s.model_output) for s in sessions], [s.id for s in sessions])
    ws.add_verdicts(PROJECT, verdicts)
    rate = sum(v.label == 1 for v in verdicts) / len(verdicts)
    out.print(f"scored them with {ev.ref} (today, long after the sessions happened): pass rate {rate:.1%}")
    return rate


def _monitor(ws: Any, path: Path, n: int, pass_rate: float) -> dict[str, Any]:
    from judgeloop.monitor import run_monitor

    report = run_monitor(ws, PROJECT, EVALUATOR, bucket="day", store=True)
    drop_from = START + timedelta(days=DROP_DAY)
    (series,) = report.series
    alerts = [
        {
            "from": a.window_start.date().isoformat(),
            "to": (a.window_end - timedelta(seconds=1)).date().isoformat(),
            "pass_rate": round(a.pass_rate, 3),
            "baseline_pass_rate": round(a.baseline_pass_rate, 3),
            "drop": round(a.drop, 3),
            "test": a.test,
        }
        for a in report.alerts
    ]
    # a false alarm ends before the drop; CUSUM may date a true change a day early (a noisy low day
    # before it), so a detection covers the drop and starts at most one day before it
    before = [a for a in report.alerts if a.window_end <= drop_from]
    on_drop = [
        a
        for a in report.alerts
        if a.window_end > drop_from and a.window_start >= drop_from - timedelta(days=1)
    ]
    for a in alerts:
        out.print(
            f"[bold red]alert[/] {a['from']} to {a['to']}: pass rate {a['pass_rate']:.1%} vs "
            f"{a['baseline_pass_rate']:.1%} before ({a['test']})"
        )
    if not alerts:
        out.print("no alert")
    out.print(f"the drop was planted on {drop_from.date()}; `judgeloop monitor -p {PROJECT} -e {EVALUATOR}`")
    return {
        "project": PROJECT,
        "traffic_file": path.name,
        "sessions": n,
        "days": DAYS,
        "drop_planted_on": drop_from.date().isoformat(),
        "good_share_before_after": list(GOOD_SHARE),
        "pass_rate": round(pass_rate, 3),
        "daily_pass_rate": {w.start.date().isoformat(): round(w.pass_rate, 3) for w in series.windows if w.n},
        "alerts": alerts,
        "alerts_before_drop": len(before),
        "detected": bool(on_drop),
        "first_alert_on": alerts[0]["from"] if alerts else None,
    }
