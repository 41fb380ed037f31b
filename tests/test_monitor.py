from __future__ import annotations

import math
from datetime import timedelta

import pytest

from _loop_support import T0, Timed, add_timed, bulk_sessions, stream_store, webhook_server
from judgeloop.monitor import (
    WebhookError,
    alert_sessions,
    find_outliers,
    list_alerts,
    notify,
    run_monitor,
    send_alerts,
    set_webhook,
    time_series,
    webhook_url,
)
from judgeloop.store import Workspace
from judgeloop.types import Label, Session


@pytest.fixture
def ws(tmp_path):
    return Workspace(f"sqlite:///{tmp_path / 'm.db'}")


def small_store(ws: Workspace) -> None:
    meta = [
        {"app_version": "1.0", "tags": ["billing", "refund"]},
        {"app_version": "1.0", "tags": ["shipping"]},
        {"app_version": "2.0"},
        {"app_version": "2.0", "tags": "billing"},
    ]
    ws.add_sessions(
        "p",
        [
            Session(id=f"s{i}", model_input=f"q{i}", model_output=f"a{i}", metadata=m)
            for i, m in enumerate(meta)
        ],
    )
    day2 = T0 + timedelta(days=1, hours=3)
    add_timed(
        ws,
        "p",
        [
            Timed("s0", T0 + timedelta(minutes=5), 1, score=0.9),
            Timed("s1", T0 + timedelta(minutes=50), 0, score=0.1),
            Timed("s2", T0 + timedelta(hours=2), 1, score=0.7),
            Timed("s3", day2, 0, score=0.2),
            Timed("s3", day2, None, status="error"),
            Timed("s2", day2, 1, version="2", score=0.8),
            Timed("s0", T0, 1, evaluator="other"),
        ],
        session_times=False,  # re-scored sessions: these tests count by the verdict's time
    )


def test_series_by_day_counts_pass_rate_score_and_errors(db_url):
    ws = Workspace(db_url)
    small_store(ws)
    (series,) = time_series(ws, "p", "judge", bucket="day", time_axis="verdict")
    day1, day2 = series.windows
    assert (day1.n, day1.passes, day1.pass_rate) == (3, 2, pytest.approx(2 / 3))
    assert day1.mean_score == pytest.approx((0.9 + 0.1 + 0.7) / 3)
    assert (day2.n, day2.errors, day2.pass_rate) == (2, 1, 0.5)  # the error is counted, not in the rate
    assert day1.start == T0 and day2.start == T0 + timedelta(days=1)


def test_hourly_series_fill_gaps_and_keep_evaluators_apart(ws):
    small_store(ws)
    series = {s.key: s for s in time_series(ws, "p", bucket="hour", time_axis="verdict")}
    assert set(series) == {"judge", "other"}
    judge = series["judge"]
    assert len(judge.windows) == 28  # hour 0 to hour 27, empty hours included
    assert [w.n for w in judge.windows[:3]] == [2, 0, 1]
    assert math.isnan(judge.windows[1].pass_rate)


def test_grouping_by_app_version_tag_and_evaluator_version(ws):
    small_store(ws)
    by_app = {
        s.group: sum(w.n for w in s.windows) for s in time_series(ws, "p", "judge", group_by="app_version")
    }
    assert by_app == {"1.0": 2, "2.0": 3}
    by_tag = {s.group: sum(w.n for w in s.windows) for s in time_series(ws, "p", "judge", group_by="tag")}
    assert by_tag == {"billing": 2, "refund": 1, "shipping": 1, "(none)": 2}  # s0 counts under both tags
    by_version = {s.key: sum(w.n for w in s.windows) for s in time_series(ws, "p", group_by="evaluator")}
    assert by_version == {"judge@1": 4, "judge@2": 1, "other@1": 1}


def test_session_time_axis_uses_when_the_session_happened(ws):
    ws.add_sessions("p", [Session(id="old", model_input="q", model_output="a", created_at=T0)])
    add_timed(ws, "p", [Timed("old", T0 + timedelta(days=30), 1)], session_times=False)
    (by_verdict,) = time_series(ws, "p", bucket="day", time_axis="verdict")
    (by_session,) = time_series(ws, "p", bucket="day")  # the default: the session's own time
    assert by_verdict.windows[0].start == T0 + timedelta(days=30)
    assert by_session.windows[0].start == T0


def test_window_test_with_bh_flags_the_dropped_hours(ws):
    from judgeloop.monitor import SpikeConfig

    stream_store(ws, hours=36, per_hour=30, pass_rate=0.9, drop=(30, 32, 0.4), seed=3)
    report = run_monitor(ws, "p", bucket="hour", config=SpikeConfig(test="betabinomial"), store=False)
    drop = [a for a in report.alerts if a.window_start == T0 + timedelta(hours=30)]
    assert len(drop) == 1 and drop[0].window_end == T0 + timedelta(hours=33)
    assert drop[0].adjusted_p is not None and drop[0].adjusted_p < 1e-6


