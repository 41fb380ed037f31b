"""Send alerts to a webhook: one POST of JSON per batch, with httpx.

The URL comes from the call, else from the project's settings (`alert_webhook`, set with
`set_webhook` or `judgeloop alerts --set-webhook URL`). Payload:

    {"project": "...", "sent_at": "<ISO time>", "count": N, "alerts": [<Alert.as_dict()>, ...],
     "text": "<one line per alert, for chat webhooks>"}
"""

from __future__ import annotations

from typing import Any

import httpx

from judgeloop.errors import InvalidInput, JudgeloopError
from judgeloop.monitor.alerts import Alert, mark_sent
from judgeloop.store import Workspace
from judgeloop.types import utcnow

SETTING = "alert_webhook"


class WebhookError(JudgeloopError):
    """The webhook could not be reached or answered with an error status."""


def set_webhook(ws: Workspace, project: str, url: str | None) -> None:
    if url is not None:
        _check_url(url)
    ws.update_project_settings(project, **{SETTING: url})


def webhook_url(ws: Workspace, project: str) -> str | None:
    value = ws.project_settings(project).get(SETTING)
    return str(value) if value else None


def _check_url(url: str) -> None:
    if not url.startswith(("http://", "https://")):
        raise InvalidInput(f"webhook URL {url!r} is not http(s)", field="webhook", expected="http(s)://...")


def payload(project: str, alerts: list[Alert]) -> dict[str, Any]:
    return {
        "project": project,
        "sent_at": utcnow().isoformat(),
        "count": len(alerts),
        "alerts": [a.as_dict() for a in alerts],
        "text": "\n".join(f"[judgeloop] {project}: {a.describe()}" for a in alerts),
    }


def send_alerts(
    url: str,
    project: str,
    alerts: list[Alert],
    *,
    timeout: float = 10.0,
    transport: httpx.BaseTransport | None = None,
) -> int:
    """POST the alerts as JSON; returns the HTTP status. Raises WebhookError on failure."""
    _check_url(url)
    try:
        with httpx.Client(timeout=timeout, transport=transport) as client:
            response = client.post(url, json=payload(project, alerts))
    except httpx.HTTPError as exc:
        raise WebhookError(f"webhook {url} failed: {exc}") from exc
    if response.status_code >= 400:
        raise WebhookError(f"webhook {url} answered {response.status_code}: {response.text[:200]}")
    return response.status_code


def notify(
    ws: Workspace, project: str, alerts: list[Alert], url: str | None = None, *, timeout: float = 10.0
) -> int:
    """Send `alerts` to `url` (or the project's webhook) and mark them sent. Returns how many were sent."""
    target = url or webhook_url(ws, project)
    if not target:
        raise InvalidInput(
            f"project {project!r} has no webhook", field="webhook", expected="--webhook URL or --set-webhook"
        )
    if not alerts:
        return 0
    send_alerts(target, project, alerts, timeout=timeout)
    mark_sent(ws, [a.id for a in alerts if a.id is not None])
    return len(alerts)
