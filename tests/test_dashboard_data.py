"""The monitoring pages' data on SQLite and PostgreSQL: windows line up with the monitor's series, the
alert's sessions are its window's, queueing is idempotent, reviewers are refused."""

from __future__ import annotations

import pytest

from _dashboard_support import BAD_DAYS, DAYS, PER_DAY, PROJECT, make_dashboard_env
from judgeloop.errors import Forbidden
from judgeloop.monitor import time_series
from judgeloop.review import dashboard, users


def test_dashboard_data(db_url, tmp_path):
    env = make_dashboard_env(db_url, tmp_path)
    ws = env.ws
    data = dashboard.overview(ws, PROJECT, now=env.now)
    assert data["evaluator"] == "support"  # the champion by default
    assert sum(w["sessions"] for w in data["windows"]) == DAYS * PER_DAY
    with_data = [w for w in data["windows"] if w["n"]]
    assert len(with_data) == DAYS
    [series] = time_series(ws, PROJECT, "support", bucket="day", time_axis="session")
    assert [w["pass_rate"] for w in with_data] == [w.pass_rate for w in series.windows if w.n]
    assert all(w["low"] <= w["pass_rate"] <= w["high"] for w in with_data)
    assert all(w["scored_share"] == pytest.approx(20 / 24) for w in with_data)
    last = with_data[-1]
    assert last["needs_review_share"] > with_data[0]["needs_review_share"]  # the drop: more doubtful verdicts
    assert [a.id for a in data["alerts"]] == [env.alert_id]
    first, final, _ = data["marks"][0]
    assert [data["windows"][i]["label"] for i in range(first, final + 1)] == [w["label"] for w in with_data][
        BAD_DAYS[0] : BAD_DAYS[-1] + 1
    ]

    page = dashboard.alert_page(ws, PROJECT, env.alert_id)
    assert page["sessions"] and all(
        s["session_id"].split("-")[0] in {f"d{d}" for d in BAD_DAYS} for s in page["sessions"]
    )
    labelled = [s for s in page["sessions"] if s["labels"]]
    assert labelled and all(s["human"] is not None for s in labelled)
    first_fill = dashboard.queue_alert(ws, PROJECT, env.alert_id)
    again = dashboard.queue_alert(ws, PROJECT, env.alert_id)
    assert first_fill.added == len(page["sessions"]) and again.added == 0

    evaluators = dashboard.evaluators_page(ws, PROJECT, n_resamples=50)
    support = next(v for v in evaluators["versions"] if v["ref"] == "support@1")
    assert support["calibration"]["n"] == 80 and 0 <= support["calibration"]["ece"] <= 1
    assert evaluators["history"]["support"][0]["action"] == "promote"

    reviewer = users.get_user(ws, users.user_id(ws, "r0"))
    lead = users.get_user(ws, users.user_id(ws, "lead"))
    assert reviewer is not None and lead is not None
    with pytest.raises(Forbidden):
        dashboard.monitor_access(ws, reviewer, PROJECT)
    assert dashboard.monitor_access(ws, lead, PROJECT) is not None
