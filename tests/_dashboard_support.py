"""A project with a history for the monitoring pages: 10 days of sessions, two evaluators with verdicts
(one drops in quality on the last two days), human labels, a stored alert, an automation rule, two
registered versions and a promotion."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from _review_support import PASSWORD
from _server_support import fake_model_dir
from judgeloop import registry
from judgeloop.loop import risk
from judgeloop.monitor import run_monitor
from judgeloop.review import users
from judgeloop.store import Workspace
from judgeloop.types import Label, Session, Verdict

PROJECT = "shop"
DAYS = 10
PER_DAY = 24
BAD_DAYS = (8, 9)  # the support evaluator's pass rate drops on these days


@dataclass
class DashEnv:
    ws: Workspace
    url: str
    alert_id: int
    now: datetime


def make_dashboard_env(url: str, tmp: Path) -> DashEnv:
    ws = Workspace(url)
    now = datetime.now(timezone.utc)
    start = now.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=DAYS)  # up to yesterday
    sessions, verdicts, labels = [], [], []
    for day in range(DAYS):
        for i in range(PER_DAY):
            uid = f"d{day}-{i:02d}"
            at = start + timedelta(days=day, minutes=30 * i)
            sessions.append(
                Session(
                    id=uid, model_input=f"question {day}/{i}", model_output=f"answer {uid}", created_at=at
                )
            )
            bad = day in BAD_DAYS and i % 4 != 0 or day not in BAD_DAYS and i % 10 == 0
            p = 0.15 if bad else 0.85 + 0.01 * (i % 10)
            if i % 6 != 5:  # a sixth of the traffic is never scored
                verdicts.append(
                    Verdict(
                        session_id=uid,
                        evaluator="support",
                        version="1",
                        label=int(not bad),
                        probability=p,
                        threshold=0.5,
                    )
                )
                judge_good = not bad if i % 5 else bad  # the judge disagrees on every fifth session
                verdicts.append(Verdict(session_id=uid, evaluator="judge", label=int(judge_good)))
            if i % 3 == 0:
                human_good = not bad if i % 9 else bad  # humans overrule the evaluator now and then
                labels.append(Label(session_id=uid, reviewer="r0", good=human_good))
    ws.add_sessions(PROJECT, sessions)
    ws.add_verdicts(PROJECT, verdicts)
    for lab in labels:
        ws.add_label(PROJECT, lab)
    users.add_reviewer(ws, "lead", PROJECT, "admin", PASSWORD, lead=True)
    users.add_reviewer(ws, "r0", PROJECT, "reviewer", PASSWORD)
    for v in (1, 2):
        registry.register(ws, "support", fake_model_dir(tmp / f"model{v}"), project=PROJECT)
    registry.promote(ws, "support@1", project=PROJECT, force=True)
    rule = risk.AutomationRule(
        tau=0.9, target=0.05, delta=0.1, coverage=0.55, empirical_error=0.02, upper_bound=0.045,
        n_calibration=80, n_auto=44, n_errors=1, evaluator="support@1",
    )  # fmt: skip
    risk.save_rule(ws, PROJECT, rule)
    report = run_monitor(
        ws,
        PROJECT,
        "support",
        bucket="day",
        time_axis="session",
        since=start,
        until=now + timedelta(hours=1),
    )
    assert report.new_alerts, "the drop must raise an alert"
    return DashEnv(ws, url, report.new_alerts[0].id or 0, now)
