"""The hourly rollup gives the same overview counts as the direct SQL aggregation, on SQLite and
PostgreSQL: random sessions (their pks not in time order), verdicts of two versions and a second
evaluator with every status, re-scored sessions (a later verdict replaces the latest one), probabilities
on the confidence bins' edges, and more verdicts and sessions after the first refresh (the watermark)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from judgeloop.monitor import rollup
from judgeloop.monitor.aggregate import WindowCounts, overview_counts, session_counts, window_counts
from judgeloop.store import Workspace
from judgeloop.store.tables import RollupMarkRow, RollupVerdictRow
from judgeloop.types import Session, Verdict

P = "shop"
T0 = datetime(2026, 11, 2, tzinfo=timezone.utc)
EDGES = [0.0, 0.25, 0.75, 1.0, 0.5, 0.7525, 0.2475, 0.8, 0.2]  # on bin edges and on the taus below
TAUS = [None, 0.8, 0.75, 0.7525, 0.5, 0.3, 1.0, 0.93]
REFS = ["support", "support@1", "support@2", "judge", "nobody"]


def _sessions(rng: random.Random, prefix: str, n: int) -> list[Session]:
    return [
        Session(id=f"{prefix}{i}", model_input=f"q{prefix}{i}", model_output="a",
                created_at=T0 + timedelta(minutes=rng.randrange(0, 50 * 60)))
        for i in range(n)
    ]  # fmt: skip


def _verdict(rng: random.Random, sid: str, evaluator: str, version: str | None) -> Verdict:
    status = rng.choices(["ok", "error", "abstain"], [0.85, 0.1, 0.05])[0]
    if status != "ok":
        return Verdict(session_id=sid, evaluator=evaluator, version=version, status=status)
    p = rng.choice(EDGES) if rng.random() < 0.3 else (None if rng.random() < 0.1 else rng.random())
    label = None if rng.random() < 0.05 else int((p if p is not None else rng.random()) >= 0.5)
    return Verdict(session_id=sid, evaluator=evaluator, version=version, label=label, probability=p,
                   score=None if rng.random() < 0.3 else rng.random(),
                   threshold=rng.choice([0.5, 0.6, None]))  # fmt: skip


def _score(ws: Workspace, rng: random.Random, sessions: list[Session], share: float) -> None:
    out = []
    for s in sessions:
        if rng.random() < share:
            out.append(_verdict(rng, s.id or "", "support", rng.choice(["1", "2"])))
        if rng.random() < share / 3:
            out.append(_verdict(rng, s.id or "", "judge", None))
    ws.add_verdicts(P, out)


def _same(a: WindowCounts, b: WindowCounts) -> None:
    assert (a.series is None) == (b.series is None)
    if a.series is None or b.series is None:
        return
    assert len(a.series.windows) == len(b.series.windows)
    for x, y in zip(a.series.windows, b.series.windows, strict=True):
        assert (x.start, x.end, x.n, x.passes, x.errors, x.abstains, x.n_scored, x.n_prob) == (
            y.start, y.end, y.n, y.passes, y.errors, y.abstains, y.n_scored, y.n_prob,
        )  # fmt: skip
        assert x.score_sum == pytest.approx(y.score_sum, abs=1e-9)
        assert x.prob_sum == pytest.approx(y.prob_sum, abs=1e-9)
    assert (a.scored, a.review, a.probabilities) == (b.scored, b.review, b.probabilities)


def _check(ws: Workspace) -> None:
    for bucket, start, end in (
        ("hour", T0 - timedelta(hours=2), T0 + timedelta(hours=53)),
        ("hour", T0 + timedelta(hours=10), T0 + timedelta(hours=20)),
        ("day", T0 - timedelta(days=1), T0 + timedelta(days=3)),
    ):
        direct_sessions = session_counts(ws, P, bucket, start, end)
        assert rollup.refresh(ws, P)
        assert rollup.session_hours(ws, P, bucket, start, end) == direct_sessions
        for ref in REFS:
            for tau in TAUS:
                args = (ws, P, ref, bucket, start, end)
                direct = window_counts(*args, tau=tau, rule=True, use_rollup=False)
                _same(window_counts(*args, tau=tau, rule=True), direct)
                sessions, counts = overview_counts(ws, P, ref, bucket, start, end, tau=tau, rule=True)
                assert sessions == direct_sessions
                _same(counts, direct)


@pytest.mark.parametrize("seed", [1, 2])
def test_rollup_counts_equal_the_direct_aggregation(db_url, seed):
    rng = random.Random(seed)
    ws = Workspace(db_url)
    first = _sessions(rng, "a", 300)
    ws.add_sessions(P, first)
    _score(ws, rng, first, 0.8)
    _score(ws, rng, first, 0.3)  # re-scored: the later verdict is the session's latest
    _check(ws)
    with ws.reader() as db:
        assert db.scalar(select(func.count()).select_from(RollupVerdictRow)) > 0  # the rollup was read
    later = _sessions(rng, "b", 80)  # new sessions in old hours and new verdicts on old sessions
    ws.add_sessions(P, later)
    _score(ws, rng, later + rng.sample(first, 60), 0.7)
    _check(ws)
    with ws.reader() as db:
        mark = db.scalar(select(RollupMarkRow))
        assert mark is not None and mark.verdict_id > 0 and mark.session_pk == 380


def test_unaligned_period_and_verdict_time_use_the_direct_path(db_url):
    rng = random.Random(3)
    ws = Workspace(db_url)
    sessions = _sessions(rng, "a", 50)
    ws.add_sessions(P, sessions)
    _score(ws, rng, sessions, 1.0)
    start, end = T0 + timedelta(minutes=30), T0 + timedelta(hours=30, minutes=30)
    for axis in ("session", "verdict"):
        now = datetime.now(timezone.utc)
        a, b = (start, end) if axis == "session" else (now - timedelta(hours=2), now + timedelta(hours=1))
        args = (ws, P, "support", "hour", a, b)
        _same(window_counts(*args, time_axis=axis), window_counts(*args, time_axis=axis, use_rollup=False))
    with ws.reader() as db:
        assert db.scalar(select(RollupMarkRow)) is None  # never refreshed: nothing read the rollup