def test_monitor_alerts_on_an_injected_drop_stores_it_once_and_drills_down(ws):
    stream_store(ws, hours=36, per_hour=30, pass_rate=0.9, drop=(30, 32, 0.4), seed=3)
    report = run_monitor(ws, "p", bucket="hour")
    assert len(report.alerts) == 1
    alert = report.alerts[0]
    # CUSUM: the alert starts at its change-point estimate (within a window of the true start)
    assert T0 + timedelta(hours=29) <= alert.window_start <= T0 + timedelta(hours=30)
    assert T0 + timedelta(hours=33) <= alert.window_end <= T0 + timedelta(hours=34)
    assert alert.drop > 0.25 and alert.statistic == pytest.approx(math.log(1000))
    assert alert.baseline_pass_rate == pytest.approx(0.9, abs=0.05) and alert.id is not None
    again = run_monitor(ws, "p", bucket="hour")
    assert again.new_alerts == [] and len(list_alerts(ws, "p")) == 1
    rows = alert_sessions(ws, "p", alert.id, limit=10)
    assert len(rows) == 10 and all(r.label == 0 for r in rows)
    assert {r.session_id.split("-")[0] for r in rows} <= {"h29", "h30", "h31", "h32", "h33"}
    probs = [r.probability for r in rows]
    assert probs == sorted(probs)  # least likely to be good first
    assert rows[0].surprise > rows[-1].surprise > 0 and rows[0].snippet.startswith("question h3")


def test_stable_traffic_raises_no_alert(ws):
    stream_store(ws, hours=48, per_hour=30, pass_rate=0.85, seed=5)
    for test in ("betabinomial", "binomial", "cusum"):
        from judgeloop.monitor import SpikeConfig

        assert run_monitor(ws, "p", bucket="hour", config=SpikeConfig(test=test), store=False).alerts == []


def test_an_alert_per_app_version_when_only_one_version_drops(ws):
    stream_store(ws, hours=30, per_hour=30, pass_rate=0.9, seed=1, app_version="1.0")
    ws_sessions = [
        Session(
            id=f"v2-{h}-{i}", model_input="q", model_output=f"v2 {h} {i}", metadata={"app_version": "2.0"}
        )
        for h in range(30)
        for i in range(40)
    ]
    bulk_sessions(ws, "p", ws_sessions)
    add_timed(
        ws,
        "p",
        [
            Timed(
                s.id or "",
                T0 + timedelta(hours=k // 40, minutes=7),
                int((k % 40) >= (20 if k >= 27 * 40 else 4)),
            )
            for k, s in enumerate(ws_sessions)
        ],
    )
    report = run_monitor(ws, "p", bucket="hour", group_by="app_version")
    assert {a.group for a in report.alerts} == {"2.0"}


def test_webhook_posts_json_to_a_real_local_server_and_marks_alerts_sent(ws):
    stream_store(ws, hours=30, per_hour=50, pass_rate=0.9, drop=(27, 28, 0.4), seed=2)
    alerts = run_monitor(ws, "p", bucket="hour").new_alerts
    assert alerts
    with webhook_server() as hook:
        set_webhook(ws, "p", hook.url)
        assert webhook_url(ws, "p") == hook.url
        assert notify(ws, "p", alerts) == len(alerts)
    (body,) = hook.bodies
    assert body["project"] == "p" and body["count"] == len(alerts)
    assert body["alerts"][0]["series"] == "judge" and body["alerts"][0]["drop"] > 0.2
    assert "pass rate" in body["text"]
    assert list_alerts(ws, "p", unsent=True) == []


def test_webhook_failures_raise_a_domain_error(ws):
    with webhook_server(status=500) as hook, pytest.raises(WebhookError, match="answered 500"):
        send_alerts(hook.url, "p", [])
    with webhook_server() as hook:
        dead = hook.url
    with pytest.raises(WebhookError, match="failed"):
        send_alerts(dead, "p", [], timeout=2)


def test_outliers_find_disagreements_and_low_confidence(ws):
    ws.add_sessions("p", [Session(id=f"s{i}", model_input=f"q{i}", model_output="a") for i in range(5)])
    ws.add_label("p", Label(session_id="s0", good=True))
    add_timed(
        ws,
        "p",
        [
            Timed("s0", T0, 0, probability=0.05),  # confidently wrong vs the human
            Timed("s1", T0, 1, probability=0.55),
            Timed("s2", T0, 1, probability=0.97),
            Timed("s3", T0, 0, probability=0.30),
            Timed("s1", T0, 0, evaluator="judge2", probability=0.2),
            Timed("s2", T0, 1, evaluator="judge2", probability=0.9),
        ],
    )
    found = find_outliers(ws, "p", "judge")
    assert [o["session_id"] for o in found["evaluators"]] == ["s1"]
    assert found["human"][0]["session_id"] == "s0" and found["human"][0]["strength"] == pytest.approx(0.9)
    assert [o["session_id"] for o in found["low_confidence"]["judge"]] == ["s1", "s3", "s0", "s2"]
