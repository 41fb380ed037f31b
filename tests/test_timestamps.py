"""Sessions keep their own time: `import --time-col` (or a created_at/timestamp column), `created_at`
on POST /v1/sessions, and `monitor` windows by that time."""

from __future__ import annotations

import csv
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from judgeloop.errors import InvalidInput
from judgeloop.monitor.queries import as_utc
from judgeloop.store import Workspace
from judgeloop.timestamps import parse_timestamp
from judgeloop.types import Verdict

UTC = timezone.utc
T0 = datetime(2026, 2, 1, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    "value",
    [
        "2026-02-01T09:30:00Z",
        "2026-02-01T10:30:00+01:00",
        "2026-02-01 09:30:00",  # naive: UTC
        1769938200,  # epoch seconds
        "1769938200000",  # epoch milliseconds
        1769938200.0,
        datetime(2026, 2, 1, 9, 30),
    ],
)
def test_times_parse_to_aware_utc(value: object) -> None:
    assert parse_timestamp(value) == T0


def test_a_bad_time_names_the_file_row_and_column() -> None:
    for bad in ("yesterday", "", "2026-13-01", float("nan"), True, -5):
        with pytest.raises(
            InvalidInput, match=r"f\.csv, row 3, field 'ts': .* is not a time \(expected an ISO"
        ):
            parse_timestamp(bad, file="f.csv", row=3, field="ts")


def _csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def test_import_time_col_and_the_created_at_column(tmp_path: Path, cli) -> None:
    db = f"sqlite:///{tmp_path / 'w.db'}"
    ms = int(T0.timestamp() * 1000)
    data = _csv(
        tmp_path / "a.csv",
        ["model_input", "model_output", "when"],
        [["q1", "a1", ms], ["q2", "a2", ms + 3_600_000]],
    )
    code, output = cli(["import", data, "-p", "p", "--db", db, "--time-col", "when"])
    assert code == 0, output
    assert "session times from column 'when'" in output
    auto = _csv(
        tmp_path / "b.csv",
        ["model_input", "model_output", "created_at"],
        [["q3", "a3", "2026-02-03T00:00:00-05:00"]],
    )
    assert cli(["import", auto, "-p", "p", "--db", db])[0] == 0
    ws = Workspace(db)
    got = {s.model_input: (as_utc(s.created_at), s.metadata) for s in ws.sessions("p") if s.created_at}
    assert got["q1"] == (T0, {}) and got["q2"][0] == T0 + timedelta(hours=1)  # the column left metadata
    assert got["q3"] == (datetime(2026, 2, 3, 5, tzinfo=UTC), {})
    ws.close()


def test_import_with_a_bad_time_names_the_row_and_imports_nothing(tmp_path: Path, cli) -> None:
    db = f"sqlite:///{tmp_path / 'w.db'}"
    data = _csv(
        tmp_path / "bad.csv",
        ["model_input", "model_output", "ts"],
        [["q1", "a1", "2026-02-01"], ["q2", "a2", "soon"]],
    )
    code, output = cli(["import", data, "-p", "p", "--db", db, "--time-col", "ts"])
    assert code == 1 and "bad.csv, row 2, field 'ts': 'soon' is not a time" in " ".join(output.split())
    code, output = cli(["import", data, "-p", "p", "--db", db, "--time-col", "nope"])
    assert code == 1 and "field 'nope'" in output
    assert cli(["stats", "-p", "p", "--db", db])[0] == 1  # nothing was imported


def test_monitor_windows_use_the_sessions_own_time(tmp_path: Path, cli) -> None:
    """Ten days of traffic imported today and scored today: the windows are the sessions' days, and the
    drop planted on day 8 raises the alert there and not before."""
    db = f"sqlite:///{tmp_path / 'w.db'}"
    rows, bad = [], set()
    for day in range(10):
        for i in range(40):
            failing = i < (4 if day < 7 else 20)
            rows.append([f"q{day}-{i}", f"a{day}-{i}", (T0 + timedelta(days=day, minutes=i)).isoformat()])
            if failing:
                bad.add(f"q{day}-{i}")
    data = _csv(tmp_path / "traffic.csv", ["model_input", "model_output", "timestamp"], rows)
    assert cli(["import", data, "-p", "p", "--db", db])[0] == 0
    ws = Workspace(db)
    sessions = ws.sessions("p")
    ws.add_verdicts(
        "p",
        [Verdict(session_id=s.id, evaluator="check", label=int(s.model_input not in bad)) for s in sessions],
    )
    ws.close()
    code, output = cli(["monitor", "-p", "p", "-e", "check", "--db", db, "--json"])
    assert code == 0, output
    report = json.loads(output)
    (series,) = report["series"]
    assert len([w for w in series["windows"] if w["n"]]) == 10
    (alert,) = report["alerts"]
    assert alert["window_start"].startswith("2026-02-08")
    by_verdict = json.loads(
        cli(["monitor", "-p", "p", "-e", "check", "--db", db, "--json", "--time", "verdict", "--no-store"])[1]
    )
    assert len([w for w in by_verdict["series"][0]["windows"] if w["n"]]) == 1  # all scored today


def test_api_sessions_take_created_at(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from _server_support import make_env
    from judgeloop.server import create_app

    env = make_env(tmp_path, [])
    with TestClient(create_app(workspace=env.ws)) as client:
        item = {
            "session_id": "old",
            "model_input": "q",
            "model_output": "a",
            "created_at": "2026-02-01T10:30:00+01:00",
        }
        assert client.post("/v1/sessions", json=item, headers=env.auth()).status_code == 201
        got = client.get("/v1/sessions/old", headers=env.auth()).json()
        assert datetime.fromisoformat(got["created_at"]).astimezone(UTC) == T0
        epoch = {
            "session_id": "ms",
            "model_input": "q2",
            "model_output": "a2",
            "created_at": int(T0.timestamp() * 1000),
        }
        assert client.post("/v1/sessions", json=[epoch], headers=env.auth()).status_code == 201
        bad = [epoch | {"session_id": "x"}, {"model_input": "q", "model_output": "b", "created_at": "later"}]
        r = client.post("/v1/sessions", json=bad, headers=env.auth())
        assert r.status_code == 422 and "row 1" in r.json()["detail"] and "created_at" in r.json()["detail"]
        spec = client.get("/openapi.json").json()
        assert "created_at" in spec["components"]["schemas"]["SessionIn"]["properties"]
