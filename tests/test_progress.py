"""Progress of long work: a line every few seconds when stderr is not a terminal (done/total, rate,
ETA), through `judge`, `evaluate` and `generate`'s shared helper (judgeloop.progress)."""

from __future__ import annotations

import io
import json
import re
import time
from pathlib import Path

import pytest

from _llm_support import FakeOpenAI, ThreadServer, chat_body
from judgeloop.progress import reporting, track

LINE = re.compile(r"^(\w[\w-]*): (\d+)/(\d+) (\w+) \(\d+%\), [\d.]+ \w+/min, elapsed \d+:\d\d, ETA (\S+)")


def test_lines_every_interval_with_done_total_rate_and_eta() -> None:
    stream = io.StringIO()
    with track("judging", 6, unit="rows", enabled=True, stream=stream, every_s=0.05) as bar:
        for _ in range(6):
            time.sleep(0.04)
            bar.advance(1)
    lines = stream.getvalue().splitlines()
    assert len(lines) >= 2, lines
    parsed = [LINE.match(x) for x in lines]
    assert all(parsed), lines
    done = [int(m.group(2)) for m in parsed if m]
    assert done == sorted(done) and done[-1] == 6 and all(int(m.group(3)) == 6 for m in parsed if m)
    assert lines[-1].endswith("(done)") and lines[-1].split("ETA ")[1].startswith("0:00")


def test_quiet_unless_reporting_and_quick_work_stays_quiet() -> None:
    stream = io.StringIO()
    with track("x", 3, stream=stream, every_s=0.01) as bar:  # reporting is off by default
        time.sleep(0.05)
        bar.advance(3)
    with reporting(), track("y", 3, stream=stream, every_s=5) as bar:  # done before the first interval
        bar.advance(3)
    assert stream.getvalue() == ""


def slow_grader(body, n):
    time.sleep(0.25)
    scores = {"accuracy": 5, "conciseness": 4, "format_compliance": "yes", "justification": "ok"}
    return 200, chat_body(json.dumps(scores)), {}


def test_judge_logs_progress_when_not_on_a_terminal(tmp_path: Path, cli, monkeypatch) -> None:
    monkeypatch.setenv("JUDGELOOP_PROGRESS_EVERY_S", "0.1")
    rows = tmp_path / "s.jsonl"
    rows.write_text(
        "".join(json.dumps({"model_input": f"q{i}", "model_output": f"a{i}"}) + "\n" for i in range(6))
    )
    with ThreadServer(FakeOpenAI(slow_grader).app) as server:
        args = ["judge", rows, "--model", "m", "--base-url", server.base_url, "--concurrency", "1"]
        code, output = cli([*args, "--out", tmp_path / "v.jsonl"])
    assert code == 0, output
    lines = [m for x in output.splitlines() if (m := LINE.match(x)) and m.group(1) == "judging"]
    assert len(lines) >= 3, output
    assert {int(m.group(3)) for m in lines} == {6}
    assert len({int(m.group(2)) for m in lines}) >= 3  # it moved row by row, not once at the end


def test_evaluate_logs_rows_scored(tmp_path: Path, cli, monkeypatch) -> None:
    from _server_support import BAD, GOOD, QUESTIONS, trained_model_dir

    monkeypatch.setenv("JUDGELOOP_PROGRESS_EVERY_S", "0.05")
    data = tmp_path / "d.jsonl"
    lines = [
        json.dumps({"model_input": f"{q} ({k})", "model_output": (GOOD + BAD)[k % 10]})
        for k in range(60)
        for q in QUESTIONS[:4]
    ]
    data.write_text("\n".join(lines) + "\n")
    args = [
        "evaluate",
        data,
        "--model",
        trained_model_dir(),
        "--out",
        tmp_path / "p.jsonl",
        "--batch-size",
        "8",
    ]
    code, output = cli(args)
    assert code == 0, output
    found = [m for x in output.splitlines() if (m := LINE.match(x)) and m.group(1) == "scoring"]
    if not found:
        pytest.fail(f"no progress line in {output!r}")
    assert {int(m.group(3)) for m in found} == {240} and found[-1].group(4) == "rows"
