"""The monitor's series counted in SQL (`monitor.series_sql`) equal the Python path over every stored
verdict (`build_series(load_records(...))`), on SQLite and PostgreSQL: by session and verdict time, by
hour and day, per evaluator and per version, with and without a period and an evaluator filter, with
verdicts without a session, every status and re-scored sessions; periods on and off whole hours (the
hourly counts and the raw rows at the ends), and again after more verdicts arrive in counted hours."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from judgeloop.monitor.aggregate import SUMS
from judgeloop.monitor.queries import load_records
from judgeloop.monitor.series import build_series
from judgeloop.monitor.series_sql import series_sql
from judgeloop.store import Workspace
from judgeloop.store.tables import VerdictHourRow
from judgeloop.types import Session, Verdict

P = "shop"
T0 = datetime(2026, 11, 2, tzinfo=timezone.utc)


def _verdict(rng: random.Random, sid: str | None, evaluator: str) -> Verdict:
    status = rng.choices(["ok", "error", "abstain"], [0.8, 0.15, 0.05])[0]
    version = rng.choice(["1", "2", None])
    if status != "ok":
        return Verdict(session_id=sid, evaluator=evaluator, version=version, status=status)
    p = None if rng.random() < 0.2 else rng.random()
    label = None if rng.random() < 0.1 else int(rng.random() < 0.7)
    score = None if rng.random() < 0.4 else rng.random()
    return Verdict(
        session_id=sid, evaluator=evaluator, version=version, label=label, probability=p, score=score
    )


def _compare(ws: Workspace) -> int:
    now = datetime.now(timezone.utc)
    h = timedelta(hours=1)
    periods = [(None, None), (T0 + 5 * h, T0 + 30 * h), (now - 3 * h, None), (None, T0 + 7.5 * h),
               (T0 + 2.3 * h, T0 + 2.6 * h), (T0 + 0.8 * h, T0 + 20.1 * h)]  # fmt: skip
    checked = 0
    for axis in ("session", "verdict"):
        for bucket in ("hour", "day"):
            for group_by in (None, "evaluator"):
                for evaluator in (None, "support", "support@2", "nobody"):
                    for since, until in periods:
                        args = dict(since=since, until=until, time_axis=axis)
                        want = build_series(load_records(ws, P, evaluator, **args), bucket, group_by,
                                            start=since, end=until)  # fmt: skip
                        got = series_sql(ws, P, evaluator, bucket, group_by, **args)
                        assert [(s.key, len(s.windows)) for s in got] == [
                            (s.key, len(s.windows)) for s in want
                        ]
                        for a, b in zip(got, want, strict=True):
                            for x, y in zip(a.windows, b.windows, strict=True):
                                assert (x.start, x.end) == (y.start, y.end)
                                for f in SUMS:
                                    assert getattr(x, f) == pytest.approx(getattr(y, f), abs=1e-9), f
                                checked += y.n + y.errors
    return checked


@pytest.mark.parametrize("seed", [1, 2])
def test_series_in_sql_equal_the_python_path(db_url, seed):
    rng = random.Random(seed)
    ws = Workspace(db_url)
    sessions = [
        Session(
            id=f"s{i}",
            model_input=f"q{i}",
            model_output="a",
            created_at=T0 + timedelta(minutes=rng.randrange(3000)),
        )
        for i in range(250)
    ]
    ws.add_sessions(P, sessions)
    ids: list[str | None] = [s.id for s in sessions]
    verdicts = [_verdict(rng, rng.choice(ids), rng.choice(["support", "judge"])) for _ in range(700)]
    verdicts += [_verdict(rng, None, "support") for _ in range(20)]  # no session
    ws.add_verdicts(P, verdicts)
    assert _compare(ws) > 1000  # the comparisons saw verdicts, not only empty windows
    more = [_verdict(rng, rng.choice(ids), rng.choice(["support", "judge", "extra"])) for _ in range(300)]
    ws.add_verdicts(P, more + [_verdict(rng, None, "judge") for _ in range(10)])  # into the counted hours
    with ws.reader() as db:
        assert db.scalar(select(func.count()).select_from(VerdictHourRow)) > 0  # the hourly counts were read
    assert _compare(ws) > 1300
