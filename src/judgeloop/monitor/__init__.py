"""Monitoring: pass-rate and score series from stored verdicts, spike detection with a real statistical
test, alerts (stored, drilled into, sent to a webhook) and outliers.

    from judgeloop.monitor import run_monitor, alert_sessions
    report = run_monitor(ws, "shop", "truth-judge", bucket="hour", group_by="app_version")
    for alert in report.new_alerts:
        print(alert.describe(), alert_sessions(ws, "shop", alert)[:5])
"""

from judgeloop.monitor.alerts import Alert, MonitorReport, get_alert, list_alerts, run_monitor, store_alerts
from judgeloop.monitor.drilldown import SurprisingSession, alert_sessions, surprise
from judgeloop.monitor.outliers import (
    Outlier,
    evaluator_disagreements,
    find_outliers,
    human_disagreements,
    low_confidence,
)
from judgeloop.monitor.series import Series, Window, build_series, time_series
from judgeloop.monitor.spikes import SpikeConfig, WindowTest, benjamini_hochberg, detect, episodes, scan
from judgeloop.monitor.webhook import WebhookError, notify, send_alerts, set_webhook, webhook_url

__all__ = [
    "Alert",
    "MonitorReport",
    "Outlier",
    "Series",
    "SpikeConfig",
    "SurprisingSession",
    "WebhookError",
    "Window",
    "WindowTest",
    "alert_sessions",
    "benjamini_hochberg",
    "build_series",
    "detect",
    "episodes",
    "evaluator_disagreements",
    "find_outliers",
    "get_alert",
    "human_disagreements",
    "list_alerts",
    "low_confidence",
    "notify",
    "run_monitor",
    "scan",
    "send_alerts",
    "set_webhook",
    "store_alerts",
    "surprise",
    "time_series",
    "webhook_url",
]
