"""Smoke tests of the close-the-loop commands: monitor, alerts, outliers, automation, queue fill."""

from __future__ import annotations

import json

import numpy as np
import pytest

from _loop_support import T0, Timed, add_timed, bulk_labels, stream_store, webhook_server
from judgeloop.cli import main
from judgeloop.store import Workspace


def run(args: list[str]) -> int:
    try:
        main(args)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


@pytest.fixture
def db(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    ws = Workspace(url)
    ids = stream_store(ws, hours=30, per_hour=30, pass_rate=0.9, drop=(26, 28, 0.4), seed=7)
    rng = np.random.default_rng(0)
    bulk_labels(ws, "p", [(uid, bool(rng.random() < 0.5), ["billing"]) for uid in ids[:300]])
    add_timed(ws, "p", [Timed(uid, T0, 0, evaluator="j") for uid in ids[300:320]])
    return url


def test_monitor_prints_series_sparkline_and_the_alert(db, capsys):
    assert run(["monitor", "-p", "p", "--by", "hour", "--windows", "--db", db]) == 0
    out = capsys.readouterr().out
    assert "pass rate by hour" in out and "judge" in out and "ALERT" in out and "--show" in out
    assert any(ch in out for ch in "▁▂▃▄▅▆▇█")
    assert run(["alerts", "-p", "p", "--db", db, "--json"]) == 0
    alerts = json.loads(capsys.readouterr().out)
    assert len(alerts) == 1 and alerts[0]["drop"] > 0.2 and alerts[0]["test"] == "cusum"
    assert run(["alerts", "-p", "p", "--db", db, "--show", str(alerts[0]["id"]), "--limit", "3"]) == 0
    assert "sessions by surprise" in capsys.readouterr().out


def test_monitor_json_grouped_by_tag_with_the_window_test(db, capsys):
    args = ["monitor", "-p", "p", "--by", "day", "--group-by", "tag", "--test", "betabinomial", "--json"]
    assert run(args + ["--no-store", "--db", db]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {s["group"] for s in data["series"] if s["evaluator"] == "judge"} == {"billing", "shipping"}


def test_alerts_are_sent_to_a_webhook_once(db, capsys):
    run(["monitor", "-p", "p", "--by", "hour", "--db", db])
    with webhook_server() as hook:
        assert run(["alerts", "-p", "p", "--db", db, "--webhook", hook.url]) == 0
        assert run(["alerts", "-p", "p", "--db", db, "--webhook", hook.url]) == 0  # nothing new to send
    assert len(hook.bodies) == 1 and hook.bodies[0]["count"] == 1
    assert "sent 0 alert(s)" in capsys.readouterr().out


def test_outliers_automation_and_queue_fill(db, capsys):
    assert run(["outliers", "-p", "p", "-e", "judge", "--db", db]) == 0
    assert "least confident: judge" in capsys.readouterr().out
    assert run(["automation", "-p", "p", "-e", "judge", "--target-error", "0.1", "--db", db, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["rule"]["n_calibration"] == 300 and report["rule"]["target"] == 0.1
    assert run(["queue", "fill", "-p", "p", "--strategy", "uncertainty", "--n", "5", "--db", db]) == 0
    assert "queue active created: 5 session(s) added by uncertainty" in capsys.readouterr().out
    assert run(["queue", "fill", "-p", "p", "--strategy", "mixed", "-n", "10", "--db", db]) == 0
    assert "extended: 10 session(s)" in capsys.readouterr().out


def test_bad_arguments_give_one_clear_line(db, capsys):
    assert run(["automation", "-p", "p", "-e", "judge", "--target-error", "2", "--db", db]) == 1
    assert "'target' parameter" in capsys.readouterr().err
    assert run(["monitor", "-p", "nope", "--db", db]) == 1
    assert "no project named 'nope'" in capsys.readouterr().err
