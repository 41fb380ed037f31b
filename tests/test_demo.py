"""`judgeloop demo` (the README's first command) runs the whole loop offline on the bundled data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


@pytest.mark.timeout(1800)  # two demo runs: a hang, not a loaded machine, should trip this
def test_demo_runs_the_loop_end_to_end(tmp_path: Path, cli) -> None:
    code, output = cli(["demo", "--out", tmp_path])
    assert code == 0, output
    for step in ("import", "train", "guardrail", "queue", "review", "retrain", "before / after"):
        assert step in output
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert set(summary["models"]) == {"shop@1", "shop@2"}
    assert summary["status"] in ("promoted", "refused")
    for model in summary["models"].values():
        assert 0.5 < model["accuracy"]["value"] <= 1.0  # better than chance on held-out human labels
    # the retrained version earns automation: a certified share at the stated 5% target error
    assert summary["target_error"] == 0.05 and summary["heldout"] >= 150
    assert summary["models"]["shop@2"]["coverage"] > 0.2, summary["models"]["shop@2"]["rule"]
    assert (tmp_path / "loop.png").read_bytes()[:4] == b"\x89PNG"
    # monitoring on timed traffic: the alert starts on the planted drop, none before it
    monitor = summary["monitor"]
    assert monitor["sessions"] == 560 and len(monitor["daily_pass_rate"]) == monitor["days"] == 14
    assert monitor["detected"] and monitor["alerts_before_drop"] == 0
    assert all(a["to"] >= monitor["drop_planted_on"] for a in monitor["alerts"])  # none ends before it
    assert monitor["first_alert_on"] <= "2026-03-13"  # found within three days of the drop
    assert "8. monitor" in output and "alert 2026-03-1" in output
    # a second run starts from a fresh database and gives the same result
    code, again = cli(["demo", "--out", tmp_path])
    assert code == 0
    assert json.loads((tmp_path / "summary.json").read_text()) == summary
